//! Encrypted tablespaces: a page is decrypted after it is read and checked, and encrypted
//! again after it is applied and stamped, as the server writes it (encryption-format.md §3).
//!
//! Which pages are written encrypted is `buf_page_encrypt`'s rule: every page but page 0
//! of a tablespace whose crypt data says scheme 1 and `ENCRYPTED=YES`, or `DEFAULT` with
//! `innodb_encrypt_tables` on (backup-my.cnf); the key is the latest version of the crypt
//! data's key id, the IV (space, page, new page LSN). A page_compressed tablespace is
//! compressed first, then encrypted (and read in the reverse order): this module only sees
//! the bytes that go to the disk.

use std::collections::HashMap;
use std::path::Path;

use ::crypt::page::{self as cpage, Layout};
use ::crypt::scheme::SpaceKeys;
pub use ::crypt::Keys;
use innodb::page::checksum::{innodb_new_checksum, legacy_crc32};
use innodb::page::fil::BUF_NO_CHECKSUM_MAGIC;
use innodb::page::fsp::{CryptData, EncryptionMode, SpaceFlags};
use innodb::page::read_crypt_data;
use innodb::redo::PageId;
use innodb::{PageNo, SpaceId};

use crate::error::PrepareError;
use crate::spaces::Space;

/// The keys and layout of one encrypted tablespace.
#[derive(Debug)]
pub(crate) struct SpaceCrypt {
    keys: SpaceKeys,
    layout: Layout,
    space_id: u32,
    /// Pages written back are encrypted (else written in clear, key version 0).
    encrypt_writes: bool,
}

/// Why an encrypted tablespace cannot be changed: no keys, or not its key id.
pub(crate) fn key_error(crypt: &CryptData, keys: Option<&Keys>) -> Option<String> {
    match keys {
        None => Some(format!(
            "encrypted with key id {}, and no key management is configured: backup-my.cnf has \
             no plugin_load=file_key_management; give --plugin-load-add=file_key_management \
             --file-key-management-filename=KEYFILE",
            crypt.key_id
        )),
        Some(k) if k.ring.latest_version(crypt.key_id).is_none() => Some(format!(
            "encrypted with key id {}, which is not in the key file \
             (--file-key-management-filename): give the server's key file",
            crypt.key_id
        )),
        Some(_) => None,
    }
}

impl SpaceCrypt {
    /// The encryption of a tablespace whose page 0 has `crypt` (scheme 1).
    pub(crate) fn new(
        keys: &Keys,
        crypt: &CryptData,
        flags: &SpaceFlags,
        space_id: u32,
        encrypt_tables: bool,
    ) -> Result<SpaceCrypt, String> {
        let layout = if flags.is_full_crc32() {
            Layout::FullCrc32
        } else if flags.zip_size().is_some() {
            Layout::LegacyZip
        } else {
            Layout::Legacy
        };
        let encrypt_writes = match crypt.encryption {
            EncryptionMode::On => true,
            EncryptionMode::Off => false,
            EncryptionMode::Default => encrypt_tables,
        };
        Ok(SpaceCrypt {
            keys: SpaceKeys::new(&keys.ring, keys.algorithm, crypt).map_err(|e| e.to_string())?,
            layout,
            space_id,
            encrypt_writes,
        })
    }

    /// Decrypts a page read from `path` (and checked) in place if it is encrypted; the
    /// plaintext is checked, so a wrong key is an error naming the key id, not damage.
    pub(crate) fn decrypt(
        &self,
        path: &Path,
        page_no: PageNo,
        page: &mut [u8],
    ) -> Result<(), PrepareError> {
        let version = cpage::key_version(page, self.layout).unwrap_or(0);
        if page_no.0 == 0 || version == 0 {
            return Ok(());
        }
        let err = |reason: String| PrepareError::Key {
            what: format!("{} page {page_no}", path.display()),
            reason,
        };
        cpage::decrypt(&self.keys, self.layout, self.space_id, page)
            .map_err(|e| err(e.to_string()))?;
        if !self.plaintext_ok(page) {
            return Err(err(format!(
                "the page does not decrypt with key id {} version {version}: the key file \
                 (--file-key-management-filename) or the algorithm \
                 (--file-key-management-encryption-algorithm) is not the server's",
                self.keys.key_id()
            )));
        }
        Ok(())
    }

    /// A decrypted page is consistent: full_crc32, the LSN copy in the (encrypted) trailer;
    /// legacy, the plaintext checksum stored in clear in field 1.
    fn plaintext_ok(&self, page: &[u8]) -> bool {
        let be32 = |at: usize| {
            page.get(at..at + 4)
                .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
        };
        match self.layout {
            Layout::FullCrc32 => {
                // A page_compressed page has no trailer to compare (its payload is checked
                // when it is decompressed).
                let compressed = page.get(24..26).is_some_and(|t| t[0] & 0x80 != 0);
                compressed || be32(page.len() - 8) == be32(20)
            }
            Layout::Legacy => {
                let stored = be32(0);
                stored == Some(BUF_NO_CHECKSUM_MAGIC)
                    || stored == legacy_crc32(page).ok()
                    || stored == innodb_new_checksum(page).ok()
                    || page.get(24..26) == Some(&[0x92, 0x19]) // page_compressed: no checksum
            }
            Layout::LegacyZip => true,
        }
    }

