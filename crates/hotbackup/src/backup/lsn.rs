//! The server's current LSN, made durable in `ib_logfile0`: `SHOW ENGINE INNODB STATUS` and
//! `FLUSH NO_WRITE_TO_BINLOG ENGINE LOGS`, as mariadb-backup; for a `--no-lock` user without
//! PROCESS or RELOAD (mariadb-backup asks for neither then), `Innodb_lsn_current` and a wait
//! until InnoDB's own once-a-second log flush has passed that LSN (`Innodb_lsn_flushed`).

use std::time::{Duration, Instant};

use innodb::Lsn;
use server::Session;

use crate::exit::Code;
use crate::failure::Failure;
use crate::log::Log;

/// How long to wait for InnoDB's background log flush when this user may not ask for one.
const FLUSH_WAIT: Duration = Duration::from_secs(30);

/// The current LSN, once the redo log up to it is durable.
pub(super) fn durable_lsn(main: &mut Session, log: &Log) -> Result<Lsn, Failure> {
    log.info("Getting InnoDB LSN");
    let lsn = match main.innodb_lsn() {
        Ok(lsn) => lsn,
        Err(e) if e.is_access_denied() => main.innodb_lsns()?.0,
        Err(e) => return Err(e.into()),
    };
    log.info(&format!("InnoDB LSN: {lsn}, Flushing Logs"));
    match main.flush_engine_logs() {
        Ok(()) => return Ok(lsn),
        Err(e) if e.is_access_denied() => {}
        Err(e) => return Err(e.into()),
    }
    let deadline = Instant::now() + FLUSH_WAIT;
    loop {
        let (_, flushed) = main.innodb_lsns()?;
        if let Some(failure) = judge(lsn, flushed, Instant::now() >= deadline) {
            return Err(failure);
        }
        if flushed >= lsn {
            return Ok(lsn);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// `None` while waiting is still right (or done); the failure once the wait is over.
fn judge(lsn: Lsn, flushed: Lsn, out_of_time: bool) -> Option<Failure> {
    (flushed < lsn && out_of_time).then(|| {
        Failure::new(
            Code::Failure,
            format!(
                "the server did not make its redo log durable up to LSN {lsn} within {}s \
                 (flushed up to {flushed}), and this user may not ask it to: FLUSH ENGINE LOGS \
                 needs RELOAD. GRANT RELOAD ON *.* TO <backup user>, or look at the server's \
                 log writes (innodb_flush_log_at_timeout)",
                FLUSH_WAIT.as_secs()
            ),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_for_the_flush_then_fails_with_the_grant() {
        for (lsn, flushed, out_of_time, fails) in [
            (100, 100, false, false),
            (100, 150, true, false),
            (100, 99, false, false),
            (100, 99, true, true),
        ] {
            let f = judge(Lsn(lsn), Lsn(flushed), out_of_time);
            assert_eq!(f.is_some(), fails, "{lsn} {flushed} {out_of_time}");
            if let Some(f) = f {
                assert_eq!(f.code, Code::Failure);
                assert!(f.message.contains("GRANT RELOAD ON *.*"), "{}", f.message);
            }
        }
    }
}
