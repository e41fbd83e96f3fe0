//! Encrypted servers (file_key_management, `innodb_encrypt_tables=ON`,
//! `innodb_encrypt_log=ON`, `aria_encrypt_tables=ON`; encrypted page_compressed tables): a
//! backup by either tool under sysbench + DML + DDL load, prepared by both tools
//! (byte-identical page by page: AES-CTR/CBC are deterministic given key and IV; the
//! page_compressed files, whose compressed bytes may differ, read back by the server),
//! restored with the same keys, `CHECK TABLE`, binlog replay, checksums equal to the
//! source; encrypted Aria data copied as written; no key in any output or file of
//! hotbackup; and the refusals: a wrong file key, a key id the key file lacks, no key
//! management at all, another key plugin, each with its message and exit code, leaving the
//! backup as it was.

mod common;

use std::path::Path;
use std::process::Command;

use testkit::{PageSize, Scenario, TestDir, Tool};

use common::encryption::{keys_dir, leaked_key, options as encryption_options};
use common::hotbackup;

/// Extra tables: one with key id 2, one `ENCRYPTED=NO`, written while the backup runs.
fn extra_tables(source: &testkit::TestServer) {
    source
        .exec(
            "CREATE DATABASE IF NOT EXISTS enc; \
             CREATE TABLE enc.k2 (id INT PRIMARY KEY, c VARCHAR(200)) ENCRYPTED=YES ENCRYPTION_KEY_ID=2; \
             CREATE TABLE enc.plain (id INT PRIMARY KEY, c VARCHAR(200)) ENCRYPTED=NO; \
             INSERT INTO enc.k2 SELECT seq, REPEAT('k', 150) FROM enc.seq_1_to_2000; \
             INSERT INTO enc.plain SELECT seq, REPEAT('p', 150) FROM enc.seq_1_to_2000;",
        )
        .unwrap();
}

