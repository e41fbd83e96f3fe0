//! [`CompressSink`]: `--compress`, every file but the completion mark as a qpress archive
//! `NAME.qp` in the sink it wraps.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use qpress::Compressor;

use crate::{backup_name, Sink, SinkFile};

/// The one metadata file mariadb-backup 10.11 leaves plain under `--compress` (it goes
/// through its metadata datasink; everything else, `backup-my.cnf` and `xtrabackup_info`
/// included, is compressed).
const PLAIN: &str = "xtrabackup_checkpoints";

/// The `.meta` of an incremental backup's deltas go through that datasink too: plain.
/// (No other file of a backup has this ending.)
const PLAIN_SUFFIX: &str = ".meta";

fn is_plain(name: &str) -> bool {
    name == PLAIN || name.ends_with(PLAIN_SUFFIX)
}

/// Bytes gathered before they go to the inner file (mariadb-backup puts a 1 MiB buffer
/// between its compressor and its output): a stream gets large chunks, not one per block.
const BUFFER: usize = 1 << 20;

/// Compresses every file into the sink it wraps, as `NAME.qp` (a qpress archive of one file
/// called by its base name), except `xtrabackup_checkpoints`. A compressed file cannot be
/// patched: [`Sink::can_rewrite`] is false, and [`SinkFile::write_at`] fails. A file dropped
/// without [`SinkFile::close`] has no end trailer, which every qpress reader refuses.
pub struct CompressSink {
    inner: Box<dyn Sink>,
    chunk_size: usize,
    threads: usize,
}

impl CompressSink {
    /// Compresses into `inner` in chunks of `chunk_size` bytes (1 ..=
    /// [`qpress::quicklz::MAX_INPUT`]), `threads` chunks at a time.
    pub fn new(inner: Box<dyn Sink>, chunk_size: usize, threads: usize) -> io::Result<Self> {
        if chunk_size == 0 || chunk_size > qpress::quicklz::MAX_INPUT {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "compression chunk size {chunk_size} is not in 1..={}",
                    qpress::quicklz::MAX_INPUT
                ),
            ));
        }
        Ok(CompressSink {
            inner,
            chunk_size,
            threads: threads.max(1),
        })
    }

    /// The name `rel` has in the inner sink.
    pub fn stored_name(rel: &Path) -> io::Result<PathBuf> {
        let name = backup_name(rel)?;
        Ok(if is_plain(name) {
            PathBuf::from(name)
        } else {
            PathBuf::from(format!("{name}.qp"))
        })
    }

    fn start(&self, rel: &Path, out: Box<dyn SinkFile>) -> io::Result<Box<dyn SinkFile>> {
        let base = rel.file_name().unwrap_or_default().as_encoded_bytes();
        let writer = Buffered {
            out,
            buf: Vec::new(),
        };
        let compressor = Compressor::new(writer, base, self.chunk_size)?.threads(self.threads);
        Ok(Box::new(CompressFile { compressor }))
    }

    fn open(&self, rel: &Path, again: bool) -> io::Result<Box<dyn SinkFile>> {
        let stored = Self::stored_name(rel)?;
        let out = if again {
            self.inner.recreate(&stored)?
        } else {
            self.inner.create(&stored)?
        };
        if is_plain(backup_name(rel)?) {
            return Ok(out);
        }
        self.start(rel, out)
    }
}

impl Sink for CompressSink {
    fn create(&self, rel: &Path) -> io::Result<Box<dyn SinkFile>> {
        self.open(rel, false)
    }

    fn recreate(&self, rel: &Path) -> io::Result<Box<dyn SinkFile>> {
        self.open(rel, true)
    }

    fn put(&self, rel: &Path, contents: &[u8]) -> io::Result<()> {
        let stored = Self::stored_name(rel)?;
        if is_plain(backup_name(rel)?) {
            return self.inner.put(&stored, contents);
        }
        // Compressed in memory (metadata is small), then published as one piece.
        let base = rel.file_name().unwrap_or_default().as_encoded_bytes();
        let mut c = Compressor::new(Vec::new(), base, self.chunk_size)?.threads(self.threads);
        c.write_all(contents)?;
        self.inner.put(&stored, &c.finish()?)
    }

    fn create_dir(&self, rel: &Path) -> io::Result<()> {
        self.inner.create_dir(rel)
    }

    fn contains(&self, rel: &Path) -> bool {
        Self::stored_name(rel).is_ok_and(|s| self.inner.contains(&s))
    }

    fn sync(&self) -> io::Result<()> {
        self.inner.sync()
    }

    fn describe(&self, rel: &Path) -> String {
        match Self::stored_name(rel) {
            Ok(stored) => self.inner.describe(&stored),
            Err(_) => self.inner.describe(rel),
        }
    }

    fn is_stream(&self) -> bool {
        self.inner.is_stream()
    }

    fn can_rewrite(&self) -> bool {
        false
    }
}

/// The inner file behind a [`BUFFER`].
struct Buffered {
    out: Box<dyn SinkFile>,
    buf: Vec<u8>,
}

impl Write for Buffered {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        if self.buf.len() + data.len() > BUFFER {
            self.flush()?;
        }
        if data.len() >= BUFFER {
            self.out.write_all(data)?;
        } else {
            self.buf.extend_from_slice(data);
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        if !self.buf.is_empty() {
            self.out.write_all(&self.buf)?;
            self.buf.clear();
        }
        Ok(())
    }
}

/// A file of a [`CompressSink`]: its bytes through a qpress [`Compressor`].
struct CompressFile {
    compressor: Compressor<Buffered>,
}

