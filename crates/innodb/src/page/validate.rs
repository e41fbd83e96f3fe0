//! The per-page decision of mariadb-backup (`page_is_corrupted` in fil_cur.cc, which
//! calls `buf_page_is_corrupted` without the LSN-in-the-future check);
//! `shared/docs/page-format.md` §7–§10.2.
//!
//! Order of the checks for a page read at position `page_no` (§10.2):
//!
//! 1. system tablespace and `page_no` in the doublewrite range → skipped;
//! 2. other tablespaces: page number field ≠ position → corrupt unless all zero;
//! 3. all-zero page → valid;
//! 4. full_crc32 → checksum over the stored bytes (§7.1; no key or decompressor needed);
//! 5. legacy, encrypted (key version at 26 on a page other than 0) → post-encryption
//!    checksum at 30 (§8);
//! 6. legacy page_compressed (34354/37401) → decompress, then check the plaintext (§9.2);
//! 7. otherwise legacy crc32/innodb/none or ROW_FORMAT=COMPRESSED checksums (§7.2).

use std::ops::Range;

use thiserror::Error;

use super::checksum::{
    crc32c, full_crc32_image_len, innodb_new_checksum, innodb_old_checksum, legacy_crc32,
    zip_adler32, zip_crc32,
};
use super::compress::{decompress_legacy_page, CompressionAlgorithm, DecompressError};
use super::fil::{
    fcrc32_compressed_len, BUF_NO_CHECKSUM_MAGIC, FIL_PAGE_END_LSN_LOW,
    FIL_PAGE_END_LSN_OLD_CHKSUM, FIL_PAGE_FCRC32_CHECKSUM, FIL_PAGE_FCRC32_END_LSN,
    FIL_PAGE_FCRC32_KEY_VERSION, FIL_PAGE_FILE_FLUSH_LSN_OR_KEY_VERSION, FIL_PAGE_KEY_VERSION,
    FIL_PAGE_LSN, FIL_PAGE_LSN_LOW, FIL_PAGE_OFFSET, FIL_PAGE_PAGE_COMPRESSED,
    FIL_PAGE_PAGE_COMPRESSED_ENCRYPTED, FIL_PAGE_POST_ENCRYPTION_CHECKSUM, FIL_PAGE_SPACE_ID,
    FIL_PAGE_SPACE_OR_CHKSUM, FIL_PAGE_TYPE,
};
use super::fsp::{read_crypt_data, FspHeader, SpaceFlags};
use super::{is_all_zero, read_u16, read_u32, PageError};
use crate::types::{PageNo, SpaceId};

/// Settings of the validation that mariadb-backup takes from its options.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ValidationOptions {
    /// `innodb_checksum_algorithm=strict_crc32`/`strict_full_crc32`: legacy pages must
    /// carry crc32 checksums (no innodb / none). Default off.
    pub strict: bool,
    /// mariadb-backup `--encrypted-backup` (default on): any legacy page other than
    /// page 0 with a non-zero key version at 26 is treated as encrypted. When off,
    /// only tablespaces whose page 0 has crypt data are.
    pub encrypted_backup: bool,
}

impl Default for ValidationOptions {
    fn default() -> Self {
        ValidationOptions {
            strict: false,
            encrypted_backup: true,
        }
    }
}

/// Which checksum (or rule) made a page valid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChecksumKind {
    /// full_crc32 CRC-32C.
    FullCrc32,
    /// Legacy crc32 in both fields.
    Crc32,
    /// Legacy innodb fold checksum (new and/or old).
    Innodb,
    /// Legacy none (0xDEADBEEF in both fields).
    NoChecksum,
    /// Legacy page whose fields predate checksums (field 1 is 0 or 0xDEADBEEF and
    /// field 2 is the LSN high word or 0xDEADBEEF): accepted unchecked, as the server does.
    OldFormat,
    /// Legacy page that is zero except bytes 26..33 (old flush LSN on page 0).
    EmptyPage,
    /// ROW_FORMAT=COMPRESSED crc32.
    ZipCrc32,
    /// ROW_FORMAT=COMPRESSED Adler-32 (innodb).
    ZipAdler32,
    /// ROW_FORMAT=COMPRESSED none (0xDEADBEEF).
    ZipNoChecksum,
}

/// What is known about a page that passed validation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ValidPage {
    /// The checksum that matched (for legacy encrypted pages: the post-encryption one;
    /// for legacy page_compressed pages: the one of the decompressed page).
    pub checksum: ChecksumKind,
    /// The page is stored encrypted (non-zero key version).
    pub encrypted: bool,
    /// The page is stored page_compressed, with this algorithm.
    pub compression: Option<CompressionAlgorithm>,
}

/// Why a page that looks intact could not be fully verified.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum UnverifiedReason {
    /// Legacy page_compressed + encrypted page (type 37401): it has no checksum, and the
    /// payload can only be checked after decryption with the server's key.
    #[error("page_compressed+encrypted page (key version {key_version}): needs the key")]
    EncryptedPageCompressed {
        /// Key version at offset 26.
        key_version: u32,
    },
    /// Legacy page_compressed page with an algorithm this crate cannot decompress.
    #[error("page_compressed with {0}: no decoder available")]
    NoDecoder(CompressionAlgorithm),
}

