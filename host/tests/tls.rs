//! HTTPS served by the host itself: a real TLS handshake on 127.0.0.1 with
//! certificates made by rcgen, the renewal read again on SIGHUP, a renewal
//! that does not fit refused while the old certificate keeps serving, and a
//! pair that does not fit refused at start.

mod common;

use common::{Server, seed};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// A self-signed certificate for 127.0.0.1: (certificate PEM, key PEM).
fn pair() -> (String, String) {
    let c =
        rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])
            .unwrap();
    (c.cert.pem(), c.signing_key.serialize_pem())
}

fn write(dir: &Path, cert: &str, key: &str) -> (PathBuf, PathBuf) {
    let (c, k) = (dir.join("fullchain.pem"), dir.join("privkey.pem"));
    std::fs::write(&c, cert).unwrap();
    std::fs::write(&k, key).unwrap();
    (c, k)
}

fn config(dir: &Path, cert: &Path, key: &Path) -> PathBuf {
    let path = dir.join("enlace.toml");
    std::fs::write(
        &path,
        format!(
            "tls_cert = {:?}\ntls_key = {:?}\n",
            cert.to_str().unwrap(),
            key.to_str().unwrap()
        ),
    )
    .unwrap();
    path
}

/// A client that trusts only `cert`.
fn trusting(cert: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(cert.as_bytes()).unwrap())
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

async fn status(client: &reqwest::Client, url: &str, token: Option<&str>) -> Option<u16> {
    let mut req = client.get(url);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    req.send().await.ok().map(|r| r.status().as_u16())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serves_https_and_reads_renewed_certificates_on_sighup() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let tokens = seed(&data, "demo");
    let (cert1, key1) = pair();
    let (c, k) = write(dir.path(), &cert1, &key1);
    let cfg = config(dir.path(), &c, &k);
    let server = Server::start_with(&data, &["--config", cfg.to_str().unwrap()]);
    assert!(
        server.base.starts_with("https://127.0.0.1:"),
        "{}",
        server.base
    );
    let healthz = format!("{}/healthz", server.base);
    let me = format!("{}/v1/me", server.base);

    let first = trusting(&cert1);
    assert_eq!(status(&first, &healthz, None).await, Some(200));
    let clerk = tokens["clinic-clerk"].as_str();
    assert_eq!(status(&first, &me, Some(clerk)).await, Some(200));
    // Plain HTTP on the TLS port gets no answer of the API.
    let plain = healthz.replacen("https://", "http://", 1);
    assert_ne!(
        status(&reqwest::Client::new(), &plain, None).await,
        Some(200)
    );

    // A renewal: new files, SIGHUP, and new connections get the new
    // certificate without a restart.
    let (cert2, key2) = pair();
    write(dir.path(), &cert2, &key2);
    let hup = || {
        let ok = Command::new("kill")
            .args(["-HUP", &server.pid().to_string()])
            .status()
            .unwrap()
            .success();
        assert!(ok);
    };
    hup();
    let second = trusting(&cert2);
    let deadline = Instant::now() + Duration::from_secs(20);
    while status(&second, &healthz, None).await != Some(200) {
        assert!(
            Instant::now() < deadline,
            "the renewed certificate is not served"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // New connections no longer see the old one.
    assert_eq!(status(&trusting(&cert1), &healthz, None).await, None);

    // A renewal gone wrong (the key of another certificate): refused, and
    // the previous certificate goes on serving.
    let (_, other_key) = pair();
    write(dir.path(), &cert2, &other_key);
    hup();
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(status(&trusting(&cert2), &healthz, None).await, Some(200));
    assert_eq!(status(&trusting(&cert2), &me, Some(clerk)).await, Some(200));
}

#[test]
fn a_certificate_and_key_that_do_not_fit_stop_the_start() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    seed(&data, "demo");
    let (cert, _) = pair();
    let (_, key) = pair();
    let serve = |cfg: &Path| common::serve_refused(&data, cfg);
    let (c, k) = write(dir.path(), &cert, &key);
    let e = serve(&config(dir.path(), &c, &k));
    assert!(e.contains("is not the key of the certificate"), "{e}");
    let e = serve(&config(dir.path(), &dir.path().join("missing.pem"), &k));
    assert!(e.contains("missing.pem"), "{e}");
    std::fs::write(&c, "not a certificate").unwrap();
    let e = serve(&config(dir.path(), &c, &k));
    assert!(e.contains("fullchain.pem"), "{e}");
    // One without the other.
    let half = dir.path().join("half.toml");
    std::fs::write(&half, format!("tls_cert = {:?}\n", c.to_str().unwrap())).unwrap();
    let e = serve(&half);
    assert!(e.contains("tls_cert and tls_key go together"), "{e}");
}
