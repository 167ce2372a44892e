"""A synthetic GWAS over every variant of a built release, with a few planted loci, for ``bench_coloc``.

``python -m benchmarks.coloc_gwas --site SITE --release v4 --out gwas.tsv.gz [--loci 6] [--n 20000]``
writes a GWAS-SSF file (``chromosome, base_pair_location, effect_allele, other_allele, beta, standard_error,
effect_allele_frequency, p_value, n``) with one row per polymorphic variant of the release:

* the effect allele is the variant's ALT, its frequency that of the release's genotype matrix over every
  sample, and the standard error that of a standardised trait in ``n`` individuals,
  ``1 / √(2 n f (1 − f))``;
* z-scores are N(0, 1) except around ``loci`` planted causal variants — the top variants of the strongest
  eQTLs of the release's first tissue × modality (at least 5 Mb apart) — where, within ±500 kb,
  ``z = z_c r + √(1 − r²) ε`` with ``r`` the LD (PLINK's r over the matrix's samples) with the causal variant
  and ``z_c`` (default 12) its z-score: a GWAS signal the QTL explains, which coloc should call H4.

The matrix is read once, 65,536 variants at a time (allele counts from a byte table, no unpacking).
"""

from __future__ import annotations

import argparse
import gzip
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from scipy import stats

from qtlatlas.engine.ld import CODE_DOSAGE, ld_r_packed
from qtlatlas.release import layout
from qtlatlas.store.ld import GenotypeMatrix

CHUNK = 65_536
SSF_COLUMNS = ["chromosome", "base_pair_location", "effect_allele", "other_allele", "beta", "standard_error",
               "effect_allele_frequency", "p_value", "n"]
FLANK = 500_000


def _byte_tables() -> tuple[np.ndarray, np.ndarray]:
    """ALT copies and called samples of each ``.bed`` byte (4 samples; missing calls not counted)."""
    byte = np.arange(256)[:, None]
    dosage = CODE_DOSAGE[(byte >> (2 * np.arange(4))[None, :]) & 3].astype(np.int64)
    called = dosage >= 0
    return np.where(called, dosage, 0).sum(axis=1).astype(np.uint16), called.sum(axis=1).astype(np.uint16)


def allele_frequencies(matrix: GenotypeMatrix, start: int, stop: int) -> np.ndarray:
    """ALT frequency ``(stop − start,)`` over every sample of the matrix (NaN where none is called)."""
    alt, called = _byte_tables()
    rows = matrix.rows(start, stop)
    copies = alt[rows].sum(axis=1, dtype=np.int64)
    count = called[rows].sum(axis=1, dtype=np.int64)
    pad = 4 * matrix.width - matrix.n_samples  # padding slots read as two ALT copies (code 00)
    copies -= 2 * pad
    count -= pad
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, copies / (2.0 * count), np.nan)


def planted_causals(release: Path, variants: pd.DataFrame, loci: int) -> list[int]:
    """Variant indices of the top variants of the strongest eQTLs of the first tissue × modality, ≥ 5 Mb apart."""
    top = pd.read_parquet(release / layout.table_path("top_qtls"), columns=["tissue", "modality", "chrom", "pos",
                                                                           "pval_nominal"])
    first = top.iloc[0][["tissue", "modality"]]
    top = top[(top["tissue"] == first["tissue"]) & (top["modality"] == first["modality"])].sort_values("pval_nominal")
    chosen: list[tuple[str, int]] = []
    for chrom, pos in top[["chrom", "pos"]].itertuples(index=False):
        if all(c != chrom or abs(p - pos) >= 5_000_000 for c, p in chosen):
            chosen.append((chrom, int(pos)))
        if len(chosen) == loci:
            break
    out = []
    for chrom, pos in chosen:
        at = np.flatnonzero((variants["chrom"].to_numpy() == chrom) & (variants["pos"].to_numpy() == pos))
        out.append(int(at[0]))
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--site", type=Path, required=True)
    ap.add_argument("--release", required=True)
    ap.add_argument("--out", type=Path, required=True, help="GWAS-SSF file to write (.tsv.gz)")
    ap.add_argument("--loci", type=int, default=6)
    ap.add_argument("--n", type=int, default=20_000, help="GWAS sample size")
    ap.add_argument("--z", type=float, default=12.0, help="z-score of each planted causal variant")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args(argv)
    release = args.site / "releases" / args.release
    rng = np.random.default_rng(args.seed)
    t0 = time.perf_counter()
    variants = pq.read_table(release / layout.table_path("variants"), columns=["chrom", "pos"]).to_pandas()
    matrix = GenotypeMatrix(release / layout.table_path("genotype_matrix"), len(variants))
    planted: dict[int, float] = {}
    for causal in planted_causals(release, variants, args.loci):
        chrom, pos = variants["chrom"].iat[causal], int(variants["pos"].iat[causal])
        window = np.flatnonzero((variants["chrom"].to_numpy() == chrom) & (np.abs(variants["pos"].to_numpy() - pos)
                                                                            <= FLANK))
        r = ld_r_packed(matrix.rows(causal, causal + 1)[0], matrix.rows(int(window[0]), int(window[-1]) + 1),
                        matrix.n_samples)
        r = np.nan_to_num(r)
        z = args.z * r + np.sqrt(np.clip(1 - r * r, 0, 1)) * rng.standard_normal(len(window))
        planted.update(zip(window.tolist(), z.tolist(), strict=True))
        print(f"planted {chrom}:{pos} (variant {causal}), {len(window):,} variants within ±{FLANK:,} bp")
    del variants
    planted_at = np.array(sorted(planted), dtype=np.int64)
    reader = pq.ParquetFile(release / layout.table_path("variants"))
    written, start = 0, 0
    with gzip.open(args.out, "wb", compresslevel=1) as raw:
        raw.write(("\t".join(SSF_COLUMNS) + "\n").encode())
        for batch in reader.iter_batches(batch_size=CHUNK, columns=["chrom", "pos", "ref", "alt"]):
            stop = start + batch.num_rows
            f = allele_frequencies(matrix, start, stop)
            z = rng.standard_normal(batch.num_rows)
            hit = planted_at[(planted_at >= start) & (planted_at < stop)]
            z[hit - start] = [planted[i] for i in hit.tolist()]
            ok = np.isfinite(f) & (f > 0) & (f < 1)
            se = 1.0 / np.sqrt(2.0 * args.n * f[ok] * (1 - f[ok]))
            table = pa.table({
                "chromosome": pc.replace_substring_regex(batch.column("chrom"), "^chr", "").filter(pa.array(ok)),
                "base_pair_location": batch.column("pos").filter(pa.array(ok)),
                "effect_allele": batch.column("alt").filter(pa.array(ok)),
                "other_allele": batch.column("ref").filter(pa.array(ok)),
                "beta": pa.array(np.round(z[ok] * se, 6)), "standard_error": pa.array(np.round(se, 6)),
                "effect_allele_frequency": pa.array(np.round(f[ok], 5)),
                "p_value": pa.array(2 * stats.norm.sf(np.abs(z[ok]))),
                "n": pa.array(np.full(int(ok.sum()), args.n, dtype=np.int64))}).select(SSF_COLUMNS)
            sink = pa.BufferOutputStream()
            pacsv.write_csv(table, sink, pacsv.WriteOptions(include_header=False, delimiter="\t", quoting_style="none"))
            raw.write(sink.getvalue().to_pybytes())
            written += int(ok.sum())
            start = stop
    matrix.close()
    print(f"wrote {written:,} variants to {args.out} in {time.perf_counter() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
