//! Data-driven tests of the command line and option-file rules. Expectations marked "seen"
//! were checked against the real mariadb-backup 10.11.19.

use super::*;
use crate::options::cnf::tests::write_files;
use crate::options::Options;
use std::path::Path;

/// Runs the parser on `args` with `files` written to a fresh temp dir. `{dir}` in arguments and
/// file contents is that directory. The default file list of the test environment is
/// `{dir}/global.cnf`, then (for `--defaults-extra-file`) the extra file, then
/// `{dir}/home.cnf`, so tests never see the machine's own `/etc/mysql/my.cnf`.
fn run(args: &[&str], files: &[(&str, &str)], env_suffix: Option<&str>) -> (Parsed, String) {
    let dir = write_files("parse", files);
    let dir_text = dir.display().to_string();
    let args: Vec<String> = args.iter().map(|a| a.replace("{dir}", &dir_text)).collect();
    let env = Env {
        global_files: vec![dir.join("global.cnf")],
        home_file: Some(dir.join("home.cnf")),
        group_suffix: env_suffix.map(str::to_string),
    };
    (parse_args(&args, &env), dir_text)
}

/// Checks the outcome against `expected`, a list of:
/// * `field=value`: a typed field of [`Options`] as rendered by [`field`];
/// * `error=message`: the parse fails with exactly this message (`{dir}` substituted);
/// * `usage=true|false`: the error's exit class (2 or 1);
/// * `command=help|version`, `print-defaults=text`;
/// * `warning~text`: some warning contains `text`; `warnings=0`: there are none;
/// * `param~text`: the `--print-param` text contains `text`.
fn check(args: &[&str], files: &[(&str, &str)], expected: &[&str]) {
    check_env(args, files, None, expected)
}

fn check_env(args: &[&str], files: &[(&str, &str)], suffix: Option<&str>, expected: &[&str]) {
    let (parsed, dir) = run(args, files, suffix);
    let ctx = format!("args {args:?}, files {files:?}, result {:#?}", parsed);
    for exp in expected {
        let exp = exp.replace("{dir}", &dir);
        if let Some(text) = exp.strip_prefix("warning~") {
            assert!(
                parsed.warnings.iter().any(|w| w.contains(text)),
                "no warning containing {text:?}; {ctx}"
            );
            continue;
        }
        if let Some(text) = exp.strip_prefix("param~") {
            let Ok(Command::Run(o)) = &parsed.result else {
                panic!("no --print-param text; {ctx}");
            };
            let printed = o.print_param.as_deref().unwrap_or_default();
            assert!(printed.contains(text), "{text:?} not in {printed:?}; {ctx}");
            continue;
        }
        if exp == "warnings=0" {
            assert!(parsed.warnings.is_empty(), "{ctx}");
            continue;
        }
        let Some((key, want)) = exp.split_once('=') else {
            panic!("bad expectation {exp:?}");
        };
        let got = match (key, &parsed.result) {
            ("error", Err(e)) => e.message.clone(),
            ("usage", Err(e)) => e.is_usage().to_string(),
            ("kind", Err(e)) => format!("{:?}", e.kind),
            ("command", Ok(Command::Help)) => "help".into(),
            ("command", Ok(Command::Version)) => "version".into(),
            ("command", Ok(Command::Run(_))) => "run".into(),
            ("print-defaults", Ok(Command::PrintDefaults(t))) => t.clone(),
            (_, Ok(Command::Run(o))) => field(o, key),
            _ => panic!("cannot check {exp:?}; {ctx}"),
        };
        assert_eq!(got, want, "{key}; {ctx}");
    }
}

fn opt<T: ToString>(v: &Option<T>) -> String {
    v.as_ref().map_or("-".into(), T::to_string)
}

fn path(v: &Option<std::path::PathBuf>) -> String {
    v.as_deref()
        .map_or("-".into(), |p: &Path| p.display().to_string())
}

/// One field of `Options`, as text (`-` for `None`).
fn field(o: &Options, name: &str) -> String {
    match name {
        "mode" => o.mode.map_or("-".into(), |m| m.option().to_string()),
        "target-dir" => o.target_dir.display().to_string(),
        "user" => opt(&o.connection.user),
        "password" => opt(&o.connection.password),
        "host" => opt(&o.connection.host),
        "port" => opt(&o.connection.port),
        "socket" => path(&o.connection.socket),
        "protocol" => format!("{:?}", o.connection.protocol),
        "datadir" => path(&o.datadir),
        "innodb-data-home-dir" => path(&o.innodb.data_home_dir),
        "innodb-log-group-home-dir" => path(&o.innodb.log_group_home_dir),
        "innodb-undo-directory" => path(&o.innodb.undo_directory),
        "innodb-data-file-path" => opt(&o.innodb.data_file_path),
        "innodb-checksum-algorithm" => format!("{:?}", o.innodb.checksum_algorithm),
        "parallel" => o.parallel.to_string(),
        "throttle" => o.throttle.to_string(),
        "use-memory" => o.use_memory.to_string(),
        "log-copy-interval" => o.log_copy_interval_ms.to_string(),
        "extra-lsndir" => path(&o.extra_lsndir),
        "incremental-dir" => path(&o.incremental_dir),
        "no-lock" => o.no_lock.to_string(),
        "verbose" => o.verbose.to_string(),
        "rocksdb-backup" => o.rocksdb_backup.to_string(),
        "slave-info" => o.slave_info.to_string(),
        "safe-slave-backup" => o.safe_slave_backup.to_string(),
        "safe-slave-backup-timeout" => o.safe_slave_backup_timeout_s.to_string(),
        "galera-info" => o.galera_info.to_string(),
        "history" => format!("{:?}", o.history),
        "binlog-info" => format!("{:?}", o.binlog_info),
        "stream" => o.stream.to_string(),
        "compress" => format!("{:?}", o.compress),
        "compress-threads" => o.compress_threads.to_string(),
        "compress-chunk-size" => o.compress_chunk_size.to_string(),
        "check-privileges" => o.check_privileges.to_string(),
        "startup-wait-timeout" => o.startup_wait_timeout_s.to_string(),
        "log-innodb-page-corruption" => o.log_innodb_page_corruption.to_string(),
        "extended-validation" => o.extended_validation.to_string(),
        "core-file" => o.core_file.to_string(),
        "force-non-empty-directories" => o.force_non_empty_directories.to_string(),
        "print-param" => opt(&o.print_param),
        other => match other.strip_prefix("origin:") {
            Some(name) => o.origin(name).to_string(),
            None => panic!("unknown field {other}"),
        },
    }
}

