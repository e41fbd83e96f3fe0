//! The watchdog against a real server: a statement that waits legitimately is never cut
//! (the server answers pings meanwhile), one waiting on a SIGSTOPped server returns within
//! the silence bound (also over TLS, whose relay must not keep it waiting), and cancelling
//! cuts a running statement at once.

use std::time::{Duration, Instant};

use server::{ConnectOptions, ServerError, Session, Stop, TlsOptions, Watchdog};
use testkit::{TestServer, TlsFiles};

const SILENCE: Duration = Duration::from_secs(2);
const INTERVAL: Duration = Duration::from_millis(200);

fn options(server: &TestServer) -> ConnectOptions {
    ConnectOptions {
        socket: Some(server.socket_path().to_path_buf()),
        user: Some("root".into()),
        ..Default::default()
    }
}

fn watched(server: &TestServer) -> (Session, Watchdog) {
    watched_with(options(server))
}

fn watched_with(opts: ConnectOptions) -> (Session, Watchdog) {
    let watchdog = Watchdog::start(&opts, SILENCE, INTERVAL).unwrap();
    let mut session = Session::connect(&opts).unwrap();
    session.set_watchdog(watchdog.clone());
    (session, watchdog)
}

/// Sends SIGCONT on drop, so that a failing test never leaves the server stopped.
struct Stopped(libc::pid_t);

impl Stopped {
    fn stop(pid: u32) -> Stopped {
        // SAFETY: kill(2) on the test server's PID.
        assert_eq!(unsafe { libc::kill(pid as libc::pid_t, libc::SIGSTOP) }, 0);
        Stopped(pid as libc::pid_t)
    }
}

impl Drop for Stopped {
    fn drop(&mut self) {
        // SAFETY: as above.
        unsafe { libc::kill(self.0, libc::SIGCONT) };
    }
}

#[test]
fn a_long_statement_on_a_live_server_is_never_cut() {
    let Some(mariadb) = testkit::require_mariadb() else {
        return;
    };
    let server = mariadb.server().name("wd-live").start().unwrap();
    let (mut session, watchdog) = watched(&server);
    // Longer than the silence bound: only the pings keep it alive.
    let started = Instant::now();
    let slept = session.query_value("SELECT SLEEP(5)").unwrap();
    assert_eq!(slept.as_deref(), Some("0"));
    // SLEEP() may end a few milliseconds early by the client's clock (seen under load in
    // CI); "0" already says it was not interrupted.
    assert!(
        started.elapsed() >= Duration::from_millis(4500),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(watchdog.stopped(), None);
}

#[test]
fn a_statement_on_a_stopped_server_returns_within_the_bound() {
    let Some(mariadb) = testkit::require_mariadb() else {
        return;
    };
    let server = mariadb.server().name("wd-frozen").start().unwrap();
    frozen_server_statement_returns_within_the_bound(&server, watched(&server));
}

#[test]
fn a_statement_over_tls_on_a_stopped_server_returns_within_the_bound() {
    let Some(mariadb) = testkit::require_mariadb() else {
        return;
    };
    let certs_dir = testkit::TestDir::new("wd-tls-certs").unwrap();
    let certs = TlsFiles::generate(certs_dir.path()).unwrap();
    let server = mariadb.server().name("wd-tls").tls(&certs).start().unwrap();
    let opts = ConnectOptions {
        tls: Some(TlsOptions {
            ca: Some(certs.ca.clone()),
            verify_server_cert: true,
            ..TlsOptions::default()
        }),
        ..options(&server)
    };
    let (mut session, watchdog) = watched_with(opts);
    let cipher = session
        .query_rows("SHOW SESSION STATUS LIKE 'Ssl_cipher'")
        .unwrap();
    assert!(
        cipher[0][1].as_deref().is_some_and(|c| !c.is_empty()),
        "not encrypted: {cipher:?}"
    );
    frozen_server_statement_returns_within_the_bound(&server, (session, watchdog));
}

fn frozen_server_statement_returns_within_the_bound(
    server: &TestServer,
    (mut session, watchdog): (Session, Watchdog),
) {
    let pid = server.pid().unwrap();
    let stopper = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(500));
        Stopped::stop(pid)
    });
    let started = Instant::now();
    let result = session.exec("DO SLEEP(60)");
    let took = started.elapsed();
    let stopped = stopper.join().unwrap();
    match result {
        Err(ServerError::Interrupted {
            why: Stop::NoAnswer { .. },
            ref sql,
        }) => assert_eq!(sql, "DO SLEEP(60)"),
        other => panic!("expected an interrupted statement, got {other:?}"),
    }
    let message = result.unwrap_err().to_string();
    assert!(message.contains("stopped answering"), "{message}");
    assert!(
        took < Duration::from_millis(500) + SILENCE + INTERVAL + Duration::from_secs(2),
        "took {took:?}"
    );
    assert!(matches!(watchdog.stopped(), Some(Stop::NoAnswer { .. })));
    // Every later statement fails at once.
    let started = Instant::now();
    assert!(matches!(
        session.exec("SELECT 1"),
        Err(ServerError::Interrupted { .. })
    ));
    assert!(started.elapsed() < Duration::from_secs(1));
    drop(stopped);
}

#[test]
fn cancel_cuts_a_running_statement() {
    let Some(mariadb) = testkit::require_mariadb() else {
        return;
    };
    let server = mariadb.server().name("wd-cancel").start().unwrap();
    let (mut session, watchdog) = watched(&server);
    let canceller = watchdog.clone();
    std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(500));
        canceller.cancel("interrupted by SIGTERM".into());
    });
    let started = Instant::now();
    let result = session.exec("DO SLEEP(60)");
    assert!(started.elapsed() < Duration::from_secs(5));
    match result {
        Err(ServerError::Interrupted {
            why: Stop::Cancelled(why),
            ..
        }) => assert_eq!(why, "interrupted by SIGTERM"),
        other => panic!("expected a cancelled statement, got {other:?}"),
    }
}
