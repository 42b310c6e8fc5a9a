//! Inter-agency agreements: which agency's beneficiaries may be referred to
//! which agency's facilities, for which services and tiers, at whose cost.
//!
//! A referral inside one agency needs no agreement; across agencies it needs
//! one valid on the day, covering the service and the destination's tier, and
//! the beneficiary must hold coverage by one of the agreement's programmes.

use crate::facility::Tier;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

/// Who pays for care given under an agreement.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum CostBearer {
    /// The agency that refers pays the one that receives.
    ReferringAgency,
    /// The receiving agency absorbs the cost.
    ReceivingAgency,
    /// A named programme or fund pays.
    Programme,
}

/// An agreement between a referring and a receiving agency.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Agreement {
    #[cfg_attr(feature = "schema", schemars(length(min = 1, max = 64), regex(pattern = crate::schema::CODE)))]
    pub id: String,
    #[cfg_attr(feature = "schema", schemars(length(min = 1, max = 64), regex(pattern = crate::schema::CODE)))]
    pub referring_agency: String,
    #[cfg_attr(feature = "schema", schemars(length(min = 1, max = 64), regex(pattern = crate::schema::CODE)))]
    pub receiving_agency: String,
    /// Service codes covered; empty covers every service.
    #[serde(default)]
    #[cfg_attr(feature = "typescript", ts(as = "Option<_>", optional))]
    pub services: Vec<String>,
    /// Tiers of destination covered; empty covers every tier.
    #[serde(default)]
    #[cfg_attr(feature = "typescript", ts(as = "Option<_>", optional))]
    pub tiers: Vec<Tier>,
    pub valid_from: NaiveDate,
    #[serde(default)]
    #[cfg_attr(feature = "typescript", ts(optional = nullable))]
    pub valid_to: Option<NaiveDate>,
    pub cost_bearer: CostBearer,
    /// Coverage programmes whose beneficiaries qualify; empty: any coverage
    /// by the referring agency.
    #[serde(default)]
    #[cfg_attr(feature = "typescript", ts(as = "Option<_>", optional))]
    pub programmes: Vec<String>,
    /// Whether the beneficiary pays nothing for care under this agreement.
    #[serde(default)]
    #[cfg_attr(feature = "typescript", ts(as = "Option<_>", optional))]
    pub free_of_charge: bool,
}

impl Agreement {
    /// True when the agreement covers a referral of `service` to a facility
    /// of `tier` of `receiving`, from `referring`, on `date`.
    pub fn covers(
        &self,
        referring: &str,
        receiving: &str,
        service: &str,
        tier: Tier,
        date: NaiveDate,
    ) -> bool {
        self.referring_agency == referring
            && self.receiving_agency == receiving
            && (self.services.is_empty() || self.services.iter().any(|s| s == service))
            && (self.tiers.is_empty() || self.tiers.contains(&tier))
            && self.valid_from <= date
            && self.valid_to.is_none_or(|end| date <= end)
    }

    /// True when a beneficiary's coverage entry qualifies under this agreement.
    pub fn admits(&self, coverage: &crate::beneficiary::Coverage) -> bool {
        if self.programmes.is_empty() {
            coverage.agency == self.referring_agency
        } else {
            self.programmes.contains(&coverage.programme)
        }
    }
}
