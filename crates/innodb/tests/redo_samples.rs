//! Agreement with `shared/testdata/redo/README.md` (numbers from `redo_dump.py`) on
//! every sample log, chunked and wrap-around decoding, tailer-style copying, and the
//! logs mariadb-backup writes.

mod redo_support;

use innodb::redo::{
    backup_log_prefix, header, prepared_log, Checkpoint, Decoder, EndOfLog, Frame, LogFile,
    LogHeader, MtrFormat, RedoError, SliceDecoder, Step, Unsupported, BACKUP_CREATOR, START_OFFSET,
};
use innodb::Lsn;
use redo_support::{counts, decode_image, read_sample, tar_member, Summary};

struct Expected {
    file: &'static str,
    checkpoint_lsn: u64,
    checkpoint_block: u64,
    end_lsn: u64,
    /// Where the log ends.
    end_of_log: u64,
    mtrs: usize,
    records: usize,
    wrapped: usize,
    counts: &'static [(&'static str, usize)],
}

fn check_sample(image: &[u8], exp: &Expected) -> (LogFile, Summary) {
    let file = LogFile::parse(image, image.len() as u64).expect("header");
    let cp = file.checkpoint;
    assert_eq!(
        (cp.checkpoint_lsn.0, cp.end_lsn.0, cp.block_offset),
        (exp.checkpoint_lsn, exp.end_lsn, exp.checkpoint_block),
        "{}: checkpoint",
        exp.file
    );
    let (_, sum) = decode_image(image, cp.checkpoint_lsn);
    let end = sum.end.expect("log end");
    assert_eq!(
        end.lsn().0,
        exp.end_of_log,
        "{}: end of log ({end})",
        exp.file
    );
    assert!(end.is_clean(), "{}: {end}", exp.file);
    assert_eq!(
        (sum.mtrs, sum.records, sum.wrapped),
        (exp.mtrs, exp.records, exp.wrapped),
        "{}: mtrs, records, wrapped mtrs",
        exp.file
    );
    assert_eq!(sum.counts, counts(exp.counts), "{}: counts", exp.file);
    // §2.6: the mtr at end_lsn holds FILE_CHECKPOINT(checkpoint_lsn).
    assert!(
        sum.file_checkpoints
            .contains(&(exp.end_lsn, exp.checkpoint_lsn)),
        "{}: FILE_CHECKPOINT({}) at {}",
        exp.file,
        exp.checkpoint_lsn,
        exp.end_lsn
    );
    // Parsing from end_lsn gives the same end.
    let (_, from_end) = decode_image(image, cp.end_lsn);
    assert_eq!(from_end.end.map(|e| e.lsn()), Some(end.lsn()));
    (file, sum)
}

const LIVE16K_WRAP: Expected = Expected {
    file: "live16k_wrap.ib_logfile0.gz",
    checkpoint_lsn: 23016697,
    checkpoint_block: 4096,
    end_lsn: 25273132,
    end_of_log: 25273284,
    mtrs: 12712,
    records: 38214,
    wrapped: 1,
    counts: &[
        ("WRITE", 18396),
        ("INSERT_HEAP_REDUNDANT", 3754),
        ("UNDO_APPEND", 3719),
        ("INSERT_HEAP_DYNAMIC", 3222),
        ("MEMMOVE", 2601),
        ("DELETE_ROW_FORMAT_DYNAMIC", 2187),
        ("MEMSET", 2112),
        ("DELETE_ROW_FORMAT_REDUNDANT", 1208),
        ("INIT_PAGE", 310),
        ("INSERT_REUSE_DYNAMIC", 242),
        ("INSERT_REUSE_REDUNDANT", 188),
        ("FREE_PAGE", 153),
        ("UNDO_INIT", 62),
        ("FILE_MODIFY", 37),
        ("INIT_ROW_FORMAT_DYNAMIC", 10),
        ("INIT_ROW_FORMAT_REDUNDANT", 5),
        ("FILE_CHECKPOINT", 5),
        ("FILE_CREATE", 1),
        ("FILE_RENAME", 1),
        ("FILE_DELETE", 1),
    ],
};

