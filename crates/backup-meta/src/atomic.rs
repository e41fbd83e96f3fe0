//! The only file I/O of the crate: reading a metadata file and writing one atomically.
//!
//! A write goes to a temporary file in the target's directory, is fsynced, then published
//! under the final name (rename, or link for the no-clobber variant), and the directory is
//! fsynced. A reader therefore sees either the old content or the complete new content, and
//! after a crash the target is never half written (house rule 6). The temporary file is removed
//! on every error path; only a kill between create and publish can leave one behind, and it is
//! then recognisable by its name (`.<name>.hotbackup-tmp.<pid>.<n>`).

use std::fs::{self, File, OpenOptions, Permissions};
use std::io::{self, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::error::{MetaError, ParseError};

/// The permission mode a file is created with, as mariadb-backup creates it.
///
/// Both are requests that the process umask reduces, exactly as `open(2)`/`fopen(3)` do in
/// mariadb-backup; we deliberately do not override the umask, so a user with `umask 077` gets
/// the same private files from both tools.
///
/// | variant | requested | with umask 022 | mariadb-backup uses it for |
/// |---|---|---|---|
/// | [`FileMode::Datasink`] | 0660 | 0640 | everything written during `--backup` into the target dir (`xtrabackup_checkpoints`, `xtrabackup_info`, `xtrabackup_binlog_info`, `xtrabackup_slave_info`, `xtrabackup_galera_info`, `backup-my.cnf`, `innodb_corrupted_pages`, `*.meta`) |
/// | [`FileMode::Fopen`] | 0666 | 0644 | files written with `fopen(3)`: `xtrabackup_binlog_pos_innodb` and `xtrabackup_galera_info` at `--prepare`, `xtrabackup_checkpoints`/`xtrabackup_info` in `--extra-lsndir`, `innodb_corrupted_pages` rewritten by `--prepare` |
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileMode {
    /// `0660 & ~umask`: mariadb-backup's local datasink (`O_CREAT|O_EXCL`, mode 0660).
    Datasink,
    /// `0666 & ~umask`: what `fopen(path, "w")` creates.
    Fopen,
}

impl FileMode {
    /// The mode passed to `open(2)` before the umask is applied.
    pub fn requested(self) -> u32 {
        match self {
            FileMode::Datasink => 0o660,
            FileMode::Fopen => 0o666,
        }
    }
}

/// Reads a whole metadata file as UTF-8 text.
pub fn read_text(path: &Path) -> Result<String, MetaError> {
    let bytes = fs::read(path).map_err(|source| MetaError::Io {
        op: "read",
        path: path.to_path_buf(),
        source,
    })?;
    String::from_utf8(bytes).map_err(|e| MetaError::Parse {
        path: path.to_path_buf(),
        source: ParseError::NotUtf8 {
            offset: e.utf8_error().valid_up_to(),
        },
    })
}

/// Atomically replaces (or creates) `path` with `contents`.
///
/// If `path` already exists, the new file keeps the old file's permission bits, as
/// `fopen(path, "w")` would (it truncates in place); otherwise it is created with `mode`.
pub fn write_atomic(path: &Path, contents: &[u8], mode: FileMode) -> Result<(), MetaError> {
    let keep_permissions = match fs::metadata(path) {
        Ok(meta) => Some(meta.permissions().mode() & 0o7777),
        Err(e) if e.kind() == io::ErrorKind::NotFound => None,
        Err(source) => return Err(io_err("stat", path, source)),
    };
    let temp = write_temp(path, contents, mode, keep_permissions)?;
    if let Err(source) = fs::rename(&temp, path) {
        remove_quietly(&temp);
        return Err(io_err("rename temporary file onto", path, source));
    }
    sync_parent_dir(path)
}

/// Atomically creates `path` with `contents`; fails with an "already exists" error
/// ([`MetaError::is_already_exists`]) if `path` exists, never touching it.
///
/// This is mariadb-backup's `O_EXCL` behaviour during `--backup` (a stray
/// `xtrabackup_checkpoints` in the target makes the backup fail). The file is published with
/// `link(2)`, which refuses an existing name atomically, and the temporary name is then removed.
pub fn write_atomic_new(path: &Path, contents: &[u8], mode: FileMode) -> Result<(), MetaError> {
    let temp = write_temp(path, contents, mode, None)?;
    let linked = fs::hard_link(&temp, path);
    // The temporary name goes away whether or not the link worked.
    let unlinked = fs::remove_file(&temp);
    if let Err(source) = linked {
        return Err(io_err("create", path, source));
    }
    if let Err(source) = unlinked {
        return Err(io_err("remove temporary file", &temp, source));
    }
    sync_parent_dir(path)
}

/// Creates, fills and fsyncs the temporary file next to `path`; returns its name. On error the
/// temporary file is already removed.
fn write_temp(
    path: &Path,
    contents: &[u8],
    mode: FileMode,
    keep_permissions: Option<u32>,
) -> Result<PathBuf, MetaError> {
    let temp = temp_path(path)?;
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode.requested())
        .open(&temp)
        .map_err(|source| io_err("create temporary file", &temp, source))?;
    let result = (|| {
        if let Some(bits) = keep_permissions {
            file.set_permissions(Permissions::from_mode(bits))
                .map_err(|source| io_err("chmod", &temp, source))?;
        }
        file.write_all(contents)
            .map_err(|source| io_err("write", &temp, source))?;
        file.sync_all()
            .map_err(|source| io_err("fsync", &temp, source))
    })();
    drop(file);
    if let Err(e) = result {
        remove_quietly(&temp);
        return Err(e);
    }
    Ok(temp)
}

/// `.<name>.hotbackup-tmp.<pid>.<n>` in the same directory, so the final rename stays on one
/// filesystem and concurrent writers (threads or processes) never pick the same name.
fn temp_path(path: &Path) -> Result<PathBuf, MetaError> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let name = path.file_name().ok_or_else(|| {
        io_err(
            "write",
            path,
            io::Error::new(io::ErrorKind::InvalidInput, "path has no file name"),
        )
    })?;
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let mut temp_name = std::ffi::OsString::from(".");
    temp_name.push(name);
    temp_name.push(format!(".hotbackup-tmp.{}.{n}", std::process::id()));
    Ok(path.with_file_name(temp_name))
}

/// Makes the new directory entry durable; without it a crash can lose the rename.
fn sync_parent_dir(path: &Path) -> Result<(), MetaError> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|source| io_err("fsync directory", dir, source))
}

fn remove_quietly(path: &Path) {
    // Best effort on an error path: the original error is the one worth reporting.
    let _ = fs::remove_file(path);
}

fn io_err(op: &'static str, path: &Path, source: io::Error) -> MetaError {
    MetaError::Io {
        op,
        path: path.to_path_buf(),
        source,
    }
}
