//! [`WriteLoad`]: INSERT/UPDATE/DELETE (and optionally DDL) from a background thread, so a
//! backup has something to race against.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::{anyhow, Context, Result};
use mysql::prelude::Queryable;

use crate::data::MixedSchema;
use crate::server::TestServer;
use crate::sql::{quote_ident, quote_table};

/// Server error codes the load expects while a backup holds locks: they are counted, and
/// the load goes on. 1205 = lock wait timeout (row or metadata lock), 1213 = deadlock.
const RETRYABLE_ERRORS: [u16; 2] = [1205, 1213];

/// What the load does; see [`WriteLoadOptions::for_schema`].
#[derive(Debug, Clone)]
pub struct WriteLoadOptions {
    /// Tables (`db.tbl`) with the column layout of [`crate::create_mixed_schema`].
    pub tables: Vec<String>,
    /// Also CREATE, RENAME and DROP InnoDB tables named `hb_ddl_*` in this database.
    pub ddl_db: Option<String>,
    /// Hard upper bound on how long the load runs even if never stopped (default 120 s), so
    /// a test that forgets to stop it still ends.
    pub max_duration: Duration,
    /// Sleep between transactions (default none: as fast as one connection goes).
    pub pause: Duration,
    /// Seed of the pseudo-random choices, so a failing run can be repeated.
    pub seed: u64,
    /// Session `lock_wait_timeout` and `innodb_lock_wait_timeout` in seconds (default 10):
    /// bounds how long a statement blocked by a backup lock waits (the server default is a
    /// year), and so how long [`WriteLoad::stop`] can take.
    pub lock_wait_timeout_secs: u32,
}

impl WriteLoadOptions {
    /// DML on every table of `schema`, no DDL, at full speed, for at most 120 s.
    pub fn for_schema(schema: &MixedSchema) -> Self {
        Self {
            tables: schema.tables.clone(),
            ddl_db: None,
            max_duration: Duration::from_secs(120),
            pause: Duration::ZERO,
            seed: 0x5eed_1234_abcd_0001,
            lock_wait_timeout_secs: 10,
        }
    }

    /// Adds CREATE/RENAME/DROP TABLE in `schema.db`.
    pub fn with_ddl(mut self, schema: &MixedSchema) -> Self {
        self.ddl_db = Some(schema.db.clone());
        self
    }
}

/// Counts of what a [`WriteLoad`] did (successful statements and affected rows).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WriteLoadStats {
    /// Rows inserted.
    pub rows_inserted: u64,
    /// Rows updated.
    pub rows_updated: u64,
    /// Rows deleted.
    pub rows_deleted: u64,
    /// Explicit multi-statement transactions committed.
    pub commits: u64,
    /// Explicit transactions rolled back on purpose.
    pub rollbacks: u64,
    /// Tables created by the DDL part.
    pub tables_created: u64,
    /// Tables renamed by the DDL part.
    pub tables_renamed: u64,
    /// Tables dropped by the DDL part.
    pub tables_dropped: u64,
    /// Statements that failed with a lock wait timeout or deadlock (expected under backup
    /// locks) and were skipped.
    pub lock_errors: u64,
    /// How long the load ran.
    pub elapsed: Duration,
}

impl WriteLoadStats {
    /// Successful write operations of any kind.
    pub fn total_ops(&self) -> u64 {
        self.rows_inserted
            + self.rows_updated
            + self.rows_deleted
            + self.tables_created
            + self.tables_renamed
            + self.tables_dropped
    }
}

/// A running background write load. Stop it with [`WriteLoad::stop`]; dropping it also
/// stops it (and waits for its thread).
#[derive(Debug)]
pub struct WriteLoad {
    stop: Arc<AtomicBool>,
    progress: Arc<AtomicU64>,
    handle: Option<JoinHandle<(WriteLoadStats, Option<anyhow::Error>)>>,
}

impl WriteLoad {
    /// Connects (errors surface here) and starts the load thread.
    pub fn start(server: &TestServer, options: WriteLoadOptions) -> Result<Self> {
        if options.tables.is_empty() && options.ddl_db.is_none() {
            return Err(anyhow!(
                "WriteLoadOptions has no tables and no ddl_db: nothing to do"
            ));
        }
        let mut conn = server.conn().context("write load")?;
        let timeout = options.lock_wait_timeout_secs;
        conn.query_drop(format!(
            "SET SESSION lock_wait_timeout = {timeout}, innodb_lock_wait_timeout = {timeout}"
        ))
        .context("write load: setting lock wait timeouts")?;
        let stop = Arc::new(AtomicBool::new(false));
        let progress = Arc::new(AtomicU64::new(0));
        let mut worker = Worker {
            conn,
            rng: Rng(options.seed | 1),
            stats: WriteLoadStats::default(),
            max_ids: Vec::new(),
            ddl_counter: 0,
            progress: Arc::clone(&progress),
            options,
        };
        let stop_flag = Arc::clone(&stop);
        let handle = std::thread::Builder::new()
            .name("testkit-write-load".into())
            .spawn(move || {
                let started = Instant::now();
                let result = worker.run(&stop_flag, started);
                worker.stats.elapsed = started.elapsed();
                (worker.stats, result.err())
            })
            .context("cannot spawn the write load thread")?;
        Ok(Self {
            stop,
            progress,
            handle: Some(handle),
        })
    }

