//! Format details beyond the samples: what the readers tolerate (as mariadb-backup's do), what
//! they reject (with which error), and the value helpers.

use std::collections::BTreeSet;

use backup_meta::*;

/// Parses `input` as `T` and checks the error against `expected`.
fn rejects<T: MetaFile + std::fmt::Debug>(input: &str, expected: ParseError) {
    match T::parse(input) {
        Ok(v) => panic!("{} accepted {input:?} as {v:?}", T::WHAT),
        Err(e) => assert_eq!(e, expected, "{} input {input:?}", T::WHAT),
    }
}

fn expected(line: usize, expected: &str, found: &str) -> ParseError {
    ParseError::Expected {
        line,
        expected: expected.into(),
        found: found.into(),
    }
}

fn invalid(line: usize, key: &str, value: &str, reason: &str) -> ParseError {
    ParseError::InvalidValue {
        line,
        key: key.into(),
        value: value.into(),
        reason: reason.into(),
    }
}

// ---------------------------------------------------------------- xtrabackup_checkpoints

#[test]
fn checkpoints_whitespace_like_fscanf() {
    let canonical = Checkpoints {
        backup_type: BackupType::Incremental,
        from_lsn: 1,
        to_lsn: 2,
        last_lsn: 3,
        recover_binlog_info: true,
    };
    for text in [
        "backup_type = incremental\nfrom_lsn = 1\nto_lsn = 2\nlast_lsn = 3\nrecover_binlog_info = 1\n",
        "backup_type=incremental\nfrom_lsn=1\nto_lsn=2\nlast_lsn=3\nrecover_binlog_info=1",
        "backup_type   =\tincremental  \r\n\n from_lsn =   1 to_lsn = 2\n\nlast_lsn = 3 recover_binlog_info = 1\n\n",
        // Anything after the last key is ignored by mariadb-backup.
        "backup_type = incremental\nfrom_lsn = 1\nto_lsn = 2\nlast_lsn = 3\nrecover_binlog_info = 1\nflushed_lsn = 9\n",
    ] {
        assert_eq!(Checkpoints::parse(text), Ok(canonical.clone()), "{text:?}");
    }
}

#[test]
fn checkpoints_optional_keys() {
    // last_lsn and recover_binlog_info may be missing (defaults 0 / false).
    let c = Checkpoints::parse("backup_type = full-backuped\nfrom_lsn = 0\nto_lsn = 5\n").unwrap();
    assert_eq!((c.last_lsn, c.recover_binlog_info), (0, false));
    // Percona's `compact = 0` stops mariadb-backup's scan: recover_binlog_info is not read.
    let c = Checkpoints::parse(
        "backup_type = full-backuped\nfrom_lsn = 0\nto_lsn = 5\nlast_lsn = 6\ncompact = 0\nrecover_binlog_info = 1\n",
    )
    .unwrap();
    assert_eq!((c.last_lsn, c.recover_binlog_info), (6, false));
    // Only 1 means true, as in `recover_binlog_info = (t == 1)`.
    let c = Checkpoints::parse(
        "backup_type = log-applied\nfrom_lsn = 0\nto_lsn = 5\nlast_lsn = 6\nrecover_binlog_info = 2\n",
    )
    .unwrap();
    assert!(!c.recover_binlog_info);
}

