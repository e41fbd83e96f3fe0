//! `--prepare --export`: after the prepare, MariaDB's own server writes the `.cfg` file of
//! every table and partition (`FLUSH TABLES … FOR EXPORT` under `mariadbd --bootstrap` over
//! the backup), as mariadb-backup 10.11 does with itself; then every `.cfg` is checked.
//!
//! The server is found and its version checked before the prepare ([`check`]), so a
//! missing or wrong one changes nothing. The server run leaves in the backup what
//! mariadb-backup's leaves: the `.cfg` files, `ib_buffer_pool`, `<hostname>.err` (its log),
//! and `ib_logfile0` at `innodb_log_file_size`.

pub(crate) mod mariadbd;
pub(crate) mod tables;

use std::path::{Path, PathBuf};

use crate::exit::Code;
use crate::failure::Failure;
use crate::log::Log;
use crate::options::Options;

/// The server binary an export will run, found and checked.
pub struct Server {
    /// The binary.
    pub path: PathBuf,
    /// Its version (`10.11.19-MariaDB-…`).
    pub version: String,
}

/// Finds the server binary and checks that it is the backup's major version, before the
/// prepare touches anything (exit 1 with what to install or set).
pub fn check(target: &Path) -> Result<Server, Failure> {
    let fail = |m: String| Failure::new(Code::Failure, format!("--export: {m}"));
    let path = mariadbd::find().map_err(fail)?;
    let version = mariadbd::version(&path).map_err(fail)?;
    let backup_version = backup_server_version(target);
    mariadbd::check_version(&version, backup_version.as_deref())
        .map_err(|m| fail(format!("{}: {m}", path.display())))?;
    Ok(Server { path, version })
}

/// Whether the backup's `xtrabackup_info` says `partial = Y`.
pub(crate) fn partial(target: &Path) -> bool {
    use backup_meta::MetaFile;
    backup_meta::XtrabackupInfo::read(&target.join("xtrabackup_info")).is_ok_and(|i| i.partial)
}

/// `server_version` of the backup's `xtrabackup_info`, if it says one.
pub(crate) fn backup_server_version(target: &Path) -> Option<String> {
    use backup_meta::MetaFile;
    backup_meta::XtrabackupInfo::read(&target.join("xtrabackup_info"))
        .ok()
        .map(|i| i.server_version)
        .filter(|v| !v.is_empty())
}

