//! Seals: detached JWS (RFC 7515) over the unencoded payload (RFC 7797),
//! signed with Ed25519 (RFC 8032, `alg` `EdDSA` of RFC 8037).
//!
//! A seal is the compact serialisation with its payload part left empty:
//! `BASE64URL(header) + ".." + BASE64URL(signature)`. The protected header
//! is exactly `{"alg":"EdDSA","b64":false,"crit":["b64"],"kid":…}` (`kid`
//! being the RFC 7638 thumbprint of the signer's public key), and the
//! signing input is the header part, a dot and the canonical payload bytes
//! themselves, so any JOSE library that supports RFC 7797 checks a seal
//! against the payload as it was received. Ed25519 signatures are
//! deterministic: a record sealed with one key has one seal on every face.

use super::ExchangeError;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The only algorithm accepted.
pub const ALG: &str = "EdDSA";

/// A seal's protected header, in this profile.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Header {
    pub alg: String,
    pub b64: bool,
    pub crit: Vec<String>,
    pub kid: String,
}

/// A parsed seal: who claims to have signed, and the signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seal {
    pub header: Header,
    /// The header part as it was received: it is part of the signing input.
    encoded_header: String,
    signature: Signature,
}

impl Seal {
    /// Parses a detached compact JWS of this profile; refuses any other
    /// algorithm, an attached payload, and a header without `b64: false`
    /// marked critical.
    pub fn parse(jws: &str) -> Result<Seal, ExchangeError> {
        let malformed = |reason: &str| ExchangeError::SealMalformed {
            reason: reason.to_owned(),
        };
        let mut parts = jws.split('.');
        let (Some(h), Some(p), Some(s), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(malformed("a compact JWS has three parts"));
        };
        if !p.is_empty() {
            return Err(malformed("the payload part must be empty (detached)"));
        }
        let header_bytes = B64
            .decode(h)
            .map_err(|_| malformed("the header is not base64url"))?;
        let header: Header = serde_json::from_slice(&header_bytes)
            .map_err(|e| malformed(&format!("header: {e}")))?;
        if header.alg != ALG {
            return Err(ExchangeError::SealAlgorithmRefused { alg: header.alg });
        }
        if header.b64 || header.crit != ["b64"] {
            return Err(malformed("the header must say b64: false, marked critical"));
        }
        let sig = B64
            .decode(s)
            .map_err(|_| malformed("the signature is not base64url"))?;
        let sig: [u8; 64] = sig
            .try_into()
            .map_err(|_| malformed("an Ed25519 signature is 64 bytes"))?;
        Ok(Seal {
            header,
            encoded_header: h.to_owned(),
            signature: Signature::from_bytes(&sig),
        })
    }

    /// True when `public` signed `payload` under this seal. Strict
    /// verification (`verify_strict`): a non-canonical `S` or a
    /// small-order key or `R` is refused, as RFC 8032 §5.1.7 allows, so
    /// that two faces never disagree on an edge case.
    pub fn verify(&self, public: &VerifyingKey, payload: &[u8]) -> Result<(), ExchangeError> {
        let input = signing_input(&self.encoded_header, payload);
        public
            .verify_strict(&input, &self.signature)
            .map_err(|_| ExchangeError::SignatureInvalid)
    }
}

/// An agency's signing key, as the face that holds it hands it to core.
pub struct Signer {
    key: SigningKey,
    kid: String,
    encoded_header: String,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the private half.
        f.debug_struct("Signer")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

impl Signer {
    /// The signer of a 32-byte private key (RFC 8032's seed).
    pub fn from_seed(seed: &[u8]) -> Result<Signer, ExchangeError> {
        let seed: [u8; 32] = seed.try_into().map_err(|_| ExchangeError::KeyInvalid)?;
        let key = SigningKey::from_bytes(&seed);
        let kid = thumbprint(&key.verifying_key().to_bytes());
        let header = Header {
            alg: ALG.to_owned(),
            b64: false,
            crit: vec!["b64".to_owned()],
            kid: kid.clone(),
        };
        let encoded_header = B64.encode(super::canonical::to_vec(&header).expect("strings only"));
        Ok(Signer {
            key,
            kid,
            encoded_header,
        })
    }

    /// The key's id: its RFC 7638 thumbprint.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The public key, 32 bytes.
    pub fn public(&self) -> [u8; 32] {
        self.key.verifying_key().to_bytes()
    }

    /// The private key (the seed), for the face that stores it.
    pub fn seed(&self) -> [u8; 32] {
        self.key.to_bytes()
    }

    /// The seal of `payload`.
    pub fn seal(&self, payload: &[u8]) -> String {
        let signature = self.key.sign(&signing_input(&self.encoded_header, payload));
        format!(
            "{}..{}",
            self.encoded_header,
            B64.encode(signature.to_bytes())
        )
    }
}

/// RFC 7797 §3: the header part, a dot, and the payload bytes unencoded.
fn signing_input(encoded_header: &str, payload: &[u8]) -> Vec<u8> {
    let mut input = Vec::with_capacity(encoded_header.len() + 1 + payload.len());
    input.extend_from_slice(encoded_header.as_bytes());
    input.push(b'.');
    input.extend_from_slice(payload);
    input
}

/// The RFC 7638 thumbprint of an Ed25519 public key: base64url of the
/// SHA-256 of `{"crv":"Ed25519","kty":"OKP","x":"…"}` (RFC 8037 §A.3).
pub fn thumbprint(public: &[u8; 32]) -> String {
    let canonical = format!(
        r#"{{"crv":"Ed25519","kty":"OKP","x":"{}"}}"#,
        B64.encode(public)
    );
    B64.encode(Sha256::digest(canonical.as_bytes()))
}

/// The public key of a JWK's `x` (base64url, 32 bytes, a valid point that is
/// not of small order).
pub fn public_key(x: &str) -> Result<VerifyingKey, String> {
    let bytes = B64.decode(x).map_err(|_| "x is not base64url".to_owned())?;
    let bytes: [u8; 32] = bytes
        .try_into()
        .map_err(|_| "an Ed25519 public key is 32 bytes".to_owned())?;
    let key =
        VerifyingKey::from_bytes(&bytes).map_err(|_| "x is not a point of Ed25519".to_owned())?;
    if key.is_weak() {
        return Err("x is a key of small order".to_owned());
    }
    Ok(key)
}

/// Base64url without padding, as JOSE writes binary values.
pub fn base64url(bytes: &[u8]) -> String {
    B64.encode(bytes)
}
