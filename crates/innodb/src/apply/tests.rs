//! Unit tests of the page apply functions. The expected page CRCs of the scenario tests
//! come from `testdata/oracle.py`, which runs the same steps through
//! `shared/tools/redo_apply.py` (byte-identical to mariadb-backup --prepare).

use super::*;
use crate::page::checksum::crc32c;
use crate::page::fsp::SpaceFlags;
use crate::redo::record::{InsertDynamic, InsertRedundant};
use crate::types::{Lsn, PageNo, SpaceId};

const SIZE: usize = 4096;
const ID: PageId = PageId {
    space: SpaceId(5),
    page_no: PageNo(7),
};

fn u16_at(p: &[u8], at: usize) -> usize {
    usize::from(u16::from_be_bytes([p[at], p[at + 1]]))
}

fn row(k: usize, n: usize) -> Vec<u8> {
    (0..n).map(|i| ((k * 7 + i) & 0xFF) as u8).collect()
}

fn apply(p: &mut [u8], rec: Record<'_>) -> Result<Effect, ApplyError> {
    apply_record(p, ID, false, &rec)
}

fn ext(p: &mut [u8], ext: Extended<'_>) {
    apply(p, Record::Extended { page: ID, ext }).unwrap();
}

fn new_page(comp: bool) -> Vec<u8> {
    let mut p = vec![0xEEu8; SIZE];
    apply(&mut p, Record::InitPage { page: ID }).unwrap();
    ext(
        &mut p,
        if comp {
            Extended::InitRowFormatDynamic
        } else {
            Extended::InitRowFormatRedundant
        },
    );
    p
}

/// Walks the record list and the directory and checks the invariants the server keeps:
/// the list reaches the supremum, owners match slots, n_owned sums up.
fn check_index_invariants(p: &[u8], comp: bool) {
    let (inf, sup, owned_at) = if comp {
        (PAGE_NEW_INFIMUM, PAGE_NEW_SUPREMUM, 5)
    } else {
        (PAGE_OLD_INFIMUM, PAGE_OLD_SUPREMUM, 6)
    };
    let next = |r: usize| {
        let v = u16_at(p, r - 2);
        if comp {
            (r + v) & 0xFFFF
        } else {
            v
        }
    };
    let n_slots = u16_at(p, PAGE_N_DIR_SLOTS);
    let slots: Vec<usize> = (0..n_slots)
        .map(|i| u16_at(p, SIZE - 8 - 2 * (i + 1)))
        .collect();
    let mut rec = inf;
    let mut n_recs = 0;
    let mut owners = vec![];
    let mut total_owned = 0;
    loop {
        let owned = usize::from(p[rec - owned_at] & 0xF);
        if owned != 0 {
            owners.push(rec);
            total_owned += owned;
        }
        if rec == sup {
            break;
        }
        if rec != inf {
            n_recs += 1;
        }
        rec = next(rec);
        assert!(n_recs <= 1000, "cyclic list");
    }
    assert_eq!(n_recs, u16_at(p, PAGE_N_RECS), "PAGE_N_RECS");
    assert_eq!(total_owned, n_recs + 2, "sum of n_owned");
    assert_eq!(
        owners, slots,
        "directory slots are the owners in list order"
    );
}

#[test]
fn init_page_and_init_row_format_bytes() {
    let p = new_page(true);
    assert_eq!(&p[4..8], &7u32.to_be_bytes());
    assert_eq!(&p[8..16], &[0xFF; 8]);
    assert_eq!(&p[34..38], &5u32.to_be_bytes());
    assert_eq!(u16_at(&p, 24), 17855);
    assert_eq!(u16_at(&p, PAGE_N_DIR_SLOTS), 2);
    assert_eq!(u16_at(&p, PAGE_HEAP_TOP), 120);
    assert_eq!(u16_at(&p, PAGE_N_HEAP), 0x8002);
    assert_eq!(p[PAGE_DIRECTION_B], PAGE_NO_DIRECTION);
    assert_eq!(&p[94..99], &[0x01, 0x00, 0x02, 0x00, 0x0d]);
    assert_eq!(&p[99..107], b"infimum\0");
    assert_eq!(&p[112..120], b"supremum");
    assert_eq!((u16_at(&p, SIZE - 10), u16_at(&p, SIZE - 12)), (99, 112));
    assert!(p[120..SIZE - 12].iter().all(|&b| b == 0));
    let p = new_page(false);
    assert_eq!(u16_at(&p, PAGE_N_HEAP), 2);
    assert_eq!(u16_at(&p, PAGE_HEAP_TOP), 125);
    assert_eq!(&p[101..109], b"infimum\0");
    assert_eq!(&p[116..125], b"supremum\0");
    assert_eq!((u16_at(&p, SIZE - 10), u16_at(&p, SIZE - 12)), (101, 116));
}

