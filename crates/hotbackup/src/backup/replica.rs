//! Backing up a replica: `--safe-slave-backup` (no replicated temporary table may be open
//! while the backup's consistent point is taken) and `--slave-info` (the primary's
//! coordinates, to start a new replica from the backup). Statements and messages follow
//! mariadb-backup 10.11 (`mariabackup-behavior.md` §1.3):
//!
//! ```text
//! SHOW SLAVE STATUS                      -- not a replica: nothing more
//! STOP SLAVE SQL_THREAD                  -- only if it runs
//! SHOW STATUS LIKE 'slave_open_temp_tables'
//!   while > 0 and attempts left (timeout / 3):
//!     START SLAVE SQL_THREAD, sleep 3 s, STOP SLAVE SQL_THREAD, check again
//! ... BACKUP STAGE START .. BLOCK_COMMIT ...
//! SHOW VARIABLES LIKE 'gtid_slave_pos'   -- --slave-info, under BLOCK_COMMIT
//! SHOW ALL SLAVES STATUS
//! ... BACKUP STAGE END
//! START SLAVE SQL_THREAD                 -- only if the backup stopped it
//! ```
//!
//! A backup never leaves replication stopped: [`SqlThread`] remembers that it stopped the
//! SQL thread, and every way out of the backup (success, failure, panic) starts it again;
//! after a failure through a fresh connection with a timeout, since the main one may be
//! broken.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use backup_meta::{SlaveInfo, SlaveStatusRow};
use server::{ConnectOptions, Privilege, ServerError, Session};

use crate::exit::Code;
use crate::failure::Failure;
use crate::log::Log;

/// mariadb-backup's pause between two checks of `Slave_open_temp_tables`.
const RETRY_SLEEP_S: u64 = 3;

/// How long the connection that restarts the SQL thread after a failure may wait for the
/// server (it may be the reason of the failure: frozen, overloaded).
const RESTART_TIMEOUT: Duration = Duration::from_secs(60);

/// The replica's SQL thread as `--safe-slave-backup` handles it.
pub struct SqlThread<'a> {
    conn: &'a ConnectOptions,
    log: &'a Log,
    /// Set from just before `STOP SLAVE SQL_THREAD` until the thread was started again;
    /// shared with the stopper that may end the process after a signal
    /// ([`super::interrupt`]), which then starts the thread itself.
    stopped_by_us: &'a AtomicBool,
}

