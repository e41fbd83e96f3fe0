//! The one option table: every option mariadb-backup 10.11 accepts, in `--help` order (client
//! table first, as mariadb-backup prints them), each with its [`State`](super::spec::State).
//! `--help`, the parser and the refusals are all generated from it.
//!
//! [`Opt`] names each row. The parser reads values only through `Opt` (a typo is a compile
//! error, and a kind mismatch panics in the unit test that builds every option), and
//! `Opt::spec` is the row.
//!
//! States were checked against mariadb-backup 10.11.18's source (`extra/mariabackup/`):
//! "no effect" only where mariadb-backup's own variable is never read or the option is
//! declared "Ignored"/"Obsolete"/"Old disabled option which has no effect anymore".

use super::spec::{
    accepts_off, any, b, block, e, n, no_effect, refused, server_setting, short, signed, t,
    with_arg, Arg, Kind, Scope, Spec, State, LLONG_MAX, UINT_MAX,
};
use Arg::{Optional, Required};
use Scope::{Client, Server};

/// Upper bound of `--parallel`. mariadb-backup allows `INT_MAX` threads, which only fails
/// later (thread creation, or memory: every copy thread holds two 640-page batches, 80 MB at
/// 64k pages); larger values are lowered to this with my_getopt's warning. Copy-back uses the
/// same bound.
pub const MAX_PARALLEL: i64 = 256;

macro_rules! option_table {
    ($($id:ident => $spec:expr,)*) => {
        /// One option of the table; `Opt::X.spec()` is its row.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum Opt {
            $(
                #[allow(missing_docs)]
                $id,
            )*
        }

        /// Every option, in `--help` order; `SPECS[opt as usize]` is `opt`'s row.
        pub static SPECS: &[Spec] = &[$($spec,)*];

        impl Opt {
            /// Every option, in table order.
            pub const ALL: &'static [Opt] = &[$(Opt::$id,)*];
        }
    };
}

impl Opt {
    /// This option's row of the table.
    pub fn spec(self) -> &'static Spec {
        &SPECS[self as usize]
    }

    /// The option whose row is `spec` (a reference into [`SPECS`]).
    pub fn of(spec: &Spec) -> Opt {
        let at = Opt::ALL
            .iter()
            .position(|o| std::ptr::eq(o.spec(), spec))
            .expect("a Spec outside SPECS");
        Opt::ALL[at]
    }
}

