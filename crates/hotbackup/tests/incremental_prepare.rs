//! `hotbackup --prepare --incremental-dir` against mariadb-backup's own: a full backup and
//! two incrementals taken by mariadb-backup under sysbench + DML/DDL load (also of an
//! encrypted server), with a table dropped, a database and a table created, a table
//! renamed, an ADD COLUMN and a TRUNCATE between them. One copy of the chain is prepared by each tool; every file of the
//! prepared bases must be byte-identical (data pages, `ib_logfile0`, checkpoints), and
//! hotbackup's is restored and checked against the source (CHECK TABLE, binlog replay,
//! checksums). The refusals (unprepared base, LSN mismatch, applied twice, damaged
//! delta) change nothing; an apply killed at a delta page or a log page re-runs to the
//! same bytes.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use testkit::{MariaDb, PageSize, Scenario, TestDir, TestServer, Tool};

use common::hotbackup;

/// The three backups of a chain: full, inc1, inc2 (each a directory name under a root).
const CHAIN: [&str; 3] = ["full", "inc1", "inc2"];

fn prepare_cmd(program: &Path, base: &Path, inc: Option<&Path>) -> Command {
    common::incremental::prepare_command(program, base, inc)
}

fn run(mut cmd: Command) -> Output {
    cmd.output().expect("the tool runs")
}

fn ok(out: Output, what: &str) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        out.status.success(),
        "{what} failed ({}):\n{stderr}",
        out.status
    );
    stderr
}

/// Prepares the chain under `root` with `program` (the full, then each incremental);
/// returns the time the incremental steps took.
fn prepare_chain(program: &Path, root: &Path) -> Duration {
    let base = root.join("full");
    ok(
        run(prepare_cmd(program, &base, None)),
        "prepare of the base",
    );
    let started = Instant::now();
    for inc in &CHAIN[1..] {
        ok(
            run(prepare_cmd(program, &base, Some(&root.join(inc)))),
            &format!("prepare --incremental-dir={inc}"),
        );
    }
    started.elapsed()
}

/// Tables the DDL between the backups works on.
fn create_ddl_tables(source: &TestServer) {
    source
        .exec(
            "CREATE DATABASE inc; \
             CREATE TABLE inc.dropme (id INT PRIMARY KEY, v VARCHAR(200)) ENGINE=InnoDB; \
             CREATE TABLE inc.renme (id INT PRIMARY KEY, v VARCHAR(200)) ENGINE=InnoDB; \
             CREATE TABLE inc.altme (id INT PRIMARY KEY, v VARCHAR(200)) ENGINE=InnoDB; \
             CREATE TABLE inc.trunc (id INT PRIMARY KEY, v VARCHAR(200)) ENGINE=InnoDB; \
             CREATE TABLE inc.keep_myisam (id INT PRIMARY KEY, v VARCHAR(200)) ENGINE=MyISAM",
        )
        .unwrap();
    for t in ["dropme", "renme", "altme", "trunc", "keep_myisam"] {
        source
            .exec(&format!(
                "INSERT INTO inc.{t} SELECT seq, REPEAT('x', 150) FROM inc.seq_1_to_3000"
            ))
            .unwrap();
    }
}

/// Makes the server write its dirty pages (so that the deltas carry pages, not only log).
fn flush_pages(source: &TestServer) {
    source
        .exec(
            "SET GLOBAL innodb_max_dirty_pages_pct_lwm = 0.001; \
             SET GLOBAL innodb_max_dirty_pages_pct = 0",
        )
        .unwrap();
}

