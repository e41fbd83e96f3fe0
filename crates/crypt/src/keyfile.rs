//! The `file_key_management` plugin's key file and file key (encryption-format.md §1).
//!
//! Plain: one `id;hexkey` per line (id 1..2^32-1, key 16/24/32 bytes as hex), `#` comments,
//! blank lines, leading blanks. Encrypted: `Salted__`, an 8-byte salt, then the plain file
//! encrypted with AES-256-CBC and PKCS#7 padding, key and IV from OpenSSL's
//! `EVP_BytesToKey(SHA-1, one round)` of the file key and salt. The file key is a literal
//! or `FILE:path` (the file's bytes, trailing CR/LF removed, at most 256 bytes).
//! Every key has version 1: the plugin has no key rotation.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use sha1::{Digest, Sha1};
use zeroize::Zeroize;

use crate::aes::Cipher;
use crate::Error;

/// The plugin reads at most this much of the key file.
pub const MAX_KEY_FILE_SIZE: usize = 1024 * 1024;
/// The longest file key.
pub const MAX_SECRET_SIZE: usize = 256;
const SALTED: &[u8] = b"Salted__";
const SALT_LEN: usize = 8;

/// One key: 16, 24 or 32 bytes, zeroed on drop, never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct Key {
    bytes: [u8; 32],
    len: usize,
}

impl Key {
    /// A key of 16, 24 or 32 bytes.
    pub fn new(bytes: &[u8]) -> Option<Key> {
        if !matches!(bytes.len(), 16 | 24 | 32) {
            return None;
        }
        let mut k = Key {
            bytes: [0; 32],
            len: bytes.len(),
        };
        k.bytes[..bytes.len()].copy_from_slice(bytes);
        Some(k)
    }

    /// The key bytes.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes[..self.len]
    }
}

impl Drop for Key {
    fn drop(&mut self) {
        self.bytes.zeroize();
    }
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Key({} bits)", self.len * 8)
    }
}

/// `file_key_management_filekey`: the secret that decrypts an encrypted key file.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct FileKey(Vec<u8>);

impl FileKey {
    /// The option value: a literal, or `FILE:path` whose file is read now.
    pub fn from_option(value: &str) -> Result<FileKey, Error> {
        let Some(path) = value.strip_prefix("FILE:") else {
            return Ok(FileKey(value.as_bytes().to_vec()));
        };
        let path = PathBuf::from(path);
        let mut bytes = std::fs::read(&path).map_err(|source| Error::Read {
            what: "file key",
            path: path.clone(),
            source,
        })?;
        // The plugin reads MAX_SECRET_SIZE + 1 bytes and strips CR/LF at the end.
        bytes.truncate(MAX_SECRET_SIZE + 1);
        while matches!(bytes.last(), Some(b'\r' | b'\n')) {
            bytes.pop();
        }
        if bytes.len() > MAX_SECRET_SIZE {
            bytes.zeroize();
            return Err(Error::FileKeyTooLong { path });
        }
        // The plugin treats the secret as a C string.
        if let Some(nul) = bytes.iter().position(|&b| b == 0) {
            bytes.truncate(nul);
        }
        Ok(FileKey(bytes))
    }

    /// A literal secret.
    pub fn literal(secret: &[u8]) -> FileKey {
        FileKey(secret.to_vec())
    }

    /// True when no file key is set (the key file must then be plain).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl Drop for FileKey {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl fmt::Debug for FileKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.is_empty() {
            "FileKey(none)"
        } else {
            "FileKey(..)"
        })
    }
}

/// The keys of a key file by id (every key is version 1).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct KeyRing {
    keys: BTreeMap<u32, Key>,
}

impl fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyRing(ids {:?})", self.keys.keys().collect::<Vec<_>>())
    }
}