    /// Progress so far: rows affected, counting at least 1 per successful statement
    /// (BEGIN, DDL). Lets a test wait until the load is really writing before it starts a
    /// backup, without sleeping for a guessed time.
    pub fn ops_so_far(&self) -> u64 {
        self.progress.load(Ordering::Relaxed)
    }

    /// Whether the load thread is still running (it ends on its own at `max_duration` or
    /// on an unexpected error).
    pub fn is_running(&self) -> bool {
        self.handle.as_ref().is_some_and(|h| !h.is_finished())
    }

    /// Stops the load and returns its counts; an error if it ended on an unexpected SQL
    /// error (anything but lock timeouts and deadlocks).
    pub fn stop(mut self) -> Result<WriteLoadStats> {
        let (stats, err) = self.join()?;
        match err {
            None => Ok(stats),
            Some(err) => Err(err.context(format!("write load failed after {stats:?}"))),
        }
    }

    /// Stops the load and returns its counts even if it ended on an error, e.g. because the
    /// test killed the server under it. The error, if any, is returned alongside.
    pub fn stop_ignoring_errors(mut self) -> (WriteLoadStats, Option<anyhow::Error>) {
        match self.join() {
            Ok(done) => done,
            Err(err) => (WriteLoadStats::default(), Some(err)),
        }
    }

    fn join(&mut self) -> Result<(WriteLoadStats, Option<anyhow::Error>)> {
        self.stop.store(true, Ordering::Relaxed);
        let handle = self
            .handle
            .take()
            .context("write load was already stopped")?;
        handle
            .join()
            .map_err(|_| anyhow!("write load thread panicked"))
    }
}

impl Drop for WriteLoad {
    fn drop(&mut self) {
        if self.handle.is_some() {
            let _ = self.join();
        }
    }
}

/// xorshift64*: deterministic, dependency-free, good enough to pick rows and operations.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            self.next() % n
        }
    }
}

struct Worker {
    conn: mysql::Conn,
    rng: Rng,
    stats: WriteLoadStats,
    /// Highest id per table, so updates and deletes hit existing rows most of the time.
    max_ids: Vec<u64>,
    ddl_counter: u64,
    progress: Arc<AtomicU64>,
    options: WriteLoadOptions,
}

enum Outcome {
    Done(u64),
    LockError,
}

impl Worker {
    fn run(&mut self, stop: &AtomicBool, started: Instant) -> Result<()> {
        for table in &self.options.tables {
            let max: Option<u64> = self
                .conn
                .query_first(format!("SELECT MAX(id) FROM {}", quote_table(table)))
                .with_context(|| format!("write load: reading MAX(id) of {table}"))?
                .flatten();
            self.max_ids.push(max.unwrap_or(0));
        }
        let mut iteration: u64 = 0;
        while !stop.load(Ordering::Relaxed) && started.elapsed() < self.options.max_duration {
            iteration += 1;
            if self.options.ddl_db.is_some() && iteration % 40 == 0 {
                self.ddl_step()?;
            }
            if !self.options.tables.is_empty() {
                if self.rng.below(10) == 0 {
                    self.transaction()?;
                } else {
                    let table_idx = self.rng.below(self.options.tables.len() as u64) as usize;
                    self.dml(table_idx)?;
                }
            }
            if !self.options.pause.is_zero() {
                std::thread::sleep(self.options.pause);
            }
        }
        Ok(())
    }

    /// Runs one statement; lock timeouts and deadlocks are counted and skipped.
    fn statement(&mut self, sql: &str) -> Result<Outcome> {
        match self.conn.query_drop(sql) {
            Ok(()) => {
                let affected = self.conn.affected_rows();
                self.progress.fetch_add(affected.max(1), Ordering::Relaxed);
                Ok(Outcome::Done(affected))
            }
            Err(mysql::Error::MySqlError(e)) if RETRYABLE_ERRORS.contains(&e.code) => {
                self.stats.lock_errors += 1;
                Ok(Outcome::LockError)
            }
            Err(e) => Err(anyhow::Error::new(e).context(format!("write load statement: {sql}"))),
        }
    }

