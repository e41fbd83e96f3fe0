//! `hotbackup`: physical hot backup for MariaDB 10.11, a drop-in for `mariadb-backup`.
//!
//! The binary is thin: it parses mariadb-backup's command line and drives the library
//! crates. Options are parsed by `options`; the modes follow in their issues.

use std::process::ExitCode;

mod exit;
mod options;

const VERSION_LINE: &str = concat!(
    "hotbackup ",
    env!("CARGO_PKG_VERSION"),
    " (mariadb-backup 10.11 compatible)"
);

fn main() -> ExitCode {
    let parsed = options::parse_args_os(std::env::args_os().skip(1), &options::Env::from_process());
    for warning in &parsed.warnings {
        eprintln!("{warning}");
    }
    match parsed.result {
        Err(e) => {
            eprintln!("hotbackup: {e}");
            if e.is_usage() {
                exit::Code::Usage.into()
            } else {
                // Option-file problems exit 1, as in mariadb-backup.
                exit::Code::Failure.into()
            }
        }
        Ok(options::Command::Help) => {
            print!(
                "{}",
                options::help::help_text(VERSION_LINE, &exit::help_table())
            );
            ExitCode::SUCCESS
        }
        Ok(options::Command::Version) => {
            println!("{VERSION_LINE}");
            ExitCode::SUCCESS
        }
        Ok(options::Command::PrintDefaults(text)) => {
            print!("{text}");
            ExitCode::SUCCESS
        }
        Ok(options::Command::Run(opts)) => {
            let what = opts.mode.map_or("--print-param", options::Mode::option);
            eprintln!("hotbackup: {what} is not implemented in this build yet");
            exit::Code::Usage.into()
        }
    }
}
