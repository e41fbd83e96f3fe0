//! Large byte buffers kept from one file's copy for the next: a fresh 10 MiB batch buffer
//! or a delta cluster (up to 64 MiB at 16k) per file is faulted in by the kernel page by
//! page and unmapped after it (an incremental backup of 8 large tables spent a third of
//! its CPU there).

use std::sync::Mutex;

/// Buffers smaller than this are not kept (they come from the allocator's heap anyway).
const MIN_KEPT: usize = 1 << 20;

/// Free buffers of one use (batches, or delta clusters), at most `kept` of them.
pub(crate) struct Pool {
    free: Mutex<Vec<Vec<u8>>>,
    kept: usize,
}

/// Read buffers of the copies (two per large file in flight).
pub(crate) static BATCHES: Pool = Pool::new(8);
/// Cluster buffers of the delta writers (one per delta in flight).
pub(crate) static CLUSTERS: Pool = Pool::new(4);

impl Pool {
    const fn new(kept: usize) -> Pool {
        Pool {
            free: Mutex::new(Vec::new()),
            kept,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Vec<u8>>> {
        // A panic while holding the lock leaves a valid list of buffers.
        self.free.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A buffer of `len` bytes whose contents are unspecified (the caller overwrites what
    /// it uses): the smallest kept one that holds `len`, else a new one.
    pub(crate) fn take(&self, len: usize) -> Vec<u8> {
        let mut free = self.lock();
        let fit = (0..free.len())
            .filter(|&i| free[i].capacity() >= len)
            .min_by_key(|&i| free[i].capacity());
        let mut buf = fit.map(|i| free.swap_remove(i)).unwrap_or_default();
        drop(free);
        buf.resize(len, 0);
        buf
    }

    /// The largest kept buffer, empty (its capacity is what is reused), or a new one.
    pub(crate) fn take_empty(&self) -> Vec<u8> {
        let mut free = self.lock();
        let largest = (0..free.len()).max_by_key(|&i| free[i].capacity());
        let mut buf = largest.map(|i| free.swap_remove(i)).unwrap_or_default();
        drop(free);
        buf.clear();
        buf
    }

    /// Keeps `buf` for a later take (or drops it: small, or enough kept).
    pub(crate) fn give(&self, buf: Vec<u8>) {
        if buf.capacity() < MIN_KEPT {
            return;
        }
        let mut free = self.lock();
        if free.len() < self.kept {
            free.push(buf);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buffers_are_reused_by_size() {
        let pool = Pool::new(2);
        let mut a = pool.take(2 * MIN_KEPT);
        assert_eq!(a.len(), 2 * MIN_KEPT);
        a[0] = 7;
        let at = a.as_ptr();
        pool.give(a);
        // Too large for the kept one: a new buffer.
        let b = pool.take(3 * MIN_KEPT);
        assert_ne!(b.as_ptr(), at);
        // Fits: the same memory, the requested length.
        let c = pool.take(MIN_KEPT);
        assert_eq!((c.as_ptr(), c.len()), (at, MIN_KEPT));
        pool.give(b);
        pool.give(c);
        // The smallest that fits is taken; an empty take gets the largest.
        let d = pool.take(MIN_KEPT);
        assert_eq!(d.as_ptr(), at);
        let e = pool.take_empty();
        assert!(e.is_empty() && e.capacity() >= 3 * MIN_KEPT);
        // Small buffers and buffers beyond `kept` are dropped.
        pool.give(vec![0; 10]);
        for _ in 0..3 {
            pool.give(vec![0; MIN_KEPT]);
        }
        assert_eq!(pool.lock().len(), 2);
    }
}
