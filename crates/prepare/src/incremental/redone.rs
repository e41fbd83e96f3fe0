//! The pages of the deltas, which the log apply writes without its journal: any re-run of
//! an interrupted apply writes every delta page again, whole, from the unchanged
//! incremental before it applies the log, so a torn write of one by the log apply is
//! overwritten anyway (the journal exists for torn pages, see `crate::journal`).
//!
//! Page 0 of every tablespace keeps the journal: the re-run's layout reads the base's
//! page 0s before it writes the deltas.

use std::path::{Path, PathBuf};

use innodb::SpaceId;

use super::inc_dir::IncDir;
use super::layout::Layout;
use crate::hash::FxHashMap;

/// The delta pages of each (target file, tablespace).
#[derive(Debug, Default)]
pub(super) struct DeltaPages {
    /// Page numbers in increasing order (a delta's order), page 0 left out.
    files: FxHashMap<(PathBuf, SpaceId), Vec<u32>>,
}

impl DeltaPages {
    /// From the deltas of `inc` as `layout` places them and the page numbers the check
    /// read from each (in the deltas' order). A delta whose `.meta` has no space id is
    /// left out (its pages keep the journal).
    pub(super) fn new(inc: &IncDir, layout: &Layout, numbers: Vec<Vec<u32>>) -> DeltaPages {
        let deltas = inc.deltas.iter().zip(&layout.targets).zip(numbers);
        DeltaPages::from_deltas(deltas.map(|((d, t), n)| (t.path.clone(), d.meta.space_id, n)))
    }

    /// From (target file, space id of the `.meta`, page numbers) of each delta.
    fn from_deltas(deltas: impl Iterator<Item = (PathBuf, Option<u32>, Vec<u32>)>) -> DeltaPages {
        let mut files: FxHashMap<(PathBuf, SpaceId), Vec<u32>> = FxHashMap::default();
        for (path, id, mut n) in deltas {
            let Some(id) = id else { continue };
            n.retain(|p| *p != 0);
            let pages = files.entry((path, SpaceId(id))).or_default();
            pages.extend(n);
            pages.sort_unstable();
            pages.dedup();
        }
        DeltaPages { files }
    }

    /// Whether page `page_no` of `space` in the file `path` is a delta page (not page 0).
    pub(super) fn contains(&self, path: &Path, space: SpaceId, page_no: u32) -> bool {
        page_no != 0
            && self
                .files
                .get(&(path.to_path_buf(), space))
                .is_some_and(|p| p.binary_search(&page_no).is_ok())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_delta_pages_of_that_file_and_space_but_page_0() {
        let d = DeltaPages::from_deltas(
            [
                (PathBuf::from("/b/db/t.ibd"), Some(5), vec![0, 3, 7]),
                // No space id in its .meta: its pages keep the journal.
                (PathBuf::from("/b/db/v.ibd"), None, vec![1, 2]),
            ]
            .into_iter(),
        );
        for (path, space, page, want) in [
            ("/b/db/t.ibd", 5, 3, true),
            ("/b/db/t.ibd", 5, 7, true),
            ("/b/db/t.ibd", 5, 0, false),
            ("/b/db/t.ibd", 5, 4, false),
            ("/b/db/t.ibd", 6, 3, false),
            ("/b/db/u.ibd", 5, 3, false),
            ("/b/db/v.ibd", 5, 1, false),
        ] {
            assert_eq!(
                d.contains(Path::new(path), SpaceId(space), page),
                want,
                "{path} {space} {page}"
            );
        }
    }
}
