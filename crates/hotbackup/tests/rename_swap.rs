//! Renames during a backup, after the tables involved were copied: the swap
//! `RENAME TABLE a TO tmp, b TO a, tmp TO b` (the cut-over of pt-online-schema-change and
//! gh-ost), a chain (`c2 → c3, c1 → c2`) and a cycle of three, while rows keep being
//! inserted. The backup leaves `.ren` markers that only a prepare which reads them together
//! applies right: `hotbackup --prepare` must give every `.ibd` the space id
//! `mariadb-backup --prepare` gives it (on a copy of the same backup), and the restored
//! server must hold the source's rows (CHECK TABLE, binlog replay, checksums). A backup
//! whose markers do not fit its files is refused and left byte-identical.
//!
//! The copy is slowed with `--throttle=1` (about a second per tablespace, one thread, files
//! in name order) and the test watches the backup's log to rename once `sw/a`…`sw/d3` are
//! copied and the fillers `sw/t*` are not yet.

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use testkit::mysql::prelude::Queryable;
use testkit::{PageSize, TestDir, Tool};

fn hotbackup() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_hotbackup"))
}

/// Every `db/t.ibd` of a prepared backup with the space id on its page 0.
fn space_ids(dir: &Path) -> BTreeMap<String, u32> {
    let mut out = BTreeMap::new();
    for db in fs::read_dir(dir).unwrap() {
        let db = db.unwrap();
        if !db.file_type().unwrap().is_dir() {
            continue;
        }
        for f in fs::read_dir(db.path()).unwrap() {
            let p = f.unwrap().path();
            if p.extension().is_some_and(|x| x == "ibd") {
                let mut id = [0u8; 4];
                fs::File::open(&p)
                    .unwrap()
                    .read_exact_at(&mut id, 38)
                    .unwrap();
                let rel = p.strip_prefix(dir).unwrap().to_string_lossy().into_owned();
                out.insert(rel, u32::from_be_bytes(id));
            }
        }
    }
    out
}

/// Every file under `dir` with its bytes.
fn contents(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).unwrap() {
            let e = e.unwrap();
            if e.file_type().unwrap().is_dir() {
                stack.push(e.path());
            } else {
                out.insert(e.path(), fs::read(e.path()).unwrap());
            }
        }
    }
    out
}