const NOFILES: &[(&str, &str)] = &[];

// ---------------------------------------------------------------- command-line syntax

#[test]
fn long_options_with_and_without_equals() {
    check(
        &[
            "--backup",
            "--target-dir=/b",
            "--user",
            "root",
            "--datadir",
            "/d",
        ],
        NOFILES,
        &[
            "mode=--backup",
            "target-dir=/b",
            "user=root",
            "datadir=/d",
            "warnings=0",
        ],
    );
    // Value containing '=': only the first '=' splits.
    check(&["--backup", "--password=a=b"], NOFILES, &["password=a=b"]);
    // Empty value is a value.
    check(&["--backup", "--password="], NOFILES, &["password="]);
}

#[test]
fn dash_and_underscore_are_interchangeable() {
    check(
        &[
            "--backup",
            "--innodb_log_group_home_dir=/r",
            "--innodb-undo_directory",
            "/u",
            "--target_dir=/t",
        ],
        NOFILES,
        &[
            "innodb-log-group-home-dir=/r",
            "innodb-undo-directory=/u",
            "target-dir=/t",
        ],
    );
}

#[test]
fn short_options() {
    check(
        &[
            "--backup", "-uroot", "-pSECRET", "-S", "/s.sock", "-H", "h1", "-P3307", "-h/d",
        ],
        NOFILES,
        &[
            "user=root",
            "password=SECRET",
            "socket=/s.sock",
            "host=h1",
            "port=3307",
            "datadir=/d",
        ],
    );
    check(
        &["--backup", "-u", "root", "-p", "pw"],
        NOFILES,
        &["user=root", "password=pw"],
    );
    // Clusters of boolean letters, ending with one that takes the rest (seen: -Vv works).
    check(
        &["--print-param", "-Vuroot", "-t", "/tmp"],
        NOFILES,
        &["user=root", "param~tmpdir=/tmp"],
    );
    check(&["-V", "-?"], NOFILES, &["command=help"]);
    check(&["-v"], NOFILES, &["command=version"]);
    check(
        &["--backup", "-x"],
        NOFILES,
        &["error=unknown option '-x'", "usage=true"],
    );
}

#[test]
fn password_needs_a_value_no_prompting() {
    // Seen: `mariadb-backup -p` → "option '-p' requires an argument" (exit 5 there).
    let hint = " (hotbackup does not prompt for passwords: give --password=SECRET, or put \
                password=SECRET in the [client] or [mariadb-backup] group of an option file \
                such as ~/.my.cnf)";
    check(
        &["--backup", "-p"],
        NOFILES,
        &[
            &format!("error=option '-p' requires an argument{hint}"),
            "usage=true",
        ],
    );
    check(
        &["--backup", "--password"],
        NOFILES,
        &[&format!(
            "error=option '--password' requires an argument{hint}"
        )],
    );
    // Seen: the next argument is the value, whatever it looks like.
    check(&["-p", "--backup"], NOFILES, &["kind=NoMode"]);
    check(
        &["--backup", "-p", "--prepare"],
        NOFILES,
        &["mode=--backup", "password=--prepare"],
    );
}

#[test]
fn booleans() {
    let cases: &[(&str, &str)] = &[
        ("--no-lock", "true"),
        ("--no-lock=1", "true"),
        ("--no-lock=ON", "true"),
        ("--no-lock=true", "true"),
        ("--no-lock=0", "false"),
        ("--no-lock=off", "false"),
        ("--no-lock=FALSE", "false"),
        ("--skip-no-lock", "false"),
        ("--disable-no-lock", "false"),
        ("--skip_no-lock", "false"),
        ("--enable-no-lock", "true"),
        // Seen: double negation.
        ("--skip-no-lock=0", "true"),
        ("--enable-no-lock=0", "false"),
        ("--loose-no-lock", "true"),
        ("--loose-skip-no-lock", "false"),
    ];
    for (arg, want) in cases {
        check(
            &["--backup", "--no-lock", arg],
            NOFILES,
            &[&format!("no-lock={want}")],
        );
        if *want == "true" {
            check(&["--backup", arg], NOFILES, &["no-lock=true"]);
        }
    }
    // Defaults-on booleans.
    check(&["--backup"], NOFILES, &["check-privileges=true"]);
    check(
        &["--backup", "--skip-check-privileges", "--disable-ssl"],
        NOFILES,
        &["check-privileges=false"],
    );
    // Seen: an invalid boolean is a warning and the option is ignored.
    check(
        &["--backup", "--no-lock=yes"],
        NOFILES,
        &[
            "no-lock=false",
            "warning~Warning: hotbackup: ignoring option '--no-lock' due to invalid value 'yes'",
        ],
    );
}

#[test]
fn unknown_options() {
    // Seen: exact texts, exit 2.
    check(
        &["--backup", "--frobnicate"],
        NOFILES,
        &[
            "error=unknown option '--frobnicate'",
            "usage=true",
            "kind=UnknownOption",
        ],
    );
    check(
        &["--backup", "--frobnicate=1"],
        NOFILES,
        &["error=unknown variable 'frobnicate=...'"],
    );
    check(
        &["--backup", "--skip-frobnicate"],
        NOFILES,
        &["error=unknown option '--skip-frobnicate'"],
    );
    // Removed in 10.11.
    check(
        &["--prepare", "--apply-log-only"],
        NOFILES,
        &["error=unknown option '--apply-log-only'"],
    );
    check(
        &["--backup", "--incremental"],
        NOFILES,
        &["error=unknown option '--incremental'"],
    );
    // No unique-prefix abbreviations (seen: --ver and --targ=/x are unknown).
    check(&["--ver"], NOFILES, &["error=unknown option '--ver'"]);
    check(
        &["--backup", "--targ=/x"],
        NOFILES,
        &["error=unknown variable 'targ=...'"],
    );
    // loose- makes it a warning (seen).
    check(
        &["--backup", "--loose-frobnicate=3", "--loose-skip-frob"],
        NOFILES,
        &[
            "mode=--backup",
            "warning~Warning: hotbackup: unknown variable 'loose-frobnicate=...'",
            "warning~Warning: hotbackup: unknown option '--loose-skip-frob'",
        ],
    );
    check(
        &["--backup", "--innobackupex"],
        NOFILES,
        &["kind=Unsupported", "usage=true"],
    );
}

