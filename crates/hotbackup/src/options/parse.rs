//! my_getopt's command-line rules and mariadb-backup's option-file precedence.
//!
//! mariadb-backup 10.11 reads options in three passes, and that is what makes "`[mariabackup]
//! user=a` before `[client] user=b` gives `a`" and "`[mysqld] user=` is never used for the
//! connection" true. Observed with the real binary (values printed by `--print-param` and by
//! the "Connecting to MariaDB server … user: …" line):
//!
//! 1. server groups ([`SERVER_GROUPS`]) in file order: only options of the server table
//!    ([`Scope::Server`]: `datadir`, `innodb_*`, `parallel`, …); anything else is skipped
//!    silently, since those groups hold the server's own options (`pid-file`, …);
//! 2. client groups ([`CLIENT_GROUPS`]) in file order: only options of the client table
//!    ([`Scope::Client`]: connection, `target-dir`, even the modes); the rest skipped silently;
//! 3. tool groups ([`TOOL_GROUPS`]) in file order: every option; an unknown one is an error
//!    (`loose-` makes it a warning);
//! 4. the command line: every option; unknown is an error.
//!
//! Later assignments win, so the tool groups override the client and server groups wherever
//! they are in the file, and the command line overrides everything. `[client-server]` is in
//! both the server and the client lists. With `--defaults-group-suffix=S` each group `G` also
//! reads `[GS]` (the suffix is appended as is: `.x` gives `[client.x]`).

use std::collections::HashMap;
use std::ffi::OsString;
use std::path::PathBuf;

use super::cnf::{self, CnfEntry};
use super::spec::{self, Arg, Kind, Scope, Spec};
use super::table::Opt;
use super::{Command, Env, Error, ErrorKind, Origin, Parsed, Secret};

/// Groups whose server-table options apply (the list `--help` shows after the tool groups).
pub const SERVER_GROUPS: &[&str] = &[
    "mysqld",
    "server",
    "mysqld-10.11",
    "mariadb",
    "mariadb-10.11",
    "mariadbd",
    "mariadbd-10.11",
    "client-server",
    "galera",
];

/// Groups whose client-table options apply (connection, and the tool's own options).
pub const CLIENT_GROUPS: &[&str] = &["client", "client-server", "client-mariadb"];

/// The tool's own groups: any option, overriding the two lists above.
pub const TOOL_GROUPS: &[&str] = &["xtrabackup", "mariabackup", "mariadb-backup"];

/// One stored value, before typing into [`super::Options`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Val {
    Bool(bool),
    Text(String),
    /// A number, or an enum's index.
    Num(i64),
    /// An optional-value option given without a value (`--history`, `--compress`).
    Absent,
    /// A text option reset by `--skip-X`/`--disable-X`.
    Unset,
}

#[derive(Clone, Debug)]
pub(super) struct Setting {
    pub(super) val: Val,
    pub(super) origin: Origin,
    /// Order of assignment, for "the later of two aliases wins" and mode messages.
    pub(super) seq: usize,
    /// Set from a group shared with the server or the other clients (`[mysqld]`, `[client]`,
    /// ...), not from the command line or a tool group (see `refuse.rs`).
    pub(super) shared: bool,
}

/// How a value reached an option after my_getopt's prefixes.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Given {
    Value(String),
    Absent,
    /// `--skip-X`, `--disable-X`, `--enable-X=0`.
    Disabled,
    /// `--enable-X`, `--skip-X=0`.
    Enabled,
}

/// The special prefixes of my_getopt, in its order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Prefix {
    None,
    Skip,
    Enable,
    Maximum,
    Loose,
}

const PREFIXES: &[(&str, Prefix)] = &[
    ("skip", Prefix::Skip),
    ("disable", Prefix::Skip),
    ("enable", Prefix::Enable),
    ("maximum", Prefix::Maximum),
    ("loose", Prefix::Loose),
];

/// Which options a pass accepts and what it does with the others.
#[derive(Clone, Copy, Debug)]
struct Pass {
    /// `None`: all options.
    scope: Option<Scope>,
    /// Unknown options are errors (else skipped silently).
    strict: bool,
}

