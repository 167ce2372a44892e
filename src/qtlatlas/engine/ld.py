"""Linkage disequilibrium: the correlation r of ALT-allele dosages between variants, and r².

The definition is PLINK 1.9's ``--r`` / ``--r2`` (without ``dprime``): Pearson's correlation of the two
variants' allele counts over the samples genotyped at **both** variants (a sample missing at either one
is left out of that pair only), undefined (NaN) when either variant is constant over those samples — a
monomorphic variant, or fewer than two shared samples. PLINK counts its A1 allele, the minor one unless
``--keep-allele-order``: r² is the same, the sign of r is that of ALT dosages here.

Three entry points, arrays in and arrays out:

* :func:`ld_r`: one variant against every row of a dosage matrix, ``(n,)`` and ``(m, n)`` -> ``(m,)``;
* :func:`ld_r_matrix`: every pair of ``k`` variants, ``(k, n)`` -> ``(k, k)``;
* :func:`ld_r_packed`: :func:`ld_r` on PLINK 1 ``.bed`` rows (2 bits per call, 4 samples per byte) without
  unpacking them: each byte pair (the focal variant's byte, a window variant's byte) indexes a table of its
  4 samples' contribution to the six sums r needs (packed in one int64), so a window of m variants × n
  samples costs one table look-up per 4 samples, all in exact integer arithmetic.

Dosages are ``int8`` hard calls 0/1/2 with a negative value (:data:`qtlatlas.io.genotypes.MISSING_INT8`) for
missing calls, or floats with NaN for missing. Integer input gives integer sums, computed exactly.
r² is ``r ** 2``.
"""

from __future__ import annotations

import functools

import numpy as np

#: Dosage of each PLINK 1 2-bit code: 00 two copies of A1 (the counted, ALT allele), 01 missing, 10 one
#: copy, 11 none.
CODE_DOSAGE = np.array([2, -9, 1, 0], dtype=np.int8)
MISSING_CODE = 0b01
#: 2-bit code of each int8 dosage seen as a byte: 0 -> 11, 1 -> 10, 2 -> 00, anything else (missing) -> 01.
_PACK_CODE = np.full(256, MISSING_CODE, dtype=np.uint8)
_PACK_CODE[[0, 1, 2]] = [0b11, 0b10, 0b00]
#: Bits of each of the six sums packed in one int64 by the byte-pair table (6 × 10 bits).
_FIELD = 10
_FIELD_MASK = (1 << _FIELD) - 1
#: Bytes whose packed sums are added before the fields are separated: a field gains at most 16 per byte
#: (4 samples × 2 × 2), and 63 × 16 = 1008 fits in 10 bits.
_GROUP_BYTES = 63
#: Bytes of a window looked up at once by :func:`ld_r_packed` (1 MB of int64 indices: they stay in cache, and
#: its memory is bounded whatever the window; 2,000 samples: 262 rows, 6 ms for 3,700 rows against 8 ms for
#: 2,048-row blocks).
_BLOCK_BYTES = 1 << 17


# ------------------------------------------------------------------------------------------------
# The statistic from its sums
# ------------------------------------------------------------------------------------------------


def _r_from_sums(n, sx, sxx, sy, syy, sxy, exact: bool) -> np.ndarray:
    """r from the sums over the samples genotyped at both variants (arrays of one shape): their number ``n``,
    the sums of x, x², y, y² and x·y. ``exact``: the sums are exact integers (a zero variance is exactly 0);
    else a variance below 1e-9 of its scale counts as zero."""
    n, sx, sxx, sy, syy, sxy = (np.asarray(a, dtype=np.float64) for a in (n, sx, sxx, sy, syy, sxy))
    cov = n * sxy - sx * sy
    vx = n * sxx - sx * sx
    vy = n * syy - sy * sy
    if exact:
        undefined = (vx <= 0) | (vy <= 0)
    else:
        undefined = (vx <= 1e-9 * n * sxx) | (vy <= 1e-9 * n * syy)
    with np.errstate(divide="ignore", invalid="ignore"):
        r = cov / np.sqrt(vx * vy)
    r = np.clip(r, -1.0, 1.0)
    r[undefined] = np.nan
    return r


def _split(dosages: np.ndarray, dtype) -> tuple[np.ndarray, np.ndarray, bool]:
    """``(values with 0 where missing, 1/0 observed mask, exact)`` of a dosage array, both of ``dtype``."""
    a = np.asarray(dosages)
    if a.dtype.kind in "iu":
        observed = a >= 0
        return np.where(observed, a, 0).astype(dtype), observed.astype(dtype), True
    a = a.astype(np.float64, copy=False)
    observed = ~np.isnan(a)
    return np.where(observed, a, 0.0).astype(dtype), observed.astype(dtype), False


