//! Mini-transaction framing (redo-format.md §2.5, §3).
//!
//! ```text
//! record 1 | ... | record k | end marker (1) | [nonce (8), encrypted logs] | CRC-32C (4, BE)
//! ```
//! The end marker is the sequence bit of *its own* LSN; the CRC covers the record bytes
//! and the nonce, not the marker. Finding the marker only needs the record headers.

use std::fmt;

use super::geometry::LogGeometry;
use super::header::{LogFile, Unsupported};
use super::record::{Record, Records};
use super::varint;
use super::RedoError;
use crate::types::Lsn;

/// `MTR_SIZE_MAX`: a record header at or beyond this many bytes into an mtr, or a
/// record length at least this big, is corrupt framing.
pub const MTR_SIZE_MAX: usize = 1 << 20;
/// Length of the stored CRC-32C.
pub const MTR_CRC_LEN: usize = 4;
/// Length of the nonce that follows the end marker in encrypted logs.
pub const MTR_NONCE_LEN: usize = 8;
/// End marker + CRC of an unencrypted mtr.
pub const MTR_TRAILER_LEN: usize = 1 + MTR_CRC_LEN;

/// Why parsing stopped without an error: where the valid log ends (§2.5).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EndOfLog {
    /// §2.5 (1): the byte where an mtr would start is 0x00 or 0x01. A live log
    /// normally ends this way: nothing more has been written (yet).
    Marker {
        /// Where the log ends.
        lsn: Lsn,
        /// The byte found.
        byte: u8,
    },
    /// §2.5 (2): the end marker is not the sequence bit of its LSN: bytes of the
    /// previous pass of the circular file.
    SequenceBit {
        /// Where the log ends (the start of the would-be mtr).
        lsn: Lsn,
        /// LSN of the end-marker byte.
        marker_lsn: Lsn,
        /// The marker byte found.
        found: u8,
    },
    /// §2.5 (3): the CRC-32C does not match: a torn or half-written mtr at the tail
    /// of a live log (re-read later), stale bytes, or damage.
    Checksum {
        /// Where the log ends (the start of the mtr).
        lsn: Lsn,
        /// Length the mtr would have had.
        len: usize,
        /// CRC stored after the marker (and nonce).
        stored: u32,
        /// CRC computed over the records (and nonce).
        computed: u32,
    },
    /// §2.5 (4): the record headers make no sense (bad length, more than
    /// [`MTR_SIZE_MAX`], or running past the parse limit). Like a checksum mismatch
    /// this is what a half-written tail or stale bytes look like.
    Framing {
        /// Where the log ends (the start of the mtr).
        lsn: Lsn,
        /// LSN of the offending byte.
        at: Lsn,
        /// What is wrong.
        what: &'static str,
    },
    /// The parse limit (normally start + capacity) was reached exactly: a backup log,
    /// which never wraps, ends this way at the end of its file.
    CapacityReached {
        /// Where the log ends.
        lsn: Lsn,
    },
}

impl EndOfLog {
    /// The LSN where the valid log ends: the start of the first mtr not accepted.
    pub fn lsn(&self) -> Lsn {
        match *self {
            EndOfLog::Marker { lsn, .. }
            | EndOfLog::SequenceBit { lsn, .. }
            | EndOfLog::Checksum { lsn, .. }
            | EndOfLog::Framing { lsn, .. }
            | EndOfLog::CapacityReached { lsn } => lsn,
        }
    }

    /// True when the bytes clearly say "nothing more was written here" (end-marker
    /// byte, wrong sequence bit, limit reached). False for a CRC or framing failure,
    /// which at the tail of a live log normally means "being written: read again
    /// later", and anywhere else means damage; the caller knows which.
    pub fn is_clean(&self) -> bool {
        matches!(
            self,
            EndOfLog::Marker { .. }
                | EndOfLog::SequenceBit { .. }
                | EndOfLog::CapacityReached { .. }
        )
    }
}

