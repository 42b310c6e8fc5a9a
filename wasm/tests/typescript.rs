//! The committed generated files must be exactly what the Rust types
//! generate: a change to a command, event, query or answer, or to one of the
//! engine's lists of names (statuses, actions, reasons, error codes), that is
//! not followed by `cargo xtask codegen` fails here.

use std::path::Path;

fn assert_current(path: &Path, generated: &str) {
    let committed = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{}: {e}; run `cargo xtask codegen`", path.display()));
    if committed != generated {
        let line = committed
            .lines()
            .zip(generated.lines())
            .position(|(a, b)| a != b)
            .unwrap_or_else(|| committed.lines().count().min(generated.lines().count()));
        panic!(
            "{} is stale (first difference at line {}): run `cargo xtask codegen` and commit it",
            path.display(),
            line + 1
        );
    }
}

#[test]
fn committed_declarations_are_current() {
    let path = enlace_wasm::typescript::committed_path();
    assert_current(&path, &enlace_wasm::typescript::definitions());
}

#[test]
fn committed_enums_module_is_current() {
    let path = enlace_wasm::typescript::enums_path();
    assert_current(&path, &enlace_wasm::typescript::enums_module());
}

#[test]
fn enums_module_lists_the_engine_names() {
    use enlace_core::appointment::{AppointmentAction, AppointmentStatus};
    use enlace_core::referral::{CareOutcome, ReferralAction, ReferralStatus, RejectReason};
    let js = enlace_wasm::typescript::enums_module();
    // One exported list per name, each holding what serde writes.
    let list = |name: &str| -> Vec<String> {
        let from = js
            .find(&format!("export const {name} = Object.freeze(["))
            .unwrap_or_else(|| panic!("no {name} in the module"));
        let rest = &js[from..];
        let body = &rest[rest.find('[').unwrap() + 1..rest.find("]);").unwrap()];
        serde_json::from_str(&format!("[{}]", body.trim().trim_end_matches(',')))
            .unwrap_or_else(|e| panic!("{name}: {e}"))
    };
    fn json<T: serde::Serialize>(all: &[T]) -> Vec<String> {
        all.iter()
            .map(|v| {
                serde_json::to_value(v)
                    .unwrap()
                    .as_str()
                    .unwrap()
                    .to_owned()
            })
            .collect()
    }
    assert_eq!(list("REFERRAL_STATUSES"), json(&ReferralStatus::ALL));
    assert_eq!(list("REFERRAL_ACTIONS"), json(&ReferralAction::ALL));
    assert_eq!(list("REJECT_REASONS"), json(&RejectReason::ALL));
    assert_eq!(list("CARE_OUTCOMES"), json(&CareOutcome::ALL));
    assert_eq!(list("APPOINTMENT_STATUSES"), json(&AppointmentStatus::ALL));
    assert_eq!(list("APPOINTMENT_ACTIONS"), json(&AppointmentAction::ALL));
    assert_eq!(
        list("PRIORITIES"),
        json(&enlace_core::priority::Priority::ALL)
    );
    assert_eq!(list("ROLES"), json(&enlace_core::Role::ALL));
    assert_eq!(list("ERROR_CODES"), enlace_core::Error::CODES);
    assert_eq!(list("SEXES"), ["female", "male", "other", "unknown"]);
    assert_eq!(
        list("WAITLIST_STATUSES"),
        ["waiting", "offered", "satisfied", "left"]
    );
}

#[test]
fn error_bodies_carry_the_error_code_union() {
    let ts = enlace_wasm::typescript::definitions();
    let union = ts
        .split("export type ErrorCode =")
        .nth(1)
        .and_then(|r| r.split(';').next())
        .expect("an ErrorCode declaration");
    for code in enlace_core::Error::CODES {
        assert!(
            union.contains(&format!("\"{code}\"")),
            "{code} not in ErrorCode"
        );
    }
    assert!(
        ts.contains("code: ErrorCode"),
        "ErrorBody.code is not ErrorCode"
    );
}

#[test]
fn declarations_cover_every_boundary_type() {
    let ts = enlace_wasm::typescript::definitions();
    for name in [
        "Request",
        "Command",
        "Event",
        "Query",
        "Answer",
        "Entry",
        "Outcome",
        "ErrorBody",
        "Verification",
        "ChainBreak",
        "Actor",
        "Role",
        "ExecuteResult",
        "QueryResult",
    ] {
        assert!(
            ts.contains(&format!("export type {name} =")),
            "no declaration for {name}"
        );
    }
    // Large integers are plain numbers on this boundary (json_compatible).
    assert!(!ts.contains("bigint"), "a 64-bit integer became bigint");
}