/// The leading `--no-defaults` / `--defaults-*` / `--print-defaults` arguments, read the way
/// mysys `get_defaults_options()` does: `--no-defaults` only as the very first argument;
/// otherwise a run of `--defaults-file=`, `--defaults-extra-file=`,
/// `--defaults-group-suffix=` (each once, `=` form only); then `--print-defaults`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct DefaultsArgs {
    no_defaults: bool,
    file: Option<String>,
    extra_file: Option<String>,
    group_suffix: Option<String>,
    print_defaults: bool,
    consumed: usize,
}

fn leading_defaults(args: &[String]) -> DefaultsArgs {
    let mut d = DefaultsArgs::default();
    let mut i = 0;
    if args.first().map(String::as_str) == Some("--no-defaults") {
        d.no_defaults = true;
        i = 1;
    } else {
        while let Some(arg) = args.get(i) {
            let slot = if let Some(v) = arg.strip_prefix("--defaults-file=") {
                (&mut d.file, v)
            } else if let Some(v) = arg.strip_prefix("--defaults-extra-file=") {
                (&mut d.extra_file, v)
            } else if let Some(v) = arg.strip_prefix("--defaults-group-suffix=") {
                (&mut d.group_suffix, v)
            } else {
                break;
            };
            if slot.0.is_some() {
                break;
            }
            *slot.0 = Some(slot.1.to_string());
            i += 1;
        }
    }
    if args.get(i).map(String::as_str) == Some("--print-defaults") {
        d.print_defaults = true;
        i += 1;
    }
    d.consumed = i;
    d
}

/// Parses arguments as `std::env::args_os().skip(1)` yields them. A non-UTF-8 argument is a
/// usage error (option files and MariaDB paths are byte strings, but our option values are
/// Rust strings; a lossy conversion would silently change a path).
pub fn parse_args_os(args: impl IntoIterator<Item = OsString>, env: &Env) -> Parsed {
    let mut strings = Vec::new();
    for (idx, arg) in args.into_iter().enumerate() {
        match arg.into_string() {
            Ok(s) => strings.push(s),
            Err(bad) => {
                return Parsed {
                    warnings: Vec::new(),
                    result: Err(Error::new(
                        ErrorKind::BadValue,
                        format!(
                            "argument {} ({}) is not valid UTF-8; hotbackup needs UTF-8 option \
                             values and paths",
                            idx + 1,
                            bad.to_string_lossy()
                        ),
                    )),
                };
            }
        }
    }
    if strings.first().map(String::as_str) == Some("--innobackupex") {
        let now = crate::log::now_local().replace(' ', "_").replace(':', "-");
        return parse_innobackupex(&strings, env, &now);
    }
    parse_args(&strings, env)
}

/// Parses an innobackupex command line (`args[0]` is `--innobackupex`): translated by
/// [`super::innobackupex`], then parsed as usual; password positions refer to `args`.
pub fn parse_innobackupex(args: &[String], env: &Env, timestamp: &str) -> Parsed {
    let translated = match super::innobackupex::translate(args, timestamp) {
        Ok(t) => t,
        Err(e) => {
            return Parsed {
                warnings: Vec::new(),
                result: Err(e),
            }
        }
    };
    let mut engine = Engine {
        innobackupex: true,
        ..Engine::default()
    };
    let mut result = engine.run(&translated.args, env);
    if let Ok(Command::Run(opts)) = &mut result {
        // Passwords are in arguments the translation kept as they were.
        opts.command_line_secrets = opts
            .command_line_secrets
            .iter()
            .filter_map(|s| {
                let arg = translated.origin.get(s.arg).copied().flatten()?;
                Some(Secret { arg, ..*s })
            })
            .collect();
    }
    Parsed {
        warnings: engine.warnings,
        result,
    }
}

/// Parses the command line (without the program name) and the option files it selects.
pub fn parse_args(args: &[String], env: &Env) -> Parsed {
    let mut engine = Engine::default();
    let result = engine.run(args, env);
    Parsed {
        warnings: engine.warnings,
        result,
    }
}

#[derive(Default)]
pub(super) struct Engine {
    /// The final value of each option given, by canonical name.
    pub(super) settings: HashMap<&'static str, Setting>,
    pub(super) warnings: Vec<String>,
    /// Where passwords are in the command-line arguments.
    pub(super) secrets: Vec<Secret>,
    seq: usize,
    help: bool,
    version: bool,
    /// After `--mysqld-args` on the command line, unknown options and arguments are ignored.
    mysqld_args: bool,
    /// Whether the current option-file pass reads shared groups.
    shared_pass: bool,
    /// The command-line argument being applied: its index in the arguments and its length.
    arg_at: (usize, usize),
    /// Translated from an innobackupex command line: messages name `--apply-log`.
    pub(super) innobackupex: bool,
}

