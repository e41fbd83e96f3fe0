//! What to copy from a datadir, and in which phase of the backup.
//!
//! mariadb-backup decides by file name alone (it never asks the server for the table list),
//! so a drop-in does the same: InnoDB tablespaces are copied first and without locks, the
//! files of non-transactional tables after `BACKUP STAGE FLUSH` (when the server blocks
//! writes to them), table metadata under `BLOCK_DDL`, and the log and statistics tables
//! under `BLOCK_COMMIT`. Files of unknown kinds are skipped silently, as mariadb-backup does
//! (binlogs, `ibtmp1`, `ib_buffer_pool`, stray files). The [`Filter`] of a partial backup
//! (and the server's `ignore_db_dirs`) leaves out databases and tables here, by the same names
//! mariadb-backup matches; the system and undo tablespaces and the Aria logs are always taken.

use std::io;
use std::path::{Path, PathBuf};

use super::filter::Filter;

/// Extensions of files that make up non-InnoDB tables' data.
const NONTX_DATA_EXTENSIONS: &[&str] = &[
    "MYD", "MYI", "MRG", "CSV", "CSM", "ARZ", "ARM", "MAI", "MAD",
];
/// Extensions of table metadata, copied under `BLOCK_DDL`.
const METADATA_EXTENSIONS: &[&str] = &["frm", "par", "TRG", "TRN", "isl", "opt"];
/// Tables whose writes `BACKUP STAGE` does not block before `BLOCK_COMMIT`.
const LATE_TABLES: &[(&str, &str)] = &[
    ("mysql", "general_log"),
    ("mysql", "slow_log"),
    ("mysql", "table_stats"),
    ("mysql", "column_stats"),
    ("mysql", "index_stats"),
];

/// A file to copy: where it is and what it is called in the backup.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileCopy {
    /// The live file.
    pub source: PathBuf,
    /// Its name inside the backup directory, relative.
    pub dest: PathBuf,
}

/// The files of one non-InnoDB table, copied together under one `BACKUP LOCK`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NonTxTable {
    /// Database name as SQL knows it (file-name encoding undone).
    pub db: String,
    /// Table name as SQL knows it (partition suffix removed).
    pub table: String,
    /// Its data files.
    pub files: Vec<FileCopy>,
    /// A log or statistics table, copied under `BLOCK_COMMIT`.
    pub late: bool,
}

/// Everything a backup copies, sorted into phases.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Inventory {
    /// The system tablespace files, in `innodb_data_file_path` order.
    pub system: Vec<FileCopy>,
    /// Undo tablespaces.
    pub undo: Vec<FileCopy>,
    /// File-per-table tablespaces (remote `DATA DIRECTORY` ones resolved through `.isl`).
    pub tables: Vec<FileCopy>,
    /// Non-transactional and Aria tables.
    pub nontx: Vec<NonTxTable>,
    /// `.frm`, `.par`, `.TRG`, `.TRN`, `.isl`, `db.opt`.
    pub metadata: Vec<FileCopy>,
    /// `aria_log_control` and `aria_log.NNNNNNNN`.
    pub aria_logs: Vec<FileCopy>,
    /// Database directories (relative), created even when empty of copied files.
    pub databases: Vec<PathBuf>,
    /// Database directories with no file at all: the backup gets an empty `db.opt` in each
    /// (as mariadb-backup), so that the database exists after a restore.
    pub empty_databases: Vec<PathBuf>,
    /// What the filter left out (relative names; a database as `db/`), for the log.
    pub skipped: Vec<PathBuf>,
}

/// Where the server keeps its files (from `SHOW VARIABLES`, absolute).
#[derive(Clone, Debug)]
pub struct ServerPaths {
    /// `datadir`.
    pub datadir: PathBuf,
    /// `innodb_data_home_dir` (empty means the datadir).
    pub data_home_dir: PathBuf,
    /// `innodb_data_file_path`, e.g. `ibdata1:12M:autoextend`.
    pub data_file_path: String,
    /// `innodb_undo_directory`.
    pub undo_dir: PathBuf,
    /// `aria_log_dir_path`.
    pub aria_log_dir: PathBuf,
}

/// Resolves a server path variable against the datadir (`./` and relative values are
/// relative to it, because the server `chdir`s there).
pub fn resolve(datadir: &Path, value: &str) -> PathBuf {
    if value.is_empty() || value == "." || value == "./" {
        datadir.to_path_buf()
    } else if Path::new(value).is_absolute() {
        PathBuf::from(value)
    } else {
        datadir.join(value.trim_start_matches("./"))
    }
}

