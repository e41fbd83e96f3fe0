//! The tailer on real sample logs (`testdata/redo`) placed in temporary files that
//! play the live server's `ib_logfile0`: a one-shot copy across the wrap, a simulated
//! server that keeps writing (with torn tails), overrun, corruption, replacement.

mod support;

use std::fs;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use innodb::redo::{
    backup_log_prefix, Checkpoint, Decoder, LogFile, LogGeometry, LogHeader, MtrFormat, Step,
    START_OFFSET,
};
use innodb::Lsn;
use redo_tailer::{start, FileOp, ServerLsnFn, ServerLsns, TailError, TailerConfig};
use support::{collect_ops, decode_backup_log, no_server_lsn, read_sample, redo_dump_ok};
use testkit::TestDir;

/// `live16k_wrap`: checkpoint, end_lsn and end of log from the samples' README.
const SAMPLE: &str = "live16k_wrap.ib_logfile0.gz";
const CHECKPOINT: u64 = 23_016_697;
const END_LSN: u64 = 25_273_132;
const END_OF_LOG: u64 = 25_273_284;
const MTRS: u64 = 12_712;
const RECORDS: u64 = 38_214;

fn config(dir: &Path, live: &Path) -> TailerConfig {
    let mut c = TailerConfig::new(live, dir.join("ib_logfile0.backup"));
    c.min_poll_interval = Duration::from_millis(1);
    c.max_poll_interval = Duration::from_millis(50);
    // A sample file has no server to say what is durable; the parse limit has a test
    // of its own.
    c.limit_to_flushed = false;
    c
}

/// A callback answer: the server at `current`, nothing known about its flushed LSN.
fn at(current: u64) -> Option<ServerLsns> {
    Some(ServerLsns {
        current: Lsn(current),
        flushed: Lsn(0),
    })
}

fn write_live(dir: &Path, image: &[u8]) -> PathBuf {
    let path = dir.join("ib_logfile0");
    fs::write(&path, image).unwrap();
    path
}

#[test]
fn copies_the_wrapped_sample_as_mariadb_backup_does() {
    let dir = TestDir::new("tailer-wrap").unwrap();
    let image = read_sample(SAMPLE);
    let live = write_live(dir.path(), &image);
    let cfg = config(dir.path(), &live);
    let backup_path = cfg.backup_log.clone();
    let (on_op, ops) = collect_ops();
    let t0 = Instant::now();
    let tailer = start(cfg, no_server_lsn(), on_op).unwrap();
    assert_eq!(
        (
            tailer.start_checkpoint().checkpoint_lsn,
            tailer.start_checkpoint().end_lsn
        ),
        (Lsn(CHECKPOINT), Lsn(END_LSN))
    );
    assert_eq!(tailer.latest_server_checkpoint().unwrap(), Lsn(CHECKPOINT));
    let report = tailer
        .stop_at(Lsn(END_OF_LOG), Duration::from_secs(10))
        .unwrap();
    let elapsed = t0.elapsed();
    assert_eq!(report.start_lsn, Lsn(CHECKPOINT));
    assert_eq!(report.last_lsn, Lsn(END_OF_LOG));
    assert_eq!(report.mtrs, MTRS);
    assert_eq!(report.bytes, END_OF_LOG - CHECKPOINT);

    let backup = fs::read(&backup_path).unwrap();
    // Exact layout: LSN L at 12288 + (L - C); the file ends at last_lsn.
    assert_eq!(backup.len() as u64, START_OFFSET + END_OF_LOG - CHECKPOINT);
    let server = LogFile::parse(&image, image.len() as u64).unwrap();
    let prefix = backup_log_prefix(
        &LogHeader::for_backup(&server.header, Lsn(CHECKPOINT)),
        Lsn(CHECKPOINT),
        Lsn(END_LSN),
    );
    assert_eq!(&backup[..START_OFFSET as usize], &prefix[..]);
    assert_eq!(
        LogFile::parse(&backup, backup.len() as u64)
            .unwrap()
            .header
            .creator(),
        "Backup 10.11.19"
    );
    let decoded = decode_backup_log(&backup);
    assert_eq!((decoded.mtrs, decoded.records), (MTRS, RECORDS));
    redo_dump_ok(&backup_path, Lsn(END_OF_LOG));

    // Every byte but the end markers is the server's byte at the same LSN.
    let g = server.geometry;
    let mut differing = 0;
    for (i, &b) in backup[START_OFFSET as usize..].iter().enumerate() {
        let off = g.offset(Lsn(CHECKPOINT + i as u64)).unwrap() as usize;
        if image[off] != b {
            differing += 1;
            assert_eq!((image[off], b), (0, 1), "only markers 0 → 1 differ");
        }
    }
    assert!(differing > 0, "the odd-pass part has markers forced to 1");

    // DDL tracking: README counts FILE_CREATE 1, FILE_RENAME 1, FILE_DELETE 1,
    // FILE_MODIFY 37.
    let ops = ops.lock().unwrap();
    let count = |f: fn(&FileOp) -> bool| ops.iter().filter(|o| f(o)).count();
    assert_eq!(count(|o| matches!(o, FileOp::Create { .. })), 1, "{ops:?}");
    assert_eq!(count(|o| matches!(o, FileOp::Rename { .. })), 1, "{ops:?}");
    assert_eq!(count(|o| matches!(o, FileOp::Delete { .. })), 1, "{ops:?}");
    assert_eq!(count(|o| matches!(o, FileOp::Modify { .. })), 37);
    assert_eq!(report.file_ops, ops.len() as u64);
    for op in ops.iter() {
        assert!(op.lsn() > Lsn(CHECKPOINT) && op.lsn() <= Lsn(END_OF_LOG));
        if let FileOp::Rename { from, to, .. } = op {
            assert!(from.ends_with(".ibd") && to.ends_with(".ibd"), "{op:?}");
        }
    }
    eprintln!(
        "copied {} bytes / {} mtrs in {elapsed:?}",
        report.bytes, report.mtrs
    );
}

