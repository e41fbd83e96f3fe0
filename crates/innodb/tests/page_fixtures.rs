//! Agreement with real MariaDB 10.11.19 files: every `.ibd` in
//! `testdata/pages/` is validated page by page with the flags of its page 0,
//! and the tallies must equal what the reference checker
//! (`python3 tools/page_check.py -s FILE`) prints, as listed in
//! `testdata/pages/README.md`. Corrupted copies must be caught at exactly the
//! listed pages, with the listed stored values.

use std::collections::BTreeMap;
use std::path::PathBuf;

use innodb::page::compress::DecompressError;
use innodb::page::{Corruption, FspHeader, PageValidator, PageVerdict, ValidationOptions};
use innodb::PageNo;

/// Per-file tallies in the checker's vocabulary (`SUMMARY` line).
#[derive(Debug, Default, PartialEq, Eq)]
struct Tally {
    pages: usize,
    /// Valid, including unverified pages (the checker counts those as valid).
    valid: usize,
    zero: usize,
    corrupted: usize,
    skipped: usize,
    encrypted: usize,
    page_compressed: usize,
    unverified: usize,
}

struct Expected {
    file: &'static str,
    flags: u32,
    tally: Tally,
    /// Expected corrupted pages and what the corruption there must look like.
    corrupt: Vec<(u32, Want)>,
}

/// The corruption expected at a page (values from the README's checker output).
#[derive(Debug)]
enum Want {
    FullCrc32 {
        stored: u32,
        calculated: Option<u32>,
    },
    Zip {
        stored: u32,
    },
    DecoderRejects,
}

impl Want {
    fn matches(&self, corruption: &Corruption) -> bool {
        match (self, corruption) {
            (
                Want::FullCrc32 { stored, calculated },
                Corruption::FullCrc32Checksum {
                    stored: got_stored,
                    calculated: got_calculated,
                },
            ) => stored == got_stored && calculated.unwrap_or(*got_calculated) == *got_calculated,
            (Want::Zip { stored }, Corruption::ZipChecksum { stored: got, .. }) => stored == got,
            (Want::DecoderRejects, Corruption::PageCompressed(DecompressError::Corrupt { .. })) => {
                true
            }
            _ => false,
        }
    }
}

const fn tally(
    pages: usize,
    valid: usize,
    zero: usize,
    corrupted: usize,
    encrypted: usize,
    page_compressed: usize,
) -> Tally {
    Tally {
        pages,
        valid,
        zero,
        corrupted,
        skipped: 0,
        encrypted,
        page_compressed,
        unverified: 0,
    }
}

fn expectations() -> Vec<Expected> {
    vec![
        Expected {
            file: "fcrc32_16k_plain.ibd",
            flags: 0x15,
            tally: tally(7, 7, 0, 0, 0, 0),
            corrupt: vec![],
        },
        Expected {
            file: "fcrc32_4k_plain.ibd",
            flags: 0x13,
            tally: tally(4, 4, 0, 0, 0, 0),
            corrupt: vec![],
        },
        Expected {
            file: "fcrc32_64k_page_compressed_zlib.ibd",
            flags: 0x37,
            tally: tally(15, 14, 1, 0, 0, 13),
            corrupt: vec![],
        },
        Expected {
            file: "fcrc32_16k_encrypted.ibd",
            flags: 0x15,
            tally: tally(29, 28, 1, 0, 27, 0),
            corrupt: vec![],
        },
        Expected {
            file: "fcrc32_16k_page_compressed_encrypted.ibd",
            flags: 0x35,
            tally: tally(29, 28, 1, 0, 27, 27),
            corrupt: vec![],
        },
        Expected {
            file: "legacy_crc32_zip8k.ibd",
            flags: 0x29,
            tally: tally(22, 22, 0, 0, 0, 0),
            corrupt: vec![],
        },
        Expected {
            file: "legacy_crc32_zip4k_encrypted.ibd",
            flags: 0x27,
            tally: tally(28, 27, 1, 0, 26, 0),
            corrupt: vec![],
        },
        Expected {
            file: "legacy_crc32_page_compressed_lz4.ibd",
            flags: 0x10021,
            tally: tally(29, 28, 1, 0, 0, 27),
            corrupt: vec![],
        },
        Expected {
            file: "legacy_crc32_page_compressed_lzma.ibd",
            flags: 0x10021,
            tally: tally(29, 28, 1, 0, 0, 27),
            corrupt: vec![],
        },
        Expected {
            file: "legacy_crc32_encrypted.ibd",
            flags: 0x21,
            tally: tally(29, 28, 1, 0, 27, 0),
            corrupt: vec![],
        },
        Expected {
            file: "corrupt_fcrc32_16k_plain.ibd",
            flags: 0x15,
            tally: tally(7, 5, 0, 2, 0, 0),
            corrupt: vec![
                (
                    3,
                    Want::FullCrc32 {
                        stored: 0x799b_f2d7,
                        calculated: Some(0x3e2b_d7c4),
                    },
                ),
                // Second half zeroed (torn write): the stored checksum reads as 0.
                (
                    5,
                    Want::FullCrc32 {
                        stored: 0,
                        calculated: None,
                    },
                ),
            ],
        },
        Expected {
            file: "corrupt_legacy_zip8k.ibd",
            flags: 0x29,
            tally: tally(22, 21, 0, 1, 0, 0),
            corrupt: vec![(
                5,
                Want::Zip {
                    stored: 0x4aac_e12f,
                },
            )],
        },
        Expected {
            file: "corrupt_legacy_page_compressed_lzma.ibd",
            flags: 0x10021,
            // The checker prints page_compressed=26: page 6 no longer counts.
            tally: tally(29, 27, 1, 1, 0, 26),
            // Byte flipped inside the lzma payload: the decoder rejects it.
            corrupt: vec![(6, Want::DecoderRejects)],
        },
    ]
}

