//! mariadb-backup 10.11 compatible command line and option files.
//!
//! `clap` is not used: my_getopt's rules (`--skip-`/`--loose-` prefixes, `-` = `_`, `-pSECRET`,
//! values from `my.cnf` groups with per-group option tables) do not fit it, and a drop-in must
//! reproduce them exactly. Behaviour was checked against the real `mariadb-backup` 10.11.19;
//! where hotbackup deliberately differs, the item says so.
//!
//! * [`cnf`]: the `my.cnf` reader (also for `backup-my.cnf`).
//! * [`spec`]: what an option is, and its state (implemented, no effect, refused).
//! * [`table`]: the one option table, and [`table::Opt`] naming each row.
//! * [`parse`]: my_getopt's rules and mariadb-backup's group precedence.
//! * `build`: typed [`Options`] from the parsed values.
//! * `refuse`: refused options given anyway → exit 2.
//! * `print_param`: `--print-param`'s text.
//! * [`secrets`]: where the passwords are on the command line, and its masked copies.
//! * [`scrub`]: overwrites them in the process's own argv (`ps`, `/proc/PID/cmdline`).
//! * [`help`]: `--help` text.
//! * `innodb_param`: values mariadb-backup's embedded InnoDB refuses at start-up (exit 1).
//!
//! Entry point: [`parse::parse_args`] (or [`parse_args_os`]) → [`Parsed`].

mod build;
pub mod cnf;
pub mod help;
mod innobackupex;
mod innodb_param;
pub mod parse;
mod print_param;
mod refuse;
pub mod scrub;
pub mod secrets;
pub mod spec;
pub mod table;

#[cfg(test)]
use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

#[cfg(test)]
pub use parse::parse_args;
pub use parse::parse_args_os;
pub use secrets::Secret;

/// What the command line asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    /// `--help` / `-?`: print [`help::help_text`] on stdout, exit 0.
    Help,
    /// `--version` / `-v`: print the version line, exit 0.
    Version,
    /// `--print-defaults`: print this text on stdout, exit 0.
    PrintDefaults(String),
    /// Do the work described by the options.
    Run(Box<Options>),
}

/// The result of parsing: warnings to print on stderr (always, even on error) and the outcome.
#[derive(Debug)]
pub struct Parsed {
    /// Non-fatal findings, each a complete line (e.g. `Warning: option 'parallel': value 0
    /// adjusted to 1`).
    pub warnings: Vec<String>,
    /// The command, or the first error.
    pub result: Result<Command, Error>,
}

/// The operating mode. mariadb-backup allows exactly one (`--decompress` counts as one).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// `--backup`.
    Backup,
    /// `--prepare`.
    Prepare,
    /// `--copy-back`.
    CopyBack,
    /// `--move-back`.
    MoveBack,
    /// `--decompress`.
    Decompress,
    /// `--restore-tables=PATTERN`: hotbackup's own (restore/).
    RestoreTables,
}

impl Mode {
    /// The option that selects this mode, e.g. `--copy-back`.
    pub fn option(self) -> &'static str {
        match self {
            Mode::Backup => "--backup",
            Mode::Prepare => "--prepare",
            Mode::CopyBack => "--copy-back",
            Mode::MoveBack => "--move-back",
            Mode::Decompress => "--decompress",
            Mode::RestoreTables => "--restore-tables",
        }
    }
}

/// Where an option's final value came from, for messages such as "option 'datadir' has
/// different values".
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Origin {
    /// Not given anywhere.
    Default,
    /// The command line.
    CommandLine,
    /// A line of an option file.
    File {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// The group, as written in the file.
        group: String,
    },
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Default => write!(f, "default"),
            Origin::CommandLine => write!(f, "command line"),
            Origin::File { path, line, group } => {
                write!(
                    f,
                    "[{group}] of option file '{}' line {line}",
                    path.display()
                )
            }
        }
    }
}

/// Where an incremental backup's base LSN comes from (`--backup`), in mariadb-backup's order
/// of precedence: `--incremental-lsn` over `--incremental-basedir`; the history options
/// cannot be combined with either, nor with each other.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum IncrementalFrom {
    /// `--incremental-lsn`, as given (checked when the backup starts, as mariadb-backup).
    Lsn(String),
    /// `--incremental-basedir`: its `xtrabackup_checkpoints` `to_lsn`.
    Basedir(PathBuf),
    /// `--incremental-history-name`: the latest `innodb_to_lsn` of that series.
    HistoryName(String),
    /// `--incremental-history-uuid`: the `innodb_to_lsn` of that backup.
    HistoryUuid(String),
}

