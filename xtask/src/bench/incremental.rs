//! The `incremental` phase: a full backup as the base, then sysbench writes for a while,
//! then each tool's `--incremental-basedir` backup of the (again idle) server, timed next to
//! `cp -a` of the datadir in the same repetitions. Both tools read and check every page of
//! every data file to find the changed ones, so the scan is bound by the same reads as a full
//! copy: `cp -a` is the floor, mariadb-backup the competitor.

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::{ensure, Result};
use testkit::TestServer;

use super::{
    dir_size, drop_caches_if, endless_sysbench, redo_copied, run_measured, BackupTool, Options,
    Report, Sample, Tools, WRITE_HEAVY,
};

/// sysbench writes between the base and the incrementals.
const WRITES: Duration = Duration::from_secs(20);

/// One incremental (or `cp -a`) of `tool` on `base`, caches dropped first; removed after.
fn timed_incremental(
    tools: &Tools,
    server: &TestServer,
    tool: BackupTool,
    base: &std::path::Path,
) -> Result<Sample> {
    let dir = tools.layout.scratch("inc")?;
    let target = dir.path().join("backup");
    let mut command = tool.command(tools, server, &target)?;
    if !matches!(tool, BackupTool::Cp) {
        command.arg(format!("--incremental-basedir={}", base.display()));
    }
    drop_caches_if(tools.cold);
    let run = run_measured(command, &tool.name())?;
    let mut sample = Sample::from_run(&run);
    sample.bytes = dir_size(&target);
    if !matches!(tool, BackupTool::Cp) {
        sample.set("redo_copied_bytes", redo_copied(&target) as f64);
        let checkpoints =
            std::fs::read_to_string(target.join("xtrabackup_checkpoints")).unwrap_or_default();
        ensure!(
            checkpoints.contains("backup_type = incremental"),
            "{} did not write an incremental backup:\n{checkpoints}",
            tool.name()
        );
    }
    Ok(sample)
}

pub(super) fn bench_incremental(
    tools: &Tools,
    server: &TestServer,
    opts: &Options,
    report: &mut Report,
) -> Result<()> {
    println!(
        "\n== incremental backup (base, {} s of sysbench writes, then idle) ==",
        WRITES.as_secs()
    );
    let base_dir = tools.layout.scratch("base")?;
    let base = base_dir.path().join("backup");
    let command = BackupTool::Hotbackup { parallel: 2 }.command(tools, server, &base)?;
    run_measured(command, "the base (hotbackup --parallel=2)")?;
    let oltp = endless_sysbench(server, 2, WRITE_HEAVY)?;
    std::thread::sleep(WRITES);
    drop(oltp);
    let lineup = [
        BackupTool::Cp,
        BackupTool::MariaBackup { parallel: 1 },
        BackupTool::Hotbackup { parallel: 1 },
        BackupTool::MariaBackup { parallel: 2 },
        BackupTool::Hotbackup { parallel: 2 },
    ];
    let mut samples: BTreeMap<usize, Vec<Sample>> = BTreeMap::new();
    for rep in 0..opts.reps {
        for k in 0..lineup.len() {
            let idx = (k + rep) % lineup.len();
            let sample = timed_incremental(tools, server, lineup[idx], &base)?;
            println!("  rep {rep} {:<32} {}", lineup[idx].name(), sample.brief());
            samples.entry(idx).or_default().push(sample);
        }
    }
    for (idx, s) in samples {
        report.push("incremental", &lineup[idx].name(), s);
    }
    for (a, b, label) in [
        (
            "hotbackup --parallel=1",
            "mariadb-backup --parallel=1",
            "incr hotbackup p1 / mariadb-backup p1",
        ),
        (
            "hotbackup --parallel=2",
            "mariadb-backup --parallel=2",
            "incr hotbackup p2 / mariadb-backup p2",
        ),
        ("hotbackup --parallel=1", "cp -a", "incr hotbackup p1 / cp"),
        ("hotbackup --parallel=2", "cp -a", "incr hotbackup p2 / cp"),
    ] {
        report.ratio("incremental", a, b, label);
    }
    Ok(())
}
