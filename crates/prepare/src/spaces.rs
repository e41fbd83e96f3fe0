//! The tablespace files of a backup: ibdata1, undo tablespaces and `*.ibd`, mapped by
//! the space id on their page 0 (or, for an all-zero "deferred" page 0, by the name
//! in the log's FILE_ records; redo-format.md §5.6).

use std::collections::HashMap;
use std::fs::{self, File};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use backup_meta::{Ranges, ReadAhead};
use innodb::apply::PageFormat;
use innodb::page::fil::FIL_PAGE_SPACE_ID;
use innodb::page::fsp::{FSP_HEADER_OFFSET, FSP_SPACE_FLAGS, FSP_SPACE_ID};
use innodb::page::{is_all_zero, read_crypt_data, PageValidator, SpaceFlags};
use innodb::SpaceId;

use crate::crypt::{Keys, SpaceCrypt};
use crate::error::PrepareError;
use crate::handles::Handles;
use crate::log::SpaceNote;
use crate::progress::{Event, Progress};
use crate::sysfiles::{system_file_names, SpaceFile};

/// Bytes of page 0 needed for the id and the flags (FSP_SPACE_FLAGS ends at 58).
const PAGE0_HEAD: usize = FSP_HEADER_OFFSET + FSP_SPACE_FLAGS + 4;
/// Smallest page 0 looked at for "all zero" (UNIV_ZIP_SIZE_MIN).
const PAGE0_ZERO_CHECK: usize = 1024;
/// Files whose page 0 is read ahead of discovery (bounds the page cache it fills).
const PAGE0_READ_AHEAD: usize = 1024;

/// One open tablespace file.
#[derive(Debug)]
pub(crate) struct Space {
    pub(crate) path: PathBuf,
    /// Its file; the system tablespace's several files as one.
    pub(crate) file: SpaceFile,
    /// Physical page size (zip size for ROW_FORMAT=COMPRESSED).
    pub(crate) phys: usize,
    pub(crate) compressed: bool,
    pub(crate) format: PageFormat,
    /// page_compressed: how its pages are read and written (`page_compressed`).
    pub(crate) page_compression: Option<innodb::page::PageCompression>,
    /// The page-copier's validator: every page read before applying log is checked.
    pub(crate) validator: PageValidator,
    /// An encrypted tablespace's keys: pages decrypted after the check, encrypted again
    /// after the apply (`crypt.rs`).
    pub(crate) crypt: OnceLock<SpaceCrypt>,
    /// An encrypted tablespace without its key: why (refused if the log changes it).
    pub(crate) key_error: Option<String>,
    /// A deferred tablespace (page 0 zero in the backup): its crypt data comes from the
    /// log's page 0, looked at before each batch until found (`crypt::resolve_deferred`).
    pub(crate) crypt_pending: Option<SpaceFlags>,
    /// Set once `crypt_pending` has been resolved.
    pub(crate) crypt_resolved: OnceLock<()>,
}

/// Big-endian `u32` at `at`; 0 where the bytes end (callers read whole page heads).
pub(crate) fn be32(b: &[u8], at: usize) -> u32 {
    b.get(at..at + 4)
        .map_or(0, |w| u32::from_be_bytes([w[0], w[1], w[2], w[3]]))
}

/// The logical page size from the system tablespace's page 0.
pub(crate) fn server_page_size(dir: &Path) -> Result<usize, PrepareError> {
    let path = dir.join(&system_file_names(dir)[0]);
    let file = File::open(&path).map_err(|e| PrepareError::io("open", &path, e))?;
    let mut head = [0u8; PAGE0_HEAD];
    file.read_exact_at(&mut head, 0)
        .map_err(|e| PrepareError::io("read page 0 of", &path, e))?;
    let flags =
        SpaceFlags::parse(be32(&head, FSP_HEADER_OFFSET + FSP_SPACE_FLAGS)).map_err(|e| {
            PrepareError::DataFile {
                path: path.clone(),
                what: format!("invalid FSP_SPACE_FLAGS on page 0: {e}"),
            }
        })?;
    Ok(flags.logical_page_size())
}

