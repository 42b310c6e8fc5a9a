//! The referral network several test files share: three clinics of
//! IMSS-Bienestar, two hospitals and a specialty hospital of IMSS in
//! Mexico City time, their agendas, the agreement between the agencies, a
//! few beneficiaries, and actor helpers. Included with `#[path]` by
//! `audit.rs`, `referral.rs`, `permissions.rs` and `props_referral.rs`; not
//! every file uses every item.
#![allow(dead_code)]

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, TimeZone, Utc, Weekday};
use enlace_core::agenda::{AgendaConfig, WeeklyBlock};
use enlace_core::agreement::{Agreement, CostBearer};
use enlace_core::beneficiary::{Beneficiary, Coverage, Sex};
use enlace_core::facility::{Facility, Service, Tier};
use enlace_core::{Actor, Command, Engine, Request, Role};

/// An instant given in Mexico City local time (UTC-6).
pub fn mx(day: &str, h: u32, m: u32) -> DateTime<Utc> {
    let d: NaiveDate = day.parse().unwrap();
    Utc.from_utc_datetime(&d.and_hms_opt(h, m, 0).unwrap()) + Duration::hours(6)
}

/// Monday 2 March 2026, 06:00 in Mexico City.
pub fn now() -> DateTime<Utc> {
    mx("2026-03-02", 6, 0)
}

pub fn date(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

/// The network's facilities: id, agency, tier, services.
pub const FACILITIES: &[(&str, &str, u8, &[&str])] = &[
    ("C1", "bienestar", 1, &["prenatal"]),
    ("C2", "bienestar", 1, &["prenatal"]),
    ("H2", "imss", 2, &["obs-hr"]),
    ("H2B", "imss", 2, &["obs-hr"]),
    ("T2", "imss", 2, &["cardio"]),
    ("HB2", "bienestar", 2, &["obs-hr"]),
    ("X2", "issste", 2, &["obs-hr"]),
    ("H3", "imss", 3, &["obs-hr"]),
    ("H3B", "imss", 3, &["obs-hr"]),
];

/// Agendas: id, facility, service, weekday hours (local), capacity, referral share.
pub type AgendaRow = (
    &'static str,
    &'static str,
    &'static str,
    (u32, u32),
    (u32, u32),
    u16,
    u8,
);
pub const AGENDAS: &[AgendaRow] = &[
    ("C1-pre", "C1", "prenatal", (8, 0), (12, 0), 2, 0),
    ("C2-pre", "C2", "prenatal", (8, 0), (12, 0), 2, 0),
    // Four half-hour places a day, two of them kept for referred patients.
    ("H2-obs", "H2", "obs-hr", (8, 0), (10, 0), 1, 50),
    // One place a day, kept for referred patients.
    ("H2B-obs", "H2B", "obs-hr", (7, 30), (8, 0), 1, 50),
    // Afternoons only: too late for an emergency referred at 06:00.
    ("HB2-obs", "HB2", "obs-hr", (13, 0), (15, 0), 1, 50),
    ("X2-obs", "X2", "obs-hr", (8, 0), (12, 0), 1, 50),
    ("H3-obs", "H3", "obs-hr", (8, 0), (12, 0), 1, 50),
    ("H3B-obs", "H3B", "obs-hr", (7, 0), (8, 0), 1, 50),
];

pub fn agency_of(facility: &str) -> &'static str {
    FACILITIES
        .iter()
        .find(|f| f.0 == facility)
        .unwrap_or_else(|| panic!("no facility {facility}"))
        .1
}

pub fn who(role: Role, facility: &str) -> Actor {
    Actor::new(
        &format!("{}.{facility}", role.as_str()),
        agency_of(facility),
        Some(facility),
        role,
    )
}
pub fn dr(f: &str) -> Actor {
    who(Role::Clinician, f)
}
pub fn coord(f: &str) -> Actor {
    who(Role::Coordinator, f)
}
pub fn clerk(f: &str) -> Actor {
    who(Role::Clerk, f)
}
pub fn admin() -> Actor {
    Actor::new("ana.admin", "salud", None, Role::Admin)
}
pub fn auditor() -> Actor {
    Actor::new("aud", "salud", None, Role::Auditor)
}

pub fn hm(h: u32, m: u32) -> NaiveTime {
    NaiveTime::from_hms_opt(h, m, 0).unwrap()
}

