//! QuickLZ 1.5 level 1 block codec, as mariadb-backup builds it (no streaming buffer).
//!
//! A block is a header and a body. The header's first byte is `01SSLLHC`: bit 6 always set,
//! `SS` the streaming-buffer setting (0 here), `LL` the level (1), `H` set for a 9-byte header
//! (u32 compressed size, u32 original size, both little-endian and counting the header) and
//! clear for a 3-byte one (u8 sizes, used below 216 input bytes), `C` set when the body is
//! compressed and clear when it is the input stored as is.
//!
//! A compressed body is a sequence of groups: a little-endian u32 control word whose bits,
//! lowest first, say for each of the next 31 items whether it is a literal byte (0) or a match
//! (1); bit 31 is a sentinel. A match does not carry a distance: it names one of 4096 hash
//! slots, and the slot holds the last position whose first three bytes hashed there. Both
//! sides keep that table in step, so the decoder must hash exactly the positions the encoder
//! hashed: every literal and every match start, never the inside of a match. A match is two
//! bytes `hash << 4 | (len - 2)` for lengths 3..=17, or three bytes `hash << 4` followed by
//! the length (18..=255). The last ten bytes of the input are always literals, and at least
//! four literals follow the last match.
//!
//! The compressor here produces the bytes QuickLZ produces on x86-64, with one exception:
//! QuickLZ pads a body shorter than 9 bytes (an input of at most 4 bytes) with whatever its
//! output buffer held; this one pads with zeros. Decoding never panics and never reads or
//! writes outside the block; anything that does not decode is a [`BlockError`].

/// Hash slots of level 1.
const HASH_VALUES: usize = 4096;
/// Bytes at the end of the input that are always literals.
const UNCONDITIONAL_MATCHLEN: isize = 6;
const UNCOMPRESSED_END: isize = 4;
/// A match's source must lie at least this far plus one behind (except runs, see below).
const MINOFFSET: usize = 2;
/// Inputs below this size get the 3-byte header.
const SHORT_HEADER_LIMIT: usize = 216;
/// QuickLZ refuses inputs this close to 4 GiB.
pub const MAX_INPUT: usize = 0xffff_ffff - 400;
/// Bytes a compressed block may exceed its input by (header and control words).
pub const MAX_OVERHEAD: usize = 400;

/// Header flags: bit 6 always, level 1 in bits 2-3, no streaming buffer.
const FLAGS_FIXED: u8 = (1 << 6) | (1 << 2);
const FLAG_LONG_HEADER: u8 = 2;
const FLAG_COMPRESSED: u8 = 1;

/// Why a block does not decode; `at` is a byte offset inside the block.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BlockError {
    #[error("block header flags {flags:#04x} are not QuickLZ level 1 without streaming buffer")]
    Flags { flags: u8 },
    #[error("block is {have} bytes, shorter than its {need}-byte header")]
    ShortHeader { have: usize, need: usize },
    #[error("block header says {header} bytes, the block has {have}")]
    SizeMismatch { header: usize, have: usize },
    #[error("stored block of {body} bytes says it holds {original}")]
    StoredSize { body: usize, original: usize },
    #[error("block says it holds {original} bytes, more than {limit} allowed here")]
    TooLarge { original: usize, limit: usize },
    #[error("block says it holds 0 bytes")]
    Empty,
    #[error("compressed data ends early at block byte {at}")]
    Truncated { at: usize },
    #[error("match at block byte {at} refers to {what}")]
    BadMatch { at: usize, what: &'static str },
}

/// The three numbers of a block header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// 3 or 9.
    pub header_len: usize,
    /// Whole block, header included.
    pub compressed_len: usize,
    /// Bytes the block decodes to.
    pub original_len: usize,
}

/// Header length announced by a block's first byte.
pub fn header_len(first: u8) -> usize {
    if first & FLAG_LONG_HEADER != 0 {
        9
    } else {
        3
    }
}

