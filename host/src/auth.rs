//! Tenants and bearer tokens, kept in `DATA/host.sqlite`.
//!
//! A token maps to one tenant and one actor (agency, facility, role, user).
//! Only its SHA-256 is stored: the token itself is shown once, when the CLI
//! creates it. Live tokens are cached in memory by their hash; before every
//! lookup the registry asks SQLite whether another connection (the CLI's
//! `token revoke`, in another process) has changed the database since the
//! cache was filled (`PRAGMA data_version`, answered from the WAL index in
//! shared memory, no disk read), and empties the cache if so; a revocation
//! through this registry empties it directly. So a revoked token stops
//! working at once, even while the server runs, and a live one costs a
//! hash and a map lookup instead of a query and a JSON parse.
//!
//! A token may have an expiry (`enlace-host token create --expires-in`,
//! 90 days unless told otherwise): past it the token is refused, with its
//! own answer (`token_expired`) so that a machine knows to get a new one.
//! The registry records when each token was last used, at most once a
//! minute per token (one small write, not one per request), so that an
//! agency can find and revoke tokens nobody uses.
//! Authorization is not decided here: the actor goes to the engine, which
//! decides what it may do.

use anyhow::{Context, Result, bail};
use enlace_core::Actor;
use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::path::Path;
use std::sync::Mutex;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS tenants (
    name       TEXT PRIMARY KEY,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS tokens (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    hash       TEXT NOT NULL UNIQUE,
    tenant     TEXT NOT NULL REFERENCES tenants(name),
    label      TEXT NOT NULL,
    actor      TEXT NOT NULL,
    created_at TEXT NOT NULL,
    revoked_at TEXT,
    expires_at TEXT,
    last_used_at TEXT
);
";

/// Columns added since the first registries: added to an older file when it
/// is opened, so an agency's existing tokens keep working (never expiring).
const ADDED_COLUMNS: [(&str, &str); 2] = [("expires_at", "TEXT"), ("last_used_at", "TEXT")];

/// How often, at most, a token's `last_used_at` is written.
const LAST_USED_EVERY: std::time::Duration = std::time::Duration::from_secs(60);

/// Prefix of every token, so that leaked tokens are easy to grep for.
pub const TOKEN_PREFIX: &str = "enl_";

/// A token as listed: everything but the secret.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct TokenInfo {
    pub id: i64,
    pub tenant: String,
    pub label: String,
    pub actor: Actor,
    pub created_at: String,
    pub revoked_at: Option<String>,
    /// RFC 3339; `None`: never expires.
    pub expires_at: Option<String>,
    /// RFC 3339, to the minute; `None`: never used.
    pub last_used_at: Option<String>,
}

/// Who a valid token speaks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The CLI token's id; `None` for a person signed in with the agency's
    /// identity provider (`crate::oidc`).
    pub token_id: Option<i64>,
    pub tenant: String,
    pub actor: Actor,
}

/// The registry of tenants and tokens.
#[derive(Debug)]
pub struct Registry {
    conn: Mutex<Connection>,
    cache: Mutex<TokenCache>,
}

/// Principals of live tokens by SHA-256, valid while the database's
/// `data_version` is `version`.
#[derive(Debug, Default)]
struct TokenCache {
    version: i64,
    principals: HashMap<[u8; 32], Cached>,
}

/// A live token's principal, its expiry, and when its use was last written.
#[derive(Debug, Clone)]
struct Cached {
    principal: Principal,
    expires_at: Option<chrono::DateTime<chrono::Utc>>,
    written: Option<std::time::Instant>,
}

/// Most principals cached; past this the cache starts again empty.
const CACHE_MAX: usize = 100_000;

/// SHA-256 of a token, lowercase hex.
pub fn hash_token(token: &str) -> String {
    crate::component::hex(&Sha256::digest(token.as_bytes()))
}

/// Tenant names become folder names: keep them short and plain.
pub fn valid_tenant_name(name: &str) -> bool {
    (1..=40).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !name.starts_with('-')
}

fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

