//! The Aria log files: `aria_log_control` and the `aria_log.N` copied at `BACKUP STAGE
//! START`, and the logs copied again under `BLOCK_COMMIT` until two reads agree, compared
//! chunk by chunk against the previous read on disk so that memory stays bounded.

use std::collections::BTreeSet;
use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::path::PathBuf;
use std::time::Duration;

use super::discover::Inventory;
use super::{copy_open_file, Failure};
use crate::log::Log;

/// Bytes compared (and held in memory, twice) at a time by the re-read.
const CHUNK: usize = 1 << 20;
/// Pause between two reads of the whole log.
const PAUSE: Duration = Duration::from_millis(20);
/// Reads of the whole log at most (~5 s with the pause); then the last read is kept.
const MAX_READS: u32 = 250;

/// First call (`first`): copies `aria_log_control` and the Aria logs and returns the names
/// copied. Final call (under BLOCK_COMMIT): copies every Aria log again, whole and stable
/// (see [`copy_until_stable`]), over the first copy or as a new file; the control file is
/// never copied again (its checkpoint must stay older than every Aria table copy).
pub fn copy_aria_logs(
    inventory: &Inventory,
    target: &std::path::Path,
    log: &Log,
    first: bool,
    copied_first: &BTreeSet<PathBuf>,
) -> Result<BTreeSet<PathBuf>, Failure> {
    let mut copied_now = BTreeSet::new();
    for f in &inventory.aria_logs {
        let is_control = f.dest.as_os_str() == "aria_log_control";
        if is_control && !first {
            continue;
        }
        let file = match File::open(&f.source) {
            Ok(file) => file,
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => return Err(Failure::io(&f.source, e)),
        };
        let dest = target.join(&f.dest);
        let copied = if first {
            copy_open_file(&file, &f.source, &dest, 0, true)?
        } else {
            // The Aria log is written in place inside space the server has already
            // extended, so the file size says nothing about where the log ends: copy it
            // whole again. Its last page is rewritten as it fills, and statements running
            // when commits were blocked may still append: read until two reads agree, so a
            // page caught mid-write (which Aria recovery would take as the end of the log)
            // is never what the backup keeps.
            let out = if copied_first.contains(&f.dest) {
                std::fs::OpenOptions::new()
                    .read(true)
                    .write(true)
                    .open(&dest)
            } else {
                page_copier::create_exclusive(&dest).and_then(|_| {
                    std::fs::OpenOptions::new()
                        .read(true)
                        .write(true)
                        .open(&dest)
                })
            }
            .map_err(|e| Failure::io(&dest, e))?;
            copy_until_stable(&file, &out, CHUNK, MAX_READS, PAUSE).map_err(|e| match e {
                Side::Source(e) => Failure::io(&f.source, e),
                Side::Dest(e) => Failure::io(&dest, e),
            })?
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
    /// Reading or writing the copy.
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

/// Makes `dest` a copy of `source` that two consecutive reads of `source` (`pause` apart)
/// agree on: each read of the whole source is compared chunk by chunk with the previous
/// read, which is what `dest` holds, and every differing chunk is written over it. Ends
/// after the first read without a difference, or after `max_reads` (the last read is kept:
/// the server keeps writing, and the copy is as good as mariadb-backup's). Memory: two
/// chunks. Returns the length copied.
pub fn copy_until_stable(
    source: &impl ReadAt,
    dest: &File,
    chunk: usize,
    max_reads: u32,
    pause: Duration,
) -> Result<u64, Side> {
    let mut new = vec![0u8; chunk];
    let mut old = vec![0u8; chunk];
    // The previous read's length; the first read compares with whatever dest holds (an
    // earlier copy): a difference only means one more read.
    let mut previous_len = dest.metadata().map_err(Side::Dest)?.len();
    for read in 0..max_reads.max(1) {
        if read > 0 {
            std::thread::sleep(pause);
        }
        let len = source.len().map_err(Side::Source)?;
        let mut same = len == previous_len;
        let mut offset = 0u64;
        while offset < len {
            let want = chunk.min((len - offset) as usize);
            let n = read_full(source, &mut new[..want], offset).map_err(Side::Source)?;
            if n == 0 {
                break;
            }
            let had = read_full(dest, &mut old[..n], offset).map_err(Side::Dest)?;
            if had != n || old[..n] != new[..n] {
                same = false;
                dest.write_all_at(&new[..n], offset).map_err(Side::Dest)?;
            }
            offset += n as u64;
        }
        if offset != previous_len {
            same = false;
            dest.set_len(offset).map_err(Side::Dest)?;
        }
        previous_len = offset;
        if same {
            break;
        }
    }
    Ok(previous_len)
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

    fn dest_with(content: &[u8]) -> (File, PathBuf) {
        use std::sync::atomic::{AtomicU32, Ordering};
        static N: AtomicU32 = AtomicU32::new(0);
        let path = std::env::temp_dir().join(format!(
            "hb-aria-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::write(&path, content).unwrap();
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(&path)
            .unwrap();
        (file, path)
    }

    #[test]
    fn copies_until_two_reads_agree() {
        // (versions read one after the other, what dest held, max reads, expected copy,
        //  expected number of whole reads)
        type Case<'a> = (&'a [&'a [u8]], &'a [u8], u32, &'a [u8], usize);
        let cases: &[Case] = &[
            // Stable from the start and already copied: one read.
            (&[b"abcdefgh"], b"abcdefgh", 10, b"abcdefgh", 1),
            // Stable, dest empty (a new file): two reads.
            (&[b"abcdefgh"], b"", 10, b"abcdefgh", 2),
            // The last page is rewritten since the first copy, then once more.
            (&[b"abcdefXX", b"abcdefXY"], b"abcdefgh", 10, b"abcdefXY", 3),
            // Grows, then stable.
            (&[b"abc", b"abcdefgh"], b"ab", 10, b"abcdefgh", 3),
            // Shrinks: the copy is cut to the new length.
            (&[b"abcdefgh!", b"abc"], b"abcdefgh", 10, b"abc", 3),
            // Never stable: the last read is kept.
            (&[b"1111", b"2222", b"3333", b"4444"], b"", 3, b"3333", 3),
        ];
        for (versions, held, max_reads, expected, reads) in cases {
            let source = Changing::new(versions);
            let (dest, path) = dest_with(held);
            let len = copy_until_stable(&source, &dest, 3, *max_reads, Duration::ZERO).unwrap();
            let got = std::fs::read(&path).unwrap();
            std::fs::remove_file(&path).unwrap();
            assert_eq!(got, *expected, "{versions:?}");
            assert_eq!(len, expected.len() as u64, "{versions:?}");
            assert_eq!(*source.lens_asked.borrow(), *reads, "{versions:?}");
        }
    }
}
