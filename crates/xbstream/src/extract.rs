//! Extracts a stream into a directory, like `mbstream -x`, but refusing what mbstream lets
//! through: each chunk is validated before it is applied, no path may leave the
//! directory, an existing file is only replaced when the chunk allows it, and a stream that
//! ends with a file unfinished is an error.
//!
//! `xtrabackup_checkpoints` marks a complete backup, so it is held in memory and written only
//! after the stream has ended cleanly with every file complete and everything else is on disk
//! (`syncfs`): a cut or damaged stream never leaves one behind. A backup stream cut between
//! two files is caught by `backup` (the files a backup ends with).
//!
//! With `parallel > 1`, chunks are read and checked in one thread and written by workers
//! chosen by path (so one file's chunks stay in order); removes and renames wait until every
//! earlier write is done.

mod backup;
mod dir;
mod worker;

use std::collections::hash_map::DefaultHasher;
use std::collections::HashMap;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::io::{self, Read};
use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::mpsc::{sync_channel, SyncSender};

use crate::chunk::FLAG_REWRITE;
use crate::reader::{Body, ReadError, Reader};
use backup::BackupFiles;
pub use backup::BACKUP_FILES;
pub use dir::components;
use dir::Root;
use worker::{worker, Failure, Job};

/// The file whose presence says "this backup is complete".
pub const CHECKPOINTS: &[u8] = b"xtrabackup_checkpoints";
/// `xtrabackup_checkpoints` is a few lines; anything bigger is not one.
const MAX_HELD: u64 = 1 << 20;
/// Jobs queued per worker (each may hold one payload).
const QUEUE: usize = 2;

/// How to extract.
pub struct Options<'a> {
    /// Worker threads writing files (at least 1).
    pub parallel: usize,
    /// Called with each file's path when the stream starts it (mbstream's `-v`).
    pub on_file: &'a (dyn Fn(&str) + Sync),
}

/// What an extraction did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    pub chunks: u64,
    /// Files started (a file sent twice counts twice).
    pub files: u64,
    pub payload_bytes: u64,
}

/// Why an extraction failed.
#[derive(Debug)]
pub enum ExtractError {
    /// The stream's bytes are malformed, damaged or cut inside a chunk.
    Stream(ReadError),
    /// A well-formed chunk that must not be applied: an unsafe path, a payload out of order,
    /// a rename or remove of a file still being written.
    Rejected { at: u64, path: String, why: String },
    /// The stream ended (at a chunk boundary) while these files were unfinished.
    Incomplete { at: u64, files: Vec<String> },
    /// The stream ended at a chunk boundary, every file complete, but it is a backup stream
    /// without these files: it was cut between two files.
    MissingBackupFiles {
        at: u64,
        marker: String,
        files: Vec<String>,
    },
    /// The input held no chunk at all (the producer failed before writing anything).
    Empty,
    /// The file exists in the directory and the stream does not say it may be replaced.
    Exists { at: u64, path: String },
    /// Writing to the directory failed.
    Io {
        at: Option<u64>,
        path: String,
        what: &'static str,
        err: io::Error,
    },
}

impl ExtractError {
    /// True when the stream is at fault (damaged, cut short, unsafe); false for I/O and an
    /// existing file.
    pub fn is_damaged(&self) -> bool {
        match self {
            ExtractError::Stream(e) => !e.is_io(),
            ExtractError::Rejected { .. }
            | ExtractError::Incomplete { .. }
            | ExtractError::MissingBackupFiles { .. }
            | ExtractError::Empty => true,
            ExtractError::Exists { .. } | ExtractError::Io { .. } => false,
        }
    }
}

impl fmt::Display for ExtractError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExtractError::Stream(e) => write!(f, "{e}"),
            ExtractError::Rejected { at, path, why } => {
                write!(f, "chunk at stream offset {at} (file '{path}'): {why}")
            }
            ExtractError::Incomplete { at, files } => write!(
                f,
                "the stream ends at offset {at} but {} file(s) never got their end chunk: {}; \
                 the stream was cut short",
                files.len(),
                files.join(", ")
            ),
            ExtractError::MissingBackupFiles { at, marker, files } => write!(
                f,
                "the stream ends at offset {at}; it holds a backup ('{marker}') but not {}: it \
                 was cut short between two files (xtrabackup_checkpoints was not written)",
                files.join(", ")
            ),
            ExtractError::Empty => write!(
                f,
                "the stream is empty: nothing to extract (did the program writing it fail?)"
            ),
            ExtractError::Exists { at, path } => write!(
                f,
                "chunk at stream offset {at}: file '{path}' already exists in the target \
                 directory; extract into an empty directory"
            ),
            ExtractError::Io {
                at,
                path,
                what,
                err,
            } => {
                if let Some(at) = at {
                    write!(f, "chunk at stream offset {at}: ")?;
                }
                write!(f, "cannot {what} '{path}': {err}")
            }
        }
    }
}

