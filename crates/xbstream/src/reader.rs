//! A validating chunk reader: parses one chunk at a time from any `Read`, with bounded
//! allocations, every payload's CRC-32 checked, and errors that name the stream offset and path.

use std::fmt;
use std::io::{self, Read};

use crate::chunk::{ChunkType, FLAG_IGNORABLE, MAGIC, MAX_PATH_LEN};

/// The largest payload a chunk may carry. mariadb-backup writes at most 10 MiB per chunk.
pub const MAX_PAYLOAD: u64 = 64 << 20;

/// One chunk as read from the stream.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Chunk {
    /// Stream offset of the chunk's magic.
    pub at: u64,
    pub flags: u8,
    /// The path as stored (not yet checked for safety; see `extract`).
    pub path: Vec<u8>,
    pub body: Body,
}

impl Chunk {
    /// The path for messages.
    pub fn path_lossy(&self) -> String {
        String::from_utf8_lossy(&self.path).into_owned()
    }
}

/// What a chunk says, by type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Body {
    /// `data` belongs at file offset `offset`; its CRC has been checked.
    Payload { offset: u64, data: Vec<u8> },
    /// Later payloads continue at this offset.
    Seek(u64),
    /// The file is complete.
    Eof,
    /// Delete the path.
    Remove,
    /// Rename the path to this one.
    Rename(Vec<u8>),
    /// A chunk of unknown type flagged ignorable; its payload was checked and dropped.
    Ignored(u8),
}

/// Why a stream could not be read.
#[derive(Debug)]
pub struct ReadError {
    /// Stream offset of the chunk at fault.
    pub at: u64,
    /// Its path, when the header got that far.
    pub path: Option<String>,
    pub kind: ReadErrorKind,
}

#[derive(Debug)]
pub enum ReadErrorKind {
    /// Reading the input failed.
    Io(io::Error),
    /// The stream ends inside a chunk, at stream offset `end`, while reading `what`.
    Truncated { what: &'static str, end: u64 },
    /// The chunk does not start with `XBSTCK01`.
    BadMagic,
    /// An unknown chunk type without the ignorable flag.
    UnknownType(u8),
    /// A path (or a rename's new path) longer than `MAX_PATH_LEN`.
    PathTooLong(u64),
    /// A payload longer than `MAX_PAYLOAD`.
    PayloadTooLarge(u64),
    /// A file offset (plus payload length) past what a file can hold.
    OffsetTooLarge(u64),
    /// A rename without a new path.
    EmptyRename,
    /// The payload's CRC-32 differs from the one the chunk stores.
    Checksum { stored: u32, computed: u32 },
}

impl ReadError {
    /// True when the input itself failed (not the stream's bytes).
    pub fn is_io(&self) -> bool {
        matches!(self.kind, ReadErrorKind::Io(_))
    }
}

impl fmt::Display for ReadErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReadErrorKind::Io(e) => write!(f, "cannot read the stream: {e}"),
            ReadErrorKind::Truncated { what, end } => write!(
                f,
                "the stream ends at offset {end} in the middle of a chunk ({what}): it was cut short"
            ),
            ReadErrorKind::BadMagic => write!(f, "no chunk starts here (magic is not XBSTCK01)"),
            ReadErrorKind::UnknownType(t) => write!(
                f,
                "unknown chunk type 0x{t:02x} not marked ignorable (written by a newer tool?)"
            ),
            ReadErrorKind::PathTooLong(n) => {
                write!(f, "path length {n} is over the limit of {MAX_PATH_LEN}")
            }
            ReadErrorKind::PayloadTooLarge(n) => {
                write!(f, "payload length {n} is over the limit of {MAX_PAYLOAD}")
            }
            ReadErrorKind::OffsetTooLarge(n) => write!(f, "file offset {n} is out of range"),
            ReadErrorKind::EmptyRename => write!(f, "rename chunk without a new name"),
            ReadErrorKind::Checksum { stored, computed } => write!(
                f,
                "payload CRC-32 mismatch: chunk says 0x{stored:08x}, payload has 0x{computed:08x}"
            ),
        }
    }
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "chunk at stream offset {}", self.at)?;
        if let Some(p) = &self.path {
            write!(f, " (file '{p}')")?;
        }
        write!(f, ": {}", self.kind)
    }
}

