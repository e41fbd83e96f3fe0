//! [`TestServer`]: a throwaway `mariadbd` in its own temporary directory.

use std::fmt::Write as _;
use std::fs::OpenOptions;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use mysql::prelude::Queryable;

use crate::binaries::{find_mariadb, MariaDb};
use crate::dir::TestDir;
use crate::process;

/// `sun_path` is 108 bytes on Linux; stay well below so that a longer base dir in CI still
/// fits (`start_mariadb.sh` uses the same limit).
const MAX_SOCKET_PATH: usize = 100;

/// Offset of `FSP_SPACE_FLAGS` in page 0: `FIL_PAGE_DATA` (38) + `FSP_SPACE_FLAGS` (16).
const FSP_FLAGS_OFFSET: usize = 38 + 16;

/// `innodb_page_size` of a new server. MariaDB supports exactly these five.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PageSize {
    /// 4 KiB pages.
    K4,
    /// 8 KiB pages.
    K8,
    /// 16 KiB pages, the default.
    K16,
    /// 32 KiB pages.
    K32,
    /// 64 KiB pages.
    K64,
}

impl PageSize {
    /// Every supported page size, smallest first.
    pub const ALL: [PageSize; 5] = [
        PageSize::K4,
        PageSize::K8,
        PageSize::K16,
        PageSize::K32,
        PageSize::K64,
    ];

    /// Size in bytes.
    pub fn bytes(self) -> u32 {
        match self {
            PageSize::K4 => 4096,
            PageSize::K8 => 8192,
            PageSize::K16 => 16384,
            PageSize::K32 => 32768,
            PageSize::K64 => 65536,
        }
    }

    /// The page size with this many bytes, if MariaDB supports it.
    pub fn from_bytes(bytes: u32) -> Option<PageSize> {
        PageSize::ALL.into_iter().find(|p| p.bytes() == bytes)
    }

    /// Value for `innodb_page_size=` in my.cnf.
    pub fn as_option(self) -> &'static str {
        match self {
            PageSize::K4 => "4k",
            PageSize::K8 => "8k",
            PageSize::K16 => "16k",
            PageSize::K32 => "32k",
            PageSize::K64 => "64k",
        }
    }

    /// `ROW_FORMAT=COMPRESSED` exists only for page sizes up to 16 KiB.
    pub fn supports_compressed(self) -> bool {
        self.bytes() <= 16384
    }
}

/// Options for a [`TestServer`]; start it with [`ServerBuilder::start`].
///
/// Defaults are tiny on purpose (tests run on 2 cores next to compilers): 32 MiB buffer
/// pool, 16 MiB redo log, 16 KiB pages, no binlog, no TCP.
#[derive(Debug, Clone)]
pub struct ServerBuilder {
    binaries: Option<MariaDb>,
    name: String,
    base_dir: Option<PathBuf>,
    existing_datadir: Option<PathBuf>,
    page_size: Option<PageSize>,
    buffer_pool_size: u64,
    log_file_size: u64,
    binlog: bool,
    server_id: u32,
    undo_tablespaces: Option<u32>,
    general_log: bool,
    tcp_port: Option<u16>,
    extra_options: Vec<String>,
    startup_timeout: Duration,
    shutdown_timeout: Duration,
}

impl Default for ServerBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl ServerBuilder {
    /// Defaults: see the type docs.
    pub fn new() -> Self {
        Self {
            binaries: None,
            name: "srv".into(),
            base_dir: None,
            existing_datadir: None,
            page_size: None,
            buffer_pool_size: 32 << 20,
            log_file_size: 16 << 20,
            binlog: false,
            server_id: 1,
            undo_tablespaces: None,
            general_log: false,
            tcp_port: None,
            extra_options: Vec::new(),
            startup_timeout: Duration::from_secs(90),
            shutdown_timeout: Duration::from_secs(60),
        }
    }

    /// Use these programs instead of searching for them at [`ServerBuilder::start`].
    pub fn binaries(mut self, binaries: MariaDb) -> Self {
        self.binaries = Some(binaries);
        self
    }

    /// Short label in the directory name (`hb-<name>-...`), to tell servers apart.
    pub fn name(mut self, name: &str) -> Self {
        self.name = name.to_string();
        self
    }

