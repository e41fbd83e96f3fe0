//! The writer threads: each creates, writes (`pwrite` at the offsets the reader thread has
//! checked) and closes the files it is handed; the first error is kept for the reader thread.

use std::collections::HashMap;
use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, SyncSender};
use std::sync::Mutex;

use super::dir::{components, Root};
use super::{lossy, ExtractError};

pub enum Job {
    Open {
        path: Vec<u8>,
        at: u64,
        rewrite: bool,
    },
    Write {
        path: Vec<u8>,
        at: u64,
        offset: u64,
        data: Vec<u8>,
    },
    Close {
        path: Vec<u8>,
    },
    /// Acknowledged once every earlier job of this worker is done.
    Barrier(SyncSender<()>),
}

/// The first error any worker hit.
pub struct Failure {
    pub set: AtomicBool,
    first: Mutex<Option<ExtractError>>,
}

impl Failure {
    pub fn new() -> Failure {
        Failure {
            set: AtomicBool::new(false),
            first: Mutex::new(None),
        }
    }

    pub fn record(&self, e: ExtractError) {
        let mut first = self.first.lock().unwrap_or_else(|p| p.into_inner());
        if first.is_none() {
            *first = Some(e);
        }
        self.set.store(true, Ordering::SeqCst);
    }

    pub fn take(&self) -> Option<ExtractError> {
        self.first.lock().unwrap_or_else(|p| p.into_inner()).take()
    }
}

pub fn worker(root: &Root, jobs: Receiver<Job>, failure: &Failure) {
    let mut files: HashMap<Vec<u8>, File> = HashMap::new();
    for job in jobs {
        if failure.set.load(Ordering::SeqCst) {
            if let Job::Barrier(ack) = job {
                let _ = ack.send(());
            }
            continue;
        }
        match job {
            Job::Open { path, at, rewrite } => {
                let comps = components(&path).expect("checked by the reader thread");
                match root.create_file(&comps, rewrite) {
                    Ok(f) => {
                        files.insert(path, f);
                    }
                    Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                        failure.record(ExtractError::Exists {
                            at,
                            path: lossy(&path),
                        })
                    }
                    Err(err) => failure.record(ExtractError::Io {
                        at: Some(at),
                        path: lossy(&path),
                        what: "create",
                        err,
                    }),
                }
            }
            Job::Write {
                path,
                at,
                offset,
                data,
            } => {
                let f = files.get(&path).expect("opened before written");
                if let Err(err) = f.write_all_at(&data, offset) {
                    failure.record(ExtractError::Io {
                        at: Some(at),
                        path: lossy(&path),
                        what: "write",
                        err,
                    });
                }
            }
            Job::Close { path } => {
                files.remove(&path);
            }
            Job::Barrier(ack) => {
                let _ = ack.send(());
            }
        }
    }
}