impl Engine {
    fn run(&mut self, args: &[String], env: &Env) -> Result<Command, Error> {
        let defaults = leading_defaults(args);
        // mariadb-backup's own check, after mysys: these two must be the first argument.
        for arg in args.iter().skip(1) {
            let name = arg.split('=').next().unwrap_or(arg);
            if name == "--defaults-file" || name == "--defaults-extra-file" {
                return Err(Error::new(
                    ErrorKind::DefaultsNotFirst,
                    format!("{name} must be specified first on the command line"),
                ));
            }
        }
        let entries = self.read_files(&defaults, env)?;
        let suffix = defaults.group_suffix.clone().or(env.group_suffix.clone());
        let in_groups = |entry: &CnfEntry, groups: &[&str]| {
            groups.iter().any(|g| {
                cnf::group_matches(&entry.group, g)
                    || suffix
                        .as_deref()
                        .is_some_and(|s| cnf::group_matches(&entry.group, &format!("{g}{s}")))
            })
        };
        let rest = &args[defaults.consumed..];
        if defaults.print_defaults {
            return Ok(Command::PrintDefaults(print_defaults(
                entries.iter().filter(|e| in_groups(e, SERVER_GROUPS)),
                rest,
            )));
        }

        // An error does not stop the passes: `--help` and `--version` on the command line win
        // over errors elsewhere, as in mariadb-backup (`--frobnicate --version` prints the
        // version). The first error is reported otherwise.
        let mut first_error: Option<Error> = None;
        let passes = [
            (
                SERVER_GROUPS,
                Pass {
                    scope: Some(Scope::Server),
                    strict: false,
                },
            ),
            (
                CLIENT_GROUPS,
                Pass {
                    scope: Some(Scope::Client),
                    strict: false,
                },
            ),
            (
                TOOL_GROUPS,
                Pass {
                    scope: None,
                    strict: true,
                },
            ),
        ];
        for (groups, pass) in passes {
            self.shared_pass = pass.scope.is_some();
            for entry in entries.iter().filter(|e| in_groups(e, groups)) {
                if let Err(e) = self.apply_file_entry(entry, pass) {
                    first_error.get_or_insert(e);
                }
            }
        }
        self.shared_pass = false;
        if let Err(e) = self.apply_command_line(rest, defaults.consumed) {
            first_error.get_or_insert(e);
        }
        if self.help {
            return Ok(Command::Help);
        }
        if self.version {
            return Ok(Command::Version);
        }
        if let Some(e) = first_error {
            return Err(e);
        }
        let mut opts = self.build()?;
        opts.defaults_file = defaults.file.as_ref().map(PathBuf::from);
        opts.defaults_group_suffix = suffix;
        Ok(Command::Run(Box::new(opts)))
    }

    fn read_files(&mut self, d: &DefaultsArgs, env: &Env) -> Result<Vec<CnfEntry>, Error> {
        let file_error = |e: cnf::CnfError| Error::new(ErrorKind::OptionFile, e.to_string());
        let mut files = Vec::new();
        if d.no_defaults {
            return Ok(Vec::new());
        }
        if let Some(file) = &d.file {
            // With --defaults-file, only that file (and not --defaults-extra-file) is read.
            files.push(cnf::read_required(&PathBuf::from(file)).map_err(file_error)?);
        } else {
            for path in &env.global_files {
                files.push(cnf::read_optional(path).map_err(file_error)?);
            }
            if let Some(extra) = &d.extra_file {
                files.push(cnf::read_required(&PathBuf::from(extra)).map_err(file_error)?);
            }
            if let Some(home) = &env.home_file {
                files.push(cnf::read_optional(home).map_err(file_error)?);
            }
        }
        let mut entries = Vec::new();
        for f in files {
            self.warnings.extend(f.warnings);
            entries.extend(f.entries);
        }
        Ok(entries)
    }

    fn apply_file_entry(&mut self, entry: &CnfEntry, pass: Pass) -> Result<(), Error> {
        let origin = Origin::File {
            path: entry.file.clone(),
            line: entry.line,
            group: entry.group.clone(),
        };
        let body = match &entry.value {
            Some(v) => format!("{}={}", entry.key, v),
            None => entry.key.clone(),
        };
        self.apply_long(&body, &origin, pass, None).map(|_| ())
    }

