//! A bound on every statement of a watched [`Session`](crate::Session): a separate
//! connection pings the server, and when the server leaves a ping unanswered for the silence
//! bound (SIGSTOPped, hung), or the caller cancels (a signal), the sockets of the statements
//! in flight are shut down (`shutdown(2)`), so that they return at once with
//! [`ServerError::Interrupted`](crate::ServerError::Interrupted).
//!
//! A statement that waits legitimately (`BACKUP STAGE BLOCK_DDL` behind a long DDL,
//! `BLOCK_COMMIT` behind a long commit) is never cut: the server keeps answering pings on the
//! other connection while it waits. A `KILL QUERY` from another connection would need a
//! server that answers; shutting the socket down does not.
//!
//! Safety of the descriptors: a statement registers its socket for exactly as long as it
//! runs, while its session is borrowed mutably, and leaves under the same lock the watchdog
//! takes to shut sockets down, so a descriptor is never shut down after it may have been
//! closed and reused.

use std::collections::BTreeMap;
use std::fmt;
use std::os::fd::RawFd;
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::{Duration, Instant};

use crate::{ConnectOptions, Endpoint, ServerError, Session};

/// Why a watchdog cut the statements of its sessions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Stop {
    /// The server left a ping unanswered for `silence`.
    NoAnswer {
        /// The server.
        endpoint: Endpoint,
        /// How long the ping waited.
        silence: Duration,
    },
    /// The ping connection broke and a new one could not be made.
    Gone {
        /// The server.
        endpoint: Endpoint,
        /// Why reconnecting failed.
        reason: String,
    },
    /// The caller cancelled, for this reason (e.g. "interrupted by SIGTERM").
    Cancelled(String),
}

impl fmt::Display for Stop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Stop::NoAnswer { endpoint, silence } => write!(
                f,
                "the MariaDB server at {endpoint} stopped answering: it left a ping unanswered for {} s. Is mariadbd stopped (SIGSTOP, a debugger), hung, or is its machine out of memory? Check the server (its error log, `top`); once it answers again, take a new backup",
                silence.as_secs_f64()
            ),
            Stop::Gone { endpoint, reason } => write!(
                f,
                "the MariaDB server went away during the backup ({endpoint}): it closed the connection and a new one failed: {reason}. Check the server's error log; once it runs again, take a new backup"
            ),
            Stop::Cancelled(why) => f.write_str(why),
        }
    }
}

/// Watches one server for the sessions given to [`Session::set_watchdog`]; cheap to clone.
/// The ping thread ends when the last clone is dropped (after its current ping).
#[derive(Clone)]
pub struct Watchdog {
    inner: Arc<Inner>,
}

struct Inner {
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// Sockets of the statements running now, by ticket number.
    in_flight: BTreeMap<u64, RawFd>,
    next_ticket: u64,
    /// Set once, never cleared: every statement from then on fails at once.
    stop: Option<Stop>,
}

impl Watchdog {
    /// Connects the ping connection (bounded by `silence`) and starts pinging every
    /// `interval`. A statement of a watched session then returns within about
    /// `silence + interval` of the server's last answer.
    pub fn start(
        opts: &ConnectOptions,
        silence: Duration,
        interval: Duration,
    ) -> Result<Watchdog, ServerError> {
        let probe_opts = ConnectOptions {
            io_timeout: Some(silence),
            ..opts.clone()
        };
        let probe = Session::connect(&probe_opts)?;
        let inner = Arc::new(Inner {
            state: Mutex::new(State::default()),
        });
        let weak = Arc::downgrade(&inner);
        std::thread::Builder::new()
            .name("server-watchdog".into())
            .spawn(move || ping_loop(weak, probe, probe_opts, silence, interval))
            .map_err(|e| ServerError::Unreachable {
                endpoint: opts.endpoint(),
                reason: format!("cannot start the watchdog thread: {e}"),
            })?;
        Ok(Watchdog { inner })
    }

