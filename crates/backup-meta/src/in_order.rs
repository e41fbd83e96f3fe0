//! A pass over many files on N threads in list order (each thread takes the next item),
//! with the kernel reading the files ahead of the pass (`backup_meta::ReadAhead`): on a
//! cold cache the disk then serves many small files at once instead of one random read
//! at a time, and taking items in order keeps the read-ahead just in front of every thread.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;

use crate::{Ranges, ReadAhead};

/// Bytes of each file read ahead (its head; the rest, if any, the kernel's own
/// sequential read-ahead brings as the copy goes).
pub const HEAD: u64 = 1 << 20;
/// Files read ahead of the pass: bounds the page cache it fills (≤ 256 MiB).
pub const WINDOW: usize = 256;

/// The read-ahead of `path`'s first [`HEAD`] bytes (nothing for `None`).
fn head(path: Option<PathBuf>) -> Vec<(PathBuf, Ranges)> {
    path.map(|p| (p, vec![(0, HEAD)])).into_iter().collect()
}

/// `threads` as asked, else one per CPU.
pub fn threads_or_cpus(threads: Option<usize>) -> usize {
    threads
        .or_else(|| std::thread::available_parallelism().ok().map(|n| n.get()))
        .unwrap_or(1)
}

/// Runs `f(thread, item)` for every item of `items` on `threads` threads (numbered from 1,
/// as mariadb-backup's log lines), items taken in list order, with the first [`HEAD`]
/// bytes of `path(item)` read ahead (`None`: nothing to read); results in the order of
/// `items`.
pub fn run<T: Sync, R: Send>(
    threads: usize,
    items: &[T],
    path: impl Fn(&T) -> Option<PathBuf>,
    f: impl Fn(usize, &T) -> R + Sync,
) -> Vec<R> {
    run_ahead(threads, items, |i| head(path(i)), f)
}

/// [`run`] with what to read ahead of each item given whole: any byte ranges of any
/// files (e.g. a delta and page 0 of the file it goes onto), [`WINDOW`] files ahead.
pub fn run_ahead<T: Sync, R: Send>(
    threads: usize,
    items: &[T],
    ahead_of: impl Fn(&T) -> Vec<(PathBuf, Ranges)>,
    f: impl Fn(usize, &T) -> R + Sync,
) -> Vec<R> {
    // The read-ahead list is per file; `first[i]` is item i's first entry in it (an item
    // with nothing to read gets an empty place holder, so that every item has one).
    let mut work: Vec<(PathBuf, Ranges)> = Vec::with_capacity(items.len());
    let mut first = Vec::with_capacity(items.len());
    for item in items {
        first.push(work.len());
        let files = ahead_of(item);
        if files.is_empty() {
            work.push((PathBuf::new(), vec![]));
        }
        work.extend(files);
    }
    let ahead = ReadAhead::start(work, WINDOW);
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<R>>> = Mutex::new((0..items.len()).map(|_| None).collect());
    let threads = threads.clamp(1, items.len().max(1));
    let work = |thread: usize| loop {
        let i = next.fetch_add(1, Ordering::Relaxed);
        let Some(item) = items.get(i) else {
            return;
        };
        if let Some(a) = &ahead {
            a.reached(first[i]);
        }
        let r = f(thread, item);
        // A poisoned lock means another thread panicked: that panic is re-raised by the
        // scope below, so this result does not matter.
        if let Ok(mut all) = results.lock() {
            all[i] = Some(r);
        }
    };
    // The calling thread is thread 1; a thread that cannot be started only means fewer.
    std::thread::scope(|s| {
        for t in 2..=threads {
            let work = &work;
            let _ = std::thread::Builder::new()
                .name(format!("copy-{t}"))
                .spawn_scoped(s, move || work(t));
        }
        work(1);
    });
    results
        .into_inner()
        .unwrap_or_else(|e| e.into_inner())
        .into_iter()
        .map(|r| r.expect("every item was run"))
        .collect()
}

/// [`run`] for work that can fail: after the first error no thread takes a new item,
/// and the first error in list order is returned (items not started are not run).
pub fn try_run<T: Sync, R: Send, E: Send>(
    threads: usize,
    items: &[T],
    path: impl Fn(&T) -> Option<PathBuf>,
    f: impl Fn(usize, &T) -> Result<R, E> + Sync,
) -> Result<Vec<R>, E> {
    try_run_ahead(threads, items, |i| head(path(i)), f)
}

/// [`run_ahead`] for work that can fail, as [`try_run`].
pub fn try_run_ahead<T: Sync, R: Send, E: Send>(
    threads: usize,
    items: &[T],
    ahead_of: impl Fn(&T) -> Vec<(PathBuf, Ranges)>,
    f: impl Fn(usize, &T) -> Result<R, E> + Sync,
) -> Result<Vec<R>, E> {
    let failed = AtomicBool::new(false);
    let results = run_ahead(threads, items, ahead_of, |thread, item| {
        if failed.load(Ordering::Relaxed) {
            return None;
        }
        let r = f(thread, item);
        if r.is_err() {
            failed.store(true, Ordering::Relaxed);
        }
        Some(r)
    });
    // `None` only after a failure, which comes first in list order.
    results.into_iter().flatten().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_item_once_in_list_order_of_results() {
        for threads in [1, 2, 7, 100] {
            let items: Vec<u32> = (0..500).collect();
            let seen = Mutex::new(Vec::new());
            let out = run(
                threads,
                &items,
                |i| Some(PathBuf::from(format!("/nonexistent/{i}"))),
                |t, &i| {
                    assert!((1..=threads).contains(&t));
                    seen.lock().unwrap().push(i);
                    i * 2
                },
            );
            assert_eq!(out, items.iter().map(|i| i * 2).collect::<Vec<_>>());
            let mut seen = seen.into_inner().unwrap();
            if threads == 1 {
                assert_eq!(seen, items, "one thread takes them in order");
            }
            seen.sort();
            assert_eq!(seen, items);
        }
        assert!(run(3, &[] as &[u32], |_| None, |_, _| 0).is_empty());
    }

    #[test]
    fn try_run_stops_taking_items_after_an_error_and_returns_the_first() {
        let items: Vec<u32> = (0..200).collect();
        let ok = try_run(3, &items, |_| None, |_, &i| Ok::<u32, u32>(i + 1)).unwrap();
        assert_eq!(ok, items.iter().map(|i| i + 1).collect::<Vec<_>>());
        let ran = Mutex::new(Vec::new());
        let e = try_run(
            1,
            &items,
            |_| None,
            |_, &i| {
                ran.lock().unwrap().push(i);
                if i >= 10 {
                    Err(i)
                } else {
                    Ok(i)
                }
            },
        );
        assert_eq!(e, Err(10));
        assert_eq!(ran.into_inner().unwrap(), (0..=10).collect::<Vec<_>>());
    }
}
