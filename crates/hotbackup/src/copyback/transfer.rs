//! Copying and moving one file without ever overwriting a destination, and without a moment
//! at which a moved file exists nowhere complete.

use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use crate::exit::Code;
use crate::failure::Failure;

use super::io_failure;

/// Copies `src` to the new file `dest` (`O_EXCL|O_NOFOLLOW`, mode 0640, parents 0700), and
/// fsyncs it when `durable` (else the caller makes it durable later, e.g. with one
/// `syncfs` for thousands of files). With `mode`, the copy gets that mode instead (for a move
/// across filesystems, which keeps modes like `rename(2)`). A partial `dest` is removed on
/// failure.
pub fn copy_file(src: &Path, dest: &Path, mode: Option<u32>, durable: bool) -> Result<(), Failure> {
    let mut input = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW)
        .open(src)
        .map_err(|e| io_failure("open", src, e))?;
    let len = input
        .metadata()
        .map_err(|e| io_failure("stat", src, e))?
        .len();
    let mut output =
        page_copier::create_exclusive(dest).map_err(|e| io_failure("create", dest, e))?;
    let result = fill(&mut input, src, &mut output, dest, len, mode, durable);
    if result.is_err() {
        drop(output);
        let _ = fs::remove_file(dest);
    }
    result
}

fn fill(
    input: &mut File,
    src: &Path,
    output: &mut File,
    dest: &Path,
    len: u64,
    mode: Option<u32>,
    durable: bool,
) -> Result<(), Failure> {
    // std uses copy_file_range(2) (or sendfile) between two files: no user-space buffer.
    let n = io::copy(input, output).map_err(|e| {
        let mut f = io_failure("copy", src, e);
        f.message = format!("{} to {}", f.message, dest.display());
        f
    })?;
    if n != len {
        return Err(Failure::new(
            Code::Io,
            format!(
                "{} changed size while it was copied ({len} bytes before, {n} copied); is \
                 something writing to the backup?",
                src.display()
            ),
        ));
    }
    if let Some(mode) = mode {
        use std::os::unix::fs::PermissionsExt;
        output
            .set_permissions(fs::Permissions::from_mode(mode))
            .map_err(|e| io_failure("chmod", dest, e))?;
    }
    if durable {
        output
            .sync_all()
            .map_err(|e| io_failure("fsync", dest, e))?;
    }
    Ok(())
}

/// How a file was moved.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Moved {
    /// `rename(2)` (or `link` + `unlink`) on one filesystem.
    Renamed,
    /// Different filesystems: copied to a temporary name next to the destination, fsynced,
    /// renamed to the final name, then the source removed.
    Copied,
}

/// Moves `src` to `dest`, never replacing an existing `dest`.
pub fn move_file(src: &Path, dest: &Path) -> Result<Moved, Failure> {
    match rename_noreplace(src, dest) {
        Ok(()) => Ok(Moved::Renamed),
        Err(e) if e.raw_os_error() == Some(libc::EXDEV) => {
            copy_across(src, dest)?;
            Ok(Moved::Copied)
        }
        Err(e) => {
            let mut f = io_failure("move", src, e);
            f.message = format!("{} to {}", f.message, dest.display());
            Err(f)
        }
    }
}

/// The temporary name used while a file crosses filesystems: hidden, next to `dest`.
pub fn temp_name(dest: &Path) -> PathBuf {
    let name = dest.file_name().unwrap_or_default().to_string_lossy();
    dest.with_file_name(format!(".{name}.hotbackup-tmp"))
}

/// The file is complete in at least one place at every moment: the source stays until the
/// copy is fsynced under its final name and that name is fsynced in its directory.
fn copy_across(src: &Path, dest: &Path) -> Result<(), Failure> {
    use std::os::unix::fs::PermissionsExt;
    let mode = fs::symlink_metadata(src)
        .map_err(|e| io_failure("stat", src, e))?
        .permissions()
        .mode()
        & 0o7777;
    let temp = temp_name(dest);
    // Durable before the source goes: the file must be complete in one place at every moment.
    copy_file(src, &temp, Some(mode), true).map_err(|mut f| {
        if f.message.contains("exists") {
            f.message = format!(
                "{}: a leftover of an interrupted --move-back? Check and remove it",
                f.message
            );
        }
        f
    })?;
    if let Err(e) = rename_noreplace(&temp, dest) {
        let _ = fs::remove_file(&temp);
        let mut f = io_failure("rename", &temp, e);
        f.message = format!("{} to {}", f.message, dest.display());
        return Err(f);
    }
    if let Some(dir) = dest.parent() {
        sync_dir(dir)?;
    }
    fs::remove_file(src).map_err(|e| {
        let mut f = io_failure("remove", src, e);
        f.message = format!(
            "{} after copying it to {} (it is complete in both places)",
            f.message,
            dest.display()
        );
        f
    })
}

/// `rename(src, dest)` that fails with `EEXIST` instead of replacing `dest` (the one shared
/// implementation, with its fallbacks for filesystems without `RENAME_NOREPLACE` or links).
pub use backup_meta::rename_noreplace;

/// fsyncs a directory, so that the names created or removed in it are durable.
pub fn sync_dir(dir: &Path) -> Result<(), Failure> {
    let file = File::open(dir).map_err(|e| io_failure("open directory", dir, e))?;
    match file.sync_all() {
        Ok(()) => Ok(()),
        // Some filesystems cannot fsync a directory; there is nothing more to do there.
        Err(e)
            if matches!(
                e.raw_os_error(),
                Some(libc::EINVAL) | Some(libc::EOPNOTSUPP)
            ) =>
        {
            Ok(())
        }
        Err(e) => Err(io_failure("fsync directory", dir, e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("hotbackup-transfer-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn rename_never_replaces() {
        let dir = scratch("rename");
        fs::write(dir.join("a"), b"a").unwrap();
        fs::write(dir.join("b"), b"b").unwrap();
        let e = rename_noreplace(&dir.join("a"), &dir.join("b")).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::AlreadyExists);
        assert_eq!(fs::read(dir.join("b")).unwrap(), b"b");
        assert!(dir.join("a").exists());
        rename_noreplace(&dir.join("a"), &dir.join("c")).unwrap();
        assert!(!dir.join("a").exists());
        assert_eq!(fs::read(dir.join("c")).unwrap(), b"a");
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn copy_across_keeps_mode_and_removes_source_last() {
        use std::os::unix::fs::PermissionsExt;
        let dir = scratch("across");
        let src = dir.join("src");
        fs::write(&src, vec![7u8; 100_000]).unwrap();
        fs::set_permissions(&src, fs::Permissions::from_mode(0o644)).unwrap();
        let dest = dir.join("sub/dest");
        copy_across(&src, &dest).unwrap();
        assert!(!src.exists());
        assert!(!temp_name(&dest).exists());
        assert_eq!(fs::read(&dest).unwrap(), vec![7u8; 100_000]);
        let mode = fs::metadata(&dest).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o644);
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn copy_refuses_existing_destination() {
        let dir = scratch("copy");
        fs::write(dir.join("a"), b"new").unwrap();
        fs::write(dir.join("b"), b"old").unwrap();
        let e = copy_file(&dir.join("a"), &dir.join("b"), None, true).unwrap_err();
        assert_eq!(e.code, Code::Io);
        assert_eq!(fs::read(dir.join("b")).unwrap(), b"old");
        let _ = fs::remove_dir_all(&dir);
    }
}
