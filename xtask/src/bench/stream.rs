//! The `stream` and `compress` phases: each tool's `--stream=xbstream > FILE` and
//! `--compress` backups timed next to its own directory backup, in the same repetitions.

use std::collections::BTreeMap;
use std::fs::File;
use std::process::Stdio;

use anyhow::{ensure, Context, Result};
use testkit::TestServer;

use super::{
    dir_size, drop_caches_if, file_len, median, redo_copied, run_measured_to, BackupTool, Options,
    Report, Sample, Tools,
};

/// Compression threads of the compress phase (the setting: the machine's 2 cores).
const COMPRESS_THREADS: u32 = 2;

/// How one run writes its backup.
#[derive(Clone, Copy, Debug)]
enum Output {
    /// Into a directory (`--target-dir`).
    Directory,
    /// `--stream=xbstream` to stdout, redirected to a file on the same filesystem.
    Stream,
    /// `--compress[=lz4|zstd] --compress-threads=N` into a directory.
    Compressed(Algo),
}

/// A `--compress` algorithm (mariadb-backup 10.11 has only quicklz).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Algo {
    Quicklz,
    Lz4,
    Zstd,
}

impl Algo {
    /// The `--compress` argument.
    fn arg(self) -> &'static str {
        match self {
            Algo::Quicklz => "--compress",
            Algo::Lz4 => "--compress=lz4",
            Algo::Zstd => "--compress=zstd",
        }
    }
}

#[derive(Clone, Copy, Debug)]
struct Variant {
    tool: BackupTool,
    output: Output,
}

impl Variant {
    fn name(self) -> String {
        let tool = self.tool.name();
        match self.output {
            Output::Directory => format!("{tool} dir"),
            Output::Stream => format!("{tool} stream"),
            Output::Compressed(Algo::Quicklz) => format!("{tool} compress{COMPRESS_THREADS}"),
            Output::Compressed(Algo::Lz4) => format!("{tool} lz4 compress{COMPRESS_THREADS}"),
            Output::Compressed(Algo::Zstd) => format!("{tool} zstd compress{COMPRESS_THREADS}"),
        }
    }
}

/// One backup of `variant`, caches dropped first; the output is removed afterwards.
/// Wall time and the `sync` after it are measured as in the directory phases, so a
/// stream file still in the page cache is counted until it is on disk.
fn timed_variant(tools: &Tools, server: &TestServer, variant: Variant) -> Result<Sample> {
    let dir = tools.layout.scratch("bk")?;
    let target = dir.path().join("backup");
    let mut command = variant.tool.command(tools, server, &target)?;
    let stream_file = dir.path().join("backup.xbstream");
    let stdout = match variant.output {
        Output::Directory => Stdio::null(),
        Output::Stream => {
            command.arg("--stream=xbstream");
            let file = File::create(&stream_file)
                .with_context(|| format!("cannot create {}", stream_file.display()))?;
            Stdio::from(file)
        }
        Output::Compressed(algo) => {
            command
                .arg(algo.arg())
                .arg(format!("--compress-threads={COMPRESS_THREADS}"));
            Stdio::null()
        }
    };
    drop_caches_if(tools.cold);
    let run = run_measured_to(command, &variant.name(), stdout)?;
    let mut sample = Sample::from_run(&run);
    sample.bytes = match variant.output {
        Output::Stream => file_len(&stream_file),
        Output::Directory | Output::Compressed(_) => {
            sample.set("redo_copied_bytes", redo_copied(&target) as f64);
            dir_size(&target)
        }
    };
    // An empty output would make a fast run look good; both tools end a backup with
    // its data, so a tiny one means the command did not do what is measured.
    ensure!(
        sample.bytes > 1 << 20,
        "{} produced only {} bytes: not a backup\n{}",
        variant.name(),
        sample.bytes,
        run.stderr_tail(15)
    );
    Ok(sample)
}

/// Runs every variant `opts.reps` times, rotating the order each repetition, and adds
/// a row per variant to `report` under `phase`.
fn alternate(
    tools: &Tools,
    server: &TestServer,
    opts: &Options,
    phase: &'static str,
    lineup: &[Variant],
    report: &mut Report,
) -> Result<()> {
    let mut samples: BTreeMap<usize, Vec<Sample>> = BTreeMap::new();
    for rep in 0..opts.reps {
        for k in 0..lineup.len() {
            let idx = (k + rep) % lineup.len();
            let sample = timed_variant(tools, server, lineup[idx])?;
            println!("  rep {rep} {:<42} {}", lineup[idx].name(), sample.brief());
            samples.entry(idx).or_default().push(sample);
        }
    }
    for (idx, s) in samples {
        report.push(phase, &lineup[idx].name(), s);
    }
    Ok(())
}

/// Both tools at their default `--parallel=1`, in this order: mariadb-backup into a
/// directory, mariadb-backup with `second`, hotbackup into a directory, hotbackup with
/// `second` (the ratios index it so).
fn lineup(second: Output) -> Vec<Variant> {
    let tools = [
        BackupTool::MariaBackup { parallel: 1 },
        BackupTool::Hotbackup { parallel: 1 },
    ];
    tools
        .iter()
        .flat_map(|&tool| {
            [Output::Directory, second]
                .into_iter()
                .map(move |output| Variant { tool, output })
        })
        .collect()
}