#[test]
fn stop_beyond_the_end_is_not_reached() {
    let dir = TestDir::new("tailer-notreached").unwrap();
    let live = write_live(dir.path(), &read_sample(SAMPLE));
    let (on_op, _) = collect_ops();
    let tailer = start(config(dir.path(), &live), no_server_lsn(), on_op).unwrap();
    let target = Lsn(END_OF_LOG + 10_000);
    let t0 = Instant::now();
    let err = tailer
        .stop_at(target, Duration::from_millis(300))
        .unwrap_err();
    assert!(t0.elapsed() < Duration::from_secs(3), "{:?}", t0.elapsed());
    match &err {
        TailError::NotReached {
            start,
            target: t,
            copied_to,
            ..
        } => assert_eq!(
            (*start, *t, *copied_to),
            (Lsn(CHECKPOINT), target, Lsn(END_OF_LOG))
        ),
        other => panic!("{other:?}"),
    }
    let text = err.to_string();
    assert!(
        text.contains(&format!(
            "was only able to copy log from {CHECKPOINT} to {END_OF_LOG}, not {}",
            target.0
        )),
        "{text}"
    );
}

#[test]
fn the_backup_log_is_never_overwritten() {
    let dir = TestDir::new("tailer-excl").unwrap();
    let live = write_live(dir.path(), &read_sample(SAMPLE));
    let cfg = config(dir.path(), &live);
    fs::write(&cfg.backup_log, b"precious").unwrap();
    let (on_op, _) = collect_ops();
    let err = start(cfg.clone(), no_server_lsn(), on_op).unwrap_err();
    assert!(
        matches!(&err, TailError::Io { action: "creating", source, .. }
            if source.kind() == std::io::ErrorKind::AlreadyExists),
        "{err:?}"
    );
    assert!(err.to_string().contains("ib_logfile0.backup"), "{err}");
    assert_eq!(fs::read(&cfg.backup_log).unwrap(), b"precious");
}

