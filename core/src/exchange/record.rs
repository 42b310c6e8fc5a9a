//! The records agencies exchange, and their canonical bytes.
//!
//! A record is signed as its JCS (RFC 8785) canonical JSON: keys sorted,
//! no spaces, strings escaped one way only. There are no floating-point
//! numbers and no integers above 2^32 in a record, so JCS's number rules
//! never come into play. A received payload must already be canonical:
//! parsing it and writing it again must give the same bytes, so that the
//! signed bytes and the record a host acts on can never differ (duplicate
//! keys, extra members and other spellings of the same JSON are refused).

use super::ExchangeError;
use crate::beneficiary::Sex;
use crate::priority::Priority;
use crate::referral::{
    Attachment, ClinicalReason, CounterReferral, ReferralAction, ReferralStatus,
};
use crate::validate;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

/// The largest payload a host accepts: a referral with its clinical summary
/// is a few kilobytes; attachments travel by reference.
pub const MAX_PAYLOAD: usize = 64 * 1024;

/// What is signed: a message about a referral, or the receipt of one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Record {
    Message(Box<Message>),
    Receipt(Receipt),
}

/// One step of a referral that crosses agencies.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Message {
    /// Unique among the sender's messages; a duplicate is the same message.
    pub id: String,
    /// The sending agency: the agency whose key signs it.
    pub from: String,
    /// The receiving agency.
    pub to: String,
    pub referral: ReferralRef,
    /// The message's place among the sender's messages about this referral,
    /// from 1: the receiver applies them in this order.
    pub seq: u32,
    pub sent_at: DateTime<Utc>,
    pub body: Body,
}

/// A referral as both agencies name it: the origin agency's number.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReferralRef {
    /// The agency where the referral began.
    pub agency: String,
    /// Its number at that agency.
    pub number: u32,
}

/// What a message says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Body {
    /// The referral itself, with its clinical summary.
    Referral {
        beneficiary: SharedBeneficiary,
        service: String,
        priority: Priority,
        /// The referring facility (of the sending agency).
        origin: String,
        /// The facility of the receiving agency it is referred to.
        destination: String,
        reason: ClinicalReason,
        attachments: Vec<Attachment>,
        /// The agreement under which the referral crosses.
        agreement: String,
        created_at: DateTime<Utc>,
    },
    /// A step taken on the referral: received, accepted, rejected, scheduled,
    /// redirected, escalated, cancelled, closed.
    Status {
        action: ReferralAction,
        /// The status the step leads to.
        status: ReferralStatus,
        /// The facility the referral goes to after a redirection or an
        /// escalation; the appointment's facility after scheduling.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        facility: Option<String>,
        /// The appointment's start, when the step schedules one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        appointment_at: Option<DateTime<Utc>>,
        note: String,
    },
    /// What the destination did, and what the origin should do next.
    CounterReferral { counter_referral: CounterReferral },
    /// The origin read the counter-referral: the loop is closed.
    Acknowledgement { note: String },
}

/// The beneficiary as the agreement lets them be known to the other agency:
/// the identifier always, the other fields only when the agreement names them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SharedBeneficiary {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub birth_date: Option<NaiveDate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sex: Option<Sex>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact: Option<String>,
}

/// The receiving agency's signed answer to a message: what it received
/// (the message's id and the digest of its exact bytes), when, and whether
/// it took it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Receipt {
    /// The receipted message's id: one receipt per message.
    pub message: String,
    /// The agency that received the message and signs the receipt.
    pub from: String,
    /// The message's sender.
    pub to: String,
    /// [`super::digest`] of the message's payload.
    pub digest: String,
    pub received_at: DateTime<Utc>,
    pub outcome: Outcome,
}

/// Whether the receiver took the message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "result", rename_all = "snake_case", deny_unknown_fields)]
pub enum Outcome {
    Accepted,
    /// Refused for good, with the receiver's stable code: resending the same
    /// bytes cannot succeed.
    Refused {
        code: String,
        message: String,
    },
}

impl Record {
    /// The canonical bytes that are signed (RFC 8785).
    pub fn to_payload(&self) -> Vec<u8> {
        // Serialising these types cannot fail: no maps with non-string keys,
        // no floats.
        super::canonical::to_vec(self).expect("a record holds strings and small integers only")
    }

    /// The record of received bytes: within [`MAX_PAYLOAD`], a record of
    /// this shape, well-formed, and in canonical form.
    pub fn from_payload(payload: &[u8]) -> Result<Record, ExchangeError> {
        if payload.len() > MAX_PAYLOAD {
            return Err(ExchangeError::PayloadTooLarge {
                size: payload.len(),
                max: MAX_PAYLOAD,
            });
        }
        let record: Record =
            serde_json::from_slice(payload).map_err(|e| ExchangeError::PayloadMalformed {
                reason: e.to_string(),
            })?;
        record.check()?;
        if record.to_payload() != payload {
            return Err(ExchangeError::PayloadNotCanonical);
        }
        Ok(record)
    }

