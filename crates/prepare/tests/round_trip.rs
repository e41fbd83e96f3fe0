//! The round trip: a real 4k backup before `mariadb-backup --prepare`, prepared by us,
//! must equal, page by page, the same backup prepared by mariadb-backup 10.11.19
//! (`testdata/redo/backup4k_small_{before,after}_prepare.tgz`).

mod common;

use std::fs;

use common::{compare, data_files, extract, Recorder};
use prepare::{prepare, PrepareError, PrepareOptions};

/// The prepared ib_logfile0 of redo-format.md §9.4, built independently of the crate.
fn expected_prepared_log(end_lsn: u64) -> Vec<u8> {
    let l = end_lsn - 16;
    let mut f = vec![0u8; 12304];
    f[0..4].copy_from_slice(&0x5068_7973u32.to_be_bytes());
    f[8..16].copy_from_slice(&l.to_be_bytes());
    f[16..31].copy_from_slice(b"Backup 10.11.19");
    let c = crc32c::crc32c(&f[..508]);
    f[508..512].copy_from_slice(&c.to_be_bytes());
    f[4096..4104].copy_from_slice(&l.to_be_bytes());
    f[4104..4112].copy_from_slice(&l.to_be_bytes());
    let c = crc32c::crc32c(&f[4096..4156]);
    f[4156..4160].copy_from_slice(&c.to_be_bytes());
    let m = 12288;
    f[m..m + 3].copy_from_slice(&[0xFA, 0, 0]);
    f[m + 3..m + 11].copy_from_slice(&l.to_be_bytes());
    f[m + 11] = 1;
    let c = crc32c::crc32c(&f[m..m + 11]);
    f[m + 12..m + 16].copy_from_slice(&c.to_be_bytes());
    f
}

fn check_round_trip(options: &PrepareOptions) -> prepare::PrepareSummary {
    let ours = extract("backup4k_small_before_prepare.tgz", "before");
    let theirs = extract("backup4k_small_after_prepare.tgz", "after");
    let rec = Recorder::default();
    let summary = prepare(&ours, options, &rec).unwrap_or_else(|e| panic!("prepare failed: {e}"));
    let events = rec.0.lock().unwrap().join("\n");
    assert!(
        events.contains("Deferred"),
        "t_small is a deferred tablespace:\n{events}"
    );
    // Every batch reports all its pages done, changed or not.
    let started = events.matches("BatchStarted").count();
    let finished = rec
        .0
        .lock()
        .unwrap()
        .iter()
        .filter(|e| {
            e.strip_prefix("PagesApplied { done: ")
                .and_then(|r| r.split_once(", total: "))
                .is_some_and(|(d, t)| t.strip_suffix(" }") == Some(d))
        })
        .count();
    assert_eq!(started, finished, "{events}");

    let (pages, diffs) = compare(&ours, &theirs);
    assert!(
        diffs.is_empty(),
        "{} of {pages} pages differ:\n{}",
        diffs.len(),
        diffs.join("\n")
    );
    assert_eq!(pages, 3329, "pages compared");

    let log = fs::read(ours.join("ib_logfile0")).unwrap();
    assert_eq!(
        log,
        expected_prepared_log(25_311_661),
        "prepared ib_logfile0 per §9.4"
    );
    assert_eq!(
        log,
        fs::read(theirs.join("ib_logfile0")).unwrap(),
        "ib_logfile0 as mariadb-backup wrote it"
    );
    assert_eq!(
        fs::read_to_string(ours.join("xtrabackup_checkpoints")).unwrap(),
        fs::read_to_string(theirs.join("xtrabackup_checkpoints")).unwrap()
    );
    assert!(!ours.join("w/t_small.new").exists() && ours.join("w/t_small.ibd").exists());

    // A second prepare is a no-op that says so.
    let before = data_files(&ours);
    let rec = Recorder::default();
    let again = prepare(&ours, options, &rec).unwrap();
    assert!(again.already_prepared);
    assert!(rec
        .0
        .lock()
        .unwrap()
        .iter()
        .any(|e| e.contains("AlreadyPrepared")));
    assert_eq!(data_files(&ours), before, "second prepare changed files");

    fs::remove_dir_all(&ours).unwrap();
    fs::remove_dir_all(&theirs).unwrap();
    summary
}

#[test]
fn round_trip_matches_mariadb_backup() {
    let s = check_round_trip(&PrepareOptions {
        threads: Some(2),
        ..Default::default()
    });
    assert_eq!(s.n_batches, 1);
    assert_eq!(s.n_mtrs, 21_755);
    assert_eq!(s.n_records, 66_689);
    assert_eq!(
        s.pages_written, 224,
        "pages written, as redo_apply.py reports"
    );
}

#[test]
fn round_trip_in_many_small_batches() {
    // 64 KiB of log per batch: the 1.6 MB log is applied in dozens of LSN ranges.
    let s = check_round_trip(&PrepareOptions {
        use_memory: 64 << 10,
        threads: Some(2),
        ..Default::default()
    });
    assert!(s.n_batches > 10, "batches: {}", s.n_batches);
}

