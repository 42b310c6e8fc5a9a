//! The `exchange` interface: seals of records exchanged between agencies'
//! hosts, converted to and from core's `exchange` module. No JSON is read
//! here (see the WIT): records are a host's to read, with core.

use super::Component;
use super::bindings::exports::enlace::engine::exchange::{self as wit, Guest};
use super::convert::{WitType, lift};
use chrono::{DateTime, Utc};
use enlace_core::exchange::{ExchangeError, Peer, PeerKey, Signer, TrustList, digest};

fn refused(e: ExchangeError) -> super::wit::Error {
    e.to_body().into_wit()
}

/// A trust list of WIT values; an instant that does not read is a
/// `trust_list_invalid` refusal naming the field.
fn trust_list(peers: Vec<wit::Peer>) -> Result<TrustList, ExchangeError> {
    let invalid = |b: super::convert::Bad| ExchangeError::TrustListInvalid {
        reason: format!("{}: {}", b.field, b.reason),
    };
    let mut list = TrustList::default();
    for (i, p) in peers.into_iter().enumerate() {
        let mut keys = Vec::with_capacity(p.keys.len());
        for (j, k) in p.keys.into_iter().enumerate() {
            let at = |field: &str| format!("peers[{i}].keys[{j}].{field}");
            keys.push(PeerKey {
                kid: k.kid,
                x: k.x,
                not_before: lift::<DateTime<Utc>>(k.not_before, &at("not_before"))
                    .map_err(invalid)?,
                not_after: lift::<Option<DateTime<Utc>>>(k.not_after, &at("not_after"))
                    .map_err(invalid)?,
                revoked_at: lift::<Option<DateTime<Utc>>>(k.revoked_at, &at("revoked_at"))
                    .map_err(invalid)?,
            });
        }
        list.peers.push(Peer {
            agency: p.agency,
            endpoint: p.endpoint,
            keys,
        });
    }
    list.check()?;
    Ok(list)
}

impl Guest for Component {
    fn seal_record(seed: Vec<u8>, payload: Vec<u8>) -> Result<String, super::wit::Error> {
        Ok(Signer::from_seed(&seed).map_err(refused)?.seal(&payload))
    }

    fn verify_seal(
        peers: Vec<wit::Peer>,
        seal: String,
        payload: Vec<u8>,
        at: String,
    ) -> Result<wit::Signer, super::wit::Error> {
        let at =
            lift::<DateTime<Utc>>(at, "at").map_err(|b| b.into_error().to_body().into_wit())?;
        let signer = trust_list(peers)
            .and_then(|list| list.verify_seal(&seal, &payload, at))
            .map_err(refused)?;
        Ok(wit::Signer {
            agency: signer.agency,
            kid: signer.kid,
        })
    }

    fn record_digest(payload: Vec<u8>) -> String {
        digest(&payload)
    }
}
