//! AES as MariaDB's `my_aes_crypt` applies it, without padding (`ENCRYPTION_FLAG_NOPAD`).
//!
//! CBC over data whose length is not a multiple of 16 encrypts the whole blocks as CBC and
//! XORs the last `n % 16` bytes with AES-ECB(key, original IV) (`MyCTX_nopad::finish`); the
//! same operation decrypts them. CTR is OpenSSL's: a 128-bit big-endian counter = the IV.

use ::aes::cipher::generic_array::GenericArray;
use ::aes::cipher::{BlockDecrypt, BlockEncrypt, KeyInit};
use ::aes::{Aes128, Aes192, Aes256};

use crate::Error;

/// AES block length.
pub const BLOCK: usize = 16;

/// `file_key_management_encryption_algorithm`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    /// `aes_cbc` (the plugin's default).
    Cbc,
    /// `aes_ctr`.
    Ctr,
}

impl Algorithm {
    /// Parses the option value (case-insensitive, as an enum option of the server).
    pub fn parse(value: &str) -> Option<Algorithm> {
        match value.to_ascii_lowercase().as_str() {
            "aes_cbc" | "0" => Some(Algorithm::Cbc),
            "aes_ctr" | "1" => Some(Algorithm::Ctr),
            _ => None,
        }
    }

    /// The option value.
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::Cbc => "aes_cbc",
            Algorithm::Ctr => "aes_ctr",
        }
    }
}

/// An AES key schedule for a 16, 24 or 32 byte key.
pub enum Cipher {
    /// AES-128.
    A128(Aes128),
    /// AES-192.
    A192(Aes192),
    /// AES-256.
    A256(Aes256),
}

impl std::fmt::Debug for Cipher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Cipher(..)")
    }
}

impl Cipher {
    /// The schedule of `key`; an error for other lengths than 16, 24, 32.
    pub fn new(key: &[u8]) -> Result<Cipher, Error> {
        Ok(match key.len() {
            16 => Cipher::A128(Aes128::new(GenericArray::from_slice(key))),
            24 => Cipher::A192(Aes192::new(GenericArray::from_slice(key))),
            32 => Cipher::A256(Aes256::new(GenericArray::from_slice(key))),
            n => return Err(Error::Format(format!("AES key of {n} bytes"))),
        })
    }

    /// Encrypts one block in place (ECB).
    pub fn encrypt_block(&self, block: &mut [u8; BLOCK]) {
        let b = GenericArray::from_mut_slice(block);
        match self {
            Cipher::A128(c) => c.encrypt_block(b),
            Cipher::A192(c) => c.encrypt_block(b),
            Cipher::A256(c) => c.encrypt_block(b),
        }
    }

    /// Decrypts one block in place (ECB).
    pub fn decrypt_block(&self, block: &mut [u8; BLOCK]) {
        let b = GenericArray::from_mut_slice(block);
        match self {
            Cipher::A128(c) => c.decrypt_block(b),
            Cipher::A192(c) => c.decrypt_block(b),
            Cipher::A256(c) => c.decrypt_block(b),
        }
    }

    /// AES-ECB of one block, returned.
    pub fn ecb(&self, block: &[u8; BLOCK]) -> [u8; BLOCK] {
        let mut b = *block;
        self.encrypt_block(&mut b);
        b
    }

    /// `my_aes_crypt(mode, NOPAD)` in place: `encrypt` or decrypt `data` with `iv`.
    pub fn crypt(&self, algorithm: Algorithm, encrypt: bool, iv: &[u8; BLOCK], data: &mut [u8]) {
        match algorithm {
            Algorithm::Ctr => self.ctr(iv, data),
            Algorithm::Cbc if encrypt => self.cbc_encrypt(iv, data),
            Algorithm::Cbc => self.cbc_decrypt(iv, data),
        }
    }

    /// CTR with a 128-bit big-endian counter starting at `iv` (encrypts and decrypts).
    pub fn ctr(&self, iv: &[u8; BLOCK], data: &mut [u8]) {
        let mut counter = u128::from_be_bytes(*iv);
        for chunk in data.chunks_mut(BLOCK) {
            let pad = self.ecb(&counter.to_be_bytes());
            chunk.iter_mut().zip(pad).for_each(|(b, p)| *b ^= p);
            counter = counter.wrapping_add(1);
        }
    }

    /// CBC encryption without padding, MariaDB's tail rule for the last partial block.
    pub fn cbc_encrypt(&self, iv: &[u8; BLOCK], data: &mut [u8]) {
        let whole = data.len() / BLOCK * BLOCK;
        let mut prev = *iv;
        for chunk in data[..whole].chunks_exact_mut(BLOCK) {
            let mut b = [0u8; BLOCK];
            b.iter_mut()
                .zip(chunk.iter().zip(prev))
                .for_each(|(o, (c, p))| *o = c ^ p);
            self.encrypt_block(&mut b);
            chunk.copy_from_slice(&b);
            prev = b;
        }
        self.tail(iv, &mut data[whole..]);
    }