/// The server says (through the callback) it is one capacity past the checkpoint: the
/// log at the checkpoint may be gone, and the start must fail rather than copy it.
#[test]
fn server_lsn_one_capacity_ahead_is_an_overrun() {
    let dir = TestDir::new("tailer-overrun").unwrap();
    let image = read_sample(SAMPLE);
    let capacity = image.len() as u64 - START_OFFSET;
    let live = write_live(dir.path(), &image);
    let cfg = config(dir.path(), &live);
    let backup = cfg.backup_log.clone();
    let (on_op, _) = collect_ops();
    let err = start(cfg, Box::new(move || at(CHECKPOINT + capacity)), on_op).unwrap_err();
    match &err {
        TailError::Overwritten {
            needed,
            copied_to,
            server_lsn,
            capacity: cap,
            ..
        } => assert_eq!(
            (*needed, *copied_to, *server_lsn, *cap),
            (
                Lsn(CHECKPOINT),
                Lsn(CHECKPOINT),
                Lsn(CHECKPOINT + capacity),
                capacity
            )
        ),
        other => panic!("{other:?}"),
    }
    let text = err.to_string();
    assert!(
        text.contains(&format!(
            "redo log overwritten at LSN {CHECKPOINT}; copied up to {CHECKPOINT}"
        )) && text.contains("Increase innodb_log_file_size or reduce load"),
        "{text}"
    );
    assert!(
        !backup.exists(),
        "a failed start removes the log it created"
    );
}

/// Overrun detected mid-copy: the callback starts reporting a far LSN; the thread stops,
/// `failed()` says why, and `stop_at` returns the error, never a report.
#[test]
fn overrun_while_running_fails_fast() {
    let dir = TestDir::new("tailer-overrun2").unwrap();
    let image = read_sample(SAMPLE);
    let capacity = image.len() as u64 - START_OFFSET;
    let live = write_live(dir.path(), &image);
    let (on_op, _) = collect_ops();
    let jump = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&jump);
    let tailer = start(
        config(dir.path(), &live),
        Box::new(move || {
            if flag.load(Ordering::Relaxed) {
                at(END_OF_LOG + capacity)
            } else {
                None
            }
        }),
        on_op,
    )
    .unwrap();
    assert!(tailer.failed().is_none());
    jump.store(true, Ordering::Relaxed);
    let t0 = Instant::now();
    while tailer.failed().is_none() && t0.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(5));
    }
    let msg = tailer.failed().expect("the thread reports the overrun");
    assert!(msg.contains("redo log overwritten at LSN"), "{msg}");
    let err = tailer
        .stop_at(Lsn(END_OF_LOG), Duration::from_secs(5))
        .unwrap_err();
    assert!(matches!(err, TailError::Overwritten { .. }), "{err:?}");
}

/// A simulated server: the log region past a point starts zeroed (not written yet) and a
/// writer thread fills it in odd-sized pieces that end inside mtrs, across the wrap,
/// while the tailer polls. The result must equal the one-shot copy byte for byte.
#[test]
fn follows_a_log_being_written_with_torn_tails() {
    follow_a_log_being_written(false);
}

/// The same with the parse limit on, as in production: the writer reports each piece
/// flushed once it is written, so the limit often falls inside an mtr.
#[test]
fn follows_a_log_being_written_up_to_its_flushed_lsn() {
    follow_a_log_being_written(true);
}

