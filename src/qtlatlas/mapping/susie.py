"""``qtlatlas map cis_susie``: SuSiE fine-mapping of each phenotype's cis window (tensorQTL's mode name).

Genotypes (mean-imputed) and phenotypes are residualised on [1, covariates] exactly as the other cis modes
do; every polymorphic variant within ±window of the phenotype's TSS is fitted by :mod:`qtlatlas.engine.susie`
with susieR's defaults (L = 10 single effects, prior variance 0.2·var(y); each can be set), and credible sets
are taken as ``susie_get_cs`` (coverage 0.95, purity 0.5 by default).

Which phenotypes: those of ``--phenotypes`` (a file of ids), or with ``--cis-output`` the phenotypes with
q ≤ ``--fdr`` there — for grouped phenotypes, every phenotype of a group with q ≤ FDR — or else every one.

Outputs:

* ``PREFIX.susie_credible_sets.parquet``: one row per member of a credible set, with the eQTL Catalogue's
  columns :data:`CREDIBLE_SET_COLUMNS` (``pip`` is the variant's PIP over all effects; ``z`` its marginal t
  statistic with the covariates, as the nominal pass; ``posterior_mean``/``posterior_sd`` in phenotype units
  per ALT allele of the residualised genotype) then ``cs_index`` (susieR's ``L<k>``), ``cs_coverage``,
  ``cs_min_abs_corr`` and ``cs_mean_abs_corr``;
* ``PREFIX.susie_pip.parquet``: one row per phenotype × variant fitted: ``phenotype_id, variant_id, pip,
  lbf_1 … lbf_L`` (natural-log Bayes factors of each single effect; NaN for an effect a small window lacks).

Both files have the schemas :func:`credible_set_schema` and :func:`pip_schema` also when empty.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa

from ..engine.susie import LOCKSTEP_VARIANTS, SusieFit, fit_susie_windows
from ..engine.susie_sets import credible_sets
from ..errors import InputFileError, QtlAtlasError, require_file
from ..io.text import open_text
from .inputs import MappingInputs
from .susie_inputs import SusieChromosome, prepare_chromosome

#: The eQTL Catalogue's credible-set columns, in order.
CREDIBLE_SET_COLUMNS = ["phenotype_id", "variant_id", "cs_id", "cs_size", "pip", "cs_log10bf", "cs_min_r2",
                        "cs_avg_r2", "posterior_mean", "posterior_sd", "z"]
EXTRA_COLUMNS = ["cs_index", "cs_coverage", "cs_min_abs_corr", "cs_mean_abs_corr"]
L_EFFECTS = 10
_TEXT_COLUMNS = {"phenotype_id", "variant_id", "cs_id", "cs_index"}


@dataclass(frozen=True)
class SusieOptions:
    """What to fit: ``L`` single effects of prior variance ``scaled_prior_variance``·var(y); credible sets of
    level ``coverage`` whose members correlate by at least ``min_abs_corr`` (|r|). susieR's defaults."""

    L: int = L_EFFECTS
    scaled_prior_variance: float = 0.2
    coverage: float = 0.95
    min_abs_corr: float = 0.5


def credible_set_schema() -> pa.Schema:
    """Arrow schema of ``susie_credible_sets.parquet`` (:data:`CREDIBLE_SET_COLUMNS` + :data:`EXTRA_COLUMNS`)."""
    return pa.schema([(c, pa.string() if c in _TEXT_COLUMNS else pa.int64() if c == "cs_size" else pa.float64())
                      for c in CREDIBLE_SET_COLUMNS + EXTRA_COLUMNS])


def pip_schema(L: int = L_EFFECTS) -> pa.Schema:
    """Arrow schema of ``susie_pip.parquet``: ``phenotype_id, variant_id, pip, lbf_1 … lbf_L``."""
    return pa.schema([("phenotype_id", pa.string()), ("variant_id", pa.string()), ("pip", pa.float64())]
                     + [(f"lbf_{k + 1}", pa.float64()) for k in range(L)])


@dataclass
class SusieSummary:
    """What a fine-mapping run did."""

    n_phenotypes: int = 0
    n_with_sets: int = 0
    n_sets: int = 0
    not_converged: list[str] = field(default_factory=list)
    no_variants: list[str] = field(default_factory=list)


def read_phenotype_list(path: str | os.PathLike[str]) -> list[str]:
    """Phenotype ids, one per line (blank lines and ``#`` comments skipped), in file order without repeats."""
    require_file(path, "phenotype list")
    try:
        with open_text(path) as fh:
            ids = [line.strip() for line in fh]
    except (OSError, UnicodeDecodeError, EOFError) as e:
        raise InputFileError(path, f"cannot read the phenotype list ({e})") from None
    ids = [i for i in ids if i and not i.startswith("#")]
    if not ids:
        raise InputFileError(path, "no phenotype id in the list")
    return list(dict.fromkeys(ids))


