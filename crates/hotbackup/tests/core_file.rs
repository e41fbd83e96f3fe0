//! `--core-file`: with a soft core size limit of 0, a panic ends in SIGABRT and a core dump
//! (the limit raised to the hard one); without the option a panic exits 101, no core.
//! The panic comes from the test hook `HOTBACKUP_TEST_PANIC`.

use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::Path;
use std::process::{Command, Stdio};

use testkit::TestDir;

fn hard_core_limit() -> libc::rlim_t {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes only the struct passed.
    assert_eq!(unsafe { libc::getrlimit(libc::RLIMIT_CORE, &mut lim) }, 0);
    lim.rlim_max
}

/// `hotbackup --print-param` with `extra`, panicking by the test hook, started with a soft
/// core limit of 0 in `cwd`.
fn run_panicking(cwd: &Path, extra: &[&str]) -> std::process::Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_hotbackup"));
    cmd.args(["--no-defaults", "--print-param"])
        .args(extra)
        .env("HOTBACKUP_TEST_PANIC", "1")
        .current_dir(cwd)
        .stdin(Stdio::null());
    // SAFETY: only setrlimit, async-signal-safe, between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            let mut lim = libc::rlimit {
                rlim_cur: 0,
                rlim_max: 0,
            };
            if libc::getrlimit(libc::RLIMIT_CORE, &mut lim) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            lim.rlim_cur = 0;
            if libc::setrlimit(libc::RLIMIT_CORE, &lim) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    cmd.output().unwrap()
}

#[test]
fn a_panic_with_core_file_aborts_and_dumps_core() {
    let dir = TestDir::new("core-file").unwrap();
    let out = run_panicking(dir.path(), &["--core-file"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("HOTBACKUP_TEST_PANIC"),
        "the panic message first: {stderr}"
    );
    assert_eq!(
        out.status.signal(),
        Some(libc::SIGABRT),
        "{:?} {stderr}",
        out.status
    );
    let pattern = std::fs::read_to_string("/proc/sys/kernel/core_pattern").unwrap_or_default();
    if hard_core_limit() != 0 && !pattern.starts_with('|') {
        // Started with a soft limit of 0: a core means hotbackup raised it.
        assert!(
            out.status.core_dumped(),
            "no core dumped ({pattern:?}): {stderr}"
        );
    } else {
        eprintln!(
            "core dump not checked: hard limit {} pattern {pattern:?}",
            hard_core_limit()
        );
    }
}

#[test]
fn a_panic_without_core_file_exits_101() {
    let dir = TestDir::new("no-core-file").unwrap();
    let out = run_panicking(dir.path(), &[]);
    assert_eq!(out.status.code(), Some(101), "{:?}", out.status);
    assert!(!out.status.core_dumped());
}
