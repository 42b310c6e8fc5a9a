//! The agency's signing key (issue 12): an Ed25519 key pair (RFC 8032) with
//! which a host will sign what it sends to other agencies' hosts.
//!
//! The key is a file, never a journal entry: `DATA/keys/agency.jwk` unless
//! another file is named, readable by its owner only (mode 0600), written
//! as a JSON Web Key (RFC 8037: `kty` `OKP`, `crv` `Ed25519`, `x` the public
//! key and `d` the private one, base64url without padding) so that the
//! agency's own tools can read it. Its id (`kid`) is the key's RFC 7638
//! thumbprint, the same for whoever computes it from the public key alone.
//! `enlace-host keys create` makes one and never overwrites an existing
//! file (losing a key other agencies trust is not undone by a retry);
//! `keys show` prints the public half only, for the other agencies' trust
//! lists.

use anyhow::{Context, Result, bail};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use enlace_core::exchange::Signer;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};

/// The key file of a data folder when none is named.
pub fn default_file(data: &Path) -> PathBuf {
    data.join("keys").join("agency.jwk")
}

/// An agency's Ed25519 key pair: core's signer, which seals what the host
/// sends (`enlace_core::exchange::seal`).
pub struct AgencyKey {
    signer: Signer,
}

impl std::fmt::Debug for AgencyKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the private half, not even in a log line.
        f.debug_struct("AgencyKey")
            .field("kid", &self.kid())
            .finish_non_exhaustive()
    }
}

impl AgencyKey {
    /// The key pair of a 32-byte private key (RFC 8032's seed).
    pub fn from_seed(seed: [u8; 32]) -> Self {
        AgencyKey {
            signer: Signer::from_seed(&seed).expect("a seed of 32 bytes"),
        }
    }

    /// The public key, 32 bytes.
    pub fn public(&self) -> [u8; 32] {
        self.signer.public()
    }

    /// The key's id: the RFC 7638 thumbprint of the public key (RFC 8037
    /// §A.3), the same for whoever computes it from the public key alone.
    pub fn kid(&self) -> String {
        self.signer.kid().to_owned()
    }

    /// Core's signer of this key, for sealing records.
    pub fn signer(&self) -> &Signer {
        &self.signer
    }

    /// The public JWK: what other agencies put in their trust lists.
    pub fn public_jwk(&self) -> Value {
        json!({
            "kty": "OKP",
            "crv": "Ed25519",
            "x": B64.encode(self.public()),
            "kid": self.kid(),
            "use": "sig",
            "alg": "EdDSA",
        })
    }

    /// The private JWK, as the key file holds it.
    fn private_jwk(&self) -> Value {
        let mut jwk = self.public_jwk();
        jwk["d"] = json!(B64.encode(self.signer.seed()));
        jwk
    }

    /// Reads a JWK written by [`create`] (or by any tool writing RFC 8037
    /// Ed25519 keys); refuses one whose `x` is not the public key of its `d`.
    pub fn from_jwk(jwk: &Value) -> Result<Self> {
        let field = |name: &str| {
            jwk.get(name)
                .and_then(Value::as_str)
                .with_context(|| format!("the key has no `{name}`"))
        };
        if field("kty")? != "OKP" || field("crv")? != "Ed25519" {
            bail!("not an Ed25519 key (kty OKP, crv Ed25519)");
        }
        let bytes = |name: &str| -> Result<[u8; 32]> {
            let raw = B64
                .decode(field(name)?)
                .with_context(|| format!("`{name}` is not base64url"))?;
            raw.try_into()
                .map_err(|_| anyhow::anyhow!("`{name}` is not 32 bytes"))
        };
        let key = AgencyKey::from_seed(bytes("d")?);
        if key.public() != bytes("x")? {
            bail!("`x` is not the public key of `d`: the file is damaged");
        }
        Ok(key)
    }
}

/// Creates a new key in `file` (its folder too); refuses to replace one.
pub fn create(file: &Path) -> Result<AgencyKey> {
    if file.exists() {
        bail!(
            "{} already holds a key: other agencies may trust it, so it is never replaced here \
             (move it away first if it must go)",
            file.display()
        );
    }
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).map_err(|e| anyhow::anyhow!("no system randomness: {e}"))?;
    let key = AgencyKey::from_seed(seed);
    if let Some(dir) = file.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let text = serde_json::to_string_pretty(&key.private_jwk())? + "\n";
    write_private(file, text.as_bytes())?;
    Ok(key)
}

/// Reads the key in `file`.
pub fn load(file: &Path) -> Result<AgencyKey> {
    let text = std::fs::read_to_string(file).with_context(|| {
        format!(
            "reading the agency key {} (create one with `enlace-host keys create`)",
            file.display()
        )
    })?;
    let jwk: Value =
        serde_json::from_str(&text).with_context(|| format!("{} is not JSON", file.display()))?;
    AgencyKey::from_jwk(&jwk).with_context(|| format!("the key in {}", file.display()))
}

/// Writes a new file readable and writable by its owner only (on Unix);
/// fails if it exists (two `keys create` at once: one wins, the other is
/// told).
fn write_private(file: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut f = options
        .open(file)
        .with_context(|| format!("creating {}", file.display()))?;
    f.write_all(bytes)?;
    f.sync_all()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 8037, appendix A.1–A.3: the private key `d`, its public key `x`
    /// and the thumbprint of the public JWK.
    #[test]
    fn the_rfc_8037_example_key_gives_its_public_key_and_thumbprint() {
        let jwk = json!({
            "kty": "OKP", "crv": "Ed25519",
            "d": "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A",
            "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo",
        });
        let key = AgencyKey::from_jwk(&jwk).unwrap();
        assert_eq!(key.public_jwk()["x"], jwk["x"]);
        assert_eq!(key.kid(), "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k");
        let mut damaged = jwk.clone();
        damaged["x"] = json!("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
        assert!(AgencyKey::from_jwk(&damaged).is_err());
        let mut other = jwk;
        other["crv"] = json!("X25519");
        assert!(AgencyKey::from_jwk(&other).is_err());
    }

    #[test]
    fn a_created_key_is_private_reloads_and_is_never_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let file = default_file(dir.path());
        let key = create(&file).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&file).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let again = load(&file).unwrap();
        assert_eq!(again.public(), key.public());
        assert_eq!(again.kid(), key.kid());
        let err = create(&file).unwrap_err().to_string();
        assert!(err.contains("never replaced"), "{err}");
        assert_eq!(load(&file).unwrap().public(), key.public());
        // The public JWK holds no private part.
        assert!(key.public_jwk().get("d").is_none());
        assert!(format!("{key:?}").contains(&key.kid()));
        assert!(!format!("{key:?}").contains(key.private_jwk()["d"].as_str().unwrap()));
        assert!(load(&dir.path().join("missing.jwk")).is_err());
    }
}