#[test]
fn corrupt_log_is_refused_and_nothing_is_marked() {
    let dir = extract("backup4k_small_before_prepare.tgz", "corrupt");
    let log_path = dir.join("ib_logfile0");
    let mut log = fs::read(&log_path).unwrap();
    let mid = 12288 + (log.len() - 12288) / 2;
    log[mid] ^= 0x55;
    fs::write(&log_path, &log).unwrap();
    let files_before = data_files(&dir);
    let cp_before = fs::read_to_string(dir.join("xtrabackup_checkpoints")).unwrap();

    let err = prepare(&dir, &PrepareOptions::default(), &Recorder::default()).unwrap_err();
    match &err {
        PrepareError::CorruptLog { lsn, offset, .. } => {
            // The damaged mtr contains the flipped byte.
            assert!(
                *offset <= mid as u64 && mid as u64 - *offset < (1 << 20),
                "{err}"
            );
            assert_eq!(lsn.0 - 23_713_420 + 12288, *offset, "{err}");
        }
        other => panic!("expected CorruptLog, got {other}"),
    }
    let msg = err.to_string();
    assert!(msg.contains("ib_logfile0") && msg.contains("LSN"), "{msg}");
    assert_eq!(
        fs::read_to_string(dir.join("xtrabackup_checkpoints")).unwrap(),
        cp_before
    );
    assert_eq!(fs::read(&log_path).unwrap(), log, "log untouched");
    assert_eq!(data_files(&dir), files_before, "data files untouched");
    assert!(
        dir.join("w/t_small.new").exists(),
        "DDL markers not processed before the log is validated"
    );
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn refuses_a_directory_that_is_not_a_backup() {
    let dir = std::env::temp_dir().join(format!("hotbackup-prepare-{}-empty", std::process::id()));
    fs::create_dir_all(&dir).unwrap();
    let err = prepare(&dir, &PrepareOptions::default(), &Recorder::default()).unwrap_err();
    assert!(
        matches!(
            err,
            PrepareError::NotABackup {
                missing: "xtrabackup_checkpoints",
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("not a backup directory"));
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_compressed_backup_is_named_with_the_fix() {
    let dir = std::env::temp_dir().join(format!("hotbackup-prepare-{}-qp", std::process::id()));
    fs::create_dir_all(&dir).unwrap();
    fs::write(
        dir.join("xtrabackup_checkpoints"),
        b"backup_type = full-backuped\n",
    )
    .unwrap();
    fs::write(dir.join("ib_logfile0.qp"), b"qpress10").unwrap();
    let err = prepare(&dir, &PrepareOptions::default(), &Recorder::default()).unwrap_err();
    assert!(
        matches!(
            err,
            PrepareError::Compressed {
                file: "ib_logfile0",
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("hotbackup --decompress"), "{err}");
    // Nothing was written.
    let mut names: Vec<_> = fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    names.sort();
    assert_eq!(names, ["ib_logfile0.qp", "xtrabackup_checkpoints"]);
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn truncated_data_file_is_named() {
    let dir = extract("backup4k_small_before_prepare.tgz", "truncated");
    let f = dir.join("w/t_dyn.ibd");
    let len = fs::metadata(&f).unwrap().len();
    fs::OpenOptions::new()
        .write(true)
        .open(&f)
        .unwrap()
        .set_len(len - 100)
        .unwrap();
    let err = prepare(&dir, &PrepareOptions::default(), &Recorder::default()).unwrap_err();
    let msg = err.to_string();
    assert!(
        matches!(err, PrepareError::DataFile { .. })
            && msg.contains("t_dyn.ibd")
            && msg.contains("truncated"),
        "{msg}"
    );
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn missing_tablespace_is_named() {
    let dir = extract("backup4k_small_before_prepare.tgz", "missing");
    fs::remove_file(dir.join("w/t_red.ibd")).unwrap();
    let err = prepare(&dir, &PrepareOptions::default(), &Recorder::default()).unwrap_err();
    let msg = err.to_string();
    assert!(
        matches!(err, PrepareError::MissingTablespace { .. }) && msg.contains("t_red.ibd"),
        "{msg}"
    );
    assert!(fs::read_to_string(dir.join("xtrabackup_checkpoints"))
        .unwrap()
        .contains("full-backuped"));
    fs::remove_dir_all(&dir).unwrap();
}

/// A prepare killed after some pages were written (DDL done, log not replaced) or after
/// the log was replaced (checkpoints not yet marked) is re-run to the same result.
#[test]
fn killed_prepare_is_rerunnable() {
    let theirs = extract("backup4k_small_after_prepare.tgz", "after");
    // The log is replaced only after every page is durable: then all data files are final.
    let mut all: Vec<String> = data_files(&theirs).into_keys().collect();
    all.push("ib_logfile0".into());
    let mid_apply: Vec<String> = ["ibdata1", "w/t_dyn.ibd", "w/t_small.ibd"]
        .map(String::from)
        .to_vec();
    for (case, copied) in [("mid-apply", mid_apply), ("after-log", all)] {
        let ours = extract("backup4k_small_before_prepare.tgz", case);
        fs::rename(ours.join("w/t_small.new"), ours.join("w/t_small.ibd")).unwrap();
        for f in &copied {
            fs::copy(theirs.join(f), ours.join(f)).unwrap();
        }
        prepare(&ours, &PrepareOptions::default(), &Recorder::default())
            .unwrap_or_else(|e| panic!("{case}: re-run failed: {e}"));
        let (pages, diffs) = compare(&ours, &theirs);
        assert!(
            diffs.is_empty(),
            "{case}: {} of {pages} pages differ:\n{}",
            diffs.len(),
            diffs.join("\n")
        );
        assert_eq!(
            fs::read(ours.join("ib_logfile0")).unwrap(),
            fs::read(theirs.join("ib_logfile0")).unwrap()
        );
        assert!(fs::read_to_string(ours.join("xtrabackup_checkpoints"))
            .unwrap()
            .contains("log-applied"));
        fs::remove_dir_all(&ours).unwrap();
    }
    fs::remove_dir_all(&theirs).unwrap();
}

#[test]
fn round_trip_with_one_open_data_file_at_a_time() {
    // An open-files limit of 2 leaves room for one data file: four threads share it.
    let s = check_round_trip(&PrepareOptions {
        threads: Some(4),
        open_files_limit: Some(2),
        ..Default::default()
    });
    assert_eq!(s.pages_written, 224);
}
