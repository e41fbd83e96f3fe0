//! `innodb_corrupted_pages` (written by `--backup --log-innodb-page-corruption`): pages
//! the backup could not copy intact. As in mariadb-backup's prepare, a listed page that
//! is free after the log is applied is zeroed and dropped from the list; in addition a
//! page the log rebuilt (INIT_PAGE) is dropped. Any other listed page cannot be
//! repaired: the prepare fails naming it, and the file keeps only such pages (it is
//! removed when none is left).
//!
//! The decision is made before the first write when the allocation bitmap that decides
//! it is not changed by the log, else after the pages are applied.

use std::collections::{BTreeSet, HashMap};
use std::path::Path;

use backup_meta::{names::INNODB_CORRUPTED_PAGES, CorruptedPages, FileMode, MetaFile};
use innodb::page::fsp::FspHeader;
use innodb::page::xdes::{descriptor_page, page_is_free};
use innodb::redo::record::PageId;
use innodb::{PageNo, SpaceId};

use crate::error::PrepareError;
use crate::log::Scan;
use crate::progress::{Event, Progress};
use crate::spaces::Space;

/// What became of a listed page.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Fate {
    /// Not decided yet (its allocation bitmap is changed by the log).
    Later,
    /// Rebuilt by the log: nothing to do.
    Rebuilt,
    /// Free: zeroed.
    Free,
    /// Allocated and not rebuilt: the backup is damaged.
    Unfixable,
    /// Its tablespace was dropped during the backup.
    Dropped,
}

/// The listed pages of a backup and what is known about them.
pub(crate) struct Listed {
    file: CorruptedPages,
    fates: HashMap<(u32, u32), Fate>,
}

/// Reads `innodb_corrupted_pages` of `dir`, if any.
pub(crate) fn read(dir: &Path) -> Result<Option<Listed>, PrepareError> {
    let path = dir.join(INNODB_CORRUPTED_PAGES);
    if !path.exists() {
        return Ok(None);
    }
    let file = CorruptedPages::read(&path)?;
    Ok(Some(Listed {
        file,
        fates: HashMap::new(),
    }))
}

impl Listed {
    /// Decides every listed page whose fate does not depend on the log's writes;
    /// fails if one cannot be repaired. `applied` says whether a space's records are
    /// applied. Nothing is written.
    pub(crate) fn check_before(
        &mut self,
        scan: &Scan,
        spaces: &HashMap<SpaceId, Space>,
        applied: impl Fn(SpaceId) -> bool,
    ) -> Result<(), PrepareError> {
        let changed = |id: PageId| scan.page_list.binary_search(&id).is_ok();
        for (&space, s) in &self.file.spaces {
            let sid = SpaceId(space);
            let deleted = scan.spaces.get(&sid).is_some_and(|n| n.deleted);
            let sp = spaces.get(&sid);
            for &page in &s.pages {
                let pid = PageId {
                    space: sid,
                    page_no: PageNo(page),
                };
                let fate = match sp {
                    _ if deleted => Fate::Dropped,
                    None => {
                        return Err(PrepareError::CorruptedPagesListed {
                            what: format!(
                                "tablespace {space} ({}) is listed but no file of the backup has \
                                 that id",
                                s.name
                            ),
                        })
                    }
                    Some(_) if applied(sid) && scan.discard.contains_key(&pid) => Fate::Later,
                    Some(sp) => {
                        let xdes = PageId {
                            space: sid,
                            page_no: PageNo(descriptor_page(sp.validator.flags(), page)),
                        };
                        let page0 = PageId {
                            space: sid,
                            page_no: PageNo(0),
                        };
                        if applied(sid) && (changed(xdes) || changed(page0)) {
                            Fate::Later
                        } else if is_free(sp, page)? {
                            Fate::Free
                        } else {
                            Fate::Unfixable
                        }
                    }
                };
                self.fates.insert((space, page), fate);
            }
        }
        self.fail_if_unfixable()
    }

