//! `cargo xtask bench`: hotbackup against `mariadb-backup` (and `cp -a`, the copy limit)
//! on a sysbench dataset served by a throwaway testkit server.
//!
//! ```text
//! cargo xtask bench [--size-mb N] [--reps N] [--redo-mb N] [--race-log-mb N]
//!                    [--race-runs N] [--inc-writes-s N] [--inc-redo-mb N]
//!                    [--keep-chain DIR] [--only PHASE[,PHASE]]
//!   PHASE: backup | stream | compress | incremental | copyback | load | race | prepare | many
//!          (default: all, in that order)
//! ```
//!
//! * The dataset (sysbench `oltp_read_write` tables, ~N MB of InnoDB data) is generated
//!   once into `<target>/bench/data-<N>mb` and reused by later runs (the server is
//!   restarted on it with testkit's `existing_datadir`). The load and redo phases write
//!   to it, which keeps it a valid sysbench dataset of the same size.
//! * Every timed run is preceded by `sync` + `drop_caches` when that works (root), so
//!   the tools read from disk; otherwise the report says "warm cache". Times are the
//!   tool's wall time and, separately, the `sync` after it: a tool that leaves its
//!   writes in the page cache is not made to look faster than one that fsyncs.
//! * Tools alternate within each repetition (rotated order) so drift in machine load
//!   hits all of them; medians and min–max over the repetitions are reported.
//! * Peak RSS: `/usr/bin/time -f %M` around the tool (its own peak); without `time`,
//!   `wait4(2)`'s `ru_maxrss`, which on Linux also counts xtask's peak (kept across exec).
//! * `race`: the server restarted with a tiny redo log (`--race-log-mb`, default 4) under
//!   a write-only sysbench that wraps it every second or two; each tool backs it up
//!   `--race-runs` times at its default settings and the report counts the backups that
//!   completed against those that lost the race with the log (the server overwrote redo
//!   before the tool had copied it). Any other failure stops the benchmark.
//! * `stream` and `compress` (module `stream`): both tools' `--stream=xbstream > FILE`
//!   and `--compress --compress-threads=2` next to their own directory backup, run
//!   alternating in the same repetitions; ratios of time (and of size for compress).
//! * `incremental` (module `incremental`): a base, 20 s of sysbench writes, then both tools'
//!   `--incremental-basedir` backups of the idle server next to `cp -a`.
//! * `many` (module `many`, `--tables N`, default 20,000): backup, prepare and copy-back of
//!   N small InnoDB tables (+ N/10 MyISAM), both tools and `cp -a`, also under
//!   `ulimit -n 1024`, with seconds per 1,000 tables; the dataset is made once and reused.
//! * Results: a table on stdout, `<target>/bench/latest.json` and a timestamped copy.
//!
//! Every server and sysbench process is stopped by testkit on drop, also on error.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{bail, ensure, Context, Result};
use serde_json::{json, Value};
use testkit::{MariaDb, PageSize, Sysbench, SysbenchRun, TestDir, TestServer};

mod incremental;
mod many;
mod stream;

/// sysbench tables of the dataset.
const TABLES: u32 = 8;
/// On-disk bytes per sysbench row (clustered + secondary index, 16k pages, freshly
/// loaded), measured on MariaDB 10.11.19 with sysbench 1.0.20 (8 x 114k rows gave
/// 337 MB of data files); used only to size the tables.
const BYTES_PER_ROW: u64 = 360;
/// Data read per `--throttle` unit and second, as observed: 0.4 MiB (337 MB datadir at
/// `--throttle=17` took 50 s) to 0.8 MiB (816 MB at 28 took 36 s); not the 1 MiB one
/// might expect. Only a first guess: a backup with too little redo is retried slower.
const THROTTLE_UNIT_MB: f64 = 0.6;
/// Data read per hotbackup `--throttle` unit: one read of 640 pages (16k pages here).
const HOTBACKUP_THROTTLE_UNIT_MB: f64 = 10.0;
/// Buffer pool of the benchmark server: smaller than the dataset, as in production.
const BUFFER_POOL: u64 = 256 << 20;
/// Redo log of the server for the backup/load phases: small next to the dataset, so
/// `cp -a` of the datadir copies mostly data files, as the backups do.
const LOG_FILE_SIZE: u64 = 96 << 20;
/// sysbench options for the redo-generation load: writes only (updates, delete+insert),
/// so the log grows as fast as 2 cores allow.
const WRITE_HEAVY: &[&str] = &[
    "--point-selects=0",
    "--simple-ranges=0",
    "--sum-ranges=0",
    "--order-ranges=0",
    "--distinct-ranges=0",
    "--range-selects=off",
    "--index-updates=4",
    "--non-index-updates=4",
];
/// Seconds of sysbench-only time measured before each backup under load (the baseline
/// tps), which also lets the server settle after the previous backup.
const BASELINE_WINDOW: Duration = Duration::from_secs(8);

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Phase {
    Backup,
    Stream,
    Compress,
    Incremental,
    Copyback,
    Load,
    Race,
    Prepare,
    Many,
}

impl Phase {
    const ALL: [Phase; 9] = [
        Phase::Backup,
        Phase::Stream,
        Phase::Compress,
        Phase::Incremental,
        Phase::Copyback,
        Phase::Load,
        Phase::Race,
        Phase::Prepare,
        Phase::Many,
    ];

    fn parse(s: &str) -> Result<Phase> {
        Ok(match s {
            "backup" => Phase::Backup,
            "stream" => Phase::Stream,
            "compress" => Phase::Compress,
            "incremental" => Phase::Incremental,
            "copyback" | "copy-back" => Phase::Copyback,
            "load" => Phase::Load,
            "race" => Phase::Race,
            "prepare" => Phase::Prepare,
            "many" => Phase::Many,
            other => bail!(
                "unknown phase {other:?} \
                 (backup, stream, compress, incremental, copyback, load, race, prepare, many)"
            ),
        })
    }
}

#[derive(Debug)]
struct Options {
    size_mb: u64,
    reps: usize,
    redo_mb: u64,
    race_log_mb: u64,
    race_runs: usize,
    /// InnoDB tables of the `many` phase.
    tables: u32,
    /// Seconds of sysbench writes between the incremental phase's base and incremental.
    inc_writes_s: u64,
    /// Redo the incremental prepared in the incremental phase should hold, in MB.
    inc_redo_mb: u64,
    /// Where the incremental phase leaves its (prepared base, incremental) chain.
    keep_chain: Option<PathBuf>,
    /// `many`: remove the dataset once its backups are taken (a disk that cannot hold it
    /// and two copies at once; the next run makes it again).
    drop_dataset: bool,
    /// `many`: only `cp -a`, mariadb-backup without a limit and hotbackup under it (the
    /// other configurations left out, for a run that must fit the time at 100,000 tables).
    lean: bool,
    phases: Vec<Phase>,
}

const USAGE: &str = "usage: cargo xtask bench [--size-mb N] [--reps N] [--redo-mb N] \
                     [--race-log-mb N] [--race-runs N] [--tables N] \
                     [--inc-writes-s N] [--inc-redo-mb N] [--keep-chain DIR] [--drop-dataset] [--lean] \
                     [--only backup|stream|compress|incremental|copyback|load|race|prepare|many[,...]]";

