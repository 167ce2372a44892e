"""PredictDB export of a release's TWAS weights (``qtlatlas twas export-predictdb``): one model database and
one covariance file per weights panel (tissue × modality), for PrediXcan / S-PrediXcan / MetaXcan
(file layouts: :mod:`qtlatlas.twas.predictdb_files`).

Model of each phenotype: the one ``twas predict`` uses (:func:`qtlatlas.twas.predict.chosen_weights`): the
largest cross-validation R² (first in model order on ties), a ``top1`` model reduced to its SNP of largest
|weight|, SNPs of weight 0 left out; phenotypes without a CV R² are not exported. (The ``best_model`` column the
weights step writes follows the same R² rule; ``twas assoc``, as FUSION's ``assoc_test``, picks the smallest CV
p-value instead, which may name another model.)

Weights: ours, like FUSION's, are fitted on **standardised** genotypes: ``ŷ_i = Σ_j w_j (d_ij − m_j) / s_j``
with ``d_ij`` the dosage (0..2) of SNP j's effect allele (the weights' A1) in training sample i, ``m_j`` its
mean and ``s_j`` its SD (divisor n − 1) over the training samples, missing calls mean-imputed. PredictDB
weights are per dosage of the effect allele, ``ŷ_i = Σ_j β_j d_ij``, so::

    β_j = w_j / s_j

and the PredictDB score equals the standardised one plus the per-gene constant ``−Σ_j β_j m_j`` (which
association tests ignore). ``s_j`` is computed from the release's genotype matrix over the **training
samples**: the samples of the panel's tissue measured for its modality (``tables/samples.parquet``) that are
genotyped, or every genotyped sample when the release records none. (The fit also left out, per phenotype,
the samples whose phenotype was missing; the release does not record those, so ``s_j`` is over the
tissue × modality's samples.) SNPs monomorphic in those samples (``s_j = 0``) contribute nothing to the
standardised prediction and are left out.

Covariance: of the effect-allele dosages of every two SNPs of a model over the same samples (``np.cov``,
divisor n − 1, missing calls mean-imputed), the matrix S-PrediXcan combines with the weights and the GWAS.

SNP ids: ``varID`` is ``{chrom}_{pos}_{ref}_{alt}`` with the release's chromosome name, reference and ALT
alleles (``chr1_12345_A_G`` on a release whose chromosomes are ``chr1``). ``rsid`` (what MetaXcan matches
against the GWAS's SNP column, and what names SNPs in the covariance file) is, with ``snp_id="rsid"`` (the
default), the release's variant id when it is an rsID (``rs`` followed by digits, and no other exported variant
of the panel shares it), else the varID; with ``snp_id="varid"`` always the varID. ``eff_allele`` is the
weights' A1 (the ALT allele of the release), ``ref_allele`` the other.

``extra``: ``gene`` the phenotype id (the gene id for expression), ``genename``/``gene_type`` from the release's
genes table (empty when the gene is not there or the annotation has no type), ``n.snps.in.model`` the SNPs
written, ``pred.perf.R2``/``pred.perf.pval`` the chosen model's CV R² and p-value, ``pred.perf.qval`` the
Benjamini–Hochberg q-value of that p over the panel's exported models (NULL where the p-value is missing).
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..errors import ConfigError, InputFileError, QtlAtlasError
from ..release import layout
from .fusion_io import TwasModel
from .predict_match import chosen_weights
from .predictdb_files import PredictDbWriter
from .release_genotypes import ReleaseGenotypes, TrainingSamples

SNP_ID_MODES = ("rsid", "varid")
_RSID = re.compile(r"^rs\d+$")


# ----------------------------------------------------------------------------------------------------------
# Ids
# ----------------------------------------------------------------------------------------------------------


def var_ids(chrom: Sequence[str], pos: Sequence[int], ref: Sequence[str], alt: Sequence[str]) -> list[str]:
    """``{chrom}_{pos}_{ref}_{alt}`` of each variant (MetaXcan's varID, the release's chromosome names)."""
    return [f"{c}_{int(p)}_{r}_{a}" for c, p, r, a in zip(chrom, pos, ref, alt, strict=True)]


def snp_names(variant_ids: Sequence[str], varids: Sequence[str], mode: str = "rsid") -> list[str]:
    """The ``rsid`` column: with ``mode="rsid"`` each variant's id when it is an rsID not shared by another
    variant of the list, else its varID; with ``mode="varid"`` the varIDs."""
    if mode not in SNP_ID_MODES:
        raise ConfigError("--snp-id", f"must be one of {', '.join(SNP_ID_MODES)}, not {mode!r}")
    if mode == "varid":
        return list(varids)
    ids = list(map(str, variant_ids))
    distinct = pd.DataFrame({"id": ids, "varid": list(varids)}).drop_duplicates()
    shared = set(distinct.loc[distinct.duplicated("id", keep=False), "id"])
    return [v if (i in shared or not _RSID.match(i)) else i for i, v in zip(ids, varids, strict=True)]


# ----------------------------------------------------------------------------------------------------------
# One model
# ----------------------------------------------------------------------------------------------------------


@dataclass
class DosageModel:
    """One phenotype's model on the dosage scale.

    Attributes:
        snps: ``(k,)`` rows: ``variant_id, chrom, pos, ref, alt, eff_allele, ref_allele``.
        weight: ``(k,)`` weight per dosage (0..2) of ``eff_allele``.
        covariance: ``(k, k)`` covariance of the effect-allele dosages over the training samples.
        model, r2, pval: the chosen model, its CV R² and CV p-value.
    """

    model: TwasModel
    snps: pd.DataFrame
    weight: np.ndarray
    covariance: np.ndarray
    name: str
    r2: float
    pval: float


def _effect_dosages(x: np.ndarray, alt_is_effect: np.ndarray) -> np.ndarray:
    """``(k, n)`` dosages of the effect alleles from ALT dosages ``x`` (NaN missing): ``2 − x`` where the
    effect allele is the reference, then each row's missing calls set to its mean over the called samples
    (0 without any call)."""
    d = np.where(alt_is_effect[:, None], x, 2.0 - x)
    missing = np.isnan(d)
    if missing.any():
        called = (~missing).sum(axis=1)
        means = np.divide(np.nansum(d, axis=1), called, out=np.zeros(len(d)), where=called > 0)
        d = np.where(missing, means[:, None], d)
    return d


class LocatedVariants:
    """The release variants of a set of weights (:meth:`ReleaseGenotypes.locate`), indexed once for every model.

    A weighted SNP is the release variant with its id, position and pair of alleles (either order).
    """

    def __init__(self, located: pd.DataFrame):
        self.table = located.reset_index(drop=True)
        keys = self._keys(self.table["variant_id"], self.table["pos"], self.table["ref"], self.table["alt"])
        first = ~keys.duplicated()
        self._index = keys[first]
        self._rows = np.flatnonzero(first)

    @staticmethod
    def _keys(ids, pos, x, y) -> pd.Index:
        x = pd.Series(x).astype(str).str.upper().to_numpy(dtype=object)
        y = pd.Series(y).astype(str).str.upper().to_numpy(dtype=object)
        lo, hi = np.where(x <= y, x, y), np.where(x <= y, y, x)
        return pd.Index([f"{i}:{int(p)}:{a}/{b}" for i, p, a, b in zip(map(str, ids), pos, lo, hi, strict=True)],
                        dtype=object)

    def rows_of(self, snps: pd.DataFrame) -> np.ndarray:
        """``(len(snps),)`` row of :attr:`table` of each weighted SNP (``snp, pos, a1, a2``), −1 when absent."""
        hit = self._index.get_indexer(self._keys(snps["snp"], snps["pos"], snps["a1"], snps["a2"]))
        return np.where(hit >= 0, self._rows[np.maximum(hit, 0)], -1)


def dosage_model(model: TwasModel, located: LocatedVariants, genotypes: ReleaseGenotypes,
                 training: TrainingSamples) -> tuple[DosageModel | None, str]:
    """The chosen model of ``model`` with weights per dosage (see the module docstring), or (None, why not)."""
    j, take, reason = chosen_weights(model)
    if reason:
        return None, reason
    snps = model.snps.iloc[take].reset_index(drop=True)
    w_std = model.weights[take, j].astype(np.float64)
    at = located.rows_of(snps)
    found = at >= 0
    if not found.all():
        return None, f"{int((~found).sum())} weighted SNP(s) not in the release's genotypes (id, position, alleles)"
    var = located.table.iloc[at].reset_index(drop=True)
    # the allele pairs are equal (LocatedVariants): A1 is the release's ALT allele, or its REF
    alt_is_effect = snps["a1"].str.upper().to_numpy() == var["alt"].str.upper().to_numpy()
    d = _effect_dosages(genotypes.dosages(var["row"].to_numpy(), training.keep), alt_is_effect)
    sd = d.std(axis=1, ddof=1) if d.shape[1] > 1 else np.zeros(len(d))
    poly = sd > 0
    if not poly.any():
        return None, "every weighted SNP is monomorphic in the training samples"
    d, var, snps = d[poly], var[poly].reset_index(drop=True), snps[poly].reset_index(drop=True)
    out = pd.DataFrame({"variant_id": var["variant_id"].astype(str), "chrom": var["chrom"].astype(str),
                        "pos": var["pos"].astype(np.int64), "ref": var["ref"].astype(str),
                        "alt": var["alt"].astype(str), "eff_allele": snps["a1"].astype(str),
                        "ref_allele": snps["a2"].astype(str)})
    r2 = float(model.cv_r2[0, j]) if model.cv_r2.size else math.nan
    pval = float(model.cv_pval[0, j]) if model.cv_pval.size else math.nan
    return DosageModel(model, out, w_std[poly] / sd[poly], np.atleast_2d(np.cov(d, ddof=1)),
                       model.models[j], r2, pval), ""


# ----------------------------------------------------------------------------------------------------------
# Panels of a release
# ----------------------------------------------------------------------------------------------------------


@dataclass
class PanelExport:
    """What the export of one panel wrote."""

    panel: str
    database: str
    covariance: str
    training: str
    n_phenotypes: int
    n_exported: int = 0
    n_weights: int = 0
    skipped: dict[str, int] = field(default_factory=dict)


def release_dir_of(site: str | os.PathLike[str], release: str) -> str:
    """The release's directory; InputFileError listing the site's releases when there is no such release."""
    rdir = layout.release_dir(site, release)
    if not rdir.is_dir():
        root = layout.releases_dir(site)
        have = sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")) \
            if root.is_dir() else []
        listed = f"releases there: {', '.join(have)}" if have else "it has no release"
        raise InputFileError(rdir, f"no release {release!r} in site {site} ({listed})")
    return os.fspath(rdir)


def panel_table(release_dir: str) -> pd.DataFrame:
    """``panel, tissue, modality`` of each TWAS weights panel of a release (``tables/twas_models.parquet``).

    Raises:
        InputFileError: the release has no TWAS weights.
    """
    path = os.path.join(release_dir, layout.table_path("twas_models"))
    weights = os.path.join(release_dir, layout.table_path("twas_weights"))
    for p in (path, weights):
        if not os.path.isfile(p):
            raise InputFileError(p, f"missing: release {os.path.basename(release_dir)} has no TWAS weights "
                                    "(built without TWAS)")
    table = pd.read_parquet(path, columns=["panel", "tissue", "modality"]).astype(str)
    return table.drop_duplicates().sort_values("panel").reset_index(drop=True)


def select_panels(panels: pd.DataFrame, release: str, *, tissue: str | None = None, modality: str | None = None,
                  panel: str | None = None, every: bool = False) -> list[str]:
    """The panels to export: ``every``, one ``panel``, or the panel of ``tissue`` × ``modality``.

    Raises:
        ConfigError: no or contradictory selection, or an unknown tissue, modality or panel (naming those that
            exist).
    """
    names = panels["panel"].tolist()
    if every:
        if panel or tissue or modality:
            raise ConfigError("--all", "exports every panel: leave out --panel, --tissue and --modality")
        return names
    if panel:
        if tissue or modality:
            raise ConfigError("--panel", "give --panel or --tissue with --modality, not both")
        if panel not in names:
            raise ConfigError("--panel", f"{panel!r} is not a TWAS panel of release {release} (panels: "
                                         f"{', '.join(names)})")
        return [panel]
    if not (tissue and modality):
        raise ConfigError("--panel", "choose the panel: --tissue with --modality, --panel TISSUE.MODALITY, or --all")
    for value, column, flag in ((tissue, "tissue", "--tissue"), (modality, "modality", "--modality")):
        have = sorted(set(panels[column]))
        if value not in have:
            raise ConfigError(flag, f"{value!r} is not a {column} of release {release}'s TWAS panels "
                                    f"({', '.join(have)})")
    hit = panels[(panels["tissue"] == tissue) & (panels["modality"] == modality)]
    if hit.empty:
        raise ConfigError("--modality", f"release {release} has no TWAS panel of {tissue} × {modality} (panels: "
                                        f"{', '.join(names)})")
    return hit["panel"].tolist()


def _gene_info(release_dir: str) -> pd.DataFrame:
    """``gene_name, gene_type`` by gene id (empty strings where unknown)."""
    path = os.path.join(release_dir, layout.table_path("genes"))
    if not os.path.isfile(path):
        return pd.DataFrame(columns=["gene_name", "gene_type"])
    import pyarrow.parquet as pq

    have = set(pq.read_schema(path).names)
    genes = pd.read_parquet(path, columns=[c for c in ("gene_id", "gene_name", "gene_type") if c in have])
    for c in ("gene_name", "gene_type"):
        genes[c] = genes[c].fillna("").astype(str) if c in genes else ""
    return genes.drop_duplicates("gene_id").set_index("gene_id")[["gene_name", "gene_type"]]


def bh_qvalues(p: np.ndarray) -> np.ndarray:
    """Benjamini–Hochberg q-values of ``p`` ``(m,)`` (NaN kept as NaN)."""
    from ..engine.qvalue import qvalues

    p = np.asarray(p, dtype=np.float64)
    if not np.isfinite(p).any():
        return np.full(p.shape, np.nan)
    return qvalues(np.clip(p, 0.0, 1.0), pi0=1.0)[0]


def _check_text(values: Sequence[str], what: str, source: str) -> None:
    bad = [v for v in values if not v or any(ch.isspace() for ch in v)]
    if bad:
        raise QtlAtlasError(f"{source}: {what} {bad[0]!r} is empty or contains white space, which the "
                            "space-separated covariance file cannot hold")


def export_panel(panel: str, models: Sequence[TwasModel], genotypes: ReleaseGenotypes, located: LocatedVariants,
                 training: TrainingSamples, genes: pd.DataFrame, out: str | os.PathLike[str],
                 snp_id: str = "rsid") -> PanelExport:
    """Write ``OUT/{panel}.db`` and ``OUT/{panel}.txt.gz`` for one panel's ``models`` (module docstring)."""
    converted: list[DosageModel] = []
    skipped: dict[str, int] = {}
    for m in models:
        dm, reason = dosage_model(m, located, genotypes, training)
        if dm is None:
            skipped[reason] = skipped.get(reason, 0) + 1
        else:
            converted.append(dm)
    all_snps = pd.concat([d.snps for d in converted], ignore_index=True) if converted else None
    names: dict[tuple[str, str], str] = {}
    if all_snps is not None:
        vids = var_ids(all_snps["chrom"], all_snps["pos"], all_snps["ref"], all_snps["alt"])
        rs = snp_names(all_snps["variant_id"].tolist(), vids, snp_id)
        names = dict(zip(vids, rs, strict=True))
        _check_text(list(names.values()), "SNP id", genotypes.positions_path)
        _check_text([d.model.phenotype_id for d in converted], "phenotype id", f"panel {panel}")
    writer = PredictDbWriter(out, panel)
    result = PanelExport(panel, str(writer.db_path), str(writer.cov_path), training.source, len(models),
                         skipped=skipped)
    try:
        for d in converted:
            s = d.snps
            vids = var_ids(s["chrom"], s["pos"], s["ref"], s["alt"])
            writer.add_gene(d.model.phenotype_id, [names[v] for v in vids], vids, s["ref_allele"].tolist(),
                            s["eff_allele"].tolist(), d.weight, d.covariance)
            result.n_weights += len(vids)
        q = bh_qvalues(np.array([d.pval for d in converted]))
        rows = []
        for d, qv in zip(converted, q, strict=True):
            gid = d.model.gene_id
            name, gtype = (genes.at[gid, "gene_name"], genes.at[gid, "gene_type"]) if gid in genes.index else ("", "")
            rows.append((d.model.phenotype_id, name, gtype, len(d.weight), _real(d.r2), _real(d.pval), _real(qv)))
        writer.add_extra(rows)
        writer.commit()
    except BaseException:
        writer.abort()
        raise
    result.n_exported = len(converted)
    return result


