//! Encrypted pages (`fil_encrypt_buf`, `fil_space_decrypt`; encryption-format.md §3).
//!
//! full_crc32: key version at 0; bytes 26..len-4 encrypted (len = the page, or the
//! compressed length of a page_compressed page); CRC-32C of the encrypted bytes 0..len-4
//! at len-4; the rest of the page zero. IV = (space id, page number, page LSN).
//!
//! Legacy: key version at 26; bytes 38..P-8 encrypted (page_compressed+encrypted, type
//! 37401: the 2-byte length at 38 and the 2-byte algorithm at 40 are clear, and that many
//! bytes from 42 are encrypted);
//! the 8-byte trailer clear; at 30 the crc32 (ROW_FORMAT=COMPRESSED: zip crc32) of the
//! encrypted page. The plaintext checksum (in field 1) was stamped before encryption.

use innodb::page::checksum::{crc32c, full_crc32_image_len, legacy_crc32, zip_crc32};
use innodb::page::fil::{
    FIL_PAGE_DATA, FIL_PAGE_FCRC32_CHECKSUM, FIL_PAGE_FCRC32_KEY_VERSION,
    FIL_PAGE_FILE_FLUSH_LSN_OR_KEY_VERSION, FIL_PAGE_LSN, FIL_PAGE_OFFSET,
    FIL_PAGE_PAGE_COMPRESSED_ENCRYPTED, FIL_PAGE_POST_ENCRYPTION_CHECKSUM, FIL_PAGE_SPACE_ID,
    FIL_PAGE_TYPE,
};

use crate::scheme::{iv, SpaceKeys};
use crate::Error;

/// `FIL_PAGE_ENCRYPT_COMP_METADATA_LEN`: the clear length and algorithm fields of a legacy
/// page_compressed+encrypted page.
const COMP_METADATA_LEN: usize = 4;
/// `FIL_PAGE_DATA_END`.
const FIL_PAGE_DATA_END: usize = 8;

/// The layout of a tablespace's pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// `full_crc32` (10.5+ default).
    FullCrc32,
    /// The legacy layout, uncompressed pages.
    Legacy,
    /// The legacy layout, ROW_FORMAT=COMPRESSED pages (the buffer is the zip size).
    LegacyZip,
}

fn be32(p: &[u8], at: usize) -> Result<u32, Error> {
    p.get(at..at + 4)
        .map(|b| u32::from_be_bytes(b.try_into().unwrap_or([0; 4])))
        .ok_or_else(|| Error::Format(format!("page of {} bytes has no field at {at}", p.len())))
}

fn be64(p: &[u8], at: usize) -> Result<u64, Error> {
    Ok(u64::from(be32(p, at)?) << 32 | u64::from(be32(p, at + 4)?))
}

/// The key version of a stored page (0: not encrypted).
pub fn key_version(page: &[u8], layout: Layout) -> Result<u32, Error> {
    match layout {
        Layout::FullCrc32 => be32(page, FIL_PAGE_FCRC32_KEY_VERSION),
        _ => be32(page, FIL_PAGE_FILE_FLUSH_LSN_OR_KEY_VERSION),
    }
}

/// The encrypted range of `page` and the IV's space id.
fn range(page: &[u8], layout: Layout, space_id: u32) -> Result<(usize, usize, u32), Error> {
    let short = || {
        Error::Format(format!(
            "encrypted page of {} bytes is too short",
            page.len()
        ))
    };
    match layout {
        Layout::FullCrc32 => {
            let len = full_crc32_image_len(page).map_err(|e| Error::Format(e.to_string()))?;
            let end = len
                .checked_sub(FIL_PAGE_FCRC32_CHECKSUM)
                .filter(|&e| e > FIL_PAGE_FILE_FLUSH_LSN_OR_KEY_VERSION)
                .ok_or_else(short)?;
            Ok((FIL_PAGE_FILE_FLUSH_LSN_OR_KEY_VERSION, end, space_id))
        }
        Layout::Legacy | Layout::LegacyZip => {
            let space = be32(page, FIL_PAGE_SPACE_ID)?;
            let ty = page
                .get(FIL_PAGE_TYPE..FIL_PAGE_TYPE + 2)
                .ok_or_else(short)?;
            if u16::from_be_bytes([ty[0], ty[1]]) == FIL_PAGE_PAGE_COMPRESSED_ENCRYPTED {
                let start = FIL_PAGE_DATA + COMP_METADATA_LEN;
                let len = page
                    .get(FIL_PAGE_DATA..FIL_PAGE_DATA + 2)
                    .ok_or_else(short)?;
                let end = start + usize::from(u16::from_be_bytes([len[0], len[1]]));
                if end > page.len() {
                    return Err(Error::Format(format!(
                        "page_compressed+encrypted length {} past the page",
                        end - start
                    )));
                }
                return Ok((start, end, space));
            }
            let end = page
                .len()
                .checked_sub(FIL_PAGE_DATA_END)
                .filter(|&e| e >= FIL_PAGE_DATA)
                .ok_or_else(short)?;
            Ok((FIL_PAGE_DATA, end, space))
        }
    }
}

