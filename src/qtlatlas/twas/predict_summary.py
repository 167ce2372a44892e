"""Constants shared by the prediction modules: scales, output layouts, matching modes and the columns of the
per-phenotype summary written beside each prediction file."""

from __future__ import annotations

from collections.abc import Sequence

SCALES = ("raw", "standardised")
LAYOUTS = ("individuals", "bed")
MATCH_MODES = ("id", "position")

#: Columns of the per-phenotype summary written beside each prediction file.
SUMMARY_COLUMNS = ("panel", "phenotype_id", "gene_id", "chrom", "p0", "p1", "model", "cv_r2", "n_weights",
                   "n_used", "n_flipped", "n_strand", "n_ambiguous", "n_mismatch", "n_absent", "predicted",
                   "skip_reason")


def preview_ids(items: Sequence[str], k: int = 5) -> str:
    """The first ``k`` of ``items``, comma-separated, with how many there are in all when more."""
    return ", ".join(items[:k]) + (f", … ({len(items)} in all)" if len(items) > k else "")
