//! Exit codes: documented API, printed by `--help` and listed in README.md.

use std::process::ExitCode;

/// Why `hotbackup` ended. The numbers never change once released.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Code {
    /// Bad command line or option file.
    Usage = 2,
}

const TABLE: &[(Code, &str)] = &[(Code::Usage, "usage: unknown or invalid option, missing mode")];

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
