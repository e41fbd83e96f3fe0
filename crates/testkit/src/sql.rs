//! SQL helpers on [`TestServer`]: queries, table checksums, `CHECK TABLE`.

use anyhow::{bail, Context, Result};
use mysql::prelude::{FromRow, Queryable};

use crate::server::TestServer;

/// Schemas that are not user data: excluded from [`TestServer::list_tables`].
const SYSTEM_SCHEMAS: &str = "'mysql','information_schema','performance_schema','sys'";

/// Quotes an identifier with backticks (doubling any backtick inside).
pub fn quote_ident(name: &str) -> String {
    format!("`{}`", name.replace('`', "``"))
}

/// Quotes `db.tbl` (split at the first dot) as `` `db`.`tbl` ``; a name without a dot is
/// quoted as one identifier.
pub fn quote_table(qualified: &str) -> String {
    match qualified.split_once('.') {
        Some((db, tbl)) => format!("{}.{}", quote_ident(db), quote_ident(tbl)),
        None => quote_ident(qualified),
    }
}

/// One base table, from `information_schema.TABLES`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TableInfo {
    /// Database (schema) name.
    pub schema: String,
    /// Table name.
    pub name: String,
    /// Storage engine, e.g. `InnoDB`, `MyISAM`, `Aria`.
    pub engine: String,
    /// Row format as the server reports it, e.g. `Dynamic`, `Compressed`, `Page`.
    pub row_format: String,
}

impl TableInfo {
    /// `` `schema`.`name` ``, ready to paste into SQL.
    pub fn quoted(&self) -> String {
        format!("{}.{}", quote_ident(&self.schema), quote_ident(&self.name))
    }

    /// `schema.name`, unquoted (for messages and map keys).
    pub fn qualified(&self) -> String {
        format!("{}.{}", self.schema, self.name)
    }
}

/// A table whose `CHECK TABLE` did not end in `OK`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckFailure {
    /// `schema.name`.
    pub table: String,
    /// Every `Msg_type: Msg_text` row the server returned for it.
    pub messages: Vec<String>,
}

impl TestServer {
    /// A new connection of its own (unix socket, root, no password).
    pub fn conn(&self) -> Result<mysql::Conn> {
        mysql::Conn::new(self.mysql_opts()).with_context(|| {
            format!(
                "cannot connect to the test server on {} as root",
                self.socket_path().display()
            )
        })
    }

    /// Runs `f` on the cached connection, opening it if needed. A failed call drops the
    /// connection so the next call starts clean (the server may have been restarted).
    fn with_conn<T>(&self, sql: &str, f: impl FnOnce(&mut mysql::Conn) -> Result<T>) -> Result<T> {
        let mut guard = self
            .cached_conn
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if guard.is_none() {
            *guard = Some(self.conn()?);
        }
        let Some(conn) = guard.as_mut() else {
            bail!("internal: cached connection vanished");
        };
        let result = f(conn);
        if let Err(err) = &result {
            // Server-side SQL errors leave the connection usable; anything else may not.
            let sql_error = err
                .downcast_ref::<mysql::Error>()
                .is_some_and(|e| matches!(e, mysql::Error::MySqlError(_)));
            if !sql_error {
                *guard = None;
            }
        }
        result.with_context(|| format!("SQL failed on {}: {sql}", self.socket_path().display()))
    }

    /// Executes statements and discards any results. Several statements separated by `;`
    /// are allowed; the error of any of them is returned (the server runs none after it).
    /// `query_drop` would return only the first statement's: the others' are dropped
    /// with their result sets.
    pub fn exec(&self, sql: &str) -> Result<()> {
        self.with_conn(sql, |conn| {
            let mut result = conn.query_iter(sql)?;
            while let Some(set) = result.iter() {
                for row in set {
                    row?;
                }
            }
            Ok(())
        })
    }

    /// All rows of a query, each converted to `T` (a tuple, `String`, `u64`,
    /// `Option<String>`, [`mysql::Row`], ...). A conversion failure is an error, not a panic.
    pub fn query_rows<T: FromRow>(&self, sql: &str) -> Result<Vec<T>> {
        self.with_conn(sql, |conn| {
            let mut rows = Vec::new();
            for row in conn.query_iter(sql)? {
                let row = row?;
                let converted = T::from_row_opt(row).map_err(|e| {
                    anyhow::anyhow!(
                        "cannot convert row {:?} to {}",
                        e.0,
                        std::any::type_name::<T>()
                    )
                })?;
                rows.push(converted);
            }
            Ok(rows)
        })
    }

    /// The first row of a query as `T`; an error if there is no row.
    pub fn query_one<T: FromRow>(&self, sql: &str) -> Result<T> {
        self.query_rows::<T>(sql)?
            .into_iter()
            .next()
            .with_context(|| format!("query returned no rows: {sql}"))
    }

    /// The first row of a query as `T`, or `None` if there is none.
    pub fn query_opt<T: FromRow>(&self, sql: &str) -> Result<Option<T>> {
        Ok(self.query_rows::<T>(sql)?.into_iter().next())
    }

    /// A `SHOW GLOBAL STATUS` counter.
    pub fn status_u64(&self, name: &str) -> Result<u64> {
        let (_, v) =
            self.query_one::<(String, u64)>(&format!("SHOW GLOBAL STATUS LIKE '{name}'"))?;
        Ok(v)
    }