/// The file names in `innodb_data_file_path` (`name:size[:autoextend[:max:size]]`, `;`
/// separated).
pub fn data_file_names(spec: &str) -> Vec<String> {
    spec.split(';')
        .filter_map(|entry| entry.split(':').next())
        .map(str::trim)
        .filter(|name| !name.is_empty())
        .map(str::to_string)
        .collect()
}

/// Scans the datadir, leaving out what `filter` skips.
pub fn scan(paths: &ServerPaths, filter: &Filter) -> io::Result<Inventory> {
    let mut inv = Inventory::default();
    for name in data_file_names(&paths.data_file_path) {
        let source = paths.data_home_dir.join(&name);
        let base = Path::new(&name)
            .file_name()
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(&name));
        inv.system.push(FileCopy { source, dest: base });
    }
    for entry in sorted_entries(&paths.undo_dir)? {
        let name = entry.to_string_lossy();
        if is_undo_name(&name) {
            inv.undo.push(FileCopy {
                source: paths.undo_dir.join(&entry),
                dest: entry.clone(),
            });
        }
    }
    for entry in sorted_entries(&paths.aria_log_dir)? {
        let name = entry.to_string_lossy();
        if name == "aria_log_control" || is_aria_log_name(&name) {
            inv.aria_logs.push(FileCopy {
                source: paths.aria_log_dir.join(&entry),
                dest: entry.clone(),
            });
        }
    }
    for db in sorted_entries(&paths.datadir)? {
        let dir = paths.datadir.join(&db);
        if !dir.is_dir() || db.to_string_lossy().starts_with('#') {
            continue;
        }
        if filter.skip_database(&db.to_string_lossy()) {
            inv.skipped.push(db.join(""));
            continue;
        }
        scan_database(&dir, &db, filter, &mut inv)?;
    }
    Ok(inv)
}

fn scan_database(dir: &Path, db: &Path, filter: &Filter, inv: &mut Inventory) -> io::Result<()> {
    let db_name = decode_filename(&db.to_string_lossy());
    let mut any = false;
    let mut empty = true;
    let names = match sorted_entries(dir) {
        Ok(names) => names,
        // Dropped since the datadir was listed (DROP DATABASE is not blocked yet).
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    for entry in names {
        let name = entry.to_string_lossy().into_owned();
        let source = dir.join(&entry);
        let dest = db.join(&entry);
        if !source.is_file() {
            continue;
        }
        empty = false;
        // ALTER TABLE's intermediate files (`#sql…`, which the filter always skips): the
        // redo log's DDL tracking covers them.
        if name.starts_with("#sql") {
            continue;
        }
        if filter.skip_table(&dest.to_string_lossy()) {
            inv.skipped.push(dest);
            continue;
        }
        let Some((stem, ext)) = name.rsplit_once('.') else {
            continue;
        };
        if ext == "ibd" {
            inv.tables.push(FileCopy { source, dest });
            any = true;
        } else if ext == "isl" {
            // A DATA DIRECTORY table: the data lives where the link says; the backup keeps a
            // local copy next to the link, as mariadb-backup.
            let target = match std::fs::read_to_string(&source) {
                Ok(target) => target,
                // The table was dropped since the directory was listed.
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) => return Err(e),
            };
            inv.tables.push(FileCopy {
                source: PathBuf::from(target.trim_end_matches(['\n', '\r', '\0'])),
                dest: db.join(format!("{stem}.ibd")),
            });
            inv.metadata.push(FileCopy { source, dest });
            any = true;
        } else if METADATA_EXTENSIONS.contains(&ext) {
            inv.metadata.push(FileCopy { source, dest });
            any = true;
        } else if NONTX_DATA_EXTENSIONS.contains(&ext) {
            let table = decode_filename(table_of_partition(stem));
            let late = LATE_TABLES.contains(&(db_name.as_str(), table.as_str()));
            match inv
                .nontx
                .iter_mut()
                .find(|t| t.db == db_name && t.table == table)
            {
                Some(t) => t.files.push(FileCopy { source, dest }),
                None => inv.nontx.push(NonTxTable {
                    db: db_name.clone(),
                    table,
                    files: vec![FileCopy { source, dest }],
                    late,
                }),
            }
            any = true;
        }
    }
    if any {
        inv.databases.push(db.to_path_buf());
    }
    if empty {
        inv.empty_databases.push(db.to_path_buf());
    }
    Ok(())
}

