"""The QTL steps of a release as pipeline task functions.

Each function is called by the runner as ``f(outputs=..., threads=..., version=..., **params)``: it reads
the files named in ``params`` and writes each output to the path ``outputs[name]`` (a temporary path the
runner moves into place); ``version`` (the qtlatlas version, part of every fingerprint) is not used. Outputs are deterministic (seeded, no timestamps), so every executor produces
byte-identical files. File formats are those of :mod:`qtlatlas.results`.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd

from ..engine.normalize import median_per_phenotype
from ..engine.pca import pca_covariates
from ..errors import QtlAtlasError, SampleMismatchError
from ..io.covariates import read_covariates, write_covariates
from ..io.genotype_set import open_genotype_files
from ..io.groups import gene_of, read_groups
from ..io.normalised import read_normalised_bed
from ..io.phenotypes import read_bed_samples, read_phenotype_bed, write_phenotype_bed
from ..io.sample_labels import relabel as relabel_table
from ..io.sample_labels import relabel_frame, relabel_names
from ..io.text import write_tsv_gz
from ..mapping.covariate_design import (
    GENOTYPE,
    PHENOTYPE,
    PcRequest,
    check_covariate_matrix,
    design_covariates,
    name_runs,
)
from ..mapping.crossmodal import concatenate_modalities
from ..mapping.inputs import load_mapping_inputs
from ..mapping.prepare import normalised_table, pruned_dosages, pruned_variant_ids
from ..mapping.run import (
    MapOptions,
    afc_table,
    cis_table,
    independent_table,
    nominal_tables,
    read_cis_output,
    significant_pairs_of,
    trans_table,
    write_parquet,
)
from ..mapping.untestable import find_untestable


def _options(mapping: dict, threads: int) -> MapOptions:
    """Engine options from a task's mapping parameters (``adaptive_permutations`` only in the cis task's)."""
    return MapOptions(window=mapping["window"], permutations=mapping["permutations"], seed=mapping["seed"],
                      maf_threshold=mapping["maf_threshold"], min_mac=int(mapping.get("min_mac", 0)), fdr=mapping["fdr"],
                      qvalue_lambda=mapping["qvalue_lambda"],
                      threads=threads, trans_pval_threshold=mapping["trans_pval_threshold"],
                      adaptive=bool(mapping.get("adaptive_permutations", False)))


def prune(outputs: dict[str, str], threads: int, genotypes: list[str], version: str = "") -> None:
    """LD-pruned common variants of the release (all genotyped samples): one variant id per line."""
    kept = pruned_variant_ids(open_genotype_files(genotypes))
    Path(outputs["variants"]).write_text("".join(f"{v}\n" for v in kept))


def _pruned_dosages(genotypes: list[str], pruned: str, samples: list[str]) -> np.ndarray:
    return pruned_dosages(open_genotype_files(genotypes), Path(pruned).read_text().split(), samples)


def _write_groups(path: str, phenotype_ids: list[str], groups_file: str | None) -> None:
    mapping = read_groups(groups_file) if groups_file else None
    genes = [mapping.get(p, gene_of(p)) if mapping is not None else gene_of(p) for p in phenotype_ids]
    Path(path).write_text("".join(f"{p}\t{g}\n" for p, g in zip(phenotype_ids, genes, strict=True)))


def prepare(outputs: dict[str, str], threads: int, bed: str, genotypes: list[str], pruned: str,
            extra_covariates: str | None, n_genotype_pcs: int, n_phenotype_pcs: int, grouped: bool,
            groups: str | None, normalised: bool = False, default_pcs: list[str] | None = None,
            version: str = "", normalization: str = "quantile", counts: str | None = None,
            relabel: dict[str, str] | None = None) -> None:
    """Normalised phenotypes (genotyped samples), covariates, medians of raw values, and groups.

    ``relabel`` (sample id -> individual id, :mod:`qtlatlas.io.sample_labels`) renames the columns of the BED,
    the counts BED and the lab's covariates that are RNA sample ids to the individuals the genotypes name;
    the outputs name individuals.

    Otherwise the BED is normalised by ``normalization`` (:mod:`qtlatlas.engine.normalize`; TMM factors from
    the ``counts`` BED when given). With ``normalised`` the BED's values are kept as given (written exactly; a row with a missing value or
    constant across the genotyped samples is refused) and no medians are written (the values are not
    expression levels). Covariates (:mod:`qtlatlas.mapping.covariate_design`): ``n_genotype_pcs`` genotype PCs
    and ``n_phenotype_pcs`` phenotype PCs, then the user's; for the kinds in ``default_pcs`` (counts left to
    the default in atlas.yaml) none when the user's covariates already hold PCs of that kind. The user's alone
    are written exactly as given, and none at all as a header line only; ``outputs["design"]``, when asked
    for, records what was decided (:meth:`~qtlatlas.mapping.covariate_design.CovariateDesign.to_json`), and
    the task's log says it.

    Raises:
        QtlAtlasError: the covariate matrix cannot be used (constant or collinear covariates, no residual degree
            of freedom).
    """
    genotyped = set(open_genotype_files(genotypes).samples)
    names = relabel or {}
    if normalised:
        columns = read_bed_samples(bed)
        individuals = relabel_names(columns, names, bed)
        kept = [c for c, i in zip(columns, individuals, strict=True) if i in genotyped]
        table = relabel_table(read_normalised_bed(bed, kept), names, bed)
        samples = table.samples
    else:
        raw = relabel_table(read_phenotype_bed(bed, allow_missing=True), names, bed)
        samples = [s for s in raw.samples if s in genotyped]
        raw = raw.subset_samples(samples)
        table, _ = normalised_table(raw, normalization, counts, relabel=names)
        write_tsv_gz(pd.DataFrame({"phenotype_id": raw.phenotype_ids, "median": median_per_phenotype(raw.values)}),
                     outputs["median"])
    write_phenotype_bed(table, outputs["phenotypes"], index=False, exact=normalised)
    extra = _lab_covariates(extra_covariates, samples, names) if extra_covariates else None
    defaults = set(default_pcs or ())
    request = PcRequest(n_genotype_pcs, n_phenotype_pcs, GENOTYPE not in defaults, PHENOTYPE not in defaults)
    design = design_covariates(samples, extra, request, lambda: _pruned_dosages(genotypes, pruned, samples),
                               lambda: table.values)
    problems = check_covariate_matrix(design.frame)
    if problems:
        raise QtlAtlasError(f"{extra_covariates or bed}: the covariates of {bed} cannot be used: "
                            f"{'; '.join(problems)} (qtlatlas validate names the atlas.yaml entry)")
    print(f"covariates: {len(design.frame)} (the lab's: {name_runs(design.lab)}; computed: {name_runs(design.computed)})")
    for note in design.notes:
        print(f"note: {note}")
    for warning in design.warnings:
        print(f"warning: {warning}")
    write_covariates(design.frame, outputs["covariates"], exact=extra is not None and not design.computed)
    if "design" in outputs:
        Path(outputs["design"]).write_text(json.dumps(design.to_json(), indent=1) + "\n")
    if grouped:
        _write_groups(outputs["groups"], table.phenotype_ids, groups)


def _lab_covariates(path: str, samples: list[str], names: dict[str, str]) -> pd.DataFrame:
    """The lab's covariates of ``samples`` (individual ids), its columns renamed by ``names`` first."""
    if not names:
        return read_covariates(path, samples)
    frame = relabel_frame(read_covariates(path), names, path)
    missing = [s for s in samples if s not in set(frame.columns)]
    if missing:
        raise SampleMismatchError(f"{path}: no covariates for {len(missing)} mapped sample(s) "
                                  f"({', '.join(missing[:3])}{', …' if len(missing) > 3 else ''})")
    return frame[samples]