    /// Why the statements are cut, once they are.
    pub fn stopped(&self) -> Option<Stop> {
        self.inner.lock().stop.clone()
    }

    /// Cuts every statement now and every later one, giving `why` as the reason.
    pub fn cancel(&self, why: String) {
        self.inner.stop(Stop::Cancelled(why));
    }

    /// Registers a statement about to run on `fd`; fails at once when already stopped.
    pub(crate) fn enter(&self, fd: RawFd) -> Result<Ticket, Stop> {
        let mut state = self.inner.lock();
        if let Some(stop) = &state.stop {
            return Err(stop.clone());
        }
        let id = state.next_ticket;
        state.next_ticket += 1;
        state.in_flight.insert(id, fd);
        Ok(Ticket {
            inner: Arc::clone(&self.inner),
            id,
        })
    }
}

impl Inner {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Records the first reason and shuts down every registered socket.
    fn stop(&self, why: Stop) {
        let mut state = self.lock();
        if state.stop.is_none() {
            state.stop = Some(why);
        }
        for fd in state.in_flight.values() {
            // SAFETY: the descriptor is registered, so its statement is still running on
            // it and it is open (see the module comment). shutdown(2) only ends the
            // connection; the session still owns and closes the descriptor.
            unsafe {
                libc::shutdown(*fd, libc::SHUT_RDWR);
            }
        }
    }
}

/// A running statement's registration; leaving tells whether the watchdog cut it.
pub(crate) struct Ticket {
    inner: Arc<Inner>,
    id: u64,
}

impl Ticket {
    /// Unregisters; `Some(reason)` if the statement was (or may have been) cut.
    pub(crate) fn leave(self) -> Option<Stop> {
        let mut state = self.inner.lock();
        state.in_flight.remove(&self.id);
        state.stop.clone()
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        self.inner.lock().in_flight.remove(&self.id);
    }
}

/// Pings until the server stops answering or every [`Watchdog`] is dropped.
fn ping_loop(
    weak: Weak<Inner>,
    mut probe: Session,
    probe_opts: ConnectOptions,
    silence: Duration,
    interval: Duration,
) {
    let endpoint = probe_opts.endpoint();
    loop {
        // Sleep in short steps so that a dropped watchdog ends the thread soon.
        let wake = Instant::now() + interval;
        while Instant::now() < wake {
            match weak.upgrade() {
                Some(inner) if inner.lock().stop.is_some() => return,
                Some(_) => {}
                None => return,
            }
            std::thread::sleep(interval.min(Duration::from_millis(100)));
        }
        let sent = Instant::now();
        if probe.ping().is_ok() {
            continue;
        }
        let stop = if sent.elapsed() + Duration::from_millis(100) >= silence {
            Stop::NoAnswer {
                endpoint: endpoint.clone(),
                silence,
            }
        } else {
            // The ping connection broke quickly (killed, server restarted): ask again on
            // a new one, within what is left of the bound.
            let left = silence.saturating_sub(sent.elapsed());
            let opts = ConnectOptions {
                io_timeout: Some(left.max(Duration::from_millis(100))),
                ..probe_opts.clone()
            };
            match Session::connect(&opts).and_then(|mut s| s.ping().map(|()| s)) {
                Ok(session) => {
                    probe = session;
                    continue;
                }
                Err(again) if sent.elapsed() + Duration::from_millis(100) >= silence => {
                    let _ = again;
                    Stop::NoAnswer {
                        endpoint: endpoint.clone(),
                        silence,
                    }
                }
                Err(again) => Stop::Gone {
                    endpoint: endpoint.clone(),
                    reason: match again {
                        ServerError::Unreachable { reason, .. } => reason,
                        other => other.to_string(),
                    },
                },
            }
        };
        if let Some(inner) = weak.upgrade() {
            inner.stop(stop);
        }
        return;
    }
}
