//! Shared helpers of the redo integration tests: locating and unpacking the samples,
//! and decoding a whole `ib_logfile0` image into a summary comparable with
//! `redo_dump.py --json-summary`.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::io::Read;
use std::path::PathBuf;

use innodb::redo::{Decoder, EndOfLog, LogFile, MtrFormat, RecordKind, Step, START_OFFSET};
use innodb::Lsn;

/// `testdata/redo`, or a clear failure naming where it was looked for.
pub fn sample_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata/redo");
    assert!(
        dir.join("README.md").is_file(),
        "redo samples missing: expected them in {} (the repository's testdata/redo)",
        dir.display()
    );
    dir
}

/// The bytes of a sample, gunzipped if its name ends in `.gz`.
pub fn read_sample(name: &str) -> Vec<u8> {
    let path = sample_dir().join(name);
    let raw = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    if name.ends_with(".gz") || name.ends_with(".tgz") {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(&raw[..])
            .read_to_end(&mut out)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        out
    } else {
        raw
    }
}

/// The member of a (gunzipped) ustar archive whose name is `wanted` or ends in
/// `/wanted`.
pub fn tar_member(tar: &[u8], wanted: &str) -> Option<Vec<u8>> {
    let mut at = 0;
    while at + 512 <= tar.len() {
        let hdr = &tar[at..at + 512];
        if hdr.iter().all(|&b| b == 0) {
            return None;
        }
        let field = |r: std::ops::Range<usize>| {
            let f = &hdr[r];
            let end = f.iter().position(|&b| b == 0).unwrap_or(f.len());
            String::from_utf8_lossy(&f[..end]).into_owned()
        };
        let mut name = field(0..100);
        let prefix = field(345..500);
        if !prefix.is_empty() {
            name = format!("{prefix}/{name}");
        }
        let size = u64::from_str_radix(field(124..136).trim(), 8).ok()? as usize;
        let data = at + 512;
        if name == wanted || name.ends_with(&format!("/{wanted}")) {
            return tar.get(data..data + size).map(<[u8]>::to_vec);
        }
        at = data + size.div_ceil(512) * 512;
    }
    None
}

/// What decoding a whole log from its checkpoint gives.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Summary {
    pub mtrs: usize,
    pub records: usize,
    pub counts: BTreeMap<&'static str, usize>,
    /// Where parsing stopped and why.
    pub end: Option<EndOfLog>,
    /// Mtrs whose bytes continue at START_OFFSET.
    pub wrapped: usize,
    /// (start LSN of the mtr, checkpoint LSN) of every FILE_CHECKPOINT.
    pub file_checkpoints: Vec<(u64, u64)>,
    /// (start, end, records) of every mtr.
    pub mtr_list: Vec<(u64, u64, usize)>,
}

/// Decodes `image` (a whole `ib_logfile0`) from `start` with the streaming decoder,
/// feeding it the two circular segments so that an mtr across the wrap is assembled.
pub fn decode_image(image: &[u8], start: Lsn) -> (LogFile, Summary) {
    let file = LogFile::parse(image, image.len() as u64).expect("header");
    let format = MtrFormat::for_log(&file).with_limit(start.checked_add(file.geometry.capacity()));
    let mut dec = Decoder::new(format, start).expect("decoder");
    let mut sum = Summary::default();
    let segments = file.geometry.segments(image, start).expect("segments");
    'pieces: for piece in segments {
        let mut input = dec.input(piece);
        loop {
            match input.next_mtr() {
                Step::Mtr(m) => {
                    sum.mtrs += 1;
                    let off = file.geometry.offset(m.start_lsn()).unwrap();
                    if off + m.len() as u64 > file.geometry.file_size() {
                        sum.wrapped += 1;
                    }
                    for r in m.records() {
                        sum.records += 1;
                        *sum.counts.entry(r.kind().name()).or_default() += 1;
                        if let innodb::redo::Record::FileCheckpoint { lsn } = r {
                            sum.file_checkpoints.push((m.start_lsn().0, lsn.0));
                        }
                    }
                    sum.mtr_list
                        .push((m.start_lsn().0, m.end_lsn().0, m.n_records()));
                }
                Step::NeedMore { .. } => continue 'pieces,
                Step::EndOfLog(e) => {
                    sum.end = Some(e);
                    break 'pieces;
                }
                Step::Error(e) => panic!("decode error: {e}"),
            }
        }
    }
    assert!(START_OFFSET < image.len() as u64);
    (file, sum)
}

/// Expected per-kind counts as `(name, count)`.
pub fn counts(list: &[(&'static str, usize)]) -> BTreeMap<&'static str, usize> {
    let mut m = BTreeMap::new();
    for &(k, v) in list {
        assert!(
            RecordKind::ALL.iter().any(|r| r.name() == k),
            "unknown kind {k}"
        );
        m.insert(k, v);
    }
    m
}