#[test]
fn maximum_prefix_is_accepted_and_ignored() {
    check(
        &["--backup", "--maximum-parallel=8"],
        NOFILES,
        &["parallel=1", "warnings=0"],
    );
    check(
        &["--backup", "--maximum-parallel", "8"],
        NOFILES,
        &["parallel=1"],
    );
    check(
        &["--backup", "--maximum-parallel"],
        NOFILES,
        &["error=option '--parallel' requires an argument"],
    );
    check(
        &["--backup", "--maximum-frob=3"],
        NOFILES,
        &["error=unknown variable 'maximum-frob=...'"],
    );
}

#[test]
fn end_of_options_and_positional_arguments() {
    check(
        &["--backup", "stray"],
        NOFILES,
        &[
            "error=unknown argument: 'stray'; hotbackup takes no file or directory arguments, \
             use --target-dir=DIR",
            "kind=Positional",
        ],
    );
    check(&["--backup", "--", "--frob"], NOFILES, &["kind=Positional"]);
    check(&["--backup", "--"], NOFILES, &["mode=--backup"]);
    // After --mysqld-args, unknown server options and arguments are ignored.
    check(
        &["--backup", "--mysqld-args", "--frob", "x", "--datadir=/q"],
        NOFILES,
        &["mode=--backup", "datadir=/q"],
    );
}

#[test]
fn required_values() {
    check(
        &["--backup", "--datadir"],
        NOFILES,
        &[
            "error=option '--datadir' requires an argument",
            "kind=BadValue",
            "usage=true",
        ],
    );
    check(
        &["--backup", "--core-file=0"],
        NOFILES,
        &["error=option '--core-file' cannot take an argument"],
    );
    check(
        &["--backup", "--core-file"],
        NOFILES,
        &["core-file=true", "extended-validation=false"],
    );
    check(
        &["--backup", "--extended-validation"],
        NOFILES,
        &["core-file=false", "extended-validation=true"],
    );
    check(
        &["--backup", "--skip-extended-validation"],
        NOFILES,
        &["extended-validation=false"],
    );
}

#[test]
fn text_options_can_be_reset() {
    check(
        &["--backup", "--extra-lsndir=/x", "--skip-extra-lsndir"],
        NOFILES,
        &["extra-lsndir=-"],
    );
}

// ---------------------------------------------------------------- values

#[test]
fn numbers_with_suffixes_and_bounds() {
    let ok: &[(&str, &str, &str)] = &[
        ("--use-memory=1G", "use-memory", "1073741824"),
        ("--use-memory=1T", "use-memory", "1099511627776"),
        ("--use-memory=16MB", "use-memory", "16777216"),
        ("--use-memory=17M", "use-memory", "16777216"),
        ("--use-memory=1025M", "use-memory", "1073741824"),
        ("--use-memory=+16m", "use-memory", "16777216"),
        ("--use-memory= 16M", "use-memory", "16777216"),
        ("--use-memory=9M", "use-memory", "8388608"),
        ("--parallel=4", "parallel", "4"),
        ("--parallel=256", "parallel", "256"),
        ("--throttle=7", "throttle", "7"),
        ("--log-copy-interval=0", "log-copy-interval", "0"),
        (
            "--safe-slave-backup-timeout=10",
            "safe-slave-backup-timeout",
            "10",
        ),
    ];
    for (arg, name, want) in ok {
        check(
            &["--prepare", arg],
            NOFILES,
            &[&format!("{name}={want}"), "warnings=0"],
        );
    }
    check(
        &["--prepare"],
        NOFILES,
        &[
            "use-memory=100663296",
            "parallel=1",
            "throttle=0",
            "log-copy-interval=1000",
            "safe-slave-backup-timeout=300",
        ],
    );
    // Refused and print-only options are parsed by the same rules.
    check(
        &[
            "--print-param",
            "--innodb-page-size=8k",
            "--innodb-force-recovery",
        ],
        NOFILES,
        &[
            "param~innodb_page_size=8192",
            "param~innodb_force_recovery=1",
        ],
    );
    // Seen: clamping warnings.
    let clamped: &[(&str, &str, &str, &str)] = &[
        (
            "--use-memory=1k",
            "use-memory",
            "8388608",
            "Warning: option 'use-memory': unsigned value 1024 adjusted to 8388608",
        ),
        (
            "--use-memory=",
            "use-memory",
            "8388608",
            "unsigned value 0 adjusted to 8388608",
        ),
        (
            "--parallel=0",
            "parallel",
            "1",
            "Warning: option 'parallel': unsigned value 0 adjusted to 1",
        ),
        (
            "--parallel=1k",
            "parallel",
            "256",
            "Warning: option 'parallel': unsigned value 1024 adjusted to 256",
        ),
        (
            "--parallel=99999999999",
            "parallel",
            "256",
            "adjusted to 256",
        ),
        // Not truncated to 32 bits (4294967296 would have become 0, then 1 per second).
        (
            "--throttle=4294967296",
            "throttle",
            "4294967295",
            "Warning: option 'throttle': signed value 4294967296 adjusted to 4294967295",
        ),
        (
            "--throttle=1T",
            "throttle",
            "4294967295",
            "adjusted to 4294967295",
        ),
        (
            "--throttle=-1",
            "throttle",
            "0",
            "Warning: option 'throttle': signed value -1 adjusted to 0",
        ),
    ];
    check(
        &[
            "--print-param",
            "--innodb-page-size=1000",
            "--innodb-force-recovery=9",
        ],
        NOFILES,
        &[
            "param~innodb_page_size=4096",
            "param~innodb_force_recovery=1",
            "warning~signed value 1000 adjusted to 4096",
        ],
    );
    check(
        &["--print-param", "--innodb-page-size=128k"],
        NOFILES,
        &["param~innodb_page_size=65536", "warning~adjusted to 65536"],
    );
    for (arg, name, want, warning) in clamped {
        check(
            &["--prepare", arg],
            NOFILES,
            &[&format!("{name}={want}"), &format!("warning~{warning}")],
        );
    }
    let bad: &[(&str, &str)] = &[
        ("--use-memory=1x", "invalid value '1x' for option 'use-memory': unknown suffix 'x'; write a number with an optional K, M, G, T, P or E suffix"),
        ("--use-memory=1.5G", "invalid value '1.5G' for option 'use-memory': unknown suffix '.'; write a number with an optional K, M, G, T, P or E suffix"),
        ("--use-memory=-1", "invalid value '-1' for option 'use-memory': must not be negative"),
        ("--parallel=-3", "invalid value '-3' for option 'parallel': must not be negative"),
        ("--use-memory=99999999999999999999", "invalid value '99999999999999999999' for option 'use-memory': out of range for a 64-bit integer"),
        ("--use-memory=16E", "invalid value '16E' for option 'use-memory': out of range for a 64-bit integer"),
        ("--port=70000", "invalid value '70000' for option 'port' (from command line): a TCP port is 1..65535"),
    ];
    for (arg, msg) in bad {
        check(
            &["--prepare", arg],
            NOFILES,
            &[&format!("error={msg}"), "usage=true"],
        );
    }
}

