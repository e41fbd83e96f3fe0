//! Which tables `--restore-tables=PATTERN` restores: the pattern parsed and matched against
//! the InnoDB tables of the backup, every name checked before anything runs.
//!
//! PATTERN is a comma-separated list of `db.table` (one table) and `db.*` (every InnoDB
//! and MyISAM table of `db`), compared exactly (case-sensitive, as table names are on Linux). Not the
//! regular expressions of `--tables`: an unanchored regexp such as `shop.t1` also selects
//! `shop.t10`, and a restore replaces data. The name splits at its first `.`.

use std::path::{Path, PathBuf};

use crate::backup::discover::{decode_filename, table_of_partition};
use crate::exit::Code;
use crate::export::tables::{self, decodes_fully, Table};
use crate::failure::Failure;

/// One item of PATTERN.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Item {
    /// The database.
    pub db: String,
    /// The table; `None` for `db.*`.
    pub table: Option<String>,
}

impl std::fmt::Display for Item {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.db, self.table.as_deref().unwrap_or("*"))
    }
}

/// `db.table` (or `db.*` when `star`) split at its first dot.
pub fn parse_name(text: &str, star: bool) -> Result<Item, String> {
    let text = text.trim();
    let (db, table) = text.split_once('.').ok_or_else(|| {
        format!("{text:?} is not a db.table name (the database, a dot, the table)")
    })?;
    if db.is_empty() || table.is_empty() {
        return Err(format!("{text:?} has an empty database or table name"));
    }
    let table = if table == "*" && star {
        None
    } else if table.contains('*') && star {
        return Err(format!(
            "{text:?}: PATTERN takes exact names and db.* only, no wildcards inside a name"
        ));
    } else {
        Some(table.to_string())
    };
    Ok(Item {
        db: db.to_string(),
        table,
    })
}

/// Databases of the server itself, never restored table by table.
const SYSTEM_DATABASES: &[&str] = &["mysql", "sys", "performance_schema", "information_schema"];

/// PATTERN: comma-separated `db.table` and `db.*`.
pub fn parse(pattern: &str) -> Result<Vec<Item>, String> {
    let items: Vec<Item> = pattern
        .split(',')
        .filter(|s| !s.trim().is_empty())
        .map(|s| parse_name(s, true))
        .collect::<Result<_, _>>()?;
    if items.is_empty() {
        return Err("PATTERN is empty: give db.table or db.* names".into());
    }
    if let Some(i) = items
        .iter()
        .find(|i| SYSTEM_DATABASES.contains(&i.db.as_str()))
    {
        return Err(format!(
            "{i}: the server's own database {} is not restored into a running server \
             (its tables are the server's state: users, statistics, time zones); use \
             --copy-back into a new datadir",
            i.db
        ));
    }
    Ok(items)
}

/// A table of the backup to restore.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Selected {
    /// Names and `.cfg` files, as `--export` sees them.
    pub table: Table,
    /// The backup's database directory name (`db@002dx`).
    pub db_dir: String,
    /// The file name stem of the table (`t`, without a partition suffix).
    pub stem: String,
    /// The stems of its `.ibd` files (`t`, or `t#P#p0`, `t#P#p1`, ...); none for MyISAM.
    pub ibd_stems: Vec<String>,
    /// A MyISAM table (`.MYD` + `.MYI`), restored by its files under a write lock.
    pub myisam: bool,
}

impl Selected {
    /// Whether the table is partitioned.
    pub fn partitioned(&self) -> bool {
        self.ibd_stems.iter().any(|s| s != &self.stem)
    }
}

/// A `.frm` of the backup without InnoDB tablespace: a view, or a table of another engine.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Other {
    db: String,
    name: String,
    db_dir: String,
    stem: String,
    view: bool,
    /// Its data files' extensions (`MYD`, `MAD`, ...), for the message.
    files: Vec<String>,
}

