//! Adler-32 (RFC 1950), the checksum each qpress block carries over its compressed bytes.

const MOD: u32 = 65_521;
/// Largest run of bytes whose sums cannot overflow a u32 before the modulo.
const NMAX: usize = 5_552;

/// Adler-32 of `data`, starting from 1 (zlib's `adler32(1, data, len)`).
pub fn adler32(data: &[u8]) -> u32 {
    let (mut a, mut b) = (1u32, 0u32);
    for run in data.chunks(NMAX) {
        for &byte in run {
            a += u32::from(byte);
            b += a;
        }
        a %= MOD;
        b %= MOD;
    }
    (b << 16) | a
}

#[cfg(test)]
mod tests {
    use super::adler32;

    #[test]
    fn known_values() {
        for (input, expected) in [
            (&b""[..], 1),
            (b"a", 0x0062_0062),
            (b"abc", 0x024d_0127),
            (b"Wikipedia", 0x11e6_0398),
        ] {
            assert_eq!(adler32(input), expected, "{input:?}");
        }
        // Long runs exercise the deferred modulo.
        let long = vec![0xffu8; 100_000];
        let (mut a, mut b) = (1u64, 0u64);
        for &x in &long {
            a = (a + u64::from(x)) % 65_521;
            b = (b + a) % 65_521;
        }
        assert_eq!(adler32(&long), ((b << 16) | a) as u32);
    }
}