/// Whether a file name (after the DDL plan) is that of a tablespace other than ibdata1:
/// `*.ibd`, and `undoNNN` at the top level.
fn is_tablespace(path: &Path, top_level: bool) -> bool {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default();
    path.extension().is_some_and(|x| x == "ibd")
        || (top_level
            && name.len() == 7
            && name.starts_with("undo")
            && name[4..].bytes().all(|b| b.is_ascii_digit()))
}

/// The tablespace files of the backup after its DDL plan, as (path now, path after the
/// plan): every file of the directory and its database subdirectories that `after`
/// gives a tablespace name (`*.ibd`, top-level `undoNNN`; a `.new` becomes `.ibd`, a
/// file the plan removes has none); sorted by the name after, for reproducible messages.
pub(crate) fn candidate_files(
    dir: &Path,
    after: impl Fn(&Path) -> Option<PathBuf>,
) -> Result<Vec<(PathBuf, PathBuf)>, PrepareError> {
    let mut out = vec![];
    let read = |d: &Path| fs::read_dir(d).map_err(|e| PrepareError::io("list", d, e));
    let mut keep = |now: PathBuf| {
        if let Some(then) = after(&now) {
            let top_level = then.parent() == Some(dir);
            if is_tablespace(&then, top_level) {
                out.push((now, then));
            }
        }
    };
    for entry in read(dir)? {
        let entry = entry.map_err(|e| PrepareError::io("list", dir, e))?;
        let path = entry.path();
        let ft = entry
            .file_type()
            .map_err(|e| PrepareError::io("stat", &path, e))?;
        if ft.is_dir() {
            for sub in read(&path)? {
                let sub = sub.map_err(|e| PrepareError::io("list", &path, e))?;
                if sub.file_type().is_ok_and(|t| t.is_file()) {
                    keep(sub.path());
                }
            }
        } else if ft.is_file() {
            keep(path);
        }
    }
    out.sort_by(|a, b| a.1.cmp(&b.1));
    Ok(out)
}

/// The path in the backup that a FILE_ name refers to: `./db/t.ibd` → `db/t.ibd`; a
/// remote (`DATA DIRECTORY`) tablespace's absolute path `/dir/db/t.ibd` → `db/t.ibd`,
/// since the backup keeps its copy next to the `.isl`, as mariadb-backup does.
fn normalize(name: &str) -> &str {
    if name.starts_with('/') {
        let mut slashes = name.rmatch_indices('/').map(|(i, _)| i);
        return match (slashes.next(), slashes.next()) {
            (Some(_), Some(db)) => &name[db + 1..],
            _ => name,
        };
    }
    name.strip_prefix("./").unwrap_or(name)
}

/// The space each FILE_ name of the log is (backup paths). A name the log gives two
/// spaces (a table dropped and created again under its name) is the one not deleted.
fn spaces_by_name(notes: &HashMap<SpaceId, SpaceNote>) -> HashMap<&str, SpaceId> {
    let mut by_name: HashMap<&str, SpaceId> = HashMap::new();
    for deleted in [true, false] {
        for (id, n) in notes.iter().filter(|(_, n)| n.deleted == deleted) {
            if let Some(name) = n.name.as_deref() {
                by_name.insert(normalize(name), *id);
            }
        }
    }
    by_name
}

