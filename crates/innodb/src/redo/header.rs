//! The first 12 KiB of `ib_logfile0`: the header block and the two checkpoint blocks
//! (redo-format.md §2.1, §2.2), and the header mariadb-backup writes (§9.1, §9.4).
//!
//! ```text
//! offset 0      4096         8192         12288 (START_OFFSET)        file_size
//!        |header|checkpoint 1|checkpoint 2|circular record area .........|
//!
//! header block:      0 format | 4 zero | 8 first_lsn | 16 creator[32] | 48 crypt[28] | ... | 508 CRC-32C(0..508)
//! checkpoint block:  0 checkpoint_lsn | 8 end_lsn | 16..60 zero | 60 CRC-32C(0..60)
//! ```

use std::borrow::Cow;
use std::fmt;

use super::geometry::LogGeometry;
use super::mtr::MTR_TRAILER_LEN;
use super::RedoError;
use crate::types::Lsn;

/// `LOG_HEADER_FORMAT`: the 4-byte format id.
pub const LOG_HEADER_FORMAT: usize = 0;
/// `LOG_HEADER_SUBFORMAT` in older releases; 4 bytes that must be 0 since 10.8.
pub const LOG_HEADER_SUBFORMAT: usize = 4;
/// `LOG_HEADER_START_LSN`: the 8-byte `first_lsn`, the LSN at [`START_OFFSET`].
pub const LOG_HEADER_START_LSN: usize = 8;
/// `LOG_HEADER_CREATOR`: 32 bytes of ASCII, NUL padded.
pub const LOG_HEADER_CREATOR: usize = 16;
/// `LOG_HEADER_CREATOR_END`: end of the creator; the encryption info starts here.
pub const LOG_HEADER_CREATOR_END: usize = 48;
/// Length of the creator field.
pub const LOG_HEADER_CREATOR_LEN: usize = LOG_HEADER_CREATOR_END - LOG_HEADER_CREATOR;
/// Encryption info (`log_crypt_write_header`): key id 4, key version 4, message 16, nonce 4.
pub const LOG_HEADER_CRYPT: usize = LOG_HEADER_CREATOR_END;
/// Length of the encryption info.
pub const LOG_HEADER_CRYPT_LEN: usize = 28;
/// Offset of the CRC-32C over bytes `0..LOG_HEADER_CRC` of the header block.
pub const LOG_HEADER_CRC: usize = 508;
/// Bytes of the header block that are used (the rest of its 4096 bytes is zero).
pub const LOG_HEADER_USED: usize = 512;

/// `log_t::CHECKPOINT_1`: file offset of the first checkpoint block.
pub const CHECKPOINT_1: u64 = 4096;
/// `log_t::CHECKPOINT_2`: file offset of the second checkpoint block.
pub const CHECKPOINT_2: u64 = 8192;
/// `log_t::START_OFFSET`: file offset of the circular record area.
pub const START_OFFSET: u64 = 12288;
/// Stride of the header and checkpoint blocks.
pub const LOG_BLOCK_SIZE: usize = 4096;

/// Offset of checkpoint_lsn in a checkpoint block.
pub const CHECKPOINT_LSN: usize = 0;
/// Offset of end_lsn in a checkpoint block.
pub const CHECKPOINT_END_LSN: usize = 8;
/// Start of the bytes that must be zero in a checkpoint block.
pub const CHECKPOINT_RESERVED: usize = 16;
/// Offset of the CRC-32C over bytes `0..CHECKPOINT_CRC` of a checkpoint block.
pub const CHECKPOINT_CRC: usize = 60;
/// Bytes of a checkpoint block that are used.
pub const CHECKPOINT_USED: usize = 64;

