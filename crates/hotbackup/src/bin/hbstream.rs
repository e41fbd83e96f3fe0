//! `hbstream`: the xbstream archiver with `mbstream`'s command line. `-x` extracts the stream
//! on standard input (from mariadb-backup or hotbackup) into the current directory or `-C DIR`,
//! refusing damaged, cut or unsafe streams; `-c FILES…` streams files to standard output.
//! The work is in the `xbstream` crate; this is argument parsing, messages and exit codes.

use std::ffi::OsString;
use std::io::{BufReader, BufWriter, IsTerminal};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[path = "../exit.rs"]
#[allow(dead_code)]
mod exit;
#[path = "../log.rs"]
#[allow(dead_code)]
mod log;

use exit::Code;

const LONG: &[&str] = &[
    "help",
    "create",
    "extract",
    "directory",
    "verbose",
    "parallel",
];

#[derive(Debug, Default, PartialEq)]
struct Args {
    help: bool,
    create: bool,
    extract: bool,
    directory: Option<PathBuf>,
    verbose: bool,
    parallel: usize,
    files: Vec<OsString>,
}

fn usage_text() -> String {
    format!(
        "hbstream {} (hotbackup; mbstream 10.11 compatible)\n\
         Serialize/deserialize files in the XBSTREAM format.\n\n\
         Usage:\n  \
         hbstream -c [OPTIONS...] FILES...   # stream the files to standard output\n  \
         hbstream -x [OPTIONS...]            # extract the stream on standard input\n\n\
         Options:\n  \
         -?, --help            Display this help and exit.\n  \
         -c, --create          Stream the specified files to the standard output.\n  \
         -x, --extract         Extract to disk files from the stream on the standard input.\n  \
         -C, --directory=name  Change the current directory to the specified one before\n                        \
         streaming or extracting.\n  \
         -v, --verbose         Print verbose output.\n  \
         -p, --parallel=#      Number of worker threads for reading / writing.\n\n\
         Unlike mbstream, -x refuses (non-zero exit, nothing written outside the directory):\n\
         absolute paths and '..', a file that already exists (unless the stream marks it\n\
         rewritable), a CRC mismatch, an unknown chunk type, and a stream that is empty or cut\n\
         short; xtrabackup_checkpoints is written only once the whole stream has arrived.\n\n\
         Exit codes:\n  0  success\n  \
         {}  usage: unknown option, no mode or both modes, missing value\n  \
         {}  a file could not be read or written, or already exists in the target directory\n  \
         {}  the stream is damaged, cut short or unsafe (message names the offset and file)\n",
        env!("CARGO_PKG_VERSION"),
        Code::Usage as u8,
        Code::Io as u8,
        Code::BackupCorrupt as u8,
    )
}

fn parse(argv: &[OsString]) -> Result<Args, String> {
    let mut a = Args {
        parallel: 1,
        ..Args::default()
    };
    let mut i = 0;
    let value = |i: &mut usize, opt: &str| -> Result<OsString, String> {
        *i += 1;
        argv.get(*i)
            .cloned()
            .ok_or_else(|| format!("option '{opt}' requires an argument"))
    };
    let mut only_files = false;
    while i < argv.len() {
        let arg = &argv[i];
        let s = arg.to_string_lossy();
        if only_files || !s.starts_with('-') || s == "-" {
            a.files.push(arg.clone());
        } else if s == "--" {
            only_files = true;
        } else if let Some(long) = s.strip_prefix("--") {
            let (name, inline) = match long.split_once('=') {
                Some((n, v)) => (n, Some(OsString::from(v))),
                None => (long, None),
            };
            let matches: Vec<&str> = LONG
                .iter()
                .copied()
                .filter(|l| *l == name || l.starts_with(name))
                .collect();
            let full = match matches.as_slice() {
                [one] => *one,
                _ if LONG.contains(&name) => name,
                [] => return Err(format!("unknown option '--{name}'")),
                _ => {
                    return Err(format!(
                        "ambiguous option '--{name}' ({})",
                        matches.join(", ")
                    ))
                }
            };
            let takes_value = matches!(full, "directory" | "parallel");
            if !takes_value && inline.is_some() {
                return Err(format!("option '--{full}' takes no value"));
            }
            let v = if takes_value {
                Some(match inline {
                    Some(v) => v,
                    None => value(&mut i, &format!("--{full}"))?,
                })
            } else {
                None
            };
            set(&mut a, full, v)?;
        } else {
            let chars: Vec<char> = s[1..].chars().collect();
            let mut k = 0;
            while k < chars.len() {
                let full = match chars[k] {
                    '?' => "help",
                    'c' => "create",
                    'x' => "extract",
                    'C' => "directory",
                    'v' => "verbose",
                    'p' => "parallel",
                    c => return Err(format!("unknown option '-{c}'")),
                };
                if matches!(full, "directory" | "parallel") {
                    let rest: String = chars[k + 1..].iter().collect();
                    let v = if rest.is_empty() {
                        value(&mut i, &format!("-{}", chars[k]))?
                    } else {
                        OsString::from(rest)
                    };
                    set(&mut a, full, Some(v))?;
                    break;
                }
                set(&mut a, full, None)?;
                k += 1;
            }
        }
        i += 1;
    }
    Ok(a)
}

