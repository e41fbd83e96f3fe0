//! `--restore-tables=PATTERN --target-dir=BACKUP [--restore-as=db.table]`: InnoDB and MyISAM
//! tables of a backup put back into the running server on this host, each one verified.
//!
//! Everything that can refuse runs before the live server is changed: the pattern, the
//! backup (a copy is prepared when it is not), the server binary, the live server (this host, the backup's major
//! version, binlog off for the session), every table's definition and checksum on a
//! throwaway server over a copy of the backup ([`scratch`]), and every existing live
//! table's definition ([`definition`]). Then each table ([`table`]), and a checkpoint. A
//! failure says which state the table is in and how to retry; tables not selected are never
//! touched.

mod definition;
mod live;
mod scratch;
mod select;
mod table;

use std::path::Path;

use crate::backup::discover::decode_filename;
use crate::exit::Code;
use crate::failure::Failure;
use crate::log::Log;
use crate::options::Options;
use live::{sql_name, Live};
use scratch::Scratch;
use select::Selected;
use table::Progress;

/// One table to restore, with what the throwaway server said about it.
struct Plan {
    sel: Selected,
    /// Where it goes on the live server.
    db: String,
    name: String,
    /// SHOW CREATE TABLE on the throwaway server.
    definition: String,
    /// CHECKSUM TABLE on the throwaway server.
    checksum: String,
    /// Whether the live server has it already (same definition).
    exists: bool,
}

/// Runs `--restore-tables`.
pub fn run(opts: &Options, log: &Log) -> Result<(), Failure> {
    // A first SIGINT/SIGTERM is taken at the next step boundary (a table is never left
    // between DISCARD and IMPORT by it); a second ends the process at once.
    crate::backup::interrupt::install();
    let usage = |m: String| Failure::new(Code::Usage, format!("--restore-tables: {m}"));
    let pattern = opts.restore_tables.as_deref().unwrap_or("");
    let items = select::parse(pattern).map_err(usage)?;
    let restore_as = opts
        .restore_as
        .as_deref()
        .map(|t| select::parse_name(t, false))
        .transpose()
        .map_err(|m| usage(format!("--restore-as: {m}")))?;
    let target =
        std::path::absolute(&opts.target_dir).map_err(|e| Failure::io(&opts.target_dir, e))?;
    let prepared = needs_no_prepare(&target)?;
    let partial = crate::export::partial(&target);
    // A prepared backup's tables are known now; an unprepared one's after the prepare
    // (a table created during the backup is a `.new` until then).
    let one_table = |n: usize| match (&restore_as, n) {
        (Some(_), n) if n != 1 => Err(usage(format!(
            "--restore-as renames one table, and {pattern:?} selects {n}"
        ))),
        _ => Ok(()),
    };
    let selected = match prepared {
        true => Some(select::select(&target, &items, partial)?),
        false => None,
    };
    if let Some(s) = &selected {
        one_table(s.len())?;
    }
    let conn = crate::backup::connect_options(opts)?;
    log.info(&format!(
        "Restore : connecting to the live server ({})",
        conn.describe()
    ));
    let mut live = live::connect(&conn)?;
    let backup_version = crate::export::backup_server_version(&target);
    live::check_version(&live.version, backup_version.as_deref())?;
    let server = crate::export::check(&target).map_err(|f| {
        Failure::new(
            f.code,
            f.message
                .replacen("--export:", "--restore-tables (its throwaway server):", 1),
        )
    })?;
    let (copy, selected) = match selected {
        Some(selected) => (
            scratch::copy(&target, scratch::Wanted::Tables(&selected), log)?,
            selected,
        ),
        None => {
            let dirs = database_dirs(&target, &items).map_err(|e| Failure::io(&target, e))?;
            let copy = scratch::copy(&target, scratch::Wanted::Databases(&dirs), log)?;
            interrupted("the prepare of the copy")?;
            crate::prepare::prepare_copy(copy.path(), opts, log)?;
            let selected = select::select(copy.path(), &items, partial)?;
            (copy, selected)
        }
    };
    one_table(selected.len())?;
    log.info(&format!(
        "Restore : live server MariaDB {}, datadir {}; {} table(s) selected: {}",
        live.version,
        live.datadir.display(),
        selected.len(),
        selected
            .iter()
            .map(|s| s.table.sql_name())
            .collect::<Vec<_>>()
            .join(", ")
    ));
    interrupted("the throwaway server started")?;
    let mut scratch = scratch::start(copy, &server, opts, log)?;
    let plans = plan(&mut live, &mut scratch, selected, restore_as.as_ref())?;
    let result: Result<(), Failure> = plans.iter().try_for_each(|p| {
        let shown = sql_name(&p.db, &p.name);
        let mut progress = Progress::default();
        interrupted(&format!("{shown} was restored")).map_err(|f| {
            Failure::new(f.code, format!("{}. {}", f.message, progress.state(&shown)))
        })?;
        table::restore_one(&mut live, &mut scratch, p, &mut progress, log).map_err(|f| {
            Failure::new(f.code, format!("{}. {}", f.message, progress.state(&shown)))
        })?;
        log.info(&format!(
            "Restore : {shown} restored from {} and verified (CHECKSUM TABLE {})",
            p.sel.table.sql_name(),
            p.checksum
        ));
        Ok(())
    });
    checkpoint(&mut live, log);
    result?;
    log.info("completed OK!");
    Ok(())
}

