//! page_compressed tablespaces in prepare: the plaintext of a stored page before its
//! records are applied, and the image written after (`innodb::page::page_compressed`).
//!
//! The server writes compress-then-encrypt and reads decrypt-then-decompress, so an
//! encryption step sits outside these two: decrypt before [`plaintext`], encrypt after
//! [`stored_image`]. The compression level is `innodb_compression_level` of
//! `backup-my.cnf` (the table's own PAGE_COMPRESSION_LEVEL is not in the file), as in
//! mariadb-backup's prepare. Pages the log frees (last FREE_PAGE after any
//! INIT_PAGE) are zeroed, as the server's recovery punches them out of a
//! page_compressed file (`fil_space_t::flush_freed`, `recv_spaces` freed ranges).

use std::collections::HashMap;
use std::path::Path;

use backup_meta::{BackupMyCnf, MetaFile};
use innodb::page::page_compressed::DEFAULT_COMPRESSION_LEVEL;
use innodb::page::{DecompressError, PageCompression};
use innodb::{PageNo, SpaceId};

use crate::error::PrepareError;
use crate::hash::FxHashSet;
use crate::journal::{Journal, PageWrite};
use crate::spaces::Space;
use innodb::redo::record::PageId;

/// Sets how each page_compressed space of `spaces` is read and written, with the
/// compression level of `dir`'s `backup-my.cnf` (6, the server's default, without one).
pub(crate) fn configure(dir: &Path, spaces: &mut HashMap<SpaceId, Space>) {
    let level = BackupMyCnf::read(&dir.join("backup-my.cnf"))
        .map_or(DEFAULT_COMPRESSION_LEVEL, |cnf| cnf.compression_level);
    for sp in spaces.values_mut() {
        sp.page_compression = PageCompression::for_space(sp.validator.flags(), level);
    }
}

/// What is wrong with a stored page of `sp` that passed the validator, if it is
/// compressed and does not decompress (a corrupt page); an algorithm without a decoder
/// here is refused. An encrypted page is decrypted (a copy) first, as the apply reads it;
/// that of a space whose keys are not known yet (deferred) is left to the apply.
pub(crate) fn corruption(
    sp: &Space,
    page_no: PageNo,
    stored: &[u8],
) -> Result<Option<String>, PrepareError> {
    let Some(codec) = &sp.page_compression else {
        return Ok(None);
    };
    let decrypted;
    let stored = match sp.crypt.get() {
        Some(c) => {
            let mut page = stored.to_vec();
            c.decrypt(&sp.path, page_no, &mut page)?;
            decrypted = page;
            &decrypted[..]
        }
        None if sp.crypt_pending.is_some() => return Ok(None),
        None => stored,
    };
    match codec.decompress(stored) {
        Ok(_) => Ok(None),
        Err(DecompressError::NoDecoder(algorithm)) => Err(no_decoder(sp, page_no, algorithm)),
        Err(e) => Ok(Some(format!("page_compressed: {e}"))),
    }
}

/// The plaintext page of a stored (validated) page of `sp`: decompressed, or as it is.
pub(crate) fn plaintext(
    sp: &Space,
    page_no: PageNo,
    stored: Vec<u8>,
) -> Result<Vec<u8>, PrepareError> {
    let Some(codec) = &sp.page_compression else {
        return Ok(stored);
    };
    match codec.decompress(&stored) {
        Ok(None) => Ok(stored),
        Ok(Some(page)) => Ok(page),
        Err(DecompressError::NoDecoder(algorithm)) => Err(no_decoder(sp, page_no, algorithm)),
        Err(e) => Err(PrepareError::CorruptPage {
            path: sp.path.clone(),
            space: sp.validator.space_id(),
            page_no,
            what: format!("page_compressed: {e}"),
            more: 0,
        }),
    }
}

/// The image to write for the applied and stamped plaintext `page` of `sp`.
pub(crate) fn stored_image(sp: &Space, page_no: PageNo, page: Vec<u8>) -> Vec<u8> {
    sp.page_compression
        .as_ref()
        .and_then(|codec| codec.compress(&page, page_no))
        .unwrap_or(page)
}

fn no_decoder(
    sp: &Space,
    page_no: PageNo,
    algorithm: innodb::page::CompressionAlgorithm,
) -> PrepareError {
    PrepareError::Unsupported {
        what: format!(
            "{}: the log changes page {page_no}, stored page_compressed with {algorithm}, \
             which hotbackup cannot decompress: prepare this backup with \
             mariadb-backup",
            sp.path.display()
        ),
    }
}

/// Writes zeros (through the journal, `chunk_pages` at a time) over the pages of
/// page_compressed spaces that the log leaves freed (`freed`), within their files;
/// `applied` says whose records were applied. Returns the pages written.
pub(crate) fn zero_freed_pages<'a>(
    spaces: &'a HashMap<SpaceId, Space>,
    freed: &FxHashSet<PageId>,
    applied: impl Fn(SpaceId) -> bool,
    journal: &mut Journal<'a>,
    chunk_pages: usize,
) -> Result<u64, PrepareError> {
    let mut lens: HashMap<SpaceId, u64> = HashMap::new();
    let mut pages: Vec<(&Space, PageId)> = vec![];
    for id in freed {
        let Some(sp) = spaces.get(&id.space) else {
            continue;
        };
        if sp.page_compression.is_none() || !applied(id.space) {
            continue;
        }
        let len = match lens.get(&id.space) {
            Some(&len) => len,
            None => {
                let len = sp
                    .file
                    .len()
                    .map_err(|e| PrepareError::io("stat", &sp.path, e))?;
                *lens.entry(id.space).or_insert(len)
            }
        };
        // A hole punched past the end does not extend the file.
        if (u64::from(id.page_no.0) + 1) * sp.phys as u64 <= len {
            pages.push((sp, *id));
        }
    }
    pages.sort_by_key(|(_, id)| *id);
    for chunk in pages.chunks(chunk_pages.max(1)) {
        let writes: Vec<PageWrite<'a>> = chunk
            .iter()
            .map(|(sp, id)| PageWrite {
                sp,
                space: id.space,
                page_no: id.page_no.0,
                bytes: vec![0; sp.phys],
            })
            .collect();
        journal.write(&writes)?;
    }
    Ok(pages.len() as u64)
}
