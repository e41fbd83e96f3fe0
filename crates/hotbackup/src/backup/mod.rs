//! `hotbackup --backup`: the flow that ties the server session, the redo tailer and the
//! page copier together, following mariadb-backup 10.11's observed sequence
//! (`mariabackup-behavior.md` §1.2):
//!
//! 1. connect, read the server's paths, check privileges — before anything is written;
//! 2. create the target (refusing a non-empty one), start copying redo from the checkpoint;
//! 3. `BACKUP STAGE START`: copy `aria_log_control` first (its Aria checkpoint must be older
//!    than every Aria table copy), then every InnoDB tablespace, without locks;
//! 4. `BACKUP STAGE FLUSH` (writes to non-transactional tables are now blocked): copy
//!    MyISAM/Aria/CSV/ARCHIVE/MERGE tables, each opened under `BACKUP LOCK`;
//! 5. `BACKUP STAGE BLOCK_DDL`: copy `.frm`/`.par`/`.TRG`/`.TRN`/`.isl`/`db.opt`, and turn the
//!    DDL seen in the redo log into `.new`/`.ren`/`.del` files;
//! 6. `BACKUP STAGE BLOCK_COMMIT`: copy the log and statistics tables and the Aria log, take
//!    the replica position (`--slave-info`), the Galera position (`--galera-info`), the
//!    binlog position and the server LSN, and stop the redo copy at that LSN;
//! 7. `BACKUP STAGE END` (then `START SLAVE SQL_THREAD` if `--safe-slave-backup` stopped it),
//!    then `backup-my.cnf`, `xtrabackup_info`, and **last** `xtrabackup_checkpoints`: a
//!    directory without it is an incomplete backup;
//! 8. `--history`: the row in `mysql.mariadb_backup_history`, for the complete backup.
//!
//! `--safe-slave-backup` stops the replica's SQL thread before `BACKUP STAGE START` (see
//! [`replica`]); every way out of the backup starts it again.
//!
//! On failure after step 2 the target stays without `xtrabackup_checkpoints` and the message
//! says it is incomplete; the redo copy is stopped and the sessions are dropped, which makes
//! the server release their `BACKUP STAGE`/`BACKUP LOCK`. The redo copier's connection
//! doubles as a watchdog: a server that goes away is reported as such (exit 3) within about
//! a second, not after every remaining file was copied. A failing redo copy is reported with
//! its own error and code (overwritten: 5, disk full: 6).
//!
//! Every session is bounded by a [`server::Watchdog`]: a server that leaves a ping unanswered
//! for [`SERVER_SILENCE`] (SIGSTOPped, hung) has every waiting statement cut, and the
//! backup fails with exit 3 (see [`interrupt`] for SIGINT/SIGTERM, which cut them too).

pub mod aria;
mod compress;
pub mod ddl;
mod ddl_markers;
pub mod discover;
mod encryption;
mod extended_validation;
mod files;
pub mod filter;
pub mod galera;
pub mod history;
mod incremental;
mod innodb_copy;
pub mod innodb_off;
pub mod interrupt;
pub mod lock_wait;
mod lsn;
mod posix_regex;
mod privileges;
mod redo_copy;
pub mod replica;
mod stages;
mod stream;
pub mod table_open;
mod watch;

use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use backup_meta::{
    BackupMyCnf, BackupType, BinlogInfo, Checkpoints, FileMode, MetaFile, StreamFormat,
    XtrabackupInfo,
};
use innodb::Lsn;
use server::{BackupStage, ConnectOptions, Session, Stop, Variables, Watchdog};
use sink::{DirSink, Sink};

use crate::exit::Code;
use crate::failure::Failure;
use crate::log::Log;
use crate::options::{BinlogInfo as BinlogInfoOption, ChecksumAlgorithm, Options};
use discover::ServerPaths;
use files::{recopy_changed, sink_failure};
use redo_copy::start_tailer;
use stages::{copy_everything, server_lsn};
use watch::{check_progress, explain_incomplete, stop_tailer_on_failure, Place, ServerWatch};

/// How long to wait for the redo copy to reach the final LSN once commits are blocked.
const STOP_TIMEOUT: Duration = Duration::from_secs(300);

