//! Conversions between enlace-core's types and the WIT types of the
//! component, in both directions, through the [`WitType`] trait:
//! `core_value.into_wit()` and `CoreType::from_wit(wit_value)`.
//!
//! The source is shared with the guest: these are the very files the
//! component compiles (`wasm/src/component/convert/`), here compiled against
//! wasmtime's generated types, which have the same names and fields as
//! wit-bindgen's. So the host lifts exactly what the guest lowers, field for
//! field, and a mismatch between the two sides cannot compile.
//!
//! Reading a WIT value fails only on strings that do not parse as instants,
//! dates or times ([`Bad`] names the field).

use super::wit;

#[path = "../../../wasm/src/component/convert/mod.rs"]
mod shared;

pub use shared::{Bad, WitType, lift};
