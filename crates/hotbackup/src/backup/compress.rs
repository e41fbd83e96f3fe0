//! `--compress`: the backup's sink wrapped in a [`CompressSink`] with the checked
//! `--compress-threads` and `--compress-chunk-size`.

use sink::{Codec, CompressSink, Sink};

use crate::exit::Code;
use crate::failure::Failure;
use crate::options::Options;

/// `sink` compressing with `--compress`'s codec (unchanged without `--compress`), or a usage
/// error (exit 2) for a chunk size a block of that codec cannot hold (mariadb-backup accepts
/// any size from 1024 up, then fails compressing).
pub fn wrap(sink: Box<dyn Sink>, opts: &Options) -> Result<Box<dyn Sink>, Failure> {
    let Some(codec) = opts.compress else {
        return Ok(sink);
    };
    let max = codec.max_chunk();
    let chunk = usize::try_from(opts.compress_chunk_size)
        .ok()
        .filter(|c| (1..=max).contains(c))
        .ok_or_else(|| {
            let block = match codec {
                Codec::Quicklz => "a qpress block",
                Codec::Lz4 => "an lz4 block",
                Codec::Zstd { .. } => "a zstd frame of hotbackup",
            };
            Failure::new(
                Code::Usage,
                format!(
                    "--compress-chunk-size={} is more than {block} holds ({max} bytes): \
                     give a smaller size (the default is 65536)",
                    opts.compress_chunk_size
                ),
            )
        })?;
    let threads = opts.compress_threads.max(1) as usize;
    let compressing = CompressSink::new(sink, codec, chunk, threads)
        .map_err(|e| Failure::new(Code::Usage, format!("--compress={}: {e}", codec.name())))?;
    Ok(Box::new(compressing))
}
