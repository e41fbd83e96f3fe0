//! `hotbackup`: physical hot backup for MariaDB 10.11, a drop-in for `mariadb-backup`.
//!
//! The binary is thin: it parses mariadb-backup's command line and drives the library
//! crates. Options are parsed by `options`; the modes follow in their issues.

use std::process::ExitCode;

mod backup;
mod copyback;
mod exit;
mod failure;
mod log;
mod options;
mod prepare;

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
        Ok(options::Command::Run(opts)) => run(&opts),
    }
}

/// Runs the selected mode; every failure ends with a message and its documented exit code.
fn run(opts: &options::Options) -> ExitCode {
    let log = log::Log::new();
    let args: Vec<String> = std::env::args_os()
        .skip(1)
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let result = match opts.mode {
        Some(options::Mode::Backup) => backup::run(opts, &args, &log),
        Some(options::Mode::Prepare) => prepare::run(opts, &log),
        Some(options::Mode::CopyBack) => copyback::run(opts, &log, false),
        Some(options::Mode::MoveBack) => copyback::run(opts, &log, true),
        other => {
            let what = other.map_or("--print-param", options::Mode::option);
            eprintln!("hotbackup: {what} is not implemented in this build yet");
            return exit::Code::Usage.into();
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            log.fatal(&failure.message);
            failure.code.into()
        }
    }
}
