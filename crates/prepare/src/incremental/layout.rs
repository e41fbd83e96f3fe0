//! Which file of the base each delta of the incremental goes to, and the renames and
//! removals that make the base's `.ibd` files those of the incremental (10.11's
//! `xb_delta_open_matching_space` and `rm_if_not_found`, as one plan).
//!
//! For the delta of `db/t` with space id S: the base's `db/t.ibd` if it is tablespace S;
//! else the base's tablespace S under another name, renamed to `db/t.ibd` (a renamed
//! table); else a new file (a table made since the base; a `db/t.ibd` of another space,
//! e.g. before a TRUNCATE, goes). Every `.ibd` of the base that no delta takes and no
//! `.new` replaces is removed (a dropped table). Top-level deltas (`ibdata1`, `undo001`)
//! go to the base's file of that name, which must be there. The renames and removals
//! run as one checked plan through the DDL journal; 10.11 reaches the same files one
//! delta at a time through `xtrabackup_tmp_#ID.ibd` names.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};

use innodb::SpaceId;

use super::inc_dir::IncDir;
use super::others::copy_file;
use crate::ddl::{self, Moves, Plan};
use crate::error::PrepareError;
use crate::progress::{DdlAction, Event, Progress};
use crate::sysfiles::system_file_names;

/// Where one delta goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Target {
    /// The file its pages are written to (after the plan).
    pub(super) path: PathBuf,
    /// The base file whose page 0 gives the tablespace's flags, where it is before the
    /// plan; `None` for a tablespace created by the apply.
    pub(super) page0_from: Option<PathBuf>,
    /// Created by the apply.
    pub(super) create: bool,
}

/// The checked layout: nothing is changed until [`Layout::execute`].
#[derive(Debug)]
pub(super) struct Layout {
    /// One per delta of the [`IncDir`], in its order.
    pub(super) targets: Vec<Target>,
    plan: Option<Plan>,
    /// (`.new` of the incremental, `.ibd` of the base it becomes).
    news: Vec<(PathBuf, PathBuf)>,
    /// Database directories the base does not have yet.
    mkdirs: Vec<PathBuf>,
}

