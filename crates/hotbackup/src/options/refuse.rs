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
//!   [`Shared::Warn`] (it cannot change the files hotbackup writes: ignored with a warning).
//!
//! A value equal to mariadb-backup's default asks for nothing (`--compress-threads=1`,
//! `--encrypted-backup`) and is accepted; for [`Accepts::Off`] options only an explicit off.

use std::collections::HashMap;

use super::parse::{Setting, Val};
use super::spec::{Accepts, Kind, Shared, Spec, State};
use super::table::SPECS;
use super::{Error, ErrorKind};

/// Checks every stored value against its option's state. Returns the warnings for ignored
/// values, or the first refusal (in table order, so the message is deterministic).
pub(super) fn check(settings: &HashMap<&'static str, Setting>) -> Result<Vec<String>, Error> {
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
