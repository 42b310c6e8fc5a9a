//! JSON bodies into engine types, and what is wrong with one that does not
//! fit: serde's message, and the path of the field at fault for a form to
//! mark (`details.field`).
//!
//! The path is the one the browser face reports (`a.b[0].c`): here by
//! `serde_path_to_error`; there from serde_json's error position
//! (`wasm/src/json_path.rs`, whose tests compare the two).
//! Commands and queries are internally tagged enums (`{"type": …, …}`),
//! whose fields serde reads from a buffered copy where no path is tracked,
//! so the path stops at the body itself. The field serde names in a
//! missing- or unknown-field error is then taken from the error itself (its
//! `missing_field` / `unknown_field` constructor), not from its English
//! text, and added to the path.
//!
//! serde_json decides whether a body fits; only a body that does not is
//! read a second time, by [`locate`], to find where.

use super::error::ApiError;
use serde::de::{self, DeserializeOwned, Deserializer, IntoDeserializer, Visitor};
use serde_json::Value;
use std::fmt;

/// What kind of misfit a body is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Misfit {
    /// A field the type does not have (`unknown_field`).
    UnknownField,
    /// A required field is absent (`invalid_body`).
    MissingField,
    /// Anything else: a wrong type, an unknown variant, a bad date
    /// (`invalid_body`).
    Invalid,
}

/// A body that does not fit its type.
#[derive(Debug, Clone)]
pub(crate) struct BodyError {
    pub kind: Misfit,
    /// serde_json's message.
    pub message: String,
    /// The path of the field at fault, when there is one.
    pub field: Option<String>,
}

impl BodyError {
    /// The refusal, with the stable codes of the HTTP face:
    /// `unknown_field`, else `invalid_body`.
    pub(crate) fn refusal(self) -> ApiError {
        let code = match self.kind {
            Misfit::UnknownField => "unknown_field",
            Misfit::MissingField | Misfit::Invalid => "invalid_body",
        };
        let e = ApiError::bad_request(code, self.message);
        match self.field {
            Some(field) => e.with("field", field),
            None => e,
        }
    }
}

/// Reads `value` as a `T`; when it does not fit, says why and where.
pub(crate) fn decode<T: DeserializeOwned>(value: &Value) -> Result<T, BodyError> {
    T::deserialize(value).map_err(|e| {
        let (kind, field) = locate::<T>(value);
        BodyError {
            kind,
            message: e.to_string(),
            field,
        }
    })
}

/// Where `value` does not fit a `T`, and how.
pub(crate) fn locate<T: DeserializeOwned>(value: &Value) -> (Misfit, Option<String>) {
    let Err(e) = serde_path_to_error::deserialize::<_, T>(Json(value)) else {
        return (Misfit::Invalid, None);
    };
    let path = e.path().to_string();
    let at = (path != ".").then_some(path);
    let (kind, named) = match &e.inner().named {
        Some(Named::Unknown(f)) => (Misfit::UnknownField, Some(f.as_str())),
        Some(Named::Missing(f)) => (Misfit::MissingField, Some(*f)),
        None => (Misfit::Invalid, None),
    };
    let field = match (at, named) {
        // Where path_to_error tracked it, an unknown key ends the path.
        (Some(at), Some(f))
            if kind == Misfit::UnknownField && (at == f || at.ends_with(&format!(".{f}"))) =>
        {
            Some(at)
        }
        // A missing field's path is the object that lacks it.
        (Some(at), Some(f)) => Some(format!("{at}.{f}")),
        (at, f) => at.or(f.map(str::to_owned)),
    };
    (kind, field)
}

/// The field a missing- or unknown-field error names.
#[derive(Debug)]
enum Named {
    Unknown(String),
    Missing(&'static str),
}

/// The error of [`Json`]: serde's message, and the field it names.
#[derive(Debug)]
struct Located {
    message: String,
    named: Option<Named>,
}

impl fmt::Display for Located {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Located {}

impl de::Error for Located {
    fn custom<T: fmt::Display>(message: T) -> Self {
        Located {
            message: message.to_string(),
            named: None,
        }
    }

    fn unknown_field(field: &str, _expected: &'static [&'static str]) -> Self {
        Located {
            message: format!("unknown field `{field}`"),
            named: Some(Named::Unknown(field.to_owned())),
        }
    }

    fn missing_field(field: &'static str) -> Self {
        Located {
            message: format!("missing field `{field}`"),
            named: Some(Named::Missing(field)),
        }
    }
}

/// A JSON value read the way serde_json reads one, with [`Located`]
/// errors: a deserializer's error type is what serde builds the errors of
/// buffered (tagged) content with, so the field they name survives.
#[derive(Debug, Clone, Copy)]
struct Json<'a>(&'a Value);

impl<'de> IntoDeserializer<'de, Located> for Json<'_> {
    type Deserializer = Self;

    fn into_deserializer(self) -> Self {
        self
    }
}

