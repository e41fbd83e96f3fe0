//! `--compress`: the backup's sink wrapped in a [`CompressSink`] with the checked
//! `--compress-threads` and `--compress-chunk-size`.

use sink::{CompressSink, Sink};

use crate::exit::Code;
use crate::failure::Failure;
use crate::options::Options;

/// `sink` compressing, or a usage error (exit 2) for a chunk size a qpress block cannot hold
/// (mariadb-backup accepts any size from 1024 up, then fails compressing).
pub fn wrap(sink: Box<dyn Sink>, opts: &Options) -> Result<Box<dyn Sink>, Failure> {
    let max = qpress::quicklz::MAX_INPUT;
    let chunk = usize::try_from(opts.compress_chunk_size)
        .ok()
        .filter(|c| (1..=max).contains(c))
        .ok_or_else(|| {
            Failure::new(
                Code::Usage,
                format!(
                    "--compress-chunk-size={} is more than a qpress block holds ({max} bytes): \
                     give a smaller size (the default is 65536)",
                    opts.compress_chunk_size
                ),
            )
        })?;
    let threads = opts.compress_threads.max(1) as usize;
    let compressing = CompressSink::new(sink, chunk, threads)
        .map_err(|e| Failure::new(Code::Usage, format!("--compress: {e}")))?;
    Ok(Box::new(compressing))
}
