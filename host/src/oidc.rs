//! Staff sign-in with the agency's OpenID Connect provider.
//!
//! Staff do not paste tokens made on the command line: they sign in with
//! the agency's identity provider (Keycloak, Entra ID, gov.br, ...), and the
//! page sends the provider's JWT (an access token for the API, or an ID
//! token for the web client) as its bearer token. The host checks it the way
//! the provider publishes: issuer discovery (`/.well-known/openid-configuration`,
//! whose `issuer` must be the configured one), the provider's keys from its
//! JWKS, an asymmetric signature (`jsonwebtoken`, no JWT parsing of our
//! own), the audience, the expiry and not-before with a small leeway.
//!
//! Keys rotate: a token signed by a key this host has not seen makes it
//! fetch the JWKS again (at most once per `jwks_min_refresh_seconds`, so
//! that made-up key ids cannot make it hammer the provider), and keys are
//! refreshed anyway after `jwks_max_age_seconds`. A provider that cannot
//! be reached stops nobody who is already signed in with a known key, and
//! bearer tokens from the CLI keep working; only a token that needs keys the
//! host does not have is answered 503 `identity_provider_unavailable`.
//!
//! A token that verified is remembered (by its SHA-256, until its expiry)
//! so that the pages' many requests cost a hash and a map lookup, not a
//! signature check each; the memory is emptied whenever the provider's
//! keys are fetched again, so a key the provider withdrew stops working at
//! the next refresh, as it would without it.
//!
//! The claims become the engine's actor by the configured rule
//! ([`ActorRule`]); the engine, not this module, decides what that actor may
//! do. A person whose claims give no agency or no role is refused
//! (`identity_not_mapped`) rather than given a guessed one.

use crate::auth::Principal;
use enlace_core::{Actor, Role};
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, DecodingKey, Validation, decode, decode_header};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// The `[oidc]` section of the configuration.
///
/// ```toml
/// [oidc]
/// issuer = "https://login.agency.example/realms/salud"
/// audiences = ["urn:enlace:api"]   # accepted `aud`: the API, and the web client id to accept ID tokens
/// tenant = "imss"                  # the tenant the provider's staff work in
/// client_id = "enlace-web"         # the pages' public client (authorization code + PKCE)
/// scope = "openid enlace"
/// resource = "urn:enlace:api"      # RFC 8707 resource the pages ask a token for
/// [oidc.actor]                     # claim names, or { value = "..." } for a fixed value
/// user = "sub"
/// agency = "enlace_agency"
/// facility = "enlace_facility"
/// role = "enlace_role"             # a string or an array (groups)
/// [oidc.roles]                     # the provider's values -> engine roles
/// "hospital-coordinators" = "coordinator"
/// ```
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct OidcConfig {
    /// The provider's issuer identifier, exactly as its tokens say it.
    pub issuer: String,
    /// Accepted `aud` values; a token for any other audience is refused.
    pub audiences: Vec<String>,
    /// The tenant every signed-in person works in.
    pub tenant: String,
    /// The web pages' public client, told to them at `/v1/sign-in`.
    #[serde(default)]
    pub client_id: Option<String>,
    #[serde(default = "default_scope")]
    pub scope: String,
    #[serde(default)]
    pub resource: Option<String>,
    #[serde(default = "default_leeway")]
    pub leeway_seconds: u64,
    #[serde(default = "default_min_refresh")]
    pub jwks_min_refresh_seconds: u64,
    #[serde(default = "default_max_age")]
    pub jwks_max_age_seconds: u64,
    #[serde(default)]
    pub actor: ActorRule,
    /// The provider's role values (or group names) and the engine role each
    /// gives. Empty: the role claim must hold an engine role name.
    #[serde(default)]
    pub roles: BTreeMap<String, Role>,
}

fn default_scope() -> String {
    "openid".into()
}
fn default_leeway() -> u64 {
    60
}
fn default_min_refresh() -> u64 {
    10
}
fn default_max_age() -> u64 {
    3600
}