/// Writes the `.cfg` files of every table of the prepared backup in `target`.
pub fn run(server: &Server, opts: &Options, target: &Path, log: &Log) -> Result<(), Failure> {
    let (tables, skipped) = tables::find(target).map_err(|e| Failure::io(target, e))?;
    for file in &skipped {
        // Nothing a server could export (mtr `partial` injects such a junk.ibd): said, not
        // an error; every real tablespace still must get its .cfg.
        log.info(&format!(
            "Prepare export : {} has no tablespace header (empty or zeros): not a table, no .cfg",
            target.join(file).display()
        ));
    }
    // A .cfg left by an earlier export must not pass for one written now.
    for cfg in tables.iter().flat_map(|t| &t.cfg_files) {
        let path = target.join(cfg);
        match std::fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(Failure::io(&path, e))
            }
            _ => {}
        }
    }
    let defaults_file = match &opts.defaults_file {
        Some(f) => Some(std::path::absolute(f).map_err(|e| Failure::io(f, e))?),
        None => None,
    };
    let args = mariadbd::arguments(&mariadbd::Settings {
        target,
        defaults_file: defaults_file.as_deref(),
        group_suffix: opts.defaults_group_suffix.as_deref().unwrap_or(""),
        buffer_pool: opts.use_memory,
        force_recovery: opts.innodb_force_recovery >= 1,
        listen: None,
    });
    let shown: Vec<String> = args
        .iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    log.info(&format!(
        "Prepare export : executing {} {} (MariaDB {}) for {} table(s)",
        server.path.display(),
        shown.join(" "),
        server.version,
        tables.len()
    ));
    let logs_before = err_logs(target);
    let script = tables::script(&tables);
    let outcome =
        mariadbd::run(&server.path, &args, target, &script, partial(target)).map_err(|e| {
            Failure::new(
                Code::Failure,
                format!("--export: cannot run {}: {e}", server.path.display()),
            )
        })?;
    let err_log = grown_err_log(target, &logs_before);
    if outcome.hidden > 0 {
        log.info(&format!(
            "Prepare export : {} server line(s) about tablespace files missing from this \
             partial backup not shown (the tables it left out)",
            outcome.hidden
        ));
    }
    if !outcome.status.success() {
        return Err(Failure::new(
            Code::Failure,
            format!(
                "--export: the server over the backup ({} --bootstrap) failed ({}); no \
                 .cfg file can be trusted. {}The backup itself stays prepared: fix the \
                 cause and run --prepare --export again.",
                server.path.display(),
                outcome.status,
                last_lines(&outcome.tail, &err_log)
            ),
        ));
    }
    let missing: Vec<String> = tables
        .iter()
        .filter(|t| t.cfg_files.iter().any(|c| !target.join(c).is_file()))
        .map(|t| t.sql_name())
        .collect();
    if !missing.is_empty() {
        return Err(Failure::new(
            Code::Failure,
            format!(
                "--export: the server wrote no .cfg for {} of {} table(s): {} (FLUSH TABLES \
                 … FOR EXPORT failed for them: a table whose definition (.frm) is missing, \
                 an encrypted table without its key plugin in --defaults-file, ...). {}The \
                 other tables' .cfg files are in place; the backup stays prepared.",
                missing.len(),
                tables.len(),
                missing.join(", "),
                last_lines(&outcome.tail, &err_log)
            ),
        ));
    }
    let files: usize = tables.iter().map(|t| t.cfg_files.len()).sum();
    log.info(&format!(
        "Prepare export : wrote {files} .cfg file(s) for {} table(s)",
        tables.len()
    ));
    Ok(())
}

/// The `*.err` files at the top of `target` and their sizes.
fn err_logs(target: &Path) -> Vec<(PathBuf, u64)> {
    let Ok(dir) = std::fs::read_dir(target) else {
        return Vec::new();
    };
    dir.flatten()
        .filter(|e| e.file_name().to_string_lossy().ends_with(".err"))
        .filter_map(|e| Some((e.path(), e.metadata().ok()?.len())))
        .collect()
}

/// The `*.err` log the server wrote to (`--log-error=`: `<hostname>.err` in the datadir)
/// and what it added.
fn grown_err_log(target: &Path, before: &[(PathBuf, u64)]) -> Option<(PathBuf, String)> {
    use std::io::{Read, Seek, SeekFrom};
    let (path, from) = err_logs(target).into_iter().find_map(|(p, len)| {
        let old = before.iter().find(|(q, _)| *q == p).map_or(0, |(_, l)| *l);
        (len > old).then_some((p, old))
    })?;
    let mut f = std::fs::File::open(&path).ok()?;
    f.seek(SeekFrom::Start(from)).ok()?;
    let mut text = String::new();
    f.take(1 << 20).read_to_string(&mut text).ok()?;
    Some((path, text))
}

/// The server's last words for a failure message: its output's last lines (errors before
/// its log is open) and its log's.
fn last_lines(tail: &[String], err_log: &Option<(PathBuf, String)>) -> String {
    let mut said = String::new();
    if !tail.is_empty() {
        said.push_str(&format!("Its last output:\n{}\n", tail.join("\n")));
    }
    if let Some((path, text)) = err_log {
        let lines: Vec<&str> = text.lines().collect();
        let n = lines.len().saturating_sub(10);
        said.push_str(&format!(
            "Last lines of its log {}:\n{}\n",
            path.display(),
            lines[n..].join("\n")
        ));
    }
    said
}