/// Opens ibdata1 and the tablespace `files` of [`candidate_files`] where they are now
/// (opening changes nothing); a deferred one (all-zero page 0) is identified by the name
/// it has after the DDL plan. `notes` are the FILE_ records and page-0 writes of the
/// log; `page_size` is innodb_page_size. `Space::path` is the path now. The files are
/// registered in `handles`, which keeps only a bounded number of them open.
pub(crate) fn open_spaces(
    dir: &Path,
    page_size: usize,
    notes: &HashMap<SpaceId, SpaceNote>,
    files: &[(PathBuf, PathBuf)],
    handles: &Arc<Handles>,
    keys: Option<(&Keys, bool)>,
    progress: &dyn Progress,
) -> Result<HashMap<SpaceId, Space>, PrepareError> {
    let by_name = spaces_by_name(notes);
    let mut spaces: HashMap<SpaceId, Space> = HashMap::new();
    let system = system_file_names(dir);
    let system0 = dir.join(&system[0]);
    let all = std::iter::once((&system0, &system0)).chain(files.iter().map(|(a, b)| (a, b)));
    // Page 0 of every file read ahead: on a cold cache one random read per file otherwise
    // makes discovery of thousands of tablespaces wait on the disk (20,000: 10 s → 1 s).
    let ahead = ReadAhead::start(
        std::iter::once(system0.clone())
            .chain(files.iter().map(|(now, _)| now.clone()))
            .map(|p| (p, vec![(0, page_size as u64)]))
            .collect(),
        PAGE0_READ_AHEAD,
    );
    for (index, (path, then)) in all.enumerate() {
        if let Some(a) = &ahead {
            a.reached(index);
        }
        let path = path.clone();
        let data_err = |what: String| PrepareError::DataFile {
            path: path.clone(),
            what,
        };
        let file_id = handles
            .register_open(&path)
            .map_err(|e| PrepareError::io("open for writing", &path, e))?;
        let file = SpaceFile::single(Arc::clone(handles), file_id);
        let len = file.len().map_err(|e| PrepareError::io("stat", &path, e))?;
        let mut head = vec![0u8; PAGE0_ZERO_CHECK.max(PAGE0_HEAD).min(len as usize)];
        file.read_exact_at(&mut head, 0)
            .map_err(|e| PrepareError::io("read page 0 of", &path, e))?;
        let is_system = path == system0;
        let (id, raw_flags, deferred) = if head.len() >= PAGE0_HEAD && !is_all_zero(&head) {
            let id = be32(&head, FIL_PAGE_SPACE_ID);
            let fsp_id = be32(&head, FSP_HEADER_OFFSET + FSP_SPACE_ID);
            if id != fsp_id {
                return Err(data_err(format!(
                    "page 0 has FIL_PAGE_SPACE_ID {id} but FSP_SPACE_ID {fsp_id}; the file is damaged"
                )));
            }
            (
                SpaceId(id),
                be32(&head, FSP_HEADER_OFFSET + FSP_SPACE_FLAGS),
                false,
            )
        } else {
            // Deferred: created during the backup, copied before page 0 was flushed.
            let rel = then
                .strip_prefix(dir)
                .unwrap_or(then)
                .to_string_lossy()
                .into_owned();
            let Some(&id) = by_name.get(rel.as_str()) else {
                if is_system {
                    return Err(data_err("page 0 of the system tablespace is empty".into()));
                }
                progress.event(Event::Unidentified { path: &path });
                continue;
            };
            let Some(flags) = notes.get(&id).and_then(|n| n.flags) else {
                return Err(data_err(format!(
                    "page 0 is all zero and the log does not give the flags of tablespace {id}"
                )));
            };
            progress.event(Event::Deferred {
                path: &path,
                space: id,
            });
            (id, flags, true)
        };
        if is_system && id != SpaceId::SYSTEM {
            return Err(data_err(format!(
                "the system tablespace has space id {id}, not 0"
            )));
        }
        let flags = SpaceFlags::parse(raw_flags)
            .map_err(|e| data_err(format!("invalid FSP_SPACE_FLAGS {raw_flags:#x}: {e}")))?;
        if flags.logical_page_size() != page_size {
            return Err(data_err(format!(
                "page size {} differs from innodb_page_size {page_size}",
                flags.logical_page_size()
            )));
        }
        let phys = flags.physical_page_size();
        if len % phys as u64 != 0 {
            return Err(data_err(format!(
                "file size {len} is not a multiple of the page size {phys}: the file is truncated; \
                 copy it again from the backup source"
            )));
        }
        let (mut crypt, mut key_error, mut encrypted) = (None, None, false);
        if !deferred {
            let mut page0 = vec![0u8; phys.min(len as usize)];
            file.read_exact_at(&mut page0, 0)
                .map_err(|e| PrepareError::io("read page 0 of", &path, e))?;
            if let Ok(Some(c)) = read_crypt_data(&page0, &flags) {
                if c.is_encrypted() {
                    encrypted = true;
                    key_error = crate::crypt::key_error(&c, keys.map(|(k, _)| k));
                    if let (None, Some((k, encrypt_tables))) = (&key_error, keys) {
                        match SpaceCrypt::new(k, &c, &flags, id.0, encrypt_tables) {
                            Ok(sc) => crypt = Some(sc),
                            Err(e) => key_error = Some(e),
                        }
                    }
                }
            }
        }
        let mut file = file;
        if is_system {
            for name in &system[1..] {
                let more = dir.join(name);
                file.append(more.clone())
                    .map_err(|e| PrepareError::io("open for writing", &more, e))?;
            }
        }
        let space = Space {
            path: path.clone(),
            file,
            phys,
            compressed: flags.zip_size().is_some(),
            format: PageFormat::for_flags(&flags),
            page_compression: None, // set by page_compressed::configure
            validator: PageValidator::new(flags, id).with_crypt_data(encrypted),
            crypt: crypt.map(OnceLock::from).unwrap_or_default(),
            key_error,
            crypt_pending: deferred.then_some(flags),
            crypt_resolved: OnceLock::new(),
        };
        if let Some(other) = spaces.get(&id) {
            return Err(PrepareError::DuplicateSpace {
                space: id,
                first: other.path.clone(),
                second: path,
            });
        }
        spaces.insert(id, space);
    }
    Ok(spaces)
}

