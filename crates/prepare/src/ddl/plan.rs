//! The one plan that applies every `.del`, `.ren` and `.new` of a backup, computed from
//! all markers and the files present at once and checked whole before a file is touched.
//!
//! Markers are keyed by the name a tablespace was *copied* under, so their meaning does not
//! depend on the order they are processed in; this module turns them into an ordered list
//! of single-file steps:
//!
//! 1. removals: `.del` (of a file that is there), `.ibd` files a `.new` replaces, and the
//!    old copy of a renamed table that was copied again under its new name (`.new`);
//! 2. renames of `.ren`: each after the rename that frees its target, so chains
//!    (`a→b`, `b→c`) run from their end; a cycle (the swap `a→b`, `b→a` of
//!    pt-online-schema-change and gh-ost) first moves one file to a temporary name;
//! 3. `.new` → `.ibd`.
//!
//! The plan is then run on a model of the directory, so a plan that is returned cannot
//! meet a missing source or an existing target on the listed files.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use innodb::SpaceId;

/// What the directory holds, by name relative to the backup directory without extension
/// (`db/t`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Inputs {
    /// Every file in the directory and its database directories (relative path with
    /// extension): temporary names must not collide with any of them.
    pub(crate) present: BTreeSet<String>,
    /// Database directories present (`db`).
    pub(crate) dirs: BTreeSet<String>,
    /// `db/t.ibd` files, with the space id on their page 0 (`None`: all zero or unreadable).
    pub(crate) ibd: BTreeMap<String, Option<SpaceId>>,
    /// `db/t.new` files, with their space id.
    pub(crate) new: BTreeMap<String, Option<SpaceId>>,
    /// `db/t.del` markers.
    pub(crate) del: BTreeSet<String>,
    /// `db/t.ren` markers: copied name → new name.
    pub(crate) ren: BTreeMap<String, String>,
}

/// One change of one file; paths are relative to the backup directory, with extension.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Step {
    /// `unlink(path)`.
    Remove {
        /// The file.
        path: String,
        /// Its space id when the plan was made.
        space: Option<SpaceId>,
    },
    /// `rename(from, to)`; `to` does not exist when the step runs.
    Rename {
        /// The file.
        from: String,
        /// Its new name.
        to: String,
        /// Its space id when the plan was made.
        space: Option<SpaceId>,
    },
}

/// The steps, then the marker files to remove once every step is done.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Plan {
    /// In order.
    pub(crate) steps: Vec<Step>,
    /// `.del` and `.ren` files (relative paths), removed last.
    pub(crate) markers: Vec<String>,
}

/// Why a set of markers cannot be applied; names the marker and the files involved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct PlanError {
    /// The marker file the problem is reported on (relative path).
    pub(crate) marker: String,
    /// What is wrong.
    pub(crate) what: String,
}

impl fmt::Display for PlanError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.marker, self.what)
    }
}

fn ibd(name: &str) -> String {
    format!("{name}.ibd")
}

/// Suffix of the temporary name that breaks a rename cycle (never ends in `.ibd`, so a
/// leftover is not taken for a tablespace).
const CYCLE_SUFFIX: &str = ".ibd.hotbackup-swap";

