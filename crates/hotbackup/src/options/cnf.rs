//! Option-file reader with MariaDB's `my.cnf` syntax (mysys `my_default.c`, 10.11).
//!
//! The reader knows nothing about options; it returns every `key[=value]` line with its group,
//! file and line, in the order MariaDB would see them, so that the precedence rules (later wins)
//! and the group rules (which group feeds which option table) live in one place: `parse.rs`.
//!
//! Syntax, as observed with `my_print_defaults` and `mariadb-backup` 10.11.19:
//!
//! * leading whitespace is skipped; lines starting with `#` or `;` are comments;
//! * `#` outside quotes ends the line anywhere (a `;` does only at the start);
//! * `[group]`: trailing blanks inside the brackets are dropped, leading ones are kept (so
//!   `[ mysqld ]` is *not* `[mysqld]`); group names match case-insensitively; a missing `]` is
//!   an error, and so is an option before the first group;
//! * `key`, `key=value`, `key = value`; blanks around both are trimmed; a value whose first and
//!   last characters are the same quote loses them; escapes `\n \t \r \b \s \" \' \\` are
//!   decoded (quoted or not), any other `\x` stays as is;
//! * `!include FILE` (a missing file is skipped silently) and `!includedir DIR` (a missing
//!   directory is an error; entries whose name ends in exactly `.cnf`, dot files included, in
//!   byte order). Relative paths are relative to the current directory, not to the including
//!   file, as in MariaDB. Other `!` lines are ignored. Includes nest at most 10 deep;
//! * a world-writable file is skipped with a warning, as MariaDB does (anyone could inject
//!   options such as a `datadir` to copy back into).

use std::fmt;
use std::path::{Path, PathBuf};

/// How deep `!include`/`!includedir` may nest (MariaDB's `max_recursion_level`).
const MAX_INCLUDE_DEPTH: usize = 10;

/// One `key[=value]` line of an option file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CnfEntry {
    /// The group the line is in, as written (compare with [`group_matches`]).
    pub group: String,
    /// The option name as written (`-` and `_` not yet unified).
    pub key: String,
    /// The decoded value, `None` for a bare `key` line.
    pub value: Option<String>,
    /// The file the line came from (an included file names itself, not the includer).
    pub file: PathBuf,
    /// 1-based line number in `file`.
    pub line: usize,
}

impl CnfEntry {
    /// `--key=value` or `--key`, the way MariaDB turns a line into an argument.
    pub fn as_arg(&self) -> String {
        match &self.value {
            Some(v) => format!("--{}={}", self.key, v),
            None => format!("--{}", self.key),
        }
    }
}

/// An option file that could not be read or has a syntax error. Fatal, as in MariaDB.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CnfError {
    /// The file at fault.
    pub file: PathBuf,
    /// The 1-based line, when the problem is on a line.
    pub line: Option<usize>,
    /// What is wrong and what to do.
    pub message: String,
}

impl fmt::Display for CnfError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(
                f,
                "option file '{}' line {}: {}",
                self.file.display(),
                line,
                self.message
            ),
            None => write!(f, "option file '{}': {}", self.file.display(), self.message),
        }
    }
}

impl std::error::Error for CnfError {}

/// Everything read from one top-level option file (and the files it includes).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OptionFile {
    /// All option lines in reading order.
    pub entries: Vec<CnfEntry>,
    /// Non-fatal findings (world-writable file skipped, include depth reached), ready to print.
    pub warnings: Vec<String>,
}

impl OptionFile {
    /// The last value of `key` in `group` (later lines win, as everywhere in MariaDB).
    /// `-`/`_` in keys are equivalent and groups match case-insensitively. A bare `key` line
    /// yields `Some(None)`. Used e.g. for `backup-my.cnf` during `--prepare`.
    // Not called by the binary yet: `--prepare` will read backup-my.cnf through it.
    #[allow(dead_code)]
    pub fn get(&self, group: &str, key: &str) -> Option<Option<&str>> {
        self.entries
            .iter()
            .rev()
            .find(|e| group_matches(&e.group, group) && same_option_name(&e.key, key))
            .map(|e| e.value.as_deref())
    }

