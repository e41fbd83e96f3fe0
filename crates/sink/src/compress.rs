//! [`CompressSink`]: `--compress`, every file but the completion mark compressed into the
//! sink it wraps, as `NAME.qp` (qpress, mariadb-backup 10.11), `NAME.lz4` or `NAME.zst`
//! (XtraBackup 8.0's frames, see [`crate::codec`]).

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use qpress::Compressor;

use crate::codec::{self, Codec, FrameFn, Frames};
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

/// Compresses every file into the sink it wraps, as `NAME` + the codec's suffix, except
/// `xtrabackup_checkpoints`. A compressed file cannot be patched: [`Sink::can_rewrite`] is
/// false, and [`SinkFile::write_at`] fails. A file dropped without [`SinkFile::close`] is
/// incomplete: a qpress archive lacks its end trailer, which every reader refuses; lz4 and
/// zstd files hold the whole frames written so far, which no reader can tell from a whole
/// file, so the flow's rule matters: `xtrabackup_checkpoints` is written only after every
/// file was closed.
pub struct CompressSink {
    inner: Box<dyn Sink>,
    codec: Codec,
    frame: Option<FrameFn>,
    chunk_size: usize,
    threads: usize,
}

impl CompressSink {
    /// Compresses with `codec` into `inner` in chunks of `chunk_size` bytes (1 ..=
    /// [`Codec::max_chunk`]), `threads` chunks at a time.
    pub fn new(
        inner: Box<dyn Sink>,
        codec: Codec,
        chunk_size: usize,
        threads: usize,
    ) -> io::Result<Self> {
        let max = codec.max_chunk();
        if chunk_size == 0 || chunk_size > max {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("compression chunk size {chunk_size} is not in 1..={max}"),
            ));
        }
        let frame = match codec {
            Codec::Quicklz => None,
            Codec::Lz4 => Some(codec::lz4::frame as FrameFn),
            Codec::Zstd { level } => Some(codec::zstd::frame_fn(level).ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("zstd level {level} is not in 1..=19"),
                )
            })?),
        };
        Ok(CompressSink {
            inner,
            codec,
            frame,
            chunk_size,
            threads: threads.max(1),
        })
    }

    /// The name `rel` has in the inner sink.
    pub fn stored_name(&self, rel: &Path) -> io::Result<PathBuf> {
        let name = backup_name(rel)?;
        Ok(if is_plain(name) {
            PathBuf::from(name)
        } else {
            PathBuf::from(format!("{name}{}", self.codec.suffix()))
        })
    }

    /// A compressor for the file `rel` writing to `out`.
    fn encoder<W: Write>(&self, rel: &Path, out: W) -> io::Result<Encoder<W>> {
        Ok(match self.frame {
            None => {
                let base = rel.file_name().unwrap_or_default().as_encoded_bytes();
                let c = Compressor::new(out, base, self.chunk_size)?.threads(self.threads);
                Encoder::Qpress(c)
            }
            Some(frame) => Encoder::Frames(Frames::new(out, frame, self.chunk_size, self.threads)),
        })
    }

    fn open(&self, rel: &Path, again: bool) -> io::Result<Box<dyn SinkFile>> {
        let stored = self.stored_name(rel)?;
        let out = if again {
            self.inner.recreate(&stored)?
        } else {
            self.inner.create(&stored)?
        };
        if is_plain(backup_name(rel)?) {
            return Ok(out);
        }
        let writer = Buffered {
            out,
            buf: Vec::new(),
        };
        Ok(Box::new(CompressFile {
            encoder: self.encoder(rel, writer)?,
        }))
    }
}

/// One file's compressor: a qpress archive or a run of frames.
enum Encoder<W: Write> {
    Qpress(Compressor<W>),
    Frames(Frames<W>),
}

impl<W: Write> Encoder<W> {
    fn write_all(&mut self, data: &[u8]) -> io::Result<()> {
        match self {
            Encoder::Qpress(c) => c.write_all(data),
            Encoder::Frames(f) => f.write_all(data),
        }
    }

    fn bytes_in(&self) -> u64 {
        match self {
            Encoder::Qpress(c) => c.bytes_in(),
            Encoder::Frames(f) => f.bytes_in(),
        }
    }

    fn get_mut(&mut self) -> &mut W {
        match self {
            Encoder::Qpress(c) => c.get_mut(),
            Encoder::Frames(f) => f.get_mut(),
        }
    }