/// A chain taken by mariadb-backup under load with DDL between the backups, in
/// `root/{full,inc1,inc2}`.
fn take_chain(mariadb: &MariaDb, scenario: &Scenario, root: &Path, load: bool) {
    let source = &scenario.source;
    std::fs::create_dir_all(root).unwrap();
    create_ddl_tables(source);
    flush_pages(source);
    let running = load.then(|| scenario.load().unwrap());
    let full = root.join("full");
    Tool::MariaBackup.backup(source, &full, &[]).unwrap();
    source
        .exec(
            "DROP TABLE inc.dropme; \
             CREATE DATABASE inc_new; \
             CREATE TABLE inc_new.t (id INT PRIMARY KEY, v VARCHAR(200)) ENGINE=InnoDB; \
             INSERT INTO inc_new.t SELECT seq, REPEAT('n', 150) FROM inc.seq_1_to_2000; \
             RENAME TABLE inc.renme TO inc.renamed; \
             ALTER TABLE inc.altme ADD COLUMN z INT NOT NULL DEFAULT 7; \
             UPDATE inc.altme SET z = id WHERE id % 3 = 0; \
             INSERT INTO inc.keep_myisam VALUES (100000, 'after the full')",
        )
        .unwrap();
    std::thread::sleep(Duration::from_secs(1));
    let inc1 = root.join("inc1");
    Tool::MariaBackup
        .backup(
            source,
            &inc1,
            &[&format!("--incremental-basedir={}", full.display())],
        )
        .unwrap();
    source
        .exec(
            "TRUNCATE TABLE inc.trunc; \
             INSERT INTO inc.trunc VALUES (1, 'one'), (2, 'two'); \
             UPDATE inc.renamed SET v = 'renamed' WHERE id % 5 = 0; \
             INSERT INTO inc_new.t SELECT seq, 'later' FROM inc.seq_2001_to_4000",
        )
        .unwrap();
    std::thread::sleep(Duration::from_secs(1));
    Tool::MariaBackup
        .backup(
            source,
            &root.join("inc2"),
            &[&format!("--incremental-basedir={}", inc1.display())],
        )
        .unwrap();
    if let Some(r) = running {
        r.stop().unwrap();
    }
    let _ = mariadb;
}

fn copy_chain(from: &Path, to: &Path) {
    for b in CHAIN {
        testkit::copy_dir(&from.join(b), &to.join(b)).unwrap();
    }
}

/// `options`: extra server options (an encrypted server's), for the source and the restore.
fn cross_tool(page_size: PageSize, load: bool, options: &[String]) {
    let Some(mariadb) = testkit::require_mariadb() else {
        return;
    };
    let scenario = Scenario::start_with_options(&mariadb, page_size, 32 << 20, options).unwrap();
    let dir = TestDir::new("incr-prepare").unwrap();
    let taken = dir.path().join("taken");
    take_chain(&mariadb, &scenario, &taken, load);
    for inc in &CHAIN[1..] {
        let cp = std::fs::read_to_string(taken.join(inc).join("xtrabackup_checkpoints")).unwrap();
        assert!(cp.contains("backup_type = incremental"), "{inc}: {cp}");
    }
    let theirs = dir.path().join("mariadb-backup");
    let ours = dir.path().join("hotbackup");
    copy_chain(&taken, &theirs);
    copy_chain(&taken, &ours);
    let t_theirs = prepare_chain(mariadb.backup_program().unwrap(), &theirs);
    let t_ours = prepare_chain(hotbackup(), &ours);
    let pages = testkit::compare_prepared(
        &theirs.join("full"),
        &ours.join("full"),
        page_size.bytes() as usize,
    )
    .unwrap();
    // Every other file too (non-InnoDB files, metadata), byte for byte, except the Aria
    // files: 10.11's prepare ends with an Aria recovery, which hotbackup's (full or
    // incremental) does not run; the server's own recovery does it at start.
    let aria = |k: &String| k.starts_with("aria_log") || k.ends_with(".MAD") || k.ends_with(".MAI");
    let a = testkit::file_snapshot(&theirs.join("full"));
    let b = testkit::file_snapshot(&ours.join("full"));
    let differ: Vec<&String> = a
        .keys()
        .chain(b.keys())
        .filter(|k| !aria(k) && a.get(*k) != b.get(*k))
        .collect();
    assert!(differ.is_empty(), "files differ: {differ:?}");
    // The incremental is not consumed: it can be applied to another copy of the base.
    assert!(
        std::fs::read_dir(ours.join("inc1")).unwrap().any(|e| e
            .unwrap()
            .file_name()
            .to_string_lossy()
            .ends_with(".delta")),
        "hotbackup leaves the incremental as it was"
    );
    let report = testkit::restore_and_verify_with(
        &mariadb,
        &Tool::MariaBackup,
        &scenario.source,
        &ours.join("full"),
        options,
    )
    .unwrap();
    eprintln!(
        "{page_size:?}: {pages} pages identical; incremental prepare: hotbackup {t_ours:?}, \
         mariadb-backup {t_theirs:?}; {report:?}"
    );
    if page_size == PageSize::K16 {
        crash_and_resume(&taken, dir.path(), &theirs.join("full"), page_size);
    }
}

