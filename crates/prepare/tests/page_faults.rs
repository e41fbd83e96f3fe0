//! Prepare checks what it reads, and survives being killed: corrupt pages the log
//! reads are refused before anything is written; corrupt pages the log rebuilds or
//! never reads are not an error and are never re-stamped; a prepare stopped at any page
//! write (whole or torn) and run again gives the same bytes as one that was not. A
//! refused prepare leaves the directory byte for byte as it was, DDL markers (`.new`,
//! `.ren`) and the files they name included: every check runs before a file moves.

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use common::{as_taken, phys_page_size, sample, Recorder};
use prepare::{prepare, CrashPoint, PrepareError, PrepareOptions, PrepareSummary, JOURNAL};
use testkit::{differing_files, file_snapshot};

/// The sample prepared without interruption: (all files, summary).
fn reference(options: &PrepareOptions) -> (BTreeMap<String, Vec<u8>>, PrepareSummary) {
    let dir = sample("reference");
    let s = prepare(&dir, options, &Recorder::default()).unwrap();
    let files = file_snapshot(&dir);
    fs::remove_dir_all(&dir).unwrap();
    (files, s)
}

/// Flips bytes in the middle of page `page_no` of `file`.
fn damage(file: &Path, page_no: usize, phys: usize) {
    let mut b = fs::read(file).unwrap();
    let at = page_no * phys + phys / 2;
    for x in &mut b[at..at + 8] {
        *x ^= 0xA5;
    }
    fs::write(file, b).unwrap();
}

/// (file, page number) pairs.
type Pages = Vec<(String, usize)>;

/// Pages (file, page number) that the prepare changes, and pages it leaves alone,
/// not all zero before the prepare.
fn changed_and_untouched(
    before: &BTreeMap<String, Vec<u8>>,
    after: &BTreeMap<String, Vec<u8>>,
) -> (Pages, Pages) {
    let (mut changed, mut untouched) = (vec![], vec![]);
    for (name, old) in before {
        if !(name == "ibdata1" || name.ends_with(".ibd")) {
            continue;
        }
        let new = &after[name];
        let phys = phys_page_size(new);
        for (i, page) in old.chunks(phys).enumerate() {
            if page.iter().all(|&b| b == 0) {
                continue;
            }
            if new.get(i * phys..(i + 1) * phys) != Some(page) {
                changed.push((name.clone(), i));
            } else {
                untouched.push((name.clone(), i));
            }
        }
    }
    (changed, untouched)
}

#[test]
fn corrupt_page_the_log_reads_fails_and_leaves_the_directory_as_it_was() {
    let options = PrepareOptions::default();
    let (after, _) = reference(&options);
    let probe = sample("probe");
    let before = file_snapshot(&probe);
    fs::remove_dir_all(&probe).unwrap();
    let (changed, _) = changed_and_untouched(&before, &after);
    assert!(changed.len() > 100, "pages changed: {}", changed.len());

    // A few changed pages of each file: each is read by the log (corrupt → refused)
    // or rebuilt by INIT_PAGE/FREE_PAGE (any bytes → same result as undamaged).
    let mut refused = 0;
    let mut picks: Vec<&(String, usize)> = vec![];
    for name in ["ibdata1", "w/t_dyn.ibd", "w/t_red.ibd", "w/t_small.ibd"] {
        let of_file: Vec<_> = changed.iter().filter(|(n, _)| n == name).collect();
        picks.extend(of_file.iter().step_by((of_file.len() / 3).max(1)).take(3));
    }
    for (name, page_no) in picks {
        // The backup as taken: t_small is still `w/t_small.new`, to be put in place.
        let dir = as_taken("corrupt");
        let file = as_taken_name(name);
        let phys = phys_page_size(&before[name]);
        damage(&dir.join(file), *page_no, phys);
        let damaged = file_snapshot(&dir);
        assert!(damaged.contains_key("w/t_small.new"));
        match prepare(&dir, &options, &Recorder::default()) {
            Err(err @ PrepareError::CorruptPage { .. }) => {
                refused += 1;
                let msg = err.to_string();
                let PrepareError::CorruptPage {
                    path,
                    page_no: p,
                    more,
                    ..
                } = &err
                else {
                    unreachable!()
                };
                // Named as it is in the directory, which is unchanged.
                assert!(path.ends_with(file), "{msg}");
                assert_eq!((p.0 as usize, *more), (*page_no, 0), "{msg}");
                assert!(
                    msg.contains(&format!("page {page_no} of tablespace"))
                        && msg.contains("take a new backup"),
                    "{msg}"
                );
                testkit::assert_same_files(
                    &damaged,
                    &dir,
                    &format!("{name} page {page_no}: a refused prepare changed"),
                );
            }
            Ok(_) => {
                // Rebuilt from the log without reading it.
                testkit::assert_same_files(
                    &after,
                    &dir,
                    &format!("{name} page {page_no}: rebuilt page, result differs"),
                );
            }
            Err(e) => panic!("{name} page {page_no}: {e}"),
        }
        fs::remove_dir_all(&dir).unwrap();
    }
    assert!(refused >= 4, "only {refused} damaged pages were refused");
}