/// Why a page is corrupt (or torn), with the stored and calculated values.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum Corruption {
    /// The buffer handed in is not one physical page long.
    #[error("page buffer is {len} bytes, the tablespace's page size is {expected}")]
    PageLength {
        /// Length of the buffer.
        len: usize,
        /// Physical page size.
        expected: usize,
    },
    /// `FIL_PAGE_OFFSET` differs from the page's position (misplaced or torn page).
    #[error("page number field {stored} differs from position {expected}")]
    PageNumber {
        /// Value at `FIL_PAGE_OFFSET`.
        stored: u32,
        /// Position in the file.
        expected: PageNo,
    },
    /// full_crc32: the compressed length in `FIL_PAGE_TYPE` does not fit the page.
    #[error("full_crc32 page_compressed length {compressed_len} is not in 256..{page_size}")]
    CompressedLength {
        /// Length decoded from the type.
        compressed_len: usize,
        /// Physical page size.
        page_size: usize,
    },
    /// full_crc32 checksum mismatch.
    #[error("crc32c stored=0x{stored:08x} calc=0x{calculated:08x}")]
    FullCrc32Checksum {
        /// Value at S-4.
        stored: u32,
        /// CRC-32C of `[0, S-4)`.
        calculated: u32,
    },
    /// The LSN low word in the header differs from its trailer copy (torn page).
    #[error("LSN low bytes 0x{header:08x} differ from trailer 0x{trailer:08x}")]
    LsnTrailer {
        /// Bytes 20..23.
        header: u32,
        /// The trailer copy.
        trailer: u32,
    },
    /// ROW_FORMAT=COMPRESSED checksum mismatch.
    #[error("zip checksum stored=0x{stored:08x} crc32=0x{crc32:08x}")]
    ZipChecksum {
        /// Value at offset 0.
        stored: u32,
        /// The zip crc32 value.
        crc32: u32,
    },
    /// Strict mode: fields 1 and 2 are not both the crc32 value.
    #[error("crc32 f1=0x{field1:08x} f2=0x{field2:08x} calc=0x{calculated:08x}")]
    StrictCrc32 {
        /// Field 1 (offset 0).
        field1: u32,
        /// Field 2 (P-8).
        field2: u32,
        /// The crc32 value.
        calculated: u32,
    },
    /// Legacy: field 2 (P-8) matches neither crc32 nor the innodb old checksum.
    #[error(
        "trailer checksum f2=0x{field2:08x} crc32=0x{crc32:08x} innodb_old=0x{innodb_old:08x}"
    )]
    TrailerChecksum {
        /// Field 2.
        field2: u32,
        /// The crc32 value.
        crc32: u32,
        /// The innodb old checksum.
        innodb_old: u32,
    },
    /// Legacy: field 1 (offset 0) matches neither crc32 nor the innodb new checksum.
    #[error("header checksum f1=0x{field1:08x} crc32=0x{crc32:08x} innodb_new=0x{innodb_new:08x}")]
    HeaderChecksum {
        /// Field 1.
        field1: u32,
        /// The crc32 value.
        crc32: u32,
        /// The innodb new checksum.
        innodb_new: u32,
    },
    /// Legacy encrypted page: the checksum of the encrypted page at 30 does not match.
    #[error(
        "encrypted page (key version {key_version}): post-encryption checksum \
         stored=0x{stored:08x} calc=0x{calculated:08x}"
    )]
    PostEncryptionChecksum {
        /// Key version at 26.
        key_version: u32,
        /// Value at 30.
        stored: u32,
        /// crc32 (or zip crc32) of the encrypted page.
        calculated: u32,
    },
    /// Legacy page_compressed page that does not decompress to a page.
    #[error("page_compressed: {0}")]
    PageCompressed(DecompressError),
    /// The decompressed image is itself marked page_compressed.
    #[error("decompressed page is still page_compressed (type {page_type})")]
    DecompressedStillCompressed {
        /// `FIL_PAGE_TYPE` of the decompressed page.
        page_type: u16,
    },
    /// The decompressed page fails validation.
    #[error("after decompression: {0}")]
    AfterDecompression(Box<Corruption>),
    /// A field could not be read (only for inputs shorter than a page header).
    #[error("unreadable: {0}")]
    Unreadable(PageError),
}

impl From<PageError> for Corruption {
    fn from(error: PageError) -> Self {
        Corruption::Unreadable(error)
    }
}

/// The verdict on one page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PageVerdict {
    /// The page checks out.
    Valid(ValidPage),
    /// The page passed every check possible without a key or decoder.
    Unverified(UnverifiedReason),
    /// Every byte is zero (never written, punched hole): valid.
    AllZero,
    /// Doublewrite buffer page of the system tablespace: not checked, copied as is.
    SkippedDoublewrite,
    /// The page is corrupt or torn: re-read it.
    Corrupt(Corruption),
}

impl PageVerdict {
    /// True if the copier must re-read (and eventually report) the page.
    pub fn is_corrupt(&self) -> bool {
        matches!(self, PageVerdict::Corrupt(_))
    }

    /// The corruption, if any.
    pub fn corruption(&self) -> Option<&Corruption> {
        match self {
            PageVerdict::Corrupt(corruption) => Some(corruption),
            _ => None,
        }
    }
}

/// Validates the pages of one tablespace (or one ibdata file). Build it once from
/// page 0, then call [`PageValidator::validate`] for every page read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageValidator {
    flags: SpaceFlags,
    space_id: SpaceId,
    has_crypt_data: bool,
    options: ValidationOptions,
}

impl PageValidator {
    /// A validator for a tablespace with these flags. Space id 0 means the system
    /// tablespace: doublewrite pages are skipped and page numbers are not compared.
    pub fn new(flags: SpaceFlags, space_id: SpaceId) -> PageValidator {
        PageValidator {
            flags,
            space_id,
            has_crypt_data: false,
            options: ValidationOptions::default(),
        }
    }

