//! `--startup-wait-timeout` (alias `--ftwrl-wait-timeout`): how long `BACKUP STAGE START` may
//! wait, as mariadb-backup 10.11 does it (`lock_for_backup_stage_start`):
//!
//! ```text
//! SET SESSION lock_wait_timeout=N                 -- only with N > 0
//! SHOW FULL PROCESSLIST, every second, until no statement runs that starts with
//!   insert/update/delete/replace/alter/load/select/do/handler/call/execute/begin
//!   (then go on) or N seconds passed ("Unable to obtain lock. Please try again later.")
//! BACKUP STAGE START                              -- fails after N s: ER_LOCK_WAIT_TIMEOUT
//! SET SESSION lock_wait_timeout=31536000
//! ```
//!
//! With 0 (the default) nothing is waited for and `BACKUP STAGE START` waits as long as it
//! must (the session's `lock_wait_timeout` is a year). `--ftwrl-wait-threshold`,
//! `--ftwrl-wait-query-type`, `--kill-long-queries-timeout` have no effect in 10.11 (the
//! threshold is always 0, the query type always ALL, nothing is killed), nor here.

use std::time::{Duration, Instant};

use server::{BackupStage, Session};

use crate::exit::Code;
use crate::failure::Failure;
use crate::log::Log;

/// The session's `lock_wait_timeout` outside the startup wait: a year, as mariadb-backup.
pub const LOCK_WAIT_FOREVER: &str = "SET SESSION lock_wait_timeout=31536000";

/// Statements that make the startup wait go on (mariadb-backup's `is_query`, matched as a
/// case-insensitive prefix of the processlist's `Info`).
const WAITED_FOR: &[&str] = &[
    "insert", "update", "delete", "replace", "alter", "load", "select", "do", "handler", "call",
    "execute", "begin",
];

/// `BACKUP STAGE START` on `stage`, bounded by `timeout_s` (0: unbounded). `check` is
/// called while waiting (server gone, signal).
pub fn stage_start(
    stage: &mut Session,
    timeout_s: u64,
    log: &Log,
    check: &dyn Fn() -> Result<(), Failure>,
) -> Result<(), Failure> {
    if timeout_s == 0 {
        return Ok(stage.backup_stage(BackupStage::Start)?);
    }
    stage.exec(&format!("SET SESSION lock_wait_timeout={timeout_s}"))?;
    wait_for_no_updates(stage, timeout_s, log, check)?;
    log.info("Acquiring BACKUP LOCKS...");
    match stage.backup_stage(BackupStage::Start) {
        Ok(()) => {}
        Err(server::ServerError::Query {
            code: Some(1205), ..
        }) => {
            return Err(Failure::new(
                Code::Failure,
                format!(
                    "BACKUP STAGE START did not get its lock within --startup-wait-timeout={timeout_s} seconds: a session holds LOCK TABLES (or another lock BACKUP STAGE START waits for). Nothing was copied. End that session's lock (SHOW PROCESSLIST shows it), give a longer --startup-wait-timeout, or 0 to wait as long as it takes"
                ),
            ))
        }
        Err(e) => return Err(e.into()),
    }
    stage.exec(LOCK_WAIT_FOREVER)?;
    Ok(())
}

/// mariadb-backup's `wait_for_no_updates`: waits up to `timeout_s` seconds until no
/// statement of [`WAITED_FOR`] runs, whatever its duration (the threshold is 0 in 10.11).
fn wait_for_no_updates(
    session: &mut Session,
    timeout_s: u64,
    log: &Log,
    check: &dyn Fn() -> Result<(), Failure>,
) -> Result<(), Failure> {
    log.info(&format!(
        "Waiting {timeout_s} seconds for queries running longer than 0 seconds to finish"
    ));
    let deadline = Instant::now() + Duration::from_secs(timeout_s);
    loop {
        check()?;
        let rows = session.query_rows("SHOW FULL PROCESSLIST")?;
        let Some((id, duration, info)) = first_waited_for(&rows) else {
            return Ok(());
        };
        log.info(&format!(
            "Waiting for query {id} (duration {duration} sec): {info}"
        ));
        if Instant::now() >= deadline {
            log.info("Unable to obtain lock. Please try again later.");
            return Err(Failure::new(
                Code::Failure,
                format!(
                    "Unable to obtain lock: query {id} ({info}) was still running after --startup-wait-timeout={timeout_s} seconds, and BACKUP STAGE START waits for it. Nothing was copied. Try again later, or give a longer --startup-wait-timeout (0 waits as long as it takes)"
                ),
            ));
        }
        std::thread::sleep(Duration::from_secs(1));
    }
}

/// The first `SHOW FULL PROCESSLIST` row (Id, User, Host, db, Command, Time, State, Info,
/// ...) running a statement that the startup wait waits for: (id, seconds, statement).
fn first_waited_for(rows: &[Vec<Option<String>>]) -> Option<(String, i64, String)> {
    rows.iter().find_map(|row| {
        let info = row.get(7)?.as_deref()?;
        let waited = WAITED_FOR.iter().any(|w| {
            info.len() >= w.len() && info.as_bytes()[..w.len()].eq_ignore_ascii_case(w.as_bytes())
        });
        if !waited {
            return None;
        }
        let id = row.first().cloned().flatten().unwrap_or_default();
        let duration = row
            .get(5)
            .cloned()
            .flatten()
            .and_then(|t| t.parse().ok())
            .unwrap_or(0);
        Some((id, duration, info.to_string()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_the_startup_wait_waits_for() {
        let row = |id: &str, time: &str, info: Option<&str>| -> Vec<Option<String>> {
            [
                Some(id),
                Some("u"),
                Some("h"),
                None,
                Some("Query"),
                Some(time),
                Some(""),
            ]
            .into_iter()
            .map(|v| v.map(str::to_string))
            .chain([info.map(str::to_string), Some("0.000".into())])
            .collect()
        };
        let check = |rows: &[Vec<Option<String>>], expected: Option<(&str, i64, &str)>| {
            assert_eq!(
                first_waited_for(rows),
                expected.map(|(i, d, s)| (i.to_string(), d, s.to_string())),
                "{rows:?}"
            );
        };
        check(&[], None);
        // Idle sessions (a LOCK TABLES holder between statements), our own SHOW.
        check(
            &[
                row("5", "100", None),
                row("6", "0", Some("SHOW FULL PROCESSLIST")),
            ],
            None,
        );
        check(
            &[
                row("5", "0", Some("show status")),
                row("7", "12", Some("SELECT SLEEP(60)")),
            ],
            Some(("7", 12, "SELECT SLEEP(60)")),
        );
        check(
            &[row("8", "3", Some("insert into t values (1)"))],
            Some(("8", 3, "insert into t values (1)")),
        );
        check(&[row("9", "3", Some("Begin"))], Some(("9", 3, "Begin")));
        // Not in the list: DDL other than ALTER, SET, COMMIT.
        check(
            &[
                row("1", "3", Some("CREATE TABLE t (a INT)")),
                row("2", "3", Some("SET @a=1")),
                row("3", "3", Some("COMMIT")),
                row("4", "3", Some("d")),
            ],
            None,
        );
    }
}
