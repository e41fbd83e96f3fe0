//! Properties of the redo parser: no panic on any bytes, and streaming in pieces of
//! any size gives exactly what decoding one contiguous slice gives.

use innodb::redo::{
    varint, Decoder, LogFile, LogGeometry, LogHeader, MtrFormat, Records, SliceDecoder, Step,
    START_OFFSET,
};
use innodb::Lsn;
use proptest::prelude::*;

/// Every step of a contiguous decode: (start, end, records) per mtr, then the last step
/// as text.
fn whole(format: MtrFormat, data: &[u8], start: Lsn) -> (Vec<(u64, u64, usize)>, String) {
    let mut dec = SliceDecoder::new(format, data, start);
    let mut out = Vec::new();
    loop {
        match dec.next_mtr() {
            Step::Mtr(m) => out.push((m.start_lsn().0, m.end_lsn().0, m.records().count())),
            Step::NeedMore { .. } => return (out, "need more".into()),
            other => return (out, format!("{other:?}")),
        }
    }
}

/// The same through the streaming decoder, in pieces of `size`.
fn pieces(
    format: MtrFormat,
    data: &[u8],
    start: Lsn,
    size: usize,
) -> (Vec<(u64, u64, usize)>, String) {
    let mut dec = Decoder::new(format, start).unwrap();
    let mut out = Vec::new();
    // Empty data still gets one (empty) piece: at a limit the decoder answers "end of log"
    // without any byte, as the whole-slice decoder does.
    let chunks: Vec<&[u8]> = if data.is_empty() {
        vec![data]
    } else {
        data.chunks(size.max(1)).collect()
    };
    for piece in chunks {
        let mut input = dec.input(piece);
        loop {
            match input.next_mtr() {
                Step::Mtr(m) => out.push((m.start_lsn().0, m.end_lsn().0, m.records().count())),
                Step::NeedMore { .. } => break,
                other => return (out, format!("{other:?}")),
            }
        }
    }
    (out, "need more".into())
}

fn push_varint(out: &mut Vec<u8>, v: u32) {
    let mut b = [0u8; varint::MAX_LEN];
    let n = varint::encode(v, &mut b);
    out.extend_from_slice(&b[..n]);
}

/// One record: type byte (with bit 7 for same page) and the bytes after it, in the
/// short or long length form.
fn push_record(out: &mut Vec<u8>, ty: u8, rest: &[u8]) {
    // Both forms are legal for 14 and 15 bytes; use each sometimes.
    if rest.len() <= 13 || (rest.len() == 15 && rest[0] & 1 == 0) {
        out.push(ty | rest.len() as u8);
    } else {
        // Long form: V + 15 bytes after byte 0 include the n length bytes.
        let total = rest.len() as u32;
        let mut v = total.saturating_sub(14);
        while (v + 15) as usize - varint::encoded_len(v) != rest.len() {
            v += 1;
        }
        out.push(ty);
        push_varint(out, v);
    }
    out.extend_from_slice(rest);
}

#[derive(Clone, Debug)]
enum Rec {
    Write {
        space: u32,
        page: u32,
        offset: u16,
        data: Vec<u8>,
    },
    Memset {
        offset: u16,
        len: u16,
        fill: u8,
    },
    InitPage {
        space: u32,
        page: u32,
    },
    UndoAppend {
        data: Vec<u8>,
    },
}

fn rec() -> impl Strategy<Value = Rec> {
    prop_oneof![
        (
            any::<u32>(),
            any::<u32>(),
            8u16..4000,
            proptest::collection::vec(any::<u8>(), 1..300)
        )
            .prop_map(|(space, page, offset, data)| Rec::Write {
                space,
                page,
                offset,
                data
            }),
        (0u16..100, 1u16..50, any::<u8>()).prop_map(|(offset, len, fill)| Rec::Memset {
            offset,
            len,
            fill
        }),
        (any::<u32>(), any::<u32>()).prop_map(|(space, page)| Rec::InitPage { space, page }),
        proptest::collection::vec(any::<u8>(), 3..40).prop_map(|data| Rec::UndoAppend { data }),
    ]
}

