//! One table into the live server: CREATE if missing, DISCARD, the throwaway server's
//! `.ibd` + `.cfg` placed, IMPORT (partition by partition through `EXCHANGE PARTITION`; a
//! MyISAM table by its files under a write lock), `CHECKSUM TABLE` compared, and the table's
//! state when any step fails.

use std::path::Path;

use super::live::{self, sql_name, Live};
use super::scratch::Scratch;
use super::{definition, Plan};
use crate::backup::discover::decode_filename;
use crate::exit::Code;
use crate::failure::Failure;
use crate::log::Log;

/// What the restore of one table has done to the live server so far.
#[derive(Default)]
pub struct Progress {
    created: bool,
    discarded: bool,
    imported: bool,
    /// Partitions swapped in (partitioned tables).
    exchanged: Vec<String>,
    /// The table a partition is imported into before the swap, while it exists.
    holder: Option<String>,
    /// A MyISAM table's files are being renamed over the live ones.
    replacing: bool,
}

impl Progress {
    /// The table's state and how to retry, for a failure message.
    pub fn state(&self, name: &str) -> String {
        let mut retry = "Fix the cause and run the same command again: it restores the \
                         table again from the start"
            .to_string();
        if let Some(h) = &self.holder {
            retry = format!(
                "DROP TABLE {h} (hotbackup's, now holding the live rows of the last \
                 partition swapped), {retry}"
            );
        }
        if !self.exchanged.is_empty() {
            return format!(
                "{name} on the live server: partitions {} hold the backup's rows, the others \
                 still the live rows. {retry}",
                self.exchanged.join(", ")
            );
        }
        if self.replacing {
            return format!(
                "{name} on the live server: its .MYD/.MYI files were being replaced and may \
                 not match each other. {retry}"
            );
        }
        match (self.created, self.discarded, self.imported) {
            (_, _, true) => format!(
                "{name} on the live server: IMPORTED, but not verified; do not trust it \
                 before the cause is understood. {retry}"
            ),
            (_, true, false) => format!(
                "{name} on the live server: its tablespace is DISCARDED (the table exists, \
                 its rows cannot be read until an import). {retry}, or DROP TABLE it"
            ),
            (true, false, false) => format!(
                "{name} on the live server: CREATED by this restore and empty. {retry}, or \
                 DROP TABLE it"
            ),
            (false, false, false) => format!("{name} on the live server: unchanged. {retry}"),
        }
    }
}

/// Restores one table, recording in `progress` what it changed.
pub fn restore_one(
    live: &mut Live,
    scratch: &mut Scratch,
    p: &Plan,
    progress: &mut Progress,
    log: &Log,
) -> Result<(), Failure> {
    let target = sql_name(&p.db, &p.name);
    if !p.exists {
        let create =
            definition::create_as(&p.definition, &p.sel.table.name, &target).ok_or_else(|| {
                Failure::new(
                    Code::Failure,
                    format!("unexpected SHOW CREATE TABLE output: {}", p.definition),
                )
            })?;
        live.exec(&create)?;
        progress.created = true;
        log.info(&format!("Restore : created {target} as in the backup"));
    }
    let (dir, stem) = live.table_files(&p.db, &p.name)?;
    let frm = dir.join(format!("{stem}.frm"));
    let like = std::fs::metadata(&frm).map_err(|e| Failure::io(&frm, e))?;
    let source = p.sel.table.sql_name();
    if p.sel.myisam {
        restore_myisam(live, scratch, p, &dir, &stem, &like, progress)?;
    } else {
        scratch.exec(&format!("FLUSH TABLES {source} FOR EXPORT"))?;
        if p.sel.partitioned() {
            restore_partitions(live, scratch, p, &like, progress, log)?;
        } else {
            live.exec(&format!("ALTER TABLE {target} DISCARD TABLESPACE"))?;
            progress.discarded = true;
            test_failure("discarded")?;
            let placed = place(scratch, p, &p.sel.ibd_stems[0], &dir, &stem, &like)?;
            live.exec(&format!("ALTER TABLE {target} IMPORT TABLESPACE"))?;
            progress.imported = true;
            remove(&placed);
        }
        scratch.exec("UNLOCK TABLES")?;
    }
    let got = live.checksum(&p.db, &p.name)?;
    if got.as_deref() != Some(p.checksum.as_str()) {
        return Err(Failure::new(
            Code::Failure,
            format!(
                "CHECKSUM TABLE {target} on the live server is {} after the import, the \
                 backup's is {}",
                got.as_deref().unwrap_or("NULL"),
                p.checksum
            ),
        ));
    }
    Ok(())
}

