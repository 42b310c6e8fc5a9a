//! `enlace-host`: the server binary and its command line.
//!
//! `serve` runs the server (see `server.rs`); `token`, `tenant`, `verify`,
//! `export`, `import` and `seed` manage its data (see `cli.rs`). The guided
//! tour of the engine is an example of core:
//! `cargo run -p enlace-core --example tour`.

use clap::Parser;
use enlace_host::cli::{self, HostCommand};
use std::process::ExitCode;

#[derive(Debug, Parser)]
#[command(
    name = "enlace-host",
    version,
    about = "The Enlace server: hosts the engine component, owns persistence and HTTP."
)]
struct Cli {
    #[command(subcommand)]
    command: HostCommand,
}

fn main() -> ExitCode {
    match cli::run(Cli::parse().command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
