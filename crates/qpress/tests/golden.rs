//! qpress files written by mariadb-backup (testdata/qpress): decompressed to the originals,
//! and recompressed to the same bytes.

use std::io::Write;
use std::path::PathBuf;

use qpress::{decompress, Compressor, Error};

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata/qpress")
}

fn goldens() -> Vec<(String, Vec<u8>)> {
    let mut out: Vec<_> = std::fs::read_dir(dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "qp"))
        .map(|p| {
            (
                p.file_name().unwrap().to_str().unwrap().to_owned(),
                std::fs::read(&p).unwrap(),
            )
        })
        .collect();
    out.sort();
    assert!(
        out.len() >= 8,
        "golden files missing from {}",
        dir().display()
    );
    out
}

fn chunk_size(archive: &[u8]) -> usize {
    u64::from_le_bytes(archive[8..16].try_into().unwrap()) as usize
}

#[test]
fn mariadb_backup_files_decompress_to_the_originals() {
    let mut compared = 0;
    for (name, archive) in goldens() {
        let mut data = Vec::new();
        let summary = decompress(&archive[..], &mut data).unwrap_or_else(|e| panic!("{name}: {e}"));
        let stem = name.strip_suffix(".qp").unwrap();
        assert_eq!(summary.name, stem.as_bytes(), "{name}: stored name");
        assert_eq!(summary.bytes, data.len() as u64);
        if let Ok(original) = std::fs::read(dir().join(stem)) {
            assert!(
                original == data,
                "{name}: decompressed bytes differ from {stem}"
            );
            compared += 1;
        }
    }
    assert!(compared >= 4);
}

/// The blocks of a one-file archive: (original length, whole QuickLZ block).
fn blocks(archive: &[u8]) -> Vec<(usize, &[u8])> {
    let name_len = u32::from_le_bytes(archive[17..21].try_into().unwrap()) as usize;
    let mut at = 21 + name_len + 1;
    let mut out = Vec::new();
    while &archive[at..at + 8] == b"NEWBNEWB" {
        let block = &archive[at + 20..];
        let h = qpress::quicklz::parse_header(block).unwrap();
        out.push((h.original_len, &block[..h.compressed_len]));
        at += 20 + h.compressed_len;
    }
    assert_eq!(&archive[at..], b"ENDSENDS\0\0\0\0\0\0\0\0");
    out
}

#[test]
fn every_block_recompresses_to_mariadb_backups_bytes() {
    let mut n = 0;
    for (name, archive) in goldens() {
        let mut data = Vec::new();
        decompress(&archive[..], &mut data).unwrap();
        let mut pos = 0;
        for (i, (len, theirs)) in blocks(&archive).into_iter().enumerate() {
            let mut ours = Vec::new();
            qpress::quicklz::compress(&data[pos..pos + len], &mut ours);
            assert!(ours == theirs, "{name}: block {i} differs");
            pos += len;
            n += 1;
        }
    }
    assert!(n >= 18, "{n} blocks");
}

#[test]
fn recompressing_gives_mariadb_backups_bytes() {
    let mut whole = 0;
    for (name, archive) in goldens() {
        let chunk = chunk_size(&archive);
        let lens: Vec<usize> = blocks(&archive).iter().map(|(len, _)| *len).collect();
        if lens.iter().rev().skip(1).any(|&len| len != chunk) {
            // mariadb-backup made a block per write (Aria pages): checked block by block above.
            continue;
        }
        whole += 1;
        let mut data = Vec::new();
        let summary = decompress(&archive[..], &mut data).unwrap();
        for threads in [1, 3] {
            let mut c = Compressor::new(Vec::new(), &summary.name, chunk)
                .unwrap()
                .threads(threads);
            // Odd write sizes: the block layout must not depend on them.
            for piece in data.chunks(7919) {
                c.write_all(piece).unwrap();
            }
            let ours = c.finish().unwrap();
            if ours != archive {
                let at = ours.iter().zip(&archive).position(|(a, b)| a != b);
                panic!(
                    "{name} ({threads} threads): our archive ({} bytes) differs from \
                     mariadb-backup's ({} bytes) first at {at:?}",
                    ours.len(),
                    archive.len()
                );
            }
        }
    }
    assert!(whole >= 8, "{whole} archives compared whole");
}

/// Every change of a real archive gives Ok or an error, never a panic, and the output stays
/// within what the archive's blocks can hold.
#[test]
fn mutated_archives_never_panic() {
    let archive = std::fs::read(dir().join("m1.MYD.qp")).unwrap();
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    let mut rng = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x as usize
    };
    let (mut ok, mut err) = (0, 0);
    for round in 0..3_000 {
        let mut bad = archive.clone();
        match round % 3 {
            0 => {
                for _ in 0..1 + rng() % 3 {
                    let at = rng() % bad.len();
                    bad[at] ^= (rng() as u8) | 1;
                }
            }
            1 => bad.truncate(rng() % bad.len()),
            _ => {
                // Headers are where lengths live: hit them harder.
                let at = rng() % 64;
                bad[at] = rng() as u8;
            }
        }
        let mut out = Vec::new();
        match decompress(&bad[..], &mut out) {
            Ok(_) => ok += 1,
            Err(Error::Corrupt { offset, .. }) => {
                assert!(offset <= bad.len() as u64);
                err += 1
            }
            Err(e) => panic!("round {round}: unexpected {e}"),
        }
        assert!(
            out.len() <= 2 * 101_600,
            "round {round}: {} bytes out",
            out.len()
        );
    }
    assert!(err > 2_500, "{ok} ok, {err} errors");
}

/// Precise errors: what and where.
#[test]
fn damage_is_named_with_its_offset() {
    let archive = std::fs::read(dir().join("m1.MYD.qp")).unwrap();
    // Layout: 16-byte archive header, "F", u32 length, "m1.MYD\0" = 28 bytes; the first
    // block entry starts at 28, its QuickLZ block at 48.
    let first_block = 48u64;
    let check = |bad: &[u8], offset: u64, needle: &str| match decompress(bad, &mut Vec::new()) {
        Err(Error::Corrupt { offset: o, what }) => {
            assert_eq!(o, offset, "{what}");
            assert!(what.contains(needle), "{what:?} lacks {needle:?}");
        }
        other => panic!("expected corruption at {offset}, got {other:?}"),
    };
    let mut bad = archive.clone();
    bad[100] ^= 0x40;
    check(&bad, first_block, "checksum mismatch");
    check(
        &archive[..archive.len() - 3],
        archive.len() as u64 - 8,
        "ends inside the end trailer",
    );
    check(&archive[..2000], first_block, "ends inside a block");
    let mut longer = archive.clone();
    longer.push(0);
    check(
        &longer,
        archive.len() as u64,
        "after the archive's end trailer",
    );
    let mut bad = archive.clone();
    bad[0] = b'Q';
    check(&bad, 0, "not a qpress archive");
    let mut bad = archive.clone();
    bad[36] = 1;
    check(&bad, 36, "a block is missing");
}