/// Parses a block header from the first 3 or 9 bytes of `block`.
pub fn parse_header(block: &[u8]) -> Result<Header, BlockError> {
    let Some(&flags) = block.first() else {
        return Err(BlockError::ShortHeader { have: 0, need: 3 });
    };
    if flags & !(FLAG_LONG_HEADER | FLAG_COMPRESSED) != FLAGS_FIXED {
        return Err(BlockError::Flags { flags });
    }
    let need = header_len(flags);
    if block.len() < need {
        return Err(BlockError::ShortHeader {
            have: block.len(),
            need,
        });
    }
    let (compressed_len, original_len) = if need == 9 {
        (le32(&block[1..5]) as usize, le32(&block[5..9]) as usize)
    } else {
        (usize::from(block[1]), usize::from(block[2]))
    };
    Ok(Header {
        header_len: need,
        compressed_len,
        original_len,
    })
}

fn le32(b: &[u8]) -> u32 {
    u32::from_le_bytes([b[0], b[1], b[2], b[3]])
}

/// QuickLZ level 1's hash of the first three bytes of `fetch` (little-endian).
fn hash(fetch: u32) -> usize {
    (((fetch >> 12) ^ fetch) & (HASH_VALUES as u32 - 1)) as usize
}

fn hash_at(data: &[u8], pos: usize) -> usize {
    hash(u32::from_le_bytes([
        data[pos],
        data[pos + 1],
        data[pos + 2],
        0,
    ]))
}

/// Compresses `input` (1..=[`MAX_INPUT`] bytes) into one block appended to `out`.
/// Panics on an empty or oversized input (a caller error, never data-dependent).
pub fn compress(input: &[u8], out: &mut Vec<u8>) {
    assert!(
        !input.is_empty() && input.len() <= MAX_INPUT,
        "QuickLZ block of {} bytes",
        input.len()
    );
    let start = out.len();
    let header = if input.len() < SHORT_HEADER_LIMIT {
        3
    } else {
        9
    };
    out.resize(start + header, 0);
    let compressed = compress_body(input, out);
    if !compressed {
        out.truncate(start + header);
        out.extend_from_slice(input);
    }
    let total = out.len() - start;
    let mut flags = FLAGS_FIXED | u8::from(compressed);
    if header == 3 {
        out[start + 1] = total as u8;
        out[start + 2] = input.len() as u8;
    } else {
        flags |= FLAG_LONG_HEADER;
        out[start + 1..start + 5].copy_from_slice(&(total as u32).to_le_bytes());
        out[start + 5..start + 9].copy_from_slice(&(input.len() as u32).to_le_bytes());
    }
    out[start] = flags;
}

/// Whether `data[at..=at + n]` are all equal to `data[at]`.
fn same(data: &[u8], at: usize, n: usize) -> bool {
    data[at + 1..=at + n].iter().all(|&b| b == data[at])
}