/// `log_t::FORMAT_10_8` ("Phys"): the unencrypted 10.8+ format (also the 10.8–10.10
/// encrypted one, which then has nonzero encryption info).
pub const FORMAT_10_8: u32 = 0x5068_7973;
/// `log_t::FORMAT_ENC_11`: the encrypted format written by 10.11.
pub const FORMAT_ENC_11: u32 = 0xF09F_979D;
/// `log_t::FORMAT_ENCRYPTED`: bit 31 marks encryption in the older format ids.
pub const FORMAT_ENCRYPTED: u32 = 1 << 31;
/// `log_t::FORMAT_ENC_10_8`: only an in-memory id; rejected when found in a file.
pub const FORMAT_ENC_10_8: u32 = FORMAT_10_8 | FORMAT_ENCRYPTED;
/// `log_t::FORMAT_3_23`: logs before 10.2.
pub const FORMAT_3_23: u32 = 0;
/// `log_t::FORMAT_10_2` (also MySQL 5.7's `LOG_HEADER_FORMAT_5_7_9`).
pub const FORMAT_10_2: u32 = 1;
/// `log_t::FORMAT_10_3`.
pub const FORMAT_10_3: u32 = 103;
/// `log_t::FORMAT_10_4`.
pub const FORMAT_10_4: u32 = 104;
/// `log_t::FORMAT_10_5` ("PHYS"), also used by 10.6 and 10.7.
pub const FORMAT_10_5: u32 = 0x5048_5953;

/// The creator mariadb-backup 10.11.19 writes into the logs it creates.
pub const BACKUP_CREATOR: &str = "Backup 10.11.19";

/// Why a log cannot be handled.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unsupported {
    /// A format id other than the 10.8+ ones; `name` says whose it is.
    Format {
        /// The format id at offset 0.
        id: u32,
        /// Which server wrote it, as far as known.
        name: &'static str,
    },
    /// An encrypted log: record payloads cannot be decoded without the key
    /// (framing and CRCs still can be checked).
    Encrypted,
}

impl fmt::Display for Unsupported {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Unsupported::Format { id, name } => write!(
                f,
                "redo log format {id:#010x} ({name}); only MariaDB 10.8+ logs ({FORMAT_10_8:#010x}, {FORMAT_ENC_11:#010x}) are supported. Shut the server down cleanly with its own version and start it with 10.11 to upgrade the log"
            ),
            Unsupported::Encrypted => write!(
                f,
                "encrypted redo log: record payloads cannot be decoded without the key (framing and CRCs can be checked)"
            ),
        }
    }
}

/// Which server wrote a format id, for error messages.
pub fn format_name(id: u32) -> &'static str {
    match id {
        FORMAT_10_8 => "MariaDB 10.8+ FORMAT_10_8 'Phys'",
        FORMAT_ENC_11 => "MariaDB 10.11 FORMAT_ENC_11 (encrypted)",
        FORMAT_ENC_10_8 => "in-memory id of FORMAT_ENC_10_8, invalid in a file",
        FORMAT_3_23 => "FORMAT_3_23: MariaDB before 10.2 / MySQL 5.6",
        FORMAT_10_2 => "FORMAT_10_2: MariaDB 10.2 / MySQL 5.7",
        2..=6 => "MySQL 8.0",
        FORMAT_10_3 => "FORMAT_10_3: MariaDB 10.3",
        FORMAT_10_4 => "FORMAT_10_4: MariaDB 10.4",
        FORMAT_10_5 => "FORMAT_10_5 'PHYS': MariaDB 10.5 to 10.7",
        x if x == FORMAT_10_2 | FORMAT_ENCRYPTED => "FORMAT_10_2, encrypted",
        x if x == FORMAT_10_3 | FORMAT_ENCRYPTED => "FORMAT_10_3, encrypted",
        x if x == FORMAT_10_4 | FORMAT_ENCRYPTED => "FORMAT_10_4, encrypted",
        x if x == FORMAT_10_5 | FORMAT_ENCRYPTED => "FORMAT_10_5, encrypted",
        _ => "unknown",
    }
}

/// Format ids of other servers; a header with one of them is reported as
/// `Unsupported` even when its CRC does not match ours.
fn is_known_foreign_format(id: u32) -> bool {
    format_name(id) != "unknown" && id != FORMAT_10_8 && id != FORMAT_ENC_11
}

