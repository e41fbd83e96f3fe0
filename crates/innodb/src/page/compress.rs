//! page_compressed pages (`shared/docs/page-format.md` §9).
//!
//! full_crc32 page_compressed pages are validated by their checksum alone. Legacy
//! page_compressed pages (type 34354) carry no checksum of the compressed image, so
//! mariadb-backup validates them by decompressing the image and checking the
//! plaintext page (`fil_page_decompress_for_non_full_crc32`, fil0pagecompress.cc).
//!
//! ```text
//!  0..3 0xDEADBEEF | 4..25 FIL header | 26..33 algorithm (8 bytes) | 34..37 space id
//!  38..39 payload length L | 40.. payload (L bytes) of the whole uncompressed page
//!  (type 37401: 26..33 key version + checksum, 40..41 algorithm, payload from 42)
//! ```
//!
//! Decoders: zlib (miniz_oxide), LZ4 raw block (lz4_flex), LZMA in an .xz container
//! (lzma-rs), raw snappy (snap), bzip2 stream (bzip2 over libbz2-rs-sys), LZO1X (our own
//! checked decoder, [`super::lzo`]): every algorithm the server has.

use std::io;

use thiserror::Error;

use super::fil::{
    BUF_NO_CHECKSUM_MAGIC, FIL_PAGE_COMP_ALGO, FIL_PAGE_COMP_METADATA_LEN, FIL_PAGE_COMP_SIZE,
    FIL_PAGE_DATA, FIL_PAGE_ENCRYPT_COMP_ALGO, FIL_PAGE_ENCRYPT_COMP_METADATA_LEN,
    FIL_PAGE_PAGE_COMPRESSED, FIL_PAGE_PAGE_COMPRESSED_ENCRYPTED, FIL_PAGE_SPACE_OR_CHKSUM,
    FIL_PAGE_TYPE,
};
use super::{read_array, read_u16, read_u32, PageError};

/// Width of the zero-filled high part of the legacy 8-byte algorithm field.
const FIL_PAGE_COMP_ALGO_HIGH_LEN: usize = 6;
/// Offset of the 2-byte algorithm number inside a legacy 34354 page.
const FIL_PAGE_COMP_ALGO_LOW: usize = FIL_PAGE_COMP_ALGO + FIL_PAGE_COMP_ALGO_HIGH_LEN;

/// page_compressed algorithm numbers (`PAGE_*_ALGORITHM`, fsp0pagecompress.h).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CompressionAlgorithm {
    /// 1: zlib stream (`compress2`).
    Zlib,
    /// 2: raw LZ4 block.
    Lz4,
    /// 3: LZO1X-1(15).
    Lzo,
    /// 4: LZMA in an .xz container.
    Lzma,
    /// 5: bzip2 stream.
    Bzip2,
    /// 6: raw snappy.
    Snappy,
}

impl CompressionAlgorithm {
    /// Decodes an algorithm number; 0 (none) and unknown numbers give `None`.
    pub fn from_raw(raw: u32) -> Option<CompressionAlgorithm> {
        match raw {
            1 => Some(CompressionAlgorithm::Zlib),
            2 => Some(CompressionAlgorithm::Lz4),
            3 => Some(CompressionAlgorithm::Lzo),
            4 => Some(CompressionAlgorithm::Lzma),
            5 => Some(CompressionAlgorithm::Bzip2),
            6 => Some(CompressionAlgorithm::Snappy),
            _ => None,
        }
    }

    /// The on-disk number.
    pub fn as_raw(self) -> u32 {
        match self {
            CompressionAlgorithm::Zlib => 1,
            CompressionAlgorithm::Lz4 => 2,
            CompressionAlgorithm::Lzo => 3,
            CompressionAlgorithm::Lzma => 4,
            CompressionAlgorithm::Bzip2 => 5,
            CompressionAlgorithm::Snappy => 6,
        }
    }