#[test]
fn enums() {
    check(&["--backup"], NOFILES, &["stream=false"]);
    for given in ["--stream=xbstream", "--stream=MBSTREAM"] {
        check(&["--backup", given], NOFILES, &["stream=true"]);
    }
    check(
        &["--backup"],
        NOFILES,
        &[
            "compress=None",
            "compress-threads=1",
            "compress-chunk-size=65536",
        ],
    );
    for (given, codec) in [
        ("--compress", "Some(Quicklz)"),
        ("--compress=QUICKLZ", "Some(Quicklz)"),
        ("--compress=quicklz", "Some(Quicklz)"),
        ("--compress=lz4", "Some(Lz4)"),
        ("--compress=ZSTD", "Some(Zstd { level: 1 })"),
    ] {
        check(
            &["--backup", given],
            NOFILES,
            &[&format!("compress={codec}")],
        );
    }
    // mariadb-backup 10.11: "Invalid --compress argument: 0" / "1".
    for (given, value) in [("--skip-compress", "0"), ("--enable-compress", "1")] {
        check(
            &["--backup", given],
            NOFILES,
            &[
                &format!("error=Invalid --compress argument: {value} (use quicklz, lz4 or zstd)"),
                "usage=true",
            ],
        );
    }
    check(
        &["--backup", "--compress=zstd", "--compress-zstd-level=5"],
        NOFILES,
        &["compress=Some(Zstd { level: 5 })"],
    );
    check(
        &["--backup", "--compress=zstd", "--compress-zstd-level=25"],
        NOFILES,
        &[
            "compress=Some(Zstd { level: 19 })",
            "warning~compress-zstd-level",
        ],
    );
    check(
        &[
            "--backup",
            "--compress",
            "--compress-threads=4",
            "--compress-chunk-size=1K",
        ],
        NOFILES,
        &["compress-threads=4", "compress-chunk-size=1024"],
    );
    // Below 10.11's minimum: adjusted with a warning, as mariadb-backup.
    check(
        &["--backup", "--compress-chunk-size=100"],
        NOFILES,
        &["compress-chunk-size=1024", "warning~compress-chunk-size"],
    );
    check(&["--backup"], NOFILES, &["binlog-info=Auto"]);
    check(
        &["--backup", "--stream=tar"],
        NOFILES,
        &["error=invalid value 'tar' for option 'stream'; use one of: xbstream, mbstream"],
    );
    for (value, why) in [
        ("gzip", "use quicklz, lz4 or zstd"),
        ("zstandard", "use quicklz, lz4 or zstd"),
        // mariadb-backup takes names only.
        ("1", "use quicklz, lz4 or zstd"),
    ] {
        check(
            &["--backup", &format!("--compress={value}")],
            NOFILES,
            &[
                &format!("error=Invalid --compress argument: {value} ({why})"),
                "usage=true",
            ],
        );
    }
    check(
        &["--backup", "--binlog-info=LOCKLESS"],
        NOFILES,
        &["binlog-info=Lockless"],
    );
    check(&["--backup", "--binlog-info"], NOFILES, &["binlog-info=On"]);
    check(
        &["--backup", "--skip-binlog-info"],
        NOFILES,
        &["binlog-info=Off"],
    );
    // Seen: names are case-insensitive and an index works too.
    check(
        &["--backup", "--innodb-checksum-algorithm=FULL_CRC32"],
        NOFILES,
        &["innodb-checksum-algorithm=Some(FullCrc32)"],
    );
    check(
        &["--backup", "--innodb-checksum-algorithm=2"],
        NOFILES,
        &["innodb-checksum-algorithm=Some(FullCrc32)"],
    );
    check(
        &["--backup", "--protocol=TCP"],
        NOFILES,
        &["protocol=Some(Tcp)"],
    );
}

#[test]
fn optional_values() {
    check(&["--backup"], NOFILES, &["history=None"]);
    check(&["--backup", "--history"], NOFILES, &["history=Some(None)"]);
    check(
        &["--backup", "--history=nightly"],
        NOFILES,
        &["history=Some(Some(\"nightly\"))"],
    );
    // An optional value never takes the next argument.
    check(
        &["--history", "--backup"],
        NOFILES,
        &["mode=--backup", "history=Some(None)"],
    );
    check(
        &["--backup", "--history=x", "--skip-history"],
        NOFILES,
        &["history=None"],
    );
}

#[test]
fn wait_timeout_alias_later_wins() {
    check(
        &["--print-param", "--ftwrl-wait-timeout=5"],
        NOFILES,
        &["startup-wait-timeout=5"],
    );
    check(
        &[
            "--print-param",
            "--ftwrl-wait-timeout=5",
            "--startup-wait-timeout=7",
        ],
        NOFILES,
        &["startup-wait-timeout=7"],
    );
    check(
        &[
            "--print-param",
            "--startup-wait-timeout=7",
            "--ftwrl-wait-timeout=5",
        ],
        NOFILES,
        &["startup-wait-timeout=5"],
    );
}

#[test]
fn many_used_options() {
    check(
        &[
            "--backup",
            "--extra-lsndir=/e",
            "--slave-info",
            "--safe-slave-backup",
            "--galera-info",
            "--log-innodb-page-corruption",
            "--force-non-empty-directories",
            "--innodb-data-file-path=ibdata1:12M:autoextend",
            "--innodb-data-home-dir=/ib",
        ],
        NOFILES,
        &[
            "extra-lsndir=/e",
            "slave-info=true",
            "safe-slave-backup=true",
            "galera-info=true",
            "log-innodb-page-corruption=true",
            "force-non-empty-directories=true",
            "innodb-data-file-path=ibdata1:12M:autoextend",
            "innodb-data-home-dir=/ib",
        ],
    );
}

