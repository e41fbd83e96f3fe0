//! The key management of an encrypted server (`file_key_management`): where its settings
//! come from, the refusal of other key plugins, and the keys loaded once for a mode.
//!
//! `--prepare` reads the plugin block mariadb-backup writes into `backup-my.cnf`
//! (`plugin_load=`, `file_key_management_filename=`, `…_filekey=`, `…_encryption_algorithm=`);
//! `--backup` asks the server (the same lines, written into `backup-my.cnf`). The
//! `--plugin-load[-add]` and `--file-key-management-*` options override both. Key bytes and
//! the file key are never logged; messages name key ids and files only.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use backup_meta::CnfOption;

use crate::exit::Code;
use crate::failure::Failure;

/// Where plugin names given as hotbackup's own options come from.
const FROM_OPTIONS: &str = "--plugin-load(-add)";

/// The one key management plugin hotbackup implements.
pub const FILE_KEY_MANAGEMENT: &str = "file_key_management";

/// The key management settings of one backup; also the `--plugin-load[-add]` and
/// `--file-key-management-*` options as given ([`KeySettings::given`]), laid over the
/// server's or `backup-my.cnf`'s with [`KeySettings::overlay`].
#[derive(Clone, Default, PartialEq, Eq)]
pub struct KeySettings {
    /// Plugin names from every `plugin_load`/`plugin_load_add` value, with where each came from.
    plugins: Vec<(String, &'static str)>,
    filename: Option<PathBuf>,
    filekey: Option<String>,
    algorithm: Option<String>,
    /// `innodb_encrypt_tables` is ON or FORCE.
    pub encrypt_tables: bool,
}

impl std::fmt::Debug for KeySettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeySettings")
            .field("plugins", &self.plugins)
            .field("filename", &self.filename)
            .field("filekey", &self.filekey.as_ref().map(|_| "..."))
            .field("algorithm", &self.algorithm)
            .finish()
    }
}

/// The plugin names of a `plugin_load` value: `name=library;library2;…`, a bare library
/// named after its file (`.so`/`.dll` dropped).
fn plugin_names(value: &str) -> Vec<String> {
    value
        .split(';')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|entry| {
            let name = entry.split_once('=').map_or(entry, |(n, _)| n);
            let name = name.rsplit('/').next().unwrap_or(name);
            name.trim_end_matches(".so")
                .trim_end_matches(".dll")
                .trim_matches('"')
                .to_string()
        })
        .collect()
}

fn unquote(v: &str) -> &str {
    let v = v.trim();
    for q in ['"', '\''] {
        if let Some(inner) = v.strip_prefix(q).and_then(|r| r.strip_suffix(q)) {
            return inner;
        }
    }
    v
}

impl KeySettings {
    /// The plugin block of `backup-my.cnf` (its `[mysqld]` options other than the typed ones).
    pub fn from_cnf(options: &[CnfOption]) -> KeySettings {
        let mut s = KeySettings::default();
        for o in options {
            let key = o.key.replace('-', "_").to_ascii_lowercase();
            let Some(value) = o.value.as_deref().map(unquote) else {
                continue;
            };
            s.set(&key, value, "backup-my.cnf");
        }
        s
    }

    /// One `name=value` setting (option-file or server variable spelling, `_`).
    pub fn set(&mut self, key: &str, value: &str, from: &'static str) {
        match key {
            "plugin_load" | "plugin_load_add" => self
                .plugins
                .extend(plugin_names(value).into_iter().map(|n| (n, from))),
            "file_key_management_filename" => self.filename = Some(PathBuf::from(value)),
            "file_key_management_filekey" => self.filekey = Some(value.to_string()),
            "file_key_management_encryption_algorithm" => self.algorithm = Some(value.to_string()),
            "innodb_encrypt_tables" => {
                self.encrypt_tables = matches!(
                    value.to_ascii_uppercase().as_str(),
                    "ON" | "FORCE" | "1" | "2"
                )
            }
            _ => {}
        }
    }

    /// The settings given as hotbackup's own options: `plugin_load` values (`--plugin-load`
    /// then `--plugin-load-add`), key file, file key, algorithm.
    pub fn given(
        plugin_load: impl IntoIterator<Item = String>,
        filename: Option<PathBuf>,
        filekey: Option<String>,
        algorithm: Option<&str>,
    ) -> KeySettings {
        KeySettings {
            plugins: plugin_load
                .into_iter()
                .flat_map(|v| plugin_names(&v))
                .map(|n| (n, FROM_OPTIONS))
                .collect(),
            filename,
            filekey,
            algorithm: algorithm.map(str::to_string),
            encrypt_tables: false,
        }
    }

