//! DDL tracking (§9.1 step 5, §9.2): the file operations and tablespace re-creations
//! that the backup flow must know about, found in the copied mini-transactions.

use crypt::redo::LogKey;
use innodb::redo::{Extended, Frame, Record, Records};
use innodb::{Lsn, SpaceId};

/// A file-level event found in the copied log, for the backup flow's DDL tracker.
///
/// `lsn` is the end LSN of the mini-transaction that holds the record: the operation
/// is part of the log once the backup log reaches that LSN.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FileOp {
    /// FILE_CREATE: a tablespace file was created.
    Create {
        /// The tablespace.
        space: SpaceId,
        /// Its path as the server logs it (relative to the datadir, or absolute).
        path: String,
        /// End LSN of the mini-transaction.
        lsn: Lsn,
    },
    /// FILE_RENAME: a tablespace file was renamed.
    Rename {
        /// The tablespace.
        space: SpaceId,
        /// Path before.
        from: String,
        /// Path after.
        to: String,
        /// End LSN of the mini-transaction.
        lsn: Lsn,
    },
    /// FILE_DELETE: a tablespace file was deleted.
    Delete {
        /// The tablespace.
        space: SpaceId,
        /// The path.
        path: String,
        /// End LSN of the mini-transaction.
        lsn: Lsn,
    },
    /// FILE_MODIFY: the first change to a tablespace after a checkpoint (not DDL, but it
    /// names the file of a space id).
    Modify {
        /// The tablespace.
        space: SpaceId,
        /// The path.
        path: String,
        /// End LSN of the mini-transaction.
        lsn: Lsn,
    },
    /// INIT_PAGE of page 0: the tablespace was (re-)created, e.g. by TRUNCATE.
    InitPage0 {
        /// The tablespace.
        space: SpaceId,
        /// End LSN of the mini-transaction.
        lsn: Lsn,
    },
    /// EXTENDED/TRIM_PAGES: an undo tablespace was truncated.
    TrimUndo {
        /// The undo tablespace.
        space: SpaceId,
        /// End LSN of the mini-transaction.
        lsn: Lsn,
    },
}

impl FileOp {
    /// The tablespace the operation is about.
    pub fn space(&self) -> SpaceId {
        match *self {
            FileOp::Create { space, .. }
            | FileOp::Rename { space, .. }
            | FileOp::Delete { space, .. }
            | FileOp::Modify { space, .. }
            | FileOp::InitPage0 { space, .. }
            | FileOp::TrimUndo { space, .. } => space,
        }
    }

    /// End LSN of the mini-transaction that holds it.
    pub fn lsn(&self) -> Lsn {
        match *self {
            FileOp::Create { lsn, .. }
            | FileOp::Rename { lsn, .. }
            | FileOp::Delete { lsn, .. }
            | FileOp::Modify { lsn, .. }
            | FileOp::InitPage0 { lsn, .. }
            | FileOp::TrimUndo { lsn, .. } => lsn,
        }
    }
}

fn text(path: &[u8]) -> String {
    String::from_utf8_lossy(path).into_owned()
}

/// Appends the file operations of `frame` to `out`.
///
/// The records of a CRC-valid mtr normally all decode; if one does not, the scan stops
/// there and returns the parser's error text (the mtr is still copied: prepare, which
/// decodes everything, will report it with its LSN).
pub(crate) fn scan(
    frame: &Frame<'_>,
    key: Option<&LogKey>,
    out: &mut Vec<FileOp>,
) -> Result<(), String> {
    if !may_hold_file_ops(frame.body(), key.is_some()) {
        return Ok(());
    }
    let lsn = frame.end_lsn();
    // An encrypted log: the payloads are decrypted (the headers the filter read are clear).
    let plain;
    let body = match key {
        None => frame.body(),
        Some(k) => {
            plain = k
                .decrypt_body(frame.body(), frame.nonce().unwrap_or(&[]))
                .map_err(|e| e.to_string())?;
            &plain
        }
    };
    for record in Records::new(body, frame.start_lsn()) {
        let op = match record.map_err(|e| e.to_string())? {
            Record::FileCreate { space, path } => FileOp::Create {
                space,
                path: text(path),
                lsn,
            },
            Record::FileRename {
                space,
                old_path,
                new_path,
            } => FileOp::Rename {
                space,
                from: text(old_path),
                to: text(new_path),
                lsn,
            },
            Record::FileDelete { space, path } => FileOp::Delete {
                space,
                path: text(path),
                lsn,
            },
            Record::FileModify { space, path } => FileOp::Modify {
                space,
                path: text(path),
                lsn,
            },
            Record::InitPage { page } if page.page_no.0 == 0 => FileOp::InitPage0 {
                space: page.space,
                lsn,
            },
            Record::Extended {
                page,
                ext: Extended::TrimPages,
            } => FileOp::TrimUndo {
                space: page.space,
                lsn,
            },
            _ => continue,
        };
        out.push(op);
    }
    Ok(())
}

