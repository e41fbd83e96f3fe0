//! The Aria log files: `aria_log_control` and the `aria_log.N` copied at `BACKUP STAGE
//! START`, and the logs copied again under `BLOCK_COMMIT` until two reads of the *source*
//! agree (each read compared chunk by chunk with the previous one through a hash per chunk,
//! so memory stays bounded and the copy is never read back).

use std::collections::BTreeSet;
use std::ffi::OsString;
use std::fs::File;
use std::hash::{Hash, Hasher};
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use server::Session;
use sink::{Sink, SinkFile};

use super::discover::Inventory;
use super::files::{copy_open_file, sink_failure};
use super::Failure;
use crate::log::Log;

/// Bytes compared (and held in memory) at a time by the re-read.
const CHUNK: usize = 1 << 20;
/// Pause between two reads of the whole log.
const PAUSE: Duration = Duration::from_millis(20);
/// Reads of the whole log at most (~5 s with the pause); then the last read is kept.
const MAX_READS: u32 = 250;

/// The Aria log files the server says recovery no longer needs (`SHOW ENGINE ARIA LOGS`:
/// status `free`, file names without directory). Asked just before `aria_log_control` is
/// copied: a file free for the server's checkpoint then is free for the control file's
/// checkpoint (the same or later), and stays free. With `aria_log_purge_type=external` the
/// server leaves such files for the DBA to delete; mariadb-backup copies them and its
/// `--prepare` (an Aria recovery and checkpoint) deletes them, so leaving them out gives
/// the same restored datadir. Without the privilege or without Aria, nothing is left out.
pub fn free_logs(session: &mut Session, log: &Log) -> BTreeSet<OsString> {
    match session.query_rows("SHOW ENGINE ARIA LOGS") {
        Ok(rows) => free_in(&rows),
        Err(e) => {
            log.info(&format!(
                "SHOW ENGINE ARIA LOGS failed ({e}): copying every Aria log file"
            ));
            BTreeSet::new()
        }
    }
}

/// The file names of the rows (Type, Name, Status) whose status is `free`; a Name is
/// `Size N ; PATH`.
fn free_in(rows: &[Vec<Option<String>>]) -> BTreeSet<OsString> {
    rows.iter()
        .filter(|row| row.get(2).and_then(|s| s.as_deref()) == Some("free"))
        .filter_map(|row| {
            let name = row.get(1)?.as_deref()?;
            let path = name.split_once(" ; ").map_or(name, |(_, p)| p);
            let file = Path::new(path).file_name()?;
            file.as_bytes()
                .starts_with(b"aria_log.")
                .then(|| file.to_os_string())
        })
        .collect()
}

/// First call (`first`): copies `aria_log_control` and the Aria logs but those in `free`, and
/// returns the names copied. Final call (under BLOCK_COMMIT): copies every Aria log again, whole and stable
/// (see [`copy_until_stable`]), replacing the first copy or as a new file; the control file
/// is never copied again (its checkpoint must stay older than every Aria table copy).
pub fn copy_aria_logs(
    inventory: &Inventory,
    sink: &dyn Sink,
    log: &Log,
    first: bool,
    copied_first: &BTreeSet<PathBuf>,
    free: &BTreeSet<OsString>,
) -> Result<BTreeSet<PathBuf>, Failure> {
    let mut copied_now = BTreeSet::new();
    for f in &inventory.aria_logs {
        let is_control = f.dest.as_os_str() == "aria_log_control";
        if is_control && !first {
            continue;
        }
        if f.dest.file_name().is_some_and(|n| free.contains(n)) {
            if first {
                log.info(&format!(
                    "Not copying Aria log {}: the server says recovery no longer needs it",
                    f.source.display()
                ));
            }
            continue;
        }
        let file = match File::open(&f.source) {
            Ok(file) => file,
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => return Err(Failure::io(&f.source, e)),
        };
        let fail = |e| sink_failure(sink, &f.dest, e);
        let copied = if first {
            let out = sink.create(&f.dest).map_err(fail)?;
            copy_open_file(&file, &f.source, out, sink, &f.dest)?
        } else {
            // The Aria log is written in place inside space the server has already
            // extended, so the file size says nothing about where the log ends: copy it
            // whole again. Its last page is rewritten as it fills, and statements running
            // when commits were blocked may still append: read until two reads agree, so a
            // page caught mid-write (which Aria recovery would take as the end of the log)
            // is never what the backup keeps.
            // Created once; every later start (a first copy, or a copy started again)
            // replaces what was sent.
            let mut started = copied_first.contains(&f.dest);
            let open = || {
                if std::mem::replace(&mut started, true) {
                    sink.recreate(&f.dest)
                } else {
                    sink.create(&f.dest)
                }
            };
            let (out, len) =
                copy_until_stable(&file, open, sink.can_rewrite(), CHUNK, MAX_READS, PAUSE)
                    .map_err(|e| match e {
                        Side::Source(e) => Failure::io(&f.source, e),
                        Side::Dest(e) => fail(e),
                    })?;
            out.close().map_err(fail)?;
            len
        };
        if !is_control {
            log.info(&format!(
                "Copied Aria log {}: {copied} bytes",
                f.source.display()
            ));
        }
        copied_now.insert(f.dest.clone());
    }
    Ok(copied_now)
}