#[test]
fn dynamic_scenario_matches_oracle() {
    let mut p = new_page(true);
    let mut origins = vec![];
    for k in 0..20 {
        let prev = origins.last().map_or(0, |&o: &usize| o - PAGE_NEW_INFIMUM) as u32;
        let mut lit = vec![10u8];
        lit.extend(row(k, 10));
        let ins = InsertDynamic {
            prev,
            shift: 0,
            enc_hdr_l: 1 << 3,
            hdr_c: 0,
            data_c: 0,
            literal: &lit,
        };
        ext(&mut p, Extended::InsertHeapDynamic(ins));
        origins.push(u16_at(&p, PAGE_LAST_INSERT));
        check_index_invariants(&p, true);
    }
    assert_eq!(p[PAGE_DIRECTION_B], PAGE_RIGHT);
    assert_eq!(u16_at(&p, PAGE_N_DIRECTION), 19);
    assert_eq!(crc32c(&p), 0x28D0_31AB);
    for _ in 0..7 {
        ext(
            &mut p,
            Extended::DeleteRowFormatDynamic {
                prev: 0,
                hdr_size: 1,
                data_size: 10,
            },
        );
        check_index_invariants(&p, true);
    }
    assert_eq!(crc32c(&p), 0xC640_00C8);
    for k in 0..2 {
        let lit = row(100 + k, 10)[3..].to_vec();
        let prev = (origins[7] - PAGE_NEW_INFIMUM) as u32;
        let ins = InsertDynamic {
            prev,
            shift: 0,
            enc_hdr_l: 1,
            hdr_c: 1,
            data_c: 3,
            literal: &lit,
        };
        ext(&mut p, Extended::InsertReuseDynamic(ins));
        check_index_invariants(&p, true);
    }
    assert_eq!(crc32c(&p), 0x6BD7_38B6);
    let last = origins[19];
    let prev = origins[18] - PAGE_NEW_INFIMUM;
    assert_eq!((origins[18] + u16_at(&p, origins[18] - 2)) & 0xFFFF, last);
    let top_before = u16_at(&p, PAGE_HEAP_TOP);
    ext(
        &mut p,
        Extended::DeleteRowFormatDynamic {
            prev: prev as u32,
            hdr_size: 1,
            data_size: 10,
        },
    );
    assert_eq!(
        u16_at(&p, PAGE_HEAP_TOP),
        top_before - 16,
        "heap-top record gives its space back"
    );
    check_index_invariants(&p, true);
    assert_eq!(crc32c(&p), 0x8E26_A6C6);
}

#[test]
fn redundant_scenario_matches_oracle() {
    let mut p = new_page(false);
    let mut origins = vec![];
    let enc = 1 << 2; // 1 field, 1-byte offsets
    for k in 0..20 {
        let prev = origins.last().map_or(0, |&o: &usize| o - PAGE_OLD_INFIMUM) as u32;
        let mut lit = vec![10u8];
        lit.extend(row(k, 10));
        let ins = InsertRedundant {
            prev,
            enc_hdr: enc,
            hdr_c: 0,
            data_c: 0,
            literal: &lit,
        };
        ext(&mut p, Extended::InsertHeapRedundant(ins));
        origins.push(u16_at(&p, PAGE_LAST_INSERT));
        check_index_invariants(&p, false);
    }
    assert_eq!(crc32c(&p), 0x93F8_9DC8);
    for _ in 0..7 {
        ext(&mut p, Extended::DeleteRowFormatRedundant { prev: 0 });
        check_index_invariants(&p, false);
    }
    assert_eq!(crc32c(&p), 0xE17A_8486);
    for k in 0..2 {
        let mut lit = vec![10u8];
        lit.extend(&row(200 + k, 10)[2..]);
        let ins = InsertRedundant {
            prev: 0,
            enc_hdr: enc | 1,
            hdr_c: 0,
            data_c: 2,
            literal: &lit,
        };
        ext(&mut p, Extended::InsertReuseRedundant(ins));
        check_index_invariants(&p, false);
    }
    assert_eq!(crc32c(&p), 0x55D1_BBEB);
}

#[test]
fn undo_scenario_matches_oracle() {
    let mut p = vec![0u8; SIZE];
    apply(&mut p, Record::InitPage { page: ID }).unwrap();
    for (i, b) in p[56..86].iter_mut().enumerate() {
        *b = i as u8 + 1;
    }
    p[100..200].fill(0xAA);
    ext(&mut p, Extended::UndoInit);
    assert_eq!(u16_at(&p, 24), 2);
    assert_eq!((u16_at(&p, 40), u16_at(&p, 42)), (56, 56));
    let datas: Vec<Vec<u8>> = (0..3).map(|k| row(k, 5 + k)).collect();
    for d in &datas {
        ext(&mut p, Extended::UndoAppend { data: d });
    }
    assert_eq!(u16_at(&p, 42), 56 + 9 + 10 + 11);
    assert_eq!(crc32c(&p), 0x0853_0674);
}

