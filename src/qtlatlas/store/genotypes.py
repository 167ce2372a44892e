"""Genotypes of one variant, read from the release's bgzipped, tabix-indexed VCF by position.

Any genotyped variant can be plotted, not only those of the QTL tables: the VCF download is the release's
genotype store. A look-up seeks to the variant's BGZF block through the tabix index and decodes one record
(about a millisecond for 2,000 samples); each thread keeps its own open reader.
"""

from __future__ import annotations

import threading

import numpy as np

#: Missing dosage code (as ``qtlatlas.io.genotypes.MISSING_INT8``).
MISSING = -9


class VcfGenotypes:
    """ALT-allele dosages of single variants of a tabix-indexed VCF (thread-safe)."""

    def __init__(self, path: str):
        self.path = path
        self._local = threading.local()
        self.samples: list[str] = list(self._vcf().samples)
        self._column = {s: i for i, s in enumerate(self.samples)}
        self._columns_lock = threading.Lock()
        self._columns: dict[tuple[str, ...], np.ndarray] = {}

    def _vcf(self):
        vcf = getattr(self._local, "vcf", None)
        if vcf is None:
            import cyvcf2

            vcf = self._local.vcf = cyvcf2.VCF(self.path, gts012=True, lazy=True, threads=1)
        return vcf

    def columns(self, samples: list[str]) -> np.ndarray:
        """Column of each of ``samples`` in the VCF (−1 for a sample it lacks), cached per sample list."""
        key = tuple(samples)
        found = self._columns.get(key)
        if found is None:
            found = np.array([self._column.get(s, -1) for s in samples], dtype=np.int64)
            with self._columns_lock:
                self._columns[key] = found
        return found

    def dosages(self, chrom: str, pos: int, variant_id: str | None = None, ref: str | None = None,
                alt: str | None = None) -> np.ndarray | None:
        """Dosages (int8, :data:`MISSING` for a missing call) of every VCF sample at the record at
        ``chrom:pos`` whose id is ``variant_id`` (else whose alleles are ``ref``/``alt``, else the only
        record there); None when there is none."""
        try:
            records = list(self._vcf()(f"{chrom}:{int(pos)}-{int(pos)}"))
        except Exception:  # cyvcf2 raises bare Exception for an unknown contig
            return None
        records = [r for r in records if r.POS == int(pos)]
        chosen = None
        if variant_id is not None:
            chosen = next((r for r in records if r.ID == variant_id), None)
        if chosen is None and ref is not None and alt is not None:
            chosen = next((r for r in records if r.REF == ref and list(r.ALT) == [alt]), None)
        if chosen is None and len(records) == 1:
            chosen = records[0]
        if chosen is None:
            return None
        gt = np.asarray(chosen.gt_types, dtype=np.int8)
        return np.where(gt == 3, np.int8(MISSING), gt).astype(np.int8)