fn follow_a_log_being_written(limit_to_flushed: bool) {
    let dir = TestDir::new("tailer-live").unwrap();
    let image = read_sample(SAMPLE);
    let server = LogFile::parse(&image, image.len() as u64).unwrap();
    let g = server.geometry;
    // The reference: a one-shot copy of the finished log.
    let reference = one_shot_copy(&image);

    // The checkpoint says (C, C): nothing is promised to be written beyond C yet, so a
    // torn tail is "not written yet", not corruption.
    let written_to = CHECKPOINT + 100_000;
    let live_image = written_up_to(&image, Lsn(written_to));
    let live = write_live(dir.path(), &live_image);
    let mut cfg = config(dir.path(), &live);
    cfg.read_size = 300_000; // raised to 1 MiB + 8 KiB: several polls per backlog
    cfg.limit_to_flushed = limit_to_flushed;
    let backup_path = cfg.backup_log.clone();
    let (on_op, ops) = collect_ops();
    let flushed = Arc::new(AtomicU64::new(written_to));
    let callback = if limit_to_flushed {
        written_and_flushed(Arc::clone(&flushed))
    } else {
        no_server_lsn()
    };
    let tailer = start(cfg, callback, on_op).unwrap();

    let writer = {
        let live = live.clone();
        let image = image.clone();
        std::thread::spawn(move || {
            let file = fs::OpenOptions::new().write(true).open(&live).unwrap();
            let mut at = written_to;
            let mut step = 7_919u64;
            while at < END_OF_LOG {
                let n = step.min(END_OF_LOG - at);
                for_ranges(&g, Lsn(at), n, |off, len| {
                    file.write_all_at(&image[off..off + len], off as u64)
                        .unwrap()
                });
                at += n;
                flushed.store(at, Ordering::Relaxed);
                step = (step * 13 + 1_001) % 40_000 + 1;
                std::thread::sleep(Duration::from_millis(2));
            }
        })
    };
    writer.join().unwrap();
    if limit_to_flushed {
        wait_copied(&tailer, Lsn(END_OF_LOG));
    }
    let report = finish_like(tailer, &backup_path, &reference);
    assert_eq!(ops.lock().unwrap().len() as u64, report.file_ops);
}

/// A live log holding, at an mtr boundary `x` past which nothing is flushed yet, a stale
/// copy of a later mtr of another length: CRC-valid, right sequence bit, wrong place.
struct StaleTail {
    image: Vec<u8>,
    reference: Vec<u8>,
    g: LogGeometry,
    x: Lsn,
    dir: TestDir,
    live: PathBuf,
}

impl StaleTail {
    fn new(tag: &str) -> StaleTail {
        let image = read_sample(SAMPLE);
        let g = LogFile::parse(&image, image.len() as u64).unwrap().geometry;
        let reference = one_shot_copy(&image);
        // Two consecutive mtrs of different lengths, 300 mtrs in, in one pass: the
        // stale image holds the second one's bytes where the first one starts.
        let (x, stale) = mtr_spans(&reference)[300..]
            .windows(2)
            .find_map(|w| {
                let ((a, la), (b, lb)) = (w[0], w[1]);
                let same_pass = g.offset(a).unwrap() < g.offset(Lsn(b.0 + lb)).unwrap();
                (la != lb && same_pass).then_some((a, (b, lb)))
            })
            .unwrap();
        let from = g.offset(stale.0).unwrap() as usize;
        let stale_bytes = image[from..from + stale.1 as usize].to_vec();
        // The checkpoint promises nothing past C; from x on, the stale mtr, then zeros.
        let dir = TestDir::new(tag).unwrap();
        let mut live_image = written_up_to(&image, x);
        let xo = g.offset(x).unwrap() as usize;
        live_image[xo..xo + stale_bytes.len()].copy_from_slice(&stale_bytes);
        let live = write_live(dir.path(), &live_image);
        StaleTail {
            image,
            reference,
            g,
            x,
            dir,
            live,
        }
    }

    /// The server writes the real log from x on.
    fn write_real_log(live: &Path, image: &[u8], g: &LogGeometry, x: Lsn) {
        let file = fs::OpenOptions::new().write(true).open(live).unwrap();
        for_ranges(g, x, END_OF_LOG - x.0, |off, len| {
            file.write_all_at(&image[off..off + len], off as u64)
                .unwrap()
        });
    }

    fn config(&self) -> TailerConfig {
        let mut cfg = config(self.dir.path(), &self.live);
        cfg.limit_to_flushed = true;
        cfg
    }
}

/// A server whose log is written and flushed up to the LSN in `lsn`.
fn written_and_flushed(lsn: Arc<AtomicU64>) -> ServerLsnFn {
    Box::new(move || {
        let lsn = Lsn(lsn.load(Ordering::Relaxed));
        Some(ServerLsns {
            current: lsn,
            flushed: lsn,
        })
    })
}