fn fixture_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata/pages");
    assert!(
        dir.is_dir(),
        "fixture directory {} is missing: the repository's testdata/pages is incomplete",
        dir.display()
    );
    dir
}

#[test]
fn every_fixture_agrees_with_the_reference_checker() {
    let dir = fixture_dir();
    let mut on_disk: Vec<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
        .filter(|name| name.ends_with(".ibd"))
        .collect();
    on_disk.sort();
    let expectations = expectations();
    let mut listed: Vec<String> = expectations.iter().map(|e| e.file.to_string()).collect();
    listed.sort();
    assert_eq!(
        on_disk, listed,
        "every .ibd fixture needs a row here (and the README)"
    );

    let mut failures = Vec::new();
    for expected in &expectations {
        let path = dir.join(expected.file);
        let data = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let header = FspHeader::parse(&data).unwrap_or_else(|e| panic!("{}: {e}", expected.file));
        assert_eq!(
            header.flags.raw(),
            expected.flags,
            "{}: flags",
            expected.file
        );
        let page_size = header.flags.physical_page_size();
        let page0 = data.get(..page_size).expect("file shorter than one page");
        let validator = PageValidator::from_page0(page0, ValidationOptions::default())
            .unwrap_or_else(|e| panic!("{}: {e}", expected.file));

        let mut got = Tally {
            pages: data.len() / page_size,
            ..Tally::default()
        };
        let mut corrupt_pages = BTreeMap::new();
        for (idx, page) in data.chunks_exact(page_size).enumerate() {
            let page_no = PageNo(u32::try_from(idx).expect("page index fits u32"));
            match validator.validate(page, page_no) {
                PageVerdict::Valid(info) => {
                    got.valid += 1;
                    got.encrypted += usize::from(info.encrypted);
                    got.page_compressed += usize::from(info.compression.is_some());
                }
                PageVerdict::Unverified(_) => {
                    got.valid += 1;
                    got.unverified += 1;
                }
                PageVerdict::AllZero => got.zero += 1,
                PageVerdict::SkippedDoublewrite => got.skipped += 1,
                PageVerdict::Corrupt(corruption) => {
                    got.corrupted += 1;
                    corrupt_pages.insert(page_no.0, corruption);
                }
            }
        }
        if got != expected.tally {
            failures.push(format!(
                "{}: got {got:?}, expected {:?}",
                expected.file, expected.tally
            ));
        }
        let expected_pages: Vec<u32> = expected.corrupt.iter().map(|(p, _)| *p).collect();
        let got_pages: Vec<u32> = corrupt_pages.keys().copied().collect();
        if got_pages != expected_pages {
            failures.push(format!(
                "{}: corrupt pages {got_pages:?}, expected {expected_pages:?} ({corrupt_pages:?})",
                expected.file
            ));
        }
        for (page_no, want) in &expected.corrupt {
            if let Some(corruption) = corrupt_pages.get(page_no) {
                if !want.matches(corruption) {
                    failures.push(format!(
                        "{}: page {page_no}: found {corruption:?} ({corruption}), want {want:?}",
                        expected.file
                    ));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "fixture disagreements:\n{}",
        failures.join("\n")
    );
}

/// Strict mode (strict_crc32) must not change anything on files written by 10.11,
/// which only writes crc32 / full_crc32 checksums.
#[test]
fn clean_fixtures_also_pass_in_strict_mode() {
    let dir = fixture_dir();
    let strict = ValidationOptions {
        strict: true,
        ..ValidationOptions::default()
    };
    for expected in expectations().iter().filter(|e| e.corrupt.is_empty()) {
        let data = std::fs::read(dir.join(expected.file)).expect("fixture readable");
        let validator = PageValidator::from_page0(&data, strict).expect("page 0 parses");
        for (idx, page) in data.chunks_exact(validator.page_size()).enumerate() {
            let verdict = validator.validate(page, PageNo(idx as u32));
            assert!(
                !verdict.is_corrupt(),
                "{} page {idx}: {verdict:?}",
                expected.file
            );
        }
    }
}
