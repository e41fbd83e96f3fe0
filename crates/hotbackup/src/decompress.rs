//! `hotbackup --decompress`: every `*.qp`, `*.lz4` and `*.zst` under `--target-dir`
//! decompressed next to it.
//!
//! As mariadb-backup 10.11 (`decrypt_decompress` in backup_copy.cc) for `.qp`, but without
//! running `qpress`: the archives are read by the `qpress` crate, which checks every block.
//! `.lz4` and `.zst` (Percona XtraBackup 8.0's `--compress=lz4|zstd`, and hotbackup's) are
//! read by [`sink::codec`], checking every checksum the frames carry. Files are
//! decompressed by `--parallel` threads; `--remove-original` removes each compressed file
//! once its output is complete. Deliberate differences, each safer:
//!
//! * an existing output file is never overwritten (mariadb-backup's shell redirection
//!   truncates it): every output name is checked before the first file is touched;
//! * a file is written under a temporary name, fsynced, then renamed without replacing, so a
//!   failure or a crash never leaves a partial file under the final name;
//! * `--remove-original` removes a compressed file only after its output is fsynced and
//!   renamed, and the directory is fsynced;
//! * a damaged file fails with exit 8 naming the file and the byte offset, and is kept.
//!
//! File names are checked as mariadb-backup checks them (letters, digits and `-.@/_#` only;
//! it builds a shell command from them): any other name fails with exit 1 before anything
//! is written.

use std::path::{Path, PathBuf};

use rayon::prelude::*;
use sink::Codec;

use crate::copyback::{io_failure, sync_dir};
use crate::exit::Code;
use crate::failure::Failure;
use crate::log::Log;
use crate::options::{table::MAX_PARALLEL, Options};

/// An output being written is `.<name>.hotbackup-tmp` next to it: hotbackup's mark for its own
/// temporary files, which `--copy-back` never copies and a later run may remove.
const TEMP_MARK: &str = ".hotbackup-tmp";

/// One archive and where its contents go.
struct Job {
    /// The compressed file.
    src: PathBuf,
    /// What compressed it (by its suffix).
    codec: Codec,
    /// The output: `src` without its suffix.
    dest: PathBuf,
    /// As logged: `./db/t.ibd.qp`.
    shown: String,
}

/// Decompresses every compressed file in `--target-dir`.
pub fn run(opts: &Options, log: &Log) -> Result<(), Failure> {
    let cwd = std::env::current_dir().map_err(|e| io_failure("get", Path::new("."), e))?;
    let target = cwd.join(&opts.target_dir);
    Failure::check_backup_dir(&target)?;
    let mut files = Vec::new();
    list(&target, Path::new("."), &mut files)?;
    files.sort();
    let jobs = plan(&target, &files)?;

    let threads = usize::try_from(opts.parallel)
        .unwrap_or(1)
        .clamp(1, MAX_PARALLEL as usize)
        .min(jobs.len().max(1));
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .thread_name(|i| format!("decompress-{}", i + 1))
        .build()
        .map_err(|e| {
            Failure::new(
                Code::Failure,
                format!("cannot start {threads} decompress threads: {e}"),
            )
        })?;
    pool.install(|| {
        jobs.par_iter().try_for_each(|job| {
            let thread = rayon::current_thread_index().map_or(1, |i| i + 1);
            decompress_one(job, thread, opts.remove_original, log)
        })
    })?;
    log.info("completed OK!");
    Ok(())
}

/// Every `.qp`, `.lz4` and `.zst` regular file under `dir` (symbolic links are not
/// followed), as paths relative to the target starting with `rel`.
fn list(dir: &Path, rel: &Path, out: &mut Vec<PathBuf>) -> Result<(), Failure> {
    let entries = std::fs::read_dir(dir).map_err(|e| io_failure("read directory", dir, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| io_failure("read directory", dir, e))?;
        let kind = entry
            .file_type()
            .map_err(|e| io_failure("stat", &entry.path(), e))?;
        let name = entry.file_name();
        if kind.is_dir() {
            list(&entry.path(), &rel.join(&name), out)?;
        } else if kind.is_file() && Codec::for_file(name.as_encoded_bytes()).is_some() {
            out.push(rel.join(&name));
        }
    }
    Ok(())
}

/// The jobs, after checking every name and that no output exists.
fn plan(target: &Path, files: &[PathBuf]) -> Result<Vec<Job>, Failure> {
    let mut jobs: Vec<Job> = Vec::with_capacity(files.len());
    let mut outputs = std::collections::BTreeMap::new();
    for rel in files {
        let shown = rel.to_string_lossy().into_owned();
        if !rel.to_str().is_some_and(name_is_safe) {
            return Err(Failure::new(
                Code::Failure,
                format!(
                    "invalid file name {shown}: as mariadb-backup, --decompress takes only names \
                     of letters, digits and -.@/_# (rename the file, or decompress it with \
                     qpress, lz4 or zstd)"
                ),
            ));
        }
        let inner = rel.strip_prefix(".").unwrap_or(rel).to_string_lossy();
        let Some(codec) = Codec::for_file(inner.as_bytes()) else {
            continue;
        };
        let src = target.join(&*inner);
        let dest = target.join(&inner[..inner.len() - codec.suffix().len()]);
        if std::fs::symlink_metadata(&dest).is_ok() {
            return Err(Failure::new(
                Code::Io,
                format!(
                    "{} already exists and is never overwritten (an earlier --decompress?): \
                     remove it, or the {} file, and run again; nothing was decompressed",
                    dest.display(),
                    codec.suffix()
                ),
            ));
        }
        if let Some(other) = outputs.insert(dest.clone(), shown.clone()) {
            return Err(Failure::new(
                Code::WrongState,
                format!(
                    "{other} and {shown} would both decompress to {}: keep only one of them \
                     and run again; nothing was decompressed",
                    dest.display()
                ),
            ));
        }
        jobs.push(Job {
            src,
            codec,
            dest,
            shown,
        });
    }
    Ok(jobs)
}

