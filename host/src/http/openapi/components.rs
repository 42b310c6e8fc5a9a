//! `components/schemas` of the OpenAPI document: JSON Schemas (2020-12, as
//! OpenAPI 3.1 takes them) derived with schemars from the very types the
//! server parses and writes (`enlace_core`'s `schema` feature), so the
//! document cannot disagree with serde.
//!
//! Requests and answers are generated apart: what a request may leave out
//! (`#[serde(default)]`) is not what an answer may leave out
//! (`skip_serializing_if`). A type whose two schemas differ is published
//! twice: `Name` as answers carry it, `NameInput` as requests take it.
//!
//! Two bounds are the host's own and are added here from its constants:
//! dates and instants between [`EARLIEST_YEAR`] and [`LATEST_YEAR`]
//! (core's `YEARS`, which the engine checks), as exact regular expressions beside the formats.

use crate::http::{EARLIEST_YEAR, LATEST_YEAR};
use enlace_core::{Actor, Answer, Command, ErrorBody, Event, Outcome, Query};
use schemars::generate::{Contract, SchemaGenerator, SchemaSettings};
use serde_json::{Map, Value, json};
use std::collections::BTreeSet;

const PREFIX: &str = "#/components/schemas/";

/// Every named schema of the document, references resolved within it.
pub fn schemas() -> Map<String, Value> {
    let requests = generate(Contract::Deserialize, |g| {
        g.subschema_for::<Command>();
        g.subschema_for::<Query>();
    });
    let answers = generate(Contract::Serialize, |g| {
        g.subschema_for::<Answer>();
        g.subschema_for::<Outcome>();
        g.subschema_for::<Event>();
        g.subschema_for::<ErrorBody>();
        g.subschema_for::<Actor>();
    });
    let mut out = merge(requests, answers);
    for schema in out.values_mut() {
        bound_dates(schema);
        bound_integers(schema);
        engine_required(schema);
    }
    out
}

fn generate(contract: Contract, roots: impl FnOnce(&mut SchemaGenerator)) -> Map<String, Value> {
    let mut settings = SchemaSettings::draft2020_12();
    settings.definitions_path = "/components/schemas".into();
    settings.meta_schema = None;
    settings.contract = contract;
    let mut g = settings.into_generator();
    roots(&mut g);
    g.take_definitions(true)
}

/// The names a schema refers to.
fn refs(v: &Value, out: &mut BTreeSet<String>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                match (k.as_str(), x) {
                    ("$ref", Value::String(r)) => {
                        if let Some(name) = r.strip_prefix(PREFIX) {
                            out.insert(name.to_owned());
                        }
                    }
                    _ => refs(x, out),
                }
            }
        }
        Value::Array(a) => a.iter().for_each(|x| refs(x, out)),
        _ => {}
    }
}

/// Renames references per `rename`.
fn rename_refs(v: &mut Value, rename: &dyn Fn(&str) -> Option<String>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m.iter_mut() {
                if k == "$ref"
                    && let Value::String(r) = x
                    && let Some(new) = r.strip_prefix(PREFIX).and_then(rename)
                {
                    *r = format!("{PREFIX}{new}");
                } else {
                    rename_refs(x, rename);
                }
            }
        }
        Value::Array(a) => a.iter_mut().for_each(|x| rename_refs(x, rename)),
        _ => {}
    }
}

/// The name a request type gets when its request schema differs from its
/// answer schema.
pub fn input_name(name: &str) -> String {
    format!("{name}Input")
}

/// One set of schemas from both: a name whose two schemas differ (itself
/// or through a schema it refers to) keeps the answer's under its name and
/// the request's as [`input_name`].
fn merge(requests: Map<String, Value>, answers: Map<String, Value>) -> Map<String, Value> {
    let mut differ: BTreeSet<String> = requests
        .iter()
        .filter(|(n, s)| answers.get(*n) != Some(*s))
        .filter(|(n, _)| answers.contains_key(*n))
        .map(|(n, _)| n.clone())
        .collect();
    loop {
        let more: Vec<String> = requests
            .iter()
            .filter(|(n, _)| answers.contains_key(*n) && !differ.contains(*n))
            .filter(|(_, s)| {
                let mut r = BTreeSet::new();
                refs(s, &mut r);
                r.iter().any(|x| differ.contains(x))
            })
            .map(|(n, _)| n.clone())
            .collect();
        if more.is_empty() {
            break;
        }
        differ.extend(more);
    }
    let mut out = answers;
    for (name, mut schema) in requests {
        rename_refs(&mut schema, &|n| differ.contains(n).then(|| input_name(n)));
        if differ.contains(&name) {
            out.insert(input_name(&name), schema);
        } else {
            out.entry(name).or_insert(schema);
        }
    }
    out
}

