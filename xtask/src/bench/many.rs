//! The `many` phase: how cost grows with the number of tables (issue #17). A dataset of
//! `--tables N` InnoDB tables of 20 rows plus N/10 MyISAM tables, made once and reused; then
//! `cp -a`, both tools' backups, prepares (of copies of one hotbackup backup) and copy-backs,
//! each tool also under `ulimit -n 1024`; then a few updates and both tools' incremental
//! backup and incremental prepare (`many/incremental.rs`). A run that fails (mariadb-backup runs out of file
//! descriptors under the limit) is recorded as such, not as an error of the benchmark.
//! Every row also carries seconds per 1,000 tables.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use serde_json::json;
use testkit::{MariaDb, PageSize, TestDir, TestServer};

mod incremental;

use super::{
    dir_size, drop_caches_if, mb, run_measured, run_process, Layout, Options, Report, Sample, Tools,
};

/// The open-files limit of the limited runs (the issue's `ulimit -n 1024`).
const NOFILE: u32 = 1024;
/// Rows per InnoDB table.
const ROWS: u32 = 20;

fn datadir(layout: &Layout, tables: u32) -> PathBuf {
    layout.bench.join(format!("many-{tables}"))
}

/// Makes the dataset unless a complete one (marked by its `.json`) exists.
fn ensure_many(mariadb: &MariaDb, layout: &Layout, tables: u32) -> Result<PathBuf> {
    let dir = datadir(layout, tables);
    let marker = dir.with_extension("json");
    if dir.is_dir() && marker.is_file() {
        println!("many: reusing {}", dir.display());
        return Ok(dir);
    }
    if dir.exists() {
        std::fs::remove_dir_all(&dir)
            .with_context(|| format!("cannot remove the partial {}", dir.display()))?;
    }
    let myisam = tables / 10;
    println!(
        "many: creating {tables} InnoDB tables of {ROWS} rows and {myisam} MyISAM tables into {} \
         (once; reused by later runs)",
        dir.display()
    );
    let started = Instant::now();
    let mut server = server_builder(mariadb, layout)
        .name("many-gen")
        .option("innodb_flush_log_at_trx_commit=0")
        .start()
        .context("cannot start the generating server")?;
    server.exec(&format!(
        "CREATE DATABASE m; \
         CREATE PROCEDURE m.mk(n INT, engine VARCHAR(10), prefix VARCHAR(4)) BEGIN \
           DECLARE i INT DEFAULT 0; \
           WHILE i < n DO \
             SET @s = CONCAT('CREATE TABLE m.', prefix, i, \
               ' (id INT PRIMARY KEY, v INT, p VARCHAR(100)) ENGINE=', engine); \
             PREPARE st FROM @s; EXECUTE st; DEALLOCATE PREPARE st; \
             SET @s = CONCAT('INSERT INTO m.', prefix, i, \
               ' SELECT seq, seq, REPEAT(''a'', 60) FROM seq_1_to_{ROWS}'); \
             PREPARE st FROM @s; EXECUTE st; DEALLOCATE PREPARE st; \
             SET i = i + 1; \
           END WHILE; \
         END; \
         CALL m.mk({tables}, 'InnoDB', 't'); \
         CALL m.mk({myisam}, 'MyISAM', 'my'); \
         DROP PROCEDURE m.mk;"
    ))?;
    server.stop().context("stopping the generating server")?;
    let generated = server.datadir().to_path_buf();
    std::fs::rename(&generated, &dir)
        .with_context(|| format!("cannot move {} to {}", generated.display(), dir.display()))?;
    drop(server);
    let info = json!({
        "innodb_tables": tables, "myisam_tables": myisam, "rows": ROWS,
        "bytes": dir_size(&dir), "generated_in_seconds": started.elapsed().as_secs_f64(),
    });
    std::fs::write(&marker, info.to_string())
        .with_context(|| format!("cannot write {}", marker.display()))?;
    println!(
        "many: {:.0} MB in {:.0} s",
        mb(dir_size(&dir)),
        started.elapsed().as_secs_f64()
    );
    Ok(dir)
}

