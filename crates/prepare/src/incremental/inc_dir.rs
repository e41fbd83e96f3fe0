//! What an incremental backup directory holds for its apply, read without changing it:
//! the `.delta` files with their `.meta`, under the names its DDL markers give them
//! (10.11 renames the files in the incremental; here the names are mapped in memory).
//!
//! As 10.11 (`xtrabackup_prepare_func`): `db/t.del` drops the delta of `db/t`, then every
//! `db/t.ren` (content `db2/t2`) renames the delta of `db/t` to `db2/t2` (all at once, so
//! swaps work), then `db/t.new.delta` is the delta of `db/t`, then `db/t.new` is a whole
//! new `db/t.ibd` and the delta of `db/t` is ignored. Deltas are looked for in the
//! directory and its database directories: `X.delta` at the top (the system tablespace's
//! files, undo tablespaces), `db/t.ibd.delta` below.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

use backup_meta::{delta_meta_path, in_order, DeltaMeta, MetaFile, ReadAhead};

use crate::ddl;
use crate::error::PrepareError;

/// One `.delta` of the incremental.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Delta {
    /// The tablespace it applies to, relative to the base: `db/t` for `db/t.ibd` (user
    /// tablespace), the file name for a top-level file (`ibdata1`, `undo001`).
    pub(super) name: String,
    /// Whether it is a `db/t.ibd` tablespace.
    pub(super) user: bool,
    /// The `.delta` file.
    pub(super) path: PathBuf,
    /// Its `.meta`.
    pub(super) meta: DeltaMeta,
}

impl Delta {
    /// The file of the base it applies to, relative.
    pub(super) fn target(&self) -> String {
        if self.user {
            format!("{}.ibd", self.name)
        } else {
            self.name.clone()
        }
    }
}

/// The incremental's deltas and whole new tablespaces.
#[derive(Debug, Default)]
pub(super) struct IncDir {
    /// Sorted by name.
    pub(super) deltas: Vec<Delta>,
    /// `db/t` → the `.new` file that becomes `db/t.ibd`.
    pub(super) news: BTreeMap<String, PathBuf>,
}

