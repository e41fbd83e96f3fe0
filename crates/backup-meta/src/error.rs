//! Error types: [`ParseError`] for text that does not follow a format, [`MetaError`] for
//! everything that touches a file (it carries the path).

use std::io;
use std::path::PathBuf;

/// Why the text of a metadata file was rejected.
///
/// Line numbers are 1-based. Parsers never panic; every rejection is one of these.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// The file is not UTF-8. mariadb-backup writes ASCII except for user-supplied strings
    /// (paths, `--history` name, arguments), which we require to be UTF-8.
    #[error("not valid UTF-8 (first bad byte at offset {offset})")]
    NotUtf8 {
        /// Byte offset of the first invalid byte.
        offset: usize,
    },
    /// The file is empty where content is required.
    #[error("file is empty")]
    Empty,
    /// Something other than the expected token or key was found.
    #[error("line {line}: expected {expected}, found {found:?}")]
    Expected {
        /// Line of the unexpected text.
        line: usize,
        /// What the format requires at that point.
        expected: String,
        /// The offending text (at most one line).
        found: String,
    },
    /// A key is present but its value is not acceptable.
    #[error("line {line}: invalid value {value:?} for `{key}`: {reason}")]
    InvalidValue {
        /// Line of the key.
        line: usize,
        /// The key whose value is bad.
        key: String,
        /// The value as found.
        value: String,
        /// Why it is rejected.
        reason: String,
    },
    /// A mandatory key is absent.
    #[error("missing mandatory key `{key}`")]
    MissingKey {
        /// The key that was not found.
        key: String,
    },
    /// Content after the end of the format.
    #[error("line {line}: unexpected content after the end of the file format: {found:?}")]
    Trailing {
        /// Line where the extra content starts.
        line: usize,
        /// The extra content (at most one line).
        found: String,
    },
}

/// An error reading or writing a metadata file. Always names the file.
#[derive(Debug, thiserror::Error)]
pub enum MetaError {
    /// An operating-system call failed.
    #[error("cannot {op} {}: {source}", path.display())]
    Io {
        /// What was being done ("open", "write", "fsync", "rename", ...).
        op: &'static str,
        /// The file or directory concerned.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// The file was read but its content does not follow the format.
    #[error("cannot parse {}: {source}", path.display())]
    Parse {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        #[source]
        source: ParseError,
    },
}

impl MetaError {
    /// True if the error is "the file does not exist". mariadb-backup treats some files as
    /// optional (a delta's `.meta`, `innodb_corrupted_pages`), so callers need to tell this case
    /// apart.
    pub fn is_not_found(&self) -> bool {
        matches!(self, MetaError::Io { source, .. } if source.kind() == io::ErrorKind::NotFound)
    }

    /// True if the error is "the target already exists" (from [`crate::write_atomic_new`]).
    pub fn is_already_exists(&self) -> bool {
        matches!(self, MetaError::Io { source, .. } if source.kind() == io::ErrorKind::AlreadyExists)
    }
}

/// The first line of `text`, shortened, for error messages.
pub(crate) fn excerpt(text: &str) -> String {
    const MAX_CHARS: usize = 80;
    let line = text.split('\n').next().unwrap_or("");
    line.chars().take(MAX_CHARS).collect()
}

/// 1-based line number of byte offset `pos` in `text`.
pub(crate) fn line_at(text: &str, pos: usize) -> usize {
    let end = pos.min(text.len());
    text.as_bytes()[..end]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}
