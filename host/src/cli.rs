//! The command line: `serve`, `token`, `tenant`, `verify`, `export`,
//! `import` and `seed`.

use crate::auth::Registry;
use crate::backend::{BackendFactory, NativeBackend};
use crate::config::{Config, EngineKind, LogFormat};
use crate::journal::{self, Journal};
use crate::tenant::journal_path;
use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use enlace_core::{Actor, Entry, Role};
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Where the data lives; shared by every subcommand.
#[derive(Debug, Args, Clone)]
pub struct DataArg {
    /// The data folder (host.sqlite and one journal per tenant).
    #[arg(long, env = "ENLACE_DATA", default_value = "./data")]
    pub data: PathBuf,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on, e.g. 127.0.0.1:8080 (overrides the config file).
    #[arg(long)]
    pub listen: Option<std::net::SocketAddr>,
    /// The data folder (overrides the config file).
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Load the demo network into an empty data folder and print its tokens.
    #[arg(long)]
    pub seed: bool,
    /// A TOML configuration file (see config.rs for the keys).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// `component` (default: the engine in wasmtime) or `native`
    /// (enlace-core compiled in; for comparisons only).
    #[arg(long)]
    pub engine: Option<EngineKind>,
    /// The engine component (`.wasm`).
    #[arg(long)]
    pub component: Option<PathBuf>,
    /// Static files served at `/`.
    #[arg(long)]
    pub web_root: Option<PathBuf>,
    /// For tests only: date every command and query with the RFC 3339
    /// instant in FILE, read at each call, instead of the system clock
    /// (see test_clock.rs). Never in production.
    #[arg(long, value_name = "FILE")]
    pub test_clock: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum TokenCmd {
    /// Create a token for an actor of a tenant; prints the token once.
    Create {
        #[command(flatten)]
        data: DataArg,
        #[arg(long)]
        tenant: String,
        /// User identifier recorded in the audit trail.
        #[arg(long)]
        user: String,
        #[arg(long)]
        agency: String,
        /// The facility the person works at (none for admins and auditors).
        #[arg(long)]
        facility: Option<String>,
        /// clerk, clinician, coordinator, auditor or admin.
        #[arg(long)]
        role: String,
        #[arg(long, default_value = "")]
        label: String,
        /// How long the token works: a number of days (`90d`), hours
        /// (`12h`) or minutes (`30m`), or `never` for a machine that cannot
        /// renew it.
        #[arg(long, default_value = "90d", value_name = "DURATION")]
        expires_in: String,
    },
    /// List tokens (never the secrets), with their expiry and last use.
    List {
        #[command(flatten)]
        data: DataArg,
        #[arg(long)]
        tenant: Option<String>,
    },
    /// Revoke a token by id; takes effect immediately, also on a running server.
    Revoke {
        #[command(flatten)]
        data: DataArg,
        id: i64,
    },
}

#[derive(Debug, Subcommand)]
pub enum KeysCmd {
    /// Create the agency's key pair; refuses to replace an existing key.
    Create(KeyFile),
    /// Print the public key as a JWK, for other agencies' trust lists.
    Show(KeyFile),
}

/// Where the agency's key is.
#[derive(Debug, Args)]
pub struct KeyFile {
    #[command(flatten)]
    pub data: DataArg,
    /// The key file (default: DATA/keys/agency.jwk).
    #[arg(long, env = "ENLACE_KEY_FILE", value_name = "FILE")]
    pub file: Option<PathBuf>,
}

impl KeyFile {
    fn path(&self) -> PathBuf {
        self.file
            .clone()
            .unwrap_or_else(|| crate::keys::default_file(&self.data.data))
    }
}

#[derive(Debug, Subcommand)]
pub enum TenantCmd {
    /// Create an empty tenant (network). A running server loads it at its next start.
    Create {
        #[command(flatten)]
        data: DataArg,
        name: String,
    },
    /// List tenants with their journal length.
    List {
        #[command(flatten)]
        data: DataArg,
    },
}

/// The subcommands this module runs.
#[derive(Debug, Subcommand)]
pub enum HostCommand {
    /// Run the server.
    Serve(ServeArgs),
    /// Manage bearer tokens.
    #[command(subcommand)]
    Token(TokenCmd),
    /// Manage tenants.
    #[command(subcommand)]
    Tenant(TenantCmd),
    /// The agency's signing key (Ed25519, kept as a JWK file; never in the journal).
    #[command(subcommand)]
    Keys(KeysCmd),
    /// Verify the hash chain of tenant journals; reports the first bad record.
    Verify {
        #[command(flatten)]
        data: DataArg,
        /// Only this tenant (default: all).
        #[arg(long)]
        tenant: Option<String>,
    },
    /// Export a tenant's journal as JSON lines (one entry per line).
    Export {
        #[command(flatten)]
        data: DataArg,
        #[arg(long)]
        tenant: String,
        /// Output file (default: standard output).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Import a journal exported by `export` into an empty tenant, verifying it.
    Import {
        #[command(flatten)]
        data: DataArg,
        #[arg(long)]
        tenant: String,
        file: PathBuf,
    },
    /// Load the demo network into a new tenant and print its tokens.
    Seed {
        #[command(flatten)]
        data: DataArg,
        #[arg(long, default_value = "demo")]
        tenant: String,
        /// The engine that decides the demo network's commands.
        #[arg(long, env = "ENLACE_ENGINE", default_value = "component")]
        engine: EngineKind,
        /// The engine component (`.wasm`).
        #[arg(long, env = "ENLACE_COMPONENT")]
        component: Option<PathBuf>,
    },
}

fn role(s: &str) -> Result<Role> {
    Role::ALL
        .into_iter()
        .find(|r| r.as_str() == s)
        .with_context(|| {
            format!("unknown role {s:?}: clerk, clinician, coordinator, auditor or admin")
        })
}

/// Makes the engine factory for `kind`.
pub fn backend_factory(
    kind: EngineKind,
    component: Option<PathBuf>,
    fuel_per_call: Option<u64>,
) -> Result<BackendFactory> {
    match kind {
        EngineKind::Native => Ok(Arc::new(|| Ok(Box::new(NativeBackend::new()) as _))),
        EngineKind::Component => crate::component_backend::factory(component, fuel_per_call),
    }
}

fn init_logging(config: &Config) {
    let filter = tracing_subscriber::EnvFilter::try_new(&config.log)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match config.log_format {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Text => builder.try_init(),
    };
}

/// Runs one subcommand.
pub fn run(cmd: HostCommand) -> Result<()> {
    match cmd {
        HostCommand::Serve(args) => serve(args),
        HostCommand::Token(t) => token(t),
        HostCommand::Keys(k) => keys(k),
        HostCommand::Tenant(t) => tenant(t),
        HostCommand::Verify { data, tenant } => verify(&data.data, tenant.as_deref()),
        HostCommand::Export { data, tenant, out } => export(&data.data, &tenant, out.as_deref()),
        HostCommand::Import { data, tenant, file } => import(&data.data, &tenant, &file),
        HostCommand::Seed {
            data,
            tenant,
            engine,
            component,
        } => {
            let factory = backend_factory(engine, component, None)?;
            let tokens = crate::seed::seed(&data.data, &tenant, &factory)?;
            println!(
                "Seeded tenant {tenant} with the demo network. Demo tokens (shown once; also in {}):",
                crate::seed::tokens_file(&data.data).display()
            );
            for t in tokens {
                println!("  {:<24} {}", t.label, t.token);
            }
            Ok(())
        }
    }
}

fn serve(args: ServeArgs) -> Result<()> {
    let mut config = match &args.config {
        Some(p) => Config::from_file(p)?,
        None => Config::default(),
    };
    config.apply_env(std::env::vars())?;
    if let Some(l) = args.listen {
        config.listen = l;
    }
    if let Some(d) = args.data {
        config.data = d;
    }
    if let Some(e) = args.engine {
        config.engine = e;
    }
    if let Some(c) = args.component {
        config.component = Some(c);
    }
    if let Some(w) = args.web_root {
        config.web_root = w;
    }
    config.check()?;
    init_logging(&config);
    let mut factory = backend_factory(
        config.engine,
        config.component.clone(),
        config.fuel_per_call,
    )?;
    if let Some(path) = &args.test_clock {
        let clock = crate::test_clock::TestClock::open(path)?;
        factory = crate::test_clock::clocked(factory, clock);
        tracing::warn!(
            file = %path.display(),
            "TEST CLOCK: commands and queries are dated from this file, not the system clock; for tests only"
        );
    }
    let mut demo = Vec::new();
    if args.seed {
        let registry = Registry::open(&config.data)?;
        let empty = registry.tenants()?.is_empty();
        drop(registry);
        if empty {
            demo = crate::seed::seed(&config.data, "demo", &factory)?
                .into_iter()
                .map(|t| (t.label, t.token))
                .collect();
        } else {
            demo = crate::seed::read_tokens(&config.data);
            println!(
                "The data folder {} already holds data: not seeding again.",
                config.data.display()
            );
        }
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let running = crate::server::start(&config, factory).await?;
        println!(
            "enlace-host listening on {}://{}",
            running.scheme, running.addr
        );
        println!(
            "  engine: {:?}; data: {}; web demo: {}://{}/",
            config.engine,
            config.data.display(),
            running.scheme,
            running.addr
        );
        if !demo.is_empty() {
            println!("  demo tokens (Authorization: Bearer TOKEN):");
            for (label, token) in &demo {
                println!("    {label:<24} {token}");
            }
        }
        let _ = std::io::stdout().flush();
        tracing::info!(addr = %running.addr, "serving");
        running.run_until_signal().await
    })
}

fn keys(cmd: KeysCmd) -> Result<()> {
    match cmd {
        KeysCmd::Create(at) => {
            let file = at.path();
            let key = crate::keys::create(&file)?;
            eprintln!(
                "agency key {} created in {} (keep it private; `keys show` prints the public half)",
                key.kid(),
                file.display()
            );
            println!("{}", serde_json::to_string_pretty(&key.public_jwk())?);
            Ok(())
        }
        KeysCmd::Show(at) => {
            let key = crate::keys::load(&at.path())?;
            println!("{}", serde_json::to_string_pretty(&key.public_jwk())?);
            Ok(())
        }
    }
}

/// A token's lifetime from `--expires-in`: `90d`, `12h`, `30m` or `never`.
fn lifetime(text: &str) -> Result<Option<chrono::Duration>> {
    if text == "never" {
        return Ok(None);
    }
    let bad = || {
        anyhow::anyhow!(
            "--expires-in takes a number of days, hours or minutes (90d, 12h, 30m) or `never`: {text:?}"
        )
    };
    let (n, unit) = text.split_at(text.len().saturating_sub(1));
    let n: i64 = n.parse().map_err(|_| bad())?;
    if !(1..=36_500).contains(&n) {
        return Err(bad());
    }
    Ok(Some(match unit {
        "d" => chrono::Duration::days(n),
        "h" => chrono::Duration::hours(n),
        "m" => chrono::Duration::minutes(n),
        _ => return Err(bad()),
    }))
}

fn token(cmd: TokenCmd) -> Result<()> {
    match cmd {
        TokenCmd::Create {
            data,
            tenant,
            user,
            agency,
            facility,
            role: r,
            label,
            expires_in,
        } => {
            let reg = Registry::open(&data.data)?;
            let actor = Actor {
                user,
                agency,
                facility,
                role: role(&r)?,
            };
            let expires_at = lifetime(&expires_in)?.map(|d| chrono::Utc::now() + d);
            let (id, token) = reg.create_token_until(&tenant, &actor, &label, expires_at)?;
            let until = expires_at.map_or("never expires".to_owned(), |t| {
                format!(
                    "expires {}",
                    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
                )
            });
            eprintln!("token {id} created for tenant {tenant} ({until}); it is shown only now:");
            println!("{token}");
            Ok(())
        }
        TokenCmd::List { data, tenant } => {
            let reg = Registry::open(&data.data)?;
            for t in reg.tokens(tenant.as_deref())? {
                println!(
                    "{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}",
                    t.id,
                    t.tenant,
                    t.actor.role.as_str(),
                    t.actor.user,
                    t.actor.agency,
                    t.actor.facility.as_deref().unwrap_or("-"),
                    t.label,
                    t.revoked_at
                        .map_or("live".to_owned(), |r| format!("revoked {r}")),
                    t.expires_at
                        .map_or("never expires".to_owned(), |e| format!("expires {e}")),
                    t.last_used_at
                        .map_or("never used".to_owned(), |u| format!("last used {u}")),
                );
            }
            Ok(())
        }
        TokenCmd::Revoke { data, id } => {
            let reg = Registry::open(&data.data)?;
            if !reg.revoke(id)? {
                bail!("no live token with id {id}");
            }
            println!("token {id} revoked");
            Ok(())
        }
    }
}

fn tenant(cmd: TenantCmd) -> Result<()> {
    match cmd {
        TenantCmd::Create { data, name } => {
            let reg = Registry::open(&data.data)?;
            if !reg.create_tenant(&name)? {
                bail!("tenant {name} already exists");
            }
            Journal::open(&journal_path(&data.data, &name))?;
            println!("tenant {name} created");
            Ok(())
        }
        TenantCmd::List { data } => {
            let reg = Registry::open(&data.data)?;
            for name in reg.tenants()? {
                let path = journal_path(&data.data, &name);
                let n = if path.exists() {
                    journal::count(&journal::open_reader(&path)?)?
                } else {
                    0
                };
                println!("{name}\t{n} entries");
            }
            Ok(())
        }
    }
}

fn progress(len: u64, what: &str) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::new(len);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{msg} [{bar:40}] {pos}/{len} entries ({per_sec}, {eta})",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    bar.set_message(what.to_owned());
    bar.set_draw_target(indicatif::ProgressDrawTarget::stderr());
    bar
}