#[inline]
fn be_u32(bytes: &[u8], at: usize) -> u32 {
    let mut b = [0u8; 4];
    if let Some(s) = bytes.get(at..at + 4) {
        b.copy_from_slice(s);
    }
    u32::from_be_bytes(b)
}

#[inline]
fn be_u64(bytes: &[u8], at: usize) -> u64 {
    let mut b = [0u8; 8];
    if let Some(s) = bytes.get(at..at + 8) {
        b.copy_from_slice(s);
    }
    u64::from_be_bytes(b)
}

/// The encryption info at [`LOG_HEADER_CRYPT`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EncryptionInfo {
    /// Key id (always 1).
    pub key_id: u32,
    /// Key version.
    pub key_version: u32,
    /// Random message that is encrypted with the key to get the log key.
    pub message: [u8; 16],
    /// Nonce.
    pub nonce: [u8; 4],
}

impl EncryptionInfo {
    fn parse(raw: &[u8; LOG_HEADER_CRYPT_LEN]) -> Option<EncryptionInfo> {
        if raw.iter().all(|&b| b == 0) {
            return None;
        }
        let mut message = [0u8; 16];
        message.copy_from_slice(&raw[8..24]);
        let mut nonce = [0u8; 4];
        nonce.copy_from_slice(&raw[24..28]);
        Some(EncryptionInfo {
            key_id: be_u32(raw, 0),
            key_version: be_u32(raw, 4),
            message,
            nonce,
        })
    }

    fn encode(&self) -> [u8; LOG_HEADER_CRYPT_LEN] {
        let mut raw = [0u8; LOG_HEADER_CRYPT_LEN];
        raw[0..4].copy_from_slice(&self.key_id.to_be_bytes());
        raw[4..8].copy_from_slice(&self.key_version.to_be_bytes());
        raw[8..24].copy_from_slice(&self.message);
        raw[24..28].copy_from_slice(&self.nonce);
        raw
    }
}

/// The header block at offset 0.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LogHeader {
    /// [`FORMAT_10_8`] or [`FORMAT_ENC_11`].
    pub format_id: u32,
    /// The LSN at file offset [`START_OFFSET`]; at least 12288.
    pub first_lsn: Lsn,
    /// The creator bytes, NUL padded.
    pub creator: [u8; LOG_HEADER_CREATOR_LEN],
    /// Present when the 28 bytes at [`LOG_HEADER_CRYPT`] are not all zero.
    pub encryption: Option<EncryptionInfo>,
}

impl LogHeader {
    /// Parses and validates the header block (at least its first 512 bytes).
    ///
    /// Errors: [`RedoError::Truncated`], [`RedoError::ZeroedHeader`],
    /// [`RedoError::HeaderChecksum`], [`RedoError::Unsupported`] naming the format,
    /// [`RedoError::BadHeader`].
    pub fn parse(block: &[u8]) -> Result<LogHeader, RedoError> {
        let block = block.get(..LOG_HEADER_USED).ok_or(RedoError::Truncated {
            len: block.len() as u64,
            needed: LOG_HEADER_USED as u64,
        })?;
        if block.iter().all(|&b| b == 0) {
            return Err(RedoError::ZeroedHeader);
        }
        let format_id = be_u32(block, LOG_HEADER_FORMAT);
        let stored = be_u32(block, LOG_HEADER_CRC);
        let computed = crc32c::crc32c(&block[..LOG_HEADER_CRC]);
        if stored != computed {
            // An old server's header is still worth naming, even though a format
            // change may have moved or dropped its checksum.
            if is_known_foreign_format(format_id) {
                return Err(unsupported_format(format_id));
            }
            return Err(RedoError::HeaderChecksum { stored, computed });
        }
        if format_id != FORMAT_10_8 && format_id != FORMAT_ENC_11 {
            return Err(unsupported_format(format_id));
        }
        if be_u32(block, LOG_HEADER_SUBFORMAT) != 0 {
            return Err(RedoError::BadHeader {
                what: "bytes 4..8 of the header are not zero",
            });
        }
        let first_lsn = Lsn(be_u64(block, LOG_HEADER_START_LSN));
        if first_lsn.0 < START_OFFSET {
            return Err(RedoError::BadHeader {
                what: "first_lsn is below 12288",
            });
        }
        let mut creator = [0u8; LOG_HEADER_CREATOR_LEN];
        creator.copy_from_slice(&block[LOG_HEADER_CREATOR..LOG_HEADER_CREATOR_END]);
        let mut crypt = [0u8; LOG_HEADER_CRYPT_LEN];
        crypt.copy_from_slice(&block[LOG_HEADER_CRYPT..LOG_HEADER_CRYPT + LOG_HEADER_CRYPT_LEN]);
        Ok(LogHeader {
            format_id,
            first_lsn,
            creator,
            encryption: EncryptionInfo::parse(&crypt),
        })
    }

