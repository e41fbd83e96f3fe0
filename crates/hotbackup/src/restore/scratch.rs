//! The throwaway server over a copy of the backup's selected tables: their definitions,
//! their checksums and their `.cfg` files come from MariaDB itself, and the user's backup is
//! never written.
//!
//! The copy (system tablespace, undo, log, `mysql/`, and the selected tables' files) goes in
//! a private (0700) directory next to the backup: `std::fs::copy` uses `copy_file_range`, so
//! a filesystem that reflinks (XFS, btrfs) shares the extents instead of copying bytes. The
//! server listens only on a socket in its own 0700 directory under `$TMPDIR`, without
//! networking, grant tables or binlog, and is killed by its PID on every path (drop).

use std::ffi::CString;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use server::{ConnectOptions, Session};

use super::select::Selected;
use crate::exit::Code;
use crate::export::{mariadbd, Server};
use crate::failure::Failure;
use crate::log::Log;
use crate::options::Options;

/// How long the throwaway server may take to start (InnoDB start-up on the copy).
const START_TIMEOUT: Duration = Duration::from_secs(300);

/// Top-level files of a backup the throwaway server does not need.
fn skipped_top_level(name: &str) -> bool {
    name.ends_with(".err") || name == "ib_buffer_pool" || name.ends_with(".ibd")
}

/// A directory made with `mkdtemp` (0700), removed with everything in it when dropped.
pub struct PrivateDir(PathBuf);

impl PrivateDir {
    /// A new directory `prefix` + 6 random characters.
    fn new(prefix: &Path) -> std::io::Result<PrivateDir> {
        use std::os::unix::ffi::OsStrExt;
        let mut template = prefix.as_os_str().as_bytes().to_vec();
        template.extend_from_slice(b"XXXXXX");
        let template = CString::new(template)
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
        let raw = template.into_raw();
        // SAFETY: `raw` is a NUL-terminated buffer that mkdtemp fills in place.
        let made = unsafe { libc::mkdtemp(raw) };
        let template = unsafe { CString::from_raw(raw) };
        if made.is_null() {
            return Err(std::io::Error::last_os_error());
        }
        Ok(PrivateDir(PathBuf::from(std::ffi::OsStr::from_bytes(
            template.as_bytes(),
        ))))
    }

