//! Encoding of single xbstream chunks (the byte layout; see the crate documentation).

/// The 8 bytes every chunk starts with.
pub const MAGIC: &[u8; 8] = b"XBSTCK01";
/// A reader that does not know this chunk's type may skip it.
pub const FLAG_IGNORABLE: u8 = 0x01;
/// The extractor may overwrite a file that already exists.
pub const FLAG_REWRITE: u8 = 0x02;
/// mariadb-backup refuses longer paths (FN_REFLEN).
pub const MAX_PATH_LEN: usize = 512;

/// The chunk types of mariadb-backup 10.11.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChunkType {
    Payload,
    Seek,
    Eof,
    Remove,
    Rename,
}

impl ChunkType {
    pub fn byte(self) -> u8 {
        match self {
            ChunkType::Payload => b'P',
            ChunkType::Seek => b'S',
            ChunkType::Eof => b'E',
            ChunkType::Remove => b'D',
            ChunkType::Rename => b'R',
        }
    }

    pub fn from_byte(b: u8) -> Option<ChunkType> {
        Some(match b {
            b'P' => ChunkType::Payload,
            b'S' => ChunkType::Seek,
            b'E' => ChunkType::Eof,
            b'D' => ChunkType::Remove,
            b'R' => ChunkType::Rename,
            _ => return None,
        })
    }
}

fn header(out: &mut Vec<u8>, flags: u8, kind: ChunkType, path: &str) {
    out.extend_from_slice(MAGIC);
    out.push(flags);
    out.push(kind.byte());
    out.extend_from_slice(&(path.len() as u32).to_le_bytes());
    out.extend_from_slice(path.as_bytes());
}

/// Appends the header of a payload chunk (everything but the payload itself) to `out`.
pub fn payload_header(out: &mut Vec<u8>, flags: u8, path: &str, offset: u64, payload: &[u8]) {
    header(out, flags, ChunkType::Payload, path);
    out.extend_from_slice(&(payload.len() as u64).to_le_bytes());
    out.extend_from_slice(&offset.to_le_bytes());
    out.extend_from_slice(&crc32fast::hash(payload).to_le_bytes());
}

/// Appends a seek chunk: later payloads of `path` are written from `offset`.
pub fn seek(out: &mut Vec<u8>, path: &str, offset: u64) {
    header(out, 0, ChunkType::Seek, path);
    out.extend_from_slice(&offset.to_le_bytes());
}

/// Appends an end-of-file chunk.
pub fn eof(out: &mut Vec<u8>, path: &str) {
    header(out, 0, ChunkType::Eof, path);
}

/// Appends a remove chunk.
pub fn remove(out: &mut Vec<u8>, path: &str) {
    header(out, 0, ChunkType::Remove, path);
}

/// Appends a rename chunk.
pub fn rename(out: &mut Vec<u8>, old: &str, new: &str) {
    header(out, 0, ChunkType::Rename, old);
    out.extend_from_slice(&(new.len() as u32).to_le_bytes());
    out.extend_from_slice(new.as_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payload_layout_is_mariadb_backups() {
        let mut out = Vec::new();
        payload_header(&mut out, FLAG_REWRITE, "a/b", 16384, b"hello");
        let mut want = b"XBSTCK01\x02P\x03\x00\x00\x00a/b".to_vec();
        want.extend_from_slice(&5u64.to_le_bytes());
        want.extend_from_slice(&16384u64.to_le_bytes());
        // zlib crc32("hello")
        want.extend_from_slice(&0x3610a686u32.to_le_bytes());
        assert_eq!(out, want);
    }

    #[test]
    fn control_chunks() {
        let mut out = Vec::new();
        eof(&mut out, "x");
        remove(&mut out, "y");
        rename(&mut out, "p", "qq");
        seek(&mut out, "z", 7);
        let mut want = b"XBSTCK01\x00E\x01\x00\x00\x00x".to_vec();
        want.extend_from_slice(b"XBSTCK01\x00D\x01\x00\x00\x00y");
        want.extend_from_slice(b"XBSTCK01\x00R\x01\x00\x00\x00p\x02\x00\x00\x00qq");
        want.extend_from_slice(b"XBSTCK01\x00S\x01\x00\x00\x00z\x07\x00\x00\x00\x00\x00\x00\x00");
        assert_eq!(out, want);
    }

    #[test]
    fn type_bytes_round_trip() {
        for t in [
            ChunkType::Payload,
            ChunkType::Seek,
            ChunkType::Eof,
            ChunkType::Remove,
            ChunkType::Rename,
        ] {
            assert_eq!(ChunkType::from_byte(t.byte()), Some(t));
        }
        assert_eq!(ChunkType::from_byte(b'X'), None);
    }
}
