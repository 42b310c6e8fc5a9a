//! A deterministic synthetic network: the same seed gives the same network,
//! so the demo, the tests and the benchmarks share one generator.
//!
//! The generator is pure like the rest of core: a seeded SplitMix64, no
//! clock, no system randomness.

use crate::actor::{Actor, Role};
use crate::agenda::{AgendaConfig, WeeklyBlock};
use crate::agreement::{Agreement, CostBearer};
use crate::beneficiary::{Beneficiary, Coverage, Sex};
use crate::command::{Command, Request};
use crate::facility::{Facility, Service, Tier};
use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, Timelike, Utc, Weekday};

/// SplitMix64: tiny, fast, and good enough to spread synthetic data.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }
}

/// The shape of a synthetic network.
#[derive(Debug, Clone)]
pub struct Spec {
    pub seed: u64,
    pub tier1: u32,
    pub tier2: u32,
    pub tier3: u32,
    pub agendas_per_facility: u32,
    pub beneficiaries: u32,
    pub horizon_days: u16,
    pub slot_minutes: u16,
    /// The instant the network is set up at; bookings start the next day.
    pub start: DateTime<Utc>,
}

impl Spec {
    /// A small network for the demo and scenario tests.
    pub fn demo() -> Self {
        Spec {
            seed: 7,
            tier1: 3,
            tier2: 2,
            tier3: 1,
            agendas_per_facility: 3,
            beneficiaries: 40,
            horizon_days: 120,
            slot_minutes: 15,
            start: DateTime::parse_from_rfc3339("2026-03-02T12:00:00Z")
                .map(|t| t.with_timezone(&Utc))
                .unwrap_or_default(),
        }
    }

    /// The regional network of the benchmarks: 500 facilities (450 tier-1,
    /// 45 tier-2, 5 tier-3), 5,000 agendas, a 120-day horizon, 15-minute slots.
    pub fn regional() -> Self {
        Spec {
            seed: 42,
            tier1: 450,
            tier2: 45,
            tier3: 5,
            agendas_per_facility: 10,
            beneficiaries: 200_000,
            ..Spec::demo()
        }
    }
}

/// Agencies of the synthetic network: first-level clinics belong to one,
/// hospitals to another, and an agreement joins them (as IMSS-Bienestar and IMSS).
pub const CLINIC_AGENCY: &str = "imss-bienestar";
pub const HOSPITAL_AGENCY: &str = "imss";
/// The coverage programme of every synthetic beneficiary.
pub const PROGRAMME: &str = "bienestar-salud";
/// A prenatal-care programme some beneficiaries are also enrolled in.
pub const PRENATAL_PROGRAMME: &str = "prospera-prenatal";

/// Service codes: (code, name, tiers that offer it).
pub const SERVICES: [(&str, &str, u8); 8] = [
    ("gp", "General practice", 1),
    ("prenatal", "Prenatal care", 1),
    ("peds", "Paediatrics", 1),
    ("obs-hr", "High-risk obstetrics", 2),
    ("cardio", "Cardiology", 2),
    ("imaging", "Obstetric ultrasound", 2),
    ("neonatal-icu", "Neonatal intensive care", 3),
    ("maternal-fetal", "Maternal-fetal medicine", 3),
];

/// Regions and their IANA time zones: zones with and without DST.
pub const REGIONS: [(&str, &str); 5] = [
    ("centro", "America/Mexico_City"),
    ("sur", "America/Santiago"),
    ("este", "America/Montevideo"),
    ("chaco", "America/Asuncion"),
    ("litoral", "America/Sao_Paulo"),
];

/// The network administrator that sets the network up.
pub fn admin() -> Actor {
    Actor::new("admin", "health-ministry", None, Role::Admin)
}

/// The facility id of the `i`-th facility (0-based).
pub fn facility_id(i: u32) -> String {
    format!("F{:04}", i + 1)
}

/// The beneficiary id of the `i`-th beneficiary (0-based).
pub fn beneficiary_id(i: u32) -> String {
    format!("MX-{:08}", 10_000_000 + i)
}

/// Tier of the `i`-th facility.
pub fn tier_of(spec: &Spec, i: u32) -> Tier {
    if i < spec.tier1 {
        Tier::First
    } else if i < spec.tier1 + spec.tier2 {
        Tier::Second
    } else {
        Tier::Third
    }
}

/// Services given an agenda, in order, per tier.
fn agenda_services(tier: Tier) -> &'static [&'static str] {
    match tier {
        Tier::First => &["prenatal", "gp", "peds"],
        Tier::Second => &["obs-hr", "imaging", "cardio", "prenatal", "gp", "peds"],
        Tier::Third => &[
            "obs-hr",
            "maternal-fetal",
            "neonatal-icu",
            "imaging",
            "cardio",
            "prenatal",
            "gp",
            "peds",
        ],
    }
}