    /// A header with the given creator (truncated to 32 bytes).
    pub fn new(
        format_id: u32,
        first_lsn: Lsn,
        creator: &str,
        encryption: Option<EncryptionInfo>,
    ) -> LogHeader {
        let mut c = [0u8; LOG_HEADER_CREATOR_LEN];
        let n = creator.len().min(LOG_HEADER_CREATOR_LEN);
        c[..n].copy_from_slice(&creator.as_bytes()[..n]);
        LogHeader {
            format_id,
            first_lsn,
            creator: c,
            encryption,
        }
    }

    /// The header mariadb-backup writes for a backup of a server whose log has header
    /// `server` and checkpoint LSN `checkpoint_lsn` (§9.1 step 3): same format and
    /// encryption (so copied mtrs stay readable), first_lsn = the checkpoint, creator
    /// [`BACKUP_CREATOR`].
    pub fn for_backup(server: &LogHeader, checkpoint_lsn: Lsn) -> LogHeader {
        LogHeader::new(
            server.format_id,
            checkpoint_lsn,
            BACKUP_CREATOR,
            server.encryption,
        )
    }

    /// True for [`FORMAT_ENC_11`] and for 10.8 logs with encryption info: every mtr then
    /// has an 8-byte nonce and encrypted payloads.
    pub fn is_encrypted(&self) -> bool {
        self.format_id == FORMAT_ENC_11 || self.encryption.is_some()
    }

    /// The creator up to its first NUL.
    pub fn creator_bytes(&self) -> &[u8] {
        let end = self
            .creator
            .iter()
            .position(|&b| b == 0)
            .unwrap_or(LOG_HEADER_CREATOR_LEN);
        &self.creator[..end]
    }

    /// The creator as text (lossy for non-UTF-8 bytes).
    pub fn creator(&self) -> Cow<'_, str> {
        String::from_utf8_lossy(self.creator_bytes())
    }

    /// True if mariadb-backup wrote the file (creator starts with `"Backup "`); the
    /// server then drops leftover `#sql` tables after startup.
    pub fn is_backup(&self) -> bool {
        self.creator_bytes().starts_with(b"Backup ")
    }

    /// The 512 used bytes of the header block, CRC included.
    pub fn encode(&self) -> [u8; LOG_HEADER_USED] {
        let mut b = [0u8; LOG_HEADER_USED];
        b[LOG_HEADER_FORMAT..LOG_HEADER_FORMAT + 4].copy_from_slice(&self.format_id.to_be_bytes());
        b[LOG_HEADER_START_LSN..LOG_HEADER_START_LSN + 8]
            .copy_from_slice(&self.first_lsn.0.to_be_bytes());
        b[LOG_HEADER_CREATOR..LOG_HEADER_CREATOR_END].copy_from_slice(&self.creator);
        if let Some(enc) = &self.encryption {
            b[LOG_HEADER_CRYPT..LOG_HEADER_CRYPT + LOG_HEADER_CRYPT_LEN]
                .copy_from_slice(&enc.encode());
        }
        let crc = crc32c::crc32c(&b[..LOG_HEADER_CRC]);
        b[LOG_HEADER_CRC..LOG_HEADER_CRC + 4].copy_from_slice(&crc.to_be_bytes());
        b
    }
}

