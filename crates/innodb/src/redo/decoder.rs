//! Streaming mtr decoder over input that arrives in pieces of any size.
//!
//! The caller hands the decoder pieces in LSN order (for the circular file: from
//! `offset(lsn)` to the end of the file, then from `START_OFFSET`; see
//! [`LogGeometry::segments`](super::LogGeometry::segments) and
//! [`LogGeometry::file_ranges`](super::LogGeometry::file_ranges)). Mtrs that lie
//! inside one piece are returned borrowed from it, without copying; only an mtr
//! that straddles two pieces is assembled in a small internal buffer.
//!
//! ```text
//! let mut dec = Decoder::new(MtrFormat::for_log(&file), file.checkpoint.checkpoint_lsn)?;
//! for piece in pieces {
//!     let mut input = dec.input(piece);
//!     loop {
//!         match input.next_mtr() {
//!             Step::Mtr(mtr) => { /* use mtr.records() */ }
//!             Step::NeedMore { .. } => break,            // feed the next piece
//!             Step::EndOfLog(end) => return end,         // stop (or re-read later)
//!             Step::Error(e) => return Err(e),
//!         }
//!     }
//! }
//! ```

use super::mtr::{Frame, Mtr, MtrFormat, Scan, Step};
use super::{EndOfLog, RedoError, Unsupported};
use crate::types::Lsn;

/// A streaming decoder positioned at an mtr boundary.
#[derive(Clone, Debug)]
pub struct Decoder {
    format: MtrFormat,
    /// Where the next mtr starts.
    lsn: Lsn,
    /// `carry[off..]` holds the bytes from `lsn` on that arrived in earlier pieces.
    carry: Vec<u8>,
    off: usize,
    /// Record-header position (relative to `off`) where the scan of the buffered,
    /// incomplete mtr can resume, so a large mtr fed byte by byte stays linear.
    resume: usize,
}

/// Why [`Input`] stops without an mtr.
enum Halt {
    NeedMore(usize),
    End(EndOfLog),
    Error(RedoError),
}

impl Decoder {
    /// A decoder whose first mtr starts at `start` (a checkpoint LSN, an end LSN, or
    /// where an earlier decoder stopped).
    pub fn new(format: MtrFormat, start: Lsn) -> Result<Decoder, RedoError> {
        // Reject a start the geometry cannot place, once, instead of on every step.
        format.geometry().offset(start)?;
        Ok(Decoder {
            format,
            lsn: start,
            carry: Vec::new(),
            off: 0,
            resume: 0,
        })
    }

    /// Where the next mtr starts (after the last one returned).
    pub fn lsn(&self) -> Lsn {
        self.lsn
    }

    /// Bytes held from earlier pieces (an incomplete mtr).
    pub fn buffered(&self) -> usize {
        self.carry.len() - self.off
    }

    /// LSN of the byte the next piece given to [`Decoder::input`] must start with.
    pub fn input_lsn(&self) -> Lsn {
        Lsn(self.lsn.0.saturating_add(self.buffered() as u64))
    }

    /// The framing parameters.
    pub fn format(&self) -> &MtrFormat {
        &self.format
    }

    /// Drops buffered bytes and continues at `lsn` (for example after the file was
    /// re-created by an online resize).
    pub fn reset(&mut self, lsn: Lsn, format: MtrFormat) -> Result<(), RedoError> {
        format.geometry().offset(lsn)?;
        self.format = format;
        self.lsn = lsn;
        self.clear();
        Ok(())
    }

    fn clear(&mut self) {
        self.carry.clear();
        self.off = 0;
        self.resume = 0;
    }

    /// Moves the unconsumed buffered bytes to the front.
    fn compact(&mut self) {
        if self.off > 0 {
            self.carry.drain(..self.off);
            self.off = 0;
        }
    }

