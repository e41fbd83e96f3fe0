//! `--galera-info`: the Galera node's cluster position, written as `xtrabackup_galera_info`
//! (and `donor_galera_info`, same content) under `BLOCK_COMMIT`, as mariadb-backup 10.11:
//! `wsrep_local_state_uuid` and `wsrep_last_committed` from `SHOW STATUS`, then
//! `wsrep_gtid_domain_id` from `SHOW VARIABLES LIKE 'wsrep%'`, rendered `uuid:seqno domain\n`.
//!
//! A server without the Galera status variables (not a cluster node, e.g. `wsrep_on=OFF`
//! on Debian's server, which still has the `wsrep_*` system variables) gets a warning and no
//! file, not an error, as with mariadb-backup.

use backup_meta::GaleraInfo;
use server::{Session, Variables};

use crate::failure::Failure;
use crate::log::Log;

/// Why no Galera info could be taken: mariadb-backup's warning, logged as is.
#[derive(Debug, PartialEq, Eq)]
pub enum NotGalera {
    /// `SHOW STATUS` has no (or an empty) `wsrep_local_state_uuid` / numeric
    /// `wsrep_last_committed`.
    Status,
    /// `SHOW VARIABLES` has no numeric `wsrep_gtid_domain_id`.
    Variables,
}

impl NotGalera {
    /// The warning mariadb-backup prints.
    pub fn warning(&self) -> &'static str {
        match self {
            NotGalera::Status => "Warning: failed to get master wsrep state from SHOW STATUS.",
            NotGalera::Variables => {
                "Warning: failed to get master wsrep state from SHOW VARIABLES."
            }
        }
    }
}

/// The file's content from `SHOW STATUS` (names lower case, as [`Variables`] keeps them).
/// `variables` is only consulted when the status has a cluster position.
pub fn from_status(
    status: &Variables,
    variables: impl FnOnce() -> Option<Variables>,
) -> Result<GaleraInfo, NotGalera> {
    let state_uuid = status
        .get("wsrep_local_state_uuid")
        .filter(|u| !u.is_empty())
        .ok_or(NotGalera::Status)?;
    let seqno = status
        .get("wsrep_last_committed")
        .and_then(|s| s.trim().parse::<i64>().ok())
        .ok_or(NotGalera::Status)?;
    let domain_id = variables()
        .as_ref()
        .and_then(|v| v.get("wsrep_gtid_domain_id"))
        .and_then(|d| d.trim().parse::<i64>().ok())
        .ok_or(NotGalera::Variables)?;
    Ok(GaleraInfo {
        state_uuid: state_uuid.to_string(),
        seqno,
        domain_id: Some(domain_id),
    })
}

/// Asks the server (under `BLOCK_COMMIT`); `None` (after mariadb-backup's warning) when it
/// is not a Galera node.
pub fn galera_info(main: &mut Session, log: &Log) -> Result<Option<GaleraInfo>, Failure> {
    let status = main.status(None)?;
    let mut query_error = None;
    let result = from_status(&status, || {
        main.variables_like("wsrep%")
            .map_err(|e| query_error = Some(e))
            .ok()
    });
    if let Some(e) = query_error {
        return Err(e.into());
    }
    match result {
        Ok(info) => {
            log.info(&format!(
                "Writing Galera info succeeded with {}",
                info.render_recovered()
            ));
            Ok(Some(info))
        }
        Err(why) => {
            log.info(why.warning());
            Ok(None)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use backup_meta::MetaFile;

    fn vars(pairs: &[(&str, &str)]) -> Variables {
        pairs.iter().copied().collect()
    }

    #[test]
    fn a_galera_node_gives_uuid_seqno_and_domain() {
        let status = vars(&[
            (
                "wsrep_local_state_uuid",
                "6a0e3ffc-e5de-11f1-8a41-2b7c4f0e3d11",
            ),
            ("wsrep_last_committed", "1234"),
            ("wsrep_ready", "ON"),
        ]);
        let info = from_status(&status, || {
            Some(vars(&[("wsrep_gtid_domain_id", "7"), ("wsrep_on", "ON")]))
        });
        let info = info.expect("a Galera node");
        assert_eq!(
            info.render(),
            "6a0e3ffc-e5de-11f1-8a41-2b7c4f0e3d11:1234 7\n"
        );
        // What --prepare and SST scripts read back.
        assert_eq!(GaleraInfo::parse(&info.render()), Ok(info));
    }

    #[test]
    fn an_undefined_seqno_is_kept() {
        let status = vars(&[
            (
                "wsrep_local_state_uuid",
                "00000000-0000-0000-0000-000000000000",
            ),
            ("wsrep_last_committed", "-1"),
        ]);
        let info = from_status(&status, || Some(vars(&[("wsrep_gtid_domain_id", "0")])));
        assert_eq!(
            info.map(|i| i.render()),
            Ok("00000000-0000-0000-0000-000000000000:-1 0\n".to_string())
        );
    }

    #[test]
    fn a_server_that_is_not_a_node_gives_no_file() {
        // SHOW STATUS LIKE 'wsrep%' of Debian's mariadbd 10.11 with wsrep_on=OFF.
        let status = vars(&[
            ("wsrep", "0"),
            ("wsrep_cluster_state_uuid", ""),
            ("wsrep_cluster_status", "Disconnected"),
            ("wsrep_connected", "OFF"),
            ("wsrep_ready", "OFF"),
        ]);
        let mut asked = false;
        let info = from_status(&status, || {
            asked = true;
            Some(vars(&[("wsrep_gtid_domain_id", "0")]))
        });
        assert_eq!(info, Err(NotGalera::Status));
        assert!(!asked, "SHOW VARIABLES is only read for a node");
        let empty_uuid = vars(&[
            ("wsrep_local_state_uuid", ""),
            ("wsrep_last_committed", "5"),
        ]);
        assert_eq!(from_status(&empty_uuid, || None), Err(NotGalera::Status));
    }

    #[test]
    fn a_node_without_domain_id_gives_no_file() {
        let status = vars(&[
            (
                "wsrep_local_state_uuid",
                "6a0e3ffc-e5de-11f1-8a41-2b7c4f0e3d11",
            ),
            ("wsrep_last_committed", "12"),
        ]);
        assert_eq!(
            from_status(&status, || Some(vars(&[]))),
            Err(NotGalera::Variables)
        );
        assert_eq!(
            NotGalera::Variables.warning(),
            "Warning: failed to get master wsrep state from SHOW VARIABLES."
        );
    }
}
