//! DDL that ran while tablespaces were being copied, turned into mariadb-backup's marker
//! files under `BACKUP STAGE BLOCK_DDL` (when no more DDL can happen):
//!
//! * `db/t.new`: a full copy of a tablespace created (or re-created) during the backup;
//! * `db/old.ren`: the tablespace copied as `db/old.ibd` is now called `db/new` (content);
//! * `db/t.del`: the tablespace copied as `db/t.ibd` was dropped.
//!
//! `--prepare` (ours and mariadb-backup's) applies them in the order `.del`, `.ren`, `.new`.
//! The input is the sequence of FILE_* records the redo tailer saw from the checkpoint on,
//! plus what the copy phase copied; the decision is pure and unit-tested here.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use innodb::SpaceId;

/// A tablespace-level change seen in the redo log, in log order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DdlOp {
    /// FILE_CREATE: a new tablespace file.
    Create {
        /// Its id.
        space: SpaceId,
        /// Its path as the log names it (`./db/t.ibd` or absolute).
        path: String,
    },
    /// FILE_RENAME.
    Rename {
        /// Its id.
        space: SpaceId,
        /// The new path.
        to: String,
    },
    /// FILE_DELETE.
    Delete {
        /// Its id.
        space: SpaceId,
    },
    /// The first FILE_MODIFY after a FILE_DELETE of the same id: `ALTER TABLE … IMPORT
    /// TABLESPACE` gave a discarded table its space id back, in a file the log does not
    /// describe (its pages carry LSN 0).
    Reattach {
        /// Its id.
        space: SpaceId,
        /// Its path now.
        path: String,
    },
    /// INIT_PAGE of page 0: the tablespace was re-created in place.
    Reinit {
        /// Its id.
        space: SpaceId,
    },
}

/// What to do for one tablespace at `BLOCK_DDL`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Write an empty `<name>.del` (name without `.ibd`).
    Delete {
        /// The backup name of the copied file, e.g. `zoo/t` for `zoo/t.ibd`.
        copied: String,
    },
    /// Write `<copied>.ren` holding `new_name`.
    Rename {
        /// Backup name of the copied file, without `.ibd`.
        copied: String,
        /// Its name now, e.g. `zoo/t2`.
        new_name: String,
    },
    /// Copy the live file again, as `<name>.new`.
    CopyNew {
        /// The live file.
        source: PathBuf,
        /// Backup name without extension, e.g. `zoo/t`.
        name: String,
    },
}

/// The backup name (`db/t`) of a tablespace path from the log (`./db/t.ibd`,
/// `/remote/dir/db/t.ibd`): the last two components without `.ibd`.
pub fn backup_name(path: &str) -> Option<String> {
    let mut parts = path.rsplit('/');
    let file = parts.next()?.strip_suffix(".ibd")?;
    let db = parts.next()?;
    if file.is_empty() || db.is_empty() || db == "." {
        return None;
    }
    Some(format!("{db}/{file}"))
}

/// Where the live file of a log path is.
pub fn live_path(datadir: &Path, path: &str) -> PathBuf {
    if Path::new(path).is_absolute() {
        PathBuf::from(path)
    } else {
        datadir.join(path.trim_start_matches("./"))
    }
}

