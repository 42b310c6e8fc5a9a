//! Patterns of the input rules of `validate.rs`, for the JSON Schemas of
//! the `schema` feature (`#[schemars(regex(pattern = …))]` on the fields
//! that `decide` checks with them), so that the OpenAPI document states
//! what the engine refuses. Classes are spelt out instead of `\s`, whose
//! meaning differs between regex dialects.

/// `char::is_whitespace` (Unicode White_Space) and `char::is_control`
/// (Cc) together, as the body of a character class.
macro_rules! blank_or_control {
    () => {
        r"\u0000-\u0020\u007f-\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
    };
}

/// `char::is_whitespace` alone (what `str::trim` removes).
macro_rules! blank {
    () => {
        r"\t-\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
    };
}

/// `char::is_control` except tab and line feed, which free texts may hold.
macro_rules! control_in_text {
    () => {
        r"\u0000-\u0008\u000b-\u001f\u007f-\u009f"
    };
}

/// An identifier (`validate::code`): no white space, no control character.
pub const CODE: &str = concat!("^[^", blank_or_control!(), "]+$");

/// A required free text (`validate::text`): something besides white space,
/// and no control character but tab and line feed.
pub const TEXT: &str = concat!(
    "^[^",
    control_in_text!(),
    "]*[^",
    blank_or_control!(),
    "][^",
    control_in_text!(),
    "]*$"
);

/// An optional free text (`validate::text_opt`): no control character but
/// tab and line feed.
pub const TEXT_OPT: &str = concat!("^[^", control_in_text!(), "]*$");

/// A search text of the beneficiary finder: at least two characters once
/// trimmed (two characters that are not white space, anywhere).
pub const SEARCH: &str = concat!("[^", blank!(), "][\\s\\S]*[^", blank!(), "]");

/// An ICD-10 code (`validate::icd10`).
pub const ICD10: &str = r"^[A-Z][0-9][0-9A-Za-z](?:\.[0-9A-Za-z]{1,4})?$";

/// The time zones compiled in (the same for every face): what
/// `facility.time_zone.parse::<chrono_tz::Tz>()` accepts.
pub fn time_zone(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    let names: Vec<&str> = chrono_tz::TZ_VARIANTS.iter().map(|t| t.name()).collect();
    schemars::json_schema!({"type": "string", "enum": names})
}
