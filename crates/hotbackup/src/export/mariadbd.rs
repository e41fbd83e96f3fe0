//! The server over a backup: which `mariadbd` (and that it is 10.11's), its command line,
//! one `--bootstrap` run (the `.cfg` files of `--export`) or a throwaway server on a private
//! socket (`--restore-tables`), killed by PID on every path.

use std::ffi::OsString;
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};

/// Names the server binary to use, before any search.
pub const BINARY_ENV: &str = "HOTBACKUP_MARIADBD";

/// Searched after the directory of `hotbackup` itself and `$PATH`: Debian and RPM packages
/// put `mariadbd` in `/usr/sbin` (not on a normal user's `PATH`), tarballs in
/// `/usr/local/mysql/bin`.
const SEARCH_DIRS: &[&str] = &[
    "/usr/sbin",
    "/usr/local/sbin",
    "/usr/local/mysql/bin",
    "/usr/libexec",
    "/usr/bin",
    "/usr/local/bin",
];

/// How many of the server's last output lines a failure quotes.
const TAIL_LINES: usize = 20;

/// Where a server binary was looked for, for the message when none is found.
pub fn search_path() -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    if let Some(dir) = std::env::current_exe()
        .ok()
        .and_then(|e| e.parent().map(Path::to_path_buf))
    {
        dirs.push(dir);
    }
    if let Some(path) = std::env::var_os("PATH") {
        dirs.extend(std::env::split_paths(&path));
    }
    dirs.extend(SEARCH_DIRS.iter().map(PathBuf::from));
    dirs
}

/// The server binary: `$HOTBACKUP_MARIADBD` when set, else the first `mariadbd` (then
/// `mysqld`) next to `hotbackup`, on `$PATH`, or in the usual directories. mariadb-backup
/// runs itself as the server (`mariadb-backup --mysqld`); hotbackup is not a server.
pub fn find() -> Result<PathBuf, String> {
    if let Some(given) = std::env::var_os(BINARY_ENV) {
        let path = PathBuf::from(given);
        return if is_executable(&path) {
            Ok(path)
        } else {
            Err(format!(
                "{BINARY_ENV}={} is not an executable file: set it to MariaDB 10.11's mariadbd",
                path.display()
            ))
        };
    }
    let dirs = search_path();
    for name in ["mariadbd", "mysqld"] {
        if let Some(found) = dirs.iter().map(|d| d.join(name)).find(|p| is_executable(p)) {
            return Ok(found);
        }
    }
    let shown: Vec<String> = dirs.iter().map(|d| d.display().to_string()).collect();
    Err(format!(
        "no MariaDB server binary (mariadbd) found in {}: --export runs one over the \
         prepared backup to write the .cfg files; install MariaDB 10.11's server or set \
         {BINARY_ENV}=/path/to/mariadbd",
        shown.join(":")
    ))
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// The version `path --version` reports (`10.11.19-MariaDB-0+deb12u1`).
pub fn version(path: &Path) -> Result<String, String> {
    let out = Command::new(path)
        .arg("--version")
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run {} --version: {e}", path.display()))?;
    let text = String::from_utf8_lossy(&out.stdout);
    parse_version(&text).map(str::to_string).ok_or_else(|| {
        format!(
            "{} --version printed no MariaDB version ({:?}): is it a MariaDB server?",
            path.display(),
            text.trim()
        )
    })
}

/// The word after `Ver ` in `mariadbd --version`'s line.
fn parse_version(line: &str) -> Option<&str> {
    let rest = &line[line.find(" Ver ")? + 5..];
    rest.split_whitespace()
        .next()
        .filter(|v| major_minor(v).is_some())
}

/// `10.11` of `10.11.19-MariaDB-log`.
pub fn major_minor(version: &str) -> Option<(u32, u32)> {
    let mut parts = version.split(['.', '-']);
    Some((parts.next()?.parse().ok()?, parts.next()?.parse().ok()?))
}

/// Whether a server of version `server` may open a backup of `backup_server` (the
/// `server_version` of `xtrabackup_info`, `None` when unknown) without changing its format:
/// the same major version, and 10.11 (the format hotbackup prepares) when unknown. A newer
/// server would upgrade the files in place; an older one cannot read them.
pub fn check_version(server: &str, backup_server: Option<&str>) -> Result<(), String> {
    let want = backup_server.unwrap_or("10.11");
    match (major_minor(server), major_minor(want)) {
        (Some(have), Some(need)) if have == need => Ok(()),
        (_, Some((major, minor))) => Err(format!(
            "the server binary is MariaDB {server}, the backup needs {major}.{minor} \
             ({}): a server of another version would change the backup's files; set \
             {BINARY_ENV} to a {major}.{minor} mariadbd",
            if backup_server.is_some() {
                "its xtrabackup_info server_version"
            } else {
                "xtrabackup_info has no server_version; hotbackup prepares 10.11 backups"
            }
        )),
        (_, None) => Err(format!(
            "xtrabackup_info's server_version {want:?} is not a MariaDB version"
        )),
    }
}

/// What the server is started with, besides the backup it runs on.
pub struct Settings<'a> {
    /// The prepared backup: the server's datadir.
    pub target: &'a Path,
    /// The user's `--defaults-file` (absolute), read before `backup-my.cnf` as
    /// mariadb-backup does (it may load plugins, e.g. an encryption key plugin).
    pub defaults_file: Option<&'a Path>,
    /// `--defaults-group-suffix`.
    pub group_suffix: &'a str,
    /// `--use-memory`: the buffer pool.
    pub buffer_pool: u64,
    /// `--innodb-force-recovery` ≥ 1.
    pub force_recovery: bool,
    /// `None`: `--bootstrap` (statements on stdin). `Some(dir)`: a server that listens on
    /// `dir/mariadbd.sock` only (no TCP), its PID file in `dir`, without grant tables;
    /// `dir` must be private (0700): anyone who can reach the socket is a superuser.
    pub listen: Option<&'a Path>,
}

