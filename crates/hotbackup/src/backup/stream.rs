//! `--stream=xbstream`: the backup as an xbstream on standard output, refused when standard
//! output is a terminal (the bytes would be lost and could upset the terminal).

use std::fs::File;
use std::os::fd::AsFd;

use sink::{Sink, StreamSink};

use crate::exit::Code;
use crate::failure::Failure;

/// The sink for `--stream`: stdout, written directly (no buffering of its own: the stream
/// writer emits whole chunks). Usage error (exit 2) when stdout is a terminal.
pub fn stdout_sink() -> Result<Box<dyn Sink>, Failure> {
    let stdout = std::io::stdout();
    // SAFETY: isatty only looks at the descriptor.
    if unsafe { libc::isatty(libc::STDOUT_FILENO) } == 1 {
        return Err(Failure::new(
            Code::Usage,
            "--stream writes the backup to standard output, which is a terminal: redirect it \
             to a file or a pipe (hotbackup --backup --stream=xbstream > backup.xb, or \
             | mbstream -x -C DIR)"
                .to_string(),
        ));
    }
    let fd = stdout
        .as_fd()
        .try_clone_to_owned()
        .map_err(|e| Failure::new(Code::Io, format!("standard output: {e}")))?;
    Ok(Box::new(StreamSink::new(File::from(fd), "<STDOUT>")))
}
