//! Extent descriptors: whether a page of a tablespace is allocated, as the server's
//! `fseg_page_is_allocated` decides it (mariadb-backup's prepare zeroes listed corrupt
//! pages that are free and refuses those that are not).

use super::fsp::{SpaceFlags, XDES_ARR_OFFSET, XDES_BITMAP, XDES_BITS_PER_PAGE};
use super::{read_array, PageError};

/// Bit of a page's two in the descriptor bitmap that is set when the page is free.
const XDES_FREE_BIT: usize = 0;

/// The page holding the extent descriptor of `page_no`: every physical-page-size-th page
/// (page 0 for the first ones).
pub fn descriptor_page(flags: &SpaceFlags, page_no: u32) -> u32 {
    let per = u32::try_from(flags.physical_page_size()).unwrap_or(u32::MAX);
    page_no - page_no % per
}

/// Whether `page_no` is free according to its descriptor page `xdes` (page
/// [`descriptor_page`]), with `free_limit` and `size` from the FSP header of page 0:
/// a page at or above either was never allocated.
pub fn page_is_free(
    flags: &SpaceFlags,
    free_limit: u32,
    size: u32,
    xdes: &[u8],
    page_no: u32,
) -> Result<bool, PageError> {
    if page_no >= free_limit || page_no >= size {
        return Ok(true);
    }
    let extent = flags.extent_pages();
    let descriptor_size = XDES_BITMAP + (extent * XDES_BITS_PER_PAGE).div_ceil(8);
    let in_page = page_no as usize % flags.physical_page_size();
    let descriptor = XDES_ARR_OFFSET + descriptor_size * (in_page / extent);
    let bit = (in_page % extent) * XDES_BITS_PER_PAGE + XDES_FREE_BIT;
    let [byte] = read_array::<1>(xdes, descriptor + XDES_BITMAP + bit / 8, "XDES bitmap")?;
    Ok(byte >> (bit % 8) & 1 == 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 16k full_crc32 descriptor page with the given pages (below 16384) marked free.
    fn xdes_page(free: &[u32]) -> Vec<u8> {
        let mut p = vec![0u8; 16384];
        for &n in free {
            let n = n as usize;
            // 64-page extents, 40-byte descriptors.
            let at = XDES_ARR_OFFSET + 40 * (n / 64) + XDES_BITMAP + (n % 64) * 2 / 8;
            p[at] |= 1 << ((n % 64) * 2 % 8);
        }
        p
    }

    #[test]
    fn free_bits_limits_and_descriptor_pages() {
        let flags = SpaceFlags::parse(0x15).unwrap(); // full_crc32, 16k
        let page = xdes_page(&[3, 64, 100, 16383]);
        // (page, free_limit, size, free?)
        for (n, limit, size, free) in [
            (3, 1000, 1000, true),
            (4, 1000, 1000, false),
            (64, 1000, 1000, true),
            (65, 1000, 1000, false),
            (100, 1000, 1000, true),
            (4, 4, 1000, true),
            (4, 1000, 4, true),
            (16383, 20000, 20000, true),
            (16382, 20000, 20000, false),
        ] {
            assert_eq!(
                page_is_free(&flags, limit, size, &page, n),
                Ok(free),
                "page {n}"
            );
        }
        assert_eq!(descriptor_page(&flags, 16383), 0);
        assert_eq!(descriptor_page(&flags, 16384), 16384);
        assert_eq!(descriptor_page(&flags, 40000), 32768);
        let zip8k = SpaceFlags::parse(0x21 | (4 << 1)).unwrap();
        assert_eq!(zip8k.physical_page_size(), 8192, "{zip8k:?}");
        assert_eq!(descriptor_page(&zip8k, 9000), 8192);
        assert!(page_is_free(&flags, 1000, 1000, &[0u8; 100], 4).is_err());
    }
}