    /// Records whether page 0 has crypt data with scheme 1 ([`super::CryptData::is_encrypted`]).
    pub fn with_crypt_data(mut self, encrypted: bool) -> PageValidator {
        self.has_crypt_data = encrypted;
        self
    }

    /// Sets the options (strict mode, `--encrypted-backup`).
    pub fn with_options(mut self, options: ValidationOptions) -> PageValidator {
        self.options = options;
        self
    }

    /// Builds the validator from page 0 of the tablespace: FSP header (space id, flags)
    /// and crypt data. Nonsensical crypt data counts as none, as in the server.
    pub fn from_page0(
        page0: &[u8],
        options: ValidationOptions,
    ) -> Result<PageValidator, PageError> {
        let header = FspHeader::parse(page0)?;
        let has_crypt_data = matches!(
            read_crypt_data(page0, &header.flags),
            Ok(Some(crypt)) if crypt.is_encrypted()
        );
        Ok(PageValidator::new(header.flags, header.space_id)
            .with_crypt_data(has_crypt_data)
            .with_options(options))
    }

    /// The tablespace flags.
    pub fn flags(&self) -> &SpaceFlags {
        &self.flags
    }

    /// The tablespace id.
    pub fn space_id(&self) -> SpaceId {
        self.space_id
    }

    /// Physical page size: the length [`PageValidator::validate`] expects.
    pub fn page_size(&self) -> usize {
        self.flags.physical_page_size()
    }

    /// True for the system tablespace (space id 0).
    pub fn is_system(&self) -> bool {
        self.space_id == SpaceId::SYSTEM
    }

    /// Page numbers (per ibdata file) of the doublewrite buffer that mariadb-backup does
    /// not check: `[extent, 3 * extent)` in the system tablespace, else `None`.
    pub fn doublewrite_range(&self) -> Option<Range<u32>> {
        let extent = u32::try_from(self.flags.extent_pages()).unwrap_or(u32::MAX);
        self.is_system().then(|| extent..extent.saturating_mul(3))
    }

    /// Decides whether `page`, read at position `page_no` of its file, is intact.
    pub fn validate(&self, page: &[u8], page_no: PageNo) -> PageVerdict {
        let expected = self.page_size();
        if page.len() != expected {
            return PageVerdict::Corrupt(Corruption::PageLength {
                len: page.len(),
                expected,
            });
        }
        if self
            .doublewrite_range()
            .is_some_and(|range| range.contains(&page_no.0))
        {
            return PageVerdict::SkippedDoublewrite;
        }
        let all_zero = is_all_zero(page);
        if !self.is_system() {
            match read_u32(page, FIL_PAGE_OFFSET, "FIL_PAGE_OFFSET") {
                Ok(stored) if stored == page_no.0 => {}
                Ok(_) if all_zero => return PageVerdict::AllZero,
                Ok(stored) => {
                    return PageVerdict::Corrupt(Corruption::PageNumber {
                        stored,
                        expected: page_no,
                    })
                }
                Err(error) => return PageVerdict::Corrupt(error.into()),
            }
        }
        if all_zero {
            return PageVerdict::AllZero;
        }
        let result = if self.flags.is_full_crc32() {
            self.check_full_crc32(page)
        } else {
            self.check_legacy_page(page, page_no)
        };
        result.unwrap_or_else(PageVerdict::Corrupt)
    }

    /// §7.1: full_crc32 checksum over the stored bytes, then the LSN trailer copy for
    /// pages that are neither compressed nor encrypted.
    fn check_full_crc32(&self, page: &[u8]) -> Result<PageVerdict, Corruption> {
        let page_size = page.len();
        let page_type = read_u16(page, FIL_PAGE_TYPE, "FIL_PAGE_TYPE")?;
        let compressed = fcrc32_compressed_len(page_type).is_some();
        let image_len = full_crc32_image_len(page).map_err(|error| match error {
            PageError::CompressedLength {
                compressed_len,
                page_size,
            } => Corruption::CompressedLength {
                compressed_len,
                page_size,
            },
            other => Corruption::Unreadable(other),
        })?;
        let checksum_at = image_len - FIL_PAGE_FCRC32_CHECKSUM;
        let stored = read_u32(page, checksum_at, "full_crc32 checksum")?;
        if stored == 0 && !compressed && is_all_zero(page) {
            return Ok(PageVerdict::AllZero);
        }
        let calculated = crc32c(page.get(..checksum_at).unwrap_or_default());
        if stored != calculated {
            return Err(Corruption::FullCrc32Checksum { stored, calculated });
        }
        let key_version = read_u32(page, FIL_PAGE_FCRC32_KEY_VERSION, "key version")?;
        if !compressed && key_version == 0 {
            // Encrypted pages carry ciphertext at P-8, compressed ones payload.
            let header = read_u32(page, FIL_PAGE_LSN_LOW, "FIL_PAGE_LSN")?;
            let trailer = read_u32(
                page,
                page_size - FIL_PAGE_FCRC32_END_LSN,
                "full_crc32 trailer LSN",
            )?;
            if header != trailer {
                return Err(Corruption::LsnTrailer { header, trailer });
            }
        }
        Ok(PageVerdict::Valid(ValidPage {
            checksum: ChecksumKind::FullCrc32,
            encrypted: key_version != 0,
            compression: if compressed {
                self.flags.compression_algorithm()
            } else {
                None
            },
        }))
    }

