//! `--innodb-log-write-ahead-size`: refused when not a power of two, as mariadb-backup does.
//!
//! mariadb-backup 10.11 first clamps the value to 512..4096 (my_getopt, with its warning; the
//! parser does that from the table), then its embedded InnoDB refuses a value that is not a
//! power of two when `--backup` or `--prepare` starts: "innodb_log_write_ahead_size=4095 is
//! not a power of two", exit 1 (a failed start-up check, not a my_getopt usage error). A
//! valid value changes nothing in hotbackup: it is only the size in which the server writes
//! its own ib_logfile0.

use super::{Error, ErrorKind, Mode, Origin};

/// Checks the (already clamped) value for `mode`; `origin` is where it was set.
pub(super) fn check(size: i64, origin: &Origin, mode: Option<Mode>) -> Result<(), Error> {
    if !matches!(mode, Some(Mode::Backup | Mode::Prepare)) || is_power_of_two(size) {
        return Ok(());
    }
    Err(Error::new(
        ErrorKind::InnodbSetting,
        format!(
            "InnoDB: innodb_log_write_ahead_size={size} is not a power of two (from {origin}); \
             use 512, 1024, 2048 or 4096, as the server does"
        ),
    ))
}

fn is_power_of_two(n: i64) -> bool {
    n > 0 && n & (n - 1) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn powers_of_two_pass_others_fail_in_backup_and_prepare() {
        let o = Origin::CommandLine;
        for (size, mode, ok) in [
            (512, Some(Mode::Backup), true),
            (1024, Some(Mode::Prepare), true),
            (4096, Some(Mode::Backup), true),
            (4095, Some(Mode::Backup), false),
            (4095, Some(Mode::Prepare), false),
            (600, Some(Mode::Backup), false),
            // mariadb-backup checks it only when its InnoDB starts.
            (4095, Some(Mode::CopyBack), true),
            (4095, Some(Mode::MoveBack), true),
            (4095, None, true),
        ] {
            let r = check(size, &o, mode);
            assert_eq!(r.is_ok(), ok, "{size} {mode:?}");
            if let Err(e) = r {
                assert_eq!(e.kind, ErrorKind::InnodbSetting);
                assert!(!e.is_usage());
                assert!(
                    e.message.starts_with(&format!(
                        "InnoDB: innodb_log_write_ahead_size={size} is not a power of two"
                    )),
                    "{}",
                    e.message
                );
            }
        }
    }
}