#[test]
fn checkpoints_rejects_malformed() {
    rejects::<Checkpoints>("", ParseError::Empty);
    rejects::<Checkpoints>(
        "backup_type = full-prepared\nfrom_lsn = 0\nto_lsn = 1\n",
        invalid(
            1,
            "backup_type",
            "full-prepared",
            "expected full-backuped, incremental or log-applied",
        ),
    );
    // Leading whitespace: the format starts with a literal, so fscanf fails too.
    rejects::<Checkpoints>(
        " backup_type = full-backuped\n",
        expected(1, "`backup_type = `", " backup_type = full-backuped"),
    );
    rejects::<Checkpoints>(
        "backup_type = full-backuped\nto_lsn = 1\n",
        expected(2, "`from_lsn = `", "to_lsn = 1"),
    );
    rejects::<Checkpoints>(
        "backup_type = full-backuped\nfrom_lsn = 0\n",
        expected(3, "`to_lsn = `", ""),
    );
    rejects::<Checkpoints>(
        "backup_type = full-backuped\nfrom_lsn = x\nto_lsn = 1\n",
        invalid(2, "from_lsn", "x", "not a decimal number"),
    );
    rejects::<Checkpoints>(
        "backup_type = full-backuped\nfrom_lsn = -1\nto_lsn = 1\n",
        invalid(2, "from_lsn", "-1", "negative number"),
    );
    rejects::<Checkpoints>(
        "backup_type = full-backuped\nfrom_lsn = 0\nto_lsn = 18446744073709551616\n",
        invalid(3, "to_lsn", "18446744073709551616", "number too large"),
    );
    // A present optional key with a bad value is an error (mariadb-backup would use 0).
    rejects::<Checkpoints>(
        "backup_type = full-backuped\nfrom_lsn = 0\nto_lsn = 1\nlast_lsn = ?\n",
        invalid(4, "last_lsn", "?", "not a decimal number"),
    );
}

// ---------------------------------------------------------------- xtrabackup_info

fn sample_info() -> XtrabackupInfo {
    XtrabackupInfo {
        uuid: "u".into(),
        name: String::new(),
        tool_name: "mariadb-backup".into(),
        tool_command: "--backup".into(),
        tool_version: MARIADB_BACKUP_VERSION.into(),
        ibbackup_version: MARIADB_BACKUP_VERSION.into(),
        server_version: "10.11.19-MariaDB".into(),
        start_time: "2026-11-21 19:01:52".into(),
        end_time: "2026-11-21 19:01:53".into(),
        lock_time: 0,
        binlog_pos: String::new(),
        innodb_from_lsn: 0,
        innodb_to_lsn: 1,
        partial: true,
        incremental: false,
        format: StreamFormat::Mbstream,
        compressed: true,
    }
}

#[test]
fn xtrabackup_info_edge_values_round_trip() {
    let mut info = sample_info();
    // --binlog-info=OFF gives `binlog_pos = ` with a trailing space; an argument with a
    // newline is written verbatim.
    info.tool_command = "--backup --history=a\nb".into();
    info.name = "series1".into();
    let text = info.render();
    assert!(text.contains("\nbinlog_pos = \n"));
    assert!(text.contains("\ncompressed = compressed\n"));
    assert!(text.contains("\npartial = Y\n"));
    assert_eq!(XtrabackupInfo::parse(&text), Ok(info));
}

#[test]
fn xtrabackup_info_rejects_malformed() {
    let good = sample_info().render();
    rejects::<XtrabackupInfo>("", ParseError::Empty);
    rejects::<XtrabackupInfo>(
        &good.replace("partial = Y", "partial = yes"),
        invalid(14, "partial", "yes", "expected Y or N"),
    );
    rejects::<XtrabackupInfo>(
        &good.replace("lock_time = 0", "lock_time = 99999999999"),
        invalid(10, "lock_time", "99999999999", "out of C int range"),
    );
    rejects::<XtrabackupInfo>(
        &good.replace("format = mbstream", "format = tar"),
        invalid(16, "format", "tar", "expected file or mbstream"),
    );
    rejects::<XtrabackupInfo>(
        &good.replace("server_version = ", "server_version= "),
        expected(7, "`server_version = `", "server_version= 10.11.19-MariaDB"),
    );
    rejects::<XtrabackupInfo>(
        &good.replace("tool_version = ", "tool_versio = "),
        ParseError::MissingKey {
            key: "tool_version".into(),
        },
    );
    rejects::<XtrabackupInfo>(
        &format!("{good}extra = 1\n"),
        ParseError::Trailing {
            line: 18,
            found: "extra = 1".into(),
        },
    );
    rejects::<XtrabackupInfo>(
        good.strip_suffix('\n').unwrap(),
        expected(17, "a newline", ""),
    );
}

