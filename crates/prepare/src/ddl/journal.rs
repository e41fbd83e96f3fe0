//! Runs a DDL plan so that a prepare killed in the middle is finished by the next one:
//! the plan is written to a journal (atomically, fsynced) before the first step, each
//! step is made durable and then recorded as done, and the markers and the journal are
//! removed only after the last step.
//!
//! Journal (`hotbackup_ddl_journal`, text, fields separated by a tab, shown as `→`; paths
//! relative to the backup; space id `-` when page 0 was empty):
//!
//! ```text
//! hotbackup ddl plan 1
//! remove→db/t.ibd→12
//! rename→db/a.ibd→db/b.ibd→5
//! marker→db/a.ren
//! end
//! done 1                          (appended after each step)
//! ```
//!
//! Only the step after the last `done` can be half-known: it ran iff its source is gone.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use innodb::page::fsp::{FspHeader, FSP_HEADER_OFFSET, FSP_SPACE_FLAGS};
use innodb::SpaceId;

use super::plan::{Plan, Step};
use crate::error::PrepareError;
use crate::progress::{DdlAction, Event, Progress};

/// The journal's file name in the backup directory.
pub(crate) const JOURNAL: &str = "hotbackup_ddl_journal";
const MAGIC: &str = "hotbackup ddl plan 1";

/// Bytes of page 0 that hold both space ids and the flags.
const PAGE0_HEAD: usize = FSP_HEADER_OFFSET + FSP_SPACE_FLAGS + 4;

/// The space id on page 0 of `path`; `None` for an empty, short or unparsable page 0.
pub(crate) fn space_id(path: &Path) -> Result<Option<SpaceId>, PrepareError> {
    let file = File::open(path).map_err(|e| PrepareError::io("open", path, e))?;
    let mut head = [0u8; PAGE0_HEAD];
    match file.read_exact_at(&mut head, 0) {
        Ok(()) => Ok(FspHeader::parse(&head).ok().map(|h| h.space_id)),
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => Ok(None),
        Err(e) => Err(PrepareError::io("read page 0 of", path, e)),
    }
}

fn id_text(id: Option<SpaceId>) -> String {
    id.map_or("-".into(), |s| s.0.to_string())
}

/// The journal text of a plan.
pub(crate) fn render(plan: &Plan) -> String {
    let mut s = format!("{MAGIC}\n");
    for step in &plan.steps {
        match step {
            Step::Remove { path, space } => {
                s += &format!("remove\t{path}\t{}\n", id_text(*space));
            }
            Step::Rename { from, to, space } => {
                s += &format!("rename\t{from}\t{to}\t{}\n", id_text(*space));
            }
        }
    }
    for m in &plan.markers {
        s += &format!("marker\t{m}\n");
    }
    s + "end\n"
}

/// Parses a journal: the plan and how many of its steps are recorded as done.
pub(crate) fn parse(text: &str) -> Result<(Plan, usize), String> {
    let mut lines = text.split_inclusive('\n');
    if lines.next() != Some(&format!("{MAGIC}\n")) {
        return Err(format!("does not start with {MAGIC:?}"));
    }
    let mut plan = Plan::default();
    let id = |s: &str| -> Result<Option<SpaceId>, String> {
        match s {
            "-" => Ok(None),
            s => s
                .parse()
                .map(|n| Some(SpaceId(n)))
                .map_err(|_| format!("bad space id {s:?}")),
        }
    };
    let mut ended = false;
    for line in lines.by_ref() {
        let Some(line) = line.strip_suffix('\n') else {
            return Err("ends before its `end` line".into());
        };
        let f: Vec<&str> = line.split('\t').collect();
        match f.as_slice() {
            ["remove", path, space] => plan.steps.push(Step::Remove {
                path: path.to_string(),
                space: id(space)?,
            }),
            ["rename", from, to, space] => plan.steps.push(Step::Rename {
                from: from.to_string(),
                to: to.to_string(),
                space: id(space)?,
            }),
            ["marker", m] => plan.markers.push(m.to_string()),
            ["end"] => {
                ended = true;
                break;
            }
            _ => return Err(format!("unexpected line {line:?}")),
        }
    }
    if !ended {
        return Err("ends before its `end` line".into());
    }
    let mut done = 0;
    for line in lines {
        // A torn last append (no newline) is a step not recorded.
        let Some(line) = line.strip_suffix('\n') else {
            break;
        };
        if line != format!("done {}", done + 1) || done >= plan.steps.len() {
            return Err(format!("unexpected line {line:?}"));
        }
        done += 1;
    }
    Ok((plan, done))
}

fn sync_dir(dir: &Path) -> Result<(), PrepareError> {
    File::open(dir)
        .and_then(|f| f.sync_all())
        .map_err(|e| PrepareError::io("fsync directory", dir, e))
}

fn parent(p: &Path) -> &Path {
    p.parent().unwrap_or(Path::new("."))
}

/// Writes the journal atomically (temporary file, fsync, rename, fsync of the directory).
pub(crate) fn write(dir: &Path, plan: &Plan) -> Result<(), PrepareError> {
    let path = dir.join(JOURNAL);
    let tmp = dir.join(format!("{JOURNAL}.tmp"));
    let mut f = File::create(&tmp).map_err(|e| PrepareError::io("create", &tmp, e))?;
    f.write_all(render(plan).as_bytes())
        .and_then(|()| f.sync_all())
        .map_err(|e| PrepareError::io("write", &tmp, e))?;
    fs::rename(&tmp, &path).map_err(|e| PrepareError::io("rename into place", &path, e))?;
    sync_dir(dir)
}

