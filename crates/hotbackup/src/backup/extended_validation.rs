//! Encrypted pages of a legacy (not full_crc32) tablespace decrypted with the table's key and
//! their plaintext checked, as mariadb-backup 10.11's `page_is_corrupted` (fil_cur.cc) does:
//! every encrypted page with `--extended-validation` ([`Mode::Extended`]), the
//! page_compressed+encrypted ones (type 37401) always ([`Mode::PageCompressed`]).
//!
//! The rule, for a page other than page 0 whose key version (bytes 26..30) is not 0, and
//! that passed the post-encryption checksum (the copier's validator; type 37401 has none):
//! a tablespace without crypt data (scheme 1) makes it corrupt; else it is decrypted and must
//! pass `buf_page_is_corrupted`, after decompression for a page_compressed one. A tablespace
//! whose pages need keys that are not there fails its copy (exit 2); in
//! [`Mode::PageCompressed`] only a page_compressed one, another's stray 37401 page is corrupt.
//! full_crc32 pages are checked by the CRC-32C over their stored bytes only, in both modes
//! (mariadb-backup does not decrypt them either).

use std::sync::{Arc, Mutex};

use crypt::page::{self as cpage, Layout};
use crypt::scheme::SpaceKeys;
use innodb::page::fil::{page_type_raw, FIL_PAGE_PAGE_COMPRESSED_ENCRYPTED};
use innodb::page::{read_crypt_data, PageValidator, PageVerdict, ValidationOptions};
use innodb::PageNo;
use page_copier::{DeepCheck, SpaceCheck};

/// Which encrypted pages are decrypted and checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Mode {
    /// `--extended-validation`: every one.
    Extended,
    /// Without the option: page_compressed ones (type 37401), as mariadb-backup always does.
    PageCompressed,
}

/// Builds each tablespace's check from its page 0 and the server's keys.
pub(super) struct ExtendedValidation {
    mode: Mode,
    keys: Option<Arc<crypt::Keys>>,
    /// Why there are no keys, for the message of an encrypted tablespace.
    no_keys: String,
    options: ValidationOptions,
    /// The system tablespace's check, from `ibdata1`'s page 0, for its further files.
    system: Mutex<Option<Arc<SpaceDecrypt>>>,
}

impl std::fmt::Debug for ExtendedValidation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExtendedValidation")
            .field("mode", &self.mode)
            .field("keys", &self.keys.is_some())
            .finish()
    }
}

impl ExtendedValidation {
    /// `keys`: the server's (file_key_management), or `None` with the reason there are none.
    pub(super) fn new(
        mode: Mode,
        keys: Option<Arc<crypt::Keys>>,
        no_keys: String,
        options: ValidationOptions,
    ) -> ExtendedValidation {
        ExtendedValidation {
            mode,
            keys,
            no_keys,
            options,
            system: Mutex::new(None),
        }
    }
}

/// How a tablespace's encrypted pages are decrypted.
enum Decrypt {
    /// No crypt data on page 0: a key version on a page is corrupt.
    NoCryptData,
    Keys(SpaceKeys),
    /// Encrypted, but its keys are not there (why): the pages it decrypts are corrupt.
    Unavailable(String),
}

/// One legacy tablespace: which pages it decrypts, its keys and the plaintext rules.
struct SpaceDecrypt {
    mode: Mode,
    decrypt: Decrypt,
    layout: Layout,
    space_id: u32,
    plain: PageValidator,
}

/// Shares one tablespace's check between its files (`ibdata1`, `ibdata2`, ...).
struct Shared(Arc<SpaceDecrypt>);

impl SpaceCheck for Shared {
    fn check(&self, page: &[u8], page_no: PageNo) -> Option<String> {
        self.0.check(page, page_no)
    }
}

