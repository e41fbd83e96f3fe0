//! [`StreamSink`]: the backup as mariadb-backup 10.11's xbstream on a writer.

use std::io::{self, Write};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use xbstream::{StreamFile, StreamWriter};

use crate::{backup_name, Created, Sink, SinkFile};

/// The file whose presence marks a complete backup: it must come after every other file.
const COMPLETION_MARK: &str = "xtrabackup_checkpoints";

/// An xbstream written to `W` by any number of threads at once (their chunks interleave,
/// `mbstream -x` sorts them out). The first write error is sticky: every later write fails,
/// so a closed pipe can never end in a "complete" backup.
pub struct StreamSink<W: Write + Send + 'static> {
    writer: Arc<StreamWriter<W>>,
    /// Names the output in messages (`<STDOUT>`).
    name: String,
    created: Created,
    /// Files created and not closed yet.
    open: Arc<AtomicUsize>,
}

impl<W: Write + Send + 'static> StreamSink<W> {
    /// A stream into `out`, called `name` in messages.
    pub fn new(out: W, name: &str) -> StreamSink<W> {
        StreamSink {
            writer: StreamWriter::new(out),
            name: name.to_string(),
            created: Created::default(),
            open: Arc::default(),
        }
    }

    /// Bytes written to the output so far.
    pub fn bytes_written(&self) -> u64 {
        self.writer.bytes_written()
    }

    fn open(&self, rel: &Path, rewrite: bool) -> io::Result<Box<dyn SinkFile>> {
        let name = backup_name(rel)?;
        let inner = self
            .writer
            .open(name, rewrite)
            .map_err(|e| self.failed(e))?;
        self.created.insert(rel);
        self.open.fetch_add(1, Ordering::AcqRel);
        Ok(Box::new(StreamSinkFile {
            inner: Some(inner),
            len: 0,
            name: self.name.clone(),
            open: Arc::clone(&self.open),
        }))
    }

    fn failed(&self, e: io::Error) -> io::Error {
        wrap(&self.name, e)
    }
}

/// An error of the stream's output, saying what it means for the backup.
fn wrap(name: &str, e: io::Error) -> io::Error {
    let why = match e.kind() {
        io::ErrorKind::BrokenPipe => {
            ": the program reading the stream closed it (exited or failed); check it, and the \
             disk it writes to"
        }
        _ => "",
    };
    io::Error::new(
        e.kind(),
        format!("writing the xbstream to {name} failed: {e}{why}"),
    )
}

impl<W: Write + Send + 'static> Sink for StreamSink<W> {
    fn create(&self, rel: &Path) -> io::Result<Box<dyn SinkFile>> {
        if self.created.contains(rel) {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                format!("{} is already in the stream", rel.display()),
            ));
        }
        self.open(rel, false)
    }

    fn recreate(&self, rel: &Path) -> io::Result<Box<dyn SinkFile>> {
        // The rewrite flag makes mbstream open it with O_TRUNC instead of O_EXCL.
        self.open(rel, true)
    }

    fn put(&self, rel: &Path, contents: &[u8]) -> io::Result<()> {
        if backup_name(rel)? == COMPLETION_MARK && self.open.load(Ordering::Acquire) != 0 {
            return Err(io::Error::other(format!(
                "{COMPLETION_MARK} must be the last file of the stream, but {} file(s) are still \
                 being written (a bug)",
                self.open.load(Ordering::Acquire)
            )));
        }
        let mut f = self.create(rel)?;
        f.write_all(contents)?;
        f.close()?;
        if backup_name(rel)? == COMPLETION_MARK {
            self.sync()?;
        }
        Ok(())
    }

    fn create_dir(&self, _rel: &Path) -> io::Result<()> {
        Ok(())
    }

    fn contains(&self, rel: &Path) -> bool {
        self.created.contains(rel)
    }

    fn sync(&self) -> io::Result<()> {
        self.writer.flush().map_err(|e| self.failed(e))
    }

    fn describe(&self, _rel: &Path) -> String {
        self.name.clone()
    }

    fn is_stream(&self) -> bool {
        true
    }
}

/// A file of a [`StreamSink`].
struct StreamSinkFile<W: Write + Send + 'static> {
    inner: Option<StreamFile<W>>,
    len: u64,
    name: String,
    open: Arc<AtomicUsize>,
}

impl<W: Write + Send + 'static> StreamSinkFile<W> {
    fn inner(&mut self) -> &mut StreamFile<W> {
        self.inner
            .as_mut()
            .expect("a stream file is used after close")
    }
}

