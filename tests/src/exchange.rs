//! The golden vectors of signed exchange (issue 12): records, their
//! canonical bytes and their seals, and the refusals, in
//! `tests/vectors/exchange.json`. Every face (native core, the component in
//! wasmtime, the browser's seal package in Node) must give the same bytes,
//! the same seals and the same refusal codes; an independent JOSE library
//! and an independent JCS implementation check the file too
//! (`tests/interop/exchange.mjs`).
//!
//! The file is generated here from the records below with native core
//! (`UPDATE_EXPECT=1`), and compared otherwise: a change of canonical form
//! or of the seal's profile breaks the test rather than the other agency's
//! verification.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use enlace_core::error::ErrorBody;
use enlace_core::exchange::seal::base64url;
use enlace_core::exchange::{Signer, TrustList};
use serde_json::{Value, json};
use std::path::PathBuf;

/// `tests/vectors/exchange.json`.
pub fn vectors_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("vectors/exchange.json")
}

/// What a face offers for signed exchange, with JSON and bytes in and out.
pub trait SealFace {
    /// Whether the face reads records (canonical bytes, the record's checks)
    /// or only seals (the component: see its WIT).
    fn reads_records(&self) -> bool {
        true
    }
    /// The canonical bytes of a record given in any JSON spelling.
    fn canonical(&mut self, record: &str) -> Result<Vec<u8>, ErrorBody>;
    /// The seal of `payload` by the key of `seed`.
    fn seal(&mut self, seed: &[u8], payload: &[u8]) -> Result<String, ErrorBody>;
    /// `{agency, kid}` of the trusted signer, and the record when the face
    /// hands it back, or the refusal.
    fn verify(
        &mut self,
        trust: &str,
        seal: &str,
        payload: &[u8],
        at: &str,
    ) -> Result<(Value, Option<Value>), ErrorBody>;
}

/// Native core as a [`SealFace`].
#[derive(Debug, Default)]
pub struct NativeSeals;

impl SealFace for NativeSeals {
    fn canonical(&mut self, record: &str) -> Result<Vec<u8>, ErrorBody> {
        enlace_core::exchange::Record::canonical_of_json(record).map_err(|e| e.to_body())
    }
    fn seal(&mut self, seed: &[u8], payload: &[u8]) -> Result<String, ErrorBody> {
        Ok(Signer::from_seed(seed)
            .map_err(|e| e.to_body())?
            .seal(payload))
    }
    fn verify(
        &mut self,
        trust: &str,
        seal: &str,
        payload: &[u8],
        at: &str,
    ) -> Result<(Value, Option<Value>), ErrorBody> {
        let trust = TrustList::from_json(trust).map_err(|e| e.to_body())?;
        let at = at.parse().expect("vector instants are RFC 3339");
        let (record, signer) = trust.verify(seal, payload, at).map_err(|e| e.to_body())?;
        Ok((
            serde_json::to_value(signer).unwrap(),
            Some(serde_json::to_value(record).unwrap()),
        ))
    }
}

/// A fixed key: the seed is the label's SHA-256 (test keys only; RFC 8037's
/// example key is checked separately in core).
fn seed(label: &str) -> [u8; 32] {
    use sha2::{Digest, Sha256};
    Sha256::digest(format!("enlace test key {label}").as_bytes()).into()
}

fn key_json(label: &str) -> Value {
    let signer = Signer::from_seed(&seed(label)).unwrap();
    json!({ "d": B64.encode(seed(label)), "x": base64url(&signer.public()), "kid": signer.kid() })
}

fn kid(label: &str) -> String {
    Signer::from_seed(&seed(label)).unwrap().kid().to_owned()
}

fn peer_key(
    label: &str,
    not_before: &str,
    not_after: Option<&str>,
    revoked_at: Option<&str>,
) -> Value {
    let signer = Signer::from_seed(&seed(label)).unwrap();
    let mut k =
        json!({ "kid": signer.kid(), "x": base64url(&signer.public()), "not_before": not_before });
    if let Some(end) = not_after {
        k["not_after"] = json!(end);
    }
    if let Some(r) = revoked_at {
        k["revoked_at"] = json!(r);
    }
    k
}