/// Reads the journal if there is one.
pub(crate) fn read(dir: &Path) -> Result<Option<(Plan, usize)>, PrepareError> {
    let path = dir.join(JOURNAL);
    let text = match fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(PrepareError::io("read", &path, e)),
    };
    parse(&text)
        .map(Some)
        .map_err(|what| PrepareError::DdlFile {
            path,
            what: format!(
                "{what}: this journal of an interrupted prepare is damaged, so the renames it \
             records cannot be finished safely; prepare a fresh copy of the backup"
            ),
        })
}

fn exists(p: &Path) -> bool {
    p.symlink_metadata().is_ok()
}

/// Refuses to move or remove a file that is not the one the plan was made for.
fn check_space(path: &Path, want: Option<SpaceId>) -> Result<(), PrepareError> {
    let Some(want) = want else { return Ok(()) };
    match space_id(path)? {
        Some(got) if got != want => Err(PrepareError::DdlFile {
            path: path.to_path_buf(),
            what: format!(
                "holds tablespace {got}, but the DDL plan was made for tablespace {want}: the \
                 backup directory changed during an interrupted prepare; prepare a fresh copy"
            ),
        }),
        _ => Ok(()),
    }
}

/// Runs one step unless it already ran; returns whether it acted.
fn run_step(dir: &Path, step: &Step, progress: &dyn Progress) -> Result<(), PrepareError> {
    match step {
        Step::Remove { path, space } => {
            let p = dir.join(path);
            if exists(&p) {
                check_space(&p, *space)?;
                fs::remove_file(&p).map_err(|e| PrepareError::io("remove", &p, e))?;
                sync_dir(parent(&p))?;
                progress.event(Event::Ddl {
                    action: DdlAction::Removed,
                    from: &p,
                    to: None,
                });
            }
        }
        Step::Rename { from, to, space } => {
            let (f, t) = (dir.join(from), dir.join(to));
            if exists(&f) {
                check_space(&f, *space)?;
                if exists(&t) {
                    return Err(PrepareError::DdlFile {
                        path: t,
                        what: format!(
                            "exists, but the DDL plan renames {} to it: the backup directory \
                             changed during an interrupted prepare; prepare a fresh copy",
                            f.display()
                        ),
                    });
                }
                fs::rename(&f, &t).map_err(|e| PrepareError::Io {
                    op: "rename",
                    path: PathBuf::from(format!("{} to {}", f.display(), t.display())),
                    source: e,
                })?;
                sync_dir(parent(&t))?;
                if parent(&t) != parent(&f) {
                    sync_dir(parent(&f))?;
                }
                let action = if from.ends_with(".new") {
                    DdlAction::Replaced
                } else if to.ends_with(".ibd") {
                    DdlAction::Renamed
                } else {
                    DdlAction::MovedAside
                };
                progress.event(Event::Ddl {
                    action,
                    from: &f,
                    to: Some(&t),
                });
            } else if !exists(&t) {
                return Err(PrepareError::DdlFile {
                    path: f,
                    what: format!(
                        "is missing and so is {}: the DDL plan in {JOURNAL} cannot be finished; \
                         prepare a fresh copy of the backup",
                        t.display()
                    ),
                });
            }
        }
    }
    Ok(())
}

/// Runs the steps from `done` on, then removes the markers and the journal. `stop_after`
/// (tests) returns after that many steps, as a kill would.
pub(crate) fn run(
    dir: &Path,
    plan: &Plan,
    done: usize,
    progress: &dyn Progress,
    stop_after: Option<usize>,
) -> Result<(), PrepareError> {
    let path = dir.join(JOURNAL);
    let mut journal = OpenOptions::new()
        .append(true)
        .open(&path)
        .map_err(|e| PrepareError::io("open", &path, e))?;
    for (i, step) in plan.steps.iter().enumerate().skip(done) {
        if stop_after == Some(i) {
            return Ok(());
        }
        run_step(dir, step, progress)?;
        journal
            .write_all(format!("done {}\n", i + 1).as_bytes())
            .and_then(|()| journal.sync_data())
            .map_err(|e| PrepareError::io("write", &path, e))?;
    }
    if stop_after == Some(plan.steps.len()) {
        return Ok(());
    }
    let mut dirs = vec![];
    for m in &plan.markers {
        let p = dir.join(m);
        match fs::remove_file(&p) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => {
                return Err(PrepareError::io("remove", &p, e))
            }
            _ => dirs.push(parent(&p).to_path_buf()),
        }
    }
    dirs.sort();
    dirs.dedup();
    for d in &dirs {
        sync_dir(d)?;
    }
    fs::remove_file(&path).map_err(|e| PrepareError::io("remove", &path, e))?;
    sync_dir(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn journal_round_trip_and_damage() {
        let plan = Plan {
            steps: vec![
                Step::Remove {
                    path: "d/b.ibd".into(),
                    space: None,
                },
                Step::Rename {
                    from: "d/a.ibd".into(),
                    to: "d/b.ibd".into(),
                    space: Some(SpaceId(7)),
                },
            ],
            markers: vec!["d/a.ren".into(), "d/b.del".into()],
        };
        let text = render(&plan);
        assert_eq!(parse(&text), Ok((plan.clone(), 0)));
        assert_eq!(parse(&format!("{text}done 1\n")), Ok((plan.clone(), 1)));
        // A torn append is a step not recorded.
        assert_eq!(parse(&format!("{text}done 1\ndon")), Ok((plan.clone(), 1)));
        for bad in [
            "".to_string(),
            text[..text.len() - 4].to_string(),
            format!("{text}done 2\n"),
            format!("{text}done 1\ndone 2\ndone 3\n"),
            text.replace("\t7", "\tseven"),
        ] {
            assert!(parse(&bad).is_err(), "{bad:?}");
        }
    }
}
