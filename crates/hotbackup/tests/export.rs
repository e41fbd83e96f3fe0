//! `--prepare --export` against real servers: every row format, an instant ADD/DROP COLUMN
//! table, virtual columns, a fulltext index, partitions and subpartitions, names that need
//! encoding. A hotbackup backup taken under write load is prepared with `--export`; each
//! table is then created on a *fresh* server, its tablespace discarded, the `.ibd` + `.cfg`
//! copied in and imported, and its `CHECKSUM TABLE` must equal the restored backup's.
//! mariadb-backup's own backup exported by both tools gives byte-identical `.cfg` files and
//! the same directory listing. A missing server binary, one of another version, or a server
//! that fails: exit 1, a message naming the fix, and a backup that is still restorable.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use testkit::mysql::prelude::Queryable;
use testkit::{MariaDb, TestDir, TestServer, Tool};

use common::hotbackup;

/// The tables exported and imported (all in database `d`).
const TABLES: &[&str] = &[
    "t_dyn",
    "t_compact",
    "t_red",
    "t_zip",
    "t_inst",
    "t_virt",
    "t_ft",
    "t_part",
    "t_sub",
    "t sp@ce",
];

const SCHEMA: &str = "
CREATE DATABASE d;
USE d;
CREATE TABLE t_dyn (id INT PRIMARY KEY, a VARCHAR(100), b BLOB) ROW_FORMAT=DYNAMIC;
CREATE TABLE t_compact (id INT PRIMARY KEY, a VARCHAR(100), b TEXT, KEY(a)) ROW_FORMAT=COMPACT;
CREATE TABLE t_red (id INT PRIMARY KEY, a VARCHAR(100), b TEXT) ROW_FORMAT=REDUNDANT;
CREATE TABLE t_zip (id INT PRIMARY KEY, a VARCHAR(100), b TEXT) ROW_FORMAT=COMPRESSED KEY_BLOCK_SIZE=8;
CREATE TABLE t_inst (id INT PRIMARY KEY, a INT);
CREATE TABLE t_virt (id INT PRIMARY KEY, a INT, v INT AS (a*2) VIRTUAL, s INT AS (a+1) STORED, KEY(v));
CREATE TABLE t_ft (id INT PRIMARY KEY, body TEXT, FULLTEXT KEY(body));
CREATE TABLE t_part (id INT PRIMARY KEY, a INT) PARTITION BY RANGE (id)
  (PARTITION p0 VALUES LESS THAN (200), PARTITION p1 VALUES LESS THAN MAXVALUE);
CREATE TABLE t_sub (id INT, a INT, PRIMARY KEY(id,a)) PARTITION BY RANGE (id)
  SUBPARTITION BY HASH(a) SUBPARTITIONS 2
  (PARTITION p0 VALUES LESS THAN (200), PARTITION p1 VALUES LESS THAN MAXVALUE);
CREATE TABLE `t sp@ce` (id INT PRIMARY KEY, a INT);
INSERT INTO t_dyn SELECT seq, repeat('x', seq%100), repeat('y', seq*7) FROM seq_1_to_400;
INSERT INTO t_compact SELECT seq, repeat('x', seq%100), repeat('y', seq*7) FROM seq_1_to_400;
INSERT INTO t_red SELECT seq, repeat('x', seq%100), repeat('y', seq*7) FROM seq_1_to_400;
INSERT INTO t_zip SELECT seq, repeat('x', seq%100), repeat('y', seq*7) FROM seq_1_to_400;
INSERT INTO t_inst SELECT seq, seq FROM seq_1_to_400;
ALTER TABLE t_inst ADD COLUMN c INT DEFAULT 42, ALGORITHM=INSTANT;
ALTER TABLE t_inst ADD COLUMN d VARCHAR(10) DEFAULT 'z' FIRST, ALGORITHM=INSTANT;
ALTER TABLE t_inst DROP COLUMN a, ALGORITHM=INSTANT;
INSERT INTO t_virt (id, a) SELECT seq, seq FROM seq_1_to_400;
INSERT INTO t_ft SELECT seq, concat('word', seq, ' hello world') FROM seq_1_to_400;
INSERT INTO t_part SELECT seq, seq FROM seq_1_to_400;
INSERT INTO t_sub SELECT seq, seq FROM seq_1_to_400;
INSERT INTO `t sp@ce` SELECT seq, seq FROM seq_1_to_100;
CREATE TABLE `té` (id INT PRIMARY KEY, a INT);
CREATE TABLE `pé` (id INT PRIMARY KEY, a INT) PARTITION BY HASH(id) PARTITIONS 2;
INSERT INTO `té` SELECT seq, seq FROM seq_1_to_100;
INSERT INTO `pé` SELECT seq, seq FROM seq_1_to_100;
";

