//! The DDL marker files mariadb-backup leaves for DDL during the backup
//! (redo-format.md §7 step 1, §9.2; mariadbbackup-behavior.md §2.7), processed
//! before the log is applied, in this order:
//!
//! * `db/t.del` (empty): remove `db/t.ibd`;
//! * `db/t.ren` (content `db2/t2`): rename `db/t.ibd` to `db2/t2.ibd`. If the
//!   destination exists (a rename chain), it is first moved aside to `db2/t2.ibd#`,
//!   which a later `.ren` of `db2/t2` then uses as its source;
//! * `db/t.new`: rename to `db/t.ibd`, replacing it.
//!
//! Each step is one `rename(2)`/`unlink(2)` followed by the removal of the marker, so a
//! run that is killed half-way can be repeated: a marker whose work is already done
//! (source gone, destination present) is simply removed.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use crate::error::PrepareError;
use crate::progress::{DdlAction, Event, Progress};

/// Marker files with extension `ext` in the directory and its database directories.
fn markers(dir: &Path, ext: &str) -> Result<Vec<PathBuf>, PrepareError> {
    let mut out = vec![];
    let mut dirs = vec![dir.to_path_buf()];
    for entry in fs::read_dir(dir).map_err(|e| PrepareError::io("list", dir, e))? {
        let entry = entry.map_err(|e| PrepareError::io("list", dir, e))?;
        if entry.file_type().is_ok_and(|t| t.is_dir()) {
            dirs.push(entry.path());
        }
    }
    for d in dirs {
        for entry in fs::read_dir(&d).map_err(|e| PrepareError::io("list", &d, e))? {
            let entry = entry.map_err(|e| PrepareError::io("list", &d, e))?;
            let p = entry.path();
            if p.extension().is_some_and(|x| x == ext)
                && entry.file_type().is_ok_and(|t| t.is_file())
            {
                out.push(p);
            }
        }
    }
    out.sort();
    Ok(out)
}

fn exists(p: &Path) -> bool {
    p.symlink_metadata().is_ok()
}

fn remove(p: &Path) -> Result<(), PrepareError> {
    match fs::remove_file(p) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(PrepareError::io("remove", p, e)),
        _ => Ok(()),
    }
}

fn rename(from: &Path, to: &Path) -> Result<(), PrepareError> {
    fs::rename(from, to).map_err(|e| PrepareError::Io {
        op: "rename",
        path: PathBuf::from(format!("{} to {}", from.display(), to.display())),
        source: e,
    })
}

fn with_suffix(p: &Path, suffix: &str) -> PathBuf {
    let mut s = p.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

/// Processes `.del`, `.ren` and `.new` files under `dir`.
pub(crate) fn process(dir: &Path, progress: &dyn Progress) -> Result<(), PrepareError> {
    for marker in markers(dir, "del")? {
        let ibd = marker.with_extension("ibd");
        remove(&ibd)?;
        remove(&marker)?;
        progress.event(Event::Ddl {
            action: DdlAction::Removed,
            from: &ibd,
            to: None,
        });
    }
    for marker in markers(dir, "ren")? {
        let bad = |what: String| PrepareError::DdlFile {
            path: marker.clone(),
            what,
        };
        let content =
            fs::read_to_string(&marker).map_err(|e| PrepareError::io("read", &marker, e))?;
        let target = content.trim_end_matches(['\n', '\r', '\0', ' ']);
        let parts: Vec<&str> = target.split('/').collect();
        if parts.len() != 2
            || parts
                .iter()
                .any(|p| p.is_empty() || *p == "." || *p == "..")
        {
            return Err(bad(format!("expected `database/table`, found {target:?}")));
        }
        let source = marker.with_extension("ibd");
        let dest = dir.join(format!("{target}.ibd"));
        // A chain moved our source aside to `<name>.ibd#`.
        let source = if exists(&source) {
            source
        } else {
            with_suffix(&source, "#")
        };
        if exists(&source) && source != dest {
            if exists(&dest) {
                let aside = with_suffix(&dest, "#");
                rename(&dest, &aside)?;
                progress.event(Event::Ddl {
                    action: DdlAction::MovedAside,
                    from: &dest,
                    to: Some(&aside),
                });
            }
            rename(&source, &dest)?;
            progress.event(Event::Ddl {
                action: DdlAction::Renamed,
                from: &source,
                to: Some(&dest),
            });
        } else if !exists(&dest) {
            return Err(bad(format!(
                "neither {} nor {} exists; the backup is incomplete",
                source.display(),
                dest.display()
            )));
        }
        remove(&marker)?;
    }
    for marker in markers(dir, "new")? {
        let ibd = marker.with_extension("ibd");
        rename(&marker, &ibd)?;
        progress.event(Event::Ddl {
            action: DdlAction::Replaced,
            from: &marker,
            to: Some(&ibd),
        });
    }
    Ok(())
}