/// Fails (exit 1) once SIGINT or SIGTERM came, saying what had not started yet.
pub(crate) fn interrupted(before: &str) -> Result<(), Failure> {
    match crate::backup::interrupt::received() {
        None => Ok(()),
        Some(sig) => Err(Failure::new(
            Code::Failure,
            format!(
                "--restore-tables was interrupted by {} before {before}",
                if sig == libc::SIGINT {
                    "SIGINT"
                } else {
                    "SIGTERM"
                }
            ),
        )),
    }
}

/// Asks the live server for a checkpoint after the imports. A backup whose redo log starts
/// before a DISCARD/IMPORT sees the tablespace deleted (only a later FILE_MODIFY says it is
/// back): mariadb-backup 10.11 then leaves the table's `.ibd` out and says "completed OK!"
/// (hotbackup copies it again and its prepare skips the records before the DISCARD). After
/// the checkpoint, the next backup's log starts after the import, whatever the tool.
fn checkpoint(live: &mut Live, log: &Log) {
    match live.exec("SET GLOBAL innodb_log_checkpoint_now = ON") {
        Ok(()) => log.info(
            "Restore : asked the live server for a checkpoint, so that the next backup's \
             redo log starts after these imports",
        ),
        Err(f) => log.info(&format!(
            "Warning: could not ask the live server for a checkpoint ({}): a backup whose \
             redo log reaches back before this restore lacks the restored InnoDB tables \
             if mariadb-backup takes it: take it with --innodb-log-checkpoint-now",
            f.message
        )),
    }
}

/// The backup's database directories that PATTERN's items name (by decoded name).
fn database_dirs(target: &Path, items: &[select::Item]) -> std::io::Result<Vec<String>> {
    let mut dirs = Vec::new();
    for e in std::fs::read_dir(target)? {
        let e = e?;
        let Some(name) = e.file_name().to_str().map(str::to_string) else {
            continue;
        };
        if e.file_type()?.is_dir() && items.iter().any(|i| i.db == decode_filename(&name)) {
            dirs.push(name);
        }
    }
    Ok(dirs)
}

/// Whether the backup is prepared (else a copy is prepared); refuses what is not a full
/// backup (exit 7, as `--copy-back`).
fn needs_no_prepare(target: &Path) -> Result<bool, Failure> {
    use backup_meta::{BackupType, Checkpoints, MetaFile};
    let path = target.join(backup_meta::names::XTRABACKUP_CHECKPOINTS);
    match Checkpoints::read(&path) {
        Ok(c) if c.backup_type == BackupType::FullBackuped => Ok(false),
        _ => crate::copyback::check_backup(target).map(|()| true),
    }
}

