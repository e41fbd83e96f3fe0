//! Where backup bytes go: a directory or an xbstream (mariadb-backup's "datasinks").
//!
//! Every producer of a backup (the page copier, the redo tailer, the non-InnoDB copies, the
//! metadata writers) writes through a [`Sink`]: it names files by their path *inside* the
//! backup (`ibdata1`, `db/t.ibd`) and never sees where they end up. Two sinks exist:
//!
//! * [`DirSink`]: files in a directory, exactly as before there were sinks: created with
//!   `O_EXCL|O_NOFOLLOW`, mode 0640, parents 0700; metadata published atomically; one
//!   `syncfs` makes everything durable ([`Sink::sync`]);
//! * [`StreamSink`]: mariadb-backup 10.11's xbstream on a writer (stdout in the binary).
//!   Files sent twice (a table copied again under `BLOCK_COMMIT`, the Aria log re-read) are
//!   sent again with the rewrite flag, which makes `mbstream -x` truncate and rewrite them.
//!
//! [`CompressSink`] (`--compress`) wraps either: every file but `xtrabackup_checkpoints`
//! becomes a qpress archive `NAME.qp`, as mariadb-backup 10.11 writes them. A compressed file
//! cannot be patched ([`Sink::can_rewrite`] is false): writers that would rewrite part of a
//! file send it again whole with [`Sink::recreate`] instead.
//!
//! The rule that makes a backup trustworthy holds for both: `xtrabackup_checkpoints` is the
//! last file, written only after every other file was closed (a stream refuses it while a
//! file is open), so a directory or an extraction holding it is a complete backup.

pub mod codec;
mod compress;
mod dir;
pub mod files;
mod stream;

use std::collections::BTreeSet;
use std::io;
use std::path::Path;
use std::sync::Mutex;

pub use codec::Codec;
pub use compress::CompressSink;
pub use dir::DirSink;
pub use files::{create_dir_private, create_exclusive, exposure_warnings, DIR_MODE, FILE_MODE};
pub use stream::StreamSink;

/// Where the files of one backup go. Shared by every copy thread.
pub trait Sink: Send + Sync {
    /// Starts the new file `rel`; fails if this backup already has it.
    fn create(&self, rel: &Path) -> io::Result<Box<dyn SinkFile>>;

    /// Starts `rel` again from empty, replacing what an earlier [`Sink::create`] wrote (a
    /// file sent twice). Creates it if it did not exist.
    fn recreate(&self, rel: &Path) -> io::Result<Box<dyn SinkFile>>;

    /// Writes the whole small file `rel` (metadata) at once; a directory publishes it
    /// atomically. Fails if the backup already has it.
    fn put(&self, rel: &Path, contents: &[u8]) -> io::Result<()>;

    /// Makes the (possibly empty) directory `rel` exist; a stream has no directories (its
    /// extractor creates the parents of the files it writes).
    fn create_dir(&self, rel: &Path) -> io::Result<()>;

    /// Whether this backup has the file `rel` (created through this sink and not removed):
    /// the flow's record of what it wrote, never a look at the output.
    fn contains(&self, rel: &Path) -> bool;

    /// Makes everything written so far durable (a directory: `syncfs`) or delivered (a
    /// stream: flushed to its writer).
    fn sync(&self) -> io::Result<()>;

    /// `rel` as messages show it: the path in the target directory, or `<STDOUT>`.
    fn describe(&self, rel: &Path) -> String;

    /// Whether the output is a stream (the target directory is then not written).
    fn is_stream(&self) -> bool;

    /// Whether [`SinkFile::write_at`] works. When false (compression), a file whose written
    /// part must change is sent again whole with [`Sink::recreate`].
    fn can_rewrite(&self) -> bool {
        true
    }
}

/// One file being written. Written front to back with [`SinkFile::write_all`]; a part
/// already written can be rewritten with [`SinkFile::write_at`] if the sink
/// [can rewrite](Sink::can_rewrite). Dropping it without
/// [`SinkFile::close`] leaves it incomplete (a stream then never marks it complete).
pub trait SinkFile: Send {
    /// Appends `data`.
    fn write_all(&mut self, data: &[u8]) -> io::Result<()>;

    /// Writes `data` at `offset` (at most the current end), then continues appending where
    /// the file ended before (or after `data`, if it went past the end).
    fn write_at(&mut self, offset: u64, data: &[u8]) -> io::Result<()>;

    /// Bytes of the file so far (the end appends go to).
    fn len(&self) -> u64;

    /// Whether nothing was written yet.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Makes what was written durable where that means something (a directory: fsync).
    fn sync(&mut self) -> io::Result<()>;

    /// Ends the file.
    fn close(self: Box<Self>) -> io::Result<()>;
}

/// The files a sink has created, for [`Sink::contains`].
#[derive(Default)]
struct Created(Mutex<BTreeSet<String>>);

impl Created {
    fn insert(&self, rel: &Path) {
        if let Ok(name) = backup_name(rel) {
            self.lock().insert(name.to_string());
        }
    }
    fn contains(&self, rel: &Path) -> bool {
        backup_name(rel).is_ok_and(|name| self.lock().contains(name))
    }
    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeSet<String>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// A file name inside the backup: relative, without `..`, as text (the stream carries
/// UTF-8-agnostic bytes, but every name a backup writes is the server's own file name).
fn backup_name(rel: &Path) -> io::Result<&str> {
    use std::path::Component;
    let plain = rel
        .components()
        .all(|c| matches!(c, Component::Normal(_) | Component::CurDir));
    match rel.to_str() {
        Some(s) if plain && !s.trim_start_matches("./").is_empty() => {
            Ok(s.trim_start_matches("./"))
        }
        _ => Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "{}: not a relative file name inside the backup",
                rel.display()
            ),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backup_names() {
        for (rel, want) in [
            ("ibdata1", Some("ibdata1")),
            ("db/t.ibd", Some("db/t.ibd")),
            ("./db/t.ibd", Some("db/t.ibd")),
            ("/etc/passwd", None),
            ("../x", None),
            ("db/../../x", None),
            ("", None),
        ] {
            assert_eq!(backup_name(Path::new(rel)).ok(), want, "{rel}");
        }
    }
}
