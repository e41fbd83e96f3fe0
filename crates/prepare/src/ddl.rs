//! The DDL marker files a backup leaves for DDL that ran while it copied
//! (redo-format.md §7 step 1, §9.2; mariadb-backup-behavior.md §2.7), applied before the
//! log as one plan:
//!
//! * `db/t.del` (empty): `db/t.ibd` was dropped;
//! * `db/t.ren` (content `db2/t2`, no newline): the table copied as `db/t.ibd` is now
//!   `db2/t2`;
//! * `db/t.new`: a full copy of a table created or rebuilt during the backup, which
//!   becomes `db/t.ibd`.
//!
//! A marker names the file a table was *copied* as, so markers must be read together:
//! applying them one by one breaks the swap `RENAME TABLE a TO tmp, b TO a, tmp TO b`.
//! [`plan`] orders all of them (removals, renames with cycles broken through a
//! temporary name, new files) and checks the whole plan against the files present;
//! nothing is touched when it fails. The checked plan ([`Pending`]) says what each file
//! will be called, so the prepare checks the pages under those names before anything
//! moves; [`Pending::execute`] then runs it through [`journal`] so that a killed
//! prepare is finished by the next one; markers are removed only after the last step.

mod journal;
mod plan;

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use crate::error::PrepareError;
use crate::progress::Progress;

pub(crate) use journal::space_id;
use plan::Inputs;
pub(crate) use plan::Plan;

/// Files of the directory and its database directories, as relative paths with `/`.
pub(crate) fn list(dir: &Path) -> Result<(Vec<String>, Vec<String>), PrepareError> {
    let read = |d: &Path| fs::read_dir(d).map_err(|e| PrepareError::io("list", d, e));
    let mut files = vec![];
    let mut dirs = vec![];
    for entry in read(dir)? {
        let entry = entry.map_err(|e| PrepareError::io("list", dir, e))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let ft = entry
            .file_type()
            .map_err(|e| PrepareError::io("stat", entry.path(), e))?;
        if ft.is_dir() {
            let sub = entry.path();
            for e in read(&sub)? {
                let e = e.map_err(|err| PrepareError::io("list", &sub, err))?;
                if e.file_type().is_ok_and(|t| t.is_file()) {
                    files.push(format!("{name}/{}", e.file_name().to_string_lossy()));
                }
            }
            dirs.push(name);
        } else if ft.is_file() {
            files.push(name);
        }
    }
    files.sort();
    Ok((files, dirs))
}

/// The new name in a `.ren` file: `db/table`, as mariadb-backup writes it.
pub(crate) fn parse_ren(marker: &Path, content: &[u8]) -> Result<String, PrepareError> {
    let bad = |what: String| PrepareError::DdlFile {
        path: marker.to_path_buf(),
        what,
    };
    let text = std::str::from_utf8(content)
        .map_err(|_| bad("is not text; expected `database/table`".into()))?;
    let target = text.trim_end_matches(['\n', '\r', '\0', ' ']);
    let parts: Vec<&str> = target.split('/').collect();
    if parts.len() != 2
        || parts
            .iter()
            .any(|p| p.is_empty() || *p == "." || *p == ".." || p.contains(['\t', '\n']))
    {
        return Err(bad(format!("expected `database/table`, found {target:?}")));
    }
    Ok(target.to_string())
}

