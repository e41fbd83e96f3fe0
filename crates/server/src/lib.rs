//! The connection to the running MariaDB server: the only crate that speaks SQL.
//!
//! A backup opens several [`Session`]s, as mariadb-backup does (main, `BACKUP STAGE`,
//! per-table `BACKUP LOCK`, redo copier; see `mariabackup-behavior.md` §1.1), so that a
//! blocking lock statement on one never stalls the others. This crate knows the statements
//! and how to read their answers; it does not decide *when* to send them (that is the
//! backup flow in the binary).
//!
//! Invariants: no statement here writes data or the binlog (`STOP`/`START SLAVE SQL_THREAD`
//! change replication state only, for `--safe-slave-backup`); every error names the server
//! target (socket or host:port) and, for queries, the statement that failed.
#![deny(missing_docs)]

pub mod tls;
mod tls_relay;
pub mod watchdog;

use std::collections::BTreeMap;
use std::fmt;
use std::os::fd::AsRawFd;
use std::path::PathBuf;
use std::time::Duration;

use innodb::Lsn;
use mysql::prelude::Queryable;
pub use tls::TlsOptions;
pub use watchdog::{Stop, Watchdog};

/// Where Debian's client library looks when neither socket nor host is given
/// (`[client-server] socket` in `/etc/mysql/my.cnf`).
pub const DEFAULT_SOCKET: &str = "/run/mysqld/mysqld.sock";

/// Statement every session starts with: a backup may hold a connection idle for hours
/// while files copy, and must not be cut off by `max_statement_time`.
const SESSION_SETUP: &str = "SET SESSION wait_timeout=2147483, max_statement_time=0";

/// How long connecting (TCP connect and the login handshake) may take when the
/// [`ConnectOptions`] give no `io_timeout`: a server that does not greet a new connection
/// for this long is frozen, even if its statements may wait for hours.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

/// How to reach the server, from the command line and option files.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ConnectOptions {
    /// `--host`; unset or `localhost` means the unix socket, as the MariaDB client does.
    pub host: Option<String>,
    /// `--port` (TCP only).
    pub port: Option<u16>,
    /// `--socket`; absolute, resolved before any `chdir`.
    pub socket: Option<PathBuf>,
    /// `--protocol=TCP` forces TCP even for `localhost`.
    pub force_tcp: bool,
    /// `--user`; unset means the OS user name, as the MariaDB client does.
    pub user: Option<String>,
    /// `--password`; `None` means no password is sent.
    pub password: Option<String>,
    /// Read, write and connect timeout of the connection. `None`: connecting is bounded by
    /// [`CONNECT_TIMEOUT`], statements may wait as long as the server makes them wait (a
    /// [`Watchdog`] then bounds them by the server's silence instead). Only for sessions
    /// whose statements never wait legitimately for long (the redo copier's LSN polls).
    pub io_timeout: Option<Duration>,
    /// TLS (`--ssl*`); `None`: plaintext. With TLS, a server that does not offer it is
    /// refused ([`ServerError::Tls`]), on the unix socket as over TCP.
    pub tls: Option<TlsOptions>,
}

/// The endpoint a [`ConnectOptions`] resolves to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Endpoint {
    /// A unix socket path.
    Socket(PathBuf),
    /// A TCP host and port.
    Tcp(String, u16),
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Endpoint::Socket(p) => write!(f, "socket '{}'", p.display()),
            Endpoint::Tcp(h, p) => write!(f, "'{h}' port {p}"),
        }
    }
}

impl ConnectOptions {
    /// Decides socket or TCP the way the MariaDB client does: a host other than
    /// `localhost` (or `--protocol=TCP`) means TCP, otherwise the socket.
    pub fn endpoint(&self) -> Endpoint {
        let host = self.host.as_deref().unwrap_or("localhost");
        if self.force_tcp || host != "localhost" {
            let host = if host == "localhost" {
                "127.0.0.1"
            } else {
                host
            };
            Endpoint::Tcp(host.to_string(), self.port.unwrap_or(3306))
        } else {
            Endpoint::Socket(
                self.socket
                    .clone()
                    .unwrap_or_else(|| PathBuf::from(DEFAULT_SOCKET)),
            )
        }
    }

    /// The user name sent to the server.
    pub fn effective_user(&self) -> String {
        self.user
            .clone()
            .or_else(|| std::env::var("USER").ok())
            .unwrap_or_else(|| "root".to_string())
    }

    /// The line mariadb-backup logs before connecting; the password is never shown.
    pub fn describe(&self) -> String {
        format!(
            "host: {}, user: {}, password: {}, port: {}, socket: {}",
            self.host.as_deref().unwrap_or("localhost"),
            self.effective_user(),
            if self.password.is_some() {
                "set"
            } else {
                "not set"
            },
            self.port
                .map(|p| p.to_string())
                .unwrap_or_else(|| "not set".into()),
            self.socket
                .as_ref()
                .map(|p| p.display().to_string())
                .unwrap_or_else(|| "not set".into()),
        )
    }
}