impl KeyRing {
    /// Reads and parses the key file at `path`, decrypting it with `file_key` if it
    /// starts with `Salted__`.
    pub fn load(path: &Path, file_key: &FileKey) -> Result<KeyRing, Error> {
        let mut bytes = std::fs::read(path).map_err(|source| Error::Read {
            what: "key file",
            path: path.to_path_buf(),
            source,
        })?;
        bytes.truncate(MAX_KEY_FILE_SIZE);
        let r = KeyRing::parse(&bytes, file_key, path);
        bytes.zeroize();
        r
    }

    /// Parses key file bytes (`path` only names the file in errors).
    pub fn parse(bytes: &[u8], file_key: &FileKey, path: &Path) -> Result<KeyRing, Error> {
        let mut plain;
        let text: &[u8] = if bytes.len() > SALTED.len() && bytes.starts_with(SALTED) {
            plain = decrypt_openssl(bytes, file_key, path)?;
            &plain
        } else if !file_key.is_empty() {
            return Err(Error::NotEncrypted {
                path: path.to_path_buf(),
            });
        } else {
            plain = Vec::new();
            bytes
        };
        let r = parse_lines(text, path);
        plain.zeroize();
        r
    }

    /// A ring from keys given directly (tests, tools).
    pub fn from_keys(keys: impl IntoIterator<Item = (u32, Key)>) -> KeyRing {
        KeyRing {
            keys: keys.into_iter().collect(),
        }
    }

    /// Key `key_id` of `version` (only version 1 exists), as `encryption_key_get`.
    pub fn get(&self, key_id: u32, version: u32) -> Result<&Key, Error> {
        match self.keys.get(&key_id) {
            Some(k) if version == 1 => Ok(k),
            _ => Err(Error::MissingKey { key_id, version }),
        }
    }

    /// The latest version of `key_id` (`get_latest_version`): 1 if the key exists.
    pub fn latest_version(&self, key_id: u32) -> Option<u32> {
        self.keys.contains_key(&key_id).then_some(1)
    }

    /// The key ids.
    pub fn ids(&self) -> impl Iterator<Item = u32> + '_ {
        self.keys.keys().copied()
    }
}

/// What the `file_key_management` plugin holds once loaded: the keys and the algorithm
/// they are used with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Keys {
    /// The key file's keys.
    pub ring: KeyRing,
    /// `file_key_management_encryption_algorithm`.
    pub algorithm: crate::Algorithm,
}

/// OpenSSL `EVP_BytesToKey` with SHA-1 and one round: 32 key + 16 IV bytes.
fn bytes_to_key(secret: &[u8], salt: &[u8]) -> ([u8; 32], [u8; 16]) {
    let mut out = [0u8; 48];
    let mut filled = 0;
    let mut prev: Option<[u8; 20]> = None;
    while filled < out.len() {
        let mut h = Sha1::new();
        if let Some(p) = prev {
            h.update(p);
        }
        h.update(secret);
        h.update(salt);
        let d: [u8; 20] = h.finalize().into();
        let n = (out.len() - filled).min(d.len());
        out[filled..filled + n].copy_from_slice(&d[..n]);
        filled += n;
        prev = Some(d);
    }
    let mut key = [0u8; 32];
    let mut iv = [0u8; 16];
    key.copy_from_slice(&out[..32]);
    iv.copy_from_slice(&out[32..]);
    out.zeroize();
    (key, iv)
}

fn decrypt_openssl(bytes: &[u8], file_key: &FileKey, path: &Path) -> Result<Vec<u8>, Error> {
    let bad = |why| Error::BadEncryptedFile {
        path: path.to_path_buf(),
        why,
    };
    let salt = bytes
        .get(SALTED.len()..SALTED.len() + SALT_LEN)
        .ok_or_else(|| bad("no salt after Salted__"))?;
    let body = &bytes[SALTED.len() + SALT_LEN..];
    if body.is_empty() || !body.len().is_multiple_of(crate::aes::BLOCK) {
        return Err(bad("the encrypted part is not whole AES blocks"));
    }
    let (mut key, iv) = bytes_to_key(&file_key.0, salt);
    let cipher = Cipher::new(&key)?;
    key.zeroize();
    let mut data = body.to_vec();
    match cipher.cbc_decrypt_padded(&iv, &mut data) {
        Some(()) => Ok(data),
        None => {
            data.zeroize();
            Err(Error::WrongFileKey {
                path: path.to_path_buf(),
            })
        }
    }
}