impl Registry {
    /// Opens (creating if needed) the registry in the data folder.
    pub fn open(data: &Path) -> Result<Self> {
        std::fs::create_dir_all(data).with_context(|| format!("creating {}", data.display()))?;
        let path = data.join("host.sqlite");
        let conn =
            Connection::open(&path).with_context(|| format!("opening {}", path.display()))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        conn.execute_batch(SCHEMA)?;
        let have: Vec<String> = conn
            .prepare("SELECT name FROM pragma_table_info('tokens')")?
            .query_map([], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        for (column, ty) in ADDED_COLUMNS {
            if !have.iter().any(|c| c == column) {
                conn.execute_batch(&format!("ALTER TABLE tokens ADD COLUMN {column} {ty}"))?;
            }
        }
        Ok(Registry {
            conn: Mutex::new(conn),
            cache: Mutex::new(TokenCache::default()),
        })
    }

    fn conn(&self) -> std::sync::MutexGuard<'_, Connection> {
        // A panic while holding the lock leaves the connection usable.
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn cache(&self) -> std::sync::MutexGuard<'_, TokenCache> {
        self.cache.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Registers a tenant; an existing one is left as it is.
    pub fn create_tenant(&self, name: &str) -> Result<bool> {
        if !valid_tenant_name(name) {
            bail!("tenant names are 1 to 40 characters of a-z, 0-9 and '-': {name:?}");
        }
        let n = self.conn().execute(
            "INSERT OR IGNORE INTO tenants (name, created_at) VALUES (?1, ?2)",
            params![name, now()],
        )?;
        Ok(n == 1)
    }

    /// Every tenant, by name.
    pub fn tenants(&self) -> Result<Vec<String>> {
        let conn = self.conn();
        let mut stmt = conn.prepare("SELECT name FROM tenants ORDER BY name")?;
        let names = stmt
            .query_map([], |r| r.get(0))?
            .collect::<rusqlite::Result<Vec<String>>>()?;
        Ok(names)
    }

    /// True when the tenant exists.
    pub fn has_tenant(&self, name: &str) -> Result<bool> {
        Ok(self
            .conn()
            .query_row("SELECT 1 FROM tenants WHERE name = ?1", [name], |_| Ok(()))
            .optional()?
            .is_some())
    }

    /// Creates a token for `actor` in `tenant` that never expires (the demo
    /// network's and the benches'); see [`Registry::create_token_until`].
    pub fn create_token(&self, tenant: &str, actor: &Actor, label: &str) -> Result<(i64, String)> {
        self.create_token_until(tenant, actor, label, None)
    }

    /// Creates a token for `actor` in `tenant`, refused after `expires_at`
    /// when given; returns its id and the token, which is not stored and
    /// cannot be shown again.
    pub fn create_token_until(
        &self,
        tenant: &str,
        actor: &Actor,
        label: &str,
        expires_at: Option<chrono::DateTime<chrono::Utc>>,
    ) -> Result<(i64, String)> {
        if !self.has_tenant(tenant)? {
            bail!("no tenant {tenant:?}: create it first (enlace-host tenant create {tenant})");
        }
        let mut secret = [0u8; 32];
        getrandom::fill(&mut secret).map_err(|e| anyhow::anyhow!("no system randomness: {e}"))?;
        let token = format!(
            "{TOKEN_PREFIX}{}",
            secret
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<String>()
        );
        let conn = self.conn();
        conn.execute(
            "INSERT INTO tokens (hash, tenant, label, actor, created_at, expires_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                hash_token(&token),
                tenant,
                label,
                serde_json::to_string(actor)?,
                now(),
                expires_at.map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
            ],
        )?;
        Ok((conn.last_insert_rowid(), token))
    }