/// Appends the compressed body of `input` to `out`; false (with `out` partly written) when
/// QuickLZ gives up because the data does not compress.
fn compress_body(input: &[u8], out: &mut Vec<u8>) -> bool {
    let base = out.len();
    let size = input.len();
    let last_byte = size - 1;
    let last_matchstart = last_byte as isize - UNCONDITIONAL_MATCHLEN - UNCOMPRESSED_END;
    // Per slot: the four bytes last seen there and their position (0 = empty: a match is never
    // taken from the block's first byte).
    let mut cache = vec![0u32; HASH_VALUES];
    let mut offset = vec![0usize; HASH_VALUES];
    let read4 = |at: usize| le32(&input[at..at + 4]);

    let mut cword_at = base;
    out.extend_from_slice(&[0; 4]);
    let mut cword: u32 = 1 << 31;
    let mut src = 0usize;
    let mut lits = 0u32;
    let mut fetch = if last_matchstart >= 0 { read4(0) } else { 0 };

    while src as isize <= last_matchstart {
        if cword & 1 == 1 {
            if src > size >> 1 && out.len() - base > src - (src >> 5) {
                return false;
            }
            out[cword_at..cword_at + 4].copy_from_slice(&((cword >> 1) | (1 << 31)).to_le_bytes());
            cword_at = out.len();
            out.extend_from_slice(&[0; 4]);
            cword = 1 << 31;
            fetch = read4(src);
        }
        let h = hash(fetch);
        let cached = fetch ^ cache[h];
        cache[h] = fetch;
        let o = offset[h];
        offset[h] = src;
        let usable = cached & 0xff_ffff == 0
            && o != 0
            && (src - o > MINOFFSET
                || (src == o + 1 && lits >= 3 && src > 3 && same(input, src - 3, 6)));
        if usable {
            let code = (h as u32) << 4;
            cword = (cword >> 1) | (1 << 31);
            if cached != 0 {
                // Only three bytes agree.
                out.extend_from_slice(&(code | 1).to_le_bytes()[..2]);
                src += 3;
            } else {
                let old = src;
                src += 4;
                if input[o + (src - old)] == input[src] {
                    src += 1;
                    if input[o + (src - old)] == input[src] {
                        let q = last_byte - UNCOMPRESSED_END as usize - (src - 5) + 1;
                        let remaining = q.min(255);
                        src += 1;
                        while src - old < remaining && input[o + (src - old)] == input[src] {
                            src += 1;
                        }
                    }
                }
                let len = (src - old) as u32;
                if len < 18 {
                    out.extend_from_slice(&(code | (len - 2)).to_le_bytes()[..2]);
                } else {
                    out.extend_from_slice(&(code | (len << 16)).to_le_bytes()[..3]);
                }
            }
            fetch = read4(src);
            lits = 0;
        } else {
            lits += 1;
            out.push(input[src]);
            src += 1;
            cword >>= 1;
            fetch = read4(src);
        }
    }
    // The tail: literals only. (QuickLZ also hashes these positions, which only matters to
    // later blocks of a streaming buffer; there is none.)
    while src <= last_byte {
        if cword & 1 == 1 {
            out[cword_at..cword_at + 4].copy_from_slice(&((cword >> 1) | (1 << 31)).to_le_bytes());
            cword_at = out.len();
            out.extend_from_slice(&[0; 4]);
            cword = 1 << 31;
        }
        out.push(input[src]);
        src += 1;
        cword >>= 1;
    }
    while cword & 1 != 1 {
        cword >>= 1;
    }
    out[cword_at..cword_at + 4].copy_from_slice(&((cword >> 1) | (1 << 31)).to_le_bytes());
    // QuickLZ's size readers look at 9 bytes, so a body is never shorter.
    if out.len() - base < 9 {
        out.resize(base + 9, 0);
    }
    true
}

/// Decodes one whole block (`block.len()` must be its header's compressed size) into `out`
/// (cleared first). `limit` bounds the original size the header may claim.
pub fn decompress(block: &[u8], out: &mut Vec<u8>, limit: usize) -> Result<(), BlockError> {
    let header = parse_header(block)?;
    if header.compressed_len != block.len() {
        return Err(BlockError::SizeMismatch {
            header: header.compressed_len,
            have: block.len(),
        });
    }
    let size = header.original_len;
    if size > limit {
        return Err(BlockError::TooLarge {
            original: size,
            limit,
        });
    }
    out.clear();
    let body = &block[header.header_len..];
    if block[0] & FLAG_COMPRESSED == 0 {
        if body.len() != size {
            return Err(BlockError::StoredSize {
                body: body.len(),
                original: size,
            });
        }
        out.extend_from_slice(body);
        return Ok(());
    }
    if size == 0 {
        return Err(BlockError::Empty);
    }
    // A level-1 item expands at most 255 bytes out of 3 bytes in: a larger claim is a lie, and
    // reserving for it would let a small file ask for gigabytes.
    out.reserve(size.min(body.len().saturating_mul(86)));
    decode_body(block, header.header_len, size, out)?;
    Ok(())
}

