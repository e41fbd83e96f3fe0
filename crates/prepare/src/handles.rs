//! A bounded cache of open data files: at most `capacity` descriptors are open at once, so
//! that any number of tablespaces can be prepared within any open-files limit (as InnoDB's
//! `innodb_open_files`).
//!
//! Files are registered by path (nothing is opened) and opened on first use; to open one
//! more at capacity, the least recently used file that no thread is using is closed —
//! fsynced first if it was written since its last fsync, so that closing never loses the
//! durability a later "sync what was written" relies on ([`Handles::sync_written`] skips a
//! closed file because it was made durable when it was closed). A thread uses a file
//! through a [`Handle`] for one system call; a file in use is never closed under it. A file
//! reopened must be the one first opened (same device and inode): a file replaced behind
//! the prepare's back is an error, never silently a different file.
//!
//! Memory per registered file: its path and identity; per open file: its descriptor.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Duration;

/// Descriptors left for everything else a prepare or copy-back opens (standard streams, the
/// log, the journals, metadata files, directories to fsync, the prefetch thread's file).
pub const RESERVED_FILES: usize = 32;

/// How long a thread waits for a file to become idle before it looks again (a missed
/// wake-up costs at most this).
const WAIT: Duration = Duration::from_millis(10);

/// The process's open-files limit (`RLIMIT_NOFILE`, soft); `None` when it cannot be read
/// or is unlimited.
pub fn open_files_limit() -> Option<u64> {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes one rlimit into the struct we own.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } != 0 {
        return None;
    }
    (lim.rlim_cur != libc::RLIM_INFINITY).then_some(lim.rlim_cur)
}

/// How many data files may be open at once under an open-files `limit` (`None`: the
/// process's own), leaving [`RESERVED_FILES`] for everything else; at least 1. A small
/// limit keeps at least half of it for data files.
pub fn data_file_capacity(limit: Option<u64>) -> usize {
    let limit = limit.or_else(open_files_limit).unwrap_or(1 << 20);
    let limit = usize::try_from(limit).unwrap_or(usize::MAX).min(1 << 20);
    let cap = if limit > 2 * RESERVED_FILES {
        limit - RESERVED_FILES
    } else {
        limit / 2
    };
    cap.max(1)
}

/// A registered file.
pub(crate) type FileId = usize;

#[derive(Debug)]
struct Registered {
    path: PathBuf,
    /// (device, inode) of the file when it was first opened.
    identity: Option<(u64, u64)>,
}

#[derive(Debug)]
struct Slot {
    file: Arc<File>,
    /// Tick of the last checkout: the smallest is the least recently used.
    used: u64,
    /// Written since its last fsync.
    dirty: bool,
}

#[derive(Debug, Default)]
struct Inner {
    /// Files kept open at most: the capacity, lowered when the process runs out of
    /// descriptors before it is reached.
    cap: usize,
    files: Vec<Registered>,
    open: HashMap<FileId, Slot>,
    tick: u64,
    peak: usize,
    opened: u64,
}

/// The cache; shared by every tablespace of a prepare (`Arc`).
#[derive(Debug)]
pub(crate) struct Handles {
    inner: Mutex<Inner>,
    idle: Condvar,
    waiting: AtomicUsize,
}

/// One file in use; it is not closed while this lives.
pub(crate) struct Handle<'a> {
    file: Option<Arc<File>>,
    cache: &'a Handles,
}

impl std::ops::Deref for Handle<'_> {
    type Target = File;
    fn deref(&self) -> &File {
        self.file.as_ref().expect("a live handle has its file")
    }
}

impl Drop for Handle<'_> {
    fn drop(&mut self) {
        self.file = None;
        if self.cache.waiting.load(Ordering::SeqCst) > 0 {
            let _guard = self.cache.lock();
            self.cache.idle.notify_all();
        }
    }
}

