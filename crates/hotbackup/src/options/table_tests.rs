//! Walks the whole option table: every option is in exactly the state it claims. Implemented
//! options change [`Options`] and every field of `Options` is read by the binary; options
//! without effect change nothing; refused ones are refused from the command line and the tool
//! groups, and from the shared groups as their [`Shared`] says.

use std::path::{Path, PathBuf};

use super::*;
use crate::options::cnf::tests::write_files;
use crate::options::spec::{Accepts, Kind, Shared, State};
use crate::options::{parse_args, Command, Env, ErrorKind, Options, Parsed};

fn parse(args: &[&str]) -> Parsed {
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    parse_args(&args, &Env::default())
}

/// The options, without the test-only record of where values came from.
fn options(args: &[&str]) -> Options {
    match parse(args).result {
        Ok(Command::Run(mut o)) => {
            o.origins.clear();
            *o
        }
        other => panic!("{args:?}: {other:?}"),
    }
}

/// A command-line argument giving `opt` a value other than its default.
fn non_default(opt: Opt) -> String {
    let spec = opt.spec();
    let name = spec.name;
    if opt == Opt::InnodbLogWriteAheadSize {
        // Must stay a power of two (innodb_param.rs).
        return format!("--{name}=1024");
    }
    match spec.kind {
        Kind::Bool { default: true } => format!("--skip-{name}"),
        Kind::Bool { default: false } | Kind::Flag => format!("--{name}"),
        Kind::Text(_) => format!("--{name}=/x"),
        Kind::Num {
            default,
            max,
            block,
            ..
        } => format!("--{name}={}", (default + block).min(max)),
        Kind::Enum { values, .. } => format!("--{name}={}", values[0]),
    }
}

#[test]
fn implemented_options_reach_options() {
    let baseline = options(&["--backup"]);
    for &opt in Opt::ALL {
        if opt.spec().state != State::Implemented {
            continue;
        }
        let arg = non_default(opt);
        match opt {
            Opt::Help => assert!(matches!(parse(&[&arg]).result, Ok(Command::Help))),
            Opt::Version => assert!(matches!(parse(&[&arg]).result, Ok(Command::Version))),
            Opt::Backup
            | Opt::Prepare
            | Opt::ApplyLog
            | Opt::CopyBack
            | Opt::MoveBack
            | Opt::Decompress => {
                let o = options(&["--print-param", &arg]);
                assert!(o.mode.is_some(), "{arg}");
            }
            // A text option that selects a mode.
            Opt::RestoreTables => {
                let o = options(&[&arg]);
                assert_eq!(o.mode, Some(crate::options::Mode::RestoreTables), "{arg}");
                assert_eq!(o.restore_tables.as_deref(), Some("/x"));
                assert_eq!(
                    parse(&["--backup", &arg]).result.unwrap_err().kind,
                    ErrorKind::TwoModes
                );
            }
            Opt::PrintParam => assert!(options(&["--backup", &arg]).print_param.is_some()),
            // Refused with --backup (innodb_param.rs): read by --prepare.
            Opt::InnodbForceRecovery => assert_ne!(
                options(&["--prepare", &arg]),
                options(&["--prepare"]),
                "{arg} changes nothing"
            ),
            // Changes how the parser treats what follows.
            Opt::MysqldArgs => {
                assert!(parse(&["--backup", "--frob"]).result.is_err());
                options(&["--backup", &arg, "--frob"]);
            }
            // The zstd level matters with zstd only.
            Opt::CompressZstdLevel => assert_ne!(
                options(&["--backup", "--compress=zstd", &arg]),
                options(&["--backup", "--compress=zstd"]),
                "{arg} changes nothing"
            ),
            // A key needs the certificate it belongs to, a CRL the CA it checks.
            Opt::SslKey | Opt::SslCrl | Opt::SslCrlpath => {
                let needs = if opt == Opt::SslKey {
                    "--ssl-cert=/c"
                } else {
                    "--ssl-ca=/ca"
                };
                assert_ne!(
                    options(&["--backup", needs, &arg]),
                    options(&["--backup", needs]),
                    "{arg} changes nothing"
                )
            }
            _ => assert_ne!(
                options(&["--backup", &arg]),
                baseline,
                "{arg} changes nothing"
            ),
        }
    }
}

#[test]
fn options_without_effect_change_nothing() {
    let baseline = options(&["--backup"]);
    let mut seen = 0;
    for &opt in Opt::ALL {
        if opt.spec().state == State::NoEffect {
            let arg = non_default(opt);
            let parsed = parse(&["--backup", &arg]);
            assert!(parsed.warnings.is_empty(), "{arg}: {:?}", parsed.warnings);
            assert_eq!(options(&["--backup", &arg]), baseline, "{arg}");
            assert!(opt.spec().help.contains("old") || !opt.spec().help.is_empty());
            seen += 1;
        }
    }
    assert!(seen >= 10, "{seen}");
}

