//! Redo log parse throughput, in bytes of log (LSN range) per second, on the real
//! MariaDB 10.11.19 logs of `shared/testdata/redo` (see its README):
//!
//! * `frames/<log>`: framing and CRC-32C only ([`Input::next_frame`]), the redo
//!   tailer's path while a backup runs;
//! * `records/<log>`: every mtr framed, checked and its records decoded and walked
//!   ([`Input::next_mtr`] + [`Mtr::records`]), the prepare's first pass.
//!
//! The logs are decoded from their checkpoint as the tools do, feeding the circular
//! file's two segments so an mtr across the wrap is assembled (live16k_wrap has one).

use std::hint::black_box;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use hotbackup_benches::read_fixture;
use innodb::redo::{Decoder, LogFile, MtrFormat, Step};
use innodb::Lsn;

/// A gunzipped sample log and what one decode of it gives.
struct Sample {
    name: &'static str,
    image: Vec<u8>,
    file: LogFile,
    start: Lsn,
    /// Bytes of log from the checkpoint to the end of the log.
    log_bytes: u64,
    n_mtrs: u64,
    n_records: u64,
}

/// Totals of one pass; compared between passes so a bench never measures a
/// decode that stopped early.
#[derive(Debug, Default, PartialEq, Eq)]
struct Totals {
    mtrs: u64,
    records: u64,
    end: u64,
}

impl Sample {
    fn load(name: &'static str, file_name: &str) -> Result<Sample> {
        let image = read_fixture(&format!("redo/{file_name}"))?;
        let file = LogFile::parse(&image, image.len() as u64)
            .with_context(|| format!("{file_name}: header"))?;
        let start = file.checkpoint.checkpoint_lsn;
        let mut sample = Sample {
            name,
            image,
            file,
            start,
            log_bytes: 0,
            n_mtrs: 0,
            n_records: 0,
        };
        let full = sample.decode(true)?;
        let frames = sample.decode(false)?;
        if (full.mtrs, full.end) != (frames.mtrs, frames.end) || full.mtrs == 0 {
            bail!("{file_name}: frame-only pass {frames:?} disagrees with full decode {full:?}");
        }
        sample.log_bytes = full.end - start.0;
        sample.n_mtrs = full.mtrs;
        sample.n_records = full.records;
        Ok(sample)
    }

    /// Decodes the whole log from the checkpoint; `records` also decodes payloads.
    fn decode(&self, records: bool) -> Result<Totals> {
        let geometry = self.file.geometry;
        let format =
            MtrFormat::for_log(&self.file).with_limit(self.start.checked_add(geometry.capacity()));
        let mut decoder = Decoder::new(format, self.start).context("decoder")?;
        let mut totals = Totals::default();
        let segments = geometry
            .segments(&self.image, self.start)
            .context("log segments")?;
        'pieces: for piece in segments {
            let mut input = decoder.input(piece);
            loop {
                let step = if records {
                    match input.next_mtr() {
                        Step::Mtr(mtr) => {
                            totals.records += mtr.records().count() as u64;
                            Step::Mtr(())
                        }
                        Step::NeedMore { at_least } => Step::NeedMore { at_least },
                        Step::EndOfLog(e) => Step::EndOfLog(e),
                        Step::Error(e) => Step::Error(e),
                    }
                } else {
                    match input.next_frame() {
                        Step::Mtr(frame) => {
                            black_box(frame.crc());
                            Step::Mtr(())
                        }
                        Step::NeedMore { at_least } => Step::NeedMore { at_least },
                        Step::EndOfLog(e) => Step::EndOfLog(e),
                        Step::Error(e) => Step::Error(e),
                    }
                };
                match step {
                    Step::Mtr(()) => totals.mtrs += 1,
                    Step::NeedMore { .. } => continue 'pieces,
                    Step::EndOfLog(end) => {
                        totals.end = end.lsn().0;
                        break 'pieces;
                    }
                    Step::Error(e) => bail!("{}: decode error: {e}", self.name),
                }
            }
        }
        Ok(totals)
    }
}

fn redo_parse(c: &mut Criterion) {
    let samples = [
        ("backup4k", "backup4k.ib_logfile0.gz"),
        ("live16k_wrap", "live16k_wrap.ib_logfile0.gz"),
        ("crash16k", "crash16k.ib_logfile0.gz"),
    ]
    .into_iter()
    .map(|(name, file)| Sample::load(name, file))
    .collect::<Result<Vec<_>>>();
    let samples = match samples {
        Ok(s) => s,
        // criterion's harness has no error channel; fail loudly with the reason.
        Err(e) => panic!("redo_parse inputs: {e:#}"),
    };
    let mut group = c.benchmark_group("redo_parse");
    for sample in &samples {
        eprintln!(
            "redo_parse {}: {} bytes of log, {} mtrs, {} records",
            sample.name, sample.log_bytes, sample.n_mtrs, sample.n_records
        );
        group.throughput(Throughput::Bytes(sample.log_bytes));
        group.bench_function(format!("frames/{}", sample.name), |b| {
            b.iter(|| black_box(sample.decode(false).map(|t| t.mtrs).unwrap_or(0)))
        });
        group.bench_function(format!("records/{}", sample.name), |b| {
            b.iter(|| black_box(sample.decode(true).map(|t| t.records).unwrap_or(0)))
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3));
    targets = redo_parse
}
criterion_main!(benches);