impl SinkFile for CompressFile {
    fn write_all(&mut self, data: &[u8]) -> io::Result<()> {
        Write::write_all(&mut self.compressor, data)
    }

    fn write_at(&mut self, offset: u64, _data: &[u8]) -> io::Result<()> {
        Err(io::Error::new(
            io::ErrorKind::Unsupported,
            format!(
                "rewriting a compressed file at offset {offset} is impossible (a bug: the \
                 caller must send the file again whole with recreate)"
            ),
        ))
    }

    fn len(&self) -> u64 {
        self.compressor.bytes_in()
    }

    /// Makes the blocks written so far durable; a chunk not full yet is compressed only at
    /// [`SinkFile::close`] (so that the archive's blocks never depend on when this is called).
    fn sync(&mut self) -> io::Result<()> {
        self.compressor.flush()?;
        let inner = self.compressor.get_mut();
        inner.flush()?;
        inner.out.sync()
    }

    fn close(self: Box<Self>) -> io::Result<()> {
        let mut inner = self.compressor.finish()?;
        inner.flush()?;
        inner.out.close()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::DirSink;

    fn scratch(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("hotbackup-compress-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn sink(root: &Path, chunk: usize, threads: usize) -> CompressSink {
        CompressSink::new(Box::new(DirSink::new(root)), chunk, threads).unwrap()
    }

    #[test]
    fn names_in_the_inner_sink() {
        for (rel, want) in [
            ("ibdata1", Some("ibdata1.qp")),
            ("./db/t.ibd", Some("db/t.ibd.qp")),
            ("xtrabackup_checkpoints", Some("xtrabackup_checkpoints")),
            (
                "db/xtrabackup_checkpoints",
                Some("db/xtrabackup_checkpoints.qp"),
            ),
            ("xtrabackup_info", Some("xtrabackup_info.qp")),
            ("backup-my.cnf", Some("backup-my.cnf.qp")),
            ("./db/t.ibd.meta", Some("db/t.ibd.meta")),
            ("ibdata1.meta", Some("ibdata1.meta")),
            ("db/t.ibd.delta", Some("db/t.ibd.delta.qp")),
            ("../x", None),
        ] {
            let got = CompressSink::stored_name(Path::new(rel)).ok();
            assert_eq!(got.as_deref(), want.map(Path::new), "{rel}");
        }
    }

    #[test]
    fn files_round_trip_for_any_split_chunk_and_thread_count() {
        let data: Vec<u8> = (0..300_000u32).map(|i| (i * 7 % 251) as u8).collect();
        for (chunk, threads, piece) in [(1024, 1, 1000), (65536, 2, 70_000), (4096, 3, 1)] {
            let root = scratch(&format!("rt-{chunk}-{threads}"));
            let s = sink(&root, chunk, threads);
            let mut f = s.create(Path::new("db/t.ibd")).unwrap();
            for p in data[..if piece == 1 { 5000 } else { data.len() }].chunks(piece) {
                f.write_all(p).unwrap();
            }
            let want = &data[..if piece == 1 { 5000 } else { data.len() }];
            assert_eq!(f.len(), want.len() as u64);
            assert!(f.write_at(0, b"x").is_err(), "no patching");
            f.close().unwrap();
            let mut out = Vec::new();
            let archive = std::fs::read(root.join("db/t.ibd.qp")).unwrap();
            let summary = qpress::decompress(&archive[..], &mut out).unwrap();
            assert_eq!(summary.name, b"t.ibd");
            assert_eq!(out, want, "chunk {chunk} threads {threads}");
            assert!(s.contains(Path::new("db/t.ibd")));
            assert!(!root.join("db/t.ibd").exists());
            std::fs::remove_dir_all(&root).unwrap();
        }
    }

    #[test]
    fn metadata_compressed_but_the_completion_mark_plain_and_no_rewrites() {
        let root = scratch("meta");
        let s = sink(&root, 65536, 1);
        assert!(!s.can_rewrite());
        s.put(Path::new("xtrabackup_info"), b"compressed = compressed\n")
            .unwrap();
        s.put(
            Path::new("xtrabackup_checkpoints"),
            b"backup_type = full-backuped\n",
        )
        .unwrap();
        assert_eq!(
            std::fs::read(root.join("xtrabackup_checkpoints")).unwrap(),
            b"backup_type = full-backuped\n"
        );
        let mut out = Vec::new();
        let archive = std::fs::read(root.join("xtrabackup_info.qp")).unwrap();
        qpress::decompress(&archive[..], &mut out).unwrap();
        assert_eq!(out, b"compressed = compressed\n");
        // A file sent again replaces the first archive whole.
        let mut f = s.create(Path::new("aria_log.00000001")).unwrap();
        f.write_all(b"first").unwrap();
        f.close().unwrap();
        let mut f = s.recreate(Path::new("aria_log.00000001")).unwrap();
        f.write_all(b"second").unwrap();
        f.close().unwrap();
        let mut out = Vec::new();
        let archive = std::fs::read(root.join("aria_log.00000001.qp")).unwrap();
        qpress::decompress(&archive[..], &mut out).unwrap();
        assert_eq!(out, b"second");
        // Dropped without close: the archive has no trailer and is refused.
        let mut f = s.create(Path::new("db/cut.MYD")).unwrap();
        f.write_all(&[1u8; 5000]).unwrap();
        f.sync().unwrap();
        drop(f);
        let archive = std::fs::read(root.join("db/cut.MYD.qp")).unwrap();
        assert!(qpress::decompress(&archive[..], &mut io::sink()).is_err());
        std::fs::remove_dir_all(&root).unwrap();
    }
}