    /// `given` (hotbackup's options, [`KeySettings::given`]) on top: its plugins added, its
    /// key file, file key and algorithm replacing these.
    pub fn overlay(&mut self, given: &KeySettings) {
        self.plugins.extend(given.plugins.iter().cloned());
        if let Some(f) = &given.filename {
            self.filename = Some(f.clone());
        }
        if let Some(k) = &given.filekey {
            self.filekey = Some(k.clone());
        }
        if let Some(a) = &given.algorithm {
            self.algorithm = Some(a.clone());
        }
    }

    /// A key plugin other than file_key_management given to hotbackup as an option is
    /// refused by name (exit 2). One that comes from the server or `backup-my.cnf` is only
    /// refused where a key is needed ([`KeySettings::unsupported`]): a backup whose log and
    /// changed pages are not encrypted does not need it.
    pub fn check_plugins(&self) -> Result<(), Failure> {
        match self.unsupported_plugin(true) {
            Some(reason) => Err(Failure::new(Code::Usage, reason)),
            None => Ok(()),
        }
    }

    /// Why keys cannot be had, when a key plugin other than file_key_management is loaded.
    pub fn unsupported(&self) -> Option<String> {
        self.unsupported_plugin(false)
    }

    fn unsupported_plugin(&self, options_only: bool) -> Option<String> {
        self.plugins
            .iter()
            .filter(|(_, from)| !options_only || *from == FROM_OPTIONS)
            .find(|(name, _)| name.ends_with("_key_management") && name != FILE_KEY_MANAGEMENT)
            .map(|(name, from)| {
                format!(
                    "the key management plugin {name} (from {from}) is not supported: hotbackup \
                     reads only file_key_management key files; use mariadb-backup for a server \
                     with {name}"
                )
            })
    }

    /// Whether file_key_management is loaded (named in a plugin list).
    pub fn uses_file_key_management(&self) -> bool {
        self.plugins.iter().any(|(n, _)| n == FILE_KEY_MANAGEMENT)
    }

    /// The keys, if file_key_management is loaded: the key file read and, if encrypted,
    /// decrypted with the file key. An unreadable key file exits 6, a wrong file key, a bad
    /// key file or missing settings exit 2: each message names the file and the option.
    pub fn load(&self) -> Result<Option<Arc<crypt::Keys>>, Failure> {
        self.check_plugins()?;
        if !self.uses_file_key_management() {
            return Ok(None);
        }
        let filename = self.filename.as_deref().ok_or_else(|| {
            Failure::new(
                Code::Usage,
                "file_key_management is loaded but its key file is not set: give \
                 --file-key-management-filename=KEYFILE"
                    .to_string(),
            )
        })?;
        let algorithm = match self.algorithm.as_deref() {
            None => crypt::Algorithm::Cbc,
            Some(a) => crypt::Algorithm::parse(a).ok_or_else(|| {
                Failure::new(
                    Code::Usage,
                    format!(
                        "file_key_management_encryption_algorithm={a} is not aes_cbc or aes_ctr"
                    ),
                )
            })?,
        };
        let usage = |e: crypt::Error| {
            let code = match e {
                crypt::Error::Read { .. } => Code::Io,
                _ => Code::Usage,
            };
            Failure::new(code, format!("file_key_management: {e}"))
        };
        let filekey =
            crypt::FileKey::from_option(self.filekey.as_deref().unwrap_or("")).map_err(usage)?;
        let ring = crypt::KeyRing::load(filename, &filekey).map_err(usage)?;
        Ok(Some(Arc::new(crypt::Keys { ring, algorithm })))
    }
}

/// A prepare that needed a key it could not have: says so when the reason is a key plugin
/// hotbackup does not read.
pub fn explain(e: prepare::PrepareError, settings: &KeySettings) -> prepare::PrepareError {
    match (e, settings.unsupported()) {
        (prepare::PrepareError::Key { what, .. }, Some(reason)) => {
            prepare::PrepareError::Key { what, reason }
        }
        (e, _) => e,
    }
}