fn sorted_entries(dir: &Path) -> io::Result<Vec<PathBuf>> {
    let mut names = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        names.push(PathBuf::from(entry?.file_name()));
    }
    names.sort();
    Ok(names)
}

/// `undo001` … `undo127`.
pub fn is_undo_name(name: &str) -> bool {
    name.len() == 7 && name.starts_with("undo") && name[4..].bytes().all(|b| b.is_ascii_digit())
}

/// `aria_log.00000001`.
pub fn is_aria_log_name(name: &str) -> bool {
    name.strip_prefix("aria_log.")
        .is_some_and(|n| n.len() == 8 && n.bytes().all(|b| b.is_ascii_digit()))
}

/// The table a partition file belongs to: `t#P#p0` → `t`, `t#P#p0#SP#s1` → `t`.
pub fn table_of_partition(stem: &str) -> &str {
    match stem.find("#P#").or_else(|| stem.find("#p#")) {
        Some(i) => &stem[..i],
        None => stem,
    }
}

/// Undoes the server's file-name encoding of identifiers: `@XXXX` is the character with
/// code point 0xXXXX (`my@002ddb` → `my-db`). Other escapes are left as they are.
pub fn decode_filename(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut rest = name;
    while let Some(at) = rest.find('@') {
        out.push_str(&rest[..at]);
        let code = rest
            .get(at + 1..at + 5)
            .filter(|h| h.bytes().all(|b| b.is_ascii_hexdigit()))
            .and_then(|h| u32::from_str_radix(h, 16).ok())
            .and_then(char::from_u32);
        match code {
            Some(c) => {
                out.push(c);
                rest = &rest[at + 5..];
            }
            None => {
                out.push('@');
                rest = &rest[at + 1..];
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        for (input, expected) in [
            ("t", "t"),
            ("my@002ddb", "my-db"),
            ("t@002d1", "t-1"),
            ("x@0024y", "x$y"),
            ("odd@zz", "odd@zz"),
            ("tail@00", "tail@00"),
        ] {
            assert_eq!(decode_filename(input), expected, "{input}");
        }
        assert_eq!(table_of_partition("t_part#P#p0"), "t_part");
        assert_eq!(table_of_partition("t#P#p0#SP#p0sp1"), "t");
        assert_eq!(table_of_partition("plain"), "plain");
        assert!(is_undo_name("undo001") && !is_undo_name("undo01") && !is_undo_name("undoxyz"));
        assert!(is_aria_log_name("aria_log.00000001") && !is_aria_log_name("aria_log_control"));
        assert_eq!(
            data_file_names("ibdata1:12M;ibdata2:50M:autoextend:max:1G"),
            vec!["ibdata1", "ibdata2"]
        );
        let d = Path::new("/var/lib/mysql");
        assert_eq!(resolve(d, "./"), d);
        assert_eq!(resolve(d, ""), d);
        assert_eq!(resolve(d, "/u"), Path::new("/u"));
        assert_eq!(resolve(d, "./undo"), Path::new("/var/lib/mysql/undo"));
    }

    #[test]
    fn scan_sorts_files_into_phases() {
        let root = std::env::temp_dir().join(format!("hb-discover-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let data = root.join("data");
        let remote = root.join("remote");
        for dir in [
            "mysql",
            "zoo",
            "my@002ddb",
            "emptydb",
            "notadb",
            "#rocksdb",
            "void",
        ] {
            std::fs::create_dir_all(data.join(dir)).unwrap();
        }
        std::fs::create_dir_all(&remote).unwrap();
        let files = [
            "ibdata1",
            "undo001",
            "undo002",
            "ibtmp1",
            "ib_buffer_pool",
            "mysql-bin.000001",
            "aria_log_control",
            "aria_log.00000001",
            "rootjunk.txt",
            "mysql/db.opt",
            "mysql/innodb_table_stats.ibd",
            "mysql/innodb_table_stats.frm",
            "mysql/general_log.CSV",
            "mysql/general_log.CSM",
            "mysql/table_stats.MAI",
            "mysql/table_stats.MAD",
            "zoo/t.ibd",
            "zoo/t.frm",
            "zoo/m.MYD",
            "zoo/m.MYI",
            "zoo/p#P#p0.MYD",
            "zoo/p#P#p1.MYD",
            "zoo/p.par",
            "zoo/#sql-alter-1.ibd",
            "zoo/junk.txt",
            "my@002ddb/t@002d1.ibd",
            "emptydb/db.opt",
            "notadb/x.dat",
        ];
        for f in files {
            std::fs::write(data.join(f), b"x").unwrap();
        }
        std::fs::write(remote.join("r.ibd"), b"x").unwrap();
        std::fs::write(
            data.join("zoo/r.isl"),
            format!("{}\n", remote.join("r.ibd").display()),
        )
        .unwrap();
        let paths = ServerPaths {
            datadir: data.clone(),
            data_home_dir: data.clone(),
            data_file_path: "ibdata1:12M:autoextend".into(),
            undo_dir: data.clone(),
            aria_log_dir: data.clone(),
        };
        let inv = scan(&paths, &Filter::default()).unwrap();
        let dests = |v: &[FileCopy]| -> Vec<String> {
            v.iter().map(|f| f.dest.display().to_string()).collect()
        };
        assert_eq!(dests(&inv.system), vec!["ibdata1"]);
        assert_eq!(dests(&inv.undo), vec!["undo001", "undo002"]);
        assert_eq!(
            dests(&inv.aria_logs),
            vec!["aria_log.00000001", "aria_log_control"]
        );
        assert_eq!(
            dests(&inv.tables),
            vec![
                "my@002ddb/t@002d1.ibd",
                "mysql/innodb_table_stats.ibd",
                "zoo/r.ibd",
                "zoo/t.ibd"
            ]
        );
        assert_eq!(inv.tables[2].source, remote.join("r.ibd"));
        assert_eq!(
            dests(&inv.metadata),
            vec![
                "emptydb/db.opt",
                "mysql/db.opt",
                "mysql/innodb_table_stats.frm",
                "zoo/p.par",
                "zoo/r.isl",
                "zoo/t.frm"
            ]
        );
        let tables: Vec<(String, usize, bool)> = inv
            .nontx
            .iter()
            .map(|t| (format!("{}.{}", t.db, t.table), t.files.len(), t.late))
            .collect();
        assert_eq!(
            tables,
            vec![
                ("mysql.general_log".to_string(), 2, true),
                ("mysql.table_stats".to_string(), 2, true),
                ("zoo.m".to_string(), 2, false),
                ("zoo.p".to_string(), 2, false),
            ]
        );
        let dbs: Vec<String> = inv
            .databases
            .iter()
            .map(|d| d.display().to_string())
            .collect();
        assert_eq!(dbs, vec!["emptydb", "my@002ddb", "mysql", "zoo"]);
        assert_eq!(inv.empty_databases, vec![PathBuf::from("void")]);
        assert!(inv.skipped.is_empty());

        // A partial backup: `--tables=^zoo[.](t|p)$`, and notadb in ignore_db_dirs.
        let partial = crate::options::Partial {
            tables: Some("^zoo[.](t|p)$".into()),
            ..Default::default()
        };
        let no_files = |_: &Path| -> io::Result<Vec<u8>> { unreachable!() };
        let mut filter = Filter::new(&partial, &no_files).unwrap();
        filter.ignore_db_dirs("notadb");
        let inv = scan(&paths, &filter).unwrap();
        assert_eq!(dests(&inv.system), vec!["ibdata1"]);
        assert_eq!(dests(&inv.undo), vec!["undo001", "undo002"]);
        assert_eq!(inv.aria_logs.len(), 2);
        assert_eq!(dests(&inv.tables), vec!["zoo/t.ibd"]);
        assert_eq!(dests(&inv.metadata), vec!["zoo/p.par", "zoo/t.frm"]);
        assert_eq!(inv.nontx.len(), 1);
        assert_eq!(inv.nontx[0].table, "p");
        assert_eq!(inv.databases, vec![PathBuf::from("zoo")]);
        // An empty directory is a database the filter does not skip by name.
        assert_eq!(inv.empty_databases, vec![PathBuf::from("void")]);
        let skipped: Vec<String> = inv
            .skipped
            .iter()
            .map(|p| p.display().to_string())
            .collect();
        assert!(skipped.contains(&"notadb/".to_string()), "{skipped:?}");
        assert!(skipped.contains(&"zoo/m.MYD".to_string()), "{skipped:?}");
        assert!(skipped.contains(&"mysql/db.opt".to_string()), "{skipped:?}");
        assert!(!skipped.iter().any(|s| s.contains("#sql")), "{skipped:?}");
        std::fs::remove_dir_all(&root).unwrap();
    }
}
