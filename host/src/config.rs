//! Server configuration: defaults, then a TOML file, then `ENLACE_*`
//! environment variables, then command-line flags, each overriding the last.
//!
//! ```toml
//! listen = "0.0.0.0:8080"
//! data = "/var/lib/enlace"
//! web_root = "/usr/share/enlace/web-demo"
//! engine = "component"            # or "native" (comparison only)
//! component = "/usr/lib/enlace/enlace.component.wasm"
//! max_body_bytes = 262144
//! max_batch = 1024
//! snapshot_every = 50000          # entries between engine snapshots; 0: none
//! log = "info"                    # a tracing filter, e.g. "info,enlace_host=debug"
//! log_format = "text"             # or "json"
//! fuel_per_call = 2000000000      # optional bound on each engine call
//! cors_origins = ["https://portal.agency.example"]  # pages of other origins allowed to call the API
//! tls_cert = "/etc/enlace/fullchain.pem"  # serve HTTPS with this chain and key (PEM);
//! tls_key = "/etc/enlace/privkey.pem"     # SIGHUP reads them again after a renewal
//!
//! [oidc]                          # staff sign-in with the agency's provider (see oidc.rs)
//! issuer = "https://login.agency.example/realms/salud"
//! audiences = ["urn:enlace:api"]
//! tenant = "imss"
//! ```

use anyhow::{Context, Result, bail};
use serde::Deserialize;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// Which engine implementation serves the tenants.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum EngineKind {
    /// The engine as a WebAssembly component in wasmtime: the default.
    #[default]
    Component,
    /// enlace-core compiled into the server: for comparisons and debugging.
    Native,
}

impl std::str::FromStr for EngineKind {
    type Err = anyhow::Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "component" => Ok(EngineKind::Component),
            "native" => Ok(EngineKind::Native),
            other => bail!("engine must be `component` or `native`, not {other:?}"),
        }
    }
}

/// Log line format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

/// Everything `serve` needs.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub listen: SocketAddr,
    pub data: PathBuf,
    /// Static files served at `/` (the web demo). Missing folder: not served.
    pub web_root: PathBuf,
    pub engine: EngineKind,
    /// The component file; empty means the build's default location.
    pub component: Option<PathBuf>,
    /// Largest request body accepted, in bytes.
    pub max_body_bytes: usize,
    /// Most commands committed in one transaction.
    pub max_batch: usize,
    /// Journal entries between snapshots of each tenant's engine, which
    /// bound start-up time and the engine's memory. 0: no snapshots.
    pub snapshot_every: u64,
    pub log: String,
    pub log_format: LogFormat,
    /// Bounds the work of each engine call (wasmtime fuel, about one unit per
    /// Wasm instruction). A call that runs out traps: the request gets
    /// `engine_trap` and the instance is rebuilt. None: no bound.
    pub fuel_per_call: Option<u64>,
    /// Origins (`scheme://host[:port]`) whose pages may call the API from a
    /// browser (CORS), e.g. an agency portal that embeds the web demo. Empty:
    /// only the pages this server serves.
    pub cors_origins: Vec<String>,
    /// Staff sign-in with the agency's OpenID Connect provider. None: only
    /// the CLI's bearer tokens.
    pub oidc: Option<crate::oidc::OidcConfig>,
    /// HTTPS: the certificate chain (PEM) served, with `tls_key`. None:
    /// plain HTTP (127.0.0.1, or behind the agency's TLS proxy).
    pub tls_cert: Option<PathBuf>,
    /// The private key (PEM) of `tls_cert`.
    pub tls_key: Option<PathBuf>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data: PathBuf::from("./data"),
            web_root: PathBuf::from("web-demo"),
            engine: EngineKind::Component,
            component: None,
            max_body_bytes: 256 * 1024,
            max_batch: 1024,
            snapshot_every: 50_000,
            log: "info".into(),
            log_format: LogFormat::Text,
            fuel_per_call: None,
            cors_origins: Vec::new(),
            oidc: None,
            tls_cert: None,
            tls_key: None,
        }
    }
}

impl Config {
    /// Reads a TOML file over the defaults.
    pub fn from_file(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading config {}", path.display()))?;
        toml::from_str(&text).with_context(|| format!("in config {}", path.display()))
    }

