//! The live server's `ib_logfile0`, read with `pread` only (house rule 4): its header and
//! checkpoints, which file the path names now, and byte ranges by LSN across the wrap.

use std::fs::File;
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::{Path, PathBuf};

use innodb::redo::{LogFile, START_OFFSET};
use innodb::Lsn;

use crate::TailError;

/// Identity of a file: device, inode and size.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Identity {
    dev: u64,
    ino: u64,
    pub(crate) size: u64,
}

impl Identity {
    fn of(meta: &std::fs::Metadata) -> Identity {
        Identity {
            dev: meta.dev(),
            ino: meta.ino(),
            size: meta.len(),
        }
    }
}

/// An open live log.
pub(crate) struct LiveLog {
    path: PathBuf,
    file: File,
    pub(crate) identity: Identity,
    /// The header as parsed when the file was opened (geometry, format).
    pub(crate) log: LogFile,
}

impl LiveLog {
    /// Opens `path` read-only (never locked) and parses its header.
    pub(crate) fn open(path: &Path) -> Result<LiveLog, TailError> {
        let file = File::open(path).map_err(|e| TailError::io("opening", path, e))?;
        let meta = file
            .metadata()
            .map_err(|e| TailError::io("examining", path, e))?;
        let identity = Identity::of(&meta);
        let log = read_header(&file, path, identity.size)?;
        Ok(LiveLog {
            path: path.to_path_buf(),
            file,
            identity,
            log,
        })
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Re-reads the header and checkpoint blocks of the open file.
    pub(crate) fn reread_header(&self) -> Result<LogFile, TailError> {
        read_header(&self.file, &self.path, self.identity.size)
    }

    /// What the path names now: `None` if it is still the open file, unchanged in size.
    pub(crate) fn replaced(&self) -> Result<Option<Identity>, TailError> {
        let now =
            std::fs::metadata(&self.path).map_err(|e| TailError::io("examining", &self.path, e))?;
        let now = Identity::of(&now);
        Ok((now != self.identity).then_some(now))
    }

    /// Reads `buf.len()` bytes (at most one capacity) starting at LSN `lsn`, across the
    /// wrap. The bytes are only meaningful if the server has not overwritten them; the
    /// caller checks that (§8).
    pub(crate) fn read_lsn(&self, lsn: Lsn, buf: &mut [u8]) -> Result<(), TailError> {
        let geometry = self.log.geometry;
        let ranges = geometry
            .file_ranges(lsn, buf.len() as u64)
            .map_err(|source| self.log_error(source))?;
        let mut done = 0usize;
        for (offset, len) in ranges {
            let len = len as usize;
            if len == 0 {
                continue;
            }
            let Some(dst) = buf.get_mut(done..done + len) else {
                break;
            };
            read_fresh(&self.file, dst, offset)
                .map_err(|e| TailError::io("reading", &self.path, e))?;
            done += len;
        }
        Ok(())
    }

    pub(crate) fn log_error(&self, source: innodb::redo::RedoError) -> TailError {
        TailError::Log {
            path: self.path.clone(),
            source,
        }
    }

    /// The LSN at or below `lsn` whose file offset starts a 4096-byte block of the
    /// circular area (reads are block-aligned, as the server writes whole blocks), but
    /// not below the file's first LSN.
    pub(crate) fn block_start(&self, lsn: Lsn) -> Lsn {
        let geometry = self.log.geometry;
        let in_block = geometry
            .offset(lsn)
            .map(|off| (off - START_OFFSET) % BLOCK)
            .unwrap_or(0);
        let above_first = lsn.0.saturating_sub(geometry.first_lsn().0);
        Lsn(lsn.0 - in_block.min(above_first))
    }
}

/// `pread` that never returns stale cached bytes.
///
/// The server writes `ib_logfile0` with O_DIRECT by default ("File system buffers for log
/// disabled"). A buffered read that races with such a write can leave the *old* bytes in the
/// page cache, and every later buffered read returns them: seen as a CRC mismatch that never
/// went away while the server moved on. Dropping the (clean) cached pages of the range first
/// makes each read go to the file; pages of a log written through the cache are dirty and
/// are not dropped, so they stay correct too.
fn read_fresh(file: &File, buf: &mut [u8], offset: u64) -> std::io::Result<()> {
    use std::os::fd::AsRawFd;
    // SAFETY: posix_fadvise only reads its integer arguments; the descriptor is open.
    unsafe {
        libc::posix_fadvise(
            file.as_raw_fd(),
            offset as libc::off_t,
            buf.len() as libc::off_t,
            libc::POSIX_FADV_DONTNEED,
        );
    }
    file.read_exact_at(buf, offset)
}

/// Read granularity of the live log.
pub(crate) const BLOCK: u64 = 4096;

/// Reads and parses the first 12288 bytes of `file` (of `size` bytes).
pub(crate) fn read_header(file: &File, path: &Path, size: u64) -> Result<LogFile, TailError> {
    let mut prefix = vec![0u8; START_OFFSET as usize];
    read_fresh(file, &mut prefix, 0)
        .map_err(|e| TailError::io("reading the header of", path, e))?;
    LogFile::parse(&prefix, size).map_err(|source| TailError::Log {
        path: path.to_path_buf(),
        source,
    })
}

/// Opens `path` and reads its latest checkpoint (for `to_lsn` at BLOCK_COMMIT).
pub(crate) fn latest_checkpoint(path: &Path) -> Result<innodb::redo::Checkpoint, TailError> {
    let file = File::open(path).map_err(|e| TailError::io("opening", path, e))?;
    let size = file
        .metadata()
        .map_err(|e| TailError::io("examining", path, e))?
        .len();
    Ok(read_header(&file, path, size)?.checkpoint)
}
