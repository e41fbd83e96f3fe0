//! File operations confined to one directory: paths are checked component by component and
//! walked with `openat(O_NOFOLLOW)`, so neither `..` nor a symlink inside it can send a write
//! outside. Files are created 0640, directories 0700.

use std::ffi::CString;
use std::fs::File;
use std::io::{self, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

const FILE_MODE: libc::mode_t = 0o640;
const DIR_MODE: libc::mode_t = 0o700;

/// Splits a stream path into components, or says why it may not be extracted: absolute,
/// empty, an empty, `.` or `..` component, or a NUL byte.
pub fn components(path: &[u8]) -> Result<Vec<&[u8]>, &'static str> {
    if path.is_empty() {
        return Err("empty path");
    }
    if path.contains(&0) {
        return Err("NUL byte in the path");
    }
    if path[0] == b'/' {
        return Err("absolute path");
    }
    let comps: Vec<&[u8]> = path.split(|&b| b == b'/').collect();
    for c in &comps {
        match *c {
            b"" => return Err("empty path component"),
            b"." => return Err("'.' path component"),
            b".." => return Err("'..' path component"),
            _ => {}
        }
    }
    Ok(comps)
}

/// The extraction directory, held open.
pub struct Root {
    fd: OwnedFd,
}

fn cstr(name: &[u8]) -> io::Result<CString> {
    CString::new(name).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))
}

fn check(r: libc::c_int) -> io::Result<libc::c_int> {
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r)
    }
}

fn open_dir_at(parent: RawFd, name: &[u8]) -> io::Result<OwnedFd> {
    let c = cstr(name)?;
    let fd = check(unsafe {
        libc::openat(
            parent,
            c.as_ptr(),
            libc::O_RDONLY | libc::O_DIRECTORY | libc::O_NOFOLLOW | libc::O_CLOEXEC,
        )
    })?;
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// The directory holding the last component, and that component.
pub struct Parent<'a> {
    fd: Option<OwnedFd>,
    root: RawFd,
    pub name: &'a [u8],
}

impl Parent<'_> {
    fn raw(&self) -> RawFd {
        self.fd.as_ref().map_or(self.root, |f| f.as_raw_fd())
    }
}

impl Root {
    pub fn open(dir: &Path) -> io::Result<Root> {
        let c = cstr(dir.as_os_str().as_bytes())?;
        let fd = check(unsafe {
            libc::open(
                c.as_ptr(),
                libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC,
            )
        })?;
        Ok(Root {
            fd: unsafe { OwnedFd::from_raw_fd(fd) },
        })
    }