#[test]
fn live16k_wrap() {
    let image = read_sample(LIVE16K_WRAP.file);
    let (file, sum) = check_sample(&image, &LIVE16K_WRAP);
    // Parsing starts at file offset 2106617 on an odd pass (sequence bit 0) and ends,
    // after the wrap, at offset 181188 on the next pass.
    let g = file.geometry;
    assert_eq!(g.offset(Lsn(23016697)).unwrap(), 2106617);
    assert_eq!(g.sequence_bit(Lsn(23016697)).unwrap(), 0);
    assert_eq!(g.offset(Lsn(25273284)).unwrap(), 181188);
    assert_eq!(g.sequence_bit(Lsn(25273284)).unwrap(), 1);
    assert!(matches!(sum.end, Some(EndOfLog::Marker { .. })));
    // The mtr across the wrap is 15313 bytes.
    let wrap_lsn = g.first_lsn().0 + (g.pass(Lsn(25273284)).unwrap()) * g.capacity();
    let straddler = sum
        .mtr_list
        .iter()
        .find(|&&(s, e, _)| s < wrap_lsn && e > wrap_lsn)
        .expect("an mtr across the wrap");
    assert_eq!(straddler.1 - straddler.0, 15313);
}

#[test]
fn crash16k() {
    let exp = Expected {
        file: "crash16k.ib_logfile0.gz",
        checkpoint_lsn: 142394294,
        checkpoint_block: 8192,
        end_lsn: 144353899,
        end_of_log: 144876908,
        mtrs: 17833,
        records: 47444,
        wrapped: 0,
        counts: &[
            ("WRITE", 20848),
            ("DELETE_ROW_FORMAT_DYNAMIC", 6373),
            ("INSERT_HEAP_DYNAMIC", 4816),
            ("INSERT_HEAP_REDUNDANT", 3537),
            ("DELETE_ROW_FORMAT_REDUNDANT", 3405),
            ("UNDO_APPEND", 2706),
            ("MEMMOVE", 2574),
            ("MEMSET", 2491),
            ("FREE_PAGE", 227),
            ("INSERT_REUSE_DYNAMIC", 173),
            ("INSERT_REUSE_REDUNDANT", 131),
            ("INIT_PAGE", 105),
            ("FILE_MODIFY", 34),
            ("UNDO_INIT", 11),
            ("FILE_CHECKPOINT", 5),
            ("INIT_ROW_FORMAT_DYNAMIC", 5),
            ("INIT_ROW_FORMAT_REDUNDANT", 3),
        ],
    };
    let image = read_sample(exp.file);
    check_sample(&image, &exp);
}

#[test]
fn live4k() {
    let exp = Expected {
        file: "live4k.ib_logfile0.gz",
        checkpoint_lsn: 52930,
        checkpoint_block: 8192,
        end_lsn: 53421,
        end_of_log: 2047128,
        mtrs: 16111,
        records: 50286,
        wrapped: 0,
        counts: &[
            ("WRITE", 27730),
            ("UNDO_APPEND", 5664),
            ("INSERT_HEAP_DYNAMIC", 4386),
            ("MEMMOVE", 3420),
            ("MEMSET", 3003),
            ("INSERT_HEAP_REDUNDANT", 2440),
            ("DELETE_ROW_FORMAT_DYNAMIC", 1173),
            ("DELETE_ROW_FORMAT_REDUNDANT", 816),
            ("INIT_PAGE", 496),
            ("INSERT_REUSE_DYNAMIC", 405),
            ("INSERT_REUSE_REDUNDANT", 287),
            ("FREE_PAGE", 172),
            ("UNDO_INIT", 139),
            ("INIT_ROW_FORMAT_DYNAMIC", 103),
            ("INIT_ROW_FORMAT_REDUNDANT", 27),
            ("FILE_MODIFY", 10),
            ("FILE_CREATE", 8),
            ("FILE_DELETE", 3),
            ("FILE_RENAME", 3),
            ("FILE_CHECKPOINT", 1),
        ],
    };
    let image = read_sample(exp.file);
    check_sample(&image, &exp);
}