fn page_iv(page: &[u8], space: u32) -> Result<[u8; 16], Error> {
    Ok(iv(
        space,
        be32(page, FIL_PAGE_OFFSET)?,
        be64(page, FIL_PAGE_LSN)?,
    ))
}

/// Decrypts a stored page in place (its key version must not be 0). `space_id` is the
/// tablespace's id (full_crc32 pages; legacy pages carry it in clear at 34). The key
/// version and, for legacy pages, the post-encryption checksum stay in the header.
pub fn decrypt(
    keys: &SpaceKeys,
    layout: Layout,
    space_id: u32,
    page: &mut [u8],
) -> Result<(), Error> {
    let version = key_version(page, layout)?;
    let (start, end, space) = range(page, layout, space_id)?;
    let iv = page_iv(page, space)?;
    keys.crypt(false, version, &iv, &mut page[start..end])
}

/// Encrypts a plaintext page in place with key `version`, whose LSN and plaintext
/// checksum are final, as the server writes it: key version, ciphertext, and the
/// checksum of the encrypted page (full_crc32: CRC-32C at the end; legacy: at 30).
pub fn encrypt(
    keys: &SpaceKeys,
    layout: Layout,
    space_id: u32,
    version: u32,
    page: &mut [u8],
) -> Result<(), Error> {
    let (start, end, space) = range(page, layout, space_id)?;
    let iv = page_iv(page, space)?;
    match layout {
        Layout::FullCrc32 => {
            page[FIL_PAGE_FCRC32_KEY_VERSION..FIL_PAGE_FCRC32_KEY_VERSION + 4]
                .copy_from_slice(&version.to_be_bytes());
            keys.crypt(true, version, &iv, &mut page[start..end])?;
            let crc = crc32c(&page[..end]);
            page[end..end + 4].copy_from_slice(&crc.to_be_bytes());
            page[end + 4..].fill(0);
        }
        Layout::Legacy | Layout::LegacyZip => {
            let kv = FIL_PAGE_FILE_FLUSH_LSN_OR_KEY_VERSION;
            page[kv..kv + 4].copy_from_slice(&version.to_be_bytes());
            keys.crypt(true, version, &iv, &mut page[start..end])?;
            if start != FIL_PAGE_DATA {
                page[end..].fill(0); // page_compressed: the rest of the buffer is cleared
            }
            let sum = if layout == Layout::LegacyZip {
                zip_crc32(page)
            } else {
                legacy_crc32(page)
            }
            .map_err(|e| Error::Format(e.to_string()))?;
            let at = FIL_PAGE_POST_ENCRYPTION_CHECKSUM;
            page[at..at + 4].copy_from_slice(&sum.to_be_bytes());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use innodb::page::fsp::{CryptData, CryptScheme, EncryptionMode};

    /// A legacy page_compressed+encrypted page keeps length (38) and algorithm (40) in clear
    /// and encrypts the `len` payload bytes from 42 (`FIL_PAGE_ENCRYPT_COMP_METADATA_LEN` 4),
    /// as `fil_encrypt_buf_for_non_full_checksum`; decryption gives the bytes back.
    #[test]
    fn legacy_page_compressed_encrypted_layout() {
        let ring = crate::KeyRing::from_keys([(1, crate::Key::new(&[7u8; 16]).unwrap())]);
        let crypt = CryptData {
            offset: 0,
            scheme: CryptScheme::Scheme1,
            iv: [3; 16],
            min_key_version: 1,
            key_id: 1,
            encryption: EncryptionMode::On,
        };
        let keys = SpaceKeys::new(&ring, crate::Algorithm::Cbc, &crypt).unwrap();
        let mut page = vec![0u8; 4096];
        page[4..8].copy_from_slice(&9u32.to_be_bytes());
        page[24..26].copy_from_slice(&FIL_PAGE_PAGE_COMPRESSED_ENCRYPTED.to_be_bytes());
        page[34..38].copy_from_slice(&5u32.to_be_bytes());
        page[38..40].copy_from_slice(&100u16.to_be_bytes());
        page[40..42].copy_from_slice(&2u16.to_be_bytes()); // lz4
        for (i, b) in page[42..142].iter_mut().enumerate() {
            *b = i as u8;
        }
        let plain = page.clone();
        encrypt(&keys, Layout::Legacy, 5, 1, &mut page).unwrap();
        assert_eq!(page[26..30], 1u32.to_be_bytes());
        assert_eq!(
            page[34..42],
            plain[34..42],
            "space id, length, algorithm clear"
        );
        assert_ne!(page[42..142], plain[42..142]);
        assert!(page[142..].iter().all(|&b| b == 0));
        decrypt(&keys, Layout::Legacy, 5, &mut page).unwrap();
        assert_eq!(page[38..], plain[38..]);
    }
}
