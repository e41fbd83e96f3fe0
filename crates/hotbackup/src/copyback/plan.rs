//! What goes where: every file of the backup directory, classified the way mariadb-backup
//! 10.11's `copy_back()` classifies it, with its destination.
//!
//! Order (as mariadb-backup): `aria_log_control`, `aria_log.*`, `undo*`, `ib_logfile0`, the
//! system tablespace files of `innodb_data_file_path`, then everything else. The first group
//! goes to the Aria log / undo / redo / data-home directories, the rest below the datadir,
//! except a `DATA DIRECTORY` tablespace `db/t.ibd`, which goes to the absolute path in
//! `db/t.isl`.

use std::collections::{BTreeSet, HashSet};
use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};

use crate::exit::Code;
use crate::failure::Failure;

use super::io_failure;

/// The directories the files go to, absolute and without trailing slashes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dests {
    /// `--datadir`.
    pub datadir: PathBuf,
    /// `--innodb-data-home-dir`: the system tablespace files.
    pub data_home: PathBuf,
    /// `--innodb-log-group-home-dir`: `ib_logfile0`.
    pub log_dir: PathBuf,
    /// `--innodb-undo-directory`: `undo001`….
    pub undo_dir: PathBuf,
    /// `--aria-log-dir-path`: `aria_log_control`, `aria_log.*`.
    pub aria_dir: PathBuf,
}

/// One file to copy or move.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Item {
    /// Absolute path in the backup directory.
    pub src: PathBuf,
    /// The source as mariadb-backup logs it (`./db/t.ibd`, `undo001`, `ibdata1`).
    pub shown_src: String,
    /// Absolute destination.
    pub dest: PathBuf,
    /// The destination as mariadb-backup logs it (`/data/./ibdata1`).
    pub shown_dest: String,
    /// For a `DATA DIRECTORY` tablespace written outside the datadir: its `.isl`, relative
    /// to the backup directory.
    pub remote_isl: Option<PathBuf>,
}

/// Everything a copy-back does, decided before anything is written.
#[derive(Debug, Default)]
pub struct Plan {
    /// Aria logs, undo tablespaces, the redo log and the system tablespace, in this order;
    /// copied one after the other.
    pub first: Vec<Item>,
    /// Everything else; copied in parallel.
    pub rest: Vec<Item>,
    /// Destination directories for every sub-directory of the backup (empty ones too).
    pub dirs: Vec<PathBuf>,
}

impl Plan {
    /// All items, in order.
    pub fn items(&self) -> impl Iterator<Item = &Item> {
        self.first.iter().chain(self.rest.iter())
    }
}

/// A file of `innodb_data_file_path`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SystemFile {
    /// The name as written (may contain directories).
    pub name: String,
}

impl SystemFile {
    /// The file name in the backup (a backup holds them at the top level).
    pub fn base_name(&self) -> &OsStr {
        Path::new(&self.name)
            .file_name()
            .unwrap_or_else(|| OsStr::new(&self.name))
    }
}

/// The file names of `innodb_data_file_path` (`ibdata1:12M;ibdata2:50M:autoextend` →
/// `ibdata1`, `ibdata2`). `None` if it names no file.
pub fn parse_data_file_path(spec: &str) -> Option<Vec<SystemFile>> {
    let mut files = Vec::new();
    for part in spec.split(';') {
        let part = part.trim();
        if part.is_empty() {
            continue;
        }
        let name = part.split(':').next().unwrap_or("").trim();
        if name.is_empty() {
            return None;
        }
        files.push(SystemFile { name: name.into() });
    }
    if files.is_empty() {
        None
    } else {
        Some(files)
    }
}

/// What a file of the backup is, for copy-back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Class {
    /// A backup-only file mariadb-backup does not copy back.
    Skip,
    /// `.new`, `.ren`, `.del`: DDL tracking that `--prepare` applies and removes.
    Unprepared,
    /// `aria_log_control` (sorted first) or `aria_log.N`.
    Aria,
    /// `undoN`, with N.
    Undo(u64),
    /// `ib_logfile0`.
    RedoLog,
    /// The n-th file of `innodb_data_file_path`.
    SystemTablespace(usize),
    /// Anything else: to the datadir, same relative path.
    Other,
}

