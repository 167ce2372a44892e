"""GWAS-VCF (the MRC IEU GWAS-VCF specification, the eQTL Catalogue's coloc input) into the common table of
:mod:`.gwas`.

One VCF record per variant, the effect allele being ALT; the statistics are FORMAT fields of the trait's
sample column:

=====  ==========================================  =============================
``ES`` effect of ALT                               → ``beta``
``SE`` its standard error                          → ``se``
``LP`` −log10 p-value (``inf`` allowed)            → ``p = 10^−LP``
``AF`` ALT frequency in the study                  → ``af`` (else INFO ``AF``)
``SS`` sample size                                 → ``n``
``EZ`` z-score (when ES/SE were derived from it)   → ``z`` for files without ES/SE
``ID`` study variant id                            → ``variant_id`` when the ID column is ``.``
=====  ==========================================  =============================

Without ``SS`` the sample size is taken from the header's ``##SAMPLE=<ID=…,TotalControls=…,TotalCases=…>``
(controls + cases), as the gwasvcf R package does; ``StudyType=Continuous|CaseControl`` there gives the trait
type. Records with several ALT alleles are split into one row per allele (Number=A fields split alike).
A bgzipped file with a tabix index is queried for the requested regions only.
"""

from __future__ import annotations

import os
import re

import numpy as np
import pandas as pd

from ..errors import ConfigError, InputFileError
from .chromosomes import chrom_key
from .gwas import GwasSumstats, Regions, compression_of, finish_table, in_regions, numeric
from .text import open_text

_PER_ALLELE = ("ES", "SE", "LP", "AF", "SS", "EZ", "NC")
_WANTED = (*_PER_ALLELE, "ID")
_HEADER_FIELD = re.compile(r"([A-Za-z]+)=([^,>]*)")
_INFO_AF = re.compile(r"(?:^|;)AF=([^;]*)")


def read_gwas_vcf(path: str, sample: str | None = None, regions: Regions | None = None) -> GwasSumstats:
    """Read one trait (sample column) of a GWAS-VCF; see the module docstring.

    Raises:
        InputFileError: no ``#CHROM`` header, no sample column, malformed record (line named).
        ConfigError: ``sample`` absent from the file, or several samples and none chosen.
    """
    n_header, samples, sample_meta = _read_header(path)
    if not samples:
        raise InputFileError(path, "has no sample column: a GWAS-VCF holds each trait's statistics in one",
                             line=n_header)
    if sample is None:
        if len(samples) > 1:
            raise ConfigError("--gwas-sample", f"{path} holds {len(samples)} traits ({', '.join(samples[:5])}"
                                               f"{' …' if len(samples) > 5 else ''}); name one")
        sample = samples[0]
    elif sample not in samples:
        raise ConfigError("--gwas-sample", f"{sample!r} is not a sample of {path} ({', '.join(samples[:5])})")
    column = 9 + samples.index(sample)
    records, lines = _records(path, n_header, column, regions)
    table = _parse_records(path, records, lines)
    meta = sample_meta.get(sample, {})
    n = table["n"].to_numpy(dtype=np.float64)
    total = _header_total(meta)
    sources = ["the FORMAT field SS"] if np.isfinite(n).any() else []
    if total is not None and not np.isfinite(n).all():
        table["n"] = np.where(np.isfinite(n), n, total)
        sources.append(f"the VCF header (##SAMPLE TotalControls + TotalCases = {total:g})")
    n_source = ", else ".join(sources)
    has_beta = bool(np.isfinite(table["beta"].to_numpy(dtype=np.float64)).any())
    if has_beta:
        table["z"] = np.nan  # derived from ES/SE; EZ only serves files without them
    study = meta.get("StudyType", "").lower()
    study_type = "quant" if study == "continuous" else "cc" if study == "casecontrol" else None
    cases, controls = _float(meta.get("TotalCases")), _float(meta.get("TotalControls"))
    case_fraction = cases / (cases + controls) if cases and controls else None
    table, dropped = finish_table(path, table)
    return GwasSumstats(table=table, path=path, format="vcf", trait=sample, has_positions=True, has_beta=has_beta,
                        n_source=n_source, study_type=study_type, case_fraction=case_fraction, dropped=dropped)


