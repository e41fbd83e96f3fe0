//! Writes named regular files into a stream, like `mbstream -c FILES…`.

use std::fmt;
use std::fs::File;
use std::io::{self, Read, Write};
use std::path::Path;

use crate::extract::components;
use crate::writer::StreamWriter;

/// Bytes read from a file at a time.
const READ_SIZE: usize = 1 << 20;

/// Why a stream could not be created.
#[derive(Debug)]
pub enum CreateError {
    /// The name cannot be extracted again (absolute, `..`, not UTF-8…).
    BadName { path: String, why: &'static str },
    /// Not a regular file.
    NotRegular { path: String },
    /// Reading the file or writing the stream failed.
    Io {
        path: String,
        what: &'static str,
        err: io::Error,
    },
}

impl fmt::Display for CreateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CreateError::BadName { path, why } => write!(
                f,
                "'{path}' cannot be streamed ({why}): give paths relative to the current \
                 directory or -C, without '.' or '..'"
            ),
            CreateError::NotRegular { path } => write!(f, "'{path}' is not a regular file"),
            CreateError::Io { path, what, err } => write!(f, "cannot {what} '{path}': {err}"),
        }
    }
}

impl std::error::Error for CreateError {}

/// Streams each of `files` (read relative to `base`, named in the stream as given) into
/// `out`; `on_file` is called with each name as it starts.
pub fn create<W: Write + Send>(
    out: W,
    base: &Path,
    files: &[&Path],
    on_file: &mut dyn FnMut(&str),
) -> Result<(), CreateError> {
    // Check every name before writing anything.
    let mut names = Vec::new();
    for f in files {
        let shown = f.display().to_string();
        let name = f.to_str().ok_or(CreateError::BadName {
            path: shown.clone(),
            why: "not UTF-8",
        })?;
        components(name.as_bytes()).map_err(|why| CreateError::BadName {
            path: shown.clone(),
            why,
        })?;
        names.push(name);
    }
    let stream = StreamWriter::new(out);
    let mut buf = vec![0u8; READ_SIZE];
    for name in names {
        let io = |what, err| CreateError::Io {
            path: name.to_string(),
            what,
            err,
        };
        let mut src = File::open(base.join(name)).map_err(|e| io("open", e))?;
        if !src.metadata().map_err(|e| io("stat", e))?.is_file() {
            return Err(CreateError::NotRegular {
                path: name.to_string(),
            });
        }
        on_file(name);
        let mut dst = stream.open(name, false).map_err(|e| io("stream", e))?;
        loop {
            let n = match src.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(io("read", e)),
            };
            dst.write_all(&buf[..n])
                .map_err(|e| io("write to the stream", e))?;
        }
        dst.close().map_err(|e| io("write to the stream", e))?;
    }
    stream.flush().map_err(|err| CreateError::Io {
        path: "<stdout>".into(),
        what: "flush",
        err,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::extract::{extract, Options};

    #[test]
    fn created_streams_extract_to_the_same_files() {
        let base = std::env::temp_dir().join(format!("xbstream-create-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&base);
        let src = base.join("src");
        std::fs::create_dir_all(src.join("db")).unwrap();
        let big: Vec<u8> = (0..3 * READ_SIZE + 17).map(|i| (i % 251) as u8).collect();
        std::fs::write(src.join("db/big.bin"), &big).unwrap();
        std::fs::write(src.join("small"), b"hello").unwrap();
        std::fs::write(src.join("empty"), b"").unwrap();

        let mut stream = Vec::new();
        let mut seen = Vec::new();
        let files = [
            Path::new("db/big.bin"),
            Path::new("small"),
            Path::new("empty"),
        ];
        create(&mut stream, &src, &files, &mut |n| seen.push(n.to_string())).unwrap();
        assert_eq!(seen, ["db/big.bin", "small", "empty"]);

        let dst = base.join("dst");
        std::fs::create_dir(&dst).unwrap();
        extract(
            &stream[..],
            &dst,
            &Options {
                parallel: 2,
                on_file: &|_| {},
            },
        )
        .unwrap();
        assert_eq!(std::fs::read(dst.join("db/big.bin")).unwrap(), big);
        assert_eq!(std::fs::read(dst.join("small")).unwrap(), b"hello");
        assert_eq!(std::fs::read(dst.join("empty")).unwrap(), b"");

        // Refused before anything is written: unsafe names, a directory.
        for (bad, word) in [
            ("/etc/hostname", "absolute"),
            ("../src/small", "'..'"),
            ("db", "not a regular file"),
        ] {
            let mut out = Vec::new();
            let e = create(
                &mut out,
                &src,
                &[Path::new("small"), Path::new(bad)],
                &mut |_| {},
            );
            let msg = e.unwrap_err().to_string();
            assert!(msg.contains(word), "{bad}: {msg}");
            if word != "not a regular file" {
                assert!(out.is_empty(), "{bad}");
            }
        }
        std::fs::remove_dir_all(&base).unwrap();
    }
}