/// Reads the markers and the files they concern; `None` when there are no markers.
fn inputs(dir: &Path) -> Result<Option<Inputs>, PrepareError> {
    let (files, dirs) = list(dir)?;
    let has_markers = files
        .iter()
        .any(|f| f.ends_with(".del") || f.ends_with(".ren") || f.ends_with(".new"));
    if !has_markers {
        return Ok(None);
    }
    let mut i = Inputs {
        dirs: dirs.into_iter().collect(),
        ..Default::default()
    };
    for f in &files {
        let path = dir.join(f);
        if let Some(n) = f.strip_suffix(".ibd") {
            i.ibd.insert(n.into(), journal::space_id(&path)?);
        } else if let Some(n) = f.strip_suffix(".new") {
            i.new.insert(n.into(), journal::space_id(&path)?);
        } else if let Some(n) = f.strip_suffix(".del") {
            i.del.insert(n.into());
        } else if let Some(n) = f.strip_suffix(".ren") {
            let content = fs::read(&path).map_err(|e| PrepareError::io("read", &path, e))?;
            i.ren.insert(n.into(), parse_ren(&path, &content)?);
        }
        i.present.insert(f.clone());
    }
    Ok(Some(i))
}

/// The DDL plan of a backup directory, checked whole and not yet run: until
/// [`Pending::execute`], the directory is as it was found, and [`Pending::after`] says
/// what each of its files will be called once the plan has run.
pub(crate) struct Pending {
    dir: PathBuf,
    plan: Option<Plan>,
    /// Relative path now → relative path after the plan; absent: removed by the plan.
    after: BTreeMap<String, String>,
}

/// Finishes the plan of a prepare that was interrupted (its checks passed then, so the
/// directory goes to the state they were made for), then reads the markers and checks
/// the plan that applies them. Nothing else is changed.
pub(crate) fn plan(dir: &Path, progress: &dyn Progress) -> Result<Pending, PrepareError> {
    if let Some((plan, done)) = journal::read(dir)? {
        journal::run(dir, &plan, done, progress, None)?;
    }
    let Some(inputs) = inputs(dir)? else {
        return Ok(Pending {
            dir: dir.to_path_buf(),
            plan: None,
            after: BTreeMap::new(),
        });
    };
    let plan = plan::plan(&inputs).map_err(|errors| {
        let first = &errors[0];
        let mut what = first.what.clone();
        for e in &errors[1..] {
            what += &format!("; {e}");
        }
        PrepareError::DdlFile {
            path: dir.join(&first.marker),
            what: format!(
                "{what}. Nothing was changed: the DDL markers (.del/.ren/.new) do not fit the \
                 files of the backup; take a new backup"
            ),
        }
    })?;
    // Where each file ends up: the plan run on the names (checked runnable by `plan`),
    // then its markers removed.
    let mut files: BTreeMap<String, String> = inputs
        .present
        .iter()
        .map(|f| (f.clone(), f.clone()))
        .collect();
    plan::simulate(&mut files, &plan.steps).map_err(|what| PrepareError::DdlFile {
        path: dir.to_path_buf(),
        what: format!("the DDL plan cannot run (a bug): {what}"),
    })?;
    for m in &plan.markers {
        files.remove(m);
    }
    Ok(Pending {
        dir: dir.to_path_buf(),
        plan: Some(plan),
        after: files.into_iter().map(|(now, was)| (was, now)).collect(),
    })
}

impl Pending {
    /// The path `path` (a file of the directory as it is now) will have once the plan
    /// has run; `None` if the plan removes it.
    pub(crate) fn after(&self, path: &Path) -> Option<PathBuf> {
        if self.plan.is_none() {
            return Some(path.to_path_buf());
        }
        let Some(rel) = path.strip_prefix(&self.dir).ok().and_then(Path::to_str) else {
            return Some(path.to_path_buf());
        };
        self.after.get(rel).map(|r| self.dir.join(r))
    }

    /// Runs the plan from a fsynced journal that an interrupted prepare's successor
    /// finishes; the markers and the journal are removed after the last step.
    pub(crate) fn execute(&self, progress: &dyn Progress) -> Result<(), PrepareError> {
        let Some(plan) = &self.plan else {
            return Ok(());
        };
        journal::write(&self.dir, plan)?;
        journal::run(&self.dir, plan, 0, progress, None)
    }
}

