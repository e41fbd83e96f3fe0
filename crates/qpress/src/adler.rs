//! Adler-32 (RFC 1950), the checksum each qpress block carries over its compressed bytes.

/// Adler-32 of `data`, starting from 1 (zlib's `adler32(1, data, len)`): the one
/// implementation the page checksums (`innodb`) use too.
pub fn adler32(data: &[u8]) -> u32 {
    innodb::page::checksum::adler32(1, data)
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
