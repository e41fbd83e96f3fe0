//! An encrypted server's options for the tests (file_key_management with the key files of
//! `testdata/crypt`), and the key bytes no output of hotbackup may contain.
#![allow(dead_code)]

use std::path::PathBuf;

/// `testdata/crypt`: `keys.txt` (plain: key id 1, 128-bit; id 2, 256-bit) and `keys.enc`
/// (the same, encrypted with the file key `secret`).
pub fn keys_dir() -> PathBuf {
    testkit::repo_dir().join("testdata/crypt")
}

/// The server options of an encrypted server (`innodb_encrypt_tables`, `innodb_encrypt_log`,
/// `aria_encrypt_tables` ON): the encrypted key file (file key `secret`) with aes_ctr when
/// `ctr`, else the plain one with aes_cbc.
pub fn options(ctr: bool) -> Vec<String> {
    let (file, key, alg) = match ctr {
        true => ("keys.enc", Some("secret"), "aes_ctr"),
        false => ("keys.txt", None, "aes_cbc"),
    };
    let mut o = vec![
        "plugin-load-add=file_key_management".to_string(),
        format!(
            "file-key-management-filename={}",
            keys_dir().join(file).display()
        ),
        format!("file-key-management-encryption-algorithm={alg}"),
        "innodb-encrypt-tables=ON".to_string(),
        "innodb-encrypt-log=ON".to_string(),
        "aria-encrypt-tables=ON".to_string(),
    ];
    if let Some(k) = key {
        o.push(format!("file-key-management-filekey={k}"));
    }
    o
}

/// The keys of `keys.txt` as the forms a leak could take: the hex text (upper and lower
/// case) and the raw bytes.
pub fn key_forms() -> Vec<Vec<u8>> {
    let text = std::fs::read_to_string(keys_dir().join("keys.txt")).unwrap();
    let mut out = Vec::new();
    for line in text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
    {
        let hex = line.split_once(';').unwrap().1.trim();
        out.push(hex.to_ascii_uppercase().into_bytes());
        out.push(hex.to_ascii_lowercase().into_bytes());
        let raw: Vec<u8> = (0..hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
            .collect();
        out.push(raw);
    }
    assert_eq!(out.len(), 6, "two keys in keys.txt");
    out
}

/// Names the first of `key_forms` that `bytes` contains.
pub fn leaked_key(bytes: &[u8]) -> Option<String> {
    key_forms().into_iter().find_map(|k| {
        bytes
            .windows(k.len())
            .any(|w| w == k.as_slice())
            .then(|| format!("{} bytes starting {:02x?}", k.len(), &k[..4]))
    })
}