/// Decides the marker files. `copied` maps each tablespace copied in the first phase to its
/// backup name (`db/t`); system and undo tablespaces never appear in FILE_* records.
pub fn plan(datadir: &Path, copied: &BTreeMap<SpaceId, String>, ops: &[DdlOp]) -> Vec<Action> {
    #[derive(Default)]
    struct State {
        created: bool,
        deleted: bool,
        path: Option<String>,
    }
    let mut states: BTreeMap<SpaceId, State> = BTreeMap::new();
    for op in ops {
        match op {
            DdlOp::Create { space, path } => {
                let s = states.entry(*space).or_default();
                s.created = true;
                s.deleted = false;
                s.path = Some(path.clone());
            }
            DdlOp::Rename { space, to } => {
                states.entry(*space).or_default().path = Some(to.clone());
            }
            DdlOp::Delete { space } => states.entry(*space).or_default().deleted = true,
            DdlOp::Reattach { space, path } => {
                // A new file under the old id: copied whole after the import, as a
                // table created during the backup (prepare skips the records before
                // the FILE_DELETE).
                let s = states.entry(*space).or_default();
                s.created = true;
                s.deleted = false;
                s.path = Some(path.clone());
            }
            DdlOp::Reinit { space } => states.entry(*space).or_default().created = true,
        }
    }
    let mut actions = Vec::new();
    for (space, state) in &states {
        let copied_name = copied.get(space);
        // A re-created space that was never renamed keeps the name it was copied under.
        let final_name = state
            .path
            .as_deref()
            .and_then(backup_name)
            .or_else(|| copied_name.cloned());
        if state.deleted {
            if let Some(c) = copied_name {
                actions.push(Action::Delete { copied: c.clone() });
            }
            continue;
        }
        if state.created {
            let Some(name) = final_name else { continue };
            if is_temporary(&name) {
                // An ALTER TABLE still in flight when DDL was blocked cannot be; a leftover
                // intermediate table is dropped by the server at startup anyway.
                continue;
            }
            if let Some(c) = copied_name {
                if *c != name {
                    actions.push(Action::Delete { copied: c.clone() });
                }
            }
            let source = match &state.path {
                Some(path) => live_path(datadir, path),
                None => datadir.join(format!("{name}.ibd")),
            };
            actions.push(Action::CopyNew { source, name });
            continue;
        }
        if let (Some(c), Some(name)) = (copied_name, final_name) {
            if *c != name {
                actions.push(Action::Rename {
                    copied: c.clone(),
                    new_name: name,
                });
            }
        }
    }
    actions
}

