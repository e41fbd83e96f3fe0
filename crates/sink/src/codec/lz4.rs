//! LZ4 frames (the LZ4 frame format 1.6.x) as XtraBackup 8.0's `--compress=lz4` writes them,
//! and a strict reader for any frame the `lz4` tool writes.
//!
//! A frame written here holds one chunk: magic `04 22 4D 18`, FLG `0x6C` (version 01,
//! independent blocks, no block checksum, content size, content checksum), BD (the largest
//! block size: 64 KiB, 256 KiB, 1 MiB or 4 MiB, the smallest that holds the chunk size), the
//! content size (u64), the header checksum (second byte of the XXH32 of FLG..size); one
//! block, its u32 size (the high bit set when it is stored uncompressed), its data; the end
//! mark (u32 0); the XXH32 of the content. All integers little-endian.

use std::hash::Hasher as _;
use std::io::{self, Read, Write};

use twox_hash::XxHash32;

use super::{corrupt, Counted, Error};

/// The largest block the format has (BD 7): the largest `--compress-chunk-size` for lz4.
pub const MAX_BLOCK: usize = 4 << 20;

const MAGIC: u32 = 0x184D_2204;
/// lz4's old format, which the `lz4` tool writes only with `-l`.
const LEGACY_MAGIC: u32 = 0x184C_2102;
/// Skippable frames: magic 0x184D2A50..=0x184D2A5F, a u32 size, that many bytes.
const SKIPPABLE: u32 = 0x184D_2A50;
const UNCOMPRESSED: u32 = 1 << 31;
/// How far back a block of a linked frame may refer into the blocks before it.
const WINDOW: usize = 64 << 10;

/// The BD code of the smallest block size that holds `len` bytes (4..=7).
fn block_code(len: usize) -> u8 {
    [0x1_0000, 0x4_0000, 0x10_0000]
        .iter()
        .position(|&max| len <= max)
        .map_or(7, |i| 4 + i as u8)
}

/// The largest block size of BD code `code` (4..=7).
fn block_max(code: u8) -> usize {
    1 << (8 + 2 * code as usize)
}

/// One frame holding `chunk` (at most [`MAX_BLOCK`] bytes).
pub fn frame(chunk: &[u8]) -> io::Result<Vec<u8>> {
    if chunk.len() > MAX_BLOCK {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "an lz4 block holds at most {MAX_BLOCK} bytes, not {}",
                chunk.len()
            ),
        ));
    }
    let compressed = lz4_flex::block::compress(chunk);
    let mut out = Vec::with_capacity(27 + compressed.len().min(chunk.len()));
    out.extend_from_slice(&MAGIC.to_le_bytes());
    out.push(0x6C);
    out.push(block_code(chunk.len()) << 4);
    out.extend_from_slice(&(chunk.len() as u64).to_le_bytes());
    out.push((XxHash32::oneshot(0, &out[4..]) >> 8) as u8);
    if !chunk.is_empty() {
        if compressed.len() < chunk.len() {
            out.extend_from_slice(&(compressed.len() as u32).to_le_bytes());
            out.extend_from_slice(&compressed);
        } else {
            out.extend_from_slice(&(chunk.len() as u32 | UNCOMPRESSED).to_le_bytes());
            out.extend_from_slice(chunk);
        }
    }
    out.extend_from_slice(&0u32.to_le_bytes());
    out.extend_from_slice(&XxHash32::oneshot(0, chunk).to_le_bytes());
    Ok(out)
}

