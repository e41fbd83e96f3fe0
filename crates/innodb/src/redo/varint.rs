//! The "mlog" variable-length integer of redo records (redo-format.md §3.2).
//!
//! ```text
//! 0xxxxxxx                      1 byte   0 ..= 127
//! 10xxxxxx +1                   2 bytes  MIN_2BYTE + 14 bits
//! 110xxxxx +2                   3 bytes  MIN_3BYTE + 21 bits
//! 1110xxxx +3                   4 bytes  MIN_4BYTE + 28 bits
//! 11110000 +4                   5 bytes  MIN_5BYTE + u32 (the sum must fit in 32 bits)
//! 1111xxxx (other)              invalid
//! ```
//! The free bits of the first byte and the following bytes form one big-endian number.

/// Smallest value that needs 2 bytes.
pub const MIN_2BYTE: u32 = 0x80;
/// Smallest value that needs 3 bytes.
pub const MIN_3BYTE: u32 = MIN_2BYTE + (1 << 14);
/// Smallest value that needs 4 bytes.
pub const MIN_4BYTE: u32 = MIN_3BYTE + (1 << 21);
/// Smallest value that needs 5 bytes.
pub const MIN_5BYTE: u32 = MIN_4BYTE + (1 << 28);
/// The longest encoding.
pub const MAX_LEN: usize = 5;

/// Why a varint could not be read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VarintError {
    /// The input ends inside the varint.
    Truncated,
    /// The first byte is a reserved `1111xxxx` pattern, the 5-byte value overflows
    /// 32 bits, or the encoding is longer than the caller allows.
    Invalid,
}

/// Encoded length announced by the first byte: 1..=5, or 6 for the reserved
/// patterns `0xF1..=0xFF` (which are never valid).
#[inline]
pub fn encoded_len_from_first(first: u8) -> usize {
    match first {
        0x00..=0x7F => 1,
        0x80..=0xBF => 2,
        0xC0..=0xDF => 3,
        0xE0..=0xEF => 4,
        0xF0 => 5,
        _ => 6,
    }
}

/// Decodes the varint at the start of `buf`; returns the value and its length.
#[inline]
pub fn decode(buf: &[u8]) -> Result<(u32, usize), VarintError> {
    decode_max(buf, MAX_LEN)
}

/// Like [`decode`], but an encoding longer than `max_len` bytes is [`VarintError::Invalid`]
/// (record lengths and in-page offsets are limited to 3 bytes, some fields to 2).
#[inline]
pub fn decode_max(buf: &[u8], max_len: usize) -> Result<(u32, usize), VarintError> {
    let first = *buf.first().ok_or(VarintError::Truncated)?;
    // The common case: one byte (every caller allows at least one).
    if first < 0x80 && max_len >= 1 {
        return Ok((u32::from(first), 1));
    }
    let len = encoded_len_from_first(first);
    if len > max_len || len > MAX_LEN {
        return Err(VarintError::Invalid);
    }
    let bytes = buf.get(..len).ok_or(VarintError::Truncated)?;
    let b = |i: usize| u32::from(bytes[i]);
    // `bytes` has exactly `len` elements, so the indexing below stays in bounds.
    let value = match len {
        1 => b(0),
        2 => MIN_2BYTE + (((b(0) & 0x3F) << 8) | b(1)),
        3 => MIN_3BYTE + (((b(0) & 0x1F) << 16) | (b(1) << 8) | b(2)),
        4 => MIN_4BYTE + (((b(0) & 0x0F) << 24) | (b(1) << 16) | (b(2) << 8) | b(3)),
        _ => {
            let rest = (b(1) << 24) | (b(2) << 16) | (b(3) << 8) | b(4);
            MIN_5BYTE.checked_add(rest).ok_or(VarintError::Invalid)?
        }
    };
    Ok((value, len))
}

/// Number of bytes [`encode`] writes for `value`.
#[inline]
pub fn encoded_len(value: u32) -> usize {
    if value < MIN_2BYTE {
        1
    } else if value < MIN_3BYTE {
        2
    } else if value < MIN_4BYTE {
        3
    } else if value < MIN_5BYTE {
        4
    } else {
        5
    }
}

/// Encodes `value` into the front of `out`; returns the number of bytes used.
pub fn encode(value: u32, out: &mut [u8; MAX_LEN]) -> usize {
    let len = encoded_len(value);
    match len {
        1 => out[0] = value as u8,
        2 => {
            let v = value - MIN_2BYTE;
            out[..2].copy_from_slice(&[0x80 | (v >> 8) as u8, v as u8]);
        }
        3 => {
            let v = value - MIN_3BYTE;
            out[..3].copy_from_slice(&[0xC0 | (v >> 16) as u8, (v >> 8) as u8, v as u8]);
        }
        4 => {
            let v = value - MIN_4BYTE;
            out[..4].copy_from_slice(&[
                0xE0 | (v >> 24) as u8,
                (v >> 16) as u8,
                (v >> 8) as u8,
                v as u8,
            ]);
        }
        _ => {
            out[0] = 0xF0;
            out[1..5].copy_from_slice(&(value - MIN_5BYTE).to_be_bytes());
        }
    }
    len
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(bytes: &[u8], expected: Result<(u32, usize), VarintError>) {
        assert_eq!(decode(bytes), expected, "decode {bytes:02x?}");
    }

    #[test]
    fn boundaries_decode() {
        check(&[0x00], Ok((0, 1)));
        check(&[0x7F], Ok((127, 1)));
        check(&[0x80, 0x00], Ok((128, 2)));
        check(&[0xBF, 0xFF], Ok((16_511, 2)));
        check(&[0xC0, 0x00, 0x00], Ok((16_512, 3)));
        check(&[0xDF, 0xFF, 0xFF], Ok((2_113_663, 3)));
        check(&[0xE0, 0, 0, 0], Ok((2_113_664, 4)));
        check(&[0xEF, 0xFF, 0xFF, 0xFF], Ok((270_549_119, 4)));
        check(&[0xF0, 0, 0, 0, 0], Ok((270_549_120, 5)));
        check(&[0xF0, 0xEF, 0xDF, 0xBF, 0x7F], Ok((u32::MAX, 5)));
        check(&[0xF0, 0xEF, 0xDF, 0xBF, 0x80], Err(VarintError::Invalid));
        check(&[0xF1, 0, 0, 0, 0], Err(VarintError::Invalid));
        check(&[0xFF], Err(VarintError::Invalid));
        check(&[], Err(VarintError::Truncated));
        check(&[0xC0, 0x00], Err(VarintError::Truncated));
    }

    #[test]
    fn max_len_is_enforced() {
        assert_eq!(decode_max(&[0xE0, 0, 0, 0], 3), Err(VarintError::Invalid));
        assert_eq!(decode_max(&[0xDF, 0xFF, 0xFF], 3), Ok((2_113_663, 3)));
    }

    #[test]
    fn round_trip() {
        for v in [0u32, 1, 127, 128, 16_511, 16_512, 2_113_663, 2_113_664]
            .into_iter()
            .chain([270_549_119, 270_549_120, u32::MAX - 1, u32::MAX])
        {
            let mut out = [0u8; MAX_LEN];
            let n = encode(v, &mut out);
            assert_eq!(n, encoded_len(v));
            assert_eq!(decode(&out[..n]), Ok((v, n)), "value {v}");
        }
    }
}