fn server_builder(mariadb: &MariaDb, layout: &Layout) -> testkit::ServerBuilder {
    mariadb
        .server()
        .base_dir(&layout.work)
        .page_size(PageSize::K16)
        .buffer_pool_size(128 << 20)
        .log_file_size(96 << 20)
        .option("table_open_cache=400")
        .startup_timeout(Duration::from_secs(900))
        .shutdown_timeout(Duration::from_secs(900))
}

/// `command` run under `ulimit -n NOFILE` when `limited` (through `sh`, so the limit holds
/// for the tool whatever wraps it for measuring).
fn limit(command: Command, limited: bool) -> Command {
    if !limited {
        return command;
    }
    let mut sh = Command::new("sh");
    sh.arg("-c")
        .arg(format!("ulimit -n {NOFILE} && exec \"$0\" \"$@\""))
        .arg(command.get_program())
        .args(command.get_args());
    sh
}

/// One configuration of the phase.
#[derive(Clone, Copy)]
struct Run {
    step: &'static str,
    tool: &'static str,
    limited: bool,
}

impl Run {
    fn name(self) -> String {
        let limit = if self.limited {
            format!(" (ulimit -n {NOFILE})")
        } else {
            String::new()
        };
        format!("{} {}{limit}", self.tool, self.step)
    }
}

const BACKUPS: [Run; 5] = [
    Run {
        step: "backup",
        tool: "cp -a",
        limited: false,
    },
    Run {
        step: "backup",
        tool: "mariadb-backup",
        limited: false,
    },
    Run {
        step: "backup",
        tool: "hotbackup",
        limited: false,
    },
    Run {
        step: "backup",
        tool: "mariadb-backup",
        limited: true,
    },
    Run {
        step: "backup",
        tool: "hotbackup",
        limited: true,
    },
];
const PREPARES: [Run; 4] = [
    Run {
        step: "prepare",
        tool: "mariadb-backup",
        limited: false,
    },
    Run {
        step: "prepare",
        tool: "hotbackup",
        limited: false,
    },
    Run {
        step: "prepare",
        tool: "mariadb-backup",
        limited: true,
    },
    Run {
        step: "prepare",
        tool: "hotbackup",
        limited: true,
    },
];
const COPYBACKS: [Run; 5] = [
    Run {
        step: "copy-back",
        tool: "cp -a",
        limited: false,
    },
    Run {
        step: "copy-back",
        tool: "mariadb-backup",
        limited: false,
    },
    Run {
        step: "copy-back",
        tool: "hotbackup",
        limited: false,
    },
    Run {
        step: "copy-back",
        tool: "mariadb-backup",
        limited: true,
    },
    Run {
        step: "copy-back",
        tool: "hotbackup",
        limited: true,
    },
];

/// The runs of `all` this run makes: with `lean`, only the configurations the issue's
/// figures need (`cp -a`, mariadb-backup as users run it, hotbackup under the limit).
fn lineup(all: &[Run], lean: bool) -> Vec<Run> {
    all.iter()
        .copied()
        .filter(|r| !lean || r.limited == (r.tool == "hotbackup"))
        .collect()
}

fn tool_program(tools: &Tools, tool: &str) -> Result<Command> {
    Ok(match tool {
        "mariadb-backup" => Command::new(tools.mariadb.backup_program()?),
        "hotbackup" => Command::new(tools.hotbackup),
        other => Command::new(other),
    })
}

/// The backup command of `run` into `target`.
fn backup_command(tools: &Tools, server: &TestServer, run: Run, target: &Path) -> Result<Command> {
    let mut c = if run.tool == "cp -a" {
        let mut c = Command::new("cp");
        c.arg("-a").arg(server.datadir()).arg(target);
        return Ok(c);
    } else if run.tool == "mariadb-backup" {
        server.mariadb_backup_command()?
    } else {
        let mut c = Command::new(tools.hotbackup);
        c.arg("--no-defaults")
            .arg(format!("--socket={}", server.socket_path().display()))
            .arg("--user=root");
        c
    };
    c.arg("--backup")
        .arg(format!("--target-dir={}", target.display()));
    Ok(c)
}

