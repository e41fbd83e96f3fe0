//! TLS to the server (`--ssl*`), against a real server started with certificates made by
//! `openssl` (testkit's `TlsFiles`), over TCP on 127.0.0.1 and over the unix socket:
//!
//! * a `REQUIRE SSL` account backs up with `--ssl --ssl-ca` over TCP; the backup is prepared
//!   and restored by the oracle;
//! * without the `--ssl` options the same account is refused: exit 3, naming the reason;
//! * `--ssl-verify-server-cert` with a CA that did not sign the server's certificate: exit 3,
//!   nothing copied; with the right one (its subjectAltName holds 127.0.0.1) it passes;
//! * a `REQUIRE X509` account with `--ssl-cert`/`--ssl-key` over the unix socket (TLS on the
//!   socket, as MariaDB's client and `mtr backup_ssl` do);
//! * `--ssl` against a server without TLS: exit 3, never a silent plaintext connection.

mod common;

use std::path::Path;
use std::time::Duration;

use common::{backup_command, free_port, run_backup, Ended};
use testkit::{TestDir, TestServer, TlsFiles, Tool};

const EXIT_CONNECTION: i32 = 3;
const LIMIT: Duration = Duration::from_secs(120);
const CHECKPOINTS: &str = "xtrabackup_checkpoints";

fn backup(server: &TestServer, target: &Path, user: &str, extra: &[&str], name: &str) -> Ended {
    let mut args = vec!["--password=pw"];
    args.extend_from_slice(extra);
    let cmd = backup_command(server.socket_path(), target, user, &args);
    run_backup(cmd, target.parent().unwrap(), name, LIMIT)
}

fn assert_refused(ended: &Ended, target: &Path, needles: &[&str]) {
    assert_eq!(
        ended.status.code(),
        Some(EXIT_CONNECTION),
        "{}",
        ended.stderr
    );
    for needle in needles {
        assert!(
            ended.stderr.contains(needle),
            "no {needle:?} in\n{}",
            ended.stderr
        );
    }
    assert!(!target.join(CHECKPOINTS).exists());
}

#[test]
fn tls_backups_and_refusals() {
    let Some(mariadb) = testkit::require_mariadb() else {
        return;
    };
    let dir = TestDir::new("tls").unwrap();
    let certs = TlsFiles::generate(&dir.path().join("certs")).unwrap();
    let port = free_port();
    let server = mariadb
        .server()
        .name("tls")
        .binlog(true)
        .tcp_port(port)
        .tls(&certs)
        .start()
        .unwrap();
    common::create_small_tables(&server, "tlsdb", 3);
    server
        .exec(
            "CREATE USER ssl_bk@'%' IDENTIFIED BY 'pw' REQUIRE SSL; \
             GRANT ALL ON *.* TO ssl_bk@'%'; \
             CREATE USER x509_bk@'%' IDENTIFIED BY 'pw' REQUIRE X509; \
             GRANT ALL ON *.* TO x509_bk@'%';",
        )
        .unwrap();
    let port_arg = format!("--port={port}");
    let tcp = ["--host=127.0.0.1", port_arg.as_str()];
    let ca = format!("--ssl-ca={}", certs.ca.display());
    let other_ca = format!("--ssl-ca={}", certs.other_ca.display());
    let cert = format!("--ssl-cert={}", certs.client_cert.display());
    let key = format!("--ssl-key={}", certs.client_key.display());

    // Without TLS, the REQUIRE SSL account is refused by the server.
    let target = dir.path().join("plain");
    let ended = backup(&server, &target, "ssl_bk", &tcp, "plain");
    assert_refused(
        &ended,
        &target,
        &["refused the login", "Access denied", "--ssl"],
    );

    // The wrong CA with --ssl-verify-server-cert: the handshake fails, nothing is copied.
    let target = dir.path().join("wrong-ca");
    let mut args = tcp.to_vec();
    args.extend(["--ssl-verify-server-cert", other_ca.as_str()]);
    let ended = backup(&server, &target, "ssl_bk", &args, "wrong-ca");
    assert_refused(
        &ended,
        &target,
        &["TLS to the MariaDB server at '127.0.0.1' port", "--ssl-ca"],
    );

    // The right CA with --ssl-verify-server-cert: chain and name (IP SAN) check out.
    let target = dir.path().join("verified");
    let mut args = tcp.to_vec();
    args.extend(["--ssl-verify-server-cert", ca.as_str()]);
    let ended = backup(&server, &target, "ssl_bk", &args, "verified");
    assert_eq!(ended.status.code(), Some(0), "{}", ended.stderr);

    // REQUIRE X509 over the unix socket: TLS on the socket, with the client certificate.
    let target = dir.path().join("x509-socket");
    let ended = backup(&server, &target, "x509_bk", &[&cert, &key], "x509-socket");
    assert_eq!(ended.status.code(), Some(0), "{}", ended.stderr);
    // ... and without one the server refuses the account.
    let target = dir.path().join("x509-nocert");
    let ended = backup(&server, &target, "x509_bk", &["--ssl"], "x509-nocert");
    assert_refused(&ended, &target, &["Access denied"]);

    // --ssl --ssl-ca over TCP, the one prepared and restored.
    let target = dir.path().join("ssl");
    let mut args = tcp.to_vec();
    args.extend(["--ssl", ca.as_str()]);
    let ended = backup(&server, &target, "ssl_bk", &args, "ssl");
    assert_eq!(ended.status.code(), Some(0), "{}", ended.stderr);
    assert!(target.join(CHECKPOINTS).exists());
    let ours = Tool::Hotbackup(common::hotbackup().to_path_buf());
    ours.prepare(&mariadb, &target).unwrap();
    let report = testkit::restore_and_verify(&mariadb, &ours, &server, &target).unwrap();
    assert!(report.tables_compared >= 3, "{report:?}");
}

#[test]
fn ssl_against_a_server_without_tls_is_refused() {
    let Some(mariadb) = testkit::require_mariadb() else {
        return;
    };
    let dir = TestDir::new("tls-none").unwrap();
    let port = free_port();
    let server = mariadb
        .server()
        .name("tls-none")
        .tcp_port(port)
        .option("skip-ssl")
        .start()
        .unwrap();
    server
        .exec("CREATE USER bk@'%' IDENTIFIED BY 'pw'; GRANT ALL ON *.* TO bk@'%';")
        .unwrap();
    let port_arg = format!("--port={port}");
    for (name, args) in [
        ("tcp", vec!["--host=127.0.0.1", port_arg.as_str(), "--ssl"]),
        ("socket", vec!["--ssl"]),
    ] {
        let target = dir.path().join(name);
        let ended = backup(&server, &target, "bk", &args, name);
        assert_refused(&ended, &target, &["does not offer TLS", "have_ssl"]);
    }
}