impl<'de> Deserializer<'de> for Json<'_> {
    type Error = Located;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Located> {
        match self.0 {
            Value::Null => visitor.visit_unit(),
            Value::Bool(b) => visitor.visit_bool(*b),
            Value::Number(n) => match (n.as_u64(), n.as_i64()) {
                (Some(u), _) => visitor.visit_u64(u),
                (None, Some(i)) => visitor.visit_i64(i),
                (None, None) => visitor.visit_f64(n.as_f64().unwrap_or(f64::NAN)),
            },
            Value::String(s) => visitor.visit_str(s),
            Value::Array(a) => {
                let mut seq = de::value::SeqDeserializer::new(a.iter().map(Json));
                let v = visitor.visit_seq(&mut seq)?;
                seq.end()?;
                Ok(v)
            }
            Value::Object(m) => {
                let mut map =
                    de::value::MapDeserializer::new(m.iter().map(|(k, x)| (k.as_str(), Json(x))));
                let v = visitor.visit_map(&mut map)?;
                map.end()?;
                Ok(v)
            }
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Located> {
        match self.0 {
            Value::Null => visitor.visit_none(),
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Located> {
        match self.0 {
            Value::String(s) => visitor.visit_enum(s.as_str().into_deserializer()),
            Value::Object(m) => visitor.visit_enum(de::value::MapAccessDeserializer::new(
                de::value::MapDeserializer::new(m.iter().map(|(k, x)| (k.as_str(), Json(x)))),
            )),
            _ => self.deserialize_any(visitor),
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Located> {
        visitor.visit_newtype_struct(self)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf unit unit_struct seq tuple tuple_struct map struct
        identifier ignored_any
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use enlace_core::Command;
    use serde_json::json;

    fn misfit<T: DeserializeOwned>(v: Value) -> (Misfit, Option<String>) {
        let e = decode::<T>(&v).err().expect("a misfit");
        (e.kind, e.field)
    }

    #[test]
    fn the_field_at_fault_is_named_by_structure_not_by_text() {
        let book = |extra: Value| {
            let mut v = json!({"type": "book_appointment", "agenda": "F0001-A01",
                "start": "2027-01-05T15:00:00Z", "beneficiary": "MX-10000001"});
            for (k, x) in extra.as_object().unwrap() {
                v[k] = x.clone();
            }
            v
        };
        assert!(decode::<Command>(&book(json!({}))).is_ok());
        let mut missing = book(json!({}));
        missing.as_object_mut().unwrap().remove("start");
        assert_eq!(
            misfit::<Command>(missing),
            (Misfit::MissingField, Some("start".into()))
        );
        assert_eq!(
            misfit::<Command>(book(json!({"extra": true}))),
            (Misfit::UnknownField, Some("extra".into()))
        );
        assert_eq!(
            misfit::<Command>(book(json!({"agenda": 1}))),
            (Misfit::Invalid, None)
        );
        // Inside a nested struct of a command: the field serde names.
        let v = json!({"type": "register_beneficiary", "beneficiary": {"id": "X1"}});
        assert_eq!(misfit::<Command>(v).0, Misfit::MissingField);
    }

    #[test]
    fn outside_tagged_enums_the_path_is_serde_path_to_error_s() {
        #[derive(Debug, serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        #[allow(dead_code)]
        struct Item {
            method: String,
            #[serde(default)]
            key: Option<String>,
        }
        #[derive(Debug, serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        #[allow(dead_code)]
        struct Outer {
            items: Vec<Item>,
        }
        let cases = [
            (
                json!({"items": [], "also": 1}),
                Misfit::UnknownField,
                "also",
            ),
            (
                json!({"items": [{"method": "x"}, {"method": 1}]}),
                Misfit::Invalid,
                "items[1].method",
            ),
            (
                json!({"items": [{"method": "x"}, {"key": "k"}]}),
                Misfit::MissingField,
                "items[1].method",
            ),
            (
                json!({"items": [{"method": "x", "zz": 1}]}),
                Misfit::UnknownField,
                "items[0].zz",
            ),
        ];
        for (v, kind, field) in cases {
            assert_eq!(
                misfit::<Outer>(v.clone()),
                (kind, Some(field.into())),
                "{v}"
            );
        }
    }

    #[test]
    fn the_refusal_keeps_the_http_codes() {
        let e = BodyError {
            kind: Misfit::UnknownField,
            message: "m".into(),
            field: Some("x".into()),
        }
        .refusal();
        assert_eq!(e.body.code, "unknown_field");
        assert_eq!(e.body.details["field"], "x");
        let e = BodyError {
            kind: Misfit::Invalid,
            message: "m".into(),
            field: None,
        }
        .refusal();
        assert_eq!(e.body.code, "invalid_body");
        assert!(e.body.details.is_empty());
    }
}