#[test]
fn options_without_effect_are_accepted_silently() {
    check(
        &[
            "--backup",
            "--rsync",
            "--log",
            "--no-version-check",
            "--no-backup-locks",
            "--incremental-force-scan",
            "--kill-long-query-type=all",
            "--kill-long-queries-timeout=5",
            "--ftwrl-wait-threshold=5",
            "--ftwrl-wait-query-type=all",
            "--innodb",
            "--innodb-log-file-size=1G",
        ],
        NOFILES,
        &["mode=--backup", "warnings=0"],
    );
}

// ---------------------------------------------------------------- modes, help, version

#[test]
fn modes() {
    for (arg, mode) in [
        ("--backup", "--backup"),
        ("--prepare", "--prepare"),
        ("--copy-back", "--copy-back"),
        ("--move-back", "--move-back"),
    ] {
        check(&[arg], NOFILES, &[&format!("mode={mode}")]);
    }
    // --apply-log is --prepare (the same variable in mariadb-backup: the later one wins).
    check(&["--apply-log"], NOFILES, &["mode=--prepare"]);
    check(&["--prepare", "--apply-log"], NOFILES, &["mode=--prepare"]);
    check(
        &["--prepare", "--skip-apply-log"],
        NOFILES,
        &["kind=NoMode"],
    );
    check(
        &["--apply-log", "--backup"],
        NOFILES,
        &["error=--prepare and --backup cannot be used together; give exactly one mode"],
    );
    check(&["--decompress"], NOFILES, &["mode=--decompress"]);
    check(
        &[],
        NOFILES,
        &[
            "error=no mode given: use --backup, --prepare, --copy-back or --move-back (see \
             hotbackup --help)",
            "kind=NoMode",
            "usage=true",
        ],
    );
    check(&["--target-dir=/x"], NOFILES, &["kind=NoMode"]);
    check(
        &["--print-param"],
        NOFILES,
        &[
            "mode=-",
            "print-param=# This MySQL options file was generated by XtraBackup.\n[mysqld]\n",
        ],
    );
    check(
        &["--prepare", "--backup"],
        NOFILES,
        &[
            "error=--prepare and --backup cannot be used together; give exactly one mode",
            "kind=TwoModes",
            "usage=true",
        ],
    );
    check(
        &["--backup", "--copy-back", "--move-back"],
        NOFILES,
        &["kind=TwoModes"],
    );
    check(
        &["--backup", "--backup=0", "--prepare"],
        NOFILES,
        &["mode=--prepare"],
    );
    check(
        &["--backup", "--skip-backup", "--prepare"],
        NOFILES,
        &["mode=--prepare"],
    );
}

#[test]
fn help_and_version_win_over_errors() {
    // Seen: `--frobnicate --version` and `--backup --prepare --version` print the version.
    check(
        &["--frobnicate", "--version"],
        NOFILES,
        &["command=version"],
    );
    check(
        &["--version", "--frobnicate"],
        NOFILES,
        &["command=version"],
    );
    check(
        &["--backup", "--prepare", "--version"],
        NOFILES,
        &["command=version"],
    );
    check(&["--help", "--version"], NOFILES, &["command=help"]);
    check(&["--version", "--help"], NOFILES, &["command=help"]);
    check(&["--help"], NOFILES, &["command=help"]);
    check(&["-?"], NOFILES, &["command=help"]);
    check(&["--version"], NOFILES, &["command=version"]);
    // Seen: an unknown key in a tool group does not stop --version.
    check(
        &["--defaults-file={dir}/my.cnf", "--version"],
        &[("my.cnf", "[mariabackup]\nfrob=1\n")],
        &["command=version"],
    );
    // Only the command line asks for help.
    check(
        &["--defaults-file={dir}/my.cnf", "--backup"],
        &[("my.cnf", "[mysqld]\nhelp\n[mariadb-backup]\nversion\n")],
        &["command=run"],
    );
}

// ---------------------------------------------------------------- option files

#[test]
fn defaults_file_must_be_first() {
    // Seen: exit 1 and this text (after "[00] FATAL ERROR: <ts> ").
    for args in [
        &["--backup", "--defaults-file={dir}/my.cnf"][..],
        &["--no-defaults", "--defaults-file={dir}/my.cnf"],
        &["--defaults-group-suffix=.x", "--defaults-file={dir}/my.cnf"],
    ] {
        check(
            args,
            &[("my.cnf", "[client]\n")],
            &[
                "error=--defaults-file must be specified first on the command line",
                "kind=DefaultsNotFirst",
                "usage=false",
            ],
        );
    }
    check(
        &[
            "--defaults-file={dir}/my.cnf",
            "--defaults-extra-file={dir}/my.cnf",
        ],
        &[("my.cnf", "[client]\n")],
        &["error=--defaults-extra-file must be specified first on the command line"],
    );
    // Seen: the space form is not a defaults option at all.
    check(
        &["--defaults-file", "x.cnf"],
        NOFILES,
        &["error=unknown option '--defaults-file'"],
    );
    // Seen: --no-defaults / --defaults-group-suffix / --print-defaults later are unknown.
    check(
        &["--backup", "--no-defaults"],
        NOFILES,
        &["error=unknown option '--no-defaults'"],
    );
    check(
        &["--backup", "--defaults-group-suffix=.x"],
        NOFILES,
        &["error=unknown variable 'defaults-group-suffix=...'"],
    );
    check(
        &["--backup", "--print-defaults"],
        NOFILES,
        &["error=unknown option '--print-defaults'"],
    );
}

#[test]
fn missing_required_files() {
    check(
        &["--defaults-file={dir}/nope.cnf", "--backup"],
        NOFILES,
        &[
            "error=option file '{dir}/nope.cnf': could not open this required option file; \
             check the path given to --defaults-file / --defaults-extra-file",
            "kind=OptionFile",
            "usage=false",
        ],
    );
    check(
        &["--defaults-extra-file={dir}/nope.cnf", "--backup"],
        NOFILES,
        &["kind=OptionFile"],
    );
    // Missing default files are fine.
    check(&["--backup"], NOFILES, &["mode=--backup", "warnings=0"]);
    check(
        &["--defaults-file={dir}/my.cnf", "--backup"],
        &[("my.cnf", "user=x\n")],
        &[
            "error=option file '{dir}/my.cnf' line 1: option without preceding group; put a \
             [group] line such as [mariadb-backup] above it",
            "usage=false",
        ],
    );
}