/// Read/write timeout of the redo copier's LSN session (and of other short-lived probes):
/// its statements answer in milliseconds, so a server that does not answer for this long is
/// frozen (SIGSTOP, hung), and the backup must fail instead of waiting forever. The
/// `BACKUP STAGE` session has none: `BLOCK_DDL`/`BLOCK_COMMIT` may wait for long statements.
const LSN_SESSION_TIMEOUT: Duration = Duration::from_secs(60);

/// How long the server may leave a ping unanswered before the backup gives up on it (every
/// waiting statement is cut, exit 3): with the ping interval and the cleanup, a backup
/// ends within about 35 s of the server's last answer. A statement that waits legitimately
/// (BLOCK_DDL behind a long DDL) is never cut: the server answers pings meanwhile.
pub const SERVER_SILENCE: Duration = Duration::from_secs(30);

/// How often the watchdog pings.
const PING_INTERVAL: Duration = Duration::from_secs(1);

/// Runs a backup.
pub fn run(opts: &Options, args: &[String], log: &Log) -> Result<(), Failure> {
    let started = crate::log::unix_now();
    let target = absolute(&opts.target_dir)?;
    // A stream is checked before anything else: never connect for a terminal.
    let sink: Box<dyn Sink> = if opts.stream {
        stream::stdout_sink()?
    } else {
        Box::new(DirSink::new(&target))
    };
    let sink = compress::wrap(sink, opts)?;
    let place = Place::new(sink.as_ref(), &target);
    // Filters are checked before connecting: a bad regexp or list file writes nothing.
    let mut filter = filter::Filter::new(&opts.partial, &|p| std::fs::read(p))
        .map_err(|why| Failure::new(Code::Usage, why))?;
    let conn = connect_options(opts)?;

    log.info(&format!("Connecting to MariaDB server {}", conn.describe()));
    interrupt::install();
    let mut main = Session::connect(&conn)?;
    let watchdog = Watchdog::start(&conn, SERVER_SILENCE, PING_INTERVAL)?;
    main.set_watchdog(watchdog.clone());
    let mut vars = main.variables()?;
    log.info(&format!(
        "Using server version {}",
        vars.get("version").unwrap_or("?")
    ));
    let innodb_off = innodb_off::is_off(&vars);
    if innodb_off {
        if let Some(datadir) = vars.get("datadir").map(PathBuf::from) {
            innodb_off::fill(&mut vars, &opts.innodb, &datadir);
        }
        log.info("Warning: InnoDB is disabled on the server (--skip-innodb): its files are copied as they are, with the redo log up to its end; the InnoDB settings come from the option files and the files");
    }
    // --binlog-info=OFF/LOCKLESS: no SHOW MASTER STATUS, no xtrabackup_binlog_info.
    let binlog_on = vars.is_on("log_bin")
        && matches!(
            opts.binlog_info,
            BinlogInfoOption::On | BinlogInfoOption::Auto
        );
    let probe_slave_info =
        opts.check_privileges && privileges::check(opts, &mut main, binlog_on, log)?;
    if opts.log_checkpoint_now {
        checkpoint_now(&mut main, log);
    }
    let galera = opts.galera_info && vars.get("wsrep_on").is_some();
    if opts.galera_info && !galera {
        log.info("--galera-info is specified on the command line, but the server does not support Galera replication. Ignoring the option.");
    }
    let paths = server_paths(&vars)?;
    // As mariadb-backup: the directories the server ignores are not backed up.
    filter.ignore_db_dirs(vars.get("ignore_db_dirs").unwrap_or(""));
    // The base of an incremental backup is found and checked before anything is written.
    let incremental = opts
        .incremental
        .as_ref()
        .map(|from| incremental::resolve(from, &mut main, &vars, innodb_off, log))
        .transpose()?;
    if opts.rocksdb_backup {
        refuse_myrocks(&mut main, &paths.datadir)?;
    }
    let encryption = match innodb_off {
        true => encryption::ServerEncryption::default(),
        false => encryption::read(&mut main, opts)?,
    };
    if let Some(configured) = &opts.datadir {
        if canonical(configured) != canonical(&paths.datadir) {
            log.info(&format!(
                "Warning: option 'datadir' has different values: '{}' in defaults file, '{}' in SHOW VARIABLES; using the server's",
                configured.display(),
                paths.datadir.display()
            ));
        }
    }
    if !sink.is_stream() {
        // As mariadb-backup: a stream writes nothing into --target-dir (not even creates it).
        create_target(&target)?;
    }
    if probe_slave_info {
        privileges::probe_slave_info(&mut main)?;
    }
    if !sink.is_stream() {
        for warning in page_copier::exposure_warnings(&target) {
            log.info(&format!("Warning: {warning}"));
        }
    }

    // From here on a failure leaves a partial target behind: it never has
    // xtrabackup_checkpoints, and the message says so.
    let watch = ServerWatch {
        gone: Arc::default(),
        watchdog,
    };
    let ctx = Context {
        opts,
        conn: &conn,
        vars: &vars,
        paths: &paths,
        filter: &filter,
        sink: sink.as_ref(),
        place: &place,
        watch: &watch,
        log,
        binlog_on,
        galera,
        innodb_off,
        incremental,
        encryption: &encryption,
    };
    let sql_thread_stopped = AtomicBool::new(false);
    let mut sql_thread = replica::SqlThread::new(&conn, log, &sql_thread_stopped);
    let mut temp_dirs = Vec::new();
    if !sink.is_stream() {
        temp_dirs.push(target.clone());
    }
    if let Some(extra) = &opts.extra_lsndir {
        temp_dirs.push(absolute(extra)?);
    }
    let stopper = interrupt::Stopper::new();
    let cleanup = interrupt::Cleanup {
        conn: &conn,
        sql_thread_stopped: &sql_thread_stopped,
        dirs: temp_dirs.clone(),
        place: &place,
        log,
    };
    let result = std::thread::scope(|scope| {
        scope.spawn(|| stopper.run(&watch.watchdog, &cleanup));
        let result = backup_into(&ctx, &mut main, &mut sql_thread, args, started);
        if result.is_err() {
            interrupt::failure_path_started();
        }
        let result = result.map_err(|failure| {
            let mut failure = explain_incomplete(failure, &conn, &watch, &place);
            // Replication must never stay stopped by a failed backup.
            let silent = matches!(watch.watchdog.stopped(), Some(Stop::NoAnswer { .. }));
            if let Some(note) = sql_thread.restart_after_failure(silent) {
                failure.message = format!("{}\n{note}", failure.message);
            }
            for dir in &temp_dirs {
                interrupt::remove_temp_files(dir);
            }
            failure
        });
        stopper.finish();
        result
    });
    let done = result?;
    // The backup is complete (xtrabackup_checkpoints is written): only now is it recorded.
    if opts.history.is_some() {
        history::record(&mut main, &done.info, started, done.end_unix)
            .map_err(|e| history_failure(&mut main, e, &place))?;
    }
    log.info("completed OK!");
    Ok(())
}

