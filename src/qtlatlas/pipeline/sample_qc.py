"""Sample quality control of a release: the pipeline's ``sample_qc`` task and ``qtlatlas validate --qc``.

Two checks (numerics in :mod:`qtlatlas.qc`, inputs gathered by :mod:`.sample_qc_inputs`):

* **sex** — per individual, the declared sex (``individuals`` table of the release) against the expression of
  the sex marker genes (``qc.sex_markers``) in the unnormalised expression BED of every tissue;
* **identity** — per sample of every mapped tissue, its phenotypes at the tissue's strongest cis-QTLs against
  every genotyped individual's predicted phenotypes: a sample whose RNA matches another individual better than
  its declared one is flagged, naming that individual. It needs the tissue's cis results (``qtlatlas run``).

The report (:data:`REPORT_COLUMNS`, one TSV) has one row per individual (sex) and one per sample and tissue
(identity); ``flag`` marks what needs a look, ``message`` says why in words.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..config import Release, SampleQcSettings
from ..io.annotation import read_annotation
from ..io.phenotypes import read_phenotype_bed
from ..io.sample_metadata import SAMPLE_REQUIRED, read_individuals, read_text_table
from ..qc.identity import check_identity
from ..qc.sex_check import check_sex
from ..results import FILE_NAMES, work_directory
from .sample_qc_inputs import IdentityInputs, identity_inputs, label_columns, marker_rows

#: Columns of the report. ``check``: sex or identity; ``tissue``: the tissue (identity) or the tissues of the
#: individual's samples (sex); ``declared``: declared sex or individual; ``observed``: inferred sex or the
#: best-matching individual; ``score``: the sex score (female positive) or the declared individual's z;
#: ``best_z``: the best match's z (identity).
REPORT_COLUMNS = ("check", "tissue", "sample_id", "individual_id", "declared", "observed", "score", "best_z",
                  "n_used", "flag", "message")
REPORT_FILE = "sample_qc.tsv"


@dataclass
class SampleQcReport:
    """The report rows (:data:`REPORT_COLUMNS`) and notes on checks that could not run."""

    rows: pd.DataFrame
    notes: list[str] = field(default_factory=list)

    @property
    def flagged(self) -> pd.DataFrame:
        return self.rows[self.rows["flag"].astype(bool)]


def report_path(work: str | os.PathLike[str], release_id: str) -> Path:
    """``WORK/{release}/sample_qc.tsv``."""
    return Path(work) / release_id / REPORT_FILE


def run_sample_qc(release: Release, qc: SampleQcSettings, fdr: float, work: str | os.PathLike[str] | None,
                  on_step: Callable[[str], None] | None = None) -> SampleQcReport:
    """Both checks of ``release`` with the atlas's ``qc`` settings; the identity check uses the cis results
    under ``work`` (leads with q ≤ ``fdr``; ``work`` None or without results: only the sex check runs, and a
    note says so)."""
    step = on_step or (lambda _m: None)
    samples = read_text_table(release.samples, SAMPLE_REQUIRED, "sample table").frame if release.samples else None
    # sex normalised as published (female/male, F/M, PLINK's 2/1, or empty)
    individuals = read_individuals(release.individuals).frame if release.individuals else None
    notes: list[str] = []
    frames = []
    step("sex check")
    sex_rows, sex_notes = _sex_rows(qc, release, samples, individuals)
    frames.append(sex_rows)
    notes += sex_notes
    for tissue in release.tissues:
        mapped = _mapped_modalities(release, tissue, work)
        if not mapped:
            notes.append(f"{tissue}: identity check skipped: no cis results"
                         + (f" in {Path(work) / release.id}" if work else "") + " (run `qtlatlas run` first)")
            continue
        step(f"identity check of {tissue}")
        data = identity_inputs(mapped, [str(g) for g in release.genotypes], fdr, qc.identity_qtls)
        if data is None:
            notes.append(f"{tissue}: identity check skipped: no significant cis-QTL")
            continue
        frames.append(_identity_rows(tissue, data, samples))
    rows = pd.concat([f for f in frames if not f.empty], ignore_index=True) if any(not f.empty for f in frames) \
        else pd.DataFrame(columns=list(REPORT_COLUMNS))
    return SampleQcReport(rows[list(REPORT_COLUMNS)], notes)


def _mapped_modalities(release: Release, tissue: str, work) -> dict[str, dict[str, str]]:
    if work is None:
        return {}
    out = {}
    for modality in release.tissues[tissue]:
        d = work_directory(work, release.id, tissue, modality)
        paths = {k: d / FILE_NAMES[k] for k in ("phenotypes", "covariates", "cis")}
        if paths["cis"].is_file() and paths["phenotypes"].is_file():
            out[modality] = {k: str(p) for k, p in paths.items() if p.is_file()}
    return out


def _sex_rows(qc: SampleQcSettings, release: Release, samples: pd.DataFrame | None,
              individuals: pd.DataFrame | None) -> tuple[pd.DataFrame, list[str]]:
    markers = qc.sex_markers
    beds = [(t, mods["expression"].bed) for t, mods in release.tissues.items()
            if "expression" in mods and mods["expression"].bed is not None and not mods["expression"].normalised]
    if not beds:
        return pd.DataFrame(columns=list(REPORT_COLUMNS)), ["sex check skipped: no unnormalised expression BED"]
    genes = read_annotation(release.annotation).genes
    names = dict(zip(genes["gene_id"].astype(str), genes["gene_name"].astype(str), strict=False))
    declared_of = ({} if individuals is None or "sex" not in individuals else
                   dict(zip(individuals["individual_id"].astype(str), individuals["sex"].fillna("").astype(str),
                            strict=True)))
    fem, mal, sample_ids, individual_ids, tissues = [], [], [], [], []
    found_f: set[str] = set()
    found_m: set[str] = set()
    for tissue, bed in beds:
        table = read_phenotype_bed(bed, allow_missing=True)
        f_names, f_values = marker_rows(table, names, markers.female)
        m_names, m_values = marker_rows(table, names, markers.male)
        columns = list(table.samples)
        found_f |= set(f_names)
        found_m |= set(m_names)
        fem.append(_columns_of(f_values, f_names, markers.female))
        mal.append(_columns_of(m_values, m_names, markers.male))
        labels = label_columns(columns, tissue, samples)
        sample_ids += labels.sample_ids
        individual_ids += labels.individual_ids
        tissues += [tissue] * len(columns)
    if not found_f and not found_m:
        return pd.DataFrame(columns=list(REPORT_COLUMNS)), [
            "sex check skipped: none of the sex marker genes (qc.sex_markers: "
            f"{', '.join(markers.female + markers.male)}) is in the expression BEDs"]
    declared = np.array([declared_of.get(i, "") for i in individual_ids], dtype=object)
    result = check_sex(np.vstack(fem), np.vstack(mal), declared, np.array(sample_ids, dtype=object),
                       np.array(individual_ids, dtype=object), groups=np.array(tissues, dtype=object))
    table = result.individuals()
    tissues_of = pd.Series(tissues).groupby(pd.Series(individual_ids)).agg(lambda t: ",".join(dict.fromkeys(t)))
    rows = pd.DataFrame({
        "check": "sex", "tissue": table["individual_id"].map(tissues_of).fillna("").to_numpy(), "sample_id": "",
        "individual_id": table["individual_id"].to_numpy(), "declared": table["declared_sex"].to_numpy(),
        "observed": table["inferred_sex"].to_numpy(), "score": table["score"].to_numpy(), "best_z": np.nan,
        "n_used": table["n_samples"].to_numpy(), "flag": table["flag"].to_numpy(dtype=bool),
        "message": [_sex_message(r) for r in table.itertuples()]})
    notes = [] if result.split.separated else [f"sex check: {result.split.reason}"]
    return rows, notes


def _columns_of(values: np.ndarray, found: list[str], markers: list[str]) -> np.ndarray:
    """(n_samples, len(markers)) marker values, NaN for markers missing from this BED."""
    out = np.full((values.shape[1], len(markers)), np.nan)
    for k, name in enumerate(found):
        out[:, markers.index(name)] = values[k]
    return out


def _sex_message(r) -> str:
    if r.flag:
        return f"declared {r.declared_sex}; the sex marker genes say {r.inferred_sex} in {r.n_samples} sample(s)"
    if r.discordant:
        return (f"samples disagree: {r.n_female_samples} look female, {r.n_male_samples} male (a sample of "
                "another individual?)")
    return str(r.reason or "")


def _identity_rows(tissue: str, data: IdentityInputs, samples: pd.DataFrame | None) -> pd.DataFrame:
    labels = label_columns(data.columns, tissue, samples)
    index = {ind: i for i, ind in enumerate(data.individuals)}
    declared = np.array([index.get(i, -1) for i in labels.individual_ids], dtype=np.int64)
    result = check_identity(data.phenotypes, data.dosages, data.slopes, declared,
                            np.array(data.individuals, dtype=object), np.array(labels.sample_ids, dtype=object))
    t = result.table()
    return pd.DataFrame({
        "check": "identity", "tissue": tissue, "sample_id": t["sample_id"].to_numpy(),
        "individual_id": labels.individual_ids, "declared": labels.individual_ids,
        "observed": t["best_match"].to_numpy(), "score": t["declared_z"].to_numpy(), "best_z": t["best_z"].to_numpy(),
        "n_used": t["n_phenotypes"].to_numpy(), "flag": t["flag"].to_numpy(dtype=bool),
        "message": [_identity_message(r) for r in t.itertuples()]})


def _identity_message(r) -> str:
    if r.flag:
        return (f"RNA matches {r.best_match} (z {r.best_z:.1f}) rather than the declared {r.declared_individual} "
                f"(z {r.declared_z:.1f}): a sample swap or mislabel")
    return str(r.reason or "")


def write_report(report: SampleQcReport, path: str | os.PathLike[str]) -> Path:
    """The report as TSV (``#`` note lines first), written to a temporary name and renamed."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part")
    with open(tmp, "w") as f:
        for note in report.notes:
            f.write(f"# {note}\n")
        report.rows.to_csv(f, sep="\t", index=False, float_format="%.4g", lineterminator="\n")
    os.replace(tmp, path)
    return path


def read_report(path: str | os.PathLike[str]) -> SampleQcReport:
    notes = []
    with open(path) as f:
        for line in f:
            if not line.startswith("# "):
                break
            notes.append(line[2:].rstrip("\n"))
    rows = pd.read_csv(path, sep="\t", comment=None, skiprows=len(notes), dtype={"sample_id": str,
                       "individual_id": str, "declared": str, "observed": str, "tissue": str, "message": str},
                       keep_default_na=False, na_values={"score": [""], "best_z": [""]})
    rows["flag"] = rows["flag"].astype(str).str.lower() == "true"
    return SampleQcReport(rows, notes)


def sample_qc_task(outputs: dict[str, str], threads: int, release: dict, qc: dict, fdr: float, work: str,
                   version: str = "") -> None:
    """The pipeline task: :func:`run_sample_qc` of ``release`` (its atlas.yaml model as JSON, paths
    absolute) with the ``qc`` settings over the cis results under ``work``, written to
    ``outputs["report"]``."""
    report = run_sample_qc(Release.model_validate(release), SampleQcSettings.model_validate(qc), fdr, work)
    write_report(report, outputs["report"])
    print(f"sample QC: {int(report.flagged.shape[0])} flagged of {len(report.rows)} checks")
    for note in report.notes:
        print(f"note: {note}")
