//! Applies a backup's redo log to its data files, the core of `hotbackup --prepare`.
//! Not implemented yet (issue: `--prepare`).
#![deny(missing_docs)]