/// The socket of a server started with [`Settings::listen`] = `dir`.
pub fn socket_in(dir: &Path) -> PathBuf {
    dir.join("mariadbd.sock")
}

/// mariadb-backup 10.11's command line for `mariadb-backup --mysqld` (`prepare_export`),
/// with absolute paths, plus `--skip-networking` (bootstrap listens nowhere anyway) and
/// every data directory set to the backup.
/// Without a user's defaults file, `--log-error=` puts the server's log in
/// `<hostname>.err` in the backup, as there; with one, `--skip-log-error` (stderr).
pub fn arguments(s: &Settings) -> Vec<OsString> {
    let mut args: Vec<OsString> = Vec::new();
    let cnf = s.target.join("backup-my.cnf");
    match s.defaults_file {
        Some(file) => {
            args.push(join("--defaults-file=", file));
            args.push(join("--defaults-extra-file=", &cnf));
        }
        None => args.push(join("--defaults-file=", &cnf)),
    }
    args.push(format!("--defaults-group-suffix={}", s.group_suffix).into());
    args.push(join("--datadir=", s.target));
    // Not in mariadb-backup's line: a user's defaults file may name the live server's
    // directories (innodb_data_home_dir, ...), and backup-my.cnf does not override them.
    // Every file the server opens is the backup's.
    for option in [
        "--innodb-data-home-dir=",
        "--innodb-log-group-home-dir=",
        "--innodb-undo-directory=",
        "--aria-log-dir-path=",
    ] {
        args.push(join(option, s.target));
    }
    for a in ["--innodb", "--innodb-fast-shutdown=0", "--loose-partition"] {
        args.push(a.into());
    }
    args.push(format!("--innodb-buffer-pool-size={}", s.buffer_pool).into());
    // As mariadb-backup: its log in <hostname>.err unless the user gave a defaults file.
    args.push("--console".into());
    args.push(match s.defaults_file {
        Some(_) => "--skip-log-error".into(),
        None => "--log-error=".into(),
    });
    for a in ["--skip-log-bin", "--skip-networking"] {
        args.push(a.into());
    }
    match s.listen {
        None => args.push("--bootstrap".into()),
        Some(dir) => {
            args.push(join("--socket=", &socket_in(dir)));
            args.push(join("--pid-file=", &dir.join("mariadbd.pid")));
            for a in [
                "--skip-grant-tables",
                "--skip-slave-start",
                "--loose-skip-event-scheduler",
            ] {
                args.push(a.into());
            }
            // mariadbd refuses to run as root without being told to; the copy it runs on
            // belongs to the user running hotbackup.
            if unsafe { libc::geteuid() } == 0 {
                args.push("--user=root".into());
            }
        }
    }
    if s.force_recovery {
        args.push("--innodb-force-recovery=1".into());
    }
    args
}