pub fn agenda_config(row: &AgendaRow) -> AgendaConfig {
    let &(id, facility, service, (h1, m1), (h2, m2), capacity, share) = row;
    AgendaConfig {
        id: id.into(),
        facility: facility.into(),
        service: service.into(),
        practitioner: None,
        rules: [
            Weekday::Mon,
            Weekday::Tue,
            Weekday::Wed,
            Weekday::Thu,
            Weekday::Fri,
        ]
        .into_iter()
        .map(|day| WeeklyBlock {
            day,
            start: hm(h1, m1),
            end: hm(h2, m2),
        })
        .collect(),
        valid_from: date("2026-03-01"),
        valid_to: Some(date("2026-12-31")),
        slot_minutes: None,
        capacity,
        overbooking: 0,
        horizon_days: 60,
        min_notice_minutes: 60,
        referral_share_percent: share,
    }
}

/// The Bienestar → IMSS agreement for high-risk obstetrics.
pub fn agreement() -> Agreement {
    Agreement {
        id: "A1".into(),
        referring_agency: "bienestar".into(),
        receiving_agency: "imss".into(),
        services: vec!["obs-hr".into()],
        tiers: vec![Tier::Second, Tier::Third],
        valid_from: date("2026-01-01"),
        valid_to: Some(date("2026-12-31")),
        cost_bearer: CostBearer::ReceivingAgency,
        programmes: vec!["imss-bienestar".into()],
        free_of_charge: true,
    }
}

pub fn cover(programme: &str, agency: &str, from: &str, to: Option<&str>) -> Coverage {
    Coverage {
        programme: programme.into(),
        agency: agency.into(),
        valid_from: date(from),
        valid_to: to.map(date),
    }
}

pub fn person(id: &str, coverage: Vec<Coverage>) -> Beneficiary {
    Beneficiary {
        id: id.into(),
        name: format!("Persona {id}"),
        birth_date: date("1995-04-11"),
        sex: Sex::Female,
        contact: None,
        coverage,
    }
}

/// MX-P1: IMSS-Bienestar, open-ended. MX-P2: a Bienestar programme the
/// agreement does not name. MX-P3: IMSS-Bienestar until 10 March.
/// MX-I1: ordinary IMSS affiliate. MX-N: no coverage.
pub fn beneficiaries() -> Vec<Beneficiary> {
    vec![
        person(
            "MX-P1",
            vec![cover("imss-bienestar", "bienestar", "2025-01-01", None)],
        ),
        person(
            "MX-P2",
            vec![cover("seguro-popular", "bienestar", "2025-01-01", None)],
        ),
        person(
            "MX-P3",
            vec![cover(
                "imss-bienestar",
                "bienestar",
                "2025-01-01",
                Some("2026-03-10"),
            )],
        ),
        person(
            "MX-I1",
            vec![cover("imss-ordinario", "imss", "2025-01-01", None)],
        ),
        person("MX-N", vec![]),
    ]
}

pub fn network() -> Engine {
    let mut e = Engine::new();
    let a = admin();
    for (code, minutes) in [("obs-hr", 30), ("prenatal", 20), ("cardio", 30)] {
        ok(
            &mut e,
            &a,
            Command::DefineService {
                service: Service {
                    code: code.into(),
                    name: format!("Service {code}"),
                    slot_minutes: minutes,
                },
            },
        );
    }
    for &(id, agency, tier, services) in FACILITIES {
        ok(
            &mut e,
            &a,
            Command::RegisterFacility {
                facility: Facility {
                    id: id.into(),
                    name: format!("Unidad {id}"),
                    agency: agency.into(),
                    tier: Tier::try_from(tier).unwrap(),
                    region: "oaxaca".into(),
                    time_zone: "America/Mexico_City".into(),
                    services: services.iter().map(|s| (*s).to_owned()).collect(),
                },
            },
        );
    }
    for row in AGENDAS {
        ok(
            &mut e,
            &a,
            Command::DefineAgenda {
                agenda: agenda_config(row),
            },
        );
    }
    ok(
        &mut e,
        &a,
        Command::DefineAgreement {
            agreement: agreement(),
        },
    );
    for b in beneficiaries() {
        ok(&mut e, &a, Command::RegisterBeneficiary { beneficiary: b });
    }
    e
}

/// Executes `command` at [`now`]; panics with the refusal, which a fixture
/// step never expects.
pub fn ok(e: &mut Engine, actor: &Actor, command: Command) -> enlace_core::Outcome {
    ok_at(e, actor, now(), command)
}

/// Executes `command` at `at` without an idempotency key; panics with the
/// refusal.
pub fn ok_at(
    e: &mut Engine,
    actor: &Actor,
    at: DateTime<Utc>,
    command: Command,
) -> enlace_core::Outcome {
    let name = command.name();
    e.execute(Request {
        actor: actor.clone(),
        at,
        key: None,
        command,
    })
    .unwrap_or_else(|err| panic!("{name} by {} refused: {err}", actor.user))
}