fn encrypted_backup_restores_identical(page_size: PageSize, ctr: bool, tool: Tool) {
    let Some(mariadb) = testkit::require_mariadb() else {
        return;
    };
    let options = encryption_options(ctr);
    let scenario = Scenario::start_with_options(&mariadb, page_size, 32 << 20, &options).unwrap();
    let source = &scenario.source;
    extra_tables(source);
    let load = scenario.load().unwrap();
    source
        .exec("UPDATE enc.k2 SET c = REPEAT('K', 150) WHERE id % 3 = 0; UPDATE enc.plain SET c = 'q' WHERE id < 500")
        .unwrap();

    let dir = TestDir::new("encryption").unwrap();
    let backup = dir.path().join("backup");
    let stderr = tool.backup(source, &backup, &["--parallel=2"]).unwrap();
    assert!(stderr.contains("completed OK!"), "{stderr}");
    let stats = load.stop().unwrap();
    assert!(stats.total_ops() > 0, "the load must have run: {stats:?}");
    // The plugin block, as mariadb-backup writes it, and the log kept encrypted.
    let cnf = std::fs::read_to_string(backup.join("backup-my.cnf")).unwrap();
    for line in [
        "plugin_load=file_key_management=file_key_management",
        "innodb_encrypt_log=1",
        "innodb_encrypt_tables=ON",
    ] {
        assert!(cnf.contains(line), "{line} not in backup-my.cnf:\n{cnf}");
    }
    let log = std::fs::read(backup.join("ib_logfile0")).unwrap();
    assert_eq!(
        u32::from_be_bytes(log[..4].try_into().unwrap()),
        0xF09F_979D,
        "FORMAT_ENC_11"
    );
    if let Tool::Hotbackup(_) = tool {
        // The file key is in backup-my.cnf (mariadb-backup's prepare reads it there) but
        // never in the log or xtrabackup_info.
        let info = std::fs::read_to_string(backup.join("xtrabackup_info")).unwrap();
        assert!(!info.contains("secret") && !stderr.contains("secret"));
    }
    // Encrypted Aria tables are copied as the server wrote them, encrypted: no row text in
    // the data file, where the unencrypted MyISAM twin shows it.
    let row_text = |file: &str| {
        let bytes = std::fs::read(backup.join("mix").join(file)).unwrap();
        (bytes.len(), bytes.windows(4).any(|w| w == b"row-"))
    };
    assert!(row_text("t_myisam.MYD").1, "MyISAM rows are plain text");
    let (aria_len, aria_plain) = row_text("t_aria.MAD");
    assert!(
        aria_len >= 64 << 10 && !aria_plain,
        "t_aria.MAD: {aria_len} bytes, plain text: {aria_plain}"
    );

    let ours = dir.path().join("prepared-by-hotbackup");
    testkit::copy_dir(&backup, &ours).unwrap();
    let hotbackup_tool = Tool::Hotbackup(hotbackup().to_path_buf());
    Tool::MariaBackup.prepare(&mariadb, &backup).unwrap();
    let prepared = hotbackup_tool.prepare(&mariadb, &ours).unwrap();
    if let Tool::Hotbackup(_) = tool {
        // No key, in hex or raw, in hotbackup's output or in any file it wrote.
        for (what, text) in [("backup", &stderr), ("prepare", &prepared)] {
            assert_eq!(leaked_key(text.as_bytes()), None, "{what}'s stderr");
        }
        for name in testkit::file_names(&ours) {
            // The key file is not copied (mariadb-backup does not copy it either).
            assert!(!name.starts_with("keys."), "{name}");
            let bytes = std::fs::read(ours.join(&name)).unwrap();
            assert_eq!(leaked_key(&bytes), None, "{name}");
        }
    }
    let pages = testkit::compare_prepared(&backup, &ours, page_size.bytes() as usize).unwrap();
    let report =
        testkit::restore_and_verify_with(&mariadb, &hotbackup_tool, source, &ours, &options)
            .unwrap();
    eprintln!("{page_size:?} ctr={ctr}: {pages} pages identical; {report:?}, load {stats:?}");
    assert!(report.tables_compared >= 8, "{report:?}");
}

#[test]
fn hotbackup_backup_of_an_encrypted_server_16k_aes_ctr() {
    encrypted_backup_restores_identical(
        PageSize::K16,
        true,
        Tool::Hotbackup(hotbackup().to_path_buf()),
    );
}

#[test]
fn hotbackup_backup_of_an_encrypted_server_64k_aes_cbc() {
    encrypted_backup_restores_identical(
        PageSize::K64,
        false,
        Tool::Hotbackup(hotbackup().to_path_buf()),
    );
}

#[test]
fn mariadb_backup_backup_of_an_encrypted_server_4k_aes_cbc() {
    encrypted_backup_restores_identical(PageSize::K4, false, Tool::MariaBackup);
}