fn services_for(tier: Tier) -> Vec<String> {
    SERVICES
        .iter()
        .filter(|(_, _, t)| *t <= tier.number())
        .map(|(c, _, _)| (*c).to_owned())
        .collect()
}

/// The reference data of the network, as requests to execute in order.
/// Kept whole as a table: one arm per case, so every case reads in one place (issue 14).
pub fn reference(spec: &Spec) -> Vec<Request> {
    let admin = admin();
    let at = spec.start;
    let req = |command| Request {
        actor: admin.clone(),
        at,
        key: None,
        command,
    };
    let mut out = vec![req(Command::ConfigureNetwork {
        name: "Red regional sintética".into(),
        targets: Vec::new(),
    })];
    for (code, name, _) in SERVICES {
        out.push(req(Command::DefineService {
            service: Service {
                code: code.into(),
                name: name.into(),
                slot_minutes: spec.slot_minutes,
            },
        }));
    }
    let total = spec.tier1 + spec.tier2 + spec.tier3;
    let weekdays = [
        Weekday::Mon,
        Weekday::Tue,
        Weekday::Wed,
        Weekday::Thu,
        Weekday::Fri,
    ];
    let t = |h, m| NaiveTime::from_hms_opt(h, m, 0).unwrap_or(NaiveTime::MIN);
    for i in 0..total {
        let tier = tier_of(spec, i);
        let (region, tz) = REGIONS[(i as usize) % REGIONS.len()];
        let services = services_for(tier);
        let id = facility_id(i);
        out.push(req(Command::RegisterFacility {
            facility: Facility {
                id: id.clone(),
                name: match tier {
                    Tier::First => format!("Unidad de Medicina Rural {}", i + 1),
                    Tier::Second => format!("Hospital General de Zona {}", i + 1),
                    Tier::Third => format!("Hospital de Alta Especialidad {}", i + 1),
                },
                agency: if tier == Tier::First {
                    CLINIC_AGENCY
                } else {
                    HOSPITAL_AGENCY
                }
                .into(),
                tier,
                region: region.into(),
                time_zone: tz.into(),
                services: services.clone(),
            },
        }));
        // Agendas cycle through the tier's own specialities first, so
        // hospitals always have high-risk obstetrics agendas for referrals.
        let own = agenda_services(tier);
        for k in 0..spec.agendas_per_facility {
            let service = own[k as usize % own.len()].to_owned();
            let rules = weekdays
                .iter()
                .flat_map(|&day| {
                    [
                        WeeklyBlock {
                            day,
                            start: t(8, 0),
                            end: t(12, 0),
                        },
                        WeeklyBlock {
                            day,
                            start: t(13, 0),
                            end: t(17, 0),
                        },
                    ]
                })
                .collect();
            out.push(req(Command::DefineAgenda {
                agenda: AgendaConfig {
                    id: format!("{id}-A{:02}", k + 1),
                    facility: id.clone(),
                    service,
                    practitioner: Some(format!("Dra. {}", k + 1)),
                    rules,
                    valid_from: at.date_naive(),
                    valid_to: None,
                    slot_minutes: None,
                    capacity: 1,
                    overbooking: 1,
                    horizon_days: spec.horizon_days,
                    min_notice_minutes: 60,
                    referral_share_percent: if tier == Tier::First { 0 } else { 25 },
                },
            }));
        }
    }
    out.push(req(Command::DefineAgreement {
        agreement: Agreement {
            id: "convenio-126".into(),
            referring_agency: CLINIC_AGENCY.into(),
            receiving_agency: HOSPITAL_AGENCY.into(),
            services: Vec::new(),
            tiers: vec![Tier::Second, Tier::Third],
            valid_from: at.date_naive() - Duration::days(365),
            valid_to: None,
            cost_bearer: CostBearer::ReferringAgency,
            programmes: vec![PROGRAMME.into()],
            free_of_charge: true,
        },
    }));
    let clerk = Actor::new(
        "registro",
        CLINIC_AGENCY,
        Some(&facility_id(0)),
        Role::Clerk,
    );
    let mut rng = Rng::new(spec.seed);
    for i in 0..spec.beneficiaries {
        out.push(Request {
            actor: clerk.clone(),
            at,
            key: None,
            command: Command::RegisterBeneficiary {
                beneficiary: beneficiary(i, &mut rng, at.date_naive()),
            },
        });
    }
    out
}

const GIVEN: [&str; 12] = [
    "María",
    "Guadalupe",
    "Juana",
    "Rosa",
    "Ana",
    "Lucía",
    "Carmen",
    "Sofía",
    "Valeria",
    "Fernanda",
    "Ximena",
    "Itzel",
];
const FAMILY: [&str; 12] = [
    "Hernández",
    "García",
    "Martínez",
    "López",
    "González",
    "Pérez",
    "Rodríguez",
    "Sánchez",
    "Ramírez",
    "Cruz",
    "Flores",
    "Gómez",
];

