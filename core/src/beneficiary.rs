//! Beneficiaries and their coverage by programme. Only what the workflow
//! needs is kept: identification, contact, and coverage periods.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

/// Sex as recorded for clinical purposes (FHIR administrative gender).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
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
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Coverage {
    /// Programme code, e.g. `imss-bienestar`.
    #[cfg_attr(feature = "schema", schemars(length(min = 1, max = 64), regex(pattern = crate::schema::CODE)))]
    pub programme: String,
    /// The agency that runs the programme.
    #[cfg_attr(feature = "schema", schemars(length(min = 1, max = 64), regex(pattern = crate::schema::CODE)))]
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
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Beneficiary {
    /// A national identifier, unique in the network (e.g. `UY-12345678`).
    #[cfg_attr(feature = "schema", schemars(length(min = 1, max = 64), regex(pattern = crate::schema::CODE)))]
    pub id: String,
    #[cfg_attr(feature = "schema", schemars(length(max = 200), regex(pattern = crate::schema::TEXT)))]
    pub name: String,
    pub birth_date: NaiveDate,
    pub sex: Sex,
    #[serde(default)]
    #[cfg_attr(feature = "typescript", ts(optional = nullable))]
    #[cfg_attr(feature = "schema", schemars(length(max = 200), regex(pattern = crate::schema::TEXT_OPT)))]
    pub contact: Option<String>,
    #[serde(default)]
    #[cfg_attr(feature = "typescript", ts(as = "Option<_>", optional))]
    #[cfg_attr(feature = "schema", schemars(length(max = 32)))]
    pub coverage: Vec<Coverage>,
}

impl Beneficiary {
    /// The coverage entries in force on `date`.
    pub fn coverage_on(&self, date: NaiveDate) -> impl Iterator<Item = &Coverage> {
        self.coverage.iter().filter(move |c| c.valid_on(date))
    }
}

/// Folds text for searching beneficiaries: ASCII and Latin-1 letters lose
/// case and accents (`"José Peña"` → `"jose pena"`), so a clerk finds a
/// person however the name was typed. Other characters are kept as they
/// are: a small table for the Latin script of the Americas rather than the
/// full Unicode case tables, which would cost the browser package about
/// 5 KB of its download.
pub(crate) fn search_fold(s: &str) -> String {
    // U+00C0 to U+00FF, lowercased and without accents.
    const LATIN1: [char; 64] = [
        'a', 'a', 'a', 'a', 'a', 'a', 'æ', 'c', 'e', 'e', 'e', 'e', 'i', 'i', 'i', 'i', //
        'ð', 'n', 'o', 'o', 'o', 'o', 'o', '×', 'o', 'u', 'u', 'u', 'u', 'y', 'þ', 'ß', //
        'a', 'a', 'a', 'a', 'a', 'a', 'æ', 'c', 'e', 'e', 'e', 'e', 'i', 'i', 'i', 'i', //
        'ð', 'n', 'o', 'o', 'o', 'o', 'o', '÷', 'o', 'u', 'u', 'u', 'u', 'y', 'þ', 'y', //
    ];
    s.chars()
        .map(|c| match c {
            'A'..='Z' => c.to_ascii_lowercase(),
            '\u{c0}'..='\u{ff}' => LATIN1[c as usize - 0xc0],
            _ => c,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::search_fold;

    #[test]
    fn search_folds_case_and_accents_of_latin_names() {
        assert_eq!(search_fold("José Peña"), "jose pena");
        assert_eq!(search_fold("JOÃO CONCEIÇÃO"), "joao conceicao");
        assert_eq!(search_fold("Ñandutí Ÿ"), "nanduti Ÿ");
        assert_eq!(search_fold("MX-10000001"), "mx-10000001");
        assert_eq!(search_fold("Straße × ÷"), "straße × ÷");
    }
}