/// What a complete backup leaves for the last steps.
struct Completed {
    /// Its `xtrabackup_info`.
    info: XtrabackupInfo,
    /// When `xtrabackup_info` was made (unix seconds), its `end_time`.
    end_unix: i64,
}

/// `--innodb-log-checkpoint-now`: as mariadb-backup, asks for a checkpoint before the redo
/// copy starts and carries on when the server refuses: a checkpoint only shortens the redo
/// that --prepare applies.
fn checkpoint_now(main: &mut Session, log: &Log) {
    log.info("Initiating checkpoint");
    match main.exec("SET GLOBAL innodb_log_checkpoint_now=ON") {
        Ok(()) => log.info("Finished waiting for checkpoint"),
        Err(e) => log.info(&format!(
            "Warning: --innodb-log-checkpoint-now: the server did not make a checkpoint ({e}); \
             continuing without one"
        )),
    }
}

/// `--history` failed after the backup was complete: the files can be used, the command
/// failed, and the message says both (exit 1 for a missing privilege, as other privilege
/// failures).
fn history_failure(main: &mut Session, e: server::ServerError, place: &Place) -> Failure {
    let denied = e.is_access_denied();
    let mut failure = Failure::from(e);
    let fix = if denied {
        let account = current_account(main);
        format!(
            " --history needs ALTER, CREATE and INSERT on mysql.mariadb_backup_history: GRANT ALTER, CREATE, INSERT ON mysql.mariadb_backup_history TO {account}; (or leave out --history)."
        )
    } else {
        String::new()
    };
    failure.message = format!(
        "recording the backup in mysql.mariadb_backup_history (--history) failed: {}.{fix}\nThe backup in {} itself is complete (it has {}) and can be prepared; only its history row is missing.",
        failure.message,
        place.name,
        backup_meta::names::XTRABACKUP_CHECKPOINTS
    );
    failure
}