/// The records of the vectors: the high-risk-pregnancy loop between
/// IMSS-Bienestar's clinic and an IMSS hospital, with texts that exercise
/// JCS's string rules (accents, a character outside the BMP, U+2028, a
/// newline, a quote, a backslash).
fn records() -> Vec<(&'static str, &'static str, Value)> {
    let referral = json!({
        "type": "message", "id": "imss-bienestar.r17.1", "from": "imss-bienestar", "to": "imss",
        "referral": { "agency": "imss-bienestar", "number": 17 }, "seq": 1,
        "sent_at": "2026-12-05T14:03:07Z",
        "body": {
            "kind": "referral",
            "beneficiary": { "id": "MX-CURP-GOMA850101MCHRRN09", "name": "Ana Gómez Martínez", "birth_date": "1985-01-01", "sex": "female" },
            "service": "obstetrics-high-risk", "priority": "urgent",
            "origin": "cs-ocosingo", "destination": "hgz-tuxtla",
            "reason": { "icd10": ["O14.1", "O24.4"], "text": "Preeclampsia severa, TA 160/110 — \"urgente\"\nSemana 34 🤰 C:\\notas\u{2028}fin" },
            "attachments": [ { "id": "lab-2026-88", "media_type": "application/pdf", "title": "Laboratorio: proteinuria" } ],
            "agreement": "imssb-imss-2026",
            "created_at": "2026-12-05T14:02:00.250Z"
        }
    });
    let accepted = json!({
        "type": "message", "id": "imss.r17.1", "from": "imss", "to": "imss-bienestar",
        "referral": { "agency": "imss-bienestar", "number": 17 }, "seq": 1,
        "sent_at": "2026-12-05T15:10:00Z",
        "body": { "kind": "status", "action": "accept", "status": "accepted", "note": "" }
    });
    let scheduled = json!({
        "type": "message", "id": "imss.r17.2", "from": "imss", "to": "imss-bienestar",
        "referral": { "agency": "imss-bienestar", "number": 17 }, "seq": 2,
        "sent_at": "2026-12-05T15:12:30Z",
        "body": { "kind": "status", "action": "schedule", "status": "scheduled", "facility": "hgz-tuxtla", "appointment_at": "2026-12-07T15:00:00Z", "note": "Traer estudios previos" }
    });
    let counter = json!({
        "type": "message", "id": "imss.r17.3", "from": "imss", "to": "imss-bienestar",
        "referral": { "agency": "imss-bienestar", "number": 17 }, "seq": 3,
        "sent_at": "2026-12-20T18:00:00Z",
        "body": { "kind": "counter_referral", "counter_referral": {
            "summary": { "diagnoses": ["O14.1"], "procedures": ["Cesárea"], "outcome": "resolved", "text": "Parto por cesárea a las 36 semanas" },
            "instructions": "Control de TA semanal",
            "follow_up": { "service": "prenatal-care", "within_days": 7, "note": "" } } }
    });
    let ack = json!({
        "type": "message", "id": "imss-bienestar.r17.2", "from": "imss-bienestar", "to": "imss",
        "referral": { "agency": "imss-bienestar", "number": 17 }, "seq": 2,
        "sent_at": "2026-12-21T09:00:00Z",
        "body": { "kind": "acknowledgement", "note": "Recibido" }
    });
    vec![
        ("referral", "imssb-2026", referral),
        ("accepted", "imss-2026", accepted),
        ("scheduled", "imss-2026", scheduled),
        ("counter-referral", "imss-2026", counter),
        ("acknowledgement", "imssb-2026", ack),
    ]
}

