//! Which tables `--export` exports and the SQL that does it: every `db/*.ibd` of the backup
//! (mariadb-backup 10.11's `enumerate_ibd_files`), one `FLUSH TABLES … FOR EXPORT` per table.

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};

use crate::backup::discover::{decode_filename, table_of_partition};

/// One table to export: its SQL name and the `.cfg` files the server must write for it
/// (one per `.ibd`: a partitioned table has one per partition).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Table {
    /// Database name (decoded from the directory name).
    pub db: String,
    /// Table name (decoded, without the partition suffix).
    pub name: String,
    /// `db/file.cfg` for each of its `.ibd` files, relative to the backup.
    pub cfg_files: Vec<PathBuf>,
    /// Whether `db` and `name` are the real names: every escape in the file names was an
    /// `@XXXX` code point. Letters such as `é` have two-character codes (`t@0p`) that only
    /// the server's tables map; such a table is named by the server ([`script`]).
    pub decoded: bool,
}

impl Table {
    /// `` `db`.`name` `` as SQL writes it.
    pub fn sql_name(&self) -> String {
        format!("{}.{}", quote(&self.db), quote(&self.name))
    }
}

/// The tables of `target` to export, sorted by name: one per table having `.ibd` files in a
/// database directory. Files at the top level (general tablespaces) and InnoDB's own files
/// that have no SQL table (fulltext index tables `FTS_…`, `#sql…` leftovers) are not tables.
pub fn find(target: &Path) -> io::Result<(Vec<Table>, Vec<PathBuf>)> {
    let mut tables: BTreeMap<(String, String, bool), Vec<PathBuf>> = BTreeMap::new();
    let mut skipped = Vec::new();
    for db in std::fs::read_dir(target)? {
        let db = db?;
        if !db.file_type()?.is_dir() {
            continue;
        }
        let db_dir = db.file_name();
        let Some(db_dir) = db_dir.to_str() else {
            continue;
        };
        for file in std::fs::read_dir(db.path())? {
            let file = file?;
            let name = file.file_name();
            let Some(stem) = name.to_str().and_then(|n| n.strip_suffix(".ibd")) else {
                continue;
            };
            if stem.is_empty() || !is_sql_table(stem) || file.file_type()?.is_dir() {
                continue;
            }
            if !is_tablespace(&file.path())? {
                skipped.push(Path::new(db_dir).join(&name));
                continue;
            }
            let table = table_of_partition(stem);
            let key = (
                decode_filename(db_dir),
                decode_filename(table),
                decodes_fully(db_dir) && decodes_fully(table),
            );
            tables
                .entry(key)
                .or_default()
                .push(Path::new(db_dir).join(format!("{stem}.cfg")));
        }
    }
    let tables = tables
        .into_iter()
        .map(|((db, name, decoded), mut cfg_files)| {
            cfg_files.sort();
            Table {
                db,
                name,
                cfg_files,
                decoded,
            }
        })
        .collect();
    skipped.sort();
    Ok((tables, skipped))
}

/// Whether a `.ibd` file holds a tablespace at all: a file shorter than the smallest page, or
/// whose first KiB is zeros, has no header (a stray or never-written file; the prepare left it
/// as it is) and no server can export it.
fn is_tablespace(path: &Path) -> io::Result<bool> {
    use std::io::Read;
    let mut head = [0u8; 1024];
    let mut file = std::fs::File::open(path)?;
    let mut got = 0;
    while got < head.len() {
        match file.read(&mut head[got..])? {
            0 => return Ok(false),
            n => got += n,
        }
    }
    Ok(head.iter().any(|&b| b != 0))
}

/// Whether a `.ibd` file's stem names an SQL table: not an InnoDB fulltext auxiliary table
/// (`FTS_<16 hex>_…`) nor an intermediate or orphan table (`#sql…`).
fn is_sql_table(stem: &str) -> bool {
    let fts = stem
        .strip_prefix("FTS_")
        .and_then(|rest| rest.get(..17))
        .is_some_and(|id| id.ends_with('_') && id[..16].bytes().all(|b| b.is_ascii_hexdigit()));
    !fts && !stem.starts_with("#sql")
}

/// Whether every `@` of a file name starts an `@XXXX` escape ([`decode_filename`] undoes
/// exactly those).
pub fn decodes_fully(file_name: &str) -> bool {
    file_name.match_indices('@').all(|(at, _)| {
        file_name
            .get(at + 1..at + 5)
            .is_some_and(|h| h.bytes().all(|b| b.is_ascii_hexdigit()))
    })
}

/// An SQL identifier in backquotes (a backquote in it doubled).
fn quote(ident: &str) -> String {
    format!("`{}`", ident.replace('`', "``"))
}

/// The `--bootstrap` script: for each table mariadb-backup's statement pair, a failing
/// `FLUSH` being skipped (the missing `.cfg` is reported afterwards), then `UNLOCK TABLES`,
/// which in bootstrap mode keeps the `.cfg` files. Tables whose names hotbackup cannot
/// decode (see [`Table::decoded`]) are found by the server itself: one more statement
/// exports every InnoDB table whose database or table name is not ASCII. Bootstrap mode
/// reads one statement per line.
pub fn script(tables: &[Table]) -> String {
    let mut sql = String::from("SET NAMES UTF8;\n");
    for t in tables.iter().filter(|t| t.decoded) {
        sql.push_str(&format!(
            "BEGIN NOT ATOMIC DECLARE CONTINUE HANDLER FOR NOT FOUND,SQLEXCEPTION BEGIN END;\
             FLUSH TABLES {} FOR EXPORT;END;\nUNLOCK TABLES;\n",
            t.sql_name()
        ));
    }
    if tables.iter().any(|t| !t.decoded) {
        sql.push_str(NOT_ASCII_TABLES);
    }
    sql
}