/// The name a data file of the prepared sample has in the sample as taken.
fn as_taken_name(name: &str) -> &str {
    match name {
        "w/t_small.ibd" => "w/t_small.new",
        n => n,
    }
}

/// Markers of `RENAME TABLE t_dyn TO tmp, t_red TO t_dyn, tmp TO t_red` run during the
/// backup (the swap of pt-online-schema-change), on the sample as taken.
fn swap_sample(tag: &str) -> std::path::PathBuf {
    let dir = as_taken(tag);
    fs::write(dir.join("w/t_dyn.ren"), "w/t_red").unwrap();
    fs::write(dir.join("w/t_red.ren"), "w/t_dyn").unwrap();
    dir
}

/// `files` with the contents of t_dyn and t_red exchanged.
fn swapped(files: &BTreeMap<String, Vec<u8>>) -> BTreeMap<String, Vec<u8>> {
    let mut out = files.clone();
    out.insert("w/t_dyn.ibd".into(), files["w/t_red.ibd"].clone());
    out.insert("w/t_red.ibd".into(), files["w/t_dyn.ibd"].clone());
    out
}

#[test]
fn swap_with_a_corrupt_page_fails_and_leaves_the_directory_as_it_was() {
    let options = PrepareOptions::default();
    let (after, s) = reference(&options);
    let expected = swapped(&after);
    let probe = sample("probe");
    let before = file_snapshot(&probe);
    fs::remove_dir_all(&probe).unwrap();

    // Undamaged: the swap and the .new are applied and the pages follow their space.
    let dir = swap_sample("swap");
    prepare(&dir, &options, &Recorder::default()).unwrap();
    testkit::assert_same_files(
        &expected,
        &dir,
        "the swap and the .new applied, result differs",
    );
    fs::remove_dir_all(&dir).unwrap();

    // A changed page of the file copied as t_dyn (space 5, t_red after the swap): read
    // by the log → refused with nothing renamed; rebuilt → the same result.
    let (changed, _) = changed_and_untouched(&before, &after);
    let of_dyn: Vec<usize> = changed
        .iter()
        .filter(|(n, _)| n == "w/t_dyn.ibd")
        .map(|(_, p)| *p)
        .collect();
    let mut refused = false;
    for &page_no in of_dyn.iter().step_by((of_dyn.len() / 6).max(1)) {
        let dir = swap_sample("swap-corrupt");
        damage(&dir.join("w/t_dyn.ibd"), page_no, 4096);
        let damaged = file_snapshot(&dir);
        match prepare(&dir, &options, &Recorder::default()) {
            Err(err @ PrepareError::CorruptPage { .. }) => {
                let msg = err.to_string();
                assert!(
                    msg.contains("t_dyn.ibd") && msg.contains(&format!("page {page_no} of")),
                    "{msg}"
                );
                testkit::assert_same_files(
                    &damaged,
                    &dir,
                    &format!("page {page_no}: a refused prepare changed"),
                );
                assert!(!dir.join(DDL_JOURNAL).exists());
                refused = true;
            }
            Ok(_) => {
                testkit::assert_same_files(
                    &expected,
                    &dir,
                    &format!("page {page_no}: rebuilt page, result differs"),
                );
            }
            Err(e) => panic!("page {page_no}: {e}"),
        }
        fs::remove_dir_all(&dir).unwrap();
        if refused {
            break;
        }
    }
    assert!(refused, "no damaged page of t_dyn was refused");

    // Killed at page writes after the swap ran: the page journal names the files by
    // their new names, and the re-run ends where an uninterrupted prepare does.
    for (n, torn) in [(1, true), (s.pages_written + 3, true)] {
        crash_and_rerun_in(
            swap_sample(&format!("swap-crash-{n}")),
            &options,
            &expected,
            n,
            torn,
        );
    }
}