/// Asks the throwaway server for each table's definition and checksum and the live one
/// for its existing tables; refuses (exit 7) every difference before anything changes.
fn plan(
    live: &mut Live,
    scratch: &mut Scratch,
    selected: Vec<Selected>,
    restore_as: Option<&select::Item>,
) -> Result<Vec<Plan>, Failure> {
    let mut plans = Vec::new();
    let mut refused = Vec::new();
    let mut unsupported = Vec::new();
    let mut databases: Vec<String> = Vec::new();
    for sel in selected {
        let source = sel.table.sql_name();
        let row = scratch.row(&format!("SHOW CREATE TABLE {source}"))?;
        let definition = row.get(1).cloned().flatten().unwrap_or_default();
        let row = scratch.row(&format!("CHECKSUM TABLE {source}"))?;
        let checksum = row.get(1).cloned().flatten().ok_or_else(|| {
            Failure::new(
                Code::BackupCorrupt,
                format!(
                    "CHECKSUM TABLE {source} on the throwaway server over the backup gave \
                     NULL: the table cannot be read from the backup. {}",
                    scratch.last_words()
                ),
            )
        })?;
        let (db, name) = match restore_as {
            Some(a) => (a.db.clone(), a.table.clone().unwrap_or_default()),
            None => (sel.table.db.clone(), sel.table.name.clone()),
        };
        if sel
            .ibd_stems
            .iter()
            .any(|s| s.contains("#SP#") || s.contains("#sp#"))
        {
            unsupported.push(format!(
                "{source} has subpartitions, which MariaDB 10.11 can neither discard nor \
                 exchange one by one"
            ));
            continue;
        }
        if let Some(why) = definition::unsupported(&definition) {
            unsupported.push(format!("{source} {why}"));
            continue;
        }
        let exists = match live.definition(&db, &name)? {
            None => false,
            Some(current) => {
                if let Some(diff) =
                    definition::difference(&definition, &sel.table.name, &current, &name)
                {
                    refused.push(format!(
                        "{} exists on the live server with another definition than {source} \
                         in the backup: {diff}; restore under another name with \
                         --restore-as=db.newname, or drop or alter the live table first",
                        sql_name(&db, &name)
                    ));
                    continue;
                }
                true
            }
        };
        if !exists && !live.has_database(&db)? {
            let row = scratch.row(&format!(
                "SHOW CREATE DATABASE {}",
                server::quote_identifier(&sel.table.db)
            ))?;
            let create = row.get(1).cloned().flatten().unwrap_or_default();
            let prefix = format!(
                "CREATE DATABASE {} ",
                server::quote_identifier(&sel.table.db)
            );
            let options = create.strip_prefix(&prefix).unwrap_or("");
            databases.push(format!(
                "CREATE DATABASE IF NOT EXISTS {} {options}",
                server::quote_identifier(&db)
            ));
        }
        plans.push(Plan {
            sel,
            db,
            name,
            definition,
            checksum,
            exists,
        });
    }
    if !unsupported.is_empty() {
        return Err(Failure::new(
            Code::Usage,
            format!(
                "--restore-tables: no table was changed: {}; restore such a table with \
                 --copy-back of the backup into a scratch datadir and mariadb-dump, and leave \
                 it out of PATTERN",
                unsupported.join("; ")
            ),
        ));
    }
    if !refused.is_empty() {
        return Err(Failure::new(
            Code::WrongState,
            format!(
                "--restore-tables: no table was changed: {}",
                refused.join("; ")
            ),
        ));
    }
    let creates_innodb = plans
        .iter()
        .any(|p| !p.sel.myisam && (!p.exists || p.sel.partitioned()));
    if creates_innodb && !live.variable_on("innodb_file_per_table")? {
        return Err(Failure::new(
            Code::WrongState,
            "--restore-tables: no table was changed: the live server has \
             innodb_file_per_table=OFF, so a table it creates (a missing table, or the one a \
             partition is imported into) would live in the system tablespace, which IMPORT \
             TABLESPACE cannot fill; SET GLOBAL innodb_file_per_table=ON first"
                .to_string(),
        ));
    }
    databases.dedup();
    for create in databases {
        live.exec(&create)?;
    }
    Ok(plans)
}
