//! The input rules a value can break, as data.
//!
//! An `invalid_input` refusal carries one of these: its code is what a page
//! translates (never the English phrase), its parameters fill the phrase,
//! and the English phrase is written from them here, in one place.

use std::fmt;

/// The oldest and the newest year an input date or instant may have. A
/// date outside is a typing slip (`0026`, `20226`), not a plan: every face
/// refuses it the same way, before it reaches a rule about calendars.
pub const YEARS: (i32, i32) = (1900, 2200);

/// Which rule of the input's shape a value broke.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rule {
    /// A value is required and was empty or absent.
    Required,
    /// More than `max` bytes of text.
    TooLong { max: u32 },
    /// Fewer than `min` characters (a search text).
    TooShort { min: u32 },
    /// An identifier of `min` to `max` characters was outside that length.
    Length { min: u32, max: u32 },
    /// Whitespace or control characters in an identifier.
    Spaces,
    /// Control characters in a free text.
    ControlCharacters,
    /// More than `max` entries in a list.
    TooMany { max: u32 },
    /// Fewer than `min` entries in a list.
    TooFew { min: u32 },
    /// A number outside `min..=max`.
    OutOfRange { min: u32, max: u32 },
    /// A period whose `to` is not `min` to `max` days after its `from`.
    PeriodDays { min: u32, max: u32 },
    /// A date or instant whose year is outside [`YEARS`].
    YearOutOfRange { min: i32, max: i32 },
    /// Not an ICD-10 code.
    NotIcd10 { value: String },
    /// Not a media type (`type/subtype`).
    NotMediaType,
    /// Not a number where one is expected.
    NotANumber,
    /// A date that has not come yet (a birth date).
    InFuture,
    /// A date or time that must come after `other` does not.
    NotAfter { other: &'static str },
    /// A date that may not come before `other` does.
    Before { other: &'static str },
    /// An entry that may appear once appears again.
    Repeated,
    /// A weekly block that overlaps another on the same day.
    Overlaps,
    /// A new slot that is the appointment's current one.
    SameSlot,
    /// An agenda that is not one of the facility and service concerned.
    WrongAgenda,
    /// An existing agenda's facility or service would change.
    AgendaMoves,
    /// A follow-up the referral does not ask for here (or already booked).
    NoSuchFollowUp,
    /// A waitlist entry that is no longer waiting.
    NotWaiting,
    /// A destination that is the referring facility itself.
    IsOrigin,
    /// A new destination that is the origin or the current destination.
    NotAnotherFacility,
    /// An escalation to a tier that is not higher than the current one.
    TierNotHigher { tier: u8, current: u8 },
    /// A parameter or value this kind of request does not take.
    NotApplicable,
    /// A FHIR search parameter (the field) this server does not serve for
    /// `resource_type`.
    UnsupportedParameter { resource_type: String },
    /// A FHIR resource type this server does not serve.
    UnsupportedResourceType { resource_type: String },
    /// Anything else that does not parse: `why` says what, in English only
    /// (serde's and the FHIR parameter parsers' messages; snapshot bytes).
    Malformed { why: String },
}

impl Rule {
    /// Every rule code, in declaration order: what pages translate and
    /// tests check (generated into the TypeScript declarations).
    pub const CODES: [&'static str; 31] = [
        "required",
        "too_long",
        "too_short",
        "length",
        "spaces",
        "control_characters",
        "too_many",
        "too_few",
        "out_of_range",
        "period_days",
        "year_out_of_range",
        "not_icd10",
        "not_media_type",
        "not_a_number",
        "in_future",
        "not_after",
        "before",
        "repeated",
        "overlaps",
        "same_slot",
        "wrong_agenda",
        "agenda_moves",
        "no_such_follow_up",
        "not_waiting",
        "is_origin",
        "not_another_facility",
        "tier_not_higher",
        "not_applicable",
        "unsupported_parameter",
        "unsupported_resource_type",
        "malformed",
    ];

    /// The stable code of the rule (`details.rule`).
    pub fn code(&self) -> &'static str {
        use Rule::*;
        match self {
            Required => "required",
            TooLong { .. } => "too_long",
            TooShort { .. } => "too_short",
            Length { .. } => "length",
            Spaces => "spaces",
            ControlCharacters => "control_characters",
            TooMany { .. } => "too_many",
            TooFew { .. } => "too_few",
            OutOfRange { .. } => "out_of_range",
            PeriodDays { .. } => "period_days",
            YearOutOfRange { .. } => "year_out_of_range",
            NotIcd10 { .. } => "not_icd10",
            NotMediaType => "not_media_type",
            NotANumber => "not_a_number",
            InFuture => "in_future",
            NotAfter { .. } => "not_after",
            Before { .. } => "before",
            Repeated => "repeated",
            Overlaps => "overlaps",
            SameSlot => "same_slot",
            WrongAgenda => "wrong_agenda",
            AgendaMoves => "agenda_moves",
            NoSuchFollowUp => "no_such_follow_up",
            NotWaiting => "not_waiting",
            IsOrigin => "is_origin",
            NotAnotherFacility => "not_another_facility",
            TierNotHigher { .. } => "tier_not_higher",
            NotApplicable => "not_applicable",
            UnsupportedParameter { .. } => "unsupported_parameter",
            UnsupportedResourceType { .. } => "unsupported_resource_type",
            Malformed { .. } => "malformed",
        }
    }

    /// The rule's parameters, by name, as `details` carries them.
    pub fn params(&self) -> Vec<(&'static str, String)> {
        use Rule::*;
        match self {
            TooLong { max } | TooMany { max } => vec![("max", max.to_string())],
            TooShort { min } | TooFew { min } => vec![("min", min.to_string())],
            Length { min, max } | OutOfRange { min, max } | PeriodDays { min, max } => {
                vec![("min", min.to_string()), ("max", max.to_string())]
            }
            YearOutOfRange { min, max } => {
                vec![("min", min.to_string()), ("max", max.to_string())]
            }
            NotAfter { other } | Before { other } => vec![("other", (*other).to_owned())],
            TierNotHigher { tier, current } => {
                vec![("tier", tier.to_string()), ("current", current.to_string())]
            }
            NotIcd10 { value } => vec![("value", value.clone())],
            UnsupportedParameter { resource_type } | UnsupportedResourceType { resource_type } => {
                vec![("resource_type", resource_type.clone())]
            }
            Malformed { why } => vec![("why", why.clone())],
            Required | Spaces | ControlCharacters | NotMediaType | NotANumber | InFuture
            | Repeated | Overlaps | SameSlot | WrongAgenda | AgendaMoves | NoSuchFollowUp
            | NotWaiting | IsOrigin | NotAnotherFacility | NotApplicable => Vec::new(),
        }
    }
}

