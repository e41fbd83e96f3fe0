//! The binary's command-line contract: stream, exit status and first line for the cases that
//! mariadb-backup's samples (shared/docs/mariabackup-samples/err) cover. Every run passes
//! `--no-defaults` or `--defaults-file` so the machine's /etc/mysql/my.cnf cannot interfere.

use std::process::Command;

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn run(args: &[&str]) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_hotbackup"))
        .args(args)
        .env_remove("MYSQL_GROUP_SUFFIX")
        .output()
        .expect("run hotbackup");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn check(args: &[&str], code: i32, stdout_has: &str, stderr: &str) {
    let r = run(args);
    assert_eq!(r.code, code, "{args:?}: stderr {}", r.stderr);
    assert!(
        r.stdout.contains(stdout_has),
        "{args:?}: stdout {}",
        r.stdout
    );
    assert_eq!(r.stderr, stderr, "{args:?}");
}

#[test]
fn unknown_option_exits_2() {
    check(
        &["--no-defaults", "--frobnicate"],
        2,
        "",
        "hotbackup: unknown option '--frobnicate'\n",
    );
    check(
        &["--no-defaults", "--prepare", "--apply-log-only"],
        2,
        "",
        "hotbackup: unknown option '--apply-log-only'\n",
    );
}

#[test]
fn help_and_version() {
    let r = run(&["--no-defaults", "--help"]);
    assert_eq!(r.code, 0);
    assert!(r.stdout.contains("  --backup "), "{}", r.stdout);
    assert!(
        r.stdout.contains("Exit codes:\n  0  success\n"),
        "{}",
        r.stdout
    );
    assert_eq!(r.stderr, "");
    let r = run(&["-?"]);
    assert_eq!(r.code, 0);
    assert!(r.stdout.contains("Exit codes:"));

    for flag in ["--version", "-v"] {
        let r = run(&["--no-defaults", flag]);
        assert_eq!(r.code, 0);
        assert!(r.stdout.starts_with("hotbackup "), "{}", r.stdout);
        assert_eq!(r.stdout.lines().count(), 1);
    }
}

#[test]
fn modes() {
    check(
        &["--no-defaults"],
        2,
        "",
        "hotbackup: no mode given: use --backup, --prepare, --copy-back or --move-back (see \
         hotbackup --help)\n",
    );
    check(
        &["--no-defaults", "--backup", "--prepare"],
        2,
        "",
        "hotbackup: --backup and --prepare cannot be used together; give exactly one mode\n",
    );
}

#[test]
fn defaults_file_not_first_exits_1() {
    check(
        &["--backup", "--defaults-file=/nonexistent/my.cnf"],
        1,
        "",
        "hotbackup: --defaults-file must be specified first on the command line\n",
    );
    let r = run(&["--defaults-file=/nonexistent/my.cnf", "--backup"]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("could not open"), "{}", r.stderr);
}

#[test]
fn print_defaults() {
    check(
        &["--no-defaults", "--print-defaults"],
        0,
        "hotbackup would have been started with the following arguments:\n",
        "",
    );
}
