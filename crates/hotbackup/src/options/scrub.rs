//! Overwrites the passwords in the process's own argv, so that `ps` and `/proc/PID/cmdline`
//! do not show them (mariadb-backup does the same: the value becomes `x`).
//!
//! `/proc/PID/cmdline` is read from the memory that holds the original argument strings.
//! `std::env::args_os()` returns copies, so overwriting those changes nothing: the original
//! pointers are needed. On Linux with glibc, the dynamic loader calls every function in the
//! `.init_array` section with `(argc, argv, envp)` before `main` (the C runtime's documented
//! behaviour, which Rust's own std relies on for `std::env::args` on this target), so a
//! function placed there can record `argv`. The strings live in the stack area the kernel set
//! up for the process; they stay valid and writable for the whole run, and writing the bytes
//! of an existing string in place (never past its NUL) is sound.
//!
//! Before writing, each argument is compared with the copy that was parsed: if anything
//! differs (another library rewrote argv, or the target is not glibc), nothing is touched and
//! the caller is told. Elsewhere (other libcs, other systems) `scrub` does nothing and says so.

use super::secrets::Secret;

#[cfg(all(target_os = "linux", target_env = "gnu"))]
mod imp {
    use std::ffi::{c_char, c_int};
    use std::sync::atomic::{AtomicIsize, AtomicPtr, Ordering};

    static ARGC: AtomicIsize = AtomicIsize::new(0);
    static ARGV: AtomicPtr<*mut c_char> = AtomicPtr::new(std::ptr::null_mut());

    /// Called by glibc before `main` with the process's own argc/argv.
    extern "C" fn record(argc: c_int, argv: *mut *mut c_char, _envp: *mut *mut c_char) {
        ARGC.store(argc as isize, Ordering::Relaxed);
        ARGV.store(argv, Ordering::Relaxed);
    }

    #[used]
    #[link_section = ".init_array"]
    static RECORD_ARGV: extern "C" fn(c_int, *mut *mut c_char, *mut *mut c_char) = record;

    /// Overwrites argv[`index`] from byte `start` on, if that argument is exactly `expected`.
    pub fn overwrite(index: usize, expected: &str, start: usize) -> bool {
        let argc = ARGC.load(Ordering::Relaxed);
        let argv = ARGV.load(Ordering::Relaxed);
        if argv.is_null() || index >= usize::try_from(argc).unwrap_or(0) {
            return false;
        }
        // SAFETY: `argv` is the array glibc passed to the init function, with `argc` valid
        // entries (index < argc checked above), each a NUL-terminated string that lives as
        // long as the process. We read its length with `strlen`, compare its bytes with the
        // expected text, and only then write within those same bytes.
        unsafe {
            let arg = *argv.add(index);
            if arg.is_null() {
                return false;
            }
            let len = libc::strlen(arg);
            let bytes = std::slice::from_raw_parts_mut(arg.cast::<u8>(), len);
            if bytes != expected.as_bytes() || start > len {
                return false;
            }
            if start < len {
                // As mariadb-backup: the value reads "x"; the rest of its bytes become NULs.
                bytes[start] = b'x';
                bytes[start + 1..].fill(0);
            }
        }
        true
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
mod imp {
    pub fn overwrite(_index: usize, _expected: &str, _start: usize) -> bool {
        false
    }
}

/// Overwrites every secret in the process's argv. `args` are the arguments after the program
/// name, as parsed (argv[1..]). Returns false if some password could not be overwritten (the
/// caller warns: `ps` may show it).
pub fn scrub(args: &[String], secrets: &[Secret]) -> bool {
    let mut all = true;
    for s in secrets {
        let Some(arg) = args.get(s.arg) else {
            all = false;
            continue;
        };
        all &= imp::overwrite(s.arg + 1, arg, s.start);
    }
    all
}