impl<W: Write + Send + 'static> SinkFile for StreamSinkFile<W> {
    fn write_all(&mut self, data: &[u8]) -> io::Result<()> {
        let name = self.name.clone();
        self.inner().write_all(data).map_err(|e| wrap(&name, e))?;
        self.len += data.len() as u64;
        Ok(())
    }

    fn write_at(&mut self, offset: u64, data: &[u8]) -> io::Result<()> {
        if offset > self.len {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "write at {offset} past the end ({}) of a stream file",
                    self.len
                ),
            ));
        }
        let inside = ((self.len - offset) as usize).min(data.len());
        if inside > 0 {
            let name = self.name.clone();
            self.inner()
                .write_at(offset, &data[..inside])
                .map_err(|e| wrap(&name, e))?;
        }
        self.write_all(&data[inside..])
    }

    fn len(&self) -> u64 {
        self.len
    }

    fn sync(&mut self) -> io::Result<()> {
        Ok(())
    }

    fn close(mut self: Box<Self>) -> io::Result<()> {
        let inner = self.inner.take().expect("a stream file is closed twice");
        inner.close().map_err(|e| wrap(&self.name, e))
    }
}

impl<W: Write + Send + 'static> Drop for StreamSinkFile<W> {
    fn drop(&mut self) {
        self.open.fetch_sub(1, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    /// A writer the test can look into, failing once `limit` bytes were written.
    #[derive(Clone)]
    struct Shared(Arc<Mutex<Vec<u8>>>, usize);
    impl Write for Shared {
        fn write(&mut self, data: &[u8]) -> io::Result<usize> {
            let mut v = self.0.lock().unwrap();
            if v.len() + data.len() > self.1 {
                return Err(io::Error::from(io::ErrorKind::BrokenPipe));
            }
            v.extend_from_slice(data);
            Ok(data.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    /// The (type, path) of every chunk.
    fn chunks(mut s: &[u8]) -> Vec<(char, String)> {
        let mut out = Vec::new();
        while !s.is_empty() {
            let kind = s[9] as char;
            let plen = u32::from_le_bytes(s[10..14].try_into().unwrap()) as usize;
            let path = String::from_utf8(s[14..14 + plen].to_vec()).unwrap();
            let mut at = 14 + plen;
            match kind {
                'P' => {
                    let len = u64::from_le_bytes(s[at..at + 8].try_into().unwrap()) as usize;
                    at += 20 + len;
                }
                'S' => at += 8,
                _ => {}
            }
            out.push((kind, path));
            s = &s[at..];
        }
        out
    }

    #[test]
    fn files_rewrites_and_the_completion_mark() {
        let out = Shared(Arc::default(), usize::MAX);
        let sink = StreamSink::new(out.clone(), "<test>");
        let mut a = sink.create(Path::new("./db/t.ibd")).unwrap();
        a.write_all(b"0123").unwrap();
        a.write_at(1, b"xyz!").unwrap();
        assert_eq!(a.len(), 5);
        // Not while a file is open.
        assert!(sink.put(Path::new(COMPLETION_MARK), b"x").is_err());
        a.close().unwrap();
        assert!(sink.create(Path::new("db/t.ibd")).is_err());
        let mut again = sink.recreate(Path::new("db/t.ibd")).unwrap();
        again.write_all(b"new").unwrap();
        again.close().unwrap();
        sink.put(Path::new(COMPLETION_MARK), b"done").unwrap();
        let got: Vec<(char, String)> = chunks(&out.0.lock().unwrap());
        let want: Vec<(char, String)> = [
            ('P', "db/t.ibd"),
            ('S', "db/t.ibd"),
            ('P', "db/t.ibd"),
            ('S', "db/t.ibd"),
            ('P', "db/t.ibd"),
            ('E', "db/t.ibd"),
            ('P', "db/t.ibd"),
            ('E', "db/t.ibd"),
            ('P', COMPLETION_MARK),
            ('E', COMPLETION_MARK),
        ]
        .iter()
        .map(|(k, p)| (*k, p.to_string()))
        .collect();
        assert_eq!(got, want);
        assert!(sink.contains(Path::new("db/t.ibd")));
    }

    #[test]
    fn a_closed_pipe_fails_every_later_write() {
        let sink = StreamSink::new(Shared(Arc::default(), 10), "<test>");
        let mut f = sink.create(Path::new("f")).unwrap();
        f.write_all(&[0; 100]).unwrap(); // buffered
        let e = f.close().unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::BrokenPipe);
        assert!(e.to_string().contains("closed it"), "{e}");
        assert!(sink.put(Path::new("g"), b"").is_err());
        assert!(sink.sync().is_err());
    }
}
