//! Encrypted redo log, 10.8+ format (`log_decrypt_mtr`, `mtr_t::encrypt`;
//! encryption-format.md §4).
//!
//! The log key is AES-ECB(key file key 1 of the header's key version, the header's
//! 16-byte message). In each mini-transaction only the record payloads are encrypted —
//! the type/length header bytes of every record stay clear, so framing needs no key —
//! as one stream across all records (CTR, or CBC with MariaDB's tail rule). The IV is the
//! 8-byte nonce stored after the end marker, then the header bytes of the first record,
//! zero padded.

use innodb::redo::header::EncryptionInfo;
use innodb::redo::record::record_header;

use crate::aes::{Algorithm, Cipher, BLOCK};
use crate::scheme::derive;
use crate::{Error, KeyRing};

/// `LOG_DEFAULT_ENCRYPTION_KEY`: the redo log always uses key id 1.
pub const LOG_KEY_ID: u32 = 1;

/// Why a mini-transaction whose checksum matched does not parse once decrypted
/// (`detail`): the bytes are as the server wrote them, so the key file or the algorithm is
/// not the server's. The same words for the backup's log copy and for prepare.
pub fn wrong_key_reason(lsn: impl std::fmt::Display, detail: impl std::fmt::Display) -> String {
    format!(
        "the mini-transaction at LSN {lsn} does not parse once decrypted with key id \
         {LOG_KEY_ID} ({detail}) although its checksum matches: the key file \
         (--file-key-management-filename) or the algorithm \
         (--file-key-management-encryption-algorithm) is not the server's"
    )
}

/// The key of one encrypted log.
#[derive(Debug)]
pub struct LogKey {
    cipher: Cipher,
    algorithm: Algorithm,
    key_version: u32,
}

impl LogKey {
    /// The log key of a log whose header carries `info` (`log_crypt_read_header`).
    pub fn new(
        ring: &KeyRing,
        algorithm: Algorithm,
        info: &EncryptionInfo,
    ) -> Result<LogKey, Error> {
        if info.key_id != LOG_KEY_ID {
            return Err(Error::Format(format!(
                "the redo log header names encryption key id {}, not {LOG_KEY_ID}",
                info.key_id
            )));
        }
        let key = ring.get(LOG_KEY_ID, info.key_version)?;
        Ok(LogKey {
            cipher: derive(key.bytes(), &info.message)?,
            algorithm,
            key_version: info.key_version,
        })
    }

    /// The key version the log was written with.
    pub fn key_version(&self) -> u32 {
        self.key_version
    }

    /// The plaintext of an encrypted mtr body (the record bytes before the end marker)
    /// with its 8-byte `nonce`.
    pub fn decrypt_body(&self, body: &[u8], nonce: &[u8]) -> Result<Vec<u8>, Error> {
        let mut out = body.to_vec();
        self.crypt_body(false, &mut out, nonce)?;
        Ok(out)
    }

    /// Encrypts a plaintext mtr body in place, as the server does before writing it.
    pub fn encrypt_body(&self, body: &mut [u8], nonce: &[u8]) -> Result<(), Error> {
        self.crypt_body(true, body, nonce)
    }

    fn crypt_body(&self, encrypt: bool, body: &mut [u8], nonce: &[u8]) -> Result<(), Error> {
        let nonce: [u8; 8] = nonce
            .try_into()
            .map_err(|_| Error::Format(format!("redo nonce of {} bytes, not 8", nonce.len())))?;
        let mut iv = [0u8; BLOCK];
        iv[..8].copy_from_slice(&nonce);
        // Where the payloads are, and all of them gathered.
        let mut spans = Vec::new();
        let mut stream = Vec::with_capacity(body.len());
        let mut pos = 0;
        while pos < body.len() {
            let bad = || {
                Error::Format(format!(
                    "corrupt record header at byte {pos} of an encrypted mini-transaction"
                ))
            };
            let (h, len) = record_header(body, pos).ok_or_else(bad)?;
            let start = pos + h;
            let end = start
                .checked_add(len)
                .filter(|&e| e <= body.len())
                .ok_or_else(bad)?;
            if pos == 0 {
                iv[8..8 + h].copy_from_slice(&body[..h]);
            }
            stream.extend_from_slice(&body[start..end]);
            spans.push(start..end);
            pos = end;
        }
        self.cipher.crypt(self.algorithm, encrypt, &iv, &mut stream);
        let mut at = 0;
        for s in spans {
            let n = s.len();
            body[s].copy_from_slice(&stream[at..at + n]);
            at += n;
        }
        stream.fill(0);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Key;

    #[test]
    fn round_trip_keeps_headers_clear() {
        let ring = KeyRing::from_keys([(1, Key::new(&[9u8; 32]).unwrap())]);
        let info = EncryptionInfo {
            key_id: 1,
            key_version: 1,
            message: [5; 16],
            nonce: [1; 4],
        };
        // A 3-byte record, a record with a 1-byte varint length (0x80+...), a 1-byte one.
        let mut body = vec![0x33, 1, 2, 3, 0x30, 0x05];
        body.extend([0xAA; 19]);
        body.extend([0x21, 7]);
        let plain = body.clone();
        for alg in [Algorithm::Cbc, Algorithm::Ctr] {
            let key = LogKey::new(&ring, alg, &info).unwrap();
            let mut enc = plain.clone();
            key.encrypt_body(&mut enc, &[4; 8]).unwrap();
            assert_eq!((enc[0], enc[4], enc[5], enc[25]), (0x33, 0x30, 0x05, 0x21));
            assert_ne!(enc, plain);
            assert_eq!(key.decrypt_body(&enc, &[4; 8]).unwrap(), plain);
        }
        let key = LogKey::new(&ring, Algorithm::Ctr, &info).unwrap();
        assert!(key.decrypt_body(&[0x35, 1], &[0; 8]).is_err());
        let missing = EncryptionInfo {
            key_version: 2,
            ..info
        };
        assert!(matches!(
            LogKey::new(&ring, Algorithm::Ctr, &missing),
            Err(Error::MissingKey {
                key_id: 1,
                version: 2
            })
        ));
    }
}
