//! MariaDB's data-at-rest encryption formats and keys (`shared/docs/encryption-format.md`).
//!
//! * [`keyfile`]: the `file_key_management` plugin's key file (plain `id;hexkey` lines, or
//!   the same encrypted by `openssl enc -aes-256-cbc -md sha1` with the file key) → [`KeyRing`].
//! * [`aes`]: AES-ECB/CBC/CTR as MariaDB's `my_aes_crypt` does them without padding (a
//!   CBC tail shorter than a block is XORed with the encrypted IV).
//! * [`scheme`]: the encryption scheme service: a per-tablespace key derived from the
//!   key's version and the crypt data IV, and the IV of one page.
//! * [`page`]: decrypting and encrypting a page, full_crc32 and legacy layouts.
//! * [`redo`]: the redo log key and the record payloads of one encrypted mini-transaction.
//!
//! No I/O except reading the key file and a `FILE:` file key. Key bytes never appear in
//! `Debug` output or error messages (key ids and versions only), and are zeroed on drop.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod aes;
pub mod keyfile;
pub mod page;
pub mod redo;
pub mod scheme;

pub use aes::Algorithm;
pub use keyfile::{FileKey, Key, KeyRing, Keys};

use std::path::PathBuf;

/// Everything that can go wrong with keys and encrypted data.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The key file or the `FILE:` file key could not be read.
    #[error("cannot read {what} {path}: {source}")]
    Read {
        /// "key file" or "file key".
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// A line of the (decrypted) key file is not `id;hexkey` or a comment.
    #[error("{reason} at {path} line {line}, column {column} (expected `id;hex key` of 32, 48 or 64 hex digits, or a # comment)")]
    Syntax {
        /// The key file.
        path: PathBuf,
        /// What is wrong (the plugin's words: "Syntax error", "Invalid key id", "Invalid key").
        reason: &'static str,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
    },
    /// The key file has no key with id 1 (the plugin refuses to start).
    #[error("System key id 1 is missing in {path}")]
    NoSystemKey {
        /// The key file.
        path: PathBuf,
    },
    /// The key file is encrypted (`Salted__`) and the file key does not decrypt it.
    #[error("cannot decrypt {path}: wrong file key? (set --file-key-management-filekey to the key the server uses)")]
    WrongFileKey {
        /// The key file.
        path: PathBuf,
    },
    /// A file key was given but the key file is not encrypted (the plugin refuses this).
    #[error("cannot decrypt {path}: not encrypted, but --file-key-management-filekey is set")]
    NotEncrypted {
        /// The key file.
        path: PathBuf,
    },
    /// The encrypted key file is not `Salted__` + salt + whole AES blocks.
    #[error("{path} is not a valid encrypted key file ({why})")]
    BadEncryptedFile {
        /// The key file.
        path: PathBuf,
        /// Why.
        why: &'static str,
    },
    /// The file key is too long (the plugin takes at most 256 bytes).
    #[error("the file key in {path} is too long: at most 256 bytes")]
    FileKeyTooLong {
        /// The `FILE:` path.
        path: PathBuf,
    },
    /// The key ring has no such key id, or not that version (file_key_management has
    /// only version 1).
    #[error("encryption key id {key_id} version {version} is not in the key file")]
    MissingKey {
        /// Key id.
        key_id: u32,
        /// Key version.
        version: u32,
    },
    /// Malformed encrypted data (a page or log record too short, a bad length).
    #[error("{0}")]
    Format(String),
}
