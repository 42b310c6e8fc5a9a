//! The scenario corpus against native enlace-core: the reference face.

use enlace_tests::{Face, Native, check_all, load_all};

#[test]
fn corpus_is_not_empty() {
    assert!(load_all().len() >= 5, "the scenario corpus lost files");
}

#[test]
fn native_core_matches_the_committed_outcomes() {
    let failures = check_all(&mut || Box::new(Native::default()) as Box<dyn Face>, true);
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
