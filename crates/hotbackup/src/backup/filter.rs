//! Which tables a partial backup takes: `--databases`, `--databases-file`,
//! `--databases-exclude`, `--tables`, `--tables-file`, `--tables-exclude` and the server's
//! `ignore_db_dirs`, with mariadb-backup 10.11's semantics (`xtrabackup.cc`:
//! `xb_filters_init`, `check_if_skip_database`, `check_if_skip_table`), decided on file names
//! as the server encodes them (`my@002ddb/t@002d1`, `t#P#p0`), never on SQL names.
//!
//! * `--databases`/`--databases-exclude`: names separated by spaces or tabs; `--databases-file`
//!   and `--tables-file`: one per line. A `db` entry names a database, a `db.table` entry a
//!   table (and marks `db` as "some tables only" if `db` was not registered before: the first
//!   registration of a database decides). `--tables-file` entries must be `db.table`.
//! * `--tables`/`--tables-exclude`: comma-separated POSIX extended regexps searched (not
//!   anchored) in `db.table`.
//! * A table is tried as `db.t#P#p0` first, then as `db.t`: a partition can be picked alone.
//! * Excludes win over includes; a database excluded whole (`--databases-exclude=db`, or
//!   `--databases-exclude=db.t` when no `--databases` is given, or an `ignore_db_dirs` entry)
//!   is skipped with every file in it.
//! * `#sql…` files (ALTER's intermediate tables) are never taken, filters or not.
//!
//! The system tablespace, undo tablespaces and logs are not tables and never pass through here.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use super::posix_regex::Regex;
use crate::options::Partial;

/// The longest database or table name mariadb-backup accepts in a filter (`NAME_LEN`, bytes).
const NAME_LEN: usize = 192;

/// The filters of a backup. [`Filter::default`] takes everything (but `#sql` tables).
#[derive(Debug, Default)]
pub struct Filter {
    /// Databases named by an include entry → whether only some of its tables are (the
    /// database's first entry was `db.table`).
    db_include: BTreeMap<String, bool>,
    /// The same for exclude entries and `ignore_db_dirs`.
    db_exclude: BTreeMap<String, bool>,
    /// `db.table` include entries (`--databases`, `--databases-file`, `--tables-file`).
    tables_include: BTreeSet<String>,
    /// `db.table` entries of `--databases-exclude`.
    tables_exclude: BTreeSet<String>,
    /// `--tables`.
    regex_include: Vec<Regex>,
    /// `--tables-exclude`.
    regex_exclude: Vec<Regex>,
    /// One of the six options was given: `partial = Y`.
    partial: bool,
}

/// How a database's name alone decides (mariadb-backup's `skip_database_check_result`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum DbCheck {
    Skip,
    SomeTables,
    Take,
    TakeUnlessExcluded,
}

impl Filter {
    /// The filters the options ask for. `read_file` reads `--databases-file`/`--tables-file`
    /// (a parameter so that the parsing is tested without files). The error is a complete
    /// sentence naming the option and the value.
    pub fn new(
        p: &Partial,
        read_file: &dyn Fn(&Path) -> std::io::Result<Vec<u8>>,
    ) -> Result<Filter, String> {
        let mut f = Filter {
            partial: p.databases.is_some()
                || p.databases_file.is_some()
                || p.databases_exclude.is_some()
                || p.tables.is_some()
                || p.tables_file.is_some()
                || p.tables_exclude.is_some(),
            ..Filter::default()
        };
        // The order is mariadb-backup's: it decides which entry registers a database first.
        if let Some(list) = &p.databases {
            for name in split(list, &[' ', '\t']) {
                f.register(name, true, "--databases")?;
            }
        }
        if let Some(path) = &p.databases_file {
            for name in lines(path, read_file, "--databases-file")? {
                f.register(&name, true, "--databases-file")?;
            }
        }
        if let Some(list) = &p.databases_exclude {
            for name in split(list, &[' ', '\t']) {
                f.register(name, false, "--databases-exclude")?;
            }
        }
        if let Some(list) = &p.tables {
            for pattern in split(list, &[',']) {
                f.regex_include.push(compile(pattern, "--tables")?);
            }
        }
        if let Some(path) = &p.tables_file {
            for name in lines(path, read_file, "--tables-file")? {
                if !name.contains('.') {
                    return Err(format!(
                        "--tables-file {}: `{name}` is not a fully qualified name: each line must be database.table",
                        path.display()
                    ));
                }
                f.register(&name, true, "--tables-file")?;
            }
        }
        if let Some(list) = &p.tables_exclude {
            for pattern in split(list, &[',']) {
                f.regex_exclude.push(compile(pattern, "--tables-exclude")?);
            }
        }
        Ok(f)
    }

    /// Adds the server's `ignore_db_dirs` (comma-separated) as excluded databases, as
    /// mariadb-backup does for every backup (they are registered before the options).
    pub fn ignore_db_dirs(&mut self, value: &str) {
        for name in split(value, &[',']) {
            self.db_exclude.insert(name.to_string(), false);
        }
    }

    /// Whether one of the filter options was given (`partial = Y` in `xtrabackup_info`).
    pub fn is_partial(&self) -> bool {
        self.partial
    }

    fn any(&self) -> bool {
        !(self.db_include.is_empty()
            && self.db_exclude.is_empty()
            && self.tables_include.is_empty()
            && self.tables_exclude.is_empty()
            && self.regex_include.is_empty()
            && self.regex_exclude.is_empty())
    }