    /// Applies `ENLACE_*` variables from `vars` (normally `std::env::vars()`).
    pub fn apply_env(&mut self, vars: impl IntoIterator<Item = (String, String)>) -> Result<()> {
        for (k, v) in vars {
            let bad = |what: &str| format!("environment variable {k}={v:?}: {what}");
            match k.as_str() {
                "ENLACE_LISTEN" => {
                    self.listen = v.parse().with_context(|| bad("not an address"))?
                }
                "ENLACE_DATA" => self.data = v.into(),
                "ENLACE_WEB_ROOT" => self.web_root = v.into(),
                "ENLACE_ENGINE" => {
                    self.engine = v.parse().with_context(|| bad("unknown engine"))?
                }
                "ENLACE_COMPONENT" => self.component = Some(v.into()),
                "ENLACE_MAX_BODY_BYTES" => {
                    self.max_body_bytes = v.parse().with_context(|| bad("not a number"))?;
                }
                "ENLACE_MAX_BATCH" => {
                    self.max_batch = v.parse().with_context(|| bad("not a number"))?;
                }
                "ENLACE_SNAPSHOT_EVERY" => {
                    self.snapshot_every = v.parse().with_context(|| bad("not a number"))?;
                }
                "ENLACE_LOG" => self.log = v,
                "ENLACE_TLS_CERT" => self.tls_cert = Some(v.into()),
                "ENLACE_TLS_KEY" => self.tls_key = Some(v.into()),
                "ENLACE_FUEL_PER_CALL" => {
                    self.fuel_per_call = Some(v.parse().with_context(|| bad("not a number"))?);
                }
                "ENLACE_CORS_ORIGINS" => {
                    self.cors_origins = v
                        .split(',')
                        .map(str::trim)
                        .filter(|o| !o.is_empty())
                        .map(str::to_owned)
                        .collect();
                }
                "ENLACE_LOG_FORMAT" => {
                    self.log_format = match v.as_str() {
                        "text" => LogFormat::Text,
                        "json" => LogFormat::Json,
                        _ => bail!(bad("text or json")),
                    }
                }
                _ => {}
            }
        }
        self.check()
    }

    /// Rejects values the server cannot run with.
    pub fn check(&self) -> Result<()> {
        if self.max_batch == 0 || self.max_batch > 100_000 {
            bail!("max_batch must be between 1 and 100000");
        }
        if self.max_body_bytes < 1024 {
            bail!("max_body_bytes must be at least 1024");
        }
        if self.tls_cert.is_some() != self.tls_key.is_some() {
            bail!("tls_cert and tls_key go together: name both files, or neither for plain HTTP");
        }
        for o in &self.cors_origins {
            let (scheme, rest) = o.split_once("://").unwrap_or(("", ""));
            if !matches!(scheme, "http" | "https")
                || rest.is_empty()
                || rest.contains('/')
                || !o.is_ascii()
            {
                bail!("cors_origins: {o:?} is not an origin like https://portal.example");
            }
        }
        Ok(())
    }
}

impl Config {
    /// The certificate and key files when HTTPS is configured.
    pub fn tls(&self) -> Option<crate::tls::Files> {
        match (&self.tls_cert, &self.tls_key) {
            (Some(cert), Some(key)) => Some(crate::tls::Files {
                cert: cert.clone(),
                key: key.clone(),
            }),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tls_files_go_together() {
        let mut c = Config::default();
        c.apply_env([("ENLACE_TLS_CERT".to_owned(), "/etc/c.pem".to_owned())])
            .unwrap_err();
        c.apply_env([("ENLACE_TLS_KEY".to_owned(), "/etc/k.pem".to_owned())])
            .unwrap();
        assert_eq!(c.tls().unwrap().key, PathBuf::from("/etc/k.pem"));
    }

    #[test]
    fn file_then_environment() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("enlace.toml");
        std::fs::write(
            &path,
            "listen = \"0.0.0.0:9000\"\ndata = \"/srv/enlace\"\nmax_batch = 10\nengine = \"native\"\n",
        )
        .unwrap();
        let mut c = Config::from_file(&path).unwrap();
        assert_eq!(c.listen.port(), 9000);
        assert_eq!(c.engine, EngineKind::Native);
        c.apply_env([
            ("ENLACE_MAX_BATCH".to_owned(), "20".to_owned()),
            ("HOME".to_owned(), "/root".to_owned()),
        ])
        .unwrap();
        assert_eq!(c.max_batch, 20);
        assert_eq!(c.data, PathBuf::from("/srv/enlace"));
        assert!(
            c.apply_env([("ENLACE_MAX_BATCH".to_owned(), "x".to_owned())])
                .is_err()
        );
        std::fs::write(&path, "lisen = \"0.0.0.0:9000\"\n").unwrap();
        assert!(
            Config::from_file(&path).is_err(),
            "unknown keys are refused"
        );
    }

    #[test]
    fn cors_origins_from_the_environment_and_checked() {
        let mut c = Config::default();
        c.apply_env([(
            "ENLACE_CORS_ORIGINS".to_owned(),
            "https://portal.example, http://127.0.0.1:3000".to_owned(),
        )])
        .unwrap();
        assert_eq!(
            c.cors_origins,
            ["https://portal.example", "http://127.0.0.1:3000"]
        );
        for bad in [
            "portal.example",
            "https://portal.example/app",
            "ftp://x",
            "https://",
        ] {
            let mut c = Config::default();
            let e = c
                .apply_env([("ENLACE_CORS_ORIGINS".to_owned(), bad.to_owned())])
                .unwrap_err()
                .to_string();
            assert!(e.contains("not an origin"), "{bad}: {e}");
        }
    }
}