/// Verifies one tenant's journal chunk by chunk; returns the number of
/// entries, or an error naming the first bad record.
pub fn verify_tenant(data: &Path, tenant: &str, show_progress: bool) -> Result<u64> {
    let path = journal_path(data, tenant);
    let total = journal::count(&journal::open_reader(&path)?)?;
    let bar = show_progress.then(|| progress(total, &format!("verifying {tenant}")));
    let v = journal::verify_file(&path, None, |done| {
        if let Some(bar) = &bar {
            bar.set_position(done);
        }
    })?;
    if let Some(b) = v.broken {
        if let Some(bar) = &bar {
            bar.abandon();
        }
        bail!(
            "tenant {tenant}: the journal breaks at seq {} (record {} of the file): {}",
            b.seq,
            b.index + 1,
            b.reason
        );
    }
    if let Some(bar) = bar {
        bar.finish();
    }
    Ok(v.entries)
}

fn verify(data: &Path, only: Option<&str>) -> Result<()> {
    let reg = Registry::open(data)?;
    let names = match only {
        Some(t) => vec![t.to_owned()],
        None => reg.tenants()?,
    };
    let mut failed = false;
    for name in names {
        match verify_tenant(data, &name, true) {
            Ok(n) => println!("{name}: {n} entries, the hash chain verifies"),
            Err(e) => {
                println!("{e:#}");
                failed = true;
            }
        }
    }
    if failed {
        bail!("verification failed");
    }
    Ok(())
}

