"""The task graph of a release: every tissue × modality, and cross-modality per tissue.

Per tissue × modality with a phenotype BED (entries with only imported ``results`` are not mapped; a BED
declared ``normalised`` is mapped as given, and each entry may set its own numbers of computed PCs; PC counts
left to the default are not computed when the entry's covariates already hold such PCs:
:mod:`qtlatlas.mapping.covariate_design`)::

    prepare → cis → independent
                  → nominal (+ significant pairs)
                  → aFC (when a counts BED is given)          → summary
                  → finemap (finemapping.enabled: SuSiE of the significant phenotypes)
            → trans (modalities in mapping.trans_modalities)

plus one release-wide ``prune`` (LD-pruned common variants for genotype PCs), and, per tissue with at least
two mapped modalities, ``cross_modality``: prepare (concatenate, group by gene) → cis → independent → summary;
and (``qc.enabled``) one ``sample_qc`` after every cis pass: the sex and identity checks of
:mod:`.sample_qc`.

When ``atlas.yaml`` lists TWAS traits (``twas.traits``), the TWAS of the release (:mod:`.twas_tasks`)::

    prepare (per tissue × modality in twas.tissues × twas.modalities) → twas weights (panel)
    every panel → twas assoc (per trait) → twas post (per trait)

Outputs are laid out as :mod:`qtlatlas.results` describes, under ``WORK/{release}/``.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

from .. import __version__
from ..config import Atlas
from ..io.phenotypes import read_bed_samples
from ..io.sample_labels import sample_individuals
from ..mapping.covariate_design import PcRequest
from ..results import (
    CROSS_MODALITY,
    FILE_NAMES,
    twas_assoc_file,
    twas_panel_directory,
    twas_panel_id,
    twas_post_directory,
    twas_selection,
)
from .graph import Task

_FUNC = "qtlatlas.pipeline.qtl_tasks:"
_TWAS = "qtlatlas.pipeline.twas_tasks:"


def genotype_files(path: str | os.PathLike[str]) -> list[str]:
    """The files behind a genotype path: a VCF/BCF (and its index), or the files of a PLINK fileset."""
    p = str(path)
    for suffixes in ((".pgen", ".pvar", ".psam"), (".bed", ".bim", ".fam")):
        for suffix in suffixes:
            if p.endswith(suffix):
                p = p[: -len(suffix)]
                break
        if all(os.path.exists(p + s) for s in suffixes):
            return [p + s for s in suffixes]
    return [str(path)] + [str(path) + i for i in (".tbi", ".csi") if os.path.exists(str(path) + i)]


def _mapping_params(atlas: Atlas) -> dict:
    m = atlas.mapping
    return {"window": m.window, "permutations": m.permutations, "seed": m.seed, "maf_threshold": m.maf_threshold,
            "min_mac": m.min_mac, "fdr": m.fdr, "qvalue_lambda": m.qvalue_lambda, "trans_pval_threshold": m.trans_pval_threshold}


def _cis_params(atlas: Atlas) -> dict:
    """The mapping parameters of the cis permutation pass: the shared ones plus its own (only the tasks that
    use a setting carry it, so changing it re-runs those tasks and what depends on their outputs)."""
    return {**_mapping_params(atlas), "adaptive_permutations": atlas.mapping.adaptive_permutations}


def plan_release(atlas: Atlas, release_id: str, work: str | os.PathLike[str]) -> list[Task]:
    """Tasks computing every result of ``release_id`` into ``work``.

    Every task's parameters carry the qtlatlas version, so results of another version are recomputed.
    """
    return [_versioned(t) for t in _plan(atlas, release_id, work)]


def _versioned(task: Task) -> Task:
    return dataclasses.replace(task, params={**task.params, "version": __version__})


def _plan(atlas: Atlas, release_id: str, work: str | os.PathLike[str]) -> list[Task]:
    release = atlas.release(release_id)
    rid = release.id
    root = Path(work).resolve() / rid
    geno = [str(g) for g in release.genotypes]
    geno_files = [f for g in geno for f in genotype_files(g)]
    mapping = _mapping_params(atlas)
    cis_mapping = _cis_params(atlas)
    pruned = str(root / "pruned_variants.txt")
    tasks = [Task(id=f"{rid}/prune", func=_FUNC + "prune", params={"genotypes": geno}, inputs=tuple(geno_files),
                  outputs={"variants": pruned}, label=f"{rid} LD pruning")]
    mapped: dict[str, dict[str, dict[str, str | None]]] = {}
    for tissue, modality, inp in release.inputs():
        if inp.bed is None:
            continue
        d = root / tissue / modality
        out = {k: str(d / v) for k, v in FILE_NAMES.items()}
        grouped = atlas.modality(modality).grouped
        base = f"{rid}/{tissue}/{modality}"
        label = f"{rid} {tissue} {modality}"
        prepare_inputs = [str(inp.bed), pruned, *geno_files] + ([str(inp.groups)] if inp.groups else []) + (
            [str(inp.covariates)] if inp.covariates else [])
        prepare_outputs = {"phenotypes": out["phenotypes"], "covariates": out["covariates"]}
        if not inp.normalised:  # medians of expression levels; a normalised BED has none
            prepare_outputs["median"] = out["median"]
        if grouped:
            prepare_outputs["groups"] = out["groups"]
        request = PcRequest.of(inp, atlas.mapping)
        prepare_params = {"bed": str(inp.bed), "genotypes": geno, "pruned": pruned,
                          "extra_covariates": str(inp.covariates) if inp.covariates else None,
                          "n_genotype_pcs": request.genotype, "n_phenotype_pcs": request.phenotype, "grouped": grouped,
                          "groups": str(inp.groups) if inp.groups else None}
        if inp.normalised:  # only when set: the fingerprints of existing atlases' tasks stay as they were
            prepare_params["normalised"] = True
        if inp.normalization != "quantile":  # likewise
            prepare_params["normalization"] = inp.normalization
            if inp.normalization == "tmm" and inp.counts is not None:
                prepare_params["counts"] = str(inp.counts)
                prepare_inputs.append(str(inp.counts))
        relabel = sample_individuals(release.samples, tissue, read_bed_samples(inp.bed)) if release.samples else {}
        if relabel:  # RNA sample ids that differ from the genotype ids (only then: fingerprints stay as they were)
            prepare_params["relabel"] = relabel
            prepare_inputs.append(str(release.samples))
        if inp.covariates:  # the lab's covariates may hold PCs: what was decided is recorded
            prepare_outputs["design"] = out["design"]
            if request.defaults():
                prepare_params["default_pcs"] = request.defaults()
        tasks.append(Task(id=f"{base}/prepare", func=_FUNC + "prepare", label=f"{label}: prepare",
                          params=prepare_params, inputs=tuple(prepare_inputs), outputs=prepare_outputs,
                          deps=(f"{rid}/prune",)))
        groups = out["groups"] if grouped else None
        common = {"phenotypes": out["phenotypes"], "covariates": out["covariates"], "genotypes": geno}
        mapped_inputs = (out["phenotypes"], out["covariates"], *geno_files) + ((groups,) if groups else ())
        tasks += _mapping_tasks(base, label, common, groups, mapped_inputs, out, mapping, cis_mapping, f"{base}/prepare",
                                tissue, modality, nominal=True)
        if atlas.finemapping.enabled:
            tasks.append(_finemap_task(atlas, base, label, common, groups, mapped_inputs, out))
        if modality in atlas.mapping.trans_modalities:
            tasks.append(Task(id=f"{base}/trans", func=_FUNC + "trans", label=f"{label}: trans",
                              params={**common, "mapping": mapping}, inputs=mapped_inputs[:2 + len(geno_files)],
                              outputs={"trans": out["trans"]}, deps=(f"{base}/prepare",)))
        if inp.counts is not None:
            tasks.append(Task(id=f"{base}/afc", func=_FUNC + "afc", label=f"{label}: aFC",
                              params={**common, "counts": str(inp.counts), "cis": out["cis"],
                                      "independent": out["independent"], "mapping": mapping,
                                      **({"relabel": relabel} if relabel else {})},
                              inputs=(*mapped_inputs[:2 + len(geno_files)], str(inp.counts), out["cis"], out["independent"]),
                              outputs={"afc": out["afc"]}, deps=(f"{base}/cis", f"{base}/independent")))
        mapped.setdefault(tissue, {})[modality] = {"phenotypes": out["phenotypes"], "groups": groups}
    for tissue, modalities in mapped.items():
        if len(modalities) >= 2:
            tasks += _cross_modality_tasks(rid, root, tissue, modalities, geno, geno_files, pruned, atlas, mapping,
                                           cis_mapping)
    if atlas.qc.enabled and mapped:
        tasks.append(_sample_qc_task(atlas, rid, root, mapped, geno_files))
    if atlas.twas.traits:
        tasks += _twas_tasks(atlas, rid, Path(work).resolve(), geno, geno_files)
    return tasks


def _sample_qc_task(atlas: Atlas, rid: str, root: Path, mapped: dict[str, dict[str, dict[str, str | None]]],
                    geno_files: list[str]) -> Task:
    """Sample QC (:mod:`.sample_qc`) after the cis pass of every mapped tissue × modality."""
    from .sample_qc import REPORT_FILE

    release = atlas.release(rid)
    bases = [f"{rid}/{t}/{m}" for t, mods in mapped.items() for m in mods]
    results = [str(root / t / m / FILE_NAMES[k]) for t, mods in mapped.items() for m in mods
               for k in ("cis", "phenotypes")]
    sheets = [str(p) for p in (release.samples, release.individuals) if p is not None]
    raw = [str(inp.bed) for t, m, inp in release.inputs() if m == "expression" and inp.bed is not None]
    return Task(id=f"{rid}/sample_qc", func="qtlatlas.pipeline.sample_qc:sample_qc_task", label=f"{rid} sample QC",
                params={"release": release.model_dump(mode="json", exclude_unset=True),
                        "qc": atlas.qc.model_dump(mode="json"),
                        "fdr": atlas.mapping.fdr, "work": str(root.parent)},
                inputs=(*results, *sheets, *raw, *geno_files), outputs={"report": str(root / REPORT_FILE)},
                deps=tuple(f"{b}/cis" for b in bases))


def _twas_inputs(atlas: Atlas, rid: str, work: Path) -> list[tuple[str, str, str, str | None, str | None, str | None]]:
    """(tissue, modality, normalised phenotypes, covariates, groups, producing task or None) of every tissue ×
    modality selected for TWAS weights (:func:`qtlatlas.results.twas_selection`): mapped ones use the prepare
    task's outputs, imported ones the ``results.phenotypes`` / ``results.covariates`` they name."""
    release = atlas.release(rid)
    inputs = {(t, m): inp for t, m, inp in release.inputs()}
    out = []
    for tissue, modality in twas_selection(release, atlas.twas):
        inp = inputs[(tissue, modality)]
        grouped = atlas.modality(modality).grouped
        if inp.bed is not None:
            d = work / rid / tissue / modality
            out.append((tissue, modality, str(d / FILE_NAMES["phenotypes"]), str(d / FILE_NAMES["covariates"]),
                        str(d / FILE_NAMES["groups"]) if grouped else None, f"{rid}/{tissue}/{modality}/prepare"))
        else:
            cov = inp.results.covariates or inp.covariates
            out.append((tissue, modality, str(inp.results.phenotypes), str(cov) if cov else None,
                        str(inp.groups) if inp.groups else None, None))
    return out


