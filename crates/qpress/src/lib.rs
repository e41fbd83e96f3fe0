//! qpress archives and QuickLZ level 1: compress and decompress, streaming.
//!
//! mariadb-backup's `--compress` writes every backup file `f` as `f.qp`, a qpress archive
//! holding that one file. All integers are little-endian:
//!
//! | part | bytes |
//! |------|-------|
//! | archive header | `qpress10`, u64 chunk size |
//! | file entry | `F`, u32 name length, the name (base name, no directory), a NUL |
//! | block, per chunk | `NEWBNEWB`, u64 file offset of the chunk's data, u32 Adler-32 of the QuickLZ block, the QuickLZ block ([`quicklz`]) |
//! | end trailer | `ENDSENDS`, u64 0 |
//!
//! Each chunk is at most the chunk size and is compressed on its own (QuickLZ level 1, no
//! streaming buffer), so blocks can be made in parallel and decoded one at a time.
//! [`Compressor`] writes such an archive through any `Write`; [`decompress`] reads one back
//! from any `Read`, refusing anything malformed with the byte offset (`sink::codec` puts it
//! into a file).
//! [`chunked::Chunked`] is the threaded chunk-at-a-time writer under [`Compressor`], shared
//! with `sink`'s lz4/zstd frames.

mod adler;
pub mod chunked;
pub mod quicklz;
mod reader;
mod writer;

pub use adler::adler32;
pub use reader::{decompress, Error, Summary, MAX_NAME_LEN};
pub use writer::Compressor;

/// First bytes of every archive.
pub const ARCHIVE_MAGIC: &[u8; 8] = b"qpress10";
/// Start of every block entry.
pub const BLOCK_MAGIC: &[u8; 8] = b"NEWBNEWB";
/// Start of the end trailer.
pub const END_MAGIC: &[u8; 8] = b"ENDSENDS";
/// mariadb-backup's default `--compress-chunk-size`.
pub const DEFAULT_CHUNK_SIZE: usize = 64 << 10;