def _read_header(path: str) -> tuple[int, list[str], dict[str, dict[str, str]]]:
    """Number of header lines, sample names and each sample's ``##SAMPLE`` fields."""
    meta: dict[str, dict[str, str]] = {}
    try:
        with open_text(path) as fh:
            for i, line in enumerate(fh, start=1):
                if line.startswith("##SAMPLE=<"):
                    fields = dict(_HEADER_FIELD.findall(line[len("##SAMPLE=<"):]))
                    if "ID" in fields:
                        meta[fields["ID"]] = fields
                elif line.startswith("#CHROM"):
                    cols = line.rstrip("\n\r").split("\t")
                    if len(cols) < 8 or cols[:2] != ["#CHROM", "POS"]:
                        raise InputFileError(path, "malformed #CHROM header line", line=i)
                    return i, cols[9:], meta
                elif not line.startswith("##"):
                    raise InputFileError(path, "no #CHROM header line before the first record", line=i)
    except (OSError, EOFError, UnicodeDecodeError) as e:
        raise InputFileError(path, f"cannot read file ({e})") from None
    raise InputFileError(path, "has no #CHROM header line")


def _records(path: str, n_header: int, column: int, regions: Regions | None) -> tuple[pd.DataFrame, np.ndarray]:
    """The records' CHROM POS ID REF ALT INFO FORMAT and sample fields (strings), and their file lines
    (0 where read through the tabix index)."""
    index = next((path + ext for ext in (".tbi", ".csi") if os.path.exists(path + ext)), None)
    if regions is not None and index is not None:
        rows = _tabix_rows(path, index, regions)
        frame = pd.DataFrame(rows, dtype=object)
        lines = np.zeros(len(frame), dtype=np.int64)
    else:
        try:
            frame = pd.read_csv(path, sep="\t", header=None, skiprows=n_header, dtype=str, na_filter=False,
                                quoting=3, compression=compression_of(path))
        except pd.errors.EmptyDataError:
            frame = pd.DataFrame()
        except pd.errors.ParserError as e:
            msg = str(e).split("C error: ")[-1].strip()
            m = re.search(r"line (\d+)", msg)
            raise InputFileError(path, f"malformed record: {msg}",
                                 line=n_header + int(m.group(1)) if m else None) from None
        lines = np.arange(n_header + 1, n_header + 1 + len(frame), dtype=np.int64)
    if frame.empty:
        return pd.DataFrame(columns=["chrom", "pos", "id", "ref", "alt", "info", "format", "sample"]), lines
    if frame.shape[1] <= column:
        raise InputFileError(path, f"the record has {frame.shape[1]} fields; the sample column is field "
                                   f"{column + 1}", line=int(lines[0]) or None)
    out = frame.iloc[:, [0, 1, 2, 3, 4, 7, 8, column]].copy()
    out.columns = ["chrom", "pos", "id", "ref", "alt", "info", "format", "sample"]
    out = out.fillna("")
    short = (out["format"] == "") | (out["sample"] == "")
    if short.any():
        i = int(np.argmax(short.to_numpy()))
        raise InputFileError(path, "the record lacks FORMAT or sample fields", line=int(lines[i]) or None)
    pos = numeric(path, out["pos"], lines, "POS")
    if regions is not None:
        keep = in_regions(out["chrom"].to_numpy(), np.nan_to_num(pos, nan=0).astype(np.int64), regions)
        out, lines = out.loc[keep].reset_index(drop=True), lines[keep]
    return out, lines


def _tabix_rows(path: str, index: str, regions: Regions) -> list[list[str]]:
    import pysam

    try:
        tbx = pysam.TabixFile(path, index=index)
    except (OSError, ValueError) as e:
        raise InputFileError(path, f"cannot open with its index {index} ({e})") from None
    rows: list[list[str]] = []
    with tbx:
        contigs = {chrom_key(c): c for c in tbx.contigs}
        for key, intervals in regions.items():
            contig = contigs.get(key)
            if contig is None:
                continue
            for start, end in intervals:
                rows.extend(line.split("\t") for line in tbx.fetch(contig, max(0, start - 1), end))
    return rows


