//! Every real mariadb-backup file in `tests/data` parses, and rendering the parsed value gives
//! the same bytes back. Plus spot checks that the values were understood.

use std::path::{Path, PathBuf};

use backup_meta::*;

fn data(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(rel)
}

/// Reads `rel`, parses it as `T`, checks the byte-exact round trip, returns the value.
fn check<T: MetaFile + std::fmt::Debug>(rel: &str) -> T {
    let path = data(rel);
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let value = T::read(&path).unwrap_or_else(|e| panic!("{e}"));
    let rendered = value.render();
    assert_eq!(
        rendered.as_bytes(),
        &bytes[..],
        "{rel}: render(parse(x)) != x\nparsed: {value:#?}\nrendered:\n{rendered}"
    );
    value
}

#[test]
fn checkpoints_round_trip() {
    let cases: &[(&str, BackupType, u64, u64, u64)] = &[
        (
            "full/xtrabackup_checkpoints",
            BackupType::FullBackuped,
            0,
            302195,
            306926,
        ),
        (
            "full-prepared/xtrabackup_checkpoints",
            BackupType::LogApplied,
            0,
            302195,
            306926,
        ),
        (
            "incremental/xtrabackup_checkpoints",
            BackupType::Incremental,
            302195,
            813764,
            813780,
        ),
        (
            "incremental-applied/xtrabackup_checkpoints",
            BackupType::LogApplied,
            0,
            813764,
            813780,
        ),
        (
            "stream/extra-lsndir.xtrabackup_checkpoints",
            BackupType::FullBackuped,
            0,
            813764,
            813780,
        ),
        (
            "pages/inc4k_xtrabackup_checkpoints",
            BackupType::Incremental,
            4249980,
            9372893,
            9372909,
        ),
    ];
    for &(rel, backup_type, from_lsn, to_lsn, last_lsn) in cases {
        let c: Checkpoints = check(rel);
        assert_eq!(
            c,
            Checkpoints {
                backup_type,
                from_lsn,
                to_lsn,
                last_lsn,
                recover_binlog_info: false
            },
            "{rel}"
        );
    }
}

#[test]
fn xtrabackup_info_round_trip() {
    let full: XtrabackupInfo = check("full/xtrabackup_info");
    assert_eq!(
        full,
        XtrabackupInfo {
            uuid: "041f3366-e5de-11f1-b91c-02fc00000001".into(),
            name: String::new(),
            tool_name: "mariadb-backup".into(),
            tool_command: "--defaults-file=src/my.cnf --backup --target-dir=bk/full2".into(),
            tool_version: MARIADB_BACKUP_VERSION.into(),
            ibbackup_version: MARIADB_BACKUP_VERSION.into(),
            server_version: "10.11.19-MariaDB-0+deb12u1-log".into(),
            start_time: "2026-11-21 19:01:52".into(),
            end_time: "2026-11-21 19:01:53".into(),
            lock_time: 0,
            binlog_pos: "filename 'mysql-bin.000002', position '342', GTID of the last change '0-1-37,7-7-7'".into(),
            innodb_from_lsn: 0,
            innodb_to_lsn: 302195,
            partial: false,
            incremental: false,
            format: StreamFormat::File,
            compressed: false,
        }
    );
    let inc: XtrabackupInfo = check("incremental/xtrabackup_info");
    assert!(inc.incremental);
    assert_eq!((inc.innodb_from_lsn, inc.innodb_to_lsn), (302195, 813764));
    let rep: XtrabackupInfo = check("replica/xtrabackup_info");
    assert_eq!(rep.innodb_to_lsn, 306942);
    let stream: XtrabackupInfo = check("stream/extra-lsndir.xtrabackup_info");
    assert_eq!(stream.format, StreamFormat::Mbstream);
    assert_eq!(stream.lock_time, 1_795_287_883);
}

#[test]
fn xtrabackup_info_binlog_pos_matches_binlog_info() {
    for dir in ["full", "incremental"] {
        let info: XtrabackupInfo = check(&format!("{dir}/xtrabackup_info"));
        let binlog: BinlogInfo = check(&format!("{dir}/xtrabackup_binlog_info"));
        assert_eq!(info.binlog_pos, binlog.binlog_pos_text(), "{dir}");
    }
}

