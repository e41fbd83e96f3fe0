//! `--open-files-limit`: raises the process's `RLIMIT_NOFILE` soft limit, never lowers it,
//! as mariadb-backup does; prepare and copy-back then size their open files from the
//! resulting limit (`prepare::data_file_capacity`).

/// The soft limit to ask for: `requested` when it is above the current soft limit (capped
/// by the hard limit), else none (0 asks for nothing; an unlimited soft limit stays).
fn target(requested: u64, soft: u64, hard: u64) -> Option<u64> {
    (requested > 0 && soft != libc::RLIM_INFINITY && requested > soft).then(|| requested.min(hard))
}

/// Applies `--open-files-limit=requested`; returns the soft limit now in force (`None`:
/// unlimited or unreadable) and a warning when the limit could not be raised as asked.
pub fn apply(requested: u64) -> (Option<u64>, Option<String>) {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes one rlimit into the struct we own.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } != 0 {
        return (None, None);
    }
    let mut warning = None;
    if let Some(want) = target(requested, lim.rlim_cur, lim.rlim_max) {
        let new = libc::rlimit {
            rlim_cur: want,
            rlim_max: lim.rlim_max,
        };
        // SAFETY: setrlimit reads one rlimit from the struct we own.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &new) } == 0 {
            lim.rlim_cur = want;
        } else {
            warning = Some(format!(
                "setrlimit failed {}: open files limit stays {}",
                std::io::Error::last_os_error(),
                lim.rlim_cur
            ));
        }
        if want < requested && warning.is_none() {
            warning = Some(format!(
                "open files limit {requested} is above the hard limit {}: set to {want}",
                lim.rlim_max
            ));
        }
    }
    let now = (lim.rlim_cur != libc::RLIM_INFINITY).then_some(lim.rlim_cur);
    (now, warning)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raises_never_lowers() {
        let inf = libc::RLIM_INFINITY;
        for (requested, soft, hard, want) in [
            (0, 1024, 4096, None),
            (512, 1024, 4096, None),
            (1024, 1024, 4096, None),
            (2048, 1024, 4096, Some(2048)),
            (10_000, 1024, 4096, Some(4096)),
            (10_000, 1024, inf, Some(10_000)),
            (10_000, inf, inf, None),
        ] {
            assert_eq!(
                target(requested, soft, hard),
                want,
                "{requested} {soft} {hard}"
            );
        }
    }
}
