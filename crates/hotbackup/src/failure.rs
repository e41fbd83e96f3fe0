//! Why a mode failed: the message for the DBA and the documented exit code.

use std::fmt;
use std::path::Path;

use crate::exit::Code;

/// A failed run: what to print and how to exit.
#[derive(Debug)]
pub struct Failure {
    /// The exit code.
    pub code: Code,
    /// What happened, where, and what to do.
    pub message: String,
}

impl Failure {
    /// A failure with its code.
    pub fn new(code: Code, message: String) -> Failure {
        Failure { code, message }
    }

    /// `other` if its message already says what this one says (and more, e.g. the
    /// statement that was waiting), else this one.
    pub fn unless_said_by(self, other: Failure) -> Failure {
        if other.message.starts_with(&self.message) {
            other
        } else {
            self
        }
    }

    /// `--target-dir` as a mode that reads a backup needs it: an existing directory (else
    /// exit 7, the backup is not where it was said to be).
    pub fn check_backup_dir(target: &Path) -> Result<(), Failure> {
        let what = match std::fs::metadata(target) {
            Ok(m) if m.is_dir() => return Ok(()),
            Ok(_) => "is not a directory; give the backup directory",
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => "does not exist",
            Err(e) => return Err(Failure::io(target, e)),
        };
        Err(Failure::new(
            Code::WrongState,
            format!("--target-dir {} {what}", target.display()),
        ))
    }

    /// A file could not be read or written.
    pub fn io(path: &Path, e: std::io::Error) -> Failure {
        let hint = io_hint(&e);
        Failure::new(Code::Io, format!("{}: {e}{hint}", path.display()))
    }
}

/// What the user can do about an OS error, appended to a message that already names the
/// file: disk full, permissions, an existing file.
fn io_hint(e: &std::io::Error) -> &'static str {
    match e.raw_os_error() {
        Some(libc::ENOSPC) | Some(libc::EDQUOT) => {
            "; the disk is full: free space or choose another --target-dir"
        }
        Some(libc::EFBIG) => "; the file is larger than the file system or a resource limit (ulimit -f) allows: choose another --target-dir",
        Some(libc::EACCES) | Some(libc::EPERM) => "; check the permissions",
        Some(libc::EEXIST) => "; it already exists and is never overwritten",
        Some(libc::EROFS) => "; the file system is read-only: choose another --target-dir",
        _ => "",
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl From<server::ServerError> for Failure {
    fn from(e: server::ServerError) -> Failure {
        let code = match e {
            // A privilege the account lacks (a statement refused): exit 1, as mariadb-backup;
            // retrying cannot help, unlike the connection failures of exit 3.
            server::ServerError::MissingPrivileges { .. } => Code::Failure,
            server::ServerError::Query { .. } if e.is_access_denied() => Code::Failure,
            server::ServerError::Unreachable { .. }
            | server::ServerError::AccessDenied { .. }
            | server::ServerError::Tls { .. } => Code::Connection,
            // A statement failing mid-backup is most often the server going away.
            server::ServerError::Query { .. } | server::ServerError::Unexpected { .. } => {
                Code::Connection
            }
            // Cut by the caller (a signal): a failure like any other; cut because the server
            // stopped answering or went away: connection.
            server::ServerError::Interrupted {
                why: server::Stop::Cancelled(_),
                ..
            } => Code::Failure,
            server::ServerError::Interrupted { .. } => Code::Connection,
        };
        Failure::new(code, e.to_string())
    }
}

impl From<page_copier::CopyError> for Failure {
    fn from(e: page_copier::CopyError) -> Failure {
        let (code, hint) = match &e {
            page_copier::CopyError::Corrupt { .. } => (Code::SourceCorrupt, ""),
            // A key the check needs is not in the key file, or no key management.
            page_copier::CopyError::Unverifiable { .. } => (Code::Usage, ""),
            // mariadb-backup's exit code for its TRX_SYS refusal (mtr undo_upgrade).
            page_copier::CopyError::TrxSysChanged { .. }
            | page_copier::CopyError::DeferredDelta { .. } => (Code::Failure, ""),
            page_copier::CopyError::Read { source, .. }
            | page_copier::CopyError::Write { source, .. } => (Code::Io, io_hint(source)),
            _ => (Code::Io, ""),
        };
        Failure::new(code, format!("{e}{hint}"))
    }
}

impl From<backup_meta::MetaError> for Failure {
    fn from(e: backup_meta::MetaError) -> Failure {
        let hint = match &e {
            backup_meta::MetaError::Io { source, .. } => io_hint(source),
            _ => "",
        };
        Failure::new(Code::Io, format!("{e}{hint}"))
    }
}

impl From<redo_tailer::TailError> for Failure {
    fn from(e: redo_tailer::TailError) -> Failure {
        let (code, hint) = match &e {
            redo_tailer::TailError::Overwritten { .. } => (Code::RedoOverwritten, ""),
            redo_tailer::TailError::Io { source, .. } => (Code::Io, io_hint(source)),
            // Keys that are missing or not the server's: the options are wrong.
            redo_tailer::TailError::Key { .. } => (Code::Usage, ""),
            _ => (Code::Failure, ""),
        };
        Failure::new(code, format!("{e}{hint}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_backup_dir_must_exist_and_be_a_directory() {
        let dir = std::env::temp_dir().join(format!("hb-check-dir-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("f");
        std::fs::write(&file, b"x").unwrap();
        assert!(Failure::check_backup_dir(&dir).is_ok());
        for (path, says) in [
            (file.clone(), "is not a directory"),
            (dir.join("missing"), "does not exist"),
        ] {
            let f = Failure::check_backup_dir(&path).unwrap_err();
            assert_eq!(f.code, Code::WrongState);
            assert!(f.message.contains(says), "{}", f.message);
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