/// A MyISAM table: the backup's `.MYD`/`.MYI` (closed by the throwaway server) staged next
/// to the live files, then, under `LOCK TABLES … WRITE` (no other session reads or writes
/// it) and a `FLUSH TABLES` that writes out all the server holds for it (under the lock it
/// reopens the table at once, on the old files), renamed over them; a second `FLUSH TABLES`
/// makes the server reopen the table from the new files.
fn restore_myisam(
    live: &mut Live,
    scratch: &mut Scratch,
    p: &Plan,
    dir: &Path,
    stem: &str,
    like: &std::fs::Metadata,
    progress: &mut Progress,
) -> Result<(), Failure> {
    let target = sql_name(&p.db, &p.name);
    scratch.exec(&format!(
        "FLUSH TABLES {} WITH READ LOCK",
        p.sel.table.sql_name()
    ))?;
    let mut staged = Vec::new();
    let staging = (|| {
        for ext in ["MYD", "MYI"] {
            let from =
                scratch.file(&Path::new(&p.sel.db_dir).join(format!("{}.{ext}", p.sel.stem)));
            let tmp = dir.join(format!("{stem}.{ext}.hotbackup-restore"));
            live::place(&from, &tmp, like)?;
            staged.push((tmp, dir.join(format!("{stem}.{ext}"))));
        }
        live::sync_dir(dir)
    })();
    let unstage = |staged: &[(std::path::PathBuf, std::path::PathBuf)]| {
        for (tmp, _) in staged {
            let _ = std::fs::remove_file(tmp);
        }
    };
    if let Err(f) = staging.and_then(|()| scratch.exec("UNLOCK TABLES")) {
        unstage(&staged);
        return Err(f);
    }
    live.exec(&format!("LOCK TABLES {target} WRITE"))?;
    let swapped = (|| {
        live.exec(&format!("FLUSH TABLES {target}"))?;
        progress.replacing = true;
        for (tmp, to) in &staged {
            std::fs::rename(tmp, to).map_err(|e| Failure::io(to, e))?;
        }
        live::sync_dir(dir)?;
        live.exec(&format!("FLUSH TABLES {target}"))?;
        progress.replacing = false;
        progress.imported = true;
        Ok(())
    })();
    let unlocked = live.exec("UNLOCK TABLES");
    unstage(&staged);
    swapped.and(unlocked)
}

/// Each partition imported into an empty non-partitioned table of the same columns, then
/// exchanged with the live partition; the table that then holds the old rows is dropped.
fn restore_partitions(
    live: &mut Live,
    scratch: &mut Scratch,
    p: &Plan,
    like: &std::fs::Metadata,
    progress: &mut Progress,
    log: &Log,
) -> Result<(), Failure> {
    let target = sql_name(&p.db, &p.name);
    let plain_def = match p.definition.find("\n PARTITION BY") {
        Some(at) => &p.definition[..at],
        None => p.definition.as_str(),
    };
    // Created, swapped in and dropped for each partition; never an existing table.
    let holder = format!("hotbackup_restore_{}", std::process::id());
    let holder_sql = sql_name(&p.db, &holder);
    let create =
        definition::create_as(plain_def, &p.sel.table.name, &holder_sql).ok_or_else(|| {
            Failure::new(
                Code::Failure,
                format!("unexpected SHOW CREATE TABLE output: {}", p.definition),
            )
        })?;
    for ibd in &p.sel.ibd_stems {
        let partition = ibd
            .split_once("#P#")
            .or_else(|| ibd.split_once("#p#"))
            .map(|(_, part)| decode_filename(part))
            .unwrap_or_default();
        live.exec(&create)?;
        progress.holder = Some(holder_sql.clone());
        let (hdir, hstem) = live.table_files(&p.db, &holder)?;
        live.exec(&format!("ALTER TABLE {holder_sql} DISCARD TABLESPACE"))?;
        let placed = place(scratch, p, ibd, &hdir, &hstem, like)?;
        live.exec(&format!("ALTER TABLE {holder_sql} IMPORT TABLESPACE"))?;
        remove(&placed);
        live.exec(&format!(
            "ALTER TABLE {target} EXCHANGE PARTITION {} WITH TABLE {holder_sql}",
            server::quote_identifier(&partition)
        ))?;
        progress.exchanged.push(partition.clone());
        test_failure("exchanged")?;
        live.exec(&format!("DROP TABLE {holder_sql}"))?;
        progress.holder = None;
        log.info(&format!(
            "Restore : {target} partition {partition} swapped in"
        ));
    }
    Ok(())
}

