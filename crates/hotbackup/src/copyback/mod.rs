//! `hotbackup --copy-back` / `--move-back`: puts a prepared backup into a datadir.
//!
//! Same destinations, order, skipped files and log lines as mariadb-backup 10.11 (see
//! [`plan`]). Deliberate differences, each safer:
//!
//! * an unprepared backup (`backup_type` not `log-applied`, or `.new`/`.ren`/`.del` left) is
//!   refused; mariadb-backup copies it and the server starts on stale data;
//! * every destination is checked before anything is written, so a name collision (with
//!   `--force-non-empty-directories`, in a separate InnoDB directory, or at the path of a
//!   `DATA DIRECTORY` tablespace) fails with nothing copied, and no directory is created
//!   before all checks pass;
//! * relative `--innodb-*-dir` and `--aria-log-dir-path` values are taken relative to the
//!   datadir, as the server takes them (mariadb-backup resolves them against the backup
//!   directory, which it has `chdir`ed into);
//! * `--move-back` never replaces a file (`RENAME_NOREPLACE`), and across filesystems a file
//!   is copied to a temporary name, fsynced and renamed before its source is removed;
//! * files and directories are fsynced; a partial copy is removed on failure.

mod plan;
mod transfer;

pub use plan::is_temp_file;
pub(crate) use transfer::sync_dir;

use std::collections::BTreeSet;
use std::path::{Component, Path, PathBuf};

use backup_meta::{BackupMyCnf, BackupType, Checkpoints, MetaFile};

use crate::exit::Code;
use crate::failure::Failure;
use crate::log::Log;
use crate::options::Options;

use plan::{Dests, Item, Plan, SystemFile};
use transfer::Moved;

/// mariadb-backup's compiled-in datadir.
const DEFAULT_DATADIR: &str = "/var/lib/mysql";
/// mariadb-backup's default when `innodb_data_file_path` is not set (only the names matter).
const DEFAULT_DATA_FILE_PATH: &str = "ibdata1:10M:autoextend";
/// Collisions listed in one error message.
const MAX_LISTED: usize = 20;
/// Upper bound for `--parallel` here: more threads than that only add seeks.
const MAX_THREADS: usize = 256;
/// Files one copy or move holds open at once (source and destination, or a directory).
const FILES_PER_TRANSFER: usize = 2;

/// Copy threads that fit in the open-files limit `limit` (`None`: the process's), each
/// holding [`FILES_PER_TRANSFER`] files, the limit's reserve left for the rest; at least 1.
fn threads_within_limit(wanted: usize, limit: Option<u64>) -> usize {
    wanted
        .min(prepare::data_file_capacity(limit) / FILES_PER_TRANSFER)
        .max(1)
}

