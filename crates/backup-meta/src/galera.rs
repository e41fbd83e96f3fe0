//! `xtrabackup_galera_info` (`--galera-info` on a Galera node): the cluster state the backup
//! corresponds to, used by SST scripts.
//!
//! mariadb-backup 10.11 (read from the 10.11.19 binary; not observed on a real cluster):
//! * `--backup` writes `"%s:%s %s\n"` from `wsrep_local_state_uuid`, `wsrep_last_committed`
//!   and `wsrep_gtid_domain_id` (also as `donor_galera_info`);
//! * `--prepare` rewrites it from the recovered WSREP XID as `"%s:%lld %lld"`, **without** a
//!   trailing newline ([`GaleraInfo::render_recovered`]).
//!
//! Older versions wrote just `uuid:seqno\n`; the parser accepts all three shapes.

use crate::error::{excerpt, ParseError};
use crate::scan::parse_i64;
use crate::MetaFile;

/// The content of `xtrabackup_galera_info`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GaleraInfo {
    /// Cluster state UUID.
    pub state_uuid: String,
    /// Last committed seqno (-1 when undefined).
    pub seqno: i64,
    /// `wsrep_gtid_domain_id`; `None` in the old two-field form.
    pub domain_id: Option<i64>,
}

impl GaleraInfo {
    /// The form `--prepare` writes: `uuid:seqno domain_id` with no newline.
    pub fn render_recovered(&self) -> String {
        let mut out = format!("{}:{}", self.state_uuid, self.seqno);
        if let Some(domain) = self.domain_id {
            out.push_str(&format!(" {domain}"));
        }
        out
    }
}

impl MetaFile for GaleraInfo {
    const WHAT: &'static str = "xtrabackup_galera_info";

    fn parse(text: &str) -> Result<Self, ParseError> {
        if text.is_empty() {
            return Err(ParseError::Empty);
        }
        let line = text.strip_suffix('\n').unwrap_or(text);
        if let Some(nl) = line.find('\n') {
            return Err(ParseError::Trailing {
                line: 2,
                found: excerpt(&line[nl + 1..]),
            });
        }
        // The UUID never contains ':'; the seqno starts after the last one.
        let colon = line.rfind(':').ok_or_else(|| ParseError::Expected {
            line: 1,
            expected: "`<uuid>:<seqno>[ <domain_id>]`".into(),
            found: excerpt(line),
        })?;
        let state_uuid = &line[..colon];
        if state_uuid.is_empty() {
            return Err(ParseError::InvalidValue {
                line: 1,
                key: "uuid".into(),
                value: String::new(),
                reason: "empty state UUID".into(),
            });
        }
        let numbers = &line[colon + 1..];
        let (seqno_text, domain_text) = match numbers.split_once(' ') {
            Some((s, d)) => (s, Some(d)),
            None => (numbers, None),
        };
        let number = |key: &str, text: &str| {
            parse_i64(text).map_err(|reason| ParseError::InvalidValue {
                line: 1,
                key: key.into(),
                value: text.into(),
                reason: reason.into(),
            })
        };
        Ok(GaleraInfo {
            state_uuid: state_uuid.to_string(),
            seqno: number("seqno", seqno_text)?,
            domain_id: domain_text.map(|d| number("domain_id", d)).transpose()?,
        })
    }

    /// The form `--backup` writes: `uuid:seqno domain_id\n`.
    fn render(&self) -> String {
        let mut out = self.render_recovered();
        out.push('\n');
        out
    }
}
