//! Records that cross between agencies' hosts (issue 12, DESIGN.md
//! "Deployment shapes" 3): what one agency sends another about a referral,
//! and the receipt that answers it.
//!
//! Everything here is a pure function of its inputs, the same bytes on every
//! face: a record's payload is its JCS (RFC 8785) canonical JSON
//! ([`record`]); it travels with a detached JWS over the unencoded payload
//! (RFC 7515 + RFC 7797, EdDSA with Ed25519, [`seal`]); a receiving host
//! accepts it only when a key of the sending agency in its trust list, valid
//! at the time of receipt, signed those exact bytes ([`trust`]). Keys are the
//! face's: the host holds its agency's private key in a file, never in the
//! journal; core only signs with a key it is handed.

pub mod canonical;
mod error;
pub mod record;
pub mod seal;
pub mod trust;

pub use error::ExchangeError;
pub use record::{Body, Message, Outcome, Receipt, Record, ReferralRef, SharedBeneficiary};
pub use seal::Signer;
pub use trust::{Peer, PeerKey, TrustList, Verified};

/// The SHA-256 of a payload, base64url without padding: how a receipt and
/// the exchange log name the exact bytes they are about.
pub fn digest(payload: &[u8]) -> String {
    use base64::Engine as _;
    use sha2::{Digest, Sha256};
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(payload))
}