/// The tables of the backup in `target` that `items` select, sorted. Refuses (exit 2) an
/// item that selects nothing (saying when the backup is partial), a table of another engine
/// than InnoDB or MyISAM named or in a `db.*`, and names hotbackup cannot map to the
/// server's.
pub fn select(target: &Path, items: &[Item], partial: bool) -> Result<Vec<Selected>, Failure> {
    let usage = |m: String| Failure::new(Code::Usage, format!("--restore-tables: {m}"));
    let (all, _) = tables::find(target).map_err(|e| Failure::io(target, e))?;
    let others = others(target, &all).map_err(|e| Failure::io(target, e))?;
    let mut chosen: Vec<Selected> = Vec::new();
    let mut refused: Vec<String> = Vec::new();
    for item in items {
        let matches =
            |db: &str, name: &str| db == item.db && item.table.as_deref().is_none_or(|t| t == name);
        let found: Vec<&Table> = all.iter().filter(|t| matches(&t.db, &t.name)).collect();
        for o in others.iter().filter(|o| matches(&o.db, &o.name)) {
            if o.view && item.table.is_none() {
                continue; // a view in db.*: nothing to restore, not an error
            }
            if o.files == ["MYD", "MYI"] && decodes_fully(&o.db_dir) && decodes_fully(&o.stem) {
                let s = Selected {
                    table: Table {
                        db: o.db.clone(),
                        name: o.name.clone(),
                        cfg_files: Vec::new(),
                        decoded: true,
                    },
                    db_dir: o.db_dir.clone(),
                    stem: o.stem.clone(),
                    ibd_stems: Vec::new(),
                    myisam: true,
                };
                if !chosen.contains(&s) {
                    chosen.push(s);
                }
                continue;
            }
            refused.push(if o.view {
                format!("`{}`.`{}` is a view, not a table", o.db, o.name)
            } else {
                format!(
                    "`{}`.`{}` is neither InnoDB nor MyISAM (its files: {}; an Aria table's \
                     files carry LSNs of its own server's Aria log, a partitioned MyISAM \
                     table is several): restore it with --copy-back of the backup into a \
                     scratch datadir and mariadb-dump",
                    o.db,
                    o.name,
                    if o.files.is_empty() {
                        "only a .frm".to_string()
                    } else {
                        o.files.join(", ")
                    }
                )
            });
        }
        if found.is_empty() && !others.iter().any(|o| matches(&o.db, &o.name)) {
            let why = if partial {
                " (this is a partial backup: xtrabackup_info says partial = Y, and the \
                 backup left it out; take a backup that includes it)"
            } else {
                ""
            };
            return Err(usage(format!(
                "{item} selects no table of the backup in {}{why}; the names are \
                 case-sensitive, PATTERN is comma-separated db.table or db.*",
                target.display()
            )));
        }
        for t in found {
            if !t.decoded {
                refused.push(format!(
                    "`{}`.`{}`: its file name uses the server's two-character letter codes, \
                     which hotbackup does not map; restore it by hand from a --copy-back",
                    t.db, t.name
                ));
                continue;
            }
            if chosen.iter().any(|c| c.table == *t) {
                continue;
            }
            chosen.push(selected(t));
        }
    }
    if !refused.is_empty() {
        return Err(usage(format!(
            "nothing was changed: {}; leave them out of PATTERN",
            refused.join("; ")
        )));
    }
    chosen.sort_by(|a, b| (&a.table.db, &a.table.name).cmp(&(&b.table.db, &b.table.name)));
    Ok(chosen)
}

fn selected(t: &Table) -> Selected {
    let stems: Vec<(String, String)> = t
        .cfg_files
        .iter()
        .map(|cfg| {
            let db_dir = cfg
                .parent()
                .map(|p| p.to_string_lossy().into_owned())
                .unwrap_or_default();
            let stem = cfg
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            (db_dir, stem)
        })
        .collect();
    let db_dir = stems[0].0.clone();
    let stem = table_of_partition(&stems[0].1).to_string();
    Selected {
        table: t.clone(),
        db_dir,
        stem,
        ibd_stems: stems.into_iter().map(|(_, s)| s).collect(),
        myisam: false,
    }
}