fn join(option: &str, path: &Path) -> OsString {
    let mut s = OsString::from(option);
    s.push(path.as_os_str());
    s
}

/// How a server run ended.
pub struct Outcome {
    /// Its exit status.
    pub status: ExitStatus,
    /// Lines about missing tablespace files not shown (see [`run`]'s `partial`).
    pub hidden: usize,
    /// Its last lines on stdout/stderr (most of its log goes to `<hostname>.err`).
    pub tail: Vec<String>,
}

/// Runs `binary args` in `target` with `script` on stdin, its output copied to our stderr
/// line by line (as mariadb-backup shows it). With `partial` (the backup left tables out on
/// purpose), the server's complaints about missing tablespace files are not shown, as
/// mariadb-backup's own server does not make them; they are counted, and kept in the tail. Files it creates get mode 0640, directories
/// 0700 (`UMASK`, `UMASK_DIR`). It dies with this process (`PR_SET_PDEATHSIG`), in its own
/// process group (a terminal's Ctrl-C reaches hotbackup, whose death ends it), and it is
/// killed and reaped by PID if anything here fails before it exits.
pub fn run(
    binary: &Path,
    args: &[OsString],
    target: &Path,
    script: &str,
    partial: bool,
) -> std::io::Result<Outcome> {
    let mut command = command(binary, args, target);
    command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = Killer {
        child: command.spawn()?,
        reaped: false,
    };
    let tail = Arc::new(Mutex::new(Vec::new()));
    let hidden = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let relays: Vec<_> = [
        child
            .child
            .stdout
            .take()
            .map(|o| Box::new(o) as Box<dyn Read + Send>),
        child
            .child
            .stderr
            .take()
            .map(|e| Box::new(e) as Box<dyn Read + Send>),
    ]
    .into_iter()
    .flatten()
    .map(|out| {
        let (tail, hidden) = (Arc::clone(&tail), Arc::clone(&hidden));
        std::thread::spawn(move || relay(out, &tail, partial.then_some(&*hidden)))
    })
    .collect();
    if let Some(mut stdin) = child.child.stdin.take() {
        // A server that stopped reading has failed: its exit status says how.
        match stdin.write_all(script.as_bytes()) {
            Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => return Err(e),
            _ => {}
        }
    }
    let status = child.child.wait()?;
    child.reaped = true;
    for r in relays {
        let _ = r.join();
    }
    let tail = std::mem::take(&mut *tail.lock().unwrap_or_else(|p| p.into_inner()));
    let hidden = hidden.load(std::sync::atomic::Ordering::Relaxed);
    Ok(Outcome {
        status,
        hidden,
        tail,
    })
}