    /// The server's name (`innodb_compression_algorithm`).
    pub fn name(self) -> &'static str {
        match self {
            CompressionAlgorithm::Zlib => "zlib",
            CompressionAlgorithm::Lz4 => "lz4",
            CompressionAlgorithm::Lzo => "lzo",
            CompressionAlgorithm::Lzma => "lzma",
            CompressionAlgorithm::Bzip2 => "bzip2",
            CompressionAlgorithm::Snappy => "snappy",
        }
    }

    /// Whether this crate can decompress the algorithm.
    pub fn has_decoder(self) -> bool {
        matches!(
            self,
            CompressionAlgorithm::Zlib
                | CompressionAlgorithm::Lz4
                | CompressionAlgorithm::Lzma
                | CompressionAlgorithm::Snappy
                | CompressionAlgorithm::Bzip2
                | CompressionAlgorithm::Lzo
        )
    }
}

impl std::fmt::Display for CompressionAlgorithm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Why a page_compressed page could not be decompressed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DecompressError {
    /// The page is too short to hold the page_compressed header.
    #[error(transparent)]
    Truncated(#[from] PageError),
    /// The page is not of type 34354 or 37401.
    #[error("page type {page_type} is not page_compressed")]
    NotPageCompressed {
        /// `FIL_PAGE_TYPE` found.
        page_type: u16,
    },
    /// Bytes 0..3 must be 0xDEADBEEF on a page_compressed page.
    #[error("checksum field is 0x{found:08x}, a page_compressed page has 0xdeadbeef")]
    NoChecksumMagic {
        /// Value at offset 0.
        found: u32,
    },
    /// Bytes 26..31 (high part of the algorithm field) must be zero.
    #[error("bad FIL_PAGE_COMP_ALGO: bytes 26..31 are not zero")]
    AlgorithmFieldHighBits,
    /// The algorithm number is none of the known ones.
    #[error("unknown compression algorithm {raw}")]
    UnknownAlgorithm {
        /// The number found.
        raw: u32,
    },
    /// The payload length is 0 or does not fit in the page.
    #[error("compressed length {len} is not in 1..={max}")]
    BadLength {
        /// Length at `FIL_PAGE_COMP_SIZE`.
        len: usize,
        /// Largest possible length.
        max: usize,
    },
    /// The algorithm is known but this crate has no decoder for it.
    #[error("no {0} decoder available")]
    NoDecoder(CompressionAlgorithm),
    /// The decoder rejected the payload.
    #[error("{algorithm}: {detail}")]
    Corrupt {
        /// The algorithm.
        algorithm: CompressionAlgorithm,
        /// The decoder's message.
        detail: String,
    },
    /// The payload decompressed to the wrong number of bytes.
    #[error("{algorithm}: decompressed to {produced} bytes, expected {expected}")]
    WrongSize {
        /// The algorithm.
        algorithm: CompressionAlgorithm,
        /// Bytes produced (for "too many", the bound that was hit plus one).
        produced: usize,
        /// The logical page size.
        expected: usize,
    },
}

/// A decompressed legacy page_compressed page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecompressedPage {
    /// The algorithm recorded on the page.
    pub algorithm: CompressionAlgorithm,
    /// Length of the compressed payload.
    pub compressed_len: usize,
    /// The plaintext page (`logical_page_size` bytes).
    pub page: Vec<u8>,
}