fn assert_refused(parsed: &Parsed, name: &str, ctx: &str) {
    match &parsed.result {
        // With --backup, mariadb-backup's own refusal comes first (innodb_param.rs).
        Err(e) if name == "innodb-force-recovery" && e.kind == ErrorKind::InnodbSetting => {
            assert!(
                e.message.contains("should only be used with \"--prepare\""),
                "{ctx}: {e}"
            );
        }
        Err(e) => {
            assert_eq!(e.kind, ErrorKind::Unsupported, "{ctx}: {e}");
            assert!(e.is_usage(), "{ctx}");
            assert!(
                e.message.starts_with(&format!(
                    "--{name} is not supported by this version of hotbackup"
                )),
                "{ctx}: {e}"
            );
        }
        other => panic!("{ctx}: not refused: {other:?}"),
    }
}

#[test]
fn refused_options_are_refused_on_the_command_line_and_in_tool_groups() {
    let mut seen = 0;
    for &opt in Opt::ALL {
        let spec = opt.spec();
        let State::Refused { accepts, .. } = spec.state else {
            assert_eq!(spec.refused_example(), None);
            continue;
        };
        seen += 1;
        let example = spec.refused_example().unwrap();
        for mode in ["--backup", "--prepare", "--copy-back"] {
            assert_refused(&parse(&[mode, &example]), spec.name, &example);
        }
        // From a tool group.
        let body = example.trim_start_matches("--");
        let dir = write_files(
            "refused",
            &[("my.cnf", &format!("[mariadb-backup]\n{body}\n"))],
        );
        let file = format!("--defaults-file={}", dir.join("my.cnf").display());
        let parsed = parse(&[&file, "--backup"]);
        assert_refused(&parsed, spec.name, &format!("[mariadb-backup] {body}"));
        let Err(e) = parsed.result else {
            unreachable!()
        };
        assert!(e.message.contains("[mariadb-backup] of option file"), "{e}");
        // The default value asks for nothing and is accepted.
        let default = match (spec.kind, accepts) {
            (_, Accepts::Off) => Some(format!("--skip-{}", spec.name)),
            (Kind::Bool { default: true }, _) => Some(format!("--{}", spec.name)),
            (Kind::Bool { default: false }, _) => Some(format!("--skip-{}", spec.name)),
            (Kind::Num { default, .. }, _) => Some(format!("--{}={default}", spec.name)),
            _ => None,
        };
        if let Some(default) = default {
            options(&["--backup", &default]);
        }
    }
    // Fewer as options get implemented (34 left after incremental, partial, export).
    assert!(seen >= 30, "{seen}");
}

#[test]
fn refused_options_from_shared_groups() {
    for &opt in Opt::ALL {
        let spec = opt.spec();
        let State::Refused { shared, .. } = spec.state else {
            continue;
        };
        let body = spec.refused_example().unwrap();
        let body = body.trim_start_matches("--");
        let group = match spec.scope {
            Scope::Server => "mysqld",
            Scope::Client => "client",
        };
        let dir = write_files("shared", &[("my.cnf", &format!("[{group}]\n{body}\n"))]);
        let file = format!("--defaults-file={}", dir.join("my.cnf").display());
        let ctx = format!("[{group}] {body}");
        let parsed = parse(&[&file, "--backup"]);
        match shared {
            Shared::Refuse => assert_refused(&parsed, spec.name, &ctx),
            Shared::Warn => {
                assert!(
                    matches!(parsed.result, Ok(Command::Run(_))),
                    "{ctx}: {parsed:?}"
                );
                let warning = format!("Warning: hotbackup: ignoring {} from [{group}]", spec.name);
                assert!(
                    parsed.warnings.iter().any(|w| w.starts_with(&warning)),
                    "{ctx}: {:?}",
                    parsed.warnings
                );
            }
        }
    }
}

