//! Staff sign-in against a real OpenID Connect provider nobody here wrote:
//! panva's `oidc-provider` (tests/oidc/provider.mjs, installed by
//! `cargo xtask test`) on 127.0.0.1, and the real `enlace-host` binary.
//!
//! Machine clients of the provider (client credentials) give JWT access
//! tokens with a person's claims; the browser tests sign a person in
//! through the authorization-code flow with PKCE.

mod common;

use common::{Server, seed};
use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const API: &str = "urn:enlace:api";

/// The provider process, stopped when dropped.
struct Provider {
    child: Child,
    issuer: String,
}

impl Drop for Provider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn provider_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/oidc")
}

impl Provider {
    /// Starts the provider with the keys in `dir/keys.json` (made when
    /// missing; `rotate`: a new signing key first, the old ones still
    /// published) on `port` (0: any).
    fn start(dir: &Path, port: u16, rotate: bool) -> Provider {
        let root = provider_dir();
        assert!(
            root.join("node_modules/oidc-provider").exists(),
            "tests/oidc/node_modules is missing: run `cargo xtask test` (it installs oidc-provider), or `npm ci` in tests/oidc"
        );
        let accounts = json!({
            "coord.jorge": {"enlace_agency": "imss", "enlace_facility": "F0004", "enlace_role": "coordinator", "name": "Jorge"},
            "sin.rol": {"enlace_agency": "imss", "enlace_facility": "F0004"},
            "dos.roles": {"enlace_agency": "imss", "enlace_role": ["clerk", "coordinator"]},
        });
        std::fs::write(dir.join("accounts.json"), accounts.to_string()).unwrap();
        let mut cmd = Command::new("node");
        cmd.arg(root.join("provider.mjs"))
            .arg("--keys")
            .arg(dir.join("keys.json"))
            .arg("--accounts")
            .arg(dir.join("accounts.json"))
            .args(["--port", &port.to_string()])
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        if rotate {
            cmd.arg("--rotate");
        }
        let mut child = cmd.spawn().expect("node (installed by cargo xtask test)");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(issuer) = line.strip_prefix("listening ") {
                    let _ = tx.send(issuer.trim().to_owned());
                }
            }
        });
        let issuer = rx
            .recv_timeout(Duration::from_secs(60))
            .expect("the OIDC provider did not start");
        Provider { child, issuer }
    }

    fn port(&self) -> u16 {
        self.issuer.rsplit(':').next().unwrap().parse().unwrap()
    }

    /// A client-credentials access token of `client` for `resource`.
    async fn token(&self, client: &str, resource: &str) -> String {
        let r: Value = reqwest::Client::new()
            .post(format!("{}/token", self.issuer))
            .basic_auth(client, Some("secret"))
            .form(&[
                ("grant_type", "client_credentials"),
                ("scope", "enlace"),
                ("resource", resource),
            ])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        r["access_token"]
            .as_str()
            .unwrap_or_else(|| panic!("no access token: {r}"))
            .to_owned()
    }
}

/// A seeded data folder and a config whose `[oidc]` trusts `issuer`.
fn config(dir: &Path, issuer: &str) -> PathBuf {
    let path = dir.join("enlace.toml");
    std::fs::write(
        &path,
        format!(
            r#"
[oidc]
issuer = "{issuer}"
audiences = ["{API}", "enlace-web"]
tenant = "demo"
client_id = "enlace-web"
scope = "openid enlace"
resource = "{API}"
leeway_seconds = 0
jwks_min_refresh_seconds = 1
"#
        ),
    )
    .unwrap();
    path
}

fn start(data: &Path, config: &Path) -> Server {
    Server::start_with(data, &["--config", config.to_str().unwrap()])
}

