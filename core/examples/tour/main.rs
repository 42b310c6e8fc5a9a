//! The guided tour of the engine on the seeded synthetic network:
//!
//! ```text
//! cargo run -p enlace-core --example tour
//! ```
//!
//! It plays one morning of a small regional network in memory — bookings,
//! refusals, a reschedule, a cancellation that the waitlist takes up, and
//! the whole referral loop of a high-risk pregnancy from a rural clinic to
//! a hospital and back — then reads the reports and checks the audit
//! chain. The clock is part of the seeded network, nothing is read or
//! written, and every run prints the same text. Each step goes through the
//! engine's one door (`Engine::execute` or `Engine::query`), exactly as a
//! face would; this is an example of core, not a face.
//!
//! `guide.rs` holds the engine, the people and how each step is told; the
//! chapters are `scheduling.rs`, `referral.rs` and `reports.rs`.
//! `core/tests/tour.rs` includes this file and checks the story, so
//! `cargo test` plays the tour too.

mod guide;
mod referral;
mod reports;
mod scheduling;

use guide::Tour;
use std::process::ExitCode;

/// Plays the tour and returns its narrative, or what went wrong if the
/// engine did not behave as the tour expects.
pub fn narrate() -> Result<String, String> {
    let mut d = Tour::seed()?;
    d.say("Enlace demo: the scheduling and referral engine on a seeded synthetic network.");
    d.say(
        "Everything below is synthetic (no real person, facility or agreement) and happens in \
         memory; times are shown in each facility's own time zone.",
    );
    d.network()?;
    let first = d.bookings()?;
    d.waitlist(first)?;
    d.referral_loop()?;
    d.reports()?;
    d.audit()?;
    d.say("");
    d.say(
        "That was a demo: a synthetic network, a fixed clock, nothing saved. Every \
         decision above was made by enlace-core; run it again and the output is identical.",
    );
    Ok(d.out)
}

fn main() -> ExitCode {
    match narrate() {
        Ok(text) => {
            print!("{text}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("tour: {e}");
            ExitCode::FAILURE
        }
    }
}
