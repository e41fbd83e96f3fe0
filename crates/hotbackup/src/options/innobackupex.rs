//! `--innobackupex` as the first argument: mariadb-backup 10.11's old innobackupex command
//! line (`innobackupex.cc`), translated into the ordinary one before parsing.
//!
//! ```text
//! --innobackupex [OPTIONS] DIR                 → --backup --target-dir=DIR/YYYY-MM-DD_HH-MM-SS
//! --innobackupex --no-timestamp [OPTIONS] DIR  → --backup --target-dir=DIR
//! --innobackupex --apply-log [OPTIONS] DIR     → --apply-log --target-dir=DIR  (= --prepare)
//! --innobackupex --copy-back|--move-back DIR   → the same mode, --target-dir=DIR
//! ```
//!
//! Every other option keeps its place and spelling: mariadb-backup parses the rest of an
//! innobackupex command line with its ordinary options too, and the normal parser then
//! accepts or refuses each one as it would without `--innobackupex`. `--incremental` only
//! allows `--incremental-basedir`, `--incremental-lsn`, `--incremental-history-name/uuid`
//! (innobackupex refuses them without it) and is then dropped. `--include=REGEXP` becomes
//! `--tables=REGEXP` for a backup (and is dropped otherwise), as innobackupex does. The
//! innobackupex-only options without a counterpart (`--decompress`, `--version`, `--help`,
//! which print innobackupex's own texts) and short options are refused (exit 2, naming
//! them). Arguments keep their text, so the parser's password
//! positions map back to the real argv through [`Translated::origin`].

use super::{Error, ErrorKind};

/// innobackupex options that take a required value, which may be the next argument
/// (`--user root`); the positional directory is the one argument that is neither an
/// option nor such a value.
const REQUIRED_VALUE: &[&str] = &[
    "user",
    "host",
    "port",
    "socket",
    "incremental-history-name",
    "incremental-history-uuid",
    "ftwrl-wait-query-type",
    "kill-long-query-type",
    "include",
    "databases",
    "kill-long-queries-timeout",
    "ftwrl-wait-timeout",
    "startup-wait-timeout",
    "ftwrl-wait-threshold",
    "safe-slave-backup-timeout",
    "compress-threads",
    "compress-chunk-size",
    "extra-lsndir",
    "incremental-basedir",
    "incremental-dir",
    "log-copy-interval",
    "incremental-lsn",
    "parallel",
    "stream",
    "tables-file",
    "throttle",
    "tmpdir",
    "use-memory",
    "defaults-file",
    "defaults-extra-file",
    "defaults-group-suffix",
];

/// What an incremental backup needs with innobackupex's `--incremental`.
const INCREMENTAL_SOURCES: &[&str] = &[
    "incremental-basedir",
    "incremental-lsn",
    "incremental-history-name",
    "incremental-history-uuid",
];

/// innobackupex-only options that are not translated.
const REFUSED: &[(&str, &str)] = &[
    ("decompress", "use hotbackup --decompress --target-dir=DIR"),
    ("version", "use hotbackup --version"),
    ("help", "use hotbackup --help"),
];

/// The command line after translation.
#[derive(Debug, PartialEq, Eq)]
pub struct Translated {
    /// Arguments for the ordinary parser.
    pub args: Vec<String>,
    /// For each of `args`, the index in the original arguments (after `--innobackupex`,
    /// which is index 0 there) it was taken from unchanged, if any.
    pub origin: Vec<Option<usize>>,
    /// `--apply-log`: mariadb-backup's messages name it instead of `--prepare`.
    pub apply_log: bool,
}

