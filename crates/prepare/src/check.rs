//! The backup pages that the log reads, checked with the page-copier's validator
//! before anything is written (mariadb-backup: "Unable to apply log to corrupted page").
//!
//! A page is read from the backup unless its records start with INIT_PAGE or FREE_PAGE
//! (mariadb's `will_not_read`: such a page is rebuilt from the log alone, so its bytes
//! in the backup may be anything). Pages the log does not touch are not read and not
//! written: prepare is not a verifier, and it never stamps a checksum on a page it did
//! not read and validate.

use std::collections::HashMap;

use innodb::page::PageVerdict;
use innodb::redo::record::PageId;
use innodb::{PageNo, SpaceId};
use rayon::prelude::*;

use crate::error::PrepareError;
use crate::log::Scan;
use crate::spaces::Space;

/// Checks one page image read from `sp` at `page_no`: all-zero, doublewrite and
/// unverifiable pages pass, as in the copier.
pub(crate) fn page(sp: &Space, page_no: PageNo, bytes: &[u8]) -> Result<(), PrepareError> {
    match sp.validator.validate(bytes, page_no) {
        PageVerdict::Corrupt(c) => Err(corrupt(sp, page_no, c.to_string(), 0)),
        _ => Ok(()),
    }
}

fn corrupt(sp: &Space, page_no: PageNo, what: String, more: usize) -> PrepareError {
    PrepareError::CorruptPage {
        path: sp.path.clone(),
        space: sp.validator.space_id(),
        page_no,
        what,
        more,
    }
}

/// Whether the prepare reads page `id` from the backup before applying its records.
/// `applied` says whether the space's records are applied at all. Spaces truncated by
/// TRIM_PAGES or imported again after a FILE_DELETE are left to the check at apply time
/// (which records survive is only known per batch), as are pages past the end of their
/// file (they read as zero).
pub(crate) fn read_by_log(scan: &Scan, applied: impl Fn(SpaceId) -> bool, id: PageId) -> bool {
    applied(id.space)
        && !scan.discard.contains_key(&id)
        && scan
            .spaces
            .get(&id.space)
            .is_none_or(|n| n.trim.is_none() && n.deleted_at.is_none())
}

/// What [`pages_read_by_log`] found.
pub(crate) struct Checked {
    /// Pages read and validated.
    pub pages: u64,
    /// The corrupt ones, in page order, with what is wrong (only with `keep_corrupt`).
    pub corrupt: Vec<(PageId, String)>,
}

/// Reads and validates, in parallel, every page of `pages` that `read` selects; fails
/// naming the first corrupt page (in page order) and how many more there are, or with
/// `keep_corrupt` (innodb_force_recovery) returns them.
pub(crate) fn pages_read_by_log(
    spaces: &HashMap<SpaceId, Space>,
    pages: &[PageId],
    read: impl Fn(PageId) -> bool + Sync,
    keep_corrupt: bool,
) -> Result<Checked, PrepareError> {
    // The length of the spaces read only: with thousands of tablespaces and a bounded
    // handle cache, a stat of every space reopened each one (20,000: 2 s).
    let mut lens: HashMap<SpaceId, u64> = HashMap::new();
    for id in pages.iter().filter(|id| read(**id)) {
        if lens.contains_key(&id.space) {
            continue;
        }
        if let Some(sp) = spaces.get(&id.space) {
            let len = sp
                .file
                .len()
                .map_err(|e| PrepareError::io("stat", &sp.path, e))?;
            lens.insert(id.space, len);
        }
    }
    let found: Vec<Result<(PageId, String), PrepareError>> = pages
        .par_iter()
        .filter(|id| read(**id))
        .map_init(Vec::new, |buf, id| {
            let Some(sp) = spaces.get(&id.space) else {
                return Ok(None);
            };
            let at = u64::from(id.page_no.0) * sp.phys as u64;
            if at + sp.phys as u64 > lens.get(&id.space).copied().unwrap_or(0) {
                return Ok(None); // past the end: zeros
            }
            buf.resize(sp.phys, 0);
            crate::read_page(&sp.file, buf, at)
                .map_err(|e| PrepareError::io("read", &sp.path, e))?;
            Ok(match sp.validator.validate(buf, id.page_no) {
                PageVerdict::Corrupt(c) => Some((*id, c.to_string())),
                // A compressed page must also decompress.
                _ => {
                    crate::page_compressed::corruption(sp, id.page_no, buf)?.map(|what| (*id, what))
                }
            })
        })
        .filter_map(Result::transpose)
        .collect();
    let mut bad: Vec<(PageId, String)> = Vec::with_capacity(found.len());
    for f in found {
        bad.push(f?);
    }
    bad.sort_by_key(|(id, _)| *id);
    if !keep_corrupt {
        if let Some((id, what)) = bad.first() {
            if let Some(sp) = spaces.get(&id.space) {
                return Err(corrupt(sp, id.page_no, what.clone(), bad.len() - 1));
            }
        }
    }
    Ok(Checked {
        pages: pages.iter().filter(|id| read(**id)).count() as u64,
        corrupt: bad,
    })
}