impl std::error::Error for ReadError {}

/// Reads chunks one by one. After an error, the reader must not be used again.
pub struct Reader<R: Read> {
    input: R,
    /// Bytes consumed so far.
    pos: u64,
}

impl<R: Read> Reader<R> {
    pub fn new(input: R) -> Self {
        Reader { input, pos: 0 }
    }

    /// Bytes consumed so far (the offset of the next chunk after a successful read).
    pub fn position(&self) -> u64 {
        self.pos
    }

    /// The next chunk; `Ok(None)` when the input ends exactly at a chunk boundary.
    pub fn next_chunk(&mut self) -> Result<Option<Chunk>, ReadError> {
        let at = self.pos;
        let mut head = [0u8; 14];
        let got = self.fill(&mut head).map_err(|e| err(at, None, e))?;
        if got == 0 {
            return Ok(None);
        }
        if got < head.len() {
            return Err(err(at, None, self.truncated("chunk header")));
        }
        if &head[..8] != MAGIC {
            return Err(err(at, None, ReadErrorKind::BadMagic));
        }
        let flags = head[8];
        let type_byte = head[9];
        let kind = ChunkType::from_byte(type_byte);
        if kind.is_none() && flags & FLAG_IGNORABLE == 0 {
            return Err(err(at, None, ReadErrorKind::UnknownType(type_byte)));
        }
        let path_len = u32::from_le_bytes(head[10..14].try_into().unwrap()) as u64;
        if path_len > MAX_PATH_LEN as u64 {
            return Err(err(at, None, ReadErrorKind::PathTooLong(path_len)));
        }
        let path = self
            .read_vec(path_len, "path")
            .map_err(|k| err(at, None, k))?;
        let named = Some(String::from_utf8_lossy(&path).into_owned());
        let fail = |k| err(at, named.clone(), k);
        let body = match kind {
            Some(ChunkType::Eof) => Body::Eof,
            Some(ChunkType::Remove) => Body::Remove,
            Some(ChunkType::Seek) => {
                let offset = self.read_u64("seek offset").map_err(fail)?;
                if offset > i64::MAX as u64 {
                    return Err(fail(ReadErrorKind::OffsetTooLarge(offset)));
                }
                Body::Seek(offset)
            }
            Some(ChunkType::Rename) => {
                let len = self.read_u32("rename length").map_err(fail)? as u64;
                if len > MAX_PATH_LEN as u64 {
                    return Err(fail(ReadErrorKind::PathTooLong(len)));
                }
                if len == 0 {
                    return Err(fail(ReadErrorKind::EmptyRename));
                }
                Body::Rename(self.read_vec(len, "new path").map_err(fail)?)
            }
            Some(ChunkType::Payload) | None => {
                let len = self.read_u64("payload length").map_err(fail)?;
                let offset = self.read_u64("payload offset").map_err(fail)?;
                let stored = self.read_u32("payload checksum").map_err(fail)?;
                if len > MAX_PAYLOAD {
                    return Err(fail(ReadErrorKind::PayloadTooLarge(len)));
                }
                if offset
                    .checked_add(len)
                    .is_none_or(|end| end > i64::MAX as u64)
                {
                    return Err(fail(ReadErrorKind::OffsetTooLarge(offset)));
                }
                let data = self.read_vec(len, "payload").map_err(fail)?;
                let computed = crc32fast::hash(&data);
                if computed != stored {
                    return Err(fail(ReadErrorKind::Checksum { stored, computed }));
                }
                match kind {
                    Some(_) => Body::Payload { offset, data },
                    None => Body::Ignored(type_byte),
                }
            }
        };
        Ok(Some(Chunk {
            at,
            flags,
            path,
            body,
        }))
    }