/// The decoding loop. Positions in `block` are reported in errors.
fn decode_body(
    block: &[u8],
    mut src: usize,
    size: usize,
    out: &mut Vec<u8>,
) -> Result<(), BlockError> {
    const BITLUT: [u32; 16] = [4, 0, 1, 0, 2, 0, 1, 0, 3, 0, 1, 0, 2, 0, 1, 0];
    let end = block.len();
    // Where QuickLZ's decoder switches to "the rest is literals".
    let last_matchstart = size as isize - 1 - UNCONDITIONAL_MATCHLEN - UNCOMPRESSED_END;
    let mut table = vec![usize::MAX; HASH_VALUES];
    // Positions before this one are hashed.
    let mut hashed = 0usize;
    let mut cword: u32 = 1;

    loop {
        if cword == 1 {
            if src + 4 > end {
                return Err(BlockError::Truncated { at: src });
            }
            cword = le32(&block[src..src + 4]);
            src += 4;
        }
        if src + 4 > end {
            return Err(BlockError::Truncated { at: src });
        }
        let fetch = le32(&block[src..src + 4]);
        let dst = out.len();
        if cword & 1 == 1 {
            let at = src;
            cword >>= 1;
            let h = ((fetch >> 4) & 0xfff) as usize;
            let len = if fetch & 0xf != 0 {
                src += 2;
                (fetch & 0xf) as usize + 2
            } else {
                src += 3;
                usize::from(block[at + 2])
            };
            if len < 3 {
                return Err(BlockError::BadMatch {
                    at,
                    what: "a length below 3",
                });
            }
            let from = table[h];
            if from == usize::MAX || from + MINOFFSET + 1 > dst {
                return Err(BlockError::BadMatch {
                    at,
                    what: "a hash slot not filled yet",
                });
            }
            if dst + len + UNCOMPRESSED_END as usize > size {
                return Err(BlockError::BadMatch {
                    at,
                    what: "bytes past the block's end",
                });
            }
            if from + len <= dst {
                out.extend_from_within(from..from + len);
            } else {
                // Source and destination overlap (a run): byte by byte.
                for i in 0..len {
                    let b = out[from + i];
                    out.push(b);
                }
            }
            while hashed <= dst {
                table[hash_at(out, hashed)] = hashed;
                hashed += 1;
            }
            hashed = dst + len;
        } else if (dst as isize) < last_matchstart {
            let n = BITLUT[(cword & 0xf) as usize];
            out.extend_from_slice(&block[src..src + n as usize]);
            cword >>= n;
            src += n as usize;
            // Hash every position whose three bytes are now known.
            while hashed + 3 <= out.len() {
                table[hash_at(out, hashed)] = hashed;
                hashed += 1;
            }
        } else {
            // The last bytes: literals, control words skipped unread.
            while out.len() < size {
                if cword == 1 {
                    src += 4;
                    cword = 1 << 31;
                }
                let Some(&b) = block.get(src) else {
                    return Err(BlockError::Truncated { at: src });
                };
                out.push(b);
                src += 1;
                cword >>= 1;
            }
            return Ok(());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roundtrip(input: &[u8]) -> Vec<u8> {
        let mut block = Vec::new();
        compress(input, &mut block);
        let h = parse_header(&block).unwrap();
        assert_eq!(h.compressed_len, block.len());
        assert_eq!(h.original_len, input.len());
        assert!(block.len() <= input.len() + MAX_OVERHEAD);
        let mut out = Vec::new();
        decompress(&block, &mut out, input.len()).unwrap();
        assert_eq!(out, input, "roundtrip of {} bytes", input.len());
        block
    }

    /// A small deterministic generator (xorshift) for test data.
    fn noise(seed: u64, n: usize) -> Vec<u8> {
        let mut x = seed | 1;
        (0..n)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect()
    }

    #[test]
    fn roundtrips() {
        let text = b"the quick brown fox jumps over the lazy dog; ".repeat(300);
        let mut mixed = noise(7, 3000);
        mixed.extend_from_slice(&[0u8; 5000]);
        mixed.extend(text.iter().take(4000));
        mixed.extend(noise(9, 100));
        let cases: Vec<Vec<u8>> = vec![
            vec![0],
            vec![1, 2, 3, 4],
            b"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa".to_vec(),
            b"abcabcabcabcabcabcabcabcabcabcabcabcabcabcabc".to_vec(),
            vec![7u8; 215],
            vec![7u8; 216],
            vec![0u8; 65536],
            noise(1, 65536),
            noise(2, 215),
            text.clone(),
            mixed,
        ];
        for c in &cases {
            roundtrip(c);
        }
        for n in 0..300 {
            roundtrip(&text[..n + 1]);
            roundtrip(&noise(n as u64, n + 1));
        }
    }

    #[test]
    fn header_forms() {
        // (input, first byte, header length): short/long header, compressed/stored.
        for (input, flags, hlen) in [
            (vec![0u8; 100], 0x45, 3),
            (vec![0u8; 1000], 0x47, 9),
            (noise(3, 100), 0x44, 3),
            (noise(3, 1000), 0x46, 9),
        ] {
            let block = roundtrip(&input);
            assert_eq!(block[0], flags);
            assert_eq!(header_len(block[0]), hlen);
        }
    }

    #[test]
    fn known_block() {
        // 20 zero bytes: short header, compressed (three literals, then a run match).
        let mut block = Vec::new();
        compress(&[0u8; 20], &mut block);
        assert_eq!(block[..3], [0x45, block.len() as u8, 20]);
        let mut out = Vec::new();
        decompress(&block, &mut out, 20).unwrap();
        assert_eq!(out, [0u8; 20]);
    }

    #[test]
    fn refusals() {
        let mut good = Vec::new();
        compress(
            &b"hello hello hello hello hello hello".repeat(20),
            &mut good,
        );
        let mut out = Vec::new();
        let check = |block: &[u8], limit: usize, expected: BlockError| {
            let mut out = Vec::new();
            assert_eq!(decompress(block, &mut out, limit), Err(expected));
        };
        check(&[], 10, BlockError::ShortHeader { have: 0, need: 3 });
        check(&[0x4c, 3, 0], 10, BlockError::Flags { flags: 0x4c });
        check(
            &[0x47, 0, 0],
            10,
            BlockError::ShortHeader { have: 3, need: 9 },
        );
        check(
            &[0x44, 4, 1, 9, 9],
            10,
            BlockError::SizeMismatch { header: 4, have: 5 },
        );
        check(
            &[0x44, 4, 2, 9],
            10,
            BlockError::StoredSize {
                body: 1,
                original: 2,
            },
        );
        check(
            &good,
            10,
            BlockError::TooLarge {
                original: 700,
                limit: 10,
            },
        );
        check(&[0x45, 3, 0], 10, BlockError::Empty);
        // A match before anything was hashed.
        check(
            &[
                0x45, 16, 20, 0x01, 0, 0, 0x80, 0x13, 0x00, 0, 0, 0, 0, 0, 0, 0,
            ],
            20,
            BlockError::BadMatch {
                at: 7,
                what: "a hash slot not filled yet",
            },
        );
        decompress(&good, &mut out, 1 << 20).unwrap();
        let mut cut = good[..good.len() - 5].to_vec();
        let cut_len = cut.len() as u32;
        cut[1..5].copy_from_slice(&cut_len.to_le_bytes());
        assert!(matches!(
            decompress(&cut, &mut out, 1 << 20),
            Err(BlockError::Truncated { .. })
        ));
    }

    #[test]
    fn no_panic_on_mutations() {
        let input = [b"abcdefgh".repeat(100), noise(5, 500), vec![0; 300]].concat();
        let mut block = Vec::new();
        compress(&input, &mut block);
        let mut x = 11u64;
        let mut rng = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as usize
        };
        let mut out = Vec::new();
        for _ in 0..5_000 {
            let mut b = block.clone();
            for _ in 0..1 + rng() % 4 {
                let at = rng() % b.len();
                b[at] ^= (rng() as u8) | 1;
            }
            let _ = decompress(&b, &mut out, 1 << 16);
            assert!(out.len() <= 1 << 16);
        }
    }
}