# ------------------------------------------------------------------------------------------------
# Dosage arrays
# ------------------------------------------------------------------------------------------------


def ld_r(x: np.ndarray, dosages: np.ndarray) -> np.ndarray:
    """r between one variant and each row of a matrix.

    Args:
        x: ``(n,)`` dosages of the focal variant over n samples.
        dosages: ``(m, n)`` dosages of m variants over the same samples, same order.

    Returns:
        ``(m,)`` float64 r (NaN where undefined); r² is its square.
    """
    x = np.asarray(x)
    g = np.asarray(dosages)
    if g.ndim != 2 or x.ndim != 1 or g.shape[1] != x.shape[0]:
        raise ValueError(f"expected x (n,) and dosages (m, n), got {x.shape} and {g.shape}")
    exact = x.dtype.kind in "iu" and g.dtype.kind in "iu"
    dtype = np.float32 if exact and 4 * x.shape[0] < (1 << 24) else np.float64  # integer sums: exact either way
    x0, mx, _ = _split(x, dtype)
    g0, mg, _ = _split(g, dtype)
    sums = np.stack([mg @ mx, mg @ x0, mg @ (x0 * x0), g0 @ mx, (g0 * g0) @ mx, g0 @ x0])
    return _r_from_sums(*sums.astype(np.float64), exact=exact)


def ld_r_matrix(dosages: np.ndarray) -> np.ndarray:
    """r between every pair of rows of ``(k, n)`` dosages: a symmetric ``(k, k)`` float64 matrix, NaN where
    undefined (a row constant over its genotyped samples is NaN everywhere, its diagonal included; other
    diagonal entries are 1). Integer dosages are multiplied in float32, exactly (sums of counts below 2²⁴)."""
    g = np.asarray(dosages)
    if g.ndim != 2:
        raise ValueError(f"expected dosages (k, n), got shape {g.shape}")
    k, n = g.shape
    exact = g.dtype.kind in "iu"
    dtype = np.float32 if exact and 4 * n < (1 << 24) else np.float64
    g0, m, _ = _split(g, dtype)
    sxy = (g0 @ g0.T).astype(np.float64)
    if m.all():
        counts = np.full((k, k), float(n))
        sx = np.broadcast_to(g0.sum(axis=1, dtype=np.float64)[:, None], (k, k))
        sxx = np.broadcast_to((g0.astype(np.float64) ** 2).sum(axis=1)[:, None], (k, k))
    else:
        counts = (m @ m.T).astype(np.float64)
        sx = (g0 @ m.T).astype(np.float64)  # sx[i, j]: sum of variant i over the samples of both i and j
        sxx = ((g0 * g0) @ m.T).astype(np.float64)
    r = _r_from_sums(counts, sx, sxx, sx.T, sxx.T, sxy, exact)
    return np.where(np.isnan(r) | np.isnan(r.T), np.nan, (r + r.T) / 2)  # symmetric to the last bit


# ------------------------------------------------------------------------------------------------
# PLINK 1 packed rows
# ------------------------------------------------------------------------------------------------