/// Decompresses a legacy page_compressed page (type 34354, or 37401 whose payload is
/// in clear) into a page of `logical_page_size` bytes, with the server's checks:
/// 0xDEADBEEF at 0, zero high algorithm bytes, `0 < L <= page size - header`, and
/// the payload must decompress to exactly the page size.
pub fn decompress_legacy_page(
    page: &[u8],
    logical_page_size: usize,
) -> Result<DecompressedPage, DecompressError> {
    let page_type = read_u16(page, FIL_PAGE_TYPE, "FIL_PAGE_TYPE")?;
    let (header_len, raw_algorithm) = match page_type {
        FIL_PAGE_PAGE_COMPRESSED => {
            let high: [u8; FIL_PAGE_COMP_ALGO_HIGH_LEN] =
                read_array(page, FIL_PAGE_COMP_ALGO, "FIL_PAGE_COMP_ALGO")?;
            if high != [0; FIL_PAGE_COMP_ALGO_HIGH_LEN] {
                return Err(DecompressError::AlgorithmFieldHighBits);
            }
            (
                FIL_PAGE_DATA + FIL_PAGE_COMP_METADATA_LEN,
                read_u16(page, FIL_PAGE_COMP_ALGO_LOW, "FIL_PAGE_COMP_ALGO")?,
            )
        }
        FIL_PAGE_PAGE_COMPRESSED_ENCRYPTED => (
            FIL_PAGE_DATA + FIL_PAGE_ENCRYPT_COMP_METADATA_LEN,
            read_u16(
                page,
                FIL_PAGE_ENCRYPT_COMP_ALGO,
                "FIL_PAGE_ENCRYPT_COMP_ALGO",
            )?,
        ),
        _ => return Err(DecompressError::NotPageCompressed { page_type }),
    };
    let checksum = read_u32(page, FIL_PAGE_SPACE_OR_CHKSUM, "FIL_PAGE_SPACE_OR_CHKSUM")?;
    if checksum != BUF_NO_CHECKSUM_MAGIC {
        return Err(DecompressError::NoChecksumMagic { found: checksum });
    }
    let len = usize::from(read_u16(page, FIL_PAGE_COMP_SIZE, "FIL_PAGE_COMP_SIZE")?);
    let max = logical_page_size.saturating_sub(header_len);
    if len == 0 || len > max {
        return Err(DecompressError::BadLength { len, max });
    }
    let payload = super::slice(page, header_len, header_len + len, "compressed payload")?;
    let raw = u32::from(raw_algorithm);
    let algorithm =
        CompressionAlgorithm::from_raw(raw).ok_or(DecompressError::UnknownAlgorithm { raw })?;
    let page = decompress_image(algorithm, payload, logical_page_size)?;
    Ok(DecompressedPage {
        algorithm,
        compressed_len: len,
        page,
    })
}

