//! Throwaway MariaDB servers, workloads and oracles for hotbackup's tests (dev only).
//!
//! House rule 7 says tests use the real thing; this crate makes the real thing cheap:
//!
//! * [`require_mariadb`] finds `mariadbd`, `mariadb-install-db` and friends, and encodes
//!   rule 8: missing MariaDB fails the test under `CI=true` and skips it loudly otherwise.
//! * [`TestServer`] (built with [`ServerBuilder`]) runs a tiny `mariadbd` in a fresh
//!   temporary directory with its own `my.cnf` (never `/etc/mysql`), waits until it answers,
//!   and stops it by PID on [`TestServer::stop`] or on drop, also when the test panics.
//!   Children are also tied to the test process with `PR_SET_PDEATHSIG`, so a test runner
//!   killed by Ctrl-C or SIGKILL does not leave a server behind.
//! * SQL helpers on the server ([`TestServer::exec`], [`TestServer::query_one`],
//!   [`TestServer::checksum_table`], [`TestServer::check_table_all`], ...) through the
//!   pure-Rust [`mysql`] crate, re-exported so callers need no extra dependency.
//! * Data: [`create_mixed_schema`] makes tables in every row format and engine a backup must
//!   handle; [`WriteLoad`] writes to them from a background thread while a backup runs;
//!   [`Sysbench`] drives `sysbench oltp_read_write` for a bounded time.
//! * [`TestDir`]: a temporary directory that is removed on drop unless
//!   `HOTBACKUP_KEEP_TEST_DIRS=1`; [`file_snapshot`] and [`differing_files`] tell which
//!   files an operation changed in a directory.
//! * [`TlsFiles`]: a CA, server and client certificates made with `openssl`, and
//!   [`ServerBuilder::tls`] to start a server with them.
//! * [`repo_dir`] finds the repository's `testdata/` and `tools/`;
//!   [`extract_redo_sample`] unpacks a sample backup of `testdata/redo`.
//!
//! Typical use:
//!
//! ```no_run
//! let Some(mariadb) = testkit::require_mariadb() else { return };
//! let server = mariadb.server().page_size(testkit::PageSize::K4).start().unwrap();
//! let schema = testkit::create_mixed_schema(&server, "shop", 100).unwrap();
//! let n: u64 = server.query_one("SELECT COUNT(*) FROM shop.t_dynamic").unwrap();
//! assert_eq!(n, 100);
//! # let _ = schema;
//! ```
#![deny(missing_docs)]

mod binaries;
mod data;
mod dir;
mod fixture;
mod load;
mod oracle;
mod process;
mod scenario;
mod server;
mod sql;
mod sysbench;
mod tls;

pub use binaries::{
    ci_requires_mariadb, find_mariadb, find_sysbench, require_mariadb, require_sysbench, MariaDb,
};
pub use data::{create_mixed_schema, MixedSchema};
pub use dir::{
    assert_same_files, differing_files, file_names, file_snapshot, keep_test_dirs, TestDir,
    KEEP_TEST_DIRS_ENV, TEST_TMPDIR_ENV,
};
pub use fixture::{extract_redo_sample, repo_dir};
pub use load::{WriteLoad, WriteLoadOptions, WriteLoadStats};
pub use oracle::{
    compare_prepared, compare_prepared_where, copy_dir, data_files, read_binlog_info,
    replay_binlog, replay_binlog_of, restore_and_verify, restore_and_verify_with, BinlogPos,
    RestoreReport, Tool,
};
pub use scenario::{RunningLoad, Scenario};
pub use server::{PageSize, ServerBuilder, TestServer};
pub use sql::{quote_ident, quote_table, CheckFailure, TableInfo};
pub use sysbench::{Sysbench, SysbenchReport, SysbenchRun};
pub use tls::TlsFiles;

/// The MySQL protocol crate the helpers use, re-exported so tests can hold a
/// [`mysql::Conn`] or use [`mysql::prelude::Queryable`] without their own dependency.
pub use mysql;