/// Copies (`move_files == false`) or moves the prepared backup in `--target-dir` into the
/// datadir.
pub fn run(opts: &Options, log: &Log, move_files: bool) -> Result<(), Failure> {
    let cwd = std::env::current_dir().map_err(|e| io_failure("get", Path::new("."), e))?;
    let target = clean(&cwd.join(&opts.target_dir));
    let dests = destinations(opts, &cwd, log);

    check_backup(&target)?;
    let system_files = system_files(opts, &target, log)?;
    let listing = plan::list(&target)?;
    let read_isl = |rel: &Path| -> Result<Vec<u8>, Failure> {
        let path = target.join(rel);
        std::fs::read(&path).map_err(|e| io_failure("read", &path, e))
    };
    let plan = plan::build(&target, &listing, &dests, &system_files, &read_isl)?;

    check_not_inside_backup(&target, &dests, &plan)?;
    check_datadir(&dests.datadir, opts.force_non_empty_directories)?;
    check_collisions(&plan, &dests)?;

    for item in plan.items() {
        if let Some(isl) = &item.remote_isl {
            log.info(&format!(
                "Warning: {} is a DATA DIRECTORY tablespace ({}): it is written outside the \
                 datadir, to {}",
                item.shown_src,
                isl.display(),
                item.dest.display()
            ));
        }
    }

    let mut created = Vec::new();
    for dir in required_dirs(&plan, &dests) {
        ensure_dir(&dir, &mut created)?;
    }

    let wanted = usize::try_from(opts.parallel)
        .unwrap_or(MAX_THREADS)
        .clamp(1, MAX_THREADS)
        .min(plan.rest.len().max(1));
    let threads = threads_within_limit(wanted, None);
    if threads < wanted {
        log.info(&format!(
            "--parallel={wanted} reduced to {threads}: the open files limit ({}) leaves room \
             for {threads} copies at once; raise it with --open-files-limit or ulimit -n",
            prepare::open_files_limit().map_or_else(|| "?".to_string(), |l| l.to_string())
        ));
    }
    for item in &plan.first {
        transfer_one(item, 1, move_files, log)?;
    }
    // In list order with the sources read ahead (a cold-cache copy of thousands of small
    // files otherwise waits on one random read at a time); after a failure the other
    // threads take no new file.
    crate::in_order::try_run(
        threads,
        &plan.rest,
        // A move renames: nothing to read.
        |item| (!move_files).then(|| item.src.clone()),
        |thread, item| transfer_one(item, thread, move_files, log),
    )?;

    // Make every new name durable: the directories written into, the parents of the
    // directories created, and (for a move) the directories the names left.
    let mut to_sync: BTreeSet<PathBuf> = BTreeSet::new();
    for item in plan.items() {
        to_sync.extend(item.dest.parent().map(Path::to_path_buf));
        if move_files {
            to_sync.extend(item.src.parent().map(Path::to_path_buf));
        }
    }
    for dir in &created {
        to_sync.extend(dir.parent().map(Path::to_path_buf));
    }
    // The copies were not fsynced one by one: one syncfs per filesystem makes them all
    // durable (an fsync per file cost more than the copy itself with thousands of tables).
    backup_meta::sync_filesystems(to_sync.iter().map(PathBuf::as_path))
        .map_err(|(dir, e)| io_failure("sync the filesystem of", &dir, e))?;
    for dir in &to_sync {
        transfer::sync_dir(dir)?;
    }

    log.info("completed OK!");
    Ok(())
}

/// A failed system call on `path`, with the DBA's next step where there is an obvious one.
pub(crate) fn io_failure(op: &str, path: &Path, e: std::io::Error) -> Failure {
    let hint = match e.raw_os_error() {
        Some(libc::ENOSPC) => "; the disk is full",
        Some(libc::EACCES) | Some(libc::EPERM) => "; check the permissions",
        Some(libc::EEXIST) => "; it already exists and is never overwritten",
        Some(libc::EXDEV) => "; it is on another filesystem",
        _ => "",
    };
    Failure::new(
        Code::Io,
        format!("cannot {op} {}: {e}{hint}", path.display()),
    )
}

/// `p` without `.` components and trailing slashes (`..` is kept: it may cross a symlink).
fn clean(p: &Path) -> PathBuf {
    p.components().collect()
}

/// The destination directories. `--datadir` relative to the working directory; the InnoDB
/// and Aria directories, if relative, to the datadir, as the server resolves them.
fn destinations(opts: &Options, cwd: &Path, log: &Log) -> Dests {
    let given = |p: &Option<PathBuf>| p.clone().filter(|p| !p.as_os_str().is_empty());
    let datadir = match given(&opts.datadir) {
        Some(d) => clean(&cwd.join(d)),
        None => {
            log.info(&format!(
                "No --datadir given and no datadir in the option files: using \
                 mariadb-backup's default {DEFAULT_DATADIR}"
            ));
            PathBuf::from(DEFAULT_DATADIR)
        }
    };
    let under_datadir = |p: &Option<PathBuf>| match given(p) {
        Some(p) => clean(&datadir.join(p)),
        None => datadir.clone(),
    };
    Dests {
        data_home: under_datadir(&opts.innodb.data_home_dir),
        log_dir: under_datadir(&opts.innodb.log_group_home_dir),
        undo_dir: under_datadir(&opts.innodb.undo_directory),
        aria_dir: under_datadir(&opts.aria_log_dir_path),
        datadir,
    }
}

