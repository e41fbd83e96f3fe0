//! The option table: every option `mariadb-backup` 10.11 accepts, with its argument kind,
//! bounds and which of mariadb-backup's two option tables it belongs to.
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

/// Whether hotbackup uses an option or only accepts it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Effect {
    /// Parsed into [`crate::options::Options`].
    Used,
    /// Accepted for compatibility (option files shared with the server, old scripts) and
    /// ignored; recorded in `Options::ignored`.
    Ignored,
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
    /// Used or only accepted.
    pub effect: Effect,
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
}

const fn b(name: &'static str, default: bool, scope: Scope, help: &'static str) -> Spec {
    Spec {
        name,
        short: None,
        kind: Kind::Bool { default },
        scope,
        effect: Effect::Used,
        help,
    }
}

const fn t(name: &'static str, scope: Scope, help: &'static str) -> Spec {
    Spec {
        name,
        short: None,
        kind: Kind::Text(Arg::Required),
        scope,
        effect: Effect::Used,
        help,
    }
}

const fn n(
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
        effect: Effect::Used,
        help,
    }
}

const fn e(
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
        effect: Effect::Used,
        help,
    }
}

const fn short(mut spec: Spec, c: char) -> Spec {
    spec.short = Some(c);
    spec
}

const fn ignored(mut spec: Spec) -> Spec {
    spec.effect = Effect::Ignored;
    spec
}