fn set(a: &mut Args, name: &str, v: Option<OsString>) -> Result<(), String> {
    match name {
        "help" => a.help = true,
        "create" | "extract" => {
            if a.create || a.extract {
                return Err("can't specify both -c and -x".into());
            }
            a.create = name == "create";
            a.extract = name == "extract";
        }
        "verbose" => a.verbose = true,
        "directory" => a.directory = v.map(PathBuf::from),
        "parallel" => {
            let v = v.unwrap_or_default();
            a.parallel = v
                .to_str()
                .and_then(|s| s.parse::<usize>().ok())
                .filter(|n| (1..=1024).contains(n))
                .ok_or_else(|| {
                    format!(
                        "--parallel must be a number from 1 to 1024, not '{}'",
                        v.to_string_lossy()
                    )
                })?;
        }
        _ => unreachable!("{name}"),
    }
    Ok(())
}

fn main() -> ExitCode {
    let log = log::Log::new();
    let fail = |code: Code, msg: &str| -> ExitCode {
        log.line(0, &format!("hbstream: {msg}"));
        code.into()
    };
    let argv: Vec<OsString> = std::env::args_os().skip(1).collect();
    let args = match parse(&argv) {
        Ok(a) => a,
        Err(e) => return fail(Code::Usage, &format!("{e}; see hbstream --help")),
    };
    if args.help {
        print!("{}", usage_text());
        return ExitCode::SUCCESS;
    }
    let dir = args.directory.clone().unwrap_or_else(|| PathBuf::from("."));
    if args.extract {
        if !args.files.is_empty() {
            return fail(
                Code::Usage,
                &format!(
                    "-x reads the stream from standard input and takes no file names (got '{}'); \
                     use: hbstream -x -C DIR < STREAM",
                    args.files[0].to_string_lossy()
                ),
            );
        }
        if std::io::stdin().is_terminal() {
            return fail(
                Code::Usage,
                "standard input is a terminal: pipe or redirect a stream into hbstream -x",
            );
        }
        let verbose = |p: &str| {
            if args.verbose {
                log.line(0, p);
            }
        };
        let options = xbstream::extract::Options {
            parallel: args.parallel,
            on_file: &verbose,
        };
        let input = BufReader::with_capacity(1 << 20, std::io::stdin().lock());
        match xbstream::extract::extract(input, &dir, &options) {
            Ok(_) => ExitCode::SUCCESS,
            Err(e) => {
                let (code, hint) = if e.is_damaged() {
                    (
                        Code::BackupCorrupt,
                        "The stream is damaged, cut short or unsafe: do not use what was \
                         extracted; stream the backup again",
                    )
                } else {
                    (
                        Code::Io,
                        "Fix the target directory (free space, permissions; extract into an \
                         empty directory) and extract again",
                    )
                };
                fail(code, &format!("{e}. {hint}"))
            }
        }
    } else if args.create {
        if args.files.is_empty() {
            return fail(
                Code::Usage,
                "no files are specified; usage: hbstream -c FILES...",
            );
        }
        if std::io::stdout().is_terminal() {
            return fail(
                Code::Usage,
                "standard output is a terminal: redirect the stream to a file or a pipe",
            );
        }
        let files: Vec<&Path> = args.files.iter().map(Path::new).collect();
        let out = BufWriter::with_capacity(1 << 20, std::io::stdout());
        let mut verbose = |p: &str| {
            if args.verbose {
                log.line(0, p);
            }
        };
        match xbstream::create::create(out, &dir, &files, &mut verbose) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e @ xbstream::create::CreateError::BadName { .. }) => {
                fail(Code::Usage, &e.to_string())
            }
            Err(e) => fail(Code::Io, &e.to_string()),
        }
    } else {
        fail(
            Code::Usage,
            "either -c or -x must be specified; see hbstream --help",
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(args: &[&str]) -> Result<Args, String> {
        parse(&args.iter().map(OsString::from).collect::<Vec<_>>())
    }

    #[test]
    fn command_lines() {
        let x = |dir: &str, parallel, verbose| Args {
            extract: true,
            directory: Some(PathBuf::from(dir)),
            parallel,
            verbose,
            ..Args::default()
        };
        let cases: &[(&[&str], Args)] = &[
            (&["-x", "-C", "d"], x("d", 1, false)),
            (&["-xvCd", "-p4"], x("d", 4, true)),
            (
                &["--extract", "--directory=d", "--parallel", "2"],
                x("d", 2, false),
            ),
            (&["--ext", "--dir", "d", "--verb"], x("d", 1, true)),
        ];
        for (argv, want) in cases {
            assert_eq!(&p(argv).unwrap(), want, "{argv:?}");
        }
        let c = p(&["-c", "a", "--", "-b"]).unwrap();
        assert!(c.create);
        assert_eq!(c.files, [OsString::from("a"), OsString::from("-b")]);
    }

    #[test]
    fn bad_command_lines() {
        let cases: &[(&[&str], &str)] = &[
            (&["-x", "-c"], "both"),
            (&["-z"], "unknown option '-z'"),
            (&["--bogus"], "unknown option '--bogus'"),
            (&["-x", "-C"], "requires an argument"),
            (&["-x", "-p", "0"], "--parallel"),
            (&["-x", "--parallel=many"], "--parallel"),
            (&["--verbose=1"], "takes no value"),
        ];
        for (argv, word) in cases {
            let e = p(argv).unwrap_err();
            assert!(e.contains(word), "{argv:?}: {e}");
        }
    }
}