/// Translates the arguments that follow `--innobackupex` (`args[0]` is `--innobackupex`
/// itself). `timestamp` names the backup directory without `--no-timestamp`
/// (`YYYY-MM-DD_HH-MM-SS`, local time).
pub fn translate(args: &[String], timestamp: &str) -> Result<Translated, Error> {
    let mut out = Translated {
        args: Vec::new(),
        origin: Vec::new(),
        apply_log: false,
    };
    let mut position: Option<&str> = None;
    let mut no_timestamp = false;
    let mut other_mode = false;
    let mut incremental = false;
    let mut incremental_source: Option<String> = None;
    let mut include: Option<String> = None;
    let mut i = 1;
    while i < args.len() {
        let arg = args[i].as_str();
        let Some(body) = arg.strip_prefix("--") else {
            if arg.starts_with('-') && arg.len() > 1 {
                // innobackupex's short connection options, value attached or next; the
                // password (-p) is not: its value would have to be scrubbed from argv.
                let long = SHORT.iter().find(|(c, _)| arg[1..].starts_with(*c));
                let Some((short, long)) = long else {
                    return Err(refuse(format!(
                        "{arg}: short options other than -u, -H, -P, -S are not translated; \
                         spell them out (--password=..., ...)"
                    )));
                };
                let value = match &arg[1 + short.len()..] {
                    "" if i + 1 < args.len() => {
                        i += 1;
                        args[i].clone()
                    }
                    "" => return Err(refuse(format!("{arg} needs a value"))),
                    attached => attached.to_string(),
                };
                out.args.push(format!("--{long}={value}"));
                out.origin.push(None);
                i += 1;
                continue;
            }
            if let Some(first) = position {
                return Err(refuse(format!(
                    "extra argument {arg:?} (the backup directory is already {first:?})"
                )));
            }
            position = Some(arg);
            i += 1;
            continue;
        };
        let (name, has_value) = match body.split_once('=') {
            Some((n, _)) => (n, true),
            None => (body, false),
        };
        let name = name.replace('_', "-").to_ascii_lowercase();
        if let Some((_, why)) = REFUSED.iter().find(|(n, _)| *n == name) {
            return Err(refuse(format!("--{name} is not translated: {why}")));
        }
        match name.as_str() {
            "no-timestamp" => no_timestamp = true,
            "incremental" => incremental = true,
            "include" => {
                include = match body.split_once('=') {
                    Some((_, v)) => Some(v.to_string()),
                    None if i + 1 < args.len() => {
                        i += 1;
                        Some(args[i].clone())
                    }
                    None => None,
                };
            }
            _ => {
                if INCREMENTAL_SOURCES.contains(&name.as_str()) {
                    incremental_source = Some(name.clone());
                }
                match name.as_str() {
                    "apply-log" => out.apply_log = true,
                    "copy-back" | "move-back" | "prepare" | "backup" => other_mode = true,
                    _ => {}
                }
                out.args.push(arg.to_string());
                out.origin.push(Some(i));
                if !has_value && REQUIRED_VALUE.contains(&name.as_str()) && i + 1 < args.len() {
                    i += 1;
                    out.args.push(args[i].clone());
                    out.origin.push(Some(i));
                }
            }
        }
        i += 1;
    }
    match (incremental, incremental_source) {
        (false, Some(name)) => {
            return Err(refuse(format!(
                "--{name} requires the --incremental option (as in innobackupex)"
            )))
        }
        (true, None) => {
            return Err(refuse(
                "--incremental needs --incremental-basedir or --incremental-lsn".to_string(),
            ))
        }
        _ => {}
    }
    let Some(dir) = position else {
        return Err(refuse(
            "missing argument: the backup directory (innobackupex [OPTIONS] DIR)".to_string(),
        ));
    };
    let backup = !out.apply_log && !other_mode;
    let target = if backup && !no_timestamp {
        format!("{}/{timestamp}", dir.trim_end_matches('/'))
    } else {
        dir.to_string()
    };
    if backup {
        if let Some(regexp) = include {
            out.args.push(format!("--tables={regexp}"));
            out.origin.push(None);
        }
        out.args.push("--backup".to_string());
        out.origin.push(None);
    }
    out.args.push(format!("--target-dir={target}"));
    out.origin.push(None);
    Ok(out)
}

/// innobackupex's short options that are translated, with their long names.
const SHORT: &[(&str, &str)] = &[("u", "user"), ("H", "host"), ("P", "port"), ("S", "socket")];

