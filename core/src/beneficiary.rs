//! Beneficiaries and their coverage by programme. Only what the workflow
//! needs is kept: identification, contact, and coverage periods.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

/// Sex as recorded for clinical purposes (FHIR administrative gender).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum Sex {
    Female,
    Male,
    Other,
    Unknown,
}

/// Coverage of a beneficiary by a programme of an agency, for a period.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct Coverage {
    /// Programme code, e.g. `imss-bienestar`.
    pub programme: String,
    /// The agency that runs the programme.
    pub agency: String,
    pub valid_from: NaiveDate,
    /// Inclusive; `None` means open-ended.
    #[serde(default)]
    #[cfg_attr(feature = "typescript", ts(optional = nullable))]
    pub valid_to: Option<NaiveDate>,
}

impl Coverage {
    /// True when the coverage is in force on `date`.
    pub fn valid_on(&self, date: NaiveDate) -> bool {
        self.valid_from <= date && self.valid_to.is_none_or(|end| date <= end)
    }
}

/// A person entitled to care.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct Beneficiary {
    /// A national identifier, unique in the network (e.g. `UY-12345678`).
    pub id: String,
    pub name: String,
    pub birth_date: NaiveDate,
    pub sex: Sex,
    #[serde(default)]
    #[cfg_attr(feature = "typescript", ts(optional = nullable))]
    pub contact: Option<String>,
    #[serde(default)]
    #[cfg_attr(feature = "typescript", ts(as = "Option<_>", optional))]
    pub coverage: Vec<Coverage>,
}

impl Beneficiary {
    /// The coverage entries in force on `date`.
    pub fn coverage_on(&self, date: NaiveDate) -> impl Iterator<Item = &Coverage> {
        self.coverage.iter().filter(move |c| c.valid_on(date))
    }
}