def pack(dosages: np.ndarray) -> np.ndarray:
    """``(m, n)`` int8 hard calls (negative = missing) -> ``(m, ceil(n / 4))`` uint8 PLINK 1 ``.bed`` rows
    (sample j in bits 2(j mod 4) of byte j // 4; the last byte padded with 00, as PLINK pads)."""
    d = np.asarray(dosages)
    if d.ndim != 2:
        raise ValueError(f"expected dosages (m, n), got shape {d.shape}")
    m, n = d.shape
    codes = np.zeros((m, -(-n // 4) * 4), dtype=np.uint8)
    codes[:, :n] = _PACK_CODE[d.astype(np.int8, copy=False).view(np.uint8)]
    c = codes.reshape(m, -1, 4)
    return c[:, :, 0] | (c[:, :, 1] << 2) | (c[:, :, 2] << 4) | (c[:, :, 3] << 6)


@functools.cache
def _unpack_table() -> np.ndarray:
    """(256,) uint32 whose 4 bytes are the int8 dosages of the 4 samples of one ``.bed`` byte."""
    byte = np.arange(256)[:, None]
    calls = CODE_DOSAGE[(byte >> (2 * np.arange(4))[None, :]) & 3]
    return np.ascontiguousarray(calls).view(np.uint32).ravel()


def unpack(rows: np.ndarray, n_samples: int) -> np.ndarray:
    """``(m, ceil(n / 4))`` uint8 ``.bed`` rows -> ``(m, n)`` int8 dosages (-9 missing)."""
    rows = np.ascontiguousarray(rows, dtype=np.uint8)
    calls = _unpack_table()[rows].view(np.int8).reshape(rows.shape[0], -1)
    return np.ascontiguousarray(calls[:, :n_samples])


def mask_packed(row: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """A copy of one ``.bed`` row (``(ceil(n / 4),)`` uint8) whose samples outside ``keep`` (``(n,)`` bool) —
    and the padding after the n-th — read as missing. Used on the focal variant of :func:`ld_r_packed`, it
    restricts every pair to the kept samples (a pair only counts samples genotyped at both variants)."""
    row = np.asarray(row, dtype=np.uint8)
    keep = np.asarray(keep, dtype=bool)
    dropped = np.ones(row.shape[0] * 4, dtype=bool)
    dropped[: keep.shape[0]] = ~keep
    d = dropped.reshape(-1, 4).astype(np.uint8)
    low = d[:, 0] | (d[:, 1] << 2) | (d[:, 2] << 4) | (d[:, 3] << 6)  # the low bit of each dropped slot
    high = (low << 1).astype(np.uint8)
    return ((row | low) & ~high).astype(np.uint8)


@functools.cache
def _pair_table() -> np.ndarray:
    """(65536,) int64 indexed by ``x_byte << 8 | y_byte``: the contribution of the 4 samples of a byte pair to
    ``n, Σx, Σx², Σy, Σy², Σxy`` over those genotyped in both, each in a 10-bit field (bits 0, 10, … 50)."""
    byte = np.arange(256, dtype=np.int64)
    xb, yb = byte[:, None], byte[None, :]
    sums = [np.zeros((256, 256), dtype=np.int64) for _ in range(6)]
    for slot in range(4):
        xc = CODE_DOSAGE[(xb >> (2 * slot)) & 3].astype(np.int64)
        yc = CODE_DOSAGE[(yb >> (2 * slot)) & 3].astype(np.int64)
        both = (xc >= 0) & (yc >= 0)
        x, y = np.where(both, xc, 0), np.where(both, yc, 0)
        for total, part in zip(sums, (both, x, x * x, y, y * y, x * y), strict=True):
            total += part
    return sum(total << (_FIELD * k) for k, total in enumerate(sums)).ravel()


def ld_r_packed(x_row: np.ndarray, rows: np.ndarray, n_samples: int) -> np.ndarray:
    """:func:`ld_r` on PLINK 1 ``.bed`` rows, without unpacking them.

    Args:
        x_row: ``(b,)`` uint8, the focal variant's row (b = ceil(n_samples / 4)); restrict the samples with
            :func:`mask_packed` first.
        rows: ``(m, b)`` uint8 rows of the window (any uint8 array: a slice of a memory map will do).
        n_samples: n, the samples of a row (the bits after them are padding, ignored).

    Returns:
        ``(m,)`` float64 r, NaN where undefined; exact integer sums, so the same value as :func:`ld_r` on
        the unpacked dosages (to the last bits of the final division).
    """
    if n_samples < 1:
        raise ValueError(f"n_samples must be positive, not {n_samples}")
    rows = np.asarray(rows, dtype=np.uint8)
    width = -(-n_samples // 4)
    if rows.ndim != 2 or rows.shape[1] != width or np.shape(x_row) != (width,):
        raise ValueError(f"expected x_row ({width},) and rows (m, {width}), got {np.shape(x_row)} and {rows.shape}")
    table = _pair_table()
    x = mask_packed(x_row, np.ones(n_samples, dtype=bool))  # padding: missing
    high = x.astype(np.intp) << 8
    groups = np.arange(0, width, _GROUP_BYTES)
    out = np.empty(rows.shape[0], dtype=np.float64)
    block = max(16, _BLOCK_BYTES // width)
    for start in range(0, rows.shape[0], block):
        index = rows[start:start + block] | high
        packed = np.add.reduceat(np.take(table, index), groups, axis=1)  # (block, groups): fields < 1024 each
        sums = [((packed >> (_FIELD * k)) & _FIELD_MASK).sum(axis=1) for k in range(6)]
        out[start:start + index.shape[0]] = _r_from_sums(*sums, exact=True)
    return out
