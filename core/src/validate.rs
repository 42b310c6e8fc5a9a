//! Checks of the shape of what an actor sends: identifiers, free texts,
//! clinical codes. Each refusal names the field and the rule broken, so every
//! face reports the same input the same way.

use crate::error::{Error, Result, Rule, YEARS};
use chrono::{DateTime, Datelike, NaiveDate, Utc};

/// An identifier: 1..=64 characters, no whitespace or control characters.
pub(crate) fn code(field: &str, v: &str) -> Result<()> {
    if v.is_empty() || v.len() > 64 {
        return Err(Error::invalid(field, Rule::Length { min: 1, max: 64 }));
    }
    if v.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(Error::invalid(field, Rule::Spaces));
    }
    Ok(())
}

/// A required free text of at most `max` bytes.
pub(crate) fn text(field: &str, v: &str, max: usize) -> Result<()> {
    if v.trim().is_empty() {
        return Err(Error::invalid(field, Rule::Required));
    }
    text_opt(field, v, max)
}

/// An optional free text of at most `max` bytes.
pub(crate) fn text_opt(field: &str, v: &str, max: usize) -> Result<()> {
    if v.len() > max {
        return Err(Error::invalid(field, Rule::TooLong { max: max as u32 }));
    }
    if v.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
        return Err(Error::invalid(field, Rule::ControlCharacters));
    }
    Ok(())
}

/// An ICD-10 code: a letter, two digits, optionally a dot and 1 to 4 more characters.
pub(crate) fn icd10(field: &str, c: &str) -> Result<()> {
    let b = c.as_bytes();
    let ok = b.len() >= 3
        && b.len() <= 8
        && b[0].is_ascii_uppercase()
        && b[1].is_ascii_digit()
        && b[2].is_ascii_alphanumeric()
        && match b.get(3) {
            None => true,
            Some(b'.') => b.len() > 4 && b[4..].iter().all(u8::is_ascii_alphanumeric),
            Some(_) => false,
        };
    if ok {
        Ok(())
    } else {
        Err(Error::invalid(
            field,
            Rule::NotIcd10 {
                value: c.to_owned(),
            },
        ))
    }
}

/// A year within [`YEARS`].
pub(crate) fn year(field: &str, year: i32) -> Result<()> {
    let (min, max) = YEARS;
    if (min..=max).contains(&year) {
        Ok(())
    } else {
        Err(Error::invalid(field, Rule::YearOutOfRange { min, max }))
    }
}

/// A date within [`YEARS`].
pub(crate) fn date(field: &str, d: NaiveDate) -> Result<()> {
    year(field, d.year())
}

/// An optional date within [`YEARS`].
pub(crate) fn date_opt(field: &str, d: Option<NaiveDate>) -> Result<()> {
    d.map_or(Ok(()), |d| date(field, d))
}

/// An instant within [`YEARS`] (its UTC year).
pub(crate) fn instant(field: &str, t: DateTime<Utc>) -> Result<()> {
    // Two integer compares on the booking path; the year only to refuse.
    const FROM: i64 = -2_208_988_800; // 1900-01-01T00:00:00Z
    const UNTIL: i64 = 7_289_654_400; // 2201-01-01T00:00:00Z
    if (FROM..UNTIL).contains(&t.timestamp()) {
        Ok(())
    } else {
        year(field, t.year())
    }
}

/// At most `max` entries in a list.
pub(crate) fn at_most(field: &str, len: usize, max: u32) -> Result<()> {
    if len > max as usize {
        Err(Error::invalid(field, Rule::TooMany { max }))
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_instant_bounds_are_the_years_bounds() {
        let at = |s: &str| s.parse::<DateTime<Utc>>().unwrap();
        assert!(instant("t", at("1900-01-01T00:00:00Z")).is_ok());
        assert!(instant("t", at("1899-12-31T23:59:59.999Z")).is_err());
        assert!(instant("t", at("2200-12-31T23:59:59.999999999Z")).is_ok());
        assert!(instant("t", at("2201-01-01T00:00:00Z")).is_err());
        assert_eq!(YEARS, (1900, 2200), "the constants above follow YEARS");
    }
}
