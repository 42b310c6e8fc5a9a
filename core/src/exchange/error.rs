//! Why an exchanged record is refused: stable codes, as for the engine's
//! errors, so that a sender can tell its coordinator what the peer said.

use crate::error::ErrorBody;
use std::collections::BTreeMap;

/// Every way a record, its seal or a trust list can be refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExchangeError {
    #[error("the payload is {size} bytes, over the limit of {max}")]
    PayloadTooLarge { size: usize, max: usize },
    #[error("the payload is not a record: {reason}")]
    PayloadMalformed { reason: String },
    #[error("the payload is not in canonical form (RFC 8785)")]
    PayloadNotCanonical,
    #[error("the seal is not a detached JWS of this profile: {reason}")]
    SealMalformed { reason: String },
    #[error("the seal's algorithm {alg} is refused (only EdDSA)")]
    SealAlgorithmRefused { alg: String },
    #[error("no trusted agency has the key {kid}")]
    SignerUnknown { kid: String },
    #[error("the key {kid} of {agency} is not valid before {not_before}")]
    SignerKeyNotYetValid {
        agency: String,
        kid: String,
        not_before: String,
    },
    #[error("the key {kid} of {agency} expired at {not_after}")]
    SignerKeyExpired {
        agency: String,
        kid: String,
        not_after: String,
    },
    #[error("the key {kid} of {agency} was revoked at {revoked_at}")]
    SignerKeyRevoked {
        agency: String,
        kid: String,
        revoked_at: String,
    },
    #[error("the signature does not match the payload")]
    SignatureInvalid,
    #[error("the record says it is from {claimed}, but {signer} signed it")]
    SenderNotSigner { claimed: String, signer: String },
    #[error("a signing key must be 32 bytes (an RFC 8032 seed)")]
    KeyInvalid,
    #[error("invalid trust list: {reason}")]
    TrustListInvalid { reason: String },
}

impl ExchangeError {
    /// Every code, for faces that list them (OpenAPI, tests).
    pub const CODES: [&'static str; 13] = [
        "payload_too_large",
        "payload_malformed",
        "payload_not_canonical",
        "seal_malformed",
        "seal_algorithm_refused",
        "signer_unknown",
        "signer_key_not_yet_valid",
        "signer_key_expired",
        "signer_key_revoked",
        "signature_invalid",
        "sender_not_signer",
        "key_invalid",
        "trust_list_invalid",
    ];

    /// The stable code.
    pub fn code(&self) -> &'static str {
        use ExchangeError::*;
        match self {
            PayloadTooLarge { .. } => "payload_too_large",
            PayloadMalformed { .. } => "payload_malformed",
            PayloadNotCanonical => "payload_not_canonical",
            SealMalformed { .. } => "seal_malformed",
            SealAlgorithmRefused { .. } => "seal_algorithm_refused",
            SignerUnknown { .. } => "signer_unknown",
            SignerKeyNotYetValid { .. } => "signer_key_not_yet_valid",
            SignerKeyExpired { .. } => "signer_key_expired",
            SignerKeyRevoked { .. } => "signer_key_revoked",
            SignatureInvalid => "signature_invalid",
            SenderNotSigner { .. } => "sender_not_signer",
            KeyInvalid => "key_invalid",
            TrustListInvalid { .. } => "trust_list_invalid",
        }
    }

    /// The error's fields by name, as `details` of the wire form.
    pub fn details(&self) -> BTreeMap<String, String> {
        use ExchangeError::*;
        let pairs: Vec<(&str, String)> = match self {
            PayloadTooLarge { size, max } => {
                vec![("size", size.to_string()), ("max", max.to_string())]
            }
            PayloadMalformed { reason }
            | SealMalformed { reason }
            | TrustListInvalid { reason } => {
                vec![("reason", reason.clone())]
            }
            SealAlgorithmRefused { alg } => vec![("alg", alg.clone())],
            SignerUnknown { kid } => vec![("kid", kid.clone())],
            SignerKeyNotYetValid {
                agency,
                kid,
                not_before,
            } => vec![
                ("agency", agency.clone()),
                ("kid", kid.clone()),
                ("not_before", not_before.clone()),
            ],
            SignerKeyExpired {
                agency,
                kid,
                not_after,
            } => vec![
                ("agency", agency.clone()),
                ("kid", kid.clone()),
                ("not_after", not_after.clone()),
            ],
            SignerKeyRevoked {
                agency,
                kid,
                revoked_at,
            } => vec![
                ("agency", agency.clone()),
                ("kid", kid.clone()),
                ("revoked_at", revoked_at.clone()),
            ],
            SenderNotSigner { claimed, signer } => {
                vec![("claimed", claimed.clone()), ("signer", signer.clone())]
            }
            PayloadNotCanonical | SignatureInvalid | KeyInvalid => vec![],
        };
        pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
    }

    /// `{code, message, details}`, as every face reports errors.
    pub fn to_body(&self) -> ErrorBody {
        ErrorBody {
            code: self.code().to_owned(),
            message: self.to_string(),
            details: self.details(),
        }
    }
}

impl serde::Serialize for ExchangeError {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.to_body().serialize(s)
    }
}