/// `'user'@'host'` of this session, for GRANT hints.
fn current_account(main: &mut Session) -> String {
    main.query_value("SELECT CURRENT_USER()")
        .ok()
        .flatten()
        .and_then(|user| {
            user.rsplit_once('@')
                .map(|(name, host)| format!("'{name}'@'{host}'"))
        })
        .unwrap_or_else(|| "<user>".to_string())
}

/// What every step of a running backup needs.
struct Context<'a> {
    opts: &'a Options,
    conn: &'a ConnectOptions,
    vars: &'a Variables,
    paths: &'a ServerPaths,
    /// What a partial backup leaves out.
    filter: &'a filter::Filter,
    /// Where the backup's files go.
    sink: &'a dyn Sink,
    /// The backup's place, for messages.
    place: &'a Place,
    watch: &'a ServerWatch,
    log: &'a Log,
    /// A binlog position is taken: binlog on, `--binlog-info` ON or AUTO.
    binlog_on: bool,
    /// `--galera-info` on a server with wsrep.
    galera: bool,
    /// The server runs without InnoDB ([`innodb_off`]): nothing writes its files.
    innodb_off: bool,
    /// An incremental backup: the base's LSN ([`incremental`]); InnoDB files become deltas.
    incremental: Option<Lsn>,
    /// The server's encryption plugins and, for an encrypted log, the keys ([`encryption`]).
    encryption: &'a encryption::ServerEncryption,
}