    /// §10.2 steps 4–6 for legacy tablespaces.
    fn check_legacy_page(&self, page: &[u8], page_no: PageNo) -> Result<PageVerdict, Corruption> {
        let page_type = read_u16(page, FIL_PAGE_TYPE, "FIL_PAGE_TYPE")?;
        let key_version = read_u32(page, FIL_PAGE_KEY_VERSION, "key version")?;
        let treat_as_encrypted = self.options.encrypted_backup || self.has_crypt_data;
        if page_no.0 != 0 && key_version != 0 && treat_as_encrypted {
            return self.check_legacy_encrypted(page, page_type, key_version);
        }
        if page_type == FIL_PAGE_PAGE_COMPRESSED || page_type == FIL_PAGE_PAGE_COMPRESSED_ENCRYPTED
        {
            return self.check_legacy_page_compressed(page);
        }
        let checksum = legacy_checksum(page, self.flags.zip_size().is_some(), self.options.strict)?;
        Ok(PageVerdict::Valid(ValidPage {
            checksum,
            encrypted: false,
            compression: None,
        }))
    }

    /// §8: the post-encryption checksum at 30 (crc32 formula over the encrypted page,
    /// zip crc32 for ROW_FORMAT=COMPRESSED; innodb/adler and none when not strict).
    fn check_legacy_encrypted(
        &self,
        page: &[u8],
        page_type: u16,
        key_version: u32,
    ) -> Result<PageVerdict, Corruption> {
        if page_type == FIL_PAGE_PAGE_COMPRESSED_ENCRYPTED {
            // No checksum at all; the plaintext needs the key (fil_space_verify_crypt_checksum).
            return Ok(PageVerdict::Unverified(
                UnverifiedReason::EncryptedPageCompressed { key_version },
            ));
        }
        let stored = read_u32(
            page,
            FIL_PAGE_POST_ENCRYPTION_CHECKSUM,
            "post-encryption checksum",
        )?;
        let strict = self.options.strict;
        let (calculated, matched) = if self.flags.zip_size().is_some() {
            let crc = zip_crc32(page)?;
            let kind = if stored == crc {
                Some(ChecksumKind::ZipCrc32)
            } else if strict {
                None
            } else if stored == BUF_NO_CHECKSUM_MAGIC {
                Some(ChecksumKind::ZipNoChecksum)
            } else if stored == zip_adler32(page)? {
                Some(ChecksumKind::ZipAdler32)
            } else {
                None
            };
            (crc, kind)
        } else {
            let crc = legacy_crc32(page)?;
            let kind = if stored == crc {
                Some(ChecksumKind::Crc32)
            } else if strict {
                None
            } else if stored == BUF_NO_CHECKSUM_MAGIC {
                Some(ChecksumKind::NoChecksum)
            } else if stored == innodb_new_checksum(page)? {
                Some(ChecksumKind::Innodb)
            } else {
                None
            };
            (crc, kind)
        };
        match matched {
            Some(checksum) => Ok(PageVerdict::Valid(ValidPage {
                checksum,
                encrypted: true,
                compression: None,
            })),
            None => Err(Corruption::PostEncryptionChecksum {
                key_version,
                stored,
                calculated,
            }),
        }
    }

    /// §9.2: decompress, then the plaintext must not be page_compressed again and must
    /// pass the legacy checks (it carries the checksum computed before compression).
    fn check_legacy_page_compressed(&self, page: &[u8]) -> Result<PageVerdict, Corruption> {
        let decompressed = match decompress_legacy_page(page, self.flags.logical_page_size()) {
            Ok(decompressed) => decompressed,
            Err(DecompressError::NoDecoder(algorithm)) => {
                return Ok(PageVerdict::Unverified(UnverifiedReason::NoDecoder(
                    algorithm,
                )))
            }
            Err(error) => return Err(Corruption::PageCompressed(error)),
        };
        let plain = decompressed.page.as_slice();
        let inner_type = read_u16(plain, FIL_PAGE_TYPE, "FIL_PAGE_TYPE")?;
        if inner_type == FIL_PAGE_PAGE_COMPRESSED
            || inner_type == FIL_PAGE_PAGE_COMPRESSED_ENCRYPTED
        {
            return Err(Corruption::DecompressedStillCompressed {
                page_type: inner_type,
            });
        }
        let checksum = legacy_checksum(plain, self.flags.zip_size().is_some(), self.options.strict)
            .map_err(|inner| Corruption::AfterDecompression(Box::new(inner)))?;
        Ok(PageVerdict::Valid(ValidPage {
            checksum,
            encrypted: false,
            compression: Some(decompressed.algorithm),
        }))
    }
}

