//! The files of a tablespace as one byte range: the system tablespace may be several files
//! (`innodb_data_file_path=ibdata1:6M;ibdata2:1M:autoextend`), named in `backup-my.cnf`.
//!
//! Every file but the last has a fixed size; pages run on from one file into the next, and
//! only the last file grows.

use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use backup_meta::{BackupMyCnf, MetaFile};

use crate::handles::{FileId, Handles};

/// The system tablespace's file when `backup-my.cnf` names none.
const DEFAULT_SYSTEM_FILE: &str = "ibdata1";

/// The system tablespace's files in the backup, in order: the names of `backup-my.cnf`'s
/// `innodb_data_file_path` without directories (an absolute path there is copied into the
/// backup under its base name), or `ibdata1` when the file is missing or names none.
pub(crate) fn system_file_names(dir: &Path) -> Vec<String> {
    let names = BackupMyCnf::read(&dir.join("backup-my.cnf"))
        .map(|cnf| data_file_names(&cnf.data_file_path))
        .unwrap_or_default();
    if names.is_empty() {
        vec![DEFAULT_SYSTEM_FILE.to_string()]
    } else {
        names
    }
}

/// `/abs/ibdata1:6M;ibdata_second:1M:autoextend` → `ibdata1`, `ibdata_second`.
fn data_file_names(spec: &str) -> Vec<String> {
    spec.split(';')
        .filter_map(|entry| entry.split(':').next())
        .map(|path| path.rsplit('/').next().unwrap_or(path).trim())
        .filter(|name| !name.is_empty())
        .map(str::to_string)
        .collect()
}

/// One file of a [`SpaceFile`].
#[derive(Debug)]
struct Part {
    /// The file in [`SpaceFile::handles`].
    id: FileId,
    /// Offset of the file's first byte in the tablespace.
    start: u64,
}

/// A tablespace's files read and written at tablespace offsets, each opened on demand
/// through the shared bounded cache ([`Handles`]) for one system call at a time.
#[derive(Debug)]
pub(crate) struct SpaceFile {
    handles: Arc<Handles>,
    /// Never empty.
    parts: Vec<Part>,
}

impl SpaceFile {
    /// A tablespace in one file, already registered in `handles`.
    pub(crate) fn single(handles: Arc<Handles>, id: FileId) -> SpaceFile {
        SpaceFile {
            handles,
            parts: vec![Part { id, start: 0 }],
        }
    }

    /// Appends the next file (checked by opening it for reading and writing); the files
    /// before it keep their present sizes.
    pub(crate) fn append(&mut self, path: PathBuf) -> io::Result<()> {
        let start = self.len()?;
        let id = self.handles.register_open(&path)?;
        self.parts.push(Part { id, start });
        Ok(())
    }

    /// The first file's path (for advice to the kernel about the tablespace's pages).
    pub(crate) fn first_path(&self) -> PathBuf {
        self.handles.path(self.parts[0].id)
    }

    /// The first file was renamed to `path` (the other files of a system tablespace never
    /// are).
    pub(crate) fn renamed(&self, path: PathBuf) {
        self.handles.renamed(self.parts[0].id, path);
    }

    /// The file holding `at` and the offset in it, and how many bytes it holds from there
    /// (`None`: the last file, which grows).
    fn locate(&self, at: u64) -> (&Part, u64, Option<u64>) {
        let i = self.parts.iter().rposition(|p| p.start <= at).unwrap_or(0);
        let part = &self.parts[i];
        let room = self.parts.get(i + 1).map(|next| next.start - at);
        (part, at - part.start, room)
    }

    /// Reads at a tablespace offset, within one file (a short read at a file boundary).
    pub(crate) fn read_at(&self, buf: &mut [u8], at: u64) -> io::Result<usize> {
        let (part, off, room) = self.locate(at);
        let n = room.map_or(buf.len(), |r| buf.len().min(r as usize));
        self.handles
            .get(part.id, false)?
            .read_at(&mut buf[..n], off)
    }