/// `(?:…)` of the decimal numbers `lo..=hi`, both of the same number of
/// digits (the usual split into runs that share a prefix).
pub(super) fn range_regex(lo: &str, hi: &str) -> String {
    fn go(lo: &[u8], hi: &[u8]) -> String {
        let (Some((&a, lo_rest)), Some((&b, hi_rest))) = (lo.split_first(), hi.split_first())
        else {
            return String::new();
        };
        if a == b {
            return format!("{}{}", a as char, go(lo_rest, hi_rest));
        }
        let n = lo_rest.len();
        let (zeros, nines) = (vec![b'0'; n], vec![b'9'; n]);
        let mut alts = Vec::new();
        let mut first = a;
        if lo_rest != zeros.as_slice() {
            alts.push(format!("{}{}", a as char, go(lo_rest, &nines)));
            first = a + 1;
        }
        let last = if hi_rest == nines.as_slice() {
            b
        } else {
            b - 1
        };
        if first <= last {
            alts.push(format!(
                "[{}-{}]{}",
                first as char,
                last as char,
                "[0-9]".repeat(n)
            ));
        }
        if hi_rest != nines.as_slice() {
            alts.push(format!("{}{}", b as char, go(&zeros, hi_rest)));
        }
        format!("(?:{})", alts.join("|"))
    }
    go(lo.as_bytes(), hi.as_bytes())
}

/// A decimal `u32` as `str::parse` reads it (an optional `+`, leading
/// zeros); with `positive`, not zero.
pub fn u32_text(positive: bool) -> String {
    let small = if positive {
        "[1-9][0-9]{0,8}"
    } else {
        "[0-9]{1,9}"
    };
    format!(
        "\\+?0*(?:{small}|{})",
        range_regex("1000000000", &u32::MAX.to_string())
    )
}

/// The years the API accepts, as a regular expression.
fn years() -> String {
    range_regex(&format!("{EARLIEST_YEAR:04}"), &format!("{LATEST_YEAR:04}"))
}

/// A `YYYY-MM-DD` calendar date in the accepted years, exactly (February
/// 29th only in leap years), unanchored.
fn date_body() -> String {
    let leap: Vec<String> = (EARLIEST_YEAR..=LATEST_YEAR)
        .filter(|y| y % 4 == 0 && (y % 100 != 0 || y % 400 == 0))
        .map(|y| format!("{y:04}"))
        .collect();
    format!(
        "(?:{}-(?:(?:0[13578]|1[02])-(?:0[1-9]|[12][0-9]|3[01])|(?:0[469]|11)-(?:0[1-9]|[12][0-9]|30)|02-(?:0[1-9]|1[0-9]|2[0-8]))|(?:{})-02-29)",
        years(),
        leap.join("|")
    )
}

/// A date the API accepts (core's `YEARS`), anchored.
pub fn date_pattern() -> String {
    format!("^{}$", date_body())
}

/// An RFC 3339 instant whose (local) date is one the API accepts: exact,
/// so that what the pattern admits the `date-time` format admits too.
pub fn instant_pattern() -> String {
    format!(
        "^{}[Tt](?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:\\.[0-9]{{1,9}})?(?:[Zz]|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])$",
        date_body()
    )
}

/// Adds the year bounds to every `date` and `date-time` string schema.
pub fn bound_dates(v: &mut Value) {
    match v {
        Value::Object(m) => {
            let pattern = match m.get("format").and_then(Value::as_str) {
                Some("date") => Some(date_pattern()),
                Some("date-time") => Some(instant_pattern()),
                _ => None,
            };
            if let Some(p) = pattern {
                m.insert("pattern".into(), json!(p));
            }
            m.values_mut().for_each(bound_dates);
        }
        Value::Array(a) => a.iter_mut().for_each(bound_dates),
        _ => {}
    }
}

/// The marker of a field serde may miss (`#[serde(default)]`) but the
/// engine refuses empty (`extend("x-engine-required" = true)` in core).
pub const ENGINE_REQUIRED: &str = "x-engine-required";

