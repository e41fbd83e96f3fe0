//! The copy under the `BACKUP STAGE` sequence: `START` (Aria logs, InnoDB), `FLUSH`
//! (non-transactional tables), `BLOCK_DDL` (rescan, metadata files, DDL markers) up to
//! `BLOCK_COMMIT` (log and statistics tables), with the redo copy watched throughout.

use std::collections::BTreeSet;
use std::ffi::OsString;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;

use backup_meta::{CorruptedPages, ReadAhead};
use innodb::Lsn;
use page_copier::CopyOptions;
use server::{BackupStage, Session};

use super::discover::{self, Inventory};
use super::extended_validation::{ExtendedValidation, Mode};
use super::files::{copy_nontx_table, copy_whole_file, sink_failure, write_marker, Stamped};
use super::watch::check_progress;
use super::{aria, ddl, ddl_markers, innodb_copy, lock_wait, lsn, replica, Context};
use crate::exit::Code;
use crate::failure::Failure;
use crate::log::Log;

/// What the locked phases leave for the final steps.
pub(super) struct Copied {
    /// The `BACKUP STAGE` session, held at `BLOCK_COMMIT` (none with `--no-lock`).
    pub(super) stage: Option<Session>,
    /// When `BLOCK_COMMIT` was reached (unix seconds).
    pub(super) block_commit_at: i64,
    /// Pages kept with `--log-innodb-page-corruption`.
    pub(super) corrupted: CorruptedPages,
    /// Non-InnoDB files copied so far, to re-copy if they changed.
    pub(super) stamps: Vec<Stamped>,
    /// Aria log files copied at the start (re-copied in place at the end).
    pub(super) aria_logs: BTreeSet<PathBuf>,
    /// Aria log files left out: free for recovery at the start ([`aria::free_logs`]).
    pub(super) aria_free: BTreeSet<OsString>,
    /// The datadir as seen under BLOCK_DDL.
    pub(super) inventory: Inventory,
}

pub(super) fn copy_everything(
    ctx: &Context,
    main: &mut Session,
    sql_thread: &mut replica::SqlThread,
    ddl_ops: &Mutex<Vec<ddl::DdlOp>>,
    tailer: &redo_tailer::TailerHandle,
) -> Result<Copied, Failure> {
    let (opts, conn, paths, sink, log) = (ctx.opts, ctx.conn, ctx.paths, ctx.sink, ctx.log);
    let inventory =
        discover::scan(paths, ctx.filter).map_err(|e| Failure::io(&paths.datadir, e))?;
    for skipped in &inventory.skipped {
        log.info(&format!("Skipping {}.", skipped.display()));
    }
    // Both sessions are dropped (disconnected) on every early return, and the server then
    // releases whatever BACKUP STAGE or BACKUP LOCK they held.
    let mut stage = if opts.no_lock {
        log.info("Warning: --no-lock: non-InnoDB tables are copied without locks and may be inconsistent");
        None
    } else {
        let mut s = Session::connect(conn)?;
        s.set_watchdog(ctx.watch.watchdog.clone());
        s.exec(lock_wait::LOCK_WAIT_FOREVER)?;
        Some(s)
    };
    let mut table_locks = if opts.no_lock {
        None
    } else {
        let mut s = Session::connect(conn)?;
        s.set_watchdog(ctx.watch.watchdog.clone());
        Some(s)
    };
    let set_stage =
        |stage: &mut Option<Session>, s: BackupStage, log: &Log| -> Result<(), Failure> {
            check_progress(tailer, ctx.watch)?;
            if opts.verbose {
                log.info(&format!(">> log scanned up to ({})", tailer.copied_lsn().0));
            }
            if let Some(session) = stage.as_mut() {
                log.info(&format!("Starting BACKUP STAGE {s:?}"));
                session.backup_stage(s)?;
            }
            Ok(())
        };

    if opts.safe_slave_backup {
        // As mariadb-backup: once the other sessions are connected, before BACKUP STAGE START.
        sql_thread.stop_when_safe(main, opts.safe_slave_backup_timeout_s, &|| {
            check_progress(tailer, ctx.watch)
        })?;
    }
    check_progress(tailer, ctx.watch)?;
    if let Some(session) = stage.as_mut() {
        log.info("Starting BACKUP STAGE Start");
        lock_wait::stage_start(session, opts.startup_wait_timeout_s, log, &|| {
            check_progress(tailer, ctx.watch)
        })?;
    }
    // aria_log_control before any Aria table: Aria recovery starts from its checkpoint.
    let aria_free = aria::free_logs(main, log);
    let aria_logs =
        aria::copy_aria_logs(&inventory, sink, log, true, &BTreeSet::new(), &aria_free)?;

    let mut copy_options = CopyOptions {
        log_corruption: opts.log_innodb_page_corruption,
        // Durability comes from one syncfs before the completion mark.
        sync: false,
        ..CopyOptions::default()
    };
    // Encrypted pages decrypted and checked: page_compressed ones always, as mariadb-backup.
    let mode = if opts.extended_validation {
        Mode::Extended
    } else {
        Mode::PageCompressed
    };
    copy_options.deep_check = Some(std::sync::Arc::new(ExtendedValidation::new(
        mode,
        ctx.encryption.keys.clone(),
        ctx.encryption.no_keys.clone(),
        copy_options.validation,
    )));
    let mut corrupted = CorruptedPages::default();
    let (copied, deferred) =
        innodb_copy::copy_innodb(ctx, &inventory, &copy_options, tailer, &mut corrupted)?;

    set_stage(&mut stage, BackupStage::Flush, log)?;
    let mut done_tables = Vec::new();
    let mut stamps = Vec::new();
    // The tables' files read ahead of the copy (thousands of small MyISAM files).
    let early: Vec<_> = inventory.nontx.iter().filter(|t| !t.late).collect();
    let ahead = ReadAhead::start(
        early
            .iter()
            .flat_map(|t| &t.files)
            .map(|f| (f.source.clone(), vec![(0, crate::in_order::HEAD)]))
            .collect(),
        crate::in_order::WINDOW,
    );
    let mut files_done = 0;
    for table in early {
        if let Some(a) = &ahead {
            a.reached(files_done);
        }
        files_done += table.files.len();
        copy_nontx_table(table, sink, table_locks.as_mut(), log, &mut stamps)?;
        done_tables.push((table.db.clone(), table.table.clone()));
        check_progress(tailer, ctx.watch)?;
    }
    drop(ahead);

    set_stage(&mut stage, BackupStage::BlockDdl, log)?;
    // Look again: tables created since the first scan have files now, and DDL is blocked.
    let now = discover::scan(paths, ctx.filter).map_err(|e| Failure::io(&paths.datadir, e))?;
    for table in now.nontx.iter().filter(|t| !t.late) {
        if !done_tables.contains(&(table.db.clone(), table.table.clone())) {
            copy_nontx_table(table, sink, table_locks.as_mut(), log, &mut stamps)?;
        }
    }
    for dir in &now.databases {
        sink.create_dir(dir)
            .map_err(|e| sink_failure(sink, dir, e))?;
    }
    // Under BLOCK_DDL: the .frm of thousands of tables read ahead, so DDL is blocked for
    // the disk's pace of small files, not one random read per file.
    crate::in_order::try_run(
        1,
        &now.metadata,
        |f| Some(f.source.clone()),
        |thread, file| copy_whole_file(file, sink, log, thread),
    )?;
    for dir in &now.empty_databases {
        // As mariadb-backup: an empty db.opt keeps an empty database in the backup.
        let opt = dir.join("db.opt");
        if !sink.contains(&opt) {
            write_marker(sink, &opt.to_string_lossy(), b"")?;
        }
    }
    // The marker files must reflect every CREATE/RENAME/DROP that finished before DDL was
    // blocked: their FILE_* records may still sit in the server's log buffer (a DROP's
    // FILE_DELETE is written after its commit) or not be read by the copier yet.
    wait_for_redo(ctx, main, tailer, "the DDL done before BLOCK_DDL")?;
    ddl_markers::apply_ddl(
        &paths.datadir,
        sink,
        &copied,
        &deferred,
        &now,
        ddl_ops,
        ctx.filter,
        &copy_options,
        log,
    )?;

    set_stage(&mut stage, BackupStage::BlockCommit, log)?;
    let block_commit_at = crate::log::unix_now();
    for table in now.nontx.iter().filter(|t| t.late) {
        copy_nontx_table(table, sink, None, log, &mut stamps)?;
    }
    Ok(Copied {
        stage,
        block_commit_at,
        corrupted,
        stamps,
        aria_logs,
        aria_free,
        inventory: now,
    })
}