#[test]
fn mask_tool_command_like_mariadb_backup() {
    let cases: &[(&[&str], &str)] = &[
        (&[], ""),
        (&["--backup"], "--backup"),
        (
            &["--password=secret", "--backup"],
            "--password=... --backup",
        ),
        (
            &["--password", "secret", "--backup"],
            "--password ... --backup",
        ),
        (
            &["--backup", "--password", "secret"],
            "--backup --password ...",
        ),
        (&["--backup", "--password"], "--backup --password ..."),
        (&["-pbkpw", "-p", "-P3306"], "-p... -p... -P3306"),
        (&["--password-x=1"], "--password-x=1"),
        (
            &["--user=bk", "--target-dir=bk/full2"],
            "--user=bk --target-dir=bk/full2",
        ),
    ];
    for (args, want) in cases {
        assert_eq!(mask_tool_command(*args), *want, "{args:?}");
    }
}

#[test]
fn mask_tool_command_truncates_like_snprintf() {
    // 8 KiB buffer: at most 8191 bytes survive.
    let long = "x".repeat(8000);
    let ys = "y".repeat(500);
    let out = mask_tool_command([long.as_str(), ys.as_str()]);
    assert_eq!(out, format!("{long} {}", &ys[..190]));
    // The C code does not advance after a cut, so the next argument overwrites the cut piece.
    let out = mask_tool_command([long.as_str(), ys.as_str(), "--last"]);
    assert_eq!(out, format!("{long} --last"));
}

#[test]
fn local_timestamp() {
    assert_eq!(format_local_timestamp(0, 0), "1970-01-01 00:00:00");
    assert_eq!(format_local_timestamp(-1, 0), "1969-12-31 23:59:59");
    assert_eq!(
        format_local_timestamp(951_782_400, 0),
        "2000-02-29 00:00:00"
    );
    // 2026-11-21 19:01:52 UTC, shown in UTC+1 and UTC-5.
    assert_eq!(
        format_local_timestamp(1_795_287_712, 3600),
        "2026-11-21 20:01:52"
    );
    assert_eq!(
        format_local_timestamp(1_795_287_712, -5 * 3600),
        "2026-11-21 14:01:52"
    );
}

// ---------------------------------------------------------------- binlog info

#[test]
fn binlog_info_without_gtid() {
    let b = BinlogInfo {
        file: "mysql-bin.000001".into(),
        position: 4,
        gtid: None,
    };
    assert_eq!(b.render(), "mysql-bin.000001\t4\n");
    assert_eq!(
        b.binlog_pos_text(),
        "filename 'mysql-bin.000001', position '4'"
    );
    assert_eq!(BinlogInfo::parse(&b.render()), Ok(b));
    // An empty gtid_current_pos with MySQL gtid_mode: three columns, empty third.
    let empty = BinlogInfo::parse("f\t1\t\n").unwrap();
    assert_eq!(empty.gtid.as_deref(), Some(""));
    assert_eq!(empty.render(), "f\t1\t\n");
}

#[test]
fn binlog_files_reject_malformed() {
    rejects::<BinlogInfo>("", ParseError::Empty);
    rejects::<BinlogInfo>(
        "mysql-bin.000002\t342",
        expected(
            1,
            "a newline at the end of the line",
            "mysql-bin.000002\t342",
        ),
    );
    rejects::<BinlogInfo>(
        "mysql-bin.000002 342\n",
        expected(
            1,
            "2 or 3 tab-separated fields (file, position[, GTID])",
            "mysql-bin.000002 342",
        ),
    );
    rejects::<BinlogInfo>(
        "mysql-bin.000002\tx\t0-1-1\n",
        invalid(1, "position", "x", "not a decimal number"),
    );
    rejects::<BinlogInfo>(
        "a\t1\nb\t2\n",
        ParseError::Trailing {
            line: 2,
            found: "b\t2".into(),
        },
    );
    rejects::<BinlogPosInnodb>(
        "./mysql-bin.000001\t79960\tgtid\n",
        expected(
            1,
            "2 tab-separated fields (file, position)",
            "./mysql-bin.000001\t79960\tgtid",
        ),
    );
}