fn parse_options(args: &[String]) -> Result<Options> {
    let mut size_mb = 1024;
    let mut reps = 3;
    let mut redo_mb = None;
    let mut race_log_mb = 4;
    let mut race_runs = 5;
    let mut tables = 20_000;
    let mut inc_writes_s = 60;
    let mut inc_redo_mb = 300;
    let mut keep_chain = None;
    let mut drop_dataset = false;
    let mut lean = false;
    let mut phases: Vec<Phase> = Vec::new();
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let (name, inline) = match arg.split_once('=') {
            Some((n, v)) => (n, Some(v.to_string())),
            None => (arg.as_str(), None),
        };
        let mut value = || -> Result<String> {
            match &inline {
                Some(v) => Ok(v.clone()),
                None => it
                    .next()
                    .cloned()
                    .with_context(|| format!("{name} needs a value")),
            }
        };
        let number = |v: String| -> Result<u64> {
            v.parse::<u64>()
                .with_context(|| format!("{name}: {v:?} is not a whole number"))
        };
        match name {
            "--size-mb" => size_mb = number(value()?)?,
            "--reps" => reps = number(value()?)? as usize,
            "--redo-mb" => redo_mb = Some(number(value()?)?),
            "--race-log-mb" => race_log_mb = number(value()?)?,
            "--race-runs" => race_runs = number(value()?)? as usize,
            "--tables" => tables = u32::try_from(number(value()?)?).context("--tables")?,
            "--inc-writes-s" => inc_writes_s = number(value()?)?,
            "--inc-redo-mb" => inc_redo_mb = number(value()?)?,
            "--keep-chain" => keep_chain = Some(PathBuf::from(value()?)),
            "--drop-dataset" => drop_dataset = true,
            "--lean" => lean = true,
            "--only" => {
                for p in value()?.split(',') {
                    phases.push(Phase::parse(p.trim())?);
                }
            }
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            other => bail!("unknown argument {other:?}\n{USAGE}"),
        }
    }
    ensure!(size_mb >= 16, "--size-mb must be at least 16");
    // `--only many --reps 0` makes the many-tables dataset and times nothing.
    ensure!(
        reps >= 1 || phases == [Phase::Many],
        "--reps must be at least 1 (0 only with --only many: make the dataset)"
    );
    // MariaDB 10.11 refuses innodb_log_file_size below 4 MiB.
    ensure!(race_log_mb >= 4, "--race-log-mb must be at least 4");
    ensure!(race_runs >= 1, "--race-runs must be at least 1");
    ensure!(tables >= 10, "--tables must be at least 10");
    if phases.is_empty() {
        phases = Phase::ALL.to_vec();
    }
    phases.sort();
    phases.dedup();
    // 500 MB of redo for the default 1 GB dataset, scaled down with it.
    let redo_mb = redo_mb.unwrap_or_else(|| (size_mb / 2).clamp(32, 500));
    Ok(Options {
        size_mb,
        reps,
        redo_mb,
        race_log_mb,
        race_runs,
        tables,
        inc_writes_s,
        inc_redo_mb,
        keep_chain,
        drop_dataset,
        lean,
        phases,
    })
}

/// Where generated data, scratch directories and results go.
struct Layout {
    bench: PathBuf,
    /// Parent of the testkit server directories and all scratch copies: one filesystem,
    /// so every copy measured reads and writes the same disk.
    work: PathBuf,
}

