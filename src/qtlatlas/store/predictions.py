"""Heritability and best TWAS model of every tested phenotype (``tables/twas_phenotype_stats.parquet``, written
by :mod:`qtlatlas.release.predictions`), and the predictions downloads that go with them.

One row per phenotype of each TWAS weights panel (tissue × modality), fitted or not: ``panel, tissue, modality``
and :data:`qtlatlas.release.predictions.PHENOTYPE_STATS_COLUMNS` (``hsq`` a proportion of variance, 0..1;
``cv_r2`` the best model's cross-validated R²).
"""

from __future__ import annotations

import pandas as pd

from ..release.predictions import PHENOTYPE_STATS_COLUMNS
from .errors import BadQuery, NotFound

#: Columns of :meth:`PredictionQueries.phenotype_stats` rows.
STATS_COLUMNS = ["panel", "tissue", "modality", *PHENOTYPE_STATS_COLUMNS]
#: Columns the rows may be sorted by.
STATS_SORTS = ("hsq_pval", "hsq", "cv_r2", "cv_pval", "gene_name", "phenotype_id", "n_snps_in_model")
_TIES = ["tissue", "modality", "phenotype_id"]


class PredictionQueries:
    """Phenotype statistics reads, mixed into :class:`~qtlatlas.store.release.ReleaseStore`."""

    def has_phenotype_stats(self) -> bool:
        """Whether the release publishes ``twas_phenotype_stats`` (TWAS releases built since it was added)."""
        return self.has_table("twas_phenotype_stats")

    def phenotype_stats(self, *, tissues=None, modalities=None, genes=None, heritable: bool | None = None,
                        sort: str = "hsq_pval", descending: bool = False, limit: int = 100,
                        cursor: str | None = None) -> tuple[pd.DataFrame, int, str | None]:
        """Rows (:data:`STATS_COLUMNS`) of the tested phenotypes, filtered by ``tissues``, ``modalities``
        (validated: NotFound names an unknown one), ``genes`` (ids or symbols) and ``heritable``, sorted by
        ``sort`` (:data:`STATS_SORTS`, missing values last, then tissue, modality, phenotype) and paged.
        Returns ``(rows, rows matching, next cursor)``.

        Raises:
            NotFound: the release has no phenotype statistics, or an unknown tissue, modality or gene.
            BadQuery: ``sort`` not among :data:`STATS_SORTS`.
        """
        if not self.has_phenotype_stats():
            raise NotFound("phenotype statistics", self.id,
                           detail="(this release was built without TWAS, or before they were published)")
        if sort not in STATS_SORTS:
            raise BadQuery("sort", f"must be one of {', '.join(STATS_SORTS)}")
        where: list[str] = []
        values: list = []
        self._twas_filters(where, values, tissues=tissues, modalities=modalities, genes=genes)
        if heritable is not None:
            where.append("heritable = ?")
            values.append(bool(heritable))
        return self._page("twas_phenotype_stats", where, values, sort, descending, _TIES, limit, cursor,
                          "phenotype-stats")

    def prediction_downloads(self) -> list[dict]:
        """The manifest rows of the release's ``predictions`` and ``phenotype_stats`` downloads, each with
        ``what`` (``predictions`` or ``phenotype_stats``), ``tissue`` and ``modality`` parsed from its name, in tissue, modality, kind order."""
        out = []
        for d in self.downloads():
            name = d["path"].rsplit("/", 1)[-1]
            parts = name.split(".")
            if parts[0] in ("predictions", "phenotype_stats") and len(parts) >= 5:
                out.append({**d, "name": name, "what": parts[0], "tissue": parts[1], "modality": parts[2]})
        return sorted(out, key=lambda r: (r["tissue"], r["modality"], r["what"]))