    /// Applies the arguments after the leading `--defaults-*` ones; `base` is the index of
    /// `rest[0]` in all arguments (for [`Secret`]).
    fn apply_command_line(&mut self, rest: &[String], base: usize) -> Result<(), Error> {
        let pass = Pass {
            scope: None,
            strict: true,
        };
        let origin = Origin::CommandLine;
        let mut first_error = None;
        let mut end_of_options = false;
        let mut i = 0;
        while let Some(arg) = rest.get(i) {
            self.arg_at = (base + i, arg.len());
            i += 1;
            let next = rest.get(i).map(String::as_str);
            let result = if end_of_options || !arg.starts_with('-') || arg == "-" {
                if self.mysqld_args {
                    Ok(false)
                } else {
                    Err(Error::new(
                        ErrorKind::Positional,
                        format!(
                            "unknown argument: '{arg}'; hotbackup takes no file or directory \
                             arguments, use --target-dir=DIR"
                        ),
                    ))
                }
            } else if arg == "--" {
                end_of_options = true;
                Ok(false)
            } else if let Some(body) = arg.strip_prefix("--") {
                self.apply_long(body, &origin, pass, next)
            } else {
                self.apply_short_cluster(&arg[1..], &origin, next)
            };
            match result {
                Ok(true) => i += 1,
                Ok(false) => {}
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        first_error.map_or(Ok(()), Err)
    }

    /// `-uroot`, `-u root`, `-Vv`: letters until one that takes a value; that one takes the
    /// rest of the argument or, if nothing is left, the next argument.
    fn apply_short_cluster(
        &mut self,
        cluster: &str,
        origin: &Origin,
        next: Option<&str>,
    ) -> Result<bool, Error> {
        for (pos, c) in cluster.char_indices() {
            let Some(spec) = spec::find_short(c) else {
                return Err(Error::new(
                    ErrorKind::UnknownOption,
                    format!("unknown option '-{c}'"),
                ));
            };
            let shown = format!("-{c}");
            if matches!(spec.kind, Kind::Bool { .. }) {
                self.apply_spec(spec, Given::Absent, &shown, origin, None)?;
                continue;
            }
            let rest = &cluster[pos + c.len_utf8()..];
            let given = if rest.is_empty() {
                Given::Absent
            } else {
                Given::Value(rest.to_string())
            };
            return self.apply_spec(spec, given, &shown, origin, next);
        }
        Ok(false)
    }

    /// Applies `name[=value]` (without the leading `--`). Returns whether `next` was used as
    /// the value.
    fn apply_long(
        &mut self,
        body: &str,
        origin: &Origin,
        pass: Pass,
        next: Option<&str>,
    ) -> Result<bool, Error> {
        let (name, value) = match body.split_once('=') {
            Some((n, v)) => (n, Some(v)),
            None => (body, None),
        };
        if cnf::same_option_name(name, "innobackupex") {
            return Err(self.located(
                Error::new(
                    ErrorKind::Unsupported,
                    "--innobackupex must be the first argument, as in mariadb-backup \
                     (hotbackup --innobackupex [OPTIONS] DIR)",
                ),
                origin,
            ));
        }
        let (found, prefix, loose) = resolve(name);
        let tolerate = !pass.strict || (self.mysqld_args && *origin == Origin::CommandLine);
        let spec = match found {
            Some(spec) if pass.scope.is_none() || pass.scope == Some(spec.scope) => spec,
            Some(_) => return Ok(false),
            None if tolerate => return Ok(false),
            None => {
                // my_getopt's wording: with a value it is an unknown "variable".
                // The value is not shown: it may be a password under a misspelt name
                // (`--pasword=S3cret`), and the message lands in logs.
                let message = match value {
                    Some(_) => format!("unknown variable '{name}=...'"),
                    None => format!("unknown option '--{body}'"),
                };
                if loose {
                    let at = match origin {
                        Origin::File { .. } => format!(" in {origin}"),
                        _ => String::new(),
                    };
                    self.warnings
                        .push(format!("Warning: hotbackup: {message}{at}"));
                    return Ok(false);
                }
                let hint = match origin {
                    Origin::File { .. } => {
                        " (hotbackup does not know this option; remove it, move it to a \
                         server group, or write it as loose-NAME)"
                    }
                    _ => "",
                };
                return Err(self.located(
                    Error::new(ErrorKind::UnknownOption, format!("{message}{hint}")),
                    origin,
                ));
            }
        };
        let shown = format!("--{}", spec.name);
        let given = match (prefix, value) {
            (Prefix::Skip, v) => {
                if v == Some("0") {
                    Given::Enabled
                } else {
                    Given::Disabled
                }
            }
            (Prefix::Enable, v) => {
                if v == Some("0") {
                    Given::Disabled
                } else {
                    Given::Enabled
                }
            }
            (Prefix::Maximum, v) => {
                // `--maximum-X=V` sets the upper bound of a server variable; meaningless here.
                // It still needs a value, like in my_getopt.
                return match (v, origin, next) {
                    (Some(_), _, _) => Ok(false),
                    (None, Origin::CommandLine, Some(_)) => Ok(true),
                    (None, _, _) => Err(self.located(missing_value(spec, &shown), origin)),
                };
            }
            (_, Some(v)) => Given::Value(v.to_string()),
            (_, None) => Given::Absent,
        };
        self.apply_spec(spec, given, &shown, origin, next)
    }

    /// Type-checks and stores one option. Returns whether `next` was used as the value.
    fn apply_spec(
        &mut self,
        spec: &'static Spec,
        given: Given,
        shown: &str,
        origin: &Origin,
        next: Option<&str>,
    ) -> Result<bool, Error> {
        let from_file = matches!(origin, Origin::File { .. });
        let mut used_next = false;
        // A required value may come from the next command-line argument, whatever it looks
        // like (`-p --backup` makes "--backup" the password, as in mariadb-backup).
        let given = match given {
            Given::Absent if spec.requires_value() => match (from_file, next) {
                (false, Some(v)) => {
                    used_next = true;
                    Given::Value(v.to_string())
                }
                _ => return Err(self.located(missing_value(spec, shown), origin)),
            },
            other => other,
        };
        if is_secret(Opt::of(spec)) && !from_file {
            // The value is the rest of the argument (`--password=S`, `-pS`) or the next one.
            let (at, len) = self.arg_at;
            match &given {
                Given::Value(_) if used_next => self.secrets.push(Secret {
                    arg: at + 1,
                    start: 0,
                }),
                Given::Value(v) => self.secrets.push(Secret {
                    arg: at,
                    start: len - v.len(),
                }),
                _ => {}
            }
        }
        let val = match spec.kind {
            Kind::Bool { .. } => match given {
                Given::Absent | Given::Enabled => Val::Bool(true),
                Given::Disabled => Val::Bool(false),
                Given::Value(v) => match parse_bool(&v) {
                    Some(b) => Val::Bool(b),
                    None => {
                        let at = if from_file {
                            format!(" in {origin}")
                        } else {
                            String::new()
                        };
                        self.warnings.push(format!(
                            "Warning: hotbackup: ignoring option '{shown}' due to invalid value \
                             '{v}'{at} (use 1/0, ON/OFF or TRUE/FALSE)"
                        ));
                        return Ok(used_next);
                    }
                },
            },
            Kind::Flag => match given {
                Given::Absent => Val::Bool(true),
                _ => {
                    return Err(self.located(
                        Error::new(
                            ErrorKind::BadValue,
                            format!("option '{shown}' cannot take an argument"),
                        ),
                        origin,
                    ))
                }
            },
            Kind::Text(arg) => match given {
                Given::Value(v) => Val::Text(v),
                Given::Absent => Val::Absent,
                // Deliberate difference: mariadb-backup stores the text "0" for
                // `--skip-datadir`; resetting the option is what anyone means by it.
                Given::Disabled => Val::Unset,
                Given::Enabled if arg == Arg::Optional => Val::Absent,
                Given::Enabled => Val::Text("1".into()),
            },
            Kind::Num {
                min,
                max,
                block,
                unsigned,
                ..
            } => {
                let n = match given {
                    Given::Value(v) => parse_num(&v).map_err(|why| {
                        self.located(
                            Error::new(
                                ErrorKind::BadValue,
                                format!("invalid value '{v}' for option '{}': {why}", spec.name),
                            ),
                            origin,
                        )
                    })?,
                    // my_getopt passes "1" for an optional number given without a value.
                    Given::Absent | Given::Enabled => 1,
                    Given::Disabled => 0,
                };
                if unsigned && n < 0 {
                    return Err(self.located(
                        Error::new(
                            ErrorKind::BadValue,
                            format!(
                                "invalid value '{n}' for option '{}': must not be negative",
                                spec.name
                            ),
                        ),
                        origin,
                    ));
                }
                let clamped = n.clamp(min, max);
                // Rounding down to the block size is silent in my_getopt (9M → 8M for
                // --use-memory); only leaving the bounds is warned about.
                let adjusted = if block > 1 {
                    (clamped - clamped % block).max(min)
                } else {
                    clamped
                };
                if clamped != n {
                    let signedness = if unsigned { "unsigned" } else { "signed" };
                    self.warnings.push(format!(
                        "Warning: option '{}': {signedness} value {n} adjusted to {adjusted}",
                        spec.name
                    ));
                }
                Val::Num(adjusted)
            }
            // As mariadb-backup 10.11 (a text option there): an algorithm's name or nothing;
            // `--skip-compress` arrives as "0" and `--enable-compress` as "1", both refused.
            Kind::Enum { values, .. } if spec.name == "compress" => {
                let name = match given {
                    Given::Absent => None,
                    Given::Value(v) => Some(v),
                    Given::Disabled => Some("0".to_string()),
                    Given::Enabled => Some("1".to_string()),
                };
                match name {
                    None => Val::Absent,
                    Some(v) => match values.iter().position(|x| x.eq_ignore_ascii_case(&v)) {
                        Some(idx) => Val::Num(idx as i64),
                        None => {
                            let e = Error::new(ErrorKind::BadValue, compress_refusal(&v));
                            return Err(self.located(e, origin));
                        }
                    },
                }
            }
            Kind::Enum { values, .. } => match given {
                Given::Value(v) => match parse_enum(values, &v) {
                    Some(idx) => Val::Num(idx as i64),
                    None => {
                        let message = format!(
                            "invalid value '{v}' for option '{}'; use one of: {}",
                            spec.name,
                            values.join(", ")
                        );
                        return Err(self.located(Error::new(ErrorKind::BadValue, message), origin));
                    }
                },
                Given::Absent => Val::Absent,
                Given::Disabled => Val::Num(0),
                Given::Enabled => Val::Num(if values.len() > 1 { 1 } else { 0 }),
            },
        };
        match spec.name {
            // Only the command line can ask for help or the version; mariadb-backup would even
            // obey `[mysqld] help`, which nobody means.
            "help" | "version" if from_file => return Ok(used_next),
            "help" => self.help = val == Val::Bool(true),
            "version" => self.version = val == Val::Bool(true),
            "mysqld-args" if !from_file => self.mysqld_args = val == Val::Bool(true),
            _ => {}
        }
        self.seq += 1;
        self.settings.insert(
            spec.name,
            Setting {
                val,
                origin: origin.clone(),
                seq: self.seq,
                shared: self.shared_pass,
            },
        );
        Ok(used_next)
    }

    /// Adds "(in [group] of option file 'F' line N)" to errors from option files.
    fn located(&self, mut e: Error, origin: &Origin) -> Error {
        if let Origin::File { .. } = origin {
            e.message = format!("{} (in {origin})", e.message);
        }
        e
    }
}

/// Looks a long name up like my_getopt's `handle_options`: the exact name first (`-`/`_`
/// equal, no abbreviations), then the special prefixes, which may stack (`loose-skip-x`). As
/// in my_getopt, only the last prefix before the name takes effect, and `loose` sticks.
fn resolve(name: &str) -> (Option<&'static Spec>, Prefix, bool) {
    if let Some(spec) = spec::find(name) {
        return (Some(spec), Prefix::None, false);
    }
    let mut rest = name;
    let mut loose = false;
    'strip: loop {
        for (word, prefix) in PREFIXES {
            let Some(after) = strip_word(rest, word) else {
                continue;
            };
            rest = after;
            if *prefix == Prefix::Loose {
                loose = true;
            }
            if let Some(spec) = spec::find(rest) {
                return (Some(spec), *prefix, loose);
            }
            continue 'strip;
        }
        return (None, Prefix::None, loose);
    }
}

/// `skip-x` or `skip_x` → `x` (not `skipx`, not `skip-` alone).
fn strip_word<'a>(name: &'a str, word: &str) -> Option<&'a str> {
    let rest = name.strip_prefix(word)?;
    let mut chars = rest.chars();
    match chars.next() {
        Some('-' | '_') if !chars.as_str().is_empty() => Some(chars.as_str()),
        _ => None,
    }
}