/// Lists the fields marked [`ENGINE_REQUIRED`] in their object's
/// `required` (the marker stays, for `POST /v1/batch`, which checks only
/// what serde checks before deciding).
pub fn engine_required(v: &mut Value) {
    match v {
        Value::Object(m) => {
            let marked: Vec<String> = m
                .get("properties")
                .and_then(Value::as_object)
                .map(|props| {
                    props
                        .iter()
                        .filter(|(_, p)| p.get(ENGINE_REQUIRED) == Some(&Value::Bool(true)))
                        .map(|(k, _)| k.clone())
                        .collect()
                })
                .unwrap_or_default();
            if !marked.is_empty() {
                let req = m.entry("required").or_insert_with(|| json!([]));
                if let Some(req) = req.as_array_mut() {
                    for k in marked {
                        if !req.contains(&json!(k)) {
                            req.push(json!(k));
                        }
                    }
                }
            }
            m.values_mut().for_each(engine_required);
        }
        Value::Array(a) => a.iter_mut().for_each(engine_required),
        _ => {}
    }
}

/// The range of each integer `format` schemars writes: a `u32` id is
/// `0..=4294967295`, not any integer (schemars gives `maximum` only up to
/// 16 bits).
pub fn bound_integers(v: &mut Value) {
    match v {
        Value::Object(m) => {
            let range: Option<(Value, Value)> = match m.get("format").and_then(Value::as_str) {
                Some("uint8") => Some((json!(0), json!(u8::MAX))),
                Some("uint16") => Some((json!(0), json!(u16::MAX))),
                Some("uint32") => Some((json!(0), json!(u32::MAX))),
                Some("uint64") => Some((json!(0), json!(u64::MAX))),
                Some("int32") => Some((json!(i32::MIN), json!(i32::MAX))),
                Some("int64") => Some((json!(i64::MIN), json!(i64::MAX))),
                _ => None,
            };
            if let Some((lo, hi)) = range {
                m.entry("minimum").or_insert(lo);
                m.entry("maximum").or_insert(hi);
            }
            m.values_mut().for_each(bound_integers);
        }
        Value::Array(a) => a.iter_mut().for_each(bound_integers),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{DateTime, Datelike, NaiveDate};

    #[test]
    fn year_ranges_are_exact() {
        for (lo, hi) in [
            ("1900", "2200"),
            ("0000", "9999"),
            ("1234", "1299"),
            ("05", "91"),
        ] {
            let r = regex::Regex::new(&format!("^{}$", range_regex(lo, hi))).unwrap();
            let (l, h): (u32, u32) = (lo.parse().unwrap(), hi.parse().unwrap());
            let width = lo.len();
            for n in 0..10u32.pow(width as u32) {
                let s = format!("{n:0width$}");
                assert_eq!(r.is_match(&s), (l..=h).contains(&n), "{r} {s}");
            }
        }
    }

    #[test]
    fn the_date_pattern_is_the_calendar_of_the_accepted_years() {
        let r = regex::Regex::new(&date_pattern()).unwrap();
        for y in EARLIEST_YEAR - 2..=LATEST_YEAR + 2 {
            for m in 1..=12 {
                for d in 1..=31 {
                    let s = format!("{y:04}-{m:02}-{d:02}");
                    let ok = NaiveDate::from_ymd_opt(y, m, d).is_some()
                        && (EARLIEST_YEAR..=LATEST_YEAR).contains(&y);
                    assert_eq!(r.is_match(&s), ok, "{s}");
                }
            }
        }
    }

    #[test]
    fn the_instant_pattern_bounds_the_year() {
        let r = regex::Regex::new(&instant_pattern()).unwrap();
        for (s, ok) in [
            ("2026-03-02T15:00:00Z", true),
            ("2026-03-02t15:00:00.123+05:30", true),
            ("1899-12-31T23:59:59Z", false),
            ("2201-01-01T00:00:00Z", false),
            ("2026-03-02T15:00Z", false),
            ("2026-02-29T15:00:00Z", false),
            ("2028-02-29T23:59:59.123456789-23:59", true),
            ("2026-03-02T24:00:00Z", false),
        ] {
            assert_eq!(r.is_match(s), ok, "{s}");
            if ok {
                // What the engine's fields and the calendar's parameters read.
                let t = DateTime::parse_from_rfc3339(s).unwrap();
                assert!((EARLIEST_YEAR..=LATEST_YEAR).contains(&t.year()));
                s.parse::<DateTime<chrono::Utc>>().unwrap();
            }
        }
    }
}