/// The target must be a prepared backup.
pub(crate) fn check_backup(target: &Path) -> Result<(), Failure> {
    Failure::check_backup_dir(target)?;
    let path = target.join(backup_meta::names::XTRABACKUP_CHECKPOINTS);
    let checkpoints = match Checkpoints::read(&path) {
        Ok(c) => c,
        Err(e) if e.is_not_found() => {
            return Err(Failure::new(
                Code::WrongState,
                format!(
                    "{} is not a backup: it has no xtrabackup_checkpoints. A backup directory \
                     made by hotbackup --backup or mariadb-backup --backup holds \
                     xtrabackup_checkpoints, backup-my.cnf, ib_logfile0, ibdata1 and a \
                     directory per database; check --target-dir",
                    target.display()
                ),
            ))
        }
        Err(e @ backup_meta::MetaError::Parse { .. }) => {
            return Err(Failure::new(
                Code::BackupCorrupt,
                format!("the backup's {e}"),
            ))
        }
        Err(e) => return Err(Failure::new(Code::Io, e.to_string())),
    };
    match checkpoints.backup_type {
        BackupType::LogApplied => Ok(()),
        BackupType::FullBackuped => Err(Failure::new(
            Code::WrongState,
            format!(
                "the backup in {dir} is not prepared (backup_type = full-backuped in \
                 xtrabackup_checkpoints): run hotbackup --prepare --target-dir={dir} first",
                dir = target.display()
            ),
        )),
        BackupType::Incremental => Err(Failure::new(
            Code::WrongState,
            format!(
                "{dir} is an incremental backup (backup_type = incremental), which cannot be \
                 restored on its own: prepare its full backup, apply this one with --prepare \
                 --target-dir=FULL --incremental-dir={dir}, then copy back FULL",
                dir = target.display()
            ),
        )),
    }
}

/// The files of `innodb_data_file_path`: from the options, else from the backup's
/// `backup-my.cnf` (the source server's), else mariadb-backup's default `ibdata1`.
fn system_files(opts: &Options, target: &Path, log: &Log) -> Result<Vec<SystemFile>, Failure> {
    if let Some(spec) = &opts.innodb.data_file_path {
        return plan::parse_data_file_path(spec).ok_or_else(|| {
            Failure::new(
                Code::Usage,
                format!("innodb_data_file_path = '{spec}' names no file"),
            )
        });
    }
    let cnf_path = target.join(backup_meta::names::BACKUP_MY_CNF);
    match BackupMyCnf::read(&cnf_path) {
        Ok(cnf) => {
            if let Some(files) = plan::parse_data_file_path(&cnf.data_file_path) {
                return Ok(files);
            }
            log.info(&format!(
                "Warning: {} has an unusable innodb_data_file_path '{}'; assuming {}",
                cnf_path.display(),
                cnf.data_file_path,
                DEFAULT_DATA_FILE_PATH
            ));
        }
        Err(e) => log.info(&format!(
            "Warning: {e}; assuming innodb_data_file_path = {DEFAULT_DATA_FILE_PATH}"
        )),
    }
    plan::parse_data_file_path(DEFAULT_DATA_FILE_PATH)
        .ok_or_else(|| Failure::new(Code::Failure, "internal: bad default data file path".into()))
}

