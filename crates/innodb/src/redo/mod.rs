//! The MariaDB 10.8+ redo log `ib_logfile0` as 10.11 writes it
//! (`shared/docs/redo-format.md`).
//!
//! * [`header`]: the header block, both checkpoint blocks ([`LogFile::parse`] picks the
//!   latest valid one), and the headers mariadb-backup writes ([`backup_log_prefix`],
//!   [`prepared_log`]).
//! * [`geometry`]: LSN ↔ file offset with wrap-around and the sequence bit.
//! * [`varint`]: the "mlog" compressed integers.
//! * [`mtr`]: mini-transaction framing: end marker, nonce, CRC-32C ([`MtrFormat`],
//!   [`Frame`], [`Mtr`], [`SliceDecoder`] for one contiguous slice).
//! * [`record`]: typed records with page ids and page offsets resolved ([`Record`]).
//! * [`decoder`]: the streaming [`Decoder`] for input in pieces and across the wrap.
//!
//! Every step of decoding ends in exactly one [`Step`]: an mtr, *need more bytes*,
//! *end of log* ([`EndOfLog`], with the reason of §2.5), or an error (a corrupt record
//! in a CRC-valid mtr, with its LSN). A tailer uses the frame-only path
//! ([`Input::next_frame`], [`Frame::copy_for_backup`]); a prepare decodes records
//! ([`Input::next_mtr`], [`Mtr::records`]).
//!
//! Nothing here does I/O: callers read the file and pass bytes.

pub mod decoder;
pub mod geometry;
pub mod header;
pub mod mtr;
pub mod record;
pub mod varint;

use crate::types::Lsn;

pub use decoder::{Decoder, Input};
pub use geometry::LogGeometry;
pub use header::{
    backup_log_prefix, file_checkpoint_mtr, latest_checkpoint, prepared_log, Checkpoint,
    CheckpointProblem, EncryptionInfo, LogFile, LogHeader, Unsupported, BACKUP_CREATOR,
    START_OFFSET,
};
pub use mtr::{EndOfLog, Frame, Mtr, MtrFormat, MtrRecords, SliceDecoder, Step, MTR_SIZE_MAX};
pub use record::{Extended, InsertDynamic, InsertRedundant, PageId, Record, RecordKind, Records};

/// What can be wrong with redo log bytes.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RedoError {
    /// The file (or the bytes given) is shorter than the format needs.
    #[error("ib_logfile0 is truncated: {len} bytes where at least {needed} are needed")]
    Truncated {
        /// Bytes present.
        len: u64,
        /// Bytes needed.
        needed: u64,
    },
    /// The header block is all zero: not a redo log, or a file never written.
    #[error("the ib_logfile0 header block is all zero")]
    ZeroedHeader,
    /// The header's CRC-32C does not match.
    #[error(
        "the ib_logfile0 header checksum does not match (stored {stored:#010x}, computed {computed:#010x})"
    )]
    HeaderChecksum {
        /// Stored at offset 508.
        stored: u32,
        /// Computed over bytes 0..508.
        computed: u32,
    },
    /// The header has a 10.8+ format id but invalid contents.
    #[error("invalid ib_logfile0 header: {what}")]
    BadHeader {
        /// What is wrong.
        what: &'static str,
    },
    /// Neither checkpoint block is valid.
    #[error("no valid checkpoint in ib_logfile0: block at 4096: {first}; block at 8192: {second}")]
    NoValidCheckpoint {
        /// Problem of the block at 4096.
        first: CheckpointProblem,
        /// Problem of the block at 8192.
        second: CheckpointProblem,
    },
    /// A log this crate cannot handle: another server's format, or encrypted
    /// payloads.
    #[error("unsupported redo log: {0}")]
    Unsupported(Unsupported),
    /// An LSN below the file's first_lsn has no place in the file.
    #[error("LSN {lsn} lies before the first LSN {first_lsn} of ib_logfile0")]
    LsnBeforeFile {
        /// The LSN asked for.
        lsn: Lsn,
        /// The header's first_lsn.
        first_lsn: Lsn,
    },
    /// A record of a CRC-valid mini-transaction is malformed.
    #[error("corrupt redo log record at LSN {at}: {what}")]
    Corrupt {
        /// What is wrong.
        what: &'static str,
        /// LSN of the record (its first byte).
        at: Lsn,
    },
    /// Input given to the decoder starts after the byte it expects.
    #[error(
        "redo input starting at LSN {given} leaves a gap: the decoder needs LSN {expected} next"
    )]
    InputGap {
        /// Where the piece starts.
        given: Lsn,
        /// Where the decoder needs input.
        expected: Lsn,
    },
}
