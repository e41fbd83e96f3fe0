//! mariadb-backup's xbstream archive format (`XBSTCK01` chunks).
//!
//! A stream is a sequence of chunks. Every chunk starts with the 8-byte magic, a flags byte, a
//! type byte and a little-endian u32 path length followed by the path (no terminator). Then,
//! by type:
//!
//! | type | after the path |
//! |------|----------------|
//! | `P` payload | u64 payload length, u64 file offset, u32 CRC-32 (zlib) of the payload, payload |
//! | `S` seek    | u64 new file offset (later payloads of this file continue there) |
//! | `E` end     | nothing: the file is complete |
//! | `D` remove  | nothing: delete the path |
//! | `R` rename  | u32 length and the new path |
//!
//! Flag `0x02` (rewrite) on a payload means the extractor may overwrite an existing file;
//! flag `0x01` (ignorable) means a reader that does not know the chunk type may skip it.
//! All integers are little-endian. This is the format of mariadb-backup 10.11.

pub mod chunk;
pub mod create;
pub mod extract;
pub mod reader;
pub mod writer;

pub use chunk::{ChunkType, FLAG_IGNORABLE, FLAG_REWRITE, MAGIC, MAX_PATH_LEN};
pub use writer::{StreamFile, StreamWriter};