def cis(outputs: dict[str, str], threads: int, phenotypes: str, covariates: str, genotypes: list[str],
        groups: str | None, mapping: dict, version: str = "") -> None:
    """Permutation pass with q-values (``cis_qtl.txt.gz``)."""
    inputs = load_mapping_inputs(genotypes, phenotypes, covariates, groups)
    untestable = find_untestable(inputs.phenotypes.positions, inputs.genotypes.variants, mapping["window"])
    if untestable.untestable:
        print(f"warning: {phenotypes}: {untestable.message()}; they are left out")
    table, _ = cis_table(inputs, _options(mapping, threads))
    write_tsv_gz(table, outputs["cis"])


def independent(outputs: dict[str, str], threads: int, phenotypes: str, covariates: str, genotypes: list[str],
                groups: str | None, cis: str, mapping: dict, version: str = "") -> None:
    """Conditionally independent signals (``cis_independent_qtl.txt.gz``)."""
    inputs = load_mapping_inputs(genotypes, phenotypes, covariates, groups)
    write_tsv_gz(independent_table(inputs, read_cis_output(cis), _options(mapping, threads)), outputs["independent"])


def nominal(outputs: dict[str, str], threads: int, phenotypes: str, covariates: str, genotypes: list[str],
            groups: str | None, cis: str, mapping: dict, version: str = "") -> None:
    """Nominal pass (one Parquet per chromosome in the ``nominal`` directory) and significant pairs."""
    inputs = load_mapping_inputs(genotypes, phenotypes, covariates, groups)
    options = _options(mapping, threads)
    files = []
    for chrom, table in nominal_tables(inputs, options):
        files.append(os.path.join(outputs["nominal"], f"cis_qtl_pairs.{chrom}.parquet"))
        write_parquet(table, files[-1])
    write_parquet(significant_pairs_of(files, read_cis_output(cis), options.fdr, inputs.groups), outputs["signif_pairs"])