/// `--binlog-info`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BinlogInfo {
    /// `OFF`.
    Off,
    /// `LOCKLESS`.
    Lockless,
    /// `ON`.
    On,
    /// `AUTO` (default).
    Auto,
}

/// `--protocol`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Protocol {
    /// TCP/IP.
    Tcp,
    /// Unix socket.
    Socket,
    /// Windows named pipe (accepted, useless on Linux).
    Pipe,
    /// Windows shared memory (accepted, useless on Linux).
    Memory,
}

/// `--innodb-checksum-algorithm`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChecksumAlgorithm {
    /// `crc32`.
    Crc32,
    /// `strict_crc32`.
    StrictCrc32,
    /// `full_crc32`.
    FullCrc32,
    /// `strict_full_crc32`.
    StrictFullCrc32,
}

/// The server connection. Only `[client]`, `[client-server]`, `[client-mariadb]`, the tool
/// groups and the command line set these: `[mysqld] user=` is the server's OS user.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Connection {
    /// `-u`, `--user`.
    pub user: Option<String>,
    /// `-p`, `--password`. `Some("")` is an explicitly empty password. There is no prompting:
    /// like mariadb-backup, `--password`/`-p` always needs a value.
    pub password: Option<String>,
    /// `-H`, `--host`.
    pub host: Option<String>,
    /// `-P`, `--port`; `None` when 0 or not given.
    pub port: Option<u16>,
    /// `-S`, `--socket`.
    pub socket: Option<PathBuf>,
    /// `--protocol`.
    pub protocol: Option<Protocol>,
    /// `--ssl*`: `Some` when TLS was asked for (see `build.rs`).
    pub tls: Option<server::TlsOptions>,
}

/// Server-side InnoDB layout, from the server groups, the tool groups or the command line.
/// During `--backup` the running server's values win; these matter for `--copy-back`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Innodb {
    /// `--innodb-data-home-dir`.
    pub data_home_dir: Option<PathBuf>,
    /// `--innodb-log-group-home-dir`.
    pub log_group_home_dir: Option<PathBuf>,
    /// `--innodb-undo-directory`.
    pub undo_directory: Option<PathBuf>,
    /// `--innodb-data-file-path`, e.g. `ibdata1:12M:autoextend`.
    pub data_file_path: Option<String>,
    /// `--innodb-checksum-algorithm` if given.
    pub checksum_algorithm: Option<ChecksumAlgorithm>,
}

/// The partial-backup filters as given (parsed and checked by `backup::filter`, which also
/// reads the two files). `None`: not given.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Partial {
    /// `--databases`: `db` and `db.table` names separated by spaces or tabs.
    pub databases: Option<String>,
    /// `--databases-file`: the same, one per line.
    pub databases_file: Option<PathBuf>,
    /// `--databases-exclude`: as `--databases`, left out.
    pub databases_exclude: Option<String>,
    /// `--tables`: comma-separated POSIX extended regexps on `db.table`.
    pub tables: Option<String>,
    /// `--tables-file`: `db.table` names, one per line.
    pub tables_file: Option<PathBuf>,
    /// `--tables-exclude`: as `--tables`, left out.
    pub tables_exclude: Option<String>,
}