/// mariadb-backup 10.11 `--prepare` writes `"\t0\n"` when InnoDB recorded no binlog position.
#[test]
fn binlog_pos_innodb_without_a_position() {
    let none = BinlogPosInnodb {
        file: String::new(),
        position: 0,
    };
    assert_eq!(BinlogPosInnodb::parse("\t0\n").unwrap(), none);
    assert_eq!(none.render(), "\t0\n");
}

// ---------------------------------------------------------------- slave info

fn row(name: &str, file: &str, pos: u64, using_gtid: &str) -> SlaveStatusRow {
    SlaveStatusRow {
        connection_name: name.into(),
        relay_master_log_file: file.into(),
        exec_master_log_pos: pos,
        using_gtid: using_gtid.into(),
    }
}

#[test]
fn slave_info_from_status() {
    assert_eq!(SlaveInfo::from_status("0-1-1", &[]), None);

    let gtid = SlaveInfo::from_status(
        "0-1-47,7-7-7",
        &[row("", "mysql-bin.000002", 4805, "Slave_Pos")],
    )
    .unwrap();
    assert_eq!(
        gtid.render(),
        "SET GLOBAL gtid_slave_pos = '0-1-47,7-7-7';\nCHANGE MASTER TO master_use_gtid = slave_pos;\n"
    );
    let filepos =
        SlaveInfo::from_status("0-1-47", &[row("", "mysql-bin.000002", 4805, "No")]).unwrap();
    assert_eq!(
        filepos.render(),
        "CHANGE MASTER TO MASTER_LOG_FILE='mysql-bin.000002', MASTER_LOG_POS=4805;\n"
    );
    // Using GTID but gtid_slave_pos empty: file/position.
    let no_pos = SlaveInfo::from_status("", &[row("", "f", 1, "Current_Pos")]).unwrap();
    assert_eq!(
        no_pos.render(),
        "CHANGE MASTER TO MASTER_LOG_FILE='f', MASTER_LOG_POS=1;\n"
    );

    // Multi-source: named connections are quoted before TO; one SET line.
    let multi = SlaveInfo::from_status(
        "1-1-1,2-2-2",
        &[row("a", "fa", 10, "No"), row("b", "fb", 20, "Slave_Pos")],
    )
    .unwrap();
    let text = multi.render();
    assert_eq!(
        text,
        "SET GLOBAL gtid_slave_pos = '1-1-1,2-2-2';\n\
         CHANGE MASTER 'a' TO MASTER_LOG_FILE='fa', MASTER_LOG_POS=10;\n\
         CHANGE MASTER 'b' TO master_use_gtid = slave_pos;\n"
    );
    assert_eq!(
        multi.log_text(),
        "gtid_slave_pos '1-1-1,2-2-2'; master 'a' filename 'fa' position '10'; master 'b' master_use_gtid = slave_pos"
    );
    assert_eq!(SlaveInfo::parse(&text), Ok(multi));
}