/// The server's current InnoDB LSN; without InnoDB ([`innodb_off`]) the end of its log, which
/// nothing writes: the start checkpoint's end.
pub(super) fn server_lsn(
    ctx: &Context,
    main: &mut Session,
    tailer: &redo_tailer::TailerHandle,
    log: &Log,
) -> Result<Lsn, Failure> {
    if ctx.innodb_off {
        // No InnoDB to ask: the backup's LSN is the end of the log on disk, as mariadb-backup.
        log.info("Getting InnoDB LSN");
        let lsn = tailer.start_checkpoint().end_lsn;
        log.info(&format!(
            "InnoDB LSN: {lsn} (InnoDB is disabled), Flushing Logs"
        ));
        main.flush_engine_logs()?;
        return Ok(lsn);
    }
    lsn::durable_lsn(main, log)
}

/// How long the redo copy may take to catch up with the server's log under `BLOCK_DDL`.
const CATCH_UP_TIMEOUT: Duration = Duration::from_secs(120);

/// Makes the server write its log up to its current LSN and waits until the redo copy has
/// read that far (so every FILE_* record up to now has been seen).
fn wait_for_redo(
    ctx: &Context,
    main: &mut Session,
    tailer: &redo_tailer::TailerHandle,
    what: &str,
) -> Result<(), Failure> {
    let lsn = server_lsn(ctx, main, tailer, ctx.log)?;
    let deadline = std::time::Instant::now() + CATCH_UP_TIMEOUT;
    while tailer.copied_lsn() < lsn {
        check_progress(tailer, ctx.watch)?;
        if std::time::Instant::now() >= deadline {
            return Err(Failure::new(
                Code::Failure,
                format!(
                    "the redo log copy did not reach LSN {lsn} ({what}) within {:?}: it is at LSN {} ({}). Is the target's disk very slow, or the server not answering? Try again with a faster --target-dir",
                    CATCH_UP_TIMEOUT,
                    tailer.copied_lsn(),
                    tailer.status()
                ),
            ));
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    Ok(())
}
