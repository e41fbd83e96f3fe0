//! `hotbackup --prepare` on damaged and interrupted backups (the real 4k sample of
//! `testdata/redo`): a corrupt page the log reads is exit 8 naming the file,
//! space and page, with the backup as it was (DDL markers and the files they name
//! included: a `.new`, a `.ren` swap); a prepare killed at a page write (whole
//! or torn) and run again gives the bytes of an uninterrupted prepare.
//! `--innodb-force-recovery=1` (2 is clamped to 1, as my_getopt does) leaves a corrupt page
//! without its records instead, and says the backup is not consistent.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use testkit::{differing_files, file_snapshot};

/// The 4k sample before prepare in a fresh directory, as the backup left it: its DDL
/// marker `w/t_small.new` (a table created during the backup) not yet in place.
fn sample(tag: &str) -> PathBuf {
    testkit::extract_redo_sample(
        "backup4k_small_before_prepare.tgz",
        &format!("pfaults-{tag}"),
    )
}

fn run_prepare(dir: &Path, crash: Option<&str>) -> Output {
    run_prepare_with(dir, crash, &[])
}

fn run_prepare_with(dir: &Path, crash: Option<&str>, extra: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_hotbackup"));
    cmd.arg("--prepare")
        .arg(format!("--target-dir={}", dir.display()))
        .args(extra);
    cmd.env_remove("HOTBACKUP_TEST_PREPARE_CRASH");
    if let Some(c) = crash {
        cmd.env("HOTBACKUP_TEST_PREPARE_CRASH", c);
    }
    cmd.output().unwrap()
}

/// The sample prepared without interruption.
fn reference() -> (BTreeMap<String, Vec<u8>>, BTreeMap<String, Vec<u8>>) {
    let dir = sample("reference");
    let before = file_snapshot(&dir);
    let out = run_prepare(&dir, None);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let after = file_snapshot(&dir);
    fs::remove_dir_all(&dir).unwrap();
    (before, after)
}

#[test]
fn corrupt_page_the_log_reads_is_exit_8_and_changes_nothing() {
    let (before, after) = reference();
    let name = "w/t_dyn.ibd";
    let (old, new) = (&before[name], &after[name]);
    // Changed pages: read by the log, or rebuilt by it (then damage does not matter).
    let changed: Vec<usize> = (1..old.len() / 4096)
        .filter(|&i| old[i * 4096..(i + 1) * 4096] != new[i * 4096..(i + 1) * 4096])
        .filter(|&i| old[i * 4096..(i + 1) * 4096].iter().any(|&b| b != 0))
        .collect();
    for swap in [false, true] {
        corrupt_page_case(name, &changed, &after, swap);
    }
}

/// Damages changed pages of `name` until one is refused; with `swap`, the backup also
/// carries the markers of `RENAME TABLE t_dyn TO tmp, t_red TO t_dyn, tmp TO t_red`.
fn corrupt_page_case(name: &str, changed: &[usize], after: &BTreeMap<String, Vec<u8>>, swap: bool) {
    let mut after = after.clone();
    if swap {
        let (d, r) = (after["w/t_dyn.ibd"].clone(), after["w/t_red.ibd"].clone());
        after.insert("w/t_dyn.ibd".into(), r);
        after.insert("w/t_red.ibd".into(), d);
    }
    let mut refused = false;
    for &page in changed.iter().take(6) {
        let dir = sample("corrupt");
        if swap {
            fs::write(dir.join("w/t_dyn.ren"), "w/t_red").unwrap();
            fs::write(dir.join("w/t_red.ren"), "w/t_dyn").unwrap();
        }
        let path = dir.join(name);
        let mut b = fs::read(&path).unwrap();
        b[page * 4096 + 2000] ^= 0xFF;
        fs::write(&path, &b).unwrap();
        let damaged = file_snapshot(&dir);
        let out = run_prepare(&dir, None);
        let stderr = String::from_utf8_lossy(&out.stderr);
        if out.status.success() {
            testkit::assert_same_files(&after, &dir, &format!("swap {swap}: rebuilt page {page}"));
        } else {
            assert_eq!(out.status.code(), Some(8), "{stderr}");
            assert!(
                stderr.contains("t_dyn.ibd")
                    && stderr.contains(&format!("page {page} of tablespace 5"))
                    && stderr.contains("take a new backup")
                    && !stderr.contains("completed OK"),
                "{stderr}"
            );
            assert!(
                differing_files(&damaged, &file_snapshot(&dir)).is_empty(),
                "swap {swap}: a failed prepare changed the backup: {:?}",
                differing_files(&damaged, &file_snapshot(&dir))
            );
            refused = true;
        }
        fs::remove_dir_all(&dir).unwrap();
        if refused {
            break;
        }
    }
    assert!(refused, "no damaged page of {name} was refused");
}