#[test]
fn slave_info_rejects_malformed() {
    rejects::<SlaveInfo>("", ParseError::Empty);
    rejects::<SlaveInfo>(
        "SET GLOBAL gtid_slave_pos = '0-1-1';\n",
        ParseError::MissingKey {
            key: "CHANGE MASTER".into(),
        },
    );
    rejects::<SlaveInfo>(
        "SET GLOBAL gtid_purged='x';\nCHANGE MASTER TO MASTER_AUTO_POSITION=1;\n",
        expected(
            1,
            "`SET GLOBAL gtid_slave_pos = '<gtid>';`",
            "SET GLOBAL gtid_purged='x';",
        ),
    );
    rejects::<SlaveInfo>(
        "CHANGE MASTER TO MASTER_LOG_FILE='f', MASTER_LOG_POS=x;\n",
        invalid(1, "MASTER_LOG_POS", "x", "not a decimal number"),
    );
    rejects::<SlaveInfo>(
        "CHANGE MASTER TO master_use_gtid = current_pos;\n",
        expected(
            1,
            "`TO master_use_gtid = slave_pos;` or `TO MASTER_LOG_FILE='...', MASTER_LOG_POS=N;`",
            "CHANGE MASTER TO master_use_gtid = current_pos;",
        ),
    );
    rejects::<SlaveInfo>(
        "CHANGE MASTER TO master_use_gtid = slave_pos;",
        expected(
            1,
            "a newline at the end of the file",
            "CHANGE MASTER TO master_use_gtid = slave_pos;",
        ),
    );
}

// ---------------------------------------------------------------- galera info

#[test]
fn galera_info_forms() {
    let g = GaleraInfo {
        state_uuid: "6d4b6ff2-1a2b-11ef-9f1e-2b3c4d5e6f70".into(),
        seqno: 1234,
        domain_id: Some(0),
    };
    assert_eq!(g.render(), "6d4b6ff2-1a2b-11ef-9f1e-2b3c4d5e6f70:1234 0\n");
    assert_eq!(
        g.render_recovered(),
        "6d4b6ff2-1a2b-11ef-9f1e-2b3c4d5e6f70:1234 0"
    );
    assert_eq!(GaleraInfo::parse(&g.render()), Ok(g.clone()));
    assert_eq!(GaleraInfo::parse(&g.render_recovered()), Ok(g));
    let old = GaleraInfo::parse("u:-1\n").unwrap();
    assert_eq!((old.seqno, old.domain_id), (-1, None));
    assert_eq!(old.render(), "u:-1\n");

    rejects::<GaleraInfo>("", ParseError::Empty);
    rejects::<GaleraInfo>(
        "nocolon\n",
        expected(1, "`<uuid>:<seqno>[ <domain_id>]`", "nocolon"),
    );
    rejects::<GaleraInfo>("u:x 0\n", invalid(1, "seqno", "x", "not a decimal number"));
    rejects::<GaleraInfo>(
        "u:1 0 7\n",
        invalid(1, "domain_id", "0 7", "not a decimal number"),
    );
}

// ---------------------------------------------------------------- backup-my.cnf

#[test]
fn backup_my_cnf_with_buffer_pool_and_plugins() {
    let cnf = BackupMyCnf {
        checksum_algorithm: "full_crc32".into(),
        data_file_path: "ibdata1:12M:autoextend".into(),
        log_file_size: 100663296,
        page_size: 4096,
        undo_directory: "./".into(),
        undo_tablespaces: 2,
        compression_level: 6,
        buffer_pool_filename: Some("ib_buffer_pool".into()),
        other_options: vec![
            CnfOption {
                key: "plugin_dir".into(),
                value: Some("\"/usr/lib/mysql/plugin\"".into()),
            },
            CnfOption {
                key: "plugin_load".into(),
                value: Some("file_key_management=file_key_management".into()),
            },
            CnfOption {
                key: "innodb_encrypt_log".into(),
                value: Some("1".into()),
            },
        ],
    };
    let text = cnf.render();
    assert!(text.ends_with(
        "innodb_compression_level=6\ninnodb_buffer_pool_filename=ib_buffer_pool\n\
         plugin_dir=\"/usr/lib/mysql/plugin\"\nplugin_load=file_key_management=file_key_management\n\
         innodb_encrypt_log=1\n\n"
    ));
    assert_eq!(BackupMyCnf::parse(&text), Ok(cnf));
}

