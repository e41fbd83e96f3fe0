//! [`Compressor`]: a `Write` that turns one file's bytes into a one-file qpress archive.

use std::io::{self, Write};

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
    inner: W,
    chunk_size: usize,
    threads: usize,
    pending: Vec<u8>,
    processed: u64,
    scratch: Vec<u8>,
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
            inner,
            chunk_size,
            threads: 1,
            pending: Vec::new(),
            processed: 0,
            scratch: Vec::new(),
        })
    }

    /// Compresses up to `threads` chunks in parallel (mariadb-backup's `--compress-threads`).
    pub fn threads(mut self, threads: usize) -> Self {
        self.threads = threads.max(1);
        self
    }

    /// Bytes buffered before compressing: with threads, a run of chunks each (up to 1 MiB), so
    /// that starting the threads costs little next to the work they get.
    fn capacity(&self) -> usize {
        let per_thread = if self.threads == 1 {
            1
        } else {
            ((1 << 20) / self.chunk_size).clamp(1, 16)
        };
        self.chunk_size
            .saturating_mul(self.threads)
            .saturating_mul(per_thread)
    }

    /// Compresses and writes everything pending (full chunks, and a short last one).
    fn flush_pending(&mut self) -> io::Result<()> {
        let pending = std::mem::take(&mut self.pending);
        if self.threads == 1 || pending.len() <= self.chunk_size {
            for chunk in pending.chunks(self.chunk_size) {
                let mut block = std::mem::take(&mut self.scratch);
                block.clear();
                quicklz::compress(chunk, &mut block);
                self.write_block(chunk.len(), &block)?;
                self.scratch = block;
            }
        } else {
            // Each thread takes a run of consecutive chunks; blocks are written in order.
            let chunk_size = self.chunk_size;
            let run_len = pending.len().div_ceil(self.threads).div_ceil(chunk_size) * chunk_size;
            let blocks: Vec<(usize, Vec<u8>)> = std::thread::scope(|scope| {
                let workers: Vec<_> = pending
                    .chunks(run_len)
                    .map(|run| scope.spawn(move || compress_run(run, chunk_size)))
                    .collect();
                workers
                    .into_iter()
                    .flat_map(|w| {
                        w.join()
                            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
                    })
                    .collect()
            });
            for (len, block) in blocks {
                self.write_block(len, &block)?;
            }
        }
        self.pending = pending;
        self.pending.clear();
        Ok(())
    }

    /// One block entry: magic, the offset of its data in the file, Adler-32 of the block.
    fn write_block(&mut self, original_len: usize, block: &[u8]) -> io::Result<()> {
        let mut head = [0u8; 20];
        head[..8].copy_from_slice(BLOCK_MAGIC);
        head[8..16].copy_from_slice(&self.processed.to_le_bytes());
        head[16..].copy_from_slice(&adler32(block).to_le_bytes());
        self.inner.write_all(&head)?;
        self.inner.write_all(block)?;
        self.processed += original_len as u64;
        Ok(())
    }

    /// Compresses what is left, writes the end trailer (whose "recovery" field is 0, as qpress
    /// and mariadb-backup write it), flushes, and returns the inner writer.
    pub fn finish(mut self) -> io::Result<W> {
        self.flush_pending()?;
        let mut trailer = [0u8; 16];
        trailer[..8].copy_from_slice(END_MAGIC);
        self.inner.write_all(&trailer)?;
        self.inner.flush()?;
        Ok(self.inner)
    }

    /// The inner writer (to flush or sync what the blocks written so far hold).
    pub fn get_mut(&mut self) -> &mut W {
        &mut self.inner
    }

    /// Uncompressed bytes accepted so far.
    pub fn bytes_in(&self) -> u64 {
        self.processed + self.pending.len() as u64
    }
}

impl<W: Write> Write for Compressor<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let room = self.capacity() - self.pending.len();
        let take = buf.len().min(room);
        if self.pending.capacity() == 0 {
            self.pending.reserve(self.capacity().min(64 << 20));
        }
        self.pending.extend_from_slice(&buf[..take]);
        if self.pending.len() == self.capacity() {
            self.flush_pending()?;
        }
        Ok(take)
    }

    /// Flushes the inner writer only: a chunk is compressed when full or at `finish`, so that
    /// the block layout stays the same however the input was written.
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Each `chunk_size` piece of `run` as a block, with its original length.
fn compress_run(run: &[u8], chunk_size: usize) -> Vec<(usize, Vec<u8>)> {
    run.chunks(chunk_size)
        .map(|chunk| {
            let mut block = Vec::with_capacity(chunk.len() + 16);
            quicklz::compress(chunk, &mut block);
            (chunk.len(), block)
        })
        .collect()
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
