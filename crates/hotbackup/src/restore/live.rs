//! The live server a restore writes into: the session (no binlog, no foreign key checks),
//! the checks that it is on this host and of the backup's version, its tables' files, and
//! the placing of a `.ibd`/`.cfg` with the owner and mode of the server's own files.

use std::path::{Path, PathBuf};

use server::{quote_identifier, ConnectOptions, Session};

use crate::backup::discover::decode_filename;
use crate::exit::Code;
use crate::failure::Failure;

/// Test hook: the host name this machine is taken to have, to test the refusal of a server
/// on another host (a test cannot run a server that is not on its own host).
pub const TEST_HOSTNAME_ENV: &str = "HOTBACKUP_TEST_HOSTNAME";

/// Makes `SHOW CREATE TABLE` write the same text on the live and the throwaway server,
/// whatever their global `sql_mode` (`ANSI_QUOTES`, `NO_TABLE_OPTIONS`, ... change it).
pub const SHOW_CREATE_MODE: &str = "SET SESSION sql_mode = '', sql_quote_show_create = 1";

/// Seconds a restore statement waits for a table lock on the live server.
pub const LOCK_WAIT_S: u32 = 60;

/// The live server's session and what the restore needs to know about it.
pub struct Live {
    session: Session,
    /// Its `datadir`.
    pub datadir: PathBuf,
    /// Its `version`.
    pub version: String,
}

/// `` `db`.`t` ``.
pub fn sql_name(db: &str, table: &str) -> String {
    format!("{}.{}", quote_identifier(db), quote_identifier(table))
}

/// Connects, turns binary logging and foreign key checks off for this session, and checks
/// that the server runs on this host (exit 7 otherwise).
pub fn connect(conn: &ConnectOptions) -> Result<Live, Failure> {
    let mut session = Session::connect(conn)?;
    let vars = session.variables()?;
    let get = |n: &str| vars.get(n).unwrap_or("").to_string();
    // DISCARD/IMPORT on a replica would discard its tablespace and find no file to import:
    // a restore from a backup is this server's business, not its replicas'.
    if vars.is_on("log_bin") {
        session.exec("SET SESSION sql_log_bin = 0").map_err(|e| {
            Failure::new(
                Code::Failure,
                format!(
                    "cannot turn the binary log off for the restore (SET SESSION sql_log_bin \
                     = 0: {e}): the account needs the BINLOG ADMIN (or SUPER) privilege; \
                     hotbackup does not replicate DISCARD/IMPORT TABLESPACE to replicas. \
                     Nothing was changed"
                ),
            )
        })?;
    }
    // The backup's rows are imported as they were; a DISCARD of a table that others
    // reference needs this too.
    session.exec("SET SESSION foreign_key_checks = 0")?;
    session.exec(SHOW_CREATE_MODE)?;
    // DISCARD waits for every transaction using the table, and new ones queue behind it:
    // give up after a minute rather than stall the application.
    session.exec(&format!("SET SESSION lock_wait_timeout = {LOCK_WAIT_S}"))?;
    let datadir = PathBuf::from(get("datadir"));
    same_host(&get("hostname"), &datadir, &session.endpoint().to_string())?;
    let pid_file = datadir.join(get("pid_file"));
    server_process(&pid_file, &datadir).map_err(|why| {
        Failure::new(
            Code::WrongState,
            format!(
                "--restore-tables puts table files into the server's datadir, so the server \
                 must run on this host: {why}. Run hotbackup on the server's host, outside \
                 any container the server is not in (nothing was changed)"
            ),
        )
    })?;
    Ok(Live {
        session,
        datadir,
        version: get("version"),
    })
}

/// This machine's host name (or the test hook's).
fn local_hostname() -> String {
    if let Ok(name) = std::env::var(TEST_HOSTNAME_ENV) {
        return name;
    }
    let mut buf = [0u8; 256];
    // SAFETY: the buffer is writable for its length; gethostname NUL-terminates on success.
    if unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) } != 0 {
        return String::new();
    }
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    String::from_utf8_lossy(&buf[..end]).into_owned()
}

/// The server must be on this host: its `hostname` is ours and its `datadir` a directory
/// here (the table files are checked again before each one is touched).
fn same_host(server_host: &str, datadir: &Path, endpoint: &str) -> Result<(), Failure> {
    let here = local_hostname();
    let refuse = |why: String| {
        Failure::new(
            Code::WrongState,
            format!(
                "--restore-tables puts table files into the server's datadir, so the server \
                 must run on this host: {why}. Run hotbackup on the server's host (nothing was \
                 changed)"
            ),
        )
    };
    if server_host != here {
        return Err(refuse(format!(
            "the server at {endpoint} runs on host {server_host:?}, this is {here:?}"
        )));
    }
    if !datadir.is_dir() {
        return Err(refuse(format!(
            "its datadir {} is not a directory here",
            datadir.display()
        )));
    }
    Ok(())
}

