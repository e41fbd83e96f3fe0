//! The connection to the running MariaDB server: the only crate that speaks SQL.
//! Not implemented yet (issue: `--backup`).
#![deny(missing_docs)]
