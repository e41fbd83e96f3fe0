//! The MySQL protocol's TLS upgrade, done here for the `mysql` crate, which talks plaintext
//! to a private local socket while a relay thread carries its bytes over TLS to the server.
//!
//! Why a relay: the `mysql` crate cannot put TLS on a unix-socket connection (MariaDB 10.11's
//! client does, and a `REQUIRE SSL` account needs it there too), and its own TLS always
//! trusts the public web roots besides `--ssl-ca`. Here one rustls configuration
//! ([`TlsOptions`](crate::TlsOptions)) serves the socket and TCP alike.
//!
//! The upgrade: the server's greeting goes to the client unchanged; the client's login
//! packet (sequence 1) is preceded by an SSLRequest (its first 32 bytes with `CLIENT_SSL`
//! set, sequence 1), the TLS handshake runs, and the login follows inside TLS as sequence 2.
//! Until the server ends the login (an OK or ERR packet), every packet's sequence number is
//! shifted by one in each direction; after that, bytes pass unchanged.
//!
//! The `mysql` crate's socket is what the watchdog shuts down: the relay sees the client gone
//! and closes the server connection. Dropping the [`Relay`] shuts the server socket down and
//! joins the thread.

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream, ToSocketAddrs};
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::fs::DirBuilderExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc};
use std::thread::JoinHandle;
use std::time::Duration;

use rustls::pki_types::ServerName;
use rustls::{ClientConfig, ClientConnection};

use crate::Endpoint;

/// `CLIENT_SSL` in the capability flags.
const CLIENT_SSL: u32 = 0x0800;

/// The server side of the relay: TCP or the server's unix socket.
enum Raw {
    Tcp(TcpStream),
    Unix(UnixStream),
}

impl Raw {
    fn connect(endpoint: &Endpoint, timeout: Duration) -> io::Result<Raw> {
        let raw = match endpoint {
            Endpoint::Socket(path) => Raw::Unix(UnixStream::connect(path)?),
            Endpoint::Tcp(host, port) => {
                let host = host.trim_start_matches('[').trim_end_matches(']');
                let mut last = io::Error::new(io::ErrorKind::NotFound, "no address");
                let mut found = None;
                for addr in (host, *port).to_socket_addrs()? {
                    match TcpStream::connect_timeout(&addr, timeout) {
                        Ok(s) => {
                            found = Some(s);
                            break;
                        }
                        Err(e) => last = e,
                    }
                }
                let stream = found.ok_or(last)?;
                stream.set_nodelay(true)?;
                Raw::Tcp(stream)
            }
        };
        raw.set_timeout(Some(timeout))?;
        Ok(raw)
    }

    fn set_timeout(&self, t: Option<Duration>) -> io::Result<()> {
        match self {
            Raw::Tcp(s) => s.set_read_timeout(t).and(s.set_write_timeout(t)),
            Raw::Unix(s) => s.set_read_timeout(t).and(s.set_write_timeout(t)),
        }
    }

    fn try_clone(&self) -> io::Result<Raw> {
        Ok(match self {
            Raw::Tcp(s) => Raw::Tcp(s.try_clone()?),
            Raw::Unix(s) => Raw::Unix(s.try_clone()?),
        })
    }

    fn shutdown(&self) {
        let _ = match self {
            Raw::Tcp(s) => s.shutdown(Shutdown::Both),
            Raw::Unix(s) => s.shutdown(Shutdown::Both),
        };
    }
}

impl Read for Raw {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Raw::Tcp(s) => s.read(buf),
            Raw::Unix(s) => s.read(buf),
        }
    }
}