/// A table of (record, expected failed check) on fresh pages.
#[test]
fn consistency_checks_fail_precisely() {
    let lit = [10u8; 11];
    let ins_dyn = InsertDynamic {
        prev: 0,
        shift: 0,
        enc_hdr_l: 1 << 3,
        hdr_c: 0,
        data_c: 0,
        literal: &lit,
    };
    let ins_red = InsertRedundant {
        prev: 0,
        enc_hdr: 1 << 2,
        hdr_c: 0,
        data_c: 0,
        literal: &lit,
    };
    let cases: Vec<(bool, Record<'_>, &str)> = vec![
        (
            true,
            Record::Write {
                page: ID,
                offset: 4,
                data: &[1],
            },
            "target below page offset 8",
        ),
        (
            true,
            Record::Write {
                page: ID,
                offset: 4095,
                data: &[1, 2],
            },
            "target + length beyond the page size",
        ),
        (
            true,
            Record::Memset {
                page: ID,
                offset: 4096,
                len: 1,
                pattern: &[0],
            },
            "target + length beyond the page size",
        ),
        (
            true,
            Record::Memmove {
                page: ID,
                offset: 100,
                len: 10,
                source: 4090,
            },
            "MEMMOVE source outside the page",
        ),
        (
            true,
            Record::Extended {
                page: ID,
                ext: Extended::DeleteRowFormatDynamic {
                    prev: 0,
                    hdr_size: 1,
                    data_size: 10,
                },
            },
            "delete from a page with PAGE_N_RECS = 0",
        ),
        (
            true,
            Record::Extended {
                page: ID,
                ext: Extended::InsertHeapRedundant(ins_red),
            },
            "the page's row format (PAGE_N_HEAP bit 15) differs from the record's",
        ),
        (
            false,
            Record::Extended {
                page: ID,
                ext: Extended::InsertHeapDynamic(ins_dyn),
            },
            "the page's row format (PAGE_N_HEAP bit 15) differs from the record's",
        ),
        (
            true,
            Record::Extended {
                page: PageId {
                    page_no: PageNo(2),
                    ..ID
                },
                ext: Extended::UndoInit,
            },
            "EXTENDED record for page 0, 1 or 2",
        ),
        (
            true,
            Record::Extended {
                page: ID,
                ext: Extended::TrimPages,
            },
            "TRIM_PAGES is a tablespace operation, not a page change",
        ),
        (
            true,
            Record::Extended {
                page: ID,
                ext: Extended::InsertReuseDynamic(ins_dyn),
            },
            "PAGE_FREE outside the heap",
        ),
        (
            true,
            Record::Extended {
                page: ID,
                ext: Extended::InsertHeapDynamic(InsertDynamic {
                    prev: 2000,
                    ..ins_dyn
                }),
            },
            "predecessor record outside the heap",
        ),
        // On an index page TRX_UNDO_PAGE_FREE is PAGE_N_HEAP (0x8002): far beyond the page.
        (
            true,
            Record::Extended {
                page: ID,
                ext: Extended::UndoAppend { data: &[1, 2, 3] },
            },
            "undo record does not fit before the page trailer",
        ),
    ];
    for (comp, rec, want) in cases {
        let mut p = new_page(comp);
        let before = p.clone();
        let page = rec.page().unwrap_or(ID);
        let got = apply_record(&mut p, page, false, &rec);
        match got {
            Err(e) => {
                assert_eq!(e.check.what, want, "{rec:?}");
                assert_eq!(e.page, page);
                assert_eq!(e.record, rec.kind());
                assert_eq!(
                    p, before,
                    "a failed check leaves the page unchanged: {rec:?}"
                );
            }
            Ok(eff) => panic!("{rec:?} applied ({eff:?}), expected {want}"),
        }
    }
}

#[test]
fn undo_append_bounds() {
    let mut p = vec![0u8; SIZE];
    apply(&mut p, Record::InitPage { page: ID }).unwrap();
    ext(&mut p, Extended::UndoInit);
    let big = vec![7u8; SIZE - 8 - 56 - 6];
    let e = apply(
        &mut p,
        Record::Extended {
            page: ID,
            ext: Extended::UndoAppend { data: &big },
        },
    )
    .unwrap_err();
    assert_eq!(
        e.check.what,
        "undo record does not fit before the page trailer"
    );
    let fits = vec![7u8; SIZE - 8 - 56 - 7];
    apply(
        &mut p,
        Record::Extended {
            page: ID,
            ext: Extended::UndoAppend { data: &fits },
        },
    )
    .unwrap();
    p[42..44].copy_from_slice(&40u16.to_be_bytes());
    let e = apply(
        &mut p,
        Record::Extended {
            page: ID,
            ext: Extended::UndoAppend { data: &[1, 2, 3] },
        },
    )
    .unwrap_err();
    assert_eq!(
        e.check.what,
        "TRX_UNDO_PAGE_FREE points into the undo page header"
    );
}