impl fmt::Display for EndOfLog {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EndOfLog::Marker { lsn, byte } => {
                write!(f, "end of log at LSN {lsn}: byte {byte:#04x} where an mtr would start")
            }
            EndOfLog::SequenceBit {
                lsn,
                marker_lsn,
                found,
            } => write!(
                f,
                "end of log at LSN {lsn}: end marker {found} at LSN {marker_lsn} has the sequence bit of another pass"
            ),
            EndOfLog::Checksum {
                lsn,
                len,
                stored,
                computed,
            } => write!(
                f,
                "end of log at LSN {lsn}: CRC-32C mismatch in a {len}-byte mtr (stored {stored:#010x}, computed {computed:#010x})"
            ),
            EndOfLog::Framing { lsn, at, what } => {
                write!(f, "end of log at LSN {lsn}: {what} at LSN {at}")
            }
            EndOfLog::CapacityReached { lsn } => {
                write!(f, "end of log at LSN {lsn}: the whole capacity was parsed")
            }
        }
    }
}

/// The outcome of one decoding step: exactly one of these.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step<T> {
    /// A complete, CRC-valid mtr ([`Frame`] or [`Mtr`]).
    Mtr(T),
    /// The input ends inside the next mtr (or right where it starts).
    NeedMore {
        /// At least this many more bytes are needed before anything can change.
        at_least: usize,
    },
    /// The valid log ends here (§2.5). The position does not move.
    EndOfLog(EndOfLog),
    /// A CRC-valid mtr whose records are corrupt ([`RedoError::Corrupt`] with the
    /// record's LSN), or payload decoding of an encrypted log
    /// ([`RedoError::Unsupported`]). The position does not move.
    Error(RedoError),
}

impl<T> Step<T> {
    /// The mtr, if this step produced one.
    pub fn mtr(self) -> Option<T> {
        match self {
            Step::Mtr(m) => Some(m),
            _ => None,
        }
    }
}

/// One framed mtr: its bytes located and its CRC checked, payloads not decoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Frame<'a> {
    start: Lsn,
    bytes: &'a [u8],
    marker: usize,
    nonce_len: usize,
}

impl<'a> Frame<'a> {
    /// LSN of the first byte.
    pub fn start_lsn(&self) -> Lsn {
        self.start
    }

    /// LSN right after the CRC, where the next mtr starts.
    pub fn end_lsn(&self) -> Lsn {
        Lsn(self.start.0.saturating_add(self.bytes.len() as u64))
    }

    /// Raw length in bytes, trailer included.
    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    /// Always false: an mtr has at least one record and a trailer.
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// All bytes of the mtr, as found (records, marker, nonce, CRC).
    pub fn bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// The record bytes (before the end marker).
    pub fn body(&self) -> &'a [u8] {
        &self.bytes[..self.marker]
    }

    /// Index of the end-marker byte in [`Frame::bytes`].
    pub fn marker_index(&self) -> usize {
        self.marker
    }

    /// The 8-byte nonce of an encrypted log.
    pub fn nonce(&self) -> Option<&'a [u8]> {
        (self.nonce_len != 0)
            .then(|| &self.bytes[self.marker + 1..self.marker + 1 + self.nonce_len])
    }

    /// The stored CRC-32C (it matched).
    pub fn crc(&self) -> u32 {
        let at = self.marker + 1 + self.nonce_len;
        let mut b = [0u8; 4];
        b.copy_from_slice(&self.bytes[at..at + MTR_CRC_LEN]);
        u32::from_be_bytes(b)
    }

    /// Appends the mtr to a backup log as mariadb-backup does (§9.1 step 4): the end
    /// marker is forced to 1, since the backup file is one pass; the CRC does not
    /// cover the marker and stays valid.
    pub fn copy_for_backup(&self, out: &mut Vec<u8>) {
        let at = out.len() + self.marker;
        out.extend_from_slice(self.bytes);
        out[at] = 1;
    }

    /// The records (full decode: see [`MtrFormat::decode`] for the checked form).
    pub fn records(&self) -> Records<'a> {
        Records::new(self.body(), self.start)
    }
}

/// A framed mtr whose records all decoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Mtr<'a> {
    frame: Frame<'a>,
    n_records: usize,
}