    /// Parent of the server's temporary directory (default `$HOTBACKUP_TEST_TMPDIR` or the
    /// system temp dir).
    pub fn base_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.base_dir = Some(dir.into());
        self
    }

    /// Start on this existing datadir (e.g. a restored backup) instead of creating one;
    /// `mariadb-install-db` is never run and the directory is never removed by testkit.
    /// If [`ServerBuilder::page_size`] is not given it is read from `ibdata1`.
    pub fn existing_datadir(mut self, datadir: impl Into<PathBuf>) -> Self {
        self.existing_datadir = Some(datadir.into());
        self
    }

    /// `innodb_page_size` (default 16k). Fixed when the datadir is created.
    pub fn page_size(mut self, page_size: PageSize) -> Self {
        self.page_size = Some(page_size);
        self
    }

    /// `innodb_buffer_pool_size` in bytes (default 32 MiB).
    pub fn buffer_pool_size(mut self, bytes: u64) -> Self {
        self.buffer_pool_size = bytes;
        self
    }

    /// `innodb_log_file_size` in bytes (default 16 MiB). A small log makes the server
    /// wrap it quickly, which is what the redo tailer must survive.
    pub fn log_file_size(mut self, bytes: u64) -> Self {
        self.log_file_size = bytes;
        self
    }

    /// Binary log on (`log_bin=mysql-bin`, `binlog_format=ROW`, `log_slave_updates`).
    pub fn binlog(mut self, on: bool) -> Self {
        self.binlog = on;
        self
    }

    /// `server_id` (default 1).
    pub fn server_id(mut self, id: u32) -> Self {
        self.server_id = id;
        self
    }

    /// `innodb_undo_tablespaces` (separate `undo001`... files); fixed at datadir creation.
    pub fn undo_tablespaces(mut self, n: u32) -> Self {
        self.undo_tablespaces = Some(n);
        self
    }

    /// General query log into `<dir>/general.log`.
    pub fn general_log(mut self, on: bool) -> Self {
        self.general_log = on;
        self
    }

    /// Also listen on TCP `127.0.0.1:port` (default: `skip-networking`, socket only).
    pub fn tcp_port(mut self, port: u16) -> Self {
        self.tcp_port = Some(port);
        self
    }

    /// Extra `[mysqld]` line, e.g. `"innodb_flush_log_at_trx_commit=2"` or
    /// `"loose-innodb_encrypt_tables=ON"`. Written after the builder's own options, so it
    /// overrides them.
    pub fn option(mut self, line: &str) -> Self {
        self.extra_options.push(line.to_string());
        self
    }

    /// How long to wait for the server to answer `SELECT 1` (default 90 s).
    pub fn startup_timeout(mut self, timeout: Duration) -> Self {
        self.startup_timeout = timeout;
        self
    }

    /// How long [`TestServer::stop`] waits after SIGTERM before SIGKILL (default 60 s).
    pub fn shutdown_timeout(mut self, timeout: Duration) -> Self {
        self.shutdown_timeout = timeout;
        self
    }

    /// Writes `my.cnf`, creates the datadir if new, starts `mariadbd` and waits until it
    /// answers. On failure the half-started server is killed and the error includes the
    /// tail of its error log.
    pub fn start(self) -> Result<TestServer> {
        let binaries = match self.binaries.clone() {
            Some(b) => b,
            None => find_mariadb()?,
        };
        let dir = match &self.base_dir {
            Some(base) => TestDir::new_in(base, &self.name)?,
            None => TestDir::new(&self.name)?,
        };
        let root = dir.path().to_path_buf();
        let (datadir, init) = match &self.existing_datadir {
            Some(existing) => {
                let datadir = existing.canonicalize().with_context(|| {
                    format!("existing datadir {} is not accessible", existing.display())
                })?;
                if !datadir.join("mysql").is_dir() {
                    bail!(
                        "existing datadir {} has no mysql/ system schema; is it a complete \
                         (copied-back) datadir?",
                        datadir.display()
                    );
                }
                (datadir, false)
            }
            None => {
                let datadir = root.join("data");
                std::fs::create_dir(&datadir)
                    .with_context(|| format!("cannot create {}", datadir.display()))?;
                (datadir, true)
            }
        };
        let page_size = match (self.page_size, init) {
            (Some(p), _) => Some(p),
            (None, true) => None,
            // The server refuses to start when innodb_page_size differs from the files.
            (None, false) => detect_page_size(&datadir.join("ibdata1"))?,
        };
        let mut socket = root.join("mysqld.sock");
        let mut external_socket = None;
        if socket.as_os_str().len() >= MAX_SOCKET_PATH {
            // A long base dir must not make the test fail: put only the socket in /tmp.
            // The directory name is already unique (pid, counter, nanos) and short.
            let unique = root
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            socket = PathBuf::from(format!("/tmp/{unique}.sock"));
            if socket.as_os_str().len() >= MAX_SOCKET_PATH {
                bail!(
                    "socket path {} is too long for a unix socket; use a shorter base dir",
                    socket.display()
                );
            }
            external_socket = Some(socket.clone());
        }
        // A private tmpdir: servers sharing /tmp delete each other's `#sql-temptable-*`
        // files (seen as a flaky "Unknown table 'mysql.tmp_user_sys'" in install-db).
        let tmpdir = root.join("tmp");
        std::fs::create_dir(&tmpdir)
            .with_context(|| format!("cannot create {}", tmpdir.display()))?;
        let paths = ServerPaths {
            tmpdir,
            cnf: root.join("my.cnf"),
            error_log: root.join("error.log"),
            pid_file: root.join("mysqld.pid"),
            general_log: root.join("general.log"),
            datadir,
            socket,
        };
        let is_root = is_root();
        std::fs::write(&paths.cnf, self.render_cnf(&paths, page_size, is_root))
            .with_context(|| format!("cannot write {}", paths.cnf.display()))?;
        if init {
            run_install_db(&binaries, &paths, &root, is_root)?;
        }
        let opts = mysql::OptsBuilder::new()
            .socket(Some(paths.socket.to_string_lossy().into_owned()))
            .user(Some("root"))
            .tcp_connect_timeout(Some(Duration::from_secs(5)));
        let mut server = TestServer {
            binaries,
            paths,
            external_socket,
            tcp_port: self.tcp_port,
            page_size,
            opts: mysql::Opts::from(opts),
            child: None,
            version: String::new(),
            cached_conn: Mutex::new(None),
            startup_timeout: self.startup_timeout,
            shutdown_timeout: self.shutdown_timeout,
            dir,
        };
        server.restart()?;
        Ok(server)
    }

    fn render_cnf(
        &self,
        paths: &ServerPaths,
        page_size: Option<PageSize>,
        is_root: bool,
    ) -> String {
        let mut cnf = String::new();
        // `write!` into a String cannot fail; the results are ignored for brevity.
        let _ = writeln!(
            cnf,
            "# generated by hotbackup testkit; the server reads only this file"
        );
        let _ = writeln!(cnf, "[client]");
        let _ = writeln!(cnf, "socket={}", paths.socket.display());
        let _ = writeln!(cnf, "user=root");
        if let Some(port) = self.tcp_port {
            let _ = writeln!(cnf, "port={port}");
        }
        let _ = writeln!(cnf, "\n[mysqld]");
        let _ = writeln!(cnf, "datadir={}", paths.datadir.display());
        let _ = writeln!(cnf, "socket={}", paths.socket.display());
        let _ = writeln!(cnf, "pid-file={}", paths.pid_file.display());
        let _ = writeln!(cnf, "log-error={}", paths.error_log.display());
        let _ = writeln!(cnf, "tmpdir={}", paths.tmpdir.display());
        if is_root {
            // mariadbd refuses to run as root unless told to.
            let _ = writeln!(cnf, "user=root");
        }
        match self.tcp_port {
            Some(port) => {
                let _ = writeln!(cnf, "port={port}\nbind-address=127.0.0.1");
            }
            None => {
                let _ = writeln!(cnf, "skip-networking");
            }
        }
        let _ = writeln!(cnf, "innodb_buffer_pool_size={}", self.buffer_pool_size);
        let _ = writeln!(cnf, "innodb_log_file_size={}", self.log_file_size);
        if let Some(page_size) = page_size {
            let _ = writeln!(cnf, "innodb_page_size={}", page_size.as_option());
        }
        if let Some(n) = self.undo_tablespaces {
            let _ = writeln!(cnf, "innodb_undo_tablespaces={n}");
        }
        let _ = writeln!(cnf, "server_id={}", self.server_id);
        if self.binlog {
            let _ = writeln!(
                cnf,
                "log_bin=mysql-bin\nbinlog_format=ROW\nlog_slave_updates=ON"
            );
        }
        if self.general_log {
            let _ = writeln!(cnf, "general_log=ON");
            let _ = writeln!(cnf, "general_log_file={}", paths.general_log.display());
        }
        for line in &self.extra_options {
            let _ = writeln!(cnf, "{line}");
        }
        cnf
    }
}

