//! Page checksum algorithms (`shared/docs/page-format.md` §6) and stamping them.
//!
//! | format | covers | stored at |
//! |---|---|---|
//! | full_crc32 | CRC-32C of `[0, S-4)` (S = page or compressed size) | S-4 |
//! | crc32 | CRC-32C`[4,26)` XOR CRC-32C`[38,P-8)` | 0 and P-8 |
//! | innodb | new: fold`[4,26)` + fold`[38,P-8)`; old: fold`[0,26)` | 0 / P-8 |
//! | none | 0xDEADBEEF | 0 and P-8 |
//! | zip crc32 | CRC-32C`[4,16)` ^ CRC-32C`[24,26)` ^ CRC-32C`[34,Z)` | 0 |
//! | zip adler32 | Adler-32 chained over the same ranges | 0 |
//!
//! Upstream: buf0checksum.cc (`buf_calc_page_crc32`, `buf_calc_page_new_checksum`,
//! `buf_calc_page_old_checksum`), page0zip.cc (`page_zip_calc_checksum`),
//! ut0rnd.h (`ut_fold_binary`).

use super::fil::{
    fcrc32_compressed_len, BUF_NO_CHECKSUM_MAGIC, FIL_PAGE_DATA, FIL_PAGE_DATA_END,
    FIL_PAGE_END_LSN_LOW, FIL_PAGE_END_LSN_OLD_CHKSUM, FIL_PAGE_FCRC32_CHECKSUM,
    FIL_PAGE_FCRC32_END_LSN, FIL_PAGE_FILE_FLUSH_LSN_OR_KEY_VERSION, FIL_PAGE_LSN, FIL_PAGE_OFFSET,
    FIL_PAGE_SPACE_ID, FIL_PAGE_SPACE_OR_CHKSUM, FIL_PAGE_TYPE,
};
use super::fsp::{SpaceFlags, TablespaceFormat};
use super::{read_u16, slice, write_u32, PageError};
use crate::types::Lsn;

/// `UT_HASH_RANDOM_MASK` of ut0rnd.h.
const UT_HASH_RANDOM_MASK: u32 = 1_463_735_687;
/// `UT_HASH_RANDOM_MASK2` of ut0rnd.h.
const UT_HASH_RANDOM_MASK2: u32 = 1_653_893_711;
/// Adler-32 modulus.
const ADLER_MOD: u32 = 65_521;
/// Bytes Adler-32 can sum before the 32-bit accumulators may overflow (zlib's NMAX).
const ADLER_NMAX: usize = 5552;
/// Smallest page any checksum here is defined for: header plus trailer.
const MIN_PAGE_LEN: usize = FIL_PAGE_DATA + FIL_PAGE_DATA_END;

/// CRC-32C (Castagnoli, reflected 0x82F63B78, init and final XOR 0xFFFFFFFF), as
/// MariaDB's `my_crc32c(0, bytes, len)`.
pub fn crc32c(bytes: &[u8]) -> u32 {
    ::crc32c::crc32c(bytes)
}

/// InnoDB's `ut_fold_binary` over `bytes`, modulo 2^32.
pub fn innodb_fold(bytes: &[u8]) -> u32 {
    bytes.iter().fold(0u32, |fold, &byte| {
        let byte = u32::from(byte);
        ((((fold ^ byte ^ UT_HASH_RANDOM_MASK2) << 8).wrapping_add(fold)) ^ UT_HASH_RANDOM_MASK)
            .wrapping_add(byte)
    })
}

/// zlib's `adler32(adler, bytes)`: continues the checksum `adler` (start with 1).
pub fn adler32(adler: u32, bytes: &[u8]) -> u32 {
    let mut a = (adler & 0xFFFF) % ADLER_MOD;
    let mut b = (adler >> 16) % ADLER_MOD;
    for chunk in bytes.chunks(ADLER_NMAX) {
        for &byte in chunk {
            a += u32::from(byte);
            b += a;
        }
        a %= ADLER_MOD;
        b %= ADLER_MOD;
    }
    (b << 16) | a
}