#[test]
fn backup_my_cnf_option_file_rules() {
    let text = "# hand written\n[client]\ninnodb_page_size=1\n[mysqld]\n\
                innodb-checksum-algorithm = crc32   # comment\n\
                innodb_data_file_path=\"ibdata1:10M:autoextend\"\n\
                innodb_log_file_size=48M\ninnodb_page_size=16k\n; comment\n\
                innodb_undo_directory=./\ninnodb_undo_tablespaces=0\n\
                innodb_compression_level=1\ninnodb_compression_level=9\n";
    let cnf = BackupMyCnf::parse(text).unwrap();
    assert_eq!(cnf.checksum_algorithm, "crc32");
    assert_eq!(cnf.data_file_path, "ibdata1:10M:autoextend");
    assert_eq!(cnf.log_file_size, 48 << 20);
    assert_eq!(cnf.page_size, 16384);
    assert_eq!(cnf.compression_level, 9);
    assert!(cnf.other_options.is_empty());
}

#[test]
fn backup_my_cnf_rejects_malformed() {
    let good = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/full/backup-my.cnf"
    ))
    .unwrap();
    rejects::<BackupMyCnf>("", ParseError::Empty);
    rejects::<BackupMyCnf>(
        &good.replace("innodb_page_size=16384\n", ""),
        ParseError::MissingKey {
            key: "innodb_page_size".into(),
        },
    );
    rejects::<BackupMyCnf>(
        &good.replace("innodb_log_file_size=50331648", "innodb_log_file_size=big"),
        invalid(7, "innodb_log_file_size", "big", "not a number"),
    );
    rejects::<BackupMyCnf>(
        "innodb_page_size=16384\n",
        expected(
            1,
            "a `[group]` header before the first option",
            "innodb_page_size=16384",
        ),
    );
    rejects::<BackupMyCnf>(
        "[mysqld\n",
        expected(1, "`]` closing the group name", "[mysqld"),
    );
}

// ---------------------------------------------------------------- innodb_corrupted_pages

#[test]
fn corrupted_pages_round_trip_and_reader_rules() {
    let mut pages = CorruptedPages::default();
    assert!(pages.is_empty());
    assert_eq!(pages.render(), "");
    pages.add_page("db1/t_victim", 13, 3);
    pages.add_page("db1/t2", 5, 9);
    pages.add_page("db1/t2", 5, 1);
    pages.add_page("ignored/name", 5, 4);
    let text = pages.render();
    assert_eq!(text, "db1/t2 5\n1 4 9\ndb1/t_victim 13\n3\n");
    assert_eq!(CorruptedPages::parse(&text), Ok(pages.clone()));
    assert_eq!(pages.spaces[&5].pages, BTreeSet::from([1, 4, 9]),);
    // The verified sample from page-format.md §10.1.
    let sample = CorruptedPages::parse("db1/t_victim 13\n3\n").unwrap();
    assert_eq!(sample.render(), "db1/t_victim 13\n3\n");
    // istream rules: extra words on a name line are ignored, page lines split on any
    // whitespace, no final newline needed, a name line without pages records nothing.
    let loose = CorruptedPages::parse("a/b 1 extra\n 7\t5 \nc/d 2").unwrap();
    assert_eq!(loose.render(), "a/b 1\n5 7\n");
    assert_eq!(CorruptedPages::parse(""), Ok(CorruptedPages::default()));
}

#[test]
fn corrupted_pages_rejects_malformed() {
    rejects::<CorruptedPages>("\n", expected(1, "`<db>/<table> <space_id>`", ""));
    rejects::<CorruptedPages>(
        "db1/t\n3\n",
        expected(1, "a space id after the tablespace name", "db1/t"),
    );
    rejects::<CorruptedPages>(
        "db1/t x\n3\n",
        invalid(1, "space_id", "x", "not a decimal number"),
    );
    rejects::<CorruptedPages>(
        "db1/t 1\n3 4x\n",
        invalid(2, "page number", "4x", "not a decimal number"),
    );
}

// ---------------------------------------------------------------- delta .meta

