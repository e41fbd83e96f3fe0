//! Identifier newtypes shared by every crate: log sequence numbers, tablespace ids and
//! page numbers. Newtypes keep an LSN from being added to a page number by accident.

use std::fmt;

/// A log sequence number: a byte position in the endless redo log stream.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Lsn(pub u64);

/// A tablespace id (`FIL_PAGE_SPACE_ID`): 0 is the system tablespace.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SpaceId(pub u32);

/// A page number inside a tablespace (`FIL_PAGE_OFFSET`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PageNo(pub u32);

impl Lsn {
    /// The LSN `n` bytes later, or `None` if it would overflow 64 bits.
    pub fn checked_add(self, n: u64) -> Option<Lsn> {
        self.0.checked_add(n).map(Lsn)
    }

    /// Bytes from `earlier` to `self`, or `None` if `earlier` is later.
    pub fn checked_sub(self, earlier: Lsn) -> Option<u64> {
        self.0.checked_sub(earlier.0)
    }
}

impl SpaceId {
    /// The system tablespace (`ibdata1`…).
    pub const SYSTEM: SpaceId = SpaceId(0);
    /// The temporary tablespace `ibtmp1` (`SRV_TMP_SPACE_ID`), never backed up.
    pub const TEMPORARY: SpaceId = SpaceId(0xFFFF_FFFE);
}

impl PageNo {
    /// `FIL_NULL`: the "no page" value of list pointers.
    pub const NULL: PageNo = PageNo(0xFFFF_FFFF);
}

impl fmt::Display for Lsn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl fmt::Display for SpaceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl fmt::Display for PageNo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lsn_arithmetic_is_checked() {
        assert_eq!(Lsn(10).checked_add(5), Some(Lsn(15)));
        assert_eq!(Lsn(u64::MAX).checked_add(1), None);
        assert_eq!(Lsn(10).checked_sub(Lsn(4)), Some(6));
        assert_eq!(Lsn(4).checked_sub(Lsn(10)), None);
    }

    #[test]
    fn display_is_the_plain_number() {
        assert_eq!(format!("{} {} {}", Lsn(7), SpaceId(3), PageNo(9)), "7 3 9");
    }
}