fn unsupported_format(id: u32) -> RedoError {
    RedoError::Unsupported(Unsupported::Format {
        id,
        name: format_name(id),
    })
}

/// A valid checkpoint block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Checkpoint {
    /// Every change below this LSN is in the data files; parsing starts here.
    pub checkpoint_lsn: Lsn,
    /// The server's LSN when the checkpoint was written; the mtr holding
    /// `FILE_CHECKPOINT(checkpoint_lsn)` starts here.
    pub end_lsn: Lsn,
    /// [`CHECKPOINT_1`] or [`CHECKPOINT_2`].
    pub block_offset: u64,
}

/// Why a checkpoint block is not valid.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CheckpointProblem {
    /// Fewer than 64 bytes were given.
    Truncated,
    /// The CRC-32C at offset 60 does not match (an all-zero block lands here too).
    Checksum {
        /// Stored value.
        stored: u32,
        /// Value computed over bytes 0..60.
        computed: u32,
    },
    /// Bytes 16..60 are not zero.
    NonzeroReserved,
    /// checkpoint_lsn is below the header's first_lsn.
    BeforeFirstLsn {
        /// The block's checkpoint_lsn.
        checkpoint_lsn: Lsn,
    },
    /// end_lsn is below checkpoint_lsn.
    EndBeforeCheckpoint {
        /// The block's checkpoint_lsn.
        checkpoint_lsn: Lsn,
        /// The block's end_lsn.
        end_lsn: Lsn,
    },
}

impl fmt::Display for CheckpointProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CheckpointProblem::Truncated => write!(f, "block shorter than 64 bytes"),
            CheckpointProblem::Checksum { stored, computed } => write!(
                f,
                "CRC-32C mismatch (stored {stored:#010x}, computed {computed:#010x})"
            ),
            CheckpointProblem::NonzeroReserved => write!(f, "bytes 16..60 are not zero"),
            CheckpointProblem::BeforeFirstLsn { checkpoint_lsn } => {
                write!(f, "checkpoint LSN {checkpoint_lsn} is below first_lsn")
            }
            CheckpointProblem::EndBeforeCheckpoint {
                checkpoint_lsn,
                end_lsn,
            } => write!(
                f,
                "end LSN {end_lsn} is below checkpoint LSN {checkpoint_lsn}"
            ),
        }
    }
}

impl Checkpoint {
    /// Parses the checkpoint block found at `block_offset` (at least its first 64 bytes)
    /// of a file whose header says `first_lsn`.
    pub fn parse(
        block: &[u8],
        block_offset: u64,
        first_lsn: Lsn,
    ) -> Result<Checkpoint, CheckpointProblem> {
        let block = block
            .get(..CHECKPOINT_USED)
            .ok_or(CheckpointProblem::Truncated)?;
        let stored = be_u32(block, CHECKPOINT_CRC);
        let computed = crc32c::crc32c(&block[..CHECKPOINT_CRC]);
        if stored != computed {
            return Err(CheckpointProblem::Checksum { stored, computed });
        }
        if block[CHECKPOINT_RESERVED..CHECKPOINT_CRC]
            .iter()
            .any(|&b| b != 0)
        {
            return Err(CheckpointProblem::NonzeroReserved);
        }
        let checkpoint_lsn = Lsn(be_u64(block, CHECKPOINT_LSN));
        let end_lsn = Lsn(be_u64(block, CHECKPOINT_END_LSN));
        if checkpoint_lsn < first_lsn {
            return Err(CheckpointProblem::BeforeFirstLsn { checkpoint_lsn });
        }
        if end_lsn < checkpoint_lsn {
            return Err(CheckpointProblem::EndBeforeCheckpoint {
                checkpoint_lsn,
                end_lsn,
            });
        }
        Ok(Checkpoint {
            checkpoint_lsn,
            end_lsn,
            block_offset,
        })
    }

