//! `--restore-tables` against real servers. A hotbackup backup of a server with DYNAMIC,
//! COMPRESSED, partitioned, MyISAM and Aria tables, prepared with `--export`, is restored
//! into another, *live* server while a client writes to other tables there: one table over
//! an existing one, a whole database the live server lacks, one table under `--restore-as`,
//! a partitioned table and a MyISAM table. Each restored table's `CHECKSUM TABLE` must equal the source's
//! at the backup, the live server's other tables stay as they were (the written one has
//! every row its client wrote), nothing reaches the binlog, and the backup is unchanged.
//! Then every refusal: a pattern that selects nothing, an Aria table, a FULLTEXT table
//! (MariaDB leaves its index corrupt after an import), a table a partial
//! backup left out, a backup of another major version, an existing table of another
//! definition, a server on another host, `--restore-as` with several tables; each with its
//! exit code, and the live server unchanged; SIGINT mid-run. An unprepared backup is
//! restored through a prepared copy, the backup itself left byte for byte as it was; a
//! restore over TLS with a `REQUIRE SSL` account.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use testkit::mysql::prelude::Queryable;
use testkit::{MariaDb, TestDir, TestServer, Tool};

use common::hotbackup;

const SOURCE: &str = "
CREATE DATABASE shop;
USE shop;
CREATE TABLE shop.t_dyn (id INT PRIMARY KEY AUTO_INCREMENT, a VARCHAR(100), b BLOB) ROW_FORMAT=DYNAMIC;
CREATE TABLE shop.t_zip (id INT PRIMARY KEY, a VARCHAR(100), b TEXT, KEY(a)) ROW_FORMAT=COMPRESSED KEY_BLOCK_SIZE=8;
CREATE TABLE shop.t_part (id INT PRIMARY KEY, a INT) PARTITION BY RANGE (id) (PARTITION p0 VALUES LESS THAN (200), PARTITION p1 VALUES LESS THAN MAXVALUE);
CREATE TABLE shop.t_my (id INT PRIMARY KEY, a INT) ENGINE=MyISAM;
INSERT INTO shop.t_dyn (a, b) SELECT repeat('x', seq % 100), repeat('y', seq * 7) FROM seq_1_to_400;
INSERT INTO shop.t_zip SELECT seq, repeat('x', seq % 100), repeat('y', seq * 7) FROM seq_1_to_400;
INSERT INTO shop.t_part SELECT seq, seq FROM seq_1_to_400;
INSERT INTO shop.t_my SELECT seq, seq FROM seq_1_to_10;
CREATE TABLE shop.t_aria (id INT PRIMARY KEY) ENGINE=Aria;
CREATE TABLE shop.t_ft (id INT PRIMARY KEY, body TEXT, FULLTEXT KEY(body));
INSERT INTO shop.t_ft SELECT seq, concat('word', seq) FROM seq_1_to_50;
CREATE DATABASE crm;
USE crm;
CREATE TABLE crm.users (id INT PRIMARY KEY, name VARCHAR(50), UNIQUE KEY(name));
CREATE TABLE crm.notes (id INT PRIMARY KEY, user_id INT, body TEXT, KEY(user_id)) ROW_FORMAT=COMPACT;
INSERT INTO crm.users SELECT seq, concat('user', seq) FROM seq_1_to_300;
INSERT INTO crm.notes SELECT seq, seq % 300, repeat('note ', seq % 50) FROM seq_1_to_600
";

/// The tables whose checksums the restores must reproduce.
const TABLES: &[&str] = &[
    "shop.t_dyn",
    "shop.t_zip",
    "shop.t_part",
    "shop.t_my",
    "crm.users",
    "crm.notes",
];

/// One statement at a time on one connection (`USE` holds): an error in a
/// multi-statement string can go unnoticed.
fn exec_all(server: &TestServer, sql: &str) {
    let mut conn = server.conn().unwrap();
    for statement in sql.split(';').filter(|s| !s.trim().is_empty()) {
        conn.query_drop(statement)
            .unwrap_or_else(|e| panic!("{statement}: {e:#}"));
    }
}