/// `buf_page_is_corrupted` for a legacy page whose length is its size (§7.2 steps 2–6).
/// Step 1 (page_compressed pages carry no checksum) never applies here: such pages are
/// decompressed first (§10.2).
fn legacy_checksum(page: &[u8], zip: bool, strict: bool) -> Result<ChecksumKind, Corruption> {
    let page_size = page.len();
    if zip {
        return zip_checksum(page, strict);
    }
    let header_lsn = read_u32(page, FIL_PAGE_LSN_LOW, "FIL_PAGE_LSN")?;
    let trailer_lsn = read_u32(
        page,
        page_size.saturating_sub(FIL_PAGE_END_LSN_LOW),
        "trailer LSN",
    )?;
    if header_lsn != trailer_lsn {
        return Err(Corruption::LsnTrailer {
            header: header_lsn,
            trailer: trailer_lsn,
        });
    }
    let field1 = read_u32(page, FIL_PAGE_SPACE_OR_CHKSUM, "checksum field 1")?;
    let field2 = read_u32(
        page,
        page_size.saturating_sub(FIL_PAGE_END_LSN_OLD_CHKSUM),
        "checksum field 2",
    )?;
    if field1 == 0 && field2 == 0 && is_zero_except_flush_lsn(page) {
        return Ok(ChecksumKind::EmptyPage);
    }
    let crc32 = legacy_crc32(page)?;
    let crc32_matches = field1 == crc32 && field2 == crc32;
    if strict {
        return if crc32_matches {
            Ok(ChecksumKind::Crc32)
        } else {
            Err(Corruption::StrictCrc32 {
                field1,
                field2,
                calculated: crc32,
            })
        };
    }
    if field1 == BUF_NO_CHECKSUM_MAGIC && field2 == BUF_NO_CHECKSUM_MAGIC {
        return Ok(ChecksumKind::NoChecksum);
    }
    let mut kind = crc32_matches.then_some(ChecksumKind::Crc32);
    let lsn_high = read_u32(page, FIL_PAGE_LSN, "FIL_PAGE_LSN")?;
    // Very old InnoDB stored the LSN high word in field 2; no checksum to test then.
    if field2 != lsn_high && field2 != BUF_NO_CHECKSUM_MAGIC && !crc32_matches {
        let innodb_old = innodb_old_checksum(page)?;
        if field2 != innodb_old {
            return Err(Corruption::TrailerChecksum {
                field2,
                crc32,
                innodb_old,
            });
        }
        kind = Some(ChecksumKind::Innodb);
    }
    if field1 != 0 && field1 != BUF_NO_CHECKSUM_MAGIC && !crc32_matches {
        let innodb_new = innodb_new_checksum(page)?;
        if field1 != innodb_new {
            return Err(Corruption::HeaderChecksum {
                field1,
                crc32,
                innodb_new,
            });
        }
        kind = Some(ChecksumKind::Innodb);
    }
    Ok(kind.unwrap_or(ChecksumKind::OldFormat))
}

/// ROW_FORMAT=COMPRESSED (`page_zip_verify_checksum`): zip crc32, or when not strict
/// 0xDEADBEEF or Adler-32. No LSN trailer exists on these pages.
fn zip_checksum(page: &[u8], strict: bool) -> Result<ChecksumKind, Corruption> {
    if is_all_zero(page) {
        return Ok(ChecksumKind::EmptyPage);
    }
    let stored = read_u32(page, FIL_PAGE_SPACE_OR_CHKSUM, "zip checksum")?;
    let crc32 = zip_crc32(page)?;
    if stored == crc32 {
        return Ok(ChecksumKind::ZipCrc32);
    }
    if !strict {
        if stored == BUF_NO_CHECKSUM_MAGIC {
            return Ok(ChecksumKind::ZipNoChecksum);
        }
        if stored == zip_adler32(page)? {
            return Ok(ChecksumKind::ZipAdler32);
        }
    }
    Err(Corruption::ZipChecksum { stored, crc32 })
}

