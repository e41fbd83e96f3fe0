//! Where an LSN lives in the circular `ib_logfile0` (redo-format.md §2.3).
//!
//! ```text
//! capacity          = file_size - START_OFFSET
//! offset(lsn)       = START_OFFSET + (lsn - first_lsn) mod capacity
//! pass(lsn)         = (lsn - first_lsn) div capacity
//! sequence_bit(lsn) = 1 if pass(lsn) is even, else 0
//! ```

use super::header::START_OFFSET;
use super::RedoError;
use crate::types::Lsn;

/// The smallest accepted file: the three header blocks plus one 16-byte
/// FILE_CHECKPOINT mtr (a prepared backup log is exactly this size).
pub const MIN_FILE_SIZE: u64 = START_OFFSET + 16;

/// The LSN ↔ file offset mapping of one `ib_logfile0`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct LogGeometry {
    first_lsn: Lsn,
    capacity: u64,
}

impl LogGeometry {
    /// The geometry of a file of `file_size` bytes whose header says `first_lsn`.
    pub fn new(first_lsn: Lsn, file_size: u64) -> Result<LogGeometry, RedoError> {
        if file_size < MIN_FILE_SIZE {
            return Err(RedoError::Truncated {
                len: file_size,
                needed: MIN_FILE_SIZE,
            });
        }
        if first_lsn.0 < START_OFFSET {
            return Err(RedoError::BadHeader {
                what: "first_lsn is below 12288",
            });
        }
        Ok(LogGeometry {
            first_lsn,
            capacity: file_size - START_OFFSET,
        })
    }

    /// The LSN stored at file offset [`START_OFFSET`].
    pub fn first_lsn(&self) -> Lsn {
        self.first_lsn
    }

    /// Bytes of the circular record area (`file_size - 12288`).
    pub fn capacity(&self) -> u64 {
        self.capacity
    }

    /// Size of the whole file.
    pub fn file_size(&self) -> u64 {
        self.capacity + START_OFFSET
    }

    #[inline]
    fn distance(&self, lsn: Lsn) -> Result<u64, RedoError> {
        lsn.checked_sub(self.first_lsn)
            .ok_or(RedoError::LsnBeforeFile {
                lsn,
                first_lsn: self.first_lsn,
            })
    }

    /// File offset of the byte with LSN `lsn`.
    #[inline]
    pub fn offset(&self, lsn: Lsn) -> Result<u64, RedoError> {
        Ok(START_OFFSET + self.distance(lsn)? % self.capacity)
    }

    /// How many times the log has wrapped before `lsn` (0 for the first pass).
    #[inline]
    pub fn pass(&self, lsn: Lsn) -> Result<u64, RedoError> {
        Ok(self.distance(lsn)? / self.capacity)
    }

    /// The end-marker value of a byte at `lsn`: 1 on even passes, 0 on odd ones.
    #[inline]
    pub fn sequence_bit(&self, lsn: Lsn) -> Result<u8, RedoError> {
        Ok(u8::from(self.pass(lsn)? & 1 == 0))
    }

    /// Bytes from `lsn` to the end of the file, i.e. before the area wraps.
    pub fn bytes_to_wrap(&self, lsn: Lsn) -> Result<u64, RedoError> {
        Ok(self.file_size() - self.offset(lsn)?)
    }

    /// The file ranges `(offset, len)` that hold the `len` bytes starting at `lsn`, in
    /// LSN order; the second range is empty unless the bytes wrap. `len` is capped at
    /// the capacity, since more would read bytes of a different pass.
    pub fn file_ranges(&self, lsn: Lsn, len: u64) -> Result<[(u64, u64); 2], RedoError> {
        let len = len.min(self.capacity);
        let offset = self.offset(lsn)?;
        let first = len.min(self.file_size() - offset);
        Ok([(offset, first), (START_OFFSET, len - first)])
    }

    /// The bytes of a whole in-memory file image starting at `lsn`, in LSN order: from
    /// `offset(lsn)` to the end of the file, then from [`START_OFFSET`] up to `offset(lsn)`.
    /// Together they are one full capacity; a decoder fed both in turn parses across the
    /// wrap.
    pub fn segments<'a>(&self, image: &'a [u8], lsn: Lsn) -> Result<[&'a [u8]; 2], RedoError> {
        if (image.len() as u64) != self.file_size() {
            return Err(RedoError::Truncated {
                len: image.len() as u64,
                needed: self.file_size(),
            });
        }
        let offset = self.offset(lsn)? as usize;
        let start = START_OFFSET as usize;
        match (image.get(offset..), image.get(start..offset)) {
            (Some(tail), Some(head)) => Ok([tail, head]),
            _ => Err(RedoError::Truncated {
                len: image.len() as u64,
                needed: self.file_size(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mapping_and_sequence_bit() {
        // 100-byte area starting at LSN 12288 + 50.
        let g = LogGeometry::new(Lsn(12338), START_OFFSET + 100).unwrap();
        assert_eq!(g.capacity(), 100);
        let cases = [
            // lsn, offset, pass, bit
            (12338, 12288, 0, 1),
            (12437, 12387, 0, 1),
            (12438, 12288, 1, 0),
            (12537, 12387, 1, 0),
            (12538, 12288, 2, 1),
        ];
        for (lsn, offset, pass, bit) in cases {
            assert_eq!(g.offset(Lsn(lsn)).unwrap(), offset, "offset of {lsn}");
            assert_eq!(g.pass(Lsn(lsn)).unwrap(), pass, "pass of {lsn}");
            assert_eq!(g.sequence_bit(Lsn(lsn)).unwrap(), bit, "bit of {lsn}");
        }
        assert_eq!(g.bytes_to_wrap(Lsn(12430)).unwrap(), 8);
        assert_eq!(
            g.file_ranges(Lsn(12430), 20).unwrap(),
            [(12380, 8), (12288, 12)]
        );
        assert_eq!(
            g.file_ranges(Lsn(12338), 1000).unwrap(),
            [(12288, 100), (12288, 0)]
        );
        assert!(matches!(
            g.offset(Lsn(12337)),
            Err(RedoError::LsnBeforeFile { .. })
        ));
    }

    #[test]
    fn refuses_bad_geometry() {
        assert!(matches!(
            LogGeometry::new(Lsn(12288), START_OFFSET + 15),
            Err(RedoError::Truncated { .. })
        ));
        assert!(matches!(
            LogGeometry::new(Lsn(12287), START_OFFSET + 16),
            Err(RedoError::BadHeader { .. })
        ));
    }

    #[test]
    fn segments_cover_the_capacity() {
        let g = LogGeometry::new(Lsn(12288), START_OFFSET + 16).unwrap();
        let image: Vec<u8> = (0..(START_OFFSET + 16) as usize).map(|i| i as u8).collect();
        let [a, b] = g.segments(&image, Lsn(12288 + 13)).unwrap();
        assert_eq!(a.len() + b.len(), 16);
        assert_eq!(a[0], image[START_OFFSET as usize + 13]);
        assert_eq!(b[0], image[START_OFFSET as usize]);
    }
}