/// mariadb-backup's skip list (matched as suffixes of the file name, at any depth), plus
/// the incremental-only `.delta` and `.meta` and the `.lz4`/`.zst` of `--compress=lz4|zstd`
/// (as XtraBackup 8.0 skips them).
const SKIPPED_SUFFIXES: &[&str] = &[
    "backup-my.cnf",
    "xtrabackup_binary",
    "xtrabackup_binlog_info",
    "xtrabackup_checkpoints",
    ".qp",
    ".lz4",
    ".zst",
    ".pmap",
    ".tmp",
    ".delta",
    ".meta",
];

/// What every temporary file hotbackup writes has in its name (`backup_meta`'s atomic writes:
/// `.<name>.hotbackup-tmp.<pid>.<n>`; copy-back across filesystems: `.<name>.hotbackup-tmp`).
const TEMP_MARK: &str = ".hotbackup-tmp";

/// Whether `name` is a temporary file hotbackup left behind (a process killed mid-write):
/// never part of a backup, never copied into a datadir.
pub fn is_temp_file(name: &[u8]) -> bool {
    name.windows(TEMP_MARK.len())
        .any(|w| w == TEMP_MARK.as_bytes())
}

/// DDL-tracking suffixes (see §2.7 of the behaviour notes).
const DDL_TRACKING_SUFFIXES: &[&str] = &[".new", ".ren", ".del"];

/// The Aria control file.
pub const ARIA_LOG_CONTROL: &str = "aria_log_control";
/// The only redo log file of a 10.11 backup.
pub const REDO_LOG: &str = "ib_logfile0";

/// Classifies the file at `rel` (relative to the backup directory).
pub fn classify(rel: &Path, system_files: &[SystemFile]) -> Class {
    let Some(name) = rel.file_name() else {
        return Class::Other;
    };
    let bytes = name.as_bytes();
    if SKIPPED_SUFFIXES
        .iter()
        .any(|s| bytes.ends_with(s.as_bytes()))
        || is_temp_file(bytes)
    {
        return Class::Skip;
    }
    if DDL_TRACKING_SUFFIXES
        .iter()
        .any(|s| bytes.ends_with(s.as_bytes()))
    {
        return Class::Unprepared;
    }
    let top_level = rel.components().count() == 1;
    if !top_level {
        return Class::Other;
    }
    if bytes == ARIA_LOG_CONTROL.as_bytes() {
        return Class::Aria;
    }
    if let Some(n) = bytes.strip_prefix(b"aria_log.") {
        if !n.is_empty() && n.iter().all(u8::is_ascii_digit) {
            return Class::Aria;
        }
    }
    if let Some(n) = bytes.strip_prefix(b"undo") {
        if let Some(n) = digits(n) {
            return Class::Undo(n);
        }
    }
    if bytes == REDO_LOG.as_bytes() {
        return Class::RedoLog;
    }
    if let Some(i) = system_files.iter().position(|f| f.base_name() == name) {
        return Class::SystemTablespace(i);
    }
    Class::Other
}

/// `Some(n)` if `s` is one or more ASCII digits.
fn digits(s: &[u8]) -> Option<u64> {
    if s.is_empty() || !s.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(s).ok()?.parse().ok()
}

/// The target of an `.isl` file: the first line, trailing whitespace removed (as
/// mariadb-backup's `read_link_file`); it must be an absolute path to an `.ibd`.
pub fn parse_isl(content: &[u8]) -> Result<PathBuf, String> {
    let end = content.iter().rposition(|&b| b > 0x20).map_or(0, |i| i + 1);
    let text = &content[..end];
    if text.is_empty() {
        return Err("it is empty".into());
    }
    if text.iter().any(|&b| b == b'\n' || b == b'\r' || b == 0) {
        return Err("it holds more than one line".into());
    }
    let path = PathBuf::from(OsString::from_vec(text.to_vec()));
    if !path.is_absolute() {
        return Err(format!("'{}' is not an absolute path", path.display()));
    }
    if path.extension() != Some(OsStr::new("ibd")) {
        return Err(format!("'{}' does not name an .ibd file", path.display()));
    }
    Ok(path)
}

