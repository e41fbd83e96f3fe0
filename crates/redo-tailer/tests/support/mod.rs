//! Helpers shared by the tailer tests: samples, decoding a backup log end to end, and
//! the `redo_dump.py` oracle.
#![allow(dead_code)]

use std::io::Read;
use std::path::Path;
use std::process::Command;
use std::sync::{Arc, Mutex};

use innodb::redo::{Decoder, EndOfLog, LogFile, MtrFormat, Step, START_OFFSET};
use innodb::Lsn;
use redo_tailer::{FileOp, FileOpFn, ServerLsnFn};

pub use testkit::repo_dir;

/// A gunzipped sample of `testdata/redo`.
pub fn read_sample(name: &str) -> Vec<u8> {
    let path = repo_dir().join("testdata/redo").join(name);
    let raw = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(&raw[..])
        .read_to_end(&mut out)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    out
}

/// What decoding a backup log from its checkpoint to its end gives.
#[derive(Debug)]
pub struct Decoded {
    pub file: LogFile,
    pub mtrs: u64,
    pub records: u64,
    pub end: EndOfLog,
}

/// Decodes a whole backup log with every record checked; panics on anything but a
/// clean end exactly at the end of the file.
pub fn decode_backup_log(bytes: &[u8]) -> Decoded {
    let file = LogFile::parse(bytes, bytes.len() as u64).expect("backup log header");
    let c = file.checkpoint.checkpoint_lsn;
    assert_eq!(file.header.first_lsn, c, "first_lsn = checkpoint");
    assert!(file.header.is_backup(), "creator {}", file.header.creator());
    assert!(
        file.checkpoint_blocks[1].is_err(),
        "checkpoint block 2 must be zero"
    );
    let mut dec = Decoder::new(MtrFormat::for_log(&file), c).unwrap();
    let mut input = dec.input(&bytes[START_OFFSET as usize..]);
    let (mut mtrs, mut records) = (0u64, 0u64);
    let end = loop {
        match input.next_mtr() {
            Step::Mtr(m) => {
                mtrs += 1;
                records += m.n_records() as u64;
            }
            Step::EndOfLog(e) => break e,
            Step::NeedMore { .. } => panic!("backup log ends inside an mtr at {}", input.lsn()),
            Step::Error(e) => panic!("corrupt backup log: {e}"),
        }
    };
    let last = Lsn(c.0 + bytes.len() as u64 - START_OFFSET);
    assert_eq!(
        end,
        EndOfLog::CapacityReached { lsn: last },
        "end of the backup log"
    );
    Decoded {
        file,
        mtrs,
        records,
        end,
    }
}

/// Runs `redo_dump.py -q --json-summary` on the backup log `path`: asserts exit 0 and
/// that it parsed to the end of the file at `last_lsn` (a CRC failure would stop it
/// early: `redo_dump.py` treats that as a normal end of log). Returns the summary.
pub fn redo_dump_ok(path: &Path, last_lsn: Lsn) -> String {
    let tool = repo_dir().join("tools/redo_dump.py");
    let out = Command::new("python3")
        .arg(&tool)
        .arg("-q")
        .arg("--json-summary")
        .arg(path)
        .output()
        .expect("python3 runs");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "redo_dump.py {} failed: {}\n{stdout}\n{stderr}",
        path.display(),
        out.status
    );
    let summary = stdout.lines().last().unwrap_or("").to_string();
    assert!(
        summary.contains("\"stop\": null")
            && summary.contains(&format!("\"end_lsn\": {},", last_lsn.0)),
        "redo_dump.py did not parse to the end of the file (LSN {last_lsn}): {summary}"
    );
    summary
}

/// A server_lsn callback that never knows.
pub fn no_server_lsn() -> ServerLsnFn {
    Box::new(|| None)
}

/// A file-op callback that collects into the returned vector.
pub fn collect_ops() -> (FileOpFn, Arc<Mutex<Vec<FileOp>>>) {
    let ops = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&ops);
    (Box::new(move |op| sink.lock().unwrap().push(op)), ops)
}