fn missing_value(spec: &Spec, shown: &str) -> Error {
    let mut message = format!("option '{shown}' requires an argument");
    if spec.name == "password" {
        message.push_str(
            " (hotbackup does not prompt for passwords: give --password=SECRET, or put \
             password=SECRET in the [client] or [mariadb-backup] group of an option file \
             such as ~/.my.cnf)",
        );
    }
    Error::new(ErrorKind::BadValue, message)
}

/// my_getopt's boolean words, case-insensitive.
fn parse_bool(v: &str) -> Option<bool> {
    if v == "1" || v.eq_ignore_ascii_case("true") || v.eq_ignore_ascii_case("on") {
        Some(true)
    } else if v == "0" || v.eq_ignore_ascii_case("false") || v.eq_ignore_ascii_case("off") {
        Some(false)
    } else {
        None
    }
}

/// A name (case-insensitive) or its 0-based index.
fn parse_enum(values: &[&str], v: &str) -> Option<usize> {
    if let Some(i) = values.iter().position(|x| x.eq_ignore_ascii_case(v)) {
        return Some(i);
    }
    let idx: usize = v.parse().ok()?;
    (idx < values.len()).then_some(idx)
}

/// MariaDB's `eval_num_suffix`: optional blanks and sign, decimal digits (none means 0), then
/// at most a K/M/G/T/P/E suffix (only its first character is looked at, so `16MB` is 16M).
fn parse_num(text: &str) -> Result<i64, String> {
    let s = text.trim_start();
    let (negative, s) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let n_digits = s.bytes().take_while(u8::is_ascii_digit).count();
    let (digits, suffix) = s.split_at(n_digits);
    let out_of_range = || "out of range for a 64-bit integer".to_string();
    let mut n: i128 = if digits.is_empty() {
        0
    } else {
        digits.parse().map_err(|_| out_of_range())?
    };
    let shift = match suffix.chars().next() {
        None => 0,
        Some('k' | 'K') => 10,
        Some('m' | 'M') => 20,
        Some('g' | 'G') => 30,
        Some('t' | 'T') => 40,
        Some('p' | 'P') => 50,
        Some('e' | 'E') => 60,
        Some(c) => {
            return Err(format!(
                "unknown suffix '{c}'; write a number with an optional K, M, G, T, P or E \
                 suffix"
            ))
        }
    };
    n = n.checked_shl(shift).ok_or_else(out_of_range)?;
    if negative {
        n = -n;
    }
    i64::try_from(n).map_err(|_| out_of_range())
}