/// Computes and checks the plan. Every problem found is returned, not only the first.
pub(crate) fn plan(inputs: &Inputs) -> Result<Plan, Vec<PlanError>> {
    let mut errors = Vec::new();
    let mut err = |marker: String, what: String| errors.push(PlanError { marker, what });

    // Renames that move something (a `.ren` naming the same table is only removed).
    let mut moves: BTreeMap<String, String> = BTreeMap::new();
    // Renamed tables copied again under the new name (`.new`): the old copy goes.
    let mut superseded: BTreeSet<String> = BTreeSet::new();
    let mut target_of: BTreeMap<&str, &str> = BTreeMap::new();
    for (src, dst) in &inputs.ren {
        let marker = format!("{src}.ren");
        if src == dst {
            continue;
        }
        if inputs.del.contains(src) {
            err(
                marker.clone(),
                format!(
                    "{src}.del drops the same table: a table cannot be both renamed and dropped"
                ),
            );
        }
        if !inputs.ibd.contains_key(src) {
            err(
                marker.clone(),
                format!(
                    "renames {} to {}, but {} is not in the backup",
                    ibd(src),
                    ibd(dst),
                    ibd(src)
                ),
            );
        }
        if let Some((db, _)) = dst.rsplit_once('/') {
            if !inputs.dirs.contains(db) {
                err(
                    marker.clone(),
                    format!(
                        "renames {} to {}, but the database directory {db} is not in the backup",
                        ibd(src),
                        ibd(dst)
                    ),
                );
            }
        }
        if let Some(other) = target_of.insert(dst, src) {
            err(
                marker.clone(),
                format!(
                    "{other}.ren renames to {} too: two tables cannot get one name",
                    ibd(dst)
                ),
            );
        }
        if let Some(new_id) = inputs.new.get(dst) {
            // A copy of the renamed table taken after the rename supersedes the old copy
            // (mariadb-backup: the `.new` replaces what the rename put there). Another
            // table of that name cannot be.
            let old_id = inputs.ibd.get(src).copied().flatten();
            if let (Some(old), Some(new)) = (old_id, new_id) {
                if old != *new {
                    err(
                        marker.clone(),
                        format!(
                            "renames {} (tablespace {old}) to {}, but {dst}.new is another \
                             table of that name (tablespace {new})",
                            ibd(src),
                            ibd(dst)
                        ),
                    );
                }
            }
            superseded.insert(src.clone());
            continue;
        }
        let target_moves = inputs.ren.get(dst).is_some_and(|t| t != dst);
        if inputs.ibd.contains_key(dst) && !inputs.del.contains(dst) && !target_moves {
            err(
                marker.clone(),
                format!(
                    "renames {} to {}, which exists and is neither renamed (no {dst}.ren) nor \
                     dropped (no {dst}.del)",
                    ibd(src),
                    ibd(dst)
                ),
            );
        }
        moves.insert(src.clone(), dst.clone());
    }
    if !errors.is_empty() {
        return Err(errors);
    }

    let space = |name: &str| inputs.ibd.get(name).copied().flatten();
    let mut steps = Vec::new();
    // 1. Removals.
    for name in &inputs.del {
        if inputs.ibd.contains_key(name) {
            steps.push(Step::Remove {
                path: ibd(name),
                space: space(name),
            });
        }
    }
    for name in &superseded {
        steps.push(Step::Remove {
            path: ibd(name),
            space: space(name),
        });
    }
    for name in inputs.new.keys() {
        let moved = moves.contains_key(name) || superseded.contains(name);
        if inputs.ibd.contains_key(name) && !inputs.del.contains(name) && !moved {
            steps.push(Step::Remove {
                path: ibd(name),
                space: space(name),
            });
        }
    }
    // 2. Renames: `pending[src]` = (where its file is now, where it goes); a rename runs
    // once no pending rename still has its file at the target.
    let mut pending: BTreeMap<String, (String, String)> = moves
        .iter()
        .map(|(src, dst)| (src.clone(), (ibd(src), ibd(dst))))
        .collect();
    while !pending.is_empty() {
        let sources: BTreeSet<&String> = pending.values().map(|(from, _)| from).collect();
        let ready: Vec<String> = pending
            .iter()
            .filter(|(_, (_, to))| !sources.contains(to))
            .map(|(src, _)| src.clone())
            .collect();
        if ready.is_empty() {
            // Only cycles remain: move the first file aside, which frees its name.
            let (src, (from, to)) = pending.pop_first().expect("not empty");
            let mut tmp = format!("{src}{CYCLE_SUFFIX}");
            let mut n = 1;
            while inputs.present.contains(&tmp) {
                n += 1;
                tmp = format!("{src}{CYCLE_SUFFIX}{n}");
            }
            steps.push(Step::Rename {
                from,
                to: tmp.clone(),
                space: space(&src),
            });
            pending.insert(src, (tmp, to));
            continue;
        }
        for src in ready {
            let (from, to) = pending.remove(&src).expect("listed");
            steps.push(Step::Rename {
                from,
                to,
                space: space(&src),
            });
        }
    }
    // 3. New tablespaces.
    for (name, id) in &inputs.new {
        steps.push(Step::Rename {
            from: format!("{name}.new"),
            to: ibd(name),
            space: *id,
        });
    }
    let markers = inputs
        .del
        .iter()
        .map(|n| format!("{n}.del"))
        .chain(inputs.ren.keys().map(|n| format!("{n}.ren")))
        .collect();
    let plan = Plan { steps, markers };
    check_result(inputs, &plan)?;
    Ok(plan)
}

