//! The `--compress` algorithms: which one ([`Codec`]), one file's bytes as independent
//! frames made in parallel ([`Frames`], for lz4 and zstd), and reading any of them back
//! ([`decompress`], [`decompress_file`]).
//!
//! quicklz is mariadb-backup 10.11's qpress archive (the `qpress` crate). lz4 and zstd are
//! what Percona XtraBackup 8.0 writes as `NAME.lz4` / `NAME.zst`: standard frames
//! (concatenated frames are one valid file for both formats), so `lz4 -d` and `zstd -d` read
//! them. hotbackup makes one frame per `--compress-chunk-size` bytes, so the output is the
//! same for any `--compress-threads`.

pub mod lz4;
pub mod zstd;

use std::fs::{File, OpenOptions};
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use qpress::chunked::Chunked;
pub use qpress::Error;

/// A `--compress` algorithm.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Codec {
    /// qpress archives of QuickLZ level 1 blocks (`.qp`), as mariadb-backup 10.11.
    Quicklz,
    /// LZ4 frames (`.lz4`), as XtraBackup 8.0.
    Lz4,
    /// Zstandard frames at this level (`.zst`), as XtraBackup 8.0.
    Zstd {
        /// 1 (XtraBackup's default) ..= 19.
        level: i32,
    },
}

/// Every codec, for looking one up by its suffix.
const ALL: [Codec; 3] = [Codec::Quicklz, Codec::Lz4, Codec::Zstd { level: 1 }];

impl Codec {
    /// The suffix its files get: `.qp`, `.lz4`, `.zst`.
    pub fn suffix(self) -> &'static str {
        match self {
            Codec::Quicklz => ".qp",
            Codec::Lz4 => ".lz4",
            Codec::Zstd { .. } => ".zst",
        }
    }

    /// Its name as `--compress` takes it.
    pub fn name(self) -> &'static str {
        match self {
            Codec::Quicklz => "quicklz",
            Codec::Lz4 => "lz4",
            Codec::Zstd { .. } => "zstd",
        }
    }

    /// The largest chunk one block or frame takes: a qpress block's limit; LZ4's largest
    /// block size (4 MiB); for zstd the same as qpress (memory is `threads` chunks at once).
    pub fn max_chunk(self) -> usize {
        match self {
            Codec::Quicklz | Codec::Zstd { .. } => qpress::quicklz::MAX_INPUT,
            Codec::Lz4 => lz4::MAX_BLOCK,
        }
    }

    /// The codec whose files end in `name`'s suffix (for reading them back: the zstd level
    /// is whatever the frames say).
    pub fn for_file(name: &[u8]) -> Option<Codec> {
        ALL.into_iter()
            .find(|c| name.ends_with(c.suffix().as_bytes()) && name.len() > c.suffix().len())
    }
}

/// Decompresses one file of `codec` from `input` into `output`; returns the bytes written.
/// Anything malformed is [`Error::Corrupt`] with the input byte offset of the damaged part;
/// memory stays bounded whatever the input says (qpress: the chunk size; lz4: 4 MiB blocks;
/// zstd: a 128 MiB window at most, libzstd's default limit).
pub fn decompress<R: Read, W: Write>(codec: Codec, input: R, output: &mut W) -> Result<u64, Error> {
    match codec {
        Codec::Quicklz => qpress::decompress(input, output).map(|s| s.bytes),
        Codec::Lz4 => lz4::decompress(input, output),
        Codec::Zstd { .. } => zstd::decompress(input, output),
    }
}

/// Decompresses the file `src` into the new file `dst` (mode 0640, never an existing file),
/// fsynced before returning; on any error `dst` is removed.
pub fn decompress_file(codec: Codec, src: &Path, dst: &Path) -> Result<u64, Error> {
    let input = File::open(src).map_err(Error::Read)?;
    let out = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o640)
        .open(dst)
        .map_err(Error::Write)?;
    let mut writer = BufWriter::with_capacity(1 << 20, out);
    let result =
        decompress(codec, BufReader::with_capacity(1 << 20, input), &mut writer).and_then(|n| {
            let file = writer
                .into_inner()
                .map_err(|e| Error::Write(e.into_error()))?;
            file.sync_all().map_err(Error::Write)?;
            Ok(n)
        });
    if result.is_err() {
        let _ = std::fs::remove_file(dst);
    }
    result
}

/// Makes one frame of a chunk (thread-safe: each call stands alone).
pub type FrameFn = qpress::chunked::EncodeFn;