fn hex_value(b: u8) -> Option<u8> {
    (b as char).to_digit(16).map(|d| d as u8)
}

/// `Parser::parse_line` over every line; later lines replace earlier ones of the same id.
fn parse_lines(text: &[u8], path: &Path) -> Result<KeyRing, Error> {
    // The plugin treats the buffer as a C string.
    let text = &text[..text.iter().position(|&b| b == 0).unwrap_or(text.len())];
    let mut keys = BTreeMap::new();
    for (n, line) in text.split(|&b| b == b'\n').enumerate() {
        let err = |reason, col: usize| Error::Syntax {
            path: path.to_path_buf(),
            reason,
            line: n + 1,
            column: col + 1,
        };
        let mut p = 0;
        while p < line.len() && line[p].is_ascii_whitespace() {
            p += 1;
        }
        if p == line.len() || line[p] == b'#' {
            continue;
        }
        if !line[p].is_ascii_digit() {
            return Err(err("Syntax error", p));
        }
        let mut id: u64 = 0;
        while p < line.len() && line[p].is_ascii_digit() {
            id = id * 10 + u64::from(line[p] - b'0');
            if id > u64::from(u32::MAX) {
                return Err(err("Invalid key id", p));
            }
            p += 1;
        }
        if id < 1 {
            return Err(err("Invalid key id", p));
        }
        if line.get(p) != Some(&b';') {
            return Err(err("Syntax error", p));
        }
        p += 1;
        let mut key = [0u8; 32];
        let mut len = 0;
        while len < 32 {
            match (
                line.get(p).and_then(|&b| hex_value(b)),
                line.get(p + 1).and_then(|&b| hex_value(b)),
            ) {
                (Some(h), Some(l)) => {
                    key[len] = h * 16 + l;
                    len += 1;
                    p += 2;
                }
                _ => break,
            }
        }
        let more_hex = line.get(p).is_some_and(|&b| hex_value(b).is_some());
        let k = Key::new(&key[..len]);
        key.zeroize();
        match (more_hex, k) {
            (false, Some(k)) => {
                keys.insert(id as u32, k);
            }
            _ => return Err(err("Invalid key", p)),
        }
    }
    if !keys.contains_key(&1) {
        return Err(Error::NoSystemKey {
            path: path.to_path_buf(),
        });
    }
    Ok(KeyRing { keys })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p() -> &'static Path {
        Path::new("keys.txt")
    }

    #[test]
    fn parses_plain_files() {
        let text = b"# comment\n  1;0123456789abcdef0123456789ABCDEF\n\n\t# x\n7;000102030405060708090a0b0c0d0e0f1011121314151617 trailing\n2;F5502320F8429037B8DAEF761B189D12F5502320F8429037B8DAEF761B189D12";
        let ring = KeyRing::parse(text, &FileKey::default(), p()).unwrap();
        assert_eq!(ring.ids().collect::<Vec<_>>(), [1, 2, 7]);
        assert_eq!(ring.get(7, 1).unwrap().bytes().len(), 24);
        assert_eq!(ring.get(1, 1).unwrap().bytes()[..2], [0x01, 0x23]);
        assert!(matches!(
            ring.get(1, 2),
            Err(Error::MissingKey {
                key_id: 1,
                version: 2
            })
        ));
        assert!(matches!(
            ring.get(3, 1),
            Err(Error::MissingKey { key_id: 3, .. })
        ));
        assert_eq!(ring.latest_version(2), Some(1));
        assert_eq!(ring.latest_version(3), None);
    }

    #[test]
    fn refuses_what_the_plugin_refuses() {
        let cases: [(&[u8], &str); 7] = [
            (b"x;00", "Syntax error at keys.txt line 1, column 1"),
            (b"1:00", "Syntax error at keys.txt line 1, column 2"),
            (
                b"0;0123456789abcdef0123456789abcdef",
                "Invalid key id at keys.txt line 1, column 2",
            ),
            (
                b"99999999999;00",
                "Invalid key id at keys.txt line 1, column 10",
            ),
            (b"1;0123", "Invalid key at keys.txt line 1, column 7"),
            (
                b"1;0123456789abcdef0123456789abcdef0",
                "Invalid key at keys.txt line 1, column 35",
            ),
            (
                b"2;0123456789abcdef0123456789abcdef",
                "System key id 1 is missing in keys.txt",
            ),
        ];
        for (text, want) in cases {
            let e = KeyRing::parse(text, &FileKey::default(), p())
                .unwrap_err()
                .to_string();
            assert!(e.starts_with(want), "{e}");
        }
        let e = KeyRing::parse(
            b"1;0123456789abcdef0123456789abcdef",
            &FileKey::literal(b"s"),
            p(),
        );
        assert!(matches!(e, Err(Error::NotEncrypted { .. })));
    }

    #[test]
    fn debug_never_shows_key_bytes() {
        let ring = KeyRing::parse(
            b"1;AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            &FileKey::default(),
            p(),
        )
        .unwrap();
        let s = format!(
            "{ring:?} {:?} {:?}",
            ring.get(1, 1).unwrap(),
            FileKey::literal(b"secret")
        );
        assert_eq!(s, "KeyRing(ids [1]) Key(128 bits) FileKey(..)");
    }

    /// `openssl enc -aes-256-cbc -md sha1 -pass pass:secret` of
    /// keys.txt (testdata/crypt/make.sh).
    #[test]
    fn decrypts_openssl_enc_files() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/crypt");
        let enc = std::fs::read(dir.join("keys.enc")).unwrap();
        let plain = KeyRing::load(&dir.join("keys.txt"), &FileKey::default()).unwrap();
        let ring = KeyRing::parse(&enc, &FileKey::literal(b"secret"), p()).unwrap();
        assert_eq!(ring, plain);
        assert_eq!(ring.ids().collect::<Vec<_>>(), [1, 2]);
        for wrong in [&b"Secret"[..], b""] {
            let e = KeyRing::parse(&enc, &FileKey::literal(wrong), p()).unwrap_err();
            assert!(matches!(e, Error::WrongFileKey { .. }), "{e}");
        }
        let e =
            KeyRing::parse(&enc[..enc.len() - 1], &FileKey::literal(b"secret"), p()).unwrap_err();
        assert!(matches!(e, Error::BadEncryptedFile { .. }), "{e}");
    }

    #[test]
    fn file_key_from_file() {
        let dir = std::env::temp_dir().join(format!("crypt-filekey-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("k");
        std::fs::write(&f, b"secret\r\n\n").unwrap();
        let k = FileKey::from_option(&format!("FILE:{}", f.display())).unwrap();
        assert_eq!(k, FileKey::literal(b"secret"));
        std::fs::write(&f, vec![b'a'; 257]).unwrap();
        assert!(matches!(
            FileKey::from_option(&format!("FILE:{}", f.display())),
            Err(Error::FileKeyTooLong { .. })
        ));
        let missing = FileKey::from_option(&format!("FILE:{}", dir.join("none").display()));
        assert!(matches!(
            missing,
            Err(Error::Read {
                what: "file key",
                ..
            })
        ));
        assert_eq!(
            FileKey::from_option("abc").unwrap(),
            FileKey::literal(b"abc")
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
