//! A stream many threads write files into at once: each file buffers its own payload and
//! emits whole chunks under one lock, so chunks of different files interleave but never mix.

use std::io::{self, Write};
use std::sync::{Arc, Mutex};

use crate::chunk::{self, FLAG_REWRITE, MAX_PATH_LEN};

/// Payload a file buffers before it emits a chunk. mariadb-backup uses 10 MiB; 1 MiB keeps
/// `--parallel` memory small and costs 36 bytes of header per MiB.
pub const DEFAULT_CHUNK_SIZE: usize = 1 << 20;

/// The shared output. The first write error is sticky: every later call fails with it, so a
/// closed pipe can never be followed by a "successful" end.
pub struct StreamWriter<W: Write + Send> {
    inner: Mutex<Inner<W>>,
    chunk_size: usize,
}

struct Inner<W> {
    out: W,
    failed: Option<(io::ErrorKind, String)>,
    bytes: u64,
}

impl<W: Write + Send> StreamWriter<W> {
    pub fn new(out: W) -> Arc<Self> {
        Self::with_chunk_size(out, DEFAULT_CHUNK_SIZE)
    }

    pub fn with_chunk_size(out: W, chunk_size: usize) -> Arc<Self> {
        Arc::new(StreamWriter {
            inner: Mutex::new(Inner {
                out,
                failed: None,
                bytes: 0,
            }),
            chunk_size: chunk_size.max(1),
        })
    }

    /// Starts a file. `rewrite` marks its payloads as allowed to overwrite an existing file
    /// (mariadb-backup sets it for files it sends more than once).
    pub fn open(self: &Arc<Self>, path: &str, rewrite: bool) -> io::Result<StreamFile<W>> {
        check_path(path)?;
        Ok(StreamFile {
            stream: Arc::clone(self),
            path: path.to_owned(),
            buf: Vec::new(),
            offset: 0,
            flags: if rewrite { FLAG_REWRITE } else { 0 },
            emitted: false,
        })
    }

    /// Tells the extractor to delete `path`.
    pub fn remove(&self, path: &str) -> io::Result<()> {
        check_path(path)?;
        let mut c = Vec::new();
        chunk::remove(&mut c, path);
        self.emit(&c, &[])
    }

    /// Tells the extractor to rename `old` to `new`.
    pub fn rename(&self, old: &str, new: &str) -> io::Result<()> {
        check_path(old)?;
        check_path(new)?;
        let mut c = Vec::new();
        chunk::rename(&mut c, old, new);
        self.emit(&c, &[])
    }

    /// Flushes the underlying writer.
    pub fn flush(&self) -> io::Result<()> {
        let mut inner = self.lock()?;
        let r = inner.out.flush();
        inner.check(r)
    }

    /// Bytes written to the output so far.
    pub fn bytes_written(&self) -> u64 {
        self.inner.lock().map(|i| i.bytes).unwrap_or(0)
    }

    fn lock(&self) -> io::Result<std::sync::MutexGuard<'_, Inner<W>>> {
        let inner = self
            .inner
            .lock()
            .map_err(|_| io::Error::other("xbstream writer poisoned by a panic"))?;
        if let Some((kind, msg)) = &inner.failed {
            return Err(io::Error::new(*kind, msg.clone()));
        }
        Ok(inner)
    }

    fn emit(&self, head: &[u8], payload: &[u8]) -> io::Result<()> {
        let mut inner = self.lock()?;
        let mut r = inner.out.write_all(head);
        if r.is_ok() && !payload.is_empty() {
            r = inner.out.write_all(payload);
        }
        if r.is_ok() {
            inner.bytes += (head.len() + payload.len()) as u64;
        }
        inner.check(r)
    }
}

impl<W> Inner<W> {
    fn check(&mut self, r: io::Result<()>) -> io::Result<()> {
        if let Err(e) = &r {
            self.failed = Some((e.kind(), e.to_string()));
        }
        r
    }
}

fn check_path(path: &str) -> io::Result<()> {
    if path.is_empty() || path.len() > MAX_PATH_LEN {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("xbstream path must be 1..={MAX_PATH_LEN} bytes: {path:?}"),
        ));
    }
    Ok(())
}

/// One file being written into the stream. Call [`StreamFile::close`] to emit its end chunk;
/// a file dropped without it stays incomplete in the stream (an extractor must not treat it
/// as whole).
pub struct StreamFile<W: Write + Send> {
    stream: Arc<StreamWriter<W>>,
    path: String,
    buf: Vec<u8>,
    /// File offset of `buf[0]`.
    offset: u64,
    flags: u8,
    /// Whether a payload chunk of this file was emitted.
    emitted: bool,
}

impl<W: Write + Send> StreamFile<W> {
    pub fn path(&self) -> &str {
        &self.path
    }

    /// Appends `data` at the current offset.
    pub fn write_all(&mut self, data: &[u8]) -> io::Result<()> {
        let size = self.stream.chunk_size;
        if self.buf.len() + data.len() < size {
            self.buf.extend_from_slice(data);
            return Ok(());
        }
        self.flush_buf()?;
        if data.len() >= size {
            self.emit_payload(data)
        } else {
            self.buf.extend_from_slice(data);
            Ok(())
        }
    }