/// The backup proper, into the (new or empty) target directory.
fn backup_into(
    ctx: &Context,
    main: &mut Session,
    sql_thread: &mut replica::SqlThread,
    args: &[String],
    started: i64,
) -> Result<Completed, Failure> {
    let (opts, vars, sink, log) = (ctx.opts, ctx.vars, ctx.sink, ctx.log);

    // The redo copy starts first: every page change from its checkpoint on is captured.
    let ddl_ops: Arc<Mutex<Vec<ddl::DdlOp>>> = Arc::default();
    let tailer = start_tailer(ctx, &ddl_ops)?;
    let start = tailer.start_checkpoint();
    log.info(&format!(
        "Redo log copy started at checkpoint LSN {} (server end LSN {})",
        start.checkpoint_lsn, start.end_lsn
    ));

    let done = match copy_everything(ctx, main, sql_thread, &ddl_ops, &tailer) {
        Ok(done) => done,
        Err(e) => return Err(stop_tailer_on_failure(tailer, ctx.watch, e)),
    };
    let lock_started = done.block_commit_at;

    // BLOCK_COMMIT is held: nothing can commit, so the LSN now is a consistent point.
    let mut finish = || -> Result<(Lsn, Lsn, Positions), Failure> {
        let slave = if opts.slave_info {
            replica::slave_info(main, log)?
        } else {
            None
        };
        let galera = if ctx.galera {
            galera::galera_info(main, log)?
        } else {
            None
        };
        let binlog = if ctx.binlog_on {
            let pos = main.master_status().map_err(|e| {
                if e.is_access_denied() {
                    Failure::new(
                        Code::Failure,
                        format!("{e}. The binlog position (log_bin is ON) needs the BINLOG MONITOR privilege: GRANT BINLOG MONITOR ON *.* TO <backup user>, or leave it out with --binlog-info=OFF"),
                    )
                } else {
                    e.into()
                }
            })?;
            let gtid = main
                .variables()?
                .get("gtid_current_pos")
                .map(str::to_string);
            pos.map(|p| BinlogInfo {
                file: p.file,
                position: p.position,
                gtid,
            })
        } else {
            None
        };
        let lsn = server_lsn(ctx, main, &tailer, log)?;
        // Everything that can still change on disk is now covered by durable logs.
        recopy_changed(&done.stamps, sink, log)?;
        aria::copy_aria_logs(
            &done.inventory,
            sink,
            log,
            false,
            &done.aria_logs,
            &done.aria_free,
        )?;
        check_progress(&tailer, ctx.watch)?;
        let checkpoint = tailer.latest_server_checkpoint()?;
        log.info(&format!(
            "The latest check point (for incremental): '{checkpoint}'"
        ));
        Ok((
            lsn,
            checkpoint,
            Positions {
                binlog,
                slave,
                galera,
            },
        ))
    };
    let (stop_lsn, to_lsn, positions) = match finish() {
        Ok(v) => v,
        Err(e) => return Err(stop_tailer_on_failure(tailer, ctx.watch, e)),
    };
    log.info("Stopping log copying thread");
    let report = tailer.stop_at(stop_lsn.max(to_lsn), STOP_TIMEOUT)?;
    let Positions {
        binlog,
        slave,
        galera,
    } = positions;
    if let Some(s) = &slave {
        put_meta(sink, s, backup_meta::names::XTRABACKUP_SLAVE_INFO)?;
    }
    if let Some(g) = &galera {
        for name in [
            backup_meta::names::XTRABACKUP_GALERA_INFO,
            backup_meta::names::DONOR_GALERA_INFO,
        ] {
            put_meta(sink, g, name)?;
        }
    }
    if let Some(b) = &binlog {
        put_meta(sink, b, backup_meta::names::XTRABACKUP_BINLOG_INFO)?;
    }
    if let Some(mut stage) = done.stage {
        main.flush_engine_logs()?;
        stage.backup_stage(BackupStage::End)?;
        log.info("All tables unlocked");
    }
    sql_thread.restart(main)?;
    let lock_time = (crate::log::unix_now() - lock_started).max(0) as i32;

    if !done.corrupted.is_empty() {
        put_meta(
            sink,
            &done.corrupted,
            backup_meta::names::INNODB_CORRUPTED_PAGES,
        )?;
    }
    put_meta(
        sink,
        &backup_my_cnf(vars, opts, &ctx.encryption.block),
        backup_meta::names::BACKUP_MY_CNF,
    )?;
    let uuid = main.query_value("SELECT UUID()")?.unwrap_or_default();
    let end_unix = crate::log::unix_now();
    let info = XtrabackupInfo {
        uuid,
        name: opts.history.clone().flatten().unwrap_or_default(),
        tool_name: "hotbackup".to_string(),
        tool_command: backup_meta::tool_command(args),
        tool_version: backup_meta::MARIADB_BACKUP_VERSION.to_string(),
        ibbackup_version: backup_meta::MARIADB_BACKUP_VERSION.to_string(),
        server_version: vars.get("version").unwrap_or_default().to_string(),
        start_time: backup_meta::format_local_timestamp(started, crate::log::utc_offset(started)),
        end_time: backup_meta::format_local_timestamp(end_unix, crate::log::utc_offset(end_unix)),
        lock_time,
        binlog_pos: binlog
            .as_ref()
            .map(BinlogInfo::binlog_pos_text)
            .unwrap_or_default(),
        innodb_from_lsn: ctx.incremental.map_or(0, |l| l.0),
        innodb_to_lsn: to_lsn.0,
        partial: ctx.filter.is_partial(),
        incremental: ctx.incremental.is_some(),
        format: if sink.is_stream() {
            StreamFormat::Mbstream
        } else {
            StreamFormat::File
        },
        compressed: opts.compress.is_some(),
    };
    put_meta(sink, &info, backup_meta::names::XTRABACKUP_INFO)?;
    let checkpoints = Checkpoints {
        backup_type: if ctx.incremental.is_some() {
            BackupType::Incremental
        } else {
            BackupType::FullBackuped
        },
        from_lsn: ctx.incremental.map_or(0, |l| l.0),
        to_lsn: to_lsn.0,
        last_lsn: report.last_lsn.0,
        // As mariadb-backup: prepare takes a LOCKLESS backup's binlog position from InnoDB.
        recover_binlog_info: matches!(opts.binlog_info, crate::options::BinlogInfo::Lockless),
    };
    // Everything copied so far becomes durable in one flush of the target's filesystem (or
    // is flushed to the stream), then the completion mark is written last, atomically.
    sink.sync().map_err(|e| {
        sink_failure(
            sink,
            Path::new(backup_meta::names::XTRABACKUP_CHECKPOINTS),
            e,
        )
    })?;
    put_meta(
        sink,
        &checkpoints,
        backup_meta::names::XTRABACKUP_CHECKPOINTS,
    )?;
    // Only after the backup is complete: an --extra-lsndir is what the next incremental
    // reads (`--incremental-basedir`), and it must never describe a backup that failed.
    if let Some(extra) = &opts.extra_lsndir {
        let extra = absolute(extra)?;
        page_copier::create_dir_private(&extra).map_err(|e| Failure::io(&extra, e))?;
        for warning in page_copier::exposure_warnings(&extra) {
            log.info(&format!("Warning: {warning}"));
        }
        write_meta(
            &checkpoints,
            &extra.join(backup_meta::names::XTRABACKUP_CHECKPOINTS),
            FileMode::Fopen,
        )?;
        write_meta(
            &info,
            &extra.join(backup_meta::names::XTRABACKUP_INFO),
            FileMode::Fopen,
        )?;
    }

    log.info(&format!(
        "Backup created in directory '{}/'",
        ctx.place.target.display()
    ));
    if let Some(b) = &binlog {
        log.info(&format!("MySQL binlog position: {}", b.binlog_pos_text()));
    }
    log.info(&format!(
        "Redo log (from LSN {} to {}) was copied.",
        report.start_lsn, report.last_lsn
    ));
    Ok(Completed { info, end_unix })
}

