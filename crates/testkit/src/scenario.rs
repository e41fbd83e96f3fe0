//! The standard backup scenario: a source server with binlog, tables in every row format and
//! engine, and a load (sysbench `oltp_read_write` plus DML and CREATE/RENAME/DROP TABLE)
//! running while a backup is taken.

use std::time::Duration;

use anyhow::Result;

use crate::binaries::MariaDb;
use crate::data::{create_mixed_schema, MixedSchema};
use crate::load::{WriteLoad, WriteLoadOptions, WriteLoadStats};
use crate::server::{PageSize, TestServer};
use crate::sysbench::{Sysbench, SysbenchRun};

/// A source server prepared for a backup under load.
pub struct Scenario {
    /// The server (binlog on, 32 MiB redo log unless started with another size).
    pub source: TestServer,
    /// Its mixed tables (`mix.*`).
    pub schema: MixedSchema,
    sysbench: Sysbench,
}

/// The load started by [`Scenario::load`]; stop it after the backup.
pub struct RunningLoad {
    oltp: SysbenchRun,
    load: WriteLoad,
}

impl Scenario {
    /// Starts the source at `page_size` and fills it: 300 rows in each mixed table and two
    /// sysbench tables of 2000 rows.
    pub fn start(mariadb: &MariaDb, page_size: PageSize) -> Result<Scenario> {
        Scenario::start_with_log(mariadb, page_size, 32 << 20)
    }

    /// [`Scenario::start`] with an `innodb_log_file_size` of `log_file_size` bytes (a
    /// small log wraps several times while a backup copies it).
    pub fn start_with_log(
        mariadb: &MariaDb,
        page_size: PageSize,
        log_file_size: u64,
    ) -> Result<Scenario> {
        Scenario::start_with_options(mariadb, page_size, log_file_size, &[])
    }

    /// [`Scenario::start_with_log`] with extra server option lines (`option`), e.g. a key
    /// management plugin and `innodb_encrypt_tables=ON`.
    pub fn start_with_options(
        mariadb: &MariaDb,
        page_size: PageSize,
        log_file_size: u64,
        options: &[String],
    ) -> Result<Scenario> {
        let mut builder = mariadb
            .server()
            .name("src")
            .page_size(page_size)
            .binlog(true)
            .log_file_size(log_file_size);
        for line in options {
            builder = builder.option(line);
        }
        let source = builder.start()?;
        let schema = create_mixed_schema(&source, "mix", 300)?;
        let sysbench = Sysbench::new(&source)?
            .tables(2)
            .table_size(2000)
            .threads(2)
            .time(Duration::from_secs(12));
        sysbench.prepare(&source)?;
        Ok(Scenario {
            source,
            schema,
            sysbench,
        })
    }

    /// Starts sysbench and the DML/DDL load, and lets them run for 2 s before returning.
    pub fn load(&self) -> Result<RunningLoad> {
        let oltp = self.sysbench.spawn()?;
        let load = WriteLoad::start(
            &self.source,
            WriteLoadOptions::for_schema(&self.schema).with_ddl(&self.schema),
        )?;
        std::thread::sleep(Duration::from_secs(2));
        Ok(RunningLoad { oltp, load })
    }
}

impl RunningLoad {
    /// Stops the DML/DDL load and waits for sysbench; returns what the load did.
    pub fn stop(self) -> Result<WriteLoadStats> {
        let stats = self.load.stop()?;
        self.oltp.wait()?;
        Ok(stats)
    }
}