    /// Continues the file at `offset` (for rewriting a part already sent).
    pub fn seek(&mut self, offset: u64) -> io::Result<()> {
        self.flush_buf()?;
        let mut c = Vec::new();
        chunk::seek(&mut c, &self.path, offset);
        self.stream.emit(&c, &[])?;
        self.offset = offset;
        Ok(())
    }

    /// Writes `data` at `offset`, then continues where the file was.
    pub fn write_at(&mut self, offset: u64, data: &[u8]) -> io::Result<()> {
        self.flush_buf()?;
        let end = self.offset;
        self.seek(offset)?;
        self.emit_payload(data)?;
        self.seek(end)
    }

    /// Emits what is buffered and the end-of-file chunk.
    pub fn close(mut self) -> io::Result<()> {
        self.flush_buf()?;
        if self.flags & FLAG_REWRITE != 0 && !self.emitted {
            // An empty file sent again: without a payload carrying the rewrite flag, an
            // extractor would see a second file of that name and refuse it (mbstream stops
            // extracting there). An empty payload truncates the first copy.
            self.emit_payload(&[])?;
        }
        let mut c = Vec::new();
        chunk::eof(&mut c, &self.path);
        self.stream.emit(&c, &[])
    }

    fn flush_buf(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let buf = std::mem::take(&mut self.buf);
        let r = self.emit_payload(&buf);
        self.buf = buf;
        self.buf.clear();
        r
    }

    fn emit_payload(&mut self, data: &[u8]) -> io::Result<()> {
        let mut head = Vec::with_capacity(64 + self.path.len());
        chunk::payload_header(&mut head, self.flags, &self.path, self.offset, data);
        self.stream.emit(&head, data)?;
        self.offset += data.len() as u64;
        self.emitted = true;
        Ok(())
    }
}

impl<W: Write + Send> Write for StreamFile<W> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.write_all(data)?;
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.flush_buf()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Failing;
    impl Write for Failing {
        fn write(&mut self, _: &[u8]) -> io::Result<usize> {
            Err(io::Error::from(io::ErrorKind::BrokenPipe))
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    /// What a test's stream wrote (every file handle dropped).
    fn output(s: Arc<StreamWriter<Vec<u8>>>) -> Vec<u8> {
        Arc::try_unwrap(s)
            .ok()
            .unwrap()
            .inner
            .into_inner()
            .unwrap()
            .out
    }

    #[test]
    fn small_writes_are_buffered_into_one_chunk() {
        let s = StreamWriter::with_chunk_size(Vec::new(), 8);
        let mut f = s.open("f", false).unwrap();
        f.write_all(b"abc").unwrap();
        f.write_all(b"de").unwrap();
        f.close().unwrap();
        let out = output(s);
        let mut want = Vec::new();
        chunk::payload_header(&mut want, 0, "f", 0, b"abcde");
        want.extend_from_slice(b"abcde");
        chunk::eof(&mut want, "f");
        assert_eq!(out, want);
    }

    #[test]
    fn offsets_follow_payloads_and_seeks() {
        let s = StreamWriter::with_chunk_size(Vec::new(), 4);
        let mut f = s.open("f", true).unwrap();
        f.write_all(b"0123456789").unwrap();
        f.write_at(2, b"xy").unwrap();
        f.write_all(b"ab").unwrap();
        f.close().unwrap();
        let out = output(s);
        let mut want = Vec::new();
        chunk::payload_header(&mut want, FLAG_REWRITE, "f", 0, b"0123456789");
        want.extend_from_slice(b"0123456789");
        chunk::seek(&mut want, "f", 2);
        chunk::payload_header(&mut want, FLAG_REWRITE, "f", 2, b"xy");
        want.extend_from_slice(b"xy");
        chunk::seek(&mut want, "f", 10);
        chunk::payload_header(&mut want, FLAG_REWRITE, "f", 10, b"ab");
        want.extend_from_slice(b"ab");
        chunk::eof(&mut want, "f");
        assert_eq!(out, want);
    }

    #[test]
    fn an_empty_file_sent_again_carries_the_rewrite_flag() {
        let s = StreamWriter::with_chunk_size(Vec::new(), 8);
        s.open("f", false).unwrap().close().unwrap();
        s.open("f", true).unwrap().close().unwrap();
        let out = output(s);
        let mut want = Vec::new();
        chunk::eof(&mut want, "f");
        chunk::payload_header(&mut want, FLAG_REWRITE, "f", 0, b"");
        chunk::eof(&mut want, "f");
        assert_eq!(out, want);
    }

    #[test]
    fn a_write_error_is_sticky() {
        let s = StreamWriter::with_chunk_size(Failing, 1);
        let mut f = s.open("f", false).unwrap();
        assert_eq!(
            f.write_all(b"x").unwrap_err().kind(),
            io::ErrorKind::BrokenPipe
        );
        let mut g = s.open("g", false).unwrap();
        assert_eq!(
            g.write_all(b"y").unwrap_err().kind(),
            io::ErrorKind::BrokenPipe
        );
        assert!(s.remove("z").is_err());
        assert!(g.close().is_err());
    }

    #[test]
    fn paths_are_bounded() {
        let s = StreamWriter::new(Vec::new());
        assert!(s.open("", false).is_err());
        assert!(s.open(&"a".repeat(MAX_PATH_LEN + 1), false).is_err());
    }
}
