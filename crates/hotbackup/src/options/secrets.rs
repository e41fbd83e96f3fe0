//! Where the passwords are on the command line, and the masked copies of it that may be shown
//! (`xtrabackup_info`'s `tool_command`, the `--history` row, `--print-defaults`).
//!
//! The parser records every password value it takes from the command line, whatever the form
//! (`--password=S`, `--password S`, `--loose-password=S`, `--loose_password=S`, `-pS`, `-p S`,
//! `-upS`-style clusters, each occurrence when given twice): masking follows the parser, not a
//! second, textual idea of what a password looks like. Passwords from option files never
//! appear in the command line.

/// A password on the command line: argument `arg` (0-based, in the arguments after the program
/// name) from byte `start` to its end.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Secret {
    /// Index of the argument.
    pub arg: usize,
    /// First byte of the value in that argument (0 when the whole argument is the value).
    pub start: usize,
}

/// mariadb-backup's mask in `tool_command` (`--password=...`, `-p...`).
pub const TOOL_COMMAND_MASK: &str = "...";

/// `args` with each secret's bytes replaced by `mask`: `--password=S` → `--password=...`,
/// `-p S` → `-p ...`.
pub fn mask(args: &[String], secrets: &[Secret], mask: &str) -> Vec<String> {
    let mut out = args.to_vec();
    for s in secrets {
        if let Some(arg) = out.get_mut(s.arg) {
            if arg.is_char_boundary(s.start) {
                arg.truncate(s.start);
                arg.push_str(mask);
            } else {
                *arg = mask.to_string();
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::options::{parse_args, Command, Env};

    /// Every form of the password the parser accepts, masked as `tool_command` shows it.
    #[test]
    fn every_password_form_is_masked() {
        let cases: &[(&[&str], &str)] = &[
            (
                &["--backup", "--password=S3cret"],
                "--backup --password=...",
            ),
            (
                &["--backup", "--password", "S3cret"],
                "--backup --password ...",
            ),
            (&["--backup", "-pS3cret"], "--backup -p..."),
            (&["--backup", "-p", "S3cret"], "--backup -p ..."),
            (
                &["--backup", "--loose-password=S3cret"],
                "--backup --loose-password=...",
            ),
            (
                &["--backup", "--loose_password=S3cret"],
                "--backup --loose_password=...",
            ),
            (
                &["--backup", "--loose-password", "S3cret"],
                "--backup --loose-password ...",
            ),
            (&["--backup", "-p", "--S3cret"], "--backup -p ..."),
            (
                &["--backup", "--password=S3cret", "-pS3cret2", "--user=S3"],
                "--backup --password=... -p... --user=S3",
            ),
            (
                &["--mysqld-args", "--backup", "--password=S3cret"],
                "--mysqld-args --backup --password=...",
            ),
            (&["--backup", "--password="], "--backup --password=..."),
            // The file key of an encrypted key file is a secret too.
            (
                &["--prepare", "--file-key-management-filekey=S3cret"],
                "--prepare --file-key-management-filekey=...",
            ),
            (
                &["--prepare", "--file-key-management-filekey", "FILE:/S3cret"],
                "--prepare --file-key-management-filekey ...",
            ),
            // After the leading --defaults-* arguments the indexes still match.
            (
                &["--no-defaults", "--backup", "-pS3cret"],
                "--no-defaults --backup -p...",
            ),
        ];
        for (args, want) in cases {
            let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
            let parsed = parse_args(&args, &Env::default());
            let Ok(Command::Run(opts)) = &parsed.result else {
                panic!("{args:?}: {:?}", parsed.result);
            };
            let shown = mask(&args, &opts.command_line_secrets, TOOL_COMMAND_MASK).join(" ");
            assert_eq!(&shown, want, "{args:?}");
            assert!(!shown.contains("S3cret"), "{shown}");
        }
    }

    #[test]
    fn mask_replaces_the_tail() {
        let args = vec!["-upS".to_string(), "x".to_string()];
        let secrets = [Secret { arg: 0, start: 3 }, Secret { arg: 1, start: 0 }];
        assert_eq!(mask(&args, &secrets, "*"), vec!["-up*", "*"]);
        // Out of range secrets are ignored rather than panicking.
        assert_eq!(mask(&args, &[Secret { arg: 9, start: 0 }], "*"), args);
    }
}