impl<'a> Mtr<'a> {
    /// Checks that every record of `frame` decodes.
    pub fn from_frame(frame: Frame<'a>) -> Result<Mtr<'a>, RedoError> {
        let mut n_records = 0;
        for r in frame.records() {
            r?;
            n_records += 1;
        }
        Ok(Mtr { frame, n_records })
    }

    /// An mtr whose records were already checked.
    pub(crate) fn checked(frame: Frame<'a>, n_records: usize) -> Mtr<'a> {
        Mtr { frame, n_records }
    }

    /// LSN of the first byte.
    pub fn start_lsn(&self) -> Lsn {
        self.frame.start
    }

    /// LSN where the next mtr starts; pages changed by this mtr get this page LSN.
    pub fn end_lsn(&self) -> Lsn {
        self.frame.end_lsn()
    }

    /// Raw length in bytes.
    pub fn len(&self) -> usize {
        self.frame.len()
    }

    /// Always false.
    pub fn is_empty(&self) -> bool {
        self.frame.is_empty()
    }

    /// The framing.
    pub fn frame(&self) -> &Frame<'a> {
        &self.frame
    }

    /// Number of records (padding not counted).
    pub fn n_records(&self) -> usize {
        self.n_records
    }

    /// The records, in order, with page ids and page offsets resolved.
    pub fn records(&self) -> MtrRecords<'a> {
        MtrRecords(self.frame.records())
    }
}

/// The records of a checked [`Mtr`].
#[derive(Clone, Debug)]
pub struct MtrRecords<'a>(Records<'a>);

impl<'a> Iterator for MtrRecords<'a> {
    type Item = Record<'a>;

    #[inline]
    fn next(&mut self) -> Option<Record<'a>> {
        // The mtr was checked when it was built, so no record fails here.
        self.0.next().and_then(Result::ok)
    }
}

/// Result of scanning the bytes at an mtr start.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Scan {
    /// A CRC-valid mtr of `len` bytes with the end marker at `marker`.
    Complete { len: usize, marker: usize },
    /// `needed` bytes (from the mtr start) must be present to go on; the scan can
    /// resume at record header position `resume`.
    NeedMore { needed: usize, resume: usize },
    /// The log ends here.
    End(EndOfLog),
}

/// How to frame the mtrs of one log: its geometry (for sequence bits), whether it is
/// encrypted (nonce) and an optional parse limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MtrFormat {
    geometry: LogGeometry,
    nonce_len: usize,
    encrypted: bool,
    limit: Option<Lsn>,
}

impl MtrFormat {
    /// The framing of a log with this geometry; no limit.
    pub fn new(geometry: LogGeometry, encrypted: bool) -> MtrFormat {
        MtrFormat {
            geometry,
            nonce_len: if encrypted { MTR_NONCE_LEN } else { 0 },
            encrypted,
            limit: None,
        }
    }

    /// The framing of a parsed `ib_logfile0`, limited to one capacity past its
    /// checkpoint LSN (as recovery reads it).
    pub fn for_log(file: &LogFile) -> MtrFormat {
        let f = MtrFormat::new(file.geometry, file.header.is_encrypted());
        f.with_limit(
            file.checkpoint
                .checkpoint_lsn
                .checked_add(file.geometry.capacity()),
        )
    }

    /// Sets the LSN that no mtr may reach beyond (`start + capacity` when parsing a
    /// file image: further bytes belong to an older pass). Parsing exactly up to it
    /// ends with [`EndOfLog::CapacityReached`].
    pub fn with_limit(mut self, limit: Option<Lsn>) -> MtrFormat {
        self.limit = limit;
        self
    }

    /// The geometry.
    pub fn geometry(&self) -> &LogGeometry {
        &self.geometry
    }

    /// The limit, if any.
    pub fn limit(&self) -> Option<Lsn> {
        self.limit
    }

    /// True for encrypted logs (8-byte nonce; payloads cannot be decoded).
    pub fn is_encrypted(&self) -> bool {
        self.encrypted
    }