impl Handles {
    /// A cache keeping at most `capacity` (at least 1) files open.
    pub(crate) fn new(capacity: usize) -> Arc<Handles> {
        Arc::new(Handles {
            inner: Mutex::new(Inner {
                cap: capacity.max(1),
                ..Inner::default()
            }),
            idle: Condvar::new(),
            waiting: AtomicUsize::new(0),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic elsewhere cannot leave the map inconsistent: every change is one step.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Registers `path` (opens nothing).
    pub(crate) fn register(&self, path: PathBuf) -> FileId {
        let mut inner = self.lock();
        inner.files.push(Registered {
            path,
            identity: None,
        });
        inner.files.len() - 1
    }

    /// The file's path.
    pub(crate) fn path(&self, id: FileId) -> PathBuf {
        self.lock().files[id].path.clone()
    }

    /// The file was renamed to `path` (an open descriptor follows the inode; a closed file
    /// is reopened under its new name).
    pub(crate) fn renamed(&self, id: FileId, path: PathBuf) {
        self.lock().files[id].path = path;
    }

    /// Most files open at once so far.
    #[cfg(test)]
    pub(crate) fn peak(&self) -> usize {
        self.lock().peak
    }

    /// Files opened so far (reopens counted).
    #[cfg(test)]
    pub(crate) fn opened(&self) -> u64 {
        self.lock().opened
    }

    /// The file, opened for reading and writing if it is not open; `write`: it will be
    /// written (made durable before it is closed). Waits while every open file is in use.
    pub(crate) fn get(&self, id: FileId, write: bool) -> io::Result<Handle<'_>> {
        let mut inner = self.lock();
        loop {
            inner.tick += 1;
            let tick = inner.tick;
            if let Some(slot) = inner.open.get_mut(&id) {
                slot.used = tick;
                slot.dirty |= write;
                let file = Arc::clone(&slot.file);
                return Ok(self.handle(file));
            }
            if inner.open.len() < inner.cap {
                let file = match open(&mut inner.files[id]) {
                    Ok(f) => Arc::new(f),
                    // Out of descriptors below the capacity (something else holds more
                    // than the reserve): keep a quarter fewer open from now on, so that
                    // the rest of the process can open files again; close idle ones, retry.
                    Err(e)
                        if matches!(e.raw_os_error(), Some(libc::EMFILE | libc::ENFILE))
                            && !inner.open.is_empty() =>
                    {
                        inner.cap = (inner.open.len() * 3 / 4).max(1);
                        continue;
                    }
                    Err(e) => return Err(e),
                };
                inner.open.insert(
                    id,
                    Slot {
                        file: Arc::clone(&file),
                        used: tick,
                        dirty: write,
                    },
                );
                inner.opened += 1;
                inner.peak = inner.peak.max(inner.open.len());
                return Ok(self.handle(file));
            }
            // Close the least recently used idle file, written ones last.
            let victim = inner
                .open
                .iter()
                .filter(|(_, s)| Arc::strong_count(&s.file) == 1)
                .min_by_key(|(_, s)| (s.dirty, s.used))
                .map(|(&v, _)| v);
            match victim {
                Some(v) => {
                    let slot = inner.open.remove(&v).expect("the victim is open");
                    if slot.dirty {
                        // Under the lock: whoever looks for this file after it is gone
                        // finds it durable.
                        slot.file.sync_all().map_err(|e| {
                            io::Error::new(
                                e.kind(),
                                format!(
                                    "fsync {} before closing it (open-files limit): {e}",
                                    inner.files[v].path.display()
                                ),
                            )
                        })?;
                    }
                }
                None => {
                    self.waiting.fetch_add(1, Ordering::SeqCst);
                    inner = match self.idle.wait_timeout(inner, WAIT) {
                        Ok((g, _)) => g,
                        Err(e) => e.into_inner().0,
                    };
                    self.waiting.fetch_sub(1, Ordering::SeqCst);
                }
            }
        }
    }

    fn handle(&self, file: Arc<File>) -> Handle<'_> {
        Handle {
            file: Some(file),
            cache: self,
        }
    }

    /// fdatasyncs the file if it is open and was written since its last fsync; a closed
    /// file was fsynced when it was closed.
    pub(crate) fn sync_written(&self, id: FileId) -> io::Result<()> {
        let file = {
            let mut inner = self.lock();
            match inner.open.get_mut(&id) {
                Some(slot) if slot.dirty => {
                    slot.dirty = false;
                    Arc::clone(&slot.file)
                }
                _ => return Ok(()),
            }
        };
        let handle = self.handle(file);
        handle.sync_data().inspect_err(|_| self.mark_dirty(id))
    }

    fn mark_dirty(&self, id: FileId) {
        if let Some(slot) = self.lock().open.get_mut(&id) {
            slot.dirty = true;
        }
    }
}

/// Opens a registered file for reading and writing; a reopened file must be the one first
/// opened.
fn open(reg: &mut Registered) -> io::Result<File> {
    let file = OpenOptions::new().read(true).write(true).open(&reg.path)?;
    let meta = file.metadata()?;
    let identity = (meta.dev(), meta.ino());
    match reg.identity {
        None => reg.identity = Some(identity),
        Some(first) if first != identity => {
            return Err(io::Error::other(format!(
                "{} is no longer the file opened earlier in this run (replaced while it \
                 ran?); run the command again",
                reg.path.display()
            )))
        }
        Some(_) => {}
    }
    Ok(file)
}

impl Handles {
    /// Registers `path` and opens it now, as a check that it can be opened for writing.
    pub(crate) fn register_open(&self, path: &Path) -> io::Result<FileId> {
        let id = self.register(path.to_path_buf());
        self.get(id, false)?;
        Ok(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::FileExt;

    fn scratch(tag: &str, n: usize) -> (PathBuf, Vec<PathBuf>) {
        let d = std::env::temp_dir().join(format!("prepare-handles-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        let files = (0..n)
            .map(|i| {
                let p = d.join(format!("f{i}"));
                std::fs::write(&p, [0u8; 8]).unwrap();
                p
            })
            .collect();
        (d, files)
    }

    #[test]
    fn capacity_from_the_limit() {
        for (limit, want) in [
            (1024, 1024 - RESERVED_FILES),
            (256, 256 - RESERVED_FILES),
            (65, 65 - RESERVED_FILES),
            (64, 32),
            (20, 10),
            (1, 1),
            (0, 1),
        ] {
            assert_eq!(data_file_capacity(Some(limit)), want, "limit {limit}");
        }
        assert!(data_file_capacity(None) >= 1);
    }

    /// Many threads write many files through a cache of 3: never more than 3 open, every
    /// write lands in its file, and the written files are durable (fsynced when closed or
    /// by sync_written) — checked by what each file holds afterwards.
    #[test]
    fn never_more_open_than_the_capacity() {
        let (d, paths) = scratch("bound", 40);
        let cache = Handles::new(3);
        let ids: Vec<FileId> = paths.iter().map(|p| cache.register(p.clone())).collect();
        std::thread::scope(|s| {
            for t in 0..6u8 {
                let cache = &cache;
                let ids = &ids;
                s.spawn(move || {
                    for round in 0..5 {
                        for (i, &id) in ids.iter().enumerate() {
                            if (i + round) % 6 == usize::from(t) {
                                let h = cache.get(id, true).unwrap();
                                h.write_all_at(&[t + 1], u64::from(t)).unwrap();
                            }
                        }
                    }
                });
            }
        });
        for &id in &ids {
            cache.sync_written(id).unwrap();
        }
        assert!(cache.peak() <= 3, "peak {}", cache.peak());
        assert!(cache.opened() > 3, "files were closed and reopened");
        for p in &paths {
            let b = std::fs::read(p).unwrap();
            assert_eq!(b.len(), 8);
            assert!(b[..6].iter().any(|&x| x != 0), "{}: {b:?}", p.display());
        }
        std::fs::remove_dir_all(&d).unwrap();
    }

    /// A file in use is not closed; another thread waits for it.
    #[test]
    fn a_file_in_use_is_not_closed() {
        let (d, paths) = scratch("busy", 2);
        let cache = Handles::new(1);
        let a = cache.register(paths[0].clone());
        let b = cache.register(paths[1].clone());
        let held = cache.get(a, false).unwrap();
        std::thread::scope(|s| {
            let waiter = s.spawn(|| {
                let h = cache.get(b, true).unwrap();
                h.write_all_at(b"b", 0).unwrap();
            });
            std::thread::sleep(Duration::from_millis(50));
            assert!(
                !waiter.is_finished(),
                "it waits while the only slot is in use"
            );
            held.write_all_at(b"a", 0).unwrap();
            drop(held);
            waiter.join().unwrap();
        });
        assert_eq!(cache.peak(), 1);
        assert_eq!(&std::fs::read(&paths[0]).unwrap()[..1], b"a");
        assert_eq!(&std::fs::read(&paths[1]).unwrap()[..1], b"b");
        std::fs::remove_dir_all(&d).unwrap();
    }

    /// A closed file is reopened under its new name after a rename; a file replaced by
    /// another is refused.
    #[test]
    fn renamed_followed_replaced_refused() {
        let (d, paths) = scratch("rename", 3);
        let cache = Handles::new(1);
        let a = cache.register(paths[0].clone());
        let b = cache.register(paths[1].clone());
        cache.get(a, false).unwrap();
        cache.get(b, false).unwrap(); // a is closed
        let moved = d.join("moved");
        std::fs::rename(&paths[0], &moved).unwrap();
        cache.renamed(a, moved.clone());
        cache.get(a, true).unwrap().write_all_at(b"m", 0).unwrap();
        assert_eq!(&std::fs::read(&moved).unwrap()[..1], b"m");
        // b is closed now; replace it with the third file.
        std::fs::rename(&paths[2], &paths[1]).unwrap();
        let Err(e) = cache.get(b, false).map(|_| ()) else {
            panic!("a replaced file was reopened");
        };
        let e = e.to_string();
        assert!(e.contains("no longer the file"), "{e}");
        std::fs::remove_dir_all(&d).unwrap();
    }

    /// Set in the child of [`out_of_descriptors_below_the_capacity`].
    const EMFILE_CHILD: &str = "PREPARE_HANDLES_EMFILE_CHILD";

    /// The process runs out of descriptors (RLIMIT_NOFILE 32) before the cache's capacity
    /// (1000): the cache keeps fewer files open instead of failing, and leaves the process
    /// room to open others (the checks read every file afterwards). Runs
    /// [`emfile_child`] in a child process with the limit (the test process's own limit
    /// is shared by every test).
    #[test]
    fn out_of_descriptors_below_the_capacity() {
        use std::os::unix::process::CommandExt;
        let mut cmd = std::process::Command::new(std::env::current_exe().unwrap());
        cmd.args(["handles::tests::emfile_child", "--exact", "--nocapture"])
            .env(EMFILE_CHILD, "1");
        // SAFETY: setrlimit is async-signal-safe and reads only the struct on our stack.
        unsafe {
            cmd.pre_exec(|| {
                let lim = libc::rlimit {
                    rlim_cur: 32,
                    rlim_max: 32,
                };
                if libc::setrlimit(libc::RLIMIT_NOFILE, &lim) != 0 {
                    return Err(io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let out = cmd.output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{text}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(text.contains("emfile child: peak"), "the child ran: {text}");
    }

    #[test]
    fn emfile_child() {
        if std::env::var_os(EMFILE_CHILD).is_none() {
            return;
        }
        let (d, paths) = scratch("emfile", 60);
        let cache = Handles::new(1000);
        let ids: Vec<FileId> = paths.iter().map(|p| cache.register(p.clone())).collect();
        for round in 0..2u8 {
            for &id in &ids {
                cache
                    .get(id, true)
                    .unwrap()
                    .write_all_at(&[round + 1], u64::from(round))
                    .unwrap();
            }
        }
        for &id in &ids {
            cache.sync_written(id).unwrap();
        }
        let peak = cache.peak();
        assert!(peak < 32, "peak {peak}");
        for p in &paths {
            assert_eq!(&std::fs::read(p).unwrap()[..2], &[1, 2], "{}", p.display());
        }
        std::fs::remove_dir_all(&d).unwrap();
        println!("emfile child: peak {peak}");
    }
}
