//! Test harness: runs the real `enlace-host` binary on 127.0.0.1 with a real
//! data folder in a temporary directory, and talks to it over HTTP.
#![allow(dead_code)]

use serde_json::Value;
use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub const BIN: &str = env!("CARGO_BIN_EXE_enlace-host");

/// The engine the tests run the server with: the component by default,
/// `ENLACE_TEST_ENGINE=native` to compare.
pub fn engine() -> String {
    std::env::var("ENLACE_TEST_ENGINE").unwrap_or_else(|_| "component".into())
}

/// Runs a CLI subcommand to completion.
pub fn cli(data: &Path, args: &[&str]) -> std::process::Output {
    Command::new(BIN)
        .args(args)
        .env("ENLACE_DATA", data)
        .output()
        .expect("run enlace-host")
}

/// Seeds the demo network into `tenant`; returns its tokens by label.
pub fn seed(data: &Path, tenant: &str) -> HashMap<String, String> {
    let engine = engine();
    let out = cli(data, &["seed", "--tenant", tenant, "--engine", &engine]);
    assert!(
        out.status.success(),
        "seed failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let mut it = l.split_whitespace();
            match (it.next(), it.next()) {
                (Some(label), Some(tok)) if tok.starts_with("enl_") => {
                    Some((label.to_owned(), tok.to_owned()))
                }
                _ => None,
            }
        })
        .collect()
}

