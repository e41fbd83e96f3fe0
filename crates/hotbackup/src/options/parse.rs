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
use super::spec::{self, Arg, Effect, Kind, Scope, Spec};
use super::{
    BinlogInfo, ChecksumAlgorithm, Command, Compress, Connection, Env, Error, ErrorKind, Filters,
    IgnoredOption, Incremental, Innodb, Mode, Options, Origin, Parsed, Protocol, Ssl, Stream,
};

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

/// One stored value, before typing into [`Options`].
#[derive(Clone, Debug, PartialEq, Eq)]
enum Val {
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
struct Setting {
    val: Val,
    origin: Origin,
    /// Order of assignment, for "the later of two aliases wins" and mode messages.
    seq: usize,
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
    parse_args(&strings, env)
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
struct Engine {
    settings: HashMap<&'static str, Setting>,
    warnings: Vec<String>,
    ignored: Vec<IgnoredOption>,
    seq: usize,
    help: bool,
    version: bool,
    /// After `--mysqld-args` on the command line, unknown options and arguments are ignored.
    mysqld_args: bool,
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
            for entry in entries.iter().filter(|e| in_groups(e, groups)) {
                if let Err(e) = self.apply_file_entry(entry, pass) {
                    first_error.get_or_insert(e);
                }
            }
        }
        if let Err(e) = self.apply_command_line(rest) {
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
        self.build().map(|o| Command::Run(Box::new(o)))
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

    fn apply_command_line(&mut self, rest: &[String]) -> Result<(), Error> {
        let pass = Pass {
            scope: None,
            strict: true,
        };
        let origin = Origin::CommandLine;
        let mut first_error = None;
        let mut end_of_options = false;
        let mut i = 0;
        while let Some(arg) = rest.get(i) {
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
                    "--innobackupex (the old innobackupex command line) is not supported; \
                     use mariadb-backup's options (--backup, --prepare, --target-dir=…)",
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
                let message = match value {
                    Some(_) => format!("unknown variable '{body}'"),
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
            Kind::Enum { values, .. } => match given {
                Given::Value(v) => match parse_enum(values, &v) {
                    Some(idx) => Val::Num(idx as i64),
                    None => {
                        return Err(self.located(
                            Error::new(
                                ErrorKind::BadValue,
                                format!(
                                    "invalid value '{v}' for option '{}'; use one of: {}",
                                    spec.name,
                                    values.join(", ")
                                ),
                            ),
                            origin,
                        ))
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
        if spec.effect == Effect::Ignored {
            self.ignored.push(IgnoredOption {
                name: spec.name,
                origin: origin.clone(),
            });
            return Ok(used_next);
        }
        self.seq += 1;
        self.settings.insert(
            spec.name,
            Setting {
                val,
                origin: origin.clone(),
                seq: self.seq,
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

    fn setting(&self, name: &str) -> Option<&Setting> {
        self.settings.get(name)
    }

    fn text(&self, name: &str) -> Option<String> {
        match self.setting(name).map(|s| &s.val) {
            Some(Val::Text(t)) => Some(t.clone()),
            _ => None,
        }
    }

    fn path(&self, name: &str) -> Option<PathBuf> {
        self.text(name).map(PathBuf::from)
    }

    fn flag(&self, name: &str) -> bool {
        match self.setting(name).map(|s| &s.val) {
            Some(Val::Bool(b)) => *b,
            _ => match spec::find(name).map(|s| s.kind) {
                Some(Kind::Bool { default }) => default,
                _ => false,
            },
        }
    }

    /// A number option's value or default; also an enum's index (`None` for an enum given
    /// without value or not given).
    fn num(&self, name: &str) -> i64 {
        match self.setting(name).map(|s| &s.val) {
            Some(Val::Num(n)) => *n,
            _ => match spec::find(name).map(|s| s.kind) {
                Some(Kind::Num { default, .. }) => default,
                _ => 0,
            },
        }
    }

    fn unsigned(&self, name: &str) -> u64 {
        u64::try_from(self.num(name)).unwrap_or(0)
    }

    fn u32(&self, name: &str) -> u32 {
        u32::try_from(self.num(name)).unwrap_or(u32::MAX)
    }

    fn build(&self) -> Result<Options, Error> {
        let modes = [
            ("backup", Mode::Backup),
            ("prepare", Mode::Prepare),
            ("copy-back", Mode::CopyBack),
            ("move-back", Mode::MoveBack),
            ("decompress", Mode::Decompress),
        ];
        let mut chosen: Vec<(usize, Mode)> = modes
            .iter()
            .filter(|(name, _)| self.flag(name))
            .map(|(name, mode)| (self.setting(name).map_or(0, |s| s.seq), *mode))
            .collect();
        chosen.sort_by_key(|(seq, _)| *seq);
        let print_param = self.flag("print-param");
        let mode = match chosen.as_slice() {
            [] if print_param => None,
            [] => {
                return Err(Error::new(
                    ErrorKind::NoMode,
                    "no mode given: use --backup, --prepare, --copy-back or --move-back \
                     (see hotbackup --help)",
                ))
            }
            [(_, m)] => Some(*m),
            [(_, a), (_, b), ..] => {
                return Err(Error::new(
                    ErrorKind::TwoModes,
                    format!(
                        "{} and {} cannot be used together; give exactly one mode",
                        a.option(),
                        b.option()
                    ),
                ))
            }
        };

        let port = match self.num("port") {
            0 => None,
            p => Some(u16::try_from(p).map_err(|_| {
                // Deliberate difference: mariadb-backup accepts any unsigned int here.
                Error::new(
                    ErrorKind::BadValue,
                    format!(
                        "invalid value '{p}' for option 'port' (from {}): a TCP port is 1..65535",
                        self.setting("port")
                            .map_or(Origin::Default, |s| s.origin.clone())
                    ),
                )
            })?),
        };
        let enum_idx = |name: &str| match self.setting(name).map(|s| &s.val) {
            Some(Val::Num(n)) => Some(*n),
            Some(Val::Absent) => None,
            _ => None,
        };
        let given = |name: &str| self.setting(name).is_some();

        let protocol = enum_idx("protocol").map(|i| match i {
            0 => Protocol::Tcp,
            1 => Protocol::Socket,
            2 => Protocol::Pipe,
            _ => Protocol::Memory,
        });
        let stream = given("stream").then_some(Stream::Xbstream);
        let compress = match self.setting("compress").map(|s| &s.val) {
            Some(Val::Num(_)) | Some(Val::Absent) => Some(Compress::QuickLz),
            _ => None,
        };
        let binlog_info = match enum_idx("binlog-info") {
            Some(0) => BinlogInfo::Off,
            Some(1) => BinlogInfo::Lockless,
            Some(2) => BinlogInfo::On,
            // `--binlog-info` without a value: ON, the only reading that makes sense.
            None if given("binlog-info") => BinlogInfo::On,
            _ => BinlogInfo::Auto,
        };
        let checksum_algorithm = enum_idx("innodb-checksum-algorithm").map(|i| match i {
            0 => ChecksumAlgorithm::Crc32,
            1 => ChecksumAlgorithm::StrictCrc32,
            2 => ChecksumAlgorithm::FullCrc32,
            _ => ChecksumAlgorithm::StrictFullCrc32,
        });
        let history = match self.setting("history").map(|s| &s.val) {
            Some(Val::Text(t)) => Some(Some(t.clone())),
            Some(Val::Absent) => Some(None),
            _ => None,
        };
        // --ftwrl-wait-timeout is an alias: whichever was given later wins.
        let wait_name = match (
            self.setting("startup-wait-timeout"),
            self.setting("ftwrl-wait-timeout"),
        ) {
            (Some(a), Some(b)) if b.seq > a.seq => "ftwrl-wait-timeout",
            (None, Some(_)) => "ftwrl-wait-timeout",
            _ => "startup-wait-timeout",
        };

        Ok(Options {
            mode,
            target_dir: self
                .path("target-dir")
                .unwrap_or_else(|| PathBuf::from("./xtrabackup_backupfiles/")),
            connection: Connection {
                user: self.text("user"),
                password: self.text("password"),
                host: self.text("host"),
                port,
                socket: self.path("socket"),
                protocol,
                ssl: Ssl {
                    enabled: self.flag("ssl"),
                    ca: self.path("ssl-ca"),
                    capath: self.path("ssl-capath"),
                    cert: self.path("ssl-cert"),
                    cipher: self.text("ssl-cipher"),
                    key: self.path("ssl-key"),
                    crl: self.path("ssl-crl"),
                    crlpath: self.path("ssl-crlpath"),
                    tls_version: self.text("tls-version"),
                    verify_server_cert: self.flag("ssl-verify-server-cert"),
                },
            },
            datadir: self.path("datadir"),
            tmpdir: self.text("tmpdir"),
            innodb: Innodb {
                data_home_dir: self.path("innodb-data-home-dir"),
                log_group_home_dir: self.path("innodb-log-group-home-dir"),
                undo_directory: self.path("innodb-undo-directory"),
                data_file_path: self.text("innodb-data-file-path"),
                page_size: self.u32("innodb-page-size"),
                log_file_size: given("innodb-log-file-size")
                    .then(|| self.unsigned("innodb-log-file-size")),
                checksum_algorithm,
                undo_tablespaces: given("innodb-undo-tablespaces")
                    .then(|| self.u32("innodb-undo-tablespaces")),
                force_recovery: self.u32("innodb-force-recovery"),
                log_checkpoint_now: self.flag("innodb-log-checkpoint-now"),
            },
            parallel: self.u32("parallel"),
            throttle: self.unsigned("throttle"),
            use_memory: self.unsigned("use-memory"),
            log_copy_interval_ms: self.unsigned("log-copy-interval"),
            extra_lsndir: self.path("extra-lsndir"),
            incremental: Incremental {
                basedir: self.path("incremental-basedir"),
                lsn: self.text("incremental-lsn"),
                dir: self.path("incremental-dir"),
                history_name: self.text("incremental-history-name"),
                history_uuid: self.text("incremental-history-uuid"),
            },
            stream,
            compress,
            compress_threads: self.u32("compress-threads"),
            compress_chunk_size: self.unsigned("compress-chunk-size"),
            remove_original: self.flag("remove-original"),
            no_lock: self.flag("no-lock"),
            slave_info: self.flag("slave-info"),
            safe_slave_backup: self.flag("safe-slave-backup"),
            safe_slave_backup_timeout_s: self.unsigned("safe-slave-backup-timeout"),
            galera_info: self.flag("galera-info"),
            history,
            filters: Filters {
                databases: self.text("databases"),
                databases_file: self.path("databases-file"),
                databases_exclude: self.text("databases-exclude"),
                tables: self.text("tables"),
                tables_file: self.path("tables-file"),
                tables_exclude: self.text("tables-exclude"),
            },
            binlog_info,
            check_privileges: self.flag("check-privileges"),
            lock_ddl_per_table: self.flag("lock-ddl-per-table"),
            startup_wait_timeout_s: self.unsigned(wait_name),
            log_innodb_page_corruption: self.flag("log-innodb-page-corruption"),
            force_non_empty_directories: self.flag("force-non-empty-directories"),
            export: self.flag("export"),
            print_param,
            verbose: self.flag("verbose"),
            extended_validation: self.flag("extended-validation"),
            encrypted_backup: self.flag("encrypted-backup"),
            open_files_limit: self.unsigned("open-files-limit"),
            plugin_dir: self.path("plugin-dir"),
            aria_log_dir_path: self.path("aria-log-dir-path"),
            ignored: self.ignored.clone(),
            origins: self
                .settings
                .iter()
                .map(|(k, s)| (*k, s.origin.clone()))
                .collect(),
        })
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

/// `--print-defaults`: like mariadb-backup, the server groups' lines and the remaining
/// arguments. Deliberate difference: password values are masked.
fn print_defaults<'a>(entries: impl Iterator<Item = &'a CnfEntry>, rest: &[String]) -> String {
    let mut out = String::from("hotbackup would have been started with the following arguments:\n");
    let mut args: Vec<String> = entries.map(CnfEntry::as_arg).collect();
    args.extend(rest.iter().cloned());
    for arg in args {
        let masked = match arg.split_once('=') {
            Some((name, _)) if cnf::same_option_name(name, "--password") || name == "-p" => {
                format!("{name}=*****")
            }
            _ => arg,
        };
        out.push_str(&masked);
        out.push(' ');
    }
    out.push('\n');
    out
}

#[cfg(test)]
#[path = "parse_tests.rs"]
mod tests;
