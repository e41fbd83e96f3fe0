//! The `.meta` file next to each `.delta` of an incremental backup (page-format.md §13.3).
//!
//! Written as `"page_size = %zu\nzip_size = %zu \nspace_id = %u\n"`; note the space before the
//! second newline. The file for `db/t.ibd.delta` is `db/t.ibd.meta` ([`delta_meta_path`]).
//!
//! mariadb-backup reads it with `fscanf("%50s = %50s\n")` in a loop: whitespace-separated
//! `key = value` triples in any order, unknown keys ignored, `page_size` mandatory,
//! `space_id` optional (absent only in files from XtraBackup 2.0.1 and older), `zip_size`
//! defaulting to 0. We additionally reject non-numeric values and a page size that is not a
//! power of two between 1 KiB and 64 KiB, which `--prepare` rejects anyway.

use std::path::{Path, PathBuf};

use crate::error::{excerpt, ParseError};
use crate::scan::parse_u64;
use crate::MetaFile;

/// Smallest physical page size of a delta (ROW_FORMAT=COMPRESSED, KEY_BLOCK_SIZE=1).
const MIN_PAGE_SIZE: u64 = 1024;
/// Largest page size (innodb_page_size=64k).
const MAX_PAGE_SIZE: u64 = 65536;

/// The content of a delta's `.meta` file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeltaMeta {
    /// Physical size of the pages in the delta (the zip size for ROW_FORMAT=COMPRESSED).
    pub page_size: u32,
    /// 0, or the ROW_FORMAT=COMPRESSED page size.
    pub zip_size: u32,
    /// Tablespace id; `None` only for files from XtraBackup 2.0.1 or older (then the line is
    /// not written back either).
    pub space_id: Option<u32>,
}

/// The `.meta` path for a data file or its delta: `db/t.ibd` and `db/t.ibd.delta` both give
/// `db/t.ibd.meta` (never `t.ibd.delta.meta`).
pub fn delta_meta_path(path: &Path) -> PathBuf {
    let base = if path.extension().is_some_and(|e| e == "delta") {
        path.with_extension("")
    } else {
        path.to_path_buf()
    };
    let mut name = base.into_os_string();
    name.push(".meta");
    PathBuf::from(name)
}

impl MetaFile for DeltaMeta {
    const WHAT: &'static str = "delta .meta";

    fn parse(text: &str) -> Result<Self, ParseError> {
        if text.is_empty() {
            return Err(ParseError::Empty);
        }
        let mut page_size: Option<(usize, u64)> = None;
        let mut zip_size: Option<(usize, u64)> = None;
        let mut space_id: Option<(usize, u64)> = None;

        // Words with their line numbers, so errors can point at the right line.
        let words: Vec<(usize, &str)> = text
            .split('\n')
            .enumerate()
            .flat_map(|(i, l)| l.split_ascii_whitespace().map(move |w| (i + 1, w)))
            .collect();
        let mut chunks = words.chunks(3);
        for chunk in &mut chunks {
            let [(line, key), (_, eq), (_, value)] = chunk else {
                let (line, word) = chunk[0];
                return Err(ParseError::Expected {
                    line,
                    expected: "`<key> = <value>`".into(),
                    found: excerpt(word),
                });
            };
            if *eq != "=" {
                return Err(ParseError::Expected {
                    line: *line,
                    expected: format!("`=` after `{key}`"),
                    found: excerpt(eq),
                });
            }
            let slot = match *key {
                "page_size" => &mut page_size,
                "zip_size" => &mut zip_size,
                "space_id" => &mut space_id,
                // mariadb-backup ignores keys it does not know.
                _ => continue,
            };
            let number = parse_u64(value).map_err(|reason| ParseError::InvalidValue {
                line: *line,
                key: (*key).into(),
                value: (*value).into(),
                reason: reason.into(),
            })?;
            *slot = Some((*line, number));
        }

        let (line, page) = page_size.ok_or_else(|| ParseError::MissingKey {
            key: "page_size".into(),
        })?;
        if !(MIN_PAGE_SIZE..=MAX_PAGE_SIZE).contains(&page) || !page.is_power_of_two() {
            return Err(ParseError::InvalidValue {
                line,
                key: "page_size".into(),
                value: page.to_string(),
                reason: "must be a power of two from 1024 to 65536".into(),
            });
        }
        let small = |key: &str, entry: Option<(usize, u64)>| -> Result<Option<u32>, ParseError> {
            entry
                .map(|(line, v)| {
                    u32::try_from(v).map_err(|_| ParseError::InvalidValue {
                        line,
                        key: key.into(),
                        value: v.to_string(),
                        reason: "number too large".into(),
                    })
                })
                .transpose()
        };
        Ok(DeltaMeta {
            // Checked above to be at most 65536.
            page_size: page as u32,
            zip_size: small("zip_size", zip_size)?.unwrap_or(0),
            space_id: small("space_id", space_id)?,
        })
    }

    fn render(&self) -> String {
        let mut out = format!(
            "page_size = {}\nzip_size = {} \n",
            self.page_size, self.zip_size
        );
        if let Some(space_id) = self.space_id {
            out.push_str(&format!("space_id = {space_id}\n"));
        }
        out
    }
}