/// Reads the incremental in `inc`: every marker and `.meta` is parsed here.
pub(super) fn read(inc: &Path) -> Result<IncDir, PrepareError> {
    let (files, _) = ddl::list(inc)?;
    // name → (.delta path, user)
    let mut deltas: BTreeMap<String, (PathBuf, bool)> = BTreeMap::new();
    let mut new_deltas: BTreeMap<String, PathBuf> = BTreeMap::new();
    let mut del: BTreeSet<String> = BTreeSet::new();
    let mut ren: BTreeMap<String, String> = BTreeMap::new();
    let mut news: BTreeMap<String, PathBuf> = BTreeMap::new();
    for f in &files {
        let path = inc.join(f);
        let in_db = f.contains('/');
        if let Some(n) = f.strip_suffix(".delta") {
            if !in_db {
                deltas.insert(n.to_string(), (path, false));
            } else if let Some(t) = n.strip_suffix(".ibd") {
                deltas.insert(t.to_string(), (path, true));
            } else if let Some(t) = n.strip_suffix(".new") {
                new_deltas.insert(t.to_string(), path);
            } else {
                return Err(PrepareError::Delta {
                    path,
                    what: "is not the delta of a tablespace (`db/table.ibd.delta`)".into(),
                });
            }
        } else if !in_db {
            continue;
        } else if let Some(n) = f.strip_suffix(".del") {
            del.insert(n.to_string());
        } else if let Some(n) = f.strip_suffix(".ren") {
            let content = fs::read(&path).map_err(|e| PrepareError::io("read", &path, e))?;
            ren.insert(n.to_string(), ddl::parse_ren(&path, &content)?);
        } else if let Some(n) = f.strip_suffix(".new") {
            news.insert(n.to_string(), path);
        }
    }
    for n in &del {
        deltas.remove(n);
    }
    if !ren.is_empty() {
        let mut renamed: BTreeMap<String, (PathBuf, bool)> = BTreeMap::new();
        let mut moved: BTreeSet<&String> = BTreeSet::new();
        for (from, to) in &ren {
            let Some(d) = deltas.get(from) else {
                // 10.11 stops here too (it cannot rename a delta that is not there).
                return Err(PrepareError::DdlFile {
                    path: inc.join(format!("{from}.ren")),
                    what: format!(
                        "renames {from} to {to}, but the incremental has no {from}.ibd.delta; \
                         the incremental backup is damaged: take a new one. Nothing was changed"
                    ),
                });
            };
            renamed.insert(to.clone(), d.clone());
            moved.insert(from);
        }
        for (n, d) in &deltas {
            if moved.contains(n) {
                continue;
            }
            if renamed.contains_key(n) {
                return Err(PrepareError::DdlFile {
                    path: inc.join(format!("{n}.ibd.delta")),
                    what: format!(
                        "a .ren marker renames another table's delta to {n}, which has its \
                         own delta and is not renamed; the incremental backup is damaged: take \
                         a new one. Nothing was changed"
                    ),
                });
            }
            renamed.insert(n.clone(), d.clone());
        }
        deltas = renamed;
    }
    for (n, p) in new_deltas {
        deltas.insert(n, (p, true));
    }
    for n in news.keys() {
        deltas.remove(n);
    }
    let mut out = IncDir {
        deltas: Vec::with_capacity(deltas.len()),
        news,
    };
    let deltas: Vec<(String, PathBuf, bool, PathBuf)> = deltas
        .into_iter()
        .map(|(name, (path, user))| {
            let meta_path = if path.to_string_lossy().ends_with(".new.delta") {
                // `db/t.new.delta` goes with `db/t.new.meta`.
                path.with_extension("meta")
            } else {
                delta_meta_path(&path)
            };
            (name, path, user, meta_path)
        })
        .collect();
    // Thousands of small `.meta` files on a cold cache: read ahead, not one by one.
    let ahead = ReadAhead::start(
        deltas.iter().map(|d| (d.3.clone(), vec![(0, 0)])).collect(),
        in_order::WINDOW,
    );
    for (index, (name, path, user, meta_path)) in deltas.into_iter().enumerate() {
        if let Some(a) = &ahead {
            a.reached(index);
        }
        if !meta_path.is_file() {
            return Err(PrepareError::Delta {
                path: meta_path,
                what: format!("is missing: {} cannot be read without it", path.display()),
            });
        }
        let meta = DeltaMeta::read(&meta_path)?;
        if let Err(e) = delta::check_page_size(meta.page_size as usize) {
            return Err(PrepareError::Delta {
                path: meta_path,
                what: e.to_string(),
            });
        }
        out.deltas.push(Delta {
            name,
            user,
            path,
            meta,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(id: u32) -> String {
        format!("page_size = 16384\nzip_size = 0 \nspace_id = {id}\n")
    }

    /// Builds an incremental directory of `files` (path → content), reads it and returns
    /// (delta name → (delta file relative path, space id)), news.
    /// (target, delta file, space id) of each delta.
    type Found = Vec<(String, String, u32)>;

    fn check(files: &[(&str, &str)]) -> Result<(Found, Vec<String>), String> {
        let dir = testkit::TestDir::new("inc-dir").unwrap();
        for (f, content) in files {
            let p = dir.path().join(f);
            fs::create_dir_all(p.parent().unwrap()).unwrap();
            fs::write(&p, content).unwrap();
        }
        let r = read(dir.path()).map_err(|e| e.to_string())?;
        let deltas = r
            .deltas
            .iter()
            .map(|d| {
                (
                    d.target(),
                    d.path
                        .strip_prefix(dir.path())
                        .unwrap()
                        .to_string_lossy()
                        .into_owned(),
                    d.meta.space_id.unwrap(),
                )
            })
            .collect();
        Ok((deltas, r.news.keys().cloned().collect()))
    }

    fn d(target: &str, file: &str, id: u32) -> (String, String, u32) {
        (target.into(), file.into(), id)
    }

    #[test]
    fn markers_give_the_deltas_their_names() {
        let m5 = meta(5);
        let m6 = meta(6);
        let m0 = meta(0);
        // Plain deltas, top level and in databases; non-InnoDB files ignored.
        assert_eq!(
            check(&[
                ("ibdata1.delta", ""),
                ("ibdata1.meta", &m0),
                ("d/a.ibd.delta", ""),
                ("d/a.ibd.meta", &m5),
                ("d/a.frm", ""),
                ("xtrabackup_info", ""),
            ]),
            Ok((
                vec![
                    d("d/a.ibd", "d/a.ibd.delta", 5),
                    d("ibdata1", "ibdata1.delta", 0)
                ],
                vec![]
            ))
        );
        // .del drops, .ren renames (a swap at once), .new replaces.
        assert_eq!(
            check(&[
                ("d/a.ibd.delta", ""),
                ("d/a.ibd.meta", &m5),
                ("d/b.ibd.delta", ""),
                ("d/b.ibd.meta", &m6),
                ("d/a.ren", "d/b"),
                ("d/b.ren", "d/a"),
                ("d/c.ibd.delta", ""),
                ("d/c.ibd.meta", &m5),
                ("d/c.del", ""),
                ("e/n.new", ""),
                ("e/n.ibd.delta", ""),
                ("e/n.ibd.meta", &m6),
            ]),
            Ok((
                vec![
                    d("d/a.ibd", "d/b.ibd.delta", 6),
                    d("d/b.ibd", "d/a.ibd.delta", 5)
                ],
                vec!["e/n".into()]
            ))
        );
        // db/t.new.delta is the delta of db/t, with db/t.new.meta.
        assert_eq!(
            check(&[("d/t.new.delta", ""), ("d/t.new.meta", &m6)]),
            Ok((vec![d("d/t.ibd", "d/t.new.delta", 6)], vec![]))
        );
    }

    #[test]
    fn refusals_name_the_file() {
        let m5 = meta(5);
        for (files, expected) in [
            (vec![("d/a.ibd.delta", "")], "d/a.ibd.meta: is missing"),
            (
                vec![
                    ("d/a.ibd.delta", ""),
                    ("d/a.ibd.meta", "page_size = 1000\n"),
                ],
                "invalid value \"1000\" for `page_size`",
            ),
            (vec![("d/a.ren", "d/b")], "no d/a.ibd.delta"),
            (
                vec![
                    ("d/a.ibd.delta", ""),
                    ("d/a.ibd.meta", m5.as_str()),
                    ("d/b.ibd.delta", ""),
                    ("d/b.ibd.meta", m5.as_str()),
                    ("d/a.ren", "d/b"),
                ],
                "renames another table's delta to d/b",
            ),
            (
                vec![("d/a.delta", "")],
                "d/a.delta: is not the delta of a tablespace",
            ),
        ] {
            let got = check(&files).unwrap_err();
            assert!(got.contains(expected), "{files:?}: {got}");
        }
    }
}
