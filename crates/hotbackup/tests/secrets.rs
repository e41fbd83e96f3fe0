//! No form of the password appears in any file of a backup, in its log, in the `--history`
//! row or in `/proc/PID/cmdline` of the running backup.

use std::fs;
use std::io::Read;
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use testkit::TestDir;

const REAL: &str = "S3cretReal";
/// Every secret contains this; any occurrence is a leak.
const NEEDLE: &[u8] = b"S3cret";

fn hotbackup() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_hotbackup"));
    c.env_remove("MYSQL_GROUP_SUFFIX").stdin(Stdio::null());
    c
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// Every file under `dir` whose bytes contain [`NEEDLE`].
fn leaking_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(leaking_files(&path));
        } else if contains(&fs::read(&path).unwrap(), NEEDLE) {
            out.push(path);
        }
    }
    out
}

/// Runs a backup to completion (killed after 120 s) and returns stderr.
fn backup(args: &[String]) -> (Option<i32>, String) {
    let mut child = hotbackup()
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        stderr.read_to_string(&mut text).unwrap();
        text
    });
    let deadline = Instant::now() + Duration::from_secs(120);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the backup hung: {}", reader.join().unwrap());
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    (status.code(), reader.join().unwrap())
}

#[test]
fn no_password_form_leaks_into_the_backup_its_log_or_the_history() {
    let Some(mariadb) = testkit::require_mariadb() else {
        return;
    };
    let server = mariadb
        .server()
        .name("secrets")
        .binlog(true)
        .start()
        .unwrap();
    server
        .exec(&format!(
            "CREATE USER bk@localhost IDENTIFIED BY '{REAL}'; \
             GRANT ALL PRIVILEGES ON *.* TO bk@localhost"
        ))
        .unwrap();
    let dir = TestDir::new("secrets").unwrap();
    let socket = format!("--socket={}", server.socket_path().display());
    let cnf = dir.path().join("my.cnf");
    fs::write(&cnf, format!("[client]\nuser=bk\npassword={REAL}\n")).unwrap();

    // Each run: earlier occurrences are wrong passwords that must be hidden too; the last
    // one given is the real one.
    let runs: Vec<(&str, Vec<String>)> = vec![
        (
            "separate",
            vec![
                "--password=S3cretD1".into(),
                "--loose_password=S3cretD2".into(),
                "-pS3cretD3".into(),
                "--password".into(),
                "S3cretD4".into(),
                "-p".into(),
                REAL.into(),
            ],
        ),
        (
            "attached",
            vec!["-p".into(), "S3cretD5".into(), format!("-p{REAL}")],
        ),
        (
            "loose",
            vec![format!("--loose-password={REAL}"), "--history=sec".into()],
        ),
        (
            "equals",
            vec![format!("--password={REAL}"), "--history".into()],
        ),
        ("next", vec!["--loose-password".into(), REAL.into()]),
    ];
    for (name, extra) in &runs {
        let target = dir.path().join(name);
        let mut args = vec![
            "--no-defaults".to_string(),
            "--backup".into(),
            format!("--target-dir={}", target.display()),
            socket.clone(),
            "--user=bk".into(),
        ];
        args.extend(extra.iter().cloned());
        let (code, stderr) = backup(&args);
        assert_eq!(code, Some(0), "{name}: {stderr}");
        assert!(!contains(stderr.as_bytes(), NEEDLE), "{name}: {stderr}");
        assert_eq!(leaking_files(&target), Vec::<PathBuf>::new(), "{name}");
        let info = fs::read_to_string(target.join("xtrabackup_info")).unwrap();
        assert!(info.contains("..."), "{name}: {info}");
    }
    // The password from an option file, and the history row.
    let target = dir.path().join("file");
    let (code, stderr) = backup(&[
        format!("--defaults-file={}", cnf.display()),
        "--backup".into(),
        format!("--target-dir={}", target.display()),
        socket.clone(),
        "--history".into(),
    ]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(!contains(stderr.as_bytes(), NEEDLE), "{stderr}");
    assert_eq!(leaking_files(&target), Vec::<PathBuf>::new());
    let commands: Vec<String> = server
        .query_rows("SELECT tool_command FROM mysql.mariadb_backup_history")
        .unwrap();
    assert_eq!(commands.len(), 3, "{commands:?}");
    for c in &commands {
        assert!(!c.contains("S3cret"), "{c}");
    }
    assert!(
        commands
            .iter()
            .any(|c| c.contains("--loose-password=... --history=sec")),
        "{commands:?}"
    );
    // A refused login: the message names the user, never the password.
    let target = dir.path().join("wrong");
    let (code, stderr) = backup(&[
        "--no-defaults".into(),
        "--backup".into(),
        format!("--target-dir={}", target.display()),
        socket.clone(),
        "--user=bk".into(),
        "-pS3cretWrong".into(),
    ]);
    assert_eq!(code, Some(3), "{stderr}");
    assert!(!contains(stderr.as_bytes(), NEEDLE), "{stderr}");
}

/// `ps` and `/proc/PID/cmdline` of a running backup show no password and no file key. The "server" is a unix
/// socket that accepts the connection and never answers, so the backup waits in its
/// connection while the test reads its command line.
#[test]
fn the_running_backup_hides_the_password_from_ps() {
    let dir = TestDir::new("secrets-ps").unwrap();
    let socket = dir.path().join("frozen.sock");
    let listener = UnixListener::bind(&socket).unwrap();
    listener.set_nonblocking(true).unwrap();
    let mut child = hotbackup()
        .args([
            "--no-defaults",
            "--backup",
            &format!("--target-dir={}", dir.path().join("t").display()),
            &format!("--socket={}", socket.display()),
            "--user=bk",
            "--password=S3cretA",
            "-pS3cretB",
            "--loose-password",
            "S3cretC",
            "-p",
            REAL,
            "--file-key-management-filekey=S3cretD",
            "--file-key-management-filekey",
            "FILE:/S3cretE",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let pid = child.id();
    // The process connects only after the scrub: once the connection arrives, its argv is
    // final.
    let deadline = Instant::now() + Duration::from_secs(30);
    let _conn = loop {
        match listener.accept() {
            Ok((c, _)) => break c,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                if Instant::now() > deadline || child.try_wait().unwrap().is_some() {
                    let _ = child.kill();
                    let _ = child.wait();
                    panic!("hotbackup never connected");
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(e) => panic!("{e}"),
        }
    };
    let cmdline = fs::read(format!("/proc/{pid}/cmdline")).unwrap();
    let _ = child.kill();
    let _ = child.wait();
    let shown = String::from_utf8_lossy(&cmdline).replace('\0', " ");
    assert!(!contains(&cmdline, NEEDLE), "ps shows: {shown}");
    // The rest of the command line is intact.
    assert!(shown.contains("--backup"), "{shown}");
    assert!(shown.contains("--user=bk"), "{shown}");
    assert!(shown.contains("--password=x"), "{shown}");
}
