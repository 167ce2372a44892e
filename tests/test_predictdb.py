"""``qtlatlas twas export-predictdb``: PredictDB databases and covariance files of the TWAS demo's release.

The per-dosage weights are checked against ``qtlatlas twas predict --scale standardised`` on the panel's
training samples (the two scores differ by a constant per phenotype), the covariances against ``np.cov`` of the
dosages read straight from the release's genotype matrix.
"""

from __future__ import annotations

import gzip
import shutil
import sqlite3
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from twas_demo import RELEASE, twas_demo

from qtlatlas.cli import build_parser
from qtlatlas.engine.ld import pack, unpack
from qtlatlas.errors import ConfigError, InputFileError
from qtlatlas.twas.predictdb import snp_names, var_ids

WEIGHTS_COLUMNS = [("gene", "TEXT"), ("rsid", "TEXT"), ("varID", "TEXT"), ("ref_allele", "TEXT"),
                   ("eff_allele", "TEXT"), ("weight", "REAL")]
EXTRA_COLUMNS = [("gene", "TEXT"), ("genename", "TEXT"), ("gene_type", "TEXT"), ("n.snps.in.model", "INTEGER"),
                 ("pred.perf.R2", "REAL"), ("pred.perf.pval", "REAL"), ("pred.perf.qval", "REAL")]
MODELS = ("top1", "lasso", "enet", "blup")


def main(argv: list[str]) -> int:
    """The command, its errors raised (``qtlatlas.cli.main`` prints them and returns 2)."""
    args = build_parser().parse_args(argv)
    return args.func(args)


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    return twas_demo(tmp_path_factory.getbasetemp())


