//! The `.delta` file of an incremental backup (page-format.md §13.2): the pages of one data file
//! whose LSN is newer than the base, as a sequence of *clusters*.
//!
//! With P the physical page size and N = P / 4, a cluster is a header page of P bytes followed
//! by k data pages of P bytes (0 ≤ k ≤ N − 1). The header starts with the magic `xtra` (more
//! clusters follow) or `XTRA` (the last one), then k big-endian page numbers in the order of
//! the data pages, then `0xFFFFFFFF` when k < N − 1, then zeros. Every cluster but the last is
//! full. A file with no changed page is one `XTRA` header with no page.
//!
//! [`DeltaWriter`] builds clusters without doing I/O (the caller writes what it is handed, so
//! the same code serves a directory, a stream and a compressed file); [`DeltaReader`] reads
//! them from any [`Read`], checking every structural rule, with errors that name the byte
//! offset in the delta. The `.meta` file that goes with a delta is `backup_meta::DeltaMeta`.

use std::io::{self, Read};

/// Magic of a cluster that is followed by more clusters.
pub const MAGIC_MORE: [u8; 4] = *b"xtra";
/// Magic of the final cluster.
pub const MAGIC_LAST: [u8; 4] = *b"XTRA";
/// Slot value that ends the page list of a cluster that is not full.
pub const TERMINATOR: u32 = 0xFFFF_FFFF;
/// Smallest physical page size of a delta (ROW_FORMAT=COMPRESSED, KEY_BLOCK_SIZE=1).
pub const MIN_PAGE_SIZE: usize = 1024;
/// Largest page size (innodb_page_size=64k).
pub const MAX_PAGE_SIZE: usize = 65536;

/// What is wrong with a delta, or with reading it.
#[derive(Debug, thiserror::Error)]
pub enum DeltaError {
    #[error("page size {0} is not a power of two between 1024 and 65536")]
    PageSize(usize),
    #[error("a page of {len} bytes given to a delta of {page_size}-byte pages")]
    PageLength { len: usize, page_size: usize },
    #[error(
        "page {next} after page {prev}: pages of a delta must be in increasing order \
         (at byte {offset})"
    )]
    Order { offset: u64, prev: u32, next: u32 },
    #[error(
        "no cluster magic at byte {offset}: found {found:02x?}, expected \"xtra\" or \"XTRA\""
    )]
    Magic { offset: u64, found: [u8; 4] },
    #[error(
        "the cluster at byte {offset} is marked \"xtra\" (more follow) but holds {count} of \
         {slots} pages: only the final cluster may be partial"
    )]
    NotFull {
        offset: u64,
        count: usize,
        slots: usize,
    },
    #[error("the delta ends at byte {offset}, inside a cluster ({missing} more bytes expected)")]
    Truncated { offset: u64, missing: u64 },
    #[error("the delta ends at byte {offset} before its final (\"XTRA\") cluster")]
    NoFinal { offset: u64 },
    #[error("bytes after the final cluster, at byte {offset}")]
    Trailing { offset: u64 },
    #[error("{0}")]
    Io(#[from] io::Error),
}

/// Checks a delta page size (the `.meta`'s `page_size`).
pub fn check_page_size(page_size: usize) -> Result<(), DeltaError> {
    if page_size.is_power_of_two() && (MIN_PAGE_SIZE..=MAX_PAGE_SIZE).contains(&page_size) {
        Ok(())
    } else {
        Err(DeltaError::PageSize(page_size))
    }
}

/// Page slots of a cluster header (N − 1 pages per cluster, slot 0 is the magic).
pub fn cluster_pages(page_size: usize) -> usize {
    page_size / 4 - 1
}

fn be32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// Builds the clusters of one delta, front to back, without I/O.
///
/// Memory: the pages of one cluster (at most N − 1 pages: 64 MiB at 16k, 1 GiB at 64k) are held
/// until the cluster is complete, since its header precedes them; the buffer grows with the
/// pages actually given.
pub struct DeltaWriter {
    page_size: usize,
    /// Header page of the current cluster (magic written when it is emitted).
    header: Vec<u8>,
    /// Data pages of the current cluster.
    pages: Vec<u8>,
    count: usize,
    last_page: Option<u32>,
    /// Bytes emitted so far (for error offsets).
    emitted: u64,
    total_pages: u64,
}

impl DeltaWriter {
    /// A writer for pages of `page_size` bytes.
    pub fn new(page_size: usize) -> Result<DeltaWriter, DeltaError> {
        Self::with_buffer(page_size, Vec::new())
    }