    fn register(&mut self, name: &str, include: bool, option: &str) -> Result<(), String> {
        let (dbs, tables) = if include {
            (&mut self.db_include, &mut self.tables_include)
        } else {
            (&mut self.db_exclude, &mut self.tables_exclude)
        };
        validate(name, option)?;
        match name.split_once('.') {
            Some((db, _)) => {
                dbs.entry(db.to_string()).or_insert(true);
                tables.insert(name.to_string());
            }
            None => {
                dbs.entry(name.to_string()).or_insert(false);
            }
        }
        Ok(())
    }

    fn check_database(&self, db: &str) -> DbCheck {
        if let Some(&has_tables) = self.db_exclude.get(db) {
            if !has_tables || self.db_include.is_empty() {
                return DbCheck::Skip;
            }
        }
        if self.db_include.is_empty() {
            return DbCheck::Take;
        }
        match self.db_include.get(db) {
            None => DbCheck::Skip,
            Some(true) => DbCheck::SomeTables,
            Some(false) => DbCheck::TakeUnlessExcluded,
        }
    }

    /// Whether the database directory `db` is left out whole.
    pub fn skip_database(&self, db: &str) -> bool {
        (!self.db_include.is_empty() || !self.db_exclude.is_empty())
            && self.check_database(db) == DbCheck::Skip
    }

    /// Whether the file `path` (`db/t.ibd`, `./db/t.frm`, `db/t#P#p0.MYD`, or an InnoDB
    /// space name `db/t`) belongs to a table left out.
    pub fn skip_table(&self, path: &str) -> bool {
        let mut parts = path.rsplit('/');
        let file = parts.next().unwrap_or("");
        let db = parts.next();
        if file.starts_with("#sql") {
            return true;
        }
        if !self.any() {
            return false;
        }
        let Some(db) = db else { return false };
        let by_db = self.check_database(db);
        if by_db == DbCheck::Skip {
            return true;
        }
        // The file's extension (and anything after a first dot) is not part of the name.
        let table = file.split('.').next().unwrap_or(file);
        let full = format!("{db}.{table}");
        let mut names = vec![full.as_str()];
        if let Some(at) = full.find("#P#") {
            names.push(&full[..at]);
        }
        for name in names {
            if matches(name, &self.regex_exclude, &self.tables_exclude) {
                return true;
            }
            if matches(name, &self.regex_include, &self.tables_include) {
                return false;
            }
        }
        match by_db {
            DbCheck::TakeUnlessExcluded => false,
            DbCheck::SomeTables => true,
            _ => !self.regex_include.is_empty() || !self.tables_include.is_empty(),
        }
    }
}

fn matches(name: &str, regexes: &[Regex], names: &BTreeSet<String>) -> bool {
    regexes.iter().any(|r| r.is_match(name)) || names.contains(name)
}

/// `strtok_r`: the non-empty pieces between delimiters.
fn split<'a>(list: &'a str, delimiters: &'a [char]) -> impl Iterator<Item = &'a str> {
    list.split(delimiters).filter(|s| !s.is_empty())
}

/// The lines of a list file as mariadb-backup reads them: every line counts, an empty one
/// too, nothing is trimmed. A last line without a newline is taken (mariadb-backup refuses
/// it as too long).
fn lines(
    path: &Path,
    read_file: &dyn Fn(&Path) -> std::io::Result<Vec<u8>>,
    option: &str,
) -> Result<Vec<String>, String> {
    let bytes =
        read_file(path).map_err(|e| format!("{option}: cannot read {}: {e}", path.display()))?;
    let text = String::from_utf8(bytes).map_err(|_| {
        format!(
            "{option}: {} is not UTF-8 text; names are file names as the server encodes them (db@002d1)",
            path.display()
        )
    })?;
    let mut out: Vec<String> = text.split('\n').map(str::to_string).collect();
    if out.last().is_some_and(String::is_empty) {
        out.pop();
    }
    for line in &out {
        if line.len() > NAME_LEN * 2 {
            return Err(format!(
                "{option} {}: the line `{}...` is too long",
                path.display(),
                line.chars().take(40).collect::<String>()
            ));
        }
    }
    Ok(out)
}

/// mariadb-backup's `xb_validate_name` on both halves of `db[.table]`.
fn validate(name: &str, option: &str) -> Result<(), String> {
    let (db_len, table_len) = match name.split_once('.') {
        // mariadb-backup measures the table half with the dot.
        Some((db, table)) => (db.len(), Some(table.len() + 1)),
        None => (name.len(), None),
    };
    if db_len > NAME_LEN || table_len.is_some_and(|l| l > NAME_LEN) {
        return Err(format!(
            "{option}: name `{name}` is too long (at most {NAME_LEN} bytes for a database or a table)"
        ));
    }
    if let Some(at) = name.find(['/', '\\', '~']) {
        if at < NAME_LEN {
            return Err(format!(
                "{option}: name `{name}` is not valid: a database or table name in a filter cannot contain /, \\ or ~"
            ));
        }
    }
    Ok(())
}

fn compile(pattern: &str, option: &str) -> Result<Regex, String> {
    Regex::new(pattern)
        .map_err(|e| format!("{option}: invalid regular expression `{pattern}`: {e}"))
}

#[cfg(test)]
#[path = "filter_tests.rs"]
mod tests;