/// Finishes the plan of a prepare that was interrupted, if there is one.
pub(crate) fn finish_interrupted(dir: &Path, progress: &dyn Progress) -> Result<(), PrepareError> {
    if let Some((plan, done)) = journal::read(dir)? {
        journal::run(dir, &plan, done, progress, None)?;
    }
    Ok(())
}

/// Renames and removals of `.ibd` files in `dir` that another step computed (the
/// incremental apply's matching of deltas to tablespaces): `moves` (name → new name,
/// `db/t` without `.ibd`) and `removals`, run as one plan (swaps and chains through a
/// temporary name) from the same journal as the markers' plan. `ibd` are the `.ibd`
/// files of `dir` with their space ids, `present` every file and `dirs` the database
/// directories there will be. Checked whole before the first step.
pub(crate) struct Moves {
    /// Every file of the directory (relative paths, extension included).
    pub(crate) present: std::collections::BTreeSet<String>,
    /// Database directories present when the plan runs.
    pub(crate) dirs: std::collections::BTreeSet<String>,
    /// `db/t` → space id of `db/t.ibd`.
    pub(crate) ibd: BTreeMap<String, Option<innodb::SpaceId>>,
    /// `db/t` → `db2/t2`.
    pub(crate) moves: BTreeMap<String, String>,
    /// `db/t` whose `.ibd` goes.
    pub(crate) removals: std::collections::BTreeSet<String>,
}

impl Moves {
    /// Checks the plan; `Ok(None)` when there is nothing to do.
    pub(crate) fn plan(self, dir: &Path, what: &str) -> Result<Option<Plan>, PrepareError> {
        if self.moves.is_empty() && self.removals.is_empty() {
            return Ok(None);
        }
        let inputs = Inputs {
            present: self.present,
            dirs: self.dirs,
            ibd: self.ibd,
            new: BTreeMap::new(),
            del: self.removals,
            ren: self.moves,
        };
        let mut plan = plan::plan(&inputs).map_err(|errors| PrepareError::DdlFile {
            path: dir.to_path_buf(),
            what: format!(
                "{what}: {}",
                errors
                    .iter()
                    .map(|e| e.what.clone())
                    .collect::<Vec<_>>()
                    .join("; ")
            ),
        })?;
        // No marker files: the steps were computed, not read from markers.
        plan.markers.clear();
        Ok(Some(plan))
    }
}

/// Runs a plan of [`Moves::plan`] from the journal (finished by the next run if killed).
pub(crate) fn run_plan(
    dir: &Path,
    plan: &Plan,
    progress: &dyn Progress,
) -> Result<(), PrepareError> {
    journal::write(dir, plan)?;
    journal::run(dir, plan, 0, progress, None)
}

/// Plans and runs in one go (tests); `stop_after` returns after that many steps, as a
/// kill would.
#[cfg(test)]
fn process_until(
    dir: &Path,
    progress: &dyn Progress,
    stop_after: Option<usize>,
) -> Result<(), PrepareError> {
    if let Some((plan, done)) = journal::read(dir)? {
        journal::run(dir, &plan, done, progress, stop_after)?;
        if stop_after.is_some() {
            return Ok(());
        }
    }
    let pending = plan(dir, progress)?;
    let Some(p) = &pending.plan else {
        return Ok(());
    };
    journal::write(dir, p)?;
    journal::run(dir, p, 0, progress, stop_after)
}

/// [`plan`] then [`Pending::execute`] (tests).
#[cfg(test)]
fn process(dir: &Path, progress: &dyn Progress) -> Result<(), PrepareError> {
    plan(dir, progress)?.execute(progress)
}