    /// CBC decryption without padding, MariaDB's tail rule for the last partial block.
    pub fn cbc_decrypt(&self, iv: &[u8; BLOCK], data: &mut [u8]) {
        let whole = data.len() / BLOCK * BLOCK;
        let mut prev = *iv;
        for chunk in data[..whole].chunks_exact_mut(BLOCK) {
            let mut b = [0u8; BLOCK];
            b.copy_from_slice(chunk);
            let cipher = b;
            self.decrypt_block(&mut b);
            chunk
                .iter_mut()
                .zip(b.iter().zip(prev))
                .for_each(|(o, (d, p))| *o = d ^ p);
            prev = cipher;
        }
        self.tail(iv, &mut data[whole..]);
    }

    /// `MyCTX_nopad::finish`: the tail XOR AES-ECB(key, original IV).
    fn tail(&self, iv: &[u8; BLOCK], tail: &mut [u8]) {
        if !tail.is_empty() {
            let mask = self.ecb(iv);
            tail.iter_mut().zip(mask).for_each(|(b, m)| *b ^= m);
        }
    }

    /// CBC decryption with PKCS#7 padding (OpenSSL's default, the encrypted key file):
    /// `None` when the padding is wrong (a wrong key, almost always).
    pub fn cbc_decrypt_padded(&self, iv: &[u8; BLOCK], data: &mut Vec<u8>) -> Option<()> {
        if data.is_empty() || !data.len().is_multiple_of(BLOCK) {
            return None;
        }
        self.cbc_decrypt(iv, data);
        let pad = usize::from(*data.last()?);
        if pad == 0
            || pad > BLOCK
            || data[data.len() - pad..]
                .iter()
                .any(|&b| usize::from(b) != pad)
        {
            return None;
        }
        data.truncate(data.len() - pad);
        Some(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    #[test]
    fn nist_vectors() {
        // FIPS-197 C.1/C.2/C.3, SP 800-38A F.2.1 (CBC) and F.5.1 (CTR) first blocks.
        let cases: [(&str, &str, &str); 3] = [
            (
                "000102030405060708090a0b0c0d0e0f",
                "00112233445566778899aabbccddeeff",
                "69c4e0d86a7b0430d8cdb78070b4c55a",
            ),
            (
                "000102030405060708090a0b0c0d0e0f1011121314151617",
                "00112233445566778899aabbccddeeff",
                "dda97ca4864cdfe06eaf70a0ec0d7191",
            ),
            (
                "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
                "00112233445566778899aabbccddeeff",
                "8ea2b7ca516745bfeafc49904b496089",
            ),
        ];
        for (key, plain, cipher) in cases {
            let c = Cipher::new(&hex(key)).unwrap();
            let mut b: [u8; 16] = hex(plain).try_into().unwrap();
            c.encrypt_block(&mut b);
            assert_eq!(b.to_vec(), hex(cipher));
            c.decrypt_block(&mut b);
            assert_eq!(b.to_vec(), hex(plain));
        }
        let key = hex("2b7e151628aed2a6abf7158809cf4f3c");
        let c = Cipher::new(&key).unwrap();
        let plain = hex("6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e51");
        let mut data = plain.clone();
        c.cbc_encrypt(
            &hex("000102030405060708090a0b0c0d0e0f").try_into().unwrap(),
            &mut data,
        );
        assert_eq!(
            data,
            hex("7649abac8119b246cee98e9b12e9197d5086cb9b507219ee95db113a917678b2")
        );
        let mut data = plain.clone();
        c.ctr(
            &hex("f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff").try_into().unwrap(),
            &mut data,
        );
        assert_eq!(
            data,
            hex("874d6191b620e3261bef6864990db6ce9806f66b7970fdff8617187bb9fffdff")
        );
    }

    #[test]
    fn round_trips_with_tails() {
        let c = Cipher::new(&[7u8; 16]).unwrap();
        let iv = [3u8; 16];
        for len in [0usize, 1, 15, 16, 17, 31, 32, 33, 16354] {
            for alg in [Algorithm::Cbc, Algorithm::Ctr] {
                let plain: Vec<u8> = (0..len).map(|i| (i * 31 % 251) as u8).collect();
                let mut d = plain.clone();
                c.crypt(alg, true, &iv, &mut d);
                if len > 0 {
                    assert_ne!(d, plain, "{alg:?} {len}");
                }
                c.crypt(alg, false, &iv, &mut d);
                assert_eq!(d, plain, "{alg:?} {len}");
            }
        }
        // The CBC tail is the plaintext XOR the encrypted IV, independent of the blocks.
        let mut d = vec![0u8; 3];
        c.cbc_encrypt(&iv, &mut d);
        assert_eq!(d, c.ecb(&iv)[..3]);
    }
}