    /// The entries of one group, in file order.
    #[allow(dead_code)] // for --prepare's backup-my.cnf, like `get`
    pub fn group<'a>(&'a self, group: &'a str) -> impl Iterator<Item = &'a CnfEntry> + 'a {
        self.entries
            .iter()
            .filter(move |e| group_matches(&e.group, group))
    }
}

/// Whether a group header names `wanted` (MariaDB compares group names case-insensitively).
pub fn group_matches(header: &str, wanted: &str) -> bool {
    header.eq_ignore_ascii_case(wanted)
}

/// Whether two option names are the same for my_getopt: `-` and `_` are interchangeable and
/// letters compare without case (`--Apply_log` is `--apply-log`, as mariadb-backup takes it).
pub fn same_option_name(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes().zip(b.bytes()).all(|(x, y)| {
            x.eq_ignore_ascii_case(&y) || (matches!(x, b'-' | b'_') && matches!(y, b'-' | b'_'))
        })
}

/// Reads one option file that must exist (`--defaults-file`, `--defaults-extra-file`,
/// `backup-my.cnf`). A missing file is an error.
pub fn read_required(path: &Path) -> Result<OptionFile, CnfError> {
    let mut out = OptionFile::default();
    if !read_into(path, 0, &mut out)? {
        return Err(CnfError {
            file: path.to_path_buf(),
            line: None,
            message: "could not open this required option file; check the path given to \
                      --defaults-file / --defaults-extra-file"
                .into(),
        });
    }
    Ok(out)
}

/// Reads one of the default option files; a missing file is fine (returns no entries).
pub fn read_optional(path: &Path) -> Result<OptionFile, CnfError> {
    let mut out = OptionFile::default();
    read_into(path, 0, &mut out)?;
    Ok(out)
}

/// Appends `path`'s lines to `out`. Returns `Ok(false)` when the file does not exist or cannot
/// be opened (the caller decides whether that matters), `Ok(true)` when it was read or
/// deliberately skipped.
fn read_into(path: &Path, depth: usize, out: &mut OptionFile) -> Result<bool, CnfError> {
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(_) => return Ok(false),
    };
    if is_world_writable(&meta) && meta.is_file() {
        out.warnings.push(format!(
            "Warning: World-writable config file '{}' is ignored",
            path.display()
        ));
        return Ok(true);
    }
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        // A directory or an unreadable file is treated like a missing one, as fopen() fails.
        Err(_) => return Ok(false),
    };
    let text = String::from_utf8_lossy(&bytes);
    let mut group: Option<String> = None;
    for (idx, raw_line) in text.lines().enumerate() {
        let line_no = idx + 1;
        let err = |message: String| CnfError {
            file: path.to_path_buf(),
            line: Some(line_no),
            message,
        };
        let line = raw_line.trim_start();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(directive) = line.strip_prefix('!') {
            if depth >= MAX_INCLUDE_DEPTH {
                out.warnings.push(format!(
                    "Warning: skipping '{}' directive as maximum include recursion level was \
                     reached in file {} at line {}",
                    line.trim_end(),
                    path.display(),
                    line_no
                ));
                continue;
            }
            let directive = directive.trim_start();
            if let Some(arg) = keyword_argument(directive, "includedir") {
                let Some(dir) = arg else {
                    return Err(err("'!includedir' needs a directory name after it".into()));
                };
                include_dir(Path::new(&dir), depth, out).map_err(|e| {
                    err(format!(
                        "cannot read directory '{dir}' named by !includedir: {e}; create it or \
                         remove the directive"
                    ))
                })??;
            } else if let Some(arg) = keyword_argument(directive, "include") {
                let Some(file) = arg else {
                    return Err(err("'!include' needs a file name after it".into()));
                };
                // MariaDB skips a missing !include file silently; so do we.
                read_into(Path::new(&file), depth + 1, out)?;
            }
            continue;
        }
        if let Some(rest) = line.strip_prefix('[') {
            let Some(end) = rest.find(']') else {
                return Err(err(
                    "wrong group definition: missing ']' (write it as [groupname])".into(),
                ));
            };
            group = Some(rest[..end].trim_end().to_string());
            continue;
        }
        let Some(current) = &group else {
            return Err(err(
                "option without preceding group; put a [group] line such as [mariadb-backup] \
                 above it"
                    .into(),
            ));
        };
        let line = backup_meta::strip_end_comment(line);
        let (key, value) = match line.find('=') {
            None => (line.trim_end(), None),
            Some(eq) => (line[..eq].trim_end(), Some(decode_value(&line[eq + 1..]))),
        };
        out.entries.push(CnfEntry {
            group: current.clone(),
            key: key.to_string(),
            value,
            file: path.to_path_buf(),
            line: line_no,
        });
    }
    Ok(true)
}

