"""Download files of a release (names from :mod:`qtlatlas.release.layout`).

BED and VCF files are bgzipped and tabix-indexed; tables are gzipped TSV in tensorQTL's format; the
release genotypes are offered as one bgzipped VCF (a copy of the release's VCF, or written from PLINK
input).
"""

from __future__ import annotations

import gzip
import os
import shutil
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from ..io.chromosomes import chrom_sort_key
from ..io.genotypes import MISSING_INT8, GenotypeReader, open_genotypes

_VCF_CHUNK = 20_000


def is_bgzf(path: str | os.PathLike[str]) -> bool:
    """True when the file starts with a BGZF block header (gzip with the ``BC`` extra subfield)."""
    with open(path, "rb") as f:
        head = f.read(16)
    return len(head) == 16 and head[:4] == b"\x1f\x8b\x08\x04" and head[12:14] == b"BC"


def copy_file(src: str | os.PathLike[str], dest: str | os.PathLike[str]) -> Path:
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src, dest)
    return dest


def bgzip_copy(src: str | os.PathLike[str], dest: str | os.PathLike[str]) -> Path:
    """``src`` as a bgzipped file at ``dest``: copied when already BGZF, else (re)compressed."""
    import pysam

    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    if is_bgzf(src):
        shutil.copyfile(src, dest)
        return dest
    plain = dest.with_name(dest.name + ".plain")
    opener = gzip.open if _is_gzip(src) else open
    with opener(src, "rb") as fin, open(plain, "wb") as fout:
        shutil.copyfileobj(fin, fout, 1 << 20)
    pysam.tabix_compress(str(plain), str(dest), force=True)
    plain.unlink()
    return dest


def _is_gzip(path: str | os.PathLike[str]) -> bool:
    with open(path, "rb") as f:
        return f.read(2) == b"\x1f\x8b"


def bed_download(src: str | os.PathLike[str], dest: str | os.PathLike[str]) -> list[Path]:
    """A phenotype BED as bgzipped ``dest`` + ``dest.tbi``; returns both paths."""
    import pysam

    dest = bgzip_copy(src, dest)
    pysam.tabix_index(str(dest), seq_col=0, start_col=1, end_col=2, meta_char="#", zerobased=True, force=True)
    return [dest, Path(f"{dest}.tbi")]


def samples_download(samples: Sequence[str], dest: str | os.PathLike[str]) -> Path:
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_text("".join(f"{s}\n" for s in samples))
    return dest


# ------------------------------------------------------------------------------------------------
# Genotypes
# ------------------------------------------------------------------------------------------------


def _is_vcf_gz(path: str) -> bool:
    return path.lower().endswith((".vcf.gz", ".vcf.bgz")) and os.path.isfile(path) and is_bgzf(path)


def genotypes_download(paths: Sequence[str | os.PathLike[str]], dest: str | os.PathLike[str]) -> list[Path]:
    """The release genotypes as one bgzipped, tabix-indexed VCF at ``dest``.

    A single bgzipped VCF is copied verbatim (its ``.tbi`` too when present, else one is made); anything
    else (PLINK 1/2, BCF, several files) is written from the genotype readers, one chunk of variants at a
    time, with GT calls of the counted (ALT) allele.
    """
    import pysam

    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    srcs = [os.fspath(p) for p in paths]
    tbi = Path(f"{dest}.tbi")
    if len(srcs) == 1 and _is_vcf_gz(srcs[0]):
        shutil.copyfile(srcs[0], dest)
        if os.path.isfile(srcs[0] + ".tbi"):
            shutil.copyfile(srcs[0] + ".tbi", tbi)
        else:
            pysam.tabix_index(str(dest), preset="vcf", force=True)
        return [dest, tbi]
    write_vcf([open_genotypes(p) for p in srcs], dest)
    pysam.tabix_index(str(dest), preset="vcf", force=True)
    return [dest, tbi]


_GT = np.array(["0/0", "0/1", "1/1"], dtype=object)


def write_vcf(readers: Sequence[GenotypeReader], dest: str | os.PathLike[str]) -> Path:
    """Write the genotypes of ``readers`` (same samples) as a bgzipped VCF, chromosomes in natural order."""
    from pysam.libcbgzf import BGZFile

    samples = list(readers[0].samples)
    chroms: list[tuple[str, GenotypeReader]] = []
    for r in readers:
        chroms += [(c, r) for c in r.chromosomes()]
    chroms.sort(key=lambda cr: chrom_sort_key(cr[0]))
    with BGZFile(os.fspath(dest), "wb") as out:
        header = ["##fileformat=VCFv4.2", "##source=qtlatlas",
                  *[f"##contig=<ID={c}>" for c, _ in chroms],
                  '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">',
                  "\t".join(["#CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO", "FORMAT", *samples])]
        out.write(("\n".join(header) + "\n").encode())
        for chrom, reader in chroms:
            v = reader.variants
            pos = np.unique(v.loc[v["chrom"].astype(str) == chrom, "pos"].to_numpy(np.int64))
            for i in range(0, len(pos), _VCF_CHUNK):
                block = pos[i:i + _VCF_CHUNK]
                g = reader.read(f"{chrom}:{block[0]}-{block[-1]}", samples=samples)
                order = np.argsort(g.variants["pos"].to_numpy(np.int64), kind="stable")
                calls = np.where(g.dosages == MISSING_INT8, "./.", _GT[np.clip(g.dosages, 0, 2)])
                lines = []
                for k in order:
                    row = g.variants.iloc[k]
                    lines.append("\t".join([str(row["chrom"]), str(row["pos"]), str(row["id"]), str(row["ref"]),
                                            str(row["alt"]), ".", "PASS", ".", "GT", *calls[k]]))
                if lines:
                    out.write(("\n".join(lines) + "\n").encode())
    return Path(dest)


def median_tpm_download(medians: pd.DataFrame, dest: str | os.PathLike[str]) -> Path:
    """``gene_id`` × tissue matrix of medians (GTEx ``median_tpm`` layout), gzipped TSV."""
    from ..io.text import write_tsv_gz

    wide = medians.pivot_table(index="gene_id", columns="tissue", values="median", aggfunc="first")
    wide = wide.reset_index()
    wide.columns.name = None
    return write_tsv_gz(wide, dest)
