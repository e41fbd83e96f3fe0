//! Redo apply throughput: the whole `prepare::prepare` (what `hotbackup --prepare`
//! runs) on the real 4k backup `shared/testdata/redo/backup4k_small_before_prepare.tgz`
//! (1.6 MB of log, ~66,700 records, 3,329 pages; see the README there).
//!
//! Every iteration prepares a fresh copy of the extracted backup (the copy is made in
//! `iter_batched`'s setup, outside the timing, and removed outside it too), so this
//! measures parse + collect + read pages + apply + stamp + write + fsync, the last of
//! which depends on the disk. Reported as MB/s of log (`log_bytes/…`) and as
//! records/s (`records/…`), single-threaded and with rayon's default pool.

use std::path::Path;
use std::time::Duration;

use anyhow::{ensure, Context, Result};
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use hotbackup_benches::{copy_tree, extract_fixture, Scratch};
use prepare::{prepare, NoProgress, PrepareOptions, PrepareSummary};

const ARCHIVE: &str = "redo/backup4k_small_before_prepare.tgz";

fn run_prepare(dir: &Path, threads: Option<usize>) -> Result<PrepareSummary> {
    let options = PrepareOptions {
        threads,
        ..PrepareOptions::default()
    };
    let summary = prepare(dir, &options, &NoProgress)
        .with_context(|| format!("prepare of {}", dir.display()))?;
    ensure!(
        !summary.already_prepared && summary.n_records > 0,
        "prepare of {} did nothing: {summary:?}",
        dir.display()
    );
    Ok(summary)
}

/// A fresh copy of the pristine backup.
fn fresh_copy(template: &Path) -> Scratch {
    let copy = Scratch::new("apply-iter").and_then(|scratch| {
        copy_tree(template, scratch.path())?;
        Ok(scratch)
    });
    match copy {
        Ok(scratch) => scratch,
        Err(e) => panic!("cannot copy the backup for an iteration: {e:#}"),
    }
}

fn redo_apply(c: &mut Criterion) {
    let setup = || -> Result<(Scratch, PrepareSummary)> {
        let template = Scratch::new("apply-template")?;
        extract_fixture(ARCHIVE, template.path())?;
        // One prepare up front: checks the input and gives the log size and counts.
        let probe = fresh_copy(template.path());
        let summary = run_prepare(probe.path(), None)?;
        Ok((template, summary))
    };
    let (template, summary) = match setup() {
        Ok(x) => x,
        // criterion's harness has no error channel; fail loudly with the reason.
        Err(e) => panic!("redo_apply inputs: {e:#}"),
    };
    let log_bytes = summary.end_lsn.0.saturating_sub(summary.checkpoint_lsn.0);
    eprintln!(
        "redo_apply backup4k_small: {log_bytes} bytes of log, {} mtrs, {} records, {} pages \
         written, {} batch(es)",
        summary.n_mtrs, summary.n_records, summary.pages_written, summary.n_batches
    );
    let mut group = c.benchmark_group("redo_apply");
    let cases = [
        ("log_bytes/threads=1", Some(1), Throughput::Bytes(log_bytes)),
        (
            "log_bytes/threads=default",
            None,
            Throughput::Bytes(log_bytes),
        ),
        (
            "records/threads=default",
            None,
            Throughput::Elements(summary.n_records),
        ),
    ];
    for (name, threads, throughput) in cases {
        group.throughput(throughput);
        group.bench_function(format!("prepare_backup4k_small/{name}"), |b| {
            b.iter_batched(
                || fresh_copy(template.path()),
                |copy| {
                    if let Err(e) = run_prepare(copy.path(), threads) {
                        panic!("{e:#}");
                    }
                    // Returned so the directory is removed outside the timing.
                    copy
                },
                BatchSize::PerIteration,
            )
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    // Each iteration prepares a real backup (I/O, fsync): few samples.
    config = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5));
    targets = redo_apply
}
criterion_main!(benches);