def phenotypes_to_map(inputs: MappingInputs, phenotype_list: str | None, cis: pd.DataFrame | None, fdr: float,
                      cis_path: str = "--cis-output") -> list[str]:
    """The phenotype ids to fine-map, in BED order (see the module docstring).

    Raises:
        QtlAtlasError: ids that are not in the phenotype BED, or both a list and a cis output.
    """
    known = list(inputs.phenotypes.phenotype_ids)
    if phenotype_list is not None and cis is not None:
        raise QtlAtlasError("give either --phenotypes or --cis-output, not both")
    if phenotype_list is not None:
        wanted = set(read_phenotype_list(phenotype_list))
        source = phenotype_list
    elif cis is not None:
        significant = cis[cis["qval"] <= fdr]
        if inputs.groups is not None:
            group_of = inputs.groups
            groups = set(significant["group_id"]) if "group_id" in significant else set(
                group_of.reindex(significant["phenotype_id"]).dropna())
            wanted = set(group_of.index[group_of.isin(groups)])
        else:
            wanted = set(significant["phenotype_id"])
        source = cis_path
    else:
        return known
    missing = sorted(wanted - set(known))
    if missing:
        raise QtlAtlasError(f"{source}: {len(missing)} phenotype(s) are not in the phenotype BED, e.g. "
                            f"{', '.join(missing[:3])}")
    return [p for p in known if p in wanted]


def susie_tables(inputs: MappingInputs, phenotype_ids: list[str], window: int, maf_threshold: float = 0.0,
                 progress=None, options: SusieOptions | None = None, min_mac: int = 0,
                 ) -> tuple[pd.DataFrame, pd.DataFrame, SusieSummary]:
    """Fine-map ``phenotype_ids`` (none: empty tables): (credible-set table, PIP table, summary). Variants below
    ``maf_threshold`` or ``min_mac`` (minor-allele copies among the samples) are left out, as in the cis pass."""
    options = options or SusieOptions()
    advance = progress("SuSiE fine-mapping", len(phenotype_ids), 1) if progress else (lambda _n: None)
    wanted = set(phenotype_ids)
    summary = SusieSummary()
    cs_parts, pip_parts = [], []
    for chrom in inputs.chromosomes():
        on_chrom = [p for p, c in zip(inputs.phenotypes.phenotype_ids, inputs.phenotypes.positions["chrom"],
                                      strict=True) if c == chrom and p in wanted]
        if not on_chrom:
            continue
        data = prepare_chromosome(inputs, chrom, on_chrom, window, maf_threshold, min_mac)
        for cs, pip in _fine_map_chromosome(data, summary, advance, options):
            if cs is not None:
                cs_parts.append(cs)
            pip_parts.append(pip)
    cs_table = pd.concat(cs_parts, ignore_index=True) if cs_parts else _empty_credible_sets()
    pip_table = pd.concat(pip_parts, ignore_index=True) if pip_parts else _empty_pips(options.L)
    return cs_table, pip_table, summary


def write_susie_tables(cs_table: pd.DataFrame, pip_table: pd.DataFrame, cs_path: str | os.PathLike[str],
                       pip_path: str | os.PathLike[str]) -> None:
    """Write the two tables of :func:`susie_tables` as Parquet with their schemas (also when empty: object
    columns of no rows would otherwise be written as Arrow's null type)."""
    import pyarrow.parquet as pq

    L = sum(1 for c in pip_table.columns if c.startswith("lbf_"))
    for table, schema, path in ((cs_table, credible_set_schema(), cs_path), (pip_table, pip_schema(L), pip_path)):
        tmp = f"{os.fspath(path)}.part"
        pq.write_table(pa.Table.from_pandas(table, schema=schema, preserve_index=False), tmp)
        os.replace(tmp, path)


def run_cis_susie(inputs: MappingInputs, prefix: str, phenotype_ids: list[str], window: int,
                  maf_threshold: float = 0.0, progress=None, options: SusieOptions | None = None,
                  min_mac: int = 0) -> SusieSummary:
    """Fine-map ``phenotype_ids`` and write ``PREFIX.susie_credible_sets.parquet`` and ``PREFIX.susie_pip.parquet``."""
    cs_table, pip_table, summary = susie_tables(inputs, phenotype_ids, window, maf_threshold, progress, options,
                                                min_mac)
    write_susie_tables(cs_table, pip_table, f"{prefix}.susie_credible_sets.parquet", f"{prefix}.susie_pip.parquet")
    return summary


