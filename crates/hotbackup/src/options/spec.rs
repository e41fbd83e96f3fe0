//! What an option is: argument kind, bounds, which of mariadb-backup's two option tables it
//! belongs to, and its [`State`] in hotbackup. The options themselves are in `table.rs`.
//!
//! The split into [`Scope::Server`] and [`Scope::Client`] is not cosmetic: it is how
//! mariadb-backup decides which option-file groups may set an option (see `parse.rs`). The two
//! lists are the two "Variables" tables at the end of `mariadb-backup --help`.

/// Which of mariadb-backup's option tables an option is in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// `xb_server_options`: may come from the server groups (`[mysqld]`, `[server]`, …).
    Server,
    /// `xb_client_options`: may come from the client groups (`[client]`, …).
    Client,
}

/// Whether an option arrives as a bare switch or with a value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Arg {
    /// `--opt=x` or `--opt x` (the next argument, on the command line only).
    Required,
    /// `--opt` or `--opt=x`, never the next argument.
    Optional,
}

/// What kind of value an option holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Boolean: `--x`, `--x=1|0|ON|OFF|TRUE|FALSE`, `--skip-x`, `--disable-x`, `--enable-x`.
    Bool {
        /// Value when not given.
        default: bool,
    },
    /// A switch with no value and no negation (`--core-file`).
    Flag,
    /// Free text (paths, names, filters).
    Text(Arg),
    /// Integer with MariaDB's K/M/G/T/P/E suffixes, clamped to `min..=max` with a warning and
    /// rounded down to a multiple of `block`.
    Num {
        /// How the value is given.
        arg: Arg,
        /// Value when not given.
        default: i64,
        /// Smallest value; smaller ones are raised with a warning.
        min: i64,
        /// Largest value; larger ones are lowered with a warning.
        max: i64,
        /// Values are rounded down to a multiple of this (1: no rounding).
        block: i64,
        /// Negative values are an error rather than clamped (my_getopt `GET_U*`).
        unsigned: bool,
    },
    /// One of a fixed list, case-insensitive, or its 0-based index (as my_getopt allows).
    Enum {
        /// How the value is given.
        arg: Arg,
        /// The accepted names, in index order; the first is the default.
        values: &'static [&'static str],
    },
}

/// What hotbackup does with an option. Every option is in exactly one state, and `--help` says
/// which: no option is accepted and silently ignored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    /// hotbackup does what mariadb-backup 10.11 does with it; its value reaches
    /// [`crate::options::Options`] and the binary reads it.
    Implemented,
    /// Accepted with no effect because mariadb-backup 10.11 has none either (obsolete or
    /// disabled options kept for old scripts); `--help` says "no effect, as in mariadb-backup
    /// 10.11".
    NoEffect,
    /// Not supported by this version of hotbackup: a value that asks for something (see
    /// [`Accepts`]) is refused with exit 2 and nothing is written (`refuse.rs`).
    Refused {
        /// What a value from a shared option-file group does.
        shared: Shared,
        /// Which values are accepted anyway.
        accepts: Accepts,
    },
}

/// How a [`State::Refused`] option is treated when it comes from a group that hotbackup shares
/// with the server or the other clients (`[mysqld]`, `[server]`, `[client]`, … — see
/// `parse.rs`). On the command line and in the tool groups (`[mariadb-backup]`, …) it is always
/// refused: there it can only be meant for the backup tool.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shared {
    /// Refused from shared groups too: the value would change what the backup contains or
    /// how it is made (`[client] databases=…` would make mariadb-backup take a partial backup).
    Refuse,
    /// The value is the server's own setting or a tuning knob of mariadb-backup's embedded
    /// InnoDB (`[mysqld] innodb_flush_method`, `tmpdir`, `open_files_limit`, …): it cannot
    /// change the files hotbackup writes. Ignored with a warning naming the file and line.
    Warn,
}

/// Which values of a [`State::Refused`] option are accepted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Accepts {
    /// The default value (`--compress-threads=1`, `--encrypted-backup`): it asks for nothing
    /// that hotbackup does not do. Any other value is refused.
    Default,
    /// Only an explicit off (`--skip-rocksdb-backup`): the option is on by
    /// default in mariadb-backup and hotbackup behaves as if it were off.
    Off,
}

/// One option.
#[derive(Clone, Copy, Debug)]
pub struct Spec {
    /// Canonical long name, with dashes.
    pub name: &'static str,
    /// Single-letter form, if any.
    pub short: Option<char>,
    /// Value kind.
    pub kind: Kind,
    /// Which table (decides which option-file groups may set it).
    pub scope: Scope,
    /// Implemented, without effect, or refused.
    pub state: State,
    /// One-line help; empty means hidden from `--help` (like mariadb-backup's hidden options).
    pub help: &'static str,
}