    fn finish(self) -> io::Result<W> {
        match self {
            Encoder::Qpress(c) => c.finish(),
            Encoder::Frames(f) => f.finish(),
        }
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
        let stored = self.stored_name(rel)?;
        if is_plain(backup_name(rel)?) {
            return self.inner.put(&stored, contents);
        }
        // Compressed in memory (metadata is small), then published as one piece.
        let mut c = self.encoder(rel, Vec::new())?;
        c.write_all(contents)?;
        self.inner.put(&stored, &c.finish()?)
    }

    fn create_dir(&self, rel: &Path) -> io::Result<()> {
        self.inner.create_dir(rel)
    }

    fn contains(&self, rel: &Path) -> bool {
        self.stored_name(rel).is_ok_and(|s| self.inner.contains(&s))
    }

    fn sync(&self) -> io::Result<()> {
        self.inner.sync()
    }

    fn describe(&self, rel: &Path) -> String {
        match self.stored_name(rel) {
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

/// A file of a [`CompressSink`]: its bytes through its [`Encoder`].
struct CompressFile {
    encoder: Encoder<Buffered>,
}

impl SinkFile for CompressFile {
    fn write_all(&mut self, data: &[u8]) -> io::Result<()> {
        self.encoder.write_all(data)
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
        self.encoder.bytes_in()
    }

    /// Makes the blocks written so far durable; a chunk not full yet is compressed only at
    /// [`SinkFile::close`] (so that the archive's blocks never depend on when this is called).
    fn sync(&mut self) -> io::Result<()> {
        let inner = self.encoder.get_mut();
        inner.flush()?;
        inner.out.sync()
    }

    fn close(self: Box<Self>) -> io::Result<()> {
        let mut inner = self.encoder.finish()?;
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
        CompressSink::new(Box::new(DirSink::new(root)), Codec::Quicklz, chunk, threads).unwrap()
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
            let got = sink(&std::env::temp_dir(), 1024, 1)
                .stored_name(Path::new(rel))
                .ok();
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

#[cfg(test)]
mod frame_tests {
    use super::*;
    use crate::DirSink;

    #[test]
    fn lz4_and_zstd_files_names_and_metadata() {
        for (codec, suffix) in [(Codec::Lz4, "lz4"), (Codec::Zstd { level: 1 }, "zst")] {
            let root = std::env::temp_dir().join(format!(
                "hotbackup-compress-{}-{suffix}",
                std::process::id()
            ));
            let _ = std::fs::remove_dir_all(&root);
            std::fs::create_dir_all(&root).unwrap();
            let s = CompressSink::new(Box::new(DirSink::new(&root)), codec, 4096, 2).unwrap();
            assert_eq!(
                s.stored_name(Path::new("./db/t.ibd")).unwrap(),
                Path::new(&format!("db/t.ibd.{suffix}"))
            );
            let data: Vec<u8> = (0..50_000u32).map(|i| (i % 17) as u8).collect();
            let mut f = s.create(Path::new("db/t.ibd")).unwrap();
            f.write_all(&data).unwrap();
            assert_eq!(f.len(), 50_000);
            assert!(f.write_at(0, b"x").is_err(), "no patching");
            f.close().unwrap();
            s.put(Path::new("xtrabackup_info"), b"compressed = compressed\n")
                .unwrap();
            s.put(Path::new("xtrabackup_checkpoints"), b"plain\n")
                .unwrap();
            assert_eq!(
                std::fs::read(root.join("xtrabackup_checkpoints")).unwrap(),
                b"plain\n"
            );
            for (name, want) in [
                (format!("db/t.ibd.{suffix}"), &data[..]),
                (
                    format!("xtrabackup_info.{suffix}"),
                    b"compressed = compressed\n",
                ),
            ] {
                let file = std::fs::read(root.join(&name)).unwrap();
                let mut out = Vec::new();
                codec::decompress(codec, &file[..], &mut out).unwrap();
                assert_eq!(out, want, "{name}");
            }
            assert!(s.contains(Path::new("db/t.ibd")));
            std::fs::remove_dir_all(&root).unwrap();
        }
        let dir = Box::new(DirSink::new(std::env::temp_dir()));
        assert!(CompressSink::new(dir, Codec::Lz4, (4 << 20) + 1, 1).is_err());
        let dir = Box::new(DirSink::new(std::env::temp_dir()));
        assert!(CompressSink::new(dir, Codec::Zstd { level: 20 }, 65536, 1).is_err());
    }
}