/// Waits until the copy reached `lsn` by itself (no stop target to help it).
fn wait_copied(tailer: &redo_tailer::TailerHandle, lsn: Lsn) {
    let t0 = Instant::now();
    while tailer.copied_lsn() < lsn && t0.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(tailer.copied_lsn(), lsn, "{:?}", tailer.failed());
}

/// MDEV-39468: a read racing with the server's rewrite of its last, partly filled block
/// can see stale bytes of its log buffer that form a complete, CRC-valid mtr where the
/// real one will be. Past the flushed LSN nothing is parsed, so that image is never
/// accepted; once the real bytes are there and flushed, the copy goes on by itself and
/// equals a one-shot copy of the finished log. (Without the limit the tailer takes the
/// stale mtr and ends up in the middle of a real one for good.)
#[test]
fn a_stale_mtr_past_the_flushed_lsn_is_never_taken() {
    let t = StaleTail::new("tailer-stale");
    let flushed = Arc::new(AtomicU64::new(t.x.0));
    let backup_path = t.config().backup_log;
    let (on_op, _) = collect_ops();
    let tailer = start(t.config(), written_and_flushed(Arc::clone(&flushed)), on_op).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(tailer.copied_lsn(), t.x, "nothing past the flushed LSN");
    assert!(tailer.failed().is_none());
    let status = tailer.status();
    assert!(
        status.contains(&format!("durable up to LSN {}", t.x)),
        "{status}"
    );

    StaleTail::write_real_log(&t.live, &t.image, &t.g, t.x);
    flushed.store(END_OF_LOG, Ordering::Relaxed);
    wait_copied(&tailer, Lsn(END_OF_LOG));
    finish_like(tailer, &backup_path, &t.reference);
}

/// The flushed LSN is sampled *after* a poll's reads, so it may only govern the next
/// poll's reads: here the server writes the real log and flushes it between the first
/// read (which saw the stale mtr) and the sample. A tailer that applied that sample to
/// the bytes it had just read would take the stale mtr.
#[test]
fn a_flushed_lsn_sampled_after_a_read_does_not_vouch_for_it() {
    let t = StaleTail::new("tailer-stale2");
    let backup_path = t.config().backup_log;
    let (image, g, x, live) = (t.image.clone(), t.g, t.x, t.live.clone());
    let calls = Arc::new(AtomicU64::new(0));
    let counted = Arc::clone(&calls);
    let (on_op, _) = collect_ops();
    let tailer = start(
        t.config(),
        Box::new(move || {
            // Call 1 comes before the first read, call 2 right after it.
            let n = counted.fetch_add(1, Ordering::Relaxed) + 1;
            let lsn = if n == 1 {
                x
            } else {
                if n == 2 {
                    StaleTail::write_real_log(&live, &image, &g, x);
                }
                Lsn(END_OF_LOG)
            };
            Some(ServerLsns {
                current: lsn,
                flushed: lsn,
            })
        }),
        on_op,
    )
    .unwrap();
    wait_copied(&tailer, Lsn(END_OF_LOG));
    assert!(calls.load(Ordering::Relaxed) >= 3);
    finish_like(tailer, &backup_path, &t.reference);
}

/// Stops the copy at the end of the sample and checks that the backup log holds the same
/// bytes as `reference` after the prefix (which differs only in the checkpoint block's
/// end_lsn) and that redo_dump.py reads it to the end.
fn finish_like(
    tailer: redo_tailer::TailerHandle,
    backup_path: &Path,
    reference: &[u8],
) -> redo_tailer::TailReport {
    let report = tailer
        .stop_at(Lsn(END_OF_LOG), Duration::from_secs(10))
        .unwrap();
    assert_eq!(report.last_lsn, Lsn(END_OF_LOG));
    let backup = fs::read(backup_path).unwrap();
    assert_eq!(backup.len(), reference.len());
    assert!(backup[START_OFFSET as usize..] == reference[START_OFFSET as usize..]);
    redo_dump_ok(backup_path, Lsn(END_OF_LOG));
    report
}

