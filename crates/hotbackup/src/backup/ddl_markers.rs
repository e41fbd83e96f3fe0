//! The `.new`/`.ren`/`.del` files: the DDL the redo copy saw (and the tables that appeared
//! or went away meanwhile) turned into what `--prepare` replays, under `BLOCK_DDL`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use innodb::SpaceId;
use page_copier::{CopyError, CopyOptions, Output, Source, SourceKind};
use sink::Sink;

use super::ddl;
use super::discover::Inventory;
use super::files::write_marker;
use super::filter::Filter;
use crate::failure::Failure;
use crate::log::Log;

/// Turns the redo log's DDL tracking into `.new`/`.ren`/`.del` (DDL is blocked now).
#[allow(clippy::too_many_arguments)]
pub(super) fn apply_ddl(
    datadir: &Path,
    sink: &dyn Sink,
    copied: &BTreeMap<SpaceId, String>,
    deferred: &[String],
    now: &Inventory,
    ddl_ops: &Mutex<Vec<ddl::DdlOp>>,
    filter: &Filter,
    copy_options: &CopyOptions,
    log: &Log,
) -> Result<(), Failure> {
    let ops = ddl_ops.lock().unwrap_or_else(|p| p.into_inner()).clone();
    let mut actions = ddl::plan(datadir, copied, &ops);
    // A partial backup takes the tables created during the backup that its filter takes
    // (mariadb-backup's backup_fix_ddl); renames and drops concern copied tables only.
    actions.retain(|a| match a {
        ddl::Action::CopyNew { name, .. } => !filter.skip_table(name),
        _ => true,
    });
    // Files that exist now but were neither copied nor announced by the log (a table created
    // between our scan and our copy whose FILE_CREATE we have not seen yet cannot exist: the
    // log is read from before the scan; this is a safety net). A copied table renamed to a
    // new name is known under that name: copying it again as `.new` would clash with its
    // `.ren` (a chain `c2 → c3, c1 → c2`).
    let known: Vec<String> = copied
        .values()
        .cloned()
        .chain(actions.iter().filter_map(|a| match a {
            ddl::Action::CopyNew { name, .. } => Some(name.clone()),
            ddl::Action::Rename { new_name, .. } => Some(new_name.clone()),
            _ => None,
        }))
        .collect();
    let live: Vec<String> = now
        .tables
        .iter()
        .map(|t| t.dest.with_extension("").to_string_lossy().into_owned())
        .collect();
    for (t, name) in now.tables.iter().zip(&live) {
        if !known.contains(name) && !sink.contains(&t.dest) {
            actions.push(ddl::Action::CopyNew {
                source: t.source.clone(),
                name: name.clone(),
            });
        }
    }
    // A table copied before its page 0 was written (created during the backup) has no known
    // space id, so the log's FILE_DELETE or FILE_RENAME cannot be matched to its copy. If
    // its name is gone now, or another table is renamed onto it, the copy is stale: without
    // a .del it would stay in the restored datadir as an orphan .ibd, and a later CREATE
    // TABLE of that name would fail with "tablespace exists".
    let renamed_onto: Vec<String> = actions
        .iter()
        .filter_map(|a| match a {
            ddl::Action::Rename { new_name, .. } => Some(new_name.clone()),
            _ => None,
        })
        .collect();
    for name in deferred {
        let stale = !live.contains(name) || renamed_onto.contains(name);
        let has_del = actions
            .iter()
            .any(|a| matches!(a, ddl::Action::Delete { copied } if copied == name));
        if stale && !has_del {
            actions.push(ddl::Action::Delete {
                copied: name.clone(),
            });
        }
    }
    for action in actions {
        match action {
            ddl::Action::Delete { copied } => {
                log.info(&format!("Writing {copied}.del"));
                write_marker(sink, &format!("{copied}.del"), b"")?;
            }
            ddl::Action::Rename { copied, new_name } => {
                log.info(&format!("Writing {copied}.ren"));
                write_marker(sink, &format!("{copied}.ren"), new_name.as_bytes())?;
            }
            ddl::Action::CopyNew { source, name } => {
                let dest = PathBuf::from(format!("{name}.new"));
                log.info(&format!(
                    "Copying {} to {}",
                    source.display(),
                    sink.describe(&dest)
                ));
                // Whole also in an incremental backup: a table created during the backup is
                // newer than any base, and prepare takes a `.new` as the file (as 10.11).
                let s = Source {
                    path: source,
                    dest,
                    kind: SourceKind::Table,
                    output: Output::Whole,
                };
                match page_copier::copy_tablespace(
                    &s,
                    sink,
                    copy_options,
                    None,
                    None,
                    &page_copier::NoProgress,
                ) {
                    Ok(_) | Err(CopyError::Vanished { .. }) => {}
                    Err(e) => return Err(e.into()),
                }
            }
        }
    }
    Ok(())
}