    fn dml(&mut self, table_idx: usize) -> Result<()> {
        let table = quote_table(&self.options.tables[table_idx]);
        let max_id = self.max_ids[table_idx].max(1);
        let roll = self.rng.below(100);
        if roll < 45 {
            let k = self.rng.below(10007);
            let n_txt = self.rng.below(60);
            // One row in four carries a BLOB big enough to go off-page on small pages.
            let blob = if self.rng.below(4) == 0 {
                format!("REPEAT(UNHEX(MD5({k})), {})", 1 + self.rng.below(1200))
            } else {
                "NULL".to_string()
            };
            let sql = format!(
                "INSERT INTO {table} (k, c, d, f, txt, b) VALUES ({k}, CONCAT('load-', {k}, '-', \
                 UUID()), NOW(), RAND(), REPEAT('t', {n_txt}), {blob})"
            );
            if let Outcome::Done(n) = self.statement(&sql)? {
                self.stats.rows_inserted += n;
                self.max_ids[table_idx] = self.max_ids[table_idx].max(self.conn.last_insert_id());
            }
        } else if roll < 80 {
            let from = 1 + self.rng.below(max_id);
            let to = from + self.rng.below(5);
            let sql = format!(
                "UPDATE {table} SET k = k + 1, c = CONCAT('upd-', id, '-', UUID()), \
                 txt = IF(txt IS NULL, 'was null', CONCAT(LEFT(txt, 200), 'u')) \
                 WHERE id BETWEEN {from} AND {to}"
            );
            if let Outcome::Done(n) = self.statement(&sql)? {
                self.stats.rows_updated += n;
            }
        } else {
            let id = 1 + self.rng.below(max_id);
            if let Outcome::Done(n) =
                self.statement(&format!("DELETE FROM {table} WHERE id = {id}"))?
            {
                self.stats.rows_deleted += n;
            }
        }
        Ok(())
    }

    /// A few statements in one transaction; one in ten is rolled back on purpose so the
    /// redo log also carries undo of rolled-back work.
    fn transaction(&mut self) -> Result<()> {
        if let Outcome::LockError = self.statement("BEGIN")? {
            return Ok(());
        }
        for _ in 0..(2 + self.rng.below(4)) {
            let table_idx = self.rng.below(self.options.tables.len() as u64) as usize;
            self.dml(table_idx)?;
        }
        if self.rng.below(10) == 0 {
            self.statement("ROLLBACK")?;
            self.stats.rollbacks += 1;
        } else if let Outcome::Done(_) = self.statement("COMMIT")? {
            self.stats.commits += 1;
        } else {
            // A failed COMMIT must not leave the transaction open for the next statements.
            self.statement("ROLLBACK")?;
        }
        Ok(())
    }

    /// CREATE a table, fill it, RENAME it, and DROP the one renamed two steps ago, so DDL
    /// of every kind hits the redo log while keeping at most two such tables alive.
    fn ddl_step(&mut self) -> Result<()> {
        let Some(db) = self.options.ddl_db.clone() else {
            return Ok(());
        };
        let db = quote_ident(&db);
        let n = self.ddl_counter;
        self.ddl_counter += 1;
        let row_format = ["DYNAMIC", "COMPACT", "REDUNDANT"][(n % 3) as usize];
        let new = format!("{db}.{}", quote_ident(&format!("hb_ddl_{n}")));
        let renamed = format!("{db}.{}", quote_ident(&format!("hb_ddl_{n}_r")));
        let sql = format!(
            "CREATE TABLE {new} (id INT PRIMARY KEY, v VARCHAR(200), b BLOB) \
             ENGINE=InnoDB ROW_FORMAT={row_format}"
        );
        if let Outcome::Done(_) = self.statement(&sql)? {
            self.stats.tables_created += 1;
            self.statement(&format!(
                "INSERT INTO {new} SELECT seq, MD5(seq), REPEAT('b', seq * 10) FROM {db}.seq_1_to_50"
            ))?;
            if let Outcome::Done(_) = self.statement(&format!("RENAME TABLE {new} TO {renamed}"))? {
                self.stats.tables_renamed += 1;
            }
        }
        if n >= 2 {
            let old = format!("{db}.{}", quote_ident(&format!("hb_ddl_{}_r", n - 2)));
            if let Outcome::Done(_) = self.statement(&format!("DROP TABLE IF EXISTS {old}"))? {
                self.stats.tables_dropped += 1;
            }
        }
        Ok(())
    }
}