def trans(outputs: dict[str, str], threads: int, phenotypes: str, covariates: str, genotypes: list[str],
          mapping: dict, version: str = "") -> None:
    """trans pairs below the threshold (``trans_qtl_pairs.parquet``)."""
    inputs = load_mapping_inputs(genotypes, phenotypes, covariates)
    write_parquet(trans_table(inputs, _options(mapping, threads)), outputs["trans"])


def afc(outputs: dict[str, str], threads: int, phenotypes: str, covariates: str, genotypes: list[str], counts: str,
        cis: str, independent: str, mapping: dict, version: str = "", relabel: dict[str, str] | None = None) -> None:
    """log2 aFC of the significant top QTLs and of the independent signals (``aFC.txt.gz``); ``relabel``
    names the counts BED's columns by individual (as :func:`prepare`)."""
    inputs = load_mapping_inputs(genotypes, phenotypes, covariates)
    top = read_cis_output(cis)
    ind = pd.read_csv(independent, sep="\t")
    qtls = [top.loc[top["qval"] <= mapping["fdr"], ["phenotype_id", "variant_id"]], ind[["phenotype_id", "variant_id"]]]
    pairs = pd.concat(qtls, ignore_index=True).drop_duplicates().reset_index(drop=True)
    write_tsv_gz(afc_table(inputs, pairs, counts, _options(mapping, threads), relabel=relabel), outputs["afc"])


def finemap(outputs: dict[str, str], threads: int, phenotypes: str, covariates: str, genotypes: list[str],
            groups: str | None, cis: str, window: int, maf_threshold: float, fdr: float, finemapping: dict,
            version: str = "", min_mac: int = 0) -> None:
    """SuSiE fine-mapping (:mod:`qtlatlas.mapping.susie`) of the phenotypes with q ≤ ``fdr`` in ``cis`` (every
    phenotype of a group with q ≤ ``fdr``), ``finemapping`` holding ``L, scaled_prior_variance, coverage,
    min_abs_corr``, on the variants the cis pass tested (``maf_threshold``, ``min_mac``): ``susie_credible_sets.parquet`` and ``susie_pip.parquet``, both empty (with their columns)
    when no phenotype is significant."""
    from ..mapping.susie import SusieOptions, phenotypes_to_map, susie_tables, write_susie_tables

    inputs = load_mapping_inputs(genotypes, phenotypes, covariates, groups)
    wanted = phenotypes_to_map(inputs, None, read_cis_output(cis), fdr, cis)
    options = SusieOptions(**finemapping)
    cs, pip, done = susie_tables(inputs, wanted, window, maf_threshold, options=options, min_mac=min_mac)
    write_susie_tables(cs, pip, outputs["susie_credible_sets"], outputs["susie_pip"])
    print(f"fine-mapped {done.n_phenotypes} of {len(wanted)} significant phenotype(s): {done.n_sets} credible set(s) "
          f"in {done.n_with_sets}")
    if done.no_variants:
        print(f"note: {len(done.no_variants)} phenotype(s) have no polymorphic variant in their window, e.g. "
              f"{', '.join(done.no_variants[:3])}")
    if done.not_converged:
        print(f"warning: {len(done.not_converged)} fit(s) did not converge, e.g. {', '.join(done.not_converged[:3])}")


def summary(outputs: dict[str, str], threads: int, tissue: str, modality: str, phenotypes: str, cis: str,
            independent: str, fdr: float, version: str = "") -> None:
    """Counts of the tissue × modality (``summary.json``): samples, phenotypes tested, significant
    phenotypes or groups, independent signals."""
    table = read_cis_output(cis)
    ind = pd.read_csv(independent, sep="\t")
    record = {"tissue": tissue, "modality": modality, "samples": len(read_bed_samples(phenotypes)), "tested": int(len(table)),
              "significant": int((table["qval"] <= fdr).sum()), "independent": int(len(ind))}
    Path(outputs["summary"]).write_text(json.dumps(record, indent=1, sort_keys=True) + "\n")


def crossmodal_prepare(outputs: dict[str, str], threads: int, modalities: dict[str, dict[str, str | None]],
                       genotypes: list[str], pruned: str, n_genotype_pcs: int, n_phenotype_pcs: int, version: str = "") -> None:
    """All modalities of a tissue concatenated (``modality:phenotype_id``), grouped by gene, with covariates
    from genotype PCs and PCs of the concatenated normalised phenotypes."""
    tables = {m: read_phenotype_bed(p["phenotypes"]) for m, p in modalities.items()}
    groups = {m: read_groups(p["groups"]) for m, p in modalities.items() if p.get("groups")}
    table, gene = concatenate_modalities(tables, groups)
    write_phenotype_bed(table, outputs["phenotypes"], index=False)
    Path(outputs["groups"]).write_text("".join(f"{p}\t{g}\n" for p, g in gene.items()))
    G = _pruned_dosages(genotypes, pruned, table.samples) if n_genotype_pcs else None
    write_covariates(pca_covariates(table.samples, G, table.values, n_genotype_pcs, n_phenotype_pcs), outputs["covariates"])
