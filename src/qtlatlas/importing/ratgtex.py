"""``qtlatlas import ratgtex DIR``: an ``atlas.yaml`` naming, in place, the files of an atlas published in the
RatGTEx portal's layout (see docs/import.md for the file-by-file mapping).

``DIR`` is a release directory such as ``v4/`` holding (``{v}``: the release, ``{g}``: the genome build, both
read from the file names)::

    tissue_info.{v}.tsv                         tissues (required)
    gene.{v}.tsv, exon.{v}.tsv                  annotation, gene flags and descriptions (gene table required)
    geno/{dataset}.{g}.vcf.gz                   genotypes (the dataset named in tissue_info)
    expr/medianGeneExpression.{v}.tsv.gz        median TPM per gene and tissue
    phenos/phenos.{T}.{M}.{unnorm|norm}.{v}_{g}.bed.gz   phenotypes per tissue × modality
    eqtl/top_assoc.{v}_{g}.tsv, eqtl/eqtls_indep.{v}_{g}.tsv, eqtl/all_gene_esnps.{v}.zip   eQTLs, every tissue
    xqtl/top_assoc.{M}.{v}_{g}.tsv, xqtl/xqtls_indep.{M}.{v}_{g}.tsv   xQTLs per modality (and cross_modality)
    xqtl/cis_qtl_signif.{T}.{M}.{v}_{g}.txt.gz  significant pairs per tissue × modality
    cis_pvals/{T}.{v}.zip                       every cis p-value of a tissue's expression (per-gene archive)

Only ``tissue_info``, the gene table, the genotypes and one result table are required; whatever else is
present is named. Nothing is copied or converted: ``qtlatlas validate`` and ``qtlatlas build`` read the files
as they are.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ..config import CROSS_MODALITY, DEFAULT_MODALITIES
from ..errors import QtlAtlasError
from ..io.ratgtex import read_tissue_info
from .yaml_out import relative, write_atlas_yaml

MODALITIES = [m.id for m in DEFAULT_MODALITIES]
_TABLE_EXT = r"(?:tsv|txt)(?:\.gz)?"


@dataclass
class RatgtexLayout:
    """The files found in a RatGTEx release directory (absolute paths; None / empty when absent)."""

    root: Path
    version: str
    genome: str
    tissue_info: Path
    genes: Path
    exons: Path | None
    genotypes: list[Path]
    medians: Path | None
    shared: dict[str, dict[str, Path]] = field(default_factory=dict)  # modality -> cis/independent/signif_pairs
    beds: dict[tuple[str, str, str], Path] = field(default_factory=dict)  # (tissue, modality, norm) -> BED
    signif: dict[tuple[str, str], Path] = field(default_factory=dict)  # (tissue, modality) -> signif pairs
    nominal: dict[str, Path] = field(default_factory=dict)  # tissue -> expression cis p-values archive


def _one(root: Path, pattern: str) -> Path | None:
    """The file under ``root`` whose path relative to it matches ``pattern`` (a regex), or None."""
    rx = re.compile(pattern)
    hits = sorted(p for p in root.rglob("*") if p.is_file() and rx.fullmatch(p.relative_to(root).as_posix()))
    return hits[0] if hits else None


def find_layout(root: str | Path) -> RatgtexLayout:
    """Find the files of a RatGTEx release directory.

    Raises:
        QtlAtlasError: the directory or a required file is missing, or its tissues use several genotype sets.
    """
    root = Path(root).resolve()
    if not root.is_dir():
        raise QtlAtlasError(f"{root}: not a directory (give the release directory of a RatGTEx layout, e.g. .../v4)")
    info = _one(root, rf"tissue_info\.([^./]+)\.{_TABLE_EXT}")
    if info is None:
        raise QtlAtlasError(f"{root}: no tissue_info.{{release}}.tsv: not a RatGTEx release directory")
    version = re.match(r"tissue_info\.([^.]+)\.", info.name).group(1)
    v = re.escape(version)
    genes = _one(root, rf"gene\.{v}\.{_TABLE_EXT}")
    if genes is None:
        raise QtlAtlasError(f"{root}: no gene.{version}.tsv (the gene table of the release)")
    genome = None
    for p in sorted(root.rglob(f"*.{version}_*")):
        m = re.search(rf"\.{v}_([A-Za-z0-9]+)\.", p.name)
        if m:
            genome = m.group(1)
            break
    if genome is None:
        raise QtlAtlasError(f"{root}: no file named *.{version}_{{genome}}.* tells the genome build")
    g = re.escape(genome)
    layout = RatgtexLayout(root=root, version=version, genome=genome, tissue_info=info, genes=genes,
                           exons=_one(root, rf"exon\.{v}\.{_TABLE_EXT}"), genotypes=[],
                           medians=_one(root, rf"(?:expr/)?medianGeneExpression\.{v}\.{_TABLE_EXT}"))
    tissues = read_tissue_info(info)
    datasets = sorted(set(tissues["dataset"].dropna())) if "dataset" in tissues else []
    if len(datasets) > 1:
        raise QtlAtlasError(f"{info}: tissues use {len(datasets)} genotype sets ({', '.join(datasets)}); a release "
                            "takes one set of genotyped samples: merge the VCFs (bcftools merge) and name the result")
    vcfs = sorted(p for p in root.glob("geno/*.vcf.gz") if not datasets or p.name.startswith(f"{datasets[0]}."))
    if not vcfs:
        raise QtlAtlasError(f"{root}/geno: no genotype VCF" + (f" of dataset {datasets[0]}" if datasets else ""))
    layout.genotypes = vcfs[:1] if datasets else vcfs
    for modality, folder in [("expression", "eqtl"), *[(m, "xqtl") for m in [*MODALITIES, CROSS_MODALITY]]]:
        tag = "" if folder == "eqtl" else rf"{re.escape(modality)}\."
        found = {
            "cis": _one(root, rf"{folder}/top_assoc\.{tag}{v}_{g}\.{_TABLE_EXT}"),
            "independent": _one(root, rf"{folder}/(?:eqtls|xqtls)_indep\.{tag}{v}_{g}\.{_TABLE_EXT}"),
            "signif_pairs": _one(root, rf"eqtl/all_gene_esnps\.{v}\.zip") if folder == "eqtl" else None,
        }
        found = {k: p for k, p in found.items() if p is not None}
        if found:
            layout.shared.setdefault(modality, {}).update(found)
    for p in sorted(root.glob("phenos/phenos.*.bed.gz")):
        m = re.fullmatch(rf"phenos\.([^.]+)\.([^.]+)\.(unnorm|norm)\.{v}_{g}\.bed\.gz", p.name)
        if m:
            layout.beds[(m.group(1), m.group(2), m.group(3))] = p
    for p in sorted(root.glob("xqtl/cis_qtl_signif.*")):
        m = re.fullmatch(rf"cis_qtl_signif\.([^.]+)\.([^.]+)\.{v}_{g}\.{_TABLE_EXT}", p.name)
        if m:
            layout.signif[(m.group(1), m.group(2))] = p
    for p in sorted(root.glob(f"cis_pvals/*.{version}.zip")):
        layout.nominal[p.name[: -len(f".{version}.zip")]] = p
    if not layout.shared and not layout.signif:
        raise QtlAtlasError(f"{root}: no QTL table (eqtl/top_assoc.{version}_{genome}.tsv, xqtl/…) to import")
    return layout


def _tissues_of(path: Path) -> list[str]:
    """The distinct values of the ``tissue`` column of a multi-tissue table (file order)."""
    col = pd.read_csv(path, sep="\t", usecols=["tissue"], dtype=str)["tissue"]
    return list(dict.fromkeys(col.dropna()))


def atlas_config(layout: RatgtexLayout, release: str, out: Path, name: str | None = None) -> dict:
    """The ``atlas.yaml`` content (a dict) naming the files of ``layout``, paths relative to ``out``'s directory."""
    base = out.resolve().parent

    def rel(p: Path) -> str:
        return relative(p, base)

    info = read_tissue_info(layout.tissue_info)
    tissue_ids = list(info["tissueSiteDetailId"])
    tissues = []
    for row in info.to_dict("records"):
        colour = str(row.get("colorHex") or "").strip().lstrip("#")
        entry = {"id": row["tissueSiteDetailId"], "name": row.get("tissueSiteDetail") or row["tissueSiteDetailId"]}
        if re.fullmatch(r"[0-9A-Fa-f]{6}", colour):
            entry["colour"] = f"#{colour.lower()}"
        for key, column in (("site", "tissueSite"), ("abbreviation", "tissueSiteDetailAbbr")):
            if row.get(column):
                entry[key] = row[column]
        tissues.append(entry)

    results: dict[str, dict] = {}
    present: dict[str, set[str]] = {}  # modality -> tissues with rows in a shared table
    for modality, files in layout.shared.items():
        results[modality] = {k: rel(p) for k, p in files.items()}
        present[modality] = set()
        for key in ("cis", "independent"):
            if key in files:
                present[modality] |= set(_tissues_of(files[key]))
    if layout.medians is not None:
        results.setdefault("expression", {})["median"] = rel(layout.medians)

    per_tissue: dict[str, dict[str, dict]] = {}
    for tissue in tissue_ids:
        mods: dict[str, dict] = {}
        for modality in MODALITIES:
            entry: dict = {}
            own: dict = {}
            if (tissue, modality, "unnorm") in layout.beds:
                entry["bed"] = rel(layout.beds[(tissue, modality, "unnorm")])
            if (tissue, modality, "norm") in layout.beds:
                own["phenotypes"] = rel(layout.beds[(tissue, modality, "norm")])
            if (tissue, modality) in layout.signif:
                own["signif_pairs"] = rel(layout.signif[(tissue, modality)])
            if modality == "expression" and tissue in layout.nominal:
                own["nominal"] = [rel(layout.nominal[tissue])]
            has_shared = tissue in present.get(modality, set())
            if not has_shared and "cis" not in own:
                continue  # nothing to import for this tissue × modality
            if own:
                entry["results"] = own
            elif "bed" not in entry:
                entry["results"] = {}
            mods[modality] = entry
        if mods:
            per_tissue[tissue] = mods
    if not per_tissue:
        raise QtlAtlasError(f"{layout.root}: no tissue of {layout.tissue_info.name} has results to import")
    unknown = sorted(set().union(*present.values()) - set(tissue_ids)) if present else []
    if unknown:
        raise QtlAtlasError(f"result tables name tissues absent from {layout.tissue_info}: {', '.join(unknown)}")

    annotation = {"genes": rel(layout.genes)}
    if layout.exons is not None:
        annotation["exons"] = rel(layout.exons)
    release_entry = {"id": release, "genome": layout.genome, "annotation": annotation,
                     "genotypes": [rel(p) for p in layout.genotypes]}
    dataset_ids = sorted(set(info["datasetId"].dropna())) if "datasetId" in info else []
    if len(dataset_ids) == 1:
        release_entry["dataset_id"] = dataset_ids[0]
    if results:
        release_entry["results"] = results
    release_entry["tissues"] = per_tissue
    used = [t for t in tissues if t["id"] in per_tissue]
    return {"atlas": {"name": name or f"RatGTEx {layout.version}"}, "tissues": used, "releases": [release_entry]}


def import_ratgtex(directory: str | Path, release: str, out: str | Path, *, name: str | None = None,
                   overwrite: bool = False) -> Path:
    """Write ``out`` (an ``atlas.yaml``) naming the RatGTEx-layout files of ``directory`` in place; returns its path."""
    layout = find_layout(directory)
    out = Path(out)
    data = atlas_config(layout, release, out, name)
    header = (f"Imported by `qtlatlas import ratgtex {layout.root}` (RatGTEx layout, release "
              f"{layout.version}, genome {layout.genome}).\nThe files are named where they are; nothing was copied. "
              "Check with `qtlatlas validate`, publish with `qtlatlas build`.")
    return write_atlas_yaml(data, out, header, overwrite=overwrite)