/// A `Write` that cuts the bytes into chunks of `chunk_size` and writes each as one
/// independent frame made by a [`FrameFn`], `threads` chunks at once, in order
/// ([`qpress::chunked::Chunked`], as qpress blocks), so the output depends neither on how the
/// caller splits its writes nor on the thread count. An empty file still gets one (empty)
/// frame, so that `lz4 -d` and `zstd -d` accept it.
pub struct Frames<W: Write> {
    chunks: Chunked<W>,
}

impl<W: Write> Frames<W> {
    /// Frames of `chunk_size` (≥ 1) bytes on `inner`, `threads` (≥ 1) at a time.
    pub fn new(inner: W, frame: FrameFn, chunk_size: usize, threads: usize) -> Self {
        Frames {
            chunks: Chunked::new(inner, chunk_size, frame, |out, _, bytes| {
                out.write_all(bytes)
            })
            .threads(threads),
        }
    }

    /// Compresses what is left (an empty file gets one empty frame), flushes, and returns the
    /// inner writer.
    pub fn finish(self) -> io::Result<W> {
        let mut inner = self.chunks.finish(true)?;
        inner.flush()?;
        Ok(inner)
    }

    /// The inner writer (to flush or sync what the frames written so far hold).
    pub fn get_mut(&mut self) -> &mut W {
        self.chunks.get_mut()
    }

    /// Uncompressed bytes accepted so far.
    pub fn bytes_in(&self) -> u64 {
        self.chunks.bytes_in()
    }
}

impl<W: Write> Write for Frames<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.chunks.write(buf)
    }

    /// Flushes the inner writer only: a chunk is compressed when full or at `finish`.
    fn flush(&mut self) -> io::Result<()> {
        self.chunks.flush()
    }
}

/// A reader that counts the bytes it handed out, for error offsets.
pub(crate) struct Counted<R> {
    pub(crate) inner: R,
    pub(crate) offset: u64,
}

impl<R: Read> Counted<R> {
    /// Fills `buf` whole, or returns how many bytes there were before the end of input.
    pub(crate) fn fill(&mut self, buf: &mut [u8]) -> Result<usize, Error> {
        let mut got = 0;
        while got < buf.len() {
            match self.inner.read(&mut buf[got..]) {
                Ok(0) => break,
                Ok(n) => got += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(Error::Read(e)),
            }
        }
        self.offset += got as u64;
        Ok(got)
    }
}

