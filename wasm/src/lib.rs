//! The WebAssembly faces of enlace-core. Not built yet: see README.md.
