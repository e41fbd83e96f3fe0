use super::*;
use crate::page::checksum::crc32c;
use crate::page::compress::tests::{compress as legacy_payload, legacy_compressed_page, xz_sample};
use crate::page::validate::{PageValidator, PageVerdict};
use crate::SpaceId;

/// full_crc32 flags for `page_size` with `algorithm` (0 = not page_compressed).
fn fcrc32_flags(page_size: usize, algorithm: u32) -> SpaceFlags {
    let ssize = page_size.trailing_zeros() - 9;
    SpaceFlags::parse(0x10 | ssize | (algorithm << 5)).unwrap()
}

/// Legacy page_compressed flags (16k, post-antelope, atomic blobs).
fn legacy_flags() -> SpaceFlags {
    SpaceFlags::parse(1 | 1 << 5 | 1 << 16).unwrap()
}

fn codec(page_size: usize, algorithm: CompressionAlgorithm) -> PageCompression {
    PageCompression::for_space(&fcrc32_flags(page_size, algorithm.as_raw()), 6).unwrap()
}

/// An INDEX page at `page_no` with `noise` pseudo-random bytes of records, the rest
/// zero, stamped as full_crc32 (LSN 0x1234 in header and trailer).
fn index_page(page_size: usize, page_no: u32, noise: usize) -> Vec<u8> {
    let mut p = vec![0u8; page_size];
    p[4..8].copy_from_slice(&page_no.to_be_bytes());
    p[16..24].copy_from_slice(&0x1234u64.to_be_bytes());
    p[24..26].copy_from_slice(&17855u16.to_be_bytes());
    let mut x = 0x9E37_79B9u32 ^ noise as u32;
    for b in p.iter_mut().skip(120).take(noise) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        *b = x as u8;
    }
    p[page_size - 8..page_size - 4].copy_from_slice(&0x1234u32.to_be_bytes());
    let crc = crc32c(&p[..page_size - 4]);
    p[page_size - 4..].copy_from_slice(&crc.to_be_bytes());
    p
}

#[test]
fn round_trips_through_the_validator() {
    for page_size in [4096, 16384, 65536] {
        for algorithm in [
            CompressionAlgorithm::Zlib,
            CompressionAlgorithm::Lz4,
            CompressionAlgorithm::Snappy,
            CompressionAlgorithm::Bzip2,
        ] {
            let c = codec(page_size, algorithm);
            let validator =
                PageValidator::new(fcrc32_flags(page_size, algorithm.as_raw()), SpaceId(7));
            for noise in [0, 100, 1000, page_size / 2] {
                let page = index_page(page_size, 3, noise);
                let stored = c.compress(&page, PageNo(3)).expect("compressible");
                assert_eq!(stored.len(), page_size);
                let s = usize::from(stored[25]) * 256;
                assert_eq!(stored[24], 0x80);
                assert!(
                    s < page_size && stored[s..].iter().all(|&b| b == 0),
                    "zeros after S"
                );
                assert_eq!(stored[..24], page[..24], "header copied");
                match validator.validate(&stored, PageNo(3)) {
                    PageVerdict::Valid(v) => assert_eq!(v.compression, Some(algorithm)),
                    other => panic!("{algorithm} {page_size} {noise}: {other:?}"),
                }
                assert_eq!(c.decompress(&stored).unwrap(), Some(page.clone()));
                // Uncompressed pages read as themselves.
                assert_eq!(c.decompress(&page).unwrap(), None);
            }
        }
    }
}

#[test]
fn length_byte_covers_every_residue() {
    // lz4 stores (C + 5) mod 256 at S-5; 0 means C + 5 = S. Walk lengths until both
    // kinds were round-tripped.
    let c = codec(16384, CompressionAlgorithm::Lz4);
    let (mut zero, mut other) = (0, 0);
    for noise in 0..2000 {
        let page = index_page(16384, 9, noise);
        let Some(stored) = c.compress(&page, PageNo(9)) else {
            continue;
        };
        let s = usize::from(stored[25]) * 256;
        if stored[s - 5] == 0 {
            zero += 1;
        } else {
            other += 1;
        }
        assert_eq!(
            c.decompress(&stored).unwrap().as_deref(),
            Some(&page[..]),
            "noise {noise}"
        );
    }
    assert!(zero > 0 && other > 0, "zero {zero} other {other}");
}