/// Decompresses `payload` with `algorithm`; the result must be exactly
/// `expected_len` bytes. Output is bounded, so hostile input cannot allocate more.
pub fn decompress_image(
    algorithm: CompressionAlgorithm,
    payload: &[u8],
    expected_len: usize,
) -> Result<Vec<u8>, DecompressError> {
    let corrupt = |detail: String| DecompressError::Corrupt { algorithm, detail };
    let wrong_size = |produced: usize| DecompressError::WrongSize {
        algorithm,
        produced,
        expected: expected_len,
    };
    match algorithm {
        CompressionAlgorithm::Zlib => {
            let mut out = vec![0u8; expected_len];
            let produced = miniz_oxide::inflate::decompress_slice_iter_to_slice(
                &mut out,
                std::iter::once(payload),
                true,
                false,
            )
            .map_err(|status| match status {
                miniz_oxide::inflate::TINFLStatus::HasMoreOutput => wrong_size(expected_len + 1),
                other => corrupt(format!("{other:?}")),
            })?;
            if produced != expected_len {
                return Err(wrong_size(produced));
            }
            Ok(out)
        }
        CompressionAlgorithm::Lz4 => {
            let mut out = vec![0u8; expected_len];
            let produced = lz4_flex::block::decompress_into(payload, &mut out).map_err(
                |error| match error {
                    lz4_flex::block::DecompressError::OutputTooSmall { expected, .. } => {
                        wrong_size(expected.max(expected_len + 1))
                    }
                    other => corrupt(other.to_string()),
                },
            )?;
            if produced != expected_len {
                return Err(wrong_size(produced));
            }
            Ok(out)
        }
        CompressionAlgorithm::Lzma => {
            let mut sink = BoundedSink {
                out: Vec::with_capacity(expected_len),
                limit: expected_len,
            };
            let mut input = payload;
            match lzma_rs::xz_decompress(&mut input, &mut sink) {
                Ok(()) if sink.out.len() == expected_len => Ok(sink.out),
                Ok(()) => Err(wrong_size(sink.out.len())),
                Err(_) if sink.out.len() > expected_len => Err(wrong_size(sink.out.len())),
                Err(error) => Err(corrupt(lzma_error_text(&error))),
            }
        }
        CompressionAlgorithm::Snappy => {
            // The declared length bounds the output before anything is decoded.
            let declared =
                snap::raw::decompress_len(payload).map_err(|error| corrupt(error.to_string()))?;
            if declared != expected_len {
                return Err(wrong_size(declared));
            }
            let mut out = vec![0u8; expected_len];
            let produced = snap::raw::Decoder::new()
                .decompress(payload, &mut out)
                .map_err(|error| corrupt(error.to_string()))?;
            if produced != expected_len {
                return Err(wrong_size(produced));
            }
            Ok(out)
        }
        CompressionAlgorithm::Bzip2 => {
            // As BZ2_bzBuffToBuffDecompress: the stream must end within one page of
            // output; bytes after its end are not read.
            let mut decoder = bzip2::Decompress::new(false);
            let mut out = vec![0u8; expected_len];
            let status = decoder
                .decompress(payload, &mut out)
                .map_err(|error| corrupt(error.to_string()))?;
            let produced = usize::try_from(decoder.total_out()).unwrap_or(usize::MAX);
            match status {
                bzip2::Status::StreamEnd if produced == expected_len => Ok(out),
                bzip2::Status::StreamEnd => Err(wrong_size(produced)),
                _ if produced == expected_len => Err(wrong_size(expected_len + 1)),
                _ => Err(corrupt("the stream ends before its end marker".into())),
            }
        }
        CompressionAlgorithm::Lzo => {
            let mut out = vec![0u8; expected_len];
            let produced = super::lzo::decompress(payload, &mut out).map_err(|detail| {
                if detail.starts_with("output overrun") {
                    wrong_size(expected_len + 1)
                } else {
                    corrupt(detail.into())
                }
            })?;
            if produced != expected_len {
                return Err(wrong_size(produced));
            }
            Ok(out)
        }
    }
}

fn lzma_error_text(error: &lzma_rs::error::Error) -> String {
    match error {
        lzma_rs::error::Error::IoError(e) | lzma_rs::error::Error::HeaderTooShort(e) => {
            e.to_string()
        }
        lzma_rs::error::Error::LzmaError(text) | lzma_rs::error::Error::XzError(text) => {
            text.clone()
        }
    }
}

/// A writer that refuses to grow past `limit` bytes: one byte more is recorded (so
/// the caller sees "too long") and then the decoder is stopped with an error.
struct BoundedSink {
    out: Vec<u8>,
    limit: usize,
}