/// Test hook (not an option): `HOTBACKUP_TEST_RESTORE_FAIL=discarded` fails a restore
/// right after the DISCARD, `=exchanged` after the first partition is swapped in, so the
/// tests can check the state a failure reports and that a second run repairs it.
fn test_failure(step: &str) -> Result<(), Failure> {
    match std::env::var("HOTBACKUP_TEST_RESTORE_FAIL") {
        Ok(s) if s == step => Err(Failure::new(
            Code::Failure,
            format!("test hook HOTBACKUP_TEST_RESTORE_FAIL={step}"),
        )),
        _ => Ok(()),
    }
}

/// Puts the throwaway server's `<ibd>.ibd` and `<ibd>.cfg` of table `p` into `dir` as
/// `<stem>.ibd`/`.cfg`, synced; returns the `.cfg` placed (removed after the import).
fn place(
    scratch: &Scratch,
    p: &Plan,
    ibd: &str,
    dir: &Path,
    stem: &str,
    like: &std::fs::Metadata,
) -> Result<Vec<std::path::PathBuf>, Failure> {
    let mut cfgs = Vec::new();
    for ext in ["ibd", "cfg"] {
        let from = scratch.file(&Path::new(&p.sel.db_dir).join(format!("{ibd}.{ext}")));
        let to = dir.join(format!("{stem}.{ext}"));
        live::place(&from, &to, like)?;
        if ext == "cfg" {
            cfgs.push(to);
        }
    }
    live::sync_dir(dir)?;
    Ok(cfgs)
}

/// Removes the `.cfg` files an import has read (the server leaves them).
fn remove(files: &[std::path::PathBuf]) {
    for f in files {
        let _ = std::fs::remove_file(f);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states() {
        let p = |f: &dyn Fn(&mut Progress)| {
            let mut p = Progress::default();
            f(&mut p);
            p.state("`d`.`t`")
        };
        for (state, says) in [
            (p(&|_| {}), "`d`.`t` on the live server: unchanged."),
            (
                p(&|p| p.created = true),
                "CREATED by this restore and empty",
            ),
            (
                p(&|p| {
                    p.created = true;
                    p.discarded = true
                }),
                "its tablespace is DISCARDED",
            ),
            (
                p(&|p| {
                    p.discarded = true;
                    p.imported = true
                }),
                "IMPORTED, but not verified",
            ),
            (
                p(&|p| p.replacing = true),
                ".MYD/.MYI files were being replaced",
            ),
            (
                p(&|p| {
                    p.exchanged = vec!["p0".into(), "p1".into()];
                    p.holder = Some("`d`.`h`".into())
                }),
                "partitions p0, p1 hold the backup's rows",
            ),
        ] {
            assert!(state.contains(says), "{state}");
            assert!(state.contains("run the same command again"), "{state}");
        }
        let holder = p(&|p| {
            p.exchanged = vec!["p0".into()];
            p.holder = Some("`d`.`h`".into())
        });
        assert!(holder.contains("DROP TABLE `d`.`h`"), "{holder}");
    }
}
