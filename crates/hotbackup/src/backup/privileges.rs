//! The privilege precheck before a backup (one `SHOW GRANTS`), with mariadb-backup 10.11's
//! lines: `Error: missing required privilege RELOAD on *.*` per missing privilege, then
//! `Current privileges, as reported by 'SHOW GRANTS':` and the numbered grants, exit 1.
//!
//! Required, as in mariadb-backup: RELOAD and PROCESS, unless `--no-lock` (no `BACKUP STAGE`,
//! no `SHOW PROCESSLIST`; the LSN is then read as `lsn.rs` says). hotbackup also requires
//! BINLOG MONITOR when it takes a binlog position, which mariadb-backup only finds out when
//! `SHOW MASTER STATUS` fails.
//!
//! Wanted: `--slave-info`, `--safe-slave-backup`, `--galera-info` want SLAVE MONITOR (and
//! REPLICATION SLAVE ADMIN): mariadb-backup only warns, and the statement decides. hotbackup
//! warns the same way, but when `--slave-info` lacks it, asks `SHOW ALL SLAVES STATUS` now:
//! a refusal then fails the backup before anything is copied, not after everything was.

use server::{Privilege, Session};

use super::replica;
use crate::exit::Code;
use crate::failure::Failure;
use crate::log::Log;
use crate::options::Options;

/// The privileges a backup with these options cannot do without, and those it wants.
fn needed_and_wanted(opts: &Options, binlog_on: bool) -> (Vec<Privilege>, Vec<Privilege>) {
    let mut needed = Vec::new();
    if !opts.no_lock {
        needed.extend([Privilege::Reload, Privilege::Process]);
    }
    if binlog_on {
        needed.push(Privilege::BinlogMonitor);
    }
    let mut wanted = Vec::new();
    if opts.safe_slave_backup {
        wanted.push(Privilege::ReplicationSlaveAdmin);
    }
    if opts.safe_slave_backup || opts.slave_info || opts.galera_info {
        wanted.push(Privilege::SlaveMonitor);
    }
    (needed, wanted)
}

/// Fails (exit 1, nothing written) when a needed privilege is missing; warns for the wanted.
/// Returns whether `--slave-info` lacks SLAVE MONITOR: the caller then runs
/// [`probe_slave_info`] once the target directory exists (mariadb-backup fails there later,
/// leaving the directory, and MariaDB's test `backup_grants` removes it).
pub(super) fn check(
    opts: &Options,
    main: &mut Session,
    binlog_on: bool,
    log: &Log,
) -> Result<bool, Failure> {
    let (needed, wanted) = needed_and_wanted(opts, binlog_on);
    let all: Vec<Privilege> = needed.iter().chain(&wanted).copied().collect();
    if all.is_empty() {
        return Ok(false);
    }
    let (missing, grants) = main.missing_privileges(&all)?;
    let required: Vec<Privilege> = missing
        .iter()
        .filter(|p| needed.contains(p))
        .copied()
        .collect();
    if !required.is_empty() {
        let account = super::current_account(main);
        return Err(missing_failure(&required, &grants, &account));
    }
    for p in &missing {
        log.info(&format!(
            "Warning: missing required privilege {} on *.*",
            p.name()
        ));
    }
    Ok(opts.slave_info && missing.contains(&Privilege::SlaveMonitor))
}

/// `--slave-info` without SLAVE MONITOR in `SHOW GRANTS` (it may come from a role): asks
/// `SHOW ALL SLAVES STATUS` now, so that a refusal fails the backup before anything is
/// copied rather than after everything was.
pub(super) fn probe_slave_info(main: &mut Session) -> Result<(), Failure> {
    main.all_slaves_status()
        .map(drop)
        .map_err(|e| replica::refused(e, "--slave-info", Privilege::SlaveMonitor))
}

/// What each required privilege is for.
fn purpose(p: Privilege) -> &'static str {
    match p {
        Privilege::Reload => "BACKUP STAGE, BACKUP LOCK and FLUSH ENGINE LOGS",
        Privilege::Process => "the InnoDB LSN and SHOW PROCESSLIST",
        Privilege::BinlogMonitor => "the binary log position (log_bin is ON)",
        _ => "",
    }
}

/// mariadb-backup's lines (one per missing privilege, then the grants as SHOW GRANTS gave
/// them, hashes redacted), with what each is for and the GRANT that fixes it.
fn missing_failure(missing: &[Privilege], grants: &[String], account: &str) -> Failure {
    let mut message = String::new();
    for p in missing {
        message.push_str(&format!(
            "Error: missing required privilege {} on *.* (for {})\n",
            p.name(),
            purpose(*p)
        ));
    }
    let names: Vec<&str> = missing.iter().map(|p| p.name()).collect();
    message.push_str("Current privileges, as reported by 'SHOW GRANTS': \n");
    for (n, grant) in grants.iter().enumerate() {
        message.push_str(&format!("  {}.{grant}\n", n + 1));
    }
    message.push_str(&format!(
        "Nothing was copied. Grant with: GRANT {} ON *.* TO {account}; (or, for RELOAD and \
         PROCESS, back up with --no-lock, which leaves non-InnoDB tables unlocked)",
        names.join(", ")
    ));
    Failure::new(Code::Failure, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_privileges_are_mariadb_backup_lines_and_exit_1() {
        let f = missing_failure(
            &[Privilege::Reload, Privilege::Process],
            &[
                "GRANT USAGE ON *.* TO `backup`@`localhost` IDENTIFIED BY PASSWORD '<redacted>'"
                    .to_string(),
            ],
            "'backup'@'localhost'",
        );
        assert_eq!(f.code, Code::Failure);
        let lines: Vec<&str> = f.message.lines().collect();
        assert!(lines[0].starts_with("Error: missing required privilege RELOAD on *.*"));
        assert!(lines[1].starts_with("Error: missing required privilege PROCESS on *.*"));
        assert_eq!(
            lines[2],
            "Current privileges, as reported by 'SHOW GRANTS': "
        );
        assert!(lines[3].starts_with("  1.GRANT USAGE ON *.* TO `backup`@`localhost`"));
        assert!(lines[4].contains("GRANT RELOAD, PROCESS ON *.* TO 'backup'@'localhost';"));
        // MariaDB's mtr test backup_grants counts each of these exactly once.
        for once in [
            "missing required privilege RELOAD",
            "missing required privilege PROCESS",
            "GRANT USAGE ON",
        ] {
            assert_eq!(f.message.matches(once).count(), 1, "{once}");
        }
    }
}