def _fine_map_chromosome(data: SusieChromosome, summary: SusieSummary, advance, options: SusieOptions):
    """Yield (credible sets, PIPs) tables of the phenotypes of ``data``, a block of phenotypes with
    neighbouring windows at a time."""
    empty = data.stops <= data.starts
    summary.no_variants += list(data.phenotype_ids[empty])
    advance(int(empty.sum()))
    rows = np.flatnonzero(~empty)
    lo, hi = data.starts[rows], data.stops[rows]
    order = np.lexsort((hi, lo))
    for block in _blocks(order, hi - lo, LOCKSTEP_VARIANTS):
        b_rows, b_lo, b_hi = rows[block], lo[block], hi[block]
        c0, c1 = int(b_lo.min()), int(b_hi.max())
        X = data.dosages[c0:c1].T  # residualised dosages (n, m)
        fits = fit_susie_windows(X, data.phenotypes[b_rows], b_lo - c0, b_hi - c0, L=options.L,
                                 scaled_prior_variance=options.scaled_prior_variance)
        cs, pip = [], []
        for k, (row, fit) in enumerate(zip(b_rows, fits, strict=True)):
            window = np.arange(b_lo[k], b_hi[k])
            table = _credible_set_rows(data, row, fit, window, summary, options)
            if table is not None:
                cs.append(table)
            pip.append(_pip_rows(data, row, fit, window, options.L))
            summary.n_phenotypes += 1
            if not fit.converged:
                summary.not_converged.append(data.phenotype_ids[row])
        advance(len(b_rows))
        yield (pd.concat(cs, ignore_index=True) if cs else None), pd.concat(pip, ignore_index=True)


def _blocks(order: np.ndarray, sizes: np.ndarray, budget: int) -> list[np.ndarray]:
    """``order`` cut into consecutive runs whose ``sizes[order]`` add up to at most ``budget`` (or one)."""
    out, begin, total = [], 0, 0
    for k, index in enumerate(order):
        if k > begin and total + sizes[index] > budget:
            out.append(order[begin:k])
            begin, total = k, 0
        total += sizes[index]
    out.append(order[begin:])
    return out


def _credible_set_rows(data: SusieChromosome, row: int, fit: SusieFit, window: np.ndarray, summary: SusieSummary,
                       options: SusieOptions) -> pd.DataFrame | None:
    """The credible-set rows of one phenotype (None when it has no credible set)."""
    phenotype_id = data.phenotype_ids[row]
    sets = credible_sets(fit, data.dosages[window].T, coverage=options.coverage, min_abs_corr=options.min_abs_corr)
    if not sets:
        return None
    summary.n_with_sets += 1
    summary.n_sets += len(sets)
    z = data.marginal_t(row, window)
    pip, mean, sd = fit.pip, fit.posterior_mean, fit.posterior_sd
    parts = []
    for s in sets:
        m = s.variants
        parts.append(pd.DataFrame({
            "phenotype_id": phenotype_id, "variant_id": data.variant_ids[window[m]],
            "cs_id": f"{phenotype_id}_{s.name}", "cs_size": len(m), "pip": pip[m], "cs_log10bf": s.log10bf,
            "cs_min_r2": s.min_r2, "cs_avg_r2": s.avg_r2, "posterior_mean": mean[m], "posterior_sd": sd[m],
            "z": z[m], "cs_index": s.name, "cs_coverage": s.coverage, "cs_min_abs_corr": s.min_abs_corr,
            "cs_mean_abs_corr": s.mean_abs_corr}))
    return pd.concat(parts, ignore_index=True)


def _pip_rows(data: SusieChromosome, row: int, fit: SusieFit, window: np.ndarray, L: int) -> pd.DataFrame:
    table = {"phenotype_id": data.phenotype_ids[row], "variant_id": data.variant_ids[window], "pip": fit.pip}
    lbf = np.full((L, len(window)), np.nan)
    lbf[:fit.lbf_variable.shape[0]] = fit.lbf_variable
    for k in range(L):
        table[f"lbf_{k + 1}"] = lbf[k]
    return pd.DataFrame(table)


def _empty_credible_sets() -> pd.DataFrame:
    text = {"phenotype_id", "variant_id", "cs_id", "cs_index"}
    integer = {"cs_size"}
    return pd.DataFrame({c: pd.Series(dtype=object if c in text else np.int64 if c in integer else np.float64)
                         for c in CREDIBLE_SET_COLUMNS + EXTRA_COLUMNS})


def _empty_pips(L: int = L_EFFECTS) -> pd.DataFrame:
    columns = {"phenotype_id": object, "variant_id": object, "pip": np.float64}
    columns.update({f"lbf_{k + 1}": np.float64 for k in range(L)})
    return pd.DataFrame({c: pd.Series(dtype=t) for c, t in columns.items()})