@pytest.fixture(scope="module")
def exported(demo, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("predictdb")
    assert main(["twas", "export-predictdb", "--site", str(demo.site), "--release", RELEASE, "--all",
                 "--out", str(out)]) == 0
    return out


@pytest.fixture(scope="module")
def genotypes(demo):
    """(ALT dosages (variants × samples) float64 with NaN missing, samples, variants) of the release."""
    tables = demo.release_dir / "tables"
    samples = (tables / "genotype_matrix.samples.txt").read_text().splitlines()
    variants = pd.read_parquet(tables / "variants.parquet")
    raw = np.frombuffer((tables / "genotype_matrix.bed").read_bytes()[3:], dtype=np.uint8)
    calls = unpack(raw.reshape(len(variants), -1), len(samples))
    x = calls.astype(np.float64)
    x[calls < 0] = np.nan
    variants["varID"] = (variants["chrom"] + "_" + variants["pos"].astype(str) + "_" + variants["ref"] + "_"
                         + variants["alt"])
    return x, samples, variants


def training_columns(demo, samples: list[str], panel: str) -> np.ndarray:
    tissue, modality = panel.split(".")
    table = pd.read_parquet(demo.release_dir / "tables" / "samples.parquet")
    mine = set(table.loc[(table["tissue"] == tissue) & table["modalities"].map(lambda m: modality in list(m)),
                         "sample_id"])
    return np.array([s in mine for s in samples])


def read_db(path: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    with sqlite3.connect(path) as con:
        return pd.read_sql("SELECT * FROM weights", con), pd.read_sql("SELECT * FROM extra", con)


def panels(demo) -> list[str]:
    return sorted(pd.read_parquet(demo.release_dir / "tables" / "twas_models.parquet")["panel"].unique())


def effect_dosages(x: np.ndarray, variants: pd.DataFrame, weights: pd.DataFrame, keep: np.ndarray) -> np.ndarray:
    """(rows of ``weights``, kept samples) dosages of each row's eff_allele, missing calls mean-imputed."""
    at = pd.Index(variants["varID"]).get_indexer(weights["varID"])
    assert (at >= 0).all()
    d = x[at][:, keep]
    alt = variants["alt"].to_numpy()[at]
    is_alt = weights["eff_allele"].to_numpy() == alt
    assert (is_alt | (weights["eff_allele"].to_numpy() == variants["ref"].to_numpy()[at])).all()
    d = np.where(is_alt[:, None], d, 2.0 - d)
    means = np.nanmean(d, axis=1)
    return np.where(np.isnan(d), means[:, None], d)


# ----------------------------------------------------------------------------------------------------------
# Files and schema
# ----------------------------------------------------------------------------------------------------------


def test_one_file_pair_per_panel_with_predictdb_schema(demo, exported):
    names = panels(demo)
    assert sorted(p.name for p in exported.iterdir()) == sorted([f"{p}.db" for p in names]
                                                                + [f"{p}.txt.gz" for p in names])
    with sqlite3.connect(exported / f"{names[0]}.db") as con:
        for table, expected in (("weights", WEIGHTS_COLUMNS), ("extra", EXTRA_COLUMNS)):
            info = con.execute(f"PRAGMA table_info({table})").fetchall()
            assert [(r[1], r[2]) for r in info] == expected
        indexes = {r[0]: r[1] for r in con.execute("SELECT name, sql FROM sqlite_master WHERE type = 'index'")}
        assert "ON weights (gene)" in indexes["weights_gene"]
        assert "ON weights (rsid)" in indexes["weights_rsid"]
        assert "ON weights (varID)" in indexes["weights_varid"]
        # what MetaXcan's model loader selects
        con.execute("SELECT rsid, gene, weight, ref_allele, eff_allele FROM weights").fetchall()
        con.execute("SELECT gene, genename, `n.snps.in.model`, `pred.perf.R2`, `pred.perf.pval`, `pred.perf.qval` "
                    "FROM extra").fetchall()


def test_extra_describes_the_best_model_of_each_phenotype(demo, exported):
    profile = pd.read_parquet(demo.release_dir / "tables" / "twas_models.parquet")
    genes = pd.read_parquet(demo.release_dir / "tables" / "genes.parquet").set_index("gene_id")
    for panel in panels(demo):
        weights, extra = read_db(exported / f"{panel}.db")
        prof = profile[profile["panel"] == panel].set_index("phenotype_id")
        assert set(extra["gene"]) == set(prof.index)  # every demo phenotype has a CV R²
        counts = weights.groupby("gene").size()
        assert (extra.set_index("gene")["n.snps.in.model"] == counts.reindex(extra["gene"]).to_numpy()).all()
        assert (weights["weight"] != 0).all()
        for row in extra.itertuples(index=False):
            p = prof.loc[row.gene]
            r2 = np.array([p[f"{m}_r2"] for m in MODELS], dtype=float)
            best = MODELS[int(np.nanargmax(r2))]
            assert row[4] == pytest.approx(p[f"{best}_r2"], rel=1e-12)
            assert row[5] == pytest.approx(p[f"{best}_pval"], rel=1e-12)
            if best == "top1":
                assert row[3] == 1
            assert row.genename == genes.at[p["gene_id"], "gene_name"]
            assert row.gene_type == genes.at[p["gene_id"], "gene_type"]
        # Benjamini–Hochberg over the panel
        pv = extra["pred.perf.pval"].to_numpy()
        order = np.argsort(pv)
        bh = np.minimum.accumulate((pv[order] * len(pv) / np.arange(1, len(pv) + 1))[::-1])[::-1]
        np.testing.assert_allclose(extra["pred.perf.qval"].to_numpy()[order], np.minimum(bh, 1.0), rtol=1e-12)


# ----------------------------------------------------------------------------------------------------------
# Weights per dosage = twas predict's standardised score up to a constant
# ----------------------------------------------------------------------------------------------------------


def write_cohort(prefix: Path, x: np.ndarray, samples: list[str], variants: pd.DataFrame, keep: np.ndarray) -> Path:
    """The release's genotypes of the samples ``keep`` as a PLINK 1 fileset (A1 = ALT)."""
    calls = np.where(np.isnan(x[:, keep]), -9, x[:, keep]).astype(np.int8)
    prefix.with_suffix(".bed").write_bytes(b"\x6c\x1b\x01" + pack(calls).tobytes())
    prefix.with_suffix(".bim").write_text("".join(f"{r.chrom}\t{r.variant_id}\t0\t{r.pos}\t{r.alt}\t{r.ref}\n"
                                                  for r in variants.itertuples()))
    kept = [s for s, k in zip(samples, keep, strict=True) if k]
    prefix.with_suffix(".fam").write_text("".join(f"{s} {s} 0 0 0 -9\n" for s in kept))
    return prefix


@pytest.mark.parametrize("panel", ["Brain.expression", "Adipose.splicing"])
def test_dosage_weights_reproduce_the_standardised_prediction(demo, exported, genotypes, tmp_path, panel):
    x, samples, variants = genotypes
    keep = training_columns(demo, samples, panel)
    assert 0 < keep.sum() < len(samples)  # a tissue's samples, not everyone: the SDs depend on the choice
    cohort = write_cohort(tmp_path / "cohort", x, samples, variants, keep)
    out = tmp_path / "predicted"
    assert main(["twas", "predict", "--site", str(demo.site), "--release", RELEASE, "--panel", panel,
                 "--genotypes", str(cohort), "--out", str(out), "--scale", "standardised", "--keep-ambiguous"]) == 0
    predicted = pd.read_csv(out / f"{panel}.predicted.tsv.gz", sep="\t", index_col=0)
    weights, extra = read_db(exported / f"{panel}.db")
    d = effect_dosages(x, variants, weights, keep)
    assert set(predicted.columns) == set(extra["gene"])
    for gene, rows in weights.groupby("gene").indices.items():
        score = weights["weight"].to_numpy()[rows] @ d[rows]
        reference = predicted[gene].to_numpy()
        assert np.corrcoef(score, reference)[0, 1] > 1 - 1e-9, gene
        a, b = score - score.mean(), reference - reference.mean()
        big = np.abs(b) > 1e-3 * np.abs(b).max()
        np.testing.assert_allclose(a[big] / b[big], 1.0, atol=1e-6, err_msg=gene)


def test_covariance_is_that_of_the_dosages(demo, exported, genotypes):
    x, samples, variants = genotypes
    panel = "Liver.expression"
    keep = training_columns(demo, samples, panel)
    weights, extra = read_db(exported / f"{panel}.db")
    with gzip.open(exported / f"{panel}.txt.gz", "rt") as fh:
        assert fh.readline() == "GENE RSID1 RSID2 VALUE\n"
    cov = pd.read_csv(exported / f"{panel}.txt.gz", sep=" ")
    assert not cov.duplicated(["GENE", "RSID1", "RSID2"]).any()
    genes = cov["GENE"].to_numpy()
    assert len(set(genes)) == int((genes[1:] != genes[:-1]).sum()) + 1  # each gene's lines together
    checked = 0
    for gene, rows in weights.groupby("gene").indices.items():
        w = weights.iloc[rows]
        k = len(w)
        mine = cov[cov["GENE"] == gene]
        assert len(mine) == k * (k + 1) // 2  # upper triangle with the diagonal
        assert set(mine["RSID1"]) | set(mine["RSID2"]) == set(w["rsid"])
        if k < 2:
            continue
        full = np.atleast_2d(np.cov(effect_dosages(x, variants, w, keep)))
        at = {r: i for i, r in enumerate(w["rsid"])}
        for r in mine.sample(n=min(6, len(mine)), random_state=1).itertuples():
            assert r.VALUE == pytest.approx(full[at[r.RSID1], at[r.RSID2]], rel=1e-9, abs=1e-15)
        checked += 1
    assert checked >= 3


# ----------------------------------------------------------------------------------------------------------
# SNP ids
# ----------------------------------------------------------------------------------------------------------


def test_rsid_or_varid_fills_the_rsid_column(demo, exported, genotypes, tmp_path):
    _, _, variants = genotypes
    panel = "Adipose.expression"
    by_rsid, _ = read_db(exported / f"{panel}.db")
    ref = variants.set_index("varID")
    assert (by_rsid["rsid"].to_numpy() == ref.loc[by_rsid["varID"], "variant_id"].to_numpy()).all()
    assert by_rsid["rsid"].str.match(r"^rs\d+$").all()
    assert by_rsid["varID"].str.match(r"^chr\w+_\d+_[ACGT]+_[ACGT]+$").all()
    out = tmp_path / "varid"
    assert main(["twas", "export-predictdb", "--site", str(demo.site), "--release", RELEASE, "--tissue", "Adipose",
                 "--modality", "expression", "--snp-id", "varid", "--out", str(out)]) == 0
    assert sorted(p.name for p in out.iterdir()) == [f"{panel}.db", f"{panel}.txt.gz"]
    by_varid, _ = read_db(out / f"{panel}.db")
    assert (by_varid["rsid"] == by_varid["varID"]).all()
    pd.testing.assert_frame_equal(by_varid.drop(columns="rsid"), by_rsid.drop(columns="rsid"))
    cov = pd.read_csv(out / f"{panel}.txt.gz", sep=" ")
    assert set(cov["RSID1"]) == set(by_varid["varID"])


def test_snp_names_fall_back_to_the_varid():
    vids = var_ids(["chr1", "chr1", "1", "chr2"], [10, 20, 30, 40], ["A", "C", "G", "T"], ["G", "T", "A", "C"])
    assert vids == ["chr1_10_A_G", "chr1_20_C_T", "1_30_G_A", "chr2_40_T_C"]
    ids = ["rs5", ".", "chr1:30", "rs5"]  # rs5 names two variants: neither keeps it
    assert snp_names(ids, vids) == vids
    assert snp_names(["rs1", "rs22", "1_30", "rs7x"], vids) == ["rs1", "rs22", "1_30_G_A", "chr2_40_T_C"]
    assert snp_names(["rs1", "rs22", "x", "y"], vids, "varid") == vids
    with pytest.raises(ConfigError, match="--snp-id"):
        snp_names(ids, vids, "name")


# ----------------------------------------------------------------------------------------------------------
# Errors
# ----------------------------------------------------------------------------------------------------------


def export(site, release: str, *selection: str, out: Path) -> int:
    return main(["twas", "export-predictdb", "--site", str(site), "--release", release, *selection, "--out",
                 str(out)])


def test_selection_errors_name_what_exists(demo, tmp_path):
    out = tmp_path / "out"
    with pytest.raises(InputFileError, match=rf"no release 'v9'.*releases there: {RELEASE}"):
        export(demo.site, "v9", "--all", out=out)
    with pytest.raises(ConfigError, match="'Kidney' is not a tissue.*Adipose, Brain, Liver"):
        export(demo.site, RELEASE, "--tissue", "Kidney", "--modality", "expression", out=out)
    with pytest.raises(ConfigError, match="'isoforms' is not a modality.*expression, splicing"):
        export(demo.site, RELEASE, "--tissue", "Liver", "--modality", "isoforms", out=out)
    with pytest.raises(ConfigError, match="'Liver.rna' is not a TWAS panel.*Adipose.expression"):
        export(demo.site, RELEASE, "--panel", "Liver.rna", out=out)
    with pytest.raises(ConfigError, match="--tissue with --modality"):
        export(demo.site, RELEASE, "--tissue", "Liver", out=out)
    with pytest.raises(ConfigError, match="--all"):
        export(demo.site, RELEASE, "--all", "--tissue", "Liver", out=out)
    assert not out.exists()


def test_release_without_twas_or_genotype_matrix(demo, tmp_path):
    site = tmp_path / "site"
    bare = site / "releases" / "v0" / "tables"
    bare.mkdir(parents=True)
    with pytest.raises(InputFileError, match="release v0 has no TWAS weights"):
        export(site, "v0", "--all", out=tmp_path / "out")
    for name in ("twas_models.parquet", "twas_weights.parquet", "variants_by_position.arrow"):
        shutil.copy(demo.release_dir / "tables" / name, bare / name)
    with pytest.raises(InputFileError, match="genotype_matrix.bed.*no genotype matrix"):
        export(site, "v0", "--panel", "Liver.expression", out=tmp_path / "out")
    assert not (tmp_path / "out").exists()
