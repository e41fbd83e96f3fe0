//! The encryption scheme service (`encryption_scheme_encrypt`, encryption-format.md §2).
//!
//! A tablespace's pages are encrypted with a 16-byte key derived per key version:
//! AES-ECB(key file key `key_id` of that version, crypt data IV) — AES-128/192/256 after
//! the length of the key file key; the result is an AES-128 key. Each call's IV is
//! `i32_1 (LE) | i32_2 (LE) | i64 (LE)`: for pages space id, page number, page LSN.

use innodb::page::CryptData;

use crate::aes::{Algorithm, Cipher, BLOCK};
use crate::{Error, KeyRing};

/// The IV of one encryption call: three little-endian integers (`int4store`, `int8store`).
pub fn iv(i32_1: u32, i32_2: u32, i64_: u64) -> [u8; BLOCK] {
    let mut iv = [0u8; BLOCK];
    iv[0..4].copy_from_slice(&i32_1.to_le_bytes());
    iv[4..8].copy_from_slice(&i32_2.to_le_bytes());
    iv[8..16].copy_from_slice(&i64_.to_le_bytes());
    iv
}

/// AES-ECB(`key`, `message`): the 16-byte key that a key file key and a random message or
/// IV give (`scheme_get_key`, `init_crypt_key`).
pub fn derive(key: &[u8], message: &[u8; BLOCK]) -> Result<Cipher, Error> {
    let mut derived = Cipher::new(key)?.ecb(message);
    let c = Cipher::new(&derived);
    derived.fill(0);
    c
}

/// The keys of one tablespace: its key id, the derived key of each key version the ring
/// has (file_key_management: version 1), the algorithm.
#[derive(Debug)]
pub struct SpaceKeys {
    key_id: u32,
    algorithm: Algorithm,
    versions: Vec<(u32, Cipher)>,
}

impl SpaceKeys {
    /// The keys for a tablespace whose page 0 carries `crypt`: an error naming the key id
    /// when the ring does not have it.
    pub fn new(
        ring: &KeyRing,
        algorithm: Algorithm,
        crypt: &CryptData,
    ) -> Result<SpaceKeys, Error> {
        let version = ring.latest_version(crypt.key_id).ok_or(Error::MissingKey {
            key_id: crypt.key_id,
            version: 1,
        })?;
        let cipher = derive(ring.get(crypt.key_id, version)?.bytes(), &crypt.iv)?;
        Ok(SpaceKeys {
            key_id: crypt.key_id,
            algorithm,
            versions: vec![(version, cipher)],
        })
    }

    /// The key id.
    pub fn key_id(&self) -> u32 {
        self.key_id
    }

    /// The latest key version (what the server encrypts new writes with).
    pub fn latest_version(&self) -> u32 {
        self.versions[0].0
    }

    /// `encryption_scheme_encrypt`/`_decrypt` of `data` in place with key `version`.
    pub fn crypt(
        &self,
        encrypt: bool,
        version: u32,
        iv: &[u8; BLOCK],
        data: &mut [u8],
    ) -> Result<(), Error> {
        let cipher = self
            .versions
            .iter()
            .find(|(v, _)| *v == version)
            .map(|(_, c)| c)
            .ok_or(Error::MissingKey {
                key_id: self.key_id,
                version,
            })?;
        cipher.crypt(self.algorithm, encrypt, iv, data);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iv_is_little_endian() {
        let v = iv(0x0102_0304, 5, 0x1122_3344_5566_7788);
        assert_eq!(
            v,
            [4, 3, 2, 1, 5, 0, 0, 0, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11]
        );
    }
}