/// Writes a new metadata file `name` into the backup (atomically in a directory), never
/// after a signal (see [`interrupt`]).
fn put_meta(sink: &dyn Sink, meta: &impl MetaFile, name: &str) -> Result<(), Failure> {
    let rel = Path::new(name);
    interrupt::write_gate(|| {
        sink.put(rel, meta.render().as_bytes())
            .map_err(|e| sink_failure(sink, rel, e))
    })
}

/// Writes (or replaces) a metadata file atomically, never after a signal.
fn write_meta(meta: &impl MetaFile, path: &Path, mode: FileMode) -> Result<(), Failure> {
    interrupt::write_gate(|| Ok(meta.write(path, mode)?))
}

/// The positions taken under `BLOCK_COMMIT`, each written as its own file.
struct Positions {
    /// `xtrabackup_binlog_info`.
    binlog: Option<BinlogInfo>,
    /// `xtrabackup_slave_info` (`--slave-info` on a replica).
    slave: Option<backup_meta::SlaveInfo>,
    /// `xtrabackup_galera_info` (`--galera-info` on a Galera node).
    galera: Option<backup_meta::GaleraInfo>,
}

/// mariadb-backup copies MyRocks data by default; hotbackup cannot, so a server with the
/// MyRocks engine loaded or a `#rocksdb` directory in its datadir is refused before anything
/// is written, unless `--skip-rocksdb-backup` says to leave MyRocks out.
fn refuse_myrocks(main: &mut Session, datadir: &Path) -> Result<(), Failure> {
    let rows =
        main.query_rows("SELECT SUPPORT FROM information_schema.ENGINES WHERE ENGINE = 'ROCKSDB'")?;
    let loaded = rows
        .iter()
        .flatten()
        .flatten()
        .any(|s| s.eq_ignore_ascii_case("YES") || s.eq_ignore_ascii_case("DEFAULT"));
    let dir = datadir.join("#rocksdb");
    let has_files = std::fs::read_dir(&dir).is_ok_and(|mut d| d.next().is_some());
    if loaded || has_files {
        return Err(Failure::new(
            Code::Failure,
            format!(
                "the server has MyRocks data ({}), which this version of hotbackup cannot back \
                 up; mariadb-backup copies it by default. Back up with mariadb-backup, or pass \
                 --skip-rocksdb-backup to take a backup without the MyRocks tables",
                if loaded {
                    "the ROCKSDB engine is loaded".to_string()
                } else {
                    format!("{} is not empty", dir.display())
                }
            ),
        ));
    }
    Ok(())
}