/// Runs `hotbackup --prepare` on `backup` with `extra` options: (exit code, stderr).
fn prepare(backup: &Path, extra: &[&str]) -> (i32, String) {
    let out = Command::new(hotbackup())
        .arg("--no-defaults")
        .arg("--prepare")
        .arg(format!("--target-dir={}", backup.display()))
        .args(extra)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn key_problems_are_refused_with_the_backup_unchanged() {
    let Some(mariadb) = testkit::require_mariadb() else {
        return;
    };
    let options = encryption_options(true);
    let mut builder = mariadb.server().name("keys").log_file_size(16 << 20);
    for o in &options {
        builder = builder.option(o);
    }
    let source = builder.start().unwrap();
    source
        .exec("SET GLOBAL innodb_max_dirty_pages_pct = 90")
        .unwrap();
    extra_tables(&source);
    let dir = TestDir::new("encryption-refusals").unwrap();
    let backup = dir.path().join("backup");
    let tool = Tool::Hotbackup(hotbackup().to_path_buf());
    // The file key given on the command line too: masked in xtrabackup_info's tool_command.
    tool.backup(&source, &backup, &["--file-key-management-filekey=secret"])
        .unwrap();
    let info = std::fs::read_to_string(backup.join("xtrabackup_info")).unwrap();
    assert!(
        info.contains("--file-key-management-filekey=...") && !info.contains("secret"),
        "{info}"
    );
    // The log of the backup changes enc.k2 (key id 2) and the other encrypted tables.
    let cnf_path = backup.join("backup-my.cnf");
    let cnf = std::fs::read_to_string(&cnf_path).unwrap();
    let before = testkit::file_snapshot(&backup);

    // A wrong file key: the key file does not decrypt.
    let (code, err) = prepare(&backup, &["--file-key-management-filekey=wrong"]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("keys.enc") && err.contains("--file-key-management-filekey"),
        "{err}"
    );
    testkit::assert_same_files(&before, &backup, "after a wrong file key");

    // A key file without key id 2.
    let only1 = dir.path().join("only1.txt");
    std::fs::write(&only1, "1;0123456789ABCDEF0123456789ABCDEF\n").unwrap();
    let (code, err) = prepare(
        &backup,
        &[
            &format!("--file-key-management-filename={}", only1.display()),
            "--file-key-management-filekey=",
        ],
    );
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("key id 2") || err.contains("key id 1"),
        "{err}"
    );
    testkit::assert_same_files(&before, &backup, "after a key file without the key");

    // Another server's key file: the same key ids, other keys.
    let other = dir.path().join("other.txt");
    std::fs::write(
        &other,
        "1;00112233445566778899AABBCCDDEEFF\n\
         2;00112233445566778899AABBCCDDEEFF00112233445566778899AABBCCDDEEFF\n",
    )
    .unwrap();
    let (code, err) = prepare(
        &backup,
        &[
            &format!("--file-key-management-filename={}", other.display()),
            "--file-key-management-filekey=",
        ],
    );
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("ib_logfile0 (encrypted redo log)")
            && err.contains("--file-key-management-filename")
            && !err.contains("take a new backup"),
        "{err}"
    );
    testkit::assert_same_files(&before, &backup, "after another server's keys");
    // The same keys given to --backup, whose redo copy decrypts the log to follow DDL.
    let wrong = dir.path().join("wrong-keys");
    let err = tool
        .backup(
            &source,
            &wrong,
            &[
                &format!("--file-key-management-filename={}", other.display()),
                "--file-key-management-filekey=",
            ],
        )
        .map(|_| String::new())
        .unwrap_or_else(|e| format!("{e:#}"));
    assert!(
        err.contains("exit status: 2")
            && err.contains("encrypted redo log")
            && err.contains("--file-key-management-filename")
            && !err.contains("is corrupt"),
        "{err}"
    );

    // Another key plugin.
    let (code, err) = prepare(&backup, &["--plugin-load-add=hashicorp_key_management"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("hashicorp_key_management"), "{err}");

    // No key management: backup-my.cnf without its plugin block.
    let stripped: String = cnf
        .lines()
        .filter(|l| !l.starts_with("plugin_load") && !l.starts_with("file_key_management"))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(&cnf_path, &stripped).unwrap();
    let before = testkit::file_snapshot(&backup);
    let (code, err) = prepare(&backup, &[]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("--plugin-load-add=file_key_management"),
        "{err}"
    );
    testkit::assert_same_files(&before, &backup, "without key management");
    // The options alone give what backup-my.cnf lacked.
    let (code, err) = prepare(
        &backup,
        &[
            "--plugin-load-add=file_key_management",
            &format!(
                "--file-key-management-filename={}",
                keys_dir().join("keys.enc").display()
            ),
            "--file-key-management-filekey=secret",
            "--file-key-management-encryption-algorithm=aes_ctr",
        ],
    );
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("completed OK!"), "{err}");
    assert!(!err.contains("secret"), "{err}");
}

