//! Project automation: `cargo xtask demo`, `cargo xtask bench`.

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("demo") => {
            eprintln!(
                "cargo xtask demo: backup, prepare and copy-back are not implemented yet, so\n\
                 there is nothing to demonstrate end to end. See README.md for what works today."
            );
            ExitCode::from(1)
        }
        _ => {
            eprintln!("usage: cargo xtask demo");
            ExitCode::from(2)
        }
    }
}
