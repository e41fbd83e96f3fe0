use super::*;

/// (page number, page bytes) pairs.
type Pages = Vec<(u32, Vec<u8>)>;
/// (fixture, page numbers expected, cluster sizes).
type FixtureCase<'a> = (&'a str, Option<Vec<u32>>, Vec<usize>);

fn fixture(name: &str) -> Vec<u8> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata/pages")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// All (page number, page) pairs of a delta, and its cluster sizes, read whole clusters
/// at a time; read again a page and 7 pages at a time, which must give the same pages,
/// the same clusters and the same error.
fn read_all(bytes: &[u8], page_size: usize) -> Result<(Pages, Vec<usize>), DeltaError> {
    let whole = read_in(bytes, page_size, usize::MAX);
    for max in [1, 7] {
        let piecewise = read_in(bytes, page_size, max);
        match (&whole, &piecewise) {
            (Ok(a), Ok(b)) => assert!(a == b, "{max} page(s) at a time: other pages"),
            (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string(), "{max} at a time"),
            _ => panic!("{max} page(s) at a time: {piecewise:?}, whole clusters: {whole:?}"),
        }
    }
    whole
}

fn read_in(bytes: &[u8], page_size: usize, max: usize) -> Result<(Pages, Vec<usize>), DeltaError> {
    let mut reader = DeltaReader::new(bytes, page_size)?;
    let (mut pages, mut clusters) = (Vec::new(), Vec::new());
    while let Some(c) = reader.next_pages(max)? {
        assert!(c.page_numbers.len() <= max);
        if c.first == 0 {
            clusters.push(0);
        }
        *clusters.last_mut().unwrap() += c.page_numbers.len();
        for (i, (n, p)) in c.pages().enumerate() {
            let at = c.page_offset(i) as usize;
            assert!(&bytes[at..at + page_size] == p, "page {n}: page_offset");
            pages.push((n, p.to_vec()));
        }
    }
    Ok((pages, clusters))
}

fn write_all(pages: &[(u32, Vec<u8>)], page_size: usize) -> Vec<u8> {
    let mut out = Vec::new();
    let mut emit = |b: &[u8]| -> Result<(), DeltaError> {
        out.extend_from_slice(b);
        Ok(())
    };
    let mut w = DeltaWriter::new(page_size).unwrap();
    for (n, p) in pages {
        w.push(*n, p, &mut emit).unwrap();
    }
    let size = w.finish(&mut emit).unwrap();
    assert_eq!(size as usize, out.len());
    out
}

fn page(n: u32, size: usize) -> (u32, Vec<u8>) {
    let mut p = vec![0u8; size];
    p[4..8].copy_from_slice(&n.to_be_bytes());
    p[size - 1] = n as u8;
    (n, p)
}

#[test]
fn mariadb_backup_deltas_read_and_rewrite_to_the_same_bytes() {
    // (fixture, page numbers expected, cluster sizes): testdata/pages/README.md.
    let cases: [FixtureCase; 2] = [
        (
            "inc4k_t_plain.ibd.delta",
            Some(vec![0, 2, 3, 5, 12]),
            vec![5],
        ),
        ("inc4k_t_big.ibd.delta", None, vec![1023, 177]),
    ];
    for (name, numbers, clusters) in cases {
        let bytes = fixture(name);
        let (pages, got_clusters) = read_all(&bytes, 4096).unwrap();
        assert_eq!(got_clusters, clusters, "{name}");
        if let Some(numbers) = numbers {
            assert_eq!(
                pages.iter().map(|p| p.0).collect::<Vec<_>>(),
                numbers,
                "{name}"
            );
        }
        assert!(
            write_all(&pages, 4096) == bytes,
            "{name}: rewritten bytes differ"
        );
    }
}

#[test]
fn cluster_boundaries() {
    // (pages, page size, cluster sizes): N-1 pages fit one cluster; one more starts another.
    let cases: [(usize, usize, &[usize]); 6] = [
        (0, 4096, &[0]),
        (1, 4096, &[1]),
        (1023, 4096, &[1023]),
        (1024, 4096, &[1023, 1]),
        (2047, 4096, &[1023, 1023, 1]),
        (300, 1024, &[255, 45]),
    ];
    for (count, size, clusters) in cases {
        let pages: Vec<_> = (0..count as u32).map(|n| page(n * 3, size)).collect();
        let bytes = write_all(&pages, size);
        let total: usize = clusters.iter().map(|k| (k + 1) * size).sum();
        assert_eq!(bytes.len(), total, "{count} pages of {size}");
        let (back, got) = read_all(&bytes, size).unwrap();
        assert_eq!(got, clusters, "{count} pages of {size}");
        assert!(back == pages, "{count} pages of {size}: round trip");
    }
    // The empty delta is exactly what mariadb-backup writes for an unchanged file.
    let empty = write_all(&[], 4096);
    assert_eq!(
        &empty[..8],
        &[0x58, 0x54, 0x52, 0x41, 0xff, 0xff, 0xff, 0xff]
    );
    assert!(empty[8..].iter().all(|&b| b == 0));
}

#[test]
fn damaged_deltas_are_refused_with_their_offset() {
    let size = 1024;
    let pages: Vec<_> = (0..300u32).map(|n| page(n, size)).collect();
    let good = write_all(&pages, size);
    let second = 256 * size; // header of the second cluster
    type Mutate = fn(&mut Vec<u8>);
    let cases: [(&str, Mutate, &str); 7] = [
        ("bad magic", |b| b[0] = b'y', "no cluster magic at byte 0"),
        (
            "cut in a page",
            |b| b.truncate(b.len() - 10),
            "inside a cluster (10 more",
        ),
        (
            "cut in a header",
            |b| b.truncate(256 * 1024 + 100),
            "at byte 262244, inside",
        ),
        (
            "no final cluster",
            |b| b.truncate(256 * 1024),
            "before its final",
        ),
        (
            "trailing bytes",
            |b| b.push(0),
            "bytes after the final cluster",
        ),
        (
            "partial xtra",
            |b| b[4 * 200..4 * 201].copy_from_slice(&[0xff; 4]),
            "marked \"xtra\" (more follow) but holds 199 of 255",
        ),
        (
            "decreasing numbers",
            |b| b[256 * 1024 + 4..256 * 1024 + 8].copy_from_slice(&[0, 0, 0, 1]),
            "page 1 after page 254",
        ),
    ];
    assert_eq!(second, 262144);
    for (what, mutate, message) in cases {
        let mut bytes = good.clone();
        mutate(&mut bytes);
        let err = read_all(&bytes, size)
            .err()
            .unwrap_or_else(|| panic!("{what}: accepted"));
        assert!(err.to_string().contains(message), "{what}: {err}");
    }
}

#[test]
fn writer_refuses_what_it_cannot_write() {
    assert!(matches!(
        DeltaWriter::new(3000),
        Err(DeltaError::PageSize(3000))
    ));
    assert!(matches!(
        DeltaWriter::new(512),
        Err(DeltaError::PageSize(512))
    ));
    assert!(DeltaReader::new(&[][..], 131072).is_err());
    let mut w = DeltaWriter::new(1024).unwrap();
    let mut sink = |_: &[u8]| -> Result<(), DeltaError> { Ok(()) };
    w.push(5, &[0; 1024], &mut sink).unwrap();
    assert!(matches!(
        w.push(5, &[0; 1024], &mut sink),
        Err(DeltaError::Order {
            prev: 5,
            next: 5,
            ..
        })
    ));
    assert!(matches!(
        w.push(6, &[0; 100], &mut sink),
        Err(DeltaError::PageLength { .. })
    ));
}
