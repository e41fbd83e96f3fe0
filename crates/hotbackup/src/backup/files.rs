//! Non-InnoDB files copied whole through the sink: tables opened under `BACKUP LOCK`, the
//! `.frm`/`.par`/... files, the `.del`/`.ren` markers, and the re-copy under `BLOCK_COMMIT`
//! of every file that changed since its first copy (decided from the *source*'s size and
//! mtime, never by reading the target back).

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::path::Path;

use server::Session;
use sink::{Sink, SinkFile};

use super::discover::{FileCopy, NonTxTable};
use super::table_open;
use crate::failure::Failure;
use crate::log::Log;

/// A failure to write `rel` into the sink.
pub fn sink_failure(sink: &dyn Sink, rel: &Path, e: io::Error) -> Failure {
    if sink.is_stream() {
        Failure::io(
            Path::new(&format!("{} ({})", sink.describe(rel), rel.display())),
            e,
        )
    } else {
        Failure::io(Path::new(&sink.describe(rel)), e)
    }
}

/// Writes the small file `rel` whole (a `.del`/`.ren` marker).
pub fn write_marker(sink: &dyn Sink, rel: &str, content: &[u8]) -> Result<(), Failure> {
    let rel = Path::new(rel);
    let fail = |e| sink_failure(sink, rel, e);
    let mut f = sink.create(rel).map_err(fail)?;
    f.write_all(content).map_err(fail)?;
    f.close().map_err(fail)
}

/// Opens a table's files under `BACKUP LOCK` (so they are one generation even if an ALTER
/// runs), releases the lock, then copies from the open descriptors.
pub fn copy_nontx_table(
    table: &NonTxTable,
    sink: &dyn Sink,
    lock: Option<&mut Session>,
    log: &Log,
    stamps: &mut Vec<Stamped>,
) -> Result<(), Failure> {
    let mut lock = lock;
    if let Some(session) = lock.as_deref_mut() {
        session.backup_lock(&table.db, &table.table)?;
    }
    let open = table_open::open_all(table)?;
    if let Some(session) = lock {
        session.backup_unlock()?;
    }
    for (f, file) in open {
        // Stamp before reading: a write during the copy changes it, so the file is copied
        // again under BLOCK_COMMIT.
        let stamp = stamp_of(&file).map_err(|e| Failure::io(&f.source, e))?;
        let out = sink
            .create(&f.dest)
            .map_err(|e| sink_failure(sink, &f.dest, e))?;
        let bytes = copy_open_file(&file, &f.source, out, sink, &f.dest)?;
        stamps.push(Stamped {
            file: f.clone(),
            stamp,
        });
        log.info(&format!(
            "Copied file {} for table `{}`.`{}`, {bytes} bytes",
            f.source.display(),
            table.db,
            table.table
        ));
    }
    Ok(())
}

/// A copied file and its size and modification time when the copy started.
pub struct Stamped {
    file: FileCopy,
    stamp: (u64, i64, i64),
}

fn stamp_of(file: &File) -> io::Result<(u64, i64, i64)> {
    use std::os::unix::fs::MetadataExt;
    let m = file.metadata()?;
    Ok((m.len(), m.mtime(), m.mtime_nsec()))
}

/// Under BLOCK_COMMIT, after the engine logs were flushed: copies again every non-InnoDB
/// file that changed since its first copy (transactional Aria tables keep taking writes
/// until commits are blocked; the Aria log copied next covers what is in them). The copy
/// replaces the first one whole ([`Sink::recreate`]: truncated in a directory, sent again
/// with the rewrite flag in a stream).
pub fn recopy_changed(stamps: &[Stamped], sink: &dyn Sink, log: &Log) -> Result<(), Failure> {
    for s in stamps {
        let file = match File::open(&s.file.source) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => return Err(Failure::io(&s.file.source, e)),
        };
        let now = stamp_of(&file).map_err(|e| Failure::io(&s.file.source, e))?;
        if now == s.stamp {
            continue;
        }
        let dest = &s.file.dest;
        let out = sink
            .recreate(dest)
            .map_err(|e| sink_failure(sink, dest, e))?;
        let bytes = copy_open_file(&file, &s.file.source, out, sink, dest)?;
        log.info(&format!(
            "Copied file {} again (changed since its first copy), {bytes} bytes",
            s.file.source.display()
        ));
    }
    Ok(())
}

/// Copies a whole file (gone since the scan: nothing to do).
pub fn copy_whole_file(
    f: &FileCopy,
    sink: &dyn Sink,
    log: &Log,
    thread: usize,
) -> Result<(), Failure> {
    let file = match File::open(&f.source) {
        Ok(file) => file,
        // Gone since the scan (dropped before DDL was blocked).
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(Failure::io(&f.source, e)),
    };
    log.line(
        thread,
        &format!(
            "Copying {} to {}",
            f.source.display(),
            sink.describe(&f.dest)
        ),
    );
    let out = sink
        .create(&f.dest)
        .map_err(|e| sink_failure(sink, &f.dest, e))?;
    copy_open_file(&file, &f.source, out, sink, &f.dest)?;
    log.line(thread, "        ...done");
    Ok(())
}

/// Copies `file` (at `source`) from its start to its end into `out` (the backup's `rel`),
/// then closes `out`. Returns the bytes copied.
pub fn copy_open_file(
    file: &File,
    source: &Path,
    mut out: Box<dyn SinkFile>,
    sink: &dyn Sink,
    rel: &Path,
) -> Result<u64, Failure> {
    let fail = |e| sink_failure(sink, rel, e);
    let mut buf = vec![0u8; 1 << 20];
    let mut offset = 0;
    loop {
        let n = file
            .read_at(&mut buf, offset)
            .map_err(|e| Failure::io(source, e))?;
        if n == 0 {
            break;
        }
        out.write_all(&buf[..n]).map_err(fail)?;
        offset += n as u64;
    }
    out.close().map_err(fail)?;
    Ok(offset)
}