/// mariadb-backup 10.11's check: table-name-safe characters only.
fn name_is_safe(name: &str) -> bool {
    name.chars()
        .all(|c| c.is_ascii_alphanumeric() || "-.@/_#".contains(c))
}

fn temp_path(dest: &Path) -> PathBuf {
    let mut name = std::ffi::OsString::from(".");
    name.push(dest.file_name().unwrap_or_default());
    name.push(TEMP_MARK);
    dest.with_file_name(name)
}

/// Decompresses one archive: temporary file, fsync, rename without replacing, fsync of the
/// directory, then (with `--remove-original`) removal of the archive.
fn decompress_one(
    job: &Job,
    thread: usize,
    remove_original: bool,
    log: &Log,
) -> Result<(), Failure> {
    log.line(thread, &format!("decompressing {}", job.shown));
    let temp = temp_path(&job.dest);
    // Left by a run that was killed while writing it.
    match std::fs::remove_file(&temp) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            return Err(io_failure("remove", &temp, e))
        }
        _ => {}
    }
    sink::codec::decompress_file(job.codec, &job.src, &temp).map_err(|e| match e {
        qpress::Error::Corrupt { offset, what } => Failure::new(
            Code::BackupCorrupt,
            format!(
                "{} is damaged: {what} at byte {offset}; nothing was written for it and it was \
                 not removed (restore it from another copy of the backup, or take a new backup)",
                job.src.display()
            ),
        ),
        qpress::Error::Read(e) => io_failure("read", &job.src, e),
        qpress::Error::Write(e) => io_failure("write", &temp, e),
    })?;
    if let Err(e) = backup_meta::rename_noreplace(&temp, &job.dest) {
        let _ = std::fs::remove_file(&temp);
        return Err(io_failure("create", &job.dest, e));
    }
    let dir = job.dest.parent().unwrap_or(Path::new("."));
    sync_dir(dir)?;
    if remove_original {
        log.line(thread, &format!("Removing {}", job.shown));
        std::fs::remove_file(&job.src).map_err(|e| io_failure("remove", &job.src, e))?;
        sync_dir(dir)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        for (name, safe) in [
            ("./db/t1.ibd.qp", true),
            ("./ib_logfile0.qp", true),
            ("./db/t@002d1#P#p0.ibd.qp", true),
            ("./a;touch b.qp", false),
            ("./db/$(id).qp", false),
            ("./dé.qp", false),
        ] {
            assert_eq!(name_is_safe(name), safe, "{name}");
        }
    }

    #[test]
    fn plan_refuses_existing_outputs_and_unsafe_names() {
        let dir =
            std::env::temp_dir().join(format!("hotbackup-decompress-plan-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("db")).unwrap();
        std::fs::write(dir.join("db/t.ibd.qp"), b"").unwrap();
        let files = [PathBuf::from("./db/t.ibd.qp")];
        let jobs = plan(&dir, &files).unwrap();
        assert_eq!(jobs[0].src, dir.join("db/t.ibd.qp"));
        assert_eq!(jobs[0].dest, dir.join("db/t.ibd"));
        assert_eq!(jobs[0].shown, "./db/t.ibd.qp");
        assert_eq!(jobs[0].codec, Codec::Quicklz);
        for (file, codec, dest) in [
            ("./ibdata1.lz4", Codec::Lz4, "ibdata1"),
            ("./db/t.MYD.zst", Codec::Zstd { level: 1 }, "db/t.MYD"),
        ] {
            let jobs = plan(&dir, &[PathBuf::from(file)]).unwrap();
            assert_eq!((jobs[0].codec, &jobs[0].dest), (codec, &dir.join(dest)));
        }
        let two = [
            PathBuf::from("./db/t.ibd.qp"),
            PathBuf::from("./db/t.ibd.zst"),
        ];
        let e = plan(&dir, &two).err().unwrap();
        assert_eq!(e.code, Code::WrongState);
        assert!(
            e.message
                .starts_with("./db/t.ibd.qp and ./db/t.ibd.zst would both decompress to"),
            "{}",
            e.message
        );

        assert_eq!(
            temp_path(&jobs[0].dest),
            dir.join("db/.t.ibd.hotbackup-tmp")
        );
        std::fs::write(dir.join("db/t.ibd"), b"").unwrap();
        let e = plan(&dir, &files).err().unwrap();
        assert_eq!(e.code, Code::Io);
        assert!(e.message.contains("t.ibd already exists"), "{}", e.message);

        let e = plan(&dir, &[PathBuf::from("./a;b.qp")]).err().unwrap();
        assert_eq!(e.code, Code::Failure);
        assert!(
            e.message.starts_with("invalid file name ./a;b.qp"),
            "{}",
            e.message
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
