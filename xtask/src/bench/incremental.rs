//! The `incremental` phase: a full backup as the base, then sysbench writes for a while
//! (`--inc-writes-s`), then each tool's `--incremental-basedir` backup of the (again idle)
//! server, timed next to `cp -a` of the datadir in the same repetitions. Both tools read and
//! check every page of every data file to find the changed ones, so the scan is bound by the
//! same reads as a full copy: `cp -a` is the floor, mariadb-backup the competitor.
//!
//! The incremental whose `--prepare --incremental-dir` is timed is taken at the end of the
//! writes, still under them, its copy throttled so that it captures about `--inc-redo-mb` of
//! redo: a realistic chain holds both a large delta (every page the writes touched) and a
//! large log, and the prepare of a small one is all fixed costs.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use anyhow::{ensure, Result};
use testkit::TestServer;

use super::{
    dir_size, drop_caches_if, endless_sysbench, lsn_now, mb, redo_copied, run_measured, BackupTool,
    Options, Report, Sample, Tools, HOTBACKUP_THROTTLE_UNIT_MB, WRITE_HEAVY,
};

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
        opts.inc_writes_s
    );
    let base_dir = tools.layout.scratch("base")?;
    let base = base_dir.path().join("backup");
    let command = BackupTool::Hotbackup { parallel: 2 }.command(tools, server, &base)?;
    run_measured(command, "the base (hotbackup --parallel=2)")?;
    let oltp = endless_sysbench(server, 2, WRITE_HEAVY)?;
    let (l0, t0) = (lsn_now(server)?, std::time::Instant::now());
    std::thread::sleep(Duration::from_secs(opts.inc_writes_s));
    let rate = (lsn_now(server)?.saturating_sub(l0)) as f64 / t0.elapsed().as_secs_f64();
    let inc_dir = tools.layout.scratch("inc-kept")?;
    let inc = inc_dir.path().join("backup");
    kept_incremental(tools, server, opts, &base, &inc, rate, report)?;
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
    bench_incremental_prepare(tools, opts, &base, &inc, report)
}

/// The incremental that the prepare part applies, taken under the writes (`rate` bytes of
/// redo a second), hotbackup `--throttle`d so that its copy lasts long enough to hold
/// about `--inc-redo-mb` of redo.
fn kept_incremental(
    tools: &Tools,
    server: &TestServer,
    opts: &Options,
    base: &Path,
    inc: &Path,
    rate: f64,
    report: &mut Report,
) -> Result<()> {
    ensure!(rate > 0.0, "the write load produced no redo");
    let data_mb = mb(dir_size(server.datadir())).max(1.0);
    let needed_s = (opts.inc_redo_mb << 20) as f64 / rate;
    let throttle = ((data_mb / HOTBACKUP_THROTTLE_UNIT_MB / needed_s).floor() as u64).max(1);
    println!(
        "  redo rate {:.1} MB/s -> the incremental to prepare copies for ~{needed_s:.0} s \
         under the writes: --throttle={throttle}",
        rate / 1048576.0
    );
    let mut command = BackupTool::Hotbackup { parallel: 2 }.command(tools, server, inc)?;
    command
        .arg(format!("--incremental-basedir={}", base.display()))
        .arg(format!("--throttle={throttle}"));
    let run = run_measured(
        command,
        "the incremental to prepare (hotbackup --parallel=2)",
    )?;
    let redo = redo_copied(inc);
    let delta: u64 = walk_files(inc)
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "delta"))
        .map(|p| std::fs::metadata(p).map_or(0, |m| m.len()))
        .sum();
    let info = format!(
        "incremental to prepare: {:.0} MB of .delta, {:.0} MB of redo, {:.0} MB in all, \
         taken in {:.0} s under {} s of writes at {:.1} MB/s of redo",
        mb(delta),
        mb(redo),
        mb(dir_size(inc)),
        run.wall.as_secs_f64(),
        opts.inc_writes_s,
        rate / 1048576.0
    );
    println!("  {info}");
    report.notes.push(info);
    Ok(())
}

/// Every file under `dir`.
fn walk_files(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            match e.file_type() {
                Ok(t) if t.is_dir() => todo.push(e.path()),
                Ok(t) if t.is_file() => out.push(e.path()),
                _ => {}
            }
        }
    }
    out
}

/// `TOOL --prepare --target-dir=BASE --incremental-dir=INC` of one hotbackup incremental
/// onto the prepared base, both tools on fresh copies of the same two directories (10.11's
/// prepare consumes the incremental's deltas), caches dropped first. With `--keep-chain
/// DIR` the prepared base and the incremental are left in DIR/base and DIR/inc.
fn bench_incremental_prepare(
    tools: &Tools,
    opts: &Options,
    base: &Path,
    inc: &Path,
    report: &mut Report,
) -> Result<()> {
    println!("\n== incremental prepare (--prepare --incremental-dir onto the prepared base) ==");
    run_measured(
        prepare_command(tools.hotbackup, base, None),
        "prepare of the base",
    )?;
    if let Some(keep) = &opts.keep_chain {
        std::fs::create_dir_all(keep)?;
        for (from, name) in [(base, "base"), (inc, "inc")] {
            let to = keep.join(name);
            ensure!(!to.exists(), "--keep-chain: {} exists", to.display());
            let mut cp = Command::new("cp");
            cp.arg("-a").arg(from).arg(&to);
            run_measured(cp, "cp -a of the chain to --keep-chain")?;
        }
    }
    let names = ["mariadb-backup", "hotbackup"];
    let mut samples: BTreeMap<usize, Vec<Sample>> = BTreeMap::new();
    for rep in 0..opts.reps {
        for k in 0..names.len() {
            let idx = (k + rep) % names.len();
            let dir = tools.layout.scratch("incprep")?;
            let (b, i) = (dir.path().join("base"), dir.path().join("inc"));
            for (from, to) in [(base, &b), (inc, &i)] {
                let mut cp = Command::new("cp");
                cp.arg("-a").arg(from).arg(to);
                run_measured(cp, "cp -a of the chain")?;
            }
            let program = if idx == 0 {
                tools.mariadb.backup_program()?.to_path_buf()
            } else {
                tools.hotbackup.to_path_buf()
            };
            let what = format!("{} --prepare --incremental-dir", names[idx]);
            drop_caches_if(tools.cold);
            let run = run_measured(prepare_command(&program, &b, Some(&i)), &what)?;
            let mut sample = Sample::from_run(&run);
            sample.bytes = dir_size(&i);
            println!("  rep {rep} {what:<44} {}", sample.brief());
            samples.entry(idx).or_default().push(sample);
        }
    }
    for (idx, s) in samples {
        report.push("incremental_prepare", names[idx], s);
    }
    report.ratio(
        "incremental_prepare",
        "hotbackup",
        "mariadb-backup",
        "incr prepare hotbackup / mariadb-backup",
    );
    Ok(())
}

/// `PROGRAM --defaults-file=BASE/backup-my.cnf --prepare --target-dir=BASE
/// [--incremental-dir=INC]`.
fn prepare_command(program: &Path, base: &Path, inc: Option<&Path>) -> Command {
    let mut c = Command::new(program);
    c.arg(format!(
        "--defaults-file={}",
        base.join("backup-my.cnf").display()
    ))
    .arg("--prepare")
    .arg(format!("--target-dir={}", base.display()));
    if let Some(inc) = inc {
        c.arg(format!("--incremental-dir={}", inc.display()));
    }
    c
}