fn require_len(page: &[u8], min: usize, what: &'static str) -> Result<(), PageError> {
    if page.len() < min {
        return Err(PageError::Truncated {
            what,
            at: 0,
            need: min,
            len: page.len(),
        });
    }
    Ok(())
}

/// The two ranges covered by the legacy page checksums: `[4, 26)` and `[38, P-8)`.
fn legacy_ranges(page: &[u8]) -> Result<(&[u8], &[u8]), PageError> {
    require_len(page, MIN_PAGE_LEN, "legacy checksummed page")?;
    let head = slice(
        page,
        FIL_PAGE_OFFSET,
        FIL_PAGE_FILE_FLUSH_LSN_OR_KEY_VERSION,
        "page header",
    )?;
    let body = slice(
        page,
        FIL_PAGE_DATA,
        page.len() - FIL_PAGE_DATA_END,
        "page body",
    )?;
    Ok((head, body))
}

/// Legacy "crc32" checksum of an uncompressed page (`buf_calc_page_crc32`); the page
/// length is the page size.
pub fn legacy_crc32(page: &[u8]) -> Result<u32, PageError> {
    let (head, body) = legacy_ranges(page)?;
    Ok(crc32c(head) ^ crc32c(body))
}

/// Legacy "innodb" new checksum, stored in field 1 (`buf_calc_page_new_checksum`).
pub fn innodb_new_checksum(page: &[u8]) -> Result<u32, PageError> {
    let (head, body) = legacy_ranges(page)?;
    Ok(innodb_fold(head).wrapping_add(innodb_fold(body)))
}

/// Legacy "innodb" old checksum, stored in field 2 (`buf_calc_page_old_checksum`).
/// It covers field 1, so compute it after field 1 is final.
pub fn innodb_old_checksum(page: &[u8]) -> Result<u32, PageError> {
    require_len(page, MIN_PAGE_LEN, "legacy checksummed page")?;
    let head = slice(
        page,
        FIL_PAGE_SPACE_OR_CHKSUM,
        FIL_PAGE_FILE_FLUSH_LSN_OR_KEY_VERSION,
        "page header",
    )?;
    Ok(innodb_fold(head))
}

/// The three ranges covered by ROW_FORMAT=COMPRESSED checksums: page number..prev/next,
/// the type, and space id..end (skipping checksum, LSN and bytes 26..33).
fn zip_ranges(page: &[u8]) -> Result<[&[u8]; 3], PageError> {
    require_len(page, FIL_PAGE_DATA, "compressed page")?;
    Ok([
        slice(
            page,
            FIL_PAGE_OFFSET,
            FIL_PAGE_LSN,
            "compressed page header",
        )?,
        slice(
            page,
            FIL_PAGE_TYPE,
            FIL_PAGE_TYPE + 2,
            "compressed page type",
        )?,
        slice(page, FIL_PAGE_SPACE_ID, page.len(), "compressed page body")?,
    ])
}

/// ROW_FORMAT=COMPRESSED crc32 checksum of a page of `page.len()` (the zip size) bytes.
pub fn zip_crc32(page: &[u8]) -> Result<u32, PageError> {
    let [a, b, c] = zip_ranges(page)?;
    Ok(crc32c(a) ^ crc32c(b) ^ crc32c(c))
}

/// ROW_FORMAT=COMPRESSED "innodb" checksum: Adler-32 chained over the same ranges.
pub fn zip_adler32(page: &[u8]) -> Result<u32, PageError> {
    let [a, b, c] = zip_ranges(page)?;
    Ok(adler32(adler32(adler32(1, a), b), c))
}

/// Length of the checksummed image of a full_crc32 page: the compressed length for a
/// page_compressed page (bit 15 of the type), else the whole page.
pub fn full_crc32_image_len(page: &[u8]) -> Result<usize, PageError> {
    let page_type = read_u16(page, FIL_PAGE_TYPE, "FIL_PAGE_TYPE")?;
    match fcrc32_compressed_len(page_type) {
        None => Ok(page.len()),
        Some(compressed_len) if compressed_len > 0 && compressed_len < page.len() => {
            Ok(compressed_len)
        }
        Some(compressed_len) => Err(PageError::CompressedLength {
            compressed_len,
            page_size: page.len(),
        }),
    }
}

