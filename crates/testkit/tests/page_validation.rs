//! Every page of every InnoDB data file a real server wrote is valid after a clean
//! shutdown, for 4k and 16k pages: the ground truth the page copier's validation is
//! checked against (a validator that rejects these pages would re-read forever).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use innodb::page::{PageValidator, PageVerdict, ValidationOptions};
use innodb::PageNo;
use testkit::{create_mixed_schema, PageSize, WriteLoad, WriteLoadOptions};

// ---------------------------------------------------------------------------------------
// Adapter to the page validation API of the `innodb` crate (not final yet): the only place
// in this test that knows it. If the API changes, only this function changes.
// ---------------------------------------------------------------------------------------

/// Result of checking one file.
#[derive(Debug, Default)]
struct FileReport {
    /// Pages checked, all-zero pages included (they are valid).
    pages: u64,
    /// Doublewrite buffer pages of the system tablespace: copies of other pages, not
    /// checked (mariadb-backup skips them too).
    skipped: u64,
    /// How many pages each checksum kind validated, e.g. `FullCrc32`, `ZipCrc32`.
    kinds: BTreeMap<String, u64>,
    /// One line per invalid (or unverifiable) page.
    failures: Vec<String>,
    /// Physical page size.
    page_size: usize,
    /// ROW_FORMAT=COMPRESSED tablespace.
    compressed: bool,
}

/// Validates every page of one InnoDB data file with [`innodb::page::PageValidator`],
/// built from the file's page 0 with mariadb-backup's default options.
fn validate_file(path: &Path) -> Result<FileReport> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let validator = PageValidator::from_page0(&bytes, ValidationOptions::default())
        .map_err(|e| anyhow::anyhow!("{}: page 0: {e}", path.display()))?;
    let page_size = validator.page_size();
    let mut report = FileReport {
        page_size,
        compressed: validator.flags().zip_size().is_some(),
        ..FileReport::default()
    };
    if page_size == 0 || bytes.len() % page_size != 0 {
        report.failures.push(format!(
            "file size {} is not a multiple of the page size {page_size}",
            bytes.len()
        ));
        return Ok(report);
    }
    for (page_idx, page) in bytes.chunks_exact(page_size).enumerate() {
        let page_no = PageNo(u32::try_from(page_idx).context("page index overflows u32")?);
        match validator.validate(page, page_no) {
            PageVerdict::SkippedDoublewrite => report.skipped += 1,
            PageVerdict::AllZero => report.pages += 1,
            PageVerdict::Valid(valid) => {
                report.pages += 1;
                *report
                    .kinds
                    .entry(format!("{:?}", valid.checksum))
                    .or_default() += 1;
            }
            // Nothing here is encrypted or page_compressed, so every page must verify.
            PageVerdict::Unverified(reason) => {
                report.pages += 1;
                report
                    .failures
                    .push(format!("page {page_idx}: unverified: {reason}"));
            }
            PageVerdict::Corrupt(corruption) => {
                report.pages += 1;
                report
                    .failures
                    .push(format!("page {page_idx}: {corruption}"));
            }
        }
    }
    Ok(report)
}

// ---------------------------------------------------------------------------------------

/// `ibdata*` and `undo*` in the datadir root and every `*.ibd` below it.
fn innodb_data_files(datadir: &Path) -> Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    let mut dirs = vec![datadir.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in
            std::fs::read_dir(&dir).with_context(|| format!("listing {}", dir.display()))?
        {
            let path = entry?.path();
            let name = path
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default();
            if path.is_dir() {
                dirs.push(path.clone());
            } else if name.ends_with(".ibd")
                || (dir == datadir && (name.starts_with("ibdata") || name.starts_with("undo")))
            {
                files.push(path);
            }
        }
    }
    files.sort();
    Ok(files)
}