    /// Lists tokens, optionally of one tenant.
    pub fn tokens(&self, tenant: Option<&str>) -> Result<Vec<TokenInfo>> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT id, tenant, label, actor, created_at, revoked_at, expires_at, last_used_at
             FROM tokens WHERE ?1 IS NULL OR tenant = ?1 ORDER BY id",
        )?;
        let rows = stmt.query_map([tenant], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, String>(4)?,
                r.get::<_, Option<String>>(5)?,
                r.get::<_, Option<String>>(6)?,
                r.get::<_, Option<String>>(7)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (id, tenant, label, actor, created_at, revoked_at, expires_at, last_used_at) = row?;
            out.push(TokenInfo {
                id,
                tenant,
                label,
                actor: serde_json::from_str(&actor)?,
                created_at,
                revoked_at,
                expires_at,
                last_used_at,
            });
        }
        Ok(out)
    }

    /// Revokes a token by id. Returns false when there is no such live token.
    pub fn revoke(&self, id: i64) -> Result<bool> {
        let conn = self.conn();
        let n = conn.execute(
            "UPDATE tokens SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL",
            params![id, now()],
        )?;
        // This connection's own writes leave its data_version as it was:
        // forget every cached principal here, before the lock is let go.
        self.cache().principals.clear();
        Ok(n == 1)
    }

    /// The principal of a live token, or `None` (unknown, revoked or
    /// expired: [`Registry::expired`] tells the last apart).
    pub fn authenticate(&self, token: &str) -> Result<Option<Principal>> {
        let Some((hash, cached)) = self.lookup(token)? else {
            return Ok(None);
        };
        let now = chrono::Utc::now();
        if cached.expires_at.is_some_and(|t| t <= now) {
            return Ok(None);
        }
        if let Some(id) = cached.principal.token_id
            && cached
                .written
                .is_none_or(|w| w.elapsed() >= LAST_USED_EVERY)
        {
            self.note_use(&hash, id, now)?;
        }
        Ok(Some(cached.principal))
    }

    /// True when `token` is a live (unrevoked) token past its expiry.
    pub fn expired(&self, token: &str) -> Result<bool> {
        let now = chrono::Utc::now();
        Ok(self
            .lookup(token)?
            .is_some_and(|(_, c)| c.expires_at.is_some_and(|t| t <= now)))
    }

    /// Writes that the token was used now, and when that was written.
    fn note_use(&self, hash: &[u8; 32], id: i64, now: chrono::DateTime<chrono::Utc>) -> Result<()> {
        let conn = self.conn();
        conn.prepare_cached("UPDATE tokens SET last_used_at = ?2 WHERE id = ?1")?
            .execute(params![
                id,
                now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            ])?;
        if let Some(c) = self.cache().principals.get_mut(hash) {
            c.written = Some(std::time::Instant::now());
        }
        Ok(())
    }

    /// The cached (or freshly read) entry of an unrevoked token.
    fn lookup(&self, token: &str) -> Result<Option<([u8; 32], Cached)>> {
        if !token.starts_with(TOKEN_PREFIX) || token.len() > 200 {
            return Ok(None);
        }
        let hash: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        let conn = self.conn();
        // Changed by another connection since the cache was filled (a
        // revocation by the CLI, say): start again from the database.
        let version: i64 = conn
            .prepare_cached("PRAGMA data_version")?
            .query_row([], |r| r.get(0))?;
        {
            let mut cache = self.cache();
            if cache.version != version {
                cache.principals.clear();
                cache.version = version;
            }
            if let Some(c) = cache.principals.get(&hash) {
                return Ok(Some((hash, c.clone())));
            }
        }
        let mut stmt = conn.prepare_cached(
            "SELECT id, tenant, actor, expires_at FROM tokens
             WHERE hash = ?1 AND revoked_at IS NULL",
        )?;
        let row = stmt
            .query_row([crate::component::hex(&hash)], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, Option<String>>(3)?,
                ))
            })
            .optional()?;
        let Some((token_id, tenant, actor, expires_at)) = row else {
            return Ok(None);
        };
        let expires_at = match expires_at {
            Some(t) => Some(
                chrono::DateTime::parse_from_rfc3339(&t)
                    .with_context(|| format!("token {token_id}: expires_at {t:?}"))?
                    .with_timezone(&chrono::Utc),
            ),
            None => None,
        };
        let cached = Cached {
            principal: Principal {
                token_id: Some(token_id),
                tenant,
                actor: serde_json::from_str(&actor)?,
            },
            expires_at,
            written: None,
        };
        // Still under the connection's lock: a revocation through this
        // registry cannot slip between the query and the insert.
        let mut cache = self.cache();
        if cache.version == version {
            if cache.principals.len() >= CACHE_MAX {
                cache.principals.clear();
            }
            cache.principals.insert(hash, cached.clone());
        }
        Ok(Some((hash, cached)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use enlace_core::Role;

    #[test]
    fn a_token_past_its_expiry_is_refused_and_told_apart() {
        let dir = tempfile::tempdir().unwrap();
        let reg = Registry::open(dir.path()).unwrap();
        reg.create_tenant("t").unwrap();
        let actor = Actor::new("u", "ag", Some("F1"), Role::Clerk);
        let now = chrono::Utc::now();
        let (_, past) = reg
            .create_token_until("t", &actor, "old", Some(now - chrono::Duration::seconds(1)))
            .unwrap();
        let (_, future) = reg
            .create_token_until("t", &actor, "new", Some(now + chrono::Duration::hours(1)))
            .unwrap();
        let (_, forever) = reg.create_token("t", &actor, "machine").unwrap();
        assert!(reg.authenticate(&past).unwrap().is_none());
        assert!(reg.expired(&past).unwrap());
        for t in [&future, &forever] {
            assert!(reg.authenticate(t).unwrap().is_some());
            assert!(!reg.expired(t).unwrap());
        }
        assert!(!reg.expired("enl_unknown").unwrap());
        // Listed with expiry and last use: the two used ones were written
        // once, the expired one never (it was refused).
        let listed = reg.tokens(Some("t")).unwrap();
        let by = |label: &str| listed.iter().find(|t| t.label == label).unwrap().clone();
        assert!(by("old").expires_at.is_some() && by("old").last_used_at.is_none());
        assert!(by("new").expires_at.is_some() && by("new").last_used_at.is_some());
        assert!(by("machine").expires_at.is_none() && by("machine").last_used_at.is_some());
    }

    #[test]
    fn a_registry_from_before_expiry_gains_the_columns_and_keeps_its_tokens() {
        let dir = tempfile::tempdir().unwrap();
        let conn = Connection::open(dir.path().join("host.sqlite")).unwrap();
        conn.execute_batch(
            "CREATE TABLE tenants (name TEXT PRIMARY KEY, created_at TEXT NOT NULL);
             CREATE TABLE tokens (
                 id INTEGER PRIMARY KEY AUTOINCREMENT, hash TEXT NOT NULL UNIQUE,
                 tenant TEXT NOT NULL REFERENCES tenants(name), label TEXT NOT NULL,
                 actor TEXT NOT NULL, created_at TEXT NOT NULL, revoked_at TEXT);
             INSERT INTO tenants VALUES ('t', '2026-01-01T00:00:00Z');",
        )
        .unwrap();
        let token = "enl_old";
        conn.execute(
            "INSERT INTO tokens (hash, tenant, label, actor, created_at) VALUES (?1, 't', 'x', ?2, '2026-01-01T00:00:00Z')",
            params![
                hash_token(token),
                serde_json::to_string(&Actor::new("u", "ag", None, Role::Admin)).unwrap()
            ],
        )
        .unwrap();
        drop(conn);
        let reg = Registry::open(dir.path()).unwrap();
        assert!(reg.authenticate(token).unwrap().is_some());
        let listed = reg.tokens(None).unwrap();
        assert_eq!(listed[0].expires_at, None);
        assert!(listed[0].last_used_at.is_some());
        // Opening it again finds the columns there.
        drop(reg);
        assert!(Registry::open(dir.path()).is_ok());
    }

    #[test]
    fn tokens_are_stored_hashed_and_can_be_revoked() {
        let dir = tempfile::tempdir().unwrap();
        let reg = Registry::open(dir.path()).unwrap();
        assert!(reg.create_tenant("red-a").unwrap());
        assert!(!reg.create_tenant("red-a").unwrap());
        assert!(reg.create_tenant("Bad Name").is_err());
        let actor = Actor::new("u", "ag", Some("F1"), Role::Clerk);
        assert!(reg.create_token("nope", &actor, "x").is_err());
        let (id, token) = reg.create_token("red-a", &actor, "front desk").unwrap();
        let p = reg.authenticate(&token).unwrap().unwrap();
        assert_eq!((p.tenant.as_str(), &p.actor), ("red-a", &actor));
        assert!(reg.authenticate("enl_wrong").unwrap().is_none());
        // The secret is nowhere in the database file.
        drop(reg);
        let bytes = std::fs::read(dir.path().join("host.sqlite")).unwrap();
        let wal = std::fs::read(dir.path().join("host.sqlite-wal")).unwrap_or_default();
        for b in [&bytes, &wal] {
            assert!(!b.windows(token.len()).any(|w| w == token.as_bytes()));
        }
        let reg = Registry::open(dir.path()).unwrap();
        assert_eq!(reg.tokens(Some("red-a")).unwrap().len(), 1);
        assert!(reg.revoke(id).unwrap());
        assert!(!reg.revoke(id).unwrap());
        assert!(reg.authenticate(&token).unwrap().is_none());
        assert!(reg.tokens(None).unwrap()[0].revoked_at.is_some());
    }

    #[test]
    fn a_cached_token_revoked_anywhere_is_refused_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let reg = Registry::open(dir.path()).unwrap();
        reg.create_tenant("t").unwrap();
        let actor = Actor::new("u", "ag", Some("F1"), Role::Clerk);
        let (id1, t1) = reg.create_token("t", &actor, "a").unwrap();
        let (id2, t2) = reg.create_token("t", &actor, "b").unwrap();
        // Both cached by their first use.
        for t in [&t1, &t2, &t1, &t2] {
            assert!(reg.authenticate(t).unwrap().is_some());
        }
        // Revoked through this registry: refused on the next request.
        assert!(reg.revoke(id1).unwrap());
        assert!(reg.authenticate(&t1).unwrap().is_none());
        assert!(reg.authenticate(&t2).unwrap().is_some());
        // Revoked through another connection, as the CLI does from its own
        // process: refused on the next request too.
        let other = Registry::open(dir.path()).unwrap();
        assert!(other.revoke(id2).unwrap());
        assert!(reg.authenticate(&t2).unwrap().is_none());
        // A token created elsewhere works at once as well.
        let (_, t3) = other.create_token("t", &actor, "c").unwrap();
        assert!(reg.authenticate(&t3).unwrap().is_some());
    }
}