/// Everything the command line and option files said, typed. Built by [`parse::parse_args`].
///
/// Only implemented options have a field (refused ones are stopped by the parser, those
/// without effect have nothing to carry), and every field is read by the binary: a unit test
/// checks both.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Options {
    /// The mode; `None` only together with `print_param`.
    pub mode: Option<Mode>,
    /// `--print-param`: the text to print instead of running the mode.
    pub print_param: Option<String>,
    /// `--target-dir`, as given (default `./xtrabackup_backupfiles/`); made absolute by the
    /// caller, which knows the working directory.
    pub target_dir: PathBuf,
    /// Server connection.
    pub connection: Connection,
    /// Where the passwords are in the command-line arguments: masked in `tool_command` and
    /// overwritten in the process's argv ([`secrets`], [`scrub`]).
    pub command_line_secrets: Vec<Secret>,
    /// `-h`, `--datadir`; mariadb-backup's compiled default is `/var/lib/mysql`.
    pub datadir: Option<PathBuf>,
    /// InnoDB layout.
    pub innodb: Innodb,
    /// `--parallel` (1..=[`table::MAX_PARALLEL`]).
    pub parallel: u32,
    /// `--throttle`: I/O pairs per second, 0 = unlimited.
    pub throttle: u32,
    /// `--use-memory` in bytes (≥ 8 MiB, rounded down to a multiple of 8 MiB as mariadb-backup
    /// does; default 96 MiB).
    pub use_memory: u64,
    /// `--open-files-limit`: the soft `RLIMIT_NOFILE` to raise to (0: leave it).
    pub open_files_limit: u64,
    /// `--log-copy-interval` in milliseconds (default 1000).
    pub log_copy_interval_ms: u64,
    /// `--extra-lsndir`.
    pub extra_lsndir: Option<PathBuf>,
    /// `--incremental-lsn`, `--incremental-basedir`, `--incremental-history-*`: an incremental
    /// backup (with `--backup`; the other modes ignore them, as mariadb-backup).
    pub incremental: Option<IncrementalFrom>,
    /// `--incremental-dir` (with `--prepare`).
    pub incremental_dir: Option<PathBuf>,
    /// `--no-lock`.
    pub no_lock: bool,
    /// `-V`, `--verbose`: `>> log scanned up to (LSN)` at every stage of a backup.
    pub verbose: bool,
    /// `--rocksdb-backup` (on unless `--skip-rocksdb-backup`): hotbackup cannot copy MyRocks
    /// data, so a server with MyRocks is refused unless this is turned off.
    pub rocksdb_backup: bool,
    /// `--slave-info`.
    pub slave_info: bool,
    /// `--safe-slave-backup`.
    pub safe_slave_backup: bool,
    /// `--safe-slave-backup-timeout` in seconds (default 300).
    pub safe_slave_backup_timeout_s: u64,
    /// `--galera-info`.
    pub galera_info: bool,
    /// `--history[=name]`: `None` off, `Some(None)` on without a series name.
    pub history: Option<Option<String>>,
    /// `--binlog-info`.
    pub binlog_info: BinlogInfo,
    /// `--stream=xbstream` (or `mbstream`): the backup goes to stdout as an xbstream.
    pub stream: bool,
    /// `--compress[=quicklz|lz4|zstd]` (the zstd level from `--compress-zstd-level`): every
    /// backup file but `xtrabackup_checkpoints` as `NAME.qp`, `.lz4` or `.zst`.
    pub compress: Option<sink::Codec>,
    /// `--compress-threads`: chunks compressed at once, per file.
    pub compress_threads: u32,
    /// `--compress-chunk-size`: bytes per compressed block.
    pub compress_chunk_size: u64,
    /// `--check-privileges` (default on).
    pub check_privileges: bool,
    /// `--startup-wait-timeout` / `--ftwrl-wait-timeout` (the later one given wins), seconds.
    /// `backup::lock_wait`: wait for running statements, then bound `BACKUP STAGE START`.
    pub startup_wait_timeout_s: u64,
    /// `--log-innodb-page-corruption`.
    pub log_innodb_page_corruption: bool,
    /// `--extended-validation`: encrypted pages of legacy tablespaces are decrypted during
    /// `--backup` and their plaintext checked (`backup::extended_validation`).
    pub extended_validation: bool,
    /// `--core-file`: a panic or fatal signal ends in a core dump (`crate::core_file`).
    pub core_file: bool,
    /// `--remove-original`: with `--decompress`, remove each `.qp`/`.lz4`/`.zst` once
    /// decompressed.
    pub remove_original: bool,
    /// `--force-non-empty-directories`.
    pub force_non_empty_directories: bool,
    /// `--aria-log-dir-path`.
    pub aria_log_dir_path: Option<PathBuf>,
    /// The key management options (`--plugin-load[-add]`, `--file-key-management-*`):
    /// overrides of what the server or `backup-my.cnf` says (`crate::keys`).
    pub key_management: crate::keys::KeySettings,

    /// `--innodb-log-checkpoint-now`: ask the server for a checkpoint before the backup.
    pub log_checkpoint_now: bool,
    /// `--innodb-force-recovery` (0 or 1; only `--prepare` reads it).
    pub innodb_force_recovery: u32,
    /// `--export`: with `--prepare`, write the `.cfg` files of every table afterwards.
    pub export: bool,
    /// The leading `--defaults-file=` as given (the `--export` server reads it too, as
    /// mariadb-backup's does).
    pub defaults_file: Option<PathBuf>,
    /// `--defaults-group-suffix=` or `MYSQL_GROUP_SUFFIX` (passed on to the `--export` server).
    pub defaults_group_suffix: Option<String>,
    /// `--databases`, `--tables`, ...: a partial backup (`backup::filter`).
    pub partial: Partial,
    /// `--restore-tables=PATTERN` (the mode [`Mode::RestoreTables`]).
    pub restore_tables: Option<String>,
    /// `--restore-as=db.table`.
    pub restore_as: Option<String>,
    /// Where each given option's final value came from, by canonical name (tests only).
    #[cfg(test)]
    pub origins: BTreeMap<&'static str, Origin>,
}