/// True if the page is zero except bytes 26..33, where old servers wrote a flush LSN
/// on page 0.
fn is_zero_except_flush_lsn(page: &[u8]) -> bool {
    let before = page
        .get(..FIL_PAGE_FILE_FLUSH_LSN_OR_KEY_VERSION)
        .unwrap_or_default();
    let after = page.get(FIL_PAGE_SPACE_ID..).unwrap_or_default();
    is_all_zero(before) && is_all_zero(after)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::page::checksum::{set_page_lsn, write_checksum, ChecksumFormat};
    use crate::page::compress::tests::{compress, legacy_compressed_page};
    use crate::types::Lsn;

    const LSN: Lsn = Lsn(0x0000_0001_2345_6789);

    /// A plain index page numbered `page_no` with the LSN (and trailer copy) set and
    /// a checksum stamped in `format`.
    fn page(size: usize, page_no: u32, format: ChecksumFormat) -> Vec<u8> {
        // Sparse content so that even lzma-rs (literals only) compresses it.
        let mut page: Vec<u8> = (0..size)
            .map(|i| if i % 16 == 0 { (i * 7 % 251) as u8 } else { 0 })
            .collect();
        page[0..4].fill(0);
        page[4..8].copy_from_slice(&page_no.to_be_bytes());
        page[24..26].copy_from_slice(&17855u16.to_be_bytes());
        page[26..34].fill(0);
        page[34..38].copy_from_slice(&5u32.to_be_bytes());
        set_page_lsn(&mut page, LSN, format).unwrap();
        write_checksum(&mut page, format).unwrap();
        page
    }

    fn validator(raw_flags: u32) -> PageValidator {
        PageValidator::new(SpaceFlags::parse(raw_flags).unwrap(), SpaceId(5))
    }

    fn strict(validator: PageValidator) -> PageValidator {
        validator.with_options(ValidationOptions {
            strict: true,
            encrypted_backup: true,
        })
    }

    fn valid(checksum: ChecksumKind) -> PageVerdict {
        PageVerdict::Valid(ValidPage {
            checksum,
            encrypted: false,
            compression: None,
        })
    }

    fn check(validator: &PageValidator, page: &[u8], page_no: u32, expected: PageVerdict) {
        assert_eq!(validator.validate(page, PageNo(page_no)), expected);
    }

    fn flipped(page: &[u8], at: usize) -> Vec<u8> {
        let mut page = page.to_vec();
        page[at] ^= 1;
        page
    }

    #[test]
    fn full_crc32_plain() {
        let v = validator(0x13);
        let good = page(4096, 3, ChecksumFormat::FullCrc32);
        check(&v, &good, 3, valid(ChecksumKind::FullCrc32));
        let calculated = crc32c(&flipped(&good, 100)[..4092]);
        let stored = u32::from_be_bytes(good[4092..4096].try_into().unwrap());
        check(
            &v,
            &flipped(&good, 100),
            3,
            PageVerdict::Corrupt(Corruption::FullCrc32Checksum { stored, calculated }),
        );
        // Trailer LSN differs but the checksum was stamped afterwards: LSN rule catches it.
        let mut torn = good.clone();
        torn[4088] ^= 0xFF;
        write_checksum(&mut torn, ChecksumFormat::FullCrc32).unwrap();
        check(
            &v,
            &torn,
            3,
            PageVerdict::Corrupt(Corruption::LsnTrailer {
                header: 0x2345_6789,
                trailer: 0xDC45_6789,
            }),
        );
        check(
            &v,
            &good,
            4,
            PageVerdict::Corrupt(Corruption::PageNumber {
                stored: 3,
                expected: PageNo(4),
            }),
        );
        check(&v, &[0u8; 4096], 9, PageVerdict::AllZero);
        check(
            &v,
            &good[..4095],
            3,
            PageVerdict::Corrupt(Corruption::PageLength {
                len: 4095,
                expected: 4096,
            }),
        );
    }

    #[test]
    fn full_crc32_encrypted_and_compressed() {
        let v = validator(0x35);
        // Encrypted: key version set, trailer copy is ciphertext (not compared).
        let mut encrypted = page(16384, 7, ChecksumFormat::FullCrc32);
        encrypted[0..4].copy_from_slice(&1u32.to_be_bytes());
        encrypted[16376] ^= 0x55;
        write_checksum(&mut encrypted, ChecksumFormat::FullCrc32).unwrap();
        check(
            &v,
            &encrypted,
            7,
            PageVerdict::Valid(ValidPage {
                checksum: ChecksumKind::FullCrc32,
                encrypted: true,
                compression: None,
            }),
        );
        assert!(v
            .validate(&flipped(&encrypted, 5000), PageNo(7))
            .is_corrupt());

        // Compressed to 3 * 256 bytes; the rest of the slot is garbage and ignored.
        let mut compressed = page(16384, 7, ChecksumFormat::FullCrc32);
        compressed[24..26].copy_from_slice(&(0x8000u16 | 3).to_be_bytes());
        write_checksum(&mut compressed, ChecksumFormat::FullCrc32).unwrap();
        compressed[1000] ^= 0xFF;
        check(
            &v,
            &compressed,
            7,
            PageVerdict::Valid(ValidPage {
                checksum: ChecksumKind::FullCrc32,
                encrypted: false,
                compression: Some(CompressionAlgorithm::Zlib),
            }),
        );
        assert!(v
            .validate(&flipped(&compressed, 700), PageNo(7))
            .is_corrupt());
        compressed[24..26].copy_from_slice(&(0x8000u16 | 64).to_be_bytes());
        check(
            &v,
            &compressed,
            7,
            PageVerdict::Corrupt(Corruption::CompressedLength {
                compressed_len: 16384,
                page_size: 16384,
            }),
        );
        compressed[24..26].copy_from_slice(&0x8000u16.to_be_bytes());
        assert!(v.validate(&compressed, PageNo(7)).is_corrupt());
    }

    #[test]
    fn legacy_checksum_algorithms() {
        let v = validator(0x21);
        let cases = [
            (ChecksumFormat::Crc32, ChecksumKind::Crc32),
            (ChecksumFormat::Innodb, ChecksumKind::Innodb),
            (ChecksumFormat::None, ChecksumKind::NoChecksum),
        ];
        for (format, kind) in cases {
            let good = page(16384, 2, format);
            check(&v, &good, 2, valid(kind));
            // Body byte flipped: the checksum catches it ("none" cannot).
            let body_flip = v.validate(&flipped(&good, 5000), PageNo(2));
            assert_eq!(
                body_flip.is_corrupt(),
                format != ChecksumFormat::None,
                "{format:?}"
            );
            // LSN low word in the header no longer matches the trailer copy.
            check(
                &v,
                &flipped(&good, 23),
                2,
                PageVerdict::Corrupt(Corruption::LsnTrailer {
                    header: 0x2345_6788,
                    trailer: 0x2345_6789,
                }),
            );
        }
        // Strict mode accepts only crc32.
        let sv = strict(v);
        check(
            &sv,
            &page(16384, 2, ChecksumFormat::Crc32),
            2,
            valid(ChecksumKind::Crc32),
        );
        assert!(sv
            .validate(&page(16384, 2, ChecksumFormat::Innodb), PageNo(2))
            .is_corrupt());
        assert!(sv
            .validate(&page(16384, 2, ChecksumFormat::None), PageNo(2))
            .is_corrupt());
    }

    #[test]
    fn legacy_checksum_errors_carry_values() {
        let v = validator(0x0);
        let good = page(16384, 2, ChecksumFormat::Crc32);
        let bad = flipped(&good, 5000);
        let crc32 = legacy_crc32(&bad).unwrap();
        let field = u32::from_be_bytes(good[0..4].try_into().unwrap());
        let innodb_old = innodb_old_checksum(&bad).unwrap();
        check(
            &v,
            &bad,
            2,
            PageVerdict::Corrupt(Corruption::TrailerChecksum {
                field2: field,
                crc32,
                innodb_old,
            }),
        );
        // Field 2 = LSN high word (ancient format): only field 1 is tested.
        let mut old = bad.clone();
        old[16376..16380].copy_from_slice(&1u32.to_be_bytes());
        let innodb_new = innodb_new_checksum(&old).unwrap();
        check(
            &v,
            &old,
            2,
            PageVerdict::Corrupt(Corruption::HeaderChecksum {
                field1: field,
                crc32,
                innodb_new,
            }),
        );
        old[0..4].fill(0);
        check(&v, &old, 2, valid(ChecksumKind::OldFormat));
        let sv = strict(v);
        assert!(matches!(
            sv.validate(&bad, PageNo(2)),
            PageVerdict::Corrupt(Corruption::StrictCrc32 { .. })
        ));
    }

    #[test]
    fn legacy_empty_page_ignores_flush_lsn() {
        let v = validator(0x0);
        let mut empty = vec![0u8; 16384];
        empty[26..34].copy_from_slice(&[1, 2, 3, 4, 5, 6, 7, 8]);
        check(&v, &empty, 0, valid(ChecksumKind::EmptyPage));
        // Both fields 0 and LSN 0 on a non-empty page: nothing to test, accepted.
        empty[40] = 1;
        check(&v, &empty, 0, valid(ChecksumKind::OldFormat));
    }

    #[test]
    fn zip_checksums() {
        let v = validator(0x29);
        let cases = [
            (ChecksumFormat::ZipCrc32, ChecksumKind::ZipCrc32),
            (ChecksumFormat::ZipAdler32, ChecksumKind::ZipAdler32),
            (ChecksumFormat::ZipNone, ChecksumKind::ZipNoChecksum),
        ];
        for (format, kind) in cases {
            let good = page(8192, 6, format);
            check(&v, &good, 6, valid(kind));
            assert_eq!(
                v.validate(&flipped(&good, 8000), PageNo(6)).is_corrupt(),
                format != ChecksumFormat::ZipNone
            );
            // The LSN is not covered and no trailer exists.
            check(&v, &flipped(&good, 20), 6, valid(kind));
        }
        let bad = flipped(&page(8192, 6, ChecksumFormat::ZipCrc32), 8000);
        let stored = u32::from_be_bytes(bad[0..4].try_into().unwrap());
        check(
            &v,
            &bad,
            6,
            PageVerdict::Corrupt(Corruption::ZipChecksum {
                stored,
                crc32: zip_crc32(&bad).unwrap(),
            }),
        );
        let sv = strict(v);
        assert!(sv
            .validate(&page(8192, 6, ChecksumFormat::ZipAdler32), PageNo(6))
            .is_corrupt());
    }

    /// A legacy encrypted page: plaintext checksum in field 1, key version at 26 and the
    /// checksum of the "encrypted" page at 30.
    fn legacy_encrypted(size: usize, post_encryption: ChecksumFormat) -> Vec<u8> {
        let mut encrypted = page(size, 4, post_encryption);
        let field1 = u32::from_be_bytes(encrypted[0..4].try_into().unwrap());
        encrypted[26..30].copy_from_slice(&3u32.to_be_bytes());
        encrypted[100..200].fill(0x5A); // "ciphertext"
        write_checksum(&mut encrypted, post_encryption).unwrap();
        let post = u32::from_be_bytes(encrypted[0..4].try_into().unwrap());
        encrypted[30..34].copy_from_slice(&post.to_be_bytes());
        encrypted[0..4].copy_from_slice(&field1.to_be_bytes());
        encrypted
    }

    #[test]
    fn legacy_encrypted_pages() {
        let v = validator(0x21);
        let enc = |checksum| {
            PageVerdict::Valid(ValidPage {
                checksum,
                encrypted: true,
                compression: None,
            })
        };
        check(
            &v,
            &legacy_encrypted(16384, ChecksumFormat::Crc32),
            4,
            enc(ChecksumKind::Crc32),
        );
        check(
            &v,
            &legacy_encrypted(16384, ChecksumFormat::Innodb),
            4,
            enc(ChecksumKind::Innodb),
        );
        let bad = flipped(&legacy_encrypted(16384, ChecksumFormat::Crc32), 150);
        let stored = u32::from_be_bytes(bad[30..34].try_into().unwrap());
        check(
            &v,
            &bad,
            4,
            PageVerdict::Corrupt(Corruption::PostEncryptionChecksum {
                key_version: 3,
                stored,
                calculated: legacy_crc32(&bad).unwrap(),
            }),
        );
        // Without --encrypted-backup and without crypt data, the plaintext rules apply
        // (and fail, since the page is "encrypted").
        let plain_rules = v.with_options(ValidationOptions {
            strict: false,
            encrypted_backup: false,
        });
        assert!(plain_rules
            .validate(&legacy_encrypted(16384, ChecksumFormat::Crc32), PageNo(4))
            .is_corrupt());
        check(
            &plain_rules.with_crypt_data(true),
            &legacy_encrypted(16384, ChecksumFormat::Crc32),
            4,
            enc(ChecksumKind::Crc32),
        );
        let zip = validator(0x27);
        check(
            &zip,
            &legacy_encrypted(4096, ChecksumFormat::ZipCrc32),
            4,
            enc(ChecksumKind::ZipCrc32),
        );
        let sv = strict(zip);
        assert!(sv
            .validate(
                &legacy_encrypted(4096, ChecksumFormat::ZipAdler32),
                PageNo(4)
            )
            .is_corrupt());
    }

    #[test]
    fn legacy_page_compressed() {
        let v = validator(0x10021);
        let plain = page(16384, 8, ChecksumFormat::Crc32);
        // lzma pages are covered by compress.rs and the fixture test.
        for algorithm in [CompressionAlgorithm::Zlib, CompressionAlgorithm::Lz4] {
            let payload = compress(algorithm, &plain);
            let mut stored = legacy_compressed_page(algorithm.as_raw() as u16, &payload, 16384);
            stored[4..8].copy_from_slice(&8u32.to_be_bytes());
            check(
                &v,
                &stored,
                8,
                PageVerdict::Valid(ValidPage {
                    checksum: ChecksumKind::Crc32,
                    encrypted: false,
                    compression: Some(algorithm),
                }),
            );
            // Corrupt payload: either the decoder fails or the decompressed page does.
            let bad = flipped(&stored, 40 + payload.len() - 1);
            assert!(v.validate(&bad, PageNo(8)).is_corrupt(), "{algorithm}");
        }
        // A payload that decompresses to a page with a bad checksum.
        let payload = compress(CompressionAlgorithm::Zlib, &flipped(&plain, 9000));
        let mut stored = legacy_compressed_page(1, &payload, 16384);
        stored[4..8].copy_from_slice(&8u32.to_be_bytes());
        assert!(matches!(
            v.validate(&stored, PageNo(8)),
            PageVerdict::Corrupt(Corruption::AfterDecompression(_))
        ));
        // Still page_compressed after decompression.
        let mut nested = plain.clone();
        nested[24..26].copy_from_slice(&FIL_PAGE_PAGE_COMPRESSED.to_be_bytes());
        let mut stored =
            legacy_compressed_page(1, &compress(CompressionAlgorithm::Zlib, &nested), 16384);
        stored[4..8].copy_from_slice(&8u32.to_be_bytes());
        check(
            &v,
            &stored,
            8,
            PageVerdict::Corrupt(Corruption::DecompressedStillCompressed { page_type: 34354 }),
        );
        // LZO and snappy are decoded: these streams are not pages.
        let mut lzo = legacy_compressed_page(3, &[1, 2, 3], 16384);
        lzo[4..8].copy_from_slice(&8u32.to_be_bytes());
        assert!(v.validate(&lzo, PageNo(8)).is_corrupt());
        let mut snappy = legacy_compressed_page(6, &[1, 2, 3], 16384);
        snappy[4..8].copy_from_slice(&8u32.to_be_bytes());
        assert!(v.validate(&snappy, PageNo(8)).is_corrupt());
        // Encrypted + compressed (37401): needs the key.
        let mut both = lzo.clone();
        both[24..26].copy_from_slice(&FIL_PAGE_PAGE_COMPRESSED_ENCRYPTED.to_be_bytes());
        both[26..30].copy_from_slice(&2u32.to_be_bytes());
        check(
            &v,
            &both,
            8,
            PageVerdict::Unverified(UnverifiedReason::EncryptedPageCompressed { key_version: 2 }),
        );
    }

    #[test]
    fn system_tablespace_rules() {
        let v = PageValidator::new(SpaceFlags::parse(0x15).unwrap(), SpaceId::SYSTEM);
        assert_eq!(v.doublewrite_range(), Some(64..192));
        check(&v, &[0xFFu8; 16384], 64, PageVerdict::SkippedDoublewrite);
        check(&v, &[0xFFu8; 16384], 191, PageVerdict::SkippedDoublewrite);
        assert!(v.validate(&[0xFFu8; 16384], PageNo(192)).is_corrupt());
        // Page numbers are per ibdata file: not compared.
        check(
            &v,
            &page(16384, 3, ChecksumFormat::FullCrc32),
            900,
            valid(ChecksumKind::FullCrc32),
        );
        let v4k = PageValidator::new(SpaceFlags::parse(0x13).unwrap(), SpaceId::SYSTEM);
        assert_eq!(v4k.doublewrite_range(), Some(256..768));
        assert_eq!(validator(0x15).doublewrite_range(), None);
    }

    #[test]
    fn from_page0_reads_flags_and_crypt_data() {
        let mut page0 = page(16384, 0, ChecksumFormat::FullCrc32);
        page0[38..42].copy_from_slice(&5u32.to_be_bytes());
        page0[54..58].copy_from_slice(&0x15u32.to_be_bytes());
        let v = PageValidator::from_page0(&page0, ValidationOptions::default()).unwrap();
        assert_eq!(v.space_id(), SpaceId(5));
        assert_eq!(v.page_size(), 16384);
        assert!(!v.has_crypt_data);
        page0[10428..10434].copy_from_slice(b"s\x0e\x0cREt");
        page0[10434] = 1;
        page0[10435] = 16;
        page0[10460] = 1; // encryption mode ON
        let v = PageValidator::from_page0(&page0, ValidationOptions::default()).unwrap();
        assert!(v.has_crypt_data);
        assert_eq!(
            PageValidator::from_page0(&[0u8; 16384], ValidationOptions::default()),
            Err(PageError::AllZeroPage0)
        );
    }

    #[test]
    fn corruption_messages_show_values() {
        let text = Corruption::FullCrc32Checksum {
            stored: 0x799b_f2d7,
            calculated: 0x3e2b_d7c4,
        }
        .to_string();
        assert_eq!(text, "crc32c stored=0x799bf2d7 calc=0x3e2bd7c4");
        let text = Corruption::ZipChecksum {
            stored: 0x4aac_e12f,
            crc32: 1,
        }
        .to_string();
        assert!(text.starts_with("zip checksum stored=0x4aace12f"));
    }
}
