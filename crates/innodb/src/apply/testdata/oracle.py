#!/usr/bin/env python3
"""Regenerates the expected CRC-32C values of the page images built by the unit
tests in ../tests.rs, using shared/tools/redo_apply.py (the reference apply that
matched mariadb-backup --prepare byte for byte) as the oracle.

    python3 crates/innodb/src/apply/testdata/oracle.py

Each scenario here must mirror the Rust test of the same name exactly."""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "../../../../../../shared/tools"))
import redo_apply as ra  # noqa: E402
from redo_dump import crc32c  # noqa: E402

SIZE = 4096
SPACE, PAGE = 5, 7


def init_page():
    p = bytearray(SIZE)
    p[4:8] = PAGE.to_bytes(4, "big")
    p[8:16] = b"\xff" * 8
    p[34:38] = SPACE.to_bytes(4, "big")
    return p


def row(k, n=10):
    return bytes((k * 7 + i) & 0xFF for i in range(n))


def dynamic_scenario():
    p = init_page()
    ra.page_create(p, SIZE, True)
    stages = []
    origins = []
    # 20 appends: predecessor = previous record (or the infimum).
    for k in range(20):
        prev = origins[-1] - ra.PAGE_NEW_INFIMUM if origins else 0
        data = bytes([10]) + row(k)
        ra.insert_dynamic(p, SIZE, False, prev, 0, 1 << 3, 0, 0, data)
        origins.append(ra.u16(p, ra.PAGE_LAST_INSERT))
    stages.append(crc32c(bytes(p)))
    # 7 deletes of the first user record: slot balancing and merging.
    for _ in range(7):
        ra.delete_dynamic(p, SIZE, 0, 1, 10)
    stages.append(crc32c(bytes(p)))
    # Reuse two freed records after the first remaining one; copy its 1 header byte
    # and 3 data bytes.
    for k in range(2):
        prev = origins[7] - ra.PAGE_NEW_INFIMUM
        ra.insert_dynamic(p, SIZE, True, prev, 0, (0 << 3) | 1, 1, 3, row(100 + k)[3:])
    stages.append(crc32c(bytes(p)))
    # Delete the record at the heap top (the last one): HEAP_TOP shrinks.
    last = origins[-1]
    prev = next(r for r in origins if ra.next_new(p, r) == last)
    ra.delete_dynamic(p, SIZE, prev - ra.PAGE_NEW_INFIMUM, 1, 10)
    stages.append(crc32c(bytes(p)))
    return stages


def redundant_scenario():
    p = init_page()
    ra.page_create(p, SIZE, False)
    stages = []
    origins = []
    enc = (0 << 3) | (1 << 2)          # 1 field, 1-byte offsets, no info bits
    for k in range(20):
        prev = origins[-1] - ra.PAGE_OLD_INFIMUM if origins else 0
        data = bytes([10]) + row(k)
        ra.insert_redundant(p, SIZE, False, prev, enc, 0, 0, data)
        origins.append(ra.u16(p, ra.PAGE_LAST_INSERT))
    stages.append(crc32c(bytes(p)))
    for _ in range(7):
        ra.delete_redundant(p, SIZE, 0)
    stages.append(crc32c(bytes(p)))
    for k in range(2):
        ra.insert_redundant(p, SIZE, True, 0, enc | 1, 0, 2, bytes([10]) + row(200 + k)[2:])
    stages.append(crc32c(bytes(p)))
    return stages


def undo_scenario():
    p = init_page()
    p[56:86] = bytes(range(1, 31))     # segment header: kept by UNDO_INIT
    p[100:200] = b"\xaa" * 100         # old contents: zeroed by UNDO_INIT
    ra.undo_init(p, SIZE)
    for k in range(3):
        ra.undo_append(p, SIZE, row(k, 5 + k))
    return [crc32c(bytes(p))]


if __name__ == "__main__":
    for name, f in (("dynamic", dynamic_scenario), ("redundant", redundant_scenario),
                    ("undo", undo_scenario)):
        print(name, ", ".join("0x%08X" % c for c in f()))