/// Matches the deltas of `inc` to the files of `base` and checks the plan.
pub(super) fn plan(base: &Path, inc: &IncDir) -> Result<Layout, PrepareError> {
    let (files, dirs) = ddl::list(base)?;
    let mut ibd: BTreeMap<String, Option<SpaceId>> = BTreeMap::new();
    for f in &files {
        if let (true, Some(n)) = (f.contains('/'), f.strip_suffix(".ibd")) {
            ibd.insert(n.to_string(), ddl::space_id(&base.join(f))?);
        }
    }
    let mut by_id: BTreeMap<SpaceId, &str> = BTreeMap::new();
    for (name, id) in &ibd {
        if let Some(id) = id {
            if let Some(first) = by_id.insert(*id, name) {
                return Err(PrepareError::DuplicateSpace {
                    space: *id,
                    first: base.join(format!("{first}.ibd")),
                    second: base.join(format!("{name}.ibd")),
                });
            }
        }
    }
    let system = system_file_names(base);
    let mut claimed: BTreeMap<String, String> = BTreeMap::new(); // source → target
    let mut delta_ids: BTreeMap<u32, &str> = BTreeMap::new();
    let mut targets = Vec::with_capacity(inc.deltas.len());
    for d in &inc.deltas {
        let path = base.join(d.target());
        if !d.user {
            let is_system = d.meta.space_id == Some(0);
            if !path.is_file() || (is_system && !system.contains(&d.name)) {
                return Err(PrepareError::DataFile {
                    path,
                    what: format!(
                        "is not in the base, but the incremental has {}: the incremental \
                         does not belong to this base (or the base lost a file). Nothing was \
                         changed",
                        d.path.display()
                    ),
                });
            }
            if !is_system {
                let found = ddl::space_id(&path)?;
                if let (Some(found), Some(want)) = (found, d.meta.space_id) {
                    if found.0 != want {
                        return Err(PrepareError::DataFile {
                            path,
                            what: format!(
                                "is tablespace {found}, but {} is for tablespace {want}: the \
                                 incremental does not belong to this base. Nothing was changed",
                                d.path.display()
                            ),
                        });
                    }
                }
            }
            let page0_from = Some(if is_system {
                base.join(&system[0])
            } else {
                path.clone()
            });
            targets.push(Target {
                path,
                page0_from,
                create: false,
            });
            continue;
        }
        if let Some(id) = d.meta.space_id {
            if let Some(other) = delta_ids.insert(id, &d.name) {
                return Err(PrepareError::Delta {
                    path: d.path.clone(),
                    what: format!(
                        "is for tablespace {id}, as the delta of {other} is: the incremental \
                         backup is damaged, take a new one. Nothing was changed"
                    ),
                });
            }
        }
        let here = ibd.get(&d.name).copied();
        let source = match d.meta.space_id {
            // No space id (XtraBackup 2.0.1 and older): by name only, as 10.11.
            None => here.map(|_| d.name.clone()),
            Some(id) if here == Some(Some(SpaceId(id))) => Some(d.name.clone()),
            Some(id) => by_id.get(&SpaceId(id)).map(|n| n.to_string()),
        };
        let source = source.filter(|s| !inc.news.contains_key(s) || *s == d.name);
        match source {
            Some(src) => {
                targets.push(Target {
                    path,
                    page0_from: Some(base.join(format!("{src}.ibd"))),
                    create: false,
                });
                claimed.insert(src, d.name.clone());
            }
            None => targets.push(Target {
                path,
                page0_from: None,
                create: true,
            }),
        }
    }
    let removals: BTreeSet<String> = ibd
        .keys()
        .filter(|n| !claimed.contains_key(*n))
        .cloned()
        .collect();
    let moves: BTreeMap<String, String> = claimed
        .into_iter()
        .filter(|(src, dst)| src != dst)
        .collect();
    let mut new_dirs: BTreeSet<String> = BTreeSet::new();
    let wanted = inc
        .deltas
        .iter()
        .filter(|d| d.user)
        .map(|d| d.name.as_str())
        .chain(inc.news.keys().map(String::as_str));
    for name in wanted {
        if let Some((db, _)) = name.rsplit_once('/') {
            if !dirs.contains(&db.to_string()) {
                new_dirs.insert(db.to_string());
            }
        }
    }
    let all_dirs: BTreeSet<String> = dirs
        .iter()
        .cloned()
        .chain(new_dirs.iter().cloned())
        .collect();
    let plan = Moves {
        present: files.into_iter().collect(),
        dirs: all_dirs,
        ibd,
        moves,
        removals,
    }
    .plan(
        base,
        "the tablespaces of the base cannot be matched to the deltas of the incremental. \
         Nothing was changed",
    )?;
    let news = inc
        .news
        .iter()
        .map(|(name, src)| (src.clone(), base.join(format!("{name}.ibd"))))
        .collect();
    Ok(Layout {
        targets,
        plan,
        news,
        mkdirs: new_dirs.iter().map(|d| base.join(d)).collect(),
    })
}

