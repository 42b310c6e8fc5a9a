//! A host's trust list: the agencies it exchanges with, their endpoints and
//! their public keys with validity periods (several per agency, so that a
//! key can be rotated without a gap), and the one function that decides
//! whether received bytes come from one of them.

use super::seal::{self, Seal};
use super::{ExchangeError, Record};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// Whom a host exchanges with.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrustList {
    pub peers: Vec<Peer>,
}

/// Another agency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Peer {
    /// Its agency id, as the network's facilities name it.
    pub agency: String,
    /// Where its host receives records (`https://…`, or `http://` on loopback).
    pub endpoint: String,
    pub keys: Vec<PeerKey>,
}

/// One public key of a peer, as its `enlace-host keys show` printed it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PeerKey {
    /// The RFC 7638 thumbprint of `x`.
    pub kid: String,
    /// The public key, base64url (RFC 8037).
    pub x: String,
    /// Valid from this instant on.
    pub not_before: DateTime<Utc>,
    /// Valid until this instant (excluded); none: until revoked or replaced.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_after: Option<DateTime<Utc>>,
    /// Revoked from this instant on (a compromised key): nothing it seals is
    /// accepted from then on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<DateTime<Utc>>,
}

/// Who sealed an accepted record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verified {
    pub agency: String,
    pub kid: String,
}

impl TrustList {
    /// The trust list of a JSON document, checked.
    pub fn from_json(json: &str) -> Result<TrustList, ExchangeError> {
        let list: TrustList =
            serde_json::from_str(json).map_err(|e| ExchangeError::TrustListInvalid {
                reason: e.to_string(),
            })?;
        list.check()?;
        Ok(list)
    }

    /// Refuses a list a host must not start with: a peer listed twice, a
    /// key id used twice or not the thumbprint of its key, a key that is not
    /// a usable Ed25519 point, an empty validity period, an endpoint that is
    /// not http(s).
    pub fn check(&self) -> Result<(), ExchangeError> {
        let invalid = |reason: String| ExchangeError::TrustListInvalid { reason };
        let mut agencies = BTreeSet::new();
        let mut kids = BTreeSet::new();
        for peer in &self.peers {
            crate::validate::code("agency", &peer.agency).map_err(|e| invalid(e.to_string()))?;
            if !agencies.insert(peer.agency.as_str()) {
                return Err(invalid(format!("agency {} is listed twice", peer.agency)));
            }
            if !(peer.endpoint.starts_with("https://") || peer.endpoint.starts_with("http://")) {
                return Err(invalid(format!(
                    "{}: the endpoint must be an http(s) URL",
                    peer.agency
                )));
            }
            for key in &peer.keys {
                let public = seal::public_key(&key.x)
                    .map_err(|e| invalid(format!("{}: {e}", peer.agency)))?;
                if seal::thumbprint(&public.to_bytes()) != key.kid {
                    return Err(invalid(format!(
                        "{}: kid {} is not the thumbprint of its key",
                        peer.agency, key.kid
                    )));
                }
                if !kids.insert(key.kid.as_str()) {
                    return Err(invalid(format!("key {} is listed twice", key.kid)));
                }
                if key.not_after.is_some_and(|end| end <= key.not_before) {
                    return Err(invalid(format!(
                        "{}: key {} ends before it begins",
                        peer.agency, key.kid
                    )));
                }
            }
        }
        Ok(())
    }

    /// The peer of an agency.
    pub fn peer(&self, agency: &str) -> Option<&Peer> {
        self.peers.iter().find(|p| p.agency == agency)
    }

    /// Which trusted agency sealed `payload` with `jws`, its key being valid
    /// and not revoked at `at` (the instant of receipt).
    pub fn verify_seal(
        &self,
        jws: &str,
        payload: &[u8],
        at: DateTime<Utc>,
    ) -> Result<Verified, ExchangeError> {
        let seal = Seal::parse(jws)?;
        let kid = &seal.header.kid;
        let (peer, key) = self
            .peers
            .iter()
            .find_map(|p| p.keys.iter().find(|k| &k.kid == kid).map(|k| (p, k)))
            .ok_or_else(|| ExchangeError::SignerUnknown { kid: kid.clone() })?;
        let agency = peer.agency.clone();
        if let Some(revoked_at) = key.revoked_at.filter(|r| *r <= at) {
            return Err(ExchangeError::SignerKeyRevoked {
                agency,
                kid: kid.clone(),
                revoked_at: revoked_at.to_rfc3339(),
            });
        }
        if at < key.not_before {
            return Err(ExchangeError::SignerKeyNotYetValid {
                agency,
                kid: kid.clone(),
                not_before: key.not_before.to_rfc3339(),
            });
        }
        if let Some(end) = key.not_after.filter(|end| *end <= at) {
            return Err(ExchangeError::SignerKeyExpired {
                agency,
                kid: kid.clone(),
                not_after: end.to_rfc3339(),
            });
        }
        // Checked when the list was loaded; a list built by hand is checked here.
        let public = seal::public_key(&key.x)
            .map_err(|reason| ExchangeError::TrustListInvalid { reason })?;
        seal.verify(&public, payload)?;
        Ok(Verified {
            agency,
            kid: kid.clone(),
        })
    }

    /// The whole check of received bytes: sealed by a trusted agency's valid
    /// key, a record in canonical form, and sent by the agency that sealed it.
    /// The seal is checked before the bytes are parsed, so nothing from an
    /// unknown sender reaches the parser.
    pub fn verify(
        &self,
        jws: &str,
        payload: &[u8],
        at: DateTime<Utc>,
    ) -> Result<(Record, Verified), ExchangeError> {
        if payload.len() > super::record::MAX_PAYLOAD {
            return Err(ExchangeError::PayloadTooLarge {
                size: payload.len(),
                max: super::record::MAX_PAYLOAD,
            });
        }
        let signer = self.verify_seal(jws, payload, at)?;
        let record = Record::from_payload(payload)?;
        if record.from() != signer.agency {
            return Err(ExchangeError::SenderNotSigner {
                claimed: record.from().to_owned(),
                signer: signer.agency,
            });
        }
        Ok((record, signer))
    }
}