/// Where each field of the actor comes from.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ActorRule {
    #[serde(default = "claim_sub")]
    pub user: Source,
    #[serde(default = "claim_agency")]
    pub agency: Source,
    /// None: signed-in people have no facility (network admins, auditors).
    #[serde(default = "claim_facility")]
    pub facility: Option<Source>,
    #[serde(default = "claim_role")]
    pub role: Source,
}

fn claim_sub() -> Source {
    Source::Claim("sub".into())
}
fn claim_agency() -> Source {
    Source::Claim("enlace_agency".into())
}
fn claim_facility() -> Option<Source> {
    Some(Source::Claim("enlace_facility".into()))
}
fn claim_role() -> Source {
    Source::Claim("enlace_role".into())
}

impl Default for ActorRule {
    fn default() -> Self {
        ActorRule {
            user: claim_sub(),
            agency: claim_agency(),
            facility: claim_facility(),
            role: claim_role(),
        }
    }
}

/// A claim's name, or a value every signed-in person gets (an agency whose
/// provider serves only its own staff: `agency = { value = "imss" }`).
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(untagged)]
pub enum Source {
    Claim(String),
    Value { value: String },
}

impl Source {
    /// The string values this source gives for `claims` (a claim holding an
    /// array gives each of its strings).
    fn values<'a>(&'a self, claims: &'a Map<String, Value>) -> Vec<&'a str> {
        match self {
            Source::Value { value } => vec![value.as_str()],
            Source::Claim(name) => match claims.get(name) {
                Some(Value::String(s)) => vec![s.as_str()],
                Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).collect(),
                _ => Vec::new(),
            },
        }
    }

    fn describe(&self) -> String {
        match self {
            Source::Claim(name) => format!("claim `{name}`"),
            Source::Value { value } => format!("fixed value {value:?}"),
        }
    }
}

/// Why a token from the provider is not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignInError {
    /// Past its `exp` (and the leeway): sign in again.
    #[error("the sign-in has expired: sign in again")]
    Expired,
    /// Not a token of the configured provider for this API.
    #[error("{0}")]
    Invalid(String),
    /// A valid token whose claims give no actor.
    #[error("{0}")]
    NotMapped(String),
    /// The provider's keys are needed and cannot be fetched.
    #[error("{0}")]
    Unavailable(String),
}

/// What the pages need to start the authorization-code flow.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct SignInInfo {
    pub issuer: String,
    pub client_id: Option<String>,
    pub scope: String,
    pub resource: Option<String>,
}

/// The provider's keys as last fetched.
#[derive(Default)]
struct Keys {
    /// By key id; a key published without one is under "".
    by_kid: HashMap<String, DecodingKey>,
    fetched: Option<Instant>,
    /// Last fetch attempt, successful or not (bounds refetching).
    tried: Option<Instant>,
}

/// Checks tokens of one provider and maps them to actors.
pub struct Verifier {
    config: OidcConfig,
    http: reqwest::Client,
    keys: tokio::sync::RwLock<Keys>,
    /// One fetch of the provider's keys at a time.
    fetching: tokio::sync::Mutex<()>,
    /// Principals of tokens that verified, by SHA-256, with their `exp`.
    verified: Mutex<HashMap<[u8; 32], (Principal, i64)>>,
    counts: Counts,
}

/// Sign-in outcomes and key fetches, for `/metrics`.
#[derive(Debug, Default)]
pub struct Counts {
    pub accepted: AtomicU64,
    pub expired: AtomicU64,
    pub invalid: AtomicU64,
    pub not_mapped: AtomicU64,
    pub unavailable: AtomicU64,
    pub key_fetches: AtomicU64,
    pub key_fetch_failures: AtomicU64,
}

