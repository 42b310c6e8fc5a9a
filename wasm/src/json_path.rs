//! The path of the field at a position of a JSON text (`a.b[0].c`), for
//! the browser face's shape errors.
//!
//! serde_json says where in the text a value did not fit (line and
//! column); this walks the text up to there and names the field being read.
//! It gives the paths `serde_path_to_error` gives, without instantiating
//! every `Deserialize` of the engine a second time for a path-tracking
//! deserializer (4.1 KB of the gzipped browser package). Like it, the
//! path stops at an internally tagged enum (a command, a query): serde
//! buffers such a value whole before it reads its fields. Unlike it, when
//! such a value is the last field of its object, serde_json places the
//! error after that object's closing brace, so the path is the object (the
//! page then names the field from serde's message, as it does for a
//! missing one).

/// One open container.
enum Open {
    /// An object and the key of the value being read, once one is.
    Object(Option<String>),
    /// An array and the index of the value being read.
    Array(usize),
}

/// The byte offset of 1-based `line` and `column` (serde_json's error
/// position) in `text`, or the end of `text`.
pub fn offset(text: &str, line: usize, column: usize) -> usize {
    let start: usize = text
        .split_inclusive('\n')
        .take(line.saturating_sub(1))
        .map(str::len)
        .sum();
    (start + column).min(text.len())
}

/// The path of the value that is being read at byte `at` of `text`: keys
/// joined by `.`, indexes as `[i]`; empty at the top level.
pub fn at(text: &str, at: usize) -> String {
    let b = text.as_bytes();
    let end = at.min(b.len());
    let mut stack: Vec<Open> = Vec::new();
    // Whether the next string of the current object is a key.
    let mut want_key = false;
    let mut i = 0;
    while i < end {
        match b[i] {
            b'{' => {
                stack.push(Open::Object(None));
                want_key = true;
            }
            b'[' => {
                stack.push(Open::Array(0));
                want_key = false;
            }
            b'}' | b']' => {
                stack.pop();
                want_key = false;
            }
            b',' => match stack.last_mut() {
                Some(Open::Object(key)) => {
                    *key = None;
                    want_key = true;
                }
                Some(Open::Array(n)) => *n += 1,
                None => {}
            },
            b'"' => {
                let (s, next) = string(b, i);
                if want_key && let Some(Open::Object(key)) = stack.last_mut() {
                    *key = Some(s);
                    want_key = false;
                }
                i = next;
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    let mut path = String::new();
    for open in &stack {
        match open {
            Open::Object(Some(k)) => {
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(k);
            }
            // An object whose first key is still to come: the object itself.
            Open::Object(None) => break,
            Open::Array(n) => path.push_str(&format!("[{n}]")),
        }
    }
    path
}

/// The text of the JSON string that starts at `b[i]` (a quote), escapes
/// kept as written (keys of the engine's types have none), and the offset
/// after its closing quote.
fn string(b: &[u8], i: usize) -> (String, usize) {
    let mut j = i + 1;
    while j < b.len() && b[j] != b'"' {
        j += if b[j] == b'\\' { 2 } else { 1 };
    }
    let s = String::from_utf8_lossy(&b[i + 1..j.min(b.len())]).into_owned();
    (s, j + 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    /// The path serde_json's error position gives, and serde_path_to_error's.
    fn both<T: serde::de::DeserializeOwned + std::fmt::Debug>(text: &str) -> (String, String) {
        let e = serde_json::from_str::<T>(text).unwrap_err();
        let ours = at(text, offset(text, e.line(), e.column()));
        let mut de = serde_json::Deserializer::from_str(text);
        let theirs = serde_path_to_error::deserialize::<_, T>(&mut de)
            .unwrap_err()
            .path()
            .to_string();
        (ours, if theirs == "." { String::new() } else { theirs })
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Item {
        name: String,
        #[serde(default)]
        size: u32,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Outer {
        id: u32,
        items: Vec<Item>,
        inner: Option<Item>,
    }

    #[test]
    fn the_position_of_an_error_names_the_field_serde_path_to_error_names() {
        for text in [
            r#"{"id": "x", "items": [], "inner": null}"#,
            r#"{"id": 1, "items": [{"name": "a"}, {"name": 2}], "inner": null}"#,
            r#"{"id": 1, "items": [{"name": "a"}, {"name": "b", "size": -1}], "inner": null}"#,
            r#"{"id": 1, "items": [], "inner": {"name": "a", "size": "big"}}"#,
            r#"{"id": 1, "items": [], "inner": {"size": 3}}"#,
            r#"{"id": 1, "items": [{"name": "a", "zz": 1}], "inner": null}"#,
            r#"{"id": 1, "items": [], "inner": null, "extra": true}"#,
            r#"{"id": 1, "items": {}, "inner": null}"#,
        ] {
            let (ours, theirs) = both::<Outer>(text);
            assert_eq!(ours, theirs, "{text}");
        }
    }

    #[test]
    fn a_command_is_named_as_a_whole_and_a_request_field_by_its_key() {
        use enlace_core::Request;
        let actor = r#"{"user": "u", "agency": "a", "facility": "F1", "role": "clerk"}"#;
        for (text, path) in [
            (
                format!(r#"{{"actor": {actor}, "at": 5, "command": {{"type": "mark_arrived", "appointment": 1}}}}"#),
                "at",
            ),
            (
                format!(r#"{{"actor": {actor}, "command": {{"type": "book_appointment", "agenda": "A", "start": 3, "beneficiary": "B"}}, "at": "2026-03-02T13:00:00Z"}}"#),
                "command",
            ),
            // The same command last: serde_json places the error after the
            // request's own closing brace, so the path is the request.
            (
                format!(r#"{{"actor": {actor}, "at": "2026-03-02T13:00:00Z", "command": {{"type": "book_appointment", "agenda": "A", "start": 3, "beneficiary": "B"}}}}"#),
                "",
            ),
            (
                r#"{"actor": {"user": "u", "agency": "a", "role": "boss"}, "at": "2026-03-02T13:00:00Z", "command": {"type": "mark_arrived", "appointment": 1}}"#.to_owned(),
                "actor.role",
            ),
        ] {
            let e = serde_json::from_str::<Request>(&text).unwrap_err();
            assert_eq!(at(&text, offset(&text, e.line(), e.column())), path, "{text}");
        }
    }

    #[test]
    fn strings_with_brackets_quotes_and_commas_do_not_confuse_the_walk() {
        let text = r#"{"a": "x,]}\"[{", "b": [1, {"c": "d"}]}"#;
        let pos = text.find("\"d\"").unwrap();
        assert_eq!(at(text, pos), "b[1].c");
        assert_eq!(at(text, 0), "");
        assert_eq!(offset("ab\ncd", 2, 1), 4);
    }
}