    /// The 64 used bytes of a checkpoint block, CRC included (the server and
    /// mariadb-backup write zeros after them up to the block size).
    pub fn encode(&self) -> [u8; CHECKPOINT_USED] {
        let mut b = [0u8; CHECKPOINT_USED];
        b[CHECKPOINT_LSN..CHECKPOINT_LSN + 8].copy_from_slice(&self.checkpoint_lsn.0.to_be_bytes());
        b[CHECKPOINT_END_LSN..CHECKPOINT_END_LSN + 8]
            .copy_from_slice(&self.end_lsn.0.to_be_bytes());
        let crc = crc32c::crc32c(&b[..CHECKPOINT_CRC]);
        b[CHECKPOINT_CRC..CHECKPOINT_CRC + 4].copy_from_slice(&crc.to_be_bytes());
        b
    }
}

/// Picks the valid block with the larger checkpoint_lsn; a tie goes to the block at
/// 8192, as in InnoDB. Neither valid is [`RedoError::NoValidCheckpoint`].
pub fn latest_checkpoint(
    first: Result<Checkpoint, CheckpointProblem>,
    second: Result<Checkpoint, CheckpointProblem>,
) -> Result<Checkpoint, RedoError> {
    match (first, second) {
        (Ok(a), Ok(b)) => Ok(if a.checkpoint_lsn > b.checkpoint_lsn {
            a
        } else {
            b
        }),
        (Ok(a), Err(_)) => Ok(a),
        (Err(_), Ok(b)) => Ok(b),
        (Err(first), Err(second)) => Err(RedoError::NoValidCheckpoint { first, second }),
    }
}

/// Everything the first 12 KiB of `ib_logfile0` say.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LogFile {
    /// The header block.
    pub header: LogHeader,
    /// LSN ↔ offset mapping for this file size.
    pub geometry: LogGeometry,
    /// Both checkpoint blocks as parsed.
    pub checkpoint_blocks: [Result<Checkpoint, CheckpointProblem>; 2],
    /// The checkpoint recovery would use ([`latest_checkpoint`]).
    pub checkpoint: Checkpoint,
}

impl LogFile {
    /// Parses the first [`START_OFFSET`] bytes (`prefix`, more are ignored) of an
    /// `ib_logfile0` of `file_size` bytes.
    pub fn parse(prefix: &[u8], file_size: u64) -> Result<LogFile, RedoError> {
        let header = LogHeader::parse(prefix)?;
        if (prefix.len() as u64) < START_OFFSET {
            return Err(RedoError::Truncated {
                len: prefix.len() as u64,
                needed: START_OFFSET,
            });
        }
        let geometry = LogGeometry::new(header.first_lsn, file_size)?;
        let block = |offset: u64| {
            let at = offset as usize;
            Checkpoint::parse(
                prefix.get(at..at + CHECKPOINT_USED).unwrap_or(&[]),
                offset,
                header.first_lsn,
            )
        };
        let checkpoint_blocks = [block(CHECKPOINT_1), block(CHECKPOINT_2)];
        let checkpoint = latest_checkpoint(checkpoint_blocks[0], checkpoint_blocks[1])?;
        Ok(LogFile {
            header,
            geometry,
            checkpoint_blocks,
            checkpoint,
        })
    }
}

/// The 12288-byte start of a backup's `ib_logfile0` (§9.1 step 3): `header` (use
/// [`LogHeader::for_backup`]), checkpoint block 1 = (`checkpoint_lsn`, `end_lsn`),
/// checkpoint block 2 all zero. Copied mtrs are appended after it.
pub fn backup_log_prefix(header: &LogHeader, checkpoint_lsn: Lsn, end_lsn: Lsn) -> Vec<u8> {
    let mut out = vec![0u8; START_OFFSET as usize];
    out[..LOG_HEADER_USED].copy_from_slice(&header.encode());
    let cp = Checkpoint {
        checkpoint_lsn,
        end_lsn,
        block_offset: CHECKPOINT_1,
    };
    let at = CHECKPOINT_1 as usize;
    out[at..at + CHECKPOINT_USED].copy_from_slice(&cp.encode());
    out
}

