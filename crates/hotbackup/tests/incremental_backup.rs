//! `hotbackup --backup --incremental-*` against real servers, with mariadb-backup as the
//! oracle for the prepare side (`--prepare --incremental-dir`): a chain of a full backup and
//! two incrementals taken under load with DDL between them, prepared and restored to the
//! source's checksums (also of an encrypted server); a hotbackup incremental on a mariadb-backup base whose deltas hold the
//! same pages as mariadb-backup's own incremental of that base; an incremental through
//! `--stream=xbstream --compress`; and the refusals (no complete base, a base LSN ahead of
//! the server, an unknown history series, a malformed LSN), each before anything is written.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use common::incremental::{checkpoint, delta_pages, mariadb_backup, prepare_chain};
use testkit::{PageSize, Scenario, TestDir, TestServer, Tool};

fn hotbackup() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_hotbackup"))
}

fn hb() -> Tool {
    Tool::Hotbackup(hotbackup().to_path_buf())
}

fn basedir(dir: &Path) -> String {
    format!("--incremental-basedir={}", dir.display())
}

/// `name` rows in a new InnoDB table `t`.
fn table(server: &TestServer, t: &str, rows: u32) {
    server
        .exec(&format!(
            "CREATE TABLE {t} (id INT PRIMARY KEY, v VARCHAR(200)) ENGINE=InnoDB"
        ))
        .unwrap();
    fill(server, t, 0, rows);
}

fn fill(server: &TestServer, t: &str, from: u32, rows: u32) {
    let values: Vec<String> = (from..from + rows)
        .map(|i| format!("({i}, REPEAT('{}', 150))", (b'a' + (i % 26) as u8) as char))
        .collect();
    for chunk in values.chunks(500) {
        server
            .exec(&format!(
                "INSERT INTO {t} (id, v) VALUES {}",
                chunk.join(",")
            ))
            .unwrap();
    }
}

/// Checks what every incremental says about itself, and that no InnoDB file went whole
/// (only `.delta` + `.meta`; `.new` for tables created during the backup).
fn assert_incremental(inc: &Path, base_to_lsn: &str) {
    assert_eq!(checkpoint(inc, "backup_type"), "incremental");
    assert_eq!(checkpoint(inc, "from_lsn"), base_to_lsn);
    let info = std::fs::read_to_string(inc.join("xtrabackup_info")).unwrap();
    assert!(info.contains("\nincremental = Y\n"), "{info}");
    assert!(
        info.contains(&format!("\ninnodb_from_lsn = {base_to_lsn}\n")),
        "{info}"
    );
    let deltas = delta_pages(inc);
    for name in ["ibdata1", "undo001"] {
        if name == "undo001" && !inc.join("undo001.meta").exists() {
            continue;
        }
        assert!(
            deltas.contains_key(name),
            "{name}.delta missing: {deltas:?}"
        );
    }
    for f in testkit::file_names(inc) {
        assert!(
            !f.ends_with(".ibd") && f != "ibdata1" && !f.starts_with("undo0"),
            "{f}: an InnoDB file copied whole into an incremental"
        );
    }
}

/// The DDL of the issue between two backups, on the tables `prepare_ddl` made.
fn ddl_between(server: &TestServer, round: u32) {
    match round {
        1 => server
            .exec(
                "DROP TABLE inc.dropme; CREATE DATABASE inc2; \
                 RENAME TABLE inc.renameme TO inc.renamed; \
                 ALTER TABLE inc.altered ADD COLUMN c INT NOT NULL DEFAULT 7; \
                 TRUNCATE TABLE inc.truncated;",
            )
            .unwrap(),
        _ => server
            .exec(
                "DROP DATABASE gone; ALTER TABLE inc2.t ADD COLUMN w INT DEFAULT 3; \
                 TRUNCATE TABLE inc.renamed; RENAME TABLE inc.created TO inc2.moved;",
            )
            .unwrap(),
    }
    if round == 1 {
        table(server, "inc2.t", 300);
        table(server, "inc.created", 2000);
        fill(server, "inc.truncated", 10_000, 50);
    } else {
        fill(server, "inc2.t", 5000, 300);
        table(server, "inc.late", 10);
    }
}