/// Exports every InnoDB base table with a non-ASCII database or table name, one line.
const NOT_ASCII_TABLES: &str = "BEGIN NOT ATOMIC DECLARE done INT DEFAULT 0; \
    DECLARE s, t VARCHAR(256); \
    DECLARE c CURSOR FOR SELECT TABLE_SCHEMA, TABLE_NAME FROM information_schema.TABLES \
    WHERE ENGINE = 'InnoDB' AND TABLE_TYPE = 'BASE TABLE' \
    AND CONCAT(TABLE_SCHEMA, TABLE_NAME) <> CONVERT(CONCAT(TABLE_SCHEMA, TABLE_NAME) USING ascii); \
    DECLARE CONTINUE HANDLER FOR NOT FOUND SET done = 1; \
    OPEN c; l: LOOP FETCH c INTO s, t; IF done THEN LEAVE l; END IF; \
    BEGIN DECLARE CONTINUE HANDLER FOR SQLEXCEPTION BEGIN END; \
    EXECUTE IMMEDIATE CONCAT('FLUSH TABLES `', REPLACE(s, '`', '``'), '`.`', \
    REPLACE(t, '`', '``'), '` FOR EXPORT'); \
    EXECUTE IMMEDIATE 'UNLOCK TABLES'; END; END LOOP; CLOSE c; END;\n";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sql_tables() {
        for (stem, expected) in [
            ("t", true),
            ("t_part#P#p0", true),
            ("FTS_0000000000000019_0000000000000026_INDEX_1", false),
            ("FTS_0000000000000019_CONFIG", false),
            ("FTS_00000000000000zz_CONFIG", true),
            ("FTS_short", true),
            ("#sql-alter-1-2", false),
            ("#sql-ib42", false),
        ] {
            assert_eq!(is_sql_table(stem), expected, "{stem}");
        }
    }

    #[test]
    fn finds_tables_and_partitions() {
        let dir = std::env::temp_dir().join(format!("hb-export-tables-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        for f in [
            "d/t.ibd",
            "d/t.frm",
            "d/p#P#p0.ibd",
            "d/p#P#p1.ibd",
            "d/s#P#p0#SP#p0sp0.ibd",
            "d/t@0020sp@0040ce.ibd",
            "d/t@0p.ibd",
            "d/FTS_0000000000000019_CONFIG.ibd",
            "d/#sql-alter-1.ibd",
            "d/m.MYD",
            "db@002dx/a@0060b.ibd",
            "general.ibd",
            "ibdata1",
            "d/junk.ibd",
            "d/zero.ibd",
        ] {
            let p = dir.join(f);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            // A tablespace has a header; mtr's `partial` injects an empty junk.ibd.
            let bytes = match f {
                "d/junk.ibd" => vec![],
                "d/zero.ibd" => vec![0u8; 16384],
                _ => vec![1u8; 1024],
            };
            std::fs::write(p, bytes).unwrap();
        }
        let (tables, skipped) = find(&dir).unwrap();
        assert_eq!(
            skipped,
            [PathBuf::from("d/junk.ibd"), PathBuf::from("d/zero.ibd")]
        );
        let _ = std::fs::remove_dir_all(&dir);
        let got: Vec<(String, Vec<String>)> = tables
            .iter()
            .map(|t| {
                (
                    t.sql_name(),
                    t.cfg_files
                        .iter()
                        .map(|p| p.display().to_string())
                        .collect(),
                )
            })
            .collect();
        let want = |name: &str, files: &[&str]| {
            (
                name.to_string(),
                files.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
            )
        };
        assert_eq!(
            got,
            vec![
                want("`d`.`p`", &["d/p#P#p0.cfg", "d/p#P#p1.cfg"]),
                want("`d`.`s`", &["d/s#P#p0#SP#p0sp0.cfg"]),
                want("`d`.`t`", &["d/t.cfg"]),
                want("`d`.`t sp@ce`", &["d/t@0020sp@0040ce.cfg"]),
                want("`d`.`t@0p`", &["d/t@0p.cfg"]),
                want("`db-x`.`a``b`", &["db@002dx/a@0060b.cfg"]),
            ]
        );
        assert_eq!(
            tables.iter().map(|t| t.decoded).collect::<Vec<_>>(),
            [true, true, true, true, false, true]
        );
        assert!(!script(&tables[..4]).contains("CURSOR"));
        let all = script(&tables);
        assert!(
            all.ends_with(NOT_ASCII_TABLES) && !all.contains("`t@0p`"),
            "{all}"
        );
        assert_eq!(all.lines().count(), 1 + 2 * 5 + 1);
        assert_eq!(
            script(&tables[..1]),
            "SET NAMES UTF8;\nBEGIN NOT ATOMIC DECLARE CONTINUE HANDLER FOR NOT FOUND,\
             SQLEXCEPTION BEGIN END;FLUSH TABLES `d`.`p` FOR EXPORT;END;\nUNLOCK TABLES;\n"
        );
    }
}