impl io::Write for BoundedSink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let room = self.limit.saturating_sub(self.out.len());
        if buf.len() > room {
            let take = buf.get(..room.saturating_add(1)).unwrap_or(buf);
            self.out.extend_from_slice(take);
            return Err(io::Error::other("decompressed image larger than the page"));
        }
        self.out.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Builds a legacy page_compressed page (type 34354) around `payload`.
    pub(crate) fn legacy_compressed_page(
        algorithm: u16,
        payload: &[u8],
        page_size: usize,
    ) -> Vec<u8> {
        let mut page = vec![0u8; page_size];
        page[0..4].copy_from_slice(&BUF_NO_CHECKSUM_MAGIC.to_be_bytes());
        page[24..26].copy_from_slice(&FIL_PAGE_PAGE_COMPRESSED.to_be_bytes());
        page[32..34].copy_from_slice(&algorithm.to_be_bytes());
        page[38..40].copy_from_slice(&(payload.len() as u16).to_be_bytes());
        page[40..40 + payload.len()].copy_from_slice(payload);
        page
    }

    /// Compresses `image` for tests. lzma-rs only writes stored LZMA2 chunks, so .xz
    /// streams come from Python's `lzma` module instead (see [`xz_sample`]).
    pub(crate) fn compress(algorithm: CompressionAlgorithm, image: &[u8]) -> Vec<u8> {
        match algorithm {
            CompressionAlgorithm::Zlib => miniz_oxide::deflate::compress_to_vec_zlib(image, 6),
            CompressionAlgorithm::Lz4 => lz4_flex::block::compress(image),
            CompressionAlgorithm::Snappy => snap::raw::Encoder::new().compress_vec(image).unwrap(),
            CompressionAlgorithm::Bzip2 => {
                crate::page::page_compressed::bzip2_encode(image).unwrap()
            }
            other => panic!("no test compressor for {other}"),
        }
    }

    /// `lzma.compress(sample_image(len), format=FORMAT_XZ, check=CHECK_NONE)` as the
    /// server writes it (`lzma_easy_buffer_encode`), for len 2048, 4096, 8192.
    pub(crate) fn xz_sample(len: usize) -> Vec<u8> {
        let hex = match len {
            2048 => XZ_2048,
            4096 => XZ_4096,
            _ => XZ_8192,
        };
        (0..hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
            .collect()
    }

    const XZ_2048: &str = "fd377a585a000000ff12d9410200210116000000742fe5a3e007ff00885d00006d3e8046eb502b6171cb6a832ab55c5bfd4d117988ba30dfd7a42bd302c0cd2414d22b76769e0caf22cf17f3df6eabf927018a0071752de3cb33c9698c902b08893d3c590ad9080add77ad04b7cdbc7b5ada2f928d6e320e10d9f4ffdfb02f92dc0029098496d96306230738a1eefc2e21bca92fb0804cb8e690a8862b089f64f7a756f667b84d0000019c01801000001e3eee65a8000afc020000000000595a";
    const XZ_4096: &str = "fd377a585a000000ff12d9410200210116000000742fe5a3e00fff00ec5d00006d3e8046eb502b6171cb6a832ab55c5bfd4d117988ba30dfd7a42bd302c0cd2414d22b76769e0caf22cf17f3df6eabf927018a0071752de3cb33c9698c902b08893d3c590ad9080add77ad04b7cdbc7b5ada2f928d6e320e10d9f4ffdfb02f92dc0029098496d96306230738a1eefc2e21bca92fb0804cb8e690a8862b089f64f7a756f7a92cc117004124af0d69b89b2e01682d97dee73e756bd26cba58a8434752bc8ff5de2c743e890f1115a51c22427e08ace6977e4d775722831c4ab68438fd6e740f6c40b64dfa7476363e4a3a9b129e749b20e67183e7c1d37a5bebeabe7e9ea01fb965e50ce2e0000001800280200000be633172a8000afc020000000000595a";
    const XZ_8192: &str = "fd377a585a000000ff12d9410200210116000000742fe5a3e01fff01085d00006d3e8046eb502b6171cb6a832ab55c5bfd4d117988ba30dfd7a42bd302c0cd2414d22b76769e0caf22cf17f3df6eabf927018a0071752de3cb33c9698c902b08893d3c590ad9080add77ad04b7cdbc7b5ada2f928d6e320e10d9f4ffdfb02f92dc0029098496d96306230738a1eefc2e21bca92fb0804cb8e690a8862b089f64f7a756f7a92cc117004124af0d69b89b2e01682d97dee73e756bd26cba58a8434752bc8ff5de2c743e890f1115a51c22427e08ace6977e4d775722831c4ab68438fd6e740f6c40b64dfa7476363e4a3a9b129e749b20e67183e7c1d37a5bebeabe7e9ea01fb965e3be558db8b6b6041fdb15a2fcb50d74d8db89984a8e04bd5af1557f9bc07f000000019c02804000007e6af24ea8000afc020000000000595a";

    fn compressed_sample(algorithm: CompressionAlgorithm, len: usize) -> Vec<u8> {
        match algorithm {
            CompressionAlgorithm::Lzma => xz_sample(len),
            other => compress(other, &sample_image(len)),
        }
    }

    /// Compressible even by lzma-rs, whose encoder emits literals only.
    pub(crate) fn sample_image(len: usize) -> Vec<u8> {
        (0..len)
            .map(|i| if i % 16 == 0 { (i / 16) as u8 } else { 0 })
            .collect()
    }

    #[test]
    fn round_trips_every_decoder() {
        for algorithm in [
            CompressionAlgorithm::Zlib,
            CompressionAlgorithm::Lz4,
            CompressionAlgorithm::Lzma,
            CompressionAlgorithm::Snappy,
            CompressionAlgorithm::Bzip2,
        ] {
            let image = sample_image(4096);
            let payload = compressed_sample(algorithm, 4096);
            let page = legacy_compressed_page(algorithm.as_raw() as u16, &payload, 4096);
            let decompressed = decompress_legacy_page(&page, 4096).unwrap();
            assert_eq!(decompressed.page, image, "{algorithm}");
            assert_eq!(decompressed.algorithm, algorithm);
            // An image of the wrong size is rejected.
            let small = compressed_sample(algorithm, 2048);
            assert!(matches!(
                decompress_image(algorithm, &small, 4096),
                Err(DecompressError::WrongSize { produced: 2048, .. })
            ));
            let big = compressed_sample(algorithm, 8192);
            assert!(matches!(
                decompress_image(algorithm, &big, 4096),
                Err(DecompressError::WrongSize { .. })
            ));
            // A flipped byte in the middle of the stream is caught or changes the image.
            let mut bad = payload.clone();
            bad[payload.len() / 2] ^= 0x10;
            assert_ne!(
                decompress_image(algorithm, &bad, 4096).ok(),
                Some(image.clone())
            );
        }
    }

    fn check_header(mutate: impl Fn(&mut Vec<u8>), expected: DecompressError) {
        let payload = compress(CompressionAlgorithm::Zlib, &sample_image(4096));
        let mut page = legacy_compressed_page(1, &payload, 4096);
        mutate(&mut page);
        assert_eq!(decompress_legacy_page(&page, 4096).unwrap_err(), expected);
    }

    #[test]
    fn header_checks() {
        check_header(
            |p| p[0] = 0,
            DecompressError::NoChecksumMagic { found: 0x00AD_BEEF },
        );
        check_header(|p| p[27] = 1, DecompressError::AlgorithmFieldHighBits);
        check_header(|p| p[33] = 9, DecompressError::UnknownAlgorithm { raw: 9 });
        check_header(|p| p[33] = 0, DecompressError::UnknownAlgorithm { raw: 0 });
        check_header(
            |p| p[33] = 3,
            DecompressError::Corrupt {
                algorithm: CompressionAlgorithm::Lzo,
                detail: "match before the start of the output".into(),
            },
        );

        check_header(
            |p| p[38..40].copy_from_slice(&0u16.to_be_bytes()),
            DecompressError::BadLength { len: 0, max: 4056 },
        );
        check_header(
            |p| p[38..40].copy_from_slice(&4057u16.to_be_bytes()),
            DecompressError::BadLength {
                len: 4057,
                max: 4056,
            },
        );
        check_header(
            |p| p[24..26].copy_from_slice(&17855u16.to_be_bytes()),
            DecompressError::NotPageCompressed { page_type: 17855 },
        );
    }
}