    /// Parses `piece`, whose first byte has LSN [`Decoder::input_lsn`].
    pub fn input<'s, 'c>(&'s mut self, piece: &'c [u8]) -> Input<'s, 'c> {
        Input {
            dec: self,
            chunk: piece,
            pos: 0,
            stopped: false,
        }
    }

    /// Parses `piece`, whose first byte has LSN `piece_lsn`. The piece may start
    /// before [`Decoder::input_lsn`] (a tailer re-reads whole blocks): its bytes then
    /// replace buffered ones from `piece_lsn` on, since a re-read sees newer data.
    /// A piece that starts after `input_lsn` would leave a gap:
    /// [`RedoError::InputGap`].
    pub fn input_at<'s, 'c>(
        &'s mut self,
        piece: &'c [u8],
        piece_lsn: Lsn,
    ) -> Result<Input<'s, 'c>, RedoError> {
        let expected = self.input_lsn();
        if piece_lsn > expected {
            return Err(RedoError::InputGap {
                given: piece_lsn,
                expected,
            });
        }
        let piece = if piece_lsn <= self.lsn {
            self.clear();
            let skip = usize::try_from(self.lsn.0 - piece_lsn.0).unwrap_or(usize::MAX);
            piece.get(skip..).unwrap_or(&[])
        } else {
            // Below `expected`, so it fits in usize.
            let keep = (piece_lsn.0 - self.lsn.0) as usize;
            self.carry.truncate(self.off + keep);
            if self.resume > keep {
                self.resume = 0;
            }
            piece
        };
        Ok(self.input(piece))
    }
}

/// One piece of input being parsed; see [`Decoder::input`].
///
/// Dropping it keeps the unparsed rest of the piece in the decoder, unless a step
/// ended in [`Step::EndOfLog`] or [`Step::Error`]: then the decoder forgets the bytes
/// from its position on, and the next piece must start at [`Decoder::lsn`] again
/// (re-read the tail).
#[derive(Debug)]
pub struct Input<'s, 'c> {
    dec: &'s mut Decoder,
    chunk: &'c [u8],
    pos: usize,
    stopped: bool,
}

impl Input<'_, '_> {
    /// Finds the next complete, CRC-valid mtr without consuming it: returns whether it
    /// is in the carry buffer, its length and its end-marker index.
    fn locate(&mut self) -> Result<(bool, usize, usize), Halt> {
        let dec = &mut *self.dec;
        if dec.off == dec.carry.len() {
            dec.clear();
        }
        if !dec.carry.is_empty() {
            loop {
                let have = dec.carry.len() - dec.off;
                match dec.format.scan(&dec.carry[dec.off..], dec.lsn, dec.resume) {
                    Ok(Scan::Complete { len, marker }) => return Ok((true, len, marker)),
                    Ok(Scan::NeedMore { needed, resume }) => {
                        dec.resume = resume;
                        let want = needed.saturating_sub(have).max(1);
                        let avail = self.chunk.len() - self.pos;
                        if avail == 0 {
                            return Err(Halt::NeedMore(want));
                        }
                        // Compact only here, once per straddling mtr: doing it per
                        // step would be quadratic over a large buffered remainder.
                        dec.compact();
                        // Take only what the scan asks for: the buffer then ends at an
                        // mtr boundary and later mtrs stay zero-copy.
                        let take = want.min(avail);
                        dec.carry
                            .extend_from_slice(&self.chunk[self.pos..self.pos + take]);
                        self.pos += take;
                    }
                    Ok(Scan::End(e)) => return Err(Halt::End(e)),
                    Err(e) => return Err(Halt::Error(e)),
                }
            }
        }
        let rest = &self.chunk[self.pos..];
        match dec.format.scan(rest, dec.lsn, 0) {
            Ok(Scan::Complete { len, marker }) => Ok((false, len, marker)),
            Ok(Scan::NeedMore { needed, resume }) => {
                dec.carry.extend_from_slice(rest);
                dec.resume = resume;
                self.pos = self.chunk.len();
                Err(Halt::NeedMore(needed.saturating_sub(rest.len()).max(1)))
            }
            Ok(Scan::End(e)) => Err(Halt::End(e)),
            Err(e) => Err(Halt::Error(e)),
        }
    }