    /// Reads until `buf` is full or the input ends; returns the bytes read.
    fn fill(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let mut n = 0;
        while n < buf.len() {
            match self.input.read(&mut buf[n..]) {
                Ok(0) => break,
                Ok(k) => n += k,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        self.pos += n as u64;
        Ok(n)
    }

    fn truncated(&self, what: &'static str) -> ReadErrorKind {
        ReadErrorKind::Truncated {
            what,
            end: self.pos,
        }
    }

    fn read_array<const N: usize>(&mut self, what: &'static str) -> Result<[u8; N], ReadErrorKind> {
        let mut b = [0u8; N];
        if self.fill(&mut b).map_err(ReadErrorKind::Io)? < N {
            return Err(self.truncated(what));
        }
        Ok(b)
    }

    fn read_u32(&mut self, what: &'static str) -> Result<u32, ReadErrorKind> {
        Ok(u32::from_le_bytes(self.read_array(what)?))
    }

    fn read_u64(&mut self, what: &'static str) -> Result<u64, ReadErrorKind> {
        Ok(u64::from_le_bytes(self.read_array(what)?))
    }

    /// Reads exactly `len` (already bounded) bytes; grows the buffer only as bytes arrive.
    fn read_vec(&mut self, len: u64, what: &'static str) -> Result<Vec<u8>, ReadErrorKind> {
        let mut v = Vec::with_capacity(len.min(1 << 20) as usize);
        let got = (&mut self.input)
            .take(len)
            .read_to_end(&mut v)
            .map_err(ReadErrorKind::Io)?;
        self.pos += got as u64;
        if (got as u64) < len {
            return Err(self.truncated(what));
        }
        Ok(v)
    }
}

fn err(at: u64, path: Option<String>, kind: impl Into<ReadErrorKind>) -> ReadError {
    ReadError {
        at,
        path,
        kind: kind.into(),
    }
}

impl From<io::Error> for ReadErrorKind {
    fn from(e: io::Error) -> Self {
        ReadErrorKind::Io(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chunk;

    fn payload(path: &str, offset: u64, data: &[u8]) -> Vec<u8> {
        let mut v = Vec::new();
        chunk::payload_header(&mut v, 0, path, offset, data);
        v.extend_from_slice(data);
        v
    }

    fn read_all(bytes: &[u8]) -> Result<Vec<Chunk>, ReadError> {
        let mut r = Reader::new(bytes);
        let mut out = Vec::new();
        while let Some(c) = r.next_chunk()? {
            out.push(c);
        }
        Ok(out)
    }

    #[test]
    fn reads_every_chunk_type() {
        let mut s = payload("a", 0, b"hello");
        let seek_at = s.len() as u64;
        chunk::seek(&mut s, "a", 2);
        chunk::eof(&mut s, "a");
        chunk::remove(&mut s, "b");
        chunk::rename(&mut s, "c", "d");
        let got = read_all(&s).unwrap();
        let bodies: Vec<&Body> = got.iter().map(|c| &c.body).collect();
        assert_eq!(
            bodies,
            [
                &Body::Payload {
                    offset: 0,
                    data: b"hello".to_vec()
                },
                &Body::Seek(2),
                &Body::Eof,
                &Body::Remove,
                &Body::Rename(b"d".to_vec()),
            ]
        );
        assert_eq!(got[1].at, seek_at);
        assert_eq!(got[4].path, b"c");
    }

    #[test]
    fn an_ignorable_unknown_chunk_is_checked_and_skipped() {
        let mut s = payload("x", 0, b"data");
        s[8] = FLAG_IGNORABLE;
        s[9] = b'Z';
        let got = read_all(&s).unwrap();
        assert_eq!(got[0].body, Body::Ignored(b'Z'));
    }

    /// Each malformed stream and the error it must give: (name, bytes, check).
    #[test]
    fn malformed_streams_are_rejected_with_offset_and_path() {
        let good = payload("db/t.ibd", 0, b"0123456789");
        let second_at = good.len() as u64;
        let mut two = good.clone();
        two.extend_from_slice(&payload("db/u.ibd", 0, b"abc"));

        let mut bad_crc = two.clone();
        *bad_crc.last_mut().unwrap() ^= 1;
        let mut bad_magic = two.clone();
        bad_magic[second_at as usize] = b'Y';
        let mut unknown = two.clone();
        unknown[second_at as usize + 9] = b'Z';
        let mut long_path = good.clone();
        long_path.extend_from_slice(b"XBSTCK01\x00E");
        long_path.extend_from_slice(&(MAX_PATH_LEN as u32 + 1).to_le_bytes());
        let mut huge = good.clone();
        let mut h = Vec::new();
        chunk::payload_header(&mut h, 0, "db/u.ibd", 0, b"");
        let len_at = h.len() - 20;
        h[len_at..len_at + 8].copy_from_slice(&(MAX_PAYLOAD + 1).to_le_bytes());
        huge.extend_from_slice(&h);
        let mut far = good.clone();
        let mut h = Vec::new();
        chunk::payload_header(&mut h, 0, "db/u.ibd", u64::MAX - 1, b"ab");
        h.extend_from_slice(b"ab");
        far.extend_from_slice(&h);
        let mut empty_rename = good.clone();
        chunk::rename(&mut empty_rename, "p", "");

        type Check = fn(&ReadErrorKind) -> bool;
        type Case<'a> = (&'a str, Vec<u8>, u64, Option<&'a str>, Check);
        let cases: Vec<Case> = vec![
            ("crc", bad_crc, second_at, Some("db/u.ibd"), |k| {
                matches!(k, ReadErrorKind::Checksum { .. })
            }),
            ("magic", bad_magic, second_at, None, |k| {
                matches!(k, ReadErrorKind::BadMagic)
            }),
            ("unknown type", unknown, second_at, None, |k| {
                matches!(k, ReadErrorKind::UnknownType(b'Z'))
            }),
            ("long path", long_path, second_at, None, |k| {
                matches!(k, ReadErrorKind::PathTooLong(513))
            }),
            ("huge payload", huge, second_at, Some("db/u.ibd"), |k| {
                matches!(k, ReadErrorKind::PayloadTooLarge(_))
            }),
            ("offset overflow", far, second_at, Some("db/u.ibd"), |k| {
                matches!(k, ReadErrorKind::OffsetTooLarge(_))
            }),
            ("empty rename", empty_rename, second_at, Some("p"), |k| {
                matches!(k, ReadErrorKind::EmptyRename)
            }),
        ];
        for (name, bytes, at, path, check) in cases {
            let e = read_all(&bytes).expect_err(name);
            assert_eq!(e.at, at, "{name}: {e}");
            assert_eq!(e.path.as_deref(), path, "{name}: {e}");
            assert!(check(&e.kind), "{name}: {e}");
        }
    }

    #[test]
    fn a_stream_cut_inside_any_chunk_is_truncated_and_at_a_boundary_ends() {
        let mut s = payload("a", 0, b"hello");
        chunk::seek(&mut s, "a", 1);
        chunk::rename(&mut s, "a", "bb");
        chunk::eof(&mut s, "a");
        let boundaries: Vec<u64> = {
            let mut r = Reader::new(&s[..]);
            let mut b = vec![0];
            while r.next_chunk().unwrap().is_some() {
                b.push(r.position());
            }
            b
        };
        for cut in 0..=s.len() {
            let r = read_all(&s[..cut]);
            if boundaries.contains(&(cut as u64)) {
                assert!(r.is_ok(), "cut at {cut}");
            } else {
                let e = r.expect_err(&format!("cut at {cut}"));
                assert!(
                    matches!(e.kind, ReadErrorKind::Truncated { end, .. } if end == cut as u64),
                    "cut at {cut}: {e}"
                );
            }
        }
    }
}