#[derive(Debug)]
struct ServerPaths {
    tmpdir: PathBuf,
    cnf: PathBuf,
    error_log: PathBuf,
    pid_file: PathBuf,
    general_log: PathBuf,
    datadir: PathBuf,
    socket: PathBuf,
}

fn is_root() -> bool {
    // SAFETY: geteuid(2) has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// Reads the page size from the FSP flags of `ibdata1` page 0, in either flag layout.
fn detect_page_size(ibdata1: &Path) -> Result<Option<PageSize>> {
    use std::io::Read;
    let mut head = [0u8; FSP_FLAGS_OFFSET + 4];
    let mut file = match std::fs::File::open(ibdata1) {
        Ok(f) => f,
        // No ibdata1: let the server decide (and complain with its own message).
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(err) => return Err(err).with_context(|| format!("cannot open {}", ibdata1.display())),
    };
    file.read_exact(&mut head)
        .with_context(|| format!("cannot read page 0 of {}", ibdata1.display()))?;
    let flags = u32::from_be_bytes([
        head[FSP_FLAGS_OFFSET],
        head[FSP_FLAGS_OFFSET + 1],
        head[FSP_FLAGS_OFFSET + 2],
        head[FSP_FLAGS_OFFSET + 3],
    ]);
    // full_crc32 layout (marker bit 4): page ssize in bits 0..4; old layout: bits 6..10.
    let ssize = if flags & (1 << 4) != 0 {
        flags & 0xf
    } else {
        (flags >> 6) & 0xf
    };
    let bytes = if ssize == 0 { 16384 } else { 512u32 << ssize };
    PageSize::from_bytes(bytes).map(Some).with_context(|| {
        format!(
            "{}: FSP flags {flags:#x} give an unsupported page size {bytes}; pass page_size()",
            ibdata1.display()
        )
    })
}

fn run_install_db(
    binaries: &MariaDb,
    paths: &ServerPaths,
    root: &Path,
    is_root: bool,
) -> Result<()> {
    let log_path = root.join("install-db.log");
    let log = std::fs::File::create(&log_path)
        .with_context(|| format!("cannot create {}", log_path.display()))?;
    let log_err = log
        .try_clone()
        .with_context(|| format!("cannot dup {}", log_path.display()))?;
    let mut command = Command::new(&binaries.install_db);
    // --defaults-file must come first; it carries page size, undo and log settings so the
    // bootstrap server creates the files the real server will expect.
    command.arg(format!("--defaults-file={}", paths.cnf.display()));
    if is_root {
        command.arg("--user=root");
    }
    command
        .arg("--auth-root-authentication-method=normal")
        .arg("--skip-test-db")
        .arg(format!("--datadir={}", paths.datadir.display()))
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(log_err);
    let mut child = process::spawn_tied(command)?;
    let status = process::wait_timeout(&mut child, Duration::from_secs(180))?;
    // The bootstrap server logs to log-error, install-db's own output says little.
    let tail = || {
        format!(
            "{}\n--- {} ends with:\n{}",
            tail_lines(&log_path, 10),
            paths.error_log.display(),
            tail_lines(&paths.error_log, 30)
        )
    };
    match status {
        Some(s) if s.success() => Ok(()),
        Some(s) => bail!(
            "mariadb-install-db failed ({s}) for {}; see {}:\n{}",
            paths.datadir.display(),
            log_path.display(),
            tail()
        ),
        None => {
            process::kill_and_reap(&mut child)?;
            bail!(
                "mariadb-install-db did not finish within 180 s (killed); see {}:\n{}",
                log_path.display(),
                tail()
            )
        }
    }
}

/// The last `n` lines of a text file, or a note that it cannot be read.
pub(crate) fn tail_lines(path: &Path, n: usize) -> String {
    match std::fs::read(path) {
        Ok(bytes) => {
            let text = String::from_utf8_lossy(&bytes);
            let lines: Vec<&str> = text.lines().collect();
            lines[lines.len().saturating_sub(n)..].join("\n")
        }
        Err(err) => format!("(cannot read {}: {err})", path.display()),
    }
}

/// A running (or stopped) throwaway `mariadbd`.
///
/// Layout of [`TestServer::dir`]: `my.cnf`, `data/` (unless an existing datadir was given),
/// `mysqld.sock`, `mysqld.pid`, `error.log`, `install-db.log`, `general.log`.
///
/// Dropping it stops the server by PID (SIGTERM, then SIGKILL after the shutdown timeout)
/// and removes the directory unless `HOTBACKUP_KEEP_TEST_DIRS=1`. This also happens when
/// the test panics; then the tail of the error log is printed as well.
///
/// The SQL helpers ([`TestServer::exec`] etc.) share one cached connection, so session
/// state (`USE db`, `SET @x`) carries from one call to the next; use [`TestServer::conn`]
/// for a connection of your own (e.g. in another thread).
#[derive(Debug)]
pub struct TestServer {
    binaries: MariaDb,
    paths: ServerPaths,
    external_socket: Option<PathBuf>,
    tcp_port: Option<u16>,
    page_size: Option<PageSize>,
    opts: mysql::Opts,
    child: Option<Child>,
    version: String,
    pub(crate) cached_conn: Mutex<Option<mysql::Conn>>,
    startup_timeout: Duration,
    shutdown_timeout: Duration,
    // Last field: dropped after the server is stopped in `Drop::drop`.
    dir: TestDir,
}

impl TestServer {
    /// A builder with default options (finds the MariaDB programs at start).
    pub fn builder() -> ServerBuilder {
        ServerBuilder::new()
    }

    /// PID of the running `mariadbd`, `None` when stopped.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Whether the server process is still alive (it may have crashed on its own).
    pub fn is_running(&mut self) -> bool {
        match self.child.as_mut().map(Child::try_wait) {
            Some(Ok(None)) => true,
            Some(Ok(Some(_))) => {
                self.child = None;
                false
            }
            Some(Err(_)) | None => false,
        }
    }

    /// The unix socket the server listens on.
    pub fn socket_path(&self) -> &Path {
        &self.paths.socket
    }

    /// The TCP port on 127.0.0.1, when one was configured.
    pub fn tcp_port(&self) -> Option<u16> {
        self.tcp_port
    }

    /// The data directory.
    pub fn datadir(&self) -> &Path {
        &self.paths.datadir
    }

    /// The `my.cnf` the server was started with (`--defaults-file`); it also has a
    /// `[client]` group, so `mariadb --defaults-file=<it>` connects.
    pub fn cnf_path(&self) -> &Path {
        &self.paths.cnf
    }

    /// The server's error log.
    pub fn error_log_path(&self) -> &Path {
        &self.paths.error_log
    }

    /// Where the general query log goes when enabled.
    pub fn general_log_path(&self) -> &Path {
        &self.paths.general_log
    }

    /// The server's own temporary directory (cnf, logs, socket, and `data/` when new).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Keep the server's directory after drop (for a test that wants to look at it).
    pub fn keep_dir(&mut self) {
        self.dir.keep();
    }

    /// `SELECT VERSION()` as reported at the last start, e.g. `10.11.19-MariaDB-0+deb12u1`.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// The configured `innodb_page_size`, `None` when the server default (16k) is used.
    pub fn page_size(&self) -> Option<PageSize> {
        self.page_size
    }

    /// The MariaDB programs this server runs.
    pub fn binaries(&self) -> &MariaDb {
        &self.binaries
    }

    /// Connection options (unix socket, user root, no password).
    pub fn mysql_opts(&self) -> mysql::Opts {
        self.opts.clone()
    }

    /// The last `n` lines of the error log.
    pub fn error_log_tail(&self, n: usize) -> String {
        tail_lines(&self.paths.error_log, n)
    }

    /// `mariadb-backup --defaults-file=<my.cnf> --socket=<sock> --user=root`, ready for
    /// more arguments (`--backup --target-dir=...`). The oracle for hotbackup's output.
    pub fn mariadb_backup_command(&self) -> Result<Command> {
        let mut command = Command::new(self.binaries.backup_program()?);
        command
            .arg(format!("--defaults-file={}", self.paths.cnf.display()))
            .arg(format!("--socket={}", self.paths.socket.display()))
            .arg("--user=root");
        Ok(command)
    }

    /// (Re)starts `mariadbd` on the same directory and options, e.g. after
    /// [`TestServer::kill9`] to run crash recovery. Errors if it is already running.
    pub fn restart(&mut self) -> Result<()> {
        if self.is_running() {
            bail!(
                "server pid {:?} is already running; stop() it first",
                self.pid()
            );
        }
        self.drop_cached_conn();
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.paths.error_log)
            .with_context(|| format!("cannot open {}", self.paths.error_log.display()))?;
        let log_err = log
            .try_clone()
            .with_context(|| format!("cannot dup {}", self.paths.error_log.display()))?;
        let mut command = Command::new(&self.binaries.mariadbd);
        command.arg(format!("--defaults-file={}", self.paths.cnf.display()));
        if is_root() {
            command.arg("--user=root");
        }
        // stdout/stderr catch what mariadbd prints before it opens log-error.
        command.stdin(Stdio::null()).stdout(log).stderr(log_err);
        let child = process::spawn_tied(command)?;
        self.child = Some(child);
        match self.wait_until_ready() {
            Ok(version) => {
                self.version = version;
                Ok(())
            }
            Err(err) => {
                // Never leave a half-started server behind.
                if let Some(mut child) = self.child.take() {
                    let _ = process::kill_and_reap(&mut child);
                }
                Err(err.context(format!(
                    "mariadbd (datadir {}) did not start; error log {} ends with:\n{}",
                    self.paths.datadir.display(),
                    self.paths.error_log.display(),
                    self.error_log_tail(40)
                )))
            }
        }
    }

    fn wait_until_ready(&mut self) -> Result<String> {
        let deadline = Instant::now() + self.startup_timeout;
        let mut last_err: String;
        loop {
            if !self.is_running() {
                bail!("mariadbd exited during startup");
            }
            match mysql::Conn::new(self.opts.clone()) {
                Ok(mut conn) => {
                    let version: Option<String> = conn
                        .query_first("SELECT VERSION()")
                        .context("server accepted the connection but SELECT VERSION() failed")?;
                    return version.context("SELECT VERSION() returned no row");
                }
                Err(mysql::Error::MySqlError(e)) if e.code == 1045 => {
                    bail!(
                        "server is up but refused root without password ({}); an existing \
                         datadir must allow root@localhost with no password",
                        e.message
                    );
                }
                Err(e) => last_err = e.to_string(),
            }
            if Instant::now() >= deadline {
                bail!(
                    "server did not answer on {} within {:?} (last error: {last_err})",
                    self.paths.socket.display(),
                    self.startup_timeout
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Clean shutdown by PID: SIGTERM, wait for exit (InnoDB flushes and writes its
    /// shutdown checkpoint), SIGKILL after the shutdown timeout, which is then an error.
    /// Stopping a stopped server does nothing.
    pub fn stop(&mut self) -> Result<()> {
        self.drop_cached_conn();
        let Some(mut child) = self.child.take() else {
            return Ok(());
        };
        let pid = child.id();
        if process::terminate(&mut child, self.shutdown_timeout)? {
            Ok(())
        } else {
            Err(anyhow!(
                "mariadbd pid {pid} did not exit within {:?} of SIGTERM and was SIGKILLed; \
                 error log {} ends with:\n{}",
                self.shutdown_timeout,
                self.paths.error_log.display(),
                self.error_log_tail(20)
            ))
        }
    }

    /// SIGKILL the server, as a crash. The datadir is left exactly as the crash left it;
    /// [`TestServer::restart`] then runs crash recovery.
    pub fn kill9(&mut self) -> Result<()> {
        self.drop_cached_conn();
        if let Some(mut child) = self.child.take() {
            process::kill_and_reap(&mut child)?;
        }
        Ok(())
    }

    fn drop_cached_conn(&self) {
        let mut guard = self
            .cached_conn
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        // Dropping a Conn to a dead server only fails to send COM_QUIT; nothing blocks.
        *guard = None;
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        let panicking = std::thread::panicking();
        if let Some(pid) = self.pid() {
            if panicking {
                eprintln!(
                    "testkit: test panicked; stopping mariadbd pid {pid}. Error log {} ends with:\n{}",
                    self.paths.error_log.display(),
                    self.error_log_tail(20)
                );
            }
            if let Err(err) = self.stop() {
                eprintln!("testkit: warning while stopping mariadbd pid {pid}: {err:#}");
            }
        }
        if let Some(socket) = &self.external_socket {
            let _ = std::fs::remove_file(socket);
        }
        if panicking && !crate::dir::keep_test_dirs() {
            eprintln!(
                "testkit: set {}=1 to keep {} for inspection",
                crate::dir::KEEP_TEST_DIRS_ENV,
                self.dir.path().display()
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page0_with_flags(flags: u32) -> Vec<u8> {
        let mut page = vec![0u8; 4096];
        page[FSP_FLAGS_OFFSET..FSP_FLAGS_OFFSET + 4].copy_from_slice(&flags.to_be_bytes());
        page
    }

    #[test]
    fn page_size_is_read_from_both_fsp_flag_layouts() {
        let dir = TestDir::new("unit").unwrap();
        let path = dir.path().join("ibdata1");
        // full_crc32 marker (bit 4) with page ssize 3 (4k) in bits 0..4.
        std::fs::write(&path, page0_with_flags(0x10 | 3)).unwrap();
        assert_eq!(detect_page_size(&path).unwrap(), Some(PageSize::K4));
        // Old layout: ssize 0 means 16k; ssize 7 in bits 6..10 means 64k.
        std::fs::write(&path, page0_with_flags(0)).unwrap();
        assert_eq!(detect_page_size(&path).unwrap(), Some(PageSize::K16));
        std::fs::write(&path, page0_with_flags(7 << 6)).unwrap();
        assert_eq!(detect_page_size(&path).unwrap(), Some(PageSize::K64));
        std::fs::write(&path, page0_with_flags(0x10 | 9)).unwrap();
        assert!(detect_page_size(&path).is_err());
        assert_eq!(detect_page_size(&dir.path().join("none")).unwrap(), None);
    }

    #[test]
    fn cnf_is_self_contained() {
        let paths = ServerPaths {
            tmpdir: "/t/tmp".into(),
            cnf: "/t/my.cnf".into(),
            error_log: "/t/error.log".into(),
            pid_file: "/t/mysqld.pid".into(),
            general_log: "/t/general.log".into(),
            datadir: "/t/data".into(),
            socket: "/t/mysqld.sock".into(),
        };
        let builder = ServerBuilder::new()
            .page_size(PageSize::K4)
            .binlog(true)
            .undo_tablespaces(2)
            .option("innodb_flush_log_at_trx_commit=2");
        let cnf = builder.render_cnf(&paths, Some(PageSize::K4), true);
        for line in [
            "[client]",
            "socket=/t/mysqld.sock",
            "[mysqld]",
            "datadir=/t/data",
            "tmpdir=/t/tmp",
            "user=root",
            "skip-networking",
            "innodb_page_size=4k",
            "innodb_undo_tablespaces=2",
            "log_bin=mysql-bin",
            "binlog_format=ROW",
            "innodb_flush_log_at_trx_commit=2",
        ] {
            assert!(cnf.lines().any(|l| l == line), "missing {line:?} in\n{cnf}");
        }
        let tcp = ServerBuilder::new()
            .tcp_port(13306)
            .render_cnf(&paths, None, false);
        assert!(tcp.contains("bind-address=127.0.0.1") && !tcp.contains("skip-networking"));
        let mysqld_group = tcp.split("[mysqld]").nth(1).unwrap();
        assert!(!mysqld_group.contains("user=root") && !tcp.contains("innodb_page_size"));
    }
}
