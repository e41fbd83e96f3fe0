//! `hotbackup --backup --stream=xbstream`: the stream extracted by the real `mbstream -x`
//! is a backup both tools prepare (byte-identical) and that restores to the source's data;
//! `--parallel=4` and `--extra-lsndir` with it; a terminal is refused (exit 2); a consumer
//! that goes away is a failure with exit 6, never 0; and a stream cut anywhere never
//! extracts to a directory holding `xtrabackup_checkpoints` (it is the last file, after
//! every other file's end chunk).

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use testkit::{PageSize, Scenario, TestDir, TestServer, Tool};

use common::hotbackup;

/// `hotbackup --backup --stream=xbstream` of `server`, stdout to `stdout`, stderr to
/// `<dir>/<name>.stderr`.
fn stream_command(server: &TestServer, target: &Path, extra: &[&str]) -> Command {
    let mut cmd = Command::new(hotbackup());
    cmd.arg("--no-defaults")
        .arg("--backup")
        .arg("--stream=xbstream")
        .arg(format!("--target-dir={}", target.display()))
        .arg(format!("--socket={}", server.socket_path().display()))
        .arg("--user=root")
        .args(extra)
        .stdin(Stdio::null());
    cmd
}

/// Runs `cmd | mbstream -x -C <into>`; returns (hotbackup's exit code, its stderr,
/// mbstream's success).
fn stream_into(mut cmd: Command, into: &Path) -> (i32, String, bool) {
    std::fs::create_dir_all(into).unwrap();
    let mut mbstream = Command::new("mbstream")
        .arg("-x")
        .arg("-C")
        .arg(into)
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("mbstream (mariadb-backup's extractor) is needed");
    let pipe = mbstream.stdin.take().unwrap();
    let out = cmd.stdout(pipe).stderr(Stdio::piped()).output().unwrap();
    // The command holds the pipe's write end: mbstream sees the end only once it is gone.
    drop(cmd);
    let extracted = mbstream.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        extracted.status.success(),
    )
}