    /// Frames the mtr at the start of `buf` (whose first byte has LSN `start`) and
    /// checks its CRC, without decoding payloads: the tailer's fast path.
    pub fn frame<'a>(&self, buf: &'a [u8], start: Lsn) -> Step<Frame<'a>> {
        match self.scan(buf, start, 0) {
            Ok(Scan::Complete { len, marker }) => {
                Step::Mtr(self.make_frame(buf, start, len, marker))
            }
            Ok(Scan::NeedMore { needed, .. }) => Step::NeedMore {
                at_least: needed.saturating_sub(buf.len()).max(1),
            },
            Ok(Scan::End(e)) => Step::EndOfLog(e),
            Err(e) => Step::Error(e),
        }
    }

    /// Frames the mtr at the start of `buf` and decodes all its records.
    pub fn decode<'a>(&self, buf: &'a [u8], start: Lsn) -> Step<Mtr<'a>> {
        if self.encrypted {
            return Step::Error(RedoError::Unsupported(Unsupported::Encrypted));
        }
        match self.frame(buf, start) {
            Step::Mtr(frame) => self.check(frame),
            Step::NeedMore { at_least } => Step::NeedMore { at_least },
            Step::EndOfLog(e) => Step::EndOfLog(e),
            Step::Error(e) => Step::Error(e),
        }
    }

    pub(crate) fn check<'a>(&self, frame: Frame<'a>) -> Step<Mtr<'a>> {
        if self.encrypted {
            return Step::Error(RedoError::Unsupported(Unsupported::Encrypted));
        }
        match Mtr::from_frame(frame) {
            Ok(m) => Step::Mtr(m),
            Err(e) => Step::Error(e),
        }
    }

    pub(crate) fn make_frame<'a>(
        &self,
        buf: &'a [u8],
        start: Lsn,
        len: usize,
        marker: usize,
    ) -> Frame<'a> {
        Frame {
            start,
            bytes: &buf[..len],
            marker,
            nonce_len: self.nonce_len,
        }
    }

    /// Scans the mtr at the start of `buf` from record header position `resume`
    /// (0, or a `resume` of an earlier [`Scan::NeedMore`] over a prefix of `buf`).
    pub(crate) fn scan(&self, buf: &[u8], start: Lsn, resume: usize) -> Result<Scan, RedoError> {
        // Bytes at or past the limit belong to another pass: never look at them.
        let max = match self.limit {
            Some(limit) if start >= limit => {
                return Ok(Scan::End(EndOfLog::CapacityReached { lsn: start }))
            }
            Some(limit) => usize::try_from(limit.0 - start.0).unwrap_or(usize::MAX),
            None => usize::MAX,
        };
        let buf = buf.get(..max).unwrap_or(buf);
        let lsn_at = |pos: usize| Lsn(start.0.saturating_add(pos as u64));
        let framing = |pos: usize, what: &'static str| {
            Ok(Scan::End(EndOfLog::Framing {
                lsn: start,
                at: lsn_at(pos),
                what,
            }))
        };
        let need = |needed: usize, resume: usize| {
            if needed > max {
                framing(
                    max,
                    "mini-transaction runs past the parse limit (start + capacity)",
                )
            } else {
                Ok(Scan::NeedMore { needed, resume })
            }
        };

        let mut pos = resume;
        let marker = loop {
            if pos >= MTR_SIZE_MAX {
                return framing(pos, "mini-transaction longer than MTR_SIZE_MAX");
            }
            let Some(&b) = buf.get(pos) else {
                return need(pos + 1, pos);
            };
            if b <= 1 {
                break b;
            }
            let l = usize::from(b & 0x0F);
            if l != 0 {
                pos += 1 + l;
                continue;
            }
            let Some(&first) = buf.get(pos + 1) else {
                return need(pos + 2, pos);
            };
            let n = varint::encoded_len_from_first(first);
            if n > 3 {
                return framing(pos + 1, "record length varint longer than 3 bytes");
            }
            let Some(len_bytes) = buf.get(pos + 1..pos + 1 + n) else {
                return need(pos + 1 + n, pos);
            };
            let addlen = match varint::decode_max(len_bytes, 3) {
                Ok((v, _)) if (v as usize) < MTR_SIZE_MAX => v as usize,
                _ => return framing(pos + 1, "record length of MTR_SIZE_MAX or more"),
            };
            // The addlen + 15 bytes after byte 0 include the length bytes themselves.
            pos += 1 + addlen + 15;
        };
        if pos == 0 {
            return Ok(Scan::End(EndOfLog::Marker {
                lsn: start,
                byte: marker,
            }));
        }
        let marker_lsn = lsn_at(pos);
        if marker != self.geometry.sequence_bit(marker_lsn)? {
            return Ok(Scan::End(EndOfLog::SequenceBit {
                lsn: start,
                marker_lsn,
                found: marker,
            }));
        }
        let crc_at = pos + 1 + self.nonce_len;
        let len = crc_at + MTR_CRC_LEN;
        let Some(stored) = buf.get(crc_at..len) else {
            return need(len, pos);
        };
        let stored = u32::from_be_bytes([stored[0], stored[1], stored[2], stored[3]]);
        let mut computed = crc32c::crc32c(&buf[..pos]);
        if self.nonce_len != 0 {
            computed = crc32c::crc32c_append(computed, &buf[pos + 1..crc_at]);
        }
        if computed != stored {
            return Ok(Scan::End(EndOfLog::Checksum {
                lsn: start,
                len,
                stored,
                computed,
            }));
        }
        Ok(Scan::Complete { len, marker: pos })
    }
}