/// full_crc32 checksum: CRC-32C of the first `image_len - 4` bytes.
pub fn full_crc32(page: &[u8], image_len: usize) -> Result<u32, PageError> {
    let end = image_len
        .checked_sub(FIL_PAGE_FCRC32_CHECKSUM)
        .ok_or(PageError::Truncated {
            what: "full_crc32 image",
            at: 0,
            need: FIL_PAGE_FCRC32_CHECKSUM,
            len: image_len,
        })?;
    slice(page, 0, end, "full_crc32 image").map(crc32c)
}

/// Which checksum [`write_checksum`] stamps into a page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChecksumFormat {
    /// full_crc32: CRC-32C at S-4 (S = compressed length for page_compressed pages).
    FullCrc32,
    /// Legacy crc32: the same value in field 1 and field 2 (what 10.11 writes).
    Crc32,
    /// Legacy innodb: new checksum in field 1, old checksum in field 2.
    Innodb,
    /// Legacy none: 0xDEADBEEF in both fields.
    None,
    /// ROW_FORMAT=COMPRESSED crc32 at offset 0 (what 10.11 writes).
    ZipCrc32,
    /// ROW_FORMAT=COMPRESSED Adler-32 at offset 0.
    ZipAdler32,
    /// ROW_FORMAT=COMPRESSED none: 0xDEADBEEF at offset 0.
    ZipNone,
}

impl ChecksumFormat {
    /// The format MariaDB 10.11 writes for pages of a tablespace with these flags.
    pub fn for_flags(flags: &SpaceFlags) -> ChecksumFormat {
        match (flags.format(), flags.zip_size()) {
            (TablespaceFormat::FullCrc32, _) => ChecksumFormat::FullCrc32,
            (TablespaceFormat::Legacy, Some(_)) => ChecksumFormat::ZipCrc32,
            (TablespaceFormat::Legacy, None) => ChecksumFormat::Crc32,
        }
    }
}

/// Computes the checksum of `page` (its length is the physical page size) in `format`
/// and stores it; returns the value stored at the primary checksum position.
/// The LSN and its trailer copy must already be final (see [`set_page_lsn`]).
pub fn write_checksum(page: &mut [u8], format: ChecksumFormat) -> Result<u32, PageError> {
    let len = page.len();
    match format {
        ChecksumFormat::FullCrc32 => {
            let image_len = full_crc32_image_len(page)?;
            let checksum = full_crc32(page, image_len)?;
            write_u32(
                page,
                image_len - FIL_PAGE_FCRC32_CHECKSUM,
                checksum,
                "full_crc32 checksum",
            )?;
            Ok(checksum)
        }
        ChecksumFormat::Crc32 | ChecksumFormat::Innodb | ChecksumFormat::None => {
            require_len(page, MIN_PAGE_LEN, "legacy checksummed page")?;
            let field2_at = len - FIL_PAGE_END_LSN_OLD_CHKSUM;
            let field1 = match format {
                ChecksumFormat::Crc32 => legacy_crc32(page)?,
                ChecksumFormat::Innodb => innodb_new_checksum(page)?,
                _ => BUF_NO_CHECKSUM_MAGIC,
            };
            write_u32(page, FIL_PAGE_SPACE_OR_CHKSUM, field1, "checksum field 1")?;
            let field2 = match format {
                ChecksumFormat::Innodb => innodb_old_checksum(page)?,
                _ => field1,
            };
            write_u32(page, field2_at, field2, "checksum field 2")?;
            Ok(field1)
        }
        ChecksumFormat::ZipCrc32 | ChecksumFormat::ZipAdler32 | ChecksumFormat::ZipNone => {
            let checksum = match format {
                ChecksumFormat::ZipCrc32 => zip_crc32(page)?,
                ChecksumFormat::ZipAdler32 => zip_adler32(page)?,
                _ => BUF_NO_CHECKSUM_MAGIC,
            };
            write_u32(page, FIL_PAGE_SPACE_OR_CHKSUM, checksum, "zip checksum")?;
            Ok(checksum)
        }
    }
}