/// What went wrong talking to the server.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// The server could not be reached at all.
    #[error("cannot connect to the MariaDB server through {endpoint}: {reason}. Is the server running? Check --socket/--host/--port or the [client] group of your option files")]
    Unreachable {
        /// Where we tried.
        endpoint: Endpoint,
        /// The client library's explanation.
        reason: String,
    },
    /// TLS was asked for and could not be set up: the server does not offer it, a
    /// certificate was refused, a TLS file cannot be used.
    #[error("TLS to the MariaDB server at {endpoint} failed: {reason}")]
    Tls {
        /// Where we tried.
        endpoint: Endpoint,
        /// What went wrong, and what to change.
        reason: String,
    },
    /// The server refused the login.
    #[error(
        "the MariaDB server at {endpoint} refused the login: {reason}. Check --user/--password (an account created REQUIRE SSL or X509 also needs --ssl, or --ssl-cert/--ssl-key)"
    )]
    AccessDenied {
        /// Where we tried.
        endpoint: Endpoint,
        /// The server's message.
        reason: String,
    },
    /// A statement of a watched session was cut by its [`Watchdog`]: the server stopped
    /// answering, or the caller cancelled.
    #[error("{why} (`{sql}` was waiting and was abandoned)")]
    Interrupted {
        /// The statement.
        sql: String,
        /// Why.
        why: Stop,
    },
    /// The account lacks privileges a backup needs.
    #[error("the backup user lacks {}: grant with e.g. GRANT {} ON *.* TO <user>. SHOW GRANTS said:\n  {}",
        .missing.join(", "), .missing.join(", "), .grants.join("\n  "))]
    MissingPrivileges {
        /// Each missing privilege, e.g. `RELOAD`.
        missing: Vec<String>,
        /// What `SHOW GRANTS` returned, password hashes redacted.
        grants: Vec<String>,
    },
    /// A statement failed.
    #[error("statement `{sql}` failed on the MariaDB server: {reason}")]
    Query {
        /// The statement.
        sql: String,
        /// The server's or client library's message.
        reason: String,
        /// The server's error number (e.g. 1227 for a missing privilege); `None` when the
        /// client library failed (connection lost, timeout).
        code: Option<u16>,
    },
    /// The server answered, but not in a form we understand.
    #[error("unexpected answer to `{sql}`: {what}")]
    Unexpected {
        /// The statement.
        sql: String,
        /// What was wrong.
        what: String,
    },
}

impl ServerError {
    /// Whether the server refused a statement for lack of a privilege (ER_DBACCESS_DENIED,
    /// ER_TABLEACCESS_DENIED, ER_COLUMNACCESS_DENIED, ER_SPECIFIC_ACCESS_DENIED, ...).
    pub fn is_access_denied(&self) -> bool {
        match self {
            ServerError::AccessDenied { .. } | ServerError::MissingPrivileges { .. } => true,
            ServerError::Query {
                code: Some(code), ..
            } => matches!(code, 1044 | 1045 | 1142 | 1143 | 1227 | 1370),
            _ => false,
        }
    }
}

/// `BACKUP STAGE` steps, in the order the server requires.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum BackupStage {
    /// Blocks purge of redo needed by the backup; nothing user-visible.
    Start,
    /// Flushes and locks non-transactional tables against writes while they are copied.
    Flush,
    /// Blocks DDL.
    BlockDdl,
    /// Blocks commits: the consistent point.
    BlockCommit,
    /// Releases everything.
    End,
}

impl BackupStage {
    fn keyword(self) -> &'static str {
        match self {
            BackupStage::Start => "START",
            BackupStage::Flush => "FLUSH",
            BackupStage::BlockDdl => "BLOCK_DDL",
            BackupStage::BlockCommit => "BLOCK_COMMIT",
            BackupStage::End => "END",
        }
    }
}

/// A binlog coordinate from `SHOW MASTER STATUS`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BinlogPosition {
    /// Binlog file name, e.g. `mysql-bin.000002`.
    pub file: String,
    /// Byte position in that file.
    pub position: u64,
}

/// `SHOW VARIABLES` as a map; names are lower case.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Variables(pub BTreeMap<String, String>);

impl<'a> FromIterator<(&'a str, &'a str)> for Variables {
    /// Variables from (name, value) pairs, as tests and callers without a server build them.
    fn from_iter<I: IntoIterator<Item = (&'a str, &'a str)>>(pairs: I) -> Variables {
        Variables(
            pairs
                .into_iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }
}

impl Variables {
    /// The value of a variable, if the server has it.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    /// Whether a boolean variable is `ON`.
    pub fn is_on(&self, name: &str) -> bool {
        matches!(self.get(name), Some(v) if v.eq_ignore_ascii_case("ON") || v == "1")
    }
}

/// One result row by column name (lower case); `None` is SQL `NULL`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NamedRow(pub BTreeMap<String, Option<String>>);

impl NamedRow {
    /// The value of a column (any case), `None` when absent or `NULL`.
    pub fn get(&self, column: &str) -> Option<&str> {
        self.0
            .get(&column.to_ascii_lowercase())
            .and_then(|v| v.as_deref())
    }
}

/// One row of `SHOW SLAVE STATUS` / `SHOW ALL SLAVES STATUS`: the columns a backup uses,
/// read by name, and the whole row.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SlaveStatus {
    /// `Connection_name` (empty for the default connection; absent in `SHOW SLAVE STATUS`).
    pub connection_name: String,
    /// `Slave_SQL_Running`: `Yes`, `No` or `Preparing`.
    pub slave_sql_running: String,
    /// `Read_Master_Log_Pos`.
    pub read_master_log_pos: Option<u64>,
    /// `Relay_Master_Log_File`: the primary's binlog holding the last executed event.
    pub relay_master_log_file: String,
    /// `Exec_Master_Log_Pos`: position executed in it.
    pub exec_master_log_pos: u64,
    /// `Using_Gtid`: `No`, `Slave_Pos` or `Current_Pos`.
    pub using_gtid: String,
    /// Every column of the row.
    pub row: NamedRow,
}