/// Runs `command`; a failing tool gives a sample marked `failed` (wall time up to the
/// failure) and the end of its log on stdout.
fn measure(command: Command, run: Run, tables: u32) -> Result<Sample> {
    let (measured, status) = run_process(command, &run.name())?;
    let mut sample = Sample::from_run(&measured);
    let ok = libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0;
    sample.set("failed", if ok { 0.0 } else { 1.0 });
    sample.set(
        "s_per_1000_tables",
        measured.wall.as_secs_f64() * 1000.0 / f64::from(tables),
    );
    if !ok {
        println!(
            "  {} FAILED (wait status {status:#x}):\n{}",
            run.name(),
            measured.stderr_tail(3)
        );
    }
    Ok(sample)
}

pub(super) fn bench_many(tools: &Tools, opts: &Options, report: &mut Report) -> Result<()> {
    let tables = opts.tables;
    println!("\n== {tables} tables: backup, prepare, copy-back (also under ulimit -n {NOFILE}) ==");
    let data = ensure_many(tools.mariadb, tools.layout, tables)?;
    if opts.reps == 0 {
        println!(
            "many: dataset ready in {} (--reps 0: nothing timed)",
            data.display()
        );
        return Ok(());
    }
    let server = server_builder(tools.mariadb, tools.layout)
        .name("many")
        .existing_datadir(&data)
        .start()
        .with_context(|| format!("cannot start a server on {}", data.display()))?;
    let mut samples: BTreeMap<String, Vec<Sample>> = BTreeMap::new();
    let (backups, prepares, copybacks) = (
        lineup(&BACKUPS, opts.lean),
        lineup(&PREPARES, opts.lean),
        lineup(&COPYBACKS, opts.lean),
    );
    // The prepare and copy-back source: one hotbackup backup, kept.
    let mut source: Option<TestDir> = None;
    for rep in 0..opts.reps {
        for k in 0..backups.len() {
            let run = backups[(k + rep) % backups.len()];
            let dir = tools.layout.scratch("many-bk")?;
            let target = dir.path().join("backup");
            let command = limit(backup_command(tools, &server, run, &target)?, run.limited);
            drop_caches_if(tools.cold);
            let mut sample = measure(command, run, tables)?;
            sample.bytes = dir_size(&target);
            println!("  rep {rep} {:<48} {}", run.name(), sample.brief());
            if source.is_none() && run.tool == "hotbackup" && sample.extra("failed") == Some(0.0) {
                source = Some(dir);
            }
            samples.entry(run.name()).or_default().push(sample);
        }
    }
    let source = source.context("no hotbackup backup of the many-tables dataset succeeded")?;
    let backup = source.path().join("backup");
    let inc = incremental::backups(tools, &server, &backup, opts, &mut samples)?;
    drop(server);
    if opts.drop_dataset {
        std::fs::remove_file(data.with_extension("json"))
            .and_then(|()| std::fs::remove_dir_all(&data))
            .with_context(|| format!("cannot remove {}", data.display()))?;
        println!("many: removed {} (--drop-dataset)", data.display());
    }
    for rep in 0..opts.reps {
        for k in 0..prepares.len() {
            let run = prepares[(k + rep) % prepares.len()];
            let dir = tools.layout.scratch("many-prep")?;
            let copy = dir.path().join("backup");
            let mut cp = Command::new("cp");
            cp.arg("-a").arg(&backup).arg(&copy);
            run_measured(cp, "cp -a of the many-tables backup")?;
            let mut c = tool_program(tools, run.tool)?;
            c.arg(format!(
                "--defaults-file={}",
                copy.join("backup-my.cnf").display()
            ))
            .arg("--prepare")
            .arg(format!("--target-dir={}", copy.display()));
            drop_caches_if(tools.cold);
            let sample = measure(limit(c, run.limited), run, tables)?;
            println!("  rep {rep} {:<48} {}", run.name(), sample.brief());
            samples.entry(run.name()).or_default().push(sample);
        }
    }
    // The copy-backs' and incremental prepares' source: the kept backup itself, prepared in
    // place (untimed), so that the disk holds the dataset and two copies at most (100,000
    // tables: 7 GB each).
    let mut c = tool_program(tools, "hotbackup")?;
    c.arg(format!(
        "--defaults-file={}",
        backup.join("backup-my.cnf").display()
    ))
    .arg("--prepare")
    .arg(format!("--target-dir={}", backup.display()));
    run_measured(c, "hotbackup --prepare of the kept many-tables backup")?;
    let prepared = backup;
    for rep in 0..opts.reps {
        for k in 0..copybacks.len() {
            let run = copybacks[(k + rep) % copybacks.len()];
            let dir = tools.layout.scratch("many-cb")?;
            let dest = dir.path().join("datadir");
            let c = if run.tool == "cp -a" {
                let mut c = Command::new("cp");
                c.arg("-a").arg(&prepared).arg(&dest);
                c
            } else {
                let mut c = tool_program(tools, run.tool)?;
                c.arg(format!(
                    "--defaults-file={}",
                    prepared.join("backup-my.cnf").display()
                ))
                .arg("--copy-back")
                .arg(format!("--target-dir={}", prepared.display()))
                .arg(format!("--datadir={}", dest.display()));
                c
            };
            drop_caches_if(tools.cold);
            let mut sample = measure(limit(c, run.limited), run, tables)?;
            sample.bytes = dir_size(&dest);
            println!("  rep {rep} {:<48} {}", run.name(), sample.brief());
            samples.entry(run.name()).or_default().push(sample);
        }
    }
    let inc =
        inc.context("no hotbackup incremental backup of the many-tables dataset succeeded")?;
    incremental::prepares(
        tools,
        &prepared,
        &inc.path().join("backup"),
        opts,
        &mut samples,
    )?;
    for (name, s) in samples {
        report.push("many_tables", &name, s);
    }
    for (a, b, label) in [
        ("hotbackup backup", "cp -a backup", "hotbackup backup / cp"),
        (
            "hotbackup backup",
            "mariadb-backup backup",
            "hotbackup / mariadb-backup, backup",
        ),
        (
            "hotbackup prepare",
            "mariadb-backup prepare",
            "hotbackup / mariadb-backup, prepare",
        ),
        (
            "hotbackup copy-back",
            "cp -a copy-back",
            "hotbackup copy-back / cp",
        ),
        (
            "hotbackup backup (ulimit -n 1024)",
            "cp -a backup",
            "hotbackup backup (ulimit -n 1024) / cp",
        ),
        (
            "hotbackup copy-back (ulimit -n 1024)",
            "cp -a copy-back",
            "hotbackup copy-back (ulimit -n 1024) / cp",
        ),
        (
            "hotbackup incremental backup",
            "hotbackup backup",
            "hotbackup incremental / full backup",
        ),
        (
            "hotbackup incremental prepare",
            "mariadb-backup incremental prepare",
            "hotbackup / mariadb-backup, incremental prepare",
        ),
    ] {
        report.ratio("many_tables", a, b, label);
    }
    report.notes.push(format!(
        "many_tables: {tables} InnoDB tables of {ROWS} rows + {} MyISAM tables; a run with \
         failed=1 exited non-zero (its time is up to the failure)",
        tables / 10
    ));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_per_configuration() {
        let mut names: Vec<String> = BACKUPS
            .iter()
            .chain(&PREPARES)
            .chain(&COPYBACKS)
            .map(|r| r.name())
            .collect();
        let all = names.len();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), all);
        assert_eq!(BACKUPS[4].name(), "hotbackup backup (ulimit -n 1024)");
    }

    #[test]
    fn lean_keeps_cp_mariadb_backup_unlimited_and_hotbackup_limited() {
        let names = |runs: Vec<Run>| runs.iter().map(|r| r.name()).collect::<Vec<_>>();
        assert_eq!(
            names(lineup(&BACKUPS, true)),
            [
                "cp -a backup",
                "mariadb-backup backup",
                "hotbackup backup (ulimit -n 1024)"
            ]
        );
        assert_eq!(
            names(lineup(&PREPARES, true)),
            [
                "mariadb-backup prepare",
                "hotbackup prepare (ulimit -n 1024)"
            ]
        );
        assert_eq!(lineup(&COPYBACKS, false).len(), COPYBACKS.len());
    }

    #[test]
    fn the_limit_wraps_the_whole_command() {
        let mut c = Command::new("/bin/tool");
        c.arg("--x=1").arg("two words");
        let sh = limit(c, true);
        let args: Vec<_> = sh
            .get_args()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            args,
            [
                "-c",
                "ulimit -n 1024 && exec \"$0\" \"$@\"",
                "/bin/tool",
                "--x=1",
                "two words"
            ]
        );
        assert_eq!(limit(Command::new("t"), false).get_program(), "t");
    }
}