const fn with_arg(mut spec: Spec, arg: Arg) -> Spec {
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

const fn signed(mut spec: Spec) -> Spec {
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

const fn block(mut spec: Spec, size: i64) -> Spec {
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

/// An option hotbackup accepts but ignores, with any value (strict checking of values we
/// ignore would only break option files shared with the server).
const fn any(name: &'static str, arg: Arg, scope: Scope, help: &'static str) -> Spec {
    ignored(with_arg(t(name, scope, help), arg))
}

/// An ignored boolean.
const fn any_bool(name: &'static str, default: bool, scope: Scope, help: &'static str) -> Spec {
    ignored(b(name, default, scope, help))
}

const INT_MAX: i64 = i32::MAX as i64;
const UINT_MAX: i64 = u32::MAX as i64;
const LLONG_MAX: i64 = i64::MAX;
const IGNORED: &str = "Accepted for compatibility; ignored by hotbackup.";

use Arg::{Optional, Required};
use Scope::{Client, Server};

/// Every option, in `--help` order (mariadb-backup's order: client table first).
pub static SPECS: &[Spec] = &[
    // ---- client table (xb_client_options) ----
    short(b("verbose", false, Client, "display verbose output"), 'V'),
    short(
        b(
            "version",
            false,
            Client,
            "print version information and exit",
        ),
        'v',
    ),
    t(
        "target-dir",
        Client,
        "the backup directory (default ./xtrabackup_backupfiles/)",
    ),
    b(
        "backup",
        false,
        Client,
        "take a backup of the running server to --target-dir",
    ),
    b(
        "prepare",
        false,
        Client,
        "prepare a backup so that a server can start on it",
    ),
    b(
        "export",
        false,
        Client,
        "with --prepare: create files to import tables into another server",
    ),
    b(
        "print-param",
        false,
        Client,
        "print the mysqld options needed for copy-back and exit",
    ),
    block(
        n(
            "use-memory",
            96 << 20,
            8 << 20,
            LLONG_MAX,
            Client,
            "memory for --prepare's page cache (K, M, G suffixes), default 96M",
        ),
        8 << 20,
    ),
    signed(n(
        "throttle",
        0,
        0,
        LLONG_MAX,
        Client,
        "limit I/O operations (read+write pairs) per second during --backup: one operation \
         is a read of up to 640 pages (10 MB at 16k) of an InnoDB file; the redo log copy \
         is never throttled; 0: no limit",
    )),
    any("log", Optional, Client, IGNORED),
    n(
        "log-copy-interval",
        1000,
        0,
        UINT_MAX,
        Client,
        "milliseconds between checks by the redo-log copier (default 1000)",
    ),
    t(
        "extra-lsndir",
        Client,
        "with --backup: also write xtrabackup_checkpoints and xtrabackup_info here",
    ),
    t(
        "incremental-lsn",
        Client,
        "with --backup: copy only pages newer than this LSN. A wrong LSN makes the backup \
         unusable, and that cannot be detected",
    ),
    t(
        "incremental-basedir",
        Client,
        "with --backup: copy only pages newer than the backup in this directory",
    ),
    t(
        "incremental-dir",
        Client,
        "with --prepare: apply the incremental backup in this directory",
    ),
    t(
        "tables",
        Client,
        "back up only tables whose db.table name matches this regexp",
    ),
    t(
        "tables-file",
        Client,
        "back up only the db.table names listed in this file",
    ),
    t(
        "databases",
        Client,
        "back up only these databases (and db.table names), space-separated",
    ),
    t(
        "databases-file",
        Client,
        "back up only the databases listed in this file",
    ),
    t(
        "tables-exclude",
        Client,
        "skip tables matching this regexp (wins over --tables)",
    ),
    t(
        "databases-exclude",
        Client,
        "skip these databases (wins over --databases)",
    ),
    e(
        "stream",
        Required,
        &["xbstream", "mbstream"],
        Client,
        "write the backup to standard output in this format: xbstream (or mbstream)",
    ),
    e(
        "compress",
        Optional,
        &["quicklz"],
        Client,
        "compress each backup file (quicklz only; deprecated)",
    ),
    n(
        "compress-threads",
        1,
        1,
        UINT_MAX,
        Client,
        "threads for --compress (deprecated)",
    ),
    n(
        "compress-chunk-size",
        1 << 16,
        1,
        u32::MAX as i64,
        Client,
        "buffer size for --compress threads (deprecated)",
    ),
    any_bool("incremental-force-scan", false, Client, IGNORED),
    any_bool("close-files", false, Client, IGNORED),
    Spec {
        name: "core-file",
        short: None,
        kind: Kind::Flag,
        scope: Client,
        effect: Effect::Ignored,
        help: IGNORED,
    },
    b(
        "copy-back",
        false,
        Client,
        "copy a prepared backup from --target-dir into an empty --datadir",
    ),
    b(
        "move-back",
        false,
        Client,
        "move a prepared backup from --target-dir into an empty --datadir (removes the backup)",
    ),
    b(
        "galera-info",
        false,
        Client,
        "write xtrabackup_galera_info with the Galera node state at backup time",
    ),
    b(
        "slave-info",
        false,
        Client,
        "write the primary's binlog position to xtrabackup_slave_info (for a new replica)",
    ),
    b(
        "no-lock",
        false,
        Client,
        "take no BACKUP STAGE locks: only safe if all tables are InnoDB and no DDL runs; \
         the binlog position is then meaningless",
    ),
    b(
        "safe-slave-backup",
        false,
        Client,
        "stop the replica SQL thread and wait until it has no open temporary tables",
    ),
    any_bool("rsync", false, Client, IGNORED),
    any_bool("no-backup-locks", false, Client, IGNORED),
    b(
        "force-non-empty-directories",
        false,
        Client,
        "let --copy-back/--move-back write into non-empty directories; existing files are \
         never overwritten",
    ),
    any_bool("no-version-check", false, Client, IGNORED),
    b(
        "decompress",
        false,
        Client,
        "decompress the .qp files of a --compress backup",
    ),
    short(
        t("user", Client, "user name for the server connection"),
        'u',
    ),
    short(
        t(
            "host",
            Client,
            "host name for a TCP connection to the server",
        ),
        'H',
    ),
    short(
        n(
            "port",
            0,
            0,
            UINT_MAX,
            Client,
            "TCP port for the server connection",
        ),
        'P',
    ),
    short(
        t(
            "password",
            Client,
            "password for the server connection (no prompting: give it here or in an option file)",
        ),
        'p',
    ),
    e(
        "protocol",
        Required,
        &["tcp", "socket", "pipe", "memory"],
        Client,
        "connection protocol: tcp or socket",
    ),
    short(t("socket", Client, "Unix socket of the server"), 'S'),
    t(
        "incremental-history-name",
        Client,
        "base the incremental backup on the latest backup of this series in \
         mysql.mariadb_backup_history",
    ),
    t(
        "incremental-history-uuid",
        Client,
        "base the incremental backup on the backup with this uuid in \
         mysql.mariadb_backup_history",
    ),
    b(
        "remove-original",
        false,
        Client,
        "with --decompress: remove the .qp files",
    ),
    any("ftwrl-wait-query-type", Required, Client, IGNORED),
    any("kill-long-query-type", Required, Client, IGNORED),
    any("kill-long-queries-timeout", Required, Client, IGNORED),
    n(
        "ftwrl-wait-timeout",
        0,
        0,
        UINT_MAX,
        Client,
        "alias for --startup-wait-timeout",
    ),
    n(
        "startup-wait-timeout",
        0,
        0,
        UINT_MAX,
        Client,
        "seconds to wait for BACKUP STAGE START (0: wait forever)",
    ),
    any("ftwrl-wait-threshold", Required, Client, IGNORED),
    n(
        "safe-slave-backup-timeout",
        300,
        0,
        UINT_MAX,
        Client,
        "seconds --safe-slave-backup waits for open temporary tables to close (default 300)",
    ),
    with_arg(
        t(
            "history",
            Client,
            "record the backup in mysql.mariadb_backup_history, optionally under this series name",
        ),
        Optional,
    ),
    e(
        "binlog-info",
        Optional,
        &["off", "lockless", "on", "auto"],
        Client,
        "how to get the binlog position: OFF, ON, LOCKLESS or AUTO (default)",
    ),
    any_bool("secure-auth", true, Client, IGNORED),
    b(
        "log-innodb-page-corruption",
        false,
        Client,
        "continue past corrupted InnoDB pages, list them in innodb_corrupted_pages, and fail \
         at the end",
    ),
    any("login-path", Required, Client, ""),
    any_bool("apply-log", false, Client, ""),
    b("ssl", true, Client, "use TLS for the connection"),
    t("ssl-ca", Client, "CA file in PEM format (implies --ssl)"),
    t("ssl-capath", Client, "CA directory (implies --ssl)"),
    t(
        "ssl-cert",
        Client,
        "client certificate in PEM format (implies --ssl)",
    ),
    t("ssl-cipher", Client, "TLS ciphers to use (implies --ssl)"),
    t(
        "ssl-key",
        Client,
        "client key in PEM format (implies --ssl)",
    ),
    t(
        "ssl-crl",
        Client,
        "certificate revocation list (implies --ssl)",
    ),
    t(
        "ssl-crlpath",
        Client,
        "certificate revocation list directory (implies --ssl)",
    ),
    t("tls-version", Client, "TLS protocol versions to allow"),
    b(
        "ssl-verify-server-cert",
        false,
        Client,
        "verify the server's certificate",
    ),
    // ---- server table (xb_server_options) ----
    short(
        t(
            "datadir",
            Server,
            "data directory: destination of --copy-back/--move-back; for --backup the server's \
         own value wins",
        ),
        'h',
    ),
    short(t("tmpdir", Server, "directory for temporary files"), 't'),
    n(
        "parallel",
        1,
        1,
        INT_MAX,
        Server,
        "threads copying data files (default 1)",
    ),
    b(
        "extended-validation",
        false,
        Server,
        "validate InnoDB pages more thoroughly during --backup (slower)",
    ),
    b(
        "encrypted-backup",
        true,
        Server,
        "treat pages with a nonzero key_version as encrypted",
    ),
    any("log-bin", Optional, Server, IGNORED),
    any("innodb", Optional, Server, IGNORED),
    any_bool("innodb-adaptive-hash-index", false, Server, IGNORED),
    any("innodb-autoextend-increment", Required, Server, IGNORED),
    t(
        "innodb-data-file-path",
        Server,
        "system tablespace files and sizes (ibdata1:12M:autoextend)",
    ),
    t(
        "innodb-data-home-dir",
        Server,
        "directory of the system tablespace files",
    ),
    any_bool("innodb-doublewrite", false, Server, IGNORED),
    any("innodb-io-capacity", Optional, Server, IGNORED),
    any("innodb-file-io-threads", Required, Server, IGNORED),
    any("innodb-read-io-threads", Required, Server, IGNORED),
    any("innodb-write-io-threads", Required, Server, IGNORED),
    any_bool("innodb-file-per-table", false, Server, IGNORED),
    any("innodb-flush-method", Required, Server, IGNORED),
    any("innodb-log-buffer-size", Required, Server, IGNORED),
    any_bool("innodb-log-file-mmap", false, Server, IGNORED),
    any_bool("innodb-log-file-buffering", true, Server, IGNORED),
    n(
        "innodb-log-file-size",
        96 << 20,
        0,
        LLONG_MAX,
        Server,
        "the server's redo log size (recorded; copy-back leaves resizing to the server)",
    ),
    t(
        "innodb-log-group-home-dir",
        Server,
        "directory of ib_logfile0",
    ),
    any("innodb-log-write-ahead-size", Required, Server, IGNORED),
    any("innodb-max-dirty-pages-pct", Required, Server, IGNORED),
    any_bool("innodb-use-native-aio", true, Server, IGNORED),
    any("innodb-linux-aio", Required, Server, IGNORED),
    signed(n(
        "innodb-page-size",
        16384,
        4096,
        65536,
        Server,
        "InnoDB page size (default 16384)",
    )),
    any("innodb-buffer-pool-filename", Required, Server, IGNORED),
    e(
        "innodb-checksum-algorithm",
        Required,
        &["crc32", "strict_crc32", "full_crc32", "strict_full_crc32"],
        Server,
        "page checksum algorithm: crc32, strict_crc32, full_crc32, strict_full_crc32",
    ),
    t(
        "innodb-undo-directory",
        Server,
        "directory of the undo tablespaces",
    ),
    n(
        "innodb-undo-tablespaces",
        0,
        0,
        127,
        Server,
        "number of undo tablespaces",
    ),
    any("innodb-compression-level", Required, Server, IGNORED),
    any("defaults-group", Required, Server, IGNORED),
    t("plugin-dir", Server, "plugin directory, for --prepare"),
    t(
        "aria-log-dir-path",
        Server,
        "directory of the Aria log files",
    ),
    n(
        "open-files-limit",
        0,
        0,
        UINT_MAX,
        Server,
        "file descriptors to reserve with setrlimit() (0: as many as allowed)",
    ),
    b(
        "lock-ddl-per-table",
        false,
        Server,
        "take a DDL lock on each table before copying it, until the backup ends",
    ),
    any("rocksdb-datadir", Required, Server, IGNORED),
    any_bool("rocksdb-backup", true, Server, IGNORED),
    b(
        "check-privileges",
        true,
        Server,
        "check the backup user's privileges first",
    ),
    with_arg(
        n(
            "innodb-force-recovery",
            0,
            0,
            1,
            Server,
            "with --prepare: crash recovery mode that ignores page corruption (emergencies only)",
        ),
        Optional,
    ),
    b(
        "innodb-log-checkpoint-now",
        false,
        Server,
        "with --backup: force an InnoDB checkpoint",
    ),
    b(
        "mysqld-args",
        false,
        Server,
        "all later arguments are server options; unknown ones are ignored",
    ),
    short(b("help", false, Server, "display this help and exit"), '?'),
];

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

/// The names of all options that are accepted but ignored.
#[allow(dead_code)] // API for logging and docs; the binary does not list them yet
pub fn ignored_names() -> impl Iterator<Item = &'static str> {
    SPECS
        .iter()
        .filter(|s| s.effect == Effect::Ignored)
        .map(|s| s.name)
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
