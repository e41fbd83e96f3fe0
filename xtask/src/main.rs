//! Project automation.
//!
//! * `cargo xtask demo`: on a fresh machine (as root), installs the Debian MariaDB packages if
//!   missing, starts a throwaway server with sample data and a write load, and runs
//!   `hotbackup --backup` → `--prepare` → `--copy-back` → start → verify, printing a summary.
//!   Every process it starts is stopped before it exits.
//! * `cargo xtask bench`: hotbackup against `cp -a` and mariadb-backup on a generated
//!   dataset (see `bench.rs`); prints a table and writes JSON under `target/bench/`.
//! * `cargo xtask mtr [TEST…]`: MariaDB's mariabackup test suite with hotbackup in place of
//!   mariadb-backup, judged against `mtr/expectations.txt` (see `mtr.rs`).

mod bench;
mod mtr;

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context, Result};
use testkit::{
    create_mixed_schema, PageSize, Sysbench, TestDir, Tool, WriteLoad, WriteLoadOptions,
};

const PACKAGES: &[&str] = &[
    "mariadb-server",
    "mariadb-client",
    "mariadb-backup",
    "sysbench",
];

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("demo") => demo(),
        Some("bench") => bench::run(&args[1..]),
        Some("mtr") => mtr::run(&args[1..]),
        _ => {
            eprintln!("usage: cargo xtask demo | cargo xtask bench [--size-mb N] [--reps N] [--redo-mb N] [--only backup,copyback,load,prepare] | cargo xtask mtr [--parallel N] [--timeout-min M] [--bin HOTBACKUP] [TEST…]");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!(
                "cargo xtask {}: {e:#}",
                args.first().map_or("", String::as_str)
            );
            ExitCode::FAILURE
        }
    }
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

/// Installs the Debian packages the demo needs when they are missing.
fn ensure_packages() -> Result<()> {
    ensure_packages_named(PACKAGES)
}

/// Installs these Debian packages with apt-get when they are missing (as root).
fn ensure_packages_named(packages: &[&str]) -> Result<()> {
    let missing: Vec<&str> = packages
        .iter()
        .copied()
        .filter(|p| {
            !Command::new("dpkg-query")
                .args(["-W", "-f=${Status}", p])
                .output()
                .map(|o| String::from_utf8_lossy(&o.stdout).contains("install ok installed"))
                .unwrap_or(false)
        })
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    println!("installing {} with apt-get", missing.join(" "));
    let status = Command::new("apt-get").args(["update", "-qq"]).status();
    ensure!(
        status.map(|s| s.success()).unwrap_or(false),
        "apt-get update failed; install {} by hand (as root)",
        missing.join(" ")
    );
    let status = Command::new("apt-get")
        .args(["install", "-y", "-qq"])
        .args(&missing)
        .env("DEBIAN_FRONTEND", "noninteractive")
        .status()
        .context("apt-get install")?;
    ensure!(
        status.success(),
        "apt-get install {} failed",
        missing.join(" ")
    );
    Ok(())
}

fn build_hotbackup() -> Result<PathBuf> {
    println!("building hotbackup (release)");
    let root = workspace_root();
    let status = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args(["build", "--release", "--quiet", "-p", "hotbackup"])
        .current_dir(&root)
        .status()
        .context("cargo build")?;
    ensure!(
        status.success(),
        "cargo build --release -p hotbackup failed"
    );
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"));
    Ok(target.join("release/hotbackup"))
}

fn dir_size(dir: &Path) -> u64 {
    let mut total = 0;
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let p = e.path();
            total += if p.is_dir() {
                dir_size(&p)
            } else {
                e.metadata().map(|m| m.len()).unwrap_or(0)
            };
        }
    }
    total
}

fn run_hotbackup(bin: &Path, args: &[String]) -> Result<Duration> {
    let started = Instant::now();
    let out = Command::new(bin)
        .args(args)
        .output()
        .context("run hotbackup")?;
    if !out.status.success() {
        bail!(
            "hotbackup {} failed ({}):\n{}",
            args.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(started.elapsed())
}

fn demo() -> Result<()> {
    ensure_packages()?;
    let bin = build_hotbackup()?;
    let mariadb = testkit::find_mariadb()?;
    println!("starting a throwaway server ({})", mariadb.version_line);
    let source = mariadb
        .server()
        .name("demo")
        .page_size(PageSize::K16)
        .binlog(true)
        .log_file_size(64 << 20)
        .buffer_pool_size(128 << 20)
        .start()?;
    let schema = create_mixed_schema(&source, "demo", 2000)?;
    let sysbench = Sysbench::new(&source)?
        .tables(4)
        .table_size(20_000)
        .threads(2)
        .time(Duration::from_secs(20));
    println!("loading sample data (sysbench 4 x 20000 rows, mixed row formats, MyISAM, Aria)");
    sysbench.prepare(&source)?;
    let oltp = sysbench.spawn()?;
    let load = WriteLoad::start(
        &source,
        WriteLoadOptions::for_schema(&schema).with_ddl(&schema),
    )?;
    std::thread::sleep(Duration::from_secs(2));

    let work = TestDir::new("demo")?;
    let backup = work.path().join("backup");
    println!("backup under sysbench oltp_read_write + DML/DDL load ...");
    let backup_time = run_hotbackup(
        &bin,
        &[
            "--no-defaults".into(),
            "--backup".into(),
            "--parallel=2".into(),
            format!("--target-dir={}", backup.display()),
            format!("--socket={}", source.socket_path().display()),
            "--user=root".into(),
        ],
    )?;
    let stats = load.stop()?;
    let oltp = oltp.wait()?;
    let size = dir_size(&backup);
    let checkpoints = std::fs::read_to_string(backup.join("xtrabackup_checkpoints"))?;
    let binlog = std::fs::read_to_string(backup.join("xtrabackup_binlog_info"))?;

    println!("prepare ...");
    let prepare_time = run_hotbackup(
        &bin,
        &[
            "--prepare".into(),
            format!("--target-dir={}", backup.display()),
        ],
    )?;
    println!(
        "copy-back, start a server on it, CHECK TABLE, replay the binlog, compare checksums ..."
    );
    let started = Instant::now();
    let report =
        testkit::restore_and_verify(&mariadb, &Tool::Hotbackup(bin.clone()), &source, &backup)?;
    let verify_time = started.elapsed();

    let lsn = |key: &str| {
        checkpoints
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .map(|v| v.trim_start_matches([' ', '=']).trim().to_string())
            .unwrap_or_default()
    };
    println!();
    println!("hotbackup demo: every table verified");
    println!(
        "  backup      {:>8.2} s   {:.1} MiB",
        backup_time.as_secs_f64(),
        size as f64 / 1048576.0
    );
    println!("  prepare     {:>8.2} s", prepare_time.as_secs_f64());
    println!("  restore+verify {:>5.2} s", verify_time.as_secs_f64());
    println!("  redo copied LSN {} .. {}", lsn("to_lsn"), lsn("last_lsn"));
    println!("  binlog position {}", binlog.trim().replace('\t', " "));
    println!(
        "  load during backup: {} sysbench transactions, {} DML rows, {} tables created/renamed/dropped",
        oltp.transactions,
        stats.rows_inserted + stats.rows_updated + stats.rows_deleted,
        stats.tables_created + stats.tables_renamed + stats.tables_dropped
    );
    println!(
        "  tables: {} passed CHECK TABLE, {} user tables equal to the source after binlog replay",
        report.tables_checked, report.tables_compared
    );
    Ok(())
}