#[cfg(unix)]
fn is_world_writable(meta: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::PermissionsExt;
    meta.permissions().mode() & 0o002 != 0
}

#[cfg(not(unix))]
fn is_world_writable(_meta: &std::fs::Metadata) -> bool {
    false
}

/// For a directive text like `include  /x.cnf`: `None` if it is not `keyword` followed by a
/// blank; `Some(None)` if the argument is empty; `Some(Some(arg))` otherwise. MariaDB requires
/// whitespace after the keyword, so `!includedir` is not `!include` + `dir`.
fn keyword_argument(directive: &str, keyword: &str) -> Option<Option<String>> {
    let rest = directive.strip_prefix(keyword)?;
    if !rest.starts_with(|c: char| c.is_ascii_whitespace()) {
        // A bare `!include` at the end of a line is still that directive, with no argument.
        return if rest.is_empty() { Some(None) } else { None };
    }
    let arg = rest.trim();
    Some(if arg.is_empty() {
        None
    } else {
        Some(arg.to_string())
    })
}

/// Reads the `*.cnf` files of `dir` in byte order of their names. The outer `Result` is the
/// directory listing, the inner one a syntax error in one of the files.
fn include_dir(
    dir: &Path,
    depth: usize,
    out: &mut OptionFile,
) -> std::io::Result<Result<(), CnfError>> {
    let mut names: Vec<std::ffi::OsString> = std::fs::read_dir(dir)?
        .filter_map(|entry| entry.ok().map(|e| e.file_name()))
        .collect();
    names.sort();
    for name in names {
        // fn_ext2(): the extension is from the last '.', compared exactly (".CNF" does not count).
        let bytes = name.as_encoded_bytes();
        let is_cnf = bytes
            .iter()
            .rposition(|&b| b == b'.')
            .is_some_and(|dot| &bytes[dot..] == b".cnf");
        if is_cnf {
            if let Err(e) = read_into(&dir.join(&name), depth + 1, out) {
                return Ok(Err(e));
            }
        }
    }
    Ok(Ok(()))
}