impl Layout {
    /// Creates the database directories, runs the plan and copies the `.new` files in.
    pub(super) fn execute(&self, base: &Path, progress: &dyn Progress) -> Result<(), PrepareError> {
        for d in &self.mkdirs {
            match fs::DirBuilder::new().mode(0o700).create(d) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(PrepareError::io("create directory", d, e)),
            }
        }
        if !self.mkdirs.is_empty() {
            fs::File::open(base)
                .and_then(|f| f.sync_all())
                .map_err(|e| PrepareError::io("fsync directory", base, e))?;
        }
        if let Some(plan) = &self.plan {
            ddl::run_plan(base, plan, progress)?;
        }
        for (src, dst) in &self.news {
            // Made durable with every tablespace by the log apply.
            copy_file(src, dst, false)?;
            progress.event(Event::Ddl {
                action: DdlAction::Replaced,
                from: src,
                to: Some(dst),
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::inc_dir::Delta;
    use super::*;
    use backup_meta::DeltaMeta;

    /// A page 0 head carrying `id` (flags 0x15: 16k, full_crc32), 16 KiB.
    fn page0(id: u32) -> Vec<u8> {
        let mut p = vec![0u8; 16384];
        p[34..38].copy_from_slice(&id.to_be_bytes());
        p[38..42].copy_from_slice(&id.to_be_bytes());
        p[54..58].copy_from_slice(&0x15u32.to_be_bytes());
        p
    }

    fn delta(name: &str, id: u32) -> Delta {
        Delta {
            name: name.into(),
            user: name.contains('/'),
            path: PathBuf::from(format!("/inc/{name}.ibd.delta")),
            meta: DeltaMeta {
                page_size: 16384,
                zip_size: 0,
                space_id: Some(id),
            },
        }
    }

    /// Base files (name → space id), deltas (name, id), news → the base's `.ibd` files
    /// after the plan (name → space id) and the created targets.
    fn check(
        base_files: &[(&str, u32)],
        deltas: &[(&str, u32)],
        news: &[&str],
    ) -> Result<(BTreeMap<String, u32>, Vec<String>), String> {
        let dir = testkit::TestDir::new("inc-layout").unwrap();
        fs::write(dir.path().join("ibdata1"), page0(0)).unwrap();
        for (f, id) in base_files {
            let p = dir.path().join(f);
            fs::create_dir_all(p.parent().unwrap()).unwrap();
            fs::write(&p, page0(*id)).unwrap();
        }
        let newsrc = testkit::TestDir::new("inc-layout-new").unwrap();
        let mut inc = IncDir::default();
        for (name, id) in deltas {
            inc.deltas.push(delta(name, *id));
        }
        for n in news {
            let p = newsrc.path().join(n.replace('/', "_"));
            fs::write(&p, page0(99)).unwrap();
            inc.news.insert(n.to_string(), p);
        }
        let layout = plan(dir.path(), &inc).map_err(|e| e.to_string())?;
        layout.execute(dir.path(), &crate::NoProgress).unwrap();
        let (files, _) = ddl::list(dir.path()).unwrap();
        let mut out = BTreeMap::new();
        for f in files.iter().filter(|f| f.ends_with(".ibd")) {
            let id = ddl::space_id(&dir.path().join(f)).unwrap().unwrap();
            out.insert(f.clone(), id.0);
        }
        let created = layout
            .targets
            .iter()
            .filter(|t| t.create)
            .map(|t| {
                t.path
                    .strip_prefix(dir.path())
                    .unwrap()
                    .display()
                    .to_string()
            })
            .collect();
        Ok((out, created))
    }

    fn files(list: &[(&str, u32)]) -> BTreeMap<String, u32> {
        list.iter().map(|(f, id)| (f.to_string(), *id)).collect()
    }

    #[test]
    fn deltas_find_their_tablespaces() {
        // Same names: nothing moves. A table without a delta was dropped.
        assert_eq!(
            check(
                &[("d/a.ibd", 5), ("d/b.ibd", 6), ("d/gone.ibd", 7)],
                &[("d/a", 5), ("d/b", 6)],
                &[]
            ),
            Ok((files(&[("d/a.ibd", 5), ("d/b.ibd", 6)]), vec![]))
        );
        // Renamed (found by space id), swapped, moved to a new database.
        assert_eq!(
            check(
                &[("d/a.ibd", 5), ("d/b.ibd", 6), ("d/c.ibd", 7)],
                &[("d/a", 6), ("d/b", 5), ("e/c2", 7)],
                &[]
            ),
            Ok((
                files(&[("d/a.ibd", 6), ("d/b.ibd", 5), ("e/c2.ibd", 7)]),
                vec![]
            ))
        );
        // TRUNCATE: same name, new space id: the old file goes, a new one is made.
        // A table made since the base is made; a .new replaces the base's file.
        assert_eq!(
            check(
                &[("d/t.ibd", 5), ("d/r.ibd", 8)],
                &[("d/t", 9), ("f/n", 10)],
                &["d/r"]
            ),
            Ok((
                files(&[("d/r.ibd", 99)]),
                vec!["d/t.ibd".to_string(), "f/n.ibd".to_string()]
            ))
        );
    }

    #[test]
    fn refusals() {
        let err = check(&[("d/a.ibd", 5)], &[("d/a", 5), ("d/b", 5)], &[]).unwrap_err();
        assert!(
            err.contains("is for tablespace 5, as the delta of d/a is"),
            "{err}"
        );
        let err = check(&[("d/a.ibd", 5), ("e/a.ibd", 5)], &[], &[]).unwrap_err();
        assert!(err.contains("tablespace 5 is in both"), "{err}");
    }
}