    /// Fills `buf` from a tablespace offset; past the end is an error.
    pub(crate) fn read_exact_at(&self, buf: &mut [u8], at: u64) -> io::Result<()> {
        let mut done = 0;
        while done < buf.len() {
            match self.read_at(&mut buf[done..], at + done as u64) {
                Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
                Ok(n) => done += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Writes `buf` at a tablespace offset, across file boundaries.
    pub(crate) fn write_all_at(&self, buf: &[u8], at: u64) -> io::Result<()> {
        let mut done = 0;
        while done < buf.len() {
            let pos = at + done as u64;
            let (part, off, room) = self.locate(pos);
            let n = room.map_or(buf.len() - done, |r| (buf.len() - done).min(r as usize));
            self.handles
                .get(part.id, true)?
                .write_all_at(&buf[done..done + n], off)?;
            done += n;
        }
        Ok(())
    }

    /// The tablespace's size in bytes.
    pub(crate) fn len(&self) -> io::Result<u64> {
        let last = self.parts.last().expect("a SpaceFile has a file");
        Ok(last.start + self.handles.get(last.id, false)?.metadata()?.len())
    }

    /// Sets the tablespace's size by resizing the last file; the fixed files cannot shrink.
    pub(crate) fn set_len(&self, size: u64) -> io::Result<()> {
        let last = self.parts.last().expect("a SpaceFile has a file");
        let Some(own) = size.checked_sub(last.start) else {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "{size} bytes would end before the last file {} of the tablespace starts (byte {})",
                    self.handles.path(last.id).display(),
                    last.start
                ),
            ));
        };
        self.handles.get(last.id, true)?.set_len(own)
    }

    /// Opens a tablespace file for writing, found by its path in the backup `dir`: the
    /// system tablespace's first file brings the others of `innodb_data_file_path`, so
    /// that an offset past the first file lands where [`SpaceFile::write_all_at`] puts it.
    pub(crate) fn open_for_writing(
        handles: &Arc<Handles>,
        dir: &Path,
        path: &Path,
    ) -> io::Result<SpaceFile> {
        let id = handles.register_open(path)?;
        let mut out = SpaceFile::single(Arc::clone(handles), id);
        let system = system_file_names(dir);
        if path == dir.join(&system[0]) {
            for name in &system[1..] {
                out.append(dir.join(name))?;
            }
        }
        Ok(out)
    }

    /// Makes what was written durable: fdatasyncs every file written since its last fsync
    /// (a file the cache closed was fsynced then).
    pub(crate) fn sync_data(&self) -> io::Result<()> {
        self.parts
            .iter()
            .try_for_each(|p| self.handles.sync_written(p.id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_from_data_file_path() {
        for (spec, want) in [
            ("ibdata1:12M:autoextend", &["ibdata1"][..]),
            (
                "/var/tmp/absolute_path_ibdata1:6M;ibdata_second:1M:autoextend",
                &["absolute_path_ibdata1", "ibdata_second"],
            ),
            (
                "ibdata1:10M;ibdata2:10M:autoextend:max:1G",
                &["ibdata1", "ibdata2"],
            ),
            ("", &[]),
        ] {
            assert_eq!(data_file_names(spec), want, "{spec}");
        }
    }

    fn temp_dir(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("prepare-sysfiles-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn no_backup_my_cnf_means_ibdata1() {
        let d = temp_dir("nocnf");
        assert_eq!(system_file_names(&d), ["ibdata1"]);
        std::fs::remove_dir_all(&d).unwrap();
    }

    /// Two files of 3 and 2 bytes: reads and writes at tablespace offsets land in the right
    /// file, across the boundary; growth goes to the last file only.
    #[test]
    fn offsets_span_the_files() {
        let d = temp_dir("span");
        std::fs::write(d.join("a"), b"ABC").unwrap();
        std::fs::write(d.join("b"), b"DE").unwrap();
        let handles = Handles::new(1);
        let a = handles.register_open(&d.join("a")).unwrap();
        let mut sf = SpaceFile::single(handles, a);
        sf.append(d.join("b")).unwrap();
        assert_eq!(sf.len().unwrap(), 5);
        let mut buf = [0u8; 4];
        sf.read_exact_at(&mut buf, 1).unwrap();
        assert_eq!(&buf, b"BCDE");
        sf.write_all_at(b"xyz", 2).unwrap();
        assert_eq!(std::fs::read(d.join("a")).unwrap(), b"ABx");
        assert_eq!(std::fs::read(d.join("b")).unwrap(), b"yz");
        sf.set_len(7).unwrap();
        assert_eq!(std::fs::read(d.join("b")).unwrap(), b"yz\0\0");
        assert_eq!(std::fs::read(d.join("a")).unwrap(), b"ABx");
        assert!(sf.set_len(2).is_err(), "the fixed first file cannot shrink");
        assert!(sf.read_exact_at(&mut [0u8; 4], 5).is_err(), "past the end");
        std::fs::remove_dir_all(&d).unwrap();
    }
}