/// Which file an I/O error came from.
#[derive(Debug)]
pub enum Side {
    /// Reading the live file.
    Source(io::Error),
    /// Writing the copy.
    Dest(io::Error),
}

/// What [`copy_until_stable`] reads: a file, or a fake one in tests.
pub trait ReadAt {
    /// The current length.
    fn len(&self) -> io::Result<u64>;
    /// `pread`.
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize>;
}

impl ReadAt for File {
    fn len(&self) -> io::Result<u64> {
        Ok(self.metadata()?.len())
    }
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        FileExt::read_at(self, buf, offset)
    }
}

/// A chunk's fingerprint: two reads with equal fingerprints read the same bytes (64-bit
/// SipHash of the length and content).
fn fingerprint(data: &[u8]) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    data.hash(&mut h);
    h.finish()
}

/// Copies `source` into the file `open` starts, until two consecutive reads of `source`
/// (`pause` apart) agree: each read of the whole source is compared chunk by chunk with the
/// previous read (by [`fingerprint`]), and every differing chunk is written over the copy
/// (a stream gets it as a rewrite). Without `rewrite` (a compressed copy cannot be patched),
/// a chunk differing inside what was written starts the copy again from empty, and that read
/// is copied whole. A source that shrank is copied into a file started again. Ends after the
/// first read without a difference, or after `max_reads` (the last read is kept: the server
/// keeps writing, and the copy is as good as mariadb-backup's).
/// Memory: one chunk and 8 bytes per chunk. Returns the (unclosed) copy and its length.
pub fn copy_until_stable<F>(
    source: &impl ReadAt,
    mut open: F,
    rewrite: bool,
    chunk: usize,
    max_reads: u32,
    pause: Duration,
) -> Result<(Box<dyn SinkFile>, u64), Side>
where
    F: FnMut() -> io::Result<Box<dyn SinkFile>>,
{
    let mut buf = vec![0u8; chunk];
    let mut dest = open().map_err(Side::Dest)?;
    let mut seen: Vec<u64> = Vec::new();
    let mut previous_len = 0u64;
    for read in 0..max_reads.max(1) {
        if read > 0 {
            std::thread::sleep(pause);
        }
        let len = source.len().map_err(Side::Source)?;
        if len < dest.len() {
            // No truncation in a stream: start the file again.
            dest = start_again(dest, &mut open).map_err(Side::Dest)?;
            seen.clear();
        }
        let mut same = read > 0 && len == previous_len;
        let mut offset = 0u64;
        let mut index = 0;
        while offset < len {
            let want = chunk.min((len - offset) as usize);
            let n = read_full(source, &mut buf[..want], offset).map_err(Side::Source)?;
            if n == 0 {
                break;
            }
            let print = fingerprint(&buf[..n]);
            if seen.get(index) != Some(&print) {
                same = false;
                if offset < dest.len() && !rewrite {
                    // Cannot patch: start again, and copy this whole read from its start.
                    dest = start_again(dest, &mut open).map_err(Side::Dest)?;
                    seen.clear();
                    offset = 0;
                    index = 0;
                    continue;
                } else if offset < dest.len() {
                    dest.write_at(offset, &buf[..n]).map_err(Side::Dest)?;
                } else {
                    dest.write_all(&buf[..n]).map_err(Side::Dest)?;
                }
                match seen.get_mut(index) {
                    Some(slot) => *slot = print,
                    None => seen.push(print),
                }
            }
            offset += n as u64;
            index += 1;
        }
        if offset != previous_len {
            same = false;
        }
        seen.truncate(index);
        previous_len = offset;
        if same {
            break;
        }
    }
    Ok((dest, previous_len))
}