#[test]
fn default_file_order_and_no_defaults() {
    let files: &[(&str, &str)] = &[
        ("global.cnf", "[client]\nuser=global\nhost=g\n"),
        ("extra.cnf", "[client]\nuser=extra\nsocket=/e.sock\n"),
        ("home.cnf", "[client]\nuser=home\n"),
    ];
    check(&["--backup"], files, &["user=home", "host=g", "socket=-"]);
    // The extra file is read after the global files but before ~/.my.cnf (mysys order).
    check(
        &["--defaults-extra-file={dir}/extra.cnf", "--backup"],
        files,
        &["user=home", "host=g", "socket=/e.sock"],
    );
    check(&["--no-defaults", "--backup"], files, &["user=-", "host=-"]);
    // --defaults-file: only that file.
    check(
        &["--defaults-file={dir}/extra.cnf", "--backup"],
        files,
        &["user=extra", "host=-"],
    );
}

#[test]
fn group_precedence_from_behavior_doc() {
    // §3.3: "`[mariabackup] user=a` before `[client] user=b` → `a`".
    check(
        &["--defaults-file={dir}/my.cnf", "--backup"],
        &[("my.cnf", "[mariabackup]\nuser=a\n[client]\nuser=b\n")],
        &["user=a"],
    );
    // §3.3: "`[client]` then `[client-server]` → client-server".
    check(
        &["--defaults-file={dir}/my.cnf", "--backup"],
        &[("my.cnf", "[client]\nuser=c\n[client-server]\nuser=cs\n")],
        &["user=cs"],
    );
    check(
        &["--defaults-file={dir}/my.cnf", "--backup"],
        &[("my.cnf", "[client-server]\nuser=cs\n[client]\nuser=c\n")],
        &["user=c"],
    );
    // §3.3: "`[xtrabackup]` then `[mariadb-backup]` → mariadb-backup, and the reverse order
    // gives the reverse".
    check(
        &["--defaults-file={dir}/my.cnf", "--backup"],
        &[(
            "my.cnf",
            "[xtrabackup]\nuser=x\n[mariadb-backup]\nuser=mb\n",
        )],
        &["user=mb"],
    );
    check(
        &["--defaults-file={dir}/my.cnf", "--backup"],
        &[(
            "my.cnf",
            "[mariadb-backup]\nuser=mb\n[xtrabackup]\nuser=x\n",
        )],
        &["user=x"],
    );
    // Seen: all six groups; the last tool group wins over every client group.
    check(
        &["--defaults-file={dir}/my.cnf", "--backup"],
        &[(
            "my.cnf",
            "[client]\nuser=c1\n[client-server]\nuser=cs\nsocket=/cs.sock\n[xtrabackup]\nuser=x\n\
             [mariadb-backup]\nuser=mb\n[mariabackup]\nuser=ma\n[client-mariadb]\nuser=cm\n",
        )],
        &["user=ma", "socket=/cs.sock"],
    );
    // §3.3: "`user/host/port/socket/password` in `[mysqld]`, `[server]` or `[mariadb]` are
    // not used for the connection".
    check(
        &["--defaults-file={dir}/my.cnf", "--backup"],
        &[(
            "my.cnf",
            "[mysqld]\nuser=mysql\nsocket=/mysqld.sock\nport=1234\n[server]\nhost=h\n\
             password=p\n[mariadb]\nuser=m\n",
        )],
        &[
            "user=-",
            "socket=-",
            "port=-",
            "host=-",
            "password=-",
            "warnings=0",
        ],
    );
    // §3.3: "`[mysql]`, `[mariadb-client]` and `[embedded]` were not read".
    check(
        &["--defaults-file={dir}/my.cnf", "--backup"],
        &[(
            "my.cnf",
            "[mysql]\nuser=a\n[mariadb-client]\nuser=b\n[embedded]\nuser=c\n",
        )],
        &["user=-"],
    );
    // The command line overrides everything.
    check(
        &[
            "--defaults-file={dir}/my.cnf",
            "--backup",
            "--user=cmd",
            "-S",
            "/cmd.sock",
        ],
        &[(
            "my.cnf",
            "[client]\nuser=c\nsocket=/c.sock\n[mariabackup]\nuser=ma\n",
        )],
        &["user=cmd", "socket=/cmd.sock", "origin:user=command line"],
    );
}

#[test]
fn server_options_come_from_server_and_tool_groups() {
    // §3.3: datadir and innodb_* from the server groups; seen: file order within them.
    check(
        &["--defaults-file={dir}/my.cnf", "--copy-back"],
        &[(
            "my.cnf",
            "[mysqld]\ndatadir=/m1\n[mysqld]\ndatadir=/m2\n[server]\ninnodb_log_group_home_dir=/r\n\
             [galera]\ninnodb_undo_directory=/u\n[mariadbd-10.11]\ninnodb-data-home-dir=/i\n",
        )],
        &[
            "datadir=/m2",
            "innodb-log-group-home-dir=/r",
            "innodb-undo-directory=/u",
            "innodb-data-home-dir=/i",
        ],
    );
    // Seen: a tool group overrides [mysqld] even when it comes first in the file.
    check(
        &["--defaults-file={dir}/my.cnf", "--copy-back"],
        &[(
            "my.cnf",
            "[mariabackup]\ndatadir=/tool\n[mysqld]\ndatadir=/m2\n",
        )],
        &["datadir=/tool"],
    );
    // Seen: [client-server] feeds both passes; [client] datadir is not used.
    check(
        &["--defaults-file={dir}/my.cnf", "--copy-back"],
        &[(
            "my.cnf",
            "[client-server]\ndatadir=/cs\nsocket=/cs.sock\n[client]\ndatadir=/c\n",
        )],
        &["datadir=/cs", "socket=/cs.sock"],
    );
    // Seen: client-table options ([client] target-dir, even a mode) come from [client], not
    // from [mysqld].
    check(
        &["--defaults-file={dir}/my.cnf"],
        &[(
            "my.cnf",
            "[client]\nprepare\ntarget-dir=/tc\n[mysqld]\ntarget-dir=/tm\nuse-memory=1G\n",
        )],
        &["mode=--prepare", "target-dir=/tc", "use-memory=100663296"],
    );
    check(
        &["--defaults-file={dir}/my.cnf", "--backup"],
        &[("my.cnf", "[client]\nprepare\n")],
        &["kind=TwoModes"],
    );
    check(
        &[
            "--defaults-file={dir}/my.cnf",
            "--copy-back",
            "--datadir=/cmd",
        ],
        &[("my.cnf", "[mysqld]\ndatadir=/m\n")],
        &["datadir=/cmd"],
    );
    // Server-table options with bad values in a server group are errors (seen: exit 9 there).
    check(
        &["--defaults-file={dir}/my.cnf", "--backup"],
        &[("my.cnf", "\n[mysqld]\nparallel=abc\n")],
        &[
            "error=invalid value 'abc' for option 'parallel': unknown suffix 'a'; write a number \
             with an optional K, M, G, T, P or E suffix (in [mysqld] of option file \
             '{dir}/my.cnf' line 3)",
            "usage=true",
        ],
    );
}