    /// The canonical bytes of a record written in any JSON spelling (what a
    /// face that builds records in JSON hands to core before sealing).
    pub fn canonical_of_json(json: &str) -> Result<Vec<u8>, ExchangeError> {
        let record: Record =
            serde_json::from_str(json).map_err(|e| ExchangeError::PayloadMalformed {
                reason: e.to_string(),
            })?;
        record.check()?;
        let payload = record.to_payload();
        if payload.len() > MAX_PAYLOAD {
            return Err(ExchangeError::PayloadTooLarge {
                size: payload.len(),
                max: MAX_PAYLOAD,
            });
        }
        Ok(payload)
    }

    /// The agency that must have signed it.
    pub fn from(&self) -> &str {
        match self {
            Record::Message(m) => &m.from,
            Record::Receipt(r) => &r.from,
        }
    }

    /// The agency it is addressed to.
    pub fn to(&self) -> &str {
        match self {
            Record::Message(m) => &m.to,
            Record::Receipt(r) => &r.to,
        }
    }

    /// The shape rules of identifiers and texts, as the engine checks its own
    /// commands' (the same limits, so a record that passes here fits there).
    pub fn check(&self) -> Result<(), ExchangeError> {
        let shape = |r: crate::error::Result<()>| {
            r.map_err(|e| ExchangeError::PayloadMalformed {
                reason: e.to_string(),
            })
        };
        match self {
            Record::Message(m) => {
                shape(validate::code("id", &m.id))?;
                shape(validate::code("from", &m.from))?;
                shape(validate::code("to", &m.to))?;
                shape(validate::code("referral.agency", &m.referral.agency))?;
                if m.seq == 0 {
                    return Err(ExchangeError::PayloadMalformed {
                        reason: "seq: counts from 1".to_owned(),
                    });
                }
                match &m.body {
                    Body::Referral {
                        beneficiary,
                        service,
                        origin,
                        destination,
                        reason,
                        attachments,
                        agreement,
                        ..
                    } => {
                        shape(validate::code("body.beneficiary.id", &beneficiary.id))?;
                        if let Some(name) = &beneficiary.name {
                            shape(validate::text_opt("body.beneficiary.name", name, 200))?;
                        }
                        if let Some(contact) = &beneficiary.contact {
                            shape(validate::text_opt("body.beneficiary.contact", contact, 200))?;
                        }
                        shape(validate::code("body.service", service))?;
                        shape(validate::code("body.origin", origin))?;
                        shape(validate::code("body.destination", destination))?;
                        shape(validate::code("body.agreement", agreement))?;
                        for c in &reason.icd10 {
                            shape(validate::icd10("body.reason.icd10", c))?;
                        }
                        shape(validate::text_opt("body.reason.text", &reason.text, 4000))?;
                        if attachments.len() > 20 {
                            return Err(ExchangeError::PayloadMalformed {
                                reason: "body.attachments: at most 20".to_owned(),
                            });
                        }
                        for a in attachments {
                            shape(validate::code("body.attachments.id", &a.id))?;
                            shape(validate::text_opt("body.attachments.title", &a.title, 200))?;
                        }
                    }
                    Body::Status { facility, note, .. } => {
                        if let Some(f) = facility {
                            shape(validate::code("body.facility", f))?;
                        }
                        shape(validate::text_opt("body.note", note, 1000))?;
                    }
                    Body::CounterReferral { counter_referral } => {
                        let s = &counter_referral.summary;
                        for c in &s.diagnoses {
                            shape(validate::icd10(
                                "body.counter_referral.summary.diagnoses",
                                c,
                            ))?;
                        }
                        shape(validate::text_opt(
                            "body.counter_referral.summary.text",
                            &s.text,
                            4000,
                        ))?;
                        shape(validate::text_opt(
                            "body.counter_referral.instructions",
                            &counter_referral.instructions,
                            4000,
                        ))?;
                    }
                    Body::Acknowledgement { note } => {
                        shape(validate::text_opt("body.note", note, 1000))?;
                    }
                }
            }
            Record::Receipt(r) => {
                shape(validate::code("message", &r.message))?;
                shape(validate::code("from", &r.from))?;
                shape(validate::code("to", &r.to))?;
                if r.digest.len() != 43 {
                    return Err(ExchangeError::PayloadMalformed {
                        reason: "digest: a SHA-256 in base64url (43 characters)".to_owned(),
                    });
                }
                if let Outcome::Refused { code, message } = &r.outcome {
                    shape(validate::code("outcome.code", code))?;
                    shape(validate::text_opt("outcome.message", message, 1000))?;
                }
            }
        }
        Ok(())
    }
}