/// An apply killed at a delta page (whole and torn) and at a log page re-runs to the
/// bytes of mariadb-backup's prepare; meanwhile a plain prepare of the base is refused.
/// The log apply's in-place page writes are of two kinds, each torn: delta pages, written
/// without the journal (the re-run writes them from the delta first), and the other
/// pages, journaled (a page the log changes after the backup copied it is not in the
/// delta, nor is it rewritten by the re-run: only the journal repairs it).
fn crash_and_resume(taken: &Path, root: &Path, expected: &Path, page_size: PageSize) {
    for (var, value) in [
        ("HOTBACKUP_TEST_DELTA_CRASH", "3"),
        ("HOTBACKUP_TEST_DELTA_CRASH", "40,torn"),
        ("HOTBACKUP_TEST_PREPARE_CRASH", "2,torn"),
        ("HOTBACKUP_TEST_PREPARE_CRASH", "3,torn,delta"),
        ("HOTBACKUP_TEST_PREPARE_CRASH", "0,torn,other"),
    ] {
        let work = root.join(format!("crash-{var}-{value}"));
        copy_chain(taken, &work);
        let base = work.join("full");
        ok(
            run(prepare_cmd(hotbackup(), &base, None)),
            "prepare of the base",
        );
        let mut cmd = prepare_cmd(hotbackup(), &base, Some(&work.join("inc1")));
        cmd.env(var, value);
        let out = run(cmd);
        assert!(
            !out.status.success(),
            "{var}={value}: the apply was not stopped"
        );
        let refused = run(prepare_cmd(hotbackup(), &base, None));
        assert_eq!(
            refused.status.code(),
            Some(7),
            "{var}={value}: plain prepare"
        );
        let stderr = String::from_utf8_lossy(&refused.stderr);
        assert!(stderr.contains("half-way through applying"), "{stderr}");
        for inc in &CHAIN[1..] {
            ok(
                run(prepare_cmd(hotbackup(), &base, Some(&work.join(inc)))),
                &format!("{var}={value}: re-run of {inc}"),
            );
        }
        testkit::compare_prepared(expected, &base, page_size.bytes() as usize).unwrap();
        std::fs::remove_dir_all(&work).unwrap();
    }
}

/// An encrypted server (tables, log, Aria; aes_ctr, encrypted key file): the deltas of
/// encrypted pages and the encrypted log applied by both tools to the same bytes.
#[test]
fn encrypted_chain_4k_prepares_like_mariadb_backup() {
    cross_tool(PageSize::K4, true, &common::encryption::options(true));
}

#[test]
fn chain_16k_prepares_like_mariadb_backup() {
    cross_tool(PageSize::K16, true, &[]);
}

#[test]
fn chain_4k_prepares_like_mariadb_backup() {
    cross_tool(PageSize::K4, false, &[]);
}

#[test]
fn chain_64k_prepares_like_mariadb_backup() {
    cross_tool(PageSize::K64, false, &[]);
}