    /// After the pages are applied: decides the rest, zeroes the free pages, rewrites
    /// or removes the file; fails if a listed page cannot be repaired.
    pub(crate) fn finish(
        mut self,
        dir: &Path,
        scan: &Scan,
        spaces: &HashMap<SpaceId, Space>,
        progress: &dyn Progress,
    ) -> Result<(), PrepareError> {
        let keys: Vec<(u32, u32)> = self.fates.keys().copied().collect();
        let mut zeroed: BTreeSet<SpaceId> = BTreeSet::new();
        for key in keys {
            let (space, page) = key;
            let sid = SpaceId(space);
            let Some(sp) = spaces.get(&sid) else { continue };
            if self.fates.get(&key) == Some(&Fate::Later) {
                let pid = PageId {
                    space: sid,
                    page_no: PageNo(page),
                };
                let fate = if is_free(sp, page)? {
                    Fate::Free
                } else if scan.discard.contains_key(&pid) {
                    Fate::Rebuilt
                } else {
                    Fate::Unfixable
                };
                self.fates.insert(key, fate);
            }
            if self.fates.get(&key) == Some(&Fate::Free) {
                let zero = vec![0u8; sp.phys];
                sp.file
                    .write_all_at(&zero, u64::from(page) * sp.phys as u64)
                    .map_err(|e| PrepareError::io("zero a free corrupted page of", &sp.path, e))?;
                zeroed.insert(sid);
            }
        }
        // The zeroed pages durable before the list that names them changes: only the files
        // written here (the caller's one syncfs covers the rest; an fsync of every
        // tablespace cost seconds with thousands of them).
        for sid in &zeroed {
            let sp = &spaces[sid];
            sp.file
                .sync_data()
                .map_err(|e| PrepareError::io("fsync", &sp.path, e))?;
        }
        let mut left = CorruptedPages::default();
        for (&space, s) in &self.file.spaces {
            for &page in &s.pages {
                let fate = self.fates.get(&(space, page)).copied();
                if fate == Some(Fate::Unfixable) {
                    left.add_page(&s.name, space, page);
                    continue;
                }
                progress.event(Event::CorruptedPageFixed {
                    name: &s.name,
                    space: SpaceId(space),
                    page_no: PageNo(page),
                    zeroed: fate == Some(Fate::Free),
                });
            }
        }
        let path = dir.join(INNODB_CORRUPTED_PAGES);
        if left.is_empty() {
            std::fs::remove_file(&path).map_err(|e| PrepareError::io("remove", &path, e))?;
        } else {
            left.write(&path, FileMode::Fopen)?;
        }
        self.fail_if_unfixable()
    }

    fn fail_if_unfixable(&self) -> Result<(), PrepareError> {
        let mut bad: Vec<String> = vec![];
        for (&space, s) in &self.file.spaces {
            for &page in &s.pages {
                if self.fates.get(&(space, page)) == Some(&Fate::Unfixable) {
                    bad.push(format!("page {page} of tablespace {space} ({})", s.name));
                }
            }
        }
        if bad.is_empty() {
            return Ok(());
        }
        Err(PrepareError::CorruptedPagesListed {
            what: format!(
                "corrupted {} can not be fixed: in use and not rebuilt by the log",
                bad.join(", ")
            ),
        })
    }
}

/// Whether `page` of `sp` is free by the FSP header and extent descriptor on disk.
fn is_free(sp: &Space, page: u32) -> Result<bool, PrepareError> {
    let flags = *sp.validator.flags();
    let read = |page_no: u32| -> Result<Vec<u8>, PrepareError> {
        let mut buf = vec![0u8; sp.phys];
        crate::read_page(&sp.file, &mut buf, u64::from(page_no) * sp.phys as u64)
            .map_err(|e| PrepareError::io("read", &sp.path, e))?;
        Ok(buf)
    };
    let bad = |what: String| PrepareError::DataFile {
        path: sp.path.clone(),
        what,
    };
    let page0 = read(0)?;
    let header = FspHeader::parse(&page0)
        .map_err(|e| bad(format!("page 0, to check a listed corrupted page: {e}")))?;
    let dpage = descriptor_page(&flags, page);
    let xdes = if dpage == 0 { page0 } else { read(dpage)? };
    page_is_free(&flags, header.free_limit, header.size_pages, &xdes, page)
        .map_err(|e| bad(format!("extent descriptor page {dpage}: {e}")))
}
