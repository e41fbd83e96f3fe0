//! Reading a one-file qpress archive back: [`decompress`] streams it. Everything read is
//! checked; an error names the archive byte offset.

use std::io::{self, ErrorKind, Read, Write};

use crate::{adler::adler32, quicklz, ARCHIVE_MAGIC, BLOCK_MAGIC, END_MAGIC};

/// Longest file name accepted in a file entry (mariadb-backup's are at most 512 bytes).
pub const MAX_NAME_LEN: u32 = 4096;

/// Why an archive could not be decompressed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The archive's bytes are wrong; `offset` is where, in the archive.
    #[error("{what} at byte {offset}")]
    Corrupt { offset: u64, what: String },
    /// Reading the archive failed.
    #[error("read failed: {0}")]
    Read(io::Error),
    /// Writing the decompressed data failed.
    #[error("write failed: {0}")]
    Write(io::Error),
}

/// What a decompressed archive held.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    /// The file name stored in the archive.
    pub name: Vec<u8>,
    /// Decompressed bytes written.
    pub bytes: u64,
    /// Blocks read.
    pub blocks: u64,
}

/// A reader that knows its offset and turns a short read into a [`Error::Corrupt`].
struct Counted<R> {
    inner: R,
    offset: u64,
}

impl<R: Read> Counted<R> {
    fn exact(&mut self, buf: &mut [u8], what: &str) -> Result<(), Error> {
        let start = self.offset;
        let mut got = 0;
        while got < buf.len() {
            match self.inner.read(&mut buf[got..]) {
                Ok(0) => {
                    return Err(corrupt(
                        start,
                        format!("archive ends inside {what} (truncated after {got} bytes)"),
                    ))
                }
                Ok(n) => got += n,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Err(Error::Read(e)),
            }
        }
        self.offset += buf.len() as u64;
        Ok(())
    }

    fn u32(&mut self, what: &str) -> Result<u32, Error> {
        let mut b = [0; 4];
        self.exact(&mut b, what)?;
        Ok(u32::from_le_bytes(b))
    }

    fn u64(&mut self, what: &str) -> Result<u64, Error> {
        let mut b = [0; 8];
        self.exact(&mut b, what)?;
        Ok(u64::from_le_bytes(b))
    }

    /// Appends up to `n` bytes to `buf` (fewer only at end of input); memory grows only with
    /// bytes actually read.
    fn up_to(&mut self, n: u64, buf: &mut Vec<u8>) -> Result<usize, Error> {
        let got = (&mut self.inner)
            .take(n)
            .read_to_end(buf)
            .map_err(Error::Read)?;
        self.offset += got as u64;
        Ok(got)
    }
}

fn corrupt(offset: u64, what: impl Into<String>) -> Error {
    Error::Corrupt {
        offset,
        what: what.into(),
    }
}

