//! A table discarded and imported again (`ALTER TABLE … DISCARD TABLESPACE`, a file put in
//! place, `IMPORT TABLESPACE`: the manual single-table restore) after the server's last
//! checkpoint. The log then holds FILE_DELETE of the table's space id, later FILE_MODIFY of
//! the same id (IMPORT keeps it) and records for both files: the old one's before the delete
//! and the imported one's after, while the imported pages carry LSN 0. mariadb-backup 10.11
//! leaves such a table out of its backup and says "completed OK"; hotbackup used to write
//! `t.del` next to `t.ibd` and its prepare refused the backup. Now the table is copied after
//! the import and prepare applies only the records after the FILE_DELETE.

use std::path::Path;

use testkit::mysql::prelude::Queryable;
use testkit::TestDir;
use testkit::{restore_and_verify, Tool};

#[test]
fn a_table_imported_after_the_checkpoint_is_backed_up_and_prepared() {
    let Some(mariadb) = testkit::require_mariadb() else {
        return;
    };
    let server = mariadb
        .server()
        .name("discard-import")
        .binlog(true)
        .start()
        .unwrap();
    let mut conn = testkit::mysql::Conn::new(server.mysql_opts()).unwrap();
    for sql in [
        "CREATE DATABASE d",
        "USE d",
        "CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(200)) ENGINE=InnoDB",
        "CREATE TABLE u LIKE t",
        "INSERT INTO t SELECT seq, REPEAT('t', 150) FROM seq_1_to_20000",
        "INSERT INTO u SELECT seq, REPEAT('u', 150) FROM seq_1_to_30000",
        "CREATE TABLE keep (id INT PRIMARY KEY, n INT) ENGINE=InnoDB",
        "INSERT INTO keep VALUES (1, 0)",
    ] {
        conn.query_drop(sql).unwrap();
    }
    let rows: u64 = conn.query_first("SELECT COUNT(*) FROM u").unwrap().unwrap();
    assert_eq!(rows, 30000);
    server.flush_innodb().unwrap();
    let checkpoint = server.status_u64("Innodb_lsn_last_checkpoint").unwrap();
    // A page dirty from here on holds the checkpoint back (DISCARD drops d.t's dirty
    // pages, which would otherwise let it move past the DISCARD).
    conn.query_drop("UPDATE keep SET n = n + 1").unwrap();

    // Records for the old file of d.t, then DISCARD/IMPORT of a copy of d.u into it, then
    // records for the imported file (on the pages the old records changed too).
    conn.query_drop("UPDATE d.t SET v = REPEAT('x', 190) WHERE id % 3 = 0")
        .unwrap();
    let files = TestDir::new("discard-import-files").unwrap();
    let db = server.datadir().join("d");
    conn.query_drop("FLUSH TABLES d.u FOR EXPORT").unwrap();
    for ext in ["ibd", "cfg"] {
        std::fs::copy(
            db.join(format!("u.{ext}")),
            files.path().join(format!("u.{ext}")),
        )
        .unwrap();
    }
    conn.query_drop("UNLOCK TABLES").unwrap();
    let before_discard = server.status_u64("Innodb_lsn_current").unwrap();
    conn.query_drop("ALTER TABLE d.t DISCARD TABLESPACE")
        .unwrap();
    for ext in ["ibd", "cfg"] {
        let to = db.join(format!("t.{ext}"));
        std::fs::copy(files.path().join(format!("u.{ext}")), &to).unwrap();
        chown_like(&db.join("u.frm"), &to);
    }
    conn.query_drop("ALTER TABLE d.t IMPORT TABLESPACE")
        .unwrap();
    // Little redo after the import, so that adaptive flushing leaves the checkpoint alone.
    conn.query_drop("UPDATE d.t SET v = CONCAT('y', v) WHERE id % 400 = 0")
        .unwrap();
    conn.query_drop("INSERT INTO d.t SELECT seq, 'new' FROM seq_30001_to_30100")
        .unwrap();
    drop(conn);

    let dir = TestDir::new("discard-import-backup").unwrap();
    let backup = dir.path().join("b");
    let ours = Tool::Hotbackup(env!("CARGO_BIN_EXE_hotbackup").into());
    let log = ours.backup(&server, &backup, &[]).unwrap();
    // The premise: the backup's log starts before the DISCARD.
    let start: u64 = log
        .lines()
        .find_map(|l| l.split("Redo log copy started at checkpoint LSN ").nth(1))
        .and_then(|rest| rest.split(' ').next()?.parse().ok())
        .unwrap_or_else(|| panic!("no start checkpoint in the backup's log:\n{log}"));
    assert!(
        start < before_discard,
        "the server checkpointed after the DISCARD ({start} >= {before_discard}; {checkpoint} \
         before it): this test would prove nothing"
    );
    assert!(backup.join("d/t.new").is_file(), "{log}");
    assert!(!backup.join("d/t.del").exists(), "{log}");
    ours.prepare(&mariadb, &backup).unwrap();
    assert!(backup.join("d/t.ibd").is_file());
    let report = restore_and_verify(&mariadb, &ours, &server, &backup).unwrap();
    assert!(report.tables_compared >= 2, "{report:?}");
}

/// Gives `to` the owner of `like` (the server's user), as a DBA's `chown` would.
fn chown_like(like: &Path, to: &Path) {
    use std::os::unix::fs::MetadataExt;
    let m = std::fs::metadata(like).unwrap();
    std::os::unix::fs::chown(to, Some(m.uid()), Some(m.gid())).unwrap();
}