impl Layout {
    fn new() -> Result<Layout> {
        let root = crate::workspace_root();
        let target = std::env::var_os("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| root.join("target"));
        let target = if target.is_absolute() {
            target
        } else {
            root.join(target)
        };
        let bench = target.join("bench");
        let work = bench.join("work");
        std::fs::create_dir_all(&work)
            .with_context(|| format!("cannot create {}", work.display()))?;
        Ok(Layout { bench, work })
    }

    fn datadir(&self, size_mb: u64) -> PathBuf {
        self.bench.join(format!("data-{size_mb}mb"))
    }

    fn redo_backup(&self, size_mb: u64, redo_mb: u64) -> PathBuf {
        self.bench
            .join(format!("redo-backup-{size_mb}mb-{redo_mb}mb"))
    }

    /// A fresh path under `work` that does not exist yet (tools create their targets).
    fn scratch(&self, tag: &str) -> Result<TestDir> {
        TestDir::new_in(&self.work, tag)
    }
}

pub fn run(args: &[String]) -> Result<()> {
    let opts = parse_options(args)?;
    crate::ensure_packages()?;
    let hotbackup = crate::build_hotbackup()?;
    ensure!(
        hotbackup.is_file(),
        "release binary {} missing after the build",
        hotbackup.display()
    );
    let mariadb = testkit::find_mariadb()?;
    let layout = Layout::new()?;
    let cold = drop_caches();
    println!(
        "bench: {} MB dataset, {} repetition(s), redo for prepare {} MB, phases {:?}; {} cache; \
         {} cores (shared: other jobs add noise)",
        opts.size_mb,
        opts.reps,
        opts.redo_mb,
        opts.phases,
        if cold { "cold (drop_caches)" } else { "warm" },
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    let started = Instant::now();
    // The sysbench dataset serves every phase but `many`, which makes its own.
    let dataset = if opts.phases.iter().any(|p| *p != Phase::Many) {
        Some(ensure_dataset(&mariadb, &layout, opts.size_mb)?)
    } else {
        None
    };
    let mut report = Report::default();
    let tools = Tools {
        mariadb: &mariadb,
        hotbackup: &hotbackup,
        layout: &layout,
        cold,
    };

    let needs_main = opts.phases.iter().any(|p| {
        matches!(
            p,
            Phase::Backup
                | Phase::Stream
                | Phase::Compress
                | Phase::Incremental
                | Phase::Copyback
                | Phase::Load
        )
    });
    if needs_main {
        let dataset = dataset.as_ref().context("no sysbench dataset")?;
        let server = start_server(&mariadb, &layout, &dataset.datadir, LOG_FILE_SIZE, &[])?;
        for phase in &opts.phases {
            match phase {
                Phase::Backup => bench_idle_backup(&tools, &server, &opts, &mut report)?,
                Phase::Stream => stream::bench_stream(&tools, &server, &opts, &mut report)?,
                Phase::Compress => stream::bench_compress(&tools, &server, &opts, &mut report)?,
                Phase::Incremental => {
                    incremental::bench_incremental(&tools, &server, &opts, &mut report)?
                }
                Phase::Copyback => bench_copyback(&tools, &server, &opts, &mut report)?,
                Phase::Load => bench_load(&tools, &server, &opts, &mut report)?,
                Phase::Race | Phase::Prepare | Phase::Many => {}
            }
        }
        drop(server);
    }
    if opts.phases.contains(&Phase::Race) {
        let dataset = dataset.as_ref().context("no sysbench dataset")?;
        bench_race(&tools, dataset, &opts, &mut report)?;
    }
    if opts.phases.contains(&Phase::Prepare) {
        let dataset = dataset.as_ref().context("no sysbench dataset")?;
        let backup = ensure_redo_backup(&tools, dataset, &opts, &mut report)?;
        bench_prepare(&tools, &backup, &opts, &mut report)?;
    }
    if opts.phases.contains(&Phase::Many) {
        many::bench_many(&tools, &opts, &mut report)?;
    }

    report.print();
    let json = json!({
        "conditions": {
            "size_mb": opts.size_mb,
            "reps": opts.reps,
            "redo_mb_target": opts.redo_mb,
            "race_log_mb": opts.race_log_mb,
            "race_runs": opts.race_runs,
            "many_tables": opts.tables,
            "datadir_bytes": dataset.as_ref().map(|d| d.data_bytes),
            "datadir_total_bytes": dataset.as_ref().map(|d| dir_size(&d.datadir)),
            "sysbench_tables": TABLES,
            "sysbench_table_size": dataset.as_ref().map(|d| d.table_size),
            "cache": if cold { "cold (sync; echo 3 > drop_caches before each run)" } else { "warm (drop_caches failed)" },
            "cores": std::thread::available_parallelism().map_or(0, |n| n.get()),
            "mariadb": mariadb.version_line,
            "hotbackup": hotbackup.display().to_string(),
            "git": git_describe(),
            "rss_source": if Path::new(TIME).is_file() {
                "/usr/bin/time %M (the tool's own peak RSS)"
            } else {
                "wait4 ru_maxrss (may include xtask's peak RSS: Linux keeps it across exec)"
            },
            "unix_time": unix_now(),
            "total_seconds": started.elapsed().as_secs_f64(),
            "notes": report.notes,
        },
        "results": report.rows.iter().map(Row::to_json).collect::<Vec<_>>(),
        "race": report.races.iter().map(RaceRow::to_json).collect::<Vec<_>>(),
    });
    let text = serde_json::to_string_pretty(&json).context("cannot render the JSON report")?;
    let latest = layout.bench.join("latest.json");
    let stamped = layout.bench.join(format!("run-{}.json", unix_now()));
    for path in [&latest, &stamped] {
        std::fs::write(path, &text).with_context(|| format!("cannot write {}", path.display()))?;
    }
    println!(
        "\nwrote {} and {} ({:.0} s in all)",
        latest.display(),
        stamped.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

// ---------------------------------------------------------------------------------
// Dataset and servers

struct Dataset {
    datadir: PathBuf,
    table_size: u64,
    /// Bytes of the data files (everything but the redo log).
    data_bytes: u64,
}

fn start_server(
    mariadb: &MariaDb,
    layout: &Layout,
    datadir: &Path,
    log_file_size: u64,
    extra: &[&str],
) -> Result<TestServer> {
    let mut builder = mariadb
        .server()
        .name("bench")
        .base_dir(&layout.work)
        .existing_datadir(datadir)
        .page_size(PageSize::K16)
        .buffer_pool_size(BUFFER_POOL)
        .log_file_size(log_file_size)
        .startup_timeout(Duration::from_secs(600))
        .shutdown_timeout(Duration::from_secs(600));
    for line in extra {
        builder = builder.option(line);
    }
    builder
        .start()
        .with_context(|| format!("cannot start a server on {}", datadir.display()))
}

/// Generates the dataset unless a complete one (marked by its `.json`) exists.
fn ensure_dataset(mariadb: &MariaDb, layout: &Layout, size_mb: u64) -> Result<Dataset> {
    let datadir = layout.datadir(size_mb);
    let marker = datadir.with_extension("json");
    let table_size = (size_mb << 20) / (BYTES_PER_ROW * u64::from(TABLES));
    if datadir.is_dir() && marker.is_file() {
        let data_bytes = data_bytes(&datadir);
        println!(
            "dataset: reusing {} ({:.0} MB of data files)",
            datadir.display(),
            mb(data_bytes)
        );
        return Ok(Dataset {
            datadir,
            table_size,
            data_bytes,
        });
    }
    if datadir.exists() {
        // No marker: a run was interrupted while generating it.
        std::fs::remove_dir_all(&datadir)
            .with_context(|| format!("cannot remove the partial {}", datadir.display()))?;
    }
    println!(
        "dataset: generating {} x {table_size} sysbench rows (~{size_mb} MB) into {}",
        TABLES,
        datadir.display()
    );
    let started = Instant::now();
    let mut server = mariadb
        .server()
        .name("gen")
        .base_dir(&layout.work)
        .page_size(PageSize::K16)
        .buffer_pool_size(BUFFER_POOL)
        .log_file_size(LOG_FILE_SIZE)
        // Loading only: durability of each commit does not matter here.
        .option("innodb_flush_log_at_trx_commit=0")
        .shutdown_timeout(Duration::from_secs(600))
        .start()
        .context("cannot start the generating server")?;
    Sysbench::new(&server)?
        .tables(TABLES)
        .table_size(table_size)
        .threads(2)
        .prepare(&server)
        .context("sysbench prepare of the dataset")?;
    // Clean shutdown, so the datadir needs no recovery and can be moved.
    server.stop().context("stopping the generating server")?;
    let generated = server.datadir().to_path_buf();
    std::fs::rename(&generated, &datadir).with_context(|| {
        format!(
            "cannot move {} to {}",
            generated.display(),
            datadir.display()
        )
    })?;
    drop(server);
    let data_bytes = data_bytes(&datadir);
    let info = json!({
        "tables": TABLES, "table_size": table_size, "data_bytes": data_bytes,
        "generated_in_seconds": started.elapsed().as_secs_f64(),
    });
    std::fs::write(&marker, info.to_string())
        .with_context(|| format!("cannot write {}", marker.display()))?;
    println!(
        "dataset: {:.0} MB of data files in {:.0} s",
        mb(data_bytes),
        started.elapsed().as_secs_f64()
    );
    Ok(Dataset {
        datadir,
        table_size,
        data_bytes,
    })
}

// ---------------------------------------------------------------------------------
// Phases

struct Tools<'a> {
    mariadb: &'a MariaDb,
    hotbackup: &'a Path,
    layout: &'a Layout,
    cold: bool,
}

/// A backup tool configuration.
#[derive(Clone, Copy, Debug)]
enum BackupTool {
    Cp,
    MariaBackup { parallel: u32 },
    Hotbackup { parallel: u32 },
}

impl BackupTool {
    fn name(self) -> String {
        match self {
            BackupTool::Cp => "cp -a".into(),
            BackupTool::MariaBackup { parallel } => format!("mariadb-backup --parallel={parallel}"),
            BackupTool::Hotbackup { parallel } => format!("hotbackup --parallel={parallel}"),
        }
    }

    fn command(self, tools: &Tools, server: &TestServer, target: &Path) -> Result<Command> {
        Ok(match self {
            BackupTool::Cp => {
                let mut c = Command::new("cp");
                c.arg("-a").arg(server.datadir()).arg(target);
                c
            }
            BackupTool::MariaBackup { parallel } => {
                let mut c = server.mariadb_backup_command()?;
                c.arg("--backup")
                    .arg(format!("--parallel={parallel}"))
                    .arg(format!("--target-dir={}", target.display()));
                c
            }
            BackupTool::Hotbackup { parallel } => {
                let mut c = Command::new(tools.hotbackup);
                c.arg("--no-defaults")
                    .arg("--backup")
                    .arg(format!("--parallel={parallel}"))
                    .arg(format!("--target-dir={}", target.display()))
                    .arg(format!("--socket={}", server.socket_path().display()))
                    .arg("--user=root");
                c
            }
        })
    }
}

/// Runs one backup into a fresh directory and measures it; the directory is removed
/// afterwards unless `keep` (then it is returned).
fn timed_backup(
    tools: &Tools,
    server: &TestServer,
    tool: BackupTool,
    keep: bool,
    cold: bool,
) -> Result<(Sample, Option<TestDir>)> {
    let dir = tools.layout.scratch("bk")?;
    let target = dir.path().join("backup");
    drop_caches_if(cold);
    let command = tool.command(tools, server, &target)?;
    let run = run_measured(command, &tool.name())?;
    let mut sample = Sample::from_run(&run);
    sample.bytes = dir_size(&target);
    if !matches!(tool, BackupTool::Cp) {
        sample.set("redo_copied_bytes", redo_copied(&target) as f64);
        if let Some(secs) = block_commit_seconds(&run.lines) {
            sample.set("block_commit_s", secs);
        }
    }
    Ok((sample, keep.then_some(dir)))
}

fn bench_idle_backup(
    tools: &Tools,
    server: &TestServer,
    opts: &Options,
    report: &mut Report,
) -> Result<()> {
    println!("\n== full backup of the idle server ==");
    let lineup = [
        BackupTool::Cp,
        BackupTool::MariaBackup { parallel: 1 },
        BackupTool::MariaBackup { parallel: 2 },
        BackupTool::Hotbackup { parallel: 1 },
        BackupTool::Hotbackup { parallel: 2 },
    ];
    let mut samples: BTreeMap<usize, Vec<Sample>> = BTreeMap::new();
    for rep in 0..opts.reps {
        for k in 0..lineup.len() {
            let idx = (k + rep) % lineup.len();
            let tool = lineup[idx];
            let (sample, _) = timed_backup(tools, server, tool, false, tools.cold)?;
            println!("  rep {rep} {:<32} {}", tool.name(), sample.brief());
            samples.entry(idx).or_default().push(sample);
        }
    }
    for (idx, s) in samples {
        report.push("backup_idle", &lineup[idx].name(), s);
    }
    report.ratio(
        "backup_idle",
        "hotbackup --parallel=1",
        "cp -a",
        "hotbackup p1 / cp",
    );
    report.ratio(
        "backup_idle",
        "hotbackup --parallel=2",
        "cp -a",
        "hotbackup p2 / cp",
    );
    report.ratio(
        "backup_idle",
        "hotbackup --parallel=1",
        "mariadb-backup --parallel=1",
        "hotbackup p1 / mariadb-backup p1",
    );
    report.ratio(
        "backup_idle",
        "hotbackup --parallel=2",
        "mariadb-backup --parallel=2",
        "hotbackup p2 / mariadb-backup p2",
    );
    report.ratio(
        "backup_idle",
        "hotbackup --parallel=2",
        "mariadb-backup --parallel=1",
        "hotbackup p2 / mariadb-backup default",
    );
    Ok(())
}

fn bench_copyback(
    tools: &Tools,
    server: &TestServer,
    opts: &Options,
    report: &mut Report,
) -> Result<()> {
    println!("\n== copy-back of a prepared backup ==");
    // The source: a hotbackup of the idle server, prepared (neither step timed here).
    let (_, kept) = timed_backup(
        tools,
        server,
        BackupTool::Hotbackup { parallel: 2 },
        true,
        false,
    )?;
    let kept = kept.context("the copy-back source backup was not kept")?;
    let backup = kept.path().join("backup");
    let mut prep = Command::new(tools.hotbackup);
    prep.arg(format!(
        "--defaults-file={}",
        backup.join("backup-my.cnf").display()
    ))
    .arg("--prepare")
    .arg(format!("--target-dir={}", backup.display()));
    run_measured(prep, "hotbackup --prepare (copy-back source)")?;
    let names = [
        "cp -a",
        "mariadb-backup --copy-back",
        "hotbackup --copy-back",
    ];
    let mut samples: BTreeMap<usize, Vec<Sample>> = BTreeMap::new();
    for rep in 0..opts.reps {
        for k in 0..names.len() {
            let idx = (k + rep) % names.len();
            let dest_dir = tools.layout.scratch("cb")?;
            let dest = dest_dir.path().join("datadir");
            let command = match idx {
                0 => {
                    let mut c = Command::new("cp");
                    c.arg("-a").arg(&backup).arg(&dest);
                    c
                }
                _ => {
                    let mut c = if idx == 1 {
                        Command::new(tools.mariadb.backup_program()?)
                    } else {
                        Command::new(tools.hotbackup)
                    };
                    c.arg(format!(
                        "--defaults-file={}",
                        backup.join("backup-my.cnf").display()
                    ))
                    .arg("--copy-back")
                    .arg(format!("--target-dir={}", backup.display()))
                    .arg(format!("--datadir={}", dest.display()));
                    c
                }
            };
            drop_caches_if(tools.cold);
            let run = run_measured(command, names[idx])?;
            let mut sample = Sample::from_run(&run);
            sample.bytes = dir_size(&dest);
            println!("  rep {rep} {:<32} {}", names[idx], sample.brief());
            samples.entry(idx).or_default().push(sample);
        }
    }
    for (idx, s) in samples {
        report.push("copy_back", names[idx], s);
    }
    report.ratio(
        "copy_back",
        "hotbackup --copy-back",
        "cp -a",
        "hotbackup / cp",
    );
    report.ratio(
        "copy_back",
        "hotbackup --copy-back",
        "mariadb-backup --copy-back",
        "hotbackup / mariadb-backup",
    );
    Ok(())
}

fn bench_load(
    tools: &Tools,
    server: &TestServer,
    opts: &Options,
    report: &mut Report,
) -> Result<()> {
    println!("\n== backup under sysbench oltp_read_write (2 threads) ==");
    let lineup = [
        BackupTool::MariaBackup { parallel: 1 },
        BackupTool::Hotbackup { parallel: 1 },
        BackupTool::Hotbackup { parallel: 2 },
    ];
    let oltp = endless_sysbench(server, 2, &[])?;
    std::thread::sleep(Duration::from_secs(5));
    let mut baseline = Vec::new();
    let mut samples: BTreeMap<usize, Vec<Sample>> = BTreeMap::new();
    for rep in 0..opts.reps {
        for k in 0..lineup.len() {
            let idx = (k + rep) % lineup.len();
            let tool = lineup[idx];
            let c0 = commits(server)?;
            let t0 = Instant::now();
            std::thread::sleep(BASELINE_WINDOW);
            let c1 = commits(server)?;
            let t1 = Instant::now();
            let base_tps = (c1 - c0) as f64 / t1.duration_since(t0).as_secs_f64();
            baseline.push(base_tps);
            // No drop_caches under load: the server's own writes would refill the cache
            // and the drop would only stall it. The window covers the backup and its sync.
            let (mut sample, _) = timed_backup(tools, server, tool, false, false)?;
            let c2 = commits(server)?;
            let tps = (c2 - c1) as f64 / t1.elapsed().as_secs_f64();
            sample.set("tps_during", tps);
            sample.set("tps_before", base_tps);
            println!("  rep {rep} {:<32} {}", tool.name(), sample.brief());
            samples.entry(idx).or_default().push(sample);
        }
    }
    drop(oltp);
    report.notes.push(format!(
        "load: sysbench oltp_read_write 2 threads, tps without backup (8 s windows before each \
         backup) median {:.0}, min {:.0}, max {:.0}",
        median(&baseline),
        min(&baseline),
        max(&baseline)
    ));
    for (idx, s) in samples {
        report.push("backup_under_load", &lineup[idx].name(), s);
    }
    report.ratio(
        "backup_under_load",
        "hotbackup --parallel=1",
        "mariadb-backup --parallel=1",
        "hotbackup p1 / mariadb-backup p1",
    );
    report.ratio(
        "backup_under_load",
        "hotbackup --parallel=2",
        "mariadb-backup --parallel=1",
        "hotbackup p2 / mariadb-backup p1",
    );
    Ok(())
}

/// sysbench threads of the race phase: more than the cores, so commits group and the
/// redo rate is what the machine can do.
const RACE_THREADS: u32 = 4;
/// How long a throttled backup in the race phase should copy data files.
const RACE_SLOW_COPY: Duration = Duration::from_secs(10);
/// Redo rate window before each race run.
const RACE_RATE_WINDOW: Duration = Duration::from_secs(3);
/// Bytes at the start of `ib_logfile0` that are not part of the circular log.
const LOG_HEADER: u64 = 12288;

/// One tool's runs in the race phase.
struct RaceRow {
    tool: String,
    completed: usize,
    lost: usize,
    /// Failures that had nothing to do with the redo log, with their stderr tails.
    other: Vec<String>,
    /// Redo the server wrote per second just before each run, MB/s.
    redo_mb_s: Vec<f64>,
    /// Completed runs: redo copied over the log capacity (how often the log wrapped
    /// while the tool copied it).
    wraps: Vec<f64>,
    walls: Vec<f64>,
}

impl RaceRow {
    fn runs(&self) -> usize {
        self.completed + self.lost + self.other.len()
    }

    fn to_json(&self) -> Value {
        json!({
            "tool": self.tool,
            "runs": self.runs(),
            "completed": self.completed,
            "lost_the_race": self.lost,
            "other_failures": self.other,
            "server_redo_mb_per_s": self.redo_mb_s,
            "log_wraps_during_completed_backups": self.wraps,
            "wall_s": self.walls,
        })
    }
}

/// Did this failed run fail because the server overwrote redo it had not copied yet?
/// hotbackup says so with exit code 5; mariadb-backup 10.11 with "Was only able to
/// copy log from A to B, not C" and "Try increasing the innodb_log_file_size".
fn lost_the_race(run: &Measured, status: i32) -> bool {
    (libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 5)
        || run.lines.iter().any(|(_, l)| {
            l.contains("Was only able to copy log")
                || l.contains("Try increasing the innodb_log_file_size")
        })
}

/// Backups at default settings of a server whose small redo log wraps every second or
/// two under a write-only load: who completes, who loses the race with the log.
fn bench_race(tools: &Tools, dataset: &Dataset, opts: &Options, report: &mut Report) -> Result<()> {
    let log_size = opts.race_log_mb << 20;
    let capacity = (log_size - LOG_HEADER) as f64;
    println!(
        "\n== the race with the redo log: innodb_log_file_size={} MB, write-only sysbench \
         ({RACE_THREADS} threads), {} backups per tool ==",
        opts.race_log_mb, opts.race_runs
    );
    let server = start_server(tools.mariadb, tools.layout, &dataset.datadir, log_size, &[])?;
    // Each tool at its defaults, and with --throttle set so that its data copy lasts
    // about RACE_SLOW_COPY (as a DBA does to spare a busy server's disk): the log then
    // wraps many times while it is being copied. The same --throttle value means less
    // data per second in mariadb-backup, whose log-copying thread takes I/O tickets too
    // (THROTTLE_UNIT_MB); hotbackup throttles only 10 MB reads of data files.
    let slow = RACE_SLOW_COPY.as_secs_f64();
    let data_mb = mb(dataset.data_bytes);
    let throttle_mb = ((data_mb / THROTTLE_UNIT_MB / slow).floor() as u32).max(1);
    let throttle_hb = ((data_mb / HOTBACKUP_THROTTLE_UNIT_MB / slow).floor() as u32).max(1);
    let lineup = [
        (BackupTool::MariaBackup { parallel: 1 }, None),
        (BackupTool::Hotbackup { parallel: 1 }, None),
        (BackupTool::MariaBackup { parallel: 1 }, Some(throttle_mb)),
        (BackupTool::Hotbackup { parallel: 1 }, Some(throttle_hb)),
    ];
    let name = |(tool, throttle): (BackupTool, Option<u32>)| match throttle {
        Some(t) => format!("{} --throttle={t}", tool.name()),
        None => tool.name(),
    };
    let oltp = endless_sysbench(&server, RACE_THREADS, WRITE_HEAVY)?;
    std::thread::sleep(Duration::from_secs(5));
    let mut rows: Vec<RaceRow> = lineup
        .iter()
        .map(|&config| RaceRow {
            tool: name(config),
            completed: 0,
            lost: 0,
            other: Vec::new(),
            redo_mb_s: Vec::new(),
            wraps: Vec::new(),
            walls: Vec::new(),
        })
        .collect();
    for run in 0..opts.race_runs {
        for k in 0..lineup.len() {
            let idx = (k + run) % lineup.len();
            let (tool, throttle) = lineup[idx];
            let what = name(lineup[idx]);
            let row = &mut rows[idx];
            let l0 = lsn_now(&server)?;
            let t0 = Instant::now();
            std::thread::sleep(RACE_RATE_WINDOW);
            let rate = (lsn_now(&server)?.saturating_sub(l0)) as f64 / t0.elapsed().as_secs_f64();
            row.redo_mb_s.push(rate / 1048576.0);
            let dir = tools.layout.scratch("race")?;
            let target = dir.path().join("backup");
            // Cold reads make the copy last several wraps of the log.
            drop_caches_if(tools.cold);
            let mut command = tool.command(tools, &server, &target)?;
            if let Some(t) = throttle {
                command.arg(format!("--throttle={t}"));
            }
            let (measured, status) = run_process(command, &what)?;
            let wall = measured.wall.as_secs_f64();
            row.walls.push(wall);
            let exited_ok = libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0;
            let outcome = if exited_ok && target.join("xtrabackup_checkpoints").is_file() {
                read_checkpoints(&target)?;
                let copied = redo_copied(&target);
                let wraps = copied as f64 / capacity;
                row.completed += 1;
                row.wraps.push(wraps);
                format!(
                    "completed, {:.1} MB of redo copied: the log wrapped {wraps:.1} times",
                    mb(copied)
                )
            } else if !exited_ok && lost_the_race(&measured, status) {
                row.lost += 1;
                "LOST THE RACE with the redo log".to_string()
            } else {
                let tail = measured.stderr_tail(8);
                row.other.push(format!("wait status {status:#x}: {tail}"));
                format!("FAILED otherwise (wait status {status:#x}):\n{tail}")
            };
            println!(
                "  run {run} {what:<46} {wall:6.1} s, server redo {:5.1} MB/s: {outcome}",
                rate / 1048576.0
            );
        }
    }
    drop(oltp);
    drop(server);
    report.notes.push(format!(
        "race: innodb_log_file_size={} MB, sysbench write-only {RACE_THREADS} threads; \
         both tools at their defaults, then throttled so the data copy lasts ~{} s",
        opts.race_log_mb,
        RACE_SLOW_COPY.as_secs()
    ));
    report.races = rows;
    Ok(())
}

/// Starts sysbench `oltp_read_write` with `extra` options on the dataset's tables, for
/// longer than any phase takes: the run is killed (on drop) when the phase ends.
fn endless_sysbench(server: &TestServer, threads: u32, extra: &[&str]) -> Result<SysbenchRun> {
    let mut sysbench = Sysbench::new(server)?
        .tables(TABLES)
        .table_size(table_size_of(server)?)
        .threads(threads)
        .time(Duration::from_secs(6 * 3600));
    for arg in extra {
        sysbench = sysbench.arg(arg);
    }
    sysbench.spawn()
}

/// `table_size` of the sysbench tables on `server` (rows of sbtest1, from the max id).
fn table_size_of(server: &TestServer) -> Result<u64> {
    let rows: Option<u64> = server
        .query_one("SELECT MAX(id) FROM sbtest.sbtest1")
        .context("reading the sysbench table size")?;
    rows.context("sbtest.sbtest1 is empty")
}

/// Transactions committed so far (sysbench commits every transaction explicitly).
fn commits(server: &TestServer) -> Result<u64> {
    global_status(server, "COM_COMMIT")
}

fn lsn_now(server: &TestServer) -> Result<u64> {
    global_status(server, "INNODB_LSN_CURRENT")
}

/// A numeric `information_schema.GLOBAL_STATUS` value.
fn global_status(server: &TestServer, name: &str) -> Result<u64> {
    let v: String = server
        .query_one(&format!(
            "SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS \
             WHERE VARIABLE_NAME = '{name}'"
        ))
        .with_context(|| format!("reading {name}"))?;
    v.trim()
        .parse()
        .with_context(|| format!("{name} {v:?} is not a number"))
}

/// A `mariadb-backup` backup that carries at least `redo_mb` of redo, made once per
/// (size, redo) and reused: a server with a 1 GiB (or larger) log, a write-heavy
/// sysbench, and `--throttle` chosen from the measured redo rate so the copy lasts long
/// enough.
fn ensure_redo_backup(
    tools: &Tools,
    dataset: &Dataset,
    opts: &Options,
    report: &mut Report,
) -> Result<PathBuf> {
    let dest = tools.layout.redo_backup(opts.size_mb, opts.redo_mb);
    let marker = dest.with_extension("json");
    if dest.join("xtrabackup_checkpoints").is_file() && marker.is_file() {
        let info = std::fs::read_to_string(&marker).unwrap_or_default();
        println!("\nredo backup: reusing {} ({info})", dest.display());
        report
            .notes
            .push(format!("prepare input: reused {}: {info}", dest.display()));
        return Ok(dest);
    }
    if dest.exists() {
        std::fs::remove_dir_all(&dest)
            .with_context(|| format!("cannot remove the partial {}", dest.display()))?;
    }
    let target_bytes = opts.redo_mb << 20;
    let log_size = (1u64 << 30).max(target_bytes * 2);
    println!(
        "\n== making a backup with >= {} MB of redo (mariadb-backup --throttle under a \
         write-heavy sysbench, innodb_log_file_size={} MB) ==",
        opts.redo_mb,
        log_size >> 20
    );
    let server = start_server(tools.mariadb, tools.layout, &dataset.datadir, log_size, &[])?;
    let oltp = endless_sysbench(&server, 2, WRITE_HEAVY)?;
    std::thread::sleep(Duration::from_secs(3));
    let l0 = lsn_now(&server)?;
    let t0 = Instant::now();
    std::thread::sleep(Duration::from_secs(10));
    let rate = (lsn_now(&server)? - l0) as f64 / t0.elapsed().as_secs_f64();
    ensure!(rate > 0.0, "the write load produced no redo");
    let data_mb = mb(dataset.data_bytes).max(1.0);
    let mut needed_s = target_bytes as f64 / rate * 1.25 + 5.0;
    let mut last = None;
    for attempt in 0..3 {
        let throttle = ((data_mb / THROTTLE_UNIT_MB / needed_s).floor() as u64).max(1);
        println!(
            "  attempt {attempt}: redo rate {:.1} MB/s -> copy for ~{needed_s:.0} s: --throttle={throttle}",
            rate / 1048576.0
        );
        let dir = tools.layout.scratch("redo")?;
        let target = dir.path().join("backup");
        let mut command = server.mariadb_backup_command()?;
        command
            .arg("--backup")
            .arg(format!("--throttle={throttle}"))
            .arg(format!("--target-dir={}", target.display()));
        let run = run_measured(command, "mariadb-backup --backup --throttle")?;
        let redo = file_len(&target.join("ib_logfile0"));
        let cp = read_checkpoints(&target)?;
        println!(
            "  backup took {:.0} s: ib_logfile0 {:.0} MB, last_lsn - to_lsn {:.0} MB",
            run.wall.as_secs_f64(),
            mb(redo),
            mb(cp.last_lsn.saturating_sub(cp.to_lsn))
        );
        if redo >= target_bytes || attempt == 2 {
            if redo < target_bytes {
                report.notes.push(format!(
                    "prepare input has only {:.0} MB of redo (target {} MB)",
                    mb(redo),
                    opts.redo_mb
                ));
            }
            std::fs::rename(&target, &dest).with_context(|| {
                format!("cannot move {} to {}", target.display(), dest.display())
            })?;
            let info = format!(
                "ib_logfile0 {:.0} MB, last_lsn - to_lsn {:.0} MB, throttle {throttle}, {:.0} s",
                mb(redo),
                mb(cp.last_lsn.saturating_sub(cp.to_lsn)),
                run.wall.as_secs_f64()
            );
            std::fs::write(&marker, &info)
                .with_context(|| format!("cannot write {}", marker.display()))?;
            report
                .notes
                .push(format!("prepare input: {}: {info}", dest.display()));
            last = Some(dest.clone());
            break;
        }
        // Too little redo: stretch the copy by the shortfall and try again.
        needed_s *= (target_bytes as f64 / redo.max(1) as f64) * 1.2;
    }
    drop(oltp);
    drop(server);
    last.context("no redo backup was made")
}

fn bench_prepare(tools: &Tools, backup: &Path, opts: &Options, report: &mut Report) -> Result<()> {
    println!("\n== prepare of {} (identical copies) ==", backup.display());
    let names = ["mariadb-backup --prepare", "hotbackup --prepare"];
    let page_size = 16384;
    let mut samples: BTreeMap<usize, Vec<Sample>> = BTreeMap::new();
    let redo_bytes = file_len(&backup.join("ib_logfile0"));
    for rep in 0..opts.reps {
        let mut prepared: Vec<(usize, TestDir)> = Vec::new();
        for k in 0..names.len() {
            let idx = (k + rep) % names.len();
            let dir = tools.layout.scratch("prep")?;
            let copy = dir.path().join("backup");
            let mut cp = Command::new("cp");
            cp.arg("-a").arg(backup).arg(&copy);
            run_measured(cp, "cp -a of the redo backup")?;
            let mut command = if idx == 0 {
                Command::new(tools.mariadb.backup_program()?)
            } else {
                Command::new(tools.hotbackup)
            };
            command
                .arg(format!(
                    "--defaults-file={}",
                    copy.join("backup-my.cnf").display()
                ))
                .arg("--prepare")
                .arg(format!("--target-dir={}", copy.display()));
            drop_caches_if(tools.cold);
            let run = run_measured(command, names[idx])?;
            let mut sample = Sample::from_run(&run);
            sample.bytes = redo_bytes;
            println!("  rep {rep} {:<32} {}", names[idx], sample.brief());
            samples.entry(idx).or_default().push(sample);
            prepared.push((idx, dir));
        }
        if rep == 0 {
            // The numbers only count if both produced the same pages.
            let path = |want: usize| {
                prepared
                    .iter()
                    .find(|(i, _)| *i == want)
                    .map(|(_, d)| d.path().join("backup"))
            };
            if let (Some(a), Some(b)) = (path(0), path(1)) {
                let pages = testkit::compare_prepared(&a, &b, page_size)
                    .context("the two prepared copies differ")?;
                println!("  rep 0: both prepared copies identical ({pages} pages compared)");
                report.notes.push(format!(
                    "prepare: outputs identical, {pages} pages compared"
                ));
            }
        }
    }
    for (idx, s) in samples {
        report.push("prepare", names[idx], s);
    }
    report.ratio(
        "prepare",
        "hotbackup --prepare",
        "mariadb-backup --prepare",
        "hotbackup / mariadb-backup",
    );
    Ok(())
}

// ---------------------------------------------------------------------------------
// Measuring processes

/// One finished process.
struct Measured {
    wall: Duration,
    sync: Duration,
    max_rss_kb: u64,
    /// The command line, for messages.
    command: String,
    /// stderr lines with the time each arrived, from the start.
    lines: Vec<(Duration, String)>,
}

impl Measured {
    /// The command line and the last `n` stderr lines, for a failure message.
    fn stderr_tail(&self, n: usize) -> String {
        let skip = self.lines.len().saturating_sub(n);
        let tail: Vec<&str> = self.lines[skip..].iter().map(|(_, l)| l.as_str()).collect();
        format!("{}\n{}", self.command, tail.join("\n"))
    }
}

/// Runs `command` to completion; stdout is discarded, stderr lines are timestamped as
/// they arrive (both tools write their log unbuffered to stderr), and `wait4` gives
/// the peak RSS of that process. Then `sync` is timed on its own. A tool that fails is
/// an error, with the end of its stderr.
fn run_measured(command: Command, what: &str) -> Result<Measured> {
    run_measured_to(command, what, Stdio::null())
}

/// [`run_measured`] with the tool's stdout sent to `stdout`.
fn run_measured_to(command: Command, what: &str, stdout: Stdio) -> Result<Measured> {
    let (run, status) = run_process_to(command, what, stdout)?;
    if !(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0) {
        bail!(
            "{what} failed (wait status {status:#x})\nstderr ends with:\n{}",
            run.stderr_tail(25)
        );
    }
    Ok(run)
}

/// [`run_measured`] that also returns a failed run, with its wait status.
fn run_process(command: Command, what: &str) -> Result<(Measured, i32)> {
    run_process_to(command, what, Stdio::null())
}

/// [`run_process`] with the tool's stdout sent to `stdout` (a stream's file).
fn run_process_to(command: Command, what: &str, stdout: Stdio) -> Result<(Measured, i32)> {
    // Linux keeps ru_maxrss across execve: a child exec'd straight from xtask reports at
    // least xtask's own peak RSS (which grows, e.g. in compare_prepared). /usr/bin/time
    // forks the tool from its own tiny process and reports only the tool's peak.
    let rss_file = std::env::temp_dir().join(format!(
        "hotbackup-bench-rss-{}-{}",
        std::process::id(),
        unix_nanos()
    ));
    let mut command = if Path::new(TIME).is_file() {
        let mut wrapped = Command::new(TIME);
        wrapped
            .arg("-f")
            .arg("%M")
            .arg("-o")
            .arg(&rss_file)
            .arg(command.get_program())
            .args(command.get_args());
        wrapped
    } else {
        command
    };
    command
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(Stdio::piped());
    let shown = format!("{command:?}");
    let started = Instant::now();
    let mut child = command
        .spawn()
        .with_context(|| format!("cannot start {what}: {shown}"))?;
    let stderr = child
        .stderr
        .take()
        .with_context(|| format!("{what}: no stderr pipe"))?;
    let reader = std::thread::spawn(move || {
        let mut lines = Vec::new();
        let mut reader = BufReader::new(stderr);
        let mut buf = Vec::new();
        while let Ok(n) = reader.read_until(b'\n', &mut buf) {
            if n == 0 {
                break;
            }
            lines.push((
                started.elapsed(),
                String::from_utf8_lossy(&buf).trim_end().to_string(),
            ));
            buf.clear();
        }
        lines
    });
    let pid = libc::pid_t::try_from(child.id()).context("child pid out of range")?;
    let waited = wait4(pid);
    let wall = started.elapsed();
    let lines = reader.join().unwrap_or_default();
    let (status, wait4_rss_kb) = waited.with_context(|| format!("waiting for {what}"))?;
    let time_rss_kb = std::fs::read_to_string(&rss_file)
        .ok()
        .and_then(|t| t.lines().last().and_then(|l| l.trim().parse::<u64>().ok()));
    let _ = std::fs::remove_file(&rss_file);
    let max_rss_kb = time_rss_kb.unwrap_or(wait4_rss_kb);
    let sync_started = Instant::now();
    let synced = Command::new("sync").status().context("cannot run sync")?;
    ensure!(synced.success(), "sync failed ({synced})");
    Ok((
        Measured {
            wall,
            sync: sync_started.elapsed(),
            max_rss_kb,
            command: shown,
            lines,
        },
        status,
    ))
}

/// Measures peak RSS when installed (Debian package `time`).
const TIME: &str = "/usr/bin/time";

fn unix_nanos() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0)
}

/// `wait4(pid)`: (wait status, ru_maxrss in KiB). The std `Child` is never waited
/// for afterwards (its drop neither waits nor kills), so the pid is reaped only here.
fn wait4(pid: libc::pid_t) -> Result<(i32, u64)> {
    loop {
        let mut status = 0;
        // SAFETY: rusage is plain data that wait4 fills; both pointers are valid for
        // the call.
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        // SAFETY: see above; pid is our own child.
        let got = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
        if got == pid {
            return Ok((status, u64::try_from(usage.ru_maxrss).unwrap_or(0)));
        }
        let err = std::io::Error::last_os_error();
        if err.kind() != std::io::ErrorKind::Interrupted {
            return Err(err).context("wait4");
        }
    }
}

/// `sync; echo 3 > /proc/sys/vm/drop_caches`; false when not permitted.
fn drop_caches() -> bool {
    let _ = Command::new("sync").status();
    std::fs::write("/proc/sys/vm/drop_caches", "3\n").is_ok()
}

fn drop_caches_if(cold: bool) {
    if cold {
        drop_caches();
    }
}

/// Seconds from "BACKUP STAGE BLOCK_COMMIT" (mariadb-backup) or "BACKUP STAGE
/// BlockCommit" (hotbackup) to "All tables unlocked", by arrival time of the lines.
fn block_commit_seconds(lines: &[(Duration, String)]) -> Option<f64> {
    let start = lines.iter().find(|(_, l)| {
        l.contains("Starting BACKUP STAGE BLOCK_COMMIT")
            || l.contains("Starting BACKUP STAGE BlockCommit")
    })?;
    let end = lines
        .iter()
        .find(|(t, l)| *t >= start.0 && l.contains("All tables unlocked"))?;
    Some(end.0.saturating_sub(start.0).as_secs_f64())
}

/// Redo a backup carries: its `ib_logfile0` past the header, which holds the log from
/// the checkpoint at which copying started to `last_lsn`. (`last_lsn - to_lsn` is
/// less: both tools record the checkpoint at the end of the backup as `to_lsn`.)
fn redo_copied(backup: &Path) -> u64 {
    file_len(&backup.join("ib_logfile0")).saturating_sub(LOG_HEADER)
}

struct Checkpoints {
    to_lsn: u64,
    last_lsn: u64,
}

fn read_checkpoints(backup: &Path) -> Result<Checkpoints> {
    let path = backup.join("xtrabackup_checkpoints");
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read {}", path.display()))?;
    let field = |key: &str| -> Result<u64> {
        text.lines()
            .filter_map(|l| l.split_once('='))
            .find(|(k, _)| k.trim() == key)
            .and_then(|(_, v)| v.trim().parse().ok())
            .with_context(|| format!("{}: no numeric {key}", path.display()))
    };
    Ok(Checkpoints {
        to_lsn: field("to_lsn")?,
        last_lsn: field("last_lsn")?,
    })
}

// ---------------------------------------------------------------------------------
// Results

#[derive(Default, Clone, Debug)]
struct Sample {
    wall_s: f64,
    sync_s: f64,
    max_rss_kb: u64,
    /// Bytes produced (backup/copy size) or processed (redo for prepare).
    bytes: u64,
    extra: BTreeMap<&'static str, f64>,
}

impl Sample {
    fn from_run(run: &Measured) -> Sample {
        Sample {
            wall_s: run.wall.as_secs_f64(),
            sync_s: run.sync.as_secs_f64(),
            max_rss_kb: run.max_rss_kb,
            ..Sample::default()
        }
    }