impl Counts {
    /// Prometheus text of the counts.
    pub fn render(&self, out: &mut String) {
        use std::fmt::Write;
        let n = |c: &AtomicU64| c.load(Ordering::Relaxed);
        let _ = writeln!(
            out,
            "# HELP enlace_sign_in_total Tokens of the identity provider checked, by outcome.\n# TYPE enlace_sign_in_total counter"
        );
        for (outcome, c) in [
            ("accepted", &self.accepted),
            ("expired", &self.expired),
            ("invalid", &self.invalid),
            ("not_mapped", &self.not_mapped),
            ("unavailable", &self.unavailable),
        ] {
            let _ = writeln!(
                out,
                "enlace_sign_in_total{{outcome=\"{outcome}\"}} {}",
                n(c)
            );
        }
        let _ = writeln!(
            out,
            "# HELP enlace_sign_in_key_fetches_total Fetches of the provider's keys, and how many failed.\n# TYPE enlace_sign_in_key_fetches_total counter\nenlace_sign_in_key_fetches_total {}\nenlace_sign_in_key_fetch_failures_total {}",
            n(&self.key_fetches),
            n(&self.key_fetch_failures)
        );
    }
}

/// Most verified tokens remembered; past this the memory starts again empty.
const VERIFIED_MAX: usize = 50_000;

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verifier")
            .field("issuer", &self.config.issuer)
            .finish_non_exhaustive()
    }
}

/// Signature algorithms accepted: asymmetric only. A shared-secret (HS*)
/// token could be made by anyone holding the secret, and `none` by anyone.
const ALGORITHMS: [Algorithm; 9] = [
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
    Algorithm::ES256,
    Algorithm::ES384,
    Algorithm::EdDSA,
];

/// Longest bearer token looked at; a provider's JWTs are a few KB.
const MAX_TOKEN: usize = 16 * 1024;

impl Verifier {
    pub fn new(config: OidcConfig) -> anyhow::Result<Self> {
        if config.audiences.is_empty() {
            anyhow::bail!("[oidc] audiences: name at least one accepted audience");
        }
        if !crate::auth::valid_tenant_name(&config.tenant) {
            anyhow::bail!("[oidc] tenant {:?} is not a tenant name", config.tenant);
        }
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .build()?;
        Ok(Verifier {
            config,
            http,
            keys: tokio::sync::RwLock::new(Keys::default()),
            fetching: tokio::sync::Mutex::new(()),
            verified: Mutex::new(HashMap::new()),
            counts: Counts::default(),
        })
    }

    pub fn config(&self) -> &OidcConfig {
        &self.config
    }

    /// What `/v1/sign-in` tells the pages.
    pub fn info(&self) -> SignInInfo {
        SignInInfo {
            issuer: self.config.issuer.clone(),
            client_id: self.config.client_id.clone(),
            scope: self.config.scope.clone(),
            resource: self.config.resource.clone(),
        }
    }

    /// Sign-in outcomes so far.
    pub fn counts(&self) -> &Counts {
        &self.counts
    }

    fn verified(&self) -> std::sync::MutexGuard<'_, HashMap<[u8; 32], (Principal, i64)>> {
        self.verified.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The principal of a provider's token.
    pub async fn verify(&self, token: &str) -> Result<Principal, SignInError> {
        let result = self.principal(token).await;
        let counter = match &result {
            Ok(_) => &self.counts.accepted,
            Err(SignInError::Expired) => &self.counts.expired,
            Err(SignInError::Invalid(_)) => &self.counts.invalid,
            Err(SignInError::NotMapped(_)) => &self.counts.not_mapped,
            Err(SignInError::Unavailable(_)) => &self.counts.unavailable,
        };
        counter.fetch_add(1, Ordering::Relaxed);
        result
    }

    async fn principal(&self, token: &str) -> Result<Principal, SignInError> {
        let hash: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        let now = chrono::Utc::now().timestamp();
        let leeway = self.config.leeway_seconds as i64;
        if let Some((principal, exp)) = self.verified().get(&hash).cloned() {
            return if exp + leeway < now {
                Err(SignInError::Expired)
            } else {
                Ok(principal)
            };
        }
        let claims = self.claims(token).await?;
        let actor = self.config.actor.actor(&claims, &self.config.roles)?;
        let principal = Principal {
            token_id: None,
            tenant: self.config.tenant.clone(),
            actor,
        };
        if let Some(exp) = claims.get("exp").and_then(Value::as_i64) {
            let mut verified = self.verified();
            if verified.len() >= VERIFIED_MAX {
                verified.clear();
            }
            verified.insert(hash, (principal.clone(), exp));
        }
        Ok(principal)
    }

