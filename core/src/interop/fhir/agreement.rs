//! Inter-agency agreements as Contracts.

use super::datatypes::{ext, identifier, reference_shown};
use super::ids::{contract_id, organization_id};
use crate::agreement::{Agreement, CostBearer};
use crate::interop::build::fhir;
use crate::interop::{SYSTEM_AGREEMENT, SYSTEM_ENLACE, SYSTEM_SERVICE, date};
use serde_json::Value;

fn cost_bearer_code(c: &CostBearer) -> (&'static str, &'static str) {
    match c {
        CostBearer::ReferringAgency => ("referring-agency", "The referring agency pays"),
        CostBearer::ReceivingAgency => {
            ("receiving-agency", "The receiving agency absorbs the cost")
        }
        CostBearer::Programme => ("programme", "A programme or fund pays"),
    }
}

/// An inter-agency agreement as a Contract between the two agencies (see the
/// module documentation for why Contract and not Coverage).
pub fn contract(a: &Agreement, today: chrono::NaiveDate) -> Value {
    let status = if a.valid_to.is_some_and(|end| end < today) {
        "terminated"
    } else if a.valid_from > today {
        "executable"
    } else {
        "executed"
    };
    let (cost_code, cost_text) = cost_bearer_code(&a.cost_bearer);
    let mut applies = fhir!({"start": date(a.valid_from)});
    if let Some(end) = a.valid_to {
        applies["end"] = fhir!(date(end));
    }
    let services = if a.services.is_empty() {
        "every service".to_owned()
    } else {
        a.services.join(", ")
    };
    let tiers = if a.tiers.is_empty() {
        "every tier".to_owned()
    } else {
        a.tiers
            .iter()
            .map(|t| t.number().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let programmes = if a.programmes.is_empty() {
        format!("any coverage by {}", a.referring_agency)
    } else {
        a.programmes.join(", ")
    };
    let text = format!(
        "{} may refer beneficiaries ({programmes}) to facilities of {} for {services}, tiers {tiers}. {cost_text}{}.",
        a.referring_agency,
        a.receiving_agency,
        if a.free_of_charge {
            "; free of charge for the beneficiary"
        } else {
            ""
        },
    );
    let party = |agency: &str, role: &str| {
        fhir!({
            "reference": [reference_shown("Organization", &organization_id(agency), agency)],
            "role": {"coding": [{"system": SYSTEM_ENLACE, "code": role}]},
        })
    };
    let mut extensions = vec![
        ext("cost-bearer", "valueCode", fhir!(cost_code)),
        ext("free-of-charge", "valueBoolean", fhir!(a.free_of_charge)),
    ];
    extensions.extend(
        a.tiers
            .iter()
            .map(|t| ext("tier", "valueCode", fhir!(t.number().to_string()))),
    );
    extensions.extend(
        a.programmes
            .iter()
            .map(|p| ext("programme", "valueString", fhir!(p))),
    );
    let mut asset = fhir!({"text": format!("Services: {services}; destination tiers: {tiers}")});
    if !a.services.is_empty() {
        asset["type"] = Value::Array(
            a.services
                .iter()
                .map(|s| fhir!({"coding": [{"system": SYSTEM_SERVICE, "code": s}]}))
                .collect(),
        );
    }
    fhir!({
        "resourceType": "Contract",
        "id": contract_id(&a.id),
        "extension": extensions,
        "identifier": [identifier(SYSTEM_AGREEMENT, &a.id)],
        "status": status,
        "applies": applies,
        "name": &a.id,
        "title": format!("Referral agreement {}: {} → {}", a.id, a.referring_agency, a.receiving_agency),
        "authority": [
            reference_shown("Organization", &organization_id(&a.referring_agency), &a.referring_agency),
            reference_shown("Organization", &organization_id(&a.receiving_agency), &a.receiving_agency),
        ],
        "type": {"coding": [{"system": SYSTEM_ENLACE, "code": "inter-agency-referral-agreement", "display": "Inter-agency referral agreement"}]},
        "term": [{
            "text": &text,
            "offer": {
                "party": [party(&a.referring_agency, "referring-agency"), party(&a.receiving_agency, "receiving-agency")],
                "text": &text,
            },
            "asset": [asset],
        }],
    })
}
