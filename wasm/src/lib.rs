//! The WebAssembly faces of enlace-core.
//!
//! - `browser` (wasm32-unknown-unknown + wasm-bindgen): an ES-module package
//!   for web portals and Node, taking and returning the engine's JSON shapes.
//! - `component` (wasm32-unknown-unknown + wit-bindgen, encoded with
//!   wit-component): a WIT component with no imports, for wasmtime and any
//!   component host.
//! - `seal` (wasm32-unknown-unknown + wasm-bindgen): the browser's small
//!   second package, signed exchange only (canonical records, seals and
//!   their verification), loaded by pages that show other agencies' records.
//!
//! This crate only converts: every decision is enlace-core's.

#[cfg(all(feature = "browser", feature = "component"))]
compile_error!("build one face at a time: --features browser or --features component");
#[cfg(all(feature = "seal", any(feature = "browser", feature = "component")))]
compile_error!("the seal package is a face of its own: --features seal alone");

#[cfg(all(feature = "browser", target_arch = "wasm32"))]
mod browser;

#[cfg(any(feature = "browser", feature = "typescript"))]
pub mod js;

#[cfg(any(all(feature = "browser", target_arch = "wasm32"), test))]
mod json_path;

#[cfg(feature = "typescript")]
pub mod typescript;

#[cfg(feature = "component")]
mod component;

#[cfg(all(feature = "seal", target_arch = "wasm32"))]
mod seal;
