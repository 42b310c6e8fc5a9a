//! Starting and stopping the server: tenants, listener, graceful shutdown.

use crate::auth::Registry;
use crate::backend::BackendFactory;
use crate::commit::WriterConfig;
use crate::config::Config;
use crate::http::{self, App};
use crate::tenant::Tenants;
use anyhow::{Context, Result};
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::sync::oneshot;

/// A running server.
#[derive(Debug)]
pub struct Running {
    /// The address it listens on (useful with port 0).
    pub addr: SocketAddr,
    /// `https` when serving TLS, else `http`.
    pub scheme: &'static str,
    pub tenants: Arc<Tenants>,
    shutdown: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

/// Loads every tenant of `config.data`, binds `config.listen` and serves.
pub async fn start(config: &Config, factory: BackendFactory) -> Result<Running> {
    let registry = Arc::new(Registry::open(&config.data)?);
    let names = registry.tenants()?;
    let data = config.data.clone();
    let writer = WriterConfig {
        max_batch: config.max_batch,
        snapshot_every: config.snapshot_every,
    };
    let tenants =
        tokio::task::spawn_blocking(move || Tenants::start(&data, &names, &factory, writer))
            .await
            .context("loading tenants")??;
    let tenants = Arc::new(tenants);
    let mut app = App::new(registry, tenants.clone(), config.max_body_bytes);
    if let Some(oidc) = &config.oidc {
        if tenants.get(&oidc.tenant).is_none() {
            anyhow::bail!(
                "[oidc] tenant {:?} is not a tenant of this host (enlace-host tenant create)",
                oidc.tenant
            );
        }
        app.sign_in = Some(crate::oidc::Verifier::new(oidc.clone())?);
    }
    let app = Arc::new(app);
    let router = http::router(app, Some(config.web_root.clone()));
    let router = match http::cors(&config.cors_origins) {
        Some(layer) => router.layer(layer),
        None => router,
    };
    let (tx, rx) = oneshot::channel::<()>();
    // Answers go out as soon as they are written: an answer waits for its
    // commit already, it should not wait for Nagle's timer as well.
    let (addr, task) = match config.tls() {
        None => {
            if !config.listen.ip().is_loopback() {
                tracing::warn!(
                    listen = %config.listen,
                    "plain HTTP on an address other machines reach: set tls_cert and tls_key, or keep the host behind a TLS proxy"
                );
            }
            let listener = tokio::net::TcpListener::bind(config.listen)
                .await
                .with_context(|| format!("binding {}", config.listen))?;
            let addr = listener.local_addr()?;
            let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
                let _ = tcp.set_nodelay(true);
            });
            let task = tokio::spawn(async move {
                axum::serve(listener, router)
                    .with_graceful_shutdown(async {
                        let _ = rx.await;
                    })
                    .await
            });
            (addr, task)
        }
        Some(files) => {
            use axum_server::accept::{TcpConfigAcceptor, TcpSocketConfig};
            let tls = crate::tls::load(&files).await?;
            crate::tls::reload_on_hangup(tls.clone(), files);
            let listener = std::net::TcpListener::bind(config.listen)
                .with_context(|| format!("binding {}", config.listen))?;
            listener.set_nonblocking(true)?;
            let addr = listener.local_addr()?;
            let handle = axum_server::Handle::new();
            let stopping = handle.clone();
            tokio::spawn(async move {
                let _ = rx.await;
                // In-flight requests finish; no deadline, as for plain HTTP.
                stopping.graceful_shutdown(None);
            });
            let acceptor = axum_server::tls_rustls::RustlsAcceptor::new(tls)
                .acceptor(TcpConfigAcceptor::new(TcpSocketConfig::new().nodelay(true)));
            let server = axum_server::from_tcp(listener)?
                .acceptor(acceptor)
                .handle(handle);
            let task = tokio::spawn(async move { server.serve(router.into_make_service()).await });
            (addr, task)
        }
    };
    Ok(Running {
        addr,
        scheme: if config.tls().is_some() {
            "https"
        } else {
            "http"
        },
        tenants,
        shutdown: Some(tx),
        task,
    })
}

impl Running {
    /// Stops accepting connections, lets in-flight requests finish (their
    /// commits included), then stops every tenant writer.
    pub async fn stop(mut self) -> Result<()> {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        let served = (&mut self.task).await;
        let tenants = self.tenants.clone();
        tokio::task::spawn_blocking(move || tenants.stop()).await?;
        served??;
        Ok(())
    }

    /// Serves until SIGINT or SIGTERM, then shuts down gracefully.
    pub async fn run_until_signal(self) -> Result<()> {
        shutdown_signal().await;
        tracing::info!("shutting down: finishing in-flight requests and commits");
        self.stop().await?;
        tracing::info!("stopped");
        Ok(())
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}
