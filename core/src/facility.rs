//! Facilities and the services they offer: the network's reference data.

use serde::{Deserialize, Serialize};

/// The level of care of a facility: first-level clinics refer to second- and
/// third-level hospitals.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS), ts(type = "1 | 2 | 3"))]
#[serde(try_from = "u8", into = "u8")]
pub enum Tier {
    First = 1,
    Second = 2,
    Third = 3,
}

impl Tier {
    /// The number of the tier (1, 2 or 3).
    pub fn number(self) -> u8 {
        self as u8
    }
}

impl TryFrom<u8> for Tier {
    type Error = String;
    fn try_from(v: u8) -> Result<Self, String> {
        match v {
            1 => Ok(Tier::First),
            2 => Ok(Tier::Second),
            3 => Ok(Tier::Third),
            _ => Err(format!("tier must be 1, 2 or 3, not {v}")),
        }
    }
}

/// 1, 2 or 3, as serde reads and writes it (`try_from = "u8"`).
#[cfg(feature = "schema")]
impl schemars::JsonSchema for Tier {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Tier".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({"type": "integer", "enum": [1, 2, 3]})
    }
}

impl From<Tier> for u8 {
    fn from(t: Tier) -> u8 {
        t as u8
    }
}

/// A clinical service (e.g. high-risk obstetrics) with its usual slot length.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Service {
    #[cfg_attr(feature = "schema", schemars(length(min = 1, max = 64), regex(pattern = crate::schema::CODE)))]
    pub code: String,
    #[cfg_attr(feature = "schema", schemars(length(max = 200), regex(pattern = crate::schema::TEXT)))]
    pub name: String,
    #[cfg_attr(feature = "schema", schemars(range(min = 5, max = 480)))]
    pub slot_minutes: u16,
}

/// A clinic or hospital of one agency.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Facility {
    #[cfg_attr(feature = "schema", schemars(length(min = 1, max = 64), regex(pattern = crate::schema::CODE)))]
    pub id: String,
    #[cfg_attr(feature = "schema", schemars(length(max = 200), regex(pattern = crate::schema::TEXT)))]
    pub name: String,
    #[cfg_attr(feature = "schema", schemars(length(min = 1, max = 64), regex(pattern = crate::schema::CODE)))]
    pub agency: String,
    pub tier: Tier,
    #[cfg_attr(feature = "schema", schemars(length(max = 100), regex(pattern = crate::schema::TEXT)))]
    pub region: String,
    /// IANA time zone name; every local time of the facility is read in it.
    #[cfg_attr(feature = "schema", schemars(schema_with = "crate::schema::time_zone"))]
    pub time_zone: String,
    /// Codes of the services offered.
    pub services: Vec<String>,
}

impl Facility {
    /// True when the facility offers `service`.
    pub fn offers(&self, service: &str) -> bool {
        self.services.iter().any(|s| s == service)
    }
}