/// Length of the mtr that holds only `FILE_CHECKPOINT`: `FA 00 00 <lsn 8> <marker> <crc 4>`.
pub const SIZE_OF_FILE_CHECKPOINT: usize = 3 + 8 + MTR_TRAILER_LEN;

/// The unencrypted mtr `FILE_CHECKPOINT(checkpoint_lsn)` with end marker `sequence_bit`.
pub fn file_checkpoint_mtr(checkpoint_lsn: Lsn, sequence_bit: u8) -> [u8; SIZE_OF_FILE_CHECKPOINT] {
    let mut m = [0u8; SIZE_OF_FILE_CHECKPOINT];
    // FILE_CHECKPOINT | 10 bytes follow, space id 0, page number 0.
    m[..3].copy_from_slice(&[0xFA, 0x00, 0x00]);
    m[3..11].copy_from_slice(&checkpoint_lsn.0.to_be_bytes());
    m[11] = sequence_bit;
    let crc = crc32c::crc32c(&m[..11]);
    m[12..16].copy_from_slice(&crc.to_be_bytes());
    m
}

/// The 12,304-byte `ib_logfile0` that `--prepare` leaves (§9.4), for `lsn` = L = the
/// end LSN of the applied log − 16: header with first_lsn = L and creator
/// [`BACKUP_CREATOR`], checkpoint 1 = (L, L), checkpoint 2 zero, and one
/// `FILE_CHECKPOINT(L)` mtr, so that the log ends at L + 16.
pub fn prepared_log(lsn: Lsn) -> Result<Vec<u8>, RedoError> {
    if lsn.0 < START_OFFSET {
        return Err(RedoError::BadHeader {
            what: "first_lsn is below 12288",
        });
    }
    let header = LogHeader::new(FORMAT_10_8, lsn, BACKUP_CREATOR, None);
    let mut out = backup_log_prefix(&header, lsn, lsn);
    // The file holds exactly one pass, so the end marker is 1.
    out.extend_from_slice(&file_checkpoint_mtr(lsn, 1));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header_block(format_id: u32, first_lsn: u64) -> [u8; LOG_HEADER_USED] {
        LogHeader::new(format_id, Lsn(first_lsn), "MariaDB 10.11.19", None).encode()
    }

    #[test]
    fn header_round_trip_and_errors() {
        let good = header_block(FORMAT_10_8, 12288);
        let h = LogHeader::parse(&good).unwrap();
        assert_eq!(h.first_lsn, Lsn(12288));
        assert_eq!(h.creator(), "MariaDB 10.11.19");
        assert!(!h.is_encrypted() && !h.is_backup());

        let cases: Vec<(Vec<u8>, RedoError)> = vec![
            (
                good[..100].to_vec(),
                RedoError::Truncated {
                    len: 100,
                    needed: 512,
                },
            ),
            (vec![0u8; 4096], RedoError::ZeroedHeader),
            (
                header_block(FORMAT_10_5, 12288).to_vec(),
                unsupported_format(FORMAT_10_5),
            ),
            (header_block(4, 12288).to_vec(), unsupported_format(4)),
            (
                header_block(FORMAT_ENC_10_8, 12288).to_vec(),
                unsupported_format(FORMAT_ENC_10_8),
            ),
            (
                header_block(FORMAT_10_8, 100).to_vec(),
                RedoError::BadHeader {
                    what: "first_lsn is below 12288",
                },
            ),
        ];
        for (bytes, expected) in cases {
            assert_eq!(LogHeader::parse(&bytes), Err(expected));
        }

        let mut bad_crc = good;
        bad_crc[20] ^= 1;
        assert!(matches!(
            LogHeader::parse(&bad_crc),
            Err(RedoError::HeaderChecksum { .. })
        ));
        // A known foreign format is named even with a checksum we do not understand.
        let mut old = header_block(FORMAT_10_4, 12288);
        old[LOG_HEADER_CRC] ^= 1;
        assert_eq!(LogHeader::parse(&old), Err(unsupported_format(FORMAT_10_4)));
    }

    #[test]
    fn encryption_is_detected() {
        let enc = EncryptionInfo {
            key_id: 1,
            key_version: 3,
            message: [7; 16],
            nonce: [9; 4],
        };
        let h = LogHeader::new(FORMAT_10_8, Lsn(12288), "MariaDB 10.9.1", Some(enc));
        let parsed = LogHeader::parse(&h.encode()).unwrap();
        assert_eq!(parsed.encryption, Some(enc));
        assert!(parsed.is_encrypted());
        let h11 = LogHeader::parse(&header_block(FORMAT_ENC_11, 12288)).unwrap();
        assert!(h11.is_encrypted());
    }

    #[test]
    fn checkpoint_choice() {
        let first = Lsn(12288);
        let cp = |lsn: u64, end: u64, off: u64| {
            let block = Checkpoint {
                checkpoint_lsn: Lsn(lsn),
                end_lsn: Lsn(end),
                block_offset: off,
            }
            .encode();
            Checkpoint::parse(&block, off, first)
        };
        let a = cp(20000, 20100, CHECKPOINT_1);
        let b = cp(30000, 30000, CHECKPOINT_2);
        assert_eq!(latest_checkpoint(a, b).unwrap().block_offset, CHECKPOINT_2);
        let b_old = cp(10000 + 8000, 18000, CHECKPOINT_2);
        assert_eq!(
            latest_checkpoint(a, b_old).unwrap().block_offset,
            CHECKPOINT_1
        );
        // Tie: the block at 8192 wins.
        let tie = cp(20000, 20200, CHECKPOINT_2);
        assert_eq!(latest_checkpoint(a, tie).unwrap().end_lsn, Lsn(20200));

        assert_eq!(
            cp(12000, 12500, CHECKPOINT_1),
            Err(CheckpointProblem::BeforeFirstLsn {
                checkpoint_lsn: Lsn(12000)
            })
        );
        assert!(matches!(
            cp(20000, 19999, CHECKPOINT_1),
            Err(CheckpointProblem::EndBeforeCheckpoint { .. })
        ));
        let zero = Checkpoint::parse(&[0u8; 64], CHECKPOINT_2, first);
        assert!(matches!(zero, Err(CheckpointProblem::Checksum { .. })));
        let mut reserved = Checkpoint {
            checkpoint_lsn: Lsn(20000),
            end_lsn: Lsn(20000),
            block_offset: CHECKPOINT_1,
        }
        .encode();
        reserved[30] = 1;
        let crc = crc32c::crc32c(&reserved[..60]);
        reserved[60..64].copy_from_slice(&crc.to_be_bytes());
        assert_eq!(
            Checkpoint::parse(&reserved, CHECKPOINT_1, first),
            Err(CheckpointProblem::NonzeroReserved)
        );
        assert!(matches!(
            latest_checkpoint(zero, Err(CheckpointProblem::Truncated)),
            Err(RedoError::NoValidCheckpoint { .. })
        ));
    }

    #[test]
    fn prepared_log_example_from_the_spec() {
        // §9.4: L = 132,308,591 gives this mtr.
        let log = prepared_log(Lsn(132_308_591)).unwrap();
        assert_eq!(log.len(), 12_304);
        assert_eq!(
            &log[12288..],
            &[0xFA, 0x00, 0x00, 0, 0, 0, 0, 0x07, 0xE2, 0xDE, 0x6F, 0x01, 0x54, 0xD4, 0x1E, 0xFA]
        );
        let file = LogFile::parse(&log, log.len() as u64).unwrap();
        assert_eq!(file.checkpoint.checkpoint_lsn, Lsn(132_308_591));
        assert_eq!(file.checkpoint.block_offset, CHECKPOINT_1);
        assert!(file.header.is_backup());
        assert!(file.checkpoint_blocks[1].is_err());
        assert!(prepared_log(Lsn(5)).is_err());
    }
}