fn definition(server: &TestServer, table: &str) -> String {
    let (_, def): (String, String) = server
        .query_one(&format!("SHOW CREATE TABLE {table}"))
        .unwrap();
    def
}

/// A small source server with [`SOURCE`], its checksums, and its (quiescent) hotbackup
/// backup in `dir/backup`, prepared with `--export` when `export`.
fn source_and_backup(
    mariadb: &MariaDb,
    dir: &Path,
    export: bool,
) -> (TestServer, PathBuf, BTreeMap<String, u64>) {
    let source = mariadb
        .server()
        .name("restore-source")
        .buffer_pool_size(32 << 20)
        .start()
        .unwrap();
    exec_all(&source, SOURCE);
    let expected: BTreeMap<String, u64> = TABLES
        .iter()
        .map(|t| (t.to_string(), source.checksum_table(t).unwrap()))
        .collect();
    let backup = dir.join("backup");
    Tool::Hotbackup(hotbackup().to_path_buf())
        .backup(&source, &backup, &[])
        .unwrap();
    if export {
        let out = run(&[
            format!("--defaults-file={}", backup.join("backup-my.cnf").display()),
            "--prepare".into(),
            "--export".into(),
            format!("--target-dir={}", backup.display()),
        ]);
        assert!(out.status.success(), "{}", stderr(&out));
    }
    (source, backup, expected)
}

fn run(args: &[String]) -> Output {
    run_env(args, &[])
}