    /// A writer that buffers its clusters in `buffer` (emptied; its capacity is reused:
    /// see [`DeltaWriter::finish_with_buffer`]).
    pub fn with_buffer(page_size: usize, mut buffer: Vec<u8>) -> Result<DeltaWriter, DeltaError> {
        check_page_size(page_size)?;
        buffer.clear();
        Ok(DeltaWriter {
            page_size,
            header: vec![0; page_size],
            pages: buffer,
            count: 0,
            last_page: None,
            emitted: 0,
            total_pages: 0,
        })
    }

    /// Adds page `page_no` (its raw bytes). When the current cluster is already full it is
    /// handed to `emit` first (as an `xtra` cluster).
    pub fn push<E: From<DeltaError>>(
        &mut self,
        page_no: u32,
        page: &[u8],
        emit: &mut impl FnMut(&[u8]) -> Result<(), E>,
    ) -> Result<(), E> {
        if page.len() != self.page_size {
            return Err(DeltaError::PageLength {
                len: page.len(),
                page_size: self.page_size,
            }
            .into());
        }
        if let Some(prev) = self.last_page {
            if page_no <= prev || page_no == TERMINATOR {
                return Err(DeltaError::Order {
                    offset: self.emitted + ((self.count + 1) * self.page_size) as u64,
                    prev,
                    next: page_no,
                }
                .into());
            }
        }
        if self.count == cluster_pages(self.page_size) {
            self.emit_cluster(MAGIC_MORE, emit)?;
        }
        self.count += 1;
        let at = 4 * self.count;
        self.header[at..at + 4].copy_from_slice(&page_no.to_be_bytes());
        self.pages.extend_from_slice(page);
        self.last_page = Some(page_no);
        self.total_pages += 1;
        Ok(())
    }

    /// Pages added so far.
    pub fn pages(&self) -> u64 {
        self.total_pages
    }

    /// Hands the final (`XTRA`) cluster to `emit`; returns the delta's size in bytes.
    pub fn finish<E>(self, emit: &mut impl FnMut(&[u8]) -> Result<(), E>) -> Result<u64, E> {
        self.finish_with_buffer(emit).map(|(size, _)| size)
    }

    /// [`DeltaWriter::finish`], also giving back the cluster buffer for another writer.
    pub fn finish_with_buffer<E>(
        mut self,
        emit: &mut impl FnMut(&[u8]) -> Result<(), E>,
    ) -> Result<(u64, Vec<u8>), E> {
        if self.count < cluster_pages(self.page_size) {
            let at = 4 * (self.count + 1);
            self.header[at..at + 4].copy_from_slice(&TERMINATOR.to_be_bytes());
        }
        self.emit_cluster(MAGIC_LAST, emit)?;
        Ok((self.emitted, self.pages))
    }

    fn emit_cluster<E>(
        &mut self,
        magic: [u8; 4],
        emit: &mut impl FnMut(&[u8]) -> Result<(), E>,
    ) -> Result<(), E> {
        self.header[..4].copy_from_slice(&magic);
        emit(&self.header)?;
        if !self.pages.is_empty() {
            emit(&self.pages)?;
        }
        self.emitted += ((self.count + 1) * self.page_size) as u64;
        self.header.fill(0);
        self.pages.clear();
        self.count = 0;
        Ok(())
    }
}

/// Pages of one cluster as read, in order: the whole cluster ([`DeltaReader::next_cluster`])
/// or a piece of it ([`DeltaReader::next_pages`]).
pub struct Cluster<'a> {
    /// Page numbers, increasing.
    pub page_numbers: &'a [u32],
    /// The pages, `page_numbers.len()` × page size bytes.
    pub data: &'a [u8],
    /// Byte offset of the cluster's header in the delta.
    pub offset: u64,
    /// Index in the cluster of the first page here (0 for a whole cluster).
    pub first: usize,
    page_size: usize,
}