/// The trust list every vector is checked against: IMSS-Bienestar with a
/// key that expires and the key that replaces it (overlapping), IMSS with
/// its current key and one revoked after a compromise.
fn trust() -> Value {
    json!({ "peers": [
        { "agency": "imss-bienestar", "endpoint": "https://enlace.imss-bienestar.example/v1/exchange",
          "keys": [
            peer_key("imssb-2025", "2025-01-01T00:00:00Z", Some("2026-12-01T00:00:00Z"), None),
            peer_key("imssb-2026", "2026-11-01T00:00:00Z", None, None),
          ] },
        { "agency": "imss", "endpoint": "http://127.0.0.1:8081/v1/exchange",
          "keys": [
            peer_key("imss-2026", "2026-01-01T00:00:00Z", Some("2028-01-01T00:00:00Z"), None),
            peer_key("imss-leaked", "2025-01-01T00:00:00Z", None, Some("2026-06-01T00:00:00Z")),
          ] }
    ] })
}

fn seal_with(label: &str, payload: &[u8]) -> String {
    Signer::from_seed(&seed(label)).unwrap().seal(payload)
}

/// A seal whose header is `header` (any JSON), signed by `label`'s key.
fn seal_with_header(label: &str, header: &Value, payload: &[u8]) -> String {
    use ed25519_dalek::{Signer as _, SigningKey};
    let h = B64.encode(serde_json::to_vec(header).unwrap());
    let mut input = h.clone().into_bytes();
    input.push(b'.');
    input.extend_from_slice(payload);
    let sig = SigningKey::from_bytes(&seed(label)).sign(&input);
    format!("{h}..{}", B64.encode(sig.to_bytes()))
}

/// The same signature with `S + L` in place of `S`: the same point
/// equation holds, but RFC 8032 requires `S < L`.
fn malleated(seal: &str) -> String {
    const L: [u8; 32] = [
        0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde,
        0x14, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
    ];
    let (head, sig) = seal.split_once("..").unwrap();
    let mut sig = B64.decode(sig).unwrap();
    let mut carry = 0u16;
    for (i, l) in L.iter().enumerate() {
        let sum = sig[32 + i] as u16 + *l as u16 + carry;
        sig[32 + i] = sum as u8;
        carry = sum >> 8;
    }
    format!("{head}..{}", B64.encode(sig))
}

