//! Writes the generated files — the TypeScript declarations
//! (`wasm/ts/enlace.d.ts`) and the web demo's lists of the engine's names
//! (`web-demo/generated/enums.js`) — or with `--check` fails when a
//! committed file differs from what the Rust types generate.
//! Run through `cargo xtask codegen [--check]`.

use std::process::ExitCode;

fn main() -> ExitCode {
    let check = std::env::args().skip(1).any(|a| a == "--check");
    let mut ok = true;
    for (path, generated) in enlace_wasm::typescript::outputs() {
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        if committed == generated {
            println!("{} is up to date", path.display());
            continue;
        }
        if check {
            eprintln!(
                "{} is stale: the Rust types changed. Run `cargo xtask codegen` and commit the result.",
                path.display()
            );
            ok = false;
            continue;
        }
        let written = path
            .parent()
            .map_or(Ok(()), std::fs::create_dir_all)
            .and_then(|()| std::fs::write(&path, &generated));
        match written {
            Ok(()) => println!("wrote {} ({} bytes)", path.display(), generated.len()),
            Err(e) => {
                eprintln!("cannot write {}: {e}", path.display());
                ok = false;
            }
        }
    }
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