/// The backup log of a one-shot copy of the finished sample `image`.
fn one_shot_copy(image: &[u8]) -> Vec<u8> {
    let d = TestDir::new("tailer-ref").unwrap();
    let live = write_live(d.path(), image);
    let cfg = config(d.path(), &live);
    let path = cfg.backup_log.clone();
    let (on_op, _) = collect_ops();
    start(cfg, no_server_lsn(), on_op)
        .unwrap()
        .stop_at(Lsn(END_OF_LOG), Duration::from_secs(10))
        .unwrap();
    fs::read(path).unwrap()
}

/// `image` as a server that has written it only up to `to` (zeros after) and whose one
/// checkpoint is (C, C), the other block zeroed: nothing past C is promised.
fn written_up_to(image: &[u8], to: Lsn) -> Vec<u8> {
    let g = LogFile::parse(image, image.len() as u64).unwrap().geometry;
    let mut live_image = image.to_vec();
    let cp = Checkpoint {
        checkpoint_lsn: Lsn(CHECKPOINT),
        end_lsn: Lsn(CHECKPOINT),
        block_offset: 4096,
    }
    .encode();
    live_image[4096..4096 + 64].copy_from_slice(&cp);
    live_image[8192..8192 + 4096].fill(0);
    for_ranges(&g, to, END_OF_LOG - to.0, |off, len| {
        live_image[off..off + len].fill(0)
    });
    live_image
}

/// (start LSN, length) of every mtr of a backup log.
fn mtr_spans(backup: &[u8]) -> Vec<(Lsn, u64)> {
    let file = LogFile::parse(backup, backup.len() as u64).unwrap();
    let mut dec = Decoder::new(MtrFormat::for_log(&file), file.checkpoint.checkpoint_lsn).unwrap();
    let mut input = dec.input(&backup[START_OFFSET as usize..]);
    let mut spans = Vec::new();
    loop {
        let start = input.lsn();
        match input.next_mtr() {
            Step::Mtr(_) => spans.push((start, input.lsn().0 - start.0)),
            _ => return spans,
        }
    }
}

/// Calls `f(file_offset, len)` for the file ranges of `[lsn, lsn + len)`.
fn for_ranges(g: &LogGeometry, lsn: Lsn, len: u64, mut f: impl FnMut(usize, usize)) {
    for (off, n) in g.file_ranges(lsn, len).unwrap() {
        if n > 0 {
            f(off as usize, n as usize);
        }
    }
}

/// A damaged mtr well before the server's checkpoint end_lsn (so certainly complete) is
/// corruption, reported with its LSN, after a few re-reads.
#[test]
fn a_persistently_bad_mtr_before_end_lsn_is_corruption() {
    let dir = TestDir::new("tailer-corrupt").unwrap();
    let mut image = read_sample(SAMPLE);
    let server = LogFile::parse(&image, image.len() as u64).unwrap();
    // Find the start of an mtr about 1 MB in: decode the reference copy.
    let target_lsn = {
        let backup = one_shot_copy(&image);
        let file = LogFile::parse(&backup, backup.len() as u64).unwrap();
        let mut dec =
            innodb::redo::Decoder::new(innodb::redo::MtrFormat::for_log(&file), Lsn(CHECKPOINT))
                .unwrap();
        let mut input = dec.input(&backup[START_OFFSET as usize..]);
        loop {
            match input.next_frame() {
                innodb::redo::Step::Mtr(f) if f.start_lsn().0 >= CHECKPOINT + 1_000_000 => {
                    break f.start_lsn()
                }
                innodb::redo::Step::Mtr(_) => {}
                other => panic!("{other:?}"),
            }
        }
    };
    let off = server.geometry.offset(Lsn(target_lsn.0 + 3)).unwrap() as usize;
    image[off] ^= 0x5A;
    let live = write_live(dir.path(), &image);
    let (on_op, _) = collect_ops();
    let tailer = start(config(dir.path(), &live), no_server_lsn(), on_op).unwrap();
    let err = tailer
        .stop_at(Lsn(END_OF_LOG), Duration::from_secs(10))
        .unwrap_err();
    match &err {
        TailError::Corrupt { lsn, copied_to, .. } => {
            assert_eq!((*lsn, *copied_to), (target_lsn, target_lsn))
        }
        other => panic!("{other:?}"),
    }
    let text = err.to_string();
    assert!(
        text.contains("ib_logfile0") && text.contains(&target_lsn.0.to_string()),
        "{text}"
    );
}