impl std::error::Error for ExtractError {}

fn lossy(p: &[u8]) -> String {
    String::from_utf8_lossy(p).into_owned()
}

/// `xtrabackup_checkpoints`, kept in memory until the stream proves complete.
struct Held {
    data: Vec<u8>,
    rewrite: bool,
    complete: bool,
}

struct Open {
    /// Where the next payload must start.
    next: u64,
}

/// The reader thread's view: what is open, what is held, where jobs go.
struct Dispatch<'a> {
    root: &'a Root,
    workers: Vec<SyncSender<Job>>,
    failure: &'a Failure,
    open: HashMap<Vec<u8>, Open>,
    held: Option<Held>,
    on_file: &'a (dyn Fn(&str) + Sync),
    summary: Summary,
    backup: BackupFiles,
}

impl Dispatch<'_> {
    fn send(&self, path: &[u8], job: Job) -> Result<(), ExtractError> {
        let mut h = DefaultHasher::new();
        path.hash(&mut h);
        let w = (h.finish() % self.workers.len() as u64) as usize;
        self.workers[w].send(job).map_err(|_| self.worker_gone())
    }

    fn worker_gone(&self) -> ExtractError {
        self.failure.take().unwrap_or_else(|| ExtractError::Io {
            at: None,
            path: String::new(),
            what: "hand over to a writer thread for",
            err: io::Error::other("a writer thread stopped"),
        })
    }

    /// Waits until every job sent so far is done.
    fn barrier(&self) -> Result<(), ExtractError> {
        let (tx, rx) = sync_channel(self.workers.len());
        for w in &self.workers {
            w.send(Job::Barrier(tx.clone()))
                .map_err(|_| self.worker_gone())?;
        }
        for _ in &self.workers {
            rx.recv().map_err(|_| self.worker_gone())?;
        }
        match self.failure.take() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    fn chunk(&mut self, at: u64, flags: u8, path: Vec<u8>, body: Body) -> Result<(), ExtractError> {
        let reject = |why: String| ExtractError::Rejected {
            at,
            path: lossy(&path),
            why,
        };
        let comps = components(&path).map_err(|why| reject(format!("unsafe path: {why}")))?;
        let is_held = path == CHECKPOINTS;
        match body {
            Body::Ignored(_) => Ok(()),
            Body::Remove | Body::Rename(_) => {
                if self.open.contains_key(&path) {
                    return Err(reject(
                        "rename or remove of a file still being written".into(),
                    ));
                }
                let new = match &body {
                    Body::Rename(new) => Some(new.clone()),
                    _ => None,
                };
                let new_comps =
                    match &new {
                        Some(n) => Some(components(n).map_err(|why| {
                            reject(format!("unsafe new path '{}': {why}", lossy(n)))
                        })?),
                        None => None,
                    };
                if new.as_deref().is_some_and(|n| self.open.contains_key(n)) {
                    return Err(reject("rename onto a file still being written".into()));
                }
                if is_held || new.as_deref() == Some(CHECKPOINTS) {
                    return Err(reject(
                        "rename or remove of xtrabackup_checkpoints is not supported".into(),
                    ));
                }
                self.barrier()?;
                let (what, r) = match &new_comps {
                    Some(n) => ("rename", self.root.rename(&comps, n)),
                    None => ("remove", self.root.remove(&comps)),
                };
                r.map_err(|err| ExtractError::Io {
                    at: Some(at),
                    path: lossy(&path),
                    what,
                    err,
                })
            }
            Body::Seek(_) | Body::Payload { .. } | Body::Eof => {
                if !self.open.contains_key(&path) {
                    self.start(at, flags, &path, &comps, is_held)?;
                }
                let file = self.open.get_mut(&path).expect("just opened");
                match body {
                    Body::Seek(offset) => file.next = offset,
                    Body::Payload { offset, data } => {
                        if offset != file.next {
                            return Err(reject(format!(
                                "payload for offset {offset} but the file continues at {}",
                                file.next
                            )));
                        }
                        file.next += data.len() as u64;
                        self.summary.payload_bytes += data.len() as u64;
                        if is_held {
                            let held = self.held.as_mut().expect("held file open");
                            let end = offset + data.len() as u64;
                            if end > MAX_HELD {
                                return Err(reject(format!(
                                    "larger than {MAX_HELD} bytes: not a checkpoints file"
                                )));
                            }
                            if held.data.len() < end as usize {
                                held.data.resize(end as usize, 0);
                            }
                            held.data[offset as usize..end as usize].copy_from_slice(&data);
                        } else {
                            self.send(
                                &path,
                                Job::Write {
                                    path: path.clone(),
                                    at,
                                    offset,
                                    data,
                                },
                            )?;
                        }
                    }
                    _ => {
                        self.open.remove(&path);
                        if is_held {
                            self.held.as_mut().expect("held file open").complete = true;
                        } else {
                            self.send(&path, Job::Close { path: path.clone() })?;
                        }
                    }
                }
                Ok(())
            }
        }
    }

    /// A chunk for a file not open: start it (create it, or hold it in memory).
    fn start(
        &mut self,
        at: u64,
        flags: u8,
        path: &[u8],
        comps: &[&[u8]],
        is_held: bool,
    ) -> Result<(), ExtractError> {
        let rewrite = flags & FLAG_REWRITE != 0;
        self.backup.note(path);
        (self.on_file)(&lossy(path));
        self.summary.files += 1;
        if is_held {
            let exists = self.held.is_some()
                || self.root.exists(comps).map_err(|err| ExtractError::Io {
                    at: Some(at),
                    path: lossy(path),
                    what: "check",
                    err,
                })?;
            if exists && !rewrite {
                return Err(ExtractError::Exists {
                    at,
                    path: lossy(path),
                });
            }
            self.held = Some(Held {
                data: Vec::new(),
                rewrite,
                complete: false,
            });
        } else {
            self.send(
                path,
                Job::Open {
                    path: path.to_vec(),
                    at,
                    rewrite,
                },
            )?;
        }
        self.open.insert(path.to_vec(), Open { next: 0 });
        Ok(())
    }
}