    /// The claims of a token whose signature, issuer, audience and times
    /// hold.
    async fn claims(&self, token: &str) -> Result<Map<String, Value>, SignInError> {
        if token.len() > MAX_TOKEN {
            return Err(SignInError::Invalid("the token is too long".into()));
        }
        let header = decode_header(token)
            .map_err(|_| SignInError::Invalid("the token is not a JWT".into()))?;
        if !ALGORITHMS.contains(&header.alg) {
            return Err(SignInError::Invalid(format!(
                "tokens signed with {:?} are not accepted",
                header.alg
            )));
        }
        let key = self.key(header.kid.as_deref().unwrap_or("")).await?;
        let mut v = Validation::new(header.alg);
        v.set_issuer(&[&self.config.issuer]);
        v.set_audience(&self.config.audiences);
        v.set_required_spec_claims(&["exp", "iss", "aud"]);
        v.leeway = self.config.leeway_seconds;
        v.validate_nbf = true;
        use jsonwebtoken::errors::ErrorKind as K;
        decode::<Map<String, Value>>(token, &key, &v)
            .map(|data| data.claims)
            .map_err(|e| match e.kind() {
                K::ExpiredSignature => SignInError::Expired,
                K::InvalidAudience => {
                    SignInError::Invalid("the token was issued for another audience".into())
                }
                K::InvalidIssuer => {
                    SignInError::Invalid("the token was issued by another provider".into())
                }
                K::InvalidSignature => {
                    SignInError::Invalid("the token's signature does not verify".into())
                }
                K::ImmatureSignature => SignInError::Invalid("the token is not valid yet".into()),
                K::MissingRequiredClaim(c) => {
                    SignInError::Invalid(format!("the token has no `{c}` claim"))
                }
                _ => SignInError::Invalid(format!("the token is not valid: {e}")),
            })
    }

    /// The provider's key `kid`, fetching the keys when it is unknown (a
    /// rotation) or when they are old.
    async fn key(&self, kid: &str) -> Result<DecodingKey, SignInError> {
        let min_refresh = Duration::from_secs(self.config.jwks_min_refresh_seconds);
        let max_age = Duration::from_secs(self.config.jwks_max_age_seconds);
        let may_try = |k: &Keys| k.tried.is_none_or(|t| t.elapsed() >= min_refresh);
        {
            let keys = self.keys.read().await;
            let fresh = keys.fetched.is_some_and(|t| t.elapsed() < max_age);
            match lookup(&keys, kid) {
                Some(key) if fresh || !may_try(&keys) => return Ok(key),
                None if !may_try(&keys) => return Err(unknown_key(&keys)),
                _ => {}
            }
        }
        let _one = self.fetching.lock().await;
        {
            // Another request may have fetched while this one waited.
            let keys = self.keys.read().await;
            if !may_try(&keys) {
                return lookup(&keys, kid).ok_or_else(|| unknown_key(&keys));
            }
        }
        let fetched = self.fetch_keys().await;
        self.counts.key_fetches.fetch_add(1, Ordering::Relaxed);
        let mut keys = self.keys.write().await;
        keys.tried = Some(Instant::now());
        match fetched {
            Ok(by_kid) => {
                keys.by_kid = by_kid;
                keys.fetched = Some(Instant::now());
                // Tokens are checked again against the keys as they are now.
                self.verified().clear();
            }
            Err(e) => {
                self.counts
                    .key_fetch_failures
                    .fetch_add(1, Ordering::Relaxed);
                tracing::warn!(issuer = %self.config.issuer, error = %e, "fetching the provider's keys failed");
                // Keys fetched before stay in use: a provider that is down
                // does not sign out everyone.
                if keys.fetched.is_none() {
                    return Err(SignInError::Unavailable(format!(
                        "the identity provider cannot be reached: {e}"
                    )));
                }
            }
        }
        lookup(&keys, kid).ok_or_else(|| unknown_key(&keys))
    }

