//! Where the validated batches of a copy go: the whole file, or (incremental backup) a
//! `.delta` of the pages newer than the base plus its `.meta`, as mariadb-backup 10.11's
//! `wf_incremental` filter writes them (page-format.md §13).

use std::io;
use std::path::{Path, PathBuf};

use backup_meta::{delta_meta_path, DeltaMeta, MetaFile};
use delta::DeltaWriter;
use innodb::page::fil::{FIL_PAGE_LSN, FIL_PAGE_OFFSET, FIL_PAGE_SPACE_ID};
use innodb::page::PageValidator;
use innodb::{Lsn, PageNo};
use sink::{Sink, SinkFile};

use crate::CopyError;

/// The TRX_SYS page (space 0, page 5): a delta that holds it cannot be applied (the
/// rollback segment layout changed: the server was restarted with another
/// `innodb_undo_tablespaces`), so mariadb-backup refuses the backup.
const TRX_SYS_PAGE_NO: u32 = 5;

/// How a copy is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Output {
    /// The file as it is, under `Source::dest` (full backup, `.new` copies).
    Whole,
    /// `dest.meta` first, then `dest.delta` holding the pages whose `FIL_PAGE_LSN` is newer
    /// than `after` and the pages recorded as corrupt (`--log-innodb-page-corruption`).
    Delta {
        /// The base's LSN (`incremental_lsn`).
        after: Lsn,
    },
}

/// A started output file.
pub(crate) enum Writer {
    Whole(Box<dyn SinkFile>),
    Delta {
        file: Box<dyn SinkFile>,
        pages: DeltaWriter,
        after: u64,
        page_size: usize,
        source: PathBuf,
    },
}

/// The name the output of `dest` has in the backup.
pub(crate) fn output_name(dest: &Path, output: Output) -> PathBuf {
    match output {
        Output::Whole => dest.to_path_buf(),
        Output::Delta { .. } => {
            let mut name = dest.as_os_str().to_owned();
            name.push(".delta");
            PathBuf::from(name)
        }
    }
}

/// Starts the output of `dest`. A delta needs the tablespace's validator (page size, zip
/// size, space id): its `.meta` is written before the `.delta` is created, as mariadb-backup.
pub(crate) fn start(
    sink: &dyn Sink,
    dest: &Path,
    output: Output,
    validator: Option<&PageValidator>,
    source: &Path,
) -> Result<Writer, CopyError> {
    let write_err = |path: &Path, e: io::Error| CopyError::Write {
        path: PathBuf::from(sink.describe(path)),
        source: e,
    };
    match output {
        Output::Whole => {
            let file = sink.create(dest).map_err(|e| write_err(dest, e))?;
            Ok(Writer::Whole(file))
        }
        Output::Delta { after } => {
            let Some(v) = validator else {
                return Err(CopyError::DeferredDelta {
                    path: source.to_path_buf(),
                });
            };
            let meta = DeltaMeta {
                page_size: v.page_size() as u32,
                zip_size: v.flags().zip_size().unwrap_or(0) as u32,
                space_id: Some(v.space_id().0),
            };
            // A file like the data, not an atomic metadata write: no fsync per table (the
            // backup's one flush covers it). Uncompressed under --compress, as 10.11's.
            let meta_name = delta_meta_path(dest);
            let mut meta_file = sink
                .create(&meta_name)
                .map_err(|e| write_err(&meta_name, e))?;
            meta_file
                .write_all(meta.render().as_bytes())
                .map_err(|e| write_err(&meta_name, e))?;
            meta_file.close().map_err(|e| write_err(&meta_name, e))?;
            let name = output_name(dest, output);
            let file = sink.create(&name).map_err(|e| write_err(&name, e))?;
            let pages =
                DeltaWriter::with_buffer(v.page_size(), crate::buffers::CLUSTERS.take_empty())
                    .map_err(|e| {
                        write_err(&name, io::Error::new(io::ErrorKind::InvalidInput, e))
                    })?;
            Ok(Writer::Delta {
                file,
                pages,
                after: after.0,
                page_size: v.page_size(),
                source: source.to_path_buf(),
            })
        }
    }
}

impl Writer {
    /// Bytes written to the output so far.
    pub(crate) fn len(&self) -> u64 {
        match self {
            Writer::Whole(f) | Writer::Delta { file: f, .. } => f.len(),
        }
    }

    /// Takes one validated batch starting at page `first_page` of the file; `corrupt` are
    /// the pages of this batch recorded as corrupt. Returns the pages that went into a
    /// delta (0 for a whole copy).
    pub(crate) fn batch(
        &mut self,
        batch: &[u8],
        first_page: u64,
        corrupt: &[PageNo],
        out_name: &Path,
    ) -> Result<u64, CopyError> {
        let write_err = |e: io::Error| CopyError::Write {
            path: out_name.to_path_buf(),
            source: e,
        };
        match self {
            Writer::Whole(f) => {
                f.write_all(batch).map_err(write_err)?;
                Ok(0)
            }
            Writer::Delta {
                file,
                pages,
                after,
                page_size,
                source,
            } => {
                let mut added = 0;
                for (i, page) in batch.chunks_exact(*page_size).enumerate() {
                    let page_no = (first_page + i as u64) as u32;
                    if !wanted(page, *after) && !corrupt.contains(&PageNo(page_no)) {
                        continue;
                    }
                    if is_trx_sys(page) {
                        return Err(CopyError::TrxSysChanged {
                            path: source.clone(),
                            page_no: PageNo(page_no),
                        });
                    }
                    pages
                        .push(page_no, page, &mut |bytes: &[u8]| {
                            file.write_all(bytes).map_err(DeltaOrIo::Io)
                        })
                        .map_err(|e| e.into_copy_error(out_name))?;
                    added += 1;
                }
                Ok(added)
            }
        }
    }

