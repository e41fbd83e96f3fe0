//! Pure InnoDB on-disk formats of MariaDB 10.11, as a physical backup tool needs them.
//!
//! This crate knows every byte layout the backup touches and nothing else:
//!
//! * [`types`]: the [`Lsn`], [`SpaceId`] and [`PageNo`] newtypes shared by every crate.
//! * [`page`]: the FIL header and trailer, page types, the FSP header of page 0 and
//!   `FSP_SPACE_FLAGS` in both layouts, every page checksum algorithm, and the page
//!   validation that decides whether a copied page is intact or torn
//!   (`shared/docs/page-format.md`).
//! * [`redo`]: the MariaDB 10.8+ `ib_logfile0`: header, checkpoints, LSN to offset
//!   mapping, mini-transaction framing and typed records (`shared/docs/redo-format.md`).
//!
//! Invariants: no I/O, no threads, no global state, and no panic on any input bytes:
//! malformed input is an error value that names what was wrong and where.
//! All integers inside InnoDB structures are big-endian; every offset is a named
//! constant that keeps the upstream C name where one exists.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod apply;
pub mod page;
pub mod redo;
pub mod types;

pub use types::{Lsn, PageNo, SpaceId};
