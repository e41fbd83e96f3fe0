//! `innodb_corrupted_pages` (`--log-innodb-page-corruption`): pages that stayed corrupted
//! after all re-reads, which `--prepare` then tries to fix.
//!
//! Format (`CorruptedPages::print_to_file` / `read_from_file` in mariadb-backup): for each
//! tablespace in ascending space id order, a line `<db>/<table> <space_id>`, then a line with
//! its page numbers in ascending order separated by single spaces, e.g. `db1/t_victim 13\n3\n`.
//! No file is written when nothing is corrupted.
//!
//! The reader follows mariadb-backup's: odd lines give a name and an id (extra words ignored),
//! even lines any number of whitespace-separated page numbers; a tablespace is recorded only
//! through its pages, and the first name seen for an id wins.

use std::collections::{BTreeMap, BTreeSet};

use crate::error::{excerpt, ParseError};
use crate::MetaFile;

/// The pages of one tablespace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CorruptedSpace {
    /// Tablespace name `db/table` (no extension), as mariadb-backup derives it from the path.
    pub name: String,
    /// Corrupted page numbers.
    pub pages: BTreeSet<u32>,
}

/// The content of `innodb_corrupted_pages`, keyed by space id.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CorruptedPages {
    /// Tablespaces with at least one corrupted page.
    pub spaces: BTreeMap<u32, CorruptedSpace>,
}

impl CorruptedPages {
    /// Records one corrupted page. The first name given for a space id is kept.
    pub fn add_page(&mut self, name: &str, space_id: u32, page_no: u32) {
        self.spaces
            .entry(space_id)
            .or_insert_with(|| CorruptedSpace {
                name: name.to_string(),
                pages: BTreeSet::new(),
            })
            .pages
            .insert(page_no);
    }

    /// True if no page is recorded; mariadb-backup then writes no file.
    pub fn is_empty(&self) -> bool {
        self.spaces.is_empty()
    }
}

impl MetaFile for CorruptedPages {
    const WHAT: &'static str = "innodb_corrupted_pages";

    fn parse(text: &str) -> Result<Self, ParseError> {
        let mut result = CorruptedPages::default();
        if text.is_empty() {
            return Ok(result);
        }
        // std::getline semantics: a final newline does not start another line.
        let body = text.strip_suffix('\n').unwrap_or(text);
        let mut current: Option<(String, u32)> = None;
        for (idx, line) in body.split('\n').enumerate() {
            let line_no = idx + 1;
            let mut words = line.split_ascii_whitespace();
            if line_no % 2 == 1 {
                let name = words.next().ok_or_else(|| ParseError::Expected {
                    line: line_no,
                    expected: "`<db>/<table> <space_id>`".into(),
                    found: excerpt(line),
                })?;
                let id_text = words.next().ok_or_else(|| ParseError::Expected {
                    line: line_no,
                    expected: "a space id after the tablespace name".into(),
                    found: excerpt(line),
                })?;
                let space_id = parse_u32(id_text).map_err(|reason| ParseError::InvalidValue {
                    line: line_no,
                    key: "space_id".into(),
                    value: id_text.into(),
                    reason: reason.into(),
                })?;
                current = Some((name.to_string(), space_id));
            } else if let Some((name, space_id)) = &current {
                for word in words {
                    let page_no = parse_u32(word).map_err(|reason| ParseError::InvalidValue {
                        line: line_no,
                        key: "page number".into(),
                        value: word.into(),
                        reason: reason.into(),
                    })?;
                    result.add_page(name, *space_id, page_no);
                }
            }
        }
        Ok(result)
    }

    fn render(&self) -> String {
        let mut out = String::new();
        for (space_id, space) in &self.spaces {
            out.push_str(&format!("{} {}\n", space.name, space_id));
            let pages: Vec<String> = space.pages.iter().map(u32::to_string).collect();
            out.push_str(&pages.join(" "));
            out.push('\n');
        }
        out
    }
}

fn parse_u32(word: &str) -> Result<u32, &'static str> {
    if word.is_empty() || !word.bytes().all(|b| b.is_ascii_digit()) {
        return Err("not a decimal number");
    }
    word.parse().map_err(|_| "number too large")
}