/// The process of the server's pid file runs here, in its datadir (mariadbd works in its
/// datadir). A pid file this user may not read proves nothing either way and is passed.
fn server_process(pid_file: &Path, datadir: &Path) -> Result<(), String> {
    let text = match std::fs::read_to_string(pid_file) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(format!(
                "its pid file {} does not exist here",
                pid_file.display()
            ))
        }
        Err(_) => return Ok(()),
    };
    let pid: u32 = text
        .trim()
        .parse()
        .map_err(|_| format!("its pid file {} holds no PID", pid_file.display()))?;
    let proc = PathBuf::from(format!("/proc/{pid}"));
    if !proc.exists() {
        return Err(format!(
            "no process {pid} (its pid file {}) runs here",
            pid_file.display()
        ));
    }
    if let Ok(cwd) = std::fs::read_link(proc.join("cwd")) {
        let same = |a: &Path, b: &Path| {
            std::fs::canonicalize(a)
                .ok()
                .is_some_and(|a| Some(a) == std::fs::canonicalize(b).ok())
        };
        if !same(&cwd, datadir) {
            return Err(format!(
                "process {pid} of its pid file {} works in {}, not in its datadir {}",
                pid_file.display(),
                cwd.display(),
                datadir.display()
            ));
        }
    }
    Ok(())
}

/// Refuses (exit 7) a live server of another major version than the backup's.
pub fn check_version(live: &str, backup: Option<&str>) -> Result<(), Failure> {
    let want = backup.unwrap_or("10.11");
    let mm = crate::export::mariadbd::major_minor;
    if mm(live).is_some() && mm(live) == mm(want) {
        return Ok(());
    }
    Err(Failure::new(
        Code::WrongState,
        format!(
            "the live server is MariaDB {live}, the backup is of {want} ({}): a tablespace \
             of another major version is not imported safely; restore into a {} server \
             (nothing was changed)",
            if backup.is_some() {
                "xtrabackup_info server_version"
            } else {
                "xtrabackup_info says no server_version; hotbackup backs up 10.11"
            },
            want.split('-').next().unwrap_or(want)
        ),
    ))
}

impl Live {
    /// A statement; a failure is exit 1 with the statement.
    pub fn exec(&mut self, sql: &str) -> Result<(), Failure> {
        self.session
            .exec(sql)
            .map_err(|e| Failure::new(Code::Failure, format!("{sql} failed: {e}")))
    }

    /// `SHOW CREATE TABLE`, `None` when there is no such table.
    pub fn definition(&mut self, db: &str, table: &str) -> Result<Option<String>, Failure> {
        let q = |s: &str| self.session.quote_string(s);
        let exists = format!(
            "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = {} AND \
             TABLE_NAME = {}",
            q(db),
            q(table)
        );
        let n = self.session.query_value(&exists)?;
        if n.as_deref() == Some("0") {
            return Ok(None);
        }
        self.second_column(&format!("SHOW CREATE TABLE {}", sql_name(db, table)))
    }

    /// The second column of the first row `sql` returns (`SHOW CREATE TABLE`, `CHECKSUM
    /// TABLE`: the first is the table's name).
    fn second_column(&mut self, sql: &str) -> Result<Option<String>, Failure> {
        let rows = self
            .session
            .query_rows(sql)
            .map_err(|e| Failure::new(Code::Failure, format!("{sql} failed: {e}")))?;
        Ok(rows
            .into_iter()
            .next()
            .and_then(|r| r.get(1).cloned().flatten()))
    }

    /// Whether a global variable is `ON` (or 1).
    pub fn variable_on(&mut self, name: &str) -> Result<bool, Failure> {
        let v = self.session.variable(name)?;
        Ok(matches!(v.as_deref(), Some("ON" | "1")))
    }

    /// Whether the database exists.
    pub fn has_database(&mut self, db: &str) -> Result<bool, Failure> {
        let sql = format!(
            "SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = {}",
            self.session.quote_string(db)
        );
        Ok(self.session.query_value(&sql)?.as_deref() != Some("0"))
    }

    /// `CHECKSUM TABLE`'s value.
    pub fn checksum(&mut self, db: &str, table: &str) -> Result<Option<String>, Failure> {
        self.second_column(&format!("CHECKSUM TABLE {}", sql_name(db, table)))
    }

