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

/// The refused options as `--help` lists them (generated from the option table), each as an
/// argument that asks for what the option does: `--stream=xbstream`, `--skip-encrypted-backup`.
fn refused_examples() -> Vec<String> {
    let help = run(&["--no-defaults", "--help"]).stdout;
    let start = help
        .find("Refused with exit 2")
        .expect("no list of refused options in --help");
    let text = help[start..]
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    let list = &text[text.find("what they ask: ").unwrap() + "what they ask: ".len()..];
    let list = &list[..list.find(". Their default").unwrap()];
    list.split_whitespace().map(str::to_string).collect()
}

/// Walks the option table: every refused option, given on the command line in each mode,
/// exits 2 naming the option and writes nothing.
#[test]
fn refused_options_exit_2_and_write_nothing() {
    let refused = refused_examples();
    assert!(refused.len() >= 30, "{refused:?}");
    for needed in ["--ssl-cipher=x", "--tls-version=x"] {
        assert!(refused.iter().any(|r| r == needed), "{needed} not refused");
    }
    let dir = std::env::temp_dir().join(format!("hotbackup-cli-refused-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let target = dir.join("t");
    let target_arg = format!("--target-dir={}", target.display());
    for example in &refused {
        let name = example
            .trim_start_matches("--")
            .trim_start_matches("skip-")
            .split('=')
            .next()
            .unwrap();
        for mode in ["--backup", "--prepare", "--copy-back"] {
            let r = run(&[
                "--no-defaults",
                mode,
                &target_arg,
                "--socket=/nonexistent",
                example,
            ]);
            assert_eq!(r.code, 2, "{mode} {example}: {}", r.stderr);
            assert_eq!(
                r.stderr,
                format!("hotbackup: --{name} is not supported by this version of hotbackup\n"),
                "{mode} {example}"
            );
            assert_eq!(r.stdout, "", "{mode} {example}");
            assert!(!target.exists(), "{mode} {example} created the target");
        }
    }
    // Default values ask for nothing: accepted (this run then fails to connect, exit 3).
    let r = run(&[
        "--no-defaults",
        "--backup",
        &target_arg,
        "--socket=/nonexistent",
        "--compress-threads=1",
        "--encrypted-backup",
        "--skip-lock-ddl-per-table",
        "--skip-ssl",
        "--startup-wait-timeout=0",
    ]);
    assert_eq!(r.code, 3, "{}", r.stderr);
    // A tool group is the backup tool's own: refused there too, naming file and line.
    let cnf = dir.join("my.cnf");
    std::fs::write(&cnf, "[mariadb-backup]\nssl-cipher=AES128-SHA\n").unwrap();
    let r = run(&[
        &format!("--defaults-file={}", cnf.display()),
        "--backup",
        &target_arg,
    ]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.starts_with(
            "hotbackup: --ssl-cipher is not supported by this version of hotbackup (in \
             [mariadb-backup] of option file"
        ),
        "{}",
        r.stderr
    );
    // A server setting in [mysqld] cannot change the backup: a warning, and the run goes on.
    std::fs::write(
        &cnf,
        "[mysqld]\ntmpdir=/var/tmp\ninnodb_flush_method=O_DIRECT\n",
    )
    .unwrap();
    let r = run(&[
        &format!("--defaults-file={}", cnf.display()),
        "--backup",
        &target_arg,
        "--socket=/nonexistent",
    ]);
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(r
        .stderr
        .contains("Warning: hotbackup: ignoring tmpdir from [mysqld]"));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn print_param_and_apply_log() {
    let r = run(&[
        "--no-defaults",
        "--print-param",
        "--datadir=/srv/db",
        "--innodb-page-size=8k",
        "--innodb-log-group-home-dir=/srv/log",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        r.stdout,
        "# This MySQL options file was generated by XtraBackup.\n[mysqld]\ndatadir=/srv/db\n\
         innodb_page_size=8192\ninnodb_log_group_home_dir=/srv/log\n"
    );
    // --apply-log is --prepare: same refusal of a directory that is not a backup.
    let a = run(&[
        "--no-defaults",
        "--apply-log",
        "--target-dir=/nonexistent-backup",
    ]);
    let b = run(&[
        "--no-defaults",
        "--prepare",
        "--target-dir=/nonexistent-backup",
    ]);
    assert_eq!(a.code, b.code);
    assert_ne!(a.code, 2, "{}", a.stderr);
}

#[test]
fn print_defaults_masks_every_password_form() {
    let dir = std::env::temp_dir().join(format!("hotbackup-cli-pd-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let cnf = dir.join("my.cnf");
    std::fs::write(&cnf, "[client-server]\nloose-password=S3cretF\n").unwrap();
    let r = run(&[
        &format!("--defaults-file={}", cnf.display()),
        "--print-defaults",
        "--backup",
        "-pS3cretA",
        "-p",
        "S3cretB",
        "--loose_password=S3cretC",
        "--password",
        "S3cretD",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(!r.stdout.contains("S3cret"), "{}", r.stdout);
    assert!(r.stdout.contains("--loose-password=*****"), "{}", r.stdout);
    assert!(r.stdout.contains("-p***** -p *****"), "{}", r.stdout);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_misspelt_password_option_does_not_print_the_value() {
    let r = run(&["--no-defaults", "--backup", "--pasword=S3cret"]);
    assert_eq!(r.code, 2);
    assert_eq!(r.stderr, "hotbackup: unknown variable 'pasword=...'\n");
}

/// mariadb-backup clamps --innodb-log-write-ahead-size to 512..4096 and then refuses a value
/// that is not a power of two with exit 1 (MariaDB's mtr test `full_backup`); nothing is
/// written, not even the target directory.
#[test]
fn write_ahead_size_not_a_power_of_two_exits_1() {
    let dir = std::env::temp_dir().join(format!("hotbackup-wa-{}", std::process::id()));
    let target = format!("--target-dir={}", dir.display());
    for mode in ["--backup", "--prepare"] {
        let r = run(&[
            "--no-defaults",
            mode,
            &target,
            "--innodb-log-write-ahead-size=4095",
        ]);
        assert_eq!(r.code, 1, "{mode}: {}", r.stderr);
        assert!(
            r.stderr.starts_with(
                "hotbackup: InnoDB: innodb_log_write_ahead_size=4095 is not a power of two"
            ),
            "{mode}: {}",
            r.stderr
        );
        assert!(!dir.exists(), "{mode} created {}", dir.display());
    }
    // 10000 is lowered to 4096 with my_getopt's warning, and accepted.
    let r = run(&[
        "--no-defaults",
        "--print-param",
        "--backup",
        "--innodb-log-write-ahead-size=10000",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr.contains(
            "option 'innodb-log-write-ahead-size': unsigned value 10000 adjusted to 4096"
        ),
        "{}",
        r.stderr
    );
}

/// As mariadb-backup (MariaDB's mtr test `innodb_force_recovery`): --innodb-force-recovery
/// with --backup is exit 1 with its message, from the command line or a server group, and
/// nothing is written (with --innobackupex the message names --apply-log).
#[test]
fn force_recovery_is_for_prepare() {
    let dir = std::env::temp_dir().join(format!("hotbackup-fr-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let target = dir.join("t");
    let target_arg = format!("--target-dir={}", target.display());
    let cnf = dir.join("my.cnf");
    std::fs::write(&cnf, "[mysqld]\ninnodb_force_recovery=1\n").unwrap();
    let cnf_arg = format!("--defaults-file={}", cnf.display());
    for args in [
        &["--no-defaults", "--backup", "--innodb-force-recovery=1"][..],
        &["--no-defaults", "--backup", "--innodb-force-recovery=6"],
        &["--no-defaults", "--backup", "--innodb-force-recovery"],
        &[&cnf_arg, "--backup"],
    ] {
        let mut all = args.to_vec();
        all.push(&target_arg);
        let r = run(&all);
        assert_eq!(r.code, 1, "{args:?}: {}", r.stderr);
        assert!(
            r.stderr.contains(
                "hotbackup: The option \"innodb_force_recovery\" should only be used with \"--prepare\""
            ),
            "{args:?}: {}",
            r.stderr
        );
        assert!(!target.exists(), "{args:?}");
    }
    // An innobackupex command line names --apply-log instead.
    let r = run(&[
        "--innobackupex",
        "--no-defaults",
        "--no-timestamp",
        "--innodb-force-recovery=1",
        &target.display().to_string(),
    ]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("should only be used with \"--apply-log\""),
        "{}",
        r.stderr
    );
    assert!(!target.exists());
    // --prepare reads it (prepare_faults.rs); --copy-back ignores it, as mariadb-backup does:
    // here it fails on the missing backup, not on the option.
    for mode in ["--prepare", "--copy-back"] {
        let r = run(&[
            "--no-defaults",
            mode,
            &target_arg,
            "--innodb-force-recovery=1",
        ]);
        assert_ne!(r.code, 2, "{mode}: {}", r.stderr);
        assert!(!r.stderr.contains("not supported"), "{mode}: {}", r.stderr);
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