/// A quiet server's chain for the refusals.
fn quiet_chain(mariadb: &MariaDb, root: &Path) -> TestServer {
    let source = mariadb.server().name("src").start().unwrap();
    std::fs::create_dir_all(root).unwrap();
    create_ddl_tables(&source);
    flush_pages(&source);
    Tool::MariaBackup
        .backup(&source, &root.join("full"), &[])
        .unwrap();
    source
        .exec("UPDATE inc.altme SET v = 'one' WHERE id < 500")
        .unwrap();
    std::thread::sleep(Duration::from_secs(2));
    Tool::MariaBackup
        .backup(
            &source,
            &root.join("inc1"),
            &[&format!(
                "--incremental-basedir={}",
                root.join("full").display()
            )],
        )
        .unwrap();
    source
        .exec("UPDATE inc.altme SET v = 'two' WHERE id < 500")
        .unwrap();
    std::thread::sleep(Duration::from_secs(2));
    Tool::MariaBackup
        .backup(
            &source,
            &root.join("inc2"),
            &[&format!(
                "--incremental-basedir={}",
                root.join("inc1").display()
            )],
        )
        .unwrap();
    source
}

fn lsn(dir: &Path, key: &str) -> u64 {
    let text = std::fs::read_to_string(dir.join("xtrabackup_checkpoints")).unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{key} = ")))
        .unwrap()
        .parse()
        .unwrap()
}

/// Runs hotbackup expecting `code`, with `base` (and `inc`) unchanged; returns stderr.
fn refused(base: &Path, inc: &Path, code: i32) -> String {
    let before: BTreeMap<String, Vec<u8>> = testkit::file_snapshot(base);
    let inc_before = testkit::file_snapshot(inc);
    let out = run(prepare_cmd(hotbackup(), base, Some(inc)));
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(code), "{stderr}");
    testkit::assert_same_files(&before, base, "the base after a refused apply");
    testkit::assert_same_files(&inc_before, inc, "the incremental after a refused apply");
    stderr
}

#[test]
fn refusals_leave_the_base_as_it_was() {
    let Some(mariadb) = testkit::require_mariadb() else {
        return;
    };
    let dir = TestDir::new("incr-refuse").unwrap();
    let taken = dir.path().join("taken");
    let _source = quiet_chain(&mariadb, &taken);
    let work = dir.path().join("work");
    copy_chain(&taken, &work);
    let (base, inc1, inc2) = (work.join("full"), work.join("inc1"), work.join("inc2"));

    // An unprepared base: 10.11's words, exit 7.
    let stderr = refused(&base, &inc1, 7);
    assert!(
        stderr.contains("applying incremental backup needs a prepared target"),
        "{stderr}"
    );
    ok(
        run(prepare_cmd(hotbackup(), &base, None)),
        "prepare of the base",
    );

    // Out of order: both numbers and both directories.
    let stderr = refused(&base, &inc2, 7);
    for needle in [
        "seems not to be proper for the target".to_string(),
        lsn(&base, "to_lsn").to_string(),
        lsn(&inc2, "from_lsn").to_string(),
        base.display().to_string(),
        inc2.display().to_string(),
    ] {
        assert!(stderr.contains(&needle), "{needle:?} missing: {stderr}");
    }

    // A damaged page in a delta: exit 8 naming the file and byte, nothing written.
    let delta = find_delta_with_pages(&inc1);
    let pristine = std::fs::read(&delta).unwrap();
    let mut damaged = pristine.clone();
    let page_size = 16384;
    damaged[page_size + 200] ^= 0x5a;
    std::fs::write(&delta, &damaged).unwrap();
    let stderr = refused(&base, &inc1, 8);
    assert!(
        stderr.contains(&delta.display().to_string()) && stderr.contains("at byte 16384"),
        "{stderr}"
    );
    // A cut delta too.
    std::fs::write(&delta, &pristine[..pristine.len() - 100]).unwrap();
    let stderr = refused(&base, &inc1, 8);
    assert!(stderr.contains("inside a cluster"), "{stderr}");
    std::fs::write(&delta, &pristine).unwrap();

    // Applied, then applied again: refused.
    ok(
        run(prepare_cmd(hotbackup(), &base, Some(&inc1))),
        "apply of inc1",
    );
    let stderr = refused(&base, &inc1, 7);
    assert!(stderr.contains("is already applied"), "{stderr}");
    // Not an incremental.
    let stderr = refused(&base, &base.clone(), 7);
    assert!(stderr.contains("is not an incremental backup"), "{stderr}");
    ok(
        run(prepare_cmd(hotbackup(), &base, Some(&inc2))),
        "apply of inc2",
    );
}

