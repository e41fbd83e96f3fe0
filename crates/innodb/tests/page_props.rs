//! Property tests: no public function of `innodb::page` that takes bytes panics, whatever
//! the bytes, flags or page sizes (house rule 1). Inputs are random, and also random
//! mutations of well-formed pages and compressed streams so the checks reach deep.

use innodb::page::checksum::{
    adler32, crc32c, full_crc32, full_crc32_image_len, innodb_fold, innodb_new_checksum,
    innodb_old_checksum, legacy_crc32, zip_adler32, zip_crc32,
};
use innodb::page::compress::{decompress_image, decompress_legacy_page};
use innodb::page::fil::{page_lsn, page_number, page_type_raw};
use innodb::page::fsp::crypt_data_offset;
use innodb::page::{
    is_all_zero, read_crypt_data, set_page_lsn, write_checksum, ChecksumFormat,
    CompressionAlgorithm, FilHeader, FilTrailer, FspHeader, PageValidator, SpaceFlags,
    ValidationOptions,
};
use innodb::{Lsn, PageNo, SpaceId};
use proptest::prelude::*;

/// Flags seen on real files, plus anything.
fn any_flags() -> impl Strategy<Value = u32> {
    prop_oneof![
        prop::sample::select(vec![
            0x0u32, 0x13, 0x14, 0x15, 0x16, 0x17, 0x33, 0x35, 0x37, 0x55, 0x75, 0x95, 0xB5, 0xD5,
            0x21, 0x10021, 0x29, 0x27, 0xE5, 0x23, 0x25, 0x2B, 0x1C0, 0x421,
        ]),
        any::<u32>(),
    ]
}

const FORMATS: [ChecksumFormat; 7] = [
    ChecksumFormat::FullCrc32,
    ChecksumFormat::Crc32,
    ChecksumFormat::Innodb,
    ChecksumFormat::None,
    ChecksumFormat::ZipCrc32,
    ChecksumFormat::ZipAdler32,
    ChecksumFormat::ZipNone,
];

/// Interesting values for `FIL_PAGE_TYPE`.
fn any_page_type() -> impl Strategy<Value = u16> {
    prop_oneof![
        prop::sample::select(vec![
            0u16, 8, 17855, 34354, 37401, 0x8000, 0x8001, 0x80FF, 0xFFFF
        ]),
        any::<u16>(),
    ]
}

/// Short or odd-sized byte strings.
fn any_bytes() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..200),
        prop::collection::vec(any::<u8>(), 1000..1100),
    ]
}

/// `sample_image(4096)` of the unit tests compressed by Python's lzma (.xz, check NONE).
const XZ_4096: &str = "fd377a585a000000ff12d9410200210116000000742fe5a3e00fff00ec5d00006d3e8046eb502b6171cb6a832ab55c5bfd4d117988ba30dfd7a42bd302c0cd2414d22b76769e0caf22cf17f3df6eabf927018a0071752de3cb33c9698c902b08893d3c590ad9080add77ad04b7cdbc7b5ada2f928d6e320e10d9f4ffdfb02f92dc0029098496d96306230738a1eefc2e21bca92fb0804cb8e690a8862b089f64f7a756f7a92cc117004124af0d69b89b2e01682d97dee73e756bd26cba58a8434752bc8ff5de2c743e890f1115a51c22427e08ace6977e4d775722831c4ab68438fd6e740f6c40b64dfa7476363e4a3a9b129e749b20e67183e7c1d37a5bebeabe7e9ea01fb965e50ce2e0000001800280200000be633172a8000afc020000000000595a";

fn xz_sample() -> Vec<u8> {
    (0..XZ_4096.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&XZ_4096[i..i + 2], 16).unwrap())
        .collect()
}

fn sample_image(len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| if i % 16 == 0 { (i / 16) as u8 } else { 0 })
        .collect()
}

fn valid_stream(algorithm: CompressionAlgorithm) -> Vec<u8> {
    match algorithm {
        CompressionAlgorithm::Zlib => {
            miniz_oxide::deflate::compress_to_vec_zlib(&sample_image(4096), 6)
        }
        CompressionAlgorithm::Lz4 => lz4_flex::block::compress(&sample_image(4096)),
        _ => xz_sample(),
    }
}