fn export(data: &Path, tenant: &str, out: Option<&Path>) -> Result<()> {
    let conn = journal::open_reader(&journal_path(data, tenant))?;
    let total = journal::count(&conn)?;
    let mut w: Box<dyn Write> = match out {
        Some(p) => Box::new(std::io::BufWriter::new(
            std::fs::File::create(p).with_context(|| format!("creating {}", p.display()))?,
        )),
        None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
    };
    let bar = progress(total, &format!("exporting {tenant}"));
    let mut done = 0;
    for page in journal::pages(&conn, 0, None) {
        let page = page?;
        for e in &page {
            serde_json::to_writer(&mut w, e)?;
            w.write_all(b"\n")?;
        }
        done += page.len() as u64;
        bar.set_position(done);
    }
    w.flush()?;
    bar.finish();
    Ok(())
}

fn import(data: &Path, tenant: &str, file: &Path) -> Result<()> {
    let reg = Registry::open(data)?;
    reg.create_tenant(tenant)?;
    let mut journal = Journal::open(&journal_path(data, tenant))?;
    if !journal.is_empty() {
        bail!("tenant {tenant} is not empty; import only into an empty tenant");
    }
    let f = std::fs::File::open(file).with_context(|| format!("opening {}", file.display()))?;
    let size = f.metadata()?.len();
    let reader = std::io::BufReader::new(f);
    let bar = indicatif::ProgressBar::new(size);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "importing [{bar:40}] {bytes}/{total_bytes} ({eta})",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    // Read and verify everything first, so a bad file writes nothing.
    let mut read = 0u64;
    let mut entries: Vec<Entry> = Vec::new();
    for (i, line) in reader.lines().enumerate() {
        let line = line?;
        read += line.len() as u64 + 1;
        if line.trim().is_empty() {
            continue;
        }
        let e: Entry = serde_json::from_str(&line)
            .with_context(|| format!("line {} is not a journal entry", i + 1))?;
        entries.push(e);
        if entries.len().is_multiple_of(10_000) {
            bar.set_position(read);
        }
    }
    let v = enlace_core::verify(&entries);
    if let Some(b) = v.broken {
        bar.abandon();
        bail!(
            "the file breaks the hash chain at seq {} (line {}): {}",
            b.seq,
            b.index + 1,
            b.reason
        );
    }
    for chunk in entries.chunks(10_000) {
        journal.append(chunk)?;
    }
    bar.finish();
    println!("imported {} entries into tenant {tenant}", journal.len());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::lifetime;

    #[test]
    fn a_lifetime_is_days_hours_minutes_or_never() {
        assert_eq!(lifetime("90d").unwrap(), Some(chrono::Duration::days(90)));
        assert_eq!(lifetime("12h").unwrap(), Some(chrono::Duration::hours(12)));
        assert_eq!(
            lifetime("30m").unwrap(),
            Some(chrono::Duration::minutes(30))
        );
        assert_eq!(lifetime("never").unwrap(), None);
        for bad in [
            "", "d", "0d", "-1d", "90", "90s", "1.5d", "36501d", "forever",
        ] {
            assert!(lifetime(bad).is_err(), "{bad}");
        }
    }
}