def _twas_tasks(atlas: Atlas, rid: str, work: Path, geno: list[str], geno_files: list[str]) -> list[Task]:
    """Weights per selected tissue × modality, association and post-processing per trait."""
    settings = atlas.twas
    ld = [str(p) for p in settings.ld_reference] or geno
    ld_files = [f for p in ld for f in genotype_files(p)]
    tasks: list[Task] = []
    panels: list[dict] = []
    for tissue, modality, phenotypes, covariates, groups, producer in _twas_inputs(atlas, rid, work):
        panel = twas_panel_id(tissue, modality)
        directory = str(twas_panel_directory(work, rid, tissue, modality)) + "/"
        inputs = [phenotypes, *([covariates] if covariates else []), *([groups] if groups else []), *geno_files]
        tasks.append(Task(id=f"{rid}/twas/weights/{panel}", func=_TWAS + "weights",
                          label=f"{rid} {tissue} {modality}: TWAS weights",
                          params={"panel": panel, "tissue": tissue, "modality": modality, "phenotypes": phenotypes,
                                  "covariates": covariates, "groups": groups, "genotypes": geno,
                                  "window": settings.window, "models": list(settings.models),
                                  "crossval": settings.crossval, "hsq_p": settings.hsq_p, "seed": settings.seed},
                          inputs=tuple(inputs), outputs={"panel": directory},
                          deps=(producer,) if producer else ()))
        panels.append({"panel": panel, "tissue": tissue, "modality": modality, "path": directory})
    weight_tasks = tuple(t.id for t in tasks)
    for trait in settings.traits:
        assoc_file = str(twas_assoc_file(work, rid, trait.id))
        common = {"trait": trait.id, "sumstats": str(trait.sumstats), "panels": panels, "ld_reference": ld}
        inputs = (str(trait.sumstats), *[p["path"] for p in panels], *ld_files)
        tasks.append(Task(id=f"{rid}/twas/assoc/{trait.id}", func=_TWAS + "assoc",
                          label=f"{rid} TWAS association: {trait.id}",
                          params={**common, "gwas_n": trait.n, "coloc_p": settings.coloc_p, "perm": settings.perm,
                                  "seed": settings.seed},
                          inputs=inputs, outputs={"assoc": assoc_file}, deps=weight_tasks))
        tasks.append(Task(id=f"{rid}/twas/post/{trait.id}", func=_TWAS + "post",
                          label=f"{rid} TWAS loci: {trait.id}",
                          params={**common, "assoc": assoc_file, "locus_window": settings.locus_window,
                                  "locus_stability": True, "significant_only": True, "guard": True},
                          inputs=(*inputs, assoc_file),
                          outputs={"post": str(twas_post_directory(work, rid, trait.id)) + "/"},
                          deps=(f"{rid}/twas/assoc/{trait.id}",)))
    return tasks


