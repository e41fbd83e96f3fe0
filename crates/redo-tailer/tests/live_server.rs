//! The tailer against a real `mariadbd` (testkit): it keeps up with a write load that
//! writes several times the log capacity, and a stalled tailer reports the overrun
//! instead of producing a complete-looking log.

mod support;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use innodb::redo::START_OFFSET;
use innodb::Lsn;
use redo_tailer::{start, FileOp, ServerLsnFn, ServerLsns, TailError, TailerConfig};
use support::{collect_ops, decode_backup_log, redo_dump_ok};
use testkit::mysql::prelude::Queryable;
use testkit::{create_mixed_schema, TestDir, TestServer, WriteLoad, WriteLoadOptions};

/// "Log sequence number N" of SHOW ENGINE INNODB STATUS.
fn parse_lsn(status: &str) -> Option<Lsn> {
    status
        .lines()
        .find_map(|l| l.strip_prefix("Log sequence number"))
        .and_then(|rest| rest.trim().parse().ok())
        .map(Lsn)
}

fn server_lsn(server: &TestServer) -> Lsn {
    let (_, _, status): (String, String, String) =
        server.query_one("SHOW ENGINE INNODB STATUS").unwrap();
    parse_lsn(&status).expect("Log sequence number in SHOW ENGINE INNODB STATUS")
}

/// The integrator's callback: its own connection, the Innodb_lsn_* status variables.
fn lsn_callback(server: &TestServer) -> ServerLsnFn {
    let mut conn = server.conn().unwrap();
    Box::new(move || {
        let rows: Vec<(String, String)> = conn.query("SHOW STATUS LIKE 'Innodb_lsn_%'").ok()?;
        let get = |name: &str| {
            rows.iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(name))
                .and_then(|(_, v)| v.parse().ok())
                .map(Lsn)
        };
        Some(ServerLsns {
            current: get("Innodb_lsn_current")?,
            flushed: get("Innodb_lsn_flushed")?,
        })
    })
}

/// Writes big rows until the server's LSN has advanced `bytes` past `from`.
fn write_redo(server: &TestServer, from: Lsn, bytes: u64) -> Lsn {
    server
        .exec(
            "CREATE TABLE IF NOT EXISTS tailer_fill.filler \
             (id INT AUTO_INCREMENT PRIMARY KEY, p VARCHAR(1000)) ENGINE=InnoDB",
        )
        .unwrap();
    let t0 = Instant::now();
    loop {
        let now = server_lsn(server);
        if now.0 >= from.0 + bytes {
            return now;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(300),
            "load too slow: {now}"
        );
        server
            .exec(
                "INSERT INTO tailer_fill.filler(p) SELECT REPEAT(CHAR(97 + seq % 26), 900) \
                 FROM tailer_fill.seq_1_to_1000; \
                 DELETE FROM tailer_fill.filler ORDER BY id LIMIT 800",
            )
            .unwrap();
    }
}

fn start_server(mariadb: &testkit::MariaDb, name: &str, log_mb: u64) -> TestServer {
    let server = mariadb
        .server()
        .name(name)
        .log_file_size(log_mb << 20)
        .start()
        .unwrap();
    server.exec("CREATE DATABASE tailer_fill").unwrap();
    server
}

