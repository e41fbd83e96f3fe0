//! The server's encryption plugins at `--backup`, as mariadb-backup 10.11 reads them
//! (`encryption_plugin_backup_init`): the plugin block it writes into `backup-my.cnf`, and
//! the keys the redo copy needs when the server encrypts its log.

use std::sync::Arc;

use backup_meta::CnfOption;
use server::Session;

use crate::failure::Failure;
use crate::keys::KeySettings;
use crate::options::Options;

/// mariadb-backup's query: encryption plugins and compression providers (note the
/// precedence of its `OR`/`AND`, kept).
const QUERY_PLUGIN: &str = "SELECT plugin_name, plugin_library, @@plugin_dir \
     FROM information_schema.plugins WHERE plugin_type='ENCRYPTION' \
     OR (plugin_type = 'DAEMON' AND plugin_name LIKE 'provider\\\\_%') \
     AND plugin_status='ACTIVE'";

/// What the backup takes from the server's encryption setup.
#[derive(Default)]
pub(super) struct ServerEncryption {
    /// The `backup-my.cnf` lines after the typed ones (empty without plugins).
    pub(super) block: Vec<CnfOption>,
    /// The server's keys (file_key_management): for an encrypted redo log and the pages
    /// `backup::extended_validation` decrypts (page_compressed+encrypted ones always).
    pub(super) keys: Option<Arc<crypt::Keys>>,
    /// Why `keys` is `None`, for the message on an encrypted table whose pages need them.
    pub(super) no_keys: String,
    /// `innodb_encrypt_log` is on.
    pub(super) encrypt_log: bool,
}

fn line(key: &str, value: &str) -> CnfOption {
    CnfOption {
        key: key.to_string(),
        value: Some(value.to_string()),
    }
}

/// Reads the plugins and their variables and loads the keys. If the log is encrypted or
/// `--extended-validation` is given, keys that cannot be had fail here (a key plugin other
/// than file_key_management, a key file that cannot be read: exit 2 or 6); otherwise only
/// the copy of a tablespace whose pages need them fails (`no_keys` says why).
pub(super) fn read(main: &mut Session, opts: &Options) -> Result<ServerEncryption, Failure> {
    let rows = main.query_rows(QUERY_PLUGIN)?;
    let mut out = ServerEncryption {
        no_keys: "the server has no encryption plugin".to_string(),
        ..ServerEncryption::default()
    };
    let mut plugin_load = String::new();
    let mut show: Option<String> = None;
    for row in rows {
        let get = |i: usize| row.get(i).cloned().flatten().unwrap_or_default();
        let (name, library, dir) = (get(0), get(1), get(2));
        if plugin_load.is_empty() {
            out.block.push(line("plugin_dir", &format!("\"{dir}\"")));
        }
        plugin_load.push(';');
        plugin_load.push_str(&name);
        if !library.is_empty() {
            let lib = library
                .strip_suffix(".so")
                .or_else(|| library.strip_suffix(".dll"));
            plugin_load.push('=');
            plugin_load.push_str(lib.unwrap_or(&library));
        }
        if !name.starts_with("provider_") {
            show = Some(name);
        }
    }
    if plugin_load.is_empty() {
        return Ok(out);
    }
    out.block.push(line("plugin_load", &plugin_load[1..]));
    let mut settings = KeySettings::default();
    settings.set("plugin_load", &plugin_load[1..], "the server");
    if let Some(name) = show {
        // mariadb-backup's LIKE '<name>_%': '_' matches any character, as there.
        for (k, v) in main.variables_like(&format!("{name}_%"))?.0 {
            settings.set(&k, &v, "the server");
            out.block.push(line(&k, &v));
        }
        let log = main
            .query_value("SELECT @@innodb_encrypt_log")?
            .unwrap_or_default();
        out.encrypt_log = log.starts_with('1');
        out.block.push(line("innodb_encrypt_log", &log));
    }
    if let Some(tables) = main.query_value("SELECT @@innodb_encrypt_tables")? {
        out.block.push(line("innodb_encrypt_tables", &tables));
    }
    settings.overlay(&opts.key_management);
    settings.check_plugins()?;
    if !out.encrypt_log && !opts.extended_validation {
        // Only for the page_compressed+encrypted pages every backup decrypts: keys that
        // cannot be had fail only the copy of such a tablespace, saying why.
        match settings.load() {
            Ok(Some(keys)) => out.keys = Some(keys),
            Ok(None) => out.no_keys = no_keys_reason(&settings),
            Err(f) => out.no_keys = f.message,
        }
        return Ok(out);
    }
    out.keys = settings.load()?;
    if out.keys.is_none() {
        let why = no_keys_reason(&settings);
        if !out.encrypt_log {
            // Only an encrypted table needs them: its copy says so.
            out.no_keys = why;
            return Ok(out);
        }
        return Err(Failure::new(
            crate::exit::Code::Usage,
            format!("the server encrypts its redo log (innodb_encrypt_log=ON): {why}"),
        ));
    }
    Ok(out)
}

/// Why the settings give no keys (a plugin is loaded, but not file_key_management).
fn no_keys_reason(settings: &KeySettings) -> String {
    settings.unsupported().unwrap_or_else(|| {
        "the server has no file_key_management plugin: give \
         --plugin-load-add=file_key_management --file-key-management-filename=KEYFILE"
            .to_string()
    })
}
