//! Creating the files and directories of a backup with private modes, and warning when the
//! directory a backup goes into lets other users tamper with it.
//!
//! Modes are given explicitly at creation: files 0640, directories 0700. The umask can only
//! remove bits from these, so a backup is never readable by other users whatever the umask
//! (mariadb-backup asks for 0660 and 0700 and leaves the rest to the umask).

use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt};
use std::path::Path;

/// Mode of every file a backup creates (before the umask, which can only tighten it).
pub const FILE_MODE: u32 = 0o640;
/// Mode of every directory a backup creates.
pub const DIR_MODE: u32 = 0o700;

/// Creates a backup file that must not exist yet (`O_EXCL|O_NOFOLLOW`, mode 0640), with the
/// parents it needs (0700).
pub fn create_exclusive(path: &Path) -> io::Result<File> {
    let open = || {
        OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(FILE_MODE)
            .custom_flags(libc::O_NOFOLLOW)
            .open(path)
    };
    // The parent usually exists already (every table of a database after the first): the
    // directories are made only when the open says they are missing, which saves a mkdir
    // and a stat per file.
    match open() {
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            if let Some(parent) = path.parent() {
                create_dir_private(parent)?;
            }
            open()
        }
        other => other,
    }
}

/// `mkdir -p` with mode 0700 for the directories it creates.
pub fn create_dir_private(dir: &Path) -> io::Result<()> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(DIR_MODE)
        .create(dir)
}

/// Warnings for a backup directory that other users could tamper with: the directory itself
/// writable by others (they can add, replace or remove files in it), or a parent writable by
/// others without the sticky bit (they can rename the whole directory away and put another
/// in its place). Unreadable parents are skipped: this is advice, not a check.
pub fn exposure_warnings(dir: &Path) -> Vec<String> {
    let mut warnings = Vec::new();
    let dir = std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf());
    if let Ok(meta) = std::fs::metadata(&dir) {
        if meta.mode() & 0o002 != 0 {
            warnings.push(format!(
                "{} is writable by every user (mode {:04o}): anyone can add, replace or delete \
                 backup files in it. Run chmod o-w on it, or back up into a new directory",
                dir.display(),
                meta.mode() & 0o7777
            ));
        }
    }
    for parent in dir.ancestors().skip(1) {
        let Ok(meta) = std::fs::metadata(parent) else {
            continue;
        };
        if meta.mode() & 0o002 != 0 && meta.mode() & 0o1000 == 0 {
            warnings.push(format!(
                "{}, a parent of {}, is writable by every user without the sticky bit \
                 (mode {:04o}): anyone can move the backup away and put another in its place",
                parent.display(),
                dir.display(),
                meta.mode() & 0o7777
            ));
        }
    }
    warnings
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn scratch(name: &str) -> std::path::PathBuf {
        let dir =
            std::env::temp_dir().join(format!("hotbackup-files-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        dir
    }

    fn chmod(path: &Path, mode: u32) {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
    }

    #[test]
    fn created_files_and_directories_are_private_whatever_the_umask() {
        let dir = scratch("modes");
        // SAFETY: umask only swaps an integer in the process; restored below. Other tests of
        // this binary create files with explicit modes, which a umask of 0 cannot loosen.
        let old = unsafe { libc::umask(0) };
        let file = create_exclusive(&dir.join("a/b/f"));
        unsafe { libc::umask(old) };
        drop(file.unwrap());
        let mode = |p: &Path| std::fs::metadata(p).unwrap().mode() & 0o7777;
        assert_eq!(mode(&dir.join("a/b/f")), 0o640);
        assert_eq!(mode(&dir.join("a")), 0o700);
        assert_eq!(mode(&dir.join("a/b")), 0o700);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn warns_about_directories_others_can_write() {
        let base = scratch("exposed");
        let target = base.join("backup");
        std::fs::create_dir(&target).unwrap();
        chmod(&target, 0o700);
        assert_eq!(exposure_warnings(&target), Vec::<String>::new());
        chmod(&target, 0o777);
        let w = exposure_warnings(&target);
        assert_eq!(w.len(), 1, "{w:?}");
        assert!(w[0].contains("writable by every user (mode 0777)"), "{w:?}");
        chmod(&target, 0o700);
        chmod(&base, 0o1777);
        assert_eq!(
            exposure_warnings(&target),
            Vec::<String>::new(),
            "sticky parent is fine"
        );
        chmod(&base, 0o777);
        let w = exposure_warnings(&target);
        assert_eq!(w.len(), 1, "{w:?}");
        assert!(w[0].contains("a parent of"), "{w:?}");
        chmod(&base, 0o755);
        std::fs::remove_dir_all(base).unwrap();
    }
}