    fn set(&mut self, key: &'static str, value: f64) {
        self.extra.insert(key, value);
    }

    fn extra(&self, key: &str) -> Option<f64> {
        self.extra.get(key).copied()
    }

    fn brief(&self) -> String {
        let mut s = format!(
            "{:7.2} s (+sync {:.2} s)  {:7.1} MB  rss {:6.1} MB",
            self.wall_s,
            self.sync_s,
            mb(self.bytes),
            self.max_rss_kb as f64 / 1024.0
        );
        for (k, v) in &self.extra {
            s.push_str(&format!("  {k} {v:.2}"));
        }
        s
    }
}

struct Row {
    phase: &'static str,
    tool: String,
    samples: Vec<Sample>,
}

impl Row {
    fn walls(&self) -> Vec<f64> {
        self.samples.iter().map(|s| s.wall_s).collect()
    }

    /// Wall time plus the `sync` after it: until the output is on disk.
    fn durables(&self) -> Vec<f64> {
        self.samples.iter().map(|s| s.wall_s + s.sync_s).collect()
    }

    fn extra(&self, key: &str) -> Vec<f64> {
        self.samples
            .iter()
            .filter_map(|s| s.extra.get(key).copied())
            .collect()
    }

    fn to_json(&self) -> Value {
        let stat = |v: &[f64]| json!({"median": median(v), "min": min(v), "max": max(v), "all": v});
        let walls = self.walls();
        let syncs: Vec<f64> = self.samples.iter().map(|s| s.sync_s).collect();
        let durable: Vec<f64> = self.samples.iter().map(|s| s.wall_s + s.sync_s).collect();
        let rss: Vec<f64> = self
            .samples
            .iter()
            .map(|s| s.max_rss_kb as f64 / 1024.0)
            .collect();
        let bytes: Vec<f64> = self.samples.iter().map(|s| s.bytes as f64).collect();
        let mut extra = serde_json::Map::new();
        let keys: std::collections::BTreeSet<&str> = self
            .samples
            .iter()
            .flat_map(|s| s.extra.keys().copied())
            .collect();
        for key in keys {
            extra.insert(key.to_string(), stat(&self.extra(key)));
        }
        json!({
            "phase": self.phase,
            "tool": self.tool,
            "wall_s": stat(&walls),
            "sync_after_s": stat(&syncs),
            "wall_plus_sync_s": stat(&durable),
            "max_rss_mb": stat(&rss),
            "bytes": stat(&bytes),
            "extra": extra,
        })
    }
}

#[derive(Default)]
struct Report {
    rows: Vec<Row>,
    races: Vec<RaceRow>,
    ratios: Vec<(&'static str, String, f64, f64, f64)>,
    notes: Vec<String>,
}

impl Report {
    fn push(&mut self, phase: &'static str, tool: &str, samples: Vec<Sample>) {
        self.rows.push(Row {
            phase,
            tool: tool.to_string(),
            samples,
        });
    }

