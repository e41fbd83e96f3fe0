//! Exit codes: documented API, printed by `--help` and listed in README.md.
//! The numbers never change once released; scripts depend on them.

use std::process::ExitCode;

/// Why `hotbackup` ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[allow(dead_code)] // the modes that produce most codes are still being wired in
pub enum Code {
    /// Any failure not classified below, including option-file problems and a privilege the
    /// backup user lacks (as mariadb-backup).
    Failure = 1,
    /// Bad command line.
    Usage = 2,
    /// The server could not be reached, refused the login, or stopped answering.
    Connection = 3,
    /// A data page or the redo log in the *source* stays corrupt after every re-read.
    SourceCorrupt = 4,
    /// The server overwrote redo log that had not been copied yet.
    RedoOverwritten = 5,
    /// Reading or writing a file failed (disk full, permissions, a file that exists).
    Io = 6,
    /// The directory is not in the state the mode needs (not a backup, not prepared,
    /// a non-empty datadir).
    WrongState = 7,
    /// The backup itself is damaged: a corrupt redo log or page, a missing or truncated file.
    BackupCorrupt = 8,
}

const TABLE: &[(Code, &str)] = &[
    (
        Code::Failure,
        "failure not covered below, incl. an unreadable or malformed option file or a \
         missing privilege (as mariadb-backup)",
    ),
    (
        Code::Usage,
        "usage: unknown, invalid or unsupported option, no mode or two modes",
    ),
    (
        Code::Connection,
        "cannot connect to the server, login refused, or the server stopped answering",
    ),
    (
        Code::SourceCorrupt,
        "a source page or log block stays corrupt after re-reading",
    ),
    (
        Code::RedoOverwritten,
        "the server overwrote redo log before it was copied: increase innodb_log_file_size",
    ),
    (
        Code::Io,
        "a file could not be read or written (disk full, permissions, exists)",
    ),
    (
        Code::WrongState,
        "the directory is not a backup, not prepared, or the datadir is not empty",
    ),
    (
        Code::BackupCorrupt,
        "the backup is damaged: corrupt redo log or page, missing or truncated file",
    ),
];

impl From<Code> for ExitCode {
    fn from(code: Code) -> ExitCode {
        ExitCode::from(code as u8)
    }
}

/// The exit-code table as `--help` prints it.
pub fn help_table() -> String {
    let mut s = String::from("Exit codes:\n  0  success\n");
    for (code, what) in TABLE {
        s.push_str(&format!("  {}  {}\n", *code as u8, what));
    }
    s
}
