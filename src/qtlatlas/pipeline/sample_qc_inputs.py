"""What sample quality control reads from a release's inputs and mapping results (arrays for the checks of
:mod:`qtlatlas.qc`).

* **Which individual a BED column is**: a column is a sample id of the release's ``samples`` table for that
  tissue, or an individual id (then its sample is that individual's row for the tissue, if any).
* **Sex markers**: the rows of a tissue's unnormalised expression BED whose gene id or name is one of the
  markers (case-insensitive), as log2(value + 1).
* **Identity**: the strongest significant cis-QTL leads of a tissue (every mapped modality, ranked by
  ``pval_beta``, one per phenotype), their phenotype values residualised on the
  mapping covariates, the lead variants' dosages in every genotyped individual, and their slopes. Two
  modalities of a gene may share a lead variant: their phenotypes' noise is their own, so both count.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..io.covariates import read_covariates
from ..io.genotype_set import open_genotype_files
from ..io.phenotypes import PhenotypeTable, read_phenotype_bed
from ..mapping.run import read_cis_output


@dataclass(frozen=True)
class SampleLabels:
    """The samples of a tissue's BED columns: ``columns`` as in the BED, ``sample_ids`` and
    ``individual_ids`` (each ``len(columns)``)."""

    columns: list[str]
    sample_ids: list[str]
    individual_ids: list[str]


def label_columns(columns: Sequence[str], tissue: str, samples: pd.DataFrame | None) -> SampleLabels:
    """Resolve BED ``columns`` of ``tissue`` against the samples table (``sample_id, individual_id, tissue``;
    None: every column is an individual and its own sample id)."""
    cols = [str(c) for c in columns]
    if samples is None or samples.empty:
        return SampleLabels(cols, cols, cols)
    rows = samples[samples["tissue"].astype(str) == tissue]
    by_sample = dict(zip(rows["sample_id"].astype(str), rows["individual_id"].astype(str), strict=True))
    by_individual = dict(zip(rows["individual_id"].astype(str), rows["sample_id"].astype(str), strict=True))
    sample_ids, individual_ids = [], []
    for c in cols:
        if c in by_sample:
            sample_ids.append(c)
            individual_ids.append(by_sample[c])
        else:
            sample_ids.append(by_individual.get(c, c))
            individual_ids.append(c)
    return SampleLabels(cols, sample_ids, individual_ids)


def marker_rows(table: PhenotypeTable, gene_names: dict[str, str], markers: Sequence[str]
                ) -> tuple[list[str], np.ndarray]:
    """(marker names found, (k, n_samples) log2(value + 1)) of the rows of an unnormalised expression BED
    (``table``) whose phenotype id or its gene's name (``gene_names``: gene id -> name) is a marker, in the order
    of ``markers``; k may be 0."""
    wanted = {m.upper(): m for m in markers}
    found: dict[str, int] = {}
    for i, pid in enumerate(table.phenotype_ids):
        for key in (str(pid), gene_names.get(str(pid), ""), str(pid).split(".")[0]):
            m = wanted.get(key.upper())
            if m is not None and m not in found:
                found[m] = i
                break
    names = [m for m in markers if m in found]
    values = np.log2(np.clip(table.values[[found[m] for m in names]], 0, None) + 1.0) if names else \
        np.zeros((0, len(table.samples)))
    return names, values


@dataclass(frozen=True)
class IdentityInputs:
    """A tissue's identity-check data: ``phenotypes`` (n_columns, K) residualised phenotype values of the BED
    ``columns`` (NaN where a modality lacks a column), ``dosages`` (n_individuals, K) ALT dosages of the lead
    variants (NaN missing) of ``individuals`` (the genotyped ones), ``slopes`` (K,), and ``leads`` (K rows:
    modality, phenotype_id, variant_id, pval_beta)."""

    columns: list[str]
    phenotypes: np.ndarray
    individuals: list[str]
    dosages: np.ndarray
    slopes: np.ndarray
    leads: pd.DataFrame


def _residualise(values: np.ndarray, covariates: pd.DataFrame | None) -> np.ndarray:
    """(k, n) ``values`` minus their least-squares fit on the covariates (n samples) and an intercept."""
    n = values.shape[1]
    design = np.ones((n, 1))
    if covariates is not None and not covariates.empty:
        design = np.column_stack([design, covariates.to_numpy(np.float64).T])
    filled = np.where(np.isnan(values), np.nanmean(values, axis=1, keepdims=True), values)
    coef, *_ = np.linalg.lstsq(design, filled.T, rcond=None)
    out = filled - (design @ coef).T
    out[np.isnan(values)] = np.nan
    return out


def identity_inputs(modalities: dict[str, dict[str, str]], genotypes: Sequence[str], fdr: float, n_leads: int
                    ) -> IdentityInputs | None:
    """Gather the identity-check data of one tissue from its mapped ``modalities`` (modality -> paths of its
    ``phenotypes`` (normalised BED), ``covariates`` and ``cis`` results). None when no lead is significant."""
    leads = []
    for modality, paths in modalities.items():
        cis = read_cis_output(paths["cis"])
        hits = cis[cis["qval"] <= fdr][["phenotype_id", "variant_id", "pval_beta", "slope"]]
        leads.append(hits.assign(modality=modality))
    table = pd.concat(leads, ignore_index=True) if leads else pd.DataFrame()
    if table.empty:
        return None
    table = table.sort_values("pval_beta", kind="stable").head(n_leads).reset_index(drop=True)
    columns: list[str] = []
    per_modality: dict[str, tuple[list[str], np.ndarray]] = {}
    for modality, rows in table.groupby("modality", sort=False):
        bed = read_phenotype_bed(modalities[modality]["phenotypes"], allow_missing=True)
        cov_path = modalities[modality].get("covariates")
        cov = read_covariates(cov_path, list(bed.samples), allow_empty=True) if cov_path else None
        index = {p: i for i, p in enumerate(bed.phenotype_ids)}
        values = _residualise(bed.values[[index[p] for p in rows["phenotype_id"]]], cov)
        per_modality[str(modality)] = (list(bed.samples), values)
        columns += [s for s in bed.samples if s not in set(columns)]
    position = {c: i for i, c in enumerate(columns)}
    phenotypes = np.full((len(columns), len(table)), np.nan)
    for modality, rows in table.groupby("modality", sort=False):
        samples, values = per_modality[str(modality)]
        cols = [position[s] for s in samples]
        phenotypes[np.ix_(cols, rows.index.to_numpy())] = values.T
    reader = open_genotype_files(list(genotypes))
    individuals = list(reader.samples)
    dosages = _lead_dosages(reader, table["variant_id"].astype(str).tolist(), individuals)
    return IdentityInputs(columns, phenotypes, individuals, dosages, table["slope"].to_numpy(np.float64),
                          table[["modality", "phenotype_id", "variant_id", "pval_beta"]])


def _lead_dosages(reader, variant_ids: list[str], individuals: list[str]) -> np.ndarray:
    """(n_individuals, K) ALT dosages of ``variant_ids`` (NaN missing or not found)."""
    known = reader.variants
    by_id = known.drop_duplicates("id").set_index("id")
    out = np.full((len(individuals), len(variant_ids)), np.nan)
    for k, vid in enumerate(variant_ids):
        if vid not in by_id.index:
            continue
        row = by_id.loc[vid]
        data = reader.read(f"{row['chrom']}:{int(row['pos'])}-{int(row['pos'])}", samples=individuals,
                           dtype="float32")
        hit = np.flatnonzero(data.variants["id"].astype(str).to_numpy() == vid)
        if hit.size:
            out[:, k] = data.dosages[hit[0]]
    return out