#[test]
fn delta_meta_reader_rules() {
    // Any order, any whitespace, unknown keys ignored, zip_size defaults to 0.
    let m = DeltaMeta::parse("space_id = 8 page_size = 8192\nfoo = bar\n").unwrap();
    assert_eq!(
        m,
        DeltaMeta {
            page_size: 8192,
            zip_size: 0,
            space_id: Some(8)
        }
    );
    // XtraBackup <= 2.0.1: no space_id; rendered without it.
    let old = DeltaMeta::parse("page_size = 16384\nzip_size = 0 \n").unwrap();
    assert_eq!(old.space_id, None);
    assert_eq!(old.render(), "page_size = 16384\nzip_size = 0 \n");
    // ROW_FORMAT=COMPRESSED: page_size is the zip size.
    let zip = DeltaMeta {
        page_size: 8192,
        zip_size: 8192,
        space_id: Some(9),
    };
    assert_eq!(
        zip.render(),
        "page_size = 8192\nzip_size = 8192 \nspace_id = 9\n"
    );
}

#[test]
fn delta_meta_rejects_malformed() {
    rejects::<DeltaMeta>("", ParseError::Empty);
    rejects::<DeltaMeta>(
        "zip_size = 0\nspace_id = 1\n",
        ParseError::MissingKey {
            key: "page_size".into(),
        },
    );
    rejects::<DeltaMeta>(
        "page_size = 12288\n",
        invalid(
            1,
            "page_size",
            "12288",
            "must be a power of two from 1024 to 65536",
        ),
    );
    rejects::<DeltaMeta>(
        "page_size=16384\n",
        expected(1, "`<key> = <value>`", "page_size=16384"),
    );
    rejects::<DeltaMeta>(
        "page_size : 16384\n",
        expected(1, "`=` after `page_size`", ":"),
    );
    rejects::<DeltaMeta>(
        "page_size = 16384\nspace_id = 4294967296\n",
        invalid(2, "space_id", "4294967296", "number too large"),
    );
}

#[test]
fn delta_meta_path_naming() {
    use std::path::Path;
    assert_eq!(
        delta_meta_path(Path::new("db/t.ibd")),
        Path::new("db/t.ibd.meta")
    );
    assert_eq!(
        delta_meta_path(Path::new("db/t.ibd.delta")),
        Path::new("db/t.ibd.meta")
    );
    assert_eq!(
        delta_meta_path(Path::new("ibdata1.delta")),
        Path::new("ibdata1.meta")
    );
    assert_eq!(
        delta_meta_path(Path::new("undo001")),
        Path::new("undo001.meta")
    );
}

/// No parser may panic, whatever the bytes: feed every prefix and some mutations of real files.
#[test]
fn parsers_never_panic() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data");
    let mut inputs = Vec::new();
    for sub in [
        "full",
        "full-prepared",
        "incremental",
        "replica",
        "stream",
        "pages",
    ] {
        for entry in std::fs::read_dir(format!("{dir}/{sub}")).unwrap() {
            inputs.push(std::fs::read_to_string(entry.unwrap().path()).unwrap());
        }
    }
    inputs.push("CHANGE MASTER 'x".into());
    inputs.push("[".into());
    inputs.push("é:\u{0}".into());
    for input in &inputs {
        let mut cuts: Vec<usize> = (0..=input.len())
            .filter(|&i| input.is_char_boundary(i))
            .collect();
        cuts.truncate(400);
        for cut in cuts {
            let s = &input[..cut];
            let _ = Checkpoints::parse(s);
            let _ = XtrabackupInfo::parse(s);
            let _ = BinlogInfo::parse(s);
            let _ = BinlogPosInnodb::parse(s);
            let _ = SlaveInfo::parse(s);
            let _ = GaleraInfo::parse(s);
            let _ = BackupMyCnf::parse(s);
            let _ = CorruptedPages::parse(s);
            let _ = DeltaMeta::parse(s);
        }
    }
}