    /// Walks to the parent of `comps` (non-empty), creating missing directories when `create`.
    pub fn parent<'a>(&self, comps: &[&'a [u8]], create: bool) -> io::Result<Parent<'a>> {
        let (name, dirs) = comps.split_last().expect("a path has a component");
        let mut cur: Option<OwnedFd> = None;
        for d in dirs {
            let at = cur.as_ref().map_or(self.fd.as_raw_fd(), |f| f.as_raw_fd());
            if create {
                let c = cstr(d)?;
                let r = unsafe { libc::mkdirat(at, c.as_ptr(), DIR_MODE) };
                if r < 0 {
                    let e = io::Error::last_os_error();
                    if e.kind() != io::ErrorKind::AlreadyExists {
                        return Err(e);
                    }
                }
            }
            cur = Some(open_dir_at(at, d)?);
        }
        Ok(Parent {
            fd: cur,
            root: self.fd.as_raw_fd(),
            name,
        })
    }

    /// Creates the file (an error of kind `AlreadyExists` if it exists and not `rewrite`;
    /// truncated if `rewrite`). A symlink in its place or on the way is an error.
    pub fn create_file(&self, comps: &[&[u8]], rewrite: bool) -> io::Result<File> {
        let p = self.parent(comps, true)?;
        let c = cstr(p.name)?;
        let mode = if rewrite { libc::O_TRUNC } else { libc::O_EXCL };
        let fd = check(unsafe {
            libc::openat(
                p.raw(),
                c.as_ptr(),
                libc::O_WRONLY | libc::O_CREAT | libc::O_NOFOLLOW | libc::O_CLOEXEC | mode,
                FILE_MODE as libc::c_uint,
            )
        })?;
        Ok(unsafe { File::from_raw_fd(fd) })
    }

    /// Whether something exists under this name (a symlink counts).
    pub fn exists(&self, comps: &[&[u8]]) -> io::Result<bool> {
        let p = match self.parent(comps, false) {
            Ok(p) => p,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
            Err(e) => return Err(e),
        };
        let c = cstr(p.name)?;
        let mut st: libc::stat = unsafe { std::mem::zeroed() };
        let r = unsafe { libc::fstatat(p.raw(), c.as_ptr(), &mut st, libc::AT_SYMLINK_NOFOLLOW) };
        if r == 0 {
            return Ok(true);
        }
        let e = io::Error::last_os_error();
        if e.kind() == io::ErrorKind::NotFound {
            Ok(false)
        } else {
            Err(e)
        }
    }

    /// Renames `old` to `new` (replacing it). A missing `old` is not an error: mariadb-backup
    /// may send a rename for a file it sent under its new name already.
    pub fn rename(&self, old: &[&[u8]], new: &[&[u8]]) -> io::Result<()> {
        let from = match self.parent(old, false) {
            Ok(p) => p,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(e),
        };
        let to = self.parent(new, true)?;
        let (a, b) = (cstr(from.name)?, cstr(to.name)?);
        let r = unsafe { libc::renameat(from.raw(), a.as_ptr(), to.raw(), b.as_ptr()) };
        if r < 0 {
            let e = io::Error::last_os_error();
            if e.kind() != io::ErrorKind::NotFound {
                return Err(e);
            }
        }
        Ok(())
    }

    /// Removes a file or a directory tree; a last component `prefix*` removes the files
    /// starting with `prefix` in its directory. What does not exist is not an error.
    pub fn remove(&self, comps: &[&[u8]]) -> io::Result<()> {
        let p = match self.parent(comps, false) {
            Ok(p) => p,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(e),
        };
        if let Some(prefix) = p.name.strip_suffix(b"*") {
            if prefix.is_empty() {
                return Ok(());
            }
            for name in list(p.raw())? {
                if name.starts_with(prefix) {
                    remove_tree(p.raw(), &name)?;
                }
            }
            return Ok(());
        }
        remove_tree(p.raw(), p.name)
    }

    /// Writes a whole small file under `name` in the root at once: a temporary file, fsync,
    /// then published (without replacing an existing one unless `rewrite`), directory fsync.
    pub fn publish(&self, name: &[u8], data: &[u8], rewrite: bool) -> io::Result<()> {
        let mut tmp_name = name.to_vec();
        tmp_name.extend_from_slice(b".hbstream-tmp");
        let mut f = self.create_file(&[&tmp_name], true)?;
        f.write_all(data)?;
        f.sync_all()?;
        drop(f);
        let (t, n) = (cstr(&tmp_name)?, cstr(name)?);
        let root = self.fd.as_raw_fd();
        let r = if rewrite {
            check(unsafe { libc::renameat(root, t.as_ptr(), root, n.as_ptr()) })
        } else {
            // link(2) never replaces: an existing file stays and this fails.
            check(unsafe { libc::linkat(root, t.as_ptr(), root, n.as_ptr(), 0) })
                .and_then(|_| check(unsafe { libc::unlinkat(root, t.as_ptr(), 0) }))
        };
        if let Err(e) = r {
            unsafe { libc::unlinkat(root, t.as_ptr(), 0) };
            return Err(e);
        }
        self.sync()
    }

    /// Makes everything written under the directory durable (`syncfs`), then the directory.
    pub fn sync(&self) -> io::Result<()> {
        check(unsafe { libc::syncfs(self.fd.as_raw_fd()) })?;
        check(unsafe { libc::fsync(self.fd.as_raw_fd()) })?;
        Ok(())
    }
}

/// The names in a directory (without `.` and `..`).
fn list(dir: RawFd) -> io::Result<Vec<Vec<u8>>> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(format!("/proc/self/fd/{dir}"))? {
        out.push(e?.file_name().as_bytes().to_vec());
    }
    Ok(out)
}

