//! Copying the InnoDB tablespaces (undo, file-per-table in parallel, then the system
//! tablespace) through the sink with the page copier, and what those copies tell the
//! rest of the backup (space ids, deferred tables, corrupt pages).

use std::collections::BTreeMap;
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

use backup_meta::CorruptedPages;
use innodb::SpaceId;
use page_copier::{CopyError, CopyOptions, CopyReport, Output, Progress, Source, SourceKind};

use super::discover::{FileCopy, Inventory};
use super::{check_progress, Context};
use crate::exit::Code;
use crate::failure::Failure;
use crate::log::Log;

struct LogProgress<'a> {
    log: &'a Log,
}

impl Progress for LogProgress<'_> {
    fn copied(&self, _source: &Path, bytes: u64) {
        self.log.progress_add(bytes);
    }
    fn warn(&self, message: &str) {
        self.log.info(&format!("Warning: {message}"));
    }
    fn retrying(&self, source: &Path, page_no: innodb::PageNo, reason: &str) {
        // mariadb-backup's words (mtr searches for them), then which file and why.
        self.log.info(&format!(
            "Database page corruption detected at page {page_no}, retrying... ({}: {reason})",
            source.display()
        ));
    }
}

/// Copies every InnoDB tablespace in parallel (as deltas in an incremental backup); returns
/// space id → backup name (`db/t`), and the backup names of tables copied before their page
/// 0 was written (space unknown). An incremental backup leaves such tables out instead: they
/// are newer than the base, and are copied whole as `.new` under `BLOCK_DDL`
/// (`ddl_markers`), as mariadb-backup copies its deferred tables.
pub(super) fn copy_innodb(
    ctx: &Context,
    inventory: &Inventory,
    copy_options: &CopyOptions,
    tailer: &redo_tailer::TailerHandle,
    corrupted: &mut CorruptedPages,
) -> Result<(BTreeMap<SpaceId, String>, Vec<String>), Failure> {
    let (opts, sink, log) = (ctx.opts, ctx.sink, ctx.log);
    let output = match ctx.incremental {
        Some(after) => Output::Delta { after },
        None => Output::Whole,
    };
    let mut sources: Vec<Source> = Vec::new();
    for f in &inventory.undo {
        sources.push(source(f, SourceKind::Undo, output));
    }
    for f in &inventory.tables {
        sources.push(source(f, SourceKind::Table, output));
    }
    // Each copy holds its source and its destination open: within the open-files limit,
    // whatever --parallel asks (as copy-back and prepare stay within it).
    let wanted = opts.parallel.max(1) as usize;
    let threads = wanted.min(prepare::data_file_capacity(None) / 2).max(1);
    if threads < wanted {
        log.info(&format!(
            "--parallel={wanted} reduced to {threads}: the open files limit ({}) leaves room \
             for {threads} copies at a time; raise it with ulimit -n or --open-files-limit",
            prepare::open_files_limit().map_or_else(|| "unlimited".into(), |l| l.to_string())
        ));
    }
    let progress = LogProgress { log };
    let total: u64 = sources
        .iter()
        .map(|s| &s.path)
        .chain(inventory.system.iter().map(|f| &f.source))
        .filter_map(|p| std::fs::metadata(p).ok())
        .map(|m| m.len())
        .sum();
    log.progress_start("Copying InnoDB files", crate::log::Unit::Bytes, total);
    let throttle = (opts.throttle > 0).then(|| page_copier::Throttle::new(opts.throttle));
    // Set on the first failure: the remaining files are not copied (`None`), since the
    // backup cannot complete anyway (server gone, redo copy lost, disk full, ...).
    let cut_short = AtomicBool::new(false);
    // A table created after the checkpoint whose page 0 is not on disk yet is not copied
    // now: once DDL is blocked it is copied whole as `.new` (from its FILE_CREATE, or by
    // the safety net for any table the backup does not hold), as mariadb-backup does. A copy
    // now as well would leave both `t.ibd` and `t.new` in the backup.
    let first_pass = CopyOptions {
        leave_unwritten_tables: true,
        ..copy_options.clone()
    };
    // The system tablespace is the pool's last item, as in mariadb-backup: it overlaps the
    // last tables' copies instead of running alone after them.
    let mut items: Vec<Option<&Source>> = sources.iter().map(Some).collect();
    if !inventory.system.is_empty() {
        items.push(None);
    }
    let shared = Shared {
        ctx,
        tailer,
        throttle: throttle.as_ref(),
        progress: &progress,
        cut_short: &cut_short,
        output,
    };
    // In list order with the files read ahead: thousands of small tables copy at the
    // disk's pace instead of one random read at a time.
    type Copied = (Source, Option<Result<CopyReport, CopyError>>);
    let reports: Vec<Vec<Copied>> = crate::in_order::run(
        threads,
        &items,
        |item| match item {
            Some(s) => Some(s.path.clone()),
            None => inventory.system.first().map(|f| f.source.clone()),
        },
        |thread, item| {
            let Some(s) = item else {
                return copy_system(&shared, inventory, copy_options, thread);
            };
            if cut_short.load(Ordering::Relaxed) || check_progress(tailer, ctx.watch).is_err() {
                cut_short.store(true, Ordering::Relaxed);
                return vec![((*s).clone(), None)];
            }
            log.line(
                thread,
                &format!("Copying {} to {}", s.path.display(), describe(sink, s)),
            );
            let r = page_copier::copy_tablespace(
                s,
                sink,
                &first_pass,
                None,
                throttle.as_ref(),
                &progress,
            );
            match &r {
                Ok(_) => log.line(thread, "        ...done"),
                Err(CopyError::Vanished { .. }) => {}
                Err(_) => cut_short.store(true, Ordering::Relaxed),
            }
            vec![((*s).clone(), Some(r))]
        },
    );
    let all: Vec<Copied> = reports.into_iter().flatten().collect();

    log.progress_end();
    // When the server went away or the redo copy failed, that is the cause to report.
    check_progress(tailer, ctx.watch)?;
    let mut copied = BTreeMap::new();
    let mut deferred = Vec::new();
    for (s, r) in all {
        let Some(r) = r else { continue };
        match r {
            Ok(report) if report.left_out => log.info(&format!(
                "{}: page 0 is not written yet (created during the backup); copied whole as \
                 .new once DDL is blocked",
                s.path.display()
            )),
            Ok(report) => {
                if report.space_id.is_none() && s.kind == SourceKind::Table {
                    deferred.push(s.dest.with_extension("").to_string_lossy().into_owned());
                }
                if let (Some(space), SourceKind::Table) = (report.space_id, &s.kind) {
                    let name = s.dest.with_extension("").to_string_lossy().into_owned();
                    for page in &report.corrupt_pages {
                        corrupted.add_page(&name, space.0, page.page_no.0);
                    }
                    copied.insert(space, name);
                } else if let Some(space) = report.space_id {
                    let name = s.dest.to_string_lossy().into_owned();
                    for page in &report.corrupt_pages {
                        corrupted.add_page(&name, space.0, page.page_no.0);
                    }
                }
                if !report.corrupt_pages.is_empty() {
                    log.info(&format!(
                        "Error: {} page(s) of {} are corrupt; recorded in innodb_corrupted_pages",
                        report.corrupt_pages.len(),
                        s.path.display()
                    ));
                }
            }
            Err(CopyError::Vanished { path }) => {
                // Dropped before we opened it; its FILE_DELETE is in the redo log.
                log.info(&format!(
                    "{} was dropped during the backup; skipped",
                    path.display()
                ));
            }
            Err(e) => {
                check_progress(tailer, ctx.watch)?;
                return Err(e.into());
            }
        }
    }
    check_progress(tailer, ctx.watch)?;
    if cut_short.load(Ordering::Relaxed) {
        // Unreachable: files are only skipped after a failure returned above.
        return Err(Failure::new(
            Code::Failure,
            "the InnoDB copy stopped early without an error (a bug); the backup is incomplete"
                .to_string(),
        ));
    }
    Ok((copied, deferred))
}