#[test]
fn live64k() {
    let exp = Expected {
        file: "live64k.ib_logfile0.gz",
        checkpoint_lsn: 3191603,
        checkpoint_block: 8192,
        end_lsn: 3627540,
        end_of_log: 3687863,
        mtrs: 2213,
        records: 3573,
        wrapped: 0,
        counts: &[
            ("WRITE", 1584),
            ("UNDO_APPEND", 837),
            ("INSERT_HEAP_DYNAMIC", 483),
            ("INSERT_HEAP_REDUNDANT", 300),
            ("MEMSET", 111),
            ("DELETE_ROW_FORMAT_REDUNDANT", 109),
            ("DELETE_ROW_FORMAT_DYNAMIC", 88),
            ("INSERT_REUSE_REDUNDANT", 18),
            ("FILE_MODIFY", 13),
            ("MEMMOVE", 10),
            ("INIT_PAGE", 6),
            ("INSERT_REUSE_DYNAMIC", 5),
            ("FILE_CHECKPOINT", 3),
            ("INIT_ROW_FORMAT_DYNAMIC", 2),
            ("FILE_CREATE", 1),
            ("FILE_DELETE", 1),
            ("FILE_RENAME", 1),
            ("INIT_ROW_FORMAT_REDUNDANT", 1),
        ],
    };
    let image = read_sample(exp.file);
    check_sample(&image, &exp);
}

const BACKUP4K: Expected = Expected {
    file: "backup4k.ib_logfile0.gz",
    checkpoint_lsn: 18726534,
    checkpoint_block: 4096,
    end_lsn: 21532709,
    end_of_log: 23721394,
    mtrs: 25385,
    records: 69609,
    wrapped: 0,
    counts: &[
        ("WRITE", 36460),
        ("UNDO_APPEND", 9600),
        ("INSERT_HEAP_DYNAMIC", 7701),
        ("MEMMOVE", 3873),
        ("MEMSET", 3187),
        ("INSERT_HEAP_REDUNDANT", 2364),
        ("DELETE_ROW_FORMAT_DYNAMIC", 1526),
        ("DELETE_ROW_FORMAT_REDUNDANT", 1260),
        ("INIT_PAGE", 1181),
        ("INIT_ROW_FORMAT_DYNAMIC", 800),
        ("INSERT_REUSE_DYNAMIC", 637),
        ("INSERT_REUSE_REDUNDANT", 436),
        ("FREE_PAGE", 296),
        ("UNDO_INIT", 185),
        ("FILE_MODIFY", 62),
        ("FILE_CHECKPOINT", 19),
        ("INIT_ROW_FORMAT_REDUNDANT", 16),
        ("FILE_CREATE", 2),
        ("FILE_DELETE", 2),
        ("FILE_RENAME", 2),
    ],
};

#[test]
fn backup4k_parses_to_the_end_of_the_file() {
    let image = read_sample(BACKUP4K.file);
    let (file, sum) = check_sample(&image, &BACKUP4K);
    assert_eq!(file.header.creator(), "Backup 10.11.19");
    assert!(file.header.is_backup());
    assert_eq!(file.header.first_lsn, Lsn(18726534));
    assert!(file.checkpoint_blocks[1].is_err(), "block 2 is zero");
    assert_eq!(
        sum.end,
        Some(EndOfLog::CapacityReached { lsn: Lsn(23721394) })
    );
    assert_eq!(
        file.geometry.first_lsn().0 + file.geometry.capacity(),
        23721394,
        "the log ends exactly at the file end"
    );
    // The zero-copy slice path agrees on a file that never wraps.
    let format = MtrFormat::for_log(&file);
    let mut dec = SliceDecoder::new(
        format,
        &image[START_OFFSET as usize..],
        file.header.first_lsn,
    );
    let mut n = 0;
    let end = loop {
        match dec.next_mtr() {
            Step::Mtr(_) => n += 1,
            other => break other,
        }
    };
    assert_eq!(n, BACKUP4K.mtrs);
    assert_eq!(
        end,
        Step::EndOfLog(EndOfLog::CapacityReached { lsn: Lsn(23721394) })
    );
}