fn run_env(args: &[String], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(hotbackup());
    cmd.args(args).stdin(Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// `hotbackup --restore-tables=PATTERN` of `backup` into `live`.
fn restore(
    live: &TestServer,
    backup: &Path,
    pattern: &str,
    extra: &[&str],
    env: &[(&str, &str)],
) -> Output {
    let mut args = vec![
        "--no-defaults".to_string(),
        format!("--restore-tables={pattern}"),
        format!("--target-dir={}", backup.display()),
        format!("--socket={}", live.socket_path().display()),
        "--user=root".to_string(),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    run_env(&args, env)
}

/// `restore` must succeed and end with "completed OK!".
fn restore_ok(live: &TestServer, backup: &Path, pattern: &str, extra: &[&str]) -> String {
    let out = restore(live, backup, pattern, extra, &[]);
    let log = stderr(&out);
    assert!(out.status.success(), "--restore-tables={pattern}: {log}");
    assert!(log.ends_with("completed OK!\n"), "{log}");
    log
}

/// `restore` must fail with `code` and a message containing every one of `says`.
fn refused(
    live: &TestServer,
    backup: &Path,
    pattern: &str,
    extra: &[&str],
    env: &[(&str, &str)],
    code: i32,
    says: &[&str],
) {
    let out = restore(live, backup, pattern, extra, env);
    let log = stderr(&out);
    assert_eq!(
        out.status.code(),
        Some(code),
        "--restore-tables={pattern} {extra:?}: {log}"
    );
    for s in says {
        assert!(
            log.contains(s),
            "--restore-tables={pattern}: {s:?} not in {log}"
        );
    }
}

/// Every file of `dir` with its bytes' hash (a backup must not change).
fn fingerprint(dir: &Path) -> BTreeMap<String, (u64, u64)> {
    use std::hash::{Hash, Hasher};
    testkit::file_names(dir)
        .into_iter()
        .map(|n| {
            let bytes = std::fs::read(dir.join(&n)).unwrap();
            let mut h = std::collections::hash_map::DefaultHasher::new();
            bytes.hash(&mut h);
            (n, (bytes.len() as u64, h.finish()))
        })
        .collect()
}

/// Inserts into `other.w` until stopped; returns how many rows it committed.
fn write_load(live: &TestServer, stop: Arc<AtomicBool>) -> std::thread::JoinHandle<u64> {
    let mut conn = live.conn().unwrap();
    std::thread::spawn(move || {
        let mut n: u64 = 0;
        while !stop.load(Ordering::Relaxed) {
            conn.query_drop(format!(
                "INSERT INTO other.w (v) VALUES (repeat('w', {}))",
                n % 500
            ))
            .unwrap();
            n += 1;
        }
        n
    })
}

fn live_server(mariadb: &MariaDb, tls: Option<&testkit::TlsFiles>) -> TestServer {
    let mut builder = mariadb
        .server()
        .name("restore-live")
        .binlog(true)
        .buffer_pool_size(32 << 20);
    if let Some(certs) = tls {
        builder = builder.tls(certs);
    }
    builder.start().unwrap()
}

#[test]
fn restore_tables_into_a_live_server_under_load() {
    let Some(mariadb) = testkit::require_mariadb() else {
        return;
    };
    let dir = TestDir::new("restore-live").unwrap();
    let (source, backup, expected) = source_and_backup(&mariadb, dir.path(), true);
    let defs: BTreeMap<&str, String> = ["shop.t_dyn", "shop.t_part", "shop.t_my"]
        .iter()
        .map(|t| (*t, definition(&source, t)))
        .collect();
    drop(source);
    let before = fingerprint(&backup);

    // The live server: shop with the same tables holding other rows, a table nobody
    // restores, and other.w written by another client all along. No crm.
    let live = live_server(&mariadb, None);
    exec_all(
        &live,
        &format!(
            "CREATE DATABASE shop; USE shop; {}; {}; {};
             INSERT INTO shop.t_dyn (a, b) SELECT 'live', 'live' FROM seq_1_to_50;
             INSERT INTO shop.t_my SELECT seq, 0 FROM seq_1_to_1000;
             INSERT INTO shop.t_part SELECT seq * 3, 0 FROM seq_1_to_300;
             CREATE TABLE shop.keep (id INT PRIMARY KEY, a INT);
             INSERT INTO shop.keep SELECT seq, seq * 2 FROM seq_1_to_100;
             CREATE DATABASE other;
             CREATE TABLE other.w (id INT PRIMARY KEY AUTO_INCREMENT, v TEXT)",
            defs["shop.t_dyn"], defs["shop.t_part"], defs["shop.t_my"]
        ),
    );
    // SHOW CREATE TABLE must not depend on the live server's global sql_mode.
    live.exec("SET GLOBAL sql_mode = 'ANSI_QUOTES,NO_TABLE_OPTIONS'")
        .unwrap();
    let keep = live.checksum_table("shop.keep").unwrap();
    assert_ne!(
        live.checksum_table("shop.t_dyn").unwrap(),
        expected["shop.t_dyn"],
        "the live table must differ from the backup's before the restore"
    );
    let stop = Arc::new(AtomicBool::new(false));
    let load = write_load(&live, Arc::clone(&stop));
    std::thread::sleep(Duration::from_millis(300));

    let log = restore_ok(&live, &backup, "shop.t_dyn", &[]);
    assert!(!log.contains("created"), "t_dyn existed: {log}");
    assert_eq!(
        live.checksum_table("shop.t_dyn").unwrap(),
        expected["shop.t_dyn"]
    );
    let log = restore_ok(&live, &backup, "crm.*", &[]);
    assert!(log.contains("created `crm`.`users`"), "{log}");
    for t in ["crm.users", "crm.notes"] {
        assert_eq!(live.checksum_table(t).unwrap(), expected[t], "{t}");
    }
    restore_ok(
        &live,
        &backup,
        "shop.t_zip",
        &["--restore-as=shop.t_zip_copy"],
    );
    assert_eq!(
        live.checksum_table("shop.t_zip_copy").unwrap(),
        expected["shop.t_zip"]
    );
    let log = restore_ok(&live, &backup, "shop.t_part", &[]);
    assert!(log.contains("partition p1 swapped in"), "{log}");
    assert_eq!(
        live.checksum_table("shop.t_part").unwrap(),
        expected["shop.t_part"]
    );
    restore_ok(&live, &backup, "shop.t_my", &[]);
    assert_eq!(
        live.checksum_table("shop.t_my").unwrap(),
        expected["shop.t_my"]
    );
    // A failure after the DISCARD says so; the same command again repairs it.
    let hook = [("HOTBACKUP_TEST_RESTORE_FAIL", "discarded")];
    let out = restore(&live, &backup, "shop.t_dyn", &[], &hook);
    let log = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{log}");
    assert!(
        log.contains("`shop`.`t_dyn` on the live server: its tablespace is DISCARDED")
            && log.contains("run the same command again"),
        "{log}"
    );
    assert!(
        live.checksum_table("shop.t_dyn").is_err(),
        "a discarded table reads"
    );
    restore_ok(&live, &backup, "shop.t_dyn", &[]);
    assert_eq!(
        live.checksum_table("shop.t_dyn").unwrap(),
        expected["shop.t_dyn"]
    );
    // ... and after the first partition of a partitioned table.
    let hook = [("HOTBACKUP_TEST_RESTORE_FAIL", "exchanged")];
    let out = restore(&live, &backup, "shop.t_part", &[], &hook);
    let log = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{log}");
    assert!(
        log.contains("`shop`.`t_part` on the live server: partitions p0 hold the backup's rows"),
        "{log}"
    );
    // The table that now holds the live partition's old rows is named, for the DBA to drop.
    let holder = log
        .split("DROP TABLE `shop`.`")
        .nth(1)
        .and_then(|rest| rest.split('`').next())
        .unwrap_or_else(|| panic!("no holder table named: {log}"));
    assert!(holder.starts_with("hotbackup_restore_"), "{log}");
    live.exec(&format!("DROP TABLE shop.{holder}")).unwrap();
    restore_ok(&live, &backup, "shop.t_part", &[]);
    assert_eq!(
        live.checksum_table("shop.t_part").unwrap(),
        expected["shop.t_part"]
    );
    // Restoring again over the restored table is the same restore.
    restore_ok(&live, &backup, "shop.t_dyn", &[]);
    assert_eq!(
        live.checksum_table("shop.t_dyn").unwrap(),
        expected["shop.t_dyn"]
    );

    stop.store(true, Ordering::Relaxed);
    let written = load.join().unwrap();
    assert!(written > 0, "the write load did nothing");
    let rows: u64 = live.query_one("SELECT COUNT(*) FROM other.w").unwrap();
    assert_eq!(rows, written, "other.w lost or gained rows");
    assert_eq!(live.checksum_table("shop.keep").unwrap(), keep);
    let failures = live.check_table_all().unwrap();
    assert!(failures.is_empty(), "CHECK TABLE: {failures:?}");
    // Placed files have the owner and mode of the server's own.
    {
        use std::os::unix::fs::MetadataExt;
        let meta = |f: &str| std::fs::metadata(live.datadir().join(f)).unwrap();
        for (placed, server_own) in [
            ("shop/t_dyn.ibd", "shop/t_dyn.frm"),
            ("crm/notes.ibd", "crm/notes.frm"),
            ("shop/t_my.MYD", "shop/t_my.frm"),
        ] {
            let (a, b) = (meta(placed), meta(server_own));
            assert_eq!(
                (a.uid(), a.gid(), a.mode() & 0o777),
                (b.uid(), b.gid(), b.mode() & 0o777),
                "{placed}"
            );
        }
    }
    // Nothing of hotbackup's is left in the datadir or in the binlog.
    let names = testkit::file_names(live.datadir());
    let left: Vec<&String> = names
        .iter()
        .filter(|n| {
            n.ends_with(".cfg")
                || n.contains("hotbackup_restore")
                || n.contains("hotbackup-restore")
        })
        .collect();
    assert!(left.is_empty(), "left in the live datadir: {left:?}");
    let events: Vec<testkit::mysql::Row> = live.query_rows("SHOW BINLOG EVENTS").unwrap();
    let binlog: String = events
        .iter()
        .filter_map(|r| r.get::<String, _>("Info"))
        .collect::<Vec<_>>()
        .join("\n");
    for statement in ["DISCARD", "IMPORT", "EXCHANGE", "crm"] {
        assert!(
            !binlog.contains(statement),
            "{statement} in the live binlog:\n{binlog}"
        );
    }
    assert_eq!(fingerprint(&backup), before, "the backup changed");
    // The restore asked for a checkpoint: a backup taken now has the imported tables (its
    // log does not reach back to the DISCARD, which would mark them deleted).
    let after = dir.path().join("after");
    let tool = Tool::Hotbackup(hotbackup().to_path_buf());
    tool.backup(&live, &after, &[]).unwrap();
    tool.prepare(&mariadb, &after).unwrap();
    for f in ["shop/t_dyn.ibd", "crm/users.ibd", "shop/t_part#P#p1.ibd"] {
        assert!(
            after.join(f).is_file(),
            "{f} missing from a backup after the restore"
        );
    }
    eprintln!("{written} rows written to other.w during the restores");
}

#[test]
fn restore_tables_refusals_and_an_unprepared_backup() {
    let Some(mariadb) = testkit::require_mariadb() else {
        return;
    };
    let dir = TestDir::new("restore-refusals").unwrap();
    let (source, backup, expected) = source_and_backup(&mariadb, dir.path(), true);
    // A partial backup, not prepared.
    let partial = dir.path().join("partial");
    Tool::Hotbackup(hotbackup().to_path_buf())
        .backup(&source, &partial, &["--tables=^shop[.]t_dyn$"])
        .unwrap();
    // TLS on the live server, for an account that requires it (the restore's session goes
    // through crates/server's TLS like a backup's).
    let certs = testkit::TlsFiles::generate(&dir.path().join("certs")).unwrap();
    let live = live_server(&mariadb, Some(&certs));
    live.exec("CREATE USER ssl_rs@localhost IDENTIFIED BY 'pw' REQUIRE SSL")
        .unwrap();
    live.exec("GRANT ALL ON *.* TO ssl_rs@localhost").unwrap();
    exec_all(
        &live,
        &format!(
            "CREATE DATABASE shop; USE shop; {};
             ALTER TABLE shop.t_dyn ADD COLUMN extra INT;
             INSERT INTO shop.t_dyn (a, b) SELECT 'live', 'live' FROM seq_1_to_20",
            definition(&source, "shop.t_dyn")
        ),
    );
    drop(source);
    let live_sum = live.checksum_table("shop.t_dyn").unwrap();
    let databases = || -> Vec<String> { live.query_rows("SHOW DATABASES").unwrap() };
    let dbs = databases();

    refused(
        &live,
        &backup,
        "shop.nope",
        &[],
        &[],
        2,
        &["shop.nope selects no table"],
    );
    refused(
        &live,
        &backup,
        "nodb.*",
        &[],
        &[],
        2,
        &["nodb.* selects no table"],
    );
    refused(
        &live,
        &backup,
        "shop.*",
        &[],
        &[],
        2,
        &[
            "`shop`.`t_aria` is neither InnoDB nor MyISAM (its files: MAD, MAI",
            "nothing was changed",
        ],
    );
    refused(
        &live,
        &backup,
        "shop.t_ft",
        &[],
        &[],
        2,
        &["`shop`.`t_ft` has a FULLTEXT index", "no table was changed"],
    );
    refused(
        &live,
        &partial,
        "shop.t_zip",
        &[],
        &[],
        2,
        &["partial backup", "left it out"],
    );
    refused(
        &live,
        &backup,
        "crm.*",
        &["--restore-as=crm.x"],
        &[],
        2,
        &["--restore-as renames one table"],
    );
    refused(
        &live,
        &backup,
        "shop.t_dyn",
        &[],
        &[],
        7,
        &[
            "`shop`.`t_dyn` exists on the live server with another definition",
            "`extra` int(11) DEFAULT NULL",
            "--restore-as",
        ],
    );
    refused(
        &live,
        &backup,
        "crm.users",
        &[],
        &[("HOTBACKUP_TEST_HOSTNAME", "elsewhere")],
        7,
        &["must run on this host", "\"elsewhere\""],
    );
    let old = dir.path().join("old");
    std::fs::create_dir(&old).unwrap();
    for name in testkit::file_names(&backup) {
        let to = old.join(&name);
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(backup.join(&name), to).unwrap();
    }
    let info = std::fs::read_to_string(old.join("xtrabackup_info")).unwrap();
    let version_line = info
        .lines()
        .find(|l| l.starts_with("server_version"))
        .unwrap()
        .to_string();
    std::fs::write(
        old.join("xtrabackup_info"),
        info.replace(&version_line, "server_version = 10.6.18-MariaDB"),
    )
    .unwrap();
    refused(
        &live,
        &old,
        "crm.users",
        &[],
        &[],
        7,
        &[
            "the live server is MariaDB 10.11",
            "the backup is of 10.6.18",
        ],
    );
    // SIGINT: taken at the next step, the copy removed, nothing changed.
    {
        use std::io::BufRead;
        let mut child = Command::new(hotbackup())
            .args([
                "--no-defaults".to_string(),
                "--restore-tables=crm.*".to_string(),
                format!("--target-dir={}", backup.display()),
                format!("--socket={}", live.socket_path().display()),
                "--user=root".to_string(),
            ])
            .stdin(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut lines = std::io::BufReader::new(child.stderr.take().unwrap()).lines();
        let mut log = String::new();
        for line in lines.by_ref() {
            let line = line.unwrap();
            log.push_str(&line);
            log.push('\n');
            if line.contains("Restore : connecting") {
                // SAFETY: a plain kill(2) of our own child.
                unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGINT) };
                break;
            }
        }
        for line in lines {
            log.push_str(&line.unwrap());
            log.push('\n');
        }
        let status = child.wait().unwrap();
        assert_eq!(status.code(), Some(1), "{log}");
        assert!(
            log.contains("--restore-tables was interrupted by SIGINT before"),
            "{log}"
        );
    }
    live.exec("SET GLOBAL innodb_file_per_table = OFF").unwrap();
    refused(
        &live,
        &backup,
        "crm.users",
        &[],
        &[],
        7,
        &["innodb_file_per_table=OFF", "no table was changed"],
    );
    live.exec("SET GLOBAL innodb_file_per_table = ON").unwrap();
    // None of them changed the live server.
    assert_eq!(live.checksum_table("shop.t_dyn").unwrap(), live_sum);
    assert_eq!(databases(), dbs, "a refused restore created a database");

    // The unprepared partial backup: restored through a prepared copy, left as it was.
    let before = fingerprint(&partial);
    let log = restore_ok(
        &live,
        &partial,
        "shop.t_dyn",
        &["--restore-as=shop.t_dyn_old"],
    );
    assert!(log.contains("preparing the copy"), "{log}");
    assert_eq!(
        live.checksum_table("shop.t_dyn_old").unwrap(),
        expected["shop.t_dyn"]
    );
    assert_eq!(
        fingerprint(&partial),
        before,
        "the unprepared backup changed"
    );
    // Over TLS with the REQUIRE SSL account; refused (exit 3) without it.
    let ca = format!("--ssl-ca={}", certs.ca.display());
    let tls_user = ["--user=ssl_rs", "--password=pw"];
    refused(
        &live,
        &backup,
        "shop.t_zip",
        &tls_user,
        &[],
        3,
        &["Access denied"],
    );
    let mut args = tls_user.to_vec();
    args.extend(["--ssl", ca.as_str(), "--restore-as=shop.t_zip_tls"]);
    restore_ok(&live, &backup, "shop.t_zip", &args);
    assert_eq!(
        live.checksum_table("shop.t_zip_tls").unwrap(),
        expected["shop.t_zip"]
    );
    let siblings: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".restore-"))
        .collect();
    assert!(siblings.is_empty(), "scratch copies left: {siblings:?}");
}