/// Encrypted *and* page_compressed tables (zlib and lz4 encrypted, zlib `ENCRYPTED=NO`)
/// whose pages are on disk compressed (then encrypted) before the backup and changed while
/// it runs, on a server under sysbench + DML + DDL load; the backup taken by either tool.
/// hotbackup's prepare decrypts, decompresses, applies, compresses and encrypts again as
/// the server stores them. Every other data file (encrypted, not compressed) is
/// byte-identical to mariadb-backup's prepare of the same backup; the page_compressed
/// ones may differ (another zlib), so both prepares are restored and the server reads
/// every page (`CHECK TABLE`, checksums after the binlog replay).
#[test]
fn encrypted_page_compressed_tables_are_prepared_4k() {
    encrypted_page_compressed_tables_are_prepared(PageSize::K4, false, ours());
}

#[test]
fn encrypted_page_compressed_tables_are_prepared_16k() {
    encrypted_page_compressed_tables_are_prepared(PageSize::K16, true, ours());
}

#[test]
fn encrypted_page_compressed_tables_are_prepared_64k() {
    encrypted_page_compressed_tables_are_prepared(PageSize::K64, false, ours());
}

#[test]
fn mariadb_backup_backup_of_encrypted_page_compressed_tables_4k() {
    encrypted_page_compressed_tables_are_prepared(PageSize::K4, true, Tool::MariaBackup);
}

#[test]
fn mariadb_backup_backup_of_encrypted_page_compressed_tables_16k() {
    encrypted_page_compressed_tables_are_prepared(PageSize::K16, false, Tool::MariaBackup);
}

#[test]
fn mariadb_backup_backup_of_encrypted_page_compressed_tables_64k() {
    encrypted_page_compressed_tables_are_prepared(PageSize::K64, true, Tool::MariaBackup);
}

fn ours() -> Tool {
    Tool::Hotbackup(hotbackup().to_path_buf())
}

