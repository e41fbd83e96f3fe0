//! A schema with every row format and engine a backup must copy correctly.

use anyhow::{Context, Result};

use crate::server::TestServer;
use crate::sql::quote_ident;

/// Column list shared by all mixed tables: fixed and variable length, NULLs, a secondary
/// index, and TEXT/BLOB values long enough to go off-page (externally stored) on small pages.
const COLUMNS: &str = "id INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY, \
     k INT NOT NULL, \
     c VARCHAR(100) NOT NULL, \
     d DATETIME NULL, \
     f DOUBLE NULL, \
     txt TEXT NULL, \
     b MEDIUMBLOB NULL, \
     KEY k_idx (k)";

/// Tables made by [`create_mixed_schema`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MixedSchema {
    /// The database.
    pub db: String,
    /// Tables as `db.name`, in creation order (InnoDB first).
    pub tables: Vec<String>,
    /// Rows inserted into each table.
    pub rows_per_table: usize,
}

impl MixedSchema {
    /// The InnoDB tables only (the ones whose pages hotbackup copies).
    pub fn innodb_tables(&self) -> Vec<String> {
        self.tables
            .iter()
            .filter(|t| !t.ends_with("_myisam") && !t.ends_with("_aria"))
            .cloned()
            .collect()
    }
}

/// `(table suffix, ENGINE/ROW_FORMAT clause)` for every table; COMPRESSED only where the
/// page size allows it.
fn table_specs(compressed: bool) -> Vec<(&'static str, &'static str)> {
    let mut specs = vec![
        ("t_redundant", "ENGINE=InnoDB ROW_FORMAT=REDUNDANT"),
        ("t_compact", "ENGINE=InnoDB ROW_FORMAT=COMPACT"),
        ("t_dynamic", "ENGINE=InnoDB ROW_FORMAT=DYNAMIC"),
    ];
    if compressed {
        specs.push(("t_compressed", "ENGINE=InnoDB ROW_FORMAT=COMPRESSED"));
    }
    specs.push(("t_myisam", "ENGINE=MyISAM"));
    specs.push(("t_aria", "ENGINE=Aria TRANSACTIONAL=1"));
    specs
}

/// Creates database `db` (dropped first if it exists) with one table per row format and
/// engine, `t_redundant`, `t_compact`, `t_dynamic`, `t_compressed` (only when the page
/// size is at most 16k), `t_myisam`, `t_aria`, each filled with `rows_per_table`
/// deterministic rows of mixed data (NULLs, short and long TEXT, BLOBs up to ~19 KB).
pub fn create_mixed_schema(
    server: &TestServer,
    db: &str,
    rows_per_table: usize,
) -> Result<MixedSchema> {
    let page_bytes = match server.page_size() {
        Some(p) => p.bytes(),
        None => server
            .variable("innodb_page_size")?
            .and_then(|v| v.parse::<u32>().ok())
            .context("cannot read @@innodb_page_size")?,
    };
    let quoted_db = quote_ident(db);
    server.exec(&format!(
        "DROP DATABASE IF EXISTS {quoted_db}; CREATE DATABASE {quoted_db}"
    ))?;
    let mut tables = Vec::new();
    for (name, clause) in table_specs(page_bytes <= 16384) {
        let table = format!("{quoted_db}.{}", quote_ident(name));
        server
            .exec(&format!("CREATE TABLE {table} ({COLUMNS}) {clause}"))
            .with_context(|| {
                format!("creating {db}.{name} ({clause}) with {page_bytes}-byte pages")
            })?;
        fill_table(server, &quoted_db, &table, rows_per_table)?;
        tables.push(format!("{db}.{name}"));
    }
    Ok(MixedSchema {
        db: db.to_string(),
        tables,
        rows_per_table,
    })
}

/// Inserts `rows` deterministic rows in batches (the sequence engine generates them server
/// side, so no data crosses the socket; its virtual `seq_*` tables need a database name).
fn fill_table(server: &TestServer, quoted_db: &str, quoted_table: &str, rows: usize) -> Result<()> {
    const BATCH: usize = 2000;
    let mut done = 0;
    while done < rows {
        let from = done + 1;
        let to = (done + BATCH).min(rows);
        server.exec(&format!(
            "INSERT INTO {quoted_table} (k, c, d, f, txt, b) \
             SELECT (seq * 7919) % 10007, CONCAT('row-', seq, '-', MD5(seq)), \
                    IF(seq % 7 = 0, NULL, TIMESTAMP'2020-01-01 00:00:00' + INTERVAL seq MINUTE), \
                    IF(seq % 11 = 0, NULL, seq / 3.0), \
                    IF(seq % 13 = 0, NULL, REPEAT(MD5(seq), 1 + seq % 40)), \
                    IF(seq % 3 = 0, REPEAT(UNHEX(MD5(seq)), 1 + (seq * 31) % 1200), NULL) \
             FROM {quoted_db}.seq_{from}_to_{to}"
        ))?;
        done = to;
    }
    Ok(())
}