fn beneficiary(i: u32, rng: &mut Rng, today: NaiveDate) -> Beneficiary {
    let name = format!(
        "{} {} {}",
        GIVEN[rng.below(12) as usize],
        FAMILY[rng.below(12) as usize],
        FAMILY[rng.below(12) as usize]
    );
    let age_days = 16 * 365 + rng.below(25 * 365) as i64;
    let mut coverage = vec![Coverage {
        programme: PROGRAMME.into(),
        agency: CLINIC_AGENCY.into(),
        valid_from: today - Duration::days(730),
        valid_to: None,
    }];
    if i.is_multiple_of(3) {
        coverage.push(Coverage {
            programme: PRENATAL_PROGRAMME.into(),
            agency: CLINIC_AGENCY.into(),
            valid_from: today - Duration::days(30),
            valid_to: Some(today + Duration::days(240)),
        });
    }
    Beneficiary {
        id: beneficiary_id(i),
        name,
        birth_date: today - Duration::days(age_days),
        sex: Sex::Female,
        contact: Some(format!(
            "+52 55 {:04} {:04}",
            rng.below(10_000),
            rng.below(10_000)
        )),
        coverage,
    }
}

/// A booking request for a pseudo-random weekday slot of a pseudo-random
/// first-level agenda. It may be refused (slot taken, DST gap): callers
/// retry with the next one.
pub fn booking(spec: &Spec, rng: &mut Rng) -> Request {
    let facility = rng.below(u64::from(spec.tier1)) as u32;
    let agenda = rng.below(u64::from(spec.agendas_per_facility)) as u32;
    let (_, tz) = REGIONS[(facility as usize) % REGIONS.len()];
    let tz: chrono_tz::Tz = tz.parse().unwrap_or(chrono_tz::UTC);
    let first_day = spec.start.date_naive() + Duration::days(1);
    let mut date = first_day + Duration::days(rng.below(u64::from(spec.horizon_days) - 2) as i64);
    while date.weekday().number_from_monday() > 5 {
        date += Duration::days(1);
    }
    let slots_per_block = 240 / u32::from(spec.slot_minutes);
    let k = rng.below(u64::from(slots_per_block * 2)) as u32;
    let minute = if k < slots_per_block {
        8 * 60 + k * u32::from(spec.slot_minutes)
    } else {
        13 * 60 + (k - slots_per_block) * u32::from(spec.slot_minutes)
    };
    let local = date
        .and_hms_opt(minute / 60, minute % 60, 0)
        .unwrap_or_default();
    use chrono::TimeZone;
    let start = tz
        .from_local_datetime(&local)
        .earliest()
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or(spec.start);
    let fid = facility_id(facility);
    Request {
        actor: Actor::new("registro", CLINIC_AGENCY, Some(&fid), Role::Clerk),
        at: spec.start,
        key: None,
        command: Command::BookAppointment {
            agenda: format!("{fid}-A{:02}", agenda + 1),
            start: start.with_second(0).unwrap_or(start),
            beneficiary: beneficiary_id(rng.below(u64::from(spec.beneficiaries)) as u32),
            follow_up_of: None,
            overbook: false,
        },
    }
}

/// Demo identities: one per role and facility kind, so a visitor can play
/// the whole referral loop.
pub fn demo_actors(spec: &Spec) -> Vec<(String, Actor)> {
    let clinic = facility_id(0);
    let hospital = facility_id(spec.tier1);
    let high = facility_id(spec.tier1 + spec.tier2);
    vec![
        (
            "clinic-clerk".into(),
            Actor::new("rosa.clerk", CLINIC_AGENCY, Some(&clinic), Role::Clerk),
        ),
        (
            "clinic-clinician".into(),
            Actor::new("dra.lucia", CLINIC_AGENCY, Some(&clinic), Role::Clinician),
        ),
        (
            "hospital-coordinator".into(),
            Actor::new(
                "coord.jorge",
                HOSPITAL_AGENCY,
                Some(&hospital),
                Role::Coordinator,
            ),
        ),
        (
            "hospital-clinician".into(),
            Actor::new(
                "dr.mateo",
                HOSPITAL_AGENCY,
                Some(&hospital),
                Role::Clinician,
            ),
        ),
        (
            "hospital-clerk".into(),
            Actor::new("ines.clerk", HOSPITAL_AGENCY, Some(&hospital), Role::Clerk),
        ),
        (
            "specialty-coordinator".into(),
            Actor::new(
                "coord.elena",
                HOSPITAL_AGENCY,
                Some(&high),
                Role::Coordinator,
            ),
        ),
        (
            "auditor".into(),
            Actor::new("auditoria", "health-ministry", None, Role::Auditor),
        ),
        ("admin".into(), admin()),
    ]
}
