//! Whether a stream is a backup, and which files a complete backup stream must hold.
//!
//! An xbstream has no trailer: a stream cut between two files ends like a whole one. A
//! mariadb-backup stream sends `xtrabackup_checkpoints`, `backup-my.cnf` and `xtrabackup_info`
//! last (after the redo log), so a stream that carries backup files but lacks one of these was
//! cut short.

/// The files every backup stream holds (each may be `NAME.qp` with `--compress`).
pub const BACKUP_FILES: [&str; 4] = [
    "xtrabackup_checkpoints",
    "ib_logfile0",
    "backup-my.cnf",
    "xtrabackup_info",
];

/// What the stream has started so far.
#[derive(Debug, Default)]
pub struct BackupFiles {
    /// The first path that made the stream a backup stream.
    marker: Option<String>,
    seen: [bool; BACKUP_FILES.len()],
}

/// Files only a backup holds: its own files, the system tablespace, InnoDB tablespaces
/// (also compressed or incremental), the Aria control file.
fn is_marker(path: &[u8]) -> bool {
    let path = bare(path);
    BACKUP_FILES.iter().any(|f| path == f.as_bytes())
        || path == b"ibdata1"
        || path == b"aria_log_control"
        || path.ends_with(b".ibd")
        || path.ends_with(b".ibd.delta")
}

/// `path` without the suffix `--compress` adds (`.qp`, or `.lz4`/`.zst` as XtraBackup 8.0).
fn bare(path: &[u8]) -> &[u8] {
    [&b".qp"[..], b".lz4", b".zst"]
        .iter()
        .find_map(|s| path.strip_suffix(*s))
        .unwrap_or(path)
}

impl BackupFiles {
    /// Notes that the stream starts `path`.
    pub fn note(&mut self, path: &[u8]) {
        if self.marker.is_none() && is_marker(path) {
            self.marker = Some(String::from_utf8_lossy(path).into_owned());
        }
        let bare = bare(path);
        for (i, name) in BACKUP_FILES.iter().enumerate() {
            if bare == name.as_bytes() {
                self.seen[i] = true;
            }
        }
    }

    /// For a backup stream that lacks some of `BACKUP_FILES`: the file that makes it a
    /// backup and the missing ones.
    pub fn missing(&self) -> Option<(String, Vec<String>)> {
        let marker = self.marker.clone()?;
        let missing: Vec<String> = BACKUP_FILES
            .iter()
            .zip(self.seen)
            .filter(|(_, seen)| !seen)
            .map(|(name, _)| name.to_string())
            .collect();
        (!missing.is_empty()).then_some((marker, missing))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backup_streams_need_every_backup_file() {
        let all: &[&str] = &BACKUP_FILES;
        let cases: &[(&[&str], Option<&[&str]>)] = &[
            (&["notes.txt", "dir/a.bin"], None),
            (&["db/t.ibd"], Some(all)),
            (&["db/t.ibd.delta", "db/t.ibd.meta"], Some(all)),
            (&["aria_log_control"], Some(all)),
            (
                &["ibdata1.zst", "ib_logfile0.lz4"],
                Some(&["xtrabackup_checkpoints", "backup-my.cnf", "xtrabackup_info"]),
            ),
            (
                &["ibdata1.qp", "ib_logfile0.qp"],
                Some(&["xtrabackup_checkpoints", "backup-my.cnf", "xtrabackup_info"]),
            ),
            (
                &["ibdata1", "ib_logfile0", "xtrabackup_checkpoints"],
                Some(&["backup-my.cnf", "xtrabackup_info"]),
            ),
            (
                &[
                    "ibdata1",
                    "ib_logfile0",
                    "xtrabackup_checkpoints",
                    "backup-my.cnf",
                    "xtrabackup_info",
                ],
                None,
            ),
            (
                &[
                    "xtrabackup_checkpoints",
                    "ib_logfile0.qp",
                    "backup-my.cnf.qp",
                    "xtrabackup_info.qp",
                ],
                None,
            ),
        ];
        for (paths, want) in cases {
            let mut b = BackupFiles::default();
            for p in *paths {
                b.note(p.as_bytes());
            }
            let got = b.missing().map(|(_, m)| m);
            let want = want.map(|w| w.iter().map(|s| s.to_string()).collect::<Vec<_>>());
            assert_eq!(got, want, "{paths:?}");
        }
    }
}