/// The path is renamed over by a file whose first LSN lies beyond what was copied (an
/// online resize the copy could not follow): a precise error, not a silent stop.
#[test]
fn a_replaced_log_that_skips_uncopied_lsns_is_reported() {
    let dir = TestDir::new("tailer-replaced").unwrap();
    let live = write_live(dir.path(), &read_sample(SAMPLE));
    let (on_op, _) = collect_ops();
    let tailer = start(config(dir.path(), &live), no_server_lsn(), on_op).unwrap();
    let t0 = Instant::now();
    while tailer.copied_lsn() < Lsn(END_OF_LOG) && t0.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(5));
    }
    let new = dir.path().join("ib_logfile101");
    fs::write(
        &new,
        innodb::redo::prepared_log(Lsn(END_OF_LOG + 5_000)).unwrap(),
    )
    .unwrap();
    fs::rename(&new, &live).unwrap();
    let err = tailer
        .stop_at(Lsn(END_OF_LOG + 10), Duration::from_secs(5))
        .unwrap_err();
    match &err {
        TailError::ServerLogReplaced {
            copied_to,
            new_first_lsn,
            new_size,
            ..
        } => assert_eq!(
            (*copied_to, *new_first_lsn, *new_size),
            (Lsn(END_OF_LOG), Lsn(END_OF_LOG + 5_000), 12_304)
        ),
        other => panic!("{other:?}"),
    }
}

/// An online resize the copy can follow (§2.7): the new file (another size, first LSN
/// at the checkpoint) holds the rest of the log; copying continues in it.
#[test]
fn follows_a_resized_log() {
    let dir = TestDir::new("tailer-resize").unwrap();
    let image = read_sample(SAMPLE);
    // Before: the log is written up to `half`; zeros after.
    let half = CHECKPOINT + (END_OF_LOG - CHECKPOINT) / 2;
    let before = written_up_to(&image, Lsn(half));
    let live = write_live(dir.path(), &before);
    let (on_op, _) = collect_ops();
    let mut cfg = config(dir.path(), &live);
    let backup_path = cfg.backup_log.clone();
    cfg.read_size = 1;
    let tailer = start(cfg, no_server_lsn(), on_op).unwrap();
    let t0 = Instant::now();
    while tailer.copied_lsn() < Lsn(half - 20_000) && t0.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(5));
    }
    // After: a file of a different size with first_lsn = C, holding the log in one pass
    // (markers 1), i.e. the reference copy's body behind a server header.
    let reference = one_shot_copy(&image);
    let server_header = LogHeader::new(
        innodb::redo::header::FORMAT_10_8,
        Lsn(CHECKPOINT),
        "MariaDB 10.11.19",
        None,
    );
    let mut resized = backup_log_prefix(&server_header, Lsn(CHECKPOINT), Lsn(CHECKPOINT));
    resized.extend_from_slice(&reference[START_OFFSET as usize..]);
    resized.resize(resized.len() + 65_536, 0);
    let new = dir.path().join("ib_logfile101");
    fs::write(&new, &resized).unwrap();
    fs::rename(&new, &live).unwrap();
    let report = tailer
        .stop_at(Lsn(END_OF_LOG), Duration::from_secs(10))
        .unwrap();
    assert_eq!(report.last_lsn, Lsn(END_OF_LOG));
    let backup = fs::read(&backup_path).unwrap();
    assert!(backup[START_OFFSET as usize..] == reference[START_OFFSET as usize..]);
}