    /// Its path.
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for PrivateDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The running throwaway server. Fields drop in order: the session, the server (killed by
/// PID), then both directories.
pub struct Scratch {
    session: Session,
    server: mariadbd::Running,
    copy: PrivateDir,
    _sockets: PrivateDir,
}

/// What of the backup the copy takes.
pub enum Wanted<'a> {
    /// A prepared backup: these tables (and the system files).
    Tables(&'a [Selected]),
    /// A backup not prepared yet: every file of these database directories (by directory
    /// name; its DDL markers `.new`/`.ren`/`.del` may name any of their tables), to be
    /// prepared.
    Databases(&'a [String]),
}

/// Copies what the throwaway server needs of `backup` into a new private directory next
/// to it.
pub fn copy(backup: &Path, wanted: Wanted, log: &Log) -> Result<PrivateDir, Failure> {
    let name = backup
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "backup".into());
    let parent = backup.parent().unwrap_or(Path::new("/"));
    let prefix = parent.join(format!(".{name}.restore-"));
    let copy = PrivateDir::new(&prefix).map_err(|e| {
        Failure::io(
            &prefix,
            std::io::Error::new(
                e.kind(),
                format!(
                    "cannot create the scratch copy next to the backup ({e}): \
                     --restore-tables never writes into the backup itself"
                ),
            ),
        )
    })?;
    let prepared = matches!(wanted, Wanted::Tables(_));
    let bytes = copy_needed(backup, copy.path(), &wanted)?;
    log.info(&format!(
        "Restore : copied {} MiB of the backup into {} (the backup is not written; \
         copy_file_range shares the extents where the filesystem reflinks){}",
        bytes >> 20,
        copy.path().display(),
        if prepared {
            ""
        } else {
            "; the backup is not prepared: preparing the copy (its selected databases whole)"
        }
    ));
    Ok(copy)
}

/// Starts the throwaway server on `copy` (prepared).
pub fn start(
    copy: PrivateDir,
    server: &Server,
    opts: &Options,
    log: &Log,
) -> Result<Scratch, Failure> {
    let tmp = std::env::temp_dir().join("hotbackup-restore-");
    let sockets = PrivateDir::new(&tmp).map_err(|e| Failure::io(&tmp, e))?;
    let args = mariadbd::arguments(&mariadbd::Settings {
        target: copy.path(),
        defaults_file: None,
        group_suffix: opts.defaults_group_suffix.as_deref().unwrap_or(""),
        buffer_pool: opts.use_memory,
        force_recovery: false,
        listen: Some(sockets.path()),
    });
    log.info(&format!(
        "Restore : starting {} (MariaDB {}) on the copy, socket {}",
        server.path.display(),
        server.version,
        mariadbd::socket_in(sockets.path()).display()
    ));
    let mut running =
        mariadbd::start(&server.path, &args, copy.path(), sockets.path()).map_err(|e| {
            Failure::new(
                Code::Failure,
                format!("cannot start {}: {e}", server.path.display()),
            )
        })?;
    let mut session = wait_ready(&mut running, sockets.path(), copy.path())?;
    session
        .exec(super::live::SHOW_CREATE_MODE)
        .map_err(|e| Failure::new(Code::Failure, format!("on the throwaway server: {e}")))?;
    Ok(Scratch {
        session,
        server: running,
        copy,
        _sockets: sockets,
    })
}

/// Connects once the server listens; fails with its last output if it exits or is slow.
fn wait_ready(
    running: &mut mariadbd::Running,
    sockets: &Path,
    copy: &Path,
) -> Result<Session, Failure> {
    let conn = ConnectOptions {
        socket: Some(mariadbd::socket_in(sockets)),
        user: Some("root".into()),
        io_timeout: Some(Duration::from_secs(3600)),
        ..ConnectOptions::default()
    };
    let deadline = Instant::now() + START_TIMEOUT;
    loop {
        if let Some(status) = running.exited() {
            return Err(Failure::new(
                Code::Failure,
                format!(
                    "the throwaway server over the backup's copy exited ({status}) before it \
                     accepted connections; the live server was not touched. {}",
                    last_words(running.output(), copy)
                ),
            ));
        }
        if mariadbd::socket_in(sockets).exists() {
            if let Ok(s) = Session::connect(&conn) {
                return Ok(s);
            }
        }
        if Instant::now() > deadline {
            return Err(Failure::new(
                Code::Failure,
                format!(
                    "the throwaway server over the backup's copy did not accept connections \
                     within {} s; the live server was not touched. {}",
                    START_TIMEOUT.as_secs(),
                    last_words(running.output(), copy)
                ),
            ));
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// The last lines of the server's output and of its `.err` log in the copy.
fn last_words(output: &Path, copy: &Path) -> String {
    let mut said = String::new();
    let mut files = vec![output.to_path_buf()];
    if let Ok(dir) = std::fs::read_dir(copy) {
        files.extend(
            dir.flatten()
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|e| e == "err")),
        );
    }
    for f in files {
        if let Ok(text) = std::fs::read_to_string(&f) {
            let lines: Vec<&str> = text.lines().collect();
            let n = lines.len().saturating_sub(12);
            if n < lines.len() {
                said.push_str(&format!(
                    "Last lines of {}:\n{}\n",
                    f.display(),
                    lines[n..].join("\n")
                ));
            }
        }
    }
    said
}

/// Copies into `copy` the backup's top-level files (system tablespace, undo, log,
/// `backup-my.cnf`, Aria log), `mysql/`, and what is `wanted`: of each selected table its
/// files (no `.cfg`: the server writes fresh ones) and of its database `db.opt` and the
/// fulltext tables; or whole database directories. Returns the bytes copied.
fn copy_needed(backup: &Path, copy: &Path, wanted: &Wanted) -> Result<u64, Failure> {
    let (prepared, selected, whole): (bool, &[Selected], Vec<&str>) = match wanted {
        Wanted::Tables(t) => (true, t, t.iter().map(|s| s.db_dir.as_str()).collect()),
        Wanted::Databases(d) => (false, &[], d.iter().map(String::as_str).collect()),
    };
    let mut bytes = 0;
    let mut copy_file = |rel: &Path| -> Result<(), Failure> {
        super::interrupted("the copy was complete")?;
        let from = backup.join(rel);
        let to = copy.join(rel);
        if let Some(dir) = to.parent() {
            if !dir.exists() {
                std::fs::DirBuilder::new()
                    .mode(0o700)
                    .create(dir)
                    .map_err(|e| Failure::io(dir, e))?;
            }
        }
        bytes += std::fs::copy(&from, &to).map_err(|e| Failure::io(&from, e))?;
        std::fs::set_permissions(&to, std::fs::Permissions::from_mode(0o640))
            .map_err(|e| Failure::io(&to, e))?;
        Ok(())
    };
    use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
    let list = |dir: &Path| -> Result<Vec<String>, Failure> {
        let mut names = Vec::new();
        for e in std::fs::read_dir(dir).map_err(|e| Failure::io(dir, e))? {
            let e = e.map_err(|e| Failure::io(dir, e))?;
            let is_file = e.file_type().map_err(|e| Failure::io(dir, e))?.is_file();
            if let (true, Some(n)) = (is_file, e.file_name().to_str()) {
                names.push(n.to_string());
            }
        }
        names.sort();
        Ok(names)
    };
    for name in list(backup)? {
        if !skipped_top_level(&name) || !prepared {
            copy_file(Path::new(&name))?;
        }
    }
    if backup.join("mysql").is_dir() {
        // Not the log tables' data (general_log/slow_log, CSV, possibly huge): the
        // throwaway server logs nothing.
        for name in list(&backup.join("mysql"))? {
            if !(name.ends_with(".CSV") || name.ends_with(".CSM")) {
                copy_file(&Path::new("mysql").join(name))?;
            }
        }
    }
    let mut dbs = whole;
    dbs.sort();
    dbs.dedup();
    for db in dbs {
        if db == "mysql" {
            continue;
        }
        let dir = backup.join(db);
        if !dir.is_dir() {
            continue;
        }
        for name in list(&dir)? {
            let wanted = !prepared
                || name == "db.opt"
                || name.starts_with("FTS_")
                || selected.iter().filter(|s| s.db_dir == db).any(|s| {
                    name.strip_prefix(s.stem.as_str()).is_some_and(|rest| {
                        (rest.starts_with('.') && !rest.ends_with(".cfg"))
                            || ((rest.starts_with("#P#") || rest.starts_with("#p#"))
                                && rest.ends_with(".ibd"))
                    })
                });
            if wanted {
                copy_file(&Path::new(db).join(name))?;
            }
        }
    }
    Ok(bytes)
}

impl Scratch {
    /// A file of the copy, by its path relative to the backup.
    pub fn file(&self, rel: &Path) -> PathBuf {
        self.copy.path().join(rel)
    }

    /// The throwaway server's output, for a failure message.
    pub fn last_words(&self) -> String {
        last_words(self.server.output(), self.copy.path())
    }

    /// A statement on the throwaway server; a failure names it and quotes the server's log.
    pub fn exec(&mut self, sql: &str) -> Result<(), Failure> {
        self.session.exec(sql).map_err(|e| self.failed(sql, e))
    }

    /// The first row of a query's result.
    pub fn row(&mut self, sql: &str) -> Result<Vec<Option<String>>, Failure> {
        let rows = self
            .session
            .query_rows(sql)
            .map_err(|e| self.failed(sql, e))?;
        rows.into_iter().next().ok_or_else(|| {
            Failure::new(
                Code::Failure,
                format!("the throwaway server over the backup returned no row for {sql}"),
            )
        })
    }

    fn failed(&self, sql: &str, e: server::ServerError) -> Failure {
        Failure::new(
            Code::Failure,
            format!(
                "on the throwaway server over the backup, {sql} failed: {e}; the live server's \
                 tables are as they were before this statement. {}",
                self.last_words()
            ),
        )
    }
}
