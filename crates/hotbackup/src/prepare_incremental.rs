//! `hotbackup --prepare --target-dir=BASE --incremental-dir=INC`: applies an incremental
//! backup onto its prepared base (`prepare::prepare_incremental`); this renders its
//! progress and errors, as `prepare` does for a full backup.

use std::path::Path;

use crate::failure::Failure;
use crate::log::Log;
use crate::options::Options;
use crate::prepare::{failure, test_crash_point, LogProgress};

/// Runs `--prepare --incremental-dir=INC` on the absolute `target`.
pub fn run(opts: &Options, log: &Log, target: &Path, inc: &Path) -> Result<(), Failure> {
    let inc = std::path::absolute(inc).map_err(|e| Failure::io(inc, e))?;
    // mariadb-backup's first lines of an incremental prepare.
    log.info(&format!("cd to {}/", target.display()));
    if opts.innodb_force_recovery >= 1 {
        // The log apply of an incremental refuses corrupt pages whatever the option says:
        // a base is never knowingly made inconsistent.
        log.info(
            "Warning: --innodb-force-recovery is ignored with --incremental-dir: a corrupt \
             page stops the apply",
        );
    }
    let keys = crate::keys::for_prepare(&opts.key_management, target)?;
    let options = prepare::PrepareOptions {
        use_memory: opts.use_memory.max(8 << 20),
        keys: keys.load()?,
        encrypt_tables: keys.encrypt_tables,
        crash_point: test_crash_point(),
        delta_crash_point: test_delta_crash_point(),
        ..prepare::PrepareOptions::default()
    };
    let progress = LogProgress::new(log);
    let summary = prepare::prepare_incremental(target, &inc, &options, &progress)
        .map_err(|e| crate::keys::explain(e, &keys))
        .map_err(failure)?;
    log.info(&format!(
        "Applied {} delta file(s): {} page(s), {} tablespace(s) created",
        summary.deltas, summary.delta_pages, summary.created
    ));
    if summary.unverified_pages > 0 {
        log.info(&format!(
            "Note: {} delta page(s) of tablespaces made since the base could not be validated \
             before they were written (their delta has no page 0)",
            summary.unverified_pages
        ));
    }
    let l = &summary.log;
    if l.n_mtrs > 0 || l.end_lsn.0 > 0 {
        log.info(&format!(
            "Applied {} mini-transactions ({} records) from LSN {} to {}; {} pages written \
             ({} of them delta pages, not journaled: a re-run writes them from the delta)",
            l.n_mtrs,
            l.n_records,
            l.checkpoint_lsn,
            l.end_lsn,
            l.pages_written,
            l.pages_unjournaled
        ));
    }
    log.info("completed OK!");
    Ok(())
}

/// Test hook (not an option): `HOTBACKUP_TEST_DELTA_CRASH=N` aborts the process at the
/// N-th page write of the deltas, `N,torn` after writing half of it.
fn test_delta_crash_point() -> Option<prepare::CrashPoint> {
    crate::prepare::crash_point_from_env("HOTBACKUP_TEST_DELTA_CRASH")
}
