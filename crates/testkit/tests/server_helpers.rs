//! testkit's own helpers against a real server: start, SQL helpers, mixed schema, write
//! load with DDL, crash and restart, starting on an existing datadir, sysbench.

use std::time::{Duration, Instant};

use testkit::{create_mixed_schema, PageSize, Sysbench, WriteLoad, WriteLoadOptions};

#[test]
fn server_lifecycle_load_crash_and_restart() {
    let Some(mariadb) = testkit::require_mariadb() else {
        return;
    };
    let started = Instant::now();
    let mut server = mariadb
        .server()
        .name("life")
        .page_size(PageSize::K8)
        .binlog(true)
        .server_id(7)
        .undo_tablespaces(2)
        .general_log(true)
        .option("innodb_flush_log_at_trx_commit=1")
        .start()
        .unwrap();
    eprintln!(
        "started {} pid {:?} in {:?}",
        server.version(),
        server.pid(),
        started.elapsed()
    );
    assert!(
        server.version().starts_with("10.11"),
        "{}",
        server.version()
    );
    assert!(server.socket_path().as_os_str().len() < 100);
    assert_eq!(
        server.variable("innodb_page_size").unwrap().as_deref(),
        Some("8192")
    );
    assert_eq!(server.variable("server_id").unwrap().as_deref(), Some("7"));
    assert_eq!(server.variable("log_bin").unwrap().as_deref(), Some("1"));
    assert_eq!(
        server.variable("binlog_format").unwrap().as_deref(),
        Some("ROW")
    );
    assert!(server.datadir().join("undo002").exists());
    let one: u64 = server.query_one("SELECT 1").unwrap();
    assert_eq!(one, 1);
    assert!(server
        .query_opt::<u64>("SELECT 1 FROM DUAL WHERE 0")
        .unwrap()
        .is_none());
    // A conversion failure is an error, not a panic.
    assert!(server.query_one::<u64>("SELECT 'abc'").is_err());
    // A SQL error does not poison the cached connection.
    assert!(server
        .exec("SELECT * FROM no_such_db.no_such_table")
        .is_err());
    server.exec("SET @kept = 42").unwrap();
    assert_eq!(server.query_one::<u64>("SELECT @kept").unwrap(), 42);

    let schema = create_mixed_schema(&server, "mix", 300).unwrap();
    assert_eq!(
        schema.tables.len(),
        6,
        "8k pages allow COMPRESSED: {:?}",
        schema.tables
    );
    let tables = server.list_tables().unwrap();
    let formats: Vec<(String, String, String)> = tables
        .iter()
        .map(|t| (t.name.clone(), t.engine.clone(), t.row_format.clone()))
        .collect();
    eprintln!("tables: {formats:?}");
    assert_eq!(tables.len(), 6);
    for table in &schema.tables {
        let n: u64 = server
            .query_one(&format!(
                "SELECT COUNT(*) FROM {}",
                testkit::quote_table(table)
            ))
            .unwrap();
        assert_eq!(n, 300, "{table}");
    }
    let before = server.checksum_all().unwrap();
    assert_eq!(before.len(), 6);

    let load = WriteLoad::start(
        &server,
        WriteLoadOptions::for_schema(&schema).with_ddl(&schema),
    )
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while load.ops_so_far() < 2000 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    let stats = load.stop().unwrap();
    eprintln!("write load: {stats:?}");
    assert!(stats.rows_inserted > 0 && stats.rows_updated > 0 && stats.rows_deleted > 0);
    assert!(
        stats.tables_created > 0 && stats.tables_renamed > 0,
        "{stats:?}"
    );
    assert_ne!(server.checksum_all().unwrap(), before);
    assert_eq!(server.check_table_all().unwrap(), vec![]);

    // Crash in the middle of a load, recover, and everything checks out.
    let load = WriteLoad::start(&server, WriteLoadOptions::for_schema(&schema)).unwrap();
    while load.ops_so_far() < 200 {
        std::thread::sleep(Duration::from_millis(20));
    }
    let old_pid = server.pid().unwrap();
    server.kill9().unwrap();
    assert_eq!(server.pid(), None);
    let (stats, err) = load.stop_ignoring_errors();
    eprintln!("load under crash: {stats:?}, ended by {err:?}");
    server.restart().unwrap();
    assert_ne!(server.pid(), Some(old_pid));
    assert_eq!(server.check_table_all().unwrap(), vec![]);
    let after_crash = server.checksum_all().unwrap();
    server.stop().unwrap();
    assert_eq!(server.pid(), None);
    server.stop().unwrap(); // idempotent

    // Start a second server on the first one's datadir without init; the page size is
    // read from ibdata1.
    let mut reused = mariadb
        .server()
        .name("reuse")
        .existing_datadir(server.datadir())
        .start()
        .unwrap();
    assert_eq!(reused.page_size(), Some(PageSize::K8));
    assert_eq!(reused.checksum_all().unwrap(), after_crash);
    reused.stop().unwrap();
    drop(reused);
    assert!(
        server.datadir().join("ibdata1").exists(),
        "existing datadir must survive"
    );
    eprintln!("lifecycle test took {:?}", started.elapsed());
}

