//! `xtrabackup_info`: the audit record of a backup (same fields as the
//! `mysql.mariadb_backup_history` table), plus the helpers that produce its values the way
//! mariadb-backup does: the masked command line and the local-time timestamps.
//!
//! mariadb-backup 10.11 writes it with one `asprintf` of 17 `key = value\n` lines in a fixed
//! order (see [`XtrabackupInfo::render`]). Nothing in mariadb-backup reads it back; our parser
//! requires the same keys in the same order, `key = value` with exactly one space on each side
//! of `=` (so `name = ` keeps its trailing space), and allows a newline only inside
//! `tool_command` (an argument may contain one; it is written verbatim).

use crate::error::{excerpt, line_at, ParseError};
use crate::scan::{parse_i64, parse_u64};
use crate::MetaFile;

/// `tool_version` / `ibbackup_version` written by the mariadb-backup we are compatible with.
pub const MARIADB_BACKUP_VERSION: &str = "10.11.19-MariaDB";

/// `format`: how the backup was delivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamFormat {
    /// `file`: written into `--target-dir`.
    File,
    /// `mbstream`: `--stream=xbstream` or `--stream=mbstream`.
    Mbstream,
}

impl StreamFormat {
    /// The word as written in the file.
    pub fn as_str(self) -> &'static str {
        match self {
            StreamFormat::File => "file",
            StreamFormat::Mbstream => "mbstream",
        }
    }
}

/// The content of `xtrabackup_info`, field by field in file order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct XtrabackupInfo {
    /// `SELECT UUID()` on the server at the end of the backup.
    pub uuid: String,
    /// `--history=NAME`, empty otherwise (the line is then `name = ` with a trailing space).
    pub name: String,
    /// Basename of `argv[0]`, e.g. `mariadb-backup`.
    pub tool_name: String,
    /// The command line after the program name, passwords masked: see [`tool_command`].
    pub tool_command: String,
    /// Version of the tool, e.g. [`MARIADB_BACKUP_VERSION`].
    pub tool_version: String,
    /// Same as `tool_version` in mariadb-backup.
    pub ibbackup_version: String,
    /// `SELECT VERSION()`, e.g. `10.11.19-MariaDB-0+deb12u1-log`.
    pub server_version: String,
    /// Local time the backup started, `YYYY-MM-DD HH:MM:SS`: see [`format_local_timestamp`].
    pub start_time: String,
    /// Local time `xtrabackup_info` was generated, same format.
    pub end_time: String,
    /// Seconds commits were blocked, printed with C `%d` (mariadb-backup casts its `time_t`
    /// to `int`). With `--no-lock` mariadb-backup writes the current unix time here (a bug).
    pub lock_time: i32,
    /// The binlog position text, e.g. from [`crate::BinlogInfo::binlog_pos_text`]; empty when
    /// no binlog position was taken (`--binlog-info=OFF`).
    pub binlog_pos: String,
    /// 0 for a full backup, else the incremental's start LSN.
    pub innodb_from_lsn: u64,
    /// `to_lsn` of `xtrabackup_checkpoints`.
    pub innodb_to_lsn: u64,
    /// `Y` with `--databases*` / `--tables*` filters.
    pub partial: bool,
    /// `Y` for an incremental backup.
    pub incremental: bool,
    /// `file` or `mbstream`.
    pub format: StreamFormat,
    /// mariadb-backup writes the literal word `compressed` for `--compress`, `N` otherwise.
    pub compressed: bool,
}

const KEYS: [&str; 17] = [
    "uuid",
    "name",
    "tool_name",
    "tool_command",
    "tool_version",
    "ibbackup_version",
    "server_version",
    "start_time",
    "end_time",
    "lock_time",
    "binlog_pos",
    "innodb_from_lsn",
    "innodb_to_lsn",
    "partial",
    "incremental",
    "format",
    "compressed",
];

/// Index of the only key whose value may span lines.
const TOOL_COMMAND_IDX: usize = 3;

impl MetaFile for XtrabackupInfo {
    const WHAT: &'static str = "xtrabackup_info";

