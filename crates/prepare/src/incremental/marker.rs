//! `hotbackup_incremental_apply` in the base: written (atomically, fsynced) before the
//! first change an incremental apply makes and removed after its last, it names the
//! incremental and its LSNs. While it exists the base is half-way and only that apply,
//! run again, may touch it.
//!
//! ```text
//! hotbackup incremental apply 1
//! incremental = /abs/path/inc1
//! from_lsn = 980549
//! to_lsn = 1162078
//! last_lsn = 1162121
//! ```

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use backup_meta::{Checkpoints, FileMode};

use crate::error::PrepareError;

/// The marker's file name in the base.
pub const MARKER: &str = "hotbackup_incremental_apply";
const MAGIC: &str = "hotbackup incremental apply 1";

/// What the marker says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Marker {
    /// The incremental being applied (absolute, as given then).
    pub(super) inc: PathBuf,
    from_lsn: u64,
    to_lsn: u64,
    last_lsn: u64,
}

impl Marker {
    /// Whether the marker is for this incremental (same directory, same LSNs).
    pub(super) fn is_for(&self, inc: &Path, cp: &Checkpoints) -> bool {
        same_dir(&self.inc, inc)
            && (self.from_lsn, self.to_lsn, self.last_lsn) == (cp.from_lsn, cp.to_lsn, cp.last_lsn)
    }
}

fn same_dir(a: &Path, b: &Path) -> bool {
    match (fs::canonicalize(a), fs::canonicalize(b)) {
        (Ok(x), Ok(y)) => x == y,
        _ => a == b,
    }
}

fn render(m: &Marker) -> String {
    format!(
        "{MAGIC}\nincremental = {}\nfrom_lsn = {}\nto_lsn = {}\nlast_lsn = {}\n",
        m.inc.display(),
        m.from_lsn,
        m.to_lsn,
        m.last_lsn
    )
}

fn parse(text: &str) -> Option<Marker> {
    let mut lines = text.lines();
    if lines.next()? != MAGIC {
        return None;
    }
    let mut value = |key: &str| {
        lines
            .next()
            .and_then(|l| l.strip_prefix(key))
            .and_then(|l| l.strip_prefix(" = "))
            .map(str::to_string)
    };
    let inc = PathBuf::from(value("incremental")?);
    let from_lsn = value("from_lsn")?.parse().ok()?;
    let to_lsn = value("to_lsn")?.parse().ok()?;
    let last_lsn = value("last_lsn")?.parse().ok()?;
    Some(Marker {
        inc,
        from_lsn,
        to_lsn,
        last_lsn,
    })
}

/// The marker of `base`, if there is one. One that cannot be read as a marker is still
/// a half-way base: it is an error naming the file.
pub(super) fn read(base: &Path) -> Result<Option<Marker>, PrepareError> {
    let path = base.join(MARKER);
    match fs::read(&path) {
        Ok(bytes) => parse(&String::from_utf8_lossy(&bytes))
            .map(Some)
            .ok_or_else(|| PrepareError::DataFile {
                path,
                what: "is not a readable incremental-apply marker; an apply of an incremental \
                       onto this base was interrupted, and which one is unknown: restore the \
                       base from its copy"
                    .into(),
            }),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(PrepareError::io("read", &path, e)),
    }
}

/// Writes the marker (atomic, fsynced with its directory).
pub(super) fn write(base: &Path, inc: &Path, cp: &Checkpoints) -> Result<(), PrepareError> {
    let inc = std::path::absolute(inc).map_err(|e| PrepareError::io("resolve", inc, e))?;
    let m = Marker {
        inc,
        from_lsn: cp.from_lsn,
        to_lsn: cp.to_lsn,
        last_lsn: cp.last_lsn,
    };
    backup_meta::write_atomic(
        &base.join(MARKER),
        render(&m).as_bytes(),
        FileMode::Datasink,
    )?;
    Ok(())
}

/// Removes the marker and makes that durable.
pub(super) fn remove(base: &Path) -> Result<(), PrepareError> {
    let path = base.join(MARKER);
    match fs::remove_file(&path) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(PrepareError::io("remove", &path, e)),
    }
    fs::File::open(base)
        .and_then(|d| d.sync_all())
        .map_err(|e| PrepareError::io("fsync directory", base, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marker_round_trip_and_damage() {
        let m = Marker {
            inc: PathBuf::from("/b/inc 1"),
            from_lsn: 1,
            to_lsn: 20,
            last_lsn: 30,
        };
        let text = render(&m);
        assert_eq!(parse(&text), Some(m.clone()));
        for bad in [
            String::new(),
            text.replace("apply 1", "apply 2"),
            text.replace("to_lsn = 20", "to_lsn = x"),
            text.lines().take(3).collect::<Vec<_>>().join("\n"),
        ] {
            assert_eq!(parse(&bad), None, "{bad:?}");
        }
    }
}
