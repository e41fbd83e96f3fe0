//! `hotbackup`: physical hot backup for MariaDB 10.11, a drop-in for `mariadb-backup`.
//!
//! The binary is thin: it parses mariadb-backup's command line, overwrites any password in
//! its own argv, and drives the library crates for the selected mode.

use std::process::ExitCode;

mod backup;
mod copyback;
mod core_file;
mod decompress;
mod exit;
mod export;
mod failure;
mod keys;
mod log;
mod open_files;
mod options;
mod prepare;
/// Passes over many files in list order with read-ahead (shared with prepare).
pub(crate) use backup_meta::in_order;
mod prepare_incremental;
mod restore;

const VERSION_LINE: &str = concat!(
    "hotbackup ",
    env!("CARGO_PKG_VERSION"),
    " (mariadb-backup 10.11 compatible)"
);

fn main() -> ExitCode {
    let args: Vec<std::ffi::OsString> = std::env::args_os().skip(1).collect();
    let parsed = options::parse_args_os(args.iter().cloned(), &options::Env::from_process());
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
            // The parser accepted only UTF-8 arguments.
            let args: Vec<String> = args
                .iter()
                .map(|a| a.to_string_lossy().into_owned())
                .collect();
            if !options::scrub::scrub(&args, &opts.command_line_secrets) {
                eprintln!(
                    "Warning: hotbackup: could not overwrite the password in this process's \
                     arguments, so other users may see it with ps; put it in an option file \
                     instead ([client] password=... in ~/.my.cnf)"
                );
            }
            if opts.core_file {
                if let Err(e) = core_file::enable() {
                    eprintln!(
                        "Warning: hotbackup: --core-file: cannot raise the core file size \
                         limit: {e}"
                    );
                }
            }
            core_file::test_panic();
            if let Some(text) = &opts.print_param {
                print!("{text}");
                return ExitCode::SUCCESS;
            }
            // What xtrabackup_info and the --history row show: passwords masked.
            let shown = options::secrets::mask(
                &args,
                &opts.command_line_secrets,
                options::secrets::TOOL_COMMAND_MASK,
            );
            run(&opts, &shown)
        }
    }
}

/// Runs the selected mode; every failure ends with a message and its documented exit code.
/// `shown_args` are the arguments with passwords masked.
fn run(opts: &options::Options, shown_args: &[String]) -> ExitCode {
    let log = log::Log::new();
    // Before any mode opens files: prepare and copy-back size their open files from it.
    let (limit, warning) = open_files::apply(opts.open_files_limit);
    if let Some(w) = warning {
        log.info(&format!("Warning: {w}"));
    }
    if opts.mode == Some(options::Mode::Prepare) {
        // mariadb-backup's line (its backup prints it after connecting).
        log.info(&format!(
            "open files limit requested {}, set to {}",
            opts.open_files_limit,
            limit.map_or_else(|| "unlimited".to_string(), |l| l.to_string())
        ));
    }
    if opts.stream && opts.mode != Some(options::Mode::Backup) {
        log.info("Warning: --stream parameter is ignored, it only works together with --backup.");
    }
    let result = match opts.mode {
        Some(options::Mode::Backup) => backup::run(opts, shown_args, &log),
        Some(options::Mode::Prepare) => prepare::run(opts, &log),
        Some(options::Mode::CopyBack) => copyback::run(opts, &log, false),
        Some(options::Mode::MoveBack) => copyback::run(opts, &log, true),
        Some(options::Mode::Decompress) => decompress::run(opts, &log),
        Some(options::Mode::RestoreTables) => restore::run(opts, &log),
        // No mode comes only with --print-param.
        other => {
            let what = other.map_or("no mode", options::Mode::option);
            eprintln!("hotbackup: {what} is not supported by this version of hotbackup");
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