/// A `.delta` of the incremental holding at least one page.
fn find_delta_with_pages(inc: &Path) -> PathBuf {
    let mut found = None;
    for db in std::fs::read_dir(inc).unwrap() {
        let db = db.unwrap().path();
        if !db.is_dir() {
            continue;
        }
        for f in std::fs::read_dir(&db).unwrap() {
            let f = f.unwrap().path();
            if f.to_string_lossy().ends_with(".ibd.delta")
                && std::fs::metadata(&f).unwrap().len() > 16384
            {
                found = Some(f);
            }
        }
    }
    found.expect("a delta with pages")
}

/// Page 3 of a file-per-table tablespace: the clustered index root, a leaf while the
/// table is small.
const LEAF: u32 = 3;

/// The log apply tears, at its in-place write, a page that no re-run rewrites: a leaf the
/// incremental copied before an UPDATE of one of its rows (so not in its delta), which
/// the incremental's log changes by records that read the page's old contents. Only the
/// journal repairs it: the re-run gives mariadb-backup's bytes. The premises are checked
/// so the test cannot pass vacuously: the page is absent from the delta, the log moves
/// its LSN past the delta's start, and a damaged copy of it stops the apply.
#[test]
fn torn_log_page_outside_the_delta_is_repaired_by_the_journal() {
    let Some(mariadb) = testkit::require_mariadb() else {
        return;
    };
    let source = mariadb.server().name("src").start().unwrap();
    let dir = TestDir::new("incr-journal").unwrap();
    let taken = dir.path().join("taken");
    let (full, inc1) = (taken.join("full"), taken.join("inc1"));
    std::fs::create_dir_all(&taken).unwrap();
    source
        .exec(
            "CREATE DATABASE inc; \
             CREATE TABLE inc.j (id INT PRIMARY KEY, v INT NOT NULL) ENGINE=InnoDB; \
             INSERT INTO inc.j SELECT seq, seq FROM inc.seq_1_to_100",
        )
        .unwrap();
    // The table written and checkpointed: the full has its file.
    flush_pages(&source);
    std::thread::sleep(Duration::from_secs(3));
    Tool::MariaBackup.backup(&source, &full, &[]).unwrap();
    // A change elsewhere, every page written and a checkpoint past it (so the incremental's
    // to_lsn moves, and its log does not rebuild the leaf from its page init), then no more
    // flushing: the UPDATE's leaf stays dirty in the buffer pool while the incremental
    // copies the file.
    source
        .exec("CREATE TABLE inc.k (id INT PRIMARY KEY) ENGINE=InnoDB; INSERT INTO inc.k VALUES (1)")
        .unwrap();
    std::thread::sleep(Duration::from_secs(3));
    source
        .exec(
            "SET GLOBAL innodb_max_dirty_pages_pct = 90; \
             SET GLOBAL innodb_max_dirty_pages_pct_lwm = 0",
        )
        .unwrap();
    source
        .exec("UPDATE inc.j SET v = v + 1000 WHERE id = 50")
        .unwrap();
    Tool::MariaBackup
        .backup(
            &source,
            &inc1,
            &[&format!("--incremental-basedir={}", full.display())],
        )
        .unwrap();

    let page_size = 16384;
    let page = |file: &Path, n: u32| -> Vec<u8> {
        let bytes = std::fs::read(file).unwrap();
        let at = n as usize * page_size;
        bytes[at..at + page_size].to_vec()
    };
    let be32 = |b: &[u8], at: usize| u32::from_be_bytes(b[at..at + 4].try_into().unwrap());
    let page_lsn = |b: &[u8]| u64::from_be_bytes(b[16..24].try_into().unwrap());
    let rel = Path::new("inc").join("j.ibd");
    // FIL_PAGE_SPACE_ID of page 0; PAGE_LEVEL (FIL_PAGE_DATA + 26) of the root: a leaf.
    let space = be32(&page(&full.join(&rel), 0), 34);
    let root = page(&full.join(&rel), LEAF);
    assert_eq!(&root[38 + 26..38 + 28], &[0, 0], "page {LEAF} is a leaf");
    let deltas = common::incremental::delta_pages(&inc1);
    let in_delta = deltas.get("inc/j.ibd").expect("a delta of inc.j");
    assert!(
        !in_delta.contains(&LEAF),
        "premise: page {LEAF} of inc.j is not in the delta ({in_delta:?}); the server \
         flushed it before the incremental copied the file"
    );

    let two = |to: &Path| {
        testkit::copy_dir(&full, &to.join("full")).unwrap();
        testkit::copy_dir(&inc1, &to.join("inc1")).unwrap();
        to.join("full")
    };
    let prepared_base = |to: &Path| {
        let base = two(to);
        ok(
            run(prepare_cmd(hotbackup(), &base, None)),
            "prepare of the base",
        );
        base
    };

    // What an uninterrupted apply gives: mariadb-backup's bytes; the log changed the leaf.
    let expected = two(&dir.path().join("mariadb-backup"));
    common::incremental::prepare_chain(
        &common::incremental::mariadb_backup(&mariadb),
        &expected,
        &[&dir.path().join("mariadb-backup").join("inc1")],
    );
    let from_lsn = lsn(&inc1, "from_lsn");
    let applied = page(&expected.join(&rel), LEAF);
    assert!(
        page_lsn(&applied) > from_lsn,
        "premise: the log changes page {LEAF} ({} <= {from_lsn})",
        page_lsn(&applied)
    );

    // Premise: the log reads the leaf's old contents (no page init): damaged, it stops
    // the apply.
    let base = prepared_base(&dir.path().join("damaged"));
    let mut bytes = std::fs::read(base.join(&rel)).unwrap();
    let at = LEAF as usize * page_size + page_size / 2 + 100;
    bytes[at] ^= 0x5a;
    std::fs::write(base.join(&rel), &bytes).unwrap();
    let out = run(prepare_cmd(
        hotbackup(),
        &base,
        Some(&base.with_file_name("inc1")),
    ));
    assert!(
        !out.status.success(),
        "premise: an apply over a damaged page {LEAF} of inc.j succeeded"
    );

    // The crash: the leaf's in-place write torn (the first half written), the process killed.
    let base = prepared_base(&dir.path().join("crash"));
    let before = page(&base.join(&rel), LEAF);
    let mut cmd = prepare_cmd(hotbackup(), &base, Some(&base.with_file_name("inc1")));
    cmd.env(
        "HOTBACKUP_TEST_PREPARE_CRASH",
        format!("0,torn,page={space}:{LEAF}"),
    );
    let out = run(cmd);
    assert!(!out.status.success(), "the apply was not stopped");
    let torn = page(&base.join(&rel), LEAF);
    assert!(
        torn[..page_size / 2] != before[..page_size / 2]
            && torn[page_size / 2..] == before[page_size / 2..],
        "page {LEAF} of inc.j is torn"
    );
    ok(
        run(prepare_cmd(
            hotbackup(),
            &base,
            Some(&base.with_file_name("inc1")),
        )),
        "re-run of the apply",
    );
    testkit::compare_prepared(&expected, &base, page_size).unwrap();
    assert_eq!(page(&base.join(&rel), LEAF), applied);
}
