//! [`DirSink`]: the backup as files in a directory, the layout mariadb-backup writes.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use crate::files::{create_dir_private, create_exclusive, FILE_MODE};
use crate::{backup_name, Created, Sink, SinkFile};

/// Files under a root directory: created `O_EXCL|O_NOFOLLOW` with mode 0640 (parents 0700),
/// written without fsync (one [`Sink::sync`], a `syncfs`, makes them all durable before the
/// backup is marked complete); metadata published atomically (temp file, fsync, rename
/// without replacing).
pub struct DirSink {
    root: PathBuf,
    created: Created,
}

impl DirSink {
    /// A sink into `root`, which must exist.
    pub fn new(root: impl Into<PathBuf>) -> DirSink {
        DirSink {
            root: root.into(),
            created: Created::default(),
        }
    }

    /// The directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    fn path(&self, rel: &Path) -> io::Result<PathBuf> {
        Ok(self.root.join(backup_name(rel)?))
    }
}

impl Sink for DirSink {
    fn create(&self, rel: &Path) -> io::Result<Box<dyn SinkFile>> {
        let file = create_exclusive(&self.path(rel)?)?;
        self.created.insert(rel);
        Ok(Box::new(DirFile { file, len: 0 }))
    }

    fn recreate(&self, rel: &Path) -> io::Result<Box<dyn SinkFile>> {
        let path = self.path(rel)?;
        if let Some(parent) = path.parent() {
            create_dir_private(parent)?;
        }
        let file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(FILE_MODE)
            .custom_flags(libc::O_NOFOLLOW)
            .open(&path)?;
        self.created.insert(rel);
        Ok(Box::new(DirFile { file, len: 0 }))
    }

    fn put(&self, rel: &Path, contents: &[u8]) -> io::Result<()> {
        let path = self.path(rel)?;
        backup_meta::write_atomic_new(&path, contents, backup_meta::FileMode::Datasink).map_err(
            |e| match e {
                backup_meta::MetaError::Io { source, .. } => source,
                other => io::Error::other(other.to_string()),
            },
        )?;
        self.created.insert(rel);
        Ok(())
    }

    fn create_dir(&self, rel: &Path) -> io::Result<()> {
        create_dir_private(&self.path(rel)?)
    }

    fn contains(&self, rel: &Path) -> bool {
        self.created.contains(rel)
    }

    fn sync(&self) -> io::Result<()> {
        backup_meta::sync_filesystems([self.root.as_path()]).map_err(|(_, e)| e)
    }

    fn describe(&self, rel: &Path) -> String {
        self.root.join(rel).display().to_string()
    }

    fn is_stream(&self) -> bool {
        false
    }
}

/// A file of a [`DirSink`].
struct DirFile {
    file: File,
    len: u64,
}

impl SinkFile for DirFile {
    fn write_all(&mut self, data: &[u8]) -> io::Result<()> {
        self.file.write_all_at(data, self.len)?;
        self.len += data.len() as u64;
        Ok(())
    }

    fn write_at(&mut self, offset: u64, data: &[u8]) -> io::Result<()> {
        self.file.write_all_at(data, offset)?;
        self.len = self.len.max(offset + data.len() as u64);
        Ok(())
    }

    fn len(&self) -> u64 {
        self.len
    }

    fn sync(&mut self) -> io::Result<()> {
        self.file.flush()?;
        self.file.sync_all()
    }

    fn close(self: Box<Self>) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn scratch(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("hotbackup-dirsink-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn files_are_exclusive_private_and_rewritable() {
        let root = scratch("files");
        let sink = DirSink::new(&root);
        let mut f = sink.create(Path::new("db/t.ibd")).unwrap();
        f.write_all(b"0123456789").unwrap();
        f.write_at(2, b"xy").unwrap();
        f.write_all(b"ab").unwrap();
        assert_eq!(f.len(), 12);
        f.close().unwrap();
        assert_eq!(
            std::fs::read(root.join("db/t.ibd")).unwrap(),
            b"01xy456789ab"
        );
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&root.join("db/t.ibd")) & !0o640, 0);
        assert_eq!(mode(&root.join("db")) & !0o700, 0);
        assert!(sink.contains(Path::new("db/t.ibd")));
        assert!(!sink.contains(Path::new("db/u.ibd")));
        // A second create is refused; recreate starts it again from empty.
        let again = sink.create(Path::new("db/t.ibd")).err().unwrap();
        assert_eq!(again.kind(), io::ErrorKind::AlreadyExists);
        let mut f = sink.recreate(Path::new("db/t.ibd")).unwrap();
        f.write_all(b"new").unwrap();
        f.close().unwrap();
        assert_eq!(std::fs::read(root.join("db/t.ibd")).unwrap(), b"new");
        sink.put(Path::new("xtrabackup_info"), b"meta").unwrap();
        assert!(sink.put(Path::new("xtrabackup_info"), b"again").is_err());
        assert_eq!(
            std::fs::read(root.join("xtrabackup_info")).unwrap(),
            b"meta"
        );
        assert!(sink.create(Path::new("../escape")).is_err());
        sink.sync().unwrap();
        std::fs::remove_dir_all(&root).unwrap();
    }
}