def _mapping_tasks(base: str, label: str, common: dict, groups: str | None, mapped_inputs: tuple, out: dict,
                   mapping: dict, cis_mapping: dict, prepared: str, tissue: str, modality: str, nominal: bool) -> list[Task]:
    tasks = [
        Task(id=f"{base}/cis", func=_FUNC + "cis", label=f"{label}: cis permutations",
             params={**common, "groups": groups, "mapping": cis_mapping}, inputs=mapped_inputs,
             outputs={"cis": out["cis"]}, deps=(prepared,)),
        Task(id=f"{base}/independent", func=_FUNC + "independent", label=f"{label}: independent",
             params={**common, "groups": groups, "cis": out["cis"], "mapping": mapping},
             inputs=(*mapped_inputs, out["cis"]), outputs={"independent": out["independent"]}, deps=(f"{base}/cis",)),
        Task(id=f"{base}/summary", func=_FUNC + "summary", label=f"{label}: summary",
             params={"tissue": tissue, "modality": modality, "phenotypes": out["phenotypes"], "cis": out["cis"],
                     "independent": out["independent"], "fdr": mapping["fdr"]},
             inputs=(out["phenotypes"], out["cis"], out["independent"]), outputs={"summary": out["summary"]},
             deps=(f"{base}/cis", f"{base}/independent")),
    ]
    if nominal:
        nominal_dir = str(Path(out["cis"]).parent / "nominal") + "/"
        tasks.append(Task(id=f"{base}/nominal", func=_FUNC + "nominal", label=f"{label}: nominal",
                          params={**common, "groups": groups, "cis": out["cis"], "mapping": mapping},
                          inputs=(*mapped_inputs, out["cis"]),
                          outputs={"nominal": nominal_dir, "signif_pairs": out["signif_pairs"]}, deps=(f"{base}/cis",)))
    return tasks