#[test]
fn killed_prepare_reruns_to_identical_bytes() {
    let (_, expected) = reference();
    // 224 pages are written: journal writes 0..224, in place 224..448.
    for crash in ["0", "100", "223,torn", "224", "300,torn", "447"] {
        let dir = sample("killed");
        let out = run_prepare(&dir, Some(crash));
        assert!(
            !out.status.success() && out.status.code().is_none(),
            "{crash}: the prepare should have died: {:?}",
            out.status
        );
        assert!(fs::read_to_string(dir.join("xtrabackup_checkpoints"))
            .unwrap()
            .contains("full-backuped"));
        let again = run_prepare(&dir, None);
        let stderr = String::from_utf8_lossy(&again.stderr);
        assert!(again.status.success(), "{crash}: re-run: {stderr}");
        assert!(stderr.contains("interrupted prepare"), "{crash}: {stderr}");
        testkit::assert_same_files(&expected, &dir, crash);
        fs::remove_dir_all(&dir).unwrap();
    }
}

/// `--innodb-force-recovery` at prepare: mariadb-backup's line `innodb_force_recovery = 1`
/// (2 is clamped), the same bytes as without it on a sound backup; a corrupt page the log
/// reads (exit 8 without the option) is left as it is, without its records, every other
/// page is prepared, and the output names the page and ends saying the backup is NOT
/// consistent instead of "completed OK!".
#[test]
fn force_recovery_skips_a_corrupt_page_and_says_so() {
    let (before, after) = reference();
    let dir = sample("force-ok");
    let out = run_prepare_with(&dir, None, &["--innodb-force-recovery=2"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("innodb_force_recovery = 1"), "{stderr}");
    assert!(stderr.contains("completed OK!"), "{stderr}");
    testkit::assert_same_files(&after, &dir, "force recovery, sound backup");
    fs::remove_dir_all(&dir).unwrap();
    // 0 prints nothing.
    let dir = sample("force-0");
    let out = run_prepare_with(&dir, None, &["--innodb-force-recovery=0"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(!stderr.contains("innodb_force_recovery"), "{stderr}");
    fs::remove_dir_all(&dir).unwrap();

    let name = "w/t_dyn.ibd";
    let (old, new) = (&before[name], &after[name]);
    let changed: Vec<usize> = (1..old.len() / 4096)
        .filter(|&i| old[i * 4096..(i + 1) * 4096] != new[i * 4096..(i + 1) * 4096])
        .filter(|&i| old[i * 4096..(i + 1) * 4096].iter().any(|&b| b != 0))
        .collect();
    let damage = |dir: &Path, page: usize| {
        let path = dir.join(name);
        let mut b = fs::read(&path).unwrap();
        b[page * 4096 + 2000] ^= 0xFF;
        fs::write(&path, &b).unwrap();
        b[page * 4096..(page + 1) * 4096].to_vec()
    };
    let mut skipped = false;
    for &page in changed.iter().take(6) {
        // Only a page the log reads is refused; a rebuilt one is not a case here.
        let dir = sample("force-probe");
        damage(&dir, page);
        let refused = run_prepare(&dir, None).status.code() == Some(8);
        fs::remove_dir_all(&dir).unwrap();
        if !refused {
            continue;
        }
        let dir = sample("force-corrupt");
        let damaged_page = damage(&dir, page);
        let out = run_prepare_with(&dir, None, &["--innodb-force-recovery=1"]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{stderr}");
        assert!(
            stderr.contains(&format!(
                "unable to apply log to corrupted page {page} of tablespace 5"
            )) && stderr.contains("t_dyn.ibd"),
            "{stderr}"
        );
        assert!(stderr.contains("the backup is NOT consistent"), "{stderr}");
        assert!(!stderr.contains("completed OK"), "{stderr}");
        let mut expected = after.clone();
        let file = expected.get_mut(name).unwrap();
        file[page * 4096..(page + 1) * 4096].copy_from_slice(&damaged_page);
        testkit::assert_same_files(&expected, &dir, "force recovery, corrupt page");
        fs::remove_dir_all(&dir).unwrap();
        skipped = true;
        break;
    }
    assert!(
        skipped,
        "no damaged page of {name} was refused without the option"
    );
}
