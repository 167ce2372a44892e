"""Adaptive against full permutations (and full permutations with another seed, the Monte Carlo reference) on
phenotypes of the pipeline benchmark's simulated tissue: the measurement the default of
``mapping.adaptive_permutations`` rests on."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .pipeline_atlas import MODALITIES, SMALL_GENOME, TISSUE, GenomeSpec, Layout, genome_subset, write_atlas


@dataclass
class AdaptiveComparison:
    """Full against adaptive permutations on ``n`` phenotypes: times (wall s, CPU s), permutations run per
    phenotype, eGenes (q ≤ 0.05) of each and of both, the discordant phenotypes (q and pval_beta of each run),
    Pearson r of −log10 pval_beta over all phenotypes and over the ``n_near`` within 10× of the full run's
    Beta p-value threshold ``threshold``, genes with a planted QTL; the same discordance and r near the
    threshold between two full runs with different seeds (the Monte Carlo noise of full permutations).
    ``n`` counts the units mapped (phenotypes, or genes of a grouped modality), ``n_phenotypes`` their
    phenotypes."""

    modality: str
    n: int
    n_phenotypes: int
    full_s: tuple[float, float]      # wall, CPU of the cis permutation pass (cis_table), 2 threads
    adaptive_s: tuple[float, float]
    perms_full: float                 # permutations run per phenotype (mean)
    perms_adaptive: float
    egenes_full: int
    egenes_adaptive: int
    overlap: int
    discordant: pd.DataFrame
    r_all: float
    r_near: float
    n_near: int
    threshold: float
    planted: int
    reference_discordant: int  # full permutations with another seed against the first full run
    reference_r_near: float

    @property
    def speedup(self) -> float:
        """Ratio of CPU times (the machine may be shared; the pass uses its 2 threads throughout)."""
        return self.full_s[1] / self.adaptive_s[1]

    def supports_default(self, fdr: float = 0.05) -> tuple[bool, str]:
        """Adaptive permutations as the default only when the calls they change are as few and as marginal as
        those of full permutations with another seed: at most 1% of the significant units, each within 10% of
        the FDR in both runs; r ≥ 0.99 near the threshold; and at least 1.5× less CPU in the pass."""
        d = self.discordant
        share = len(d) / max(self.egenes_full, 1)
        marginal = bool(((d["qval_full"] - fdr).abs() <= 0.1 * fdr).all() and
                        ((d["qval_adaptive"] - fdr).abs() <= 0.1 * fdr).all())
        if share > 0.01 or not marginal:
            return False, (f"{len(d)} of {self.egenes_full} calls ({share:.1%}) change"
                           + ("" if marginal else ", some of them away from the threshold"))
        if not self.r_near >= 0.99:
            return False, f"−log10 pval_beta near the threshold correlate only r = {self.r_near:.4f} (< 0.99)"
        if self.speedup < 1.5:
            return False, f"only {self.speedup:.2f}× less CPU (< 1.5×)"
        return True, (f"{len(d)} call(s) change ({share:.2%}; another seed: {self.reference_discordant}), all with q "
                      f"within 10% of {fdr}; r = {self.r_near:.4f} near the threshold; {self.speedup:.1f}× less CPU")


def compare_adaptive(spec: GenomeSpec, genome: Path, layout: Layout, work: Path, n_genes: int,
                     modality: str = "expression") -> AdaptiveComparison:
    """Full (10,000) and adaptive permutations on the phenotypes of ``modality`` of ``n_genes`` genes drawn
    among those of the small genome (the whole atlas's density there), through the pipeline's preparation
    (5 genotype PCs, 20 phenotype PCs) and cis pass; grouped modalities are compared per gene (group)."""
    import qtlatlas.engine.cis as engine
    from qtlatlas.mapping.inputs import load_mapping_inputs
    from qtlatlas.mapping.run import MapOptions, cis_table
    from qtlatlas.pipeline import qtl_tasks

    prefix = genome_subset(genome, SMALL_GENOME, genome.parent)
    on = np.flatnonzero(layout.genes["chrom"].isin(SMALL_GENOME).to_numpy() & (layout.n_features[modality] > 0))
    genes = np.sort(np.random.default_rng(7).choice(on, size=min(n_genes, len(on)), replace=False))
    files = write_atlas(work, spec, genome, prefix, layout, genes, SMALL_GENOME, modalities=(modality,))
    grouped = next(m for m in MODALITIES if m.id == modality).grouped
    out = work / "prepared"
    out.mkdir(exist_ok=True)
    pruned = str(out / "pruned.txt")
    qtl_tasks.prune({"variants": pruned}, 2, [str(prefix)])
    prepared = {"phenotypes": str(out / "phenotypes.bed.gz"), "covariates": str(out / "covariates.txt"),
                "median": str(out / "median.tsv.gz"), **({"groups": str(out / "groups.txt")} if grouped else {})}
    qtl_tasks.prepare(prepared, 2, str(work / "phenotypes" / f"{TISSUE}.{modality}.bed.gz"), [str(prefix)], pruned,
                      None, 5, 20, grouped, None)
    inputs = load_mapping_inputs([str(prefix)], prepared["phenotypes"], prepared["covariates"],
                                 prepared.get("groups"))
    counted: list[int] = []
    original = engine.max_r2_permutations

    def counting(prep, i, perms, ws=None):
        counted.append(perms.n_permutations)
        return original(prep, i, perms, ws)

    results = {}
    engine.max_r2_permutations = counting
    try:
        runs = {"full": (False, 12345), "adaptive": (True, 12345), "reference": (False, 54321)}
        for run, (adaptive, seed) in runs.items():
            counted.clear()
            w0, c0 = time.perf_counter(), time.process_time()
            options = MapOptions(permutations=10_000, seed=seed, threads=2, adaptive=adaptive)
            table, summary = cis_table(inputs, options)
            results[run] = (table, summary, (time.perf_counter() - w0, time.process_time() - c0),
                            sum(counted) / max(len(inputs.phenotypes.phenotype_ids), 1))
    finally:
        engine.max_r2_permutations = original
    key = "group_id" if grouped else "phenotype_id"
    full = results["full"][0].set_index(key)
    ada, ref = (results[r][0].set_index(key).reindex(full.index) for r in ("adaptive", "reference"))
    threshold = results["full"][1].pval_threshold or 0.05
    lf = -np.log10(full["pval_beta"].to_numpy())

    def agreement(other: pd.DataFrame) -> tuple[pd.Series, float, float, int]:
        lo = -np.log10(other["pval_beta"].to_numpy())
        ok = np.isfinite(lf) & np.isfinite(lo)
        near = ok & (np.abs(lf + np.log10(threshold)) <= 1.0)
        changed = (full["qval"] <= 0.05) != (other["qval"] <= 0.05)
        return (changed, float(np.corrcoef(lf[ok], lo[ok])[0, 1]), float(np.corrcoef(lf[near], lo[near])[0, 1]),
                int(near.sum()))

    changed, r_all, r_near, n_near = agreement(ada)
    ref_changed, _, ref_r_near, _ = agreement(ref)
    disc = pd.DataFrame({"qval_full": full["qval"], "qval_adaptive": ada["qval"],
                         "pval_beta_full": full["pval_beta"], "pval_beta_adaptive": ada["pval_beta"]})[changed]
    sig_f, sig_a = full["qval"] <= 0.05, ada["qval"] <= 0.05
    return AdaptiveComparison(modality, len(full), sum(files.n_phenotypes.values()), results["full"][2],
                              results["adaptive"][2], results["full"][3], results["adaptive"][3],
                              int(sig_f.sum()), int(sig_a.sum()), int((sig_f & sig_a).sum()), disc, r_all, r_near,
                              n_near, float(threshold), int(files.effects["gene_id"].nunique()),
                              int(ref_changed.sum()), ref_r_near)


def print_adaptive(c: AdaptiveComparison) -> None:
    units = "phenotypes" if c.n == c.n_phenotypes else f"genes ({c.n_phenotypes:,} phenotypes)"
    print(f"  adaptive vs full permutations, {c.modality}: {c.n:,} {units}, {c.planted:,} genes with a planted QTL; "
          "10,000 permutations, 2 threads, the pipeline's cis pass (cis_table: preparation of 5 chromosomes included)")
    print(f"    full:     {c.full_s[0]:7.1f} s wall {c.full_s[1]:7.1f} s CPU, {c.perms_full:,.0f} permutations "
          f"per phenotype ({c.full_s[1] / c.n_phenotypes * 1e3:.0f} ms CPU per phenotype, preparation included)")
    print(f"    adaptive: {c.adaptive_s[0]:7.1f} s wall {c.adaptive_s[1]:7.1f} s CPU, {c.perms_adaptive:,.0f} "
          f"permutations per phenotype on average → {c.speedup:.2f}× less CPU "
          f"(wall {c.full_s[0] / c.adaptive_s[0]:.2f}×)")
    print(f"    significant (q ≤ 0.05): full {c.egenes_full:,}, adaptive {c.egenes_adaptive:,}, both {c.overlap:,}, "
          f"discordant {len(c.discordant)}")
    for pid, row in c.discordant.head(10).iterrows():
        print(f"      {pid}: q {row.qval_full:.4f} → {row.qval_adaptive:.4f}, pval_beta {row.pval_beta_full:.3g} → "
              f"{row.pval_beta_adaptive:.3g}")
    print(f"    Pearson r of −log10 pval_beta: all phenotypes {c.r_all:.5f}; the {c.n_near:,} within 10× of the "
          f"threshold (pval_beta {c.threshold:.3g}) {c.r_near:.5f}")
    print(f"    full permutations with another seed against the first: {c.reference_discordant} discordant, "
          f"r near the threshold {c.reference_r_near:.5f} (the Monte Carlo noise of 10,000 permutations)")
    from qtlatlas.config import MappingSettings

    ok, why = c.supports_default()
    current = MappingSettings().adaptive_permutations
    print(f"    → supports mapping.adaptive_permutations default {ok}: {why}; the default is {current}"
          + ("" if ok == current else "  ** differs from this measurement **"))