/// Runs `cmd` with stdout into the file `to`; returns (exit code, stderr).
fn stream_to_file(mut cmd: Command, to: &Path) -> (i32, String) {
    let out = cmd
        .stdout(std::fs::File::create(to).unwrap())
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The (type, path) of every chunk of an xbstream.
fn chunks(mut s: &[u8]) -> Vec<(u8, String)> {
    let mut out = Vec::new();
    while !s.is_empty() {
        assert_eq!(
            &s[..8],
            b"XBSTCK01",
            "not a chunk at {} bytes from the end",
            s.len()
        );
        let kind = s[9];
        let plen = u32::from_le_bytes(s[10..14].try_into().unwrap()) as usize;
        let path = String::from_utf8_lossy(&s[14..14 + plen]).into_owned();
        let mut at = 14 + plen;
        match kind {
            b'P' => at += 20 + u64::from_le_bytes(s[at..at + 8].try_into().unwrap()) as usize,
            b'S' => at += 8,
            b'R' => at += 4 + u32::from_le_bytes(s[at..at + 4].try_into().unwrap()) as usize,
            _ => {}
        }
        out.push((kind, path));
        s = &s[at..];
    }
    out
}

/// Where every chunk of an xbstream starts.
fn chunk_offsets(s: &[u8]) -> Vec<usize> {
    let mut out = Vec::new();
    let mut at = 0;
    while at < s.len() {
        out.push(at);
        let c = &s[at..];
        let plen = u32::from_le_bytes(c[10..14].try_into().unwrap()) as usize;
        let mut len = 14 + plen;
        match c[9] {
            b'P' => len += 20 + u64::from_le_bytes(c[len..len + 8].try_into().unwrap()) as usize,
            b'S' => len += 8,
            b'R' => len += 4 + u32::from_le_bytes(c[len..len + 4].try_into().unwrap()) as usize,
            _ => {}
        }
        at += len;
    }
    out
}

/// `mbstream -x -C into < bytes` (its failure on a cut stream is expected).
fn extract(bytes: &[u8], into: &Path) {
    use std::io::Write;
    std::fs::create_dir_all(into).unwrap();
    let mut mbstream = Command::new("mbstream")
        .arg("-x")
        .arg("-C")
        .arg(into)
        .stdin(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = mbstream.stdin.take().unwrap();
    let _ = stdin.write_all(bytes);
    drop(stdin);
    mbstream.wait().unwrap();
}

/// The standard at 4k pages: a stream taken under load with `--parallel=4` and
/// `--extra-lsndir`, extracted by mbstream, prepared by both tools (page-identical), restored
/// and verified.
#[test]
fn stream_under_load_extracts_prepares_and_restores() {
    stream_under_load(PageSize::K4);
}

/// The same at 64k pages (16k: the compressed stream tests in compress.rs).
#[test]
fn stream_at_64k_pages_under_load_extracts_prepares_and_restores() {
    stream_under_load(PageSize::K64);
}

fn stream_under_load(page: PageSize) {
    let Some(mariadb) = testkit::require_mariadb() else {
        return;
    };
    let scenario = Scenario::start(&mariadb, page).unwrap();
    let source = &scenario.source;
    let load = scenario.load().unwrap();
    let dir = TestDir::new("stream-e2e").unwrap();
    let target = dir.path().join("target");
    let extra = dir.path().join("extra");
    let extracted = dir.path().join("extracted");
    let cmd = stream_command(
        source,
        &target,
        &[
            "--parallel=4",
            &format!("--extra-lsndir={}", extra.display()),
        ],
    );
    let (code, stderr, mbstream_ok) = stream_into(cmd, &extracted);
    let stats = load.stop().unwrap();
    assert_eq!(code, 0, "{stderr}");
    assert!(mbstream_ok, "mbstream -x failed");
    assert!(stderr.contains("completed OK!"), "{stderr}");
    assert!(stats.total_ops() > 0, "the load must have run: {stats:?}");
    // As mariadb-backup: a stream does not even create --target-dir.
    assert!(!target.exists(), "--stream wrote into --target-dir");
    for file in [
        "xtrabackup_checkpoints",
        "xtrabackup_info",
        "xtrabackup_binlog_info",
        "backup-my.cnf",
        "ib_logfile0",
        "ibdata1",
    ] {
        assert!(
            extracted.join(file).exists(),
            "{file} missing in the extraction"
        );
    }
    let info = std::fs::read_to_string(extracted.join("xtrabackup_info")).unwrap();
    assert!(info.contains("\nformat = mbstream\n"), "{info}");
    assert_eq!(
        std::fs::read(extra.join("xtrabackup_checkpoints")).unwrap(),
        std::fs::read(extracted.join("xtrabackup_checkpoints")).unwrap(),
        "--extra-lsndir's checkpoints differ from the stream's"
    );
    assert!(extra.join("xtrabackup_info").exists());

    let ours = dir.path().join("prepared-by-hotbackup");
    testkit::copy_dir(&extracted, &ours).unwrap();
    let hotbackup_tool = Tool::Hotbackup(hotbackup().to_path_buf());
    Tool::MariaBackup.prepare(&mariadb, &extracted).unwrap();
    hotbackup_tool.prepare(&mariadb, &ours).unwrap();
    let pages = testkit::compare_prepared(&extracted, &ours, page.bytes() as usize).unwrap();
    let report =
        testkit::restore_and_verify(&mariadb, &Tool::MariaBackup, source, &extracted).unwrap();
    eprintln!("{pages} pages identical; {report:?}; load {stats:?}");
    assert!(report.tables_compared >= 6, "{report:?}");
    let report = testkit::restore_and_verify(&mariadb, &hotbackup_tool, source, &ours).unwrap();
    assert!(report.tables_compared >= 6, "{report:?}");
}

/// A terminal on stdout is refused before anything happens: exit 2, nothing written.
#[test]
fn stream_to_a_terminal_is_refused() {
    let dir = TestDir::new("stream-tty").unwrap();
    let target = dir.path().join("target");
    // `script` gives the command a pty as stdout; -e returns the command's exit code.
    let command = format!(
        "{} --no-defaults --backup --stream=xbstream --target-dir={} --socket=/nonexistent",
        hotbackup().display(),
        target.display()
    );
    let out = Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .stdin(Stdio::null())
        .output()
        .expect("script (util-linux) is needed for a pty");
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(2), "{text}");
    assert!(
        text.contains("standard output, which is a terminal"),
        "{text}"
    );
    assert!(!target.exists());
}

/// A consumer that goes away, and a stream cut anywhere.
#[test]
fn broken_and_cut_streams_are_never_complete() {
    let Some(mariadb) = testkit::require_mariadb() else {
        return;
    };
    let server = mariadb.server().name("src").start().unwrap();
    common::create_small_tables(&server, "db", 4);
    let dir = TestDir::new("stream-cut").unwrap();
    let target = dir.path().join("target");

    // `| head -c 1000`: the pipe closes under the backup: exit 6 naming the cause.
    let mut head = Command::new("head")
        .args(["-c", "1000"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let pipe = head.stdin.take().unwrap();
    let mut cmd = stream_command(&server, &target, &[]);
    let out = cmd.stdout(pipe).stderr(Stdio::piped()).output().unwrap();
    drop(cmd);
    head.wait().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(6), "{stderr}");
    assert!(stderr.contains("Broken pipe"), "{stderr}");
    assert!(stderr.contains("is incomplete"), "{stderr}");
    assert!(!stderr.contains("completed OK!"), "{stderr}");
    assert!(!target.exists());

    // A whole stream: xtrabackup_checkpoints is its last file, after every end chunk.
    let whole = dir.path().join("whole.xb");
    let (code, stderr) = stream_to_file(
        stream_command(&server, &target, &["--history=streamed"]),
        &whole,
    );
    assert_eq!(code, 0, "{stderr}");
    let format: String = server
        .query_one("SELECT format FROM mysql.mariadb_backup_history WHERE name = 'streamed'")
        .unwrap();
    assert_eq!(format, "mbstream");
    let bytes = std::fs::read(&whole).unwrap();
    let list = chunks(&bytes);
    let mark = "xtrabackup_checkpoints";
    let first_mark = list.iter().position(|(_, p)| p == mark).unwrap();
    assert_eq!(
        list.len() - first_mark,
        2,
        "checkpoints must be the last file: {list:?}"
    );
    assert_eq!(list.last().unwrap(), &(b'E', mark.to_string()));
    let mut open = std::collections::BTreeSet::new();
    for (kind, path) in &list[..first_mark] {
        match kind {
            b'E' => {
                open.remove(path);
            }
            _ => {
                open.insert(path.clone());
            }
        }
    }
    assert!(
        open.is_empty(),
        "files without an end chunk before {mark}: {open:?}"
    );

    // Cut anywhere (as a killed backup leaves it): the extraction has
    // xtrabackup_checkpoints only when the cut is past the start of its chunk, where every
    // other file is whole (mbstream writes a payload as soon as it has read it).
    let whole_dir = dir.path().join("whole");
    extract(&bytes, &whole_dir);
    let offsets = chunk_offsets(&bytes);
    let mark_at = offsets[first_mark];
    // Where its payload chunk ends: mbstream writes a chunk only once it has all of it.
    let mark_written = offsets[first_mark + 1];
    let cuts: Vec<usize> = (1..40)
        .map(|i| bytes.len() * i / 40)
        .chain([mark_at - 1, mark_at, mark_at + 10, mark_written - 1])
        .chain([mark_written, bytes.len() - 1])
        .collect();
    for cut in cuts {
        let into = dir.path().join(format!("cut-{cut}"));
        extract(&bytes[..cut], &into);
        let files = testkit::file_names(&into);
        let has_mark = files.iter().any(|f| f == mark);
        assert_eq!(
            has_mark,
            cut >= mark_written,
            "a stream cut at {cut} of {} (checkpoints at {mark_at}): {files:?}",
            bytes.len()
        );
        if has_mark {
            assert_eq!(files, testkit::file_names(&whole_dir), "cut at {cut}");
            for f in &files {
                assert_eq!(
                    std::fs::read(into.join(f)).unwrap(),
                    std::fs::read(whole_dir.join(f)).unwrap(),
                    "{f} differs in a stream cut at {cut}"
                );
            }
        }
        std::fs::remove_dir_all(&into).unwrap();
    }

    // A backup killed mid-stream (SIGKILL while the throttled copy runs).
    let killed = dir.path().join("killed.xb");
    let mut child = stream_command(&server, &target, &["--throttle=1"])
        .stdout(std::fs::File::create(&killed).unwrap())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_secs(2));
    child.kill().unwrap();
    child.wait().unwrap();
    let into = dir.path().join("killed");
    extract(&std::fs::read(&killed).unwrap(), &into);
    assert!(
        !testkit::file_names(&into).is_empty(),
        "the killed backup streamed nothing"
    );
    assert!(
        !into.join(mark).exists(),
        "a killed stream extracted {mark}"
    );
}