impl Spec {
    /// Whether the option needs a value (so `--opt value` takes the next argument).
    pub fn requires_value(&self) -> bool {
        matches!(
            self.kind,
            Kind::Text(Arg::Required)
                | Kind::Num {
                    arg: Arg::Required,
                    ..
                }
                | Kind::Enum {
                    arg: Arg::Required,
                    ..
                }
        )
    }

    /// The `--name=#` / `--name[=name]` label as `--help` shows it.
    pub fn help_label(&self) -> String {
        let value = match self.kind {
            Kind::Bool { .. } | Kind::Flag => "",
            Kind::Text(Arg::Required)
            | Kind::Enum {
                arg: Arg::Required, ..
            } => "=name",
            Kind::Text(_) | Kind::Enum { .. } => "[=name]",
            Kind::Num {
                arg: Arg::Required, ..
            } => "=#",
            Kind::Num { .. } => "[=#]",
        };
        match self.short {
            Some(c) => format!("-{c}, --{}{value}", self.name),
            None => format!("--{}{value}", self.name),
        }
    }

    /// A command-line argument that asks for what a refused option does (so it is refused):
    /// `--compress`, `--skip-encrypted-backup`. `None` for the other states. `--help`
    /// lists these, and the tests give each one to the parser and the binary.
    pub fn refused_example(&self) -> Option<String> {
        let State::Refused { accepts, .. } = self.state else {
            return None;
        };
        let name = self.name;
        Some(match self.kind {
            Kind::Bool { default: true } if accepts == Accepts::Default => format!("--skip-{name}"),
            Kind::Bool { .. } | Kind::Flag => format!("--{name}"),
            Kind::Text(_) => format!("--{name}=x"),
            Kind::Num { default, max, .. } => format!(
                "--{name}={}",
                if default < max {
                    default + 1
                } else {
                    default - 1
                }
            ),
            Kind::Enum { values, .. } => format!("--{name}={}", values[0]),
        })
    }
}

pub(super) const fn b(name: &'static str, default: bool, scope: Scope, help: &'static str) -> Spec {
    Spec {
        name,
        short: None,
        kind: Kind::Bool { default },
        scope,
        state: State::Implemented,
        help,
    }
}

pub(super) const fn t(name: &'static str, scope: Scope, help: &'static str) -> Spec {
    Spec {
        name,
        short: None,
        kind: Kind::Text(Arg::Required),
        scope,
        state: State::Implemented,
        help,
    }
}

pub(super) const fn n(
    name: &'static str,
    default: i64,
    min: i64,
    max: i64,
    scope: Scope,
    help: &'static str,
) -> Spec {
    Spec {
        name,
        short: None,
        kind: Kind::Num {
            arg: Arg::Required,
            default,
            min,
            max,
            block: 1,
            unsigned: true,
        },
        scope,
        state: State::Implemented,
        help,
    }
}

pub(super) const fn e(
    name: &'static str,
    arg: Arg,
    values: &'static [&'static str],
    scope: Scope,
    help: &'static str,
) -> Spec {
    Spec {
        name,
        short: None,
        kind: Kind::Enum { arg, values },
        scope,
        state: State::Implemented,
        help,
    }
}

pub(super) const fn short(mut spec: Spec, c: char) -> Spec {
    spec.short = Some(c);
    spec
}

/// Accepted without effect: mariadb-backup 10.11 has none either.
pub(super) const fn no_effect(mut spec: Spec) -> Spec {
    spec.state = State::NoEffect;
    spec
}

/// Refused wherever it is given with a value other than the default.
pub(super) const fn refused(mut spec: Spec) -> Spec {
    spec.state = State::Refused {
        shared: Shared::Refuse,
        accepts: Accepts::Default,
    };
    spec
}

/// Refused on the command line and in the tool groups; from the server's or clients' shared
/// groups ignored with a warning (see [`Shared::Warn`]).
pub(super) const fn server_setting(mut spec: Spec) -> Spec {
    spec.state = State::Refused {
        shared: Shared::Warn,
        accepts: Accepts::Default,
    };
    spec
}

/// A refused boolean that is on by default, of which only an explicit off is accepted.
pub(super) const fn accepts_off(mut spec: Spec) -> Spec {
    if let State::Refused { shared, .. } = spec.state {
        spec.state = State::Refused {
            shared,
            accepts: Accepts::Off,
        };
    }
    spec
}

pub(super) const fn with_arg(mut spec: Spec, arg: Arg) -> Spec {
    spec.kind = match spec.kind {
        Kind::Text(_) => Kind::Text(arg),
        Kind::Num {
            default,
            min,
            max,
            block,
            unsigned,
            ..
        } => Kind::Num {
            arg,
            default,
            min,
            max,
            block,
            unsigned,
        },
        other => other,
    };
    spec
}

pub(super) const fn signed(mut spec: Spec) -> Spec {
    if let Kind::Num {
        arg,
        default,
        min,
        max,
        block,
        ..
    } = spec.kind
    {
        spec.kind = Kind::Num {
            arg,
            default,
            min,
            max,
            block,
            unsigned: false,
        };
    }
    spec
}