    fn halt<T>(&mut self, h: Halt) -> Step<T> {
        match h {
            Halt::NeedMore(at_least) => Step::NeedMore { at_least },
            Halt::End(e) => {
                self.stopped = true;
                Step::EndOfLog(e)
            }
            Halt::Error(e) => {
                self.stopped = true;
                Step::Error(e)
            }
        }
    }

    /// Start of the located mtr in its buffer.
    fn base(&self, in_carry: bool) -> usize {
        if in_carry {
            self.dec.off
        } else {
            self.pos
        }
    }

    /// Moves past a located mtr of `len` bytes.
    fn commit(&mut self, in_carry: bool, len: usize) {
        self.dec.lsn = Lsn(self.dec.lsn.0.saturating_add(len as u64));
        self.dec.resume = 0;
        if in_carry {
            self.dec.off += len;
        } else {
            self.pos += len;
        }
    }

    fn bytes(&self, in_carry: bool, base: usize, len: usize) -> &[u8] {
        if in_carry {
            &self.dec.carry[base..base + len]
        } else {
            &self.chunk[base..base + len]
        }
    }

    /// The next mtr, framed and CRC-checked, payloads not decoded (the tailer's
    /// path; copy it with [`Frame::copy_for_backup`]).
    pub fn next_frame(&mut self) -> Step<Frame<'_>> {
        let (in_carry, len, marker) = match self.locate() {
            Ok(x) => x,
            Err(h) => return self.halt(h),
        };
        let start = self.dec.lsn;
        let base = self.base(in_carry);
        self.commit(in_carry, len);
        let format = self.dec.format;
        Step::Mtr(format.make_frame(self.bytes(in_carry, base, len), start, len, marker))
    }

    /// The next mtr with all records decoded and checked. On [`Step::Error`] the
    /// position stays at the start of the bad mtr.
    pub fn next_mtr(&mut self) -> Step<Mtr<'_>> {
        if self.dec.format.is_encrypted() {
            return self.halt(Halt::Error(RedoError::Unsupported(Unsupported::Encrypted)));
        }
        let (in_carry, len, marker) = match self.locate() {
            Ok(x) => x,
            Err(h) => return self.halt(h),
        };
        let start = self.dec.lsn;
        let base = self.base(in_carry);
        let format = self.dec.format;
        let frame = format.make_frame(self.bytes(in_carry, base, len), start, len, marker);
        let n_records = match format.check(frame) {
            Step::Mtr(m) => m.n_records(),
            Step::Error(e) => return self.halt(Halt::Error(e)),
            // `check` only returns an mtr or an error.
            _ => 0,
        };
        self.commit(in_carry, len);
        let frame = format.make_frame(self.bytes(in_carry, base, len), start, len, marker);
        Step::Mtr(Mtr::checked(frame, n_records))
    }

    /// Where the next mtr starts.
    pub fn lsn(&self) -> Lsn {
        self.dec.lsn
    }
}