impl SlaveStatus {
    /// Reads the columns by name; missing or non-numeric values become empty / 0.
    pub fn from_row(row: NamedRow) -> SlaveStatus {
        let text = |c: &str| row.get(c).unwrap_or_default().to_string();
        let number = |c: &str| row.get(c).and_then(|v| v.parse::<u64>().ok());
        SlaveStatus {
            connection_name: text("Connection_name"),
            slave_sql_running: text("Slave_SQL_Running"),
            read_master_log_pos: number("Read_Master_Log_Pos"),
            relay_master_log_file: text("Relay_Master_Log_File"),
            exec_master_log_pos: number("Exec_Master_Log_Pos").unwrap_or(0),
            using_gtid: text("Using_Gtid"),
            row,
        }
    }

    /// Whether the SQL (applier) thread runs.
    pub fn sql_thread_running(&self) -> bool {
        self.slave_sql_running.eq_ignore_ascii_case("Yes")
    }
}

/// One connection to the server.
pub struct Session {
    conn: mysql::Conn,
    /// After `conn`: dropped after it (the relay ends when the client side closes).
    _relay: Option<tls_relay::Relay>,
    endpoint: Endpoint,
    watchdog: Option<Watchdog>,
}

impl Session {
    /// Connects and prepares the session as mariadb-backup does.
    pub fn connect(opts: &ConnectOptions) -> Result<Session, ServerError> {
        let endpoint = opts.endpoint();
        let mut builder = mysql::OptsBuilder::new()
            .user(Some(opts.effective_user()))
            .pass(opts.password.clone())
            .prefer_socket(false);
        // Connecting is always bounded: a frozen server accepts into its listen backlog and
        // never greets.
        let timeout = opts.io_timeout.unwrap_or(CONNECT_TIMEOUT);
        let mut relay = match &opts.tls {
            None => None,
            Some(tls) => Some(Self::relay(opts, tls, &endpoint, timeout)?),
        };
        builder = match (&relay, &endpoint) {
            (Some(relay), _) => builder.socket(Some(relay.socket().to_string_lossy().into_owned())),
            (None, Endpoint::Socket(path)) => {
                builder.socket(Some(path.to_string_lossy().into_owned()))
            }
            (None, Endpoint::Tcp(host, port)) => {
                builder.ip_or_hostname(Some(host.clone())).tcp_port(*port)
            }
        };
        builder = builder
            .read_timeout(Some(timeout))
            .write_timeout(Some(timeout))
            .tcp_connect_timeout(Some(timeout));
        let conn = match mysql::Conn::new(builder) {
            Ok(conn) => conn,
            Err(e) => {
                if let Some(reason) = relay.as_mut().and_then(tls_relay::Relay::failure) {
                    return Err(ServerError::Tls { endpoint, reason });
                }
                return Err(classify_connect_error(&endpoint, e));
            }
        };
        let mut session = Session {
            conn,
            _relay: relay,
            endpoint,
            watchdog: None,
        };
        session.exec(SESSION_SETUP)?;
        if opts.io_timeout.is_none() {
            session.clear_socket_timeouts()?;
        }
        Ok(session)
    }

    /// The TLS relay of a `--ssl*` connection: the server greeted and offers TLS.
    fn relay(
        opts: &ConnectOptions,
        tls: &TlsOptions,
        endpoint: &Endpoint,
        timeout: Duration,
    ) -> Result<tls_relay::Relay, ServerError> {
        let tls_error = |reason| ServerError::Tls {
            endpoint: endpoint.clone(),
            reason,
        };
        let config = tls.client_config().map_err(tls_error)?;
        // The name the certificate is checked against is the one asked for: `localhost`
        // over TCP (`--protocol=TCP`) stays `localhost`, as in MariaDB's client.
        let host = opts.host.as_deref().unwrap_or("localhost");
        tls_relay::Relay::start(endpoint, host, config, timeout).map_err(|e| match e {
            tls_relay::RelayError::Unreachable(reason) => ServerError::Unreachable {
                endpoint: endpoint.clone(),
                reason,
            },
            tls_relay::RelayError::Tls(reason) => tls_error(reason),
        })
    }

    /// Lets statements wait as long as the server makes them wait (after the bounded login).
    fn clear_socket_timeouts(&mut self) -> Result<(), ServerError> {
        let fd = self.conn.as_raw_fd();
        let none = libc::timeval {
            tv_sec: 0,
            tv_usec: 0,
        };
        for option in [libc::SO_RCVTIMEO, libc::SO_SNDTIMEO] {
            // SAFETY: `fd` is this session's open socket; the option value is a timeval of
            // the size passed.
            let rc = unsafe {
                libc::setsockopt(
                    fd,
                    libc::SOL_SOCKET,
                    option,
                    (&none as *const libc::timeval).cast(),
                    std::mem::size_of::<libc::timeval>() as libc::socklen_t,
                )
            };
            if rc != 0 {
                return Err(ServerError::Unreachable {
                    endpoint: self.endpoint.clone(),
                    reason: format!(
                        "cannot clear the socket timeout: {}",
                        std::io::Error::last_os_error()
                    ),
                });
            }
        }
        Ok(())
    }

    /// Puts every later statement of this session under `watchdog`: it returns with
    /// [`ServerError::Interrupted`] as soon as the watchdog sees the server silent or is
    /// cancelled.
    pub fn set_watchdog(&mut self, watchdog: Watchdog) {
        self.watchdog = Some(watchdog);
    }

    /// `COM_PING`.
    pub fn ping(&mut self) -> Result<(), ServerError> {
        self.run("COM_PING", |conn| conn.ping())
    }