/// The whole vector file, computed with native core.
pub fn generate() -> Value {
    let trust = trust();
    let mut sealed = vec![];
    for (name, key, record) in records() {
        let payload = NativeSeals.canonical(&record.to_string()).unwrap();
        let seal = seal_with(key, &payload);
        let agency = record["from"].as_str().unwrap();
        sealed.push(json!({
            "name": name, "key": key, "record": record,
            "payload": String::from_utf8(payload).unwrap(), "seal": seal,
            "at": "2026-12-05T16:00:00Z", "signer": { "agency": agency, "kid": kid(key) },
        }));
    }
    // The retiring key, inside its validity (the overlap of a rotation).
    let old = &records()[0].2;
    let old_payload = NativeSeals.canonical(&old.to_string()).unwrap();
    sealed.push(json!({
        "name": "referral-by-retiring-key", "key": "imssb-2025", "record": old,
        "payload": String::from_utf8(old_payload.clone()).unwrap(), "seal": seal_with("imssb-2025", &old_payload),
        "at": "2026-11-15T00:00:00Z", "signer": { "agency": "imss-bienestar", "kid": kid("imssb-2025") },
    }));
    // A receipt of the first message.
    let first = sealed[0]["payload"].as_str().unwrap().as_bytes().to_vec();
    for (name, outcome) in [
        ("receipt-accepted", json!({ "result": "accepted" })),
        (
            "receipt-refused",
            json!({ "result": "refused", "code": "no_agreement", "message": "no agreement covers obstetrics-high-risk" }),
        ),
    ] {
        let receipt = json!({
            "type": "receipt", "message": "imss-bienestar.r17.1", "from": "imss", "to": "imss-bienestar",
            "digest": enlace_core::exchange::digest(&first), "received_at": "2026-12-05T14:03:08.104Z", "outcome": outcome,
        });
        let payload = NativeSeals.canonical(&receipt.to_string()).unwrap();
        sealed.push(json!({
            "name": name, "key": "imss-2026", "record": receipt,
            "payload": String::from_utf8(payload.clone()).unwrap(), "seal": seal_with("imss-2026", &payload),
            "at": "2026-12-05T16:00:00Z", "signer": { "agency": "imss", "kid": kid("imss-2026") },
        }));
    }

    let payload = first.clone();
    let text = String::from_utf8(payload.clone()).unwrap();
    let good = seal_with("imssb-2026", &payload);
    let at = "2026-12-05T16:00:00Z";
    let header = |alg: &str, b64: Value, extra: Option<(&str, Value)>| {
        let mut h = json!({ "alg": alg, "b64": b64, "crit": ["b64"], "kid": kid("imssb-2026") });
        if let Some((k, v)) = extra {
            h[k] = v;
        }
        h
    };
    let pretty = serde_json::to_string_pretty(&records()[0].2).unwrap();
    let duplicate = text.replacen(
        r#"{"agency":"imss-bienestar""#,
        r#"{"agency":"imss","agency":"imss-bienestar""#,
        1,
    );
    let by_other = text.replacen(r#""from":"imss-bienestar""#, r#""from":"imss""#, 1);
    let refused: Vec<(&str, String, String, &str, &str)> = vec![
        (
            "tampered-payload",
            good.clone(),
            text.replacen("O14.1", "O14.2", 1),
            at,
            "signature_invalid",
        ),
        (
            "seal-of-another-record",
            seal_with("imssb-2026", b"{}"),
            text.clone(),
            at,
            "signature_invalid",
        ),
        (
            "unknown-key",
            seal_with("stranger", &payload),
            text.clone(),
            at,
            "signer_unknown",
        ),
        (
            "expired-key",
            seal_with("imssb-2025", &payload),
            text.clone(),
            at,
            "signer_key_expired",
        ),
        (
            "key-not-yet-valid",
            good.clone(),
            text.clone(),
            "2026-10-15T00:00:00Z",
            "signer_key_not_yet_valid",
        ),
        (
            "revoked-key",
            seal_with("imss-leaked", by_other.as_bytes()),
            by_other.clone(),
            at,
            "signer_key_revoked",
        ),
        (
            "alg-hs256",
            seal_with_header("imssb-2026", &header("HS256", json!(false), None), &payload),
            text.clone(),
            at,
            "seal_algorithm_refused",
        ),
        (
            "alg-none",
            seal_with_header("imssb-2026", &header("none", json!(false), None), &payload),
            text.clone(),
            at,
            "seal_algorithm_refused",
        ),
        (
            "b64-true",
            seal_with_header("imssb-2026", &header("EdDSA", json!(true), None), &payload),
            text.clone(),
            at,
            "seal_malformed",
        ),
        (
            "unknown-header-member",
            seal_with_header(
                "imssb-2026",
                &header(
                    "EdDSA",
                    json!(false),
                    Some(("x5u", json!("https://evil.example/"))),
                ),
                &payload,
            ),
            text.clone(),
            at,
            "seal_malformed",
        ),
        (
            "attached-payload",
            good.replacen("..", &format!(".{}.", B64.encode(&payload)), 1),
            text.clone(),
            at,
            "seal_malformed",
        ),
        (
            "two-parts",
            good.replacen("..", ".", 1),
            text.clone(),
            at,
            "seal_malformed",
        ),
        (
            "signature-not-base64url",
            format!("{}..%%%%", good.split_once("..").unwrap().0),
            text.clone(),
            at,
            "seal_malformed",
        ),
        (
            "malleated-signature",
            malleated(&good),
            text.clone(),
            at,
            "signature_invalid",
        ),
        (
            "not-canonical",
            seal_with("imssb-2026", pretty.as_bytes()),
            pretty,
            at,
            "payload_not_canonical",
        ),
        (
            "duplicate-member",
            seal_with("imssb-2026", duplicate.as_bytes()),
            duplicate,
            at,
            "payload_malformed",
        ),
        (
            "not-a-record",
            seal_with("imssb-2026", b"[1,2,3]"),
            "[1,2,3]".to_owned(),
            at,
            "payload_malformed",
        ),
        (
            "sender-not-signer",
            seal_with("imssb-2026", by_other.as_bytes()),
            by_other,
            at,
            "sender_not_signer",
        ),
    ];
    let refused: Vec<Value> = refused
        .into_iter()
        .map(|(name, seal, payload, at, code)| json!({ "name": name, "seal": seal, "payload": payload, "at": at, "code": code }))
        .collect();
    let keys: serde_json::Map<String, Value> = [
        "imssb-2025",
        "imssb-2026",
        "imss-2026",
        "imss-leaked",
        "stranger",
    ]
    .iter()
    .map(|l| (l.to_string(), key_json(l)))
    .collect();
    json!({
        "about": "Golden vectors of Enlace's signed exchange: JCS (RFC 8785) payloads sealed with detached JWS over the unencoded payload (RFC 7515, RFC 7797), EdDSA/Ed25519 (RFC 8032, RFC 8037). Generated by tests/src/exchange.rs (UPDATE_EXPECT=1); test keys only.",
        "keys": keys, "trust": trust, "sealed": sealed, "refused": refused,
    })
}

/// Checks a face against the vector file: canonical bytes, seals, accepted
/// records and refusal codes. Returns what differs.
pub fn check(face: &mut dyn SealFace, vectors: &Value) -> Vec<String> {
    let mut failures = vec![];
    let trust = vectors["trust"].to_string();
    for v in vectors["sealed"].as_array().unwrap() {
        let name = v["name"].as_str().unwrap();
        let payload = v["payload"].as_str().unwrap().as_bytes();
        if face.reads_records() {
            match face.canonical(&v["record"].to_string()) {
                Ok(bytes) if bytes == payload => {}
                Ok(bytes) => failures.push(format!(
                    "{name}: canonical bytes differ: {}",
                    String::from_utf8_lossy(&bytes)
                )),
                Err(e) => failures.push(format!("{name}: canonical refused: {}", e.code)),
            }
        }
        let seed = B64
            .decode(
                vectors["keys"][v["key"].as_str().unwrap()]["d"]
                    .as_str()
                    .unwrap(),
            )
            .unwrap();
        match face.seal(&seed, payload) {
            Ok(seal) if seal == v["seal"] => {}
            Ok(seal) => failures.push(format!("{name}: seal differs: {seal}")),
            Err(e) => failures.push(format!("{name}: seal refused: {}", e.code)),
        }
        match face.verify(
            &trust,
            v["seal"].as_str().unwrap(),
            payload,
            v["at"].as_str().unwrap(),
        ) {
            Ok((signer, record)) => {
                if signer != v["signer"] {
                    failures.push(format!("{name}: signer {signer}"));
                }
                if record.is_some_and(|r| r != v["record"]) {
                    failures.push(format!("{name}: record read back differs"));
                }
            }
            Err(e) => failures.push(format!("{name}: refused with {}: {}", e.code, e.message)),
        }
    }
    for v in vectors["refused"].as_array().unwrap() {
        let name = v["name"].as_str().unwrap();
        let payload = v["payload"].as_str().unwrap().as_bytes();
        let about_the_record = [
            "payload_not_canonical",
            "payload_malformed",
            "sender_not_signer",
        ]
        .contains(&v["code"].as_str().unwrap());
        match face.verify(
            &trust,
            v["seal"].as_str().unwrap(),
            payload,
            v["at"].as_str().unwrap(),
        ) {
            // A face that checks seals only accepts a good seal over a bad record.
            Ok(_) if about_the_record && !face.reads_records() => {}
            Ok(_) => failures.push(format!("{name}: accepted, expected {}", v["code"])),
            Err(e) if e.code == v["code"] => {}
            Err(e) => failures.push(format!(
                "{name}: {} ({}), expected {}",
                e.code, e.message, v["code"]
            )),
        }
    }
    // A key of the wrong length is refused, not a panic.
    match face.seal(&[7u8; 31], b"{}") {
        Err(e) if e.code == "key_invalid" => {}
        other => failures.push(format!("31-byte seed: {other:?}")),
    }
    failures
}
