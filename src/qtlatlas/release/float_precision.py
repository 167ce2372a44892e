"""Keep only the digits a statistic needs before it is stored: float32 values whose trailing mantissa bits are
rounded to zero, so that Parquet's byte-stream-split encoding and zstd store them in a fraction of 4 bytes.

Each value keeps as many of float32's 23 mantissa bits as its own error bound asks for (round half up on the
bit pattern, which rounds to nearest in magnitude): a value with ``k`` mantissa bits kept is within
``|x|·2^-(k+1)`` of the original. On GEUVADIS chr22 (541,349 pairs) this takes the query store of every cis pair
from 14.6 to 6.8 bytes per pair against float32 as computed.
"""

from __future__ import annotations

import numpy as np

#: float32's explicit mantissa bits.
MANTISSA_BITS = 23


def bits_for_abs_error(values: np.ndarray, abs_error: np.ndarray | float) -> np.ndarray:
    """Mantissa bits (int, 0..23 per value) that keep each of ``values`` within ``abs_error`` of itself.

    ``abs_error`` may be an array of the same shape (a per-value bound); NaN, zero and non-finite values or
    bounds get 23 bits (kept whole)."""
    v = np.abs(np.asarray(values, dtype=np.float64))
    a = np.asarray(abs_error, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        bits = np.ceil(np.log2(v / a))
    bits = np.where(np.isfinite(bits), bits, MANTISSA_BITS)
    return np.clip(bits, 0, MANTISSA_BITS).astype(np.int64)


def round_mantissa(values: np.ndarray, keep_bits: np.ndarray | int) -> np.ndarray:
    """``values`` as float32 with only ``keep_bits`` mantissa bits (a scalar or one per value), rounded to
    nearest; NaN and ±inf pass unchanged."""
    x = np.ascontiguousarray(values, dtype=np.float32).copy()
    bits = x.view(np.uint32)
    drop = (MANTISSA_BITS - np.clip(np.asarray(keep_bits, dtype=np.int64), 0, MANTISSA_BITS)).astype(np.uint32)
    drop = np.broadcast_to(drop, bits.shape)
    half = np.where(drop > 0, np.left_shift(np.uint32(1), np.maximum(drop, 1) - np.uint32(1)), 0).astype(np.uint32)
    mask = np.invert(np.left_shift(np.uint32(1), drop) - np.uint32(1)).astype(np.uint32)
    finite = np.isfinite(x)
    rounded = ((bits + half) & mask).astype(np.uint32)
    bits[finite] = rounded[finite]
    return x