    /// Runs `f` on the connection, registered with the watchdog (if any) while it runs.
    fn run<T>(
        &mut self,
        sql: &str,
        f: impl FnOnce(&mut mysql::Conn) -> Result<T, mysql::Error>,
    ) -> Result<T, ServerError> {
        let ticket =
            match &self.watchdog {
                Some(w) => Some(w.enter(self.conn.as_raw_fd()).map_err(|why| {
                    ServerError::Interrupted {
                        sql: sql.to_string(),
                        why,
                    }
                })?),
                None => None,
            };
        let result = f(&mut self.conn);
        let cut = ticket.and_then(watchdog::Ticket::leave);
        match (result, cut) {
            (Err(_), Some(why)) => Err(ServerError::Interrupted {
                sql: sql.to_string(),
                why,
            }),
            (result, _) => result.map_err(|e| query_error(sql, e)),
        }
    }

    /// Where this session is connected.
    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    /// Runs a statement whose result is not needed.
    pub fn exec(&mut self, sql: &str) -> Result<(), ServerError> {
        self.run(sql, |conn| conn.query_drop(sql))
    }

    /// Runs a query and returns every row as optional strings.
    pub fn query_rows(&mut self, sql: &str) -> Result<Vec<Vec<Option<String>>>, ServerError> {
        let rows: Vec<mysql::Row> = self.run(sql, |conn| conn.query(sql))?;
        Ok(rows
            .into_iter()
            .map(|row| row.unwrap().into_iter().map(value_to_string).collect())
            .collect())
    }

    /// Runs a query expected to return exactly one value.
    pub fn query_value(&mut self, sql: &str) -> Result<Option<String>, ServerError> {
        let rows = self.query_rows(sql)?;
        match rows.as_slice() {
            [row] if row.len() == 1 => Ok(row[0].clone()),
            _ => Err(ServerError::Unexpected {
                sql: sql.to_string(),
                what: format!("expected one value, got {} rows", rows.len()),
            }),
        }
    }

    /// Runs a query and returns every row as column name (lower case) → value, for
    /// statements with many columns that are read by name (`SHOW ALL SLAVES STATUS`).
    pub fn query_named(&mut self, sql: &str) -> Result<Vec<NamedRow>, ServerError> {
        let rows: Vec<mysql::Row> = self.run(sql, |conn| conn.query(sql))?;
        Ok(rows
            .into_iter()
            .map(|row| {
                let names: Vec<String> = row
                    .columns_ref()
                    .iter()
                    .map(|c| c.name_str().to_ascii_lowercase())
                    .collect();
                NamedRow(
                    names
                        .into_iter()
                        .zip(row.unwrap().into_iter().map(value_to_string))
                        .collect(),
                )
            })
            .collect())
    }

    /// One variable by `SHOW VARIABLES LIKE '<name>'` (as mariadb-backup reads
    /// `gtid_slave_pos`); `None` when the server has no such variable.
    pub fn variable(&mut self, name: &str) -> Result<Option<String>, ServerError> {
        let sql = format!("SHOW VARIABLES LIKE {}", self.quote_string(name));
        Ok(name_value_pairs(self.query_rows(&sql)?).remove(&name.to_ascii_lowercase()))
    }

    /// `SHOW VARIABLES LIKE '<pattern>'`, e.g. `wsrep%`.
    pub fn variables_like(&mut self, pattern: &str) -> Result<Variables, ServerError> {
        let sql = format!("SHOW VARIABLES LIKE {}", self.quote_string(pattern));
        Ok(Variables(name_value_pairs(self.query_rows(&sql)?)))
    }

    /// `SHOW STATUS` (`pattern: None`) or `SHOW STATUS LIKE '<pattern>'`; names lower case.
    pub fn status(&mut self, pattern: Option<&str>) -> Result<Variables, ServerError> {
        let sql = match pattern {
            None => "SHOW STATUS".to_string(),
            Some(p) => format!("SHOW STATUS LIKE {}", self.quote_string(p)),
        };
        Ok(Variables(name_value_pairs(self.query_rows(&sql)?)))
    }

    /// `SHOW SLAVE STATUS`: the default replication connection, `None` when the server is
    /// not a replica.
    pub fn slave_status(&mut self) -> Result<Option<SlaveStatus>, ServerError> {
        Ok(self
            .query_named("SHOW SLAVE STATUS")?
            .into_iter()
            .next()
            .map(SlaveStatus::from_row))
    }

    /// `SHOW ALL SLAVES STATUS`: one row per replication connection (none on a primary).
    pub fn all_slaves_status(&mut self) -> Result<Vec<SlaveStatus>, ServerError> {
        Ok(self
            .query_named("SHOW ALL SLAVES STATUS")?
            .into_iter()
            .map(SlaveStatus::from_row)
            .collect())
    }

    /// `Slave_open_temp_tables` from `SHOW STATUS LIKE 'slave_open_temp_tables'`.
    pub fn slave_open_temp_tables(&mut self) -> Result<u64, ServerError> {
        const SQL: &str = "SHOW STATUS LIKE 'slave_open_temp_tables'";
        name_value_pairs(self.query_rows(SQL)?)
            .remove("slave_open_temp_tables")
            .and_then(|v| v.parse::<u64>().ok())
            .ok_or_else(|| ServerError::Unexpected {
                sql: SQL.to_string(),
                what: "no numeric Slave_open_temp_tables".to_string(),
            })
    }

    /// `STOP SLAVE SQL_THREAD` (the default connection).
    pub fn stop_slave_sql_thread(&mut self) -> Result<(), ServerError> {
        self.exec("STOP SLAVE SQL_THREAD")
    }

    /// `START SLAVE SQL_THREAD` (the default connection).
    pub fn start_slave_sql_thread(&mut self) -> Result<(), ServerError> {
        self.exec("START SLAVE SQL_THREAD")
    }

    /// `value` as a quoted SQL string literal for this session, escaped as
    /// `mysql_real_escape_string` does (backslashes, or doubled quotes when the session's
    /// `sql_mode` has `NO_BACKSLASH_ESCAPES`).
    pub fn quote_string(&self, value: &str) -> String {
        quote_string(value, self.conn.no_backslash_escape())
    }