#[test]
fn sysbench_prepare_and_run() {
    let Some(mariadb) = testkit::require_mariadb() else {
        return;
    };
    if testkit::require_sysbench().is_none() {
        return;
    }
    let server = mariadb.server().name("sb").start().unwrap();
    let sysbench = Sysbench::new(&server)
        .unwrap()
        .tables(2)
        .table_size(500)
        .time(Duration::from_secs(3));
    sysbench.prepare(&server).unwrap();
    let report = sysbench.run().unwrap();
    eprintln!(
        "sysbench: {} transactions, {} queries",
        report.transactions, report.queries
    );
    assert!(report.transactions > 0, "{}", report.output);
    assert_eq!(server.check_table_all().unwrap(), vec![]);
}

#[test]
fn panicking_test_does_not_leak_the_server() {
    let Some(mariadb) = testkit::require_mariadb() else {
        return;
    };
    let (pid, dir) = {
        let pid_and_dir = std::sync::Mutex::new(None);
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let server = mariadb.server().name("panic").start().unwrap();
            *pid_and_dir.lock().unwrap() = Some((server.pid().unwrap(), server.dir().to_owned()));
            panic!("deliberate panic with a running server");
        }));
        assert!(result.is_err());
        pid_and_dir.into_inner().unwrap().unwrap()
    };
    assert!(
        !std::path::Path::new(&format!("/proc/{pid}")).exists(),
        "mariadbd pid {pid} survived the panic"
    );
    if !testkit::keep_test_dirs() {
        assert!(!dir.exists(), "{} not removed", dir.display());
    }
}

#[test]
fn large_page_sizes_start_and_hold_the_mixed_schema() {
    let Some(mariadb) = testkit::require_mariadb() else {
        return;
    };
    std::thread::scope(|scope| {
        for page_size in [PageSize::K32, PageSize::K64] {
            let mariadb = &mariadb;
            scope.spawn(move || {
                let server = mariadb
                    .server()
                    .name(page_size.as_option())
                    .page_size(page_size)
                    .start()
                    .unwrap();
                let schema = create_mixed_schema(&server, "big", 200).unwrap();
                // No ROW_FORMAT=COMPRESSED above 16k.
                assert_eq!(schema.tables.len(), 5, "{:?}", schema.tables);
                assert_eq!(server.check_table_all().unwrap(), vec![]);
            });
        }
    });
}

/// `exec` of several statements reports the error of a later one (the server stops there).
#[test]
fn exec_reports_an_error_after_the_first_statement() {
    let Some(mariadb) = testkit::require_mariadb() else {
        return;
    };
    let server = mariadb.server().name("exec").start().unwrap();
    let err = server
        .exec("CREATE DATABASE e; CREATE TABLE e.t (id INT PRIMARY KEY); INSERT INTO e.nope VALUES (1); INSERT INTO e.t VALUES (1)")
        .unwrap_err();
    assert!(format!("{err:#}").contains("e.nope"), "{err:#}");
    let rows: u64 = server.query_one("SELECT COUNT(*) FROM e.t").unwrap();
    assert_eq!(rows, 0, "nothing after the failing statement ran");
    server
        .exec("INSERT INTO e.t VALUES (2); SELECT 1; SELECT * FROM e.t")
        .unwrap();
}