impl<'a> Cluster<'a> {
    /// (page number, page bytes) pairs in order.
    pub fn pages(&self) -> impl Iterator<Item = (u32, &'a [u8])> + '_ {
        self.page_numbers
            .iter()
            .copied()
            .zip(self.data.chunks_exact(self.page_size))
    }

    /// Byte offset in the delta of the `i`-th page here.
    pub fn page_offset(&self, i: usize) -> u64 {
        self.offset + ((self.first + i + 1) * self.page_size) as u64
    }
}

/// Reads a delta cluster by cluster, or a few pages at a time, checking its structure.
pub struct DeltaReader<R: Read> {
    input: R,
    page_size: usize,
    offset: u64,
    header: Vec<u8>,
    numbers: Vec<u32>,
    data: Vec<u8>,
    done: bool,
    last_page: Option<u32>,
    /// The cluster being read: its header's offset, whether it is the final one, and how
    /// many of its pages were returned.
    open: Option<(u64, bool, usize)>,
}

impl<R: Read> DeltaReader<R> {
    /// A reader of a delta of `page_size`-byte pages (the `.meta`'s `page_size`).
    pub fn new(input: R, page_size: usize) -> Result<DeltaReader<R>, DeltaError> {
        check_page_size(page_size)?;
        Ok(DeltaReader {
            input,
            page_size,
            offset: 0,
            header: vec![0; page_size],
            numbers: Vec::new(),
            data: Vec::new(),
            done: false,
            last_page: None,
            open: None,
        })
    }

    /// The next cluster whole (up to page size / 4 pages: 64 MiB at 16k, 1 GiB at 64k),
    /// or `None` after the final one (when the input has ended there too).
    pub fn next_cluster(&mut self) -> Result<Option<Cluster<'_>>, DeltaError> {
        self.next_pages(usize::MAX)
    }

    /// The next `max_pages` (at least 1) pages of the current cluster, or fewer at its
    /// end; a cluster without pages (a delta with no changed page) is returned once,
    /// empty. `None` after the final cluster (when the input has ended there too).
    /// Memory: `max_pages` pages, whatever the size of the clusters.
    pub fn next_pages(&mut self, max_pages: usize) -> Result<Option<Cluster<'_>>, DeltaError> {
        let (at, last, from) = match self.open {
            Some(open) => open,
            None => {
                if self.done {
                    return Ok(None);
                }
                let at = self.offset;
                let last = self.read_header()?;
                self.offset = at + self.page_size as u64;
                (at, last, 0)
            }
        };
        let n = (self.numbers.len() - from).min(max_pages.max(1));
        let len = n * self.page_size;
        self.data.resize(len, 0);
        let got = read_full(&mut self.input, &mut self.data)?;
        if got < len {
            return Err(DeltaError::Truncated {
                offset: self.offset + got as u64,
                missing: (len - got) as u64,
            });
        }
        self.offset += len as u64;
        let to = from + n;
        if to < self.numbers.len() {
            self.open = Some((at, last, to));
        } else {
            self.open = None;
            if last {
                self.done = true;
                let mut probe = [0u8; 1];
                if read_full(&mut self.input, &mut probe)? != 0 {
                    return Err(DeltaError::Trailing {
                        offset: self.offset,
                    });
                }
            }
        }
        Ok(Some(Cluster {
            page_numbers: &self.numbers[from..to],
            data: &self.data,
            offset: at,
            first: from,
            page_size: self.page_size,
        }))
    }

    /// Reads and checks the header of the cluster at `self.offset` into `numbers`;
    /// returns whether it is the final cluster.
    fn read_header(&mut self) -> Result<bool, DeltaError> {
        let at = self.offset;
        let got = read_full(&mut self.input, &mut self.header)?;
        if got == 0 {
            return Err(DeltaError::NoFinal { offset: at });
        }
        if got < self.page_size {
            return Err(DeltaError::Truncated {
                offset: at + got as u64,
                missing: (self.page_size - got) as u64,
            });
        }
        let magic: [u8; 4] = self.header[..4].try_into().expect("4 bytes");
        let last = match magic {
            MAGIC_LAST => true,
            MAGIC_MORE => false,
            found => return Err(DeltaError::Magic { offset: at, found }),
        };
        let slots = cluster_pages(self.page_size);
        self.numbers.clear();
        for i in 1..=slots {
            let n = be32(&self.header, 4 * i);
            if n == TERMINATOR {
                break;
            }
            if let Some(prev) = self.last_page {
                if n <= prev {
                    return Err(DeltaError::Order {
                        offset: at + 4 * i as u64,
                        prev,
                        next: n,
                    });
                }
            }
            self.last_page = Some(n);
            self.numbers.push(n);
        }
        if !last && self.numbers.len() != slots {
            return Err(DeltaError::NotFull {
                offset: at,
                count: self.numbers.len(),
                slots,
            });
        }
        Ok(last)
    }

    /// Bytes consumed so far.
    pub fn offset(&self) -> u64 {
        self.offset
    }
}

/// Reads until `buf` is full or the input ends; returns the bytes read.
fn read_full(input: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match input.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(got)
}

#[cfg(test)]
mod tests;
