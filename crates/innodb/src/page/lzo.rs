//! LZO1X decompression (the server's `lzo1x_decompress_safe`, as the provider_lzo
//! plugin uses for page_compressed pages written by `lzo1x_1_15_compress`): every read
//! and write is checked, so any input gives an error or bytes, never a panic.
//!
//! The stream is a sequence of instructions; the first byte may start with a literal
//! run (> 17), then each instruction byte `t` is:
//!
//! ```text
//!  0..15   literal run of t + 3 bytes (t = 0: 15 + 255 * zero bytes + next byte)
//!          — after a match, 0..15 is instead a 2-byte match at distance 1 + (t >> 2) + (b << 2)
//!          (3 bytes at distance + 0x800 right after a literal run)
//!  16..31  M4: length 2 + (t & 7) (7: extended), distance 0x4000 + ((t & 8) << 11) + (le16 >> 2);
//!          distance 0x4000 exactly (offset field 0) is the end of the stream (0x11 0 0)
//!  32..63  M3: length 2 + (t & 31) (31: extended), distance 1 + (le16 >> 2)
//!  64..255 M2: length (t >> 5) + 1, distance 1 + ((t >> 2) & 7) + (b << 3)
//! ```
//!
//! After a match the low two bits of the byte two back give 0..3 literals to copy before
//! the next instruction, which is then a match. The stream must end exactly at the end
//! of the input.

/// Decompresses an LZO1X stream into `out`, which it must not overflow; returns the
/// number of bytes written.
pub(crate) fn decompress(input: &[u8], out: &mut [u8]) -> Result<usize, &'static str> {
    let mut d = Decoder {
        input,
        ip: 0,
        out,
        op: 0,
    };
    d.run()?;
    if d.ip != input.len() {
        return Err("input not consumed at the end marker");
    }
    Ok(d.op)
}

struct Decoder<'a, 'b> {
    input: &'a [u8],
    ip: usize,
    out: &'b mut [u8],
    op: usize,
}

/// Where the state machine goes next.
enum Next {
    /// Read an instruction at the top of the loop (literal run or match).
    Loop,
    /// Read an instruction right after a literal run of 4 or more.
    AfterLiterals,
    /// Dispatch instruction `t` as a match (0..15: the short match after a match).
    Match(usize),
}

const M2_MAX_OFFSET: usize = 0x0800;