#[test]
fn stored_uncompressed_where_the_server_would() {
    let c = codec(16384, CompressionAlgorithm::Zlib);
    let page = index_page(16384, 5, 100);
    // Page 0, and the page types fil_page_compress leaves alone.
    assert_eq!(c.compress(&page, PageNo(0)), None);
    for page_type in [0u16, 8, 9, 34354] {
        let mut p = page.clone();
        p[24..26].copy_from_slice(&page_type.to_be_bytes());
        assert_eq!(c.compress(&p, PageNo(5)), None, "type {page_type}");
    }
    // A page that does not shrink below the page size minus a unit.
    let noisy = index_page(16384, 5, 16384 - 200);
    assert_eq!(c.compress(&noisy, PageNo(5)), None);
    // Algorithms without an encoder, and legacy tablespaces (mariadb-backup writes
    // those uncompressed).
    for algorithm in [CompressionAlgorithm::Lzma, CompressionAlgorithm::Lzo] {
        assert_eq!(codec(16384, algorithm).compress(&page, PageNo(5)), None);
    }
    let legacy = PageCompression::for_space(&legacy_flags(), 6).unwrap();
    assert_eq!(legacy.compress(&page, PageNo(5)), None);
    // Not page_compressed at all.
    assert_eq!(PageCompression::for_space(&fcrc32_flags(16384, 0), 6), None);
}

#[test]
fn reads_lzma_with_the_trailing_zeros_and_checksum() {
    // The server's .xz stream, then zeros and the checksum up to S.
    let payload = xz_sample(4096);
    let image = crate::page::compress::tests::sample_image(4096);
    let mut stored = vec![0u8; 4096];
    stored[..26].copy_from_slice(&image[..26]);
    let s = (26 + payload.len() + 4).div_ceil(256) * 256;
    stored[24] = 0x80;
    stored[25] = (s / 256) as u8;
    stored[26..26 + payload.len()].copy_from_slice(&payload);
    let crc = crc32c(&stored[..s - 4]);
    stored[s - 4..s].copy_from_slice(&crc.to_be_bytes());
    let c = codec(4096, CompressionAlgorithm::Lzma);
    assert_eq!(c.decompress(&stored).unwrap(), Some(image));
}

#[test]
fn legacy_pages_decompress_and_plain_ones_pass() {
    let legacy = PageCompression::for_space(&legacy_flags(), 6).unwrap();
    let image = index_page(16384, 4, 300);
    let payload = legacy_payload(CompressionAlgorithm::Zlib, &image);
    let stored = legacy_compressed_page(1, &payload, 16384);
    assert_eq!(legacy.decompress(&stored).unwrap(), Some(image.clone()));
    assert_eq!(legacy.decompress(&image).unwrap(), None);
}

#[test]
fn bad_images_are_errors() {
    let c = codec(16384, CompressionAlgorithm::Lz4);
    let page = index_page(16384, 3, 500);
    let stored = c.compress(&page, PageNo(3)).unwrap();
    let s = usize::from(stored[25]) * 256;
    let check = |mutate: &dyn Fn(&mut Vec<u8>), expect: &str| {
        let mut p = stored.clone();
        mutate(&mut p);
        let got = c.decompress(&p).map(|d| d.map(|d| d == page));
        assert!(format!("{got:?}").contains(expect), "{expect}: {got:?}");
    };
    // S at or past the page end; S = 0 (the marker alone).
    check(&|p| p[25] = 64, "BadLength");
    check(&|p| p[25] = 0, "BadLength");
    // The exact length pointing 255 bytes short: a cut stream.
    check(&|p| p[s - 5] = 1, "Corrupt");
    // ... or before the image: S = 256 with a length byte of 1.
    check(
        &|p| {
            p[25] = 1;
            p[256 - 5] = 1;
        },
        "BadLength",
    );
    // A cut stream.
    check(&|p| p[s - 5] = p[s - 5].wrapping_sub(20), "Err");
    // The same image read as another algorithm's.
    let lzo = codec(16384, CompressionAlgorithm::Lzo);
    assert!(lzo.decompress(&stored).is_err());
}

#[test]
fn damaged_input_never_panics() {
    use proptest::prelude::*;
    use proptest::test_runner::{Config, TestRunner};
    let mut runner = TestRunner::new(Config {
        cases: 300,
        ..Config::default()
    });
    let stored = codec(4096, CompressionAlgorithm::Zlib)
        .compress(&index_page(4096, 3, 700), PageNo(3))
        .unwrap();
    let strategy = (
        0usize..7,
        proptest::collection::vec((0usize..4096, any::<u8>()), 0..16),
        proptest::collection::vec(any::<u8>(), 0..300),
    );
    runner
        .run(&strategy, |(algorithm, flips, head)| {
            let mut p = stored.clone();
            for (at, v) in flips {
                p[at] = v;
            }
            let short = &p[..head.len().min(p.len())];
            for c in [
                PageCompression::for_space(&fcrc32_flags(4096, algorithm as u32), 6),
                PageCompression::for_space(&legacy_flags(), 6),
            ]
            .into_iter()
            .flatten()
            {
                let _ = c.decompress(&p);
                let _ = c.decompress(short);
                let _ = c.decompress(&head);
                let _ = c.compress(&p, PageNo(3));
                let _ = c.compress(&head, PageNo(3));
            }
            Ok(())
        })
        .unwrap();
}