/// `--stream=xbstream > FILE` against the directory backup, per tool.
pub(super) fn bench_stream(
    tools: &Tools,
    server: &TestServer,
    opts: &Options,
    report: &mut Report,
) -> Result<()> {
    println!("\n== --stream=xbstream > file vs directory backup (idle server) ==");
    let lineup = lineup(Output::Stream);
    alternate(tools, server, opts, "stream", &lineup, report)?;
    for pair in lineup.chunks(2) {
        let (dir, stream) = (pair[0], pair[1]);
        report.ratio(
            "stream",
            &stream.name(),
            &dir.name(),
            &format!("{} stream / dir", dir.tool.name()),
        );
    }
    versus(report, "stream", &lineup[3], &lineup[1]);
    Ok(())
}

/// `--compress --compress-threads=2` against the uncompressed directory backup, per
/// tool: time ratio in the ratios, size ratio in the notes. quicklz (qpress) for both
/// tools; lz4 and zstd (level 1) for hotbackup only (mariadb-backup 10.11 has neither).
pub(super) fn bench_compress(
    tools: &Tools,
    server: &TestServer,
    opts: &Options,
    report: &mut Report,
) -> Result<()> {
    println!(
        "\n== --compress --compress-threads={COMPRESS_THREADS} vs uncompressed directory \
         backup (idle server) =="
    );
    let lineup = compress_lineup();
    alternate(tools, server, opts, "compress", &lineup, report)?;
    for (d, c) in [(0, 1), (2, 3), (2, 4), (2, 5)] {
        let (dir, compressed) = (lineup[d], lineup[c]);
        report.ratio(
            "compress",
            &compressed.name(),
            &dir.name(),
            &format!("{} / dir", compressed.name()),
        );
        let size = |name: &str| {
            report
                .rows
                .iter()
                .find(|r| r.phase == "compress" && r.tool == name)
                .map(|r| median(&r.samples.iter().map(|s| s.bytes as f64).collect::<Vec<_>>()))
        };
        if let (Some(c), Some(d)) = (size(&compressed.name()), size(&dir.name())) {
            let note = format!(
                "compress: {} {:.1} MB compressed / {:.1} MB uncompressed = {:.3}",
                compressed.name(),
                c / 1048576.0,
                d / 1048576.0,
                c / d
            );
            report.notes.push(note);
        }
    }
    versus(report, "compress", &lineup[3], &lineup[1]);
    for i in [4, 5] {
        report.ratio(
            "compress",
            &lineup[i].name(),
            &lineup[1].name(),
            &format!("{} / mariadb-backup qpress", lineup[i].name()),
        );
    }
    report.notes.push(
        "compress: lz4 and zstd only for hotbackup (mariadb-backup 10.11 has neither)".into(),
    );
    Ok(())
}

/// [`lineup`] with quicklz, then hotbackup with lz4 and with zstd (indices 4 and 5).
fn compress_lineup() -> Vec<Variant> {
    let mut lineup = lineup(Output::Compressed(Algo::Quicklz));
    for algo in [Algo::Lz4, Algo::Zstd] {
        lineup.push(Variant {
            tool: BackupTool::Hotbackup { parallel: 1 },
            output: Output::Compressed(algo),
        });
    }
    lineup
}

/// Ratio of hotbackup's run to mariadb-backup's run of the same kind.
fn versus(report: &mut Report, phase: &'static str, hotbackup: &Variant, mariabackup: &Variant) {
    report.ratio(
        phase,
        &hotbackup.name(),
        &mariabackup.name(),
        &format!("hotbackup / mariadb-backup, {phase}"),
    );
}

#[cfg(test)]
mod tests {
    use super::super::{parse_options, Phase};
    use super::*;

    #[test]
    fn lineup_order_is_what_the_ratios_index() {
        for (second, suffix) in [
            (Output::Stream, "stream"),
            (Output::Compressed(Algo::Quicklz), "compress2"),
        ] {
            let names: Vec<String> = lineup(second).into_iter().map(Variant::name).collect();
            assert_eq!(
                names,
                [
                    "mariadb-backup --parallel=1 dir".to_string(),
                    format!("mariadb-backup --parallel=1 {suffix}"),
                    "hotbackup --parallel=1 dir".to_string(),
                    format!("hotbackup --parallel=1 {suffix}"),
                ]
            );
        }
    }

    #[test]
    fn the_compress_lineup_adds_hotbackup_lz4_and_zstd() {
        let names: Vec<String> = compress_lineup().into_iter().map(Variant::name).collect();
        assert_eq!(names[3], "hotbackup --parallel=1 compress2");
        assert_eq!(names[4], "hotbackup --parallel=1 lz4 compress2");
        assert_eq!(names[5], "hotbackup --parallel=1 zstd compress2");
        assert_eq!(Algo::Zstd.arg(), "--compress=zstd");
    }

    #[test]
    fn only_accepts_the_new_phases_in_run_order() {
        let cases: &[(&str, &[Phase])] = &[
            (
                "compress,stream,backup",
                &[Phase::Backup, Phase::Stream, Phase::Compress],
            ),
            ("stream", &[Phase::Stream]),
            ("compress,prepare", &[Phase::Compress, Phase::Prepare]),
        ];
        for (only, want) in cases {
            let args = vec!["--only".to_string(), only.to_string()];
            assert_eq!(parse_options(&args).unwrap().phases, *want, "--only {only}");
        }
        let args = vec!["--only".to_string(), "streams".to_string()];
        assert!(parse_options(&args).is_err());
        let all = parse_options(&[]).unwrap().phases;
        assert!(all.contains(&Phase::Stream) && all.contains(&Phase::Compress));
    }
}