/// The key settings for `--prepare` of the backup in `target`: `backup-my.cnf`'s plugin
/// block with the options on top.
pub fn for_prepare(given: &KeySettings, target: &Path) -> Result<KeySettings, Failure> {
    use backup_meta::MetaFile;
    let mut s = match backup_meta::BackupMyCnf::read(&target.join("backup-my.cnf")) {
        Ok(cnf) => KeySettings::from_cnf(&cnf.other_options),
        Err(_) => KeySettings::default(),
    };
    s.overlay(given);
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cnf(lines: &[(&str, &str)]) -> Vec<CnfOption> {
        lines
            .iter()
            .map(|(k, v)| CnfOption {
                key: k.to_string(),
                value: Some(v.to_string()),
            })
            .collect()
    }

    #[test]
    fn reads_mariadb_backups_plugin_block() {
        let s = KeySettings::from_cnf(&cnf(&[
            ("plugin_dir", "\"/usr/lib/mysql/plugin/\""),
            ("plugin_load", "file_key_management=file_key_management"),
            ("file_key_management_encryption_algorithm", "aes_ctr"),
            ("file_key_management_filekey", "secret"),
            ("file_key_management_filename", "/k/keys.enc"),
            ("innodb_encrypt_log", "1"),
        ]));
        assert!(s.uses_file_key_management());
        assert_eq!(s.filename.as_deref(), Some(Path::new("/k/keys.enc")));
        assert_eq!(s.algorithm.as_deref(), Some("aes_ctr"));
        assert!(!format!("{s:?}").contains("secret"));
        let given = KeySettings::given(
            ["file_key_management".to_string()],
            None,
            Some("secret2".into()),
            Some("aes_cbc"),
        );
        assert!(!format!("{given:?}").contains("secret2"));
        let mut s = s;
        s.overlay(&given);
        assert_eq!(s.filekey.as_deref(), Some("secret2"));
        assert_eq!(s.algorithm.as_deref(), Some("aes_cbc"));
        assert_eq!(s.filename.as_deref(), Some(Path::new("/k/keys.enc")));
    }

    #[test]
    fn other_key_plugins_are_refused_by_name() {
        for (value, refused) in [
            ("hashicorp_key_management", Some("hashicorp_key_management")),
            ("aws_key_management.so", Some("aws_key_management")),
            (
                "x=y;aws_key_management=aws_key_management",
                Some("aws_key_management"),
            ),
            ("ha_rocksdb", None),
            ("file_key_management.so", None),
            ("provider_lz4=provider_lz4", None),
        ] {
            let mut s = KeySettings::default();
            s.overlay(&KeySettings::given([value.to_string()], None, None, None));
            match (s.check_plugins(), refused) {
                (Ok(()), None) => {}
                (Err(f), Some(name)) => {
                    assert_eq!(f.code, Code::Usage);
                    assert!(f.message.contains(name), "{}", f.message);
                }
                (r, want) => panic!("{value}: {r:?} want {want:?}"),
            }
        }
    }

    #[test]
    fn load_errors_name_the_file_and_option() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/crypt");
        let base = |filename: &Path, filekey: Option<&str>| {
            let mut s = KeySettings::default();
            s.set("plugin_load_add", "file_key_management", "test");
            s.filename = Some(filename.to_path_buf());
            s.filekey = filekey.map(str::to_string);
            s
        };
        let keys = base(&dir.join("keys.enc"), Some("secret"))
            .load()
            .unwrap()
            .unwrap();
        assert_eq!(keys.ring.ids().collect::<Vec<_>>(), [1, 2]);
        let f = base(&dir.join("keys.enc"), Some("wrong"))
            .load()
            .unwrap_err();
        assert_eq!(f.code, Code::Usage);
        assert!(
            f.message.contains("keys.enc") && f.message.contains("--file-key-management-filekey"),
            "{}",
            f.message
        );
        let f = base(&dir.join("nope.txt"), None).load().unwrap_err();
        assert_eq!(f.code, Code::Io);
        assert!(f.message.contains("nope.txt"), "{}", f.message);
        let mut s = base(&dir.join("keys.txt"), None);
        s.filename = None;
        let f = s.load().unwrap_err();
        assert!(
            f.message.contains("--file-key-management-filename"),
            "{}",
            f.message
        );
        assert!(KeySettings::default().load().unwrap().is_none());
    }
}