#[test]
fn backup_my_cnf_compression_level_is_quiet_at_its_default() {
    // Both tools write innodb_compression_level into backup-my.cnf: the server default (6)
    // says nothing hotbackup ignores; another level is worth the warning.
    for (level, expect) in [
        ("6", "warnings=0"),
        (
            "9",
            "warning~ignoring innodb-compression-level from [mysqld]",
        ),
    ] {
        check(
            &[
                "--defaults-file={dir}/backup-my.cnf",
                "--prepare",
                "--target-dir=/b",
            ],
            &[(
                "backup-my.cnf",
                &format!("[mysqld]\ninnodb_page_size=16384\ninnodb_compression_level={level}\n"),
            )],
            &["mode=--prepare", expect],
        );
    }
}

#[test]
fn unknown_keys_per_group() {
    // Server groups and client groups hold other programs' options: tolerated silently.
    check(
        &["--defaults-file={dir}/my.cnf", "--backup"],
        &[(
            "my.cnf",
            "[mysqld]\npid-file=/x\nplugin_load_add=ha_rocksdb\nskip-name-resolve\nloose-frob=1\n\
             innodb_buffer_pool_size=1G\ninnodb_flush_method=O_DIRECT\n\
             [client]\ndefault-character-set=utf8mb4\nfrob2=3\n[client-server]\nfrob3\n",
        )],
        &[
            "mode=--backup",
            "warning~Warning: hotbackup: ignoring innodb-flush-method from [mysqld] of option \
             file '{dir}/my.cnf' line 7: hotbackup does not use it",
        ],
    );
    // Seen: in a tool group an unknown key is an error ("unknown variable 'frobnicate=1'").
    check(
        &["--defaults-file={dir}/my.cnf", "--backup"],
        &[("my.cnf", "[mariabackup]\nfrobnicate=1\n")],
        &[
            "error=unknown variable 'frobnicate=...' (hotbackup does not know this option; remove \
             it, move it to a server group, or write it as loose-NAME) (in [mariabackup] of \
             option file '{dir}/my.cnf' line 2)",
            "kind=UnknownOption",
            "usage=true",
        ],
    );
    // Seen: server-only options are unknown in tool groups too.
    check(
        &["--defaults-file={dir}/my.cnf", "--backup"],
        &[("my.cnf", "[mariadb-backup]\ninnodb_buffer_pool_size=1G\n")],
        &["kind=UnknownOption"],
    );
    check(
        &["--defaults-file={dir}/my.cnf", "--backup"],
        &[("my.cnf", "[xtrabackup]\nskip-frob\n")],
        &["kind=UnknownOption"],
    );
    // loose- in a tool group: warning (seen).
    check(
        &["--defaults-file={dir}/my.cnf", "--backup"],
        &[("my.cnf", "[mariabackup]\nloose-frob=1\n")],
        &["mode=--backup", "warning~Warning: hotbackup: unknown variable 'loose-frob=...' in [mariabackup] of option file"],
    );
    // Seen: a bad boolean in [client] is a warning.
    check(
        &["--defaults-file={dir}/my.cnf", "--backup"],
        &[("my.cnf", "[client]\nno-lock=maybe\n")],
        &[
            "no-lock=false",
            "warning~ignoring option '--no-lock' due to invalid value 'maybe' in [client]",
        ],
    );
}

#[test]
fn file_values_never_take_the_next_argument() {
    // mariadb-backup takes the next command-line argument as the value (`datadir` alone gave
    // datadir=--print-param); that is a bug, hotbackup reports the line instead.
    check(
        &["--defaults-file={dir}/my.cnf", "--backup"],
        &[("my.cnf", "[client]\npassword\n")],
        &["kind=BadValue"],
    );
    check(
        &["--defaults-file={dir}/my.cnf", "--backup"],
        &[("my.cnf", "[mysqld]\ndatadir\n")],
        &["error=option '--datadir' requires an argument (in [mysqld] of option file '{dir}/my.cnf' line 2)"],
    );
    // Booleans alone are "on".
    check(
        &["--defaults-file={dir}/my.cnf", "--backup"],
        &[(
            "my.cnf",
            "[mariadb-backup]\nno-lock\nslave_info = ON\nskip-check-privileges\n",
        )],
        &["no-lock=true", "slave-info=true", "check-privileges=false"],
    );
}

#[test]
fn group_suffix() {
    let files: &[(&str, &str)] = &[(
        "my.cnf",
        "[client]\nuser=plain\n[client.x]\nuser=suffixed\n[mariabackup.x]\nsocket=/sx.sock\n\
         [mysqld.x]\ndatadir=/dx\n[mysqld]\ndatadir=/d\n",
    )];
    // Seen: `.x` reads [client.x] and [mariabackup.x]; `x` (no dot) reads neither.
    check(
        &[
            "--defaults-file={dir}/my.cnf",
            "--defaults-group-suffix=.x",
            "--backup",
        ],
        files,
        &["user=suffixed", "socket=/sx.sock", "datadir=/d"],
    );
    check(
        &[
            "--defaults-group-suffix=.x",
            "--defaults-file={dir}/my.cnf",
            "--backup",
        ],
        files,
        &["kind=DefaultsNotFirst"],
    );
    check(
        &[
            "--defaults-file={dir}/my.cnf",
            "--defaults-group-suffix=x",
            "--backup",
        ],
        files,
        &["user=plain", "socket=-"],
    );
    // Seen: MYSQL_GROUP_SUFFIX works the same.
    check_env(
        &["--defaults-file={dir}/my.cnf", "--backup"],
        files,
        Some(".x"),
        &["user=suffixed", "socket=/sx.sock"],
    );
}