    /// Discovery, then the JWKS it names.
    async fn fetch_keys(&self) -> Result<HashMap<String, DecodingKey>, String> {
        let issuer = &self.config.issuer;
        let url = format!(
            "{}/.well-known/openid-configuration",
            issuer.trim_end_matches('/')
        );
        let doc: Value = self.get_json(&url).await?;
        // OpenID Connect Discovery 1.0, 4.3: the document's issuer must be
        // the one asked for, or a provider could speak for another.
        if doc["issuer"].as_str() != Some(issuer) {
            return Err(format!(
                "{url} names issuer {} instead of {issuer}",
                doc["issuer"]
            ));
        }
        let jwks_uri = doc["jwks_uri"]
            .as_str()
            .ok_or_else(|| format!("{url} has no jwks_uri"))?;
        let jwks: Value = self.get_json(jwks_uri).await?;
        let mut by_kid = HashMap::new();
        for raw in jwks["keys"].as_array().into_iter().flatten() {
            // Encryption keys and key types this library does not know are
            // skipped, not fatal: the provider may publish more than we use.
            if raw["use"].as_str().is_some_and(|u| u != "sig") {
                continue;
            }
            let Ok(jwk) = serde_json::from_value::<Jwk>(raw.clone()) else {
                continue;
            };
            if let Ok(key) = DecodingKey::from_jwk(&jwk) {
                by_kid.insert(jwk.common.key_id.clone().unwrap_or_default(), key);
            }
        }
        if by_kid.is_empty() {
            return Err(format!("{jwks_uri} publishes no signing key"));
        }
        tracing::info!(issuer = %issuer, keys = by_kid.len(), "fetched the provider's keys");
        Ok(by_kid)
    }

    async fn get_json(&self, url: &str) -> Result<Value, String> {
        let resp = self
            .http
            .get(url)
            .send()
            .await
            .map_err(|e| format!("{url}: {e}"))?;
        if !resp.status().is_success() {
            return Err(format!("{url}: HTTP {}", resp.status()));
        }
        resp.json().await.map_err(|e| format!("{url}: {e}"))
    }
}

fn lookup(keys: &Keys, kid: &str) -> Option<DecodingKey> {
    match keys.by_kid.get(kid) {
        Some(k) => Some(k.clone()),
        // A token without a key id, from a provider with a single key.
        None if kid.is_empty() && keys.by_kid.len() == 1 => keys.by_kid.values().next().cloned(),
        None => None,
    }
}

fn unknown_key(keys: &Keys) -> SignInError {
    if keys.fetched.is_none() {
        SignInError::Unavailable("the identity provider's keys are not available yet".into())
    } else {
        SignInError::Invalid("the token is signed by a key the provider does not publish".into())
    }
}