/// Gap (in pages) under which two ranges of changed pages are prefetched as one.
const PREFETCH_GAP: u32 = 32;

/// Asks the kernel to read the changed pages of every applied space ahead, from a
/// background thread (`POSIX_FADV_WILLNEED`, coalesced ranges): the apply then finds
/// them in the page cache instead of waiting on one random read per page. The thread
/// holds one file open at a time, outside the cache (counted in its reserve).
pub(crate) fn prefetch(
    spaces: &HashMap<SpaceId, Space>,
    pages: &[innodb::redo::record::PageId],
) -> Option<ReadAhead> {
    let mut work: Vec<(PathBuf, Ranges)> = Vec::new();
    let mut i = 0;
    while i < pages.len() {
        let space = pages[i].space;
        let mut j = i;
        while j < pages.len() && pages[j].space == space {
            j += 1;
        }
        if let Some(sp) = spaces.get(&space) {
            let file = sp.file.first_path();
            let phys = sp.phys as u64;
            let mut ranges = Vec::new();
            let mut k = i;
            while k < j {
                let first = pages[k].page_no.0;
                let mut last = first;
                k += 1;
                while k < j && pages[k].page_no.0 - last <= PREFETCH_GAP {
                    last = pages[k].page_no.0;
                    k += 1;
                }
                ranges.push((
                    u64::from(first) * phys,
                    (u64::from(last - first) + 1) * phys,
                ));
            }
            work.push((file, ranges));
        }
        i = j;
    }
    ReadAhead::start(work, usize::MAX)
}

#[cfg(test)]
mod normalize_tests {
    use super::*;

    #[test]
    fn a_name_dropped_and_created_again_is_the_new_space() {
        let note = |name: &str, deleted: bool| SpaceNote {
            name: Some(name.into()),
            deleted,
            ..Default::default()
        };
        // Every insertion order of the map: the live space wins.
        for ids in [[6u32, 11], [11, 6]] {
            let mut notes = HashMap::new();
            for id in ids {
                notes.insert(SpaceId(id), note("./test/t2.ibd", id == 6));
            }
            notes.insert(SpaceId(7), note("./test/other.ibd", false));
            let by_name = spaces_by_name(&notes);
            assert_eq!(by_name.get("test/t2.ibd"), Some(&SpaceId(11)));
            assert_eq!(by_name.get("test/other.ibd"), Some(&SpaceId(7)));
        }
    }

    #[test]
    fn file_names_to_backup_paths() {
        for (name, want) in [
            ("./db/t.ibd", "db/t.ibd"),
            ("db/t.ibd", "db/t.ibd"),
            ("/var/lib/remote/db/t#P#p2.ibd", "db/t#P#p2.ibd"),
            ("/t.ibd", "/t.ibd"),
            ("undo001", "undo001"),
        ] {
            assert_eq!(super::normalize(name), want, "{name}");
        }
    }
}
