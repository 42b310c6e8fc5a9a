//! `enlace-host`: the server binary and its command line.
//!
//! `serve` runs the server (see `server.rs`); `token`, `tenant`, `verify`,
//! `export`, `import` and `seed` manage its data (see `cli.rs`); `demo`
//! plays the engine on the seeded synthetic network and prints the story
//! (see `demo.rs`).

mod demo;

use clap::{Parser, Subcommand};
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
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    #[command(flatten)]
    Host(HostCommand),
    /// Play the engine on the seeded synthetic network and print the story
    /// (a demonstration: in memory, synthetic data, nothing saved).
    Demo,
}

fn main() -> ExitCode {
    match Cli::parse().command {
        Command::Demo => match demo::narrate() {
            Ok(text) => {
                print!("{text}");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("enlace-host demo: {e}");
                ExitCode::FAILURE
            }
        },
        Command::Host(cmd) => match cli::run(cmd) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: {e:#}");
                ExitCode::FAILURE
            }
        },
    }
}