impl ActorRule {
    /// The actor `claims` speak for, or why they speak for none.
    pub fn actor(
        &self,
        claims: &Map<String, Value>,
        roles: &BTreeMap<String, Role>,
    ) -> Result<Actor, SignInError> {
        let one = |source: &Source, what: &str| -> Result<String, SignInError> {
            match source.values(claims).as_slice() {
                [v] if !v.is_empty() => Ok((*v).to_owned()),
                [] | [_] => Err(SignInError::NotMapped(format!(
                    "the sign-in gives no {what} ({})",
                    source.describe()
                ))),
                _ => Err(SignInError::NotMapped(format!(
                    "the sign-in gives several values for the {what} ({})",
                    source.describe()
                ))),
            }
        };
        let user = one(&self.user, "user")?;
        let agency = one(&self.agency, "agency")?;
        let facility = match &self.facility {
            Some(source) if !source.values(claims).is_empty() => Some(one(source, "facility")?),
            _ => None,
        };
        let mut found: Vec<Role> = self
            .role
            .values(claims)
            .into_iter()
            .filter_map(|v| {
                if roles.is_empty() {
                    Role::ALL.into_iter().find(|r| r.as_str() == v)
                } else {
                    roles.get(v).copied()
                }
            })
            .collect();
        found.sort();
        found.dedup();
        let role = match found.as_slice() {
            [r] => *r,
            [] => {
                return Err(SignInError::NotMapped(format!(
                    "the sign-in gives no role of Enlace ({})",
                    self.role.describe()
                )));
            }
            _ => {
                return Err(SignInError::NotMapped(format!(
                    "the sign-in gives several roles of Enlace ({}): sign in with an account for one",
                    self.role.describe()
                )));
            }
        };
        Ok(Actor {
            user,
            agency,
            facility,
            role,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn claims(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn claims_become_an_actor_by_the_default_rule() {
        let rule = ActorRule::default();
        let a = rule
            .actor(
                &claims(json!({"sub": "u1", "enlace_agency": "imss", "enlace_facility": "F0004", "enlace_role": "coordinator"})),
                &BTreeMap::new(),
            )
            .unwrap();
        assert_eq!(
            a,
            Actor::new("u1", "imss", Some("F0004"), Role::Coordinator)
        );
        // No facility claim: an actor of the whole network.
        let a = rule
            .actor(
                &claims(json!({"sub": "u2", "enlace_agency": "imss", "enlace_role": "auditor"})),
                &BTreeMap::new(),
            )
            .unwrap();
        assert_eq!(a.facility, None);
    }

    #[test]
    fn groups_map_to_roles_and_fixed_values_fill_in() {
        let rule: ActorRule = toml::from_str(
            r#"
            user = "preferred_username"
            agency = { value = "imss" }
            facility = "site"
            role = "groups"
            "#,
        )
        .unwrap();
        let roles: BTreeMap<String, Role> = toml::from_str(
            r#"
            "hgz-coordinacion" = "coordinator"
            "hgz-medicos" = "clinician"
            "#,
        )
        .unwrap();
        let c = claims(json!({
            "sub": "x", "preferred_username": "ana", "site": "F0004",
            "groups": ["todos", "hgz-coordinacion"],
        }));
        assert_eq!(
            rule.actor(&c, &roles).unwrap(),
            Actor::new("ana", "imss", Some("F0004"), Role::Coordinator)
        );
        // Two groups giving two roles: refused, not guessed.
        let c = claims(json!({
            "preferred_username": "ana", "groups": ["hgz-coordinacion", "hgz-medicos"],
        }));
        assert!(matches!(
            rule.actor(&c, &roles),
            Err(SignInError::NotMapped(m)) if m.contains("several roles")
        ));
        // A group that is not in the map gives nothing.
        let c = claims(json!({"preferred_username": "ana", "groups": ["todos"]}));
        assert!(matches!(
            rule.actor(&c, &roles),
            Err(SignInError::NotMapped(_))
        ));
    }

    #[test]
    fn missing_or_empty_claims_are_refused() {
        let rule = ActorRule::default();
        for c in [
            json!({"sub": "u", "enlace_agency": "imss"}),
            json!({"sub": "u", "enlace_agency": "imss", "enlace_role": "king"}),
            json!({"sub": "u", "enlace_agency": "", "enlace_role": "clerk"}),
            json!({"enlace_agency": "imss", "enlace_role": "clerk"}),
            json!({"sub": "u", "enlace_agency": ["a", "b"], "enlace_role": "clerk"}),
            json!({"sub": "u", "enlace_agency": 7, "enlace_role": "clerk"}),
        ] {
            assert!(
                matches!(
                    rule.actor(&claims(c.clone()), &BTreeMap::new()),
                    Err(SignInError::NotMapped(_))
                ),
                "{c}"
            );
        }
    }

    #[test]
    fn the_config_section_reads_with_its_defaults() {
        let c: OidcConfig = toml::from_str(
            r#"
            issuer = "https://login.example"
            audiences = ["urn:enlace:api"]
            tenant = "imss"
            "#,
        )
        .unwrap();
        assert_eq!(c.actor, ActorRule::default());
        assert_eq!(c.leeway_seconds, 60);
        assert!(Verifier::new(c.clone()).is_ok());
        let none = OidcConfig {
            audiences: vec![],
            ..c.clone()
        };
        assert!(Verifier::new(none).is_err());
        assert!(
            toml::from_str::<OidcConfig>(
                "issuer = \"x\"\naudiences = [\"a\"]\ntenant = \"t\"\nsecret = \"s\""
            )
            .is_err()
        );
    }
}
