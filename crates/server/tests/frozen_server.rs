//! A frozen server (SIGSTOPped, hung) must not hang a session that has an I/O timeout.
//!
//! A stopped `mariadbd` still has its listening socket: the kernel accepts connections into the
//! backlog, but nothing ever answers. A unix listener that accepts and never writes is exactly
//! that, without a real server.

use std::io::{Read, Write};
use std::os::unix::net::UnixListener;
use std::time::{Duration, Instant};

use server::{ConnectOptions, ServerError, Session};

fn frozen_listener() -> (tempdir::Dir, UnixListener) {
    let dir = tempdir::Dir::new();
    let listener = UnixListener::bind(dir.path.join("frozen.sock")).expect("bind a unix socket");
    (dir, listener)
}

fn options(dir: &tempdir::Dir, timeout: Option<Duration>) -> ConnectOptions {
    ConnectOptions {
        socket: Some(dir.path.join("frozen.sock")),
        user: Some("root".into()),
        io_timeout: timeout,
        ..Default::default()
    }
}

#[test]
fn connect_to_a_frozen_server_times_out() {
    let (dir, listener) = frozen_listener();
    let started = Instant::now();
    let result = Session::connect(&options(&dir, Some(Duration::from_secs(1))));
    let took = started.elapsed();
    drop(listener);
    match result {
        Err(ServerError::Unreachable { reason, .. }) => {
            assert!(!reason.is_empty());
        }
        Err(other) => panic!("expected Unreachable, got {other}"),
        Ok(_) => panic!("a server that never answers cannot give a session"),
    }
    assert!(
        took < Duration::from_secs(20),
        "the 1 s timeout took {took:?}"
    );
}

/// Over TLS: a server that never greets, and one that greets (offering TLS) and then never
/// answers the TLS handshake, are both bounded by the timeout.
#[test]
fn tls_connect_to_a_frozen_server_times_out() {
    for greets in [false, true] {
        let (dir, listener) = frozen_listener();
        let greeter = std::thread::spawn(move || {
            let (mut s, _) = listener.accept().unwrap();
            if greets {
                s.write_all(&greeting()).unwrap();
            }
            // Holds the connection open, silent, until the client gives up.
            let _ = s.read(&mut [0u8; 1024]);
            let _ = s.read(&mut [0u8; 1024]);
        });
        let opts = ConnectOptions {
            tls: Some(server::TlsOptions::default()),
            ..options(&dir, Some(Duration::from_secs(1)))
        };
        let started = Instant::now();
        let result = Session::connect(&opts);
        let took = started.elapsed();
        match (greets, result) {
            (false, Err(ServerError::Unreachable { reason, .. })) => {
                assert!(reason.contains("no greeting"), "{reason}")
            }
            (true, Err(ServerError::Tls { reason, .. })) => {
                assert!(reason.contains("TLS handshake failed"), "{reason}")
            }
            (_, Err(other)) => panic!("greets {greets}: {other}"),
            (_, Ok(_)) => panic!("a server that never answers cannot give a session"),
        }
        assert!(took < Duration::from_secs(10), "greets {greets}: {took:?}");
        greeter.join().unwrap();
    }
}

/// A MariaDB 10.11 greeting offering TLS (packet header included).
fn greeting() -> Vec<u8> {
    let mut body = vec![10];
    body.extend_from_slice(b"5.5.5-10.11.19-MariaDB\0");
    body.extend_from_slice(&7u32.to_le_bytes()); // connection id
    body.extend_from_slice(b"abcdefgh\0"); // scramble part 1, filler
    body.extend_from_slice(&0xfffeu16.to_le_bytes()); // capabilities (lower), CLIENT_SSL set
    body.push(8); // charset
    body.extend_from_slice(&2u16.to_le_bytes()); // status
    body.extend_from_slice(&0x81bfu16.to_le_bytes()); // capabilities (upper)
    body.push(21); // auth data length
    body.extend_from_slice(&[0; 6]);
    body.extend_from_slice(&0u32.to_le_bytes()); // MariaDB capabilities
    body.extend_from_slice(b"ijklmnopqrst\0"); // scramble part 2
    body.extend_from_slice(b"mysql_native_password\0");
    let mut packet = (body.len() as u32).to_le_bytes()[..3].to_vec();
    packet.push(0);
    packet.extend_from_slice(&body);
    packet
}

#[test]
fn without_a_timeout_connect_waits_up_to_the_connect_bound() {
    // Without `io_timeout` the login waits up to `CONNECT_TIMEOUT` (30 s; statements are
    // then bounded by a watchdog, see tests/watchdog.rs): still pending after 2.5 s.
    assert!(server::CONNECT_TIMEOUT > Duration::from_millis(2500));
    let (dir, listener) = frozen_listener();
    let opts = options(&dir, None);
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(Session::connect(&opts).is_ok());
    });
    assert!(
        rx.recv_timeout(Duration::from_millis(2500)).is_err(),
        "connect without a timeout returned although the server never answered"
    );
    // Closing the listener ends the pending attempt (the thread is then left to finish).
    drop(listener);
    drop(dir);
}

/// A private temporary directory, removed on drop.
mod tempdir {
    use std::path::PathBuf;

    pub struct Dir {
        pub path: PathBuf,
    }

    impl Dir {
        pub fn new() -> Dir {
            use std::sync::atomic::{AtomicU32, Ordering};
            static COUNTER: AtomicU32 = AtomicU32::new(0);
            let path = std::env::temp_dir().join(format!(
                "hb-server-{}-{}",
                std::process::id(),
                COUNTER.fetch_add(1, Ordering::Relaxed)
            ));
            std::fs::create_dir_all(&path).expect("create a temp dir");
            Dir { path }
        }
    }

    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.path);
        }
    }
}