impl DeepCheck for ExtendedValidation {
    fn for_space(
        &self,
        validator: &PageValidator,
        page0: Option<&[u8]>,
    ) -> Result<Option<Box<dyn SpaceCheck>>, String> {
        if validator.flags().is_full_crc32() {
            return Ok(None);
        }
        let system = validator.is_system();
        let Some(page0) = page0 else {
            // A further system tablespace file: ibdata1's check (copied first).
            let first = self.system.lock().map(|g| g.clone()).unwrap_or(None);
            return Ok(first.map(|s| Box::new(Shared(s)) as Box<dyn SpaceCheck>));
        };
        let flags = *validator.flags();
        let crypt = match read_crypt_data(page0, &flags) {
            Ok(Some(c)) if c.is_encrypted() => Some(c),
            _ => None,
        };
        let decrypt = match (&crypt, &self.keys) {
            (None, _) => Decrypt::NoCryptData,
            (Some(c), keys) => {
                let keys = match keys {
                    Some(k) => SpaceKeys::new(&k.ring, k.algorithm, c).map_err(|e| {
                        format!("{e}: give the server's key file (--file-key-management-filename)")
                    }),
                    None => Err(self.no_keys.clone()),
                };
                match keys {
                    Ok(k) => Decrypt::Keys(k),
                    // Without the option only page_compressed tablespaces are expected to
                    // have pages to decrypt; a stray one elsewhere is corrupt.
                    Err(why)
                        if self.mode == Mode::PageCompressed && !flags.is_page_compressed() =>
                    {
                        Decrypt::Unavailable(why)
                    }
                    Err(why) => {
                        let which = match self.mode {
                            Mode::Extended => "--extended-validation decrypts its pages",
                            Mode::PageCompressed => {
                                "its page_compressed pages are decrypted to be checked, as \
                                 mariadb-backup does"
                            }
                        };
                        return Err(format!(
                            "encrypted with key id {}: {which}, which needs the server's keys, \
                             but {why}",
                            c.key_id
                        ));
                    }
                }
            }
        };
        let layout = if flags.zip_size().is_some() {
            Layout::LegacyZip
        } else {
            Layout::Legacy
        };
        let space = Arc::new(SpaceDecrypt {
            mode: self.mode,
            decrypt,
            layout,
            space_id: validator.space_id().0,
            // The plaintext's own checksums (a page_compressed one decompressed first), the
            // key version at 26 no longer taken for encryption.
            plain: PageValidator::new(flags, validator.space_id()).with_options(
                ValidationOptions {
                    encrypted_backup: false,
                    ..self.options
                },
            ),
        });
        if system {
            if let Ok(mut g) = self.system.lock() {
                *g = Some(space.clone());
            }
        }
        Ok(Some(Box::new(Shared(space))))
    }
}