/// Decompresses concatenated LZ4 frames (and skippable frames) from `input` into `output`;
/// returns the bytes written. An empty input is an empty file. Every checksum present is
/// checked, and the content size when given. Refused: the legacy format, frames that need
/// a dictionary, reserved bits set, anything cut short. Memory: one block (≤ 4 MiB) and the
/// 64 KiB a linked block may refer back to.
pub fn decompress<R: Read, W: Write>(input: R, output: &mut W) -> Result<u64, Error> {
    let mut r = Counted {
        inner: input,
        offset: 0,
    };
    let mut total = 0u64;
    let mut block = Vec::new();
    let mut data = Vec::new();
    loop {
        let start = r.offset;
        let mut magic = [0u8; 4];
        match r.fill(&mut magic)? {
            0 => {
                output.flush().map_err(Error::Write)?;
                return Ok(total);
            }
            4 => {}
            _ => {
                return Err(corrupt(
                    start,
                    "file ends inside an lz4 frame's magic number",
                ))
            }
        }
        let magic = u32::from_le_bytes(magic);
        if magic & 0xFFFF_FFF0 == SKIPPABLE {
            let len = u32::from_le_bytes(exact(&mut r, start, "a skippable frame")?);
            let skipped = io::copy(&mut (&mut r.inner).take(len.into()), &mut io::sink())
                .map_err(Error::Read)?;
            r.offset += skipped;
            if skipped < len.into() {
                return Err(corrupt(start, "file ends inside a skippable lz4 frame"));
            }
            continue;
        }
        if magic == LEGACY_MAGIC {
            return Err(corrupt(
                start,
                "legacy lz4 format (lz4 -l) is not supported: recompress without -l",
            ));
        }
        if magic != MAGIC {
            return Err(corrupt(
                start,
                format!("not an lz4 frame (magic {magic:#010x})"),
            ));
        }
        total += read_frame(&mut r, start, output, &mut block, &mut data)?;
    }
}

/// Reads `N` bytes that must be there.
fn exact<R: Read, const N: usize>(
    r: &mut Counted<R>,
    frame: u64,
    what: &str,
) -> Result<[u8; N], Error> {
    let mut b = [0u8; N];
    if r.fill(&mut b)? < N {
        return Err(corrupt(
            frame,
            format!("file ends inside {what} (lz4 frame at byte {frame})"),
        ));
    }
    Ok(b)
}