option_table! {
    // ---- client table (xb_client_options) ----
    // mariadb-backup: more log lines (InnoDB's verbose log, log scan progress); hotbackup
    // logs how far the redo copy has got at every stage.
    Verbose => short(b("verbose", false, Client, "display verbose output"), 'V'),
    Version => short(b("version", false, Client, "print version information and exit"), 'v'),
    TargetDir => t(
        "target-dir",
        Client,
        "the backup directory (default ./xtrabackup_backupfiles/)",
    ),
    Backup => b("backup", false, Client, "take a backup of the running server to --target-dir"),
    Prepare => b("prepare", false, Client, "prepare a backup so that a server can start on it"),
    // After the prepare, a `mariadbd --bootstrap` over the backup writes every table's
    // `.cfg` (export/): needs MariaDB 10.11's server binary (`HOTBACKUP_MARIADBD`).
    Export => b(
        "export",
        false,
        Client,
        "with --prepare: create files to import tables into another server",
    ),
    // hotbackup's own mode (restore/): not in mariadb-backup.
    RestoreTables => t(
        "restore-tables",
        Client,
        "restore these tables of the backup in --target-dir into the running server on this \
         host, each verified by CHECKSUM TABLE: comma-separated db.table or db.* names (see \
         README \"Restore one table\")",
    ),
    RestoreAs => t(
        "restore-as",
        Client,
        "with --restore-tables of one table: restore it under this db.table name instead",
    ),
    PrintParam => b(
        "print-param",
        false,
        Client,
        "print the server options (datadir, innodb_*, ...) that copy-back needs, as a my.cnf \
         [mysqld] group, and exit",
    ),
    UseMemory => block(
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
    // mariadb-backup: GET_LONG up to LONG_MAX. The copier counts in 32 bits; 4 billion batch
    // reads per second is no limit at all, so larger values are lowered with a warning.
    Throttle => signed(n(
        "throttle",
        0,
        0,
        UINT_MAX,
        Client,
        "limit I/O operations (read+write pairs) per second during --backup: one operation \
         is a read of up to 640 pages (10 MB at 16k) of an InnoDB file; the redo log copy \
         is never throttled; 0: no limit",
    )),
    // "Ignored option for MySQL option compatibility" in mariadb-backup.
    Log => no_effect(any("log", Optional, Client, "ignored option for MySQL option compatibility")),
    LogCopyInterval => n(
        "log-copy-interval",
        1000,
        0,
        UINT_MAX,
        Client,
        "milliseconds between checks by the redo-log copier (default 1000)",
    ),
    ExtraLsndir => t(
        "extra-lsndir",
        Client,
        "with --backup: also write xtrabackup_checkpoints and xtrabackup_info here",
    ),
    IncrementalLsn => t(
        "incremental-lsn",
        Client,
        "with --backup: an incremental backup of the pages newer than this LSN",
    ),
    IncrementalBasedir => t(
        "incremental-basedir",
        Client,
        "with --backup: an incremental backup of the pages newer than the (complete) backup \
         in this directory (its xtrabackup_checkpoints to_lsn)",
    ),
    IncrementalDir => t(
        "incremental-dir",
        Client,
        "with --prepare: apply the incremental backup in this directory onto the prepared \
         backup of --target-dir",
    ),
    Tables => t(
        "tables",
        Client,
        "back up only tables whose db.table matches one of these comma-separated POSIX regexps",
    ),
    TablesFile => t(
        "tables-file",
        Client,
        "back up only the db.table names listed in this file",
    ),
    Databases => t(
        "databases",
        Client,
        "back up only these databases (and db.table names), space-separated",
    ),
    DatabasesFile => t(
        "databases-file",
        Client,
        "back up only the databases (and db.table names) listed in this file, one per line",
    ),
    TablesExclude => t(
        "tables-exclude",
        Client,
        "skip tables whose db.table matches one of these comma-separated regexps (wins over --tables)",
    ),
    DatabasesExclude => t(
        "databases-exclude",
        Client,
        "skip these databases (wins over --databases)",
    ),
    Stream => e(
        "stream",
        Required,
        &["xbstream", "mbstream"],
        Client,
        "write the backup to standard output in this format: xbstream (or mbstream)",
    ),
    Compress => e(
        "compress",
        Optional,
        &["quicklz", "lz4", "zstd"],
        Client,
        "compress each backup file: quicklz (the default, .qp, as mariadb-backup), or lz4 \
         (.lz4) or zstd (.zst) as Percona XtraBackup 8.0 writes them (mariadb-backup 10.11 \
         cannot read those; hotbackup --decompress reads all three)",
    ),
    CompressThreads => n(
        "compress-threads",
        1,
        1,
        UINT_MAX,
        Client,
        "threads for --compress (deprecated)",
    ),
    CompressChunkSize => n(
        "compress-chunk-size",
        1 << 16,
        1024,
        LLONG_MAX,
        Client,
        "buffer size for --compress threads (deprecated)",
    ),
    // Percona XtraBackup 8.0's option; mariadb-backup 10.11 has no zstd.
    CompressZstdLevel => n(
        "compress-zstd-level",
        1,
        1,
        19,
        Client,
        "with --compress=zstd: the zstd level, 1 (fastest, the default) to 19",
    ),
    // xtrabackup_incremental_force_scan is never read in 10.11 (no changed-page bitmaps).
    IncrementalForceScan => no_effect(b(
        "incremental-force-scan",
        false,
        Client,
        "perform a full-scan incremental backup",
    )),
    // xb_close_files: mariadb-backup closes each tablespace after reading it.
    CloseFiles => refused(b("close-files", false, Client, "do not keep files open")),
    // The soft RLIMIT_CORE raised to the hard one; a panic aborts (crate::core_file).
    CoreFile => Spec {
        name: "core-file",
        short: None,
        kind: Kind::Flag,
        scope: Client,
        state: State::Implemented,
        help: "write a core file on fatal signals and panics (raises the core size limit to \
               its hard limit)",
    },
    CopyBack => b(
        "copy-back",
        false,
        Client,
        "copy a prepared backup from --target-dir into an empty --datadir",
    ),
    MoveBack => b(
        "move-back",
        false,
        Client,
        "move a prepared backup from --target-dir into an empty --datadir (removes the backup)",
    ),
    GaleraInfo => b(
        "galera-info",
        false,
        Client,
        "write xtrabackup_galera_info with the Galera node state at backup time",
    ),
    SlaveInfo => b(
        "slave-info",
        false,
        Client,
        "write the primary's binlog position to xtrabackup_slave_info (for a new replica)",
    ),
    NoLock => b(
        "no-lock",
        false,
        Client,
        "take no BACKUP STAGE locks: only safe if all tables are InnoDB and no DDL runs; \
         the binlog position is then meaningless",
    ),
    SafeSlaveBackup => b(
        "safe-slave-backup",
        false,
        Client,
        "stop the replica SQL thread and wait until it has no open temporary tables",
    ),
    // "Obsolete, deprecated option" in mariadb-backup (ignored_option).
    Rsync => no_effect(b("rsync", false, Client, "obsolete, deprecated option")),
    NoBackupLocks => no_effect(b("no-backup-locks", false, Client, "obsolete, deprecated option")),
    ForceNonEmptyDirectories => b(
        "force-non-empty-directories",
        false,
        Client,
        "let --copy-back/--move-back write into non-empty directories; existing files are \
         never overwritten",
    ),
    // opt_noversioncheck is never read in 10.11.
    NoVersionCheck => no_effect(b(
        "no-version-check",
        false,
        Client,
        "disable the version check",
    )),
    Decompress => b(
        "decompress",
        false,
        Client,
        "decompress the .qp, .lz4 and .zst files of a --compress backup (built in, no qpress \
         needed; never overwrites a file)",
    ),
    User => short(t("user", Client, "user name for the server connection"), 'u'),
    Host => short(t("host", Client, "host name for a TCP connection to the server"), 'H'),
    Port => short(n("port", 0, 0, UINT_MAX, Client, "TCP port for the server connection"), 'P'),
    Password => short(
        t(
            "password",
            Client,
            "password for the server connection (no prompting: give it here or in an option \
             file); hidden from ps and masked in xtrabackup_info",
        ),
        'p',
    ),
    Protocol => e(
        "protocol",
        Required,
        &["tcp", "socket", "pipe", "memory"],
        Client,
        "connection protocol: tcp or socket",
    ),
    Socket => short(t("socket", Client, "Unix socket of the server"), 'S'),
    IncrementalHistoryName => t(
        "incremental-history-name",
        Client,
        "with --backup: an incremental backup based on the latest backup of this series in \
         mysql.mariadb_backup_history (--history=NAME)",
    ),
    IncrementalHistoryUuid => t(
        "incremental-history-uuid",
        Client,
        "with --backup: an incremental backup based on the backup with this uuid in \
         mysql.mariadb_backup_history",
    ),
    RemoveOriginal => b(
        "remove-original",
        false,
        Client,
        "with --decompress: remove each compressed file once its output is written and synced",
    ),
    // "Old disabled option which has no effect anymore" in mariadb-backup.
    FtwrlWaitQueryType => no_effect(any(
        "ftwrl-wait-query-type",
        Required,
        Client,
        "old disabled option (not needed with BACKUP STAGE)",
    )),
    // opt_kill_long_query_type is only read by the query killer, which only runs when
    // opt_kill_long_queries_timeout is set, and nothing sets it in 10.11.
    KillLongQueryType => no_effect(any(
        "kill-long-query-type",
        Required,
        Client,
        "which queries to kill to unblock the backup lock (never used in 10.11)",
    )),
    KillLongQueriesTimeout => no_effect(any(
        "kill-long-queries-timeout",
        Required,
        Client,
        "old disabled option (not needed with BACKUP STAGE)",
    )),
    // Both set opt_lock_wait_timeout in mariadb-backup (BACKUP STAGE START's wait).
    FtwrlWaitTimeout => n(
        "ftwrl-wait-timeout",
        0,
        0,
        UINT_MAX,
        Client,
        "alias for --startup-wait-timeout",
    ),
    StartupWaitTimeout => n(
        "startup-wait-timeout",
        0,
        0,
        UINT_MAX,
        Client,
        "seconds to wait for BACKUP STAGE START (0: wait forever)",
    ),
    FtwrlWaitThreshold => no_effect(any(
        "ftwrl-wait-threshold",
        Required,
        Client,
        "old disabled option (not needed with BACKUP STAGE)",
    )),
    SafeSlaveBackupTimeout => n(
        "safe-slave-backup-timeout",
        300,
        0,
        UINT_MAX,
        Client,
        "seconds --safe-slave-backup waits for open temporary tables to close (default 300)",
    ),
    History => with_arg(
        t(
            "history",
            Client,
            "record the backup in mysql.mariadb_backup_history, optionally under this series name",
        ),
        Optional,
    ),
    BinlogInfo => e(
        "binlog-info",
        Optional,
        &["off", "lockless", "on", "auto"],
        Client,
        "how to get the binlog position: OFF, ON, LOCKLESS or AUTO (default)",
    ),
    // hotbackup's client never speaks the pre-4.1 protocol: the default (on) is what it does.
    SecureAuth => server_setting(b(
        "secure-auth",
        true,
        Client,
        "refuse the old (pre-4.1.1) protocol (only the default, on, is supported)",
    )),
    LogInnodbPageCorruption => b(
        "log-innodb-page-corruption",
        false,
        Client,
        "continue past corrupted InnoDB pages, list them in innodb_corrupted_pages, and fail \
         at the end",
    ),
    // Hidden in mariadb-backup; it adds an option-file group to read.
    LoginPath => refused(t("login-path", Client, "")),
    // Hidden in mariadb-backup; sets the same variable as --prepare.
    ApplyLog => b("apply-log", false, Client, ""),
    // TLS (see server::tls): asked for by --ssl or any --ssl-* option; then required.
    // Off by default, unlike 10.11 (on: TLS whenever the server offers it; see README).
    Ssl => b(
        "ssl",
        false,
        Client,
        "use TLS for the connection; a server without TLS is then refused (implied by the \
         --ssl-* options; without any, hotbackup connects without TLS, see README)",
    ),
    SslCa => t("ssl-ca", Client, "CA file in PEM format (implies --ssl)"),
    SslCapath => t("ssl-capath", Client, "CA directory (implies --ssl)"),
    SslCert => t("ssl-cert", Client, "client certificate in PEM format (implies --ssl)"),
    // rustls knows no OpenSSL cipher strings or TLS versions below 1.2.
    SslCipher => refused(t("ssl-cipher", Client, "TLS ciphers to use (implies --ssl)")),
    SslKey => t("ssl-key", Client, "client key in PEM format (implies --ssl)"),
    SslCrl => t("ssl-crl", Client, "certificate revocation list (implies --ssl)"),
    SslCrlpath => t(
        "ssl-crlpath",
        Client,
        "certificate revocation list directory (implies --ssl)",
    ),
    TlsVersion => refused(t("tls-version", Client, "TLS protocol versions to allow")),
    SslVerifyServerCert => b(
        "ssl-verify-server-cert",
        false,
        Client,
        "verify the server's certificate: chain and host name (implies --ssl)",
    ),
    // ---- server table (xb_server_options) ----
    Datadir => short(
        t(
            "datadir",
            Server,
            "data directory: destination of --copy-back/--move-back; for --backup the server's \
             own value wins",
        ),
        'h',
    ),
    // mariadb-backup: temporary files of --stream and --compress; hotbackup writes none
    // outside --target-dir.
    Tmpdir => server_setting(short(t("tmpdir", Server, "directory for temporary files"), 't')),
    Parallel => n(
        "parallel",
        1,
        1,
        MAX_PARALLEL,
        Server,
        "threads copying data files (default 1, at most 256)",
    ),
    // backup::extended_validation: legacy encrypted pages decrypted and checked.
    ExtendedValidation => b(
        "extended-validation",
        false,
        Server,
        "during --backup, decrypt the encrypted pages of tables without full_crc32 and check \
         them (needs the server's keys)",
    ),
    EncryptedBackup => refused(b(
        "encrypted-backup",
        true,
        Server,
        "treat pages with a nonzero key_version as encrypted (only the default, on, is \
         supported)",
    )),
    // mariadb-backup reads log_bin only with --galera-info, to find the binlog file it copies;
    // in [mysqld] it names the same files as the server's log_bin_basename.
    LogBin => server_setting(any("log-bin", Optional, Server, "base name of the binary log")),
    // "Ignored option for MySQL option compatibility" in mariadb-backup.
    Innodb => no_effect(any(
        "innodb",
        Optional,
        Server,
        "ignored option for MySQL option compatibility",
    )),
    // The innodb_* tuning options below configure mariadb-backup's embedded InnoDB (buffer
    // pool, I/O threads, flushing); none changes the files of a backup.
    InnodbAdaptiveHashIndex => server_setting(b(
        "innodb-adaptive-hash-index",
        false,
        Server,
        "InnoDB adaptive hash index during --prepare",
    )),
    InnodbAutoextendIncrement => server_setting(any(
        "innodb-autoextend-increment",
        Required,
        Server,
        "system tablespace autoextend increment in megabytes",
    )),
    InnodbDataFilePath => t(
        "innodb-data-file-path",
        Server,
        "system tablespace files and sizes (ibdata1:12M:autoextend)",
    ),
    InnodbDataHomeDir => t(
        "innodb-data-home-dir",
        Server,
        "directory of the system tablespace files",
    ),
    InnodbDoublewrite => server_setting(b(
        "innodb-doublewrite",
        false,
        Server,
        "InnoDB doublewrite buffer during --prepare",
    )),
    InnodbIoCapacity => server_setting(any(
        "innodb-io-capacity",
        Optional,
        Server,
        "I/O operations per second of the server",
    )),
    InnodbFileIoThreads => server_setting(any(
        "innodb-file-io-threads",
        Required,
        Server,
        "InnoDB file I/O threads",
    )),
    InnodbReadIoThreads => server_setting(any(
        "innodb-read-io-threads",
        Required,
        Server,
        "InnoDB read I/O threads",
    )),
    InnodbWriteIoThreads => server_setting(any(
        "innodb-write-io-threads",
        Required,
        Server,
        "InnoDB write I/O threads",
    )),
    InnodbFilePerTable => server_setting(b(
        "innodb-file-per-table",
        false,
        Server,
        "store each InnoDB table in an .ibd file",
    )),
    InnodbFlushMethod => server_setting(any(
        "innodb-flush-method",
        Required,
        Server,
        "how InnoDB flushes data",
    )),
    InnodbLogBufferSize => server_setting(any(
        "innodb-log-buffer-size",
        Required,
        Server,
        "redo log buffer size",
    )),
    InnodbLogFileMmap => server_setting(b(
        "innodb-log-file-mmap",
        false,
        Server,
        "memory-map ib_logfile0",
    )),
    InnodbLogFileBuffering => server_setting(b(
        "innodb-log-file-buffering",
        true,
        Server,
        "file system cache for ib_logfile0 during --backup",
    )),
    // "Ignored for mysqld option compatibility" in mariadb-backup (its handler does nothing);
    // backup-my.cnf records the server's value.
    InnodbLogFileSize => no_effect(n(
        "innodb-log-file-size",
        96 << 20,
        0,
        LLONG_MAX,
        Server,
        "the server's redo log size",
    )),
    InnodbLogGroupHomeDir => t(
        "innodb-log-group-home-dir",
        Server,
        "directory of ib_logfile0",
    ),
    // mariadb-backup clamps the value to 512..4096 (my_getopt) and then refuses one that is
    // not a power of two (its embedded InnoDB's start-up check, exit 1): `innodb_param.rs`.
    // The size only decides how the server's own ib_logfile0 is written; no file hotbackup
    // writes depends on it, so a valid value has no effect.
    InnodbLogWriteAheadSize => no_effect(n(
        "innodb-log-write-ahead-size",
        512,
        512,
        4096,
        Server,
        "ib_logfile0 write size: a power of two, 512..4096 (checked as in mariadb-backup)",
    )),
    InnodbMaxDirtyPagesPct => server_setting(any(
        "innodb-max-dirty-pages-pct",
        Required,
        Server,
        "percentage of dirty pages allowed in the buffer pool",
    )),
    InnodbUseNativeAio => server_setting(b(
        "innodb-use-native-aio",
        true,
        Server,
        "use native AIO",
    )),
    InnodbLinuxAio => server_setting(any(
        "innodb-linux-aio",
        Required,
        Server,
        "Linux AIO implementation",
    )),
    // --backup takes the server's page size, --prepare the backup's (backup-my.cnf).
    InnodbPageSize => server_setting(signed(n(
        "innodb-page-size",
        16384,
        4096,
        65536,
        Server,
        "InnoDB page size (hotbackup reads it from the server and from the backup)",
    ))),
    InnodbBufferPoolFilename => server_setting(any(
        "innodb-buffer-pool-filename",
        Required,
        Server,
        "file name of the buffer pool dump",
    )),
    InnodbChecksumAlgorithm => e(
        "innodb-checksum-algorithm",
        Required,
        &["crc32", "strict_crc32", "full_crc32", "strict_full_crc32"],
        Server,
        "page checksum algorithm: crc32, strict_crc32, full_crc32, strict_full_crc32",
    ),
    InnodbUndoDirectory => t(
        "innodb-undo-directory",
        Server,
        "directory of the undo tablespaces",
    ),
    InnodbUndoTablespaces => server_setting(n(
        "innodb-undo-tablespaces",
        0,
        0,
        127,
        Server,
        "number of undo tablespaces (hotbackup reads it from the server and from the backup)",
    )),
    // A number as in 10.11 (GET_UINT, default 6, 0..9): backup-my.cnf always carries it, so
    // only a level other than the default is worth a warning.
    InnodbCompressionLevel => server_setting(n(
        "innodb-compression-level",
        6,
        0,
        9,
        Server,
        "zlib compression level",
    )),
    // Adds an option-file group to read.
    DefaultsGroup => refused(any(
        "defaults-group",
        Required,
        Server,
        "defaults group in option files (default mysqld)",
    )),
    // Loads encryption plugins for --prepare.
    PluginDir => server_setting(t("plugin-dir", Server, "plugin directory, for --prepare")),
    // The key management of an encrypted server (keys.rs). mariadb-backup 10.11 takes them
    // from the server at --backup and from backup-my.cnf at --prepare (on its command line only
    // with --loose-); here they are ordinary options that override those. A key plugin other
    // than file_key_management is refused by name (exit 2); other plugins are ignored.
    PluginLoad => t(
        "plugin-load",
        Server,
        "plugins the server loads: only the key management one matters (file_key_management)",
    ),
    PluginLoadAdd => t(
        "plugin-load-add",
        Server,
        "a plugin the server loads: only the key management one matters (file_key_management)",
    ),
    FileKeyManagementFilename => t(
        "file-key-management-filename",
        Server,
        "the key file of file_key_management, to decrypt the redo log and tablespaces",
    ),
    FileKeyManagementFilekey => t(
        "file-key-management-filekey",
        Server,
        "the secret (or FILE:path) that decrypts an encrypted key file; masked like a password",
    ),
    FileKeyManagementEncryptionAlgorithm => e(
        "file-key-management-encryption-algorithm",
        Required,
        &["aes_cbc", "aes_ctr"],
        Server,
        "the server's file_key_management encryption algorithm",
    ),
    AriaLogDirPath => t(
        "aria-log-dir-path",
        Server,
        "directory of the Aria log files",
    ),
    // Raises RLIMIT_NOFILE (never lowers it), as mariadb-backup; prepare and copy-back keep
    // their open files within the resulting limit.
    OpenFilesLimit => n(
        "open-files-limit",
        0,
        0,
        UINT_MAX,
        Server,
        "file descriptors to reserve with setrlimit() (0: as many as allowed)",
    ),
    LockDdlPerTable => refused(b(
        "lock-ddl-per-table",
        false,
        Server,
        "take a DDL lock on each table before copying it, until the backup ends",
    )),
    RocksdbDatadir => refused(any(
        "rocksdb-datadir",
        Required,
        Server,
        "MyRocks data directory, for --copy-back",
    )),
    // On by default in mariadb-backup; hotbackup never copies MyRocks data.
    RocksdbBackup => accepts_off(refused(b(
        "rocksdb-backup",
        true,
        Server,
        "back up MyRocks data (hotbackup does not: only --skip-rocksdb-backup is accepted)",
    ))),
    CheckPrivileges => b(
        "check-privileges",
        true,
        Server,
        "check the backup user's privileges first",
    ),
    // my_getopt clamps it to 0..1 (SRV_FORCE_IGNORE_CORRUPT). --backup refuses it (exit 1,
    // innodb_param.rs); --prepare leaves corrupt pages without their redo (prepare.rs).
    InnodbForceRecovery => with_arg(
        n(
            "innodb-force-recovery",
            0,
            0,
            1,
            Server,
            "with --prepare: leave corrupt pages without their redo instead of failing; the backup is then NOT consistent (emergencies only)",
        ),
        Optional,
    ),
    // As mariadb-backup: asks the server for `SET GLOBAL innodb_log_checkpoint_now=ON` and
    // carries on, with a warning, when the server refuses it.
    InnodbLogCheckpointNow => b(
        "innodb-log-checkpoint-now",
        false,
        Server,
        "with --backup: ask the server for an InnoDB checkpoint first",
    ),
    MysqldArgs => b(
        "mysqld-args",
        false,
        Server,
        "all later arguments are server options; unknown ones are ignored",
    ),
    Help => short(b("help", false, Server, "display this help and exit"), '?'),
}

#[cfg(test)]
#[path = "table_tests.rs"]
mod tests;