    /// Ends the output (the final `XTRA` cluster of a delta), syncing it first if asked.
    pub(crate) fn finish(self, sync: bool, out_name: &Path) -> Result<(), CopyError> {
        let write_err = |e: io::Error| CopyError::Write {
            path: out_name.to_path_buf(),
            source: e,
        };
        let mut file = match self {
            Writer::Whole(file) => file,
            Writer::Delta {
                mut file, pages, ..
            } => {
                let (_, buffer) = pages
                    .finish_with_buffer(&mut |bytes: &[u8]| {
                        file.write_all(bytes).map_err(DeltaOrIo::Io)
                    })
                    .map_err(|e| e.into_copy_error(out_name))?;
                crate::buffers::CLUSTERS.give(buffer);
                file
            }
        };
        if sync {
            file.sync().map_err(write_err)?;
        }
        file.close().map_err(write_err)
    }
}

/// Whether a page goes into the delta: its LSN is newer than the base's (an all-zero page
/// has LSN 0 and never does). The LSN is in clear in every page format.
fn wanted(page: &[u8], after: u64) -> bool {
    let lsn = u64::from_be_bytes(
        page[FIL_PAGE_LSN..FIL_PAGE_LSN + 8]
            .try_into()
            .unwrap_or([0; 8]),
    );
    lsn > after
}

/// The header names the TRX_SYS page (space 0, page 5): the page itself, or its copy in the
/// doublewrite buffer, as mariadb-backup checks it.
fn is_trx_sys(page: &[u8]) -> bool {
    let be32 = |at: usize| u32::from_be_bytes(page[at..at + 4].try_into().unwrap_or([0xff; 4]));
    be32(FIL_PAGE_SPACE_ID) == 0 && be32(FIL_PAGE_OFFSET) == TRX_SYS_PAGE_NO
}

/// A delta write failed in the format (a bug: pages are given in order) or in the sink.
enum DeltaOrIo {
    Delta(delta::DeltaError),
    Io(io::Error),
}

impl From<delta::DeltaError> for DeltaOrIo {
    fn from(e: delta::DeltaError) -> Self {
        DeltaOrIo::Delta(e)
    }
}

impl DeltaOrIo {
    fn into_copy_error(self, out_name: &Path) -> CopyError {
        CopyError::Write {
            path: out_name.to_path_buf(),
            source: match self {
                DeltaOrIo::Io(e) => e,
                DeltaOrIo::Delta(e) => io::Error::new(io::ErrorKind::InvalidData, e),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(space: u32, page_no: u32, lsn: u64) -> Vec<u8> {
        let mut p = vec![0u8; 1024];
        p[FIL_PAGE_OFFSET..FIL_PAGE_OFFSET + 4].copy_from_slice(&page_no.to_be_bytes());
        p[FIL_PAGE_LSN..FIL_PAGE_LSN + 8].copy_from_slice(&lsn.to_be_bytes());
        p[FIL_PAGE_SPACE_ID..FIL_PAGE_SPACE_ID + 4].copy_from_slice(&space.to_be_bytes());
        p
    }

    #[test]
    fn pages_newer_than_the_base_and_the_trx_sys_rule() {
        for (space, page_no, lsn, after, wanted_, trx_sys) in [
            (7, 3, 101, 100, true, false),
            (7, 3, 100, 100, false, false),
            (7, 3, 0, 0, false, false),
            (0, 5, 101, 100, true, true),
            (0, 5, 99, 100, false, true),
            (1, 5, 101, 100, true, false),
            (0, 6, 101, 100, true, false),
        ] {
            let p = page(space, page_no, lsn);
            assert_eq!(wanted(&p, after), wanted_, "{space}:{page_no} lsn {lsn}");
            assert_eq!(is_trx_sys(&p), trx_sys, "{space}:{page_no}");
        }
        assert!(!wanted(&[0u8; 1024], 0), "an all-zero page never goes in");
    }

    #[test]
    fn delta_names() {
        for (dest, output, want) in [
            ("db/t.ibd", Output::Whole, "db/t.ibd"),
            (
                "db/t.ibd",
                Output::Delta { after: Lsn(1) },
                "db/t.ibd.delta",
            ),
            ("ibdata1", Output::Delta { after: Lsn(1) }, "ibdata1.delta"),
        ] {
            assert_eq!(output_name(Path::new(dest), output), Path::new(want));
        }
    }
}