/// Encodes the records of one mtr body. MEMSET and UNDO_APPEND need a preceding
/// page record; a leading INIT_PAGE is added for them.
fn body(recs: &[Rec]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut have_page = false;
    for r in recs {
        let mut rest = Vec::new();
        match r {
            Rec::Write {
                space,
                page,
                offset,
                data,
            } => {
                push_varint(&mut rest, *space);
                push_varint(&mut rest, *page);
                push_varint(&mut rest, u32::from(*offset));
                rest.extend_from_slice(data);
                push_record(&mut out, 0x30, &rest);
                have_page = true;
            }
            Rec::InitPage { space, page } => {
                push_varint(&mut rest, *space);
                push_varint(&mut rest, *page);
                push_record(&mut out, 0x10, &rest);
                have_page = true;
            }
            Rec::Memset { .. } | Rec::UndoAppend { .. } if !have_page => {
                push_record(&mut out, 0x10, &[0, 3]);
                have_page = true;
            }
            _ => {}
        }
        match r {
            // Same page, relative offset from the running "last".
            Rec::Memset { offset, len, fill } => {
                push_varint(&mut rest, u32::from(*offset));
                push_varint(&mut rest, u32::from(*len));
                rest.push(*fill);
                push_record(&mut out, 0xC0, &rest);
            }
            Rec::UndoAppend { data } => {
                rest.push(3);
                rest.extend_from_slice(data);
                push_record(&mut out, 0xA0, &rest);
            }
            _ => {}
        }
    }
    out
}

/// A valid log stream of mtrs from `start` with end markers from `geometry`, then 0x00.
fn stream(geometry: &LogGeometry, start: Lsn, mtrs: &[Vec<Rec>]) -> Vec<u8> {
    let mut out = Vec::new();
    for recs in mtrs {
        let b = body(recs);
        let marker_lsn = Lsn(start.0 + (out.len() + b.len()) as u64);
        out.extend_from_slice(&b);
        out.push(geometry.sequence_bit(marker_lsn).unwrap());
        out.extend_from_slice(&crc32c::crc32c(&b).to_be_bytes());
    }
    out.push(0);
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn header_parsers_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..13000), size in any::<u64>()) {
        let _ = LogHeader::parse(&bytes);
        let _ = LogFile::parse(&bytes, size);
        let _ = LogFile::parse(&bytes, bytes.len() as u64);
    }

    #[test]
    fn record_decoder_never_panics(body in proptest::collection::vec(any::<u8>(), 0..400)) {
        for r in Records::new(&body, Lsn(12288)) {
            let _ = r;
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic_and_pieces_agree(
        data in proptest::collection::vec(any::<u8>(), 0..3000),
        first in prop_oneof![12288u64..1_000_000, u64::MAX - 30_000..u64::MAX],
        capacity in 16u64..5000,
        delta in 0u64..20_000,
        size in 1usize..64,
        limit in proptest::option::of(0u64..6000),
    ) {
        let g = LogGeometry::new(Lsn(first), START_OFFSET + capacity).unwrap();
        let start = Lsn(first.saturating_add(delta));
        let format = MtrFormat::new(g, false).with_limit(limit.map(|l| Lsn(start.0.saturating_add(l))));
        let _ = format.frame(&data, start);
        let a = whole(format, &data, start);
        let b = pieces(format, &data, start, size);
        prop_assert_eq!(a, b);
        let enc = MtrFormat::new(g, true);
        let _ = enc.frame(&data, start);
        let _ = pieces(enc, &data, start, size);
    }

    #[test]
    fn valid_streams_decode_identically_in_pieces(
        mtrs in proptest::collection::vec(proptest::collection::vec(rec(), 1..6), 1..12),
        first in 12288u64..100_000,
        delta in 0u64..3000,
        size in 1usize..200,
        flip in any::<(usize, u8)>(),
    ) {
        let g = LogGeometry::new(Lsn(first), START_OFFSET + 3000).unwrap();
        let start = Lsn(first + delta);
        let data = stream(&g, start, &mtrs);
        let format = MtrFormat::new(g, false);
        let (list, end) = whole(format, &data, start);
        prop_assert_eq!(list.len(), mtrs.len(), "{}", end);
        prop_assert!(end.contains("Marker"), "{}", end);
        prop_assert_eq!(pieces(format, &data, start, size), (list.clone(), end));
        // A flipped byte: no panic, and every mtr before it is still there.
        let mut bad = data.clone();
        let at = flip.0 % bad.len();
        bad[at] ^= flip.1 | 1;
        let (got, _) = pieces(format, &bad, start, size);
        let intact: Vec<_> = list.iter().copied().take_while(|m| m.1 <= start.0 + at as u64).collect();
        prop_assert_eq!(&got[..intact.len().min(got.len())], &intact[..]);
        prop_assert!(got.len() >= intact.len());
    }
}

/// Found by `arbitrary_bytes_never_panic_and_pieces_agree`: no data, the limit at the start.
#[test]
fn empty_data_at_the_limit_agrees() {
    let first = u64::MAX - 11_700;
    let g = LogGeometry::new(Lsn(first), START_OFFSET + 16).unwrap();
    let start = Lsn(first + 11_615);
    let format = MtrFormat::new(g, false).with_limit(Some(start));
    assert_eq!(whole(format, &[], start), pieces(format, &[], start, 1));
}