#[test]
fn tls_is_asked_for_by_any_ssl_option_and_the_last_word_wins() {
    let tls = |args: &[&str]| {
        let mut all = vec!["--backup"];
        all.extend_from_slice(args);
        options(&all).connection.tls
    };
    let with = |f: &dyn Fn(&mut server::TlsOptions)| {
        let mut t = server::TlsOptions::default();
        f(&mut t);
        Some(t)
    };
    let none: Option<server::TlsOptions> = None;
    for (args, want) in [
        (&[][..], none.clone()),
        (&["--ssl"][..], with(&|_| {})),
        (&["--skip-ssl"][..], none.clone()),
        (&["--ssl=0"][..], none.clone()),
        (
            &["--ssl-ca=/ca.pem"][..],
            with(&|t| t.ca = Some("/ca.pem".into())),
        ),
        (
            &["--ssl-capath=/cas"][..],
            with(&|t| t.capath = Some("/cas".into())),
        ),
        (
            &["--ssl-cert=/c.pem", "--ssl-key=/k.pem"][..],
            with(&|t| {
                t.cert = Some("/c.pem".into());
                t.key = Some("/k.pem".into());
            }),
        ),
        (
            &["--ssl-verify-server-cert"][..],
            with(&|t| t.verify_server_cert = true),
        ),
        (&["--skip-ssl-verify-server-cert"][..], none.clone()),
        (
            &["--ssl-ca=/ca.pem", "--ssl-crl=/r.pem"][..],
            with(&|t| {
                t.ca = Some("/ca.pem".into());
                t.crl = Some("/r.pem".into());
            }),
        ),
        // The one given last wins, as in MariaDB's client.
        (&["--ssl-ca=/ca.pem", "--skip-ssl"][..], none.clone()),
        (
            &["--skip-ssl", "--ssl-ca=/ca.pem"][..],
            with(&|t| t.ca = Some("/ca.pem".into())),
        ),
        (&["--skip-ssl", "--ssl"][..], with(&|_| {})),
    ] {
        assert_eq!(tls(args), want, "{args:?}");
    }
    // From [client], as the other clients read it.
    let dir = write_files("tls", &[("my.cnf", "[client]\nssl-ca=/etc/ca.pem\n")]);
    let file = format!("--defaults-file={}", dir.join("my.cnf").display());
    assert_eq!(
        options(&[&file, "--backup"])
            .connection
            .tls
            .and_then(|t| t.ca),
        Some(PathBuf::from("/etc/ca.pem"))
    );
}

#[test]
fn tls_settings_that_mean_nothing_are_usage_errors() {
    for (args, want) in [
        (&["--ssl-key=/k.pem"][..], "--ssl-key needs --ssl-cert"),
        (&["--ssl-crl=/r.pem"][..], "--ssl-crl needs --ssl-ca"),
        (
            &["--ssl", "--ssl-crlpath=/r"][..],
            "--ssl-crlpath needs --ssl-ca",
        ),
    ] {
        let mut all = vec!["--backup"];
        all.extend_from_slice(args);
        match parse(&all).result {
            Err(e) => {
                assert!(e.is_usage(), "{args:?}: {e}");
                assert!(e.message.starts_with(want), "{args:?}: {e}");
            }
            other => panic!("{args:?}: {other:?}"),
        }
    }
    // What rustls cannot do is refused, never ignored.
    for arg in ["--ssl-cipher=AES128-SHA", "--tls-version=TLSv1.2"] {
        let name = &arg[2..arg.find('=').unwrap()];
        assert_refused(&parse(&["--backup", arg]), name, arg);
    }
}

/// The names of the fields of `pub struct NAME { ... }` in `source`, except test-only ones.
fn fields(source: &str, name: &str) -> Vec<String> {
    let start = source
        .find(&format!("pub struct {name} {{"))
        .unwrap_or_else(|| panic!("no struct {name}"));
    let body = &source[start..];
    let body = &body[..body.find("\n}").unwrap()];
    let mut out = Vec::new();
    let mut test_only = false;
    for line in body.lines().skip(1) {
        let line = line.trim();
        if line == "#[cfg(test)]" {
            test_only = true;
        } else if let Some(rest) = line.strip_prefix("pub ") {
            let field = rest.split(':').next().unwrap().to_string();
            if !std::mem::take(&mut test_only) {
                out.push(field);
            }
        }
    }
    out
}

fn sources(dir: &Path, skip: &Path, out: &mut String) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path: PathBuf = entry.unwrap().path();
        if path == skip {
            continue;
        }
        if path.is_dir() {
            sources(&path, skip, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push_str(&std::fs::read_to_string(&path).unwrap());
        }
    }
}

/// Options fields that are in a refused option's place until the code that reads them is
/// merged (none today).
const PENDING: &[&str] = &[];

#[test]
fn every_options_field_is_read_by_the_binary() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut code = String::new();
    sources(&src, &src.join("options"), &mut code);
    let defs = include_str!("mod.rs");
    let mut checked = 0;
    for strukt in ["Options", "Connection", "Innodb", "Partial"] {
        for field in fields(defs, strukt) {
            if PENDING.contains(&field.as_str()) {
                continue;
            }
            let read = code.match_indices(&format!(".{field}")).any(|(at, m)| {
                let next = code[at + m.len()..].chars().next().unwrap_or(' ');
                !(next.is_alphanumeric() || next == '_')
            });
            assert!(
                read,
                "Options field `{strukt}::{field}` is never read outside options/"
            );
            checked += 1;
        }
    }
    assert!(checked >= 25, "{checked}");
}

#[test]
fn table_and_opt_agree() {
    assert_eq!(Opt::ALL.len(), SPECS.len());
    for (i, &opt) in Opt::ALL.iter().enumerate() {
        assert_eq!(opt as usize, i);
        assert_eq!(Opt::of(opt.spec()), opt);
    }
}