impl<'a> SqlThread<'a> {
    /// Nothing stopped yet (`stopped_by_us` is false).
    pub fn new(
        conn: &'a ConnectOptions,
        log: &'a Log,
        stopped_by_us: &'a AtomicBool,
    ) -> SqlThread<'a> {
        SqlThread {
            conn,
            log,
            stopped_by_us,
        }
    }

    fn set_stopped(&self, stopped: bool) {
        self.stopped_by_us.store(stopped, Ordering::SeqCst);
    }

    /// `--safe-slave-backup`: stops the SQL thread once the replica has no replicated
    /// temporary table open, retrying for `timeout_s` seconds as mariadb-backup does.
    /// `check` is called while waiting and ends the wait with its error (server gone).
    /// On a timeout the SQL thread is running again and the error (exit 1) says why.
    pub fn stop_when_safe(
        &mut self,
        main: &mut Session,
        timeout_s: u64,
        check: &dyn Fn() -> Result<(), Failure>,
    ) -> Result<(), Failure> {
        let log = self.log;
        let status = main
            .slave_status()
            .map_err(|e| refused(e, "--safe-slave-backup", Privilege::SlaveMonitor))?;
        let Some(status) = status.filter(|s| s.read_master_log_pos.is_some()) else {
            log.info("Not checking slave open temp tables for --safe-slave-backup because host is not a slave");
            return Ok(());
        };
        let was_running = status.sql_thread_running();
        if was_running {
            self.stop(main)?;
        }
        // mariadb-backup: timeout / 3 attempts of 3 s (one when the timeout is 0).
        let mut attempts = if timeout_s > 0 {
            timeout_s / RETRY_SLEEP_S
        } else {
            1
        };
        let mut open = main.slave_open_temp_tables()?;
        log.info(&format!("Slave open temp tables: {open}"));
        // A thread the DBA stopped is never started by the backup: its temporary tables
        // cannot close while it is stopped, so there is nothing to wait for.
        while open > 0 && attempts > 0 && was_running {
            attempts -= 1;
            log.info(&format!(
                "Starting slave SQL thread, waiting {RETRY_SLEEP_S} seconds, then checking Slave_open_temp_tables again ({attempts} attempts remaining)..."
            ));
            main.start_slave_sql_thread()?;
            self.set_stopped(false);
            let until = Instant::now() + Duration::from_secs(RETRY_SLEEP_S);
            while Instant::now() < until {
                check()?;
                std::thread::sleep(Duration::from_millis(100));
            }
            self.stop(main)?;
            open = main.slave_open_temp_tables()?;
            log.info(&format!("Slave open temp tables: {open}"));
        }
        if open == 0 {
            log.info("Slave is safe to backup.");
            return Ok(());
        }
        if self.stopped_by_us.load(Ordering::SeqCst) {
            log.info("Restarting slave SQL thread.");
            main.start_slave_sql_thread()?;
            self.set_stopped(false);
        }
        log.info(&format!(
            "Slave_open_temp_tables did not become zero after {timeout_s} seconds"
        ));
        let message = if was_running {
            format!(
                "Slave_open_temp_tables did not become zero after {timeout_s} seconds (--safe-slave-backup-timeout={timeout_s}): the replica's SQL thread keeps {open} replicated temporary table(s) open, which a backup cannot contain. The SQL thread runs again; nothing was copied. Retry when the sessions on the primary that created them have ended, or give a longer --safe-slave-backup-timeout"
            )
        } else {
            format!(
                "Slave_open_temp_tables is {open} and the replica's SQL thread is stopped, so the replicated temporary tables cannot close (--safe-slave-backup never starts a thread it did not stop); nothing was copied. Start it with START SLAVE SQL_THREAD, or back up without --safe-slave-backup"
            )
        };
        Err(Failure::new(Code::Failure, message))
    }

    fn stop(&mut self, main: &mut Session) -> Result<(), Failure> {
        // Marked before the statement: if the answer is lost, the thread may be stopped.
        self.set_stopped(true);
        main.stop_slave_sql_thread()
            .map_err(|e| refused(e, "--safe-slave-backup", Privilege::ReplicationSlaveAdmin))
    }

    /// After `BACKUP STAGE END`: starts the SQL thread again if the backup stopped it.
    pub fn restart(&mut self, main: &mut Session) -> Result<(), Failure> {
        if self.stopped_by_us.load(Ordering::SeqCst) {
            main.start_slave_sql_thread()?;
            self.set_stopped(false);
            self.log
                .info("Slave SQL thread started again (--safe-slave-backup)");
        }
        Ok(())
    }

    /// After a failure: starts the SQL thread again through a fresh connection if the
    /// backup stopped it. Returns what to add to the failure message if that failed. With
    /// `server_silent` (the server stopped answering) it is not tried: it would only wait.
    pub fn restart_after_failure(&mut self, server_silent: bool) -> Option<String> {
        if server_silent && self.stopped_by_us.swap(false, Ordering::SeqCst) {
            return Some(format!(
                "The replica's SQL thread, stopped by --safe-slave-backup, was not started again because the server does not answer: once it does, run START SLAVE SQL_THREAD on the server at {}",
                self.conn.endpoint()
            ));
        }
        restart_detached(self.conn, self.stopped_by_us, RESTART_TIMEOUT, self.log)
    }
}

/// Starts the SQL thread through a fresh connection (bounded by `timeout`) if `stopped_by_us`
/// says the backup stopped it, and clears the flag (only one caller ever restarts it).
/// Returns what to tell the user if that failed.
pub fn restart_detached(
    conn: &ConnectOptions,
    stopped_by_us: &AtomicBool,
    timeout: Duration,
    log: &Log,
) -> Option<String> {
    if !stopped_by_us.swap(false, Ordering::SeqCst) {
        return None;
    }
    let mut conn_opts = conn.clone();
    conn_opts.io_timeout = Some(timeout);
    let result = Session::connect(&conn_opts).and_then(|mut s| s.start_slave_sql_thread());
    match result {
        Ok(()) => {
            log.info("Restarting slave SQL thread.");
            None
        }
        Err(e) => Some(format!(
            "The replica's SQL thread, stopped by --safe-slave-backup, could not be started again ({e}): replication is stopped. Run START SLAVE SQL_THREAD on the server at {}",
            conn.endpoint()
        )),
    }
}