#[cfg(test)]
impl Options {
    /// Where `name`'s value came from ([`Origin::Default`] if it was not given).
    pub fn origin(&self, name: &str) -> Origin {
        self.origins
            .iter()
            .find(|(k, _)| cnf::same_option_name(k, name))
            .map(|(_, o)| o.clone())
            .unwrap_or(Origin::Default)
    }
}

/// Why the command line or option files were rejected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// An option name nobody knows (mariadb-backup: exit 2).
    UnknownOption,
    /// A value that does not parse, or a missing or unexpected value.
    BadValue,
    /// A non-option argument.
    Positional,
    /// None of `--backup`, `--prepare`, `--copy-back`, `--move-back`, `--decompress`.
    NoMode,
    /// More than one mode.
    TwoModes,
    /// `--defaults-file`/`--defaults-extra-file` not first (mariadb-backup: exit 1).
    DefaultsNotFirst,
    /// An option file that is missing (when required) or malformed (mariadb-backup: exit 1).
    OptionFile,
    /// Accepted by mariadb-backup but not by this version of hotbackup (`--stream`, an
    /// untranslated innobackupex option, ...: see `refuse.rs`, `innobackupex.rs`).
    Unsupported,
    /// A value my_getopt accepts but mariadb-backup's embedded InnoDB then refuses when it
    /// starts (`--innodb-log-write-ahead-size=4095`, `--backup --innodb-force-recovery=1`):
    /// exit 1, as in mariadb-backup (`innodb_param.rs`).
    InnodbSetting,
}

/// A rejected command line or option file. `Display` gives the message without the program
/// name; the caller prints `hotbackup: <message>`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error {
    /// The class, which decides the exit status.
    pub kind: ErrorKind,
    /// What is wrong, where, and what to do.
    pub message: String,
}

impl Error {
    pub(crate) fn new(kind: ErrorKind, message: impl Into<String>) -> Error {
        Error {
            kind,
            message: message.into(),
        }
    }

    /// Whether this is a usage error (exit 2, `exit::Code::Usage`). The others (defaults-file
    /// position, unreadable or malformed option file, a value InnoDB refuses) exit 1 as in
    /// mariadb-backup.
    pub fn is_usage(&self) -> bool {
        !matches!(
            self.kind,
            ErrorKind::DefaultsNotFirst | ErrorKind::OptionFile | ErrorKind::InnodbSetting
        )
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

/// Where the default option files are, and the environment's group suffix. Separate from the
/// process so that tests never read the machine's `/etc/mysql/my.cnf`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Env {
    /// Files read first, in order (missing ones are skipped).
    pub global_files: Vec<PathBuf>,
    /// Read last, after `--defaults-extra-file` (MariaDB reads the extra file before
    /// `~/.my.cnf`).
    pub home_file: Option<PathBuf>,
    /// `MYSQL_GROUP_SUFFIX`, used when `--defaults-group-suffix` is not given.
    pub group_suffix: Option<String>,
}

impl Env {
    /// MariaDB's list on Linux: `/etc/my.cnf`, `/etc/mysql/my.cnf`, `$MARIADB_HOME/my.cnf`
    /// (or `$MYSQL_HOME/my.cnf`), then `~/.my.cnf`.
    pub fn from_process() -> Env {
        let mut global_files = vec![
            PathBuf::from("/etc/my.cnf"),
            PathBuf::from("/etc/mysql/my.cnf"),
        ];
        let home = std::env::var_os("MARIADB_HOME").or_else(|| std::env::var_os("MYSQL_HOME"));
        if let Some(home) = home {
            global_files.push(PathBuf::from(home).join("my.cnf"));
        }
        Env {
            global_files,
            home_file: std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".my.cnf")),
            group_suffix: std::env::var("MYSQL_GROUP_SUFFIX").ok(),
        }
    }
}