    fn parse(text: &str) -> Result<Self, ParseError> {
        if text.is_empty() {
            return Err(ParseError::Empty);
        }
        let mut values: Vec<(usize, &str)> = Vec::with_capacity(KEYS.len());
        let mut pos = 0;
        for (idx, key) in KEYS.iter().enumerate() {
            let rest = &text[pos..];
            let line = line_at(text, pos);
            let prefix = format!("{key} = ");
            if !rest.starts_with(&prefix) {
                return Err(ParseError::Expected {
                    line,
                    expected: format!("`{prefix}`"),
                    found: excerpt(rest),
                });
            }
            let value_start = pos + prefix.len();
            let after_prefix = &text[value_start..];
            let value_len = if idx == TOOL_COMMAND_IDX {
                // The value runs up to the line that starts the next key.
                let next = format!("\n{} = ", KEYS[idx + 1]);
                after_prefix
                    .find(&next)
                    .ok_or_else(|| ParseError::MissingKey {
                        key: KEYS[idx + 1].into(),
                    })?
            } else {
                after_prefix
                    .find('\n')
                    .ok_or_else(|| ParseError::Expected {
                        line: line_at(text, text.len()),
                        expected: "a newline".into(),
                        found: String::new(),
                    })?
            };
            values.push((line, &after_prefix[..value_len]));
            pos = value_start + value_len + 1;
        }
        if pos < text.len() {
            return Err(ParseError::Trailing {
                line: line_at(text, pos),
                found: excerpt(&text[pos..]),
            });
        }

        let text_of = |i: usize| values[i].1.to_string();
        let invalid = |i: usize, reason: &str| ParseError::InvalidValue {
            line: values[i].0,
            key: KEYS[i].into(),
            value: values[i].1.into(),
            reason: reason.into(),
        };
        let yes_no = |i: usize| match values[i].1 {
            "Y" => Ok(true),
            "N" => Ok(false),
            _ => Err(invalid(i, "expected Y or N")),
        };
        let lock_time = parse_i64(values[9].1)
            .map_err(|r| invalid(9, r))
            .and_then(|v| i32::try_from(v).map_err(|_| invalid(9, "out of C int range")))?;
        let innodb_from_lsn = parse_u64(values[11].1).map_err(|r| invalid(11, r))?;
        let innodb_to_lsn = parse_u64(values[12].1).map_err(|r| invalid(12, r))?;
        let format = match values[15].1 {
            "file" => StreamFormat::File,
            "mbstream" => StreamFormat::Mbstream,
            _ => return Err(invalid(15, "expected file or mbstream")),
        };
        let compressed = match values[16].1 {
            "compressed" => true,
            "N" => false,
            _ => return Err(invalid(16, "expected N or compressed")),
        };

        Ok(XtrabackupInfo {
            uuid: text_of(0),
            name: text_of(1),
            tool_name: text_of(2),
            tool_command: text_of(3),
            tool_version: text_of(4),
            ibbackup_version: text_of(5),
            server_version: text_of(6),
            start_time: text_of(7),
            end_time: text_of(8),
            lock_time,
            binlog_pos: text_of(10),
            innodb_from_lsn,
            innodb_to_lsn,
            partial: yes_no(13)?,
            incremental: yes_no(14)?,
            format,
            compressed,
        })
    }

    fn render(&self) -> String {
        let yn = |b: bool| if b { "Y" } else { "N" };
        format!(
            "uuid = {}\nname = {}\ntool_name = {}\ntool_command = {}\ntool_version = {}\n\
             ibbackup_version = {}\nserver_version = {}\nstart_time = {}\nend_time = {}\n\
             lock_time = {}\nbinlog_pos = {}\ninnodb_from_lsn = {}\ninnodb_to_lsn = {}\n\
             partial = {}\nincremental = {}\nformat = {}\ncompressed = {}\n",
            self.uuid,
            self.name,
            self.tool_name,
            self.tool_command,
            self.tool_version,
            self.ibbackup_version,
            self.server_version,
            self.start_time,
            self.end_time,
            self.lock_time,
            self.binlog_pos,
            self.innodb_from_lsn,
            self.innodb_to_lsn,
            yn(self.partial),
            yn(self.incremental),
            self.format.as_str(),
            if self.compressed { "compressed" } else { "N" },
        )
    }
}

/// Size of mariadb-backup's `tool_args` buffer; longer command lines are cut.
const TOOL_ARGS_BUF_LEN: usize = 8192;