#[test]
fn binlog_info_round_trip() {
    let b: BinlogInfo = check("full/xtrabackup_binlog_info");
    assert_eq!(
        b,
        BinlogInfo {
            file: "mysql-bin.000002".into(),
            position: 342,
            gtid: Some("0-1-37,7-7-7".into())
        }
    );
    let inc: BinlogInfo = check("incremental/xtrabackup_binlog_info");
    assert_eq!(inc.position, 106299);
}

#[test]
fn binlog_pos_innodb_round_trip() {
    let p: BinlogPosInnodb = check("full-prepared/xtrabackup_binlog_pos_innodb");
    assert_eq!(
        p,
        BinlogPosInnodb {
            file: "./mysql-bin.000001".into(),
            position: 79960
        }
    );
}

#[test]
fn slave_info_round_trip() {
    let gtid: SlaveInfo = check("replica/xtrabackup_slave_info.gtid");
    assert_eq!(
        gtid,
        SlaveInfo {
            set_gtid_slave_pos: Some("0-1-47,7-7-7".into()),
            sources: vec![ReplicationSource {
                connection_name: String::new(),
                position: SourcePosition::SlavePos
            }],
        }
    );
    assert_eq!(
        gtid.log_text(),
        "gtid_slave_pos '0-1-47,7-7-7'; master '' master_use_gtid = slave_pos"
    );
    let filepos: SlaveInfo = check("replica/xtrabackup_slave_info.filepos");
    assert_eq!(
        filepos,
        SlaveInfo {
            set_gtid_slave_pos: None,
            sources: vec![ReplicationSource {
                connection_name: String::new(),
                position: SourcePosition::FilePos {
                    file: "mysql-bin.000002".into(),
                    position: 4805
                }
            }],
        }
    );
    assert_eq!(
        filepos.log_text(),
        "master '' filename 'mysql-bin.000002' position '4805'"
    );
}

#[test]
fn backup_my_cnf_round_trip() {
    let cnf: BackupMyCnf = check("full/backup-my.cnf");
    assert_eq!(
        cnf,
        BackupMyCnf {
            checksum_algorithm: "crc32".into(),
            data_file_path: "ibdata1:12M:autoextend".into(),
            log_file_size: 50331648,
            page_size: 16384,
            undo_directory: "./".into(),
            undo_tablespaces: 3,
            compression_level: 6,
            buffer_pool_filename: None,
            other_options: vec![],
        }
    );
}

#[test]
fn delta_meta_round_trip() {
    let cases: &[(&str, u32, u32)] = &[
        ("incremental/ibdata1.meta", 16384, 0),
        ("incremental/zoo_t_innodb.ibd.meta", 16384, 8),
        ("pages/inc4k_t_plain.ibd.meta", 4096, 7),
        ("pages/inc4k_t_big.ibd.meta", 4096, 12),
    ];
    for &(rel, page_size, space_id) in cases {
        let m: DeltaMeta = check(rel);
        assert_eq!(
            m,
            DeltaMeta {
                page_size,
                zip_size: 0,
                space_id: Some(space_id)
            },
            "{rel}"
        );
    }
}

/// The modes mariadb-backup gave its metadata files (umask 022) are what [`FileMode::Datasink`]
/// produces under that umask.
#[test]
fn sample_metadata_modes_are_datasink_modes() {
    let list = std::fs::read_to_string(data("full/file-list-with-mode-size.txt")).unwrap();
    let expected = format!("{:o}", FileMode::Datasink.requested() & !0o022);
    let mut seen = 0;
    for line in list.lines() {
        let mut fields = line.split_whitespace();
        let (Some(mode), Some(size), Some(path)) = (fields.next(), fields.next(), fields.next())
        else {
            panic!("bad line {line:?}");
        };
        let name = path.trim_start_matches("./");
        if [
            names::BACKUP_MY_CNF,
            names::XTRABACKUP_BINLOG_INFO,
            names::XTRABACKUP_CHECKPOINTS,
            names::XTRABACKUP_INFO,
        ]
        .contains(&name)
        {
            seen += 1;
            assert_eq!(mode, expected, "{name}");
            // The sizes in the listing are those of the sample files we round-trip.
            let ours = std::fs::metadata(data(&format!("full/{name}")))
                .unwrap()
                .len();
            assert_eq!(size, ours.to_string(), "{name}");
        }
    }
    assert_eq!(seen, 4);
}