/// Starts a server, writes every row format plus a short DML/DDL load, stops it cleanly,
/// and validates its files. Returns a summary line.
fn write_stop_and_validate(mariadb: &testkit::MariaDb, page_size: PageSize) -> Result<String> {
    let started = Instant::now();
    let mut server = mariadb
        .server()
        .name(page_size.as_option())
        .page_size(page_size)
        .undo_tablespaces(2)
        .log_file_size(8 << 20)
        .start()?;
    let schema = create_mixed_schema(&server, "pages", 400)?;
    let load = WriteLoad::start(
        &server,
        WriteLoadOptions {
            max_duration: Duration::from_secs(10),
            ..WriteLoadOptions::for_schema(&schema).with_ddl(&schema)
        },
    )?;
    while load.ops_so_far() < 1500 && load.is_running() {
        std::thread::sleep(Duration::from_millis(50));
    }
    let stats = load.stop()?;
    let failed_checks = server.check_table_all()?;
    if !failed_checks.is_empty() {
        bail!("CHECK TABLE failed before shutdown: {failed_checks:?}");
    }
    server.stop()?;

    let files = innodb_data_files(server.datadir())?;
    let mut n_pages = 0;
    let mut n_skipped = 0;
    let mut kinds: BTreeMap<String, u64> = BTreeMap::new();
    let mut n_compressed_files = 0;
    let mut failures = Vec::new();
    for file in &files {
        let report = validate_file(file)?;
        if report.page_size != page_size.bytes() as usize && !report.compressed {
            failures.push(format!(
                "{}: page size {}",
                file.display(),
                report.page_size
            ));
        }
        n_pages += report.pages;
        n_skipped += report.skipped;
        for (kind, n) in &report.kinds {
            *kinds.entry(kind.clone()).or_default() += n;
        }
        n_compressed_files += u64::from(report.compressed);
        failures.extend(
            report
                .failures
                .iter()
                .map(|f| format!("{}: {f}", file.display())),
        );
    }
    let names: Vec<String> = files
        .iter()
        .filter_map(|f| f.strip_prefix(server.datadir()).ok())
        .map(|f| f.display().to_string())
        .collect();
    if failures.is_empty() {
        assert!(names.iter().any(|n| n == "ibdata1"), "{names:?}");
        assert!(names.iter().any(|n| n == "undo001"), "{names:?}");
        assert!(
            names.iter().any(|n| n == "pages/t_dynamic.ibd"),
            "{names:?}"
        );
        assert!(names.iter().any(|n| n.starts_with("mysql/")), "{names:?}");
        assert_eq!(
            n_compressed_files > 0,
            page_size.supports_compressed(),
            "compressed files: {n_compressed_files}"
        );
        // The pages were really checksummed, with the algorithm each format uses.
        assert!(
            kinds.get("FullCrc32").is_some_and(|&n| n > 100),
            "{kinds:?}"
        );
        if page_size.supports_compressed() {
            assert!(kinds.get("ZipCrc32").is_some_and(|&n| n > 0), "{kinds:?}");
        }
        // A flipped bit must be noticed, else "zero failures" proves nothing.
        let victim = server.datadir().join("pages/t_dynamic.ibd");
        let mut bytes = std::fs::read(&victim)?;
        let page_bytes = page_size.bytes() as usize;
        bytes[3 * page_bytes + 1000] ^= 0x10; // page 3: the clustered index root
        let corrupt_copy = server.dir().join("corrupt.ibd");
        std::fs::write(&corrupt_copy, &bytes)?;
        let corrupt = validate_file(&corrupt_copy)?;
        assert_eq!(corrupt.failures.len(), 1, "{:?}", corrupt.failures);
        assert!(
            corrupt.failures[0].starts_with("page 3:"),
            "{:?}",
            corrupt.failures
        );
        Ok(format!(
            "{}: {} files, {n_pages} pages valid {kinds:?}, {n_skipped} doublewrite pages \
             skipped, \
             {n_compressed_files} compressed files, load {} ops, {:?}",
            page_size.as_option(),
            files.len(),
            stats.total_ops(),
            started.elapsed()
        ))
    } else {
        server.keep_dir();
        bail!(
            "{} invalid pages with {} pages (datadir kept at {}):\n{}",
            failures.len(),
            page_size.as_option(),
            server.datadir().display(),
            failures
                .iter()
                .take(50)
                .cloned()
                .collect::<Vec<_>>()
                .join("\n")
        )
    }
}

#[test]
fn every_innodb_page_is_valid_after_clean_shutdown() {
    let Some(mariadb) = testkit::require_mariadb() else {
        return;
    };
    let started = Instant::now();
    // Both servers at once: each is mostly waiting on install-db and fsync.
    let results: Vec<Result<String>> = std::thread::scope(|scope| {
        let handles: Vec<_> = [PageSize::K4, PageSize::K16]
            .into_iter()
            .map(|page_size| {
                let mariadb = &mariadb;
                scope.spawn(move || write_stop_and_validate(mariadb, page_size))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(anyhow::anyhow!("validation thread panicked")))
            })
            .collect()
    });
    for result in &results {
        match result {
            Ok(summary) => eprintln!("{summary}"),
            Err(err) => eprintln!("FAILED: {err:#}"),
        }
    }
    eprintln!("page validation test took {:?}", started.elapsed());
    assert!(results.iter().all(Result::is_ok), "see the failures above");
}