fn encrypted_page_compressed_tables_are_prepared(page_size: PageSize, ctr: bool, taken_by: Tool) {
    let Some(mariadb) = testkit::require_mariadb() else {
        return;
    };
    let mut options = encryption_options(ctr);
    options.push("plugin-load-add=provider_lz4".to_string());
    let scenario = Scenario::start_with_options(&mariadb, page_size, 32 << 20, &options).unwrap();
    let source = &scenario.source;
    let lz4 = source
        .query_one::<u64>(
            "SELECT COUNT(*) FROM information_schema.PLUGINS \
             WHERE PLUGIN_NAME = 'provider_lz4' AND PLUGIN_STATUS = 'ACTIVE'",
        )
        .unwrap()
        == 1;
    // (table, algorithm, ENCRYPTED=)
    let mut tables = vec![("zlib", "zlib", "YES"), ("zlib_plain", "zlib", "NO")];
    if lz4 {
        tables.push(("lz4", "lz4", "YES"));
    }
    source.exec("CREATE DATABASE IF NOT EXISTS pc").unwrap();
    for (t, alg, encrypted) in &tables {
        source
            .exec(&format!(
                "SET GLOBAL innodb_compression_algorithm={alg}; \
                 CREATE TABLE pc.{t} (id INT PRIMARY KEY, c VARCHAR(400), n INT) \
                 PAGE_COMPRESSED=1 ENCRYPTED={encrypted}; \
                 INSERT INTO pc.{t} SELECT seq, REPEAT(CHAR(65 + seq % 20), 300), 0 \
                 FROM pc.seq_1_to_6000"
            ))
            .unwrap();
    }
    // Most pages on disk compressed and encrypted before the backup (checked below): a
    // slow flush (4k pages on a busy machine) is not a failure.
    if let Err(e) = source.flush_innodb() {
        eprintln!("{e:#}");
    }
    let load = scenario.load().unwrap();
    for (t, ..) in &tables {
        source
            .exec(&format!(
                "UPDATE pc.{t} SET n = n + 1, c = REPEAT('z', 200) WHERE id % 5 = 0; \
                 DELETE FROM pc.{t} WHERE id % 11 = 0; \
                 INSERT INTO pc.{t} SELECT seq, REPEAT('n', 350), 1 FROM pc.seq_6001_to_7000"
            ))
            .unwrap();
    }
    let dir = TestDir::new("encryption-pc").unwrap();
    let backup = dir.path().join("backup");
    let stderr = match taken_by.backup(source, &backup, &["--parallel=2"]) {
        // mariadb-backup 10.11.19 once exited 1 in CI with "Loading encryption plugin" as
        // its last stderr line (and once locally under load): that oracle backup is taken
        // again, once; hotbackup's backups are never retried. Not reproduced since in ~70
        // runs of these tests (strace'd and not, two at a time, whole file) nor in 150 runs
        // of the same command on an encrypted 64k server under DML+DDL load; nothing in our
        // command line or harness found to cause it. The source (encryption_plugin.cc,
        // 10.11.18) prints the parameter lines right after that one (:249-251), so either
        // `SHOW variables like 'file_key_management_%'` (:157) gave no rows, or it stopped
        // in plugin_init (sql_plugin.cc: no exit path; mariadb-backup prints a plugin's init
        // errors nowhere, e.g. a missing key file gives no message at all). Every later
        // failure path prints (die()). If it comes back, the note has the tool's stdout
        // (testkit keeps it now) and the server's error log.
        Err(e)
            if matches!(taken_by, Tool::MariaBackup)
                && format!("{e:#}")
                    .trim_end()
                    .ends_with("Loading encryption plugin") =>
        {
            eprintln!(
                "note: mariadb-backup exited silently after loading its key plugin: {e:#}\n\
                 server error log:\n{}",
                source.error_log_tail(40)
            );
            let _ = std::fs::remove_dir_all(&backup);
            taken_by.backup(source, &backup, &["--parallel=2"]).unwrap()
        }
        r => r.unwrap(),
    };
    assert!(stderr.contains("completed OK!"), "{stderr}");
    // The backup holds pages stored compressed then encrypted (full_crc32: the compressed
    // marker in the type, a key version at 0).
    let zlib = std::fs::read(backup.join("pc/zlib.ibd")).unwrap();
    let stored = zlib
        .chunks(page_size.bytes() as usize)
        .skip(1)
        .filter(|p| p[24] & 0x80 != 0 && p[..4] != [0; 4])
        .count();
    assert!(
        stored > 20,
        "{stored} compressed and encrypted pages in pc/zlib.ibd"
    );
    for (t, ..) in &tables {
        source
            .exec(&format!("UPDATE pc.{t} SET n = n + 10 WHERE id % 7 = 0"))
            .unwrap();
    }
    load.stop().unwrap();

    let theirs = dir.path().join("prepared-by-mariadb-backup");
    testkit::copy_dir(&backup, &theirs).unwrap();
    ours().prepare(&mariadb, &backup).unwrap();
    Tool::MariaBackup.prepare(&mariadb, &theirs).unwrap();
    let pages =
        testkit::compare_prepared_where(&theirs, &backup, page_size.bytes() as usize, |f| {
            !f.starts_with("pc")
        })
        .unwrap();
    let report =
        testkit::restore_and_verify_with(&mariadb, &ours(), source, &backup, &options).unwrap();
    assert!(report.tables_compared >= 8, "{report:?}");
    testkit::restore_and_verify_with(&mariadb, &Tool::MariaBackup, source, &theirs, &options)
        .unwrap();
    eprintln!(
        "encrypted page_compressed {page_size:?}, taken by {taken_by:?}: {tables:?}, \
         {pages} other pages identical; {report:?}"
    );
}