/// Decodes mtr after mtr from one contiguous slice, zero-copy (the benchmark and
/// backup-file path; for pieces and wrap use [`super::Decoder`]).
#[derive(Clone, Debug)]
pub struct SliceDecoder<'a> {
    format: MtrFormat,
    buf: &'a [u8],
    pos: usize,
    lsn: Lsn,
}

impl<'a> SliceDecoder<'a> {
    /// Decodes `buf`, whose first byte has LSN `start` (an mtr boundary).
    pub fn new(format: MtrFormat, buf: &'a [u8], start: Lsn) -> SliceDecoder<'a> {
        SliceDecoder {
            format,
            buf,
            pos: 0,
            lsn: start,
        }
    }

    /// Where the next mtr starts.
    pub fn lsn(&self) -> Lsn {
        self.lsn
    }

    /// The bytes not consumed yet.
    pub fn rest(&self) -> &'a [u8] {
        self.buf.get(self.pos..).unwrap_or(&[])
    }

    /// Frames the next mtr (CRC checked, payloads not decoded) and moves past it.
    pub fn next_frame(&mut self) -> Step<Frame<'a>> {
        let step = self.format.frame(self.rest(), self.lsn);
        if let Step::Mtr(f) = &step {
            self.pos += f.len();
            self.lsn = f.end_lsn();
        }
        step
    }

    /// Decodes the next mtr with all its records and moves past it.
    pub fn next_mtr(&mut self) -> Step<Mtr<'a>> {
        let step = self.format.decode(self.rest(), self.lsn);
        if let Step::Mtr(m) = &step {
            self.pos += m.len();
            self.lsn = m.end_lsn();
        }
        step
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::redo::header::{file_checkpoint_mtr, START_OFFSET};

    fn format(first: u64, capacity: u64) -> MtrFormat {
        MtrFormat::new(
            LogGeometry::new(Lsn(first), START_OFFSET + capacity).unwrap(),
            false,
        )
    }

    /// An unencrypted mtr of `body` with end marker `marker`.
    fn mtr(body: &[u8], marker: u8) -> Vec<u8> {
        let mut m = body.to_vec();
        m.push(marker);
        m.extend_from_slice(&crc32c::crc32c(body).to_be_bytes());
        m
    }

    #[test]
    fn frames_and_ends() {
        let f = format(12288, 1 << 20);
        let m = file_checkpoint_mtr(Lsn(12345), 1);
        let Step::Mtr(frame) = f.frame(&m, Lsn(12288)) else {
            panic!("no frame");
        };
        assert_eq!(
            (frame.len(), frame.marker_index(), frame.end_lsn()),
            (16, 11, Lsn(12304))
        );
        assert_eq!(f.decode(&m, Lsn(12288)).mtr().unwrap().n_records(), 1);

        assert_eq!(
            f.frame(&[0u8, 1, 2], Lsn(20000)),
            Step::EndOfLog(EndOfLog::Marker {
                lsn: Lsn(20000),
                byte: 0
            })
        );
        let stale = file_checkpoint_mtr(Lsn(12345), 0);
        assert!(matches!(
            f.frame(&stale, Lsn(12288)),
            Step::EndOfLog(EndOfLog::SequenceBit {
                marker_lsn: Lsn(12299),
                found: 0,
                ..
            })
        ));
        let mut torn = m;
        torn[5] ^= 0x40;
        assert!(matches!(
            f.frame(&torn, Lsn(12288)),
            Step::EndOfLog(EndOfLog::Checksum { len: 16, .. })
        ));
        for cut in 0..16 {
            let at_least = match cut {
                0 => 1,
                1..=11 => 12 - cut,
                _ => 16 - cut,
            };
            assert_eq!(
                f.frame(&m[..cut], Lsn(12288)),
                Step::NeedMore { at_least },
                "cut {cut}"
            );
        }
    }

    #[test]
    fn marker_uses_its_own_lsn_across_the_wrap() {
        // Capacity 100 from LSN 12288: LSN 12388 starts pass 1 (bit 0).
        let f = format(12288, 100);
        let body = [0x32, 0x01, 0x02];
        // Marker at LSN 12388 (pass 1) → 0, although the mtr starts in pass 0.
        let start = Lsn(12388 - 3);
        assert!(matches!(f.frame(&mtr(&body, 0), start), Step::Mtr(_)));
        assert!(matches!(
            f.frame(&mtr(&body, 1), start),
            Step::EndOfLog(EndOfLog::SequenceBit { .. })
        ));
    }

    #[test]
    fn framing_errors_and_limits() {
        let f = format(12288, 1 << 22);
        // L = 0 and a 4-byte length varint.
        assert!(matches!(
            f.frame(&[0x30, 0xE0, 0, 0, 0], Lsn(12288)),
            Step::EndOfLog(EndOfLog::Framing { at: Lsn(12289), .. })
        ));
        // A record length of MTR_SIZE_MAX: 3-byte varint 0xD0 0x00 0x00 ≥ 1 MiB.
        assert!(matches!(
            f.frame(&[0x30, 0xDF, 0xFF, 0xFF], Lsn(12288)),
            Step::EndOfLog(EndOfLog::Framing { .. })
        ));
        // A limit: the mtr of 16 bytes does not fit in 10.
        let limited = f.with_limit(Some(Lsn(12298)));
        let m = file_checkpoint_mtr(Lsn(1), 1);
        assert!(matches!(
            limited.frame(&m, Lsn(12288)),
            Step::EndOfLog(EndOfLog::Framing { .. })
        ));
        assert_eq!(
            limited.frame(&m, Lsn(12298)),
            Step::EndOfLog(EndOfLog::CapacityReached { lsn: Lsn(12298) })
        );
    }

    #[test]
    fn encrypted_frames_but_does_not_decode() {
        let g = LogGeometry::new(Lsn(12288), START_OFFSET + 4096).unwrap();
        let f = MtrFormat::new(g, true);
        let body = [0x32, 0x01, 0x02];
        let nonce = [9u8; 8];
        let mut m = body.to_vec();
        m.push(1);
        m.extend_from_slice(&nonce);
        let crc = crc32c::crc32c_append(crc32c::crc32c(&body), &nonce);
        m.extend_from_slice(&crc.to_be_bytes());
        let Step::Mtr(frame) = f.frame(&m, Lsn(12288)) else {
            panic!("no frame");
        };
        assert_eq!(frame.nonce(), Some(&nonce[..]));
        assert_eq!(frame.len(), 16);
        assert!(matches!(
            f.decode(&m, Lsn(12288)),
            Step::Error(RedoError::Unsupported(Unsupported::Encrypted))
        ));
    }

    #[test]
    fn copy_for_backup_forces_the_marker() {
        let f = format(12288, 100);
        let m = mtr(&[0x32, 0x01, 0x02], 0);
        let Step::Mtr(frame) = f.frame(&m, Lsn(12388)) else {
            panic!("no frame");
        };
        let mut out = vec![7u8];
        frame.copy_for_backup(&mut out);
        assert_eq!(out[1 + 3], 1);
        assert_eq!(&out[1..4], &m[..3]);
        assert_eq!(&out[5..], &m[4..]);
    }
}