/// One frame after its magic number; returns its content length.
fn read_frame<R: Read, W: Write>(
    r: &mut Counted<R>,
    start: u64,
    output: &mut W,
    block: &mut Vec<u8>,
    data: &mut Vec<u8>,
) -> Result<u64, Error> {
    let [flg, bd] = exact(r, start, "an lz4 frame header")?;
    let head_at = start + 4;
    if flg >> 6 != 1 || flg & 0b10 != 0 || bd & 0x8F != 0 || !(4..=7).contains(&(bd >> 4)) {
        return Err(corrupt(
            head_at,
            "bad lz4 frame header (unknown version or reserved bits set)",
        ));
    }
    if flg & 1 != 0 {
        return Err(corrupt(
            head_at,
            "lz4 frame needs a dictionary, which no backup uses",
        ));
    }
    let independent = flg & 0x20 != 0;
    let block_checksums = flg & 0x10 != 0;
    let has_size = flg & 0x08 != 0;
    let content_checksum = flg & 0x04 != 0;
    let mut header = vec![flg, bd];
    let size = if has_size {
        let s: [u8; 8] = exact(r, start, "an lz4 frame header")?;
        header.extend_from_slice(&s);
        Some(u64::from_le_bytes(s))
    } else {
        None
    };
    let [hc] = exact(r, start, "an lz4 frame header")?;
    if hc != (XxHash32::oneshot(0, &header) >> 8) as u8 {
        return Err(corrupt(head_at, "lz4 frame header checksum mismatch"));
    }
    let max = block_max(bd >> 4);
    let mut hash = XxHash32::with_seed(0);
    let mut got = 0u64;
    // The last WINDOW bytes of a linked frame's output, which its next block may refer to.
    let mut window: Vec<u8> = Vec::new();
    loop {
        let at = r.offset;
        let word = u32::from_le_bytes(exact(r, start, "an lz4 block size")?);
        if word == 0 {
            break;
        }
        let stored = word & UNCOMPRESSED != 0;
        let len = (word & !UNCOMPRESSED) as usize;
        if len > max {
            return Err(corrupt(
                at,
                format!("lz4 block of {len} bytes, more than the frame's {max}"),
            ));
        }
        block.clear();
        block.resize(len, 0);
        if r.fill(block)? < len {
            return Err(corrupt(at, "file ends inside an lz4 block"));
        }
        if block_checksums {
            let sum = u32::from_le_bytes(exact(r, start, "an lz4 block checksum")?);
            if sum != XxHash32::oneshot(0, block) {
                return Err(corrupt(at, "lz4 block checksum mismatch"));
            }
        }
        let content: &[u8] = if stored {
            block
        } else {
            data.clear();
            data.resize(max, 0);
            let n = if independent || window.is_empty() {
                lz4_flex::block::decompress_into(block, data)
            } else {
                lz4_flex::block::decompress_into_with_dict(block, data, &window)
            }
            .map_err(|e| corrupt(at, format!("damaged lz4 block: {e}")))?;
            &data[..n]
        };
        hash.write(content);
        got += content.len() as u64;
        if size.is_some_and(|s| got > s) {
            return Err(corrupt(
                at,
                format!(
                    "lz4 frame holds more than its content size {}",
                    size.unwrap_or(0)
                ),
            ));
        }
        output.write_all(content).map_err(Error::Write)?;
        if !independent {
            window.extend_from_slice(content);
            let drop = window.len().saturating_sub(WINDOW);
            window.drain(..drop);
        }
    }
    if let Some(s) = size.filter(|&s| s != got) {
        return Err(corrupt(
            start,
            format!("lz4 frame holds {got} bytes, its header says {s}"),
        ));
    }
    if content_checksum {
        let sum = u32::from_le_bytes(exact(r, start, "an lz4 content checksum")?);
        if sum != hash.finish_32() {
            return Err(corrupt(
                start,
                "lz4 content checksum mismatch (the data is damaged)",
            ));
        }
    }
    Ok(got)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn block_sizes() {
        for (len, code, max) in [
            (0, 4, 65536),
            (65536, 4, 65536),
            (65537, 5, 262144),
            (1 << 20, 6, 1 << 20),
            (MAX_BLOCK, 7, MAX_BLOCK),
        ] {
            assert_eq!(block_code(len), code, "{len}");
            assert_eq!(block_max(code), max, "{code}");
        }
        assert!(frame(&vec![0; MAX_BLOCK + 1]).is_err());
    }

    #[test]
    fn frame_layout_as_xtrabackup_writes_it() {
        let f = frame(b"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa").unwrap();
        assert_eq!(&f[..6], &[0x04, 0x22, 0x4D, 0x18, 0x6C, 0x40]);
        assert_eq!(u64::from_le_bytes(f[6..14].try_into().unwrap()), 40);
        let len = u32::from_le_bytes(f[15..19].try_into().unwrap()) as usize;
        assert!(len < 40);
        assert_eq!(&f[19 + len..23 + len], &[0, 0, 0, 0]);
        assert_eq!(f.len(), 27 + len);
        // Incompressible data is stored, with the high bit.
        let noise: Vec<u8> = (0..100u32)
            .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
            .collect();
        let f = frame(&noise).unwrap();
        assert_eq!(
            u32::from_le_bytes(f[15..19].try_into().unwrap()),
            100 | UNCOMPRESSED
        );
        let mut out = Vec::new();
        assert_eq!(decompress(&f[..], &mut out).unwrap(), 100);
        assert_eq!(out, noise);
    }

    #[test]
    fn skippable_frames_are_skipped_and_the_legacy_format_refused() {
        let mut input = vec![0x5A, 0x2A, 0x4D, 0x18, 3, 0, 0, 0, 1, 2, 3];
        input.extend(frame(b"hello").unwrap());
        let mut out = Vec::new();
        assert_eq!(decompress(&input[..], &mut out).unwrap(), 5);
        assert_eq!(out, b"hello");
        let e = decompress(&[0x02, 0x21, 0x4C, 0x18, 0, 0, 0, 0][..], &mut out).unwrap_err();
        assert!(e.to_string().contains("legacy lz4 format"), "{e}");
        let e = decompress(&b"qpress10"[..], &mut out).unwrap_err();
        assert_eq!(
            e.to_string(),
            "not an lz4 frame (magic 0x65727071) at byte 0"
        );
    }
}