def _real(x: float) -> float | None:
    return float(x) if np.isfinite(x) else None


def export_release(site: str | os.PathLike[str], release: str, out: str | os.PathLike[str], *,
                   tissue: str | None = None, modality: str | None = None, panel: str | None = None,
                   every: bool = False, snp_id: str = "rsid") -> Iterator[PanelExport]:
    """Export the selected panels of a release (:func:`select_panels`), one at a time; yields what each wrote."""
    import pyarrow.parquet as pq

    from .predict_sources import release_panels

    if snp_id not in SNP_ID_MODES:
        raise ConfigError("--snp-id", f"must be one of {', '.join(SNP_ID_MODES)}, not {snp_id!r}")
    rdir = release_dir_of(site, release)
    table = panel_table(rdir)
    chosen = select_panels(table, release, tissue=tissue, modality=modality, panel=panel, every=every)
    wpath = os.path.join(rdir, layout.table_path("twas_weights"))
    ids = pq.read_table(wpath, columns=["variant_id"], filters=[("panel", "in", chosen)]).column("variant_id")
    genes = _gene_info(rdir)
    with ReleaseGenotypes(rdir) as genotypes:
        located = LocatedVariants(genotypes.locate(ids.unique().to_pylist()))
        by_panel = table.set_index("panel")
        for name, models in release_panels(site, release, panels=chosen):
            training = genotypes.training_samples(by_panel.at[name, "tissue"], by_panel.at[name, "modality"])
            yield export_panel(name, models, genotypes, located, training, genes, out, snp_id)