/// Trims, strips one pair of matching outer quotes, and decodes backslash escapes.
fn decode_value(raw: &str) -> String {
    let mut value = raw.trim_matches(|c: char| c.is_ascii_whitespace());
    let b = value.as_bytes();
    if b.len() >= 2 && (b[0] == b'"' || b[0] == b'\'') && b[b.len() - 1] == b[0] {
        value = &value[1..value.len() - 1];
    }
    let mut out = String::with_capacity(value.len());
    let mut chars = value.chars().peekable();
    while let Some(c) = chars.next() {
        // A trailing lone backslash stays, as in MariaDB (`value != value_end-1`).
        if c != '\\' || chars.peek().is_none() {
            out.push(c);
            continue;
        }
        let Some(next) = chars.next() else { break };
        match next {
            'n' => out.push('\n'),
            't' => out.push('\t'),
            'r' => out.push('\r'),
            'b' => out.push('\u{8}'),
            's' => out.push(' '),
            '"' => out.push('"'),
            '\'' => out.push('\''),
            '\\' => out.push('\\'),
            other => {
                out.push('\\');
                out.push(other);
            }
        }
    }
    out
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A fresh, empty directory under the system temp dir, unique per call and process,
    /// removed with everything in it when dropped.
    pub(crate) struct TempFiles(PathBuf);

    impl std::ops::Deref for TempFiles {
        type Target = Path;
        fn deref(&self) -> &Path {
            &self.0
        }
    }

    impl Drop for TempFiles {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    /// A new [`TempFiles`] directory.
    pub(crate) fn temp_dir(tag: &str) -> TempFiles {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!(
            "hotbackup-options-{}-{}-{}",
            std::process::id(),
            tag,
            n
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempFiles(dir)
    }

    /// Writes `files` (relative names; `{dir}` in contents is replaced by the directory) and
    /// returns the directory.
    pub(crate) fn write_files(tag: &str, files: &[(&str, &str)]) -> TempFiles {
        let dir = temp_dir(tag);
        for (name, content) in files {
            let path = dir.join(name);
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent).unwrap();
            }
            let content = content.replace("{dir}", &dir.display().to_string());
            std::fs::write(&path, content).unwrap();
        }
        dir
    }

    /// Reads `main.cnf` from `files` and renders each entry as `group:key=value` (`key` alone
    /// for a bare line), or the error text with the temp dir replaced by `{dir}`.
    fn check(files: &[(&str, &str)], expected: &[&str]) {
        let dir = write_files("cnf", files);
        let got: Vec<String> = match read_required(&dir.join("main.cnf")) {
            Ok(f) => f
                .entries
                .iter()
                .map(|e| match &e.value {
                    Some(v) => format!("{}:{}={}", e.group, e.key, v),
                    None => format!("{}:{}", e.group, e.key),
                })
                .collect(),
            Err(e) => vec![e.to_string().replace(&dir.display().to_string(), "{dir}")],
        };
        assert_eq!(got, expected, "files: {files:?}");
    }

    #[test]
    fn option_names_compare_as_my_getopt_does() {
        for (a, b, same) in [
            ("apply-log", "apply_log", true),
            ("apply-log", "Apply_Log", true),
            ("target-dir", "TARGET-DIR", true),
            ("target-dir", "target-di", false),
            ("target-dir", "target+dir", false),
        ] {
            assert_eq!(same_option_name(a, b), same, "{a} {b}");
        }
    }

    #[test]
    fn syntax_like_my_print_defaults() {
        // Each expectation was checked against `my_print_defaults` 10.11.19.
        check(
            &[(
                "main.cnf",
                "# comment\n; semicolon comment\n[mysqld]\na=1\nb = 2   \nc\t=\ttab\t\nd\n\
                 e = \"quoted value\"  \nf = 'single # not comment'\ng = val # trailing\n\
                 h = val;not comment\ni = \"a\\tb\\\\d\\se\"\nj = unq\\tesc\nk = \"unterminated\n\
                 l = x\"y\"\nM_N-o = 3\n   p=leading\nq=\nr = \"  spaced  \"\ns = \"a\" \"b\"\n\
                 t = back\\q\\\n  # indented comment\n  ; indented semi\n",
            )],
            &[
                "mysqld:a=1",
                "mysqld:b=2",
                "mysqld:c=tab",
                "mysqld:d",
                "mysqld:e=quoted value",
                "mysqld:f=single # not comment",
                "mysqld:g=val",
                "mysqld:h=val;not comment",
                "mysqld:i=a\tb\\d e",
                "mysqld:j=unq\tesc",
                "mysqld:k=\"unterminated",
                "mysqld:l=x\"y\"",
                "mysqld:M_N-o=3",
                "mysqld:p=leading",
                "mysqld:q=",
                "mysqld:r=  spaced  ",
                "mysqld:s=a\" \"b",
                "mysqld:t=back\\q\\",
            ],
        );
    }

    #[test]
    fn group_headers() {
        check(
            &[(
                "main.cnf",
                "[ mysqld ]\na=1\n[mysqld  ]\nb=2\n[MySQLd] trailing junk\nc=3\n[]\nd=4\n",
            )],
            &[" mysqld:a=1", "mysqld:b=2", "MySQLd:c=3", ":d=4"],
        );
        check(
            &[("main.cnf", "[mysqld\nuser=x\n")],
            &[
                "option file '{dir}/main.cnf' line 1: wrong group definition: missing ']' \
               (write it as [groupname])",
            ],
        );
        check(
            &[("main.cnf", "\n# c\nuser=x\n")],
            &[
                "option file '{dir}/main.cnf' line 3: option without preceding group; put a \
               [group] line such as [mariadb-backup] above it",
            ],
        );
    }

    #[test]
    fn includes() {
        check(
            &[
                (
                    "main.cnf",
                    "[mysqld]\na=1\n!include {dir}/inc1.cnf\n!includedir {dir}/inc.d\n\
                     !include {dir}/nonexistent.cnf\n!bogus\nafter=1\n",
                ),
                ("inc1.cnf", "[client]\nfrominc=1\n"),
                ("inc.d/z.cnf", "[mysqld]\nz=1\n"),
                ("inc.d/a.cnf", "[mysqld]\na=2\n"),
                ("inc.d/B.cnf", "[mysqld]\nB=1\n"),
                ("inc.d/.hidden.cnf", "[mysqld]\nhidden=1\n"),
                ("inc.d/.cnf", "[mysqld]\nonly=1\n"),
                ("inc.d/x.txt", "[mysqld]\ntxt=1\n"),
                ("inc.d/x.cnf.bak", "[mysqld]\nbak=1\n"),
                ("inc.d/u.CNF", "[mysqld]\nupper=1\n"),
            ],
            // The group of the includer does not carry into or out of included files' headers;
            // `after` stays in [mysqld] of main.cnf because the includer's group is its own.
            &[
                "mysqld:a=1",
                "client:frominc=1",
                "mysqld:only=1",
                "mysqld:hidden=1",
                "mysqld:B=1",
                "mysqld:a=2",
                "mysqld:z=1",
                "mysqld:after=1",
            ],
        );
        check(
            &[("main.cnf", "[mysqld]\n!includedir {dir}/nope\n")],
            &[
                "option file '{dir}/main.cnf' line 2: cannot read directory '{dir}/nope' named \
               by !includedir: No such file or directory (os error 2); create it or remove the \
               directive",
            ],
        );
        check(
            &[("main.cnf", "[mysqld]\n!include   \n")],
            &["option file '{dir}/main.cnf' line 2: '!include' needs a file name after it"],
        );
    }

    #[test]
    fn include_loop_stops_at_depth_limit() {
        let dir = write_files(
            "cnf-loop",
            &[("main.cnf", "[mysqld]\nx=1\n!include {dir}/main.cnf\n")],
        );
        let f = read_required(&dir.join("main.cnf")).unwrap();
        assert_eq!(f.entries.len(), MAX_INCLUDE_DEPTH + 1);
        assert_eq!(f.warnings.len(), 1);
        assert!(f.warnings[0].contains("maximum include recursion level"));
    }

    #[cfg(unix)]
    #[test]
    fn world_writable_file_is_skipped_with_warning() {
        use std::os::unix::fs::PermissionsExt;
        let dir = write_files("cnf-ww", &[("main.cnf", "[mysqld]\ndatadir=/ww\n")]);
        let path = dir.join("main.cnf");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o666)).unwrap();
        let f = read_required(&path).unwrap();
        assert!(f.entries.is_empty());
        assert_eq!(
            f.warnings,
            vec![format!(
                "Warning: World-writable config file '{}' is ignored",
                path.display()
            )]
        );
    }

    #[test]
    fn missing_files() {
        let dir = temp_dir("cnf-missing");
        let path = dir.join("nope.cnf");
        assert_eq!(read_optional(&path).unwrap(), OptionFile::default());
        let e = read_required(&path).unwrap_err();
        assert_eq!(e.line, None);
        assert!(e.to_string().contains("could not open"));
    }

    #[test]
    fn get_last_value_wins_across_spellings() {
        let dir = write_files(
            "cnf-get",
            &[(
                "main.cnf",
                "[mysqld]\ninnodb_page_size=16384\n[MYSQLD]\ninnodb-page-size=4096\nflag\n",
            )],
        );
        let f = read_required(&dir.join("main.cnf")).unwrap();
        assert_eq!(f.get("mysqld", "innodb_page_size"), Some(Some("4096")));
        assert_eq!(f.get("mysqld", "flag"), Some(None));
        assert_eq!(f.get("client", "flag"), None);
        assert_eq!(f.group("mysqld").count(), 3);
    }
}
