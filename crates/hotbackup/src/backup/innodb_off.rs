//! A server running without InnoDB (`--skip-innodb`): the InnoDB settings come from the option
//! files and from the InnoDB files themselves, which nothing writes while the server runs.
//!
//! Such a server shows no `innodb_*` variable and answers neither `SHOW ENGINE INNODB STATUS`
//! nor `Innodb_lsn_*`. mariadb-backup then copies the datadir's InnoDB files as they are and
//! the redo log up to its end; so does hotbackup: the files are quiescent, so the copies are
//! consistent, and the backup's LSN is the end of the log.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::Path;

use innodb::page::fsp::{SpaceFlags, FSP_HEADER_OFFSET, FSP_SPACE_FLAGS};
use server::Variables;

use super::discover;
use crate::options::Innodb;

/// Whether the server runs without InnoDB: it shows none of InnoDB's variables.
pub fn is_off(vars: &Variables) -> bool {
    vars.get("innodb_page_size").is_none() && vars.get("innodb_version").is_none()
}

/// Fills in the InnoDB variables a server without InnoDB does not show: the layout from the
/// tool's options (`[mysqld]` of the option files, the command line) or the server's
/// defaults, `innodb_page_size` from page 0 of the first system tablespace file and
/// `innodb_log_file_size` from `ib_logfile0`. Variables the server shows are kept.
pub fn fill(vars: &mut Variables, innodb: &Innodb, datadir: &Path) {
    let path_text = |p: &Option<std::path::PathBuf>, default: &str| {
        p.as_ref()
            .map_or_else(|| default.to_string(), |p| p.display().to_string())
    };
    let mut set = |name: &str, value: String| {
        vars.0.entry(name.to_string()).or_insert(value);
    };
    set("innodb_data_home_dir", path_text(&innodb.data_home_dir, ""));
    set(
        "innodb_data_file_path",
        innodb
            .data_file_path
            .clone()
            .unwrap_or_else(|| "ibdata1:12M:autoextend".to_string()),
    );
    set(
        "innodb_log_group_home_dir",
        path_text(&innodb.log_group_home_dir, "./"),
    );
    set(
        "innodb_undo_directory",
        path_text(&innodb.undo_directory, "./"),
    );
    let home = discover::resolve(datadir, vars.get("innodb_data_home_dir").unwrap_or(""));
    let first = discover::data_file_names(vars.get("innodb_data_file_path").unwrap_or(""))
        .into_iter()
        .next();
    if let Some(size) = first.and_then(|name| page_size_of(&home.join(name))) {
        vars.0
            .entry("innodb_page_size".to_string())
            .or_insert(size.to_string());
    }
    let log_dir = discover::resolve(
        datadir,
        vars.get("innodb_log_group_home_dir").unwrap_or("./"),
    );
    if let Ok(meta) = std::fs::metadata(log_dir.join("ib_logfile0")) {
        vars.0
            .entry("innodb_log_file_size".to_string())
            .or_insert(meta.len().to_string());
    }
    let undo_dir = discover::resolve(datadir, vars.get("innodb_undo_directory").unwrap_or("./"));
    let undo = std::fs::read_dir(undo_dir)
        .map(|dir| {
            dir.filter_map(Result::ok)
                .filter(|e| discover::is_undo_name(&e.file_name().to_string_lossy()))
                .count()
        })
        .unwrap_or(0);
    vars.0
        .entry("innodb_undo_tablespaces".to_string())
        .or_insert(undo.to_string());
}

/// The logical page size in page 0's `FSP_SPACE_FLAGS`, if the file has a valid page 0.
fn page_size_of(path: &Path) -> Option<usize> {
    let mut head = [0u8; FSP_HEADER_OFFSET + FSP_SPACE_FLAGS + 4];
    File::open(path).ok()?.read_exact_at(&mut head, 0).ok()?;
    let at = FSP_HEADER_OFFSET + FSP_SPACE_FLAGS;
    let raw = u32::from_be_bytes([head[at], head[at + 1], head[at + 2], head[at + 3]]);
    SpaceFlags::parse(raw).ok().map(|f| f.logical_page_size())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> Variables {
        pairs.iter().copied().collect()
    }

    fn no_options() -> Innodb {
        Innodb {
            data_home_dir: None,
            log_group_home_dir: None,
            undo_directory: None,
            data_file_path: None,
            checksum_algorithm: None,
        }
    }

    #[test]
    fn off_only_without_innodb_variables() {
        for (v, off) in [
            (vars(&[("datadir", "/d/")]), true),
            (vars(&[("innodb_page_size", "16384")]), false),
            (vars(&[("innodb_version", "10.11.19")]), false),
        ] {
            assert_eq!(is_off(&v), off, "{v:?}");
        }
    }

    /// A datadir with a 4k ibdata1 page 0 (full_crc32 flags), a 1 MiB log and two undo
    /// tablespaces gives those facts; the options win over the defaults; variables the
    /// server shows are never replaced.
    #[test]
    fn fills_from_files_and_options() {
        let dir = std::env::temp_dir().join(format!("hb-innodb-off-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let mut page0 = vec![0u8; 4096];
        // full_crc32 (bit 4) with page size code 3 (4k) in bits 0..4.
        let flags: u32 = 0x10 | 3;
        page0[FSP_HEADER_OFFSET + FSP_SPACE_FLAGS..][..4].copy_from_slice(&flags.to_be_bytes());
        std::fs::write(dir.join("ibdata1"), &page0).unwrap();
        std::fs::write(dir.join("ib_logfile0"), vec![0u8; 1 << 20]).unwrap();
        std::fs::write(dir.join("undo001"), b"").unwrap();
        std::fs::write(dir.join("undo002"), b"").unwrap();

        let mut v = vars(&[("datadir", "/d/")]);
        fill(&mut v, &no_options(), &dir);
        assert_eq!(v.get("innodb_page_size"), Some("4096"));
        assert_eq!(v.get("innodb_log_file_size"), Some("1048576"));
        assert_eq!(v.get("innodb_undo_tablespaces"), Some("2"));
        assert_eq!(
            v.get("innodb_data_file_path"),
            Some("ibdata1:12M:autoextend")
        );
        assert_eq!(v.get("innodb_undo_directory"), Some("./"));

        let mut opts = no_options();
        opts.data_file_path = Some("ibdata1:10M:autoextend".into());
        let mut v = vars(&[("innodb_undo_tablespaces", "3")]);
        fill(&mut v, &opts, &dir);
        assert_eq!(
            v.get("innodb_data_file_path"),
            Some("ibdata1:10M:autoextend")
        );
        assert_eq!(v.get("innodb_undo_tablespaces"), Some("3"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
