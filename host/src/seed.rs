//! The demo network: facilities in three tiers, agendas, beneficiaries and
//! an agreement between two agencies (`enlace_core::synth`), set up through
//! the engine like any other data, plus one token per demo identity.

use crate::auth::Registry;
use crate::backend::BackendFactory;
use crate::journal::Journal;
use crate::tenant::journal_path;
use anyhow::{Result, bail};
use chrono::{DurationRound, Utc};
use enlace_core::Actor;
use enlace_core::synth::{self, Spec};
use std::path::Path;

/// A demo token, shown once.
#[derive(Debug, Clone)]
pub struct DemoToken {
    pub label: String,
    pub token: String,
    pub actor: Actor,
}

/// Where the demo tokens are written for later runs of `serve --seed`.
pub fn tokens_file(data: &Path) -> std::path::PathBuf {
    data.join("demo-tokens.txt")
}

/// The demo network, dated from today so that its agendas are bookable.
pub fn demo_spec() -> Spec {
    let now = Utc::now();
    Spec {
        start: now
            .duration_trunc(chrono::Duration::minutes(1))
            .unwrap_or(now),
        ..Spec::demo()
    }
}

/// Seeds `tenant` with the demo network. Refuses a tenant whose journal is
/// not empty. Returns the demo tokens.
pub fn seed(data: &Path, tenant: &str, factory: &BackendFactory) -> Result<Vec<DemoToken>> {
    let registry = Registry::open(data)?;
    registry.create_tenant(tenant)?;
    let mut journal = Journal::open(&journal_path(data, tenant))?;
    if !journal.is_empty() {
        bail!(
            "tenant {tenant} already has {} journal entries; seed only an empty tenant",
            journal.len()
        );
    }
    let spec = demo_spec();
    let mut engine = factory()?;
    let mut entries = Vec::new();
    for req in synth::reference(&spec) {
        match engine.execute(&req) {
            Ok(Ok(ex)) => entries.extend(ex.entry),
            Ok(Err(r)) => bail!("the engine refused the demo network: {}", r.body.message),
            Err(t) => bail!("the engine trapped on the demo network: {t}"),
        }
    }
    for chunk in entries.chunks(1000) {
        journal.append(chunk)?;
    }
    let mut tokens = Vec::new();
    let mut text = String::from(
        "# Demo tokens of the seeded network (bearer tokens; keep this file private).\n",
    );
    for (label, actor) in synth::demo_actors(&spec) {
        let (_, token) = registry.create_token(tenant, &actor, &label)?;
        text.push_str(&format!("{label}\t{token}\n"));
        tokens.push(DemoToken {
            label,
            token,
            actor,
        });
    }
    write_private(&tokens_file(data), &text)?;
    Ok(tokens)
}

fn write_private(path: &Path, text: &str) -> Result<()> {
    std::fs::write(path, text)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    }
    Ok(())
}

/// Reads the demo tokens written by [`seed`]: `(label, token)` pairs.
pub fn read_tokens(data: &Path) -> Vec<(String, String)> {
    std::fs::read_to_string(tokens_file(data))
        .unwrap_or_default()
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split_once('\t'))
        .map(|(a, b)| (a.to_owned(), b.to_owned()))
        .collect()
}