fn remove_tree(parent: RawFd, name: &[u8]) -> io::Result<()> {
    let c = cstr(name)?;
    if unsafe { libc::unlinkat(parent, c.as_ptr(), 0) } == 0 {
        return Ok(());
    }
    let e = io::Error::last_os_error();
    match e.raw_os_error() {
        Some(libc::ENOENT) => return Ok(()),
        Some(libc::EISDIR) | Some(libc::EPERM) => {}
        _ => return Err(e),
    }
    let dir = open_dir_at(parent, name)?;
    for n in list(dir.as_raw_fd())? {
        remove_tree(dir.as_raw_fd(), &n)?;
    }
    check(unsafe { libc::unlinkat(parent, c.as_ptr(), libc::AT_REMOVEDIR) }).map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unsafe_paths_are_refused() {
        let cases: &[(&[u8], Option<&str>)] = &[
            (b"db/t.ibd", None),
            (b"ibdata1", None),
            (b"..ibd", None),
            (b"", Some("empty path")),
            (b"/etc/passwd", Some("absolute path")),
            (b"../x", Some("'..' path component")),
            (b"a/../../x", Some("'..' path component")),
            (b"a/..", Some("'..' path component")),
            (b"./x", Some("'.' path component")),
            (b"a//b", Some("empty path component")),
            (b"a/", Some("empty path component")),
            (b"a\0b", Some("NUL byte in the path")),
        ];
        for (path, want) in cases {
            let got = components(path).err();
            assert_eq!(got, *want, "{}", String::from_utf8_lossy(path));
        }
    }

    fn tmp(name: &str) -> std::path::PathBuf {
        let d = std::env::temp_dir().join(format!("xbstream-dir-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn symlinks_inside_the_directory_are_not_followed() {
        let d = tmp("symlink");
        let outside = tmp("symlink-outside");
        std::os::unix::fs::symlink(&outside, d.join("db")).unwrap();
        std::os::unix::fs::symlink(outside.join("f"), d.join("f")).unwrap();
        let root = Root::open(&d).unwrap();
        assert!(root.create_file(&[b"db", b"t.ibd"], false).is_err());
        assert!(root.create_file(&[b"f"], true).is_err());
        assert_eq!(
            root.create_file(&[b"f"], false).unwrap_err().kind(),
            io::ErrorKind::AlreadyExists
        );
        assert_eq!(std::fs::read_dir(&outside).unwrap().count(), 0);
        std::fs::remove_dir_all(&d).unwrap();
        std::fs::remove_dir_all(&outside).unwrap();
    }

    #[test]
    fn modes_rename_remove_publish() {
        use std::os::unix::fs::PermissionsExt;
        let d = tmp("ops");
        let root = Root::open(&d).unwrap();
        root.create_file(&[b"db", b"a"], false).unwrap();
        root.create_file(&[b"db", b"a2"], false).unwrap();
        let mode = |p: &str| std::fs::metadata(d.join(p)).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode("db"), 0o700);
        assert_eq!(mode("db/a"), 0o640);
        root.rename(&[b"db", b"a"], &[b"db2", b"b"]).unwrap();
        root.rename(&[b"db", b"missing"], &[b"db2", b"c"]).unwrap();
        assert!(d.join("db2/b").exists() && !d.join("db/a").exists());
        root.remove(&[b"db", b"a*"]).unwrap();
        assert!(!d.join("db/a2").exists());
        root.remove(&[b"db2"]).unwrap();
        assert!(!d.join("db2").exists());
        root.publish(b"cp", b"x", false).unwrap();
        assert_eq!(
            root.publish(b"cp", b"y", false).unwrap_err().kind(),
            io::ErrorKind::AlreadyExists
        );
        root.publish(b"cp", b"z", true).unwrap();
        assert_eq!(std::fs::read(d.join("cp")).unwrap(), b"z");
        assert!(!d.join("cp.hbstream-tmp").exists());
        std::fs::remove_dir_all(&d).unwrap();
    }
}