/// Creates a token with the CLI.
pub fn token(
    data: &Path,
    tenant: &str,
    user: &str,
    agency: &str,
    facility: Option<&str>,
    role: &str,
) -> String {
    let mut args = vec![
        "token", "create", "--tenant", tenant, "--user", user, "--agency", agency, "--role", role,
    ];
    if let Some(f) = facility {
        args.extend(["--facility", f]);
    }
    let out = cli(data, &args);
    assert!(
        out.status.success(),
        "token create failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// Runs `serve` with the config file `config`, expecting it to refuse to
/// start; returns what it wrote to standard error.
pub fn serve_refused(data: &Path, config: &Path) -> String {
    let out = Command::new(BIN)
        .args(["serve", "--listen", "127.0.0.1:0", "--engine", &engine()])
        .arg("--data")
        .arg(data)
        .arg("--config")
        .arg(config)
        .output()
        .expect("run enlace-host");
    assert!(
        !out.status.success(),
        "serve started with {}",
        config.display()
    );
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A running server process.
#[derive(Debug)]
pub struct Server {
    child: Child,
    pub base: String,
    pub data: PathBuf,
}

impl Server {
    /// Starts `enlace-host serve` on a free port of 127.0.0.1.
    pub fn start(data: &Path) -> Server {
        Self::start_with(data, &[])
    }

    pub fn start_with(data: &Path, extra: &[&str]) -> Server {
        Self::start_with_env(data, extra, &[])
    }

    /// `start_with`, with extra environment variables (config overrides).
    pub fn start_with_env(data: &Path, extra: &[&str], envs: &[(&str, &str)]) -> Server {
        let engine = engine();
        let mut child = Command::new(BIN)
            .args([
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--data",
                data.to_str().unwrap(),
                "--engine",
                &engine,
                "--web-root",
                "/nonexistent",
            ])
            .args(extra)
            .env("ENLACE_LOG", "warn")
            .envs(envs.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start enlace-host");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut tx = Some(tx);
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some(addr) = line.strip_prefix("enlace-host listening on ")
                    && let Some(tx) = tx.take()
                {
                    let _ = tx.send(addr.trim().to_owned());
                }
            }
        });
        let base = match rx.recv_timeout(Duration::from_secs(120)) {
            Ok(b) => b,
            Err(_) => {
                let _ = child.kill();
                panic!("the server did not start");
            }
        };
        Server {
            child,
            base,
            data: data.to_owned(),
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGKILL: no chance to flush or clean up.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGTERM and wait: the graceful path.
    pub fn stop(&mut self) -> std::process::ExitStatus {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        self.child.wait().expect("wait for the server")
    }

    pub fn client(&self, token: &str) -> Api {
        self.client_with(token, reqwest::Client::builder())
    }

    /// A client that opens a connection per request: for bad input that
    /// makes the server close a connection (an oversized body answered
    /// before it was read), which a pooled client might reuse.
    pub fn fresh_client(&self, token: &str) -> Api {
        self.client_with(token, reqwest::Client::builder().pool_max_idle_per_host(0))
    }

    fn client_with(&self, token: &str, builder: reqwest::ClientBuilder) -> Api {
        Api {
            http: builder.timeout(Duration::from_secs(60)).build().unwrap(),
            base: self.base.clone(),
            token: token.to_owned(),
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A client with one bearer token.
#[derive(Debug, Clone)]
pub struct Api {
    pub http: reqwest::Client,
    pub base: String,
    pub token: String,
}

/// What came back: status and JSON body (Null when not JSON).
pub type Resp = (u16, Value);

impl Api {
    pub fn with_token(&self, token: &str) -> Api {
        Api {
            token: token.to_owned(),
            ..self.clone()
        }
    }

    /// The text of `path`, unauthenticated (e.g. `/metrics`).
    pub async fn text(&self, path: &str) -> String {
        self.http
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }

    pub async fn get(&self, path: &str) -> reqwest::Result<Resp> {
        let r = self
            .http
            .get(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .send()
            .await?;
        Ok((r.status().as_u16(), r.json().await.unwrap_or(Value::Null)))
    }

    pub async fn send(
        &self,
        method: &str,
        path: &str,
        body: Option<&Value>,
        key: Option<&str>,
    ) -> reqwest::Result<Resp> {
        let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut req = self
            .http
            .request(m, format!("{}{path}", self.base))
            .bearer_auth(&self.token);
        if let Some(b) = body {
            req = req
                .header("content-type", "application/json")
                .body(serde_json::to_vec(b).unwrap());
        }
        if let Some(k) = key {
            req = req.header("idempotency-key", k);
        }
        let r = req.send().await?;
        Ok((r.status().as_u16(), r.json().await.unwrap_or(Value::Null)))
    }

    pub async fn post(&self, path: &str, body: &Value, key: Option<&str>) -> reqwest::Result<Resp> {
        self.send("POST", path, Some(body), key).await
    }
}

/// The journal file of a tenant.
pub fn journal_file(data: &Path, tenant: &str) -> PathBuf {
    data.join("tenants").join(tenant).join("journal.sqlite")
}

/// Reads a tenant's journal straight from SQLite.
pub fn journal(data: &Path, tenant: &str) -> Vec<enlace_core::Entry> {
    let conn = enlace_host::journal::open_reader(&journal_file(data, tenant)).unwrap();
    enlace_host::journal::read_after(&conn, 0, u64::MAX).unwrap()
}

/// Free slots of an agenda: (start, free) for the next `days` days.
pub async fn agenda_slots(api: &Api, agenda: &str, days: u32) -> Vec<(String, u64)> {
    let from = (chrono::Utc::now() + chrono::Duration::days(1)).date_naive();
    let (s, v) = api
        .get(&format!(
            "/v1/agendas/{agenda}/slots?from={from}&days={days}"
        ))
        .await
        .unwrap();
    assert_eq!(s, 200, "{v}");
    let mut out = Vec::new();
    for day in v.as_array().unwrap() {
        for slot in day["slots"].as_array().unwrap() {
            let cap = slot["capacity"].as_u64().unwrap();
            let taken = slot["taken"].as_u64().unwrap();
            if taken < cap {
                out.push((slot["start"].as_str().unwrap().to_owned(), cap - taken));
            }
        }
    }
    out
}

/// Journal length as `/healthz` reports it.
pub async fn journal_len(api: &Api, tenant: &str) -> u64 {
    let r = api
        .http
        .get(format!("{}/healthz", api.base))
        .send()
        .await
        .unwrap();
    let v: Value = r.json().await.unwrap();
    v["tenants"][tenant]["journal_entries"].as_u64().unwrap()
}
