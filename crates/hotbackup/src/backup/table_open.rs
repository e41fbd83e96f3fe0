//! Opening every file of a non-transactional table together (one generation under `BACKUP
//! LOCK`), and the message when the process may not open that many files.

use std::fs::File;
use std::io;

use super::discover::{FileCopy, NonTxTable};
use crate::exit::Code;
use crate::failure::Failure;

/// Opens every file of `table`; a file gone since the scan (table dropped) is left out. Running
/// out of descriptors fails with mariadb-backup's words (exit 1) and says how many the table
/// needs and how to allow them.
pub fn open_all(table: &NonTxTable) -> Result<Vec<(&FileCopy, File)>, Failure> {
    let mut open = Vec::with_capacity(table.files.len());
    for f in &table.files {
        match File::open(&f.source) {
            Ok(file) => open.push((f, file)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) if is_out_of_descriptors(&e) => return Err(out_of_descriptors(table, f, &e)),
            Err(e) => return Err(Failure::io(&f.source, e)),
        }
    }
    Ok(open)
}

fn is_out_of_descriptors(e: &io::Error) -> bool {
    matches!(e.raw_os_error(), Some(libc::EMFILE) | Some(libc::ENFILE))
}

/// `Error 24 on file ./db/t#P#p7.MYD open during `db`.`t` table copy: Too many open files`,
/// as mariadb-backup says it, then what to do.
fn out_of_descriptors(table: &NonTxTable, f: &FileCopy, e: &io::Error) -> Failure {
    let errno = e.raw_os_error().unwrap_or(0);
    let what = if errno == libc::ENFILE {
        "Too many open files in system"
    } else {
        "Too many open files"
    };
    Failure::new(
        Code::Failure,
        format!(
            "Error {errno} on file ./{} open during `{}`.`{}` table copy: {what}. The table has {} files, which are opened together so that the copy is one generation of the table; allow this process more open files (ulimit -n, LimitNOFILE= of a systemd unit) and take the backup again",
            f.dest.display(),
            table.db,
            table.table,
            table.files.len()
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn table(files: &[&str]) -> NonTxTable {
        NonTxTable {
            db: "test".into(),
            table: "t1".into(),
            files: files
                .iter()
                .map(|f| FileCopy {
                    source: PathBuf::from("/nonexistent/hotbackup-test").join(f),
                    dest: PathBuf::from("test").join(f),
                })
                .collect(),
            late: false,
        }
    }

    #[test]
    fn descriptor_errors_are_named_as_mariadb_backup_does() {
        let t = table(&["t1#P#p0.MYD", "t1#P#p0.MYI", "t1#P#p554.MYD"]);
        for (errno, code, start) in [
            (
                libc::EMFILE,
                Some(Code::Failure),
                "Error 24 on file ./test/t1#P#p554.MYD open during `test`.`t1` table copy: Too many open files. The table has 3 files",
            ),
            (
                libc::ENFILE,
                Some(Code::Failure),
                "Error 23 on file ./test/t1#P#p554.MYD open during `test`.`t1` table copy: Too many open files in system.",
            ),
            (libc::EACCES, None, ""),
        ] {
            let e = io::Error::from_raw_os_error(errno);
            assert_eq!(is_out_of_descriptors(&e), code.is_some(), "{errno}");
            if let Some(code) = code {
                let failure = out_of_descriptors(&t, &t.files[2], &e);
                assert_eq!(failure.code, code);
                assert!(failure.message.starts_with(start), "{}", failure.message);
            }
        }
    }

    #[test]
    fn files_gone_since_the_scan_are_left_out() {
        let t = table(&["gone.MYD", "gone.MYI"]);
        assert!(open_all(&t).unwrap().is_empty());
    }
}
