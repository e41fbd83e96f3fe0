//! Follows a live server's circular `ib_logfile0` from its checkpoint and appends validated
//! mini-transactions to the backup's linear `ib_logfile0`. Not implemented yet (issue: redo).
#![deny(missing_docs)]