/// Intermediate tables of ALTER TABLE and TRUNCATE (`#sql-alter-…`, `#sql-ib…`).
pub fn is_temporary(name: &str) -> bool {
    name.rsplit('/')
        .next()
        .is_some_and(|t| t.starts_with("#sql"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn copied(entries: &[(u32, &str)]) -> BTreeMap<SpaceId, String> {
        entries
            .iter()
            .map(|(s, n)| (SpaceId(*s), n.to_string()))
            .collect()
    }

    fn create(space: u32, path: &str) -> DdlOp {
        DdlOp::Create {
            space: SpaceId(space),
            path: path.into(),
        }
    }

    fn rename(space: u32, to: &str) -> DdlOp {
        DdlOp::Rename {
            space: SpaceId(space),
            to: to.into(),
        }
    }

    fn delete(space: u32) -> DdlOp {
        DdlOp::Delete {
            space: SpaceId(space),
        }
    }

    fn new(name: &str) -> Action {
        Action::CopyNew {
            source: Path::new("/d").join(format!("{name}.ibd")),
            name: name.into(),
        }
    }

    fn check(copied_files: &[(u32, &str)], ops: &[DdlOp], expected: &[Action]) {
        let got = plan(Path::new("/d"), &copied(copied_files), ops);
        assert_eq!(got, expected, "ops {ops:?}");
    }

    #[test]
    fn names_from_log_paths() {
        assert_eq!(backup_name("./zoo/t.ibd").as_deref(), Some("zoo/t"));
        assert_eq!(backup_name("/remote/zoo/t.ibd").as_deref(), Some("zoo/t"));
        assert_eq!(backup_name("./t.ibd"), None);
        assert_eq!(backup_name("./zoo/t.frm"), None);
        assert_eq!(
            live_path(Path::new("/d"), "./zoo/t.ibd"),
            Path::new("/d/zoo/t.ibd")
        );
        assert_eq!(
            live_path(Path::new("/d"), "/r/t.ibd"),
            Path::new("/r/t.ibd")
        );
    }

    #[test]
    fn a_discarded_table_imported_again_is_copied_after_the_import() {
        let reattach = |space: u32, path: &str| DdlOp::Reattach {
            space: SpaceId(space),
            path: path.into(),
        };
        // DISCARD then IMPORT (copied before, during or after): a fresh copy, no `.del`.
        check(
            &[(5, "d/t")],
            &[delete(5), reattach(5, "./d/t.ibd")],
            &[new("d/t")],
        );
        check(&[], &[delete(5), reattach(5, "./d/t.ibd")], &[new("d/t")]);
        // Discarded and not imported again: the copy is dropped.
        check(
            &[(5, "d/t")],
            &[delete(5), reattach(5, "./d/t.ibd"), delete(5)],
            &[Action::Delete {
                copied: "d/t".into(),
            }],
        );
    }

    #[test]
    fn the_cases_mariadb_backup_handles() {
        // Nothing happened.
        check(&[(5, "zoo/t")], &[], &[]);
        // FILE_MODIFY-only spaces never reach plan(); a rename of a copied table.
        check(
            &[(31, "zoo/t_new1")],
            &[rename(31, "./zoo/t_new1_ren.ibd")],
            &[Action::Rename {
                copied: "zoo/t_new1".into(),
                new_name: "zoo/t_new1_ren".into(),
            }],
        );
        // Renamed back and forth: nothing to do.
        check(
            &[(7, "zoo/a")],
            &[rename(7, "./zoo/b.ibd"), rename(7, "./zoo/a.ibd")],
            &[],
        );
        // Dropped after it was copied.
        check(
            &[(27, "zoo/t_pagecomp")],
            &[delete(27)],
            &[Action::Delete {
                copied: "zoo/t_pagecomp".into(),
            }],
        );
        // Created during the backup (not copied, or copied half-made).
        check(
            &[],
            &[create(36, "./zoo/t_during.ibd")],
            &[new("zoo/t_during")],
        );
        check(
            &[(36, "zoo/t_during")],
            &[create(36, "./zoo/t_during.ibd")],
            &[new("zoo/t_during")],
        );
        // Created and dropped within the backup: nothing.
        check(&[], &[create(40, "./zoo/tmp.ibd"), delete(40)], &[]);
        // ALTER TABLE ... FORCE: new #sql-alter space renamed over the old name, old one
        // renamed away and deleted.
        check(
            &[(8, "zoo/t_innodb")],
            &[
                create(37, "./zoo/#sql-alter-3d82-ee.ibd"),
                rename(8, "./zoo/#sql-ib48.ibd"),
                rename(37, "./zoo/t_innodb.ibd"),
                delete(8),
            ],
            &[
                Action::Delete {
                    copied: "zoo/t_innodb".into(),
                },
                new("zoo/t_innodb"),
            ],
        );
        // TRUNCATE of a partition: same shape.
        check(
            &[(9, "zoo/t_part#P#p0")],
            &[
                rename(9, "./zoo/#sql-ib19.ibd"),
                create(38, "./zoo/t_part#P#p0.ibd"),
                delete(9),
            ],
            &[
                Action::Delete {
                    copied: "zoo/t_part#P#p0".into(),
                },
                new("zoo/t_part#P#p0"),
            ],
        );
        // An ALTER still named #sql when DDL was blocked is left alone.
        check(&[], &[create(50, "./zoo/#sql-alter-1.ibd")], &[]);
        // Re-created in place: copied again under the same name.
        check(
            &[(12, "zoo/a")],
            &[DdlOp::Reinit { space: SpaceId(12) }],
            &[new("zoo/a")],
        );
        // Re-created in place and renamed: the stale copy must go.
        check(
            &[(12, "zoo/a")],
            &[
                DdlOp::Reinit { space: SpaceId(12) },
                rename(12, "./zoo/b.ibd"),
            ],
            &[
                Action::Delete {
                    copied: "zoo/a".into(),
                },
                new("zoo/b"),
            ],
        );
    }
}
