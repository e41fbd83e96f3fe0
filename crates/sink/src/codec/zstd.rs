//! Zstandard frames as XtraBackup 8.0's `--compress=zstd` writes them (with the content
//! checksum; the content size is in every frame header), through libzstd (the `zstd` crate),
//! and a reader for any concatenation of zstd frames.

use std::cell::RefCell;
use std::io::{self, Read, Write};

use zstd::stream::raw::{Decoder, InBuffer, Operation, OutBuffer};

use super::{corrupt, Error};

/// XtraBackup's `--compress-zstd-level` default.
pub const DEFAULT_LEVEL: i32 = 1;

/// One frame holding `chunk`, at `level`. Each thread keeps its libzstd context between
/// calls (a context is a few hundred KiB to set up).
pub fn frame(chunk: &[u8], level: i32) -> io::Result<Vec<u8>> {
    thread_local! {
        static CONTEXT: RefCell<Option<(i32, zstd::bulk::Compressor<'static>)>> =
            const { RefCell::new(None) };
    }
    CONTEXT.with(|cell| {
        let mut slot = cell.borrow_mut();
        if !matches!(&*slot, Some((l, _)) if *l == level) {
            let mut c = zstd::bulk::Compressor::new(level)?;
            c.include_checksum(true)?;
            c.include_contentsize(true)?;
            *slot = Some((level, c));
        }
        let (_, c) = slot.as_mut().expect("set above");
        c.compress(chunk)
    })
}

/// [`frame`] at level 1 (a [`super::FrameFn`]).
pub fn frame_level_1(chunk: &[u8]) -> io::Result<Vec<u8>> {
    frame(chunk, 1)
}

/// The [`super::FrameFn`] for `level` (1..=19), or `None` for a level without one.
pub fn frame_fn(level: i32) -> Option<super::FrameFn> {
    macro_rules! levels {
        ($($n:literal)*) => {
            match level {
                $($n => Some(|c: &[u8]| frame(c, $n)),)*
                _ => None,
            }
        };
    }
    levels!(1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19)
}

/// Decompresses concatenated zstd frames (and skippable frames) from `input` into `output`;
/// returns the bytes written. An empty input is an empty file. A damaged or cut frame is
/// [`Error::Corrupt`] at the offset where that frame starts. Memory: libzstd's default window
/// limit (128 MiB) and two 128 KiB buffers.
pub fn decompress<R: Read, W: Write>(mut input: R, output: &mut W) -> Result<u64, Error> {
    let mut dec = Decoder::new().map_err(Error::Read)?;
    let mut inbuf = vec![0u8; zstd::zstd_safe::DCtx::in_size()];
    let mut outbuf = vec![0u8; zstd::zstd_safe::DCtx::out_size()];
    // Offset of the first byte of `inbuf`, of the frame being decoded, and whether one is.
    let mut base = 0u64;
    let mut frame_start = 0u64;
    let mut in_frame = false;
    let mut total = 0u64;
    loop {
        let n = match input.read(&mut inbuf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(Error::Read(e)),
        };
        let mut src = InBuffer::around(&inbuf[..n]);
        loop {
            let before = src.pos();
            let mut dst = OutBuffer::around(&mut outbuf[..]);
            let hint = dec
                .run(&mut src, &mut dst)
                .map_err(|e| corrupt(frame_start, format!("damaged zstd frame: {e}")))?;
            let produced = dst.pos();
            let full = produced == outbuf.len();
            output
                .write_all(&outbuf[..produced])
                .map_err(Error::Write)?;
            total += produced as u64;
            if src.pos() > before || produced > 0 {
                in_frame = true;
            }
            if hint == 0 {
                // The frame is whole; the next one starts where its input stopped.
                in_frame = false;
                frame_start = base + src.pos() as u64;
            }
            if src.pos() == n && !full {
                break;
            }
        }
        base += n as u64;
    }
    if in_frame {
        return Err(corrupt(
            frame_start,
            "file ends inside a zstd frame (truncated)",
        ));
    }
    output.flush().map_err(Error::Write)?;
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_carry_size_and_checksum_and_levels_have_functions() {
        let f = frame(b"some bytes some bytes some bytes", 1).unwrap();
        assert_eq!(&f[..4], &[0x28, 0xB5, 0x2F, 0xFD]);
        // Frame header descriptor: a content size field, the checksum flag.
        assert_ne!(f[4] & 0xC0 | f[4] & 0x20, 0, "content size");
        assert_ne!(f[4] & 0x04, 0, "checksum");
        assert!(frame_fn(0).is_none() && frame_fn(20).is_none());
        let f3 = frame_fn(3).unwrap()(b"abc").unwrap();
        let mut out = Vec::new();
        assert_eq!(decompress(&f3[..], &mut out).unwrap(), 3);
        assert_eq!(out, b"abc");
    }

    #[test]
    fn junk_after_frames_is_refused_where_it_starts() {
        let mut input = frame(b"hello", 1).unwrap();
        let at = input.len() as u64;
        input.extend_from_slice(b"qpress10");
        let mut out = Vec::new();
        match decompress(&input[..], &mut out) {
            Err(Error::Corrupt { offset, .. }) => assert_eq!(offset, at),
            other => panic!("{other:?}"),
        }
    }
}