#[test]
fn backup4k_small_from_the_tarball() {
    let tar = read_sample("backup4k_small_before_prepare.tgz");
    let image = tar_member(&tar, "ib_logfile0").expect("ib_logfile0 in the tarball");
    assert_eq!(image.len(), 1610529);
    let exp = Expected {
        file: "backup4k_small_before_prepare.tgz:ib_logfile0",
        checkpoint_lsn: 23713420,
        checkpoint_block: 4096,
        end_lsn: 23713420,
        end_of_log: 25311661,
        mtrs: 21755,
        records: 66689,
        wrapped: 0,
        counts: &[
            ("WRITE", 38753),
            ("UNDO_APPEND", 6214),
            ("MEMMOVE", 5927),
            ("INSERT_HEAP_DYNAMIC", 4001),
            ("MEMSET", 3343),
            ("DELETE_ROW_FORMAT_DYNAMIC", 2808),
            ("DELETE_ROW_FORMAT_REDUNDANT", 1958),
            ("INSERT_HEAP_REDUNDANT", 1845),
            ("INSERT_REUSE_DYNAMIC", 814),
            ("INIT_PAGE", 328),
            ("FREE_PAGE", 311),
            ("INSERT_REUSE_REDUNDANT", 176),
            ("UNDO_INIT", 164),
            ("INIT_ROW_FORMAT_DYNAMIC", 28),
            ("FILE_MODIFY", 7),
            ("INIT_ROW_FORMAT_REDUNDANT", 7),
            ("FILE_DELETE", 2),
            ("FILE_CHECKPOINT", 1),
            ("FILE_CREATE", 1),
            ("FILE_RENAME", 1),
        ],
    };
    check_sample(&image, &exp);
}

#[test]
fn prepared4k_is_what_we_write() {
    let image = read_sample("prepared4k.ib_logfile0");
    assert_eq!(image.len(), 12_304);
    let file = LogFile::parse(&image, image.len() as u64).unwrap();
    let l = Lsn(23721378);
    assert_eq!(
        (
            file.header.first_lsn,
            file.checkpoint.checkpoint_lsn,
            file.checkpoint.end_lsn
        ),
        (l, l, l)
    );
    let (_, sum) = decode_image(&image, l);
    assert_eq!((sum.mtrs, sum.records), (1, 1));
    assert_eq!(sum.file_checkpoints, vec![(l.0, l.0)]);
    assert_eq!(
        sum.end,
        Some(EndOfLog::CapacityReached { lsn: Lsn(23721394) })
    );
    assert!(
        prepared_log(l).unwrap() == image,
        "generated prepared log differs"
    );
}

#[test]
fn backup_header_round_trip() {
    let server = LogFile::parse(&read_sample(LIVE16K_WRAP.file), 4 << 20).unwrap();
    let c = server.checkpoint.checkpoint_lsn;
    let e = server.checkpoint.end_lsn;
    let header = LogHeader::for_backup(&server.header, c);
    let mut log = backup_log_prefix(&header, c, e);
    assert_eq!(log.len(), 12288);
    log.extend_from_slice(&innodb::redo::file_checkpoint_mtr(c, 1));
    let parsed = LogFile::parse(&log, log.len() as u64).unwrap();
    assert_eq!(parsed.header.creator(), BACKUP_CREATOR);
    assert_eq!(parsed.header.first_lsn, c);
    assert_eq!(
        parsed.checkpoint,
        Checkpoint {
            checkpoint_lsn: c,
            end_lsn: e,
            block_offset: header::CHECKPOINT_1
        }
    );
    assert!(parsed.checkpoint_blocks[1].is_err());
    assert!(log[8192..12288].iter().all(|&b| b == 0));
}

/// The LSN-ordered bytes of `image` in `[from, to)` (across the wrap).
fn lsn_bytes(file: &LogFile, image: &[u8], from: Lsn, to: Lsn) -> Vec<u8> {
    let mut out = Vec::new();
    for (off, len) in file.geometry.file_ranges(from, to.0 - from.0).unwrap() {
        out.extend_from_slice(&image[off as usize..(off + len) as usize]);
    }
    out
}