fn status(server: &TestServer, name: &str) -> u64 {
    let v: String = server
        .query_one(&format!(
            "SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME = '{name}'"
        ))
        .unwrap();
    v.parse().unwrap()
}

/// Waits until the server's checkpoint has passed its current LSN.
fn checkpoint_past_now(server: &TestServer) {
    let now = status(server, "INNODB_LSN_CURRENT");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    while status(server, "INNODB_LSN_LAST_CHECKPOINT") < now {
        assert!(
            std::time::Instant::now() < deadline,
            "no checkpoint past LSN {now} within 120 s"
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
}

fn prepare_ddl(server: &TestServer) {
    server
        .exec("CREATE DATABASE inc; CREATE DATABASE gone")
        .unwrap();
    for t in [
        "inc.dropme",
        "inc.renameme",
        "inc.altered",
        "inc.truncated",
        "gone.t",
    ] {
        table(server, t, 400);
    }
}

/// The main chain: full + two incrementals by hotbackup under sysbench and DDL load, with
/// the DDL between them; mariadb-backup prepares the chain; restored, CHECK TABLE,
/// binlog replay from the last incremental, checksums equal to the source. `options`:
/// extra server options (an encrypted server's), for the source and the restores.
fn chain_under_load(page_size: PageSize, options: &[String]) {
    let Some(mariadb) = testkit::require_mariadb() else {
        return;
    };
    let scenario = Scenario::start_with_options(&mariadb, page_size, 32 << 20, options).unwrap();
    let source = &scenario.source;
    prepare_ddl(source);
    let dir = TestDir::new("incr-chain").unwrap();
    let full = dir.path().join("full");
    let incs = [dir.path().join("inc1"), dir.path().join("inc2")];

    // One load (sysbench for its first 12 s, DML and CREATE/RENAME/DROP TABLE throughout)
    // runs through the three backups and the DDL between them.
    let load = scenario.load().unwrap();
    let stderr = hb().backup(source, &full, &["--parallel=2"]).unwrap();
    assert!(stderr.contains("completed OK!"), "{stderr}");
    // Pages reach the disk (and checkpoints advance) all the time from now on: without
    // that, a server with room in its log flushes nothing, the deltas are empty and the
    // incremental's redo (from the same checkpoint as the base's) holds every change.
    source
        .exec("SET GLOBAL innodb_max_dirty_pages_pct_lwm = 0.001, innodb_max_dirty_pages_pct = 0")
        .unwrap();

    let mut base = full.clone();
    for (round, inc) in incs.iter().enumerate() {
        ddl_between(source, round as u32 + 1);
        // The incremental's redo then starts after the DDL: its changes can only come from
        // the deltas (and `.new`), not from replaying the log.
        checkpoint_past_now(source);
        let stderr = hb()
            .backup(source, inc, &["--parallel=2", &basedir(&base)])
            .unwrap();
        assert!(
            stderr.contains(&format!(
                "incremental backup from {} is enabled.",
                checkpoint(&base, "to_lsn")
            )),
            "{stderr}"
        );
        assert_incremental(inc, &checkpoint(&base, "to_lsn"));
        base = inc.clone();
    }
    let stats = load.stop().unwrap();
    assert!(
        stats.total_ops() > 0 && stats.tables_created > 0,
        "{stats:?}"
    );
    let deltas = delta_pages(&incs[0]);
    assert!(
        !deltas.contains_key("inc/dropme.ibd"),
        "dropped before the incremental: {deltas:?}"
    );
    let total: usize = deltas.values().map(Vec::len).sum();
    assert!(total > 100, "the deltas hold {total} pages: {deltas:?}");
    // Created or changed since the base: a delta, or whole as `.new` (created in the
    // backup's redo window).
    for t in [
        "inc2/t",
        "inc/created",
        "inc/altered",
        "inc/renamed",
        "inc/truncated",
    ] {
        assert!(
            deltas.contains_key(&format!("{t}.ibd")) || incs[0].join(format!("{t}.new")).exists(),
            "{t}: neither a delta nor .new in {deltas:?}"
        );
    }

    // hotbackup prepares the chain first: mariadb-backup's prepare consumes the
    // incrementals (it deletes their .delta files), hotbackup's only reads them.
    let ours = dir.path().join("prepared-hotbackup");
    testkit::copy_dir(&full, &ours).unwrap();
    prepare_chain(common::hotbackup(), &ours, &[&incs[0], &incs[1]]);
    let prepared = dir.path().join("prepared");
    testkit::copy_dir(&full, &prepared).unwrap();
    let mb = mariadb_backup(&mariadb);
    prepare_chain(&mb, &prepared, &[&incs[0], &incs[1]]);
    for p in [&prepared, &ours] {
        assert_eq!(
            std::fs::read_to_string(p.join("xtrabackup_binlog_info")).unwrap(),
            std::fs::read_to_string(incs[1].join("xtrabackup_binlog_info")).unwrap()
        );
    }
    // The same pages from both tools' prepares of hotbackup's chain.
    let pages = testkit::compare_prepared(&prepared, &ours, page_size.bytes() as usize).unwrap();
    assert!(pages > 0);
    let report =
        testkit::restore_and_verify_with(&mariadb, &Tool::MariaBackup, source, &prepared, options)
            .unwrap();
    eprintln!("{page_size:?} (mariadb-backup's prepare): {report:?}");
    assert!(report.tables_compared >= 10, "{report:?}");
    let tool = Tool::Hotbackup(common::hotbackup().to_path_buf());
    let report = testkit::restore_and_verify_with(&mariadb, &tool, source, &ours, options).unwrap();
    eprintln!("{page_size:?} (hotbackup's prepare): {report:?}");
    assert!(report.tables_compared >= 10, "{report:?}");
}

#[test]
fn chain_16k_under_load_with_ddl_restores_identical() {
    chain_under_load(PageSize::K16, &[]);
}

/// The same chain of an encrypted server (tables, log, Aria; aes_cbc): deltas of encrypted
/// pages, prepared by both tools to the same bytes, restored with the keys.
#[test]
fn encrypted_chain_16k_under_load_with_ddl_restores_identical() {
    chain_under_load(PageSize::K16, &common::encryption::options(false));
}

/// On a quiet server: mariadb-backup's full backup as the base, then mariadb-backup's and
/// hotbackup's incrementals of it hold the same pages for the tables no one writes in
/// between (byte-identical `.meta`), and hotbackup's incremental on the mariadb-backup base
/// prepares and restores.
fn same_pages_as_mariadb_backup(page_size: PageSize) {
    let Some(mariadb) = testkit::require_mariadb() else {
        return;
    };
    let source = mariadb
        .server()
        .name("src")
        .page_size(page_size)
        .binlog(true)
        .start()
        .unwrap();
    source.exec("CREATE DATABASE q").unwrap();
    for t in ["q.a", "q.b", "q.untouched"] {
        table(&source, t, 600);
    }
    let dir = TestDir::new("incr-same").unwrap();
    let base = dir.path().join("base");
    Tool::MariaBackup.backup(&source, &base, &[]).unwrap();
    source
        .exec("UPDATE q.a SET v = REPEAT('z', 150) WHERE id % 7 = 0")
        .unwrap();
    fill(&source, "q.b", 1000, 800);
    table(&source, "q.c", 900);
    // Every change of these tables on disk now, so both incrementals see the same pages.
    source
        .exec("FLUSH TABLES q.a, q.b, q.c, q.untouched FOR EXPORT")
        .unwrap();
    source.exec("UNLOCK TABLES").unwrap();

    let theirs = dir.path().join("mb-inc");
    let ours = dir.path().join("hb-inc");
    Tool::MariaBackup
        .backup(&source, &theirs, &[&basedir(&base)])
        .unwrap();
    hb().backup(&source, &ours, &[&basedir(&base)]).unwrap();
    assert_incremental(&ours, &checkpoint(&base, "to_lsn"));
    let (t, o) = (delta_pages(&theirs), delta_pages(&ours));
    for name in ["q/a.ibd", "q/b.ibd", "q/c.ibd", "q/untouched.ibd"] {
        assert_eq!(o.get(name), t.get(name), "{name}: pages differ");
        let meta = |d: &PathBuf| std::fs::read(d.join(format!("{name}.meta"))).unwrap();
        assert_eq!(meta(&ours), meta(&theirs), "{name}.meta");
    }
    assert!(o["q/a.ibd"].len() > 1 && o["q/c.ibd"].len() > 3, "{o:?}");
    // Same files, as names: deltas, metas, the rest. (Not `.new`: hotbackup also copies a
    // table whose FILE_CREATE is in the backup's redo window whole as `.new`, where
    // mariadb-backup relies on the delta; both prepare to the same table.)
    let names = |d: &Path| {
        testkit::file_names(d)
            .into_iter()
            .filter(|n| {
                !n.starts_with("xtrabackup_") && !n.starts_with("aria_log") && !n.ends_with(".new")
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(names(&ours), names(&theirs));

    let prepared = dir.path().join("prepared");
    testkit::copy_dir(&base, &prepared).unwrap();
    prepare_chain(&mariadb_backup(&mariadb), &prepared, &[&ours]);
    let report =
        testkit::restore_and_verify(&mariadb, &Tool::MariaBackup, &source, &prepared).unwrap();
    assert!(report.tables_compared >= 4, "{report:?}");
}

#[test]
fn same_pages_as_mariadb_backup_on_its_base_4k() {
    same_pages_as_mariadb_backup(PageSize::K4);
}

/// `--stream=xbstream --compress` incremental at 64k: extracted by the real `mbstream -x`,
/// names as mariadb-backup's (`NAME.delta.qp`, plain `NAME.meta`), decompressed, prepared
/// onto a hotbackup base and restored.
#[test]
fn streamed_compressed_incremental_64k() {
    let Some(mariadb) = testkit::require_mariadb() else {
        return;
    };
    let source = mariadb
        .server()
        .name("src")
        .page_size(PageSize::K64)
        .binlog(true)
        .start()
        .unwrap();
    source.exec("CREATE DATABASE s").unwrap();
    table(&source, "s.a", 500);
    // Page 0 on disk: a table whose page 0 is not written yet goes whole as `.new`.
    source.exec("FLUSH TABLES s.a FOR EXPORT").unwrap();
    source.exec("UNLOCK TABLES").unwrap();
    let dir = TestDir::new("incr-stream").unwrap();
    let base = dir.path().join("base");
    hb().backup(&source, &base, &[]).unwrap();
    fill(&source, "s.a", 1000, 500);
    table(&source, "s.b", 300);

    let inc = dir.path().join("inc");
    std::fs::create_dir_all(&inc).unwrap();
    let mut mbstream = Command::new("mbstream")
        .arg("-x")
        .arg("-C")
        .arg(&inc)
        .stdin(Stdio::piped())
        .spawn()
        .expect("mbstream (mariadb-backup's extractor) is needed");
    let pipe = mbstream.stdin.take().unwrap();
    let out = Command::new(hotbackup())
        .args([
            "--no-defaults",
            "--backup",
            "--stream=xbstream",
            "--compress",
        ])
        .arg(basedir(&base))
        .arg(format!(
            "--target-dir={}",
            dir.path().join("unused").display()
        ))
        .arg(format!("--socket={}", source.socket_path().display()))
        .arg("--user=root")
        .stdin(Stdio::null())
        .stdout(pipe)
        .output()
        .unwrap();
    assert!(mbstream.wait().unwrap().success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let names = testkit::file_names(&inc);
    for want in [
        "ibdata1.delta.qp",
        "ibdata1.meta",
        "s/a.ibd.delta.qp",
        "s/a.ibd.meta",
        "xtrabackup_checkpoints",
        "xtrabackup_info.qp",
    ] {
        assert!(names.iter().any(|n| n == want), "{want} not in {names:?}");
    }
    let out = Command::new(hotbackup())
        .args(["--no-defaults", "--decompress", "--remove-original"])
        .arg(format!("--target-dir={}", inc.display()))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_incremental(&inc, &checkpoint(&base, "to_lsn"));
    // s.b, created after the base: as a delta of all its pages, or whole when its page 0
    // is not on disk yet.
    let b_pages = delta_pages(&inc).get("s/b.ibd").map_or(0, Vec::len);
    assert!(b_pages >= 3 || inc.join("s/b.new").exists(), "{b_pages}");

    let prepared = dir.path().join("prepared");
    testkit::copy_dir(&base, &prepared).unwrap();
    prepare_chain(&mariadb_backup(&mariadb), &prepared, &[&inc]);
    let report =
        testkit::restore_and_verify(&mariadb, &Tool::MariaBackup, &source, &prepared).unwrap();
    assert!(report.tables_compared >= 2, "{report:?}");
}

/// Runs a hotbackup backup into `target`; returns (exit code, stderr).
fn try_backup(source: &TestServer, target: &Path, extra: &[&str]) -> (i32, String) {
    let out = common::backup_command(source.socket_path(), target, "root", extra)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Every refusal before anything is written, and the history lookup that works.
#[test]
fn bases_that_cannot_be_right_are_refused_before_anything_is_written() {
    let Some(mariadb) = testkit::require_mariadb() else {
        return;
    };
    let source = mariadb
        .server()
        .name("src")
        .page_size(PageSize::K4)
        .start()
        .unwrap();
    let dir = TestDir::new("incr-refuse").unwrap();
    let target = dir.path().join("target");
    let empty = dir.path().join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let lsn_ahead = format!("--incremental-lsn={}", u64::MAX / 2);
    let cases: Vec<(Vec<String>, i32, &str)> = vec![
        (
            vec![basedir(&empty)],
            7,
            "not a complete backup: it has no xtrabackup_checkpoints",
        ),
        (
            vec![basedir(&dir.path().join("missing"))],
            7,
            "not a complete backup",
        ),
        (vec![lsn_ahead], 7, "ahead of this server's current LSN"),
        (
            vec!["--incremental-lsn=12ab".into()],
            2,
            "value '12ab' may be wrong format for incremental option",
        ),
        (
            vec!["--incremental-history-name=nightly".into()],
            1,
            "mysql.mariadb_backup_history does not exist",
        ),
        (
            vec![
                "--incremental-history-name=a".into(),
                "--incremental-history-uuid=b".into(),
            ],
            2,
            "either --incremental-history-name or --incremental-history-uuid",
        ),
    ];
    for (args, code, says) in &cases {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let (got, stderr) = try_backup(&source, &target, &args);
        assert_eq!(got, *code, "{args:?}: {stderr}");
        assert!(stderr.contains(says), "{args:?}: {stderr}");
        assert!(!target.exists(), "{args:?} created the target");
    }

    // --history=nightly, then the series finds it; an unknown series does not.
    let full = dir.path().join("full");
    hb().backup(&source, &full, &["--history=nightly"]).unwrap();
    source.exec("CREATE DATABASE IF NOT EXISTS test").unwrap();
    table(&source, "test.t", 100);
    let (got, stderr) = try_backup(&source, &target, &["--incremental-history-name=other"]);
    assert_eq!(got, 1, "{stderr}");
    assert!(
        stderr.contains("Error while attempting to find history record for name other"),
        "{stderr}"
    );
    assert!(!target.exists());
    let (got, stderr) = try_backup(&source, &target, &["--incremental-history-name=nightly"]);
    assert_eq!(got, 0, "{stderr}");
    assert!(
        stderr.contains(&format!(
            "Found and using lsn: {} for name nightly",
            checkpoint(&full, "to_lsn")
        )),
        "{stderr}"
    );
    assert_incremental(&target, &checkpoint(&full, "to_lsn"));
    // A prepared base is a base too (as mariadb-backup): its to_lsn is unchanged.
    Tool::MariaBackup.prepare(&mariadb, &full).unwrap();
    let again = dir.path().join("again");
    let (got, stderr) = try_backup(&source, &again, &[&basedir(&full)]);
    assert_eq!(got, 0, "{stderr}");
    assert_eq!(checkpoint(&again, "from_lsn"), checkpoint(&full, "to_lsn"));
}
