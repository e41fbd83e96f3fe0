//! POSIX extended regular expressions through the C library's `regcomp`/`regexec`, the
//! functions mariadb-backup 10.11 itself uses for `--tables` and `--tables-exclude` (built
//! with `HAVE_SYSTEM_REGEX` on Linux: glibc's matcher, `REG_EXTENDED`, unanchored search).
//! Calling the same functions gives the same answer for every pattern, including glibc's
//! extensions (`\w`, back-references) and its errors; a Rust engine would differ at the edges.

use std::ffi::{CStr, CString};
use std::sync::Mutex;

/// One compiled pattern. `regexec` on a shared `regex_t` is not documented as thread-safe
/// (mariadb-backup serialises it too), so matching takes a lock.
pub struct Regex {
    pattern: String,
    compiled: Mutex<Box<libc::regex_t>>,
}

// SAFETY: the `regex_t` is only touched through the mutex, and glibc's compiled pattern holds
// no thread-local state.
unsafe impl Send for Regex {}
// SAFETY: as above: every access goes through the mutex.
unsafe impl Sync for Regex {}

impl Regex {
    /// Compiles `pattern` as `regcomp(REG_EXTENDED)` does. The error is `regerror`'s text
    /// (e.g. "Unmatched ( or \\(").
    pub fn new(pattern: &str) -> Result<Regex, String> {
        let c = CString::new(pattern).map_err(|_| "the pattern contains a NUL byte".to_string())?;
        // SAFETY: regex_t is plain data that regcomp initialises; zeroed is a valid start.
        let mut compiled: Box<libc::regex_t> = Box::new(unsafe { std::mem::zeroed() });
        // SAFETY: `compiled` points to writable memory for a regex_t, `c` is NUL-terminated.
        let rc = unsafe { libc::regcomp(&mut *compiled, c.as_ptr(), libc::REG_EXTENDED) };
        if rc != 0 {
            let mut buf = [0u8; 256];
            // SAFETY: regerror writes at most buf.len() bytes, NUL-terminated, into buf.
            unsafe {
                libc::regerror(rc, &*compiled, buf.as_mut_ptr().cast(), buf.len());
            }
            let text = CStr::from_bytes_until_nul(&buf)
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_else(|_| format!("regcomp error {rc}"));
            // A failed regcomp frees what it allocated; regfree must not be called.
            return Err(text);
        }
        Ok(Regex {
            pattern: pattern.to_string(),
            compiled: Mutex::new(compiled),
        })
    }

    /// Whether the pattern matches anywhere in `text` (`regexec(…) != REG_NOMATCH`, as
    /// mariadb-backup tests it). A text with a NUL byte cannot be a file name: no match.
    pub fn is_match(&self, text: &str) -> bool {
        let Ok(c) = CString::new(text) else {
            return false;
        };
        let compiled = self.compiled.lock().unwrap_or_else(|p| p.into_inner());
        let mut m = [libc::regmatch_t { rm_so: 0, rm_eo: 0 }];
        // SAFETY: `compiled` was initialised by a successful regcomp; `c` is NUL-terminated;
        // `m` has room for the one match asked for.
        let rc = unsafe { libc::regexec(&**compiled, c.as_ptr(), 1, m.as_mut_ptr(), 0) };
        rc != libc::REG_NOMATCH
    }
}

impl Drop for Regex {
    fn drop(&mut self) {
        let compiled = self.compiled.get_mut().unwrap_or_else(|p| p.into_inner());
        // SAFETY: compiled by a successful regcomp, freed exactly once.
        unsafe { libc::regfree(&mut **compiled) };
    }
}

impl std::fmt::Debug for Regex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Regex({:?})", self.pattern)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn posix_extended_search() {
        for (pattern, text, expected) in [
            // Unanchored: a match anywhere counts (mariadb-backup's `--tables=test.*1`).
            ("test.*1", "test.t1", true),
            ("test.*1", "test.t21", true),
            ("test.*1", "test.t2", false),
            ("test.*1", "mytest.t1#P#p1", true),
            ("^test[.]t1$", "test.t1", true),
            ("^test[.]t1$", "test.t10", false),
            ("^test[.]t1$", "xtest.t1", false),
            // ERE: alternation, groups and bounds without backslashes.
            ("^(a|b)[.]t{2}$", "b.tt", true),
            ("^(a|b)[.]t{2}$", "c.tt", false),
            ("db[.]t#P#p[0-2]", "db.t#P#p1", true),
            ("db[.]t#P#p[0-2]", "db.t#P#p5", false),
            // Case-sensitive, as REG_ICASE is not given.
            ("^TEST", "test.t1", false),
            // A literal `+` needs escaping in ERE.
            ("a\\+b", "a+b", true),
            ("", "anything", true),
        ] {
            let re = Regex::new(pattern).unwrap();
            assert_eq!(re.is_match(text), expected, "{pattern:?} on {text:?}");
            assert_eq!(format!("{re:?}"), format!("Regex({pattern:?})"));
        }
    }

    #[test]
    fn invalid_patterns_carry_regerror_text() {
        for pattern in ["(", "a{1", "[a", "a{2,1}"] {
            let e = Regex::new(pattern).unwrap_err();
            assert!(!e.is_empty(), "{pattern}");
        }
        assert_eq!(Regex::new("(").unwrap_err(), "Unmatched ( or \\(");
        assert!(Regex::new("a\0b").is_err());
    }

    #[test]
    fn shared_between_threads() {
        let re = std::sync::Arc::new(Regex::new("^db[0-9]+[.]").unwrap());
        let handles: Vec<_> = (0..4)
            .map(|i| {
                let re = re.clone();
                std::thread::spawn(move || {
                    (0..1000).all(|n| re.is_match(&format!("db{}.t", n + i)))
                        && !re.is_match("dbx.t")
                })
            })
            .collect();
        for h in handles {
            assert!(h.join().unwrap());
        }
    }
}