#[test]
fn swap_chain_and_cycle_during_the_copy_restore_the_right_rows() {
    let Some(mariadb) = testkit::require_mariadb() else {
        return;
    };
    let mut source = mariadb
        .server()
        .name("swap")
        .page_size(PageSize::K16)
        .binlog(true)
        .start()
        .unwrap();
    source.exec("CREATE DATABASE sw").unwrap();
    // Tables renamed during the copy (copied first: names sort before the fillers) and
    // fillers that keep the copy busy meanwhile. Same columns everywhere, so inserts go on
    // across the renames; `tag` tells where a row was first written.
    let tables = [
        "a", "b", "c1", "c2", "d1", "d2", "d3", "t0", "t1", "t2", "t3", "t4",
    ];
    for (i, t) in tables.iter().enumerate() {
        source
            .exec(&format!(
                "CREATE TABLE sw.{t} (id INT AUTO_INCREMENT PRIMARY KEY, tag VARCHAR(8), \
                 pad VARCHAR(200)) ENGINE=InnoDB"
            ))
            .unwrap();
        let rows: Vec<String> = (0..20 + i * 7)
            .map(|_| format!("('{t}', REPEAT('{t}', 50))"))
            .collect();
        source
            .exec(&format!(
                "INSERT INTO sw.{t} (tag, pad) VALUES {}",
                rows.join(",")
            ))
            .unwrap();
    }
    // A clean restart flushes every page: the copies all have a known space id.
    source.stop().unwrap();
    source.restart().unwrap();

    // Write load for the whole backup: single-row inserts into the renamed tables.
    let stop = Arc::new(AtomicBool::new(false));
    let load = {
        let stop = stop.clone();
        let opts = source.mysql_opts();
        std::thread::spawn(move || {
            let mut conn = testkit::mysql::Conn::new(opts).unwrap();
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) {
                for t in ["a", "b", "c2", "c3", "d1", "d2", "d3", "t4"] {
                    // c3 exists only after the chain; errors there are expected.
                    let _ = conn.query_drop(format!(
                        "INSERT INTO sw.{t} (tag, pad) VALUES ('load', 'x')"
                    ));
                }
                n += 1;
                std::thread::sleep(Duration::from_millis(20));
            }
            n
        })
    };

    let dir = TestDir::new("rename-swap").unwrap();
    let target = dir.path().join("bk");
    let log = dir.path().join("backup.stderr");
    let mut child = Command::new(hotbackup())
        .arg("--no-defaults")
        .arg("--backup")
        .arg(format!("--target-dir={}", target.display()))
        .arg(format!("--socket={}", source.socket_path().display()))
        .arg("--user=root")
        .arg("--throttle=1")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    // "Copying …/sw/t1.ibd" means t0 and everything before it is copied.
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let text = fs::read_to_string(&log).unwrap_or_default();
        if text
            .lines()
            .any(|l| l.contains("Copying") && l.contains("/sw/t1.ibd"))
        {
            break;
        }
        assert!(
            child.try_wait().unwrap().is_none(),
            "the backup ended before the renames:\n{text}"
        );
        assert!(Instant::now() < deadline, "the copy is stuck:\n{text}");
        std::thread::sleep(Duration::from_millis(20));
    }
    source
        .exec("RENAME TABLE sw.a TO sw.tmp, sw.b TO sw.a, sw.tmp TO sw.b")
        .unwrap();
    source
        .exec("RENAME TABLE sw.c2 TO sw.c3, sw.c1 TO sw.c2")
        .unwrap();
    source
        .exec("RENAME TABLE sw.d1 TO sw.tmp, sw.d3 TO sw.d1, sw.d2 TO sw.d3, sw.tmp TO sw.d2")
        .unwrap();
    let status = {
        let deadline = Instant::now() + Duration::from_secs(180);
        loop {
            if let Some(s) = child.try_wait().unwrap() {
                break s;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!("the backup hung");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    };
    let stderr = fs::read_to_string(&log).unwrap();
    assert!(status.success(), "the backup failed ({status}):\n{stderr}");
    stop.store(true, Ordering::Relaxed);
    let rounds = load.join().unwrap();
    assert!(rounds > 10, "the load did not run: {rounds} rounds");

    // The renames happened after the copies: the backup says so with markers.
    let ren = |name: &str| fs::read_to_string(target.join(format!("sw/{name}.ren"))).ok();
    let markers: Vec<_> = ["a", "b", "c1", "c2", "d1", "d2", "d3"]
        .iter()
        .map(|t| (t.to_string(), ren(t)))
        .collect();
    let want = [
        ("a", "sw/b"),
        ("b", "sw/a"),
        ("c1", "sw/c2"),
        ("c2", "sw/c3"),
        ("d1", "sw/d2"),
        ("d2", "sw/d3"),
        ("d3", "sw/d1"),
    ];
    for ((t, got), (_, w)) in markers.iter().zip(want) {
        assert_eq!(got.as_deref(), Some(w), "sw/{t}.ren; all: {markers:?}");
    }

    // A renamed copy is not copied again under its new name.
    let news: Vec<_> = fs::read_dir(target.join("sw"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".new"))
        .collect();
    assert!(news.is_empty(), "unexpected .new files: {news:?}");

    // Oracle: mariadb-backup prepares a copy of the same backup.
    let oracle = dir.path().join("bk-mariadb-backup");
    testkit::copy_dir(&target, &oracle).unwrap();
    // A copy whose markers do not fit its files: refused, untouched.
    let broken = dir.path().join("bk-broken");
    testkit::copy_dir(&target, &broken).unwrap();
    fs::write(broken.join("sw/t0.ren"), "sw/t1").unwrap();
    let hb = Tool::Hotbackup(hotbackup().to_path_buf());
    hb.prepare(&mariadb, &target).unwrap();
    Tool::MariaBackup.prepare(&mariadb, &oracle).unwrap();
    let ours = space_ids(&target);
    let theirs = space_ids(&oracle);
    assert_eq!(
        ours, theirs,
        "space ids after prepare differ from mariadb-backup's"
    );
    assert_eq!(ours["sw/a.ibd"], theirs["sw/a.ibd"]);
    for leftover in [
        "sw/a.ren",
        "sw/b.ibd#",
        "sw/a.ibd.hotbackup-swap",
        "hotbackup_ddl_journal",
    ] {
        assert!(
            !target.join(leftover).exists(),
            "{leftover} left after prepare"
        );
    }

    let before = contents(&broken);
    let out = Command::new(hotbackup())
        .arg(format!(
            "--defaults-file={}",
            broken.join("backup-my.cnf").display()
        ))
        .arg("--prepare")
        .arg(format!("--target-dir={}", broken.display()))
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(8), "{err}");
    assert!(
        err.contains("sw/t0.ren") && err.contains("sw/t1.ibd") && err.contains("no sw/t1.ren"),
        "{err}"
    );
    assert!(
        contents(&broken) == before,
        "a refused prepare changed the backup"
    );

    let report = testkit::restore_and_verify(&mariadb, &hb, &source, &target).unwrap();
    assert!(report.tables_compared >= tables.len(), "{report:?}");
    // Direct: the swapped tables hold each other's first rows at the source too.
    assert_eq!(
        source
            .query_one::<String>("SELECT tag FROM sw.a ORDER BY id LIMIT 1")
            .unwrap(),
        "b"
    );
}