/// What every copy of the pool shares.
struct Shared<'a> {
    ctx: &'a Context<'a>,
    tailer: &'a redo_tailer::TailerHandle,
    /// One `--throttle` budget for all the copies.
    throttle: Option<&'a page_copier::Throttle>,
    progress: &'a LogProgress<'a>,
    /// Set on the first failure: nothing more is copied.
    cut_short: &'a AtomicBool,
    output: Output,
}

/// Copies the system tablespace's files in order (its later files are checked with the
/// first's format), on pool thread `thread`.
fn copy_system(
    shared: &Shared,
    inventory: &Inventory,
    copy_options: &CopyOptions,
    thread: usize,
) -> Vec<(Source, Option<Result<CopyReport, CopyError>>)> {
    let Shared {
        ctx,
        tailer,
        throttle,
        progress,
        cut_short,
        output,
    } = *shared;
    let (sink, log) = (ctx.sink, ctx.log);
    let mut all = Vec::new();
    let mut system_validator = None;
    for (idx, f) in inventory.system.iter().enumerate() {
        if cut_short.load(Ordering::Relaxed) || check_progress(tailer, ctx.watch).is_err() {
            cut_short.store(true, Ordering::Relaxed);
            break;
        }
        let kind = if idx == 0 {
            SourceKind::SystemFirst
        } else {
            SourceKind::SystemNext
        };
        let s = source(f, kind, output);
        log.line(
            thread,
            &format!("Copying {} to {}", s.path.display(), describe(sink, &s)),
        );
        let r = page_copier::copy_tablespace(
            &s,
            sink,
            copy_options,
            system_validator.as_ref(),
            throttle,
            progress,
        );
        if idx == 0 {
            system_validator = first_file_validator(&s.path, copy_options);
        }
        match &r {
            Ok(_) => log.line(thread, "        ...done"),
            Err(CopyError::Vanished { .. }) => {}
            Err(_) => cut_short.store(true, Ordering::Relaxed),
        }
        all.push((s, Some(r)));
    }
    all
}

fn first_file_validator(path: &Path, options: &CopyOptions) -> Option<innodb::page::PageValidator> {
    let file = File::open(path).ok()?;
    let mut page0 = vec![0u8; innodb::page::fsp::MAX_PAGE_SIZE];
    let n = file.read_at(&mut page0, 0).ok()?;
    let probe = innodb::page::PageValidator::from_page0(&page0[..n], options.validation).ok()?;
    let size = probe.page_size();
    innodb::page::PageValidator::from_page0(page0.get(..size)?, options.validation).ok()
}

pub(super) fn source(f: &FileCopy, kind: SourceKind, output: Output) -> Source {
    Source {
        path: f.source.clone(),
        dest: f.dest.clone(),
        kind,
        output,
    }
}

/// Where a copy goes, for the log (`db/t.ibd.delta` in an incremental backup).
fn describe(sink: &dyn sink::Sink, s: &Source) -> String {
    match s.output {
        Output::Whole => sink.describe(&s.dest),
        Output::Delta { .. } => {
            let mut name = s.dest.clone().into_os_string();
            name.push(".delta");
            sink.describe(std::path::Path::new(&name))
        }
    }
}