/// `binary args` in `target`: files it creates get mode 0640, directories 0700; it dies with
/// this process (`PR_SET_PDEATHSIG`) and runs in its own process group.
fn command(binary: &Path, args: &[OsString], target: &Path) -> Command {
    let mut command = Command::new(binary);
    command
        .args(args)
        .current_dir(target)
        .env("UMASK", "0640")
        .env("UMASK_DIR", "0700");
    // SAFETY: only async-signal-safe calls between fork and exec.
    let parent = unsafe { libc::getpid() };
    unsafe {
        command.pre_exec(move || {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0
                || libc::getppid() != parent
                || libc::setpgid(0, 0) != 0
            {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    command
}

/// A server started with [`Settings::listen`]: killed (SIGKILL, by its PID) and reaped when
/// dropped. It runs on a throwaway copy, so nothing needs a clean shutdown.
pub struct Running {
    child: Killer,
    output: PathBuf,
}

impl Running {
    /// The server's stdout and stderr (its log, with `--log-error=` in its datadir).
    pub fn output(&self) -> &Path {
        &self.output
    }

    /// Whether it has exited (and how).
    pub fn exited(&mut self) -> Option<ExitStatus> {
        let status = self.child.child.try_wait().ok().flatten();
        if status.is_some() {
            self.child.reaped = true;
        }
        status
    }
}

/// Starts `binary args` in `target` (args from [`arguments`] with `listen` = `dir`), its
/// output in `dir/mariadbd.out`. The caller waits for the socket.
pub fn start(
    binary: &Path,
    args: &[OsString],
    target: &Path,
    dir: &Path,
) -> std::io::Result<Running> {
    let output = dir.join("mariadbd.out");
    let out = std::fs::File::create(&output)?;
    let mut command = command(binary, args, target);
    command
        .stdin(Stdio::null())
        .stdout(out.try_clone()?)
        .stderr(out);
    Ok(Running {
        child: Killer {
            child: command.spawn()?,
            reaped: false,
        },
        output,
    })
}

/// What InnoDB 10.11 says when a tablespace of its dictionary has no file (the server's
/// `fil_ibd_open` and `os_file_handle_error` lines for ENOENT).
const MISSING_FILE_LINES: &[&str] = &[
    "InnoDB: Operating system error number 2 in a file operation",
    "InnoDB: Error number 2 means",
    "InnoDB: The error means the system cannot find the path specified",
    "InnoDB: If you are installing InnoDB, remember that you must create directories yourself",
    "InnoDB: Cannot open datafile for read-only",
    "InnoDB: Could not find a valid tablespace file for",
];

/// Whether `line` is one of the server's lines about a missing tablespace file.
fn about_missing_file(line: &str) -> bool {
    MISSING_FILE_LINES.iter().any(|m| line.contains(m))
}

/// Copies `out` to stderr line by line, keeping the last [`TAIL_LINES`]; with `hide`, lines
/// about missing tablespace files are counted there instead of shown.
fn relay(
    out: Box<dyn Read + Send>,
    tail: &Mutex<Vec<String>>,
    hide: Option<&std::sync::atomic::AtomicUsize>,
) {
    for line in BufReader::new(out).split(b'\n') {
        let Ok(line) = line else { break };
        let line = String::from_utf8_lossy(&line).into_owned();
        match hide {
            Some(count) if about_missing_file(&line) => {
                count.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
            _ => {
                let _ = writeln!(std::io::stderr().lock(), "{line}");
            }
        }
        let mut tail = tail.lock().unwrap_or_else(|p| p.into_inner());
        if tail.len() == TAIL_LINES {
            tail.remove(0);
        }
        tail.push(line);
    }
}

/// A running server: killed (SIGKILL, by its PID) and reaped when dropped before it exited.
struct Killer {
    child: Child,
    reaped: bool,
}

impl Drop for Killer {
    fn drop(&mut self) {
        if !self.reaped {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions() {
        assert_eq!(
            parse_version(
                "mariadbd  Ver 10.11.19-MariaDB-0+deb12u1 for debian-linux-gnu on x86_64 (Debian 12)\n"
            ),
            Some("10.11.19-MariaDB-0+deb12u1")
        );
        assert_eq!(
            parse_version("mysqld  Ver 8.0.36 for Linux"),
            Some("8.0.36")
        );
        assert_eq!(parse_version("hello"), None);
        for (server, backup, ok) in [
            ("10.11.19-MariaDB", Some("10.11.6-MariaDB-log"), true),
            ("10.11.19-MariaDB", None, true),
            ("11.4.2-MariaDB", Some("10.11.6-MariaDB-log"), false),
            ("10.6.2-MariaDB", Some("10.11.6-MariaDB-log"), false),
            ("11.4.2-MariaDB", None, false),
            ("10.11.19-MariaDB", Some("garbage"), false),
        ] {
            let r = check_version(server, backup);
            assert_eq!(r.is_ok(), ok, "{server} {backup:?}: {r:?}");
            if let Err(e) = r {
                assert!(e.contains(BINARY_ENV) || e.contains("not a MariaDB"), "{e}");
            }
        }
    }

    #[test]
    fn command_line() {
        let show = |s: &Settings| {
            arguments(s)
                .iter()
                .map(|a| a.to_string_lossy().into_owned())
                .collect::<Vec<_>>()
                .join(" ")
        };
        let mut s = Settings {
            target: Path::new("/b"),
            defaults_file: None,
            group_suffix: "",
            buffer_pool: 100663296,
            force_recovery: false,
            listen: None,
        };
        assert_eq!(
            show(&s),
            "--defaults-file=/b/backup-my.cnf --defaults-group-suffix= --datadir=/b \
             --innodb-data-home-dir=/b --innodb-log-group-home-dir=/b \
             --innodb-undo-directory=/b --aria-log-dir-path=/b --innodb \
             --innodb-fast-shutdown=0 --loose-partition --innodb-buffer-pool-size=100663296 \
             --console --log-error= --skip-log-bin --skip-networking --bootstrap"
        );
        s.defaults_file = Some(Path::new("/etc/my.cnf"));
        s.group_suffix = ".1";
        s.force_recovery = true;
        assert_eq!(
            show(&s),
            "--defaults-file=/etc/my.cnf --defaults-extra-file=/b/backup-my.cnf \
             --defaults-group-suffix=.1 --datadir=/b --innodb-data-home-dir=/b \
             --innodb-log-group-home-dir=/b --innodb-undo-directory=/b \
             --aria-log-dir-path=/b --innodb --innodb-fast-shutdown=0 \
             --loose-partition --innodb-buffer-pool-size=100663296 --console --skip-log-error \
             --skip-log-bin --skip-networking --bootstrap --innodb-force-recovery=1"
        );
        s.listen = Some(Path::new("/s"));
        let line = show(&s);
        assert!(
            line.contains(
                "--skip-log-bin --skip-networking --socket=/s/mariadbd.sock \
                 --pid-file=/s/mariadbd.pid --skip-grant-tables --skip-slave-start"
            ) && !line.contains("--bootstrap"),
            "{line}"
        );
    }

    #[test]
    fn killed_by_pid_when_dropped() {
        let child = Command::new("/bin/sleep").arg("100").spawn().unwrap();
        let pid = child.id() as libc::pid_t;
        drop(Killer {
            child,
            reaped: false,
        });
        // Reaped: the PID no longer exists (not even as a zombie).
        assert_eq!(unsafe { libc::kill(pid, 0) }, -1);
    }

    #[test]
    fn output_relayed_and_status_kept() {
        let dir = std::env::temp_dir();
        let out = run(
            Path::new("/bin/sh"),
            &[
                "-c".into(),
                "cat >/dev/null; echo one; echo two >&2; exit 3".into(),
            ],
            &dir,
            "input\n",
            false,
        )
        .unwrap();
        assert_eq!(out.status.code(), Some(3));
        let mut tail = out.tail.clone();
        tail.sort();
        assert_eq!(tail, ["one", "two"]);
        assert_eq!(out.hidden, 0);
    }

    #[test]
    fn missing_file_lines_are_counted_not_shown_for_a_partial_backup() {
        let script = "echo '2026-12-03 [ERROR] InnoDB: Could not find a valid tablespace file \
                      for `db2`.`t1`.'; echo '[ERROR] InnoDB: Operating system error number 2 \
                      in a file operation.'; echo '[Note] InnoDB: other'";
        for (partial, hidden) in [(false, 0), (true, 2)] {
            let out = run(
                Path::new("/bin/sh"),
                &["-c".into(), script.into()],
                &std::env::temp_dir(),
                "",
                partial,
            )
            .unwrap();
            assert_eq!(
                (out.hidden, out.tail.len()),
                (hidden, 3),
                "partial {partial}"
            );
        }
    }
}
