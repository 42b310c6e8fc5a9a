//! Signed exchange on the native face: the golden vectors are what core
//! computes (rewritten with `UPDATE_EXPECT=1`), and core passes them.

use enlace_tests::exchange::{NativeSeals, check, generate, vectors_path};
use serde_json::Value;

#[test]
fn the_golden_vectors_are_what_core_computes() {
    let generated = generate();
    let path = vectors_path();
    if std::env::var("UPDATE_EXPECT").is_ok_and(|v| v == "1") {
        std::fs::write(
            &path,
            serde_json::to_string_pretty(&generated).unwrap() + "\n",
        )
        .unwrap();
    }
    let committed: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert!(
        committed == generated,
        "{} differs from what core computes; if the change is intended, run UPDATE_EXPECT=1 and review the diff",
        path.display()
    );
}

#[test]
fn native_core_passes_the_golden_vectors() {
    let vectors: Value =
        serde_json::from_str(&std::fs::read_to_string(vectors_path()).unwrap()).unwrap();
    let failures = check(&mut NativeSeals, &vectors);
    assert!(failures.is_empty(), "{failures:#?}");
}
