//! HTTPS: the host serves TLS itself (rustls) when the configuration names
//! a certificate chain and its private key (PEM), so an agency needs no
//! proxy in front to keep tokens and patients' data off the wire in clear.
//! Plain HTTP stays for development on 127.0.0.1 and behind an agency's
//! own TLS-terminating proxy.
//!
//! Certificates are renewed every few months (ACME, an agency CA): on
//! SIGHUP the host reads both files again and serves the new certificate to
//! new connections, without dropping one. A pair that does not load (a
//! half-written file, a key of another certificate) is refused and the
//! old one kept, so a renewal mistake never takes the service down.

use anyhow::{Context, Result};
use axum_server::tls_rustls::RustlsConfig;
use std::path::{Path, PathBuf};

/// The certificate chain and key files of the server.
#[derive(Debug, Clone)]
pub struct Files {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// rustls with the `ring` provider (the one reqwest already brings), chosen
/// once for the process. rustls 0.23.48 deprecates it for lacking
/// post-quantum key exchange, which only aws-lc-rs offers; that one needs
/// cmake and a C toolchain on every agency's build machine, a cost not yet
/// chosen (TOOLCHAIN.md): kept, knowingly.
#[allow(deprecated)]
fn provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// Checks that `files` hold a certificate chain and its key, as rustls
/// reads them; the errors name the file.
fn check(files: &Files) -> Result<()> {
    let read = |p: &Path| std::fs::read(p).with_context(|| format!("reading {}", p.display()));
    let (cert, key) = (read(&files.cert)?, read(&files.key)?);
    use rustls::pki_types::pem::PemObject;
    let chain = rustls::pki_types::CertificateDer::pem_slice_iter(&cert)
        .collect::<Result<Vec<_>, _>>()
        .with_context(|| format!("{}: not a PEM certificate chain", files.cert.display()))?;
    if chain.is_empty() {
        anyhow::bail!("{}: no certificate in it", files.cert.display());
    }
    let key = rustls::pki_types::PrivateKeyDer::from_pem_slice(&key)
        .with_context(|| format!("{}: not a PEM private key", files.key.display()))?;
    let signing = rustls::crypto::ring::sign::any_supported_type(&key)
        .with_context(|| format!("{}: a key type TLS cannot use", files.key.display()))?;
    rustls::sign::CertifiedKey::new(chain, signing)
        .keys_match()
        .with_context(|| {
            format!(
                "{} is not the key of the certificate in {}",
                files.key.display(),
                files.cert.display()
            )
        })
}

/// Loads the pair for serving; refuses one that does not fit.
pub async fn load(files: &Files) -> Result<RustlsConfig> {
    provider();
    check(files)?;
    RustlsConfig::from_pem_file(&files.cert, &files.key)
        .await
        .with_context(|| {
            format!(
                "loading {} and {}",
                files.cert.display(),
                files.key.display()
            )
        })
}

/// Reads the pair again into `config` on every SIGHUP, for as long as the
/// process runs; a pair that does not fit is logged and the old one kept.
pub fn reload_on_hangup(config: RustlsConfig, files: Files) {
    #[cfg(unix)]
    tokio::spawn(async move {
        use tokio::signal::unix::{SignalKind, signal};
        let Ok(mut hangups) = signal(SignalKind::hangup()) else {
            tracing::warn!("cannot listen for SIGHUP: certificates reload only at restart");
            return;
        };
        while hangups.recv().await.is_some() {
            let result = match check(&files) {
                Ok(()) => config
                    .reload_from_pem_file(&files.cert, &files.key)
                    .await
                    .context("reloading"),
                Err(e) => Err(e),
            };
            match result {
                Ok(()) => tracing::info!(cert = %files.cert.display(), "TLS certificate reloaded"),
                Err(e) => tracing::error!(
                    error = %format!("{e:#}"),
                    "TLS certificate not reloaded: still serving the previous one"
                ),
            }
        }
    });
    #[cfg(not(unix))]
    let _ = (config, files);
}
