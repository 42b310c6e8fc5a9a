//! The record of reads against the real server: whoever is shown a
//! beneficiary's data (search, appointments, FHIR, the event feed) is
//! recorded before the answer leaves, auditors find it by beneficiary, and
//! a read answered just before a SIGKILL is still there after a restart.

mod common;

use common::{Server, seed};
use serde_json::Value;

const WHO: &str = "MX-10000003";

fn types(items: &Value) -> Vec<String> {
    items
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["query"]["type"].as_str().unwrap_or("").to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_of_personal_data_are_recorded_for_auditors() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let tokens = seed(&data, "demo");
    let mut server = Server::start(&data);
    let clerk = server.client(&tokens["clinic-clerk"]);
    let auditor = server.client(&tokens["auditor"]);

    // Nobody has read anything yet.
    let (s, v) = auditor
        .get(&format!("/v1/audit/reads?beneficiary={WHO}"))
        .await
        .unwrap();
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["items"], serde_json::json!([]));

    // The clerk looks the person up, then at their appointments and their
    // FHIR Patient.
    let (s, found) = clerk
        .get("/v1/beneficiaries?text=MX-10000003")
        .await
        .unwrap();
    assert_eq!(s, 200, "{found}");
    assert!(found.to_string().contains(WHO));
    let (s, _) = clerk
        .get(&format!("/v1/beneficiaries/{WHO}/appointments"))
        .await
        .unwrap();
    assert_eq!(s, 200);
    let (s, patient) = clerk
        .get(&format!("/fhir/Patient/patient-{WHO}"))
        .await
        .unwrap();
    assert_eq!(s, 200, "{patient}");

    let (s, v) = auditor
        .get(&format!("/v1/audit/reads?beneficiary={WHO}"))
        .await
        .unwrap();
    assert_eq!(s, 200, "{v}");
    assert_eq!(
        types(&v["items"]),
        ["find_beneficiaries", "beneficiary_appointments", "fhir"]
    );
    for r in v["items"].as_array().unwrap() {
        assert_eq!(r["actor"]["user"], "rosa.clerk");
        assert!(
            r["subjects"].as_array().unwrap().iter().any(|s| s == WHO),
            "{r}"
        );
    }
    // Paged by cursor.
    let next = v["next"].as_i64().unwrap();
    let (_, page) = auditor
        .get(&format!("/v1/audit/reads?beneficiary={WHO}&after={next}"))
        .await
        .unwrap();
    assert_eq!(page["items"], serde_json::json!([]));
    assert_eq!(page["next"], next);

    // Only auditors read the record, as core says; bad parameters change
    // nothing and say what is wrong.
    let (s, v) = clerk
        .get(&format!("/v1/audit/reads?beneficiary={WHO}"))
        .await
        .unwrap();
    assert_eq!((s, v["code"].as_str().unwrap()), (403, "not_permitted"));
    for (q, code) in [
        ("", "missing_parameter"),
        (
            &*format!("?beneficiary={}", "x".repeat(65)),
            "invalid_parameter",
        ),
        (
            &*format!("?beneficiary={WHO}&after=-1"),
            "invalid_parameter",
        ),
        (&*format!("?beneficiary={WHO}&who=me"), "unknown_parameter"),
    ] {
        let (s, v) = auditor.get(&format!("/v1/audit/reads{q}")).await.unwrap();
        assert_eq!(
            (s, v["code"].as_str().unwrap_or("")),
            (400, code),
            "{q}: {v}"
        );
    }

    // A read answered just before the process dies is on disk: the answer
    // waited for its record.
    let (s, _) = clerk
        .get(&format!("/v1/beneficiaries/{WHO}/appointments"))
        .await
        .unwrap();
    assert_eq!(s, 200);
    server.kill();
    let server = Server::start(&data);
    let auditor = server.client(&tokens["auditor"]);
    let (s, v) = auditor
        .get(&format!("/v1/audit/reads?beneficiary={WHO}"))
        .await
        .unwrap();
    assert_eq!(s, 200);
    assert_eq!(
        types(&v["items"]),
        [
            "find_beneficiaries",
            "beneficiary_appointments",
            "fhir",
            "beneficiary_appointments"
        ]
    );
    // Reading the record is no read of the person: nothing was added.
    let (_, again) = auditor
        .get(&format!("/v1/audit/reads?beneficiary={WHO}"))
        .await
        .unwrap();
    assert_eq!(again, v);
}