fn server_paths(vars: &Variables) -> Result<ServerPaths, Failure> {
    let datadir = PathBuf::from(vars.get("datadir").ok_or_else(|| {
        Failure::new(
            Code::Failure,
            "the server did not report its datadir".to_string(),
        )
    })?);
    let home = vars.get("innodb_data_home_dir").unwrap_or("");
    Ok(ServerPaths {
        data_home_dir: discover::resolve(&datadir, home),
        data_file_path: vars
            .get("innodb_data_file_path")
            .unwrap_or("ibdata1:12M:autoextend")
            .to_string(),
        undo_dir: discover::resolve(&datadir, vars.get("innodb_undo_directory").unwrap_or("./")),
        aria_log_dir: discover::resolve(&datadir, vars.get("aria_log_dir_path").unwrap_or("./")),
        datadir,
    })
}

/// `backup-my.cnf` as mariadb-backup writes it. `innodb_checksum_algorithm` is the *tool's*
/// setting (`--innodb-checksum-algorithm` or `[mysqld]`), `crc32` by default, not the
/// server's: mariadb-backup does so, and `--prepare` only uses it for tablespaces it creates.
fn backup_my_cnf(
    vars: &Variables,
    opts: &Options,
    plugins: &[backup_meta::CnfOption],
) -> BackupMyCnf {
    let num = |name: &str| {
        vars.get(name)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    let data_file_path = vars
        .get("innodb_data_file_path")
        .unwrap_or("ibdata1:12M:autoextend")
        .split(';')
        .map(|entry| entry.rsplit_once('/').map_or(entry, |(_, name)| name))
        .collect::<Vec<_>>()
        .join(";");
    BackupMyCnf {
        checksum_algorithm: match opts.innodb.checksum_algorithm {
            None | Some(ChecksumAlgorithm::Crc32) => "crc32",
            Some(ChecksumAlgorithm::StrictCrc32) => "strict_crc32",
            Some(ChecksumAlgorithm::FullCrc32) => "full_crc32",
            Some(ChecksumAlgorithm::StrictFullCrc32) => "strict_full_crc32",
        }
        .to_string(),
        data_file_path,
        log_file_size: num("innodb_log_file_size"),
        page_size: num("innodb_page_size"),
        undo_directory: "./".to_string(),
        undo_tablespaces: num("innodb_undo_tablespaces") as u32,
        compression_level: num("innodb_compression_level") as u32,
        buffer_pool_filename: None,
        other_options: plugins.to_vec(),
    }
}

pub(crate) fn connect_options(opts: &Options) -> Result<ConnectOptions, Failure> {
    let c = &opts.connection;
    Ok(ConnectOptions {
        host: c.host.clone(),
        port: c.port,
        // Resolved now: relative sockets must keep working whatever the working directory.
        socket: c.socket.as_ref().map(|s| absolute(s)).transpose()?,
        force_tcp: matches!(c.protocol, Some(crate::options::Protocol::Tcp)),
        user: c.user.clone(),
        password: c.password.clone(),
        io_timeout: None,
        tls: c.tls.clone(),
    })
}

fn absolute(path: &Path) -> Result<PathBuf, Failure> {
    std::path::absolute(path).map_err(|e| Failure::io(path, e))
}

fn canonical(path: &Path) -> PathBuf {
    std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
}

/// Creates the target directory (0700), refusing one that has anything in it: unlike
/// mariadb-backup, a backup never mixes with older files.
fn create_target(target: &Path) -> Result<(), Failure> {
    match std::fs::read_dir(target) {
        Ok(mut entries) => {
            if entries.next().is_some() {
                return Err(Failure::new(
                    Code::WrongState,
                    format!(
                        "the target directory {} is not empty; choose a new or empty directory (hotbackup never mixes a backup with other files)",
                        target.display()
                    ),
                ));
            }
            Ok(())
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            page_copier::create_dir_private(target).map_err(|e| Failure::io(target, e))
        }
        Err(e) if e.kind() == io::ErrorKind::NotADirectory => Err(Failure::new(
            Code::WrongState,
            format!(
                "the target {} exists and is not a directory; give --target-dir a new or empty directory",
                target.display()
            ),
        )),
        Err(e) => Err(Failure::io(target, e)),
    }
}