def _parse_records(path: str, rec: pd.DataFrame, lines: np.ndarray) -> pd.DataFrame:
    """The common table's columns from the records' fields (before :func:`finish_table`)."""
    fields = pd.DataFrame(index=rec.index, columns=list(_WANTED), dtype=object)
    for fmt, rows in rec.groupby("format", sort=False).groups.items():
        keys = str(fmt).split(":")
        values = rec.loc[rows, "sample"].str.split(":", expand=True)
        if values.shape[1] > len(keys):
            bad = values.iloc[:, len(keys)].notna().to_numpy()
            i = rec.index.get_loc(rows[int(np.argmax(bad))])
            raise InputFileError(path, f"the sample column has more values than FORMAT {fmt} names",
                                 line=int(lines[i]) or None)
        for k, key in enumerate(keys):
            if key in fields:
                fields.loc[rows, key] = values.iloc[:, k].to_numpy() if k < values.shape[1] else None
    fields = fields.replace({".": None, "": None})
    info_af = rec["info"].str.extract(_INFO_AF, expand=False)
    fields["AF"] = fields["AF"].where(fields["AF"].notna(), info_af.replace({".": None}))
    table = pd.DataFrame({"chrom": rec["chrom"], "pos": rec["pos"], "id": rec["id"], "ref": rec["ref"],
                          "alt": rec["alt"]})
    table = pd.concat([table, fields], axis=1)
    table["line"] = lines
    table = _split_multiallelic(path, table)
    lines = table["line"].to_numpy()
    out = pd.DataFrame({
        "chrom": table["chrom"].astype(str),
        "pos": numeric(path, table["pos"], lines, "POS").astype(np.int64),
        "variant_id": table["id"].where(table["id"] != ".", table["ID"].fillna("")).fillna(""),
        "other_allele": table["ref"], "effect_allele": table["alt"],
        "beta": numeric(path, table["ES"], lines, "ES"), "se": numeric(path, table["SE"], lines, "SE"),
        "z": numeric(path, table["EZ"], lines, "EZ"), "af": numeric(path, table["AF"], lines, "AF"),
        "n": numeric(path, table["SS"], lines, "SS"), "line": lines,
    })
    lp = numeric(path, table["LP"], lines, "LP")
    out["p"] = np.power(10.0, -lp)
    return out


def _split_multiallelic(path: str, table: pd.DataFrame) -> pd.DataFrame:
    """One row per ALT allele: records with ``ALT = A,C`` become two rows, their Number=A fields split alike."""
    multi = table["alt"].str.contains(",", regex=False)
    if not multi.any():
        return table.reset_index(drop=True)
    pieces = []
    for _, row in table.loc[multi].iterrows():
        alts = row["alt"].split(",")
        for k, alt in enumerate(alts):
            new = row.copy()
            new["alt"] = alt
            for key in _PER_ALLELE:
                value = row[key]
                if isinstance(value, str) and "," in value:
                    parts = value.split(",")
                    if len(parts) != len(alts):
                        raise InputFileError(path, f"{key} has {len(parts)} values for {len(alts)} ALT alleles",
                                             line=int(row["line"]) or None)
                    new[key] = parts[k]
            pieces.append(new)
    expanded = pd.DataFrame(pieces)
    return pd.concat([table.loc[~multi], expanded]).sort_values("line", kind="stable").reset_index(drop=True)


def _header_total(meta: dict[str, str]) -> float | None:
    controls, cases = _float(meta.get("TotalControls")), _float(meta.get("TotalCases"))
    total = (controls or 0.0) + (cases or 0.0)
    return total if total > 0 else None


def _float(text: str | None) -> float | None:
    try:
        return float(text) if text not in (None, "", "NA", ".") else None
    except ValueError:
        return None