/// The files and directories of the backup, relative to it, sorted.
#[derive(Debug, Default)]
pub struct Listing {
    /// Regular files.
    pub files: Vec<PathBuf>,
    /// Directories below the top.
    pub dirs: Vec<PathBuf>,
}

/// Lists `root` recursively without following symbolic links. A symbolic link or a special
/// file is refused: a backup holds only regular files and directories, and copying what a
/// link points to (or a FIFO) is never what was meant.
pub fn list(root: &Path) -> Result<Listing, Failure> {
    let mut listing = Listing::default();
    let mut pending = vec![PathBuf::new()];
    while let Some(rel) = pending.pop() {
        let dir = root.join(&rel);
        let entries = std::fs::read_dir(&dir).map_err(|e| io_failure("read directory", &dir, e))?;
        for entry in entries {
            let entry = entry.map_err(|e| io_failure("read directory", &dir, e))?;
            let child = rel.join(entry.file_name());
            let kind = entry
                .file_type()
                .map_err(|e| io_failure("stat", &root.join(&child), e))?;
            if kind.is_dir() {
                listing.dirs.push(child.clone());
                pending.push(child);
            } else if kind.is_file() {
                listing.files.push(child);
            } else {
                let what = if kind.is_symlink() {
                    "a symbolic link"
                } else {
                    "not a regular file"
                };
                return Err(Failure::new(
                    Code::BackupCorrupt,
                    format!(
                        "{} in the backup is {what}; a backup directory holds only regular \
                         files and directories: replace it with the file itself, or remove it",
                        root.join(&child).display()
                    ),
                ));
            }
        }
    }
    listing.files.sort();
    listing.dirs.sort();
    Ok(listing)
}

/// `dir/rel` as mariadb-backup prints it.
fn shown(dir: &Path, rel: &Path) -> String {
    format!("{}/{}", dir.display(), rel.display())
}