/// Decompresses the one-file qpress archive read from `input` into `output`.
///
/// Accepted: the archives mariadb-backup's `--compress` and [`crate::Compressor`] write: the
/// `qpress10` header, one `F` file entry, `NEWBNEWB` blocks whose recorded offset is the
/// file position of their data, whose Adler-32 matches and whose size is at most the chunk
/// size, the `ENDSENDS` trailer, then the end of input. Anything else is
/// [`Error::Corrupt`]. Memory stays within a few times the largest block actually present.
pub fn decompress<R: Read, W: Write>(input: R, output: &mut W) -> Result<Summary, Error> {
    let mut r = Counted {
        inner: input,
        offset: 0,
    };
    let mut magic = [0u8; 8];
    r.exact(&mut magic, "the archive header")?;
    if &magic != ARCHIVE_MAGIC {
        return Err(corrupt(0, "not a qpress archive (no \"qpress10\" header)"));
    }
    let chunk_size = r.u64("the archive header")?;
    if chunk_size == 0 {
        return Err(corrupt(8, "archive chunk size is 0"));
    }
    let limit = usize::try_from(chunk_size)
        .unwrap_or(usize::MAX)
        .min(quicklz::MAX_INPUT);

    let at = r.offset;
    let mut kind = [0u8; 1];
    r.exact(&mut kind, "the file entry")?;
    if kind[0] != b'F' {
        return Err(corrupt(
            at,
            format!(
                "expected a file entry ('F'), found {:#04x}: only one-file archives as \
                 mariadb-backup writes them are supported",
                kind[0]
            ),
        ));
    }
    let name_at = r.offset;
    let name_len = r.u32("the file entry")?;
    if name_len > MAX_NAME_LEN {
        return Err(corrupt(
            name_at,
            format!("file name length {name_len} is implausible"),
        ));
    }
    let mut name = vec![0u8; name_len as usize + 1];
    r.exact(&mut name, "the file name")?;
    if name.pop() != Some(0) || name.contains(&0) {
        return Err(corrupt(
            name_at + 4,
            "file name is not a NUL-terminated string",
        ));
    }

    let mut summary = Summary {
        name,
        bytes: 0,
        blocks: 0,
    };
    let mut block = Vec::new();
    let mut data = Vec::new();
    loop {
        let at = r.offset;
        r.exact(&mut magic, "a block or the end trailer")?;
        if &magic == END_MAGIC {
            r.u64("the end trailer")?;
            let end = r.offset;
            let mut extra = Vec::new();
            if r.up_to(1, &mut extra)? != 0 {
                return Err(corrupt(end, "data after the archive's end trailer"));
            }
            output.flush().map_err(Error::Write)?;
            return Ok(summary);
        }
        if &magic != BLOCK_MAGIC {
            return Err(corrupt(
                at,
                "expected a block (NEWBNEWB) or the end trailer (ENDSENDS)",
            ));
        }
        let recorded = r.u64("a block header")?;
        if recorded != summary.bytes {
            return Err(corrupt(
                at + 8,
                format!(
                    "block says its data starts at file byte {recorded}, the blocks before it \
                     hold {} bytes (a block is missing or out of order)",
                    summary.bytes
                ),
            ));
        }
        let checksum = r.u32("a block header")?;
        let block_at = r.offset;
        block.clear();
        let mut first = [0u8; 1];
        r.exact(&mut first, "a QuickLZ block header")?;
        block.push(first[0]);
        let header_len = quicklz::header_len(first[0]);
        r.up_to(header_len as u64 - 1, &mut block)?;
        let header = quicklz::parse_header(&block)
            .map_err(|e| corrupt(block_at, format!("bad block: {e}")))?;
        if header.compressed_len < header.header_len
            || header.compressed_len > header.original_len.min(limit) + quicklz::MAX_OVERHEAD
        {
            return Err(corrupt(
                block_at,
                format!(
                    "bad block: {} compressed bytes for {} (chunk size {chunk_size})",
                    header.compressed_len, header.original_len
                ),
            ));
        }
        let rest = (header.compressed_len - block.len()) as u64;
        if (r.up_to(rest, &mut block)? as u64) < rest {
            return Err(corrupt(block_at, "archive ends inside a block (truncated)"));
        }
        let actual = adler32(&block);
        if actual != checksum {
            return Err(corrupt(
                block_at,
                format!(
                    "block checksum mismatch (Adler-32 {actual:#010x}, recorded {checksum:#010x})"
                ),
            ));
        }
        quicklz::decompress(&block, &mut data, limit).map_err(|e| {
            let (delta, what) = match &e {
                quicklz::BlockError::Truncated { at }
                | quicklz::BlockError::BadMatch { at, .. } => (*at as u64, e.to_string()),
                _ => (0, e.to_string()),
            };
            corrupt(block_at + delta, format!("bad block: {what}"))
        })?;
        output.write_all(&data).map_err(Error::Write)?;
        summary.bytes += data.len() as u64;
        summary.blocks += 1;
    }
}
