//! [`Chunked`]: a `Write` that cuts its bytes into fixed-size chunks, encodes each chunk on
//! its own (several at once on threads) and writes them in order. qpress blocks and
//! `sink::codec`'s lz4/zstd frames are both made this way.

use std::io::{self, Write};

/// Encodes one chunk (thread-safe: each call stands alone).
pub type EncodeFn = fn(&[u8]) -> io::Result<Vec<u8>>;

/// Writes one encoded chunk to the output; the `u64` is the offset of the chunk's first
/// byte in the input.
pub type EmitFn<W> = fn(&mut W, u64, &[u8]) -> io::Result<()>;

/// Bytes are buffered until a chunk is full, so the output depends neither on how the caller
/// splits its writes nor on the thread count: the same input gives the same bytes.
pub struct Chunked<W: Write> {
    inner: W,
    encode: EncodeFn,
    emit: EmitFn<W>,
    chunk_size: usize,
    threads: usize,
    pending: Vec<u8>,
    processed: u64,
    chunks: u64,
}

impl<W: Write> Chunked<W> {
    /// Chunks of `chunk_size` (≥ 1) bytes encoded by `encode` and written by `emit`, one
    /// at a time until [`threads`](Chunked::threads) says otherwise.
    pub fn new(inner: W, chunk_size: usize, encode: EncodeFn, emit: EmitFn<W>) -> Self {
        Chunked {
            inner,
            encode,
            emit,
            chunk_size: chunk_size.max(1),
            threads: 1,
            pending: Vec::new(),
            processed: 0,
            chunks: 0,
        }
    }

    /// Encodes up to `threads` chunks in parallel.
    pub fn threads(mut self, threads: usize) -> Self {
        self.threads = threads.max(1);
        self
    }

    /// Bytes buffered before encoding: with threads, a run of chunks each (up to 1 MiB of
    /// them), so that starting the threads costs little next to the work they get.
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

    /// Encodes and writes everything pending (full chunks, and a short last one).
    fn flush_pending(&mut self) -> io::Result<()> {
        let pending = std::mem::take(&mut self.pending);
        let (encode, chunk_size) = (self.encode, self.chunk_size);
        let encoded = if self.threads == 1 || pending.len() <= chunk_size {
            encode_run(&pending, chunk_size, encode)?
        } else {
            // Each thread takes a run of consecutive chunks; they are written in order.
            let run_len = pending.len().div_ceil(self.threads).div_ceil(chunk_size) * chunk_size;
            std::thread::scope(|scope| {
                let workers: Vec<_> = pending
                    .chunks(run_len)
                    .map(|part| scope.spawn(move || encode_run(part, chunk_size, encode)))
                    .collect();
                let mut all = Vec::new();
                for w in workers {
                    all.extend(
                        w.join()
                            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))?,
                    );
                }
                Ok::<_, io::Error>(all)
            })?
        };
        for (len, bytes) in encoded {
            (self.emit)(&mut self.inner, self.processed, &bytes)?;
            self.processed += len as u64;
            self.chunks += 1;
        }
        self.pending = pending;
        self.pending.clear();
        Ok(())
    }

    /// Encodes and writes what is left and returns the inner writer, not flushed (the caller
    /// may add a trailer). With `empty_chunk`, an input of no bytes still gets one encoded
    /// (empty) chunk.
    pub fn finish(mut self, empty_chunk: bool) -> io::Result<W> {
        self.flush_pending()?;
        if empty_chunk && self.chunks == 0 {
            let empty = (self.encode)(&[])?;
            (self.emit)(&mut self.inner, 0, &empty)?;
        }
        Ok(self.inner)
    }

    /// The inner writer (to flush or sync what the chunks written so far hold).
    pub fn get_mut(&mut self) -> &mut W {
        &mut self.inner
    }

    /// Input bytes accepted so far.
    pub fn bytes_in(&self) -> u64 {
        self.processed + self.pending.len() as u64
    }
}

impl<W: Write> Write for Chunked<W> {
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

    /// Flushes the inner writer only: a chunk is encoded when full or at `finish`, so that
    /// the output stays the same however the input was written.
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Each `chunk_size` piece of `part` encoded, with its input length.
fn encode_run(
    part: &[u8],
    chunk_size: usize,
    encode: EncodeFn,
) -> io::Result<Vec<(usize, Vec<u8>)>> {
    part.chunks(chunk_size)
        .map(|chunk| Ok((chunk.len(), encode(chunk)?)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A toy encoding: the chunk reversed, emitted as offset, length, bytes.
    fn reverse(chunk: &[u8]) -> io::Result<Vec<u8>> {
        Ok(chunk.iter().rev().copied().collect())
    }

    fn emit(out: &mut Vec<u8>, at: u64, bytes: &[u8]) -> io::Result<()> {
        out.extend_from_slice(&at.to_le_bytes());
        out.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
        out.extend_from_slice(bytes);
        Ok(())
    }

    fn encode(data: &[u8], chunk: usize, threads: usize, piece: usize, empty: bool) -> Vec<u8> {
        let mut c = Chunked::new(Vec::new(), chunk, reverse, emit).threads(threads);
        for p in data.chunks(piece) {
            c.write_all(p).unwrap();
        }
        assert_eq!(c.bytes_in(), data.len() as u64);
        c.finish(empty).unwrap()
    }

    #[test]
    fn chunks_in_order_whatever_the_threads_and_write_sizes() {
        let data: Vec<u8> = (0..3_000_000u32).map(|i| (i % 253) as u8).collect();
        for (len, chunk) in [(0, 16), (1, 16), (64, 16), (70, 16), (3_000_000, 65536)] {
            let data = &data[..len];
            let mut expected = Vec::new();
            for (i, c) in data.chunks(chunk).enumerate() {
                emit(&mut expected, (i * chunk) as u64, &reverse(c).unwrap()).unwrap();
            }
            for (threads, piece) in [(1, 1), (1, 1 << 20), (2, 333), (3, 4096), (8, 1 << 22)] {
                let piece = piece.max(1);
                assert!(
                    encode(data, chunk, threads, piece, false) == expected,
                    "{len} {chunk}"
                );
            }
            let with_empty = encode(data, chunk, 2, 7, true);
            if len == 0 {
                assert_eq!(with_empty, [0u8; 12]);
            } else {
                assert!(with_empty == expected);
            }
        }
    }

    #[test]
    fn an_encoding_error_is_returned() {
        fn fail(_: &[u8]) -> io::Result<Vec<u8>> {
            Err(io::Error::other("no"))
        }
        for threads in [1, 4] {
            let mut c = Chunked::new(Vec::new(), 8, fail, emit).threads(threads);
            let wrote = c.write_all(&[0; 1 << 16]);
            let finished = c.finish(false);
            assert!(wrote.is_err() || finished.is_err());
        }
    }
}