impl Decoder<'_, '_> {
    fn byte(&mut self) -> Result<usize, &'static str> {
        let b = *self.input.get(self.ip).ok_or("input overrun")?;
        self.ip += 1;
        Ok(usize::from(b))
    }

    fn peek_back(&self, n: usize) -> Result<usize, &'static str> {
        self.ip
            .checked_sub(n)
            .and_then(|i| self.input.get(i))
            .map(|&b| usize::from(b))
            .ok_or("input underrun")
    }

    /// A run length: `base` plus 255 per zero byte plus the next byte.
    fn extended(&mut self, base: usize) -> Result<usize, &'static str> {
        let mut t = 0usize;
        loop {
            let b = self.byte()?;
            if b != 0 {
                return Ok(t + base + b);
            }
            t += 255;
            if t > self.out.len() {
                return Err("length beyond the output");
            }
        }
    }

    fn literals(&mut self, n: usize) -> Result<(), &'static str> {
        let src = self
            .input
            .get(self.ip..self.ip + n)
            .ok_or("input overrun in literals")?;
        let dst = self
            .out
            .get_mut(self.op..self.op + n)
            .ok_or("output overrun in literals")?;
        dst.copy_from_slice(src);
        self.ip += n;
        self.op += n;
        Ok(())
    }

    /// Copies `len` bytes from `distance` back (overlapping copies repeat bytes).
    fn copy_match(&mut self, distance: usize, len: usize) -> Result<(), &'static str> {
        let from = self
            .op
            .checked_sub(distance)
            .ok_or("match before the start of the output")?;
        if self.op + len > self.out.len() {
            return Err("output overrun in a match");
        }
        for i in 0..len {
            self.out[self.op + i] = self.out[from + i];
        }
        self.op += len;
        Ok(())
    }

    fn run(&mut self) -> Result<(), &'static str> {
        let mut next = Next::Loop;
        if self.input.first().is_some_and(|&b| b > 17) {
            let t = self.byte()? - 17;
            if t < 4 {
                self.literals(t)?;
                let t = self.byte()?;
                next = Next::Match(t);
            } else {
                self.literals(t)?;
                next = Next::AfterLiterals;
            }
        }
        loop {
            match next {
                Next::Loop => {
                    let t = self.byte()?;
                    if t >= 16 {
                        next = Next::Match(t);
                        continue;
                    }
                    let n = if t == 0 { self.extended(15)? } else { t };
                    self.literals(n + 3)?;
                    next = Next::AfterLiterals;
                    continue;
                }
                Next::AfterLiterals => {
                    let t = self.byte()?;
                    if t >= 16 {
                        next = Next::Match(t);
                        continue;
                    }
                    let b = self.byte()?;
                    self.copy_match(1 + M2_MAX_OFFSET + (t >> 2) + (b << 2), 3)?;
                }
                Next::Match(t) if t >= 64 => {
                    let b = self.byte()?;
                    self.copy_match(1 + ((t >> 2) & 7) + (b << 3), (t >> 5) + 1)?;
                }
                Next::Match(t) if t >= 32 => {
                    let mut len = t & 31;
                    if len == 0 {
                        len = self.extended(31)?;
                    }
                    let (b0, b1) = (self.byte()?, self.byte()?);
                    self.copy_match(1 + (b0 >> 2) + (b1 << 6), len + 2)?;
                }
                Next::Match(t) if t >= 16 => {
                    let mut len = t & 7;
                    if len == 0 {
                        len = self.extended(7)?;
                    }
                    let (b0, b1) = (self.byte()?, self.byte()?);
                    let distance = ((t & 8) << 11) + (b0 >> 2) + (b1 << 6);
                    if distance == 0 {
                        return Ok(()); // the end marker
                    }
                    self.copy_match(distance + 0x4000, len + 2)?;
                }
                Next::Match(t) => {
                    let b = self.byte()?;
                    self.copy_match(1 + (t >> 2) + (b << 2), 2)?;
                }
            }
            // After a match: the low two bits of the byte two back are the literals
            // before the next instruction, which is then a match.
            let n = self.peek_back(2)? & 3;
            if n == 0 {
                next = Next::Loop;
            } else {
                self.literals(n)?;
                next = Next::Match(self.byte()?);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(stream: &[u8], expected: Result<&[u8], &str>) {
        let mut out = vec![0u8; 64];
        let got = decompress(stream, &mut out).map(|n| out[..n].to_vec());
        assert_eq!(got, expected.map(<[u8]>::to_vec), "{stream:02x?}");
    }

    #[test]
    fn streams() {
        // A first literal run of 4 ("abcd"), then the end marker 0x11 0x00 0x00.
        check(b"\x15abcd\x11\x00\x00", Ok(b"abcd"));
        // "abcd", then an M2 match of 3 at distance 4 (t = 0x4c: len (2+1), dist 1+3).
        check(b"\x15abcd\x4c\x00\x11\x00\x00", Ok(b"abcdabc"));
        // An M3 match of 10 at distance 1 repeating the last byte.
        let ds = [b"abc".as_slice(), &[b'd'; 11]].concat();
        check(b"\x15abcd\x28\x00\x00\x11\x00\x00", Ok(&ds));
        // Two literals carried by a match's low bits, then a short match after it.
        check(
            b"\x15abcd\x4e\x00xy\x04\x00\x11\x00\x00",
            Ok(b"abcdabcxyxy"),
        );
        // Damage: cut, trailing bytes, a match before the start, a bad end marker.
        check(b"\x15abcd\x11\x00", Err("input overrun"));
        check(
            b"\x15abcd\x11\x00\x00\x00",
            Err("input not consumed at the end marker"),
        );
        check(
            b"\x15abcd\x4c\x04\x11\x00\x00",
            Err("match before the start of the output"),
        );
        // An end marker with another length: the server accepts it too.
        check(b"\x15abcd\x12\x00\x00", Ok(b"abcd"));
        check(b"", Err("input overrun"));
    }

    #[test]
    fn never_panics() {
        // Every short stream over a small alphabet, and long runs of each byte.
        let alphabet = [0u8, 1, 3, 15, 16, 17, 18, 31, 32, 63, 64, 255];
        let mut out = vec![0u8; 300];
        for &a in &alphabet {
            for &b in &alphabet {
                for &c in &alphabet {
                    for &d in &alphabet {
                        let _ = decompress(&[a, b, c, d, a, b], &mut out);
                        let _ = decompress(&[a, b, c, d], &mut out[..3]);
                    }
                }
            }
            let _ = decompress(&[a; 600], &mut out);
        }
    }

    #[test]
    fn arbitrary_input_never_panics() {
        use proptest::prelude::*;
        use proptest::test_runner::{Config, TestRunner};
        let mut runner = TestRunner::new(Config {
            cases: 2000,
            ..Config::default()
        });
        let strategy = (proptest::collection::vec(any::<u8>(), 0..400), 0usize..5000);
        runner
            .run(&strategy, |(input, out_len)| {
                let mut out = vec![0u8; out_len];
                if let Ok(n) = decompress(&input, &mut out) {
                    prop_assert!(n <= out_len);
                }
                Ok(())
            })
            .unwrap();
    }
}
