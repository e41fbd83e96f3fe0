//! Page validation throughput (`PageValidator::validate`, what the page copier runs on
//! every page it reads), per checksum format, in bytes of physical pages per second.
//!
//! Inputs are the real tablespaces of `shared/testdata/pages` (see its README), except
//! "legacy_crc32_16k": the fixtures have no plain legacy crc32 tablespace, so the
//! pages of `fcrc32_16k_plain.ibd` are re-stamped with legacy crc32 checksums and LSN
//! trailers (real page contents, legacy checksum layout, flags 0x21 = 16k DYNAMIC).
//! Every input is checked to validate without corruption before it is measured, so a
//! benchmark never times the (shorter) corrupt path by accident.

use std::hint::black_box;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use hotbackup_benches::read_fixture;
use innodb::page::{
    fil::FIL_PAGE_LSN, set_page_lsn, write_checksum, ChecksumFormat, PageValidator, PageVerdict,
    SpaceFlags, ValidationOptions,
};
use innodb::{Lsn, PageNo};

/// One benchmark input: a whole tablespace image and the validator for it.
struct Input {
    name: &'static str,
    image: Vec<u8>,
    validator: PageValidator,
}

impl Input {
    /// A real fixture, validator built from its page 0 as the copier does.
    fn fixture(name: &'static str, file: &str) -> Result<Input> {
        let image = read_fixture(&format!("pages/{file}"))?;
        let validator = PageValidator::from_page0(&image, ValidationOptions::default())
            .with_context(|| format!("{file}: page 0"))?;
        Input::checked(name, image, validator)
    }

    /// Refuses an input on which any page fails: it would measure the wrong path.
    fn checked(name: &'static str, image: Vec<u8>, validator: PageValidator) -> Result<Input> {
        let input = Input {
            name,
            image,
            validator,
        };
        let page_size = input.validator.page_size();
        if input.image.is_empty() || !input.image.chunks_exact(page_size).remainder().is_empty() {
            bail!(
                "{name}: {} bytes is not a whole number of {page_size}-byte pages",
                input.image.len()
            );
        }
        for (idx, page) in input.image.chunks_exact(page_size).enumerate() {
            if let PageVerdict::Corrupt(c) = input.validator.validate(page, PageNo(idx as u32)) {
                bail!("{name}: page {idx} does not validate: {c}");
            }
        }
        Ok(input)
    }

    /// Validates every page once; returns the number that were not all-zero, so the
    /// work cannot be optimised away.
    fn validate_all(&self) -> usize {
        let page_size = self.validator.page_size();
        self.image
            .chunks_exact(page_size)
            .enumerate()
            .filter(|(idx, page)| {
                !matches!(
                    self.validator.validate(page, PageNo(*idx as u32)),
                    PageVerdict::AllZero
                )
            })
            .count()
    }
}

/// The pages of `fcrc32_16k_plain.ibd` with legacy crc32 checksums (see the file docs).
fn legacy_crc32_16k() -> Result<Input> {
    const LEGACY_16K_DYNAMIC: u32 = 0x21;
    let mut image = read_fixture("pages/fcrc32_16k_plain.ibd")?;
    let page0 = innodb::page::FspHeader::parse(&image).context("fcrc32_16k_plain.ibd page 0")?;
    let flags = SpaceFlags::parse(LEGACY_16K_DYNAMIC)
        .with_context(|| format!("legacy flags {LEGACY_16K_DYNAMIC:#x}"))?;
    for page in image.chunks_exact_mut(16384) {
        let lsn_bytes: [u8; 8] = page
            .get(FIL_PAGE_LSN..FIL_PAGE_LSN + 8)
            .and_then(|b| b.try_into().ok())
            .context("page too short for FIL_PAGE_LSN")?;
        let lsn = Lsn(u64::from_be_bytes(lsn_bytes));
        set_page_lsn(page, lsn, ChecksumFormat::Crc32).context("set legacy LSN trailer")?;
        write_checksum(page, ChecksumFormat::Crc32).context("stamp legacy crc32")?;
    }
    let validator = PageValidator::new(flags, page0.space_id);
    Input::checked("legacy_crc32_16k", image, validator)
}

fn inputs() -> Result<Vec<Input>> {
    Ok(vec![
        Input::fixture("full_crc32_16k", "fcrc32_16k_plain.ibd")?,
        legacy_crc32_16k()?,
        Input::fixture("legacy_crc32_encrypted_16k", "legacy_crc32_encrypted.ibd")?,
        Input::fixture("zip_8k", "legacy_crc32_zip8k.ibd")?,
        Input::fixture(
            "page_compressed_legacy_zlib_lz4_16k",
            "legacy_crc32_page_compressed_lz4.ibd",
        )?,
        Input::fixture(
            "page_compressed_legacy_zlib_lzma_16k",
            "legacy_crc32_page_compressed_lzma.ibd",
        )?,
        Input::fixture(
            "full_crc32_page_compressed_64k",
            "fcrc32_64k_page_compressed_zlib.ibd",
        )?,
    ])
}

fn page_validation(c: &mut Criterion) {
    let inputs = match inputs() {
        Ok(inputs) => inputs,
        // criterion's harness has no error channel; fail loudly with the reason.
        Err(e) => panic!("page_validation inputs: {e:#}"),
    };
    let mut group = c.benchmark_group("page_validation");
    for input in &inputs {
        group.throughput(Throughput::Bytes(input.image.len() as u64));
        group.bench_function(input.name, |b| b.iter(|| black_box(input.validate_all())));
    }
    group.finish();
}

criterion_group! {
    name = benches;
    // Short runs: the inputs are small and CPU-bound, and the machine is shared.
    config = Criterion::default()
        .sample_size(30)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    targets = page_validation
}
criterion_main!(benches);