fn refuse(what: String) -> Error {
    Error::new(ErrorKind::Unsupported, format!("--innobackupex: {what}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(args: &[&str]) -> Vec<String> {
        std::iter::once("--innobackupex")
            .chain(args.iter().copied())
            .map(String::from)
            .collect()
    }

    const TS: &str = "2026-12-03_04-05-06";

    #[test]
    fn modes_and_the_backup_directory() {
        let cases: &[(&[&str], &[&str], bool)] = &[
            (
                &[
                    "--Apply_log",
                    "-u",
                    "root",
                    "-Hh",
                    "-P3307",
                    "-S",
                    "/s",
                    "/b",
                ],
                &[
                    "--Apply_log",
                    "--user=root",
                    "--host=h",
                    "--port=3307",
                    "--socket=/s",
                    "--target-dir=/b",
                ],
                true,
            ),
            (
                &["--defaults-file=/m.cnf", "--no-timestamp", "/b"],
                &["--defaults-file=/m.cnf", "--backup", "--target-dir=/b"],
                false,
            ),
            (
                &["--defaults-file=/m.cnf", "/b/"],
                &[
                    "--defaults-file=/m.cnf",
                    "--backup",
                    "--target-dir=/b/2026-12-03_04-05-06",
                ],
                false,
            ),
            (
                &["--apply-log", "--innodb-force-recovery=2", "/b"],
                &[
                    "--apply-log",
                    "--innodb-force-recovery=2",
                    "--target-dir=/b",
                ],
                true,
            ),
            // --include is --tables for a backup, ignored otherwise.
            (
                &["--include", "^db[.]t", "--no-timestamp", "/b"],
                &["--tables=^db[.]t", "--backup", "--target-dir=/b"],
                false,
            ),
            (
                &["--apply-log", "--include=x", "/b"],
                &["--apply-log", "--target-dir=/b"],
                true,
            ),
            // --no-timestamp only matters for a backup.
            (
                &[
                    "--defaults-file=/b/backup-my.cnf",
                    "--apply-log",
                    "--export",
                    "/b",
                ],
                &[
                    "--defaults-file=/b/backup-my.cnf",
                    "--apply-log",
                    "--export",
                    "--target-dir=/b",
                ],
                true,
            ),
            (
                &["--copy-back", "--no-timestamp", "/b"],
                &["--copy-back", "--target-dir=/b"],
                false,
            ),
            // --incremental is dropped; the ordinary parser judges --incremental-basedir.
            (
                &[
                    "--incremental",
                    "--incremental-basedir",
                    "/f",
                    "--no-timestamp",
                    "/b",
                ],
                &["--incremental-basedir", "/f", "--backup", "--target-dir=/b"],
                false,
            ),
            // A required value may be the next argument; it is not the directory.
            (
                &["--user", "root", "--password=pw", "--no-timestamp", "/b"],
                &[
                    "--user",
                    "root",
                    "--password=pw",
                    "--backup",
                    "--target-dir=/b",
                ],
                false,
            ),
        ];
        for (args, want, apply_log) in cases {
            let t = translate(&s(args), TS).unwrap_or_else(|e| panic!("{args:?}: {e}"));
            assert_eq!(t.args, *want, "{args:?}");
            assert_eq!(t.apply_log, *apply_log, "{args:?}");
            assert_eq!(t.origin.len(), t.args.len());
            // Every kept argument maps back to the same text.
            for (a, o) in t.args.iter().zip(&t.origin) {
                if let Some(o) = o {
                    assert_eq!(&s(args)[*o], a, "{args:?}");
                }
            }
        }
    }

    #[test]
    fn refusals_name_the_argument() {
        let cases: &[(&[&str], &str)] = &[
            (&["--no-timestamp"], "missing argument"),
            (&["/a", "/b"], "extra argument \"/b\""),
            (
                &["--incremental", "/b"],
                "--incremental needs --incremental-basedir",
            ),
            (
                &["--incremental-basedir=/f", "/b"],
                "--incremental-basedir requires the --incremental option",
            ),
            (&["--decompress", "/b"], "--decompress is not translated"),
            (&["-psecret", "/b"], "-psecret: short options other than"),
            (&["-u"], "-u needs a value"),
            (&["--version"], "--version is not translated"),
        ];
        for (args, want) in cases {
            let e = translate(&s(args), TS).unwrap_err();
            assert_eq!(e.kind, ErrorKind::Unsupported, "{args:?}");
            assert!(
                e.message.starts_with("--innobackupex: ") && e.message.contains(want),
                "{args:?}: {}",
                e.message
            );
        }
    }
}