fn code(r: &(u16, Value)) -> (u16, &str) {
    (r.0, r.1["code"].as_str().unwrap_or(""))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staff_sign_in_with_the_agencys_provider() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let tokens = seed(&data, "demo");
    let provider = Provider::start(dir.path(), 0, false);
    let cfg = config(dir.path(), &provider.issuer);
    let server = start(&data, &cfg);
    let api = server.client("");

    // What a page needs to start the authorization-code flow.
    let info: Value = reqwest::get(format!("{}/v1/sign-in", server.base))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        info,
        json!({"issuer": provider.issuer, "client_id": "enlace-web", "scope": "openid enlace", "resource": API})
    );

    // Signed in: the claims are the actor, and the engine decides the rest.
    let coord = api.with_token(&provider.token("bot-coord.jorge", API).await);
    let me = coord.get("/v1/me").await.unwrap();
    assert_eq!(me.0, 200, "{}", me.1);
    assert_eq!(
        me.1["actor"],
        json!({"user": "bot-coord.jorge", "agency": "imss", "facility": "F0004", "role": "coordinator"})
    );
    assert_eq!(me.1["issuer"], json!(provider.issuer));
    assert_eq!(me.1["token_id"], Value::Null);
    let worklist = coord.get("/v1/facilities/F0004/worklist").await.unwrap();
    assert_eq!(worklist.0, 200, "{}", worklist.1);
    let other = coord.get("/v1/facilities/F0001/worklist").await.unwrap();
    assert_eq!(
        code(&other),
        (403, "not_permitted"),
        "the engine, not the sign-in, decides: {}",
        other.1
    );

    // The CLI's tokens keep working beside the provider's.
    let clerk = api.with_token(&tokens["clinic-clerk"]);
    assert_eq!(clerk.get("/v1/me").await.unwrap().0, 200);

    // A token for another audience, a tampered one, a shared-secret one
    // with the right claims, garbage: refused as unauthenticated.
    let other_aud = api.with_token(&provider.token("bot-coord.jorge", "urn:other:api").await);
    let r = other_aud.get("/v1/me").await.unwrap();
    assert_eq!(code(&r), (401, "unauthenticated"));
    assert!(r.1["message"].as_str().unwrap().contains("audience"));
    let mut tampered = coord.token.clone().into_bytes();
    let i = tampered.iter().rposition(|&b| b == b'.').unwrap() + 5;
    tampered[i] = if tampered[i] == b'A' { b'B' } else { b'A' };
    let r = api
        .with_token(std::str::from_utf8(&tampered).unwrap())
        .get("/v1/me")
        .await
        .unwrap();
    assert_eq!(code(&r), (401, "unauthenticated"), "{}", r.1);
    let now = chrono::Utc::now().timestamp();
    let forged = jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &json!({"iss": provider.issuer, "aud": API, "sub": "x", "exp": now + 600,
                "enlace_agency": "imss", "enlace_role": "admin"}),
        &jsonwebtoken::EncodingKey::from_secret(b"guessed").unwrap(),
    )
    .unwrap();
    let r = api.with_token(&forged).get("/v1/me").await.unwrap();
    assert_eq!(code(&r), (401, "unauthenticated"));
    assert!(r.1["message"].as_str().unwrap().contains("HS256"));
    for junk in ["not-a-jwt", "a.b.c", &"x".repeat(20_000)] {
        let r = api.with_token(junk).get("/v1/me").await.unwrap();
        assert_eq!(code(&r), (401, "unauthenticated"), "{junk:.20}");
    }

    // Claims without a role, or with two: refused, not guessed.
    for client in ["bot-sin.rol", "bot-dos.roles"] {
        let r = api
            .with_token(&provider.token(client, API).await)
            .get("/v1/me")
            .await
            .unwrap();
        assert_eq!(code(&r), (403, "identity_not_mapped"), "{client}: {}", r.1);
    }

    // Expired: its own code, so that the page signs in again.
    let brief = api.with_token(&provider.token("brief-coord.jorge", API).await);
    assert_eq!(brief.get("/v1/me").await.unwrap().0, 200);
    tokio::time::sleep(Duration::from_millis(3100)).await;
    assert_eq!(
        code(&brief.get("/v1/me").await.unwrap()),
        (401, "token_expired")
    );

    // Nothing a refused token asked for changed anything: the worklist
    // reads the same.
    assert_eq!(
        coord.get("/v1/facilities/F0004/worklist").await.unwrap(),
        worklist
    );

    // Operators see the outcomes; the provider's keys were fetched once.
    let metrics = api.text("/metrics").await;
    let count = |name: &str| -> u64 {
        metrics
            .lines()
            .find_map(|l| l.strip_prefix(name)?.trim().parse().ok())
            .unwrap_or_else(|| panic!("{name} missing from /metrics"))
    };
    assert!(count("enlace_sign_in_total{outcome=\"accepted\"}") >= 5);
    assert_eq!(count("enlace_sign_in_total{outcome=\"expired\"}"), 1);
    assert_eq!(count("enlace_sign_in_total{outcome=\"not_mapped\"}"), 2);
    assert_eq!(count("enlace_sign_in_key_fetches_total"), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotated_keys_are_fetched_and_an_unreachable_provider_stops_no_one_signed_in() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let tokens = seed(&data, "demo");
    let first = Provider::start(dir.path(), 0, false);
    let (issuer, port) = (first.issuer.clone(), first.port());
    let cfg = config(dir.path(), &issuer);
    let server = start(&data, &cfg);
    let api = server.client("");
    let old = api.with_token(&first.token("bot-coord.jorge", API).await);
    assert_eq!(old.get("/v1/me").await.unwrap().0, 200);

    // The provider rotates: a new key signs, the old one stays published.
    drop(first);
    let rotated = Provider::start(dir.path(), port, true);
    let new = api.with_token(&rotated.token("bot-coord.jorge", API).await);
    assert_ne!(
        jsonwebtoken::decode_header(&new.token).unwrap().kid,
        jsonwebtoken::decode_header(&old.token).unwrap().kid
    );
    // The host fetches keys again at most once a second (the config's
    // jwks_min_refresh_seconds), and it fetched them just now.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let r = new.get("/v1/me").await.unwrap();
    assert_eq!(r.0, 200, "a token signed by the new key: {}", r.1);
    assert_eq!(old.get("/v1/me").await.unwrap().0, 200);

    // The provider goes away: people signed in with known keys go on.
    drop(rotated);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(new.get("/v1/me").await.unwrap().0, 200);
    drop(server);

    // A host started while the provider is down answers sign-ins 503 with
    // its code, and bearer tokens from the CLI still work.
    let server = start(&data, &cfg);
    let api = server.client("");
    let r = api.with_token(&new.token).get("/v1/me").await.unwrap();
    assert_eq!(code(&r), (503, "identity_provider_unavailable"), "{}", r.1);
    let clerk = api.with_token(&tokens["clinic-clerk"]);
    assert_eq!(clerk.get("/v1/me").await.unwrap().0, 200);
    // The provider is back: the same token is accepted.
    let _back = Provider::start(dir.path(), port, false);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let r = api.with_token(&new.token).get("/v1/me").await.unwrap();
    assert_eq!(r.0, 200, "{}", r.1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_host_without_a_provider_says_so_and_refuses_jwts() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    seed(&data, "demo");
    let server = Server::start(&data);
    let r = reqwest::get(format!("{}/v1/sign-in", server.base))
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 404);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["code"], "sign_in_not_configured");
    let r = server
        .client("eyJhbGciOiJSUzI1NiJ9.e30.c2ln")
        .get("/v1/me")
        .await
        .unwrap();
    assert_eq!(code(&r), (401, "unauthenticated"));

    // A config naming a tenant the host does not have: refused at start.
    let cfg = config(dir.path(), "http://127.0.0.1:9");
    let text = std::fs::read_to_string(&cfg)
        .unwrap()
        .replace("tenant = \"demo\"", "tenant = \"nadie\"");
    std::fs::write(&cfg, text).unwrap();
    let stderr = common::serve_refused(&data, &cfg);
    assert!(stderr.contains("\"nadie\" is not a tenant"), "{stderr}");
}