/// `.cfg` files an export of [`SCHEMA`] must write under `d/` (besides `mysql`'s tables).
/// `té` and `pé` are in the files as `t@0p`, `p@0p`: names the server maps, not hotbackup.
const CFG_FILES: &[&str] = &[
    "d/p@0p#P#p0.cfg",
    "d/p@0p#P#p1.cfg",
    "d/t@0020sp@0040ce.cfg",
    "d/t@0p.cfg",
    "d/t_compact.cfg",
    "d/t_dyn.cfg",
    "d/t_ft.cfg",
    "d/t_inst.cfg",
    "d/t_part#P#p0.cfg",
    "d/t_part#P#p1.cfg",
    "d/t_red.cfg",
    "d/t_sub#P#p0#SP#p0sp0.cfg",
    "d/t_sub#P#p0#SP#p0sp1.cfg",
    "d/t_sub#P#p1#SP#p1sp0.cfg",
    "d/t_sub#P#p1#SP#p1sp1.cfg",
    "d/t_virt.cfg",
    "d/t_zip.cfg",
];

fn source(mariadb: &MariaDb) -> TestServer {
    source_with(mariadb, &[])
}

/// [`source`] with extra server options (an encrypted server's).
fn source_with(mariadb: &MariaDb, options: &[String]) -> TestServer {
    let s = options
        .iter()
        .fold(mariadb.server(), |b, o| b.option(o))
        .name("export-source")
        .binlog(true)
        .buffer_pool_size(64 << 20)
        .start()
        .unwrap();
    s.exec(SCHEMA).unwrap();
    s
}

fn quoted(table: &str) -> String {
    format!("`d`.`{table}`")
}

/// `SHOW CREATE TABLE` of every table of [`TABLES`].
fn definitions(server: &TestServer) -> BTreeMap<&'static str, String> {
    TABLES
        .iter()
        .map(|t| {
            let (_, sql): (String, String) = server
                .query_one(&format!("SHOW CREATE TABLE {}", quoted(t)))
                .unwrap();
            (*t, sql)
        })
        .collect()
}

/// DML on every table until stopped: inserts, updates (also of the instant-added columns
/// and across partitions), deletes, in small transactions.
fn write_load(server: &TestServer, stop: Arc<AtomicBool>) -> std::thread::JoinHandle<u64> {
    let mut conn = server.conn().unwrap();
    std::thread::spawn(move || {
        let mut n: u64 = 0;
        while !stop.load(Ordering::Relaxed) {
            let id = 1000 + n;
            let k = n % 400 + 1;
            let sql = format!(
                "START TRANSACTION;
                 INSERT INTO d.t_dyn VALUES ({id}, 'new', repeat('z', {id} % 3000));
                 UPDATE d.t_compact SET a = concat(a, 'u') WHERE id = {k};
                 DELETE FROM d.t_red WHERE id = {k};
                 UPDATE d.t_zip SET b = repeat('q', {k} * 3) WHERE id = {k};
                 INSERT INTO d.t_inst (id, c, d) VALUES ({id}, {n}, 'w');
                 UPDATE d.t_inst SET c = c + 1 WHERE id = {k};
                 UPDATE d.t_virt SET a = a + 1 WHERE id = {k};
                 INSERT INTO d.t_ft VALUES ({id}, 'fresh words {n}');
                 UPDATE d.t_part SET id = id + 1000 WHERE id = {k};
                 INSERT INTO d.t_sub VALUES ({id}, {n});
                 INSERT INTO d.`t sp@ce` VALUES ({id}, {n});
                 COMMIT"
            );
            conn.query_drop(&sql).unwrap();
            n += 1;
        }
        n
    })
}