/// Every `.frm` of a database directory that is not one of the InnoDB `tables`.
fn others(target: &Path, tables: &[Table]) -> std::io::Result<Vec<Other>> {
    let mut out = Vec::new();
    for db in std::fs::read_dir(target)? {
        let db = db?;
        if !db.file_type()?.is_dir() {
            continue;
        }
        let Some(db_dir) = db.file_name().to_str().map(str::to_string) else {
            continue;
        };
        let mut names: Vec<String> = Vec::new();
        for f in std::fs::read_dir(db.path())? {
            if let Some(n) = f?.file_name().to_str() {
                names.push(n.to_string());
            }
        }
        for frm in names.iter().filter_map(|n| n.strip_suffix(".frm")) {
            let (db_name, name) = (decode_filename(&db_dir), decode_filename(frm));
            if tables.iter().any(|t| t.db == db_name && t.name == name) {
                continue;
            }
            let path: PathBuf = db.path().join(format!("{frm}.frm"));
            let view = std::fs::read(&path)
                .map(|b| b.starts_with(b"TYPE=VIEW"))
                .unwrap_or(false);
            let mut files: Vec<String> = names
                .iter()
                .filter_map(|n| n.strip_prefix(frm)?.strip_prefix('.'))
                .filter(|ext| *ext != "frm")
                .map(str::to_string)
                .collect();
            files.sort();
            out.push(Other {
                db: db_name,
                name,
                db_dir: db_dir.clone(),
                stem: frm.to_string(),
                view,
                files,
            });
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns() {
        let item = |db: &str, t: Option<&str>| Item {
            db: db.into(),
            table: t.map(str::to_string),
        };
        for (text, want) in [
            ("shop.orders", Ok(vec![item("shop", Some("orders"))])),
            (
                "shop.*, crm.users",
                Ok(vec![item("shop", None), item("crm", Some("users"))]),
            ),
            ("a.b.c", Ok(vec![item("a", Some("b.c"))])),
            ("shop", Err(())),
            (".t", Err(())),
            ("shop.", Err(())),
            ("shop.ord*", Err(())),
            ("mysql.innodb_table_stats", Err(())),
            ("shop.t,sys.*", Err(())),
            ("", Err(())),
            (" , ", Err(())),
        ] {
            assert_eq!(parse(text).map_err(|_| ()), want, "{text:?}");
        }
        assert_eq!(item("d", None).to_string(), "d.*");
    }

    #[test]
    fn selects_exactly() {
        let dir = std::env::temp_dir().join(format!("hb-restore-select-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        for (f, bytes) in [
            ("d/t.ibd", &[1u8; 1024][..]),
            ("d/t.frm", b"frm"),
            ("d/t1.ibd", &[1u8; 1024]),
            ("d/t1.frm", b"frm"),
            ("d/p#P#p0.ibd", &[1u8; 1024]),
            ("d/p#P#p1.ibd", &[1u8; 1024]),
            ("d/p.frm", b"frm"),
            ("d/v.frm", b"TYPE=VIEW\n"),
            ("e/m.frm", b"frm"),
            ("e/m.MYD", b""),
            ("e/m.MYI", b""),
            ("e/a.frm", b"frm"),
            ("e/a.MAD", b""),
            ("e/a.MAI", b""),
            ("e/x.ibd", &[1u8; 1024]),
            ("e/x.frm", b"frm"),
        ] {
            let p = dir.join(f);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, bytes).unwrap();
        }
        let names = |pattern: &str| {
            select(&dir, &parse(pattern).unwrap(), false).map(|s| {
                s.iter()
                    .map(|s| format!("{}.{}:{}", s.table.db, s.table.name, s.ibd_stems.join("+")))
                    .collect::<Vec<_>>()
            })
        };
        assert_eq!(names("d.t").unwrap(), ["d.t:t"]);
        assert_eq!(
            names("d.*").unwrap(),
            ["d.p:p#P#p0+p#P#p1", "d.t:t", "d.t1:t1"],
            "the view in d.* is left alone"
        );
        assert_eq!(names("d.t1,d.t,d.t").unwrap(), ["d.t:t", "d.t1:t1"]);
        let err = |pattern: &str, partial: bool| {
            let f = select(&dir, &parse(pattern).unwrap(), partial).unwrap_err();
            assert_eq!(f.code, Code::Usage, "{pattern}");
            f.message
        };
        assert!(err("d.T", false).contains("selects no table"));
        assert!(err("d.nope", true).contains("partial backup"));
        assert!(err("x.*", false).contains("x.* selects no table"));
        assert!(err("d.v", false).contains("is a view"));
        let m = err("e.*", false);
        assert!(
            m.contains("`e`.`a` is neither InnoDB nor MyISAM (its files: MAD, MAI"),
            "{m}"
        );
        assert_eq!(names("e.m,e.x").unwrap(), ["e.m:", "e.x:x"]);
        let m = &select(&dir, &parse("e.m").unwrap(), false).unwrap()[0];
        assert!(m.myisam && m.stem == "m" && m.db_dir == "e");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