/// Feeds `data` (starting at `start`) in pieces of `size`; returns every mtr as
/// (start, end, records) and the final end of log, if one was reached.
fn feed(
    format: MtrFormat,
    data: &[u8],
    start: Lsn,
    size: usize,
) -> (Vec<(u64, u64, usize)>, Option<EndOfLog>) {
    let mut dec = Decoder::new(format, start).unwrap();
    let mut out = Vec::new();
    for piece in data.chunks(size) {
        let mut input = dec.input(piece);
        loop {
            match input.next_mtr() {
                Step::Mtr(m) => out.push((m.start_lsn().0, m.end_lsn().0, m.records().count())),
                Step::NeedMore { at_least } => {
                    assert!(at_least >= 1);
                    break;
                }
                Step::EndOfLog(e) => return (out, Some(e)),
                Step::Error(e) => panic!("piece size {size}: {e}"),
            }
        }
    }
    (out, None)
}

#[test]
fn chunked_across_the_wrap_gives_the_same_mtrs() {
    let image = read_sample(LIVE16K_WRAP.file);
    let (file, sum) = decode_image(&image, Lsn(LIVE16K_WRAP.checkpoint_lsn));
    let g = file.geometry;
    let wrap_lsn = g.first_lsn().0 + g.pass(Lsn(LIVE16K_WRAP.end_of_log)).unwrap() * g.capacity();
    let idx = sum
        .mtr_list
        .iter()
        .position(|&(s, e, _)| s < wrap_lsn && e > wrap_lsn)
        .unwrap();
    // About 20 KB on each side of the straddling mtr, on mtr boundaries.
    let first = sum.mtr_list[..idx]
        .iter()
        .rev()
        .find(|m| wrap_lsn - m.0 > 35_000)
        .unwrap()
        .0;
    let last = sum.mtr_list[idx..]
        .iter()
        .find(|m| m.1 - wrap_lsn > 20_000)
        .unwrap()
        .1;
    let data = lsn_bytes(&file, &image, Lsn(first), Lsn(last));
    let format = MtrFormat::for_log(&file);
    let expected: Vec<_> = sum
        .mtr_list
        .iter()
        .copied()
        .filter(|m| m.0 >= first && m.1 <= last)
        .collect();
    assert!(expected.len() > 100);
    let sizes = (1..=64).chain([
        97,
        100,
        511,
        512,
        1000,
        4096,
        7919,
        15313,
        65536,
        data.len(),
    ]);
    for size in sizes {
        let (got, end) = feed(format, &data, Lsn(first), size);
        assert_eq!(got, expected, "piece size {size}");
        assert_eq!(end, None, "piece size {size}");
    }
    // The same region straight from the file, in pieces that end at the wrap.
    let mut dec = Decoder::new(format, Lsn(first)).unwrap();
    let mut got = Vec::new();
    for (off, len) in g.file_ranges(Lsn(first), last - first).unwrap() {
        for piece in image[off as usize..(off + len) as usize].chunks(3000) {
            let mut input = dec.input(piece);
            while let Step::Mtr(f) = input.next_frame() {
                got.push((f.start_lsn().0, f.end_lsn().0));
            }
        }
    }
    let ends: Vec<_> = expected.iter().map(|m| (m.0, m.1)).collect();
    assert_eq!(got, ends);
}

