//! `fhir!`: JSON literals for the FHIR and search builders, with
//! `serde_json::json!`'s syntax but a smaller expansion.
//!
//! `json!` turns every member into an inline insert and every value into a
//! generic `to_value(&x).unwrap()` with its own panic path; across the ~100
//! literals of the FHIR mappings that was tens of kilobytes of the browser
//! `.wasm`, which has a download budget. Here an object is one call to
//! [`object`] with its members in an array, and a value converts through
//! [`Leaf`] (a move or a borrow, never a serialization). Keys are string
//! literals; the output is the same `Value`, so the same bytes.

use serde_json::{Map, Value};

/// What a literal's leaf may be: the types the builders put in resources.
pub(crate) trait Leaf {
    fn leaf(self) -> Value;
}

impl Leaf for Value {
    fn leaf(self) -> Value {
        self
    }
}

impl Leaf for String {
    fn leaf(self) -> Value {
        Value::String(self)
    }
}

impl Leaf for &str {
    fn leaf(self) -> Value {
        Value::String(self.to_owned())
    }
}

impl Leaf for &String {
    fn leaf(self) -> Value {
        Value::String(self.clone())
    }
}

impl Leaf for &&str {
    fn leaf(self) -> Value {
        (*self).leaf()
    }
}

impl Leaf for Vec<&str> {
    fn leaf(self) -> Value {
        Value::Array(self.into_iter().map(Leaf::leaf).collect())
    }
}

impl Leaf for bool {
    fn leaf(self) -> Value {
        Value::Bool(self)
    }
}

impl Leaf for Vec<Value> {
    fn leaf(self) -> Value {
        Value::Array(self)
    }
}

impl Leaf for &[String] {
    fn leaf(self) -> Value {
        Value::Array(self.iter().map(Leaf::leaf).collect())
    }
}

impl Leaf for &Vec<String> {
    fn leaf(self) -> Value {
        self.as_slice().leaf()
    }
}

macro_rules! number_leaf {
    ($($t:ty),*) => {$(
        impl Leaf for $t {
            fn leaf(self) -> Value {
                Value::from(self)
            }
        }
    )*};
}
number_leaf!(u8, u16, u32, u64, usize, i64);

/// One JSON object from its members (taken out of the array).
pub(crate) fn object(members: &mut [(&'static str, Value)]) -> Value {
    let mut map = Map::new();
    for (key, value) in members {
        map.insert((*key).to_owned(), std::mem::take(value));
    }
    Value::Object(map)
}

/// A JSON literal: `fhir!({"key": value, "list": [a, {"k": b}]})`.
macro_rules! fhir {
    (null) => { ::serde_json::Value::Null };
    ([ $($tt:tt)* ]) => { fhir!(@elems [] [] $($tt)*) };
    ({ $($tt:tt)* }) => { fhir!(@members [] $($tt)*) };
    ($e:expr) => { $crate::interop::build::Leaf::leaf($e) };

    // Array elements: finished elements, the tokens of the current one.
    (@elems [$($done:expr,)*] []) => {
        ::serde_json::Value::Array(vec![$($done,)*])
    };
    (@elems [$($done:expr,)*] [$($cur:tt)+]) => {
        ::serde_json::Value::Array(vec![$($done,)* fhir!($($cur)+)])
    };
    (@elems [$($done:expr,)*] [$($cur:tt)+] , $($rest:tt)*) => {
        fhir!(@elems [$($done,)* fhir!($($cur)+),] [] $($rest)*)
    };
    (@elems [$($done:expr,)*] [$($cur:tt)*] $t:tt $($rest:tt)*) => {
        fhir!(@elems [$($done,)*] [$($cur)* $t] $($rest)*)
    };

    // Object members: finished `(key, value)` pairs, then the rest.
    (@members [$($done:expr,)*]) => {
        $crate::interop::build::object(&mut [$($done,)*])
    };
    (@members [$($done:expr,)*] $key:literal : $($rest:tt)*) => {
        fhir!(@value [$($done,)*] $key [] $($rest)*)
    };
    // A member's value: its tokens up to the next top-level comma.
    (@value [$($done:expr,)*] $key:literal [$($cur:tt)+]) => {
        fhir!(@members [$($done,)* ($key, fhir!($($cur)+)),])
    };
    (@value [$($done:expr,)*] $key:literal [$($cur:tt)+] , $($rest:tt)*) => {
        fhir!(@members [$($done,)* ($key, fhir!($($cur)+)),] $($rest)*)
    };
    (@value [$($done:expr,)*] $key:literal [$($cur:tt)*] $t:tt $($rest:tt)*) => {
        fhir!(@value [$($done,)*] $key [$($cur)* $t] $($rest)*)
    };
}
pub(crate) use fhir;

#[cfg(test)]
mod tests {
    use serde_json::json;

    #[test]
    fn literals_equal_json_macro_literals() {
        let name = String::from("Ana");
        let codes = vec!["O10".to_owned(), "O24".to_owned()];
        let inner = json!({"a": 1});
        let ours = fhir!({
            "resourceType": "Patient",
            "name": [{"text": &name, "given": ["Ana", format!("{}.", 'M')]}],
            "codes": &codes,
            "active": true,
            "count": 3u32,
            "empty": [],
            "nested": {"deep": {"x": inner.clone()}},
            "nothing": null,
        });
        let theirs = json!({
            "resourceType": "Patient",
            "name": [{"text": name, "given": ["Ana", "M."]}],
            "codes": codes,
            "active": true,
            "count": 3,
            "empty": [],
            "nested": {"deep": {"x": inner}},
            "nothing": null,
        });
        assert_eq!(ours, theirs);
        assert_eq!(ours.to_string(), theirs.to_string());
    }
}
