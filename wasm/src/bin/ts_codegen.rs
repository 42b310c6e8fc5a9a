//! Writes the generated TypeScript declarations to `wasm/ts/enlace.d.ts`,
//! or with `--check` fails when the committed file differs from them.
//! Run through `cargo xtask codegen [--check]`.

use std::process::ExitCode;

fn main() -> ExitCode {
    let check = std::env::args().skip(1).any(|a| a == "--check");
    let path = enlace_wasm::typescript::committed_path();
    let generated = enlace_wasm::typescript::definitions();
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    if committed == generated {
        println!("{} is up to date", path.display());
        return ExitCode::SUCCESS;
    }
    if check {
        eprintln!(
            "{} is stale: the Rust types changed. Run `cargo xtask codegen` and commit the result.",
            path.display()
        );
        return ExitCode::FAILURE;
    }
    if let Err(e) = std::fs::write(&path, &generated) {
        eprintln!("cannot write {}: {e}", path.display());
        return ExitCode::FAILURE;
    }
    println!("wrote {} ({} bytes)", path.display(), generated.len());
    ExitCode::SUCCESS
}