/// [`Error::Corrupt`] at `offset`.
pub(crate) fn corrupt(offset: u64, what: impl Into<String>) -> Error {
    Error::Corrupt {
        offset,
        what: what.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suffixes_name_the_codec() {
        for (name, want) in [
            (&b"db/t.ibd.qp"[..], Some(Codec::Quicklz)),
            (b"ibdata1.lz4", Some(Codec::Lz4)),
            (b"./ib_logfile0.zst", Some(Codec::Zstd { level: 1 })),
            (b".zst", None),
            (b"t.ibd", None),
            (b"t.zstd", None),
        ] {
            assert_eq!(
                Codec::for_file(name),
                want,
                "{}",
                String::from_utf8_lossy(name)
            );
        }
    }

    #[test]
    fn every_codec_round_trips_and_frames_do_not_depend_on_threads_or_write_sizes() {
        let data: Vec<u8> = (0..300_000u32).map(|i| (i * 7 % 251) as u8).collect();
        for (frame, codec) in [
            (lz4::frame as FrameFn, Codec::Lz4),
            (zstd::frame_level_1, Codec::Zstd { level: 1 }),
        ] {
            let mut first: Option<Vec<u8>> = None;
            for (chunk, threads, piece) in [(65536, 1, 1000), (65536, 2, 70_000), (65536, 3, 7)] {
                let mut f = Frames::new(Vec::new(), frame, chunk, threads);
                for p in data.chunks(piece) {
                    f.write_all(p).unwrap();
                }
                assert_eq!(f.bytes_in(), data.len() as u64);
                let out = f.finish().unwrap();
                assert!(out.len() < data.len() / 10, "{codec:?} compresses");
                match &first {
                    None => first = Some(out.clone()),
                    Some(f) => assert_eq!(f, &out, "{codec:?} threads {threads}"),
                }
                let mut back = Vec::new();
                let n = decompress(codec, &out[..], &mut back).unwrap();
                assert_eq!(n, data.len() as u64);
                assert_eq!(back, data, "{codec:?}");
            }
            // Empty: one empty frame, which reads back as nothing.
            let out = Frames::new(Vec::new(), frame, 1024, 2).finish().unwrap();
            assert!(!out.is_empty());
            let mut back = Vec::new();
            assert_eq!(decompress(codec, &out[..], &mut back).unwrap(), 0);
            // An empty file (XtraBackup writes no frame for one) is an empty file.
            assert_eq!(decompress(codec, &[][..], &mut back).unwrap(), 0);
        }
    }

    #[test]
    fn damage_anywhere_is_an_error_with_an_offset_never_a_panic() {
        let data: Vec<u8> = (0..200_000u32).map(|i| (i * 13 % 97) as u8).collect();
        for (frame, codec) in [
            (lz4::frame as FrameFn, Codec::Lz4),
            (zstd::frame_level_1, Codec::Zstd { level: 1 }),
        ] {
            let mut f = Frames::new(Vec::new(), frame, 16384, 1);
            f.write_all(&data).unwrap();
            let good = f.finish().unwrap();
            // Every truncation but the frame boundaries fails; flipped bytes never panic and
            // never pass silently with wrong data.
            for cut in (1..good.len()).step_by(97) {
                let mut out = Vec::new();
                if decompress(codec, &good[..cut], &mut out).is_ok() {
                    assert!(data.starts_with(&out), "{codec:?} cut {cut}");
                }
            }
            let mut out = Vec::new();
            let e = decompress(codec, &good[..good.len() - 1], &mut out).unwrap_err();
            assert!(matches!(e, Error::Corrupt { .. }), "{codec:?}: {e}");
            for at in (0..good.len()).step_by(31) {
                let mut bad = good.clone();
                bad[at] ^= 0x5a;
                let mut out = Vec::new();
                match decompress(codec, &bad[..], &mut out) {
                    Ok(_) => assert_eq!(out, data, "{codec:?} flip at {at} passed with wrong data"),
                    Err(Error::Corrupt { offset, .. }) => {
                        assert!(
                            offset <= at as u64,
                            "{codec:?} flip at {at}: offset {offset}"
                        )
                    }
                    Err(e) => panic!("{codec:?} flip at {at}: {e}"),
                }
            }
        }
    }

    /// The real `lz4` / `zstd` tools (when installed) read our files, and we read theirs:
    /// default options, linked lz4 blocks (`-BD`), block checksums (`-BX`), content size,
    /// several frames, high levels, `--long`.
    #[test]
    fn the_lz4_and_zstd_tools_read_our_files_and_we_read_theirs() {
        use std::process::{Command, Stdio};
        let data: Vec<u8> = (0..3_000_000u32)
            .map(|i| ((i / 7) % 251) as u8 ^ (i % 3) as u8)
            .collect();
        let run = |tool: &str, args: &[&str], input: &[u8]| -> Option<Vec<u8>> {
            let mut child = Command::new(tool)
                .args(args)
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()
                .ok()?;
            let mut stdin = child.stdin.take().unwrap();
            let input = input.to_vec();
            let feeder = std::thread::spawn(move || stdin.write_all(&input));
            let out = child.wait_with_output().unwrap();
            feeder.join().unwrap().unwrap();
            assert!(out.status.success(), "{tool} {args:?}");
            Some(out.stdout)
        };
        for (tool, frame, codec, variants) in [
            (
                "lz4",
                lz4::frame as FrameFn,
                Codec::Lz4,
                &[
                    &["-c"][..],
                    &["-c", "-BD"],
                    &["-c", "-BX", "--content-size"],
                    &["-c", "-B4"],
                ][..],
            ),
            (
                "zstd",
                zstd::frame_level_1,
                Codec::Zstd { level: 1 },
                &[
                    &["-c"][..],
                    &["-c", "-19"],
                    &["-c", "--long=24"],
                    &["-c", "-T2", "-B1MiB"],
                ],
            ),
        ] {
            let mut f = Frames::new(Vec::new(), frame, 65536, 2);
            f.write_all(&data).unwrap();
            let ours = f.finish().unwrap();
            let Some(theirs_of_ours) = run(tool, &["-d", "-c"], &ours) else {
                eprintln!("{tool} is not installed: skipped");
                continue;
            };
            assert!(theirs_of_ours == data, "{tool} -d of our file");
            let empty = Frames::new(Vec::new(), frame, 65536, 1).finish().unwrap();
            assert_eq!(run(tool, &["-d", "-c"], &empty).unwrap(), b"");
            for args in variants {
                let theirs = run(tool, args, &data).unwrap();
                let mut back = Vec::new();
                decompress(codec, &theirs[..], &mut back)
                    .unwrap_or_else(|e| panic!("{tool} {args:?}: {e}"));
                assert!(back == data, "{tool} {args:?}");
                // Two of their files one after the other are one file of both contents.
                let mut two = theirs.clone();
                two.extend_from_slice(&theirs);
                back.clear();
                decompress(codec, &two[..], &mut back).unwrap();
                assert_eq!(back.len(), 2 * data.len(), "{tool} {args:?}");
            }
        }
    }
}
