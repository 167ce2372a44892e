"""``qtlatlas validate`` of imported results: every table named under ``results:`` (a tissue's own, or a
release's multi-tissue tables) exists and has the columns the build reads, in whichever layout it was
published (tensorQTL, GTEx, RatGTEx; see :mod:`qtlatlas.release.imported`)."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from .config import Atlas, Release
from .errors import QtlAtlasError
from .results import ResultFiles

#: Columns (tensorQTL names, after the layout's aliases) each kind of table needs; ``phenotype_id`` may be
#: given as ``gene_id`` (GTEx, RatGTEx) or by a per-gene archive's member names.
REQUIRED = {
    "cis": ["phenotype_id", "variant_id", "pval_nominal", "slope", "pval_beta", "qval"],
    "independent": ["phenotype_id", "variant_id", "pval_nominal", "slope"],
    "signif_pairs": ["phenotype_id", "variant_id", "pval_nominal"],
    "nominal": ["phenotype_id", "variant_id", "pval_nominal"],
    "trans": ["phenotype_id", "variant_id", "pval"],
    "afc": ["phenotype_id", "variant_id", "log2_aFC"],
    "median": ["phenotype_id", "median"],
}


def _columns(path: Path) -> list[str]:
    from .release.imported import pair_columns

    return pair_columns(path)


def _count_rows(path: Path) -> int:
    """Data rows of a text or Parquet table."""
    p = os.fspath(path)
    if p.endswith(".parquet"):
        import pyarrow.parquet as pq

        return int(pq.ParquetFile(p).metadata.num_rows)
    return int(len(pd.read_csv(p, sep="\t", usecols=[0], dtype=str)))


class ImportedChecks:
    """Checks the imported tables of one release; each file is read once, however many tissues name it."""

    def __init__(self, atlas: Atlas, release: Release, where: str, errors: list[str], warnings: list[str]):
        self.atlas, self.release, self.where = atlas, release, where
        self.errors, self.warnings = errors, warnings
        self._headers: dict[str, list[str] | None] = {}
        self._tissues: dict[tuple[str, str], set[str]] = {}

    def _header(self, path: Path, location: str) -> list[str] | None:
        key = os.fspath(path)
        if key not in self._headers:
            if not Path(path).is_file():
                self.errors.append(f"{location}: {path}: file not found")
                self._headers[key] = None
            else:
                try:
                    self._headers[key] = _columns(Path(path))
                except (QtlAtlasError, OSError, ValueError) as e:
                    self.errors.append(f"{location}: {e}")
                    self._headers[key] = None
        return self._headers[key]

    def check_file(self, path: Path, kind: str, location: str) -> bool:
        """``path`` exists and has the columns of ``kind``; False (with an error recorded) otherwise."""
        header = self._header(path, location)
        if header is None:
            return False
        absent = [c for c in REQUIRED.get(kind, []) if c not in header]
        if kind == "median" and "phenotype_id" in absent and len(header) > 1:
            absent = []  # a genes × tissues matrix (checked by check_median_matrix)
        if absent:
            shown = ", ".join(header[:12]) + (" …" if len(header) > 12 else "")
            self.errors.append(f"{location}: {path}: missing column(s) {', '.join(absent)} (columns: {shown})")
            return False
        return True

    def tissues_of(self, path: Path, column: str) -> set[str]:
        key = (os.fspath(path), column)
        if key not in self._tissues:
            try:
                p = os.fspath(path)
                if p.endswith(".parquet"):
                    values = pd.read_parquet(p, columns=[column])[column]
                else:
                    values = pd.read_csv(p, sep="\t", usecols=[column], dtype=str)[column]
                self._tissues[key] = set(values.dropna().astype(str))
            except (ValueError, KeyError, OSError):
                self._tissues[key] = set()
        return self._tissues[key]

    def check_shared(self) -> None:
        """The release's multi-tissue tables: columns, a tissue column, and tissues the atlas knows."""
        known = {t.id for t in self.atlas.tissues}
        for modality, shared in self.release.results.items():
            base = f"{self.where}.results.{modality}"
            for kind in ("cis", "independent", "signif_pairs"):
                path = getattr(shared, kind)
                if path is None or not self.check_file(path, kind, f"{base}.{kind}"):
                    continue
                header = self._header(path, f"{base}.{kind}") or []
                aliases = {shared.tissue_column, "tissueSiteDetailId"} if shared.tissue_column == "tissue" else {
                    shared.tissue_column}
                if not aliases & set(header) and "tissue" not in header:
                    self.errors.append(f"{base}.{kind}: {path}: no {shared.tissue_column!r} column to tell the "
                                       "tissues apart")
                    continue
                if kind != "signif_pairs":
                    unknown = sorted(self.tissues_of(path, shared.tissue_column) - known)
                    if unknown:
                        self.warnings.append(f"{base}.{kind}: rows of tissue(s) not in the atlas are left out: "
                                             f"{', '.join(unknown[:8])}")
            if shared.median is not None:
                self.check_median_matrix(shared.median, f"{base}.median")

    def check_median_matrix(self, path: Path, location: str) -> None:
        header = self._header(path, location)
        if header is None:
            return
        tissues = [t for t in self.release.tissues if t in header]
        if not tissues:
            self.errors.append(f"{location}: {path}: no column named after a tissue of the release "
                               f"({', '.join(list(self.release.tissues)[:6])}); a median matrix has a gene id "
                               "column and one column per tissue")

    def check_tissue(self, tissue: str, modality: str, results, location: str) -> int | None:
        """The tables of one tissue × modality; returns its number of phenotypes (top-table rows) when known."""
        shared = self.release.results.get(modality)
        files = ResultFiles.from_import(results, tissue, modality, shared=shared)
        own = {"cis": files.cis, "independent": files.independent, "signif_pairs": files.signif_pairs,
               "trans": files.trans, "afc": files.afc, "median": files.median}
        for kind, path in own.items():
            if path is not None and kind not in files.shared:
                self.check_file(path, kind, f"{location}.{kind}")
        if files.covariates is not None and not Path(files.covariates).is_file():
            self.errors.append(f"{location}.covariates: {files.covariates}: file not found")
        if results is not None and results.nominal and not files.nominal:
            self.errors.append(f"{location}.nominal: no file matches {', '.join(str(p) for p in results.nominal)}")
        for path in files.nominal:
            self.check_file(path, "nominal", f"{location}.nominal")
        if shared is not None and (shared.cis is not None or shared.independent is not None):
            source = shared.cis if shared.cis is not None else shared.independent
            if Path(source).is_file() and tissue not in self.tissues_of(source, shared.tissue_column):
                self.warnings.append(f"{location}: no row of tissue {tissue} in {source}")
        if files.cis is not None and "cis" not in files.shared and self._header(files.cis, f"{location}.cis"):
            try:
                return _count_rows(files.cis)
            except (ValueError, OSError):
                return None
        return None


def check_imported(atlas: Atlas, release: Release, index: int, report) -> ImportedChecks:
    """Run the release-level checks; the returned object checks each tissue × modality (:meth:`check_tissue`)."""
    checks = ImportedChecks(atlas, release, f"releases[{index}]", report.errors, report.warnings)
    checks.check_shared()
    return checks