/// The journal prepare keeps while it runs the DDL markers.
const DDL_JOURNAL: &str = "hotbackup_ddl_journal";

#[test]
fn ddl_plan_of_a_killed_prepare_is_finished_first() {
    // A prepare killed after the first step of the swap: t_dyn moved aside, the rest
    // recorded in the DDL journal (space ids `-`: not checked).
    let (after, _) = reference(&PrepareOptions::default());
    let dir = swap_sample("ddl-killed");
    fs::write(
        dir.join(DDL_JOURNAL),
        "hotbackup ddl plan 1\n\
         rename\tw/t_dyn.ibd\tw/t_dyn.ibd.hotbackup-swap\t-\n\
         rename\tw/t_red.ibd\tw/t_dyn.ibd\t-\n\
         rename\tw/t_dyn.ibd.hotbackup-swap\tw/t_red.ibd\t-\n\
         rename\tw/t_small.new\tw/t_small.ibd\t-\n\
         marker\tw/t_dyn.ren\nmarker\tw/t_red.ren\nend\ndone 1\n",
    )
    .unwrap();
    fs::rename(
        dir.join("w/t_dyn.ibd"),
        dir.join("w/t_dyn.ibd.hotbackup-swap"),
    )
    .unwrap();
    let rec = Recorder::default();
    prepare(&dir, &PrepareOptions::default(), &rec).unwrap();
    let events = rec.0.lock().unwrap().join("\n");
    assert!(events.contains("Renamed"), "{events}");
    testkit::assert_same_files(&swapped(&after), &dir, "the swap applied, result differs");
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn missing_tablespace_fails_before_the_markers_are_applied() {
    let dir = swap_sample("missing");
    fs::remove_file(dir.join("w/t_zip.ibd")).unwrap();
    let taken = file_snapshot(&dir);
    let err = prepare(&dir, &PrepareOptions::default(), &Recorder::default()).unwrap_err();
    assert!(
        matches!(err, PrepareError::MissingTablespace { .. }),
        "{err}"
    );
    testkit::assert_same_files(&taken, &dir, "a refused prepare changed");
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn corrupt_page_the_log_does_not_read_is_left_as_it_is() {
    let options = PrepareOptions::default();
    let (after, _) = reference(&options);
    let probe = sample("probe");
    let before = file_snapshot(&probe);
    fs::remove_dir_all(&probe).unwrap();
    let (_, untouched) = changed_and_untouched(&before, &after);
    let (name, page_no) = untouched
        .iter()
        .find(|(n, p)| n == "w/t_dyn.ibd" && *p > 3)
        .expect("an untouched page of t_dyn");
    let dir = sample("untouched");
    let phys = phys_page_size(&before[name]);
    damage(&dir.join(name), *page_no, phys);
    let damaged = fs::read(dir.join(name)).unwrap();
    prepare(&dir, &options, &Recorder::default()).unwrap();
    let now = file_snapshot(&dir);
    assert_eq!(differing_files(&after, &now), vec![name.clone()]);
    let range = page_no * phys..(page_no + 1) * phys;
    assert_eq!(now[name][range.clone()], damaged[range], "never re-stamped");
    fs::remove_dir_all(&dir).unwrap();
}

/// Stops the prepare at page write `n` (torn or not), runs it again, and compares
/// every file with the uninterrupted prepare.
fn crash_and_rerun(
    options: &PrepareOptions,
    expected: &BTreeMap<String, Vec<u8>>,
    n: u64,
    torn: bool,
) {
    crash_and_rerun_in(
        sample(&format!("crash-{n}-{torn}")),
        options,
        expected,
        n,
        torn,
    );
}

/// [`crash_and_rerun`] on a given sample directory.
fn crash_and_rerun_in(
    dir: std::path::PathBuf,
    options: &PrepareOptions,
    expected: &BTreeMap<String, Vec<u8>>,
    n: u64,
    torn: bool,
) {
    let crashing = PrepareOptions {
        crash_point: Some(CrashPoint {
            after_writes: n,
            torn,
            abort: false,
            journal_limit: options.crash_point.and_then(|c| c.journal_limit),
            chunk_pages: options.crash_point.and_then(|c| c.chunk_pages),
            only_redone: None,
            only_page: None,
        }),
        ..options.clone()
    };
    match prepare(&dir, &crashing, &Recorder::default()) {
        Err(PrepareError::CrashPoint { writes }) => assert_eq!(writes, n),
        other => panic!("write {n}: expected the crash point, got {other:?}"),
    }
    assert!(dir.join(JOURNAL).exists(), "write {n}: journal left");
    let rec = Recorder::default();
    prepare(&dir, options, &rec).unwrap_or_else(|e| panic!("write {n} torn={torn}: re-run: {e}"));
    let events = rec.0.lock().unwrap().join("\n");
    assert!(events.contains("Journal"), "write {n}: {events}");
    testkit::assert_same_files(
        expected,
        &dir,
        &format!("write {n} torn={torn}: differs from an uninterrupted prepare"),
    );
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn prepare_killed_at_any_page_write_reruns_to_identical_bytes() {
    let options = PrepareOptions {
        threads: Some(2),
        ..Default::default()
    };
    let (expected, s) = reference(&options);
    assert!(!expected.contains_key(JOURNAL));
    // One chunk: writes 0..w go to the journal, w..2w in place.
    let w = s.pages_written;
    assert!(w > 100, "pages written: {w}");
    for n in [0, 1, w / 2, w - 1, w, w + 1, w + w / 2, 2 * w - 1] {
        for torn in [false, true] {
            crash_and_rerun(&options, &expected, n, torn);
        }
    }
}

#[test]
fn prepare_killed_between_batches_reruns_to_identical_bytes() {
    // 64 KiB of log per batch: one journal segment per batch, dozens of batches; the
    // journal is emptied (data files fsynced first) whenever it would pass 256 KiB.
    let options = PrepareOptions {
        use_memory: 64 << 10,
        threads: Some(2),
        crash_point: Some(CrashPoint {
            after_writes: u64::MAX,
            torn: false,
            abort: false,
            journal_limit: Some(256 << 10),
            chunk_pages: None,
            only_redone: None,
            only_page: None,
        }),
        ..Default::default()
    };
    let (expected, s) = reference(&options);
    assert!(s.n_batches > 10);
    let total = 2 * s.pages_written;
    for (n, torn) in [
        (total / 3, true),
        (total / 2, false),
        (total * 2 / 3, true),
        (total * 4 / 5, true),
    ] {
        crash_and_rerun(&options, &expected, n, torn);
    }
}

/// `innodb_corrupted_pages` as `--log-innodb-page-corruption` writes it.
fn list_corrupted(dir: &Path, name: &str, space: u32, pages: &str) {
    fs::write(
        dir.join("innodb_corrupted_pages"),
        format!("{name} {space}\n{pages}\n"),
    )
    .unwrap();
}

/// Whether page `page_no` of a 4k data file image is free by its page 0.
fn free_in(file: &[u8], page_no: u32) -> bool {
    use innodb::page::{fsp::FspHeader, xdes::page_is_free};
    let h = FspHeader::parse(&file[..4096]).unwrap();
    page_is_free(&h.flags, h.free_limit, h.size_pages, &file[..4096], page_no).unwrap()
}

/// A page of t_dyn, t_red or t_ren4 the prepare does not change, not all zero, free (or in
/// use) after the prepare: (file, space id, page, files after an uninterrupted prepare).
fn untouched_page(free: bool) -> (String, u32, u32, BTreeMap<String, Vec<u8>>) {
    let options = PrepareOptions::default();
    let (after, _) = reference(&options);
    let probe = sample("probe");
    let before = file_snapshot(&probe);
    fs::remove_dir_all(&probe).unwrap();
    let (_, untouched) = changed_and_untouched(&before, &after);
    let (name, page) = untouched
        .iter()
        .filter(|(n, p)| {
            ["w/t_dyn.ibd", "w/t_red.ibd", "w/t_ren4.ibd"].contains(&n.as_str()) && *p > 0
        })
        .find(|(n, p)| free_in(&after[n], *p as u32) == free)
        .expect("an untouched page");
    let space = u32::from_be_bytes(after[name][34..38].try_into().unwrap());
    (name.clone(), space, *page as u32, after)
}

#[test]
fn listed_corrupted_page_that_is_free_is_zeroed_and_the_list_removed() {
    let (name, space, page, expected) = untouched_page(true);
    let dir = sample("listed-free");
    damage(&dir.join(&name), page as usize, 4096);
    list_corrupted(&dir, &name.replace(".ibd", ""), space, &page.to_string());
    let rec = Recorder::default();
    prepare(&dir, &PrepareOptions::default(), &rec).unwrap();
    let events = rec.0.lock().unwrap().join("\n");
    assert!(
        events.contains("CorruptedPageFixed") && events.contains("zeroed: true"),
        "{events}"
    );
    assert!(!dir.join("innodb_corrupted_pages").exists());
    let now = file_snapshot(&dir);
    assert_eq!(differing_files(&expected, &now), vec![name.clone()]);
    let (t, e) = (&now[&name], &expected[&name]);
    let at = page as usize * 4096;
    assert!(t[at..at + 4096].iter().all(|&b| b == 0), "zeroed");
    assert_eq!((&t[..at], &t[at + 4096..]), (&e[..at], &e[at + 4096..]));
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn listed_corrupted_page_in_use_fails_and_stays_listed() {
    // Its bytes are fine: what counts is that the backup could not copy it.
    let (name, space, page, after) = untouched_page(false);
    let table = name.replace(".ibd", "");
    let free = (1..)
        .find(|&p| free_in(&after[&name], p))
        .expect("a free page");
    // As taken: `w/t_small.new` must still be there after the refusal.
    let dir = as_taken("listed-used");
    list_corrupted(&dir, &table, space, &format!("{page} {free}"));
    let listed = file_snapshot(&dir);
    let rec = Recorder::default();
    let err = prepare(&dir, &PrepareOptions::default(), &rec)
        .map(|_| rec.0.lock().unwrap().join("\n"))
        .unwrap_err();
    let msg = err.to_string();
    assert!(
        matches!(err, PrepareError::CorruptedPagesListed { .. })
            && msg.contains(&format!("page {page} of tablespace {space} ({table})"))
            && !msg.contains(&format!("page {free} "))
            && msg.contains("take a new backup"),
        "{msg}"
    );
    // Decided before the first write (the allocation bitmap is not changed by the
    // log): the directory, list included, is as it was.
    testkit::assert_same_files(&listed, &dir, "a refused prepare changed");
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn prepare_killed_mid_batch_with_many_journal_segments_reruns_to_identical_bytes() {
    // 16 pages per segment: each chunk is applied while the one before is written.
    let options = PrepareOptions {
        threads: Some(2),
        crash_point: Some(CrashPoint {
            after_writes: u64::MAX,
            torn: false,
            abort: false,
            journal_limit: Some(192 << 10),
            chunk_pages: Some(16),
            only_redone: None,
            only_page: None,
        }),
        ..Default::default()
    };
    let (expected, s) = reference(&options);
    let (plain, _) = reference(&PrepareOptions::default());
    assert!(
        differing_files(&plain, &expected).is_empty(),
        "chunking changes nothing"
    );
    let total = 2 * s.pages_written;
    for (n, torn) in [
        (5, false),
        (20, true),
        (40, true),
        (total / 2, false),
        (total - 3, true),
    ] {
        crash_and_rerun(&options, &expected, n, torn);
    }
}

/// An open-files limit that leaves room for one data file at a time (`data_file_capacity`
/// of 2 is 1): files are closed and reopened all through the prepare.
const ONE_OPEN_FILE: Option<u64> = Some(2);

/// Under an open-files limit that keeps one data file open at a time, with four threads
/// and many batches: the swap (renamed files reopened under their new names) and the
/// `.new` give the bytes of an unlimited prepare, and a prepare killed at page writes
/// (journal replayed through the same bounded cache) re-runs to them too.
#[test]
fn one_open_data_file_at_a_time_gives_the_same_bytes() {
    assert_eq!(prepare::data_file_capacity(ONE_OPEN_FILE), 1);
    let unlimited = PrepareOptions {
        use_memory: 64 << 10,
        threads: Some(4),
        ..Default::default()
    };
    let (after, s) = reference(&unlimited);
    assert!(s.n_batches > 10);
    let limited = PrepareOptions {
        open_files_limit: ONE_OPEN_FILE,
        ..unlimited.clone()
    };
    let (got, _) = reference(&limited);
    assert!(
        differing_files(&after, &got).is_empty(),
        "differs: {:?}",
        differing_files(&after, &got)
    );

    let expected = swapped(&after);
    let dir = swap_sample("limited-swap");
    prepare(&dir, &limited, &Recorder::default()).unwrap();
    testkit::assert_same_files(&expected, &dir, "the swap under one open file differs");
    fs::remove_dir_all(&dir).unwrap();

    for (n, torn) in [(s.pages_written / 2, true), (s.pages_written + 5, false)] {
        crash_and_rerun_in(
            swap_sample(&format!("limited-crash-{n}")),
            &limited,
            &expected,
            n,
            torn,
        );
    }
}