    /// Encrypts a stamped page (not page 0) before it is written, if the server would.
    /// Pages written in clear get key version 0, as `buf_page_encrypt` clears it.
    pub(crate) fn encrypt(
        &self,
        path: &Path,
        page_no: PageNo,
        page: &mut [u8],
    ) -> Result<(), PrepareError> {
        if page_no.0 == 0 {
            return Ok(());
        }
        if !self.encrypt_writes {
            match self.layout {
                Layout::FullCrc32 => {
                    // The checksum covers the key version: stamped again.
                    page[0..4].fill(0);
                    let end = innodb::page::checksum::full_crc32_image_len(page)
                        .unwrap_or(page.len())
                        .saturating_sub(4);
                    let crc = innodb::page::checksum::crc32c(&page[..end]);
                    page[end..end + 4].copy_from_slice(&crc.to_be_bytes());
                }
                _ => page[26..34].fill(0),
            }
            return Ok(());
        }
        cpage::encrypt(
            &self.keys,
            self.layout,
            self.space_id,
            self.keys.latest_version(),
            page,
        )
        .map_err(|e| PrepareError::Key {
            what: format!("{} page {page_no}", path.display()),
            reason: e.to_string(),
        })
    }
}

/// Before a batch is applied: a deferred tablespace (page 0 was zero in the backup) gets
/// its crypt data from its page 0 as this batch makes it (`page0`: the applied page, or
/// `None` when the batch does not change it, then the file's), so that the pages the batch
/// writes are encrypted as the server would. A page 0 still zero stays pending.
pub(crate) fn resolve_deferred(
    spaces: &HashMap<SpaceId, Space>,
    keys: Option<(&Keys, bool)>,
    mut page0: impl FnMut(&Space, PageId) -> Result<Option<Vec<u8>>, PrepareError>,
) -> Result<(), PrepareError> {
    for (&id, sp) in spaces.iter() {
        let Some(flags) = sp.crypt_pending else {
            continue;
        };
        if sp.crypt_resolved.get().is_some() {
            continue;
        }
        let pid = PageId {
            space: id,
            page_no: PageNo(0),
        };
        let page = match page0(sp, pid)? {
            Some(p) => p,
            None => {
                let mut p = vec![0u8; sp.phys];
                crate::read_page(&sp.file, &mut p, 0)
                    .map_err(|e| PrepareError::io("read page 0 of", &sp.path, e))?;
                p
            }
        };
        if innodb::page::is_all_zero(&page) {
            continue;
        }
        let _ = sp.crypt_resolved.set(());
        let Ok(Some(c)) = read_crypt_data(&page, &flags) else {
            continue;
        };
        if !c.is_encrypted() {
            continue;
        }
        let key_err = |reason| PrepareError::Key {
            what: sp.path.display().to_string(),
            reason,
        };
        let Some((k, encrypt_tables)) = keys else {
            continue; // written in clear (`check_deferred`)
        };
        if let Some(reason) = key_error(&c, Some(k)) {
            return Err(key_err(reason));
        }
        let sc = SpaceCrypt::new(k, &c, &flags, id.0, encrypt_tables).map_err(key_err)?;
        let _ = sp.crypt.set(sc);
    }
    Ok(())
}

/// Before anything is written: a deferred tablespace the log changes, whose page 0 the
/// log makes encrypted (`crypt` noted in pass 1: scheme, key id), must have its key.
pub(crate) fn check_deferred(
    sp: &Space,
    crypt: Option<(u8, u32, u8)>,
    keys: Option<&Keys>,
) -> Result<(), PrepareError> {
    let Some((1, key_id, _)) = crypt.filter(|_| sp.crypt_pending.is_some()) else {
        return Ok(());
    };
    // Without any keys its pages (rebuilt from the log: the backup has no page 0 for it)
    // are written in clear, key version 0, which the server reads; with keys, its key id
    // must be there.
    if keys.is_none() {
        return Ok(());
    }
    let data = CryptData {
        offset: 0,
        scheme: innodb::page::fsp::CryptScheme::Scheme1,
        iv: [0; 16],
        min_key_version: 0,
        key_id,
        encryption: EncryptionMode::Default,
    };
    match key_error(&data, keys) {
        None => Ok(()),
        Some(reason) => Err(PrepareError::Key {
            what: sp.path.display().to_string(),
            reason,
        }),
    }
}