/// The journal file.
#[cfg(test)]
fn journal_path(dir: &Path) -> std::path::PathBuf {
    dir.join(journal::JOURNAL)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;
    use std::path::PathBuf;

    use crate::progress::NoProgress;

    /// A fresh directory; each test removes it at its end.
    fn tmpdir() -> PathBuf {
        testkit::TestDir::new("ddl").unwrap().into_path()
    }

    /// A page 0 head carrying `id` in both space id fields (flags 0x15: 16k, full_crc32).
    fn page0(id: u32) -> Vec<u8> {
        let mut p = vec![0u8; 16384];
        p[34..38].copy_from_slice(&id.to_be_bytes());
        p[38..42].copy_from_slice(&id.to_be_bytes());
        p[54..58].copy_from_slice(&0x15u32.to_be_bytes());
        p
    }

    /// `name → content` of every file (page 0 files shown by their space id).
    fn snapshot(dir: &Path) -> BTreeMap<String, String> {
        let (files, _) = list(dir).unwrap();
        files
            .into_iter()
            .map(|f| {
                let b = fs::read(dir.join(&f)).unwrap();
                let v = if b.len() == 16384 {
                    format!("space {}", u32::from_be_bytes([b[34], b[35], b[36], b[37]]))
                } else {
                    String::from_utf8_lossy(&b).into_owned()
                };
                (f, v)
            })
            .collect()
    }

    /// A backup directory: tablespace files with their ids, markers with their content.
    fn setup(spaces: &[(&str, u32)], markers: &[(&str, &str)]) -> PathBuf {
        let d = tmpdir();
        for (f, id) in spaces.iter().map(|(f, id)| (*f, *id)) {
            let p = d.join(f);
            fs::create_dir_all(p.parent().unwrap()).unwrap();
            fs::write(p, page0(id)).unwrap();
        }
        for (f, content) in markers {
            let p = d.join(f);
            fs::create_dir_all(p.parent().unwrap()).unwrap();
            fs::write(p, content).unwrap();
        }
        fs::write(d.join("xtrabackup_checkpoints"), "x").unwrap();
        d
    }

    fn expect(dir: &Path, files: &[(&str, u32)]) {
        let mut want: BTreeMap<String, String> = files
            .iter()
            .map(|(f, id)| (f.to_string(), format!("space {id}")))
            .collect();
        want.insert("xtrabackup_checkpoints".into(), "x".into());
        assert_eq!(snapshot(dir), want);
    }

    #[test]
    fn swap_chain_drop_and_create_on_disk() {
        let spaces = [
            ("d/a.ibd", 5),
            ("d/b.ibd", 6),
            ("d/c.ibd", 7),
            ("d/e.ibd", 8),
            ("d/t5.ibd", 9),
            ("d/t5.new", 10),
            ("e/x.ibd", 11),
            ("e/y.ibd", 12),
        ];
        let markers = [
            ("d/a.ren", "d/b"),
            ("d/b.ren", "d/a"),
            ("d/c.ren", "d/e"),
            ("d/e.del", ""),
            ("d/t5.ren", "d/t6"),
            ("e/x.ren", "e/y"),
            ("e/y.ren", "e/z"),
        ];
        let want = [
            ("d/a.ibd", 6),
            ("d/b.ibd", 5),
            ("d/e.ibd", 7),
            ("d/t5.ibd", 10),
            ("d/t6.ibd", 9),
            ("e/y.ibd", 11),
            ("e/z.ibd", 12),
        ];
        // Planned only: nothing changes, and the names after the plan are those the
        // run gives.
        let d = setup(&spaces, &markers);
        let before = snapshot(&d);
        let pending = plan(&d, &NoProgress).unwrap();
        assert_eq!(snapshot(&d), before);
        let mut after: BTreeMap<String, String> = BTreeMap::new();
        for (f, content) in &before {
            if let Some(then) = pending.after(&d.join(f)) {
                let then = then
                    .strip_prefix(&d)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned();
                assert!(after.insert(then, content.clone()).is_none(), "{f}");
            }
        }
        assert_eq!(pending.after(&d.join("d/e.ibd")), None, "dropped");
        assert_eq!(pending.after(&d.join("d/t5.new")), Some(d.join("d/t5.ibd")));
        // Uninterrupted.
        pending.execute(&NoProgress).unwrap();
        expect(&d, &want);
        assert_eq!(snapshot(&d), after);
        // Nothing left to do the second time.
        process(&d, &NoProgress).unwrap();
        expect(&d, &want);
        fs::remove_dir_all(&d).unwrap();

        // Killed after every possible number of steps (and once more during the
        // resumption), then prepared again: the same result.
        let n_steps = plan::plan(&inputs(&setup(&spaces, &markers)).unwrap().unwrap())
            .unwrap()
            .steps
            .len();
        assert_eq!(n_steps, 9);
        for k in 0..=n_steps {
            let d = setup(&spaces, &markers);
            process_until(&d, &NoProgress, Some(k)).unwrap();
            assert!(journal_path(&d).exists());
            if k < n_steps {
                // The markers are still there until the plan is done.
                assert!(d.join("d/a.ren").exists());
                process_until(&d, &NoProgress, Some(n_steps)).unwrap();
            }
            process(&d, &NoProgress).unwrap();
            expect(&d, &want);
            fs::remove_dir_all(&d).unwrap();
        }
    }

    #[test]
    fn the_step_in_flight_when_killed_is_not_repeated() {
        // Killed after the rename of step 1 but before `done 1` was recorded.
        let d = setup(
            &[("d/a.ibd", 5), ("d/b.ibd", 6)],
            &[("d/a.ren", "d/b"), ("d/b.ren", "d/a")],
        );
        process_until(&d, &NoProgress, Some(0)).unwrap();
        fs::rename(d.join("d/a.ibd"), d.join("d/a.ibd.hotbackup-swap")).unwrap();
        process(&d, &NoProgress).unwrap();
        expect(&d, &[("d/a.ibd", 6), ("d/b.ibd", 5)]);
        fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn refused_plans_touch_nothing() {
        for (spaces, markers, words) in [
            (
                &[("d/a.ibd", 5), ("d/b.ibd", 6)][..],
                &[("d/a.ren", "d/c"), ("d/b.ren", "d/c")][..],
                &[
                    "d/b.ren",
                    "d/a.ren renames to d/c.ibd too",
                    "Nothing was changed",
                ][..],
            ),
            (
                &[("d/b.ibd", 6)],
                &[("d/a.ren", "d/b"), ("d/b.del", "")],
                &["d/a.ren", "d/a.ibd is not in the backup"],
            ),
            (
                &[("d/a.ibd", 5), ("d/b.ibd", 6)],
                &[("d/a.ren", "d/b")],
                &["d/a.ren", "d/b.ibd, which exists"],
            ),
            (
                &[("d/a.ibd", 5)],
                &[("d/a.ren", "../../etc/passwd")],
                &["d/a.ren", "expected `database/table`"],
            ),
        ] {
            let d = setup(spaces, markers);
            let before = snapshot(&d);
            let e = process(&d, &NoProgress).unwrap_err().to_string();
            for w in words {
                assert!(e.contains(w), "{w:?} not in {e:?}");
            }
            assert_eq!(snapshot(&d), before, "{e}");
            fs::remove_dir_all(&d).unwrap();
        }
    }

    #[test]
    fn a_file_that_changed_since_the_plan_is_not_moved() {
        let d = setup(
            &[("d/a.ibd", 5), ("d/b.ibd", 6)],
            &[("d/a.ren", "d/b"), ("d/b.ren", "d/a")],
        );
        process_until(&d, &NoProgress, Some(1)).unwrap();
        // Someone put another tablespace under the name step 2 moves.
        fs::write(d.join("d/b.ibd"), page0(99)).unwrap();
        let e = process(&d, &NoProgress).unwrap_err().to_string();
        assert!(e.contains("holds tablespace 99"), "{e}");
        fs::remove_dir_all(&d).unwrap();
    }
}
