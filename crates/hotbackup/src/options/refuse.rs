//! Refusing what hotbackup does not do: a [`State::Refused`] option given with a value that
//! asks for something is a usage error (exit 2, nothing written), so that `--stream`,
//! `--incremental-basedir`, `--databases`, ... never silently give a full backup in a
//! directory.
//!
//! Where a value came from matters, because option files are shared:
//! * the command line and the tool groups (`[mariadb-backup]`, `[mariabackup]`,
//!   `[xtrabackup]`) can only be talking to the backup tool: always refused;
//! * the shared groups (`[mysqld]`, `[server]`, `[client]`, ...) hold the server's own
//!   settings and every client's defaults. A value there is refused too, unless the option is
//!   [`Shared::Warn`] (it cannot change the files hotbackup writes: ignored with a warning) or
//!   [`Shared::Tls`] (ignored with a warning while the connection stays on this machine).
//!
//! A value equal to mariadb-backup's default asks for nothing (`--compress-threads=1`,
//! `--encrypted-backup`) and is accepted; for [`Accepts::Off`] options only an explicit off.

use std::collections::HashMap;
use std::net::IpAddr;

use super::parse::{Setting, Val};
use super::spec::{Accepts, Kind, Shared, Spec, State};
use super::table::SPECS;
use super::{Connection, Error, ErrorKind, Protocol};

/// Checks every stored value against its option's state. Returns the warnings for ignored
/// values, or the first refusal (in table order, so the message is deterministic).
pub(super) fn check(
    settings: &HashMap<&'static str, Setting>,
    connection: &Connection,
) -> Result<Vec<String>, Error> {
    let mut warnings = Vec::new();
    for spec in SPECS {
        let State::Refused { shared, accepts } = spec.state else {
            continue;
        };
        let Some(setting) = settings.get(spec.name) else {
            continue;
        };
        if !asks_for_something(spec, accepts, &setting.val) {
            continue;
        }
        let refused = Error::new(
            ErrorKind::Unsupported,
            format!(
                "--{} is not supported by this version of hotbackup",
                spec.name
            ),
        );
        if !setting.shared {
            return Err(located(refused, setting));
        }
        match shared {
            Shared::Refuse => return Err(located(refused, setting)),
            Shared::Warn => warnings.push(format!(
                "Warning: hotbackup: ignoring {} from {}: hotbackup does not use it, and this \
                 setting of the server or of the other clients cannot change the backup",
                spec.name, setting.origin
            )),
            Shared::Tls => match remote_host(connection) {
                None => warnings.push(format!(
                    "Warning: hotbackup: ignoring {} from {}: hotbackup has no TLS, and its \
                     connection stays on this machine",
                    spec.name, setting.origin
                )),
                Some(host) => {
                    let mut e = located(refused, setting);
                    e.message.push_str(&format!(
                        ": hotbackup has no TLS, and its connection to '{host}' would leave \
                         this machine unencrypted; connect through the unix socket (--socket) \
                         or a loopback address"
                    ));
                    return Err(e);
                }
            },
        }
    }
    Ok(warnings)
}

/// Whether `val` asks for something that the option's default does not.
fn asks_for_something(spec: &Spec, accepts: Accepts, val: &Val) -> bool {
    match (spec.kind, val) {
        (_, Val::Unset) => false,
        (Kind::Bool { default }, Val::Bool(b)) => match accepts {
            Accepts::Default => *b != default,
            Accepts::Off => *b,
        },
        (Kind::Num { default, .. }, Val::Num(n)) => *n != default,
        _ => true,
    }
}

fn located(mut e: Error, setting: &Setting) -> Error {
    if let super::Origin::File { .. } = setting.origin {
        e.message = format!("{} (in {})", e.message, setting.origin);
    }
    e
}

/// The host of a TCP connection that leaves this machine, `None` for the unix socket or a
/// loopback address. Same socket-or-TCP rule as the server crate's `ConnectOptions::endpoint`
/// (and the MariaDB client): TCP when the host is not `localhost` or `--protocol=TCP`.
fn remote_host(c: &Connection) -> Option<String> {
    let host = c.host.as_deref().unwrap_or("localhost");
    let tcp = c.protocol == Some(Protocol::Tcp) || host != "localhost";
    let loopback = host == "localhost"
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    (tcp && !loopback).then(|| host.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remote_hosts() {
        let conn = |host: Option<&str>, tcp: bool| Connection {
            host: host.map(str::to_string),
            protocol: tcp.then_some(Protocol::Tcp),
            ..Connection::default()
        };
        for (host, tcp, want) in [
            (None, false, None),
            (None, true, None),
            (Some("localhost"), true, None),
            (Some("127.0.0.1"), false, None),
            (Some("127.0.0.2"), false, None),
            (Some("::1"), false, None),
            (Some("[::1]"), false, None),
            (Some("db1.example.com"), false, Some("db1.example.com")),
            (Some("10.0.0.5"), true, Some("10.0.0.5")),
        ] {
            assert_eq!(
                remote_host(&conn(host, tcp)).as_deref(),
                want,
                "{host:?} {tcp}"
            );
        }
    }
}