#[test]
fn includes_and_origins() {
    check(
        &["--defaults-file={dir}/my.cnf", "--copy-back"],
        &[
            ("my.cnf", "[mysqld]\ndatadir=/d\n!includedir {dir}/conf.d\n"),
            (
                "conf.d/50-server.cnf",
                "[mysqld]\ninnodb_log_group_home_dir=/r\n",
            ),
            ("conf.d/60-backup.cnf", "[mariadb-backup]\nuser=bk\n"),
        ],
        &[
            "datadir=/d",
            "innodb-log-group-home-dir=/r",
            "user=bk",
            "origin:datadir=[mysqld] of option file '{dir}/my.cnf' line 2",
            "origin:user=[mariadb-backup] of option file '{dir}/conf.d/60-backup.cnf' line 2",
            "origin:socket=default",
        ],
    );
}

#[test]
fn print_defaults() {
    let files: &[(&str, &str)] = &[(
        "my.cnf",
        "[mariabackup]\ndatadir=/tool\nuser=u\n[mysqld]\ndatadir=/m2\nsocket=/s\npassword=secret\n\
         [client]\nuser=c\n[client-server]\nport=5\n",
    )];
    // Seen: only the server groups, then the remaining arguments (password masked here).
    check(
        &[
            "--defaults-file={dir}/my.cnf",
            "--print-defaults",
            "--datadir=/cmd",
        ],
        files,
        &[
            "print-defaults=hotbackup would have been started with the following arguments:\n\
           --datadir=/m2 --socket=/s --password=***** --port=5 --datadir=/cmd \n",
        ],
    );
    check(
        &["--no-defaults", "--print-defaults"],
        files,
        &["print-defaults=hotbackup would have been started with the following arguments:\n\n"],
    );
}

#[test]
fn no_panics_on_odd_input() {
    for args in [
        &["-"][..],
        &["--"],
        &["---"],
        &["--="],
        &["-=", "--backup"],
        &["--skip-"],
        &["--loose-"],
        &["--loose"],
        &["-pé"],
        &["-é"],
        &["--backup", "--use-memory=é"],
        &["--backup", "--parallel=-"],
        &["--backup", "--parallel=+"],
        &["--backup", "--innodb-page-size=-9223372036854775808"],
        &["--backup", "--throttle=-99999999999999999999"],
    ] {
        let _ = run(args, NOFILES, None);
    }
    let _ = run(
        &["--defaults-file={dir}/my.cnf", "--backup"],
        &[("my.cnf", "[mysqld]\n=x\n[client]\n==\n[mariabackup]\n=\n")],
        None,
    );
}

#[test]
fn non_utf8_argument_is_an_error() {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStringExt;
        let parsed = parse_args_os(
            vec![
                OsString::from("--backup"),
                OsString::from_vec(vec![b'-', b'-', 0xff]),
            ],
            &Env::default(),
        );
        assert_eq!(parsed.result.unwrap_err().kind, ErrorKind::BadValue);
    }
}

#[test]
fn leading_defaults_rules() {
    let args = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let d = leading_defaults(&args(&[
        "--defaults-file=a",
        "--defaults-group-suffix=.x",
        "--print-defaults",
        "--backup",
    ]));
    assert_eq!(d.file.as_deref(), Some("a"));
    assert_eq!(d.group_suffix.as_deref(), Some(".x"));
    assert!(d.print_defaults);
    assert_eq!(d.consumed, 3);
    // A repeated one ends the run.
    let d = leading_defaults(&args(&["--defaults-file=a", "--defaults-file=b"]));
    assert_eq!((d.file.as_deref(), d.consumed), (Some("a"), 1));
    // --no-defaults only first, and then no defaults-file.
    let d = leading_defaults(&args(&["--no-defaults", "--defaults-file=a"]));
    assert_eq!(
        (d.no_defaults, d.file.as_deref(), d.consumed),
        (true, None, 1)
    );
}

/// An innobackupex command line: translated, then parsed as usual; password positions refer
/// to the real arguments (`--innobackupex` is index 0), so scrubbing argv hits the password.
#[test]
fn innobackupex_command_line() {
    let args: Vec<String> = [
        "--innobackupex",
        "--no-defaults",
        "--password=pw",
        "--no-timestamp",
        "--innodb-force-recovery=2",
        "--apply-log",
        "/b",
    ]
    .iter()
    .map(|a| a.to_string())
    .collect();
    let parsed = parse_innobackupex(&args, &Env::default(), "2026-12-03_04-05-06");
    let Ok(Command::Run(o)) = parsed.result else {
        panic!("{:?}", parsed.result);
    };
    assert_eq!(o.mode, Some(crate::options::Mode::Prepare));
    assert_eq!(o.target_dir, Path::new("/b"));
    assert_eq!(o.innodb_force_recovery, 1);
    assert_eq!(o.command_line_secrets.len(), 1);
    let secret = o.command_line_secrets[0];
    assert_eq!((secret.arg, &args[secret.arg][secret.start..]), (2, "pw"));

    let backup: Vec<String> = ["--innobackupex", "--no-defaults", "/root/"]
        .iter()
        .map(|a| a.to_string())
        .collect();
    let parsed = parse_innobackupex(&backup, &Env::default(), "2026-12-03_04-05-06");
    let Ok(Command::Run(o)) = parsed.result else {
        panic!("{:?}", parsed.result);
    };
    assert_eq!(o.mode, Some(crate::options::Mode::Backup));
    assert_eq!(o.target_dir, Path::new("/root/2026-12-03_04-05-06"));

    let include: Vec<String> = ["--innobackupex", "--include=^db[.]", "/b"]
        .iter()
        .map(|a| a.to_string())
        .collect();
    let parsed = parse_innobackupex(&include, &Env::default(), "t");
    let Ok(Command::Run(o)) = parsed.result else {
        panic!("{:?}", parsed.result);
    };
    assert_eq!(o.partial.tables.as_deref(), Some("^db[.]"));

    let refused: Vec<String> = ["--innobackupex", "--decompress", "/b"]
        .iter()
        .map(|a| a.to_string())
        .collect();
    let e = parse_innobackupex(&refused, &Env::default(), "t")
        .result
        .unwrap_err();
    assert!(e.is_usage(), "{e:?}");
}
