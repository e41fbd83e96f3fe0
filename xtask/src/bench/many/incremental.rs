//! The incremental step of the `many` phase: after the full backups, a few rows change in
//! one table out of `EVERY`, then both tools' `--incremental-basedir` backups (base: the kept
//! hotbackup full backup) and both tools' `--prepare --incremental-dir` of one hotbackup
//! incremental onto copies of the prepared base; hotbackup also under `ulimit -n 1024`.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use anyhow::{ensure, Result};
use testkit::{TestDir, TestServer};

use super::{backup_command, limit, lineup, measure, tool_program, Run};
use crate::bench::{dir_size, drop_caches_if, run_measured, Options, Sample, Tools};

/// One InnoDB table out of `EVERY` gets an update before the incrementals.
const EVERY: u32 = 100;

const BACKUPS: [Run; 3] = [
    Run {
        step: "incremental backup",
        tool: "mariadb-backup",
        limited: false,
    },
    Run {
        step: "incremental backup",
        tool: "hotbackup",
        limited: false,
    },
    Run {
        step: "incremental backup",
        tool: "hotbackup",
        limited: true,
    },
];
const PREPARES: [Run; 3] = [
    Run {
        step: "incremental prepare",
        tool: "mariadb-backup",
        limited: false,
    },
    Run {
        step: "incremental prepare",
        tool: "hotbackup",
        limited: false,
    },
    Run {
        step: "incremental prepare",
        tool: "hotbackup",
        limited: true,
    },
];

/// The updates between the full backups and the incrementals: one row in every `EVERY`th
/// InnoDB table and in every `EVERY`th MyISAM table.
fn update_sql(tables: u32) -> String {
    let mut sql = String::new();
    for i in (0..tables).step_by(EVERY as usize) {
        sql.push_str(&format!("UPDATE m.t{i} SET v = v + 1 WHERE id = 1;"));
    }
    for i in (0..tables / 10).step_by(EVERY as usize) {
        sql.push_str(&format!("UPDATE m.my{i} SET v = v + 1 WHERE id = 1;"));
    }
    sql
}

/// Changes a few rows, then times each tool's incremental backup on `base`; returns the
/// first hotbackup incremental that succeeded (the prepare step's input).
pub(super) fn backups(
    tools: &Tools,
    server: &TestServer,
    base: &Path,
    opts: &Options,
    samples: &mut BTreeMap<String, Vec<Sample>>,
) -> Result<Option<TestDir>> {
    let (tables, runs) = (opts.tables, lineup(&BACKUPS, opts.lean));
    server.exec(&update_sql(tables))?;
    println!(
        "  updated one row in {} InnoDB and {} MyISAM tables",
        tables.div_ceil(EVERY),
        (tables / 10).div_ceil(EVERY)
    );
    let mut kept = None;
    for rep in 0..opts.reps {
        for k in 0..runs.len() {
            let run = runs[(k + rep) % runs.len()];
            let dir = tools.layout.scratch("many-inc")?;
            let target = dir.path().join("backup");
            let mut command = backup_command(tools, server, run, &target)?;
            command.arg(format!("--incremental-basedir={}", base.display()));
            drop_caches_if(tools.cold);
            let mut sample = measure(limit(command, run.limited), run, tables)?;
            sample.bytes = dir_size(&target);
            println!("  rep {rep} {:<48} {}", run.name(), sample.brief());
            if sample.extra("failed") == Some(0.0) {
                let checkpoints = std::fs::read_to_string(target.join("xtrabackup_checkpoints"))
                    .unwrap_or_default();
                ensure!(
                    checkpoints.contains("backup_type = incremental"),
                    "{} did not write an incremental backup:\n{checkpoints}",
                    run.name()
                );
                if kept.is_none() && run.tool == "hotbackup" {
                    kept = Some(dir);
                }
            }
            samples.entry(run.name()).or_default().push(sample);
        }
    }
    Ok(kept)
}

/// Times each tool's `--prepare --incremental-dir=INC` on fresh copies of `prepared` (the
/// prepared base) and `inc` (10.11's prepare consumes the incremental's deltas).
pub(super) fn prepares(
    tools: &Tools,
    prepared: &Path,
    inc: &Path,
    opts: &Options,
    samples: &mut BTreeMap<String, Vec<Sample>>,
) -> Result<()> {
    let (tables, runs) = (opts.tables, lineup(&PREPARES, opts.lean));
    for rep in 0..opts.reps {
        for k in 0..runs.len() {
            let run = runs[(k + rep) % runs.len()];
            let dir = tools.layout.scratch("many-incprep")?;
            let (b, i) = (dir.path().join("base"), dir.path().join("inc"));
            for (from, to) in [(prepared, &b), (inc, &i)] {
                let mut cp = Command::new("cp");
                cp.arg("-a").arg(from).arg(to);
                run_measured(cp, "cp -a of the incremental chain")?;
            }
            let mut c = tool_program(tools, run.tool)?;
            c.arg(format!(
                "--defaults-file={}",
                b.join("backup-my.cnf").display()
            ))
            .arg("--prepare")
            .arg(format!("--target-dir={}", b.display()))
            .arg(format!("--incremental-dir={}", i.display()));
            drop_caches_if(tools.cold);
            let mut sample = measure(limit(c, run.limited), run, tables)?;
            sample.bytes = dir_size(&i);
            println!("  rep {rep} {:<48} {}", run.name(), sample.brief());
            samples.entry(run.name()).or_default().push(sample);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn updates_touch_one_table_in_every_hundred() {
        let sql = update_sql(1000);
        assert_eq!(sql.matches("UPDATE m.t").count(), 10);
        assert_eq!(sql.matches("UPDATE m.my").count(), 1);
        assert!(sql.starts_with("UPDATE m.t0 SET v = v + 1 WHERE id = 1;"));
        assert!(sql.contains("UPDATE m.t900 "));
        assert!(!sql.contains("UPDATE m.t1000 "));
    }

    #[test]
    fn names_differ_from_the_full_steps() {
        assert_eq!(
            BACKUPS[2].name(),
            "hotbackup incremental backup (ulimit -n 1024)"
        );
        assert_eq!(PREPARES[0].name(), "mariadb-backup incremental prepare");
    }
}