/// Like `canonicalize`, but for a path that may not exist yet: the existing ancestor is
/// resolved, the rest appended.
fn resolve_lenient(p: &Path) -> PathBuf {
    let mut existing = p.to_path_buf();
    let mut rest = Vec::new();
    loop {
        if let Ok(real) = existing.canonicalize() {
            let mut out = real;
            for part in rest.iter().rev() {
                out.push(part);
            }
            return out;
        }
        match (existing.file_name(), existing.parent()) {
            (Some(name), Some(parent)) => {
                rest.push(name.to_os_string());
                existing = parent.to_path_buf();
            }
            _ => return p.to_path_buf(),
        }
    }
}

/// Writing into the backup directory itself would copy the backup into itself.
fn check_not_inside_backup(target: &Path, dests: &Dests, plan: &Plan) -> Result<(), Failure> {
    let real_target = resolve_lenient(target);
    let mut roots = vec![
        ("--datadir", dests.datadir.clone()),
        ("--innodb-data-home-dir", dests.data_home.clone()),
        ("--innodb-log-group-home-dir", dests.log_dir.clone()),
        ("--innodb-undo-directory", dests.undo_dir.clone()),
        ("--aria-log-dir-path", dests.aria_dir.clone()),
    ];
    for item in plan.items() {
        if let (Some(_), Some(parent)) = (&item.remote_isl, item.dest.parent()) {
            roots.push((
                "a DATA DIRECTORY tablespace's directory",
                parent.to_path_buf(),
            ));
        }
    }
    for (what, dir) in roots {
        let real = resolve_lenient(&dir);
        if real.starts_with(&real_target) {
            return Err(Failure::new(
                Code::WrongState,
                format!(
                    "{what} {} is inside the backup directory {}; restore to a directory \
                     outside it",
                    dir.display(),
                    target.display()
                ),
            ));
        }
    }
    Ok(())
}

/// mariadb-backup refuses a datadir that has any entry, unless
/// `--force-non-empty-directories`. A missing datadir is fine (it is created).
fn check_datadir(datadir: &Path, force: bool) -> Result<(), Failure> {
    match std::fs::metadata(datadir) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(io_failure("open", datadir, e)),
        Ok(m) if !m.is_dir() => Err(Failure::new(
            Code::WrongState,
            format!(
                "Original data directory {} is not a directory!",
                datadir.display()
            ),
        )),
        Ok(_) if force => Ok(()),
        Ok(_) => {
            let mut entries =
                std::fs::read_dir(datadir).map_err(|e| io_failure("read directory", datadir, e))?;
            if entries.next().is_none() {
                return Ok(());
            }
            Err(Failure::new(
                Code::WrongState,
                format!(
                    "Original data directory {} is not empty! Restore into an empty (or \
                     missing) directory, or add --force-non-empty-directories to put the \
                     backup's files next to the ones there (an existing file is never \
                     overwritten)",
                    datadir.display()
                ),
            ))
        }
    }
}

/// Every directory the plan writes into, parents before children.
fn required_dirs(plan: &Plan, dests: &Dests) -> BTreeSet<PathBuf> {
    let mut dirs: BTreeSet<PathBuf> = [
        &dests.datadir,
        &dests.data_home,
        &dests.log_dir,
        &dests.undo_dir,
        &dests.aria_dir,
    ]
    .into_iter()
    .cloned()
    .collect();
    dirs.extend(plan.dirs.iter().cloned());
    for item in plan.items() {
        dirs.extend(item.dest.parent().map(Path::to_path_buf));
    }
    dirs
}

