"""Rows of different lengths stored end to end in one flat array (no padding).

Used where many phenotypes, each with its own number of cis variants, are processed together: per-variant
values of row r occupy ``flat[starts[r]:starts[r] + counts[r]]``.
"""

from __future__ import annotations

import numpy as np


class RaggedRows:
    """The layout of k rows of ``counts`` (k,) ≥ 1 values each, stored end to end.

    Attributes:
        counts: (k,) values per row; starts: (k,) where each row begins; size: total values.
        row_of: (size,) the row of each value.
    """

    def __init__(self, counts: np.ndarray):
        self.counts = np.asarray(counts, dtype=np.int64)
        if np.any(self.counts < 1):
            raise ValueError("every row needs at least one value")
        ends = np.cumsum(self.counts)
        self.size = int(ends[-1]) if len(ends) else 0
        self.starts = ends - self.counts
        self.row_of = np.repeat(np.arange(len(self.counts)), self.counts)

    def __len__(self) -> int:
        return len(self.counts)

    def expand(self, per_row: np.ndarray) -> np.ndarray:
        """(size,) each row's value repeated over its values."""
        return np.repeat(per_row, self.counts)

    def sum(self, flat: np.ndarray) -> np.ndarray:
        """(k,) sum of each row of ``flat`` (..., size) over its last axis."""
        return np.add.reduceat(flat, self.starts, axis=-1)

    def max(self, flat: np.ndarray) -> np.ndarray:
        """(k,) maximum of each row of ``flat`` (size,)."""
        return np.maximum.reduceat(flat, self.starts)

    def positions(self, rows: np.ndarray) -> np.ndarray:
        """Flat positions (Σ counts[rows],) of the values of ``rows``, in that order."""
        counts = self.counts[rows]
        ends = np.cumsum(counts)
        return np.repeat(self.starts[rows] - (ends - counts), counts) + np.arange(int(ends[-1]) if len(ends) else 0)

    def subset(self, rows: np.ndarray) -> RaggedRows:
        """The layout of ``rows`` alone (values of :meth:`positions`)."""
        return RaggedRows(self.counts[rows])
