//! [`Compressor`]: a `Write` that turns one file's bytes into a one-file qpress archive.

use std::io::{self, Write};

use crate::chunked::Chunked;
use crate::{adler::adler32, quicklz, ARCHIVE_MAGIC, BLOCK_MAGIC, END_MAGIC};

/// Writes a qpress archive holding one file, as mariadb-backup's `--compress` does: the
/// archive header with the chunk size, the file entry with its name, one block per
/// `chunk_size` bytes written (the last one shorter), and the end trailer on
/// [`finish`](Compressor::finish). Bytes are buffered until a chunk is full, so the block
/// layout does not depend on how the caller splits its writes. With
/// [`threads`](Compressor::threads) > 1, that many chunks are compressed at once; the output
/// is the same for any thread count.
///
/// Dropping a `Compressor` without `finish` leaves an archive without its trailer, which
/// every reader refuses.
pub struct Compressor<W: Write> {
    chunks: Chunked<W>,
}

impl<W: Write> Compressor<W> {
    /// Starts an archive on `inner` for a file called `name` (stored as given; mariadb-backup
    /// stores the base name without the `.qp`). `chunk_size` is 1..=4 GiB - 401 bytes
    /// (mariadb-backup's `--compress-chunk-size`, 64 KiB by default).
    pub fn new(mut inner: W, name: &[u8], chunk_size: usize) -> io::Result<Self> {
        if chunk_size == 0 || chunk_size > quicklz::MAX_INPUT {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "qpress chunk size {chunk_size} is not in 1..={}",
                    quicklz::MAX_INPUT
                ),
            ));
        }
        if name.contains(&0) || u32::try_from(name.len()).is_err() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "a qpress file name cannot hold a NUL byte or exceed 4 GiB",
            ));
        }
        let mut header = Vec::with_capacity(30 + name.len());
        header.extend_from_slice(ARCHIVE_MAGIC);
        header.extend_from_slice(&(chunk_size as u64).to_le_bytes());
        header.push(b'F');
        header.extend_from_slice(&(name.len() as u32).to_le_bytes());
        header.extend_from_slice(name);
        header.push(0);
        inner.write_all(&header)?;
        Ok(Compressor {
            chunks: Chunked::new(inner, chunk_size, compress_block, write_block),
        })
    }

    /// Compresses up to `threads` chunks in parallel (mariadb-backup's `--compress-threads`).
    pub fn threads(self, threads: usize) -> Self {
        Compressor {
            chunks: self.chunks.threads(threads),
        }
    }

    /// Compresses what is left, writes the end trailer (whose "recovery" field is 0, as qpress
    /// and mariadb-backup write it), flushes, and returns the inner writer.
    pub fn finish(self) -> io::Result<W> {
        let mut inner = self.chunks.finish(false)?;
        let mut trailer = [0u8; 16];
        trailer[..8].copy_from_slice(END_MAGIC);
        inner.write_all(&trailer)?;
        inner.flush()?;
        Ok(inner)
    }

    /// The inner writer (to flush or sync what the blocks written so far hold).
    pub fn get_mut(&mut self) -> &mut W {
        self.chunks.get_mut()
    }

    /// Uncompressed bytes accepted so far.
    pub fn bytes_in(&self) -> u64 {
        self.chunks.bytes_in()
    }
}

impl<W: Write> Write for Compressor<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.chunks.write(buf)
    }

    /// Flushes the inner writer only: a chunk is compressed when full or at `finish`, so that
    /// the block layout stays the same however the input was written.
    fn flush(&mut self) -> io::Result<()> {
        self.chunks.flush()
    }
}

/// One chunk as a QuickLZ block.
fn compress_block(chunk: &[u8]) -> io::Result<Vec<u8>> {
    let mut block = Vec::with_capacity(chunk.len() + 16);
    quicklz::compress(chunk, &mut block);
    Ok(block)
}

/// One block entry: magic, the offset of its data in the file, Adler-32 of the block, the
/// block.
fn write_block<W: Write>(out: &mut W, offset: u64, block: &[u8]) -> io::Result<()> {
    let mut head = [0u8; 20];
    head[..8].copy_from_slice(BLOCK_MAGIC);
    head[8..16].copy_from_slice(&offset.to_le_bytes());
    head[16..].copy_from_slice(&adler32(block).to_le_bytes());
    out.write_all(&head)?;
    out.write_all(block)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decompress;

    fn archive(data: &[u8], chunk: usize, threads: usize, piece: usize) -> Vec<u8> {
        let mut c = Compressor::new(Vec::new(), b"f.ibd", chunk)
            .unwrap()
            .threads(threads);
        for p in data.chunks(piece) {
            c.write_all(p).unwrap();
        }
        assert_eq!(c.bytes_in(), data.len() as u64);
        c.finish().unwrap()
    }

    #[test]
    fn layout_and_roundtrip() {
        let data: Vec<u8> = (0..300_000u32).map(|i| (i / 7 % 251) as u8).collect();
        // (length, chunk size): empty file, one short chunk, exact chunks, a short last one.
        for (len, chunk) in [
            (0, 1024),
            (1, 1024),
            (4096, 1024),
            (5000, 1024),
            (300_000, 65536),
        ] {
            let data = &data[..len];
            let one = archive(data, chunk, 1, 10_000);
            for (threads, piece) in [(1, 1), (2, 333), (4, 1 << 20)] {
                assert!(
                    archive(data, chunk, threads, piece) == one,
                    "{len} {chunk} {threads}"
                );
            }
            let blocks = one.windows(8).filter(|w| w == BLOCK_MAGIC).count();
            assert_eq!(blocks, len.div_ceil(chunk), "{len} {chunk}");
            assert_eq!(&one[..8], ARCHIVE_MAGIC);
            assert_eq!(&one[8..16], &(chunk as u64).to_le_bytes());
            assert_eq!(&one[16..27], b"F\x05\0\0\0f.ibd\0");
            assert_eq!(&one[one.len() - 16..], b"ENDSENDS\0\0\0\0\0\0\0\0");
            let mut out = Vec::new();
            let summary = decompress(&one[..], &mut out).unwrap();
            assert!(out == data);
            assert_eq!((summary.bytes, summary.blocks), (len as u64, blocks as u64));
            assert_eq!(summary.name, b"f.ibd");
        }
    }

    #[test]
    fn refusals() {
        for (name, chunk) in [
            (&b"a\0b"[..], 1024),
            (b"a", 0),
            (b"a", quicklz::MAX_INPUT + 1),
        ] {
            let e = Compressor::new(Vec::new(), name, chunk).err().unwrap();
            assert_eq!(e.kind(), io::ErrorKind::InvalidInput);
        }
    }
}
