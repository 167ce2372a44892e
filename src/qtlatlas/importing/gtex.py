"""``qtlatlas import gtex DIR``: an ``atlas.yaml`` naming, in place, per-tissue results in GTEx's layout (see
docs/import.md).

Files are found anywhere under ``DIR`` by their GTEx names (``{T}``: the tissue, e.g. ``Adipose_Subcutaneous``;
``{v}``: the release, e.g. ``v8``)::

    {T}.{v}.egenes.txt.gz                    top association per gene, with q-values        → expression cis
    {T}.{v}.signif_variant_gene_pairs.txt.gz significant pairs                              → expression signif_pairs
    {T}.{v}.independent_eqtls.txt.gz         conditionally independent eQTLs                → expression independent
    {T}.allpairs.txt.gz / {T}.{v}.allpairs…  every tested pair (nominal pass)               → expression nominal
    {T}.{v}.normalized_expression.bed.gz     the mapped (normalised) expression             → expression phenotypes
    {T}.{v}.covariates.txt                   covariates                                      → expression covariates
    {T}.{v}.sgenes.txt.gz, {T}.{v}.sqtl_signifpairs.txt.gz, {T}.{v}.independent_sqtls.txt.gz,
    {T}.{v}.leafcutter.bed.gz, {T}.{v}.sqtl_covariates.txt  the same for splicing (intron excision)

GTEx does not publish individual genotypes nor its annotation beside these files: the command takes them.
TPM matrices (GTEx publishes one GCT of every tissue) are not taken: the expression pages then show the
normalised values' tissues only.
"""

from __future__ import annotations

import re
from pathlib import Path

from ..errors import QtlAtlasError
from .yaml_out import relative, write_atlas_yaml

#: (pattern of the file name after ``{tissue}.``, modality, results key); ``{v}`` is the release.
PATTERNS = [
    (r"(v\d+)\.egenes\.txt\.gz", "expression", "cis"),
    (r"(v\d+)\.signif_variant_gene_pairs\.txt\.gz", "expression", "signif_pairs"),
    (r"(v\d+)\.independent_eqtls\.txt\.gz", "expression", "independent"),
    (r"(?:(v\d+)\.)?allpairs\.txt\.gz", "expression", "nominal"),
    (r"(v\d+)\.normalized_expression\.bed\.gz", "expression", "phenotypes"),
    (r"(v\d+)\.covariates\.txt(?:\.gz)?", "expression", "covariates"),
    (r"(v\d+)\.sgenes\.txt\.gz", "splicing", "cis"),
    (r"(v\d+)\.sqtl_signifpairs\.txt\.gz", "splicing", "signif_pairs"),
    (r"(v\d+)\.independent_sqtls\.txt\.gz", "splicing", "independent"),
    (r"(v\d+)\.leafcutter\.bed\.gz", "splicing", "phenotypes"),
    (r"(v\d+)\.sqtl_covariates\.txt(?:\.gz)?", "splicing", "covariates"),
]
_TISSUE = r"([A-Za-z0-9][A-Za-z0-9_-]*)"


def find_files(root: Path) -> tuple[dict[str, dict[str, dict[str, Path]]], set[str]]:
    """``tissue -> modality -> results key -> file`` of the GTEx-layout files under ``root``, and the release
    versions named in them."""
    found: dict[str, dict[str, dict[str, Path]]] = {}
    versions: set[str] = set()
    compiled = [(re.compile(rf"{_TISSUE}\.{p}"), m, k) for p, m, k in PATTERNS]
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        for rx, modality, key in compiled:
            match = rx.fullmatch(path.name)
            if match:
                tissue = match.group(1)
                if match.group(2):
                    versions.add(match.group(2))
                slot = found.setdefault(tissue, {}).setdefault(modality, {})
                if key in slot:
                    raise QtlAtlasError(f"{path}: a second {key} file of {tissue} {modality} (also {slot[key]})")
                slot[key] = path
                break
    return found, versions


def atlas_config(root: Path, release: str, out: Path, *, genotypes: list[Path], annotation: Path, genome: str,
                 name: str | None = None) -> dict:
    """The ``atlas.yaml`` content naming the GTEx-layout files under ``root`` (paths relative to ``out``)."""
    root = Path(root).resolve()
    if not root.is_dir():
        raise QtlAtlasError(f"{root}: not a directory")
    found, versions = find_files(root)
    base = out.resolve().parent
    tissues, per_tissue = [], {}
    for tissue in sorted(found):
        mods = {}
        for modality, files in found[tissue].items():
            if "cis" not in files:
                continue  # no top-association table: nothing the portal can show for it
            results = {k: ([relative(p, base)] if k == "nominal" else relative(p, base)) for k, p in files.items()}
            mods[modality] = {"results": results}
        if mods:
            per_tissue[tissue] = mods
            tissues.append({"id": tissue, "name": tissue.replace("_", " ")})
    if not per_tissue:
        raise QtlAtlasError(f"{root}: no {{tissue}}.{{version}}.egenes.txt.gz (or sgenes) file: nothing to import")
    version = sorted(versions)[-1] if versions else release
    return {"atlas": {"name": name or f"GTEx {version}"}, "tissues": tissues,
            "releases": [{"id": release, "genome": genome, "annotation": relative(annotation, base),
                          "genotypes": [relative(p, base) for p in genotypes], "tissues": per_tissue}]}


def import_gtex(directory: str | Path, release: str, out: str | Path, *, genotypes: list[Path], annotation: Path,
                genome: str = "GRCh38", name: str | None = None, overwrite: bool = False) -> Path:
    """Write ``out`` (an ``atlas.yaml``) naming the GTEx-layout files under ``directory`` in place."""
    out = Path(out)
    data = atlas_config(Path(directory), release, out, genotypes=list(genotypes), annotation=Path(annotation),
                        genome=genome, name=name)
    header = (f"Imported by `qtlatlas import gtex {Path(directory).resolve()}` (GTEx layout).\n"
              "The files are named where they are; nothing was copied. Check with `qtlatlas validate`, publish with "
              "`qtlatlas build`.")
    return write_atlas_yaml(data, out, header, overwrite=overwrite)