/// `tool_command` from the command-line arguments *after* the program name, exactly as
/// mariadb-backup 10.11 builds it (`make_argv`, read from the 10.11.19 binary):
///
/// * `--password=X` (any argument starting with `--password=`) becomes `--password=...`;
/// * `--password` alone becomes `--password ...` and the following argument (its value) is
///   dropped;
/// * any argument starting with `-p` becomes `-p...`;
/// * everything else is kept verbatim: see [`tool_command`].
///
/// These rules miss forms the option parser accepts: `-p S3cret` shows `-p... S3cret`, and
/// `--loose-password=S3cret` is kept verbatim. A caller that knows where its parser found the
/// passwords masks them itself and uses [`tool_command`].
///
/// ```
/// let cmd = backup_meta::mask_tool_command(["--user=bk", "-psecret", "--backup"]);
/// assert_eq!(cmd, "--user=bk -p... --backup");
/// ```
pub fn mask_tool_command<I, S>(args: I) -> String
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    let args: Vec<S> = args.into_iter().collect();
    let mut shown: Vec<&str> = Vec::with_capacity(args.len());
    let mut idx = 0;
    while idx < args.len() {
        let arg = args[idx].as_ref();
        shown.push(if arg.starts_with("--password=") {
            "--password=..."
        } else if arg == "--password" {
            idx += 1; // the value is the next argument; never show it
            "--password ..."
        } else if arg.starts_with("-p") {
            "-p..."
        } else {
            arg
        });
        idx += 1;
    }
    tool_command(shown)
}

/// `tool_command` from arguments that are already masked: joined with single spaces and
/// limited to 8191 bytes the way mariadb-backup's `snprintf` into an 8 KiB buffer limits it
/// (an argument that does not fit is cut, and the next one overwrites the cut piece).
///
/// ```
/// assert_eq!(backup_meta::tool_command(["--backup", "-p ..."]), "--backup -p ...");
/// ```
pub fn tool_command<I, S>(args: I) -> String
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    let args: Vec<S> = args.into_iter().collect();
    let mut buf = vec![0u8; TOOL_ARGS_BUF_LEN];
    // Bytes still available in `buf`, as in the C code ("left").
    let mut left = TOOL_ARGS_BUF_LEN;
    for (idx, arg) in args.iter().enumerate() {
        let more = idx + 1 < args.len();
        // snprintf("%s%c", arg, more ? ' ' : 0): the separator is a NUL after the last one.
        let mut piece = arg.as_ref().as_bytes().to_vec();
        piece.push(if more { b' ' } else { 0 });
        let at = TOOL_ARGS_BUF_LEN - left;
        let copied = piece.len().min(left - 1);
        buf[at..at + copied].copy_from_slice(&piece[..copied]);
        buf[at + copied] = 0;
        // The C code only advances when nothing was cut; on truncation the next argument
        // overwrites the cut piece.
        if piece.len() < left {
            left -= piece.len();
        }
    }
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    String::from_utf8_lossy(&buf[..end]).into_owned()
}

/// Formats a point in time as mariadb-backup's `start_time`/`end_time`
/// (`strftime("%Y-%m-%d %H:%M:%S", localtime_r(...))`).
///
/// This crate does no time-zone lookup (no libc, no tz database): the caller passes the unix
/// time and the local UTC offset in seconds at that instant (e.g. `tm_gmtoff` from
/// `localtime_r`, or 0 for UTC). Years outside 0..=9999 are printed with more or fewer digits,
/// as strftime would.
///
/// ```
/// assert_eq!(backup_meta::format_local_timestamp(0, 0), "1970-01-01 00:00:00");
/// assert_eq!(backup_meta::format_local_timestamp(1_700_000_000, 3600), "2023-11-14 23:13:20");
/// ```
pub fn format_local_timestamp(unix_seconds: i64, utc_offset_seconds: i32) -> String {
    let local = i128::from(unix_seconds) + i128::from(utc_offset_seconds);
    let days = local.div_euclid(86_400);
    let secs_of_day = local.rem_euclid(86_400);
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02}",
        secs_of_day / 3600,
        secs_of_day % 3600 / 60,
        secs_of_day % 60
    )
}

/// Proleptic Gregorian date of a day count since 1970-01-01 (H. Hinnant's algorithm).
fn civil_from_days(days: i128) -> (i128, i128, i128) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i128::from(month <= 2);
    (year, month, day)
}