/// Options whose values are masked wherever the command line is shown: the password and
/// the file key of an encrypted key file.
fn is_secret(opt: Opt) -> bool {
    matches!(opt, Opt::Password | Opt::FileKeyManagementFilekey)
}

/// `--print-defaults`: like mariadb-backup, the server groups' lines and the remaining
/// arguments. Deliberate difference: every password is masked, in any form the parser accepts
/// (`--loose-password=`, `-pS`, `-p S`, ...), found by the parser's own rules.
fn print_defaults<'a>(entries: impl Iterator<Item = &'a CnfEntry>, rest: &[String]) -> String {
    const MASK: &str = "*****";
    let mut out = String::from("hotbackup would have been started with the following arguments:\n");
    let mut args: Vec<String> = entries
        .map(|entry| {
            let arg = entry.as_arg();
            let is_password = resolve(&entry.key).0.map(Opt::of).is_some_and(is_secret);
            match arg.split_once('=') {
                Some((name, _)) if is_password => format!("{name}={MASK}"),
                _ => arg,
            }
        })
        .collect();
    let mut scratch = Engine::default();
    // Errors do not matter here: only where the passwords are.
    let _ = scratch.apply_command_line(rest, 0);
    args.extend(super::secrets::mask(rest, &scratch.secrets, MASK));
    for arg in args {
        out.push_str(&arg);
        out.push(' ');
    }
    out.push('\n');
    out
}

#[cfg(test)]
#[path = "parse_tests.rs"]
mod tests;

/// `--compress=X` for an unknown algorithm, in mariadb-backup 10.11's words.
fn compress_refusal(v: &str) -> String {
    format!("Invalid --compress argument: {v} (use quicklz, lz4 or zstd)")
}
