//! The only file I/O of the crate: reading a metadata file and writing one atomically.
//!
//! A write goes to a temporary file in the target's directory, is fsynced, then published
//! under the final name (rename, or a rename that refuses to replace for the no-clobber variant), and the directory is
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

/// Which of mariadb-backup's two ways of creating a file a write stands for.
///
/// Both now request the same private mode, 0640: every file of a backup is readable by its
/// owner's group at most, whatever the umask (the umask can only remove more bits).
/// mariadb-backup asks for 0660 or 0666 and leaves the rest to the umask, so with the usual
/// umask 022 its `fopen` files are world-readable; we are deliberately tighter. The variants
/// are kept to record where mariadb-backup's behaviour differs, and so callers need not change.
///
/// | variant | mariadb-backup requests | it uses it for |
/// |---|---|---|
/// | [`FileMode::Datasink`] | 0660 | everything written during `--backup` into the target dir (`xtrabackup_checkpoints`, `xtrabackup_info`, `xtrabackup_binlog_info`, `xtrabackup_slave_info`, `xtrabackup_galera_info`, `backup-my.cnf`, `innodb_corrupted_pages`, `*.meta`) |
/// | [`FileMode::Fopen`] | 0666 | files written with `fopen(3)`: `xtrabackup_binlog_pos_innodb` and `xtrabackup_galera_info` at `--prepare`, `xtrabackup_checkpoints`/`xtrabackup_info` in `--extra-lsndir`, `innodb_corrupted_pages` rewritten by `--prepare` |
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileMode {
    /// mariadb-backup's local datasink (`O_CREAT|O_EXCL`, mode 0660).
    Datasink,
    /// What `fopen(path, "w")` creates in mariadb-backup (0666).
    Fopen,
}

/// The most a metadata file may allow: owner read/write, group read.
pub const PRIVATE_FILE_MODE: u32 = 0o640;