/// Extracts the stream `input` into the existing directory `dir`.
pub fn extract<R: Read>(
    input: R,
    dir: &Path,
    options: &Options<'_>,
) -> Result<Summary, ExtractError> {
    let root = Root::open(dir).map_err(|err| ExtractError::Io {
        at: None,
        path: dir.display().to_string(),
        what: "open the directory",
        err,
    })?;
    let failure = Failure::new();
    let root = &root;
    let failure_ref = &failure;
    let (result, held) = std::thread::scope(|s| {
        let mut senders = Vec::new();
        for _ in 0..options.parallel.max(1) {
            let (tx, rx) = sync_channel(QUEUE);
            senders.push(tx);
            s.spawn(move || worker(root, rx, failure_ref));
        }
        let mut d = Dispatch {
            root,
            workers: senders,
            failure: failure_ref,
            open: HashMap::new(),
            held: None,
            on_file: options.on_file,
            summary: Summary::default(),
            backup: BackupFiles::default(),
        };
        let r = read_all(&mut d, input);
        // Dropping the senders ends the workers; the scope joins them.
        let held = d.held.take();
        let summary = d.summary;
        drop(d);
        (r.map(|()| summary), held)
    });
    // A worker's error comes from an earlier chunk than one the reader thread saw later.
    if let Some(e) = failure.take() {
        return Err(e);
    }
    let summary = result?;
    if let Some(held) = held.filter(|h| h.complete) {
        root.publish(CHECKPOINTS, &held.data, held.rewrite)
            .map_err(|err| ExtractError::Io {
                at: None,
                path: lossy(CHECKPOINTS),
                what: "write",
                err,
            })?;
    } else {
        root.sync().map_err(|err| ExtractError::Io {
            at: None,
            path: dir.display().to_string(),
            what: "sync",
            err,
        })?;
    }
    Ok(summary)
}

fn read_all<R: Read>(d: &mut Dispatch<'_>, input: R) -> Result<(), ExtractError> {
    let mut reader = Reader::new(input);
    while let Some(c) = reader.next_chunk().map_err(ExtractError::Stream)? {
        if d.failure.set.load(Ordering::SeqCst) {
            return Err(d.worker_gone());
        }
        d.summary.chunks += 1;
        d.chunk(c.at, c.flags, c.path, c.body)?;
    }
    if d.summary.chunks == 0 {
        return Err(ExtractError::Empty);
    }
    if !d.open.is_empty() {
        let mut files: Vec<String> = d.open.keys().map(|k| lossy(k)).collect();
        files.sort();
        return Err(ExtractError::Incomplete {
            at: reader.position(),
            files,
        });
    }
    if let Some((marker, files)) = d.backup.missing() {
        return Err(ExtractError::MissingBackupFiles {
            at: reader.position(),
            marker,
            files,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests;