impl Drop for Input<'_, '_> {
    fn drop(&mut self) {
        if self.stopped {
            self.dec.clear();
            return;
        }
        let rest = &self.chunk[self.pos..];
        if !rest.is_empty() {
            if self.dec.off == self.dec.carry.len() {
                self.dec.clear();
            }
            self.dec.compact();
            self.dec.carry.extend_from_slice(rest);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::redo::header::{file_checkpoint_mtr, START_OFFSET};
    use crate::redo::LogGeometry;

    fn decoder(first: u64, capacity: u64, start: u64) -> Decoder {
        let g = LogGeometry::new(Lsn(first), START_OFFSET + capacity).unwrap();
        Decoder::new(MtrFormat::new(g, false), Lsn(start)).unwrap()
    }

    /// Three mtrs, then the 0x00 end byte.
    fn stream() -> Vec<u8> {
        let mut s = Vec::new();
        for lsn in [1u64, 2, 3] {
            s.extend_from_slice(&file_checkpoint_mtr(Lsn(lsn), 1));
        }
        s.push(0);
        s
    }

    /// Feeds `data` in pieces of `size`; returns the mtr end LSNs and the final step.
    fn run(data: &[u8], size: usize) -> (Vec<u64>, Option<EndOfLog>) {
        let mut dec = decoder(12288, 1 << 20, 12288);
        let mut ends = Vec::new();
        for piece in data.chunks(size) {
            let mut input = dec.input(piece);
            loop {
                match input.next_mtr() {
                    Step::Mtr(m) => ends.push(m.end_lsn().0),
                    Step::NeedMore { at_least } => {
                        assert!(at_least > 0);
                        break;
                    }
                    Step::EndOfLog(e) => return (ends, Some(e)),
                    Step::Error(e) => panic!("{e}"),
                }
            }
        }
        (ends, None)
    }

    #[test]
    fn every_piece_size_gives_the_same_mtrs() {
        let data = stream();
        for size in 1..=data.len() {
            let (ends, end) = run(&data, size);
            assert_eq!(ends, vec![12304, 12320, 12336], "piece size {size}");
            assert_eq!(
                end,
                Some(EndOfLog::Marker {
                    lsn: Lsn(12336),
                    byte: 0
                })
            );
        }
    }

    #[test]
    fn input_at_rereads_and_replaces_a_torn_tail() {
        let data = stream();
        let mut dec = decoder(12288, 1 << 20, 12288);
        // First read: the second mtr is torn (its CRC is wrong).
        let mut torn = data.clone();
        torn[16 + 5] ^= 0xFF;
        {
            let mut input = dec.input_at(&torn[..24], Lsn(12288)).unwrap();
            assert!(matches!(input.next_frame(), Step::Mtr(_)));
            assert!(matches!(input.next_frame(), Step::NeedMore { .. }));
        }
        assert_eq!((dec.lsn(), dec.input_lsn()), (Lsn(12304), Lsn(12312)));
        // Re-read from an earlier, aligned LSN: the newer bytes win.
        let mut input = dec.input_at(&data, Lsn(12288)).unwrap();
        assert_eq!(
            input.next_frame().mtr().map(|f| f.end_lsn()),
            Some(Lsn(12320))
        );
        drop(input);
        assert!(matches!(
            dec.input_at(&data, Lsn(13000)),
            Err(RedoError::InputGap { .. })
        ));
    }

    #[test]
    fn stopping_early_keeps_the_rest() {
        let data = stream();
        let mut dec = decoder(12288, 1 << 20, 12288);
        {
            let mut input = dec.input(&data);
            assert!(matches!(input.next_mtr(), Step::Mtr(_)));
        }
        assert_eq!((dec.lsn(), dec.buffered()), (Lsn(12304), data.len() - 16));
        let mut input = dec.input(&[]);
        assert_eq!(
            input.next_mtr().mtr().map(|m| m.start_lsn()),
            Some(Lsn(12304))
        );
        assert_eq!(
            input.next_frame().mtr().map(|f| f.end_lsn()),
            Some(Lsn(12336))
        );
        assert!(matches!(
            input.next_frame(),
            Step::EndOfLog(EndOfLog::Marker { .. })
        ));
    }

    #[test]
    fn end_of_log_forgets_the_tail() {
        let mut data = stream();
        data[16 + 5] ^= 0xFF;
        let mut dec = decoder(12288, 1 << 20, 12288);
        {
            let mut input = dec.input(&data);
            assert!(matches!(input.next_frame(), Step::Mtr(_)));
            let Step::EndOfLog(e) = input.next_frame() else {
                panic!("expected the end");
            };
            assert!(!e.is_clean());
            assert_eq!(e.lsn(), Lsn(12304));
        }
        assert_eq!((dec.lsn(), dec.buffered()), (Lsn(12304), 0));
    }
}
