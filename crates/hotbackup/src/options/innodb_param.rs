//! Values that mariadb-backup's option parser accepts but its embedded InnoDB then refuses
//! when `--backup` or `--prepare` starts (`innodb_init_param`): exit 1, not a usage error.
//!
//! * `--innodb-log-write-ahead-size`: my_getopt clamps it to 512..4096 (the parser does that
//!   from the table, with its warning), then "innodb_log_write_ahead_size=4095 is not a power
//!   of two". A valid value changes nothing in hotbackup: it is only the size in which the
//!   server writes its own ib_logfile0.
//! * `--innodb-force-recovery` (clamped to 0..1) with `--backup`: "The option
//!   "innodb_force_recovery" should only be used with "--prepare"." (`"--apply-log"` for an
//!   innobackupex command line).

use super::{Error, ErrorKind, Mode, Origin};

/// Checks the (already clamped) write size for `mode`; `origin` is where it was set.
pub(super) fn write_ahead_size(
    size: i64,
    origin: &Origin,
    mode: Option<Mode>,
) -> Result<(), Error> {
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

/// Refuses a force-recovery level for `--backup`, as mariadb-backup does; `prepare_flag` is
/// how the command line spells prepare (`--prepare`, or `--apply-log` for innobackupex).
pub(super) fn force_recovery_for_backup(
    level: i64,
    origin: &Origin,
    prepare_flag: &str,
) -> Result<(), Error> {
    if level < 1 {
        return Ok(());
    }
    Err(Error::new(
        ErrorKind::InnodbSetting,
        format!(
            "The option \"innodb_force_recovery\" should only be used with \"{prepare_flag}\" \
             (innodb_force_recovery={level} from {origin})."
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
    fn write_ahead_powers_of_two_pass_others_fail_in_backup_and_prepare() {
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
            let r = write_ahead_size(size, &o, mode);
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

    #[test]
    fn force_recovery_is_for_prepare_only() {
        let o = Origin::CommandLine;
        assert!(force_recovery_for_backup(0, &o, "--prepare").is_ok());
        let e = force_recovery_for_backup(1, &o, "--prepare").unwrap_err();
        assert_eq!(e.kind, ErrorKind::InnodbSetting);
        assert!(!e.is_usage());
        assert!(
            e.message
                .contains("\"innodb_force_recovery\" should only be used with \"--prepare\""),
            "{}",
            e.message
        );
    }
}