impl SpaceDecrypt {
    fn check(&self, page: &[u8], page_no: PageNo) -> Option<String> {
        let version = cpage::key_version(page, self.layout).unwrap_or(0);
        if page_no.0 == 0 || version == 0 {
            return None;
        }
        if self.mode == Mode::PageCompressed
            && page_type_raw(page).ok()? != FIL_PAGE_PAGE_COMPRESSED_ENCRYPTED
        {
            return None;
        }
        let keys = match &self.decrypt {
            Decrypt::Keys(k) => k,
            Decrypt::NoCryptData => {
                return Some(format!(
                    "key version {version} on a page of a tablespace that has no encryption \
                     (no crypt data on page 0)"
                ))
            }
            Decrypt::Unavailable(why) => {
                return Some(format!(
                    "cannot be decrypted (key version {version}): {why}"
                ))
            }
        };
        let mut plain = page.to_vec();
        if let Err(e) = cpage::decrypt(keys, self.layout, self.space_id, &mut plain) {
            return Some(format!("cannot be decrypted: {e}"));
        }
        match self.plain.validate(&plain, page_no) {
            PageVerdict::Corrupt(c) => Some(format!(
                "after decryption with key id {} version {version}: {c}",
                keys.key_id()
            )),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::{Path, PathBuf};

    use innodb::page::checksum::legacy_crc32;

    fn crypt_dir() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/crypt")
    }

    fn keys(file: &str, filekey: &str, algorithm: crypt::Algorithm) -> Arc<crypt::Keys> {
        let filekey = crypt::FileKey::from_option(filekey).unwrap();
        let ring = crypt::KeyRing::load(&crypt_dir().join(file), &filekey).unwrap();
        Arc::new(crypt::Keys { ring, algorithm })
    }

    fn check_of(ev: &ExtendedValidation, file: &[u8]) -> (PageValidator, Box<dyn SpaceCheck>) {
        let v = PageValidator::from_page0(&file[..16384], ValidationOptions::default()).unwrap();
        let c = ev.for_space(&v, Some(&file[..16384])).unwrap().unwrap();
        (v, c)
    }

    /// mtr encrypted_page_corruption's page: zero but for page number, key version 1 and
    /// space id, with crc32 in both checksum fields and the same value as post-encryption
    /// checksum, so that it passes every check that does not decrypt it.
    fn crafted(page_no: u32, space: u32) -> Vec<u8> {
        let mut p = vec![0u8; 16384];
        p[4..8].copy_from_slice(&page_no.to_be_bytes());
        p[26..30].copy_from_slice(&1u32.to_be_bytes());
        p[34..38].copy_from_slice(&space.to_be_bytes());
        let ck = legacy_crc32(&p).unwrap().to_be_bytes();
        p[0..4].copy_from_slice(&ck);
        p[16376..16380].copy_from_slice(&ck);
        p[30..34].copy_from_slice(&ck);
        p
    }

    #[test]
    fn real_encrypted_pages_decrypt_to_valid_plaintext_and_the_crafted_page_does_not() {
        for (file, keyfile, filekey, algorithm) in [
            ("cbc_t_legacy.ibd", "keys.txt", "", crypt::Algorithm::Cbc),
            (
                "ctr_t_legacy.ibd",
                "keys.enc",
                "secret",
                crypt::Algorithm::Ctr,
            ),
        ] {
            let data = std::fs::read(crypt_dir().join(file)).unwrap();
            let ev = ExtendedValidation::new(
                Mode::Extended,
                Some(keys(keyfile, filekey, algorithm)),
                String::new(),
                ValidationOptions::default(),
            );
            let (v, check) = check_of(&ev, &data);
            let mut encrypted = 0;
            for (n, page) in data.chunks(16384).enumerate() {
                let page_no = PageNo(n as u32);
                assert!(!v.validate(page, page_no).is_corrupt(), "{file} page {n}");
                assert_eq!(check.check(page, page_no), None, "{file} page {n}");
                encrypted += usize::from(n > 0 && page[26..30] != [0; 4]);
            }
            assert!(encrypted >= 3, "{file}: {encrypted} encrypted pages");
            let bad = crafted(3, v.space_id().0);
            assert!(
                !v.validate(&bad, PageNo(3)).is_corrupt(),
                "{file}: the copier's checks pass it"
            );
            let reason = check
                .check(&bad, PageNo(3))
                .expect("decrypted, it is corrupt");
            assert!(
                reason.contains("after decryption with key id 1 version 1"),
                "{reason}"
            );
            // A page damaged under its post-encryption checksum: decrypted to garbage too.
            let mut page3 = data[3 * 16384..4 * 16384].to_vec();
            page3[5000] ^= 1;
            assert!(check.check(&page3, PageNo(3)).is_some(), "{file}");
        }
    }

    #[test]
    fn wrong_key_or_algorithm_makes_pages_corrupt() {
        let data = std::fs::read(crypt_dir().join("cbc_t_legacy.ibd")).unwrap();
        let ev = ExtendedValidation::new(
            Mode::Extended,
            Some(keys("keys.txt", "", crypt::Algorithm::Ctr)),
            String::new(),
            ValidationOptions::default(),
        );
        let (_, check) = check_of(&ev, &data);
        assert!(check
            .check(&data[16384 * 3..16384 * 4], PageNo(3))
            .is_some());
    }

    #[test]
    fn missing_keys_name_the_key_id_and_full_crc32_is_not_decrypted() {
        let legacy = std::fs::read(crypt_dir().join("cbc_t_legacy.ibd")).unwrap();
        let v = PageValidator::from_page0(&legacy[..16384], ValidationOptions::default()).unwrap();
        let none = ExtendedValidation::new(
            Mode::Extended,
            None,
            "the server has no key plugin".into(),
            ValidationOptions::default(),
        );
        let e = none.for_space(&v, Some(&legacy[..16384])).err().unwrap();
        assert!(
            e.contains("key id 1") && e.contains("the server has no key plugin"),
            "{e}"
        );
        // keys.txt has ids 1 and 2: a ring with only id 2 lacks the table's key.
        let only2 = keys("keys.txt", "", crypt::Algorithm::Cbc);
        let ring = crypt::KeyRing::from_keys([(2, only2.ring.get(2, 1).unwrap().clone())]);
        let ev = ExtendedValidation::new(
            Mode::Extended,
            Some(Arc::new(crypt::Keys {
                ring,
                algorithm: crypt::Algorithm::Cbc,
            })),
            String::new(),
            ValidationOptions::default(),
        );
        let e = ev.for_space(&v, Some(&legacy[..16384])).err().unwrap();
        assert!(
            e.contains("key id 1") && e.contains("--file-key-management-filename"),
            "{e}"
        );
        let fcrc = std::fs::read(crypt_dir().join("cbc_t_fcrc.ibd")).unwrap();
        let v = PageValidator::from_page0(&fcrc[..16384], ValidationOptions::default()).unwrap();
        assert!(ev.for_space(&v, Some(&fcrc[..16384])).unwrap().is_none());
    }

    #[test]
    fn a_key_version_in_a_tablespace_without_crypt_data_is_corrupt() {
        let plain = std::fs::read(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../../testdata/pages/legacy_crc32_zip8k.ibd"),
        )
        .unwrap();
        let v = PageValidator::from_page0(&plain, ValidationOptions::default()).unwrap();
        let size = v.page_size();
        for mode in [Mode::Extended, Mode::PageCompressed] {
            let ev = ExtendedValidation::new(mode, None, "none".into(), Default::default());
            let check = ev.for_space(&v, Some(&plain[..size])).unwrap().unwrap();
            assert_eq!(check.check(&plain[size..2 * size], PageNo(1)), None);
            let mut p = plain[size..2 * size].to_vec();
            p[26..30].copy_from_slice(&1u32.to_be_bytes());
            // Without the option only a page_compressed+encrypted page is looked at.
            let reason = check.check(&p, PageNo(1));
            assert_eq!(reason.is_some(), mode == Mode::Extended, "{mode:?}");
            p[24..26].copy_from_slice(&FIL_PAGE_PAGE_COMPRESSED_ENCRYPTED.to_be_bytes());
            let reason = check.check(&p, PageNo(1)).unwrap();
            assert!(reason.contains("no crypt data"), "{mode:?}: {reason}");
        }
    }

    /// A page_compressed+encrypted page (type 37401) of `page0`'s tablespace, encrypted with
    /// key 1 of keys.txt: clear length and algorithm (zlib) at 38 and 40, `payload` from 42.
    /// It has no checksum (`fil_space_verify_crypt_checksum` passes any 37401 page).
    fn page_compressed_encrypted(page0: &[u8], page_no: u32, payload: &[u8]) -> Vec<u8> {
        let v = PageValidator::from_page0(page0, ValidationOptions::default()).unwrap();
        let crypt = read_crypt_data(page0, v.flags()).unwrap().unwrap();
        let k = keys("keys.txt", "", crypt::Algorithm::Cbc);
        let space_keys = SpaceKeys::new(&k.ring, k.algorithm, &crypt).unwrap();
        let mut p = vec![0u8; 16384];
        p[4..8].copy_from_slice(&page_no.to_be_bytes());
        p[24..26].copy_from_slice(&FIL_PAGE_PAGE_COMPRESSED_ENCRYPTED.to_be_bytes());
        p[34..38].copy_from_slice(&v.space_id().0.to_be_bytes());
        p[38..40].copy_from_slice(&(payload.len() as u16).to_be_bytes());
        p[40..42].copy_from_slice(&1u16.to_be_bytes());
        p[42..42 + payload.len()].copy_from_slice(payload);
        cpage::encrypt(&space_keys, Layout::Legacy, v.space_id().0, 1, &mut p).unwrap();
        p
    }

    /// Without `--extended-validation` ([`Mode::PageCompressed`]), as mariadb-backup 10.11:
    /// a 37401 page is decrypted and decompressed (garbage that is not zlib is caught), any
    /// other encrypted page keeps the copier's checksum check only (the crafted page, whose
    /// checksums match, passes); with the option both are caught. Without keys, only a
    /// page_compressed tablespace fails its copy; another's stray 37401 page is corrupt.
    #[test]
    fn without_the_option_only_page_compressed_encrypted_pages_are_decrypted() {
        let data = std::fs::read(crypt_dir().join("cbc_t_legacy.ibd")).unwrap();
        let page0 = &data[..16384];
        let v = PageValidator::from_page0(page0, ValidationOptions::default()).unwrap();
        let pc = page_compressed_encrypted(page0, 3, &[0x5a; 300]);
        assert!(
            !v.validate(&pc, PageNo(3)).is_corrupt(),
            "the copier passes it"
        );
        let crafted = crafted(3, v.space_id().0);
        let with_keys = Some(keys("keys.txt", "", crypt::Algorithm::Cbc));
        // (mode, keys, page, what the check says: None = passes)
        let cases: [(Mode, bool, &[u8], Option<&str>); 6] = [
            (
                Mode::PageCompressed,
                true,
                &pc,
                Some("after decryption with key id 1 version 1"),
            ),
            (
                Mode::Extended,
                true,
                &pc,
                Some("after decryption with key id 1 version 1"),
            ),
            (Mode::PageCompressed, true, &crafted, None),
            (
                Mode::Extended,
                true,
                &crafted,
                Some("after decryption with key id 1 version 1"),
            ),
            (
                Mode::PageCompressed,
                false,
                &pc,
                Some("cannot be decrypted (key version 1): no keys"),
            ),
            (Mode::PageCompressed, false, &crafted, None),
        ];
        for (mode, has_keys, page, expected) in cases {
            let k = if has_keys { with_keys.clone() } else { None };
            let ev = ExtendedValidation::new(mode, k, "no keys".into(), Default::default());
            let check = ev.for_space(&v, Some(page0)).unwrap().unwrap();
            let got = check.check(page, PageNo(3));
            match (expected, &got) {
                (None, None) => {}
                (Some(want), Some(reason)) if reason.contains(want) => {}
                _ => panic!("{mode:?} keys={has_keys}: {got:?}, expected {expected:?}"),
            }
            // The table's real pages pass in every mode that can decrypt them.
            for (n, real) in data.chunks(16384).enumerate().skip(1) {
                assert_eq!(
                    check.check(real, PageNo(n as u32)),
                    None,
                    "{mode:?} page {n}"
                );
            }
        }
        // A page_compressed tablespace without keys cannot be checked: its copy fails.
        let mut pc0 = page0.to_vec();
        let flags = u32::from_be_bytes(pc0[54..58].try_into().unwrap()) | 1 << 16;
        pc0[54..58].copy_from_slice(&flags.to_be_bytes());
        let sum = legacy_crc32(&pc0).unwrap().to_be_bytes();
        pc0[0..4].copy_from_slice(&sum);
        pc0[16376..16380].copy_from_slice(&sum);
        let v = PageValidator::from_page0(&pc0, ValidationOptions::default()).unwrap();
        assert!(v.flags().is_page_compressed());
        let ev = ExtendedValidation::new(
            Mode::PageCompressed,
            None,
            "no keys".into(),
            Default::default(),
        );
        let e = ev.for_space(&v, Some(&pc0)).err().unwrap();
        assert!(
            e.contains("key id 1") && e.contains("page_compressed") && e.contains("no keys"),
            "{e}"
        );
        // With keys it is checked like any other.
        let ev = ExtendedValidation::new(
            Mode::PageCompressed,
            with_keys,
            String::new(),
            Default::default(),
        );
        let check = ev.for_space(&v, Some(&pc0)).unwrap().unwrap();
        assert!(check.check(&pc, PageNo(3)).is_some());
    }
}