impl Rule {
    /// The English phrase with `{name}` where a parameter goes, filled from
    /// [`Rule::params`]: the message and `details` cannot disagree.
    fn template(&self) -> &'static str {
        use Rule::*;
        match self {
            Required => "must not be empty",
            TooLong { .. } => "at most {max} bytes",
            TooShort { .. } => "at least {min} characters",
            Length { .. } => "must have {min} to {max} characters",
            Spaces => "must not contain spaces or control characters",
            ControlCharacters => "must not contain control characters",
            TooMany { .. } => "at most {max} entries",
            TooFew { .. } => "at least {min} entries",
            OutOfRange { .. } => "between {min} and {max}",
            PeriodDays { .. } => "must be {min} to {max} days after from",
            YearOutOfRange { .. } => "the year must be {min} to {max}",
            NotIcd10 { .. } => "\"{value}\" is not an ICD-10 code (e.g. O14.1)",
            NotMediaType => "must look like type/subtype",
            NotANumber => "must be a number",
            InFuture => "is in the future",
            NotAfter { .. } => "must be after {other}",
            Before { .. } => "is before {other}",
            Repeated => "appears more than once",
            Overlaps => "overlaps another block on the same day",
            SameSlot => "is the appointment's current slot",
            WrongAgenda => "must be an agenda of the facility and service concerned",
            AgendaMoves => "an existing agenda keeps its facility and service",
            NoSuchFollowUp => {
                "the referral asks for no such follow-up at this facility, or it is booked"
            }
            NotWaiting => "is no longer waiting",
            IsOrigin => "is the origin itself",
            NotAnotherFacility => {
                "must be a facility other than the origin and the current destination"
            }
            TierNotHigher { .. } => "tier {tier} is not higher than tier {current}",
            NotApplicable => "does not apply to this request",
            UnsupportedParameter { .. } => {
                "not a search parameter of {resource_type} on this server"
            }
            UnsupportedResourceType { .. } => "{resource_type} is not served",
            Malformed { .. } => "{why}",
        }
    }
}

/// The English phrase (`details.reason`), for logs and English pages: the
/// template with its parameters filled in.
impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut text = self.template().to_owned();
        for (name, value) in self.params() {
            text = text.replace(&format!("{{{name}}}"), &value);
        }
        f.write_str(&text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_lists_every_rule_once_in_order() {
        let s = String::new;
        let all = [
            Rule::Required,
            Rule::TooLong { max: 1 },
            Rule::TooShort { min: 1 },
            Rule::Length { min: 1, max: 2 },
            Rule::Spaces,
            Rule::ControlCharacters,
            Rule::TooMany { max: 1 },
            Rule::TooFew { min: 1 },
            Rule::OutOfRange { min: 1, max: 2 },
            Rule::PeriodDays { min: 1, max: 2 },
            Rule::YearOutOfRange { min: 1, max: 2 },
            Rule::NotIcd10 { value: s() },
            Rule::NotMediaType,
            Rule::NotANumber,
            Rule::InFuture,
            Rule::NotAfter { other: "x" },
            Rule::Before { other: "x" },
            Rule::Repeated,
            Rule::Overlaps,
            Rule::SameSlot,
            Rule::WrongAgenda,
            Rule::AgendaMoves,
            Rule::NoSuchFollowUp,
            Rule::NotWaiting,
            Rule::IsOrigin,
            Rule::NotAnotherFacility,
            Rule::TierNotHigher {
                tier: 1,
                current: 2,
            },
            Rule::NotApplicable,
            Rule::UnsupportedParameter { resource_type: s() },
            Rule::UnsupportedResourceType { resource_type: s() },
            Rule::Malformed { why: s() },
        ];
        let listed: Vec<&str> = all.iter().map(Rule::code).collect();
        assert_eq!(listed, Rule::CODES);
    }
}