/// A tailer: reads 64 KiB at a time from `offset(next_lsn)` rounded down to 4096,
/// frames mtrs, and appends them with the end marker forced to 1 (§9.1 step 4). The
/// result must parse as a backup log ending exactly at its file end.
#[test]
fn tailer_copy_parses_as_a_backup_log() {
    let image = read_sample(LIVE16K_WRAP.file);
    let server = LogFile::parse(&image, image.len() as u64).unwrap();
    let c = server.checkpoint.checkpoint_lsn;
    let format = MtrFormat::new(server.geometry, false);
    let mut dec = Decoder::new(format, c).unwrap();
    let header = LogHeader::for_backup(&server.header, c);
    let mut backup = backup_log_prefix(&header, c, server.checkpoint.end_lsn);
    let end = 'outer: loop {
        let next = dec.lsn();
        // Round the read position down to a 4 KiB block of the file, as a tailer does.
        let in_block = (server.geometry.offset(next).unwrap() - START_OFFSET) % 4096;
        let from = Lsn(next.0 - in_block.min(next.0 - server.geometry.first_lsn().0));
        let mut piece_lsn = from;
        for (off, len) in server.geometry.file_ranges(from, 65536).unwrap() {
            let piece = &image[off as usize..(off + len) as usize];
            let mut input = dec.input_at(piece, piece_lsn).unwrap();
            piece_lsn = Lsn(piece_lsn.0 + len);
            loop {
                match input.next_frame() {
                    Step::Mtr(f) => copy(&f, &mut backup),
                    Step::NeedMore { .. } => break,
                    Step::EndOfLog(e) => break 'outer e,
                    Step::Error(e) => panic!("{e}"),
                }
            }
        }
    };
    assert_eq!(end.lsn(), Lsn(LIVE16K_WRAP.end_of_log));
    let (file, sum) = decode_image(&backup, c);
    assert_eq!(file.header.creator(), "Backup 10.11.19");
    assert_eq!(sum.end, Some(EndOfLog::CapacityReached { lsn: end.lsn() }));
    assert_eq!(
        (sum.mtrs, sum.records),
        (LIVE16K_WRAP.mtrs, LIVE16K_WRAP.records)
    );
    assert_eq!(sum.counts, counts(LIVE16K_WRAP.counts));
}

fn copy(f: &Frame<'_>, out: &mut Vec<u8>) {
    f.copy_for_backup(out);
}

#[test]
fn bad_files_give_precise_errors() {
    let good = read_sample(BACKUP4K.file);
    let len = good.len() as u64;
    // Truncated: too short for the header blocks, or for one mtr.
    assert!(matches!(
        LogFile::parse(&good[..4000], len),
        Err(RedoError::Truncated { .. })
    ));
    assert!(matches!(
        LogFile::parse(&good, 12_300),
        Err(RedoError::Truncated {
            len: 12_300,
            needed: 12_304
        })
    ));
    assert!(matches!(
        LogFile::parse(&good[..100], 100),
        Err(RedoError::Truncated { .. })
    ));
    // Zeroed header.
    let mut zero = good.clone();
    zero[..4096].fill(0);
    assert_eq!(LogFile::parse(&zero, len), Err(RedoError::ZeroedHeader));
    // Bad header CRC.
    let mut bad = good.clone();
    bad[20] ^= 0x01;
    assert!(matches!(
        LogFile::parse(&bad, len),
        Err(RedoError::HeaderChecksum { .. })
    ));
    // Bad checkpoint CRC: block 2 of a backup is zero, so nothing valid is left.
    let mut bad = good.clone();
    bad[4096 + 3] ^= 0x01;
    match LogFile::parse(&bad, len) {
        Err(RedoError::NoValidCheckpoint { first, second }) => {
            assert!(matches!(
                first,
                innodb::redo::CheckpointProblem::Checksum { .. }
            ));
            assert!(matches!(
                second,
                innodb::redo::CheckpointProblem::Checksum { .. }
            ));
        }
        other => panic!("{other:?}"),
    }
    // Other formats are named.
    for (id, name_part) in [
        (header::FORMAT_10_5, "10.5"),
        (6u32, "MySQL 8"),
        (1, "5.7"),
        (header::FORMAT_10_4 | header::FORMAT_ENCRYPTED, "10_4"),
    ] {
        let mut other = good.clone();
        other[..4].copy_from_slice(&id.to_be_bytes());
        let crc = crc32c::crc32c(&other[..508]);
        other[508..512].copy_from_slice(&crc.to_be_bytes());
        match LogFile::parse(&other, len) {
            Err(e @ RedoError::Unsupported(Unsupported::Format { .. })) => {
                assert!(e.to_string().contains(name_part), "{e}")
            }
            other => panic!("format {id:#x}: {other:?}"),
        }
    }
    // Encryption info at 48: the header parses, framing works, payloads are refused.
    let mut enc = good.clone();
    enc[48..52].copy_from_slice(&1u32.to_be_bytes());
    let crc = crc32c::crc32c(&enc[..508]);
    enc[508..512].copy_from_slice(&crc.to_be_bytes());
    let file = LogFile::parse(&enc, len).unwrap();
    assert!(file.header.is_encrypted());
    let format = MtrFormat::for_log(&file);
    let mut dec = SliceDecoder::new(format, &enc[START_OFFSET as usize..], file.header.first_lsn);
    assert_eq!(
        dec.next_mtr(),
        Step::Error(RedoError::Unsupported(Unsupported::Encrypted))
    );
    let mut enc11 = good;
    enc11[..4].copy_from_slice(&header::FORMAT_ENC_11.to_be_bytes());
    let crc = crc32c::crc32c(&enc11[..508]);
    enc11[508..512].copy_from_slice(&crc.to_be_bytes());
    assert!(LogFile::parse(&enc11, len).unwrap().header.is_encrypted());
}