def _finemap_task(atlas: Atlas, base: str, label: str, common: dict, groups: str | None, mapped_inputs: tuple,
                  out: dict) -> Task:
    """SuSiE fine-mapping of the phenotypes (every phenotype of the groups) with q ≤ FDR of the cis pass."""
    m, f = atlas.mapping, atlas.finemapping
    settings = {"L": f.L, "scaled_prior_variance": f.scaled_prior_variance, "coverage": f.coverage,
                "min_abs_corr": f.min_abs_corr}
    return Task(id=f"{base}/finemap", func=_FUNC + "finemap", label=f"{label}: fine-mapping",
                params={**common, "groups": groups, "cis": out["cis"], "window": m.window,
                        "maf_threshold": m.maf_threshold, "min_mac": m.min_mac, "fdr": m.fdr, "finemapping": settings},
                inputs=(*mapped_inputs, out["cis"]),
                outputs={"susie_credible_sets": out["susie_credible_sets"], "susie_pip": out["susie_pip"]},
                deps=(f"{base}/prepare", f"{base}/cis"))


def _cross_modality_tasks(rid: str, root: Path, tissue: str, modalities: dict, geno: list[str], geno_files: list[str],
                          pruned: str, atlas: Atlas, mapping: dict, cis_mapping: dict) -> list[Task]:
    d = root / tissue / CROSS_MODALITY
    out = {k: str(d / v) for k, v in FILE_NAMES.items()}
    base, label = f"{rid}/{tissue}/{CROSS_MODALITY}", f"{rid} {tissue} cross-modality"
    sources = [p for m in modalities.values() for p in (m["phenotypes"], m["groups"]) if p]
    prepare = Task(id=f"{base}/prepare", func=_FUNC + "crossmodal_prepare", label=f"{label}: prepare",
                   params={"modalities": modalities, "genotypes": geno, "pruned": pruned,
                           "n_genotype_pcs": atlas.mapping.genotype_pcs, "n_phenotype_pcs": atlas.mapping.phenotype_pcs},
                   inputs=(*sources, pruned, *geno_files),
                   outputs={"phenotypes": out["phenotypes"], "groups": out["groups"], "covariates": out["covariates"]},
                   deps=tuple(f"{rid}/{tissue}/{m}/prepare" for m in modalities) + (f"{rid}/prune",))
    common = {"phenotypes": out["phenotypes"], "covariates": out["covariates"], "genotypes": geno}
    inputs = (out["phenotypes"], out["covariates"], *geno_files, out["groups"])
    return [prepare, *_mapping_tasks(base, label, common, out["groups"], inputs, out, mapping, cis_mapping,
                                     f"{base}/prepare", tissue, CROSS_MODALITY, nominal=False)]
