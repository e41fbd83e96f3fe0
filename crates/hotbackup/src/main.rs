//! `hotbackup`: physical hot backup for MariaDB 10.11, a drop-in for `mariadb-backup`.
//!
//! The binary is thin: it parses mariadb-backup's command line and drives the library
//! crates. Only `--help` and `--version` exist so far; the modes follow in their issues.

use std::process::ExitCode;

mod exit;

const VERSION_LINE: &str = concat!(
    "hotbackup ",
    env!("CARGO_PKG_VERSION"),
    " (mariadb-backup 10.11 compatible)"
);

fn usage() -> String {
    format!(
        "{VERSION_LINE}\n\
         Physical hot backup for MariaDB 10.11, a drop-in for mariadb-backup.\n\n\
         Usage: hotbackup [--defaults-file=#] [--backup | --prepare | --copy-back | --move-back] [OPTIONS]\n\n\
         Modes (not implemented yet in this build; see README.md for the status of each):\n\
         \x20 --backup            take a backup of a running server to --target-dir\n\
         \x20 --prepare           apply the copied redo log so the backup is consistent\n\
         \x20 --copy-back         copy a prepared backup into an empty datadir\n\
         \x20 --move-back         move a prepared backup into an empty datadir\n\n\
         Options:\n\
         \x20 --target-dir=DIR    the backup directory\n\
         \x20 -?, --help          print this help and exit\n\
         \x20 -v, --version       print version information and exit\n\n\
         {}",
        exit::help_table()
    )
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.is_empty() {
        eprint!("{}", usage());
        return exit::Code::Usage.into();
    }
    for arg in &args {
        match arg.as_str() {
            "--help" | "-?" | "-h" => {
                print!("{}", usage());
                return ExitCode::SUCCESS;
            }
            "--version" | "-v" => {
                println!("{VERSION_LINE}");
                return ExitCode::SUCCESS;
            }
            _ => {}
        }
    }
    eprintln!(
        "hotbackup: '{}' is not supported by this build yet; run 'hotbackup --help'",
        args[0]
    );
    exit::Code::Usage.into()
}