#[test]
fn a_corrupt_record_in_a_crc_valid_mtr_is_located() {
    let image = read_sample(LIVE16K_WRAP.file);
    let file = LogFile::parse(&image, image.len() as u64).unwrap();
    let c = file.checkpoint.checkpoint_lsn;
    let format = MtrFormat::for_log(&file);
    let start = file.geometry.offset(c).unwrap() as usize;
    let mut data = image[start..start + 65536].to_vec();
    // The first mtr's first record gets the RESERVED type; fix the CRC.
    let Step::Mtr(f) = format.frame(&data, c) else {
        panic!("no first mtr");
    };
    let marker = f.marker_index();
    let len = f.len();
    data[0] = (data[0] & 0x8F) | 0x60;
    let crc = crc32c::crc32c(&data[..marker]);
    data[len - 4..len].copy_from_slice(&crc.to_be_bytes());
    assert!(
        matches!(format.frame(&data, c), Step::Mtr(_)),
        "framing still fine"
    );
    assert_eq!(
        format.decode(&data, c),
        Step::Error(RedoError::Corrupt {
            what: "RESERVED record type (unknown log record)",
            at: c
        })
    );
    let mut dec = Decoder::new(format, c).unwrap();
    assert!(matches!(
        dec.input(&data).next_mtr(),
        Step::Error(RedoError::Corrupt { .. })
    ));
    assert_eq!(dec.lsn(), c, "the position stays at the bad mtr");
}

/// Throughput on the biggest sample (run with `--release -- --ignored --nocapture`);
/// printed, not asserted (house rule 9).
#[test]
#[ignore]
fn throughput() {
    let image = read_sample(BACKUP4K.file);
    let file = LogFile::parse(&image, image.len() as u64).unwrap();
    let format = MtrFormat::for_log(&file);
    let body = &image[START_OFFSET as usize..];
    let rounds = 40;
    let measure = |full: bool| {
        let t = std::time::Instant::now();
        let mut n = 0usize;
        for _ in 0..rounds {
            let mut dec = SliceDecoder::new(format, body, file.header.first_lsn);
            if full {
                while let Step::Mtr(m) = dec.next_mtr() {
                    for r in m.records() {
                        n += r.page().map_or(1, |p| p.page_no.0 as usize & 1);
                    }
                }
            } else {
                while let Step::Mtr(f) = dec.next_frame() {
                    n += f.len();
                }
            }
        }
        std::hint::black_box(n);
        (body.len() * rounds) as f64 / t.elapsed().as_secs_f64() / 1e6
    };
    let frame = measure(false);
    let full = measure(true);
    // The streaming decoder over 2 MiB pieces, frame only (the tailer's path).
    let t = std::time::Instant::now();
    let mut n = 0usize;
    for _ in 0..rounds {
        let mut dec = Decoder::new(format, file.header.first_lsn).unwrap();
        for piece in body.chunks(2 << 20) {
            let mut input = dec.input(piece);
            while let Step::Mtr(f) = input.next_frame() {
                n += f.len();
            }
        }
    }
    std::hint::black_box(n);
    let streamed = (body.len() * rounds) as f64 / t.elapsed().as_secs_f64() / 1e6;
    println!("streaming Decoder, 2 MiB pieces, frame+CRC: {streamed:.0} MB/s");
    println!(
        "backup4k ({} bytes of log): frame+CRC {frame:.0} MB/s, full decode {full:.0} MB/s",
        body.len()
    );
}