    /// `SHOW VARIABLES`.
    pub fn variables(&mut self) -> Result<Variables, ServerError> {
        let rows = self.query_rows("SHOW VARIABLES")?;
        Ok(Variables(name_value_pairs(rows)))
    }

    /// `SHOW GRANTS` for the current user, every password hash or authentication string
    /// redacted ([`redact_grant`]): these lines end up in messages.
    pub fn grants(&mut self) -> Result<Vec<String>, ServerError> {
        let rows = self.query_rows("SHOW GRANTS")?;
        Ok(rows
            .into_iter()
            .filter_map(|r| r.into_iter().next().flatten())
            .map(|line| redact_grant(&line))
            .collect())
    }

    /// Fails with [`ServerError::MissingPrivileges`] naming every privilege of `needed`
    /// that the current user lacks on `*.*`.
    pub fn require_privileges(&mut self, needed: &[Privilege]) -> Result<(), ServerError> {
        let (missing, grants) = self.missing_privileges(needed)?;
        if missing.is_empty() {
            Ok(())
        } else {
            Err(ServerError::MissingPrivileges {
                missing: missing.iter().map(|p| p.name().to_string()).collect(),
                grants,
            })
        }
    }

    /// The privileges of `needed` that the current user lacks on `*.*` according to
    /// `SHOW GRANTS`, and what `SHOW GRANTS` said. Privileges held through a role are not
    /// seen, so a caller that only warns (as mariadb-backup does for the replica options)
    /// lets the statement itself decide.
    pub fn missing_privileges(
        &mut self,
        needed: &[Privilege],
    ) -> Result<(Vec<Privilege>, Vec<String>), ServerError> {
        let grants = self.grants()?;
        let held = global_privileges(&grants);
        let missing = needed
            .iter()
            .copied()
            .filter(|p| !p.satisfied_by(&held))
            .collect();
        Ok((missing, grants))
    }

    /// `BACKUP STAGE <stage>`.
    pub fn backup_stage(&mut self, stage: BackupStage) -> Result<(), ServerError> {
        self.exec(&format!("BACKUP STAGE {}", stage.keyword()))
    }

    /// `BACKUP LOCK db.table`: blocks DDL and writes to one table while its files copy.
    pub fn backup_lock(&mut self, db: &str, table: &str) -> Result<(), ServerError> {
        self.exec(&format!(
            "BACKUP LOCK {}.{}",
            quote_identifier(db),
            quote_identifier(table)
        ))
    }

    /// `BACKUP UNLOCK`.
    pub fn backup_unlock(&mut self) -> Result<(), ServerError> {
        self.exec("BACKUP UNLOCK")
    }

    /// The server's current LSN ("Log sequence number" of `SHOW ENGINE INNODB STATUS`).
    pub fn innodb_lsn(&mut self) -> Result<Lsn, ServerError> {
        const SQL: &str = "SHOW ENGINE INNODB STATUS";
        let rows = self.query_rows(SQL)?;
        let status = rows
            .into_iter()
            .next()
            .and_then(|r| r.into_iter().nth(2).flatten())
            .unwrap_or_default();
        parse_status_lsn(&status, "Log sequence number").ok_or_else(|| ServerError::Unexpected {
            sql: SQL.to_string(),
            what: "no 'Log sequence number' line".to_string(),
        })
    }

    /// `Innodb_lsn_current` and `Innodb_lsn_flushed` (everything below the latter is
    /// durable in `ib_logfile0`), in one cheap query: session scope, which shows these
    /// global InnoDB values without summing every connection's counters.
    pub fn innodb_lsns(&mut self) -> Result<(Lsn, Lsn), ServerError> {
        const SQL: &str = "SHOW STATUS LIKE 'Innodb_lsn_%'";
        let mut pairs = name_value_pairs(self.query_rows(SQL)?);
        let mut take = |name: &str| {
            pairs
                .remove(name)
                .and_then(|v| v.trim().parse::<u64>().ok())
                .map(Lsn)
                .ok_or_else(|| ServerError::Unexpected {
                    sql: SQL.to_string(),
                    what: format!("no numeric {name}"),
                })
        };
        Ok((take("innodb_lsn_current")?, take("innodb_lsn_flushed")?))
    }

    /// `FLUSH NO_WRITE_TO_BINLOG ENGINE LOGS`: makes the redo durable up to the current LSN.
    pub fn flush_engine_logs(&mut self) -> Result<(), ServerError> {
        self.exec("FLUSH NO_WRITE_TO_BINLOG ENGINE LOGS")
    }

    /// `SHOW MASTER STATUS`; `None` when the binlog is off.
    pub fn master_status(&mut self) -> Result<Option<BinlogPosition>, ServerError> {
        const SQL: &str = "SHOW MASTER STATUS";
        let rows = self.query_rows(SQL)?;
        let Some(row) = rows.into_iter().next() else {
            return Ok(None);
        };
        let mut cols = row.into_iter();
        let file = cols.next().flatten();
        let pos = cols.next().flatten().and_then(|p| p.parse::<u64>().ok());
        match (file, pos) {
            (Some(file), Some(position)) => Ok(Some(BinlogPosition { file, position })),
            _ => Err(ServerError::Unexpected {
                sql: SQL.to_string(),
                what: "missing File or Position".to_string(),
            }),
        }
    }
}