impl FileMode {
    /// The mode passed to `open(2)` before the umask is applied: 0640 for both.
    pub fn requested(self) -> u32 {
        match self {
            FileMode::Datasink | FileMode::Fopen => PRIVATE_FILE_MODE,
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
/// `fopen(path, "w")` would (it truncates in place), but never more than 0640; otherwise it
/// is created with `mode`.
pub fn write_atomic(path: &Path, contents: &[u8], mode: FileMode) -> Result<(), MetaError> {
    let keep_permissions = match fs::metadata(path) {
        Ok(meta) => Some(meta.permissions().mode() & PRIVATE_FILE_MODE),
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
/// [`rename_noreplace`], which needs no hard links, so this works on every filesystem a backup
/// can be written to (vfat, some network filesystems and FUSE mounts have no `link(2)`).
pub fn write_atomic_new(path: &Path, contents: &[u8], mode: FileMode) -> Result<(), MetaError> {
    let temp = write_temp(path, contents, mode, None)?;
    if let Err(source) = rename_noreplace(&temp, path) {
        remove_quietly(&temp);
        return Err(io_err("create", path, source));
    }
    sync_parent_dir(path)
}

/// Makes everything written to the filesystems holding `paths` durable: one `syncfs(2)` per
/// filesystem (paths on the same device share one call). Much cheaper than an fsync per file
/// when thousands of files were written (a copy-back, a prepare of an extracted stream), and
/// it reports writeback errors of any file on that filesystem (Linux ≥ 5.8). Returns the path
/// that failed with its error.
pub fn sync_filesystems<'a>(
    paths: impl IntoIterator<Item = &'a Path>,
) -> Result<(), (std::path::PathBuf, io::Error)> {
    use std::os::fd::AsRawFd;
    use std::os::unix::fs::MetadataExt;
    let mut done: Vec<u64> = Vec::new();
    for path in paths {
        let fail = |e: io::Error| (path.to_path_buf(), e);
        let handle = fs::File::open(path).map_err(fail)?;
        let dev = handle.metadata().map_err(fail)?.dev();
        if done.contains(&dev) {
            continue;
        }
        // SAFETY: syncfs only takes the descriptor, which stays open for the call.
        if unsafe { libc::syncfs(handle.as_raw_fd()) } != 0 {
            return Err(fail(io::Error::last_os_error()));
        }
        done.push(dev);
    }
    Ok(())
}

/// `rename(src, dest)` that fails with `EEXIST` instead of replacing `dest`:
/// `renameat2(RENAME_NOREPLACE)`; where the filesystem lacks it, `link` + `unlink`; where it
/// has no hard links either, a check that `dest` is absent followed by `rename` (not atomic
/// against a concurrent creator of `dest`, which inside a backup directory is only ourselves).
pub fn rename_noreplace(src: &Path, dest: &Path) -> io::Result<()> {
    rename_noreplace_with(src, dest, renameat2_noreplace, |a, b| fs::hard_link(a, b))
}

/// [`rename_noreplace`] with its two primitives given, so tests can take them away.
fn rename_noreplace_with(
    src: &Path,
    dest: &Path,
    renameat2: impl Fn(&Path, &Path) -> io::Result<()>,
    link: impl Fn(&Path, &Path) -> io::Result<()>,
) -> io::Result<()> {
    let unsupported =
        |e: &io::Error, codes: &[i32]| e.raw_os_error().is_some_and(|c| codes.contains(&c));
    match renameat2(src, dest) {
        Err(e) if unsupported(&e, &[libc::EINVAL, libc::ENOSYS, libc::EOPNOTSUPP]) => {}
        other => return other,
    }
    match link(src, dest) {
        Ok(()) => return fs::remove_file(src),
        Err(e)
            if unsupported(
                &e,
                &[libc::EPERM, libc::EOPNOTSUPP, libc::EMLINK, libc::ENOSYS],
            ) => {}
        Err(e) => return Err(e),
    }
    match fs::symlink_metadata(dest) {
        Ok(_) => Err(io::Error::from_raw_os_error(libc::EEXIST)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => fs::rename(src, dest),
        Err(e) => Err(e),
    }
}

fn renameat2_noreplace(src: &Path, dest: &Path) -> io::Result<()> {
    use std::os::unix::ffi::OsStrExt;
    let cstring = |p: &Path| {
        std::ffi::CString::new(p.as_os_str().as_bytes())
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "path contains a NUL byte"))
    };
    let (c_src, c_dest) = (cstring(src)?, cstring(dest)?);
    // SAFETY: both pointers are valid NUL-terminated strings that outlive the call.
    let rc = unsafe {
        libc::renameat2(
            libc::AT_FDCWD,
            c_src.as_ptr(),
            libc::AT_FDCWD,
            c_dest.as_ptr(),
            libc::RENAME_NOREPLACE,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("hotbackup-atomic-{}-{name}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn refuse(code: i32) -> impl Fn(&Path, &Path) -> io::Result<()> {
        move |_, _| Err(io::Error::from_raw_os_error(code))
    }

    #[test]
    fn sync_filesystems_names_the_path_it_cannot_open() {
        let dir = scratch("syncfs");
        fs::create_dir_all(dir.join("a")).unwrap();
        let paths = [dir.clone(), dir.join("a"), dir.clone()];
        sync_filesystems(paths.iter().map(PathBuf::as_path)).unwrap();
        let missing = dir.join("missing");
        let (path, e) = sync_filesystems([dir.as_path(), missing.as_path()]).unwrap_err();
        assert_eq!((path, e.kind()), (missing, io::ErrorKind::NotFound));
        fs::remove_dir_all(&dir).unwrap();
    }

    /// Each way the filesystem can lack a primitive: no RENAME_NOREPLACE, no hard links,
    /// neither. The file is published without replacing an existing one.
    #[test]
    fn publishes_without_hard_links_or_renameat2() {
        type Primitive = Box<dyn Fn(&Path, &Path) -> io::Result<()>>;
        let real_link: fn() -> Primitive = || Box::new(|a: &Path, b: &Path| fs::hard_link(a, b));
        let real_rename: fn() -> Primitive = || Box::new(renameat2_noreplace);
        let cases: Vec<(&str, Primitive, Primitive)> = vec![
            ("everything", real_rename(), real_link()),
            (
                "no RENAME_NOREPLACE",
                Box::new(refuse(libc::EINVAL)),
                real_link(),
            ),
            (
                "no hard links (vfat)",
                real_rename(),
                Box::new(refuse(libc::EPERM)),
            ),
            (
                "neither",
                Box::new(refuse(libc::EINVAL)),
                Box::new(refuse(libc::EPERM)),
            ),
        ];
        for (name, renameat2, link) in cases {
            let dir = scratch("publish");
            let (src, dest) = (dir.join("tmp"), dir.join("final"));
            fs::write(&src, b"new").unwrap();
            rename_noreplace_with(&src, &dest, &renameat2, &link)
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(fs::read(&dest).unwrap(), b"new", "{name}");
            assert!(!src.exists(), "{name}: the temporary name is left");

            fs::write(&src, b"newer").unwrap();
            let e = rename_noreplace_with(&src, &dest, &renameat2, &link)
                .expect_err("an existing file must not be replaced");
            assert_eq!(e.kind(), io::ErrorKind::AlreadyExists, "{name}: {e}");
            assert_eq!(fs::read(&dest).unwrap(), b"new", "{name}: replaced");
            fs::remove_dir_all(dir).unwrap();
        }
    }

    /// Any other error is reported as it is, not papered over by a fallback.
    #[test]
    fn other_errors_are_not_retried() {
        let dir = scratch("errors");
        let (src, dest) = (dir.join("tmp"), dir.join("final"));
        fs::write(&src, b"x").unwrap();
        let e = rename_noreplace_with(&src, &dest, refuse(libc::EIO), refuse(libc::EPERM))
            .expect_err("EIO");
        assert_eq!(e.raw_os_error(), Some(libc::EIO));
        let e = rename_noreplace_with(&src, &dest, refuse(libc::EINVAL), refuse(libc::ENOSPC))
            .expect_err("ENOSPC");
        assert_eq!(e.raw_os_error(), Some(libc::ENOSPC));
        assert!(!dest.exists());
        fs::remove_dir_all(dir).unwrap();
    }
}