    /// The directory and file stem of a live table, found by its `.frm` under the datadir
    /// (exit 7 when absent: then the datadir is not the server's on this host).
    pub fn table_files(&self, db: &str, table: &str) -> Result<(PathBuf, String), Failure> {
        let missing = |what: String| {
            Failure::new(
                Code::WrongState,
                format!(
                    "{what} under the live server's datadir {}: the server reports the table, \
                     so this datadir is not the one it uses (another host, a container, or a \
                     bind mount?); run hotbackup where the server's files are",
                    self.datadir.display()
                ),
            )
        };
        let find = |dir: &Path, want: &str, suffix: &str| -> Option<String> {
            std::fs::read_dir(dir).ok()?.flatten().find_map(|e| {
                let name = e.file_name().to_str()?.to_string();
                let stem = name.strip_suffix(suffix)?;
                (decode_filename(stem) == want).then(|| stem.to_string())
            })
        };
        let db_dir = find(&self.datadir, db, "")
            .ok_or_else(|| missing(format!("no directory for database `{db}`")))?;
        let dir = self.datadir.join(db_dir);
        let stem = find(&dir, table, ".frm")
            .ok_or_else(|| missing(format!("no .frm for {}", sql_name(db, table))))?;
        Ok((dir, stem))
    }
}

/// Copies `from` to `to` (a new file: one left by an earlier failed attempt is replaced)
/// with the owner, group and mode of `like` (the table's `.frm`, written by the server),
/// and fsyncs it.
pub fn place(from: &Path, to: &Path, like: &std::fs::Metadata) -> Result<(), Failure> {
    use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
    match std::fs::remove_file(to) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(Failure::io(to, e)),
        _ => {}
    }
    let mut src = std::fs::File::open(from).map_err(|e| Failure::io(from, e))?;
    let mut dst = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .custom_flags(libc::O_NOFOLLOW)
        .mode(0o600)
        .open(to)
        .map_err(|e| Failure::io(to, e))?;
    std::io::copy(&mut src, &mut dst).map_err(|e| Failure::io(to, e))?;
    let meta = dst.metadata().map_err(|e| Failure::io(to, e))?;
    if (meta.uid(), meta.gid()) != (like.uid(), like.gid()) {
        std::os::unix::fs::fchown(&dst, Some(like.uid()), Some(like.gid())).map_err(|e| {
            Failure::io(
                to,
                std::io::Error::new(
                    e.kind(),
                    format!(
                        "cannot give it the owner of the server's files (uid {}, gid {}): {e}; \
                         run hotbackup as root or as the server's user",
                        like.uid(),
                        like.gid()
                    ),
                ),
            )
        })?;
    }
    dst.set_permissions(std::fs::Permissions::from_mode(like.mode() & 0o777))
        .map_err(|e| Failure::io(to, e))?;
    dst.sync_all().map_err(|e| Failure::io(to, e))
}

/// fsyncs a directory (the names placed in it).
pub fn sync_dir(dir: &Path) -> Result<(), Failure> {
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| Failure::io(dir, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions() {
        for (live, backup, ok) in [
            ("10.11.19-MariaDB-0+deb12u1", Some("10.11.18-MariaDB"), true),
            ("10.11.19-MariaDB", None, true),
            ("11.4.2-MariaDB", Some("10.11.18-MariaDB"), false),
            ("10.6.1-MariaDB", None, false),
            ("garbage", Some("garbage"), false),
        ] {
            let got = check_version(live, backup);
            assert_eq!(got.is_ok(), ok, "{live} {backup:?}");
            if let Err(f) = got {
                assert_eq!(f.code, Code::WrongState);
                assert!(f.message.contains("nothing was changed"), "{}", f.message);
            }
        }
    }

    #[test]
    fn server_processes() {
        let dir = std::env::temp_dir().join(format!("hb-restore-pid-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let here = std::env::current_dir().unwrap();
        let pid_file = dir.join("s.pid");
        assert!(server_process(&pid_file, &here)
            .unwrap_err()
            .contains("does not exist here"));
        std::fs::write(&pid_file, "junk\n").unwrap();
        assert!(server_process(&pid_file, &here)
            .unwrap_err()
            .contains("holds no PID"));
        // This test process works in `here`, not in `dir`.
        std::fs::write(&pid_file, format!("{}\n", std::process::id())).unwrap();
        assert_eq!(server_process(&pid_file, &here), Ok(()));
        assert!(server_process(&pid_file, &dir)
            .unwrap_err()
            .contains("not in its datadir"));
        std::fs::write(&pid_file, "2147483646\n").unwrap();
        assert!(server_process(&pid_file, &here)
            .unwrap_err()
            .contains("no process 2147483646"));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn places_with_the_servers_owner_and_mode() {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("hb-restore-place-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let (from, to, like) = (dir.join("a"), dir.join("b"), dir.join("t.frm"));
        std::fs::write(&from, b"tablespace").unwrap();
        std::fs::write(&like, b"frm").unwrap();
        std::fs::set_permissions(&like, std::fs::Permissions::from_mode(0o660)).unwrap();
        std::fs::write(&to, b"left by a failed attempt").unwrap();
        place(&from, &to, &std::fs::metadata(&like).unwrap()).unwrap();
        assert_eq!(std::fs::read(&to).unwrap(), b"tablespace");
        assert_eq!(
            std::fs::metadata(&to).unwrap().permissions().mode() & 0o777,
            0o660
        );
        sync_dir(&dir).unwrap();
        let _ = std::fs::remove_dir_all(&dir);
    }
}