/// A global privilege a backup may need.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Privilege {
    /// `RELOAD`: BACKUP STAGE, BACKUP LOCK, FLUSH.
    Reload,
    /// `PROCESS`: SHOW ENGINE INNODB STATUS.
    Process,
    /// `BINLOG MONITOR` (or `SUPER`): SHOW MASTER STATUS.
    BinlogMonitor,
    /// `SLAVE MONITOR` (or `SUPER`): SHOW ALL SLAVES STATUS for `--slave-info`.
    SlaveMonitor,
    /// `REPLICATION SLAVE ADMIN` (or `SUPER`): STOP/START SLAVE for `--safe-slave-backup`.
    ReplicationSlaveAdmin,
}

impl Privilege {
    /// The privilege as `GRANT` spells it.
    pub fn name(self) -> &'static str {
        match self {
            Privilege::Reload => "RELOAD",
            Privilege::Process => "PROCESS",
            Privilege::BinlogMonitor => "BINLOG MONITOR",
            Privilege::SlaveMonitor => "SLAVE MONITOR",
            Privilege::ReplicationSlaveAdmin => "REPLICATION SLAVE ADMIN",
        }
    }

    fn satisfied_by(self, held: &[String]) -> bool {
        let has = |p: &str| held.iter().any(|h| h == p);
        has("ALL PRIVILEGES")
            || has(self.name())
            || (matches!(
                self,
                Privilege::BinlogMonitor
                    | Privilege::SlaveMonitor
                    | Privilege::ReplicationSlaveAdmin
            ) && has("SUPER"))
            // REPLICATION CLIENT is the pre-10.5 name of BINLOG MONITOR.
            || (self == Privilege::BinlogMonitor && has("REPLICATION CLIENT"))
    }
}

/// The privileges granted `ON *.*` by the given `SHOW GRANTS` lines, upper case.
pub fn global_privileges(grants: &[String]) -> Vec<String> {
    let mut held = Vec::new();
    for line in grants {
        let Some(rest) = line.strip_prefix("GRANT ") else {
            continue;
        };
        let Some((privs, target)) = rest.split_once(" ON ") else {
            continue;
        };
        if !target.trim_start().starts_with("*.*") {
            continue;
        }
        held.extend(privs.split(',').map(|p| p.trim().to_ascii_uppercase()));
    }
    held
}

/// What a redacted secret is replaced by.
pub const REDACTED: &str = "<redacted>";

/// A `SHOW GRANTS` line with the string after every `PASSWORD` and `USING` keyword (the
/// password hash of `IDENTIFIED BY PASSWORD '*...'`, the authentication string of
/// `IDENTIFIED VIA plugin USING '...'`, also inside `USING PASSWORD('...')`) replaced by
/// [`REDACTED`]: a hash is as good as the password for `mysql_native_password` logins.
pub fn redact_grant(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut rest = line;
    // The keyword must be a whole word, followed by blanks or `(` and then a quote.
    while let Some((at, len)) = next_secret(rest) {
        out.push_str(&rest[..at]);
        out.push('\'');
        out.push_str(REDACTED);
        out.push('\'');
        rest = &rest[at + len..];
    }
    out.push_str(rest);
    out
}

/// The byte offset and length of the next quoted string that follows `PASSWORD` or `USING`.
fn next_secret(text: &str) -> Option<(usize, usize)> {
    let upper = text.to_ascii_uppercase();
    let bytes = text.as_bytes();
    let mut from = 0;
    loop {
        let hit = ["PASSWORD", "USING"]
            .iter()
            .filter_map(|k| upper[from..].find(k).map(|i| (from + i, k.len())))
            .min()?;
        let (kw, kw_len) = hit;
        from = kw + kw_len;
        let word_start = kw == 0 || !bytes[kw - 1].is_ascii_alphanumeric();
        if !word_start {
            continue;
        }
        let mut i = from;
        while i < bytes.len() && (bytes[i] == b' ' || bytes[i] == b'(' || bytes[i] == b'\t') {
            i += 1;
        }
        // `USING PASSWORD('...')`: the inner keyword is found on the next turn.
        if i >= bytes.len() || bytes[i] != b'\'' {
            continue;
        }
        let start = i;
        i += 1;
        while i < bytes.len() {
            match bytes[i] {
                b'\\' => i += 2,
                b'\'' if bytes.get(i + 1) == Some(&b'\'') => i += 2,
                b'\'' => return Some((start, i + 1 - start)),
                _ => i += 1,
            }
        }
        // Unterminated: redact to the end.
        return Some((start, bytes.len() - start));
    }
}

/// Reads `<label> <number>` from an InnoDB status text.
pub fn parse_status_lsn(status: &str, label: &str) -> Option<Lsn> {
    status.lines().find_map(|line| {
        let rest = line.strip_prefix(label)?;
        rest.split_whitespace()
            .next()
            .and_then(|n| n.parse::<u64>().ok())
            .map(Lsn)
    })
}

