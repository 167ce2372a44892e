"""The threaded BGZF writer: a valid BGZF file (blocks within 64 KiB, the EOF block) that gzip reads back
whole and that tabix indexes and seeks, whatever the sizes of the writes."""

from __future__ import annotations

import gzip
import os
import struct

import numpy as np
import pysam

from qtlatlas.release.bgzf import BLOCK_INPUT, EOF_BLOCK, BgzfWriter, bgzf_block


def _blocks(data: bytes) -> list[tuple[int, int]]:
    """(block size, input size) of each BGZF block of ``data``."""
    out, at = [], 0
    while at < len(data):
        assert data[at:at + 4] == b"\x1f\x8b\x08\x04" and data[at + 12:at + 14] == b"BC"
        size = struct.unpack_from("<H", data, at + 16)[0] + 1
        out.append((size, struct.unpack_from("<I", data, at + size - 4)[0]))
        at += size
    return out


def test_round_trip_and_block_layout(tmp_path):
    rng = np.random.default_rng(1)
    lines = [f"chr1\t{p}\t{rng.random():.6g}\tgene{p % 97}\n" for p in range(1, 60_000)]
    text = "".join(lines).encode()
    path = tmp_path / "x.tsv.gz"
    with BgzfWriter(path, threads=3) as w:
        w.write(b"chrom\tpos\tp\tgene\n")
        at = 0
        for size in rng.integers(1, 200_000, 100):  # writes of any size, across block boundaries
            w.write(text[at:at + int(size)])
            at += int(size)
        w.write(text[at:])
    data = path.read_bytes()
    assert gzip.decompress(data) == b"chrom\tpos\tp\tgene\n" + text
    blocks = _blocks(data)
    assert all(size <= 65536 for size, _ in blocks) and all(n <= BLOCK_INPUT for _, n in blocks[:-1])
    assert data.endswith(EOF_BLOCK) and blocks[-1] == (len(EOF_BLOCK), 0)
    pysam.tabix_index(str(path), seq_col=0, start_col=1, end_col=1, line_skip=1, force=True)
    fetched = list(pysam.TabixFile(str(path)).fetch("chr1", 30_000, 30_010))
    assert [int(r.split("\t")[1]) for r in fetched] == list(range(30_001, 30_011))


def test_incompressible_block_is_stored_within_64_kib():
    data = os.urandom(BLOCK_INPUT)
    block = bgzf_block(data, level=9)
    assert len(block) <= 65536 and gzip.decompress(block) == data
