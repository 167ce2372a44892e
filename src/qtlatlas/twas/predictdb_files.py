"""The two files of a PredictDB model set: the SQLite model database and the SNP covariance file.

``{panel}.db`` (what PrediXcan, S-PrediXcan and the other MetaXcan tools read)::

    weights(gene TEXT, rsid TEXT, varID TEXT, ref_allele TEXT, eff_allele TEXT, weight REAL)
    extra(gene TEXT, genename TEXT, gene_type TEXT, `n.snps.in.model` INTEGER, `pred.perf.R2` REAL,
          `pred.perf.pval` REAL, `pred.perf.qval` REAL)

with the indexes PredictDB's databases carry (``weights_rsid``, ``weights_gene``, ``weights_rsid_gene``) plus
``weights_varid`` (varID look-ups) and ``extra_gene``. ``weight`` is per dosage (0..2) of ``eff_allele``.

``{panel}.txt.gz`` (S-PrediXcan's ``--covariance``): gzipped text, space-separated, header ``GENE RSID1 RSID2
VALUE``, one line per pair of SNPs of a gene's model, upper triangle with the diagonal (each unordered pair once,
RSID1 before RSID2 in the order of the gene's weights, the variances on the diagonal) and every gene's lines
together: MetaXcan mirrors each pair itself and refuses a gene whose lines are split or a line repeated. SNPs are
named as in the ``rsid`` column of ``weights``; values are written in full precision (shortest text that reads
back to the same double).
"""

from __future__ import annotations

import gzip
import os
import sqlite3
from collections.abc import Sequence
from pathlib import Path

import numpy as np

WEIGHTS_TABLE = ("CREATE TABLE weights (gene TEXT, rsid TEXT, varID TEXT, ref_allele TEXT, eff_allele TEXT, "
                 "weight REAL)")
EXTRA_TABLE = ("CREATE TABLE extra (gene TEXT, genename TEXT, gene_type TEXT, `n.snps.in.model` INTEGER, "
               "`pred.perf.R2` REAL, `pred.perf.pval` REAL, `pred.perf.qval` REAL)")
INDEXES = ("CREATE INDEX weights_rsid ON weights (rsid)",
           "CREATE INDEX weights_gene ON weights (gene)",
           "CREATE INDEX weights_rsid_gene ON weights (rsid, gene)",
           "CREATE INDEX weights_varid ON weights (varID)",
           "CREATE INDEX extra_gene ON extra (gene)")
COVARIANCE_HEADER = "GENE RSID1 RSID2 VALUE\n"


def database_path(out: str | os.PathLike[str], panel: str) -> Path:
    """``OUT/{panel}.db``."""
    return Path(out) / f"{panel}.db"


def covariance_path(out: str | os.PathLike[str], panel: str) -> Path:
    """``OUT/{panel}.txt.gz``."""
    return Path(out) / f"{panel}.txt.gz"


class PredictDbWriter:
    """Writes one panel's database and covariance file gene by gene, under temporary names that
    :meth:`commit` renames (an interrupted export leaves no half-written file under the final names)."""

    def __init__(self, out: str | os.PathLike[str], panel: str, *, compresslevel: int = 6):
        Path(out).mkdir(parents=True, exist_ok=True)
        self.db_path, self.cov_path = database_path(out, panel), covariance_path(out, panel)
        self._db_tmp = self.db_path.with_name(self.db_path.name + ".part")
        self._cov_tmp = self.cov_path.with_name(self.cov_path.name + ".part")
        for p in (self._db_tmp, self._cov_tmp):
            p.unlink(missing_ok=True)
        self._con = sqlite3.connect(self._db_tmp)
        self._con.execute(WEIGHTS_TABLE)
        self._con.execute(EXTRA_TABLE)
        self._cov = gzip.open(self._cov_tmp, "wt", encoding="utf-8", compresslevel=compresslevel)
        self._cov.write(COVARIANCE_HEADER)

    def add_gene(self, gene: str, rsid: Sequence[str], var_id: Sequence[str], ref_allele: Sequence[str],
                 eff_allele: Sequence[str], weight: np.ndarray, covariance: np.ndarray) -> None:
        """One gene's weights (``k`` SNPs) and the ``(k, k)`` covariance of their effect-allele dosages."""
        self._con.executemany("INSERT INTO weights VALUES (?, ?, ?, ?, ?, ?)",
                              zip([gene] * len(rsid), rsid, var_id, ref_allele, eff_allele,
                                  map(float, weight), strict=True))
        lines = []
        for i in range(len(rsid)):
            for j in range(i, len(rsid)):
                lines.append(f"{gene} {rsid[i]} {rsid[j]} {float(covariance[i, j])!r}\n")
        self._cov.write("".join(lines))

    def add_extra(self, rows: Sequence[tuple]) -> None:
        """The ``extra`` rows: ``(gene, genename, gene_type, n_snps, r2, pval, qval)``, None for NULL."""
        self._con.executemany("INSERT INTO extra VALUES (?, ?, ?, ?, ?, ?, ?)", rows)

    def commit(self) -> tuple[Path, Path]:
        """Index, close and move both files to their final names; returns (database, covariance)."""
        for statement in INDEXES:
            self._con.execute(statement)
        self._con.commit()
        self._con.close()
        self._cov.close()
        os.replace(self._db_tmp, self.db_path)
        os.replace(self._cov_tmp, self.cov_path)
        return self.db_path, self.cov_path

    def abort(self) -> None:
        """Close and remove the temporary files (after an error)."""
        try:
            self._con.close()
            self._cov.close()
        finally:
            for p in (self._db_tmp, self._cov_tmp):
                p.unlink(missing_ok=True)