/// Sets `FIL_PAGE_LSN` and its trailer copy as the server does before computing the
/// checksum: full_crc32 copies the low word to P-8, legacy to P-4, and
/// ROW_FORMAT=COMPRESSED pages have no trailer. Meant for plain (unencrypted,
/// uncompressed) pages, e.g. after prepare applied redo to them.
pub fn set_page_lsn(page: &mut [u8], lsn: Lsn, format: ChecksumFormat) -> Result<(), PageError> {
    let len = page.len();
    let trailer_from_end = match format {
        ChecksumFormat::FullCrc32 => Some(FIL_PAGE_FCRC32_END_LSN),
        ChecksumFormat::Crc32 | ChecksumFormat::Innodb | ChecksumFormat::None => {
            Some(FIL_PAGE_END_LSN_LOW)
        }
        ChecksumFormat::ZipCrc32 | ChecksumFormat::ZipAdler32 | ChecksumFormat::ZipNone => None,
    };
    if trailer_from_end.is_some() {
        require_len(page, MIN_PAGE_LEN, "page with trailer")?;
    }
    let high = (lsn.0 >> 32) as u32;
    let low = lsn.0 as u32;
    write_u32(page, FIL_PAGE_LSN, high, "FIL_PAGE_LSN")?;
    write_u32(page, FIL_PAGE_LSN + 4, low, "FIL_PAGE_LSN")?;
    if let Some(from_end) = trailer_from_end {
        write_u32(page, len - from_end, low, "trailer LSN")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(got: Result<u32, PageError>, expected: u32) {
        assert_eq!(got, Ok(expected));
    }

    #[test]
    fn primitives_known_values() {
        check(Ok(crc32c(b"123456789")), 0xE306_9283);
        check(Ok(crc32c(b"")), 0);
        check(Ok(adler32(1, b"Wikipedia")), 0x11E6_0398);
        check(Ok(adler32(1, b"")), 1);
        check(Ok(innodb_fold(b"")), 0);
        // One step by hand: ((((0 ^ 0x61 ^ M2) << 8) + 0) ^ M1) + 0x61.
        let by_hand =
            ((0x61u32 ^ UT_HASH_RANDOM_MASK2) << 8 ^ UT_HASH_RANDOM_MASK).wrapping_add(0x61);
        check(Ok(innodb_fold(b"a")), by_hand);
    }

    #[test]
    fn adler_long_input_matches_naive() {
        let data: Vec<u8> = (0..20_000u32).map(|i| (i * 7 + 3) as u8).collect();
        let (mut a, mut b) = (1u64, 0u64);
        for &byte in &data {
            a = (a + u64::from(byte)) % 65521;
            b = (b + a) % 65521;
        }
        check(Ok(adler32(1, &data)), ((b << 16) | a) as u32);
        // Chaining equals one pass.
        check(
            Ok(adler32(adler32(1, &data[..777]), &data[777..])),
            adler32(1, &data),
        );
    }

    fn sample_page(len: usize) -> Vec<u8> {
        let mut page: Vec<u8> = (0..len).map(|i| (i * 31 % 253) as u8).collect();
        page[24..26].copy_from_slice(&17855u16.to_be_bytes());
        page
    }

    #[test]
    fn checksums_ignore_the_fields_they_skip() {
        let page = sample_page(4096);
        let mut other = page.clone();
        // Checksum fields, bytes 26..37 and the trailer are outside the legacy crc32.
        for at in [0, 3, 26, 33, 37, 4088, 4095] {
            other[at] ^= 0xFF;
        }
        assert_eq!(legacy_crc32(&page), legacy_crc32(&other));
        assert_eq!(innodb_new_checksum(&page), innodb_new_checksum(&other));
        assert_ne!(innodb_old_checksum(&page), innodb_old_checksum(&other));
        let mut zip = page.clone();
        for at in [0, 16, 23, 26, 33] {
            zip[at] ^= 0xFF;
        }
        assert_eq!(zip_crc32(&page), zip_crc32(&zip));
        assert_eq!(zip_adler32(&page), zip_adler32(&zip));
        zip[34] ^= 1;
        assert_ne!(zip_crc32(&page), zip_crc32(&zip));
    }

    #[test]
    fn write_checksum_stores_where_the_format_says() {
        let mut page = sample_page(4096);
        let value = write_checksum(&mut page, ChecksumFormat::Crc32).unwrap();
        assert_eq!(page[0..4], value.to_be_bytes());
        assert_eq!(page[4088..4092], value.to_be_bytes());
        assert_eq!(value, legacy_crc32(&page).unwrap());

        let mut page = sample_page(4096);
        let value = write_checksum(&mut page, ChecksumFormat::FullCrc32).unwrap();
        assert_eq!(page[4092..4096], value.to_be_bytes());
        assert_eq!(value, crc32c(&page[..4092]));

        let mut page = sample_page(4096);
        page[24..26].copy_from_slice(&(0x8000u16 | 3).to_be_bytes());
        let value = write_checksum(&mut page, ChecksumFormat::FullCrc32).unwrap();
        assert_eq!(page[764..768], value.to_be_bytes());

        page[24..26].copy_from_slice(&(0x8000u16 | 16).to_be_bytes());
        assert_eq!(
            write_checksum(&mut page, ChecksumFormat::FullCrc32),
            Err(PageError::CompressedLength {
                compressed_len: 4096,
                page_size: 4096
            })
        );
        page[24..26].copy_from_slice(&0x8000u16.to_be_bytes());
        assert!(write_checksum(&mut page, ChecksumFormat::FullCrc32).is_err());

        let mut page = sample_page(2048);
        let value = write_checksum(&mut page, ChecksumFormat::Innodb).unwrap();
        assert_eq!(value, innodb_new_checksum(&page).unwrap());
        assert_eq!(
            page[2040..2044],
            innodb_old_checksum(&page).unwrap().to_be_bytes()
        );

        let mut page = sample_page(2048);
        write_checksum(&mut page, ChecksumFormat::None).unwrap();
        assert_eq!(page[0..4], [0xDE, 0xAD, 0xBE, 0xEF]);
        assert_eq!(page[2040..2044], [0xDE, 0xAD, 0xBE, 0xEF]);

        let mut page = sample_page(1024);
        let value = write_checksum(&mut page, ChecksumFormat::ZipAdler32).unwrap();
        assert_eq!(value, zip_adler32(&page).unwrap());
        assert_eq!(page[1020..1024], sample_page(1024)[1020..1024]);

        assert!(write_checksum(&mut [0u8; 20], ChecksumFormat::Crc32).is_err());
        assert!(write_checksum(&mut [0u8; 20], ChecksumFormat::ZipCrc32).is_err());
        assert!(write_checksum(&mut [0u8; 3], ChecksumFormat::FullCrc32).is_err());
    }

    #[test]
    fn set_page_lsn_writes_header_and_trailer() {
        let lsn = Lsn(0x0102_0304_0506_0708);
        let mut page = vec![0u8; 1024];
        set_page_lsn(&mut page, lsn, ChecksumFormat::FullCrc32).unwrap();
        assert_eq!(page[16..24], lsn.0.to_be_bytes());
        assert_eq!(page[1016..1020], [5, 6, 7, 8]);
        let mut page = vec![0u8; 1024];
        set_page_lsn(&mut page, lsn, ChecksumFormat::Crc32).unwrap();
        assert_eq!(page[1020..1024], [5, 6, 7, 8]);
        let mut page = vec![0u8; 1024];
        set_page_lsn(&mut page, lsn, ChecksumFormat::ZipCrc32).unwrap();
        assert_eq!(page[1016..1024], [0; 8]);
        assert!(set_page_lsn(&mut [0u8; 30], lsn, ChecksumFormat::Crc32).is_err());
    }

    #[test]
    fn for_flags_picks_what_the_server_writes() {
        let format = |raw| ChecksumFormat::for_flags(&SpaceFlags::parse(raw).unwrap());
        assert_eq!(format(0x15), ChecksumFormat::FullCrc32);
        assert_eq!(format(0x21), ChecksumFormat::Crc32);
        assert_eq!(format(0x29), ChecksumFormat::ZipCrc32);
    }
}