impl Write for Raw {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        send(self.as_raw_fd(), buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl AsRawFd for Raw {
    fn as_raw_fd(&self) -> RawFd {
        match self {
            Raw::Tcp(s) => s.as_raw_fd(),
            Raw::Unix(s) => s.as_raw_fd(),
        }
    }
}

/// Why the relay could not be set up.
#[derive(Debug)]
pub(crate) enum RelayError {
    /// The server could not be reached or did not greet.
    Unreachable(String),
    /// TLS could not be set up (no TLS on the server, a certificate refused, ...).
    Tls(String),
}

/// A running relay: the `mysql` crate connects to [`Relay::socket`].
pub(crate) struct Relay {
    dir: PathBuf,
    socket: PathBuf,
    server: Raw,
    thread: Option<JoinHandle<()>>,
    outcome: mpsc::Receiver<String>,
}

impl Relay {
    /// Connects to the server, reads its greeting (it must offer TLS) and starts the thread
    /// that waits (at most `timeout`) for the client on a socket in a private directory.
    pub(crate) fn start(
        endpoint: &Endpoint,
        host: &str,
        config: Arc<ClientConfig>,
        timeout: Duration,
    ) -> Result<Relay, RelayError> {
        let name = crate::tls::server_name(host).map_err(RelayError::Tls)?;
        let mut server =
            Raw::connect(endpoint, timeout).map_err(|e| RelayError::Unreachable(e.to_string()))?;
        let greeting = read_packet(&mut server)
            .map_err(|e| RelayError::Unreachable(format!("the server sent no greeting: {e}")))?;
        let offers_tls = greeting_capabilities(&greeting).is_some_and(|c| c & CLIENT_SSL != 0);
        // An ERR packet instead of a greeting (too many connections, host blocked) is the
        // client's to report.
        if !offers_tls && greeting.get(4) != Some(&0xff) {
            return Err(RelayError::Tls(
                "the server does not offer TLS (its have_ssl is not YES): configure ssl_cert and \
                 ssl_key on the server, or connect without the --ssl options"
                    .into(),
            ));
        }
        let (dir, listener, socket) = private_socket().map_err(|e| {
            RelayError::Tls(format!(
                "cannot create the TLS relay's socket in {}: {e}; set TMPDIR to a writable \
                 directory",
                std::env::temp_dir().display()
            ))
        })?;
        let (tx, outcome) = mpsc::channel();
        let theirs = server
            .try_clone()
            .map_err(|e| RelayError::Unreachable(e.to_string()))?;
        let cleanup = (dir.clone(), socket.clone());
        let thread = std::thread::Builder::new()
            .name("tls-relay".into())
            .spawn(move || {
                let result = serve(
                    listener, &cleanup, theirs, greeting, offers_tls, config, name, timeout,
                );
                if let Err(e) = result {
                    let _ = tx.send(e);
                }
            })
            .map_err(|e| RelayError::Tls(format!("cannot start the TLS relay: {e}")))?;
        Ok(Relay {
            dir,
            socket,
            server,
            thread: Some(thread),
            outcome,
        })
    }

    /// The socket the `mysql` crate connects to.
    pub(crate) fn socket(&self) -> &Path {
        &self.socket
    }

    /// The relay's own failure, if it had one before the client gave up (a refused
    /// certificate shows on the client side only as a closed connection). Waits for the
    /// thread to end.
    pub(crate) fn failure(&mut self) -> Option<String> {
        self.stop();
        self.outcome.try_recv().ok()
    }

    /// Ends the thread wherever it waits: on the server (shut down), or for a client that
    /// never came (a connection that closes at once wakes its accept).
    fn stop(&mut self) {
        self.server.shutdown();
        if let Some(t) = self.thread.take() {
            let _ = UnixStream::connect(&self.socket);
            let _ = t.join();
        }
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_file(&self.socket);
        let _ = std::fs::remove_dir(&self.dir);
    }
}

/// A listening socket in a new directory only this user can enter.
fn private_socket() -> io::Result<(PathBuf, UnixListener, PathBuf)> {
    static SEQ: AtomicU64 = AtomicU64::new(0);
    let base = std::env::temp_dir();
    loop {
        let n = SEQ.fetch_add(1, Ordering::Relaxed);
        let dir = base.join(format!("hotbackup-tls-{}-{n}", std::process::id()));
        match std::fs::DirBuilder::new().mode(0o700).create(&dir) {
            Ok(()) => {
                let socket = dir.join("s");
                let listener = UnixListener::bind(&socket)?;
                return Ok((dir, listener, socket));
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
}

/// The relay thread: accept the client, upgrade, then carry bytes until either side ends.
/// Errors are those of the setup, up to the end of the TLS handshake.
#[allow(clippy::too_many_arguments)]
fn serve(
    listener: UnixListener,
    cleanup: &(PathBuf, PathBuf),
    mut server: Raw,
    greeting: Vec<u8>,
    offers_tls: bool,
    config: Arc<ClientConfig>,
    name: ServerName<'static>,
    timeout: Duration,
) -> Result<(), String> {
    let accepted = accept(&listener, timeout);
    let _ = std::fs::remove_file(&cleanup.1);
    let _ = std::fs::remove_dir(&cleanup.0);
    let mut client = accepted.map_err(|e| format!("the client did not connect: {e}"))?;
    client
        .set_read_timeout(Some(timeout))
        .map_err(|e| e.to_string())?;
    let io = |e: io::Error| e.to_string();
    send_all(&client, &greeting).map_err(io)?;
    if !offers_tls {
        return Ok(()); // the ERR packet was all there was
    }
    let mut login = read_packet(&mut client).map_err(io)?;
    if login.len() < 4 + 32 {
        return Err("the client's login packet is too short".into());
    }
    let flags = u32::from_le_bytes([login[4], login[5], login[6], login[7]]) | CLIENT_SSL;
    login[4..8].copy_from_slice(&flags.to_le_bytes());
    let mut ssl_request = vec![32, 0, 0, login[3]];
    ssl_request.extend_from_slice(&login[4..36]);
    server.write_all(&ssl_request).map_err(io)?;
    let mut tls = ClientConnection::new(config, name).map_err(|e| e.to_string())?;
    while tls.is_handshaking() {
        tls.complete_io(&mut server).map_err(|e| {
            format!(
                "TLS handshake failed: {e}. Check that --ssl-ca/--ssl-capath hold the CA that \
                     signed the server's certificate (its ssl_cert), and with \
                     --ssl-verify-server-cert that the certificate's subjectAltName names the \
                     host connected to"
            )
        })?;
    }
    login[3] = login[3].wrapping_add(1);
    tls.writer().write_all(&login).map_err(io)?;
    flush(&mut tls, &mut server).map_err(io)?;
    server.set_timeout(None).map_err(io)?;
    client.set_read_timeout(None).map_err(io)?;
    // From here on, the client reports what goes wrong (an ERR packet, a closed
    // connection): the relay only ends.
    let _ = pump(&mut client, &mut server, &mut tls);
    tls.send_close_notify();
    let _ = flush(&mut tls, &mut server);
    server.shutdown();
    let _ = client.shutdown(Shutdown::Both);
    Ok(())
}

fn accept(listener: &UnixListener, timeout: Duration) -> io::Result<UnixStream> {
    let ms = i32::try_from(timeout.as_millis()).unwrap_or(i32::MAX);
    if !readable(&[listener.as_raw_fd()], ms)?[0] {
        return Err(io::Error::new(io::ErrorKind::TimedOut, "timed out"));
    }
    Ok(listener.accept()?.0)
}

/// Which of `fds` are readable (or closed) within `ms` milliseconds (-1: no limit).
fn readable(fds: &[RawFd], ms: i32) -> io::Result<Vec<bool>> {
    let mut polled: Vec<libc::pollfd> = fds
        .iter()
        .map(|&fd| libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        })
        .collect();
    loop {
        // SAFETY: `polled` is a valid array of pollfd of the length passed.
        let rc = unsafe { libc::poll(polled.as_mut_ptr(), polled.len() as libc::nfds_t, ms) };
        if rc >= 0 {
            return Ok(polled.iter().map(|p| p.revents != 0).collect());
        }
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
}

fn flush(tls: &mut ClientConnection, server: &mut Raw) -> io::Result<()> {
    while tls.wants_write() {
        tls.write_tls(server)?;
    }
    Ok(())
}

/// Shifts sequence numbers until the login ends, then passes bytes through.
struct Login {
    done: bool,
    to_server: Vec<u8>,
    to_client: Vec<u8>,
}

impl Login {
    /// Complete packets of `buf`, renumbered by `shift`; marks the login done at the
    /// server's OK or ERR. Returns the bytes to pass on.
    fn renumber(buf: &mut Vec<u8>, shift: u8, from_server: bool, done: &mut bool) -> Vec<u8> {
        let mut out = Vec::new();
        let mut at = 0;
        while !*done && buf.len() >= at + 4 {
            let len = usize::from(buf[at])
                | usize::from(buf[at + 1]) << 8
                | usize::from(buf[at + 2]) << 16;
            if buf.len() < at + 4 + len {
                break;
            }
            let mut packet = buf[at..at + 4 + len].to_vec();
            packet[3] = packet[3].wrapping_add(shift);
            if from_server && matches!(packet.get(4), Some(0x00 | 0xff)) {
                *done = true;
            }
            out.extend_from_slice(&packet);
            at += 4 + len;
        }
        if *done {
            out.extend_from_slice(&buf[at..]);
            buf.clear();
        } else {
            buf.drain(..at);
        }
        out
    }
}

fn pump(client: &mut UnixStream, server: &mut Raw, tls: &mut ClientConnection) -> io::Result<()> {
    let mut login = Login {
        done: false,
        to_server: Vec::new(),
        to_client: Vec::new(),
    };
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let ready = readable(&[client.as_raw_fd(), server.as_raw_fd()], -1)?;
        if ready[1] {
            if tls.read_tls(server)? == 0 {
                return Ok(());
            }
            tls.process_new_packets()
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
            loop {
                match tls.reader().read(&mut buf) {
                    Ok(0) => return Ok(()),
                    Ok(n) => {
                        let bytes = if login.done {
                            buf[..n].to_vec()
                        } else {
                            login.to_client.extend_from_slice(&buf[..n]);
                            Login::renumber(&mut login.to_client, 0xff, true, &mut login.done)
                        };
                        send_all(client, &bytes)?;
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    Err(e) => return Err(e),
                }
            }
            flush(tls, server)?;
        }
        if ready[0] {
            let n = client.read(&mut buf)?;
            if n == 0 {
                return Ok(());
            }
            let bytes = if login.done {
                buf[..n].to_vec()
            } else {
                login.to_server.extend_from_slice(&buf[..n]);
                let mut never = false;
                Login::renumber(&mut login.to_server, 1, false, &mut never)
            };
            tls.writer().write_all(&bytes)?;
            flush(tls, server)?;
        }
    }
}

/// One `send(2)` without SIGPIPE: a peer gone (the watchdog shut the client's socket down)
/// is an error to return, whatever the process does with SIGPIPE.
fn send(fd: RawFd, buf: &[u8]) -> io::Result<usize> {
    loop {
        // SAFETY: `fd` is an open socket of the caller; `buf` is valid for its length.
        let n = unsafe { libc::send(fd, buf.as_ptr().cast(), buf.len(), libc::MSG_NOSIGNAL) };
        if n >= 0 {
            return Ok(n as usize);
        }
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
}

fn send_all(to: &impl AsRawFd, mut buf: &[u8]) -> io::Result<()> {
    while !buf.is_empty() {
        match send(to.as_raw_fd(), buf)? {
            0 => return Err(io::ErrorKind::WriteZero.into()),
            n => buf = &buf[n..],
        }
    }
    Ok(())
}

/// One whole packet, header included.
fn read_packet(r: &mut impl Read) -> io::Result<Vec<u8>> {
    let mut header = [0u8; 4];
    r.read_exact(&mut header)?;
    let len = usize::from(header[0]) | usize::from(header[1]) << 8 | usize::from(header[2]) << 16;
    let mut packet = header.to_vec();
    packet.resize(4 + len, 0);
    r.read_exact(&mut packet[4..])?;
    Ok(packet)
}

/// The capability flags of a protocol-10 greeting (lower 16 bits, and the upper 16 when
/// present), `None` when it is not one.
fn greeting_capabilities(packet: &[u8]) -> Option<u32> {
    let body = packet.get(4..)?;
    if body.first() != Some(&10) {
        return None;
    }
    let version_end = 1 + body.get(1..)?.iter().position(|&b| b == 0)?;
    // version NUL, thread id (4), scramble part 1 (8), filler (1), capabilities (2)
    let at = version_end + 1 + 4 + 8 + 1;
    let lower = u32::from(u16::from_le_bytes([*body.get(at)?, *body.get(at + 1)?]));
    Some(lower)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn packet(seq: u8, body: &[u8]) -> Vec<u8> {
        let mut p = vec![body.len() as u8, 0, 0, seq];
        p.extend_from_slice(body);
        p
    }

    #[test]
    fn greeting_flags() {
        let mut body = vec![10];
        body.extend_from_slice(b"10.11.19-MariaDB\0");
        body.extend_from_slice(&[1, 0, 0, 0]); // thread id
        body.extend_from_slice(b"abcdefgh\0");
        for (caps, tls) in [(0xf7ffu16, false), (0xffffu16, true), (0x0800, true)] {
            let mut b = body.clone();
            b.extend_from_slice(&caps.to_le_bytes());
            let got = greeting_capabilities(&packet(0, &b)).unwrap();
            assert_eq!(got & CLIENT_SSL != 0, tls, "{caps:#x}");
        }
        assert_eq!(greeting_capabilities(&packet(0, &[0xff, 0x10, 0x04])), None);
        assert_eq!(greeting_capabilities(&packet(0, &[10, b'x'])), None);
    }

    #[test]
    fn login_packets_are_renumbered_until_ok_or_err() {
        for (first, rest_shifted) in [(0x00u8, false), (0xff, false), (0xfe, true)] {
            let mut done = false;
            let mut buf = packet(3, &[first, 1, 2]);
            let tail = packet(0, &[3, 9]);
            buf.extend_from_slice(&tail[..3]); // a partial next packet
            let out = Login::renumber(&mut buf, 0xff, true, &mut done);
            assert_eq!(out[..7], packet(2, &[first, 1, 2])[..], "{first:#x}");
            assert_eq!(done, !rest_shifted);
            if done {
                // After the login, the rest passes unchanged.
                assert_eq!(&out[7..], &tail[..3]);
                assert!(buf.is_empty());
            } else {
                assert_eq!(out.len(), 7);
                assert_eq!(buf, tail[..3]);
            }
        }
        let mut never = false;
        let mut buf = packet(255, &[1]);
        let out = Login::renumber(&mut buf, 1, false, &mut never);
        assert_eq!(out, packet(0, &[1]));
        assert!(!never);
    }
}