pub(super) const fn block(mut spec: Spec, size: i64) -> Spec {
    if let Kind::Num {
        arg,
        default,
        min,
        max,
        unsigned,
        ..
    } = spec.kind
    {
        spec.kind = Kind::Num {
            arg,
            default,
            min,
            max,
            block: size,
            unsigned,
        };
    }
    spec
}

/// A text option whose value is not checked (we never use it, and strict checking would
/// only break option files shared with the server).
pub(super) const fn any(name: &'static str, arg: Arg, scope: Scope, help: &'static str) -> Spec {
    with_arg(t(name, scope, help), arg)
}

pub(super) const UINT_MAX: i64 = u32::MAX as i64;
pub(super) const LLONG_MAX: i64 = i64::MAX;

use super::table::SPECS;

/// Finds an option by long name; `-` and `_` are interchangeable, case matters (as in
/// my_getopt). There is no prefix matching: mariadb-backup 10.11 rejects `--ver`.
pub fn find(name: &str) -> Option<&'static Spec> {
    SPECS
        .iter()
        .find(|s| super::cnf::same_option_name(s.name, name))
}

/// Finds an option by its single-letter form.
pub fn find_short(c: char) -> Option<&'static Spec> {
    SPECS.iter().find(|s| s.short == Some(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_shorts_are_unique() {
        for (i, a) in SPECS.iter().enumerate() {
            for b in &SPECS[i + 1..] {
                assert_ne!(a.name, b.name);
                if a.short.is_some() {
                    assert_ne!(a.short, b.short, "{} and {}", a.name, b.name);
                }
            }
        }
    }

    #[test]
    fn every_option_of_mariadb_backup_help_is_known() {
        // The variables tables of shared/docs/mariabackup-help.txt, plus the options shown
        // only in the option list (core-file, ftwrl-wait-query-type, ...) and hidden ones.
        let names = "datadir tmpdir parallel extended-validation encrypted-backup log log-bin \
            innodb innodb-adaptive-hash-index innodb-autoextend-increment innodb-data-file-path \
            innodb-data-home-dir innodb-doublewrite innodb-io-capacity innodb-file-io-threads \
            innodb-read-io-threads innodb-write-io-threads innodb-file-per-table \
            innodb-flush-method innodb-log-buffer-size innodb-log-file-mmap \
            innodb-log-file-buffering innodb-log-file-size innodb-log-group-home-dir \
            innodb-log-write-ahead-size innodb-max-dirty-pages-pct innodb-use-native-aio \
            innodb-linux-aio innodb-page-size innodb-buffer-pool-filename \
            innodb-checksum-algorithm innodb-undo-directory innodb-undo-tablespaces \
            innodb-compression-level defaults-group plugin-dir aria-log-dir-path \
            open-files-limit lock-ddl-per-table rocksdb-datadir rocksdb-backup check-privileges \
            innodb-force-recovery innodb-log-checkpoint-now mysqld-args help verbose version \
            target-dir backup prepare export print-param use-memory throttle log-copy-interval \
            extra-lsndir incremental-lsn incremental-basedir incremental-dir tables tables-file \
            databases databases-file tables-exclude databases-exclude stream compress \
            compress-threads compress-chunk-size incremental-force-scan close-files copy-back \
            move-back galera-info slave-info no-lock safe-slave-backup rsync no-backup-locks \
            force-non-empty-directories no-version-check decompress user host port socket \
            incremental-history-name incremental-history-uuid remove-original \
            kill-long-query-type ftwrl-wait-timeout startup-wait-timeout \
            safe-slave-backup-timeout binlog-info secure-auth log-innodb-page-corruption \
            login-path apply-log ssl ssl-ca ssl-capath ssl-cert ssl-cipher ssl-key ssl-crl \
            ssl-crlpath tls-version ssl-verify-server-cert password protocol core-file \
            ftwrl-wait-query-type kill-long-queries-timeout ftwrl-wait-threshold history";
        for name in names.split_whitespace() {
            assert!(find(name).is_some(), "{name}");
        }
        assert!(find("innodb_log_group_home_dir").is_some());
        // Removed in 10.11 / never existed: must stay unknown.
        for name in ["apply-log-only", "incremental", "ver", "targ"] {
            assert!(find(name).is_none(), "{name}");
        }
    }

    #[test]
    fn help_labels() {
        assert_eq!(find("user").unwrap().help_label(), "-u, --user=name");
        assert_eq!(find("history").unwrap().help_label(), "--history[=name]");
        assert_eq!(find("parallel").unwrap().help_label(), "--parallel=#");
        assert_eq!(find("backup").unwrap().help_label(), "--backup");
        assert_eq!(find("help").unwrap().help_label(), "-?, --help");
    }
}