impl Drop for SqlThread<'_> {
    /// The last resort (a panic, a path that forgot): replication must not stay stopped.
    fn drop(&mut self) {
        if let Some(note) = self.restart_after_failure(false) {
            self.log.info(&format!("Error: {note}"));
        }
    }
}

/// `--slave-info`, under `BLOCK_COMMIT`: the replica's position in its primary's binlog,
/// `None` on a server that is not a replica (no file, as mariadb-backup).
pub fn slave_info(main: &mut Session, log: &Log) -> Result<Option<SlaveInfo>, Failure> {
    let gtid_slave_pos = main
        .variable("gtid_slave_pos")
        .map_err(|e| refused(e, "--slave-info", Privilege::SlaveMonitor))?
        .unwrap_or_default();
    let rows = main
        .all_slaves_status()
        .map_err(|e| refused(e, "--slave-info", Privilege::SlaveMonitor))?;
    let info = SlaveInfo::from_status(&gtid_slave_pos, &status_rows(&rows));
    match &info {
        Some(info) => log.info(&format!("MySQL slave binlog position: {}", info.log_text())),
        None => log.info("Failed to get master binlog coordinates from SHOW SLAVE STATUS.This means that the server is not a replication slave. Ignoring the --slave-info option"),
    }
    Ok(info)
}

/// The columns of `SHOW ALL SLAVES STATUS` that `xtrabackup_slave_info` is made of.
pub fn status_rows(rows: &[server::SlaveStatus]) -> Vec<SlaveStatusRow> {
    rows.iter()
        .map(|r| SlaveStatusRow {
            connection_name: r.connection_name.clone(),
            relay_master_log_file: r.relay_master_log_file.clone(),
            exec_master_log_pos: r.exec_master_log_pos,
            using_gtid: r.using_gtid.clone(),
        })
        .collect()
}

/// A replica statement refused for lack of `privilege`, explained with the GRANT that
/// fixes it (exit 1, as mariadb-backup); any other error unchanged.
pub fn refused(e: ServerError, option: &str, privilege: Privilege) -> Failure {
    if !e.is_access_denied() {
        return e.into();
    }
    Failure::new(
        Code::Failure,
        format!(
            "{e}. {option} needs the {} privilege: GRANT {} ON *.* TO <backup user>, or leave out {option}",
            privilege.name(),
            privilege.name()
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_rows_feed_the_slave_info_file() {
        let status = |name: &str, gtid: &str| server::SlaveStatus {
            connection_name: name.into(),
            relay_master_log_file: "mysql-bin.000002".into(),
            exec_master_log_pos: 4805,
            using_gtid: gtid.into(),
            ..Default::default()
        };
        let rows = status_rows(&[status("", "Slave_Pos")]);
        let info = SlaveInfo::from_status("0-1-47,7-7-7", &rows).map(|i| {
            use backup_meta::MetaFile;
            i.render()
        });
        assert_eq!(
            info.as_deref(),
            Some("SET GLOBAL gtid_slave_pos = '0-1-47,7-7-7';\nCHANGE MASTER TO master_use_gtid = slave_pos;\n")
        );
        let rows = status_rows(&[status("", "No")]);
        let info = SlaveInfo::from_status("", &rows).map(|i| {
            use backup_meta::MetaFile;
            i.render()
        });
        assert_eq!(
            info.as_deref(),
            Some("CHANGE MASTER TO MASTER_LOG_FILE='mysql-bin.000002', MASTER_LOG_POS=4805;\n")
        );
        assert_eq!(SlaveInfo::from_status("0-1-1", &status_rows(&[])), None);
    }

    #[test]
    fn refused_statements_name_the_grant() {
        let denied = ServerError::Query {
            sql: "SHOW ALL SLAVES STATUS".into(),
            reason: "Access denied; you need (at least one of) the SUPER, SLAVE MONITOR privilege(s) for this operation".into(),
            code: Some(1227),
        };
        let f = refused(denied, "--slave-info", Privilege::SlaveMonitor);
        assert_eq!(f.code, Code::Failure);
        assert!(
            f.message.contains("GRANT SLAVE MONITOR ON *.*"),
            "{}",
            f.message
        );
        assert!(
            f.message.contains("SHOW ALL SLAVES STATUS"),
            "{}",
            f.message
        );
    }
}