fn run_hotbackup(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(hotbackup());
    cmd.args(args).stdin(Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

/// `hotbackup --prepare --export` of `backup` (reading only its `backup-my.cnf`).
fn export(backup: &Path, env: &[(&str, &str)]) -> Output {
    run_hotbackup(
        &[
            &format!("--defaults-file={}", backup.join("backup-my.cnf").display()),
            "--prepare",
            "--export",
            &format!("--target-dir={}", backup.display()),
        ],
        env,
    )
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Every `.cfg` under `dir`, relative.
fn cfg_files(dir: &Path) -> Vec<String> {
    testkit::file_names(dir)
        .into_iter()
        .filter(|n| n.ends_with(".cfg"))
        .collect()
}

/// Partitions of the partitioned tables, by their file name's stem.
const PARTITIONS: &[(&str, &str)] = &[
    ("t_part#P#p0", "p0"),
    ("t_part#P#p1", "p1"),
    ("t_sub#P#p0#SP#p0sp0", "p0sp0"),
    ("t_sub#P#p0#SP#p0sp1", "p0sp1"),
    ("t_sub#P#p1#SP#p1sp0", "p1sp0"),
    ("t_sub#P#p1#SP#p1sp1", "p1sp1"),
];

/// The contents of a table (`CHECKSUM TABLE`) or of one partition (rows and a hash of
/// them: `CHECKSUM TABLE` cannot name a partition).
fn contents(server: &TestServer, table: &str, partition: Option<&str>) -> String {
    match partition {
        None => server
            .checksum_table(&format!("d.{table}"))
            .unwrap()
            .to_string(),
        Some(p) => {
            let (n, hash): (u64, u64) = server
                .query_one(&format!(
                    "SELECT COUNT(*), COALESCE(BIT_XOR(CRC32(CONCAT_WS('#', id, a))), 0) \
                     FROM {} PARTITION ({p})",
                    quoted(table)
                ))
                .unwrap();
            format!("{n} rows, hash {hash}")
        }
    }
}

/// What the restored backup holds: every table's checksum, every partition's contents.
fn expected_contents(server: &TestServer) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for t in TABLES
        .iter()
        .filter(|t| !t.starts_with("t_part") && !t.starts_with("t_sub"))
    {
        out.insert(t.to_string(), contents(server, t, None));
    }
    for (stem, p) in PARTITIONS {
        let table = &stem[..stem.find('#').unwrap()];
        out.insert(stem.to_string(), contents(server, table, Some(p)));
    }
    out
}

/// Copy-back of `backup` into a fresh datadir and a server started on it.
fn restore(mariadb: &MariaDb, backup: &Path, dir: &Path) -> TestServer {
    let datadir = dir.join("restored-data");
    Tool::Hotbackup(hotbackup().to_path_buf())
        .copy_back(mariadb, backup, &datadir)
        .unwrap();
    mariadb
        .server()
        .name("export-restored")
        .existing_datadir(&datadir)
        .start()
        .unwrap()
}

/// On a fresh server: creates each table from `defs`, discards its tablespace, copies the
/// `.ibd` + `.cfg` from `backup`, imports it, and returns the contents as
/// [`expected_contents`] does. A partition is imported, as MariaDB 10.11 allows, into a
/// non-partitioned table of the same columns (10.11 has no DISCARD for partitioned tables).
fn import_all(
    mariadb: &MariaDb,
    backup: &Path,
    defs: &BTreeMap<&'static str, String>,
    options: &[String],
) -> BTreeMap<String, String> {
    let target = options
        .iter()
        .fold(mariadb.server(), |b, o| b.option(o))
        .name("export-import")
        .buffer_pool_size(64 << 20)
        .start()
        .unwrap();
    target.exec("CREATE DATABASE d").unwrap();
    if !options.is_empty() {
        // The IMPORT of an encrypted tablespace whose pages carry an LSN past this server's
        // fails ("log sequence number … is in the future"; mariadb-backup's export of the
        // same backup is byte-identical and fails the same): write ~8 MiB of log first, past
        // the source's LSN.
        target
            .exec(
                "CREATE TABLE d.pad (id INT PRIMARY KEY, b LONGBLOB); \
                 INSERT INTO d.pad SELECT seq, REPEAT('x', 8000) FROM d.seq_1_to_1000; \
                 DROP TABLE d.pad",
            )
            .unwrap();
    }
    let dest = target.datadir().join("d");
    let import = |table: &str, def: &str, file: &str| {
        target.exec(&format!("USE d; {def}")).unwrap();
        target
            .exec(&format!("ALTER TABLE {} DISCARD TABLESPACE", quoted(table)))
            .unwrap();
        for ext in ["ibd", "cfg"] {
            std::fs::copy(
                backup.join("d").join(format!("{file}.{ext}")),
                dest.join(format!("{}.{ext}", encode(table))),
            )
            .unwrap();
        }
        target
            .exec(&format!("ALTER TABLE {} IMPORT TABLESPACE", quoted(table)))
            .unwrap_or_else(|e| panic!("IMPORT TABLESPACE of {file}: {e:#}"));
    };
    let mut got = BTreeMap::new();
    for (table, def) in defs {
        if def.contains("PARTITION BY") {
            continue;
        }
        import(table, def, &encode(table));
        got.insert(table.to_string(), contents(&target, table, None));
    }
    for (stem, _) in PARTITIONS {
        let table = &stem[..stem.find('#').unwrap()];
        let def = &defs[table];
        let plain = format!(
            "{}\n",
            &def[..def.find(" PARTITION BY").unwrap_or(def.len())]
        );
        let plain = plain.replacen(&format!("`{table}`"), "`placeholder`", 1);
        import("placeholder", &plain, stem);
        let (n, hash): (u64, u64) = target
            .query_one(
                "SELECT COUNT(*), COALESCE(BIT_XOR(CRC32(CONCAT_WS('#', id, a))), 0) \
                 FROM d.placeholder",
            )
            .unwrap();
        got.insert(stem.to_string(), format!("{n} rows, hash {hash}"));
        target.exec("DROP TABLE d.placeholder").unwrap();
    }
    let failures = target.check_table_all().unwrap();
    assert!(
        failures.is_empty(),
        "CHECK TABLE after import: {failures:?}"
    );
    got
}

/// The server's file name of a table name of [`TABLES`].
fn encode(table: &str) -> String {
    table
        .chars()
        .map(|c| match c {
            'a'..='z' | 'A'..='Z' | '0'..='9' | '_' => c.to_string(),
            other => format!("@{:04x}", other as u32),
        })
        .collect()
}

#[test]
fn export_under_load_imports_into_another_server() {
    let Some(mariadb) = testkit::require_mariadb() else {
        return;
    };
    let dir = TestDir::new("export-load").unwrap();
    let backup = dir.path().join("backup");
    let source = source(&mariadb);
    let defs = definitions(&source);
    let stop = Arc::new(AtomicBool::new(false));
    let load = write_load(&source, Arc::clone(&stop));
    std::thread::sleep(Duration::from_millis(500));
    Tool::Hotbackup(hotbackup().to_path_buf())
        .backup(&source, &backup, &[])
        .unwrap();
    stop.store(true, Ordering::Relaxed);
    let ops = load.join().unwrap();
    assert!(ops > 0, "the write load did nothing");
    drop(source);

    let out = export(&backup, &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let log = stderr(&out);
    assert!(log.contains("Prepare export : executing"), "{log}");
    assert!(log.ends_with("completed OK!\n"), "{log}");
    let cfgs: Vec<String> = cfg_files(&backup)
        .into_iter()
        .filter(|n| n.starts_with("d/"))
        .collect();
    assert_eq!(cfgs, CFG_FILES, "the .cfg files of database d");
    for f in [
        "mysql/innodb_table_stats.cfg",
        "mysql/innodb_index_stats.cfg",
    ] {
        assert!(backup.join(f).is_file(), "{f} missing");
    }
    // The fulltext index's own tables are no SQL tables: no .cfg, no error.
    assert!(!cfg_files(&backup).iter().any(|n| n.contains("FTS_")));

    let restored = restore(&mariadb, &backup, dir.path());
    let expected = expected_contents(&restored);
    drop(restored);
    let imported = import_all(&mariadb, &backup, &defs, &[]);
    assert_eq!(
        imported, expected,
        "imported tables differ from the restored backup"
    );
    eprintln!(
        "{ops} load transactions; {} tables imported",
        imported.len()
    );
}

/// Every file under `dir` with its size and mode, but the server's log (its size varies
/// with the PID printed in it) by name only.
fn listing(dir: &Path) -> BTreeMap<String, (u64, u32)> {
    use std::os::unix::fs::PermissionsExt;
    testkit::file_names(dir)
        .into_iter()
        .map(|n| {
            let m = std::fs::metadata(dir.join(&n)).unwrap();
            let size = if n.ends_with(".err") { 0 } else { m.len() };
            (n, (size, m.permissions().mode() & 0o777))
        })
        .collect()
}

#[test]
fn mariadb_backup_backup_exports_like_mariadb_backup() {
    exports_like_mariadb_backup(&[]);
}

/// The same on an encrypted server (every table encrypted, the log too): the `.cfg` of an
/// encrypted table, imported into a server with the same keys.
#[test]
fn encrypted_tables_export_like_mariadb_backup() {
    exports_like_mariadb_backup(&common::encryption::options(true));
}

/// mariadb-backup's backup of [`SCHEMA`] on a server with `options`, exported by both tools:
/// the same `.cfg` bytes and directory listing, and hotbackup's export imports.
fn exports_like_mariadb_backup(options: &[String]) {
    let Some(mariadb) = testkit::require_mariadb() else {
        return;
    };
    let dir = TestDir::new("export-cross").unwrap();
    let source = source_with(&mariadb, options);
    let encrypted: u64 = source
        .query_one(
            "SELECT COUNT(*) FROM information_schema.INNODB_TABLESPACES_ENCRYPTION \
             WHERE NAME LIKE 'd/%' AND ENCRYPTION_SCHEME = 1",
        )
        .unwrap();
    assert_eq!(
        encrypted > 0,
        !options.is_empty(),
        "{encrypted} tables encrypted"
    );
    let theirs = dir.path().join("exported-by-mariadb-backup");
    Tool::MariaBackup.backup(&source, &theirs, &[]).unwrap();
    let defs = definitions(&source);
    drop(source);
    let ours = dir.path().join("exported-by-hotbackup");
    testkit::copy_dir(&theirs, &ours).unwrap();

    let mut cmd = Command::new(mariadb.backup_program().unwrap());
    let out = cmd
        .arg(format!(
            "--defaults-file={}",
            theirs.join("backup-my.cnf").display()
        ))
        .args(["--prepare", "--export"])
        .arg(format!("--target-dir={}", theirs.display()))
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let out = export(&ours, &[]);
    assert!(out.status.success(), "{}", stderr(&out));

    // The same .cfg files, byte for byte (both written by the same server code on this
    // host: the host name, table and index definitions, instant metadata, autoinc).
    let cfgs = cfg_files(&theirs);
    assert_eq!(cfg_files(&ours), cfgs);
    assert!(cfgs.len() >= CFG_FILES.len());
    for f in &cfgs {
        assert!(
            std::fs::read(theirs.join(f)).unwrap() == std::fs::read(ours.join(f)).unwrap(),
            "{f} differs from mariadb-backup's"
        );
    }
    // The same files, sizes and all, but for the modes: mariadb-backup's server creates
    // them 0660, hotbackup's 0640.
    let strip = |l: BTreeMap<String, (u64, u32)>| -> BTreeMap<String, u64> {
        l.into_iter().map(|(n, (size, _))| (n, size)).collect()
    };
    let (a, b) = (strip(listing(&ours)), strip(listing(&theirs)));
    let differ: Vec<_> = a
        .keys()
        .chain(b.keys())
        .filter(|n| a.get(*n) != b.get(*n))
        .map(|n| (n, a.get(n), b.get(n)))
        .collect();
    assert!(
        differ.is_empty(),
        "(file, ours, mariadb-backup's): {differ:?}"
    );
    for (name, (_, mode)) in listing(&ours) {
        assert_eq!(mode & 0o027, 0, "{name} is mode {mode:o}");
    }
    let imported = import_all(&mariadb, &ours, &defs, options);
    assert_eq!(imported.len(), TABLES.len() - 2 + PARTITIONS.len());
}

/// A small prepared-ready hotbackup backup of [`SCHEMA`].
fn small_backup(mariadb: &MariaDb, dir: &Path) -> std::path::PathBuf {
    let source = source(mariadb);
    let backup = dir.join("backup");
    Tool::Hotbackup(hotbackup().to_path_buf())
        .backup(&source, &backup, &[])
        .unwrap();
    backup
}

/// A shell script standing in for the server binary.
fn script(dir: &Path, name: &str, body: &str) -> String {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.join(name);
    std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path.display().to_string()
}

#[test]
fn export_without_a_usable_server_changes_nothing() {
    let Some(mariadb) = testkit::require_mariadb() else {
        return;
    };
    let dir = TestDir::new("export-noserver").unwrap();
    let backup = small_backup(&mariadb, dir.path());
    let before = testkit::file_snapshot(&backup);
    let mariadbd = mariadb.mariadbd.display().to_string();
    let newer = script(
        dir.path(),
        "newer",
        "echo 'mariadbd  Ver 11.4.2-MariaDB for Linux on x86_64'",
    );
    for (env, says) in [
        (
            "/nonexistent/mariadbd",
            "HOTBACKUP_MARIADBD=/nonexistent/mariadbd is not an executable",
        ),
        (
            newer.as_str(),
            "the server binary is MariaDB 11.4.2-MariaDB, the backup needs 10.11",
        ),
    ] {
        let out = export(&backup, &[("HOTBACKUP_MARIADBD", env)]);
        let log = stderr(&out);
        assert_eq!(out.status.code(), Some(1), "{log}");
        assert!(log.contains(says), "{log}");
        testkit::assert_same_files(&before, &backup, "a refused --export changed the backup");
    }

    // A server that fails: exit 1 with its words, the backup prepared and restorable, and
    // --prepare --export again with a working server completes it.
    let failing = script(
        dir.path(),
        "failing",
        &format!("exec {mariadbd} \"$@\" --no-such-option-here"),
    );
    let out = export(&backup, &[("HOTBACKUP_MARIADBD", failing.as_str())]);
    let log = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{log}");
    assert!(log.contains("failed (exit status"), "{log}");
    assert!(log.contains("no-such-option-here"), "{log}");
    assert!(log.contains("The backup itself stays prepared"), "{log}");
    assert!(cfg_files(&backup).is_empty());
    // A server still running when hotbackup is killed (SIGTERM) dies with it.
    let pid_file = dir.path().join("server.pid");
    let hanging = script(
        dir.path(),
        "hanging",
        &format!(
            "case \"$1\" in --version) exec {mariadbd} --version;; esac\n\
             echo $$ > {}\nexec sleep 300",
            pid_file.display()
        ),
    );
    let mut child = Command::new(hotbackup())
        .arg(format!(
            "--defaults-file={}",
            backup.join("backup-my.cnf").display()
        ))
        .args(["--prepare", "--export"])
        .arg(format!("--target-dir={}", backup.display()))
        .env("HOTBACKUP_MARIADBD", &hanging)
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let server_pid = (0..200)
        .find_map(|_| {
            std::thread::sleep(Duration::from_millis(50));
            std::fs::read_to_string(&pid_file)
                .ok()?
                .trim()
                .parse::<i32>()
                .ok()
        })
        .expect("the stand-in server never started");
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    child.wait().unwrap();
    let gone = (0..100).any(|_| {
        std::thread::sleep(Duration::from_millis(50));
        // Gone, or a zombie waiting for init to reap it.
        std::fs::read_to_string(format!("/proc/{server_pid}/stat"))
            .map_or(true, |s| s.split_whitespace().nth(2) == Some("Z"))
    });
    assert!(gone, "the server (pid {server_pid}) outlived hotbackup");

    let out = export(&backup, &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("already prepared"));
    let cfgs: Vec<String> = cfg_files(&backup)
        .into_iter()
        .filter(|n| n.starts_with("d/"))
        .collect();
    assert_eq!(cfgs, CFG_FILES);
    let restored = restore(&mariadb, &backup, dir.path());
    let failures = restored.check_table_all().unwrap();
    assert!(failures.is_empty(), "{failures:?}");
}

#[test]
fn a_table_the_server_cannot_export_is_named() {
    let Some(mariadb) = testkit::require_mariadb() else {
        return;
    };
    let dir = TestDir::new("export-missing").unwrap();
    let backup = small_backup(&mariadb, dir.path());
    // A table without its definition: the server does not know it, FLUSH fails.
    std::fs::remove_file(backup.join("d/t_dyn.frm")).unwrap();
    let out = export(&backup, &[]);
    let log = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{log}");
    assert!(
        log.contains("the server wrote no .cfg for 1 of") && log.contains("`d`.`t_dyn`"),
        "{log}"
    );
    assert!(!log.contains("completed OK!"), "{log}");
    assert!(backup.join("d/t_zip.cfg").is_file());
}

/// A partial backup (mariadb-backup `--tables`): the server over it knows tables whose
/// files were left out; only the tables present are exported, and they import. The
/// user's `--defaults-file` naming other InnoDB/Aria directories changes nothing.
#[test]
fn partial_backup_exports_the_tables_it_has() {
    let Some(mariadb) = testkit::require_mariadb() else {
        return;
    };
    let dir = TestDir::new("export-partial").unwrap();
    let source = source(&mariadb);
    let backup = dir.path().join("backup");
    Tool::MariaBackup
        .backup(&source, &backup, &["--tables=^d[.]t_(dyn|inst|part)$"])
        .unwrap();
    let defs: BTreeMap<&'static str, String> = definitions(&source)
        .into_iter()
        .filter(|(t, _)| ["t_dyn", "t_inst"].contains(t))
        .collect();
    let expected: BTreeMap<String, String> = defs
        .keys()
        .map(|t| (t.to_string(), contents(&source, t, None)))
        .collect();
    drop(source);
    // The user's option file names other directories (as a live server's my.cnf does):
    // the server over the backup must still use only the backup's files.
    let cnf = dir.path().join("my.cnf");
    std::fs::write(
        &cnf,
        "[mysqld]\ninnodb_data_home_dir=/nonexistent/live\n\
         innodb_log_group_home_dir=/nonexistent/live\naria_log_dir_path=/nonexistent/live\n",
    )
    .unwrap();
    let out = run_hotbackup(
        &[
            &format!("--defaults-file={}", cnf.display()),
            "--prepare",
            "--export",
            &format!("--target-dir={}", backup.display()),
        ],
        &[],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        cfg_files(&backup),
        [
            "d/t_dyn.cfg",
            "d/t_inst.cfg",
            "d/t_part#P#p0.cfg",
            "d/t_part#P#p1.cfg"
        ]
    );
    // Only the non-partitioned ones: `import_all` also imports every partition of TABLES.
    let target = mariadb.server().name("export-import").start().unwrap();
    target.exec("CREATE DATABASE d").unwrap();
    for (table, def) in &defs {
        target.exec(&format!("USE d; {def}")).unwrap();
        target
            .exec(&format!("ALTER TABLE {} DISCARD TABLESPACE", quoted(table)))
            .unwrap();
        for ext in ["ibd", "cfg"] {
            std::fs::copy(
                backup.join(format!("d/{table}.{ext}")),
                target.datadir().join(format!("d/{table}.{ext}")),
            )
            .unwrap();
        }
        target
            .exec(&format!("ALTER TABLE {} IMPORT TABLESPACE", quoted(table)))
            .unwrap();
        assert_eq!(contents(&target, table, None), expected[&table.to_string()]);
    }
}