/// Builds the plan for the backup in `target` (absolute). `read_isl` reads an `.isl` file of
/// the backup (by relative path). Refuses an unprepared backup (`.new`/`.ren`/`.del` left)
/// and a backup without `ib_logfile0` or without a file of `innodb_data_file_path`.
pub fn build(
    target: &Path,
    listing: &Listing,
    dests: &Dests,
    system_files: &[SystemFile],
    read_isl: &dyn Fn(&Path) -> Result<Vec<u8>, Failure>,
) -> Result<Plan, Failure> {
    let all_files: HashSet<&Path> = listing.files.iter().map(PathBuf::as_path).collect();
    let mut aria = Vec::new();
    let mut undo = Vec::new();
    let mut redo = None;
    let mut system: Vec<Option<Item>> = vec![None; system_files.len()];
    let mut rest = Vec::new();

    for rel in &listing.files {
        let src = target.join(rel);
        let name = rel.file_name().unwrap_or_default();
        match classify(rel, system_files) {
            Class::Skip => {}
            Class::Unprepared => {
                return Err(Failure::new(
                    Code::WrongState,
                    format!(
                        "the backup in {} is not completely prepared: it still holds {}, a \
                         DDL-tracking file that --prepare applies and removes. Run hotbackup \
                         --prepare --target-dir={} first",
                        target.display(),
                        rel.display(),
                        target.display()
                    ),
                ))
            }
            Class::Aria => aria.push(Item {
                shown_src: format!("./{}", rel.display()),
                dest: dests.aria_dir.join(name),
                shown_dest: shown(&dests.aria_dir, rel),
                src,
                remote_isl: None,
            }),
            Class::Undo(n) => undo.push((
                n,
                Item {
                    shown_src: rel.display().to_string(),
                    dest: dests.undo_dir.join(name),
                    shown_dest: shown(&dests.undo_dir, rel),
                    src,
                    remote_isl: None,
                },
            )),
            Class::RedoLog => {
                redo = Some(Item {
                    shown_src: rel.display().to_string(),
                    dest: dests.log_dir.join(name),
                    shown_dest: shown(&dests.log_dir, rel),
                    src,
                    remote_isl: None,
                })
            }
            Class::SystemTablespace(i) => {
                let spec = &system_files[i].name;
                let (dest, shown_dest) = if Path::new(spec).is_absolute() {
                    (PathBuf::from(spec), spec.clone())
                } else {
                    (
                        dests.data_home.join(spec),
                        format!("{}/./{}", dests.data_home.display(), spec),
                    )
                };
                system[i] = Some(Item {
                    shown_src: rel.display().to_string(),
                    dest,
                    shown_dest,
                    src,
                    remote_isl: None,
                });
            }
            Class::Other => {
                let isl = rel.with_extension("isl");
                let remote =
                    rel.extension() == Some(OsStr::new("ibd")) && all_files.contains(isl.as_path());
                if remote {
                    let content = read_isl(&isl)?;
                    let dest = parse_isl(&content).map_err(|why| {
                        Failure::new(
                            Code::BackupCorrupt,
                            format!(
                                "{} in the backup is not a valid DATA DIRECTORY link: {why}",
                                target.join(&isl).display()
                            ),
                        )
                    })?;
                    rest.push(Item {
                        shown_src: format!("./{}", rel.display()),
                        shown_dest: dest.display().to_string(),
                        dest,
                        src,
                        remote_isl: Some(isl),
                    });
                } else {
                    rest.push(Item {
                        shown_src: format!("./{}", rel.display()),
                        dest: dests.datadir.join(rel),
                        shown_dest: shown(&dests.datadir, rel),
                        src,
                        remote_isl: None,
                    });
                }
            }
        }
    }

    let Some(redo) = redo else {
        return Err(Failure::new(
            Code::BackupCorrupt,
            format!(
                "the backup in {} has no {REDO_LOG}; every backup holds one (a prepared \
                 backup's is 12304 bytes). The backup is incomplete, or an earlier \
                 --move-back moved its files out already",
                target.display()
            ),
        ));
    };
    let mut first = Vec::new();
    // aria_log_control before the logs, then the logs by name (their numbers are fixed width).
    aria.sort_by_key(|item: &Item| {
        (
            item.src.file_name() != Some(OsStr::new(ARIA_LOG_CONTROL)),
            item.src.clone(),
        )
    });
    first.extend(aria);
    undo.sort_by(|a, b| (a.0, &a.1.src).cmp(&(b.0, &b.1.src)));
    first.extend(undo.into_iter().map(|(_, item)| item));
    first.push(redo);
    for (file, item) in system_files.iter().zip(system) {
        match item {
            Some(item) => first.push(item),
            None => {
                return Err(Failure::new(
                    Code::BackupCorrupt,
                    format!(
                        "the backup in {} has no {}, a file of innodb_data_file_path = {}; \
                         check innodb_data_file_path in your option files against the \
                         backup's backup-my.cnf",
                        target.display(),
                        file.base_name().to_string_lossy(),
                        system_files
                            .iter()
                            .map(|f| f.name.as_str())
                            .collect::<Vec<_>>()
                            .join(";")
                    ),
                ))
            }
        }
    }

    let dirs: BTreeSet<PathBuf> = listing.dirs.iter().map(|d| dests.datadir.join(d)).collect();
    Ok(Plan {
        first,
        rest,
        dirs: dirs.into_iter().collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ibdata() -> Vec<SystemFile> {
        parse_data_file_path("ibdata1:12M:autoextend").unwrap()
    }

    #[test]
    fn data_file_path() {
        let files = parse_data_file_path("ibdata1:12M;ibdata2:50M:autoextend:max:1G").unwrap();
        let names: Vec<_> = files.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["ibdata1", "ibdata2"]);
        let files = parse_data_file_path("/abs/dir/ibdata1:10M:autoextend").unwrap();
        assert_eq!(files[0].base_name(), "ibdata1");
        assert_eq!(parse_data_file_path(""), None);
        assert_eq!(parse_data_file_path(":12M"), None);
    }

    #[test]
    fn classification() {
        let sys = ibdata();
        let c = |p: &str| classify(Path::new(p), &sys);
        assert_eq!(c("backup-my.cnf"), Class::Skip);
        assert_eq!(c("xtrabackup_checkpoints"), Class::Skip);
        assert_eq!(c("xtrabackup_binlog_info"), Class::Skip);
        assert_eq!(c("db/t.ibd.qp"), Class::Skip);
        assert_eq!(c("db/t.ibd.zst"), Class::Skip);
        assert_eq!(c("ibdata1.lz4"), Class::Skip);
        assert_eq!(c("db/t.ibd.delta"), Class::Skip);
        assert_eq!(c("db/t.ibd.meta"), Class::Skip);
        assert_eq!(c(".xtrabackup_info.hotbackup-tmp.4711.0"), Class::Skip);
        assert_eq!(c("db/.t.ibd.hotbackup-tmp"), Class::Skip);
        assert_eq!(c(".ibdata1.hotbackup-tmp"), Class::Skip);
        assert_eq!(c("xtrabackup_info"), Class::Other);
        assert_eq!(c("xtrabackup_binlog_pos_innodb"), Class::Other);
        assert_eq!(c("xtrabackup_slave_info"), Class::Other);
        assert_eq!(c("xtrabackup_galera_info"), Class::Other);
        assert_eq!(c("db/t.new"), Class::Unprepared);
        assert_eq!(c("db/t.ren"), Class::Unprepared);
        assert_eq!(c("db/t.del"), Class::Unprepared);
        assert_eq!(c("aria_log_control"), Class::Aria);
        assert_eq!(c("aria_log.00000001"), Class::Aria);
        assert_eq!(c("aria_log.x"), Class::Other);
        assert_eq!(c("undo001"), Class::Undo(1));
        assert_eq!(c("undo12"), Class::Undo(12));
        assert_eq!(c("undo"), Class::Other);
        assert_eq!(c("undo001.bak"), Class::Other);
        assert_eq!(c("db/undo001"), Class::Other);
        assert_eq!(c("ib_logfile0"), Class::RedoLog);
        assert_eq!(c("db/ib_logfile0"), Class::Other);
        assert_eq!(c("ibdata1"), Class::SystemTablespace(0));
        assert_eq!(c("ibdata2"), Class::Other);
        assert_eq!(c("db/ibdata1"), Class::Other);
        assert_eq!(c("db/t.frm"), Class::Other);
    }

    #[test]
    fn isl() {
        assert_eq!(
            parse_isl(b"/srv/remote/zoo/t.ibd\n").unwrap(),
            PathBuf::from("/srv/remote/zoo/t.ibd")
        );
        assert_eq!(
            parse_isl(b"/srv/remote/zoo/t#P#p0.ibd").unwrap(),
            PathBuf::from("/srv/remote/zoo/t#P#p0.ibd")
        );
        assert!(parse_isl(b"").is_err());
        assert!(parse_isl(b"  \n").is_err());
        assert!(parse_isl(b"zoo/t.ibd").is_err());
        assert!(parse_isl(b"/a/t.frm").is_err());
        assert!(parse_isl(b"/a/t.ibd\n/b/t.ibd").is_err());
    }

    fn dests() -> Dests {
        Dests {
            datadir: "/d".into(),
            data_home: "/h".into(),
            log_dir: "/l".into(),
            undo_dir: "/u".into(),
            aria_dir: "/a".into(),
        }
    }

    #[test]
    fn plan_order_and_destinations() {
        let listing = Listing {
            files: [
                "aria_log.00000001",
                "aria_log_control",
                "backup-my.cnf",
                "db/r.ibd",
                "db/r.isl",
                "db/t.frm",
                "db/t.ibd",
                "ib_logfile0",
                "ibdata1",
                "undo002",
                "undo001",
                "xtrabackup_checkpoints",
                "xtrabackup_info",
            ]
            .iter()
            .map(PathBuf::from)
            .collect(),
            dirs: vec!["db".into(), "empty".into()],
        };
        let read_isl = |rel: &Path| -> Result<Vec<u8>, Failure> {
            assert_eq!(rel, Path::new("db/r.isl"));
            Ok(b"/remote/db/r.ibd\n".to_vec())
        };
        let plan = build(Path::new("/b"), &listing, &dests(), &ibdata(), &read_isl).unwrap();
        let first: Vec<_> = plan
            .first
            .iter()
            .map(|i| (i.shown_src.as_str(), i.shown_dest.as_str()))
            .collect();
        assert_eq!(
            first,
            [
                ("./aria_log_control", "/a/aria_log_control"),
                ("./aria_log.00000001", "/a/aria_log.00000001"),
                ("undo001", "/u/undo001"),
                ("undo002", "/u/undo002"),
                ("ib_logfile0", "/l/ib_logfile0"),
                ("ibdata1", "/h/./ibdata1"),
            ]
        );
        assert_eq!(plan.first[5].dest, PathBuf::from("/h/ibdata1"));
        let rest: Vec<_> = plan
            .rest
            .iter()
            .map(|i| (i.shown_src.as_str(), i.dest.to_str().unwrap()))
            .collect();
        assert_eq!(
            rest,
            [
                ("./db/r.ibd", "/remote/db/r.ibd"),
                ("./db/r.isl", "/d/db/r.isl"),
                ("./db/t.frm", "/d/db/t.frm"),
                ("./db/t.ibd", "/d/db/t.ibd"),
                ("./xtrabackup_info", "/d/xtrabackup_info"),
            ]
        );
        assert_eq!(plan.rest[0].remote_isl, Some(PathBuf::from("db/r.isl")));
        assert_eq!(
            plan.dirs,
            [PathBuf::from("/d/db"), PathBuf::from("/d/empty")]
        );
    }

    #[test]
    fn plan_refusals() {
        let no_isl = |_: &Path| -> Result<Vec<u8>, Failure> { unreachable!() };
        let listing = |files: &[&str]| Listing {
            files: files.iter().map(PathBuf::from).collect(),
            dirs: vec![],
        };
        let e = build(
            Path::new("/b"),
            &listing(&["ib_logfile0", "ibdata1", "db/t.new"]),
            &dests(),
            &ibdata(),
            &no_isl,
        )
        .unwrap_err();
        assert_eq!(e.code, Code::WrongState);
        assert!(e.message.contains("db/t.new"), "{}", e.message);
        let e = build(
            Path::new("/b"),
            &listing(&["ibdata1"]),
            &dests(),
            &ibdata(),
            &no_isl,
        )
        .unwrap_err();
        assert_eq!(e.code, Code::BackupCorrupt);
        assert!(e.message.contains("ib_logfile0"), "{}", e.message);
        let e = build(
            Path::new("/b"),
            &listing(&["ib_logfile0"]),
            &dests(),
            &ibdata(),
            &no_isl,
        )
        .unwrap_err();
        assert_eq!(e.code, Code::BackupCorrupt);
        assert!(e.message.contains("ibdata1"), "{}", e.message);
        let bad_isl = |_: &Path| -> Result<Vec<u8>, Failure> { Ok(b"relative/t.ibd".to_vec()) };
        let e = build(
            Path::new("/b"),
            &listing(&["ib_logfile0", "ibdata1", "db/t.ibd", "db/t.isl"]),
            &dests(),
            &ibdata(),
            &bad_isl,
        )
        .unwrap_err();
        assert_eq!(e.code, Code::BackupCorrupt);
        assert!(e.message.contains("db/t.isl"), "{}", e.message);
    }
}
