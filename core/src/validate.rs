//! Checks of the shape of what an actor sends: identifiers, free texts,
//! clinical codes. Each refusal names the field and the rule broken, so every
//! face reports the same input the same way.

use crate::error::{Error, Result};

/// An identifier: 1..=64 characters, no whitespace or control characters.
pub(crate) fn code(field: &str, v: &str) -> Result<()> {
    if v.is_empty() || v.len() > 64 {
        return Err(Error::invalid(field, "must have 1 to 64 characters"));
    }
    if v.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(Error::invalid(
            field,
            "must not contain spaces or control characters",
        ));
    }
    Ok(())
}

/// A required free text of at most `max` bytes.
pub(crate) fn text(field: &str, v: &str, max: usize) -> Result<()> {
    if v.trim().is_empty() {
        return Err(Error::invalid(field, "must not be empty"));
    }
    text_opt(field, v, max)
}

/// An optional free text of at most `max` bytes.
pub(crate) fn text_opt(field: &str, v: &str, max: usize) -> Result<()> {
    if v.len() > max {
        return Err(Error::invalid(field, format!("at most {max} bytes")));
    }
    if v.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
        return Err(Error::invalid(field, "must not contain control characters"));
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
            format!("{c:?} is not an ICD-10 code (e.g. O14.1)"),
        ))
    }
}