#[test]
fn write_memset_memmove() {
    let mut p = vec![0u8; 64];
    let id = ID;
    let run = |p: &mut Vec<u8>, r: Record<'_>| apply_record(p, id, true, &r).unwrap();
    assert_eq!(
        run(
            &mut p,
            Record::Write {
                page: id,
                offset: 8,
                data: &[1, 2, 3, 4]
            }
        ),
        Effect::Changed
    );
    assert_eq!(&p[8..12], &[1, 2, 3, 4]);
    run(
        &mut p,
        Record::Memset {
            page: id,
            offset: 20,
            len: 5,
            pattern: &[9, 8],
        },
    );
    assert_eq!(&p[20..26], &[9, 8, 9, 8, 9, 0]);
    // Overlapping move forward and backward, from the page as it is now.
    run(
        &mut p,
        Record::Memmove {
            page: id,
            offset: 10,
            len: 4,
            source: 8,
        },
    );
    assert_eq!(&p[8..14], &[1, 2, 1, 2, 3, 4]);
    run(
        &mut p,
        Record::Memmove {
            page: id,
            offset: 8,
            len: 4,
            source: 10,
        },
    );
    assert_eq!(&p[8..14], &[1, 2, 3, 4, 3, 4]);
    assert_eq!(run(&mut p, Record::FreePage { page: id }), Effect::Freed);
    assert_eq!(
        run(
            &mut p,
            Record::Option {
                page: id,
                data: &[3]
            }
        ),
        Effect::Ignored
    );
    // EXTENDED records are refused on ROW_FORMAT=COMPRESSED pages.
    let e = apply_record(
        &mut p,
        id,
        true,
        &Record::Extended {
            page: id,
            ext: Extended::UndoInit,
        },
    )
    .unwrap_err();
    assert_eq!(
        e.check.what,
        "EXTENDED record for a ROW_FORMAT=COMPRESSED page"
    );
    assert!(e.to_string().contains("UNDO_INIT"), "{e}");
}

#[test]
fn stamping_matches_the_spec_formulas() {
    let lsn = Lsn(0x0102_0304_0506_0708);
    let mut base = vec![0u8; SIZE];
    for (i, b) in base.iter_mut().enumerate() {
        *b = (i * 31 % 251) as u8;
    }
    base[24..26].copy_from_slice(&17855u16.to_be_bytes());

    let mut p = base.clone();
    stamp_page(&mut p, lsn, PageFormat::FullCrc32).unwrap();
    assert_eq!(&p[16..24], &lsn.0.to_be_bytes());
    assert_eq!(&p[SIZE - 8..SIZE - 4], &[5, 6, 7, 8]);
    assert_eq!(&p[SIZE - 4..], &crc32c(&p[..SIZE - 4]).to_be_bytes());

    let mut p = base.clone();
    stamp_page(&mut p, lsn, PageFormat::Crc32).unwrap();
    let c = crc32c(&p[4..26]) ^ crc32c(&p[38..SIZE - 8]);
    assert_eq!(&p[..4], &c.to_be_bytes());
    assert_eq!(&p[SIZE - 8..SIZE - 4], &c.to_be_bytes());
    assert_eq!(&p[SIZE - 4..], &[5, 6, 7, 8]);
    assert_eq!(&p[16..24], &lsn.0.to_be_bytes());

    let mut p = base[..2048].to_vec();
    let tail = p[2040..].to_vec();
    stamp_page(&mut p, lsn, PageFormat::Compressed).unwrap();
    let c = crc32c(&p[4..16]) ^ crc32c(&p[24..26]) ^ crc32c(&p[34..]);
    assert_eq!(&p[..4], &c.to_be_bytes());
    assert_eq!(&p[2040..], &tail[..], "no trailer on compressed pages");

    let fcrc = SpaceFlags::parse(0x13).unwrap();
    assert_eq!(PageFormat::for_flags(&fcrc), PageFormat::FullCrc32);
    let zip = SpaceFlags::parse(0xE5).unwrap();
    assert_eq!(PageFormat::for_flags(&zip), PageFormat::Compressed);
    let legacy = SpaceFlags::parse(0x21 | (3 << 6)).unwrap();
    assert_eq!(PageFormat::for_flags(&legacy), PageFormat::Crc32);
}
