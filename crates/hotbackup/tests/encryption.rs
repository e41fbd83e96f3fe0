//! Encrypted servers (file_key_management, `innodb_encrypt_tables=ON`,
//! `innodb_encrypt_log=ON`, `aria_encrypt_tables=ON`; encrypted page_compressed tables): hotbackup's backup under sysbench + DML + DDL load, prepared by
//! both tools (byte-identical page by page: AES-CTR/CBC are deterministic given key and
//! IV), restored with the same keys, `CHECK TABLE`, binlog replay, checksums equal to the
//! source; mariadb-backup's backup prepared by hotbackup the same way; and the refusals:
//! a wrong file key, a key id the key file lacks, no key management at all, another key
//! plugin, each with its message and exit code, leaving the backup as it was.

use std::path::{Path, PathBuf};
use std::process::Command;

use testkit::{PageSize, Scenario, TestDir, Tool};

fn hotbackup() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_hotbackup"))
}

fn keys_dir() -> PathBuf {
    testkit::repo_dir().join("testdata/crypt")
}

/// The server options of an encrypted server: the encrypted key file (file key `secret`)
/// with aes_ctr, or the plain one with aes_cbc.
fn encryption_options(ctr: bool) -> Vec<String> {
    let (file, key, alg) = match ctr {
        true => ("keys.enc", Some("secret"), "aes_ctr"),
        false => ("keys.txt", None, "aes_cbc"),
    };
    let mut o = vec![
        "plugin-load-add=file_key_management".to_string(),
        format!(
            "file-key-management-filename={}",
            keys_dir().join(file).display()
        ),
        format!("file-key-management-encryption-algorithm={alg}"),
        "innodb-encrypt-tables=ON".to_string(),
        "innodb-encrypt-log=ON".to_string(),
        "aria-encrypt-tables=ON".to_string(),
    ];
    if let Some(k) = key {
        o.push(format!("file-key-management-filekey={k}"));
    }
    o
}

/// Extra tables: one with key id 2, one `ENCRYPTED=NO`, written while the backup runs.
fn extra_tables(source: &testkit::TestServer) {
    source
        .exec(
            "CREATE DATABASE IF NOT EXISTS enc; \
             CREATE TABLE enc.k2 (id INT PRIMARY KEY, c VARCHAR(200)) ENCRYPTED=YES ENCRYPTION_KEY_ID=2; \
             CREATE TABLE enc.plain (id INT PRIMARY KEY, c VARCHAR(200)) ENCRYPTED=NO; \
             INSERT INTO enc.k2 SELECT seq, REPEAT('k', 150) FROM seq_1_to_2000; \
             INSERT INTO enc.plain SELECT seq, REPEAT('p', 150) FROM seq_1_to_2000;",
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

    let ours = dir.path().join("prepared-by-hotbackup");
    testkit::copy_dir(&backup, &ours).unwrap();
    let hotbackup_tool = Tool::Hotbackup(hotbackup().to_path_buf());
    Tool::MariaBackup.prepare(&mariadb, &backup).unwrap();
    hotbackup_tool.prepare(&mariadb, &ours).unwrap();
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
    tool.backup(&source, &backup, &[]).unwrap();
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

/// Encrypted *and* page_compressed tables (zlib, lz4) whose pages are on disk compressed then
/// encrypted before the backup and changed while it runs: prepare decrypts, decompresses,
/// applies, compresses and encrypts again as the server stores them; the restored server
/// reads every page (`CHECK TABLE`, checksums after the binlog replay). The compressed
/// bytes may differ from mariadb-backup's (another zlib), so pages are not compared; its
/// prepare of the same backup is restored and verified too.
#[test]
fn encrypted_page_compressed_tables_are_prepared_4k() {
    encrypted_page_compressed_tables_are_prepared(PageSize::K4, false);
}

#[test]
fn encrypted_page_compressed_tables_are_prepared_16k() {
    encrypted_page_compressed_tables_are_prepared(PageSize::K16, true);
}

#[test]
fn encrypted_page_compressed_tables_are_prepared_64k() {
    encrypted_page_compressed_tables_are_prepared(PageSize::K64, false);
}

fn encrypted_page_compressed_tables_are_prepared(page_size: PageSize, ctr: bool) {
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
    let mut tables = vec!["zlib"];
    if lz4 {
        tables.push("lz4");
    }
    source.exec("CREATE DATABASE IF NOT EXISTS pc").unwrap();
    for t in &tables {
        let alg = if *t == "lz4" { "lz4" } else { "zlib" };
        source
            .exec(&format!(
                "SET GLOBAL innodb_compression_algorithm={alg}; \
                 CREATE TABLE pc.{t} (id INT PRIMARY KEY, c VARCHAR(400), n INT) \
                 PAGE_COMPRESSED=1 ENCRYPTED=YES; \
                 INSERT INTO pc.{t} SELECT seq, REPEAT(CHAR(65 + seq % 20), 300), 0 \
                 FROM seq_1_to_6000"
            ))
            .unwrap();
    }
    source.flush_innodb().unwrap();
    let load = scenario.load().unwrap();
    for t in &tables {
        source
            .exec(&format!(
                "UPDATE pc.{t} SET n = n + 1, c = REPEAT('z', 200) WHERE id % 5 = 0; \
                 DELETE FROM pc.{t} WHERE id % 11 = 0; \
                 INSERT INTO pc.{t} SELECT seq, REPEAT('n', 350), 1 FROM seq_6001_to_7000"
            ))
            .unwrap();
    }
    let dir = TestDir::new("encryption-pc").unwrap();
    let backup = dir.path().join("backup");
    let ours = Tool::Hotbackup(hotbackup().to_path_buf());
    let stderr = ours.backup(source, &backup, &["--parallel=2"]).unwrap();
    assert!(stderr.contains("completed OK!"), "{stderr}");
    for t in &tables {
        source
            .exec(&format!("UPDATE pc.{t} SET n = n + 10 WHERE id % 7 = 0"))
            .unwrap();
    }
    load.stop().unwrap();

    let theirs = dir.path().join("prepared-by-mariadb-backup");
    testkit::copy_dir(&backup, &theirs).unwrap();
    ours.prepare(&mariadb, &backup).unwrap();
    let report =
        testkit::restore_and_verify_with(&mariadb, &ours, source, &backup, &options).unwrap();
    assert!(report.tables_compared >= 8, "{report:?}");
    Tool::MariaBackup.prepare(&mariadb, &theirs).unwrap();
    testkit::restore_and_verify_with(&mariadb, &Tool::MariaBackup, source, &theirs, &options)
        .unwrap();
    eprintln!("encrypted page_compressed {page_size:?} {tables:?}: {report:?}");
}