/// Ends `dest`, then starts the file again with `open`. A stream extractor (`mbstream -x`)
/// only accepts a file sent again after the end chunk of its first sending.
fn start_again<F>(dest: Box<dyn SinkFile>, open: &mut F) -> io::Result<Box<dyn SinkFile>>
where
    F: FnMut() -> io::Result<Box<dyn SinkFile>>,
{
    dest.close()?;
    open()
}

/// Reads until `buf` is full or the end of the file; returns the bytes read.
fn read_full(file: &impl ReadAt, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    let mut done = 0;
    while done < buf.len() {
        match file.read_at(&mut buf[done..], offset + done as u64)? {
            0 => break,
            n => done += n,
        }
    }
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;

    #[test]
    fn free_logs_are_the_rows_the_server_calls_free() {
        let row = |name: &str, status: &str| {
            vec![
                Some("Aria".to_string()),
                Some(name.to_string()),
                Some(status.to_string()),
            ]
        };
        let rows = [
            row("Size   8388608 ; /var/lib/mysql/aria_log.00000001", "free"),
            row("Size   8388608 ; /logs/aria/aria_log.00000002", "free"),
            row(
                "Size   2531328 ; /var/lib/mysql/aria_log.00000003",
                "in use",
            ),
            row("Size 0 ; /var/lib/mysql/aria_log.00000004", "unknown"),
            row("/var/lib/mysql/aria_log.00000005", "error"),
            row("Size 1 ; /var/lib/mysql/ibdata1", "free"),
            vec![Some("Aria".to_string()), None, Some("free".to_string())],
            vec![],
        ];
        let free: Vec<_> = free_in(&rows).into_iter().collect();
        assert_eq!(free, ["aria_log.00000001", "aria_log.00000002"]);
    }

    /// A source whose content is the next of `versions` at every read of its length (one
    /// whole read), then stays at the last.
    struct Changing {
        versions: Vec<Vec<u8>>,
        now: RefCell<usize>,
        lens_asked: RefCell<usize>,
    }

    impl Changing {
        fn new(versions: &[&[u8]]) -> Changing {
            Changing {
                versions: versions.iter().map(|v| v.to_vec()).collect(),
                now: RefCell::new(0),
                lens_asked: RefCell::new(0),
            }
        }
        fn current(&self) -> &[u8] {
            &self.versions[(*self.now.borrow()).min(self.versions.len() - 1)]
        }
    }

    impl ReadAt for Changing {
        fn len(&self) -> io::Result<u64> {
            let mut asked = self.lens_asked.borrow_mut();
            *self.now.borrow_mut() = *asked;
            *asked += 1;
            Ok(self.current().len() as u64)
        }
        fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
            let data = self.current();
            let from = (offset as usize).min(data.len());
            let n = buf.len().min(data.len() - from);
            buf[..n].copy_from_slice(&data[from..from + n]);
            Ok(n)
        }
    }

    #[test]
    fn copies_until_two_reads_agree() {
        // (versions read one after the other, max reads, expected copy, expected number of
        //  whole reads)
        type Case<'a> = (&'a [&'a [u8]], u32, &'a [u8], usize);
        let cases: &[Case] = &[
            // Stable from the start: two reads.
            (&[b"abcdefgh"], 10, b"abcdefgh", 2),
            // The last page is rewritten once after the first read.
            (&[b"abcdefXX", b"abcdefXY"], 10, b"abcdefXY", 3),
            // A middle chunk changes, then stable.
            (&[b"abcdefgh", b"abXdefgh"], 10, b"abXdefgh", 3),
            // Grows, then stable.
            (&[b"abc", b"abcdefgh"], 10, b"abcdefgh", 3),
            // Shrinks: the copy is started again at the new length.
            (&[b"abcdefgh!", b"abc"], 10, b"abc", 3),
            // Never stable: the last read is kept.
            (&[b"1111", b"2222", b"3333", b"4444"], 3, b"3333", 3),
        ];
        let root = std::env::temp_dir().join(format!("hb-aria-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(&root).unwrap();
        let plain = sink::DirSink::new(&root);
        // A compressed copy cannot be patched: it is started again instead.
        let compressed = sink::CompressSink::new(
            Box::new(sink::DirSink::new(&root)),
            sink::Codec::Quicklz,
            1024,
            1,
        )
        .unwrap();
        for (versions, max_reads, expected, reads) in cases {
            for sink in [&plain as &dyn Sink, &compressed] {
                let source = Changing::new(versions);
                let rel = Path::new("aria_log.00000001");
                let (out, len) = copy_until_stable(
                    &source,
                    || sink.recreate(rel),
                    sink.can_rewrite(),
                    3,
                    *max_reads,
                    Duration::ZERO,
                )
                .unwrap();
                out.close().unwrap();
                let got = if sink.can_rewrite() {
                    std::fs::read(root.join(rel)).unwrap()
                } else {
                    let archive = std::fs::read(root.join("aria_log.00000001.qp")).unwrap();
                    let mut got = Vec::new();
                    qpress::decompress(&archive[..], &mut got).unwrap();
                    got
                };
                assert_eq!(got, *expected, "{versions:?}");
                assert_eq!(len, expected.len() as u64, "{versions:?}");
                assert_eq!(*source.lens_asked.borrow(), *reads, "{versions:?}");
            }
        }
        std::fs::remove_dir_all(&root).unwrap();
    }

    /// Through a stream, plain and compressed: what the extractor (which checks offsets as
    /// `mbstream -x` does) writes is the stable read, whenever the copy was started again.
    #[test]
    fn copies_started_again_extract_from_a_stream() {
        // Larger than a stream chunk (1 MiB), so that the first sending has left chunks in
        // the stream before it is started again; incompressible, for the compressed copy too.
        let mut x = 1u32;
        let big: Vec<u8> = (0..3 << 20)
            .map(|_| {
                x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
                (x >> 16) as u8
            })
            .collect();
        let mut big_changed = big.clone();
        big_changed[10] ^= 0xff;
        let cases: Vec<(Vec<&[u8]>, &[u8])> = vec![
            (vec![b"abcdefXX", b"abcdefXY"], b"abcdefXY"),
            (vec![b"abcdefgh", b"abXdefgh"], b"abXdefgh"),
            (vec![b"abcdefgh!", b"abc"], b"abc"),
            (vec![&big, &big_changed], &big_changed),
            (vec![&big, b"abc"], b"abc"),
        ];
        let root = std::env::temp_dir().join(format!("hb-aria-stream-{}", std::process::id()));
        for (i, (versions, expected)) in cases.iter().enumerate() {
            for compress in [false, true] {
                let out = Shared::default();
                let stream: Box<dyn Sink> = Box::new(sink::StreamSink::new(out.clone(), "test"));
                let sink: Box<dyn Sink> = if compress {
                    Box::new(
                        sink::CompressSink::new(stream, sink::Codec::Quicklz, 1024, 1).unwrap(),
                    )
                } else {
                    stream
                };
                let rel = Path::new("aria_log.00000001");
                let mut started = false;
                let open = || {
                    if std::mem::replace(&mut started, true) {
                        sink.recreate(rel)
                    } else {
                        sink.create(rel)
                    }
                };
                let source = Changing::new(versions);
                let chunk = 64 << 10;
                let (f, _) =
                    copy_until_stable(&source, open, sink.can_rewrite(), chunk, 10, Duration::ZERO)
                        .unwrap();
                f.close().unwrap();
                sink.sync().unwrap();
                let _ = std::fs::remove_dir_all(&root);
                std::fs::create_dir_all(&root).unwrap();
                let bytes = out.0.lock().unwrap().clone();
                let options = xbstream::extract::Options {
                    parallel: 1,
                    on_file: &|_| {},
                };
                xbstream::extract::extract(&bytes[..], &root, &options)
                    .unwrap_or_else(|e| panic!("case {i} compress {compress}: {e}"));
                let got = if compress {
                    let archive = std::fs::read(root.join("aria_log.00000001.qp")).unwrap();
                    let mut got = Vec::new();
                    qpress::decompress(&archive[..], &mut got).unwrap();
                    got
                } else {
                    std::fs::read(root.join(rel)).unwrap()
                };
                assert!(got == *expected, "case {i} compress {compress}");
            }
        }
        std::fs::remove_dir_all(&root).unwrap();
    }

    /// A writer the test reads back.
    #[derive(Clone, Default)]
    struct Shared(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);
    impl io::Write for Shared {
        fn write(&mut self, data: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(data);
            Ok(data.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }
}