/// Checks every destination before anything is written: no file may exist where one is
/// going, each directory must be a directory, and no two files may go to one place.
fn check_collisions(plan: &Plan, dests: &Dests) -> Result<(), Failure> {
    let mut problems = Vec::new();
    let mut seen = std::collections::HashMap::new();
    for item in plan.items() {
        if let Some(other) = seen.insert(item.dest.clone(), &item.shown_src) {
            return Err(Failure::new(
                Code::WrongState,
                format!(
                    "{} and {} of the backup would both go to {}; check the innodb_* \
                     directories and the .isl files",
                    other,
                    item.shown_src,
                    item.dest.display()
                ),
            ));
        }
        match std::fs::symlink_metadata(&item.dest) {
            Ok(_) => problems.push(format!("{} (exists)", item.dest.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            // ENOTDIR: an ancestor is a file; reported with the directories below.
            Err(e) if e.raw_os_error() == Some(libc::ENOTDIR) => {}
            Err(e) => return Err(io_failure("stat", &item.dest, e)),
        }
    }
    for dir in required_dirs(plan, dests) {
        if let Some(blocker) = non_directory_ancestor(&dir) {
            let line = format!("{} (exists and is not a directory)", blocker.display());
            if !problems.contains(&line) {
                problems.push(line);
            }
        }
    }
    if problems.is_empty() {
        return Ok(());
    }
    let n = problems.len();
    let mut list = problems
        .iter()
        .take(MAX_LISTED)
        .map(|p| format!("\n  {p}"))
        .collect::<String>();
    if n > MAX_LISTED {
        list.push_str(&format!("\n  … and {} more", n - MAX_LISTED));
    }
    Err(Failure::new(
        Code::Io,
        format!(
            "nothing was copied: {n} destination(s) already exist, and hotbackup never \
             overwrites a file:{list}\nMove them away, or restore into an empty directory"
        ),
    ))
}

/// The first existing component of `dir` (itself included) that is not a directory.
fn non_directory_ancestor(dir: &Path) -> Option<PathBuf> {
    let mut path = PathBuf::new();
    for part in dir.components() {
        path.push(part);
        if matches!(part, Component::RootDir | Component::Prefix(_)) {
            continue;
        }
        match std::fs::metadata(&path) {
            Ok(m) if m.is_dir() => {}
            Ok(_) => return Some(path),
            Err(_) => return None,
        }
    }
    None
}

/// `mkdir -p` with mode 0700, remembering what it created.
fn ensure_dir(dir: &Path, created: &mut Vec<PathBuf>) -> Result<(), Failure> {
    use std::os::unix::fs::DirBuilderExt;
    match std::fs::metadata(dir) {
        Ok(m) if m.is_dir() => return Ok(()),
        Ok(_) => {
            return Err(Failure::new(
                Code::Io,
                format!("{} exists and is not a directory", dir.display()),
            ))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(io_failure("create directory", dir, e)),
    }
    if let Some(parent) = dir.parent() {
        ensure_dir(parent, created)?;
    }
    match std::fs::DirBuilder::new().mode(0o700).create(dir) {
        Ok(()) => {
            created.push(dir.to_path_buf());
            Ok(())
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && dir.is_dir() => Ok(()),
        Err(e) => Err(io_failure("create directory", dir, e)),
    }
}

/// Copies or moves one file, with mariadb-backup's two log lines.
fn transfer_one(item: &Item, thread: usize, move_files: bool, log: &Log) -> Result<(), Failure> {
    if move_files {
        log.line(
            thread,
            &format!("Moving {} to {}", item.shown_src, item.shown_dest),
        );
        if transfer::move_file(&item.src, &item.dest)? == Moved::Copied {
            log.line(
                thread,
                &format!(
                    "        different filesystems: copied, synced, then removed {}",
                    item.shown_src
                ),
            );
        }
    } else {
        log.line(
            thread,
            &format!("Copying {} to {}", item.shown_src, item.shown_dest),
        );
        // Made durable all at once by the syncfs after the last copy.
        transfer::copy_file(&item.src, &item.dest, None, false)?;
    }
    log.line(thread, "        ...done");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parallel_copies_fit_the_open_files_limit() {
        for (wanted, limit, want) in [
            (4, 1024, 4),
            (256, 1024, 256),
            (256, 128, (128 - prepare::RESERVED_FILES) / 2),
            (100, 128, 48),
            (8, 20, 5),
            (8, 3, 1),
        ] {
            assert_eq!(
                threads_within_limit(wanted, Some(limit)),
                want,
                "{wanted} threads, limit {limit}"
            );
        }
    }
}
