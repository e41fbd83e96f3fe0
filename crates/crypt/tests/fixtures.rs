//! Pages and redo logs written by a real MariaDB 10.11 with file_key_management
//! (testdata/crypt, made by its make.sh): they decrypt to valid plaintext, and the
//! plaintext encrypts back to the very bytes the server wrote.

use std::io::Read;
use std::path::{Path, PathBuf};

use crypt::page::{self, Layout};
use crypt::redo::LogKey;
use crypt::scheme::SpaceKeys;
use crypt::{Algorithm, FileKey, KeyRing};
use innodb::page::checksum::legacy_crc32;
use innodb::page::fsp::{read_crypt_data, SpaceFlags};
use innodb::redo::header::LogFile;
use innodb::redo::{MtrFormat, Record, Records, SliceDecoder, Step};

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/crypt")
}

fn ring(alg: Algorithm) -> KeyRing {
    match alg {
        Algorithm::Cbc => KeyRing::load(&dir().join("keys.txt"), &FileKey::default()).unwrap(),
        Algorithm::Ctr => {
            KeyRing::load(&dir().join("keys.enc"), &FileKey::literal(b"secret")).unwrap()
        }
    }
}

fn be32(p: &[u8], at: usize) -> u32 {
    u32::from_be_bytes(p[at..at + 4].try_into().unwrap())
}

#[test]
fn pages_decrypt_and_encrypt_back_to_the_same_bytes() {
    for (alg, prefix) in [(Algorithm::Cbc, "cbc"), (Algorithm::Ctr, "ctr")] {
        let ring = ring(alg);
        for (table, layout, fill) in [
            ("t_fcrc", Layout::FullCrc32, b'A'),
            ("t_legacy", Layout::Legacy, b'a'),
            ("t_pc", Layout::FullCrc32, 0),
        ] {
            let file = std::fs::read(dir().join(format!("{prefix}_{table}.ibd"))).unwrap();
            let page0 = &file[..16384];
            let space_id = be32(page0, 34);
            let flags = SpaceFlags::parse(be32(page0, 38 + 16)).unwrap();
            let crypt = read_crypt_data(page0, &flags).unwrap().unwrap();
            assert_eq!(crypt.key_id, if table == "t_fcrc" { 2 } else { 1 });
            let keys = SpaceKeys::new(&ring, alg, &crypt).unwrap();
            let mut seen_rows = false;
            for (no, stored) in file.chunks(16384).enumerate().skip(1) {
                let kv = page::key_version(stored, layout).unwrap();
                if kv == 0 {
                    continue; // never written or not encrypted
                }
                assert_eq!(kv, 1, "{prefix} {table} page {no}");
                let mut plain = stored.to_vec();
                page::decrypt(&keys, layout, space_id, &mut plain).unwrap();
                assert_eq!(be32(&plain, 4) as usize, no);
                if layout == Layout::Legacy {
                    assert_eq!(
                        be32(&plain, 0),
                        legacy_crc32(&plain).unwrap(),
                        "{prefix} {table} {no}"
                    );
                } else if table == "t_fcrc" {
                    // The trailer's LSN copy was encrypted: it must match the clear LSN.
                    assert_eq!(
                        be32(&plain, 16384 - 8),
                        be32(&plain, 20),
                        "{prefix} {table} {no}"
                    );
                    assert_eq!(be32(&plain, 34), space_id);
                }
                if fill != 0 && plain.windows(20).any(|w| w.iter().all(|&b| b == fill)) {
                    seen_rows = true;
                }
                let mut again = plain.clone();
                page::encrypt(&keys, layout, space_id, kv, &mut again).unwrap();
                assert!(
                    again == stored,
                    "{prefix} {table} page {no} does not re-encrypt to the server's bytes"
                );
            }
            assert!(
                fill == 0 || seen_rows,
                "{prefix} {table}: no row data decrypted"
            );
        }
    }
}

#[test]
fn a_wrong_key_gives_garbage_not_rows() {
    let ring = ring(Algorithm::Cbc);
    let file = std::fs::read(dir().join("cbc_t_legacy.ibd")).unwrap();
    let flags = SpaceFlags::parse(be32(&file, 38 + 16)).unwrap();
    let mut crypt = read_crypt_data(&file[..16384], &flags).unwrap().unwrap();
    crypt.key_id = 2;
    let keys = SpaceKeys::new(&ring, Algorithm::Cbc, &crypt).unwrap();
    let mut plain = file[3 * 16384..4 * 16384].to_vec();
    page::decrypt(&keys, Layout::Legacy, 0, &mut plain).unwrap();
    assert_ne!(be32(&plain, 0), legacy_crc32(&plain).unwrap());
    crypt.key_id = 3;
    let e = SpaceKeys::new(&ring, Algorithm::Cbc, &crypt).unwrap_err();
    assert_eq!(
        e.to_string(),
        "encryption key id 3 version 1 is not in the key file"
    );
}

#[test]
fn redo_logs_decrypt_to_valid_records() {
    for (alg, prefix) in [(Algorithm::Cbc, "cbc"), (Algorithm::Ctr, "ctr")] {
        let mut image = Vec::new();
        flate2::read::GzDecoder::new(
            std::fs::File::open(dir().join(format!("{prefix}_ib_logfile0.gz"))).unwrap(),
        )
        .read_to_end(&mut image)
        .unwrap();
        let log = LogFile::parse(&image, image.len() as u64).unwrap();
        assert!(log.header.is_encrypted());
        let info = log.header.encryption.unwrap();
        let key = LogKey::new(&ring(alg), alg, &info).unwrap();
        let format = MtrFormat::new(log.geometry, true);
        let mut dec = SliceDecoder::new(format, &image[12288..], log.header.first_lsn);
        let (mut mtrs, mut names) = (0, Vec::new());
        loop {
            let frame = match dec.next_frame() {
                Step::Mtr(f) => f,
                Step::EndOfLog(_) => break,
                other => panic!("{prefix}: {other:?}"),
            };
            let plain = key
                .decrypt_body(frame.body(), frame.nonce().unwrap())
                .unwrap();
            for r in Records::new(&plain, frame.start_lsn()) {
                match r.unwrap_or_else(|e| panic!("{prefix} mtr at {:?}: {e}", frame.start_lsn())) {
                    Record::FileCreate { path, .. } | Record::FileRename { old_path: path, .. } => {
                        names.push(String::from_utf8_lossy(path).into_owned())
                    }
                    Record::FileModify { path, .. } => {
                        names.push(String::from_utf8_lossy(path).into_owned())
                    }
                    _ => {}
                }
            }
            mtrs += 1;
        }
        assert!(mtrs > 100, "{prefix}: {mtrs}");
        for want in [
            "./db/t_fcrc.ibd",
            "./db/t_legacy.ibd",
            "./db/t_pc.ibd",
            "./db/t_rename.ibd",
        ] {
            assert!(
                names.iter().any(|n| n == want),
                "{prefix}: {want} not in {names:?}"
            );
        }
    }
}