proptest! {
    // 256 cases by default; PROPTEST_CASES=100000 for a longer soak.
    #![proptest_config(ProptestConfig::default())]

    #[test]
    fn parsers_and_checksums_never_panic(bytes in any_bytes(), flags in any_flags(), len in 0usize..2000) {
        let _ = FilHeader::parse(&bytes);
        let _ = FilTrailer::parse(&bytes, true);
        let _ = FilTrailer::parse(&bytes, false);
        let _ = page_lsn(&bytes);
        let _ = page_number(&bytes);
        let _ = page_type_raw(&bytes);
        let _ = FspHeader::parse(&bytes);
        let _ = is_all_zero(&bytes);
        let _ = crc32c(&bytes);
        let _ = innodb_fold(&bytes);
        let _ = adler32(flags, &bytes);
        let _ = legacy_crc32(&bytes);
        let _ = innodb_new_checksum(&bytes);
        let _ = innodb_old_checksum(&bytes);
        let _ = zip_crc32(&bytes);
        let _ = zip_adler32(&bytes);
        let _ = full_crc32_image_len(&bytes);
        let _ = full_crc32(&bytes, len);
        let _ = decompress_legacy_page(&bytes, len);
        let _ = PageValidator::from_page0(&bytes, ValidationOptions::default());
        if let Ok(parsed) = SpaceFlags::parse(flags) {
            let _ = read_crypt_data(&bytes, &parsed);
            let _ = crypt_data_offset(&parsed);
            let _ = parsed.check_server_page_size(len);
            let validator = PageValidator::new(parsed, SpaceId(flags & 3));
            let _ = validator.validate(&bytes, PageNo(len as u32));
        }
        for format in FORMATS {
            let mut page = bytes.clone();
            let _ = write_checksum(&mut page, format);
            let _ = set_page_lsn(&mut page, Lsn(u64::from(flags)), format);
        }
    }

    /// Pages of the right size whose header fields steer every branch of validation.
    #[test]
    fn validate_never_panics_on_page_sized_input(
        flags in any_flags(),
        page_type in any_page_type(),
        key_version in prop_oneof![Just(0u32), any::<u32>()],
        checksum_field in prop_oneof![Just(0xDEAD_BEEFu32), any::<u32>()],
        compressed_len in any::<u16>(),
        algorithm in 0u16..9,
        system in any::<bool>(),
        strict in any::<bool>(),
        encrypted_backup in any::<bool>(),
        crypt in any::<bool>(),
        page_no in prop_oneof![0u32..300, any::<u32>()],
        seed in any::<u64>(),
        sparse in any::<bool>(),
        stamp in any::<bool>(),
    ) {
        let Ok(parsed) = SpaceFlags::parse(flags) else { return Ok(()); };
        let size = parsed.physical_page_size();
        let mut state = seed | 1;
        let mut page: Vec<u8> = (0..size)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                if sparse && state % 8 != 0 { 0 } else { state as u8 }
            })
            .collect();
        page[0..4].copy_from_slice(&checksum_field.to_be_bytes());
        page[4..8].copy_from_slice(&page_no.to_be_bytes());
        page[24..26].copy_from_slice(&page_type.to_be_bytes());
        page[26..30].copy_from_slice(&key_version.to_be_bytes());
        page[32..34].copy_from_slice(&algorithm.to_be_bytes());
        page[38..40].copy_from_slice(&compressed_len.to_be_bytes());
        page[40..42].copy_from_slice(&algorithm.to_be_bytes());
        if stamp {
            let _ = write_checksum(&mut page, ChecksumFormat::for_flags(&parsed));
        }
        let validator = PageValidator::new(parsed, SpaceId(if system { 0 } else { 9 }))
            .with_crypt_data(crypt)
            .with_options(ValidationOptions { strict, encrypted_backup });
        let _ = validator.validate(&page, PageNo(page_no));
        let _ = validator.validate(&page, PageNo(page_no.wrapping_add(1)));
        let _ = decompress_legacy_page(&page, parsed.logical_page_size());
    }

    /// Mutated real compressed streams must never panic a decoder.
    #[test]
    fn decoders_never_panic_on_mutated_streams(
        which in 0usize..3,
        flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
        truncate in prop::option::of(any::<prop::sample::Index>()),
        expected_len in prop_oneof![Just(4096usize), 0usize..70000],
    ) {
        let algorithm = [CompressionAlgorithm::Zlib, CompressionAlgorithm::Lz4, CompressionAlgorithm::Lzma][which];
        let mut stream = valid_stream(algorithm);
        for (at, mask) in flips {
            let at = at.index(stream.len());
            stream[at] ^= mask;
        }
        if let Some(cut) = truncate {
            stream.truncate(cut.index(stream.len()));
        }
        let _ = decompress_image(algorithm, &stream, expected_len);
        let mut page = vec![0u8; 16384];
        page[0..4].copy_from_slice(&0xDEAD_BEEFu32.to_be_bytes());
        page[24..26].copy_from_slice(&34354u16.to_be_bytes());
        page[32..34].copy_from_slice(&(algorithm.as_raw() as u16).to_be_bytes());
        let len = stream.len().min(16384 - 40);
        page[38..40].copy_from_slice(&(len as u16).to_be_bytes());
        page[40..40 + len].copy_from_slice(&stream[..len]);
        let validator = PageValidator::new(SpaceFlags::parse(0x10021).unwrap(), SpaceId(3));
        let _ = validator.validate(&page, PageNo(0));
    }
}

#[test]
fn unmutated_streams_decode() {
    for algorithm in [
        CompressionAlgorithm::Zlib,
        CompressionAlgorithm::Lz4,
        CompressionAlgorithm::Lzma,
    ] {
        let image = decompress_image(algorithm, &valid_stream(algorithm), 4096).unwrap();
        assert_eq!(image, sample_image(4096), "{algorithm}");
    }
}