/// Runs the plan on a model of the directory: every step finds its source and no
/// target, and no two `.ibd` files end up with one space id.
fn check_result(inputs: &Inputs, plan: &Plan) -> Result<(), Vec<PlanError>> {
    let mut files: BTreeMap<String, (String, Option<SpaceId>)> = BTreeMap::new();
    for name in &inputs.present {
        files.insert(name.clone(), (name.clone(), None));
    }
    for (name, id) in &inputs.ibd {
        files.insert(ibd(name), (ibd(name), *id));
    }
    for (name, id) in &inputs.new {
        files.insert(format!("{name}.new"), (format!("{name}.new"), *id));
    }
    simulate(&mut files, &plan.steps).map_err(|what| {
        vec![PlanError {
            marker: plan.markers.first().cloned().unwrap_or_default(),
            what: format!("the plan cannot run (a bug): {what}"),
        }]
    })?;
    let mut by_space: BTreeMap<SpaceId, &str> = BTreeMap::new();
    let mut errors = Vec::new();
    for (path, (origin, id)) in &files {
        let (Some(id), true) = (id, path.ends_with(".ibd")) else {
            continue;
        };
        if let Some(first) = by_space.insert(*id, origin) {
            let (x, y) = (first.min(origin.as_str()), first.max(origin.as_str()));
            errors.push(PlanError {
                marker: plan
                    .markers
                    .first()
                    .cloned()
                    .unwrap_or_else(|| origin.clone()),
                what: format!(
                    "after the markers are applied, {x} and {y} would both be \
                     tablespace {id}: the markers do not match the files"
                ),
            });
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

/// Applies steps to a map path → payload, as the file system would; fails on a missing
/// source or an existing target.
pub(crate) fn simulate<T>(files: &mut BTreeMap<String, T>, steps: &[Step]) -> Result<(), String> {
    for (i, step) in steps.iter().enumerate() {
        match step {
            Step::Remove { path, .. } => {
                files
                    .remove(path)
                    .ok_or_else(|| format!("step {}: {path} is missing", i + 1))?;
            }
            Step::Rename { from, to, .. } => {
                if files.contains_key(to) {
                    return Err(format!("step {}: {to} exists", i + 1));
                }
                let v = files
                    .remove(from)
                    .ok_or_else(|| format!("step {}: {from} is missing", i + 1))?;
                files.insert(to.clone(), v);
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A directory: `.ibd`/`.new` files with the space id of page 0, and markers
    /// (`"db/a.ren=db/b"`, `"db/a.del"`).
    fn inputs(files: &[(&str, u32)], markers: &[&str]) -> Inputs {
        let mut i = Inputs::default();
        for (path, id) in files {
            i.present.insert(path.to_string());
            let id = (*id != 0).then_some(SpaceId(*id));
            if let Some(db) = path.rsplit_once('/').map(|(d, _)| d) {
                i.dirs.insert(db.to_string());
            }
            if let Some(n) = path.strip_suffix(".ibd") {
                i.ibd.insert(n.into(), id);
            } else if let Some(n) = path.strip_suffix(".new") {
                i.new.insert(n.into(), id);
            }
        }
        for m in markers {
            if let Some((src, dst)) = m.split_once(".ren=") {
                i.present.insert(format!("{src}.ren"));
                i.ren.insert(src.into(), dst.into());
            } else if let Some(n) = m.strip_suffix(".del") {
                i.present.insert(m.to_string());
                i.del.insert(n.into());
            } else {
                panic!("bad marker {m}");
            }
        }
        i
    }

    /// Plans, runs the plan on the model and returns the `.ibd` files at the end with
    /// the space id each holds.
    fn outcome(i: &Inputs) -> Result<Vec<(String, u32)>, Vec<PlanError>> {
        let p = plan(i)?;
        let mut files: BTreeMap<String, u32> = BTreeMap::new();
        for (n, id) in i.ibd.iter() {
            files.insert(ibd(n), id.map_or(0, |s| s.0));
        }
        for (n, id) in i.new.iter() {
            files.insert(format!("{n}.new"), id.map_or(0, |s| s.0));
        }
        simulate(&mut files, &p.steps).expect("checked plan runs");
        Ok(files.into_iter().collect())
    }

    /// Mirrors the names of a path (`d/a.ibd` → `w/z.ibd`, digits 0↔9): names that sorted
    /// first now sort last, so a plan that depended on the order markers are met in
    /// (as mariadb-backup's directory walk does) would come out differently.
    fn flip(path: &str) -> String {
        let (name, ext) = path.split_once('.').unwrap_or((path, ""));
        let name: String = name
            .chars()
            .map(|c| match c {
                'a'..='z' => (b'a' + b'z' - c as u8) as char,
                '0'..='9' => (b'0' + b'9' - c as u8) as char,
                c => c,
            })
            .collect();
        if ext.is_empty() {
            name
        } else {
            format!("{name}.{ext}")
        }
    }

    fn flip_marker(m: &str) -> String {
        match m.split_once(".ren=") {
            Some((src, dst)) => format!("{}.ren={}", flip(src), flip(dst)),
            None => flip(m),
        }
    }

    /// (files, markers) → the `.ibd` files at the end, or the error messages' words.
    fn check(files: &[(&str, u32)], markers: &[&str], expected: Result<&[(&str, u32)], &[&str]>) {
        // In both sort orders of the names, and with the markers listed both ways.
        for flipped in [false, true] {
            let f = |s: &str| if flipped { flip(s) } else { s.to_string() };
            let fs: Vec<(String, u32)> = files.iter().map(|(p, id)| (f(p), *id)).collect();
            let fs: Vec<(&str, u32)> = fs.iter().map(|(p, id)| (p.as_str(), *id)).collect();
            let mut ms: Vec<String> = markers
                .iter()
                .map(|m| {
                    if flipped {
                        flip_marker(m)
                    } else {
                        m.to_string()
                    }
                })
                .collect();
            if flipped {
                ms.reverse();
            }
            let ms: Vec<&str> = ms.iter().map(String::as_str).collect();
            let got = outcome(&inputs(&fs, &ms));
            match (&got, expected) {
                (Ok(got), Ok(want)) => {
                    let mut want: Vec<(String, u32)> =
                        want.iter().map(|(p, id)| (f(p), *id)).collect();
                    want.sort();
                    assert_eq!(got, &want, "files {fs:?} markers {ms:?}");
                }
                (Err(_), Err(_)) if flipped => {}
                (Err(errors), Err(words)) => {
                    let text = errors
                        .iter()
                        .map(|e| e.to_string())
                        .collect::<Vec<_>>()
                        .join("\n");
                    for w in words {
                        assert!(text.contains(w), "{w:?} not in {text:?}");
                    }
                }
                _ => panic!("files {files:?} markers {ms:?}: got {got:?}, expected {expected:?}"),
            }
        }
    }

    #[test]
    fn swaps_chains_and_cycles() {
        // Nothing to do.
        check(&[("d/a.ibd", 5)], &[], Ok(&[("d/a.ibd", 5)]));
        // Plain rename.
        check(&[("d/a.ibd", 5)], &["d/a.ren=d/b"], Ok(&[("d/b.ibd", 5)]));
        // Renamed to itself (a→tmp→a): only the marker goes.
        check(&[("d/a.ibd", 5)], &["d/a.ren=d/a"], Ok(&[("d/a.ibd", 5)]));
        // The swap: RENAME TABLE a TO tmp, b TO a, tmp TO b.
        check(
            &[("d/a.ibd", 5), ("d/b.ibd", 6)],
            &["d/a.ren=d/b", "d/b.ren=d/a"],
            Ok(&[("d/a.ibd", 6), ("d/b.ibd", 5)]),
        );
        // A cycle of three, across two databases.
        check(
            &[("d/a.ibd", 5), ("d/b.ibd", 6), ("e/c.ibd", 7)],
            &["d/a.ren=d/b", "d/b.ren=e/c", "e/c.ren=d/a"],
            Ok(&[("d/a.ibd", 7), ("d/b.ibd", 5), ("e/c.ibd", 6)]),
        );
        // A chain a→b→c: b moves first.
        check(
            &[("d/a.ibd", 5), ("d/b.ibd", 6)],
            &["d/a.ren=d/b", "d/b.ren=d/c"],
            Ok(&[("d/b.ibd", 5), ("d/c.ibd", 6)]),
        );
        // A chain of three whose names sort the other way.
        check(
            &[("d/c.ibd", 5), ("d/b.ibd", 6), ("d/a.ibd", 7)],
            &["d/c.ren=d/b", "d/b.ren=d/a", "d/a.ren=d/z"],
            Ok(&[("d/a.ibd", 6), ("d/b.ibd", 5), ("d/z.ibd", 7)]),
        );
        // Two independent swaps and a plain rename at once.
        check(
            &[
                ("d/a.ibd", 1),
                ("d/b.ibd", 2),
                ("d/c.ibd", 3),
                ("d/e.ibd", 4),
                ("d/x.ibd", 9),
            ],
            &[
                "d/a.ren=d/b",
                "d/b.ren=d/a",
                "d/c.ren=d/e",
                "d/e.ren=d/c",
                "d/x.ren=d/y",
            ],
            Ok(&[
                ("d/a.ibd", 2),
                ("d/b.ibd", 1),
                ("d/c.ibd", 4),
                ("d/e.ibd", 3),
                ("d/y.ibd", 9),
            ]),
        );
    }

    #[test]
    fn renames_with_drops_and_creates() {
        // Rename onto a dropped table: the drop goes first.
        check(
            &[("d/a.ibd", 5), ("d/b.ibd", 6)],
            &["d/a.ren=d/b", "d/b.del"],
            Ok(&[("d/b.ibd", 5)]),
        );
        // Rename, then a new table under the old name (RENAME t5 TO t6; CREATE t5).
        check(
            &[("d/t5.ibd", 5), ("d/t5.new", 8)],
            &["d/t5.ren=d/t6"],
            Ok(&[("d/t5.ibd", 8), ("d/t6.ibd", 5)]),
        );
        // Swap plus a new table under a third name.
        check(
            &[("d/a.ibd", 5), ("d/b.ibd", 6), ("d/c.new", 9)],
            &["d/a.ren=d/b", "d/b.ren=d/a"],
            Ok(&[("d/a.ibd", 6), ("d/b.ibd", 5), ("d/c.ibd", 9)]),
        );
        // Drop and create under the same name (also ALTER by copy, TRUNCATE).
        check(
            &[("d/a.ibd", 5), ("d/a.new", 9)],
            &["d/a.del"],
            Ok(&[("d/a.ibd", 9)]),
        );
        // Re-created in place: the new copy replaces the old one.
        check(
            &[("d/a.ibd", 5), ("d/a.new", 5)],
            &[],
            Ok(&[("d/a.ibd", 5)]),
        );
        // Created during the backup, nothing copied before.
        check(&[("d/n.new", 9)], &[], Ok(&[("d/n.ibd", 9)]));
        // Dropped, its file already gone (a mariadb-backup .del of a file never copied).
        check(&[("d/b.ibd", 6)], &["d/a.del"], Ok(&[("d/b.ibd", 6)]));
        // Name reuse: b→c, then a→b, and a new a.
        check(
            &[("d/a.ibd", 5), ("d/b.ibd", 6), ("d/a.new", 7)],
            &["d/a.ren=d/b", "d/b.ren=d/c"],
            Ok(&[("d/a.ibd", 7), ("d/b.ibd", 5), ("d/c.ibd", 6)]),
        );
        // Renamed and copied again under its new name (older hotbackup backups of a
        // chain): the new copy wins, as in mariadb-backup, and frees the old name.
        check(
            &[("d/c1.ibd", 5), ("d/c2.ibd", 6), ("d/c3.new", 6)],
            &["d/c1.ren=d/c2", "d/c2.ren=d/c3"],
            Ok(&[("d/c2.ibd", 5), ("d/c3.ibd", 6)]),
        );
        // A deferred copy (page 0 all zero) dropped and another table renamed onto it.
        check(
            &[("d/a.ibd", 5), ("d/b.ibd", 0)],
            &["d/a.ren=d/b", "d/b.del"],
            Ok(&[("d/b.ibd", 5)]),
        );
    }

    #[test]
    fn refusals_name_the_files() {
        // Two renames to one name.
        check(
            &[("d/a.ibd", 5), ("d/b.ibd", 6)],
            &["d/a.ren=d/c", "d/b.ren=d/c"],
            Err(&["d/b.ren", "d/a.ren renames to d/c.ibd too"]),
        );
        // The source is missing.
        check(
            &[("d/b.ibd", 6)],
            &["d/a.ren=d/c"],
            Err(&["d/a.ren", "d/a.ibd is not in the backup"]),
        );
        // The target exists and stays.
        check(
            &[("d/a.ibd", 5), ("d/b.ibd", 6)],
            &["d/a.ren=d/b"],
            Err(&[
                "d/a.ren",
                "d/b.ibd, which exists",
                "no d/b.ren",
                "no d/b.del",
            ]),
        );
        // Renamed and dropped.
        check(
            &[("d/a.ibd", 5)],
            &["d/a.ren=d/b", "d/a.del"],
            Err(&["d/a.ren", "d/a.del drops the same table"]),
        );
        // Renamed onto another new table.
        check(
            &[("d/a.ibd", 5), ("d/b.new", 6)],
            &["d/a.ren=d/b"],
            Err(&[
                "d/a.ren",
                "d/b.new is another table of that name (tablespace 6)",
            ]),
        );
        // Into a database that is not there.
        check(
            &[("d/a.ibd", 5)],
            &["d/a.ren=nodb/a"],
            Err(&["d/a.ren", "database directory nodb"]),
        );
        // Two files end up with one space id.
        check(
            &[("d/a.ibd", 5), ("d/b.ibd", 5)],
            &["d/a.ren=d/c"],
            Err(&["d/a.ibd and d/b.ibd would both be tablespace 5"]),
        );
        // Every problem is reported at once.
        let errors = plan(&inputs(&[("d/b.ibd", 6)], &["d/a.ren=d/c", "d/x.ren=d/c"])).unwrap_err();
        assert_eq!(errors.len(), 3, "{errors:?}");
    }

    #[test]
    fn steps_of_a_swap_and_a_cycle() {
        let p = plan(&inputs(
            &[("d/a.ibd", 5), ("d/b.ibd", 6)],
            &["d/a.ren=d/b", "d/b.ren=d/a"],
        ))
        .unwrap();
        let r = |from: &str, to: &str, id: u32| Step::Rename {
            from: from.into(),
            to: to.into(),
            space: Some(SpaceId(id)),
        };
        assert_eq!(
            p.steps,
            vec![
                r("d/a.ibd", "d/a.ibd.hotbackup-swap", 5),
                r("d/b.ibd", "d/a.ibd", 6),
                r("d/a.ibd.hotbackup-swap", "d/b.ibd", 5),
            ]
        );
        assert_eq!(p.markers, vec!["d/a.ren".to_string(), "d/b.ren".into()]);
        // A leftover file with the temporary name is never overwritten.
        let mut i = inputs(
            &[("d/a.ibd", 5), ("d/b.ibd", 6)],
            &["d/a.ren=d/b", "d/b.ren=d/a"],
        );
        i.present.insert("d/a.ibd.hotbackup-swap".into());
        let p = plan(&i).unwrap();
        assert_eq!(p.steps[0], r("d/a.ibd", "d/a.ibd.hotbackup-swap2", 5));
    }
}