/// `value` as a quoted SQL string literal, escaped as `mysql_real_escape_string` does: with
/// a backslash before `\`, `'`, `"`, NUL, LF, CR and Ctrl-Z, or, when the session has
/// `NO_BACKSLASH_ESCAPES`, by doubling single quotes only.
pub fn quote_string(value: &str, no_backslash_escapes: bool) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('\'');
    for c in value.chars() {
        if no_backslash_escapes {
            if c == '\'' {
                out.push('\'');
            }
            out.push(c);
            continue;
        }
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            '"' => out.push_str("\\\""),
            '\0' => out.push_str("\\0"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\u{1a}' => out.push_str("\\Z"),
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

/// Quotes an identifier with backticks, doubling any backtick inside it.
pub fn quote_identifier(name: &str) -> String {
    format!("`{}`", name.replace('`', "``"))
}

fn name_value_pairs(rows: Vec<Vec<Option<String>>>) -> BTreeMap<String, String> {
    rows.into_iter()
        .filter_map(|r| {
            let mut cols = r.into_iter();
            let name = cols.next().flatten()?;
            let value = cols.next().flatten().unwrap_or_default();
            Some((name.to_ascii_lowercase(), value))
        })
        .collect()
}

fn value_to_string(value: mysql::Value) -> Option<String> {
    match value {
        mysql::Value::NULL => None,
        mysql::Value::Bytes(bytes) => Some(String::from_utf8_lossy(&bytes).into_owned()),
        mysql::Value::Int(i) => Some(i.to_string()),
        mysql::Value::UInt(u) => Some(u.to_string()),
        mysql::Value::Float(f) => Some(f.to_string()),
        mysql::Value::Double(d) => Some(d.to_string()),
        other => Some(other.as_sql(true).trim_matches('\'').to_string()),
    }
}

fn query_error(sql: &str, e: mysql::Error) -> ServerError {
    let code = match &e {
        mysql::Error::MySqlError(server) => Some(server.code),
        _ => None,
    };
    ServerError::Query {
        sql: sql.to_string(),
        reason: e.to_string(),
        code,
    }
}

fn classify_connect_error(endpoint: &Endpoint, e: mysql::Error) -> ServerError {
    match e {
        mysql::Error::MySqlError(ref server) if server.code == 1045 || server.code == 1698 => {
            ServerError::AccessDenied {
                endpoint: endpoint.clone(),
                reason: server.message.clone(),
            }
        }
        mysql::Error::DriverError(driver) => ServerError::Unreachable {
            endpoint: endpoint.clone(),
            reason: driver.to_string(),
        },
        mysql::Error::IoError(io) => ServerError::Unreachable {
            endpoint: endpoint.clone(),
            reason: io.to_string(),
        },
        other => ServerError::Unreachable {
            endpoint: endpoint.clone(),
            reason: other.to_string(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_follows_the_client_rules() {
        let check = |host: Option<&str>, tcp: bool, expected: Endpoint| {
            let opts = ConnectOptions {
                host: host.map(str::to_string),
                force_tcp: tcp,
                port: Some(3307),
                ..Default::default()
            };
            assert_eq!(opts.endpoint(), expected, "host {host:?} tcp {tcp}");
        };
        check(None, false, Endpoint::Socket(DEFAULT_SOCKET.into()));
        check(
            Some("localhost"),
            false,
            Endpoint::Socket(DEFAULT_SOCKET.into()),
        );
        check(
            Some("localhost"),
            true,
            Endpoint::Tcp("127.0.0.1".into(), 3307),
        );
        check(Some("db1"), false, Endpoint::Tcp("db1".into(), 3307));
    }

    #[test]
    fn describe_never_shows_the_password() {
        let opts = ConnectOptions {
            user: Some("bk".into()),
            password: Some("s3cret".into()),
            socket: Some("/tmp/s.sock".into()),
            ..Default::default()
        };
        let line = opts.describe();
        assert_eq!(
            line,
            "host: localhost, user: bk, password: set, port: not set, socket: /tmp/s.sock"
        );
        assert!(!line.contains("s3cret"));
    }

    #[test]
    fn global_privileges_from_show_grants() {
        let check = |grants: &[&str], needed: Privilege, ok: bool| {
            let grants: Vec<String> = grants.iter().map(|s| s.to_string()).collect();
            assert_eq!(
                needed.satisfied_by(&global_privileges(&grants)),
                ok,
                "{grants:?} {needed:?}"
            );
        };
        let usage = "GRANT USAGE ON *.* TO `bk`@`localhost`";
        let rp = "GRANT RELOAD, PROCESS ON *.* TO `bk`@`localhost` IDENTIFIED BY PASSWORD '*AB'";
        let all = "GRANT ALL PRIVILEGES ON *.* TO `root`@`localhost` WITH GRANT OPTION";
        let db_only = "GRANT ALL PRIVILEGES ON `db`.* TO `bk`@`localhost`";
        check(&[usage], Privilege::Reload, false);
        check(&[rp], Privilege::Reload, true);
        check(&[rp], Privilege::Process, true);
        check(&[rp], Privilege::BinlogMonitor, false);
        check(&[all], Privilege::BinlogMonitor, true);
        check(&[usage, db_only], Privilege::Reload, false);
        check(
            &["GRANT SUPER ON *.* TO `x`@`%`"],
            Privilege::BinlogMonitor,
            true,
        );
        check(
            &["GRANT RELOAD, BINLOG MONITOR ON *.* TO `x`@`%`"],
            Privilege::BinlogMonitor,
            true,
        );
    }

    #[test]
    fn lsn_from_innodb_status() {
        let status = "---\nLOG\n---\nLog sequence number 813780\nLog flushed up to   813780\n";
        assert_eq!(
            parse_status_lsn(status, "Log sequence number"),
            Some(Lsn(813780))
        );
        assert_eq!(
            parse_status_lsn(status, "Log flushed up to"),
            Some(Lsn(813780))
        );
        assert_eq!(parse_status_lsn("nothing", "Log sequence number"), None);
    }

    #[test]
    fn strings_are_quoted_as_mysql_real_escape_string() {
        assert_eq!(quote_string("gtid_slave_pos", false), "'gtid_slave_pos'");
        assert_eq!(
            quote_string("filename 'mysql-bin.000002'", false),
            r"'filename \'mysql-bin.000002\''"
        );
        assert_eq!(quote_string("a\\b\n\"\0", false), r#"'a\\b\n\"\0'"#);
        assert_eq!(quote_string("it's a\\b", true), r"'it''s a\b'");
    }

    #[test]
    fn replication_privileges() {
        let held = |line: &str| global_privileges(&[line.to_string()]);
        let super_ = held("GRANT SUPER ON *.* TO `x`@`%`");
        assert!(Privilege::SlaveMonitor.satisfied_by(&super_));
        assert!(Privilege::ReplicationSlaveAdmin.satisfied_by(&super_));
        let monitor = held("GRANT RELOAD, PROCESS, SLAVE MONITOR ON *.* TO `x`@`%`");
        assert!(Privilege::SlaveMonitor.satisfied_by(&monitor));
        assert!(!Privilege::ReplicationSlaveAdmin.satisfied_by(&monitor));
        let admin = held("GRANT REPLICATION SLAVE ADMIN ON *.* TO `x`@`%`");
        assert!(Privilege::ReplicationSlaveAdmin.satisfied_by(&admin));
    }

    #[test]
    fn slave_status_is_read_by_column_name() {
        let row = NamedRow(
            [
                ("connection_name", Some("")),
                ("slave_sql_running", Some("Yes")),
                ("read_master_log_pos", Some("4805")),
                ("relay_master_log_file", Some("mysql-bin.000002")),
                ("exec_master_log_pos", Some("4801")),
                ("using_gtid", Some("Slave_Pos")),
                ("last_error", None),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.map(str::to_string)))
            .collect(),
        );
        let status = SlaveStatus::from_row(row);
        assert!(status.sql_thread_running());
        assert_eq!(status.read_master_log_pos, Some(4805));
        assert_eq!(status.relay_master_log_file, "mysql-bin.000002");
        assert_eq!(status.exec_master_log_pos, 4801);
        assert_eq!(status.using_gtid, "Slave_Pos");
        assert_eq!(status.row.get("Last_Error"), None);
        assert_eq!(status.row.get("USING_GTID"), Some("Slave_Pos"));
        let empty = SlaveStatus::from_row(NamedRow::default());
        assert!(!empty.sql_thread_running());
        assert_eq!(empty.read_master_log_pos, None);
    }

    #[test]
    fn access_denied_is_recognised_by_error_number() {
        let query = |code| ServerError::Query {
            sql: "SHOW ALL SLAVES STATUS".into(),
            reason: "denied".into(),
            code,
        };
        assert!(query(Some(1227)).is_access_denied());
        assert!(query(Some(1142)).is_access_denied());
        assert!(!query(Some(1064)).is_access_denied());
        assert!(!query(None).is_access_denied());
    }

    #[test]
    fn show_grants_lines_never_keep_a_secret() {
        let check = |line: &str, expected: &str| {
            assert_eq!(redact_grant(line), expected, "{line}");
        };
        check(
            "GRANT RELOAD ON *.* TO `bk`@`localhost` IDENTIFIED BY PASSWORD '*6BB4837EB74329105EE4568DDA7DC67ED2CA2AD9'",
            "GRANT RELOAD ON *.* TO `bk`@`localhost` IDENTIFIED BY PASSWORD '<redacted>'",
        );
        check(
            "GRANT USAGE ON *.* TO `e`@`%` IDENTIFIED VIA ed25519 USING 'ZIgUREUg5PVgQ6LskhXmO+eZLS0nC8be6HPjYWR4YJY'",
            "GRANT USAGE ON *.* TO `e`@`%` IDENTIFIED VIA ed25519 USING '<redacted>'",
        );
        check(
            "GRANT USAGE ON *.* TO `m`@`%` IDENTIFIED VIA unix_socket OR mysql_native_password USING PASSWORD('s3cret')",
            "GRANT USAGE ON *.* TO `m`@`%` IDENTIFIED VIA unix_socket OR mysql_native_password USING PASSWORD('<redacted>')",
        );
        check(
            "grant usage on *.* to `x`@`%` identified by password 'it''s \\' secret'",
            "grant usage on *.* to `x`@`%` identified by password '<redacted>'",
        );
        check(
            "GRANT USAGE ON *.* TO `t`@`%` IDENTIFIED BY PASSWORD '*AB",
            "GRANT USAGE ON *.* TO `t`@`%` IDENTIFIED BY PASSWORD '<redacted>'",
        );
        // Nothing secret: unchanged, also a database named like a keyword.
        let plain = "GRANT ALL PRIVILEGES ON `using`.* TO `root`@`localhost` WITH GRANT OPTION";
        check(plain, plain);
        check(
            "GRANT PROXY ON ''@'%' TO 'root'@'localhost' WITH GRANT OPTION",
            "GRANT PROXY ON ''@'%' TO 'root'@'localhost' WITH GRANT OPTION",
        );
        // The privilege parser still reads a redacted line.
        let held = global_privileges(&[redact_grant(
            "GRANT RELOAD, PROCESS ON *.* TO `bk`@`%` IDENTIFIED BY PASSWORD '*AB'",
        )]);
        assert_eq!(held, ["RELOAD", "PROCESS"]);
    }

    #[test]
    fn missing_privileges_message_has_no_hash() {
        let e = ServerError::MissingPrivileges {
            missing: vec!["RELOAD".into()],
            grants: vec![redact_grant(
                "GRANT USAGE ON *.* TO `bk`@`%` IDENTIFIED BY PASSWORD '*6BB4837EB74329105EE4568DDA7DC67ED2CA2AD9'",
            )],
        };
        let text = e.to_string();
        assert!(!text.contains("6BB4837E"), "{text}");
        assert!(
            text.contains("IDENTIFIED BY PASSWORD '<redacted>'"),
            "{text}"
        );
    }

    #[test]
    fn identifiers_are_quoted() {
        assert_eq!(quote_identifier("t"), "`t`");
        assert_eq!(quote_identifier("we`ird"), "`we``ird`");
    }
}