    /// Ratio of median wall+sync times `a / b` (with the min–max of the per-rep
    /// ratios): hotbackup fsyncs its output, mariadb-backup and cp leave it to the
    /// page cache, so wall time alone would favour them.
    fn ratio(&mut self, phase: &'static str, a: &str, b: &str, label: &str) {
        let find = |tool: &str| {
            self.rows
                .iter()
                .find(|r| r.phase == phase && r.tool == tool)
                .map(Row::durables)
        };
        if let (Some(wa), Some(wb)) = (find(a), find(b)) {
            let per_rep: Vec<f64> = wa.iter().zip(&wb).map(|(x, y)| x / y).collect();
            self.ratios.push((
                phase,
                label.to_string(),
                median(&wa) / median(&wb),
                min(&per_rep),
                max(&per_rep),
            ));
        }
    }

    fn print(&self) {
        println!();
        println!(
            "{:<18} {:<30} {:>20} {:>7} {:>22} {:>8} {:>8} {:>8}  extra: median[min-max]",
            "phase",
            "tool",
            "wall s med [min-max]",
            "+sync",
            "wall+sync med [min-max]",
            "MB",
            "MB/s",
            "rss MB"
        );
        for row in &self.rows {
            let w = row.walls();
            let d = row.durables();
            let bytes = median(
                &row.samples
                    .iter()
                    .map(|s| s.bytes as f64)
                    .collect::<Vec<_>>(),
            );
            let sync = median(&row.samples.iter().map(|s| s.sync_s).collect::<Vec<_>>());
            let rss = median(
                &row.samples
                    .iter()
                    .map(|s| s.max_rss_kb as f64 / 1024.0)
                    .collect::<Vec<_>>(),
            );
            let mut extra = String::new();
            let keys: std::collections::BTreeSet<&str> = row
                .samples
                .iter()
                .flat_map(|s| s.extra.keys().copied())
                .collect();
            for key in keys {
                let v = row.extra(key);
                let shown = if key.ends_with("_bytes") {
                    format!("{key}={:.1}MB", median(&v) / 1048576.0)
                } else {
                    format!("{key}={:.2}[{:.2}-{:.2}]", median(&v), min(&v), max(&v))
                };
                extra.push_str(&shown);
                extra.push(' ');
            }
            println!(
                "{:<18} {:<30} {:>7.2} [{:5.2}-{:5.2}] {:>7.2} {:>8.2} [{:5.2}-{:5.2}] {:>8.1} {:>8.1} {:>8.1}  {}",
                row.phase,
                row.tool,
                median(&w),
                min(&w),
                max(&w),
                sync,
                median(&d),
                min(&d),
                max(&d),
                bytes / 1048576.0,
                bytes / 1048576.0 / median(&d),
                rss,
                extra.trim_end()
            );
        }
        if !self.ratios.is_empty() {
            println!("\nratios of median wall+sync time (per-repetition min-max):");
            for (phase, label, r, lo, hi) in &self.ratios {
                println!("  {phase:<18} {label:<40} {r:.2} [{lo:.2}-{hi:.2}]");
            }
        }
        if !self.races.is_empty() {
            println!("\nthe race with the redo log (backups completed / runs):");
            for r in &self.races {
                println!(
                    "  {:<46} {}/{} completed, {} lost the race, {} failed otherwise; \
                     server redo {:.1} MB/s median; log wrapped {:.1} times per completed backup",
                    r.tool,
                    r.completed,
                    r.runs(),
                    r.lost,
                    r.other.len(),
                    median(&r.redo_mb_s),
                    if r.wraps.is_empty() {
                        0.0
                    } else {
                        median(&r.wraps)
                    }
                );
            }
        }
        for note in &self.notes {
            println!("note: {note}");
        }
    }
}

// ---------------------------------------------------------------------------------
// Small helpers

fn median(v: &[f64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    match s.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => s[n / 2],
        n => (s[n / 2 - 1] + s[n / 2]) / 2.0,
    }
}

fn min(v: &[f64]) -> f64 {
    v.iter().copied().fold(f64::INFINITY, f64::min)
}

fn max(v: &[f64]) -> f64 {
    v.iter().copied().fold(f64::NEG_INFINITY, f64::max)
}

fn mb(bytes: u64) -> f64 {
    bytes as f64 / 1048576.0
}

fn file_len(path: &Path) -> u64 {
    std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)
}

fn dir_size(dir: &Path) -> u64 {
    crate::dir_size(dir)
}

/// Bytes of a datadir without its redo log (the part a backup copies as data).
fn data_bytes(datadir: &Path) -> u64 {
    dir_size(datadir).saturating_sub(file_len(&datadir.join("ib_logfile0")))
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn git_describe() -> String {
    Command::new("git")
        .args(["describe", "--always", "--dirty"])
        .current_dir(crate::workspace_root())
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default()
}