    /// Makes InnoDB write every dirty page and waits (60 s at most) until the checkpoint has
    /// passed the LSN of this call (so every page changed before it is in the data files as
    /// the server stores them, and the next log starts after it), or until no page is dirty
    /// and the checkpoint is the current LSN. The flushing settings are put back.
    ///
    /// Only the first condition would be enough, but an idle server whose LSN keeps moving
    /// (key rotation, purge) may take long to have no dirty page at all; waiting for both at
    /// once made tests time out on a loaded machine.
    pub fn flush_innodb(&self) -> Result<()> {
        let start = self.status_u64("Innodb_lsn_current")?;
        self.exec("SET GLOBAL innodb_max_dirty_pages_pct_lwm=0.001, innodb_max_dirty_pages_pct=0")?;
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        let (flushed, state) = loop {
            let dirty = self.status_u64("Innodb_buffer_pool_pages_dirty")?;
            let checkpoint = self.status_u64("Innodb_lsn_last_checkpoint")?;
            let current = self.status_u64("Innodb_lsn_current")?;
            let done = checkpoint >= start || (dirty == 0 && checkpoint + 64 >= current);
            if done || std::time::Instant::now() > deadline {
                break (
                    done,
                    format!(
                        "{dirty} dirty pages, checkpoint at {checkpoint}, current LSN \
                         {current}, LSN {start} when asked"
                    ),
                );
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        };
        self.exec("SET GLOBAL innodb_max_dirty_pages_pct=90, innodb_max_dirty_pages_pct_lwm=0")?;
        if !flushed {
            bail!("InnoDB did not checkpoint past LSN {start} within 60 s ({state})");
        }
        Ok(())
    }

    /// A global variable's value (`@@GLOBAL.name`), `None` when it is NULL.
    pub fn variable(&self, name: &str) -> Result<Option<String>> {
        self.query_one::<Option<String>>(&format!("SELECT @@GLOBAL.{name}"))
    }

    /// `CHECKSUM TABLE db.tbl EXTENDED` (reads every row, so it is a content oracle across
    /// backup and restore). `table` is `db.tbl`; an error if the table does not exist.
    pub fn checksum_table(&self, table: &str) -> Result<u64> {
        let sql = format!("CHECKSUM TABLE {} EXTENDED", quote_table(table));
        let (_name, checksum): (String, Option<u64>) = self.query_one(&sql)?;
        checksum.with_context(|| format!("CHECKSUM TABLE {table} returned NULL: no such table?"))
    }

    /// `checksum_table` of every user table, keyed by `schema.name`; compare the maps of the
    /// source and the restored server.
    pub fn checksum_all(&self) -> Result<std::collections::BTreeMap<String, u64>> {
        let mut sums = std::collections::BTreeMap::new();
        for table in self.list_tables()? {
            let name = table.qualified();
            let sum = self.checksum_table(&name)?;
            sums.insert(name, sum);
        }
        Ok(sums)
    }

    /// User base tables (not in `mysql`, `information_schema`, `performance_schema`, `sys`),
    /// sorted by schema and name.
    pub fn list_tables(&self) -> Result<Vec<TableInfo>> {
        self.tables_where(&format!("TABLE_SCHEMA NOT IN ({SYSTEM_SCHEMAS})"))
    }

    fn tables_where(&self, condition: &str) -> Result<Vec<TableInfo>> {
        let rows: Vec<(String, String, Option<String>, Option<String>)> =
            self.query_rows(&format!(
            "SELECT TABLE_SCHEMA, TABLE_NAME, ENGINE, ROW_FORMAT FROM information_schema.TABLES \
             WHERE TABLE_TYPE = 'BASE TABLE' AND {condition} ORDER BY TABLE_SCHEMA, TABLE_NAME"
        ))?;
        Ok(rows
            .into_iter()
            .map(|(schema, name, engine, row_format)| TableInfo {
                schema,
                name,
                engine: engine.unwrap_or_default(),
                row_format: row_format.unwrap_or_default(),
            })
            .collect())
    }

    /// `CHECK TABLE ... EXTENDED` on every base table, user and `mysql.*` alike (a restored
    /// backup must have intact system tables too). Returns the tables that did not end in
    /// `status: OK`; an engine that cannot check (`note: ... doesn't support check`) is not
    /// a failure.
    pub fn check_table_all(&self) -> Result<Vec<CheckFailure>> {
        let tables =
            self.tables_where("TABLE_SCHEMA NOT IN ('information_schema','performance_schema')")?;
        let mut failures = Vec::new();
        for table in tables {
            let rows: Vec<(String, String, String, String)> =
                self.query_rows(&format!("CHECK TABLE {} EXTENDED", table.quoted()))?;
            let messages: Vec<String> = rows
                .iter()
                .map(|(_, _, msg_type, text)| format!("{msg_type}: {text}"))
                .collect();
            let has_error = rows
                .iter()
                .any(|(_, _, msg_type, _)| msg_type.eq_ignore_ascii_case("error"));
            let unsupported = rows
                .iter()
                .any(|(_, _, _, text)| text.contains("doesn't support check"));
            let last_ok = rows.last().is_some_and(|(_, _, msg_type, text)| {
                msg_type.eq_ignore_ascii_case("status") && text.eq_ignore_ascii_case("OK")
            });
            if has_error || !(last_ok || unsupported) {
                failures.push(CheckFailure {
                    table: table.qualified(),
                    messages,
                });
            }
        }
        Ok(failures)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_identifiers_and_qualified_names() {
        assert_eq!(quote_ident("t1"), "`t1`");
        assert_eq!(quote_ident("we`ird"), "`we``ird`");
        assert_eq!(quote_table("db.t.x"), "`db`.`t.x`");
        assert_eq!(quote_table("t"), "`t`");
    }
}