#[test]
fn keeps_up_with_three_capacities_of_load() {
    let Some(mariadb) = testkit::require_mariadb() else {
        return;
    };
    let t_start = Instant::now();
    let server = start_server(&mariadb, "tail-keep", 8);
    let schema = create_mixed_schema(&server, "shop", 50).unwrap();
    let dir = TestDir::new("tailer-keep").unwrap();
    let live = server.datadir().join("ib_logfile0");
    let capacity = std::fs::metadata(&live).unwrap().len() - START_OFFSET;
    let mut cfg = TailerConfig::new(&live, dir.path().join("ib_logfile0"));
    cfg.min_poll_interval = Duration::from_millis(10);
    let backup_path = cfg.backup_log.clone();
    let (on_op, ops) = collect_ops();
    let tailer = start(cfg, lsn_callback(&server), on_op).unwrap();
    let c = tailer.start_checkpoint().checkpoint_lsn;

    // DML and DDL from testkit's load, plus big rows until 3 capacities are written.
    let load = WriteLoad::start(
        &server,
        WriteLoadOptions::for_schema(&schema).with_ddl(&schema),
    )
    .unwrap();
    let t_load = Instant::now();
    let reached = write_redo(&server, c, 3 * capacity);
    while load.ops_so_far() < 50 {
        std::thread::sleep(Duration::from_millis(20));
    }
    let stats = load.stop().unwrap();
    let load_time = t_load.elapsed();
    assert!(tailer.failed().is_none(), "{:?}", tailer.failed());
    let target = server_lsn(&server);
    assert!(target >= reached);
    let to_lsn = tailer.latest_server_checkpoint().unwrap();
    assert!(to_lsn > c);
    let report = tailer
        .stop_at(target.max(to_lsn), Duration::from_secs(60))
        .unwrap();
    assert!(report.last_lsn >= target, "{report:?} < {target}");
    assert!(
        report.last_lsn.0 - c.0 > 3 * capacity,
        "copied {} bytes, capacity {capacity}",
        report.last_lsn.0 - c.0
    );

    let backup = std::fs::read(&backup_path).unwrap();
    assert_eq!(
        backup.len() as u64,
        START_OFFSET + report.last_lsn.0 - c.0,
        "layout: 12288 + last_lsn - checkpoint"
    );
    let decoded = decode_backup_log(&backup);
    assert_eq!(decoded.mtrs, report.mtrs);
    let summary = redo_dump_ok(&backup_path, report.last_lsn);
    let ops = ops.lock().unwrap();
    let creates = ops
        .iter()
        .filter(|o| matches!(o, FileOp::Create { .. }))
        .count() as u64;
    let count = |f: fn(&FileOp) -> bool| ops.iter().filter(|o| f(o)).count() as u64;
    let renames = count(|o| matches!(o, FileOp::Rename { .. }));
    let deletes = count(|o| matches!(o, FileOp::Delete { .. }));
    // Every table created, renamed or dropped by the load shows up (ALTERs add more).
    assert!(creates >= stats.tables_created, "{stats:?}: {ops:?}");
    assert!(renames >= stats.tables_renamed, "{stats:?}: {ops:?}");
    assert!(deletes >= stats.tables_dropped, "{stats:?}: {ops:?}");
    eprintln!(
        "server started+schema in {:?}; load {load_time:?} ({stats:?}); copied {} bytes \
         ({:.1}× capacity {capacity}), {} mtrs, {} file ops ({creates} creates, {renames} renames, {deletes} deletes); {}",
        t_load.duration_since(t_start),
        report.bytes,
        report.bytes as f64 / capacity as f64,
        report.mtrs,
        ops.len(),
        &summary[..summary.len().min(200)]
    );
}

/// A 4 MiB log and a tailer stalled by the test knob while the server writes more than
/// a capacity: the copy must fail with `Overwritten`, never produce a report.
fn stalled_tailer_reports_overrun(with_callback: bool) {
    let Some(mariadb) = testkit::require_mariadb() else {
        return;
    };
    let server = start_server(
        &mariadb,
        if with_callback {
            "tail-ovr"
        } else {
            "tail-ovr2"
        },
        4,
    );
    let dir = TestDir::new("tailer-overrun").unwrap();
    let live = server.datadir().join("ib_logfile0");
    let capacity = std::fs::metadata(&live).unwrap().len() - START_OFFSET;
    let stall = Arc::new(AtomicBool::new(true));
    let mut cfg = TailerConfig::new(&live, dir.path().join("ib_logfile0"));
    cfg.stall = Some(Arc::clone(&stall));
    let backup_path = cfg.backup_log.clone();
    let callback: ServerLsnFn = if with_callback {
        lsn_callback(&server)
    } else {
        Box::new(|| None)
    };
    let (on_op, _) = collect_ops();
    let tailer = start(cfg, callback, on_op).unwrap();
    let c = tailer.start_checkpoint().checkpoint_lsn;
    let copied_before = tailer.copied_lsn();
    // Without the callback only checkpoints tell; three capacities make sure a
    // checkpoint's end_lsn is beyond one capacity past what was copied.
    let written = write_redo(
        &server,
        copied_before,
        if with_callback { 2 } else { 3 } * capacity,
    );
    stall.store(false, Ordering::Relaxed);
    let err = tailer
        .stop_at(written, Duration::from_secs(30))
        .expect_err("a stalled tailer cannot have copied an overwritten log");
    match &err {
        TailError::Overwritten {
            needed,
            copied_to,
            server_lsn,
            capacity: cap,
            ..
        } => {
            assert!(*needed >= c && *copied_to < written, "{err}");
            assert!(server_lsn.0 + (1 << 20) >= needed.0 + cap, "{err}");
            assert_eq!(*cap, capacity);
        }
        other => panic!("expected Overwritten, got {other:?}: {other}"),
    }
    let text = err.to_string();
    assert!(text.contains("redo log overwritten at LSN"), "{text}");
    // The partial backup log is not a complete-looking one: it ends where the copy
    // stopped, far before the server.
    let len = std::fs::metadata(&backup_path).unwrap().len();
    assert!(START_OFFSET + (written.0 - c.0) > len + capacity);
    eprintln!("overrun (callback {with_callback}): {text}");
}

#[test]
fn stalled_tailer_reports_overrun_with_server_lsn() {
    stalled_tailer_reports_overrun(true);
}

#[test]
fn stalled_tailer_reports_overrun_from_checkpoints_alone() {
    stalled_tailer_reports_overrun(false);
}

#[test]
fn parse_lsn_of_innodb_status() {
    let status = "---\nLOG\n---\nLog sequence number 1234567\nLog flushed up to   1234000\n";
    assert_eq!(parse_lsn(status), Some(Lsn(1_234_567)));
    assert_eq!(parse_lsn("nothing"), None);
}