/// Record type bits (redo-format.md §3.3) the pre-filter looks for.
const TYPE_MASK: u8 = 0x70;
const SAME_PAGE: u8 = 0x80;
const INIT_PAGE: u8 = 0x10;
const EXTENDED: u8 = 0x20;

/// A cheap walk over the record headers (§3.1) that says whether the mtr may hold a
/// file record, an INIT_PAGE or an EXTENDED record that could be TRIM_PAGES. Most mtrs
/// (WRITE/MEMSET/MEMMOVE/inserts) are rejected without decoding a payload. Errs on the
/// side of `true`: anything it does not understand goes to the full decoder.
fn may_hold_file_ops(body: &[u8], encrypted: bool) -> bool {
    let mut pos = 0;
    let mut first = true;
    while let Some(&b) = body.get(pos) {
        if b <= 1 {
            return true;
        }
        // Bit 7 on the first record: a file record (FILE_CREATE ... FILE_CHECKPOINT).
        if first && b & SAME_PAGE != 0 {
            return true;
        }
        first = false;
        let ty = b & TYPE_MASK;
        if ty == INIT_PAGE {
            return true;
        }
        let mut p = pos + 1;
        let mut len = usize::from(b & 0x0F);
        if len == 0 {
            let Some((v, n)) = varint(body, p) else {
                return true;
            };
            len = (v as usize + 15).saturating_sub(n);
            p += n;
        }
        if ty == EXTENDED && encrypted {
            // The subtype is in the encrypted payload.
            return true;
        }
        if ty == EXTENDED {
            // The subtype byte follows the page id, which same-page records omit.
            let mut q = p;
            if b & SAME_PAGE == 0 {
                let Some((_, n1)) = varint(body, q) else {
                    return true;
                };
                let Some((_, n2)) = varint(body, q + n1) else {
                    return true;
                };
                q += n1 + n2;
            }
            if body.get(q) == Some(&innodb::redo::record::TRIM_PAGES) {
                return true;
            }
        }
        pos = p + len;
    }
    false
}

/// An "mlog" varint at `at` (§3.2): its value and length, `None` if it runs out.
fn varint(body: &[u8], at: usize) -> Option<(u32, usize)> {
    innodb::redo::varint::decode(body.get(at..)?).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefilter_rejects_page_records_and_accepts_file_ops() {
        // WRITE (5,3) @100 one byte; same-page MEMSET.
        assert!(!may_hold_file_ops(
            &[0x34, 0x05, 0x03, 0x64, 0x33, 0xC3, 0x02, 0x03, 0xAA],
            false
        ));
        // INIT_PAGE (5, 0).
        assert!(may_hold_file_ops(&[0x12, 0x05, 0x00], false));
        // A file record first (FILE_MODIFY type, bit 7).
        assert!(may_hold_file_ops(&[0xB3, 0x05, 0x00, 0x41], false));
        // EXTENDED (7, 0) TRIM_PAGES.
        assert!(may_hold_file_ops(&[0x23, 0x07, 0x00, 0x0A], false));
        // EXTENDED (7, 9) UNDO_INIT: no.
        assert!(!may_hold_file_ops(&[0x23, 0x07, 0x09, 0x02], false));
        // Encrypted: the subtype is ciphertext, so any EXTENDED record is decrypted.
        assert!(may_hold_file_ops(&[0x23, 0x07, 0x09, 0x02], true));
    }
}
