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

    /// A file could not be read or written.
    pub fn io(path: &Path, e: std::io::Error) -> Failure {
        let hint = match e.raw_os_error() {
            Some(libc::ENOSPC) => "; the disk is full: free space or choose another --target-dir",
            Some(libc::EACCES) | Some(libc::EPERM) => "; check the permissions",
            Some(libc::EEXIST) => "; it already exists and is never overwritten",
            _ => "",
        };
        Failure::new(Code::Io, format!("{}: {e}{hint}", path.display()))
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
            server::ServerError::Unreachable { .. }
            | server::ServerError::AccessDenied { .. }
            | server::ServerError::MissingPrivileges { .. } => Code::Connection,
            // A statement failing mid-backup is most often the server going away.
            server::ServerError::Query { .. } | server::ServerError::Unexpected { .. } => {
                Code::Connection
            }
        };
        Failure::new(code, e.to_string())
    }
}

impl From<page_copier::CopyError> for Failure {
    fn from(e: page_copier::CopyError) -> Failure {
        let code = match e {
            page_copier::CopyError::Corrupt { .. } => Code::SourceCorrupt,
            _ => Code::Io,
        };
        Failure::new(code, e.to_string())
    }
}

impl From<backup_meta::MetaError> for Failure {
    fn from(e: backup_meta::MetaError) -> Failure {
        Failure::new(Code::Io, e.to_string())
    }
}

impl From<redo_tailer::TailError> for Failure {
    fn from(e: redo_tailer::TailError) -> Failure {
        let code = match e {
            redo_tailer::TailError::Overwritten { .. } => Code::RedoOverwritten,
            redo_tailer::TailError::Io { .. } => Code::Io,
            _ => Code::Failure,
        };
        Failure::new(code, e.to_string())
    }
}
