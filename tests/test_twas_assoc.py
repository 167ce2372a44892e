"""TWAS association against FUSION's assoc_test outputs (../shared/reference/fusion/assoc/), z-score
imputation against its formula, allele QC, coloc, permutations, readers and the ``twas assoc`` command."""

from __future__ import annotations

import dataclasses
import itertools
import math

import numpy as np
import pandas as pd
import pytest
from conftest import G1000, SHARED
from threadpoolctl import threadpool_limits

from qtlatlas.cli import main
from qtlatlas.errors import InputFileError
from qtlatlas.io.genotypes import read_genotypes
from qtlatlas.io.sumstats import read_sumstats
from qtlatlas.twas.align import align_gwas, allele_qc
from qtlatlas.twas.assoc import AssocOptions, associate
from qtlatlas.twas.coloc import coloc_abf, fusion_coloc, log_abf
from qtlatlas.twas.fusion_io import (
    format_r,
    read_dat,
    read_fusion_panel,
    read_parquet_panel,
    read_pos,
    read_wgt_rdat,
    write_dat,
    write_parquet_panel,
    write_pos,
)
from qtlatlas.twas.impute import impute_z
from qtlatlas.twas.ld import LdReference

pytestmark = pytest.mark.shared
FUSION = SHARED / "reference" / "fusion"
REF_PREFIX = G1000 / "g1000_eur_hm3_chr"
NUMERIC = ("P0", "P1", "HSQ", "BEST.GWAS.Z", "EQTL.R2", "EQTL.Z", "EQTL.GWAS.Z", "NSNP", "NWGT", "TWAS.Z", "TWAS.P")
TEXT = ("PANEL", "ID", "CHR", "BEST.GWAS.ID", "EQTL.ID", "MODEL", "MODELCV.R2", "MODELCV.PV")


@pytest.fixture(scope="module")
def ld(shared):
    return LdReference.from_plink(f"{REF_PREFIX}22")


@pytest.fixture(scope="module")
def sumstats(shared):
    return {t: read_sumstats(FUSION / "inputs" / f"{t}.chr22.sumstats") for t in ("trait1", "trait2")}


@pytest.fixture(scope="module")
def models(shared):
    return read_fusion_panel(FUSION / "weights" / "GEUV.pos", FUSION / "weights", chrom="22")


@pytest.fixture(scope="module")
def genotypes(shared):
    """Reference genotypes standardised here with numpy (independently of qtlatlas.twas.ld)."""
    data = read_genotypes(f"{REF_PREFIX}22", dtype="float32")
    x = data.dosages.astype(np.float64)
    x = (x - x.mean(axis=1, keepdims=True)) / x.std(axis=1, ddof=1, keepdims=True)
    bim = data.variants.rename(columns={"id": "snp"})
    return x, bim.set_index("snp")


def compare_with_reference(ours: pd.DataFrame, reference, check_file: bool = True) -> None:
    ref = pd.read_csv(reference, sep="\t", dtype=str, keep_default_na=False)
    assert list(ours.columns) == list(ref.columns)
    assert len(ours) == len(ref)
    for col in TEXT:
        got = ours[col].astype(str).replace({"None": "NA", "<NA>": "NA"}).to_numpy()
        assert (got == ref[col].to_numpy()).all(), col
    if check_file:  # FUSION wrote FILE relative to its working directory: ref/weights/...
        for got, want in zip(ours["FILE"], ref["FILE"], strict=True):
            assert got.endswith(want.removeprefix("ref/")), (got, want)
    for col in NUMERIC:
        np.testing.assert_allclose(ours[col].astype(float).to_numpy(), ref[col].astype(float).to_numpy(),
                                   rtol=1e-6, atol=0, err_msg=col)


CASES = [(trait, force) for trait in ("trait1", "trait2") for force in (None, "top1", "lasso", "enet", "blup")]


@pytest.mark.parametrize(("trait", "force"), CASES)
def test_dat_matches_fusion(trait, force, models, ld, sumstats):
    gwas = align_gwas(sumstats[trait], ld.variants)
    result = associate(models, gwas, ld, AssocOptions(force_model=force))
    assert result.skipped == []
    name = f"{trait}.chr22.fullprec.dat" if force is None else f"{trait}.chr22.force_{force}.fullprec.dat"
    compare_with_reference(result.table, FUSION / "assoc" / name)


def test_plinkseed1_weights_match_fusion(ld, sumstats):
    seeded = read_fusion_panel(FUSION / "weights" / "GEUV.pos", FUSION / "weights_plinkseed1", chrom="22")
    gwas = align_gwas(sumstats["trait1"], ld.variants)
    result = associate(seeded, gwas, ld)
    compare_with_reference(result.table, FUSION / "assoc" / "trait1.chr22.plinkseed1.fullprec.dat")


def parquet_from_tsv(directory) -> None:
    """Our Parquet panel built from FUSION's plain-text weights (weights_tsv/), without our readers."""
    tsv = FUSION / "weights_tsv"
    pos = pd.read_csv(FUSION / "weights" / "GEUV.pos", sep="\t")
    cv = pd.read_csv(tsv / "cv_performance.tsv", sep="\t")
    summary = pd.read_csv(tsv / "summary.tsv", sep="\t")
    parts, profile = [], []
    for row in pos.itertuples():
        key = f"GEUV.{row.ID}"
        w = pd.read_csv(tsv / f"{key}.wgt.tsv", sep="\t")
        parts.append(pd.DataFrame({"panel": "GEUV", "phenotype_id": row.ID, "gene_id": row.ID, "variant_id": w["SNP"],
                                   "chrom": w["CHR"].astype(str), "pos": w["BP"], "a1": w["A1"], "a2": w["A2"],
                                   "top1": w["top1"], "lasso": w["lasso"], "enet": w["enet"], "blup": w["blup"]}))
        perf = cv[cv["WGT"] == key].set_index("MODEL")
        s = summary[summary["WGT"] == key].iloc[0]
        rec = {"panel": "GEUV", "phenotype_id": row.ID, "gene_id": row.ID, "chrom": str(row.CHR), "p0": row.P0,
               "p1": row.P1, "n": row.N, "n_snps": len(w), "hsq": s["HSQ"], "hsq_se": s["HSQ.SE"], "hsq_pval": s["HSQ.PV"]}
        for m in ("top1", "lasso", "enet", "blup"):
            rec[f"{m}_r2"] = perf.loc[m, "RSQ"]
            rec[f"{m}_pval"] = perf.loc[m, "PVAL"]
        rec["best_model"] = perf["PVAL"].idxmin()
        profile.append(rec)
    directory.mkdir(parents=True, exist_ok=True)
    pd.concat(parts).to_parquet(directory / "twas_weights.parquet", index=False)
    pd.DataFrame(profile).to_parquet(directory / "twas_profile.parquet", index=False)


@pytest.fixture(scope="module")
def parquet_panel(tmp_path_factory):
    directory = tmp_path_factory.mktemp("panel") / "GEUV"
    parquet_from_tsv(directory)
    return directory


def test_parquet_panel_from_tsv_matches_fusion(parquet_panel, ld, sumstats):
    panel = read_parquet_panel(parquet_panel, chrom="chr22")
    assert len(panel) == 60 and {m.panel for m in panel} == {"GEUV"}
    result = associate(panel, align_gwas(sumstats["trait1"], ld.variants), ld)
    table = result.table.assign(PANEL="NA")  # FUSION's .pos had no PANEL column
    compare_with_reference(table, FUSION / "assoc" / "trait1.chr22.fullprec.dat", check_file=False)


def test_readers_agree_and_roundtrip(models, parquet_panel, tmp_path):
    from_tsv = {m.phenotype_id: m for m in read_parquet_panel(parquet_panel)}
    for m in models:
        other = from_tsv[m.phenotype_id]
        assert other.models == m.models and other.n == m.n == 358
        assert (other.snps["snp"].to_numpy() == m.snps["snp"].to_numpy()).all()
        np.testing.assert_allclose(other.weights, m.weights, rtol=1e-15)
        np.testing.assert_allclose(other.cv_pval, m.cv_pval, rtol=1e-15)
    write_parquet_panel(models, tmp_path / "p", panel="GEUV")
    again = read_parquet_panel(tmp_path / "p")
    assert [m.phenotype_id for m in again] == [m.phenotype_id for m in models]
    np.testing.assert_array_equal(again[3].weights, models[3].weights)
    pos = write_pos(again, tmp_path / "GEUV.pos")
    table = read_pos(pos)
    assert list(table["ID"]) == [m.phenotype_id for m in models]
    assert table["WGT"].iat[0] == f"GEUV/GEUV.{models[0].phenotype_id}.wgt.RDat"
    assert (table["P0"].to_numpy() == [m.p0 for m in models]).all()


# ------------------------------------------------------------------------------------------------------------
# an independent computation of one model's TWAS z (numpy only)
# ------------------------------------------------------------------------------------------------------------


def independent_twas(model, column, ss, genotypes, drop_snps=(), impute=True, top1_single=True):
    """TWAS z of one model computed directly from the formula, with GWAS rows ``drop_snps`` removed
    (imputed as FUSION does, or left out when ``impute`` is False)."""
    x, bim = genotypes
    snps = model.snps["snp"].to_numpy()
    w = model.weights[:, model.models.index(column)].copy()
    rows = bim.index.get_indexer(snps)
    ok = rows >= 0
    snps, w, rows = snps[ok], w[ok], rows[ok]
    a1 = model.snps["a1"].to_numpy()[ok]
    w = np.where(a1 == bim["alt"].to_numpy()[rows], w, -w)
    if top1_single and column == "top1":
        top = np.argmax(w**2)
        w = np.where(np.arange(len(w)) == top, w, 0)
    ssi = ss.set_index("SNP")
    z = np.full(len(snps), np.nan)
    dropped = set(drop_snps)
    present = (ssi.index.get_indexer(snps) >= 0) & np.array([s not in dropped for s in snps], dtype=bool)
    sub = ssi.loc[snps[present]]
    z[present] = np.where(sub["A1"].to_numpy() == bim["alt"].to_numpy()[rows[present]], 1, -1) * sub["Z"].to_numpy()
    g = x[rows]
    r = g @ g.T / (g.shape[1] - 1)
    miss = np.isnan(z)
    if miss.any() and impute:
        s, t = ~miss, miss
        wt = r[np.ix_(t, s)] @ np.linalg.inv(r[np.ix_(s, s)] + 0.1 * np.eye(s.sum()))
        r2 = np.diag(wt @ r[np.ix_(s, s)] @ wt.T)
        z[t] = wt @ z[s] / np.sqrt(r2)
    elif miss.any():
        z[miss] = 0.0
    return float(w @ z / np.sqrt(w @ r @ w)), z, snps, w


def row_of(table, model):
    return table.loc[table["ID"] == model.phenotype_id].iloc[0]


def test_imputation_matches_formula(models, ld, sumstats, genotypes):
    model = next(m for m in models if m.models[int(np.argmin(m.cv_pval[0]))] in ("lasso", "enet")
                 and m.n_snps > 400)
    column = model.models[int(np.argmin(model.cv_pval[0]))]
    drop = model.snps["snp"].to_numpy()[::4]
    ss = sumstats["trait1"][~sumstats["trait1"]["SNP"].isin(drop)]
    result = associate([model], align_gwas(ss, ld.variants), ld)
    assert result.n_imputed == 1 and result.skipped == []
    expected, z, snps, _ = independent_twas(model, column, sumstats["trait1"], genotypes, drop_snps=drop)
    row = row_of(result.table, model)
    assert row["TWAS.Z"] == pytest.approx(expected, rel=1e-9)
    top = int(np.argmax(z**2))
    assert row["BEST.GWAS.ID"] == snps[top] and row["BEST.GWAS.Z"] == pytest.approx(z[top], rel=1e-9)
    # the imputation function itself against the same formula on a random correlation matrix
    rng = np.random.default_rng(3)
    g = rng.standard_normal((40, 12)) @ rng.standard_normal((12, 12))
    r = np.corrcoef(g, rowvar=False)
    zz = rng.standard_normal(12)
    zz[[2, 5, 7]] = np.nan
    got, r2 = impute_z(r, zz)
    s, t = ~np.isnan(zz), np.isnan(zz)
    wt = r[np.ix_(t, s)] @ np.linalg.inv(r[np.ix_(s, s)] + 0.1 * np.eye(s.sum()))
    want_r2 = np.diag(wt @ r[np.ix_(s, s)] @ wt.T)
    np.testing.assert_allclose(r2[t], want_r2, rtol=1e-10)
    np.testing.assert_allclose(got[t], wt @ zz[s] / np.sqrt(want_r2), rtol=1e-10)
    assert (r2[s] == 1).all() and (got[s] == zz[s]).all()


def test_imputation_recovers_z_better_than_dropping(models, ld, sumstats, genotypes):
    ss = sumstats["trait2"]
    rng = np.random.default_rng(11)
    drop = set(ss["SNP"].to_numpy()[rng.random(len(ss)) < 0.15])
    full = associate(models, align_gwas(ss, ld.variants), ld).table["TWAS.Z"].to_numpy(float)
    imputed = associate(models, align_gwas(ss[~ss["SNP"].isin(drop)], ld.variants), ld).table
    assert imputed["TWAS.Z"].notna().all()
    with threadpool_limits(limits=1, user_api="blas"):
        zero = np.array([independent_twas(m, m.models[int(np.argmin(m.cv_pval[0]))], ss, genotypes, drop_snps=drop,
                                          impute=False)[0] for m in models])
    err_imputed = np.sqrt(np.mean((imputed["TWAS.Z"].to_numpy(float) - full) ** 2))
    err_zero = np.sqrt(np.mean((zero - full) ** 2))
    assert err_imputed < 0.8 * err_zero
    assert np.corrcoef(imputed["TWAS.Z"].to_numpy(float), full)[0, 1] > 0.95


def test_max_impute_and_min_r2pred_gates(models, ld, sumstats):
    ss = sumstats["trait1"]
    model = models[0]
    snps = model.snps["snp"].to_numpy()
    many = snps[: int(0.6 * len(snps))]
    gwas = align_gwas(ss[~ss["SNP"].isin(many)], ld.variants)
    skipped = associate([model], gwas, ld)
    assert math.isnan(skipped.table["TWAS.Z"].iat[0]) and "non-overlapping" in skipped.skipped[0][1]
    assert skipped.table["NSNP"].iat[0] == len(snps) and skipped.table["MODEL"].iat[0] == "top1"
    tested = associate([model], gwas, ld, AssocOptions(max_impute=0.7, min_r2pred=0.0))
    assert np.isfinite(tested.table["TWAS.Z"].iat[0])

    # top1: only the top SNP's imputation accuracy matters (observed SNPs count as 1)
    top1 = model.weights[:, model.models.index("top1")]
    flips = model.snps["a1"].to_numpy() != ld.variants.set_index("snp").loc[snps, "a1"].to_numpy()
    top_snp = snps[int(np.argmax(top1**2))]
    other = snps[int(np.argmin(top1**2))]
    options = AssocOptions(force_model="top1", min_r2pred=0.9999)
    full = associate([model], align_gwas(ss, ld.variants), ld, options).table["TWAS.Z"].iat[0]
    no_other = associate([model], align_gwas(ss[ss["SNP"] != other], ld.variants), ld, options)
    assert no_other.table["TWAS.Z"].iat[0] == pytest.approx(full, rel=1e-12)
    no_top = associate([model], align_gwas(ss[ss["SNP"] != top_snp], ld.variants), ld, options)
    assert math.isnan(no_top.table["TWAS.Z"].iat[0]) and "imputation r2" in no_top.skipped[0][1]
    relaxed = associate([model], align_gwas(ss[ss["SNP"] != top_snp], ld.variants), ld,
                        AssocOptions(force_model="top1", min_r2pred=0.0)).table
    # a top1 TWAS z is the (imputed) GWAS z of the top SNP, signed by its eQTL z
    w_top = top1[int(np.argmax(top1**2))] * (-1 if flips[int(np.argmax(top1**2))] else 1)
    assert abs(relaxed["TWAS.Z"].iat[0]) == pytest.approx(abs(relaxed["EQTL.GWAS.Z"].iat[0]), rel=1e-12)
    assert np.sign(relaxed["TWAS.Z"].iat[0]) == np.sign(w_top * relaxed["EQTL.GWAS.Z"].iat[0])


# ------------------------------------------------------------------------------------------------------------
# alleles
# ------------------------------------------------------------------------------------------------------------


def test_allele_qc_rules():
    a1 = ["A", "G", "T", "C", "A", "a", "A", "AT", "C"]
    a2 = ["G", "A", "C", "T", "T", "g", "C", "A", "G"]
    r1 = ["A", "A", "A", "A", "A", "A", "A", "AT", "C"]
    r2 = ["G", "G", "G", "G", "T", "G", "G", "A", "G"]
    qc = allele_qc(a1, a2, r1, r2)
    # same, swapped, strand, strand+swap, ambiguous, lower case, mismatch, indel, ambiguous C/G
    assert qc.keep.tolist() == [True, True, True, True, False, True, True, False, False]
    # (an ambiguous pair also reads as swapped on the other strand, as in FUSION; it is dropped anyway)
    assert qc.flip.tolist() == [False, True, False, True, True, False, False, False, True]
    assert qc.strand.tolist() == [False, False, True, True, False, False, False, False, False]
    assert qc.mismatch.tolist() == [False, False, False, False, False, False, True, False, False]


def _swap(df, mask):
    out = df.copy()
    out.loc[mask, ["A1", "A2"]] = out.loc[mask, ["A2", "A1"]].to_numpy()
    out.loc[mask, "Z"] = -out.loc[mask, "Z"]
    return out


def _complement(df, mask):
    out = df.copy()
    comp = {"A": "T", "T": "A", "C": "G", "G": "C"}
    for col in ("A1", "A2"):
        out.loc[mask, col] = out.loc[mask, col].map(comp)
    return out


def test_flipped_and_strand_flipped_gwas_give_the_same_z(models, ld, sumstats):
    ss = sumstats["trait1"]
    rng = np.random.default_rng(5)
    u = rng.random(len(ss))
    changed = _complement(_swap(ss, u < 0.5), (u > 0.25) & (u < 0.75))
    gwas = align_gwas(changed, ld.variants)
    assert gwas.n_strand == int(((u > 0.25) & (u < 0.75)).sum())
    result = associate(models, gwas, ld)
    compare_with_reference(result.table, FUSION / "assoc" / "trait1.chr22.fullprec.dat")


def test_flipped_weights_give_the_same_z(models, ld, sumstats):
    gwas = align_gwas(sumstats["trait1"], ld.variants)
    before = associate(models[:5], gwas, ld).table
    flipped = []
    for m in models[:5]:
        snps = m.snps.copy()
        snps[["a1", "a2"]] = snps[["a2", "a1"]].to_numpy()
        flipped.append(dataclasses.replace(m, snps=snps, weights=-m.weights))
    after = associate(flipped, gwas, ld).table
    for col in ("TWAS.Z", "EQTL.Z", "BEST.GWAS.Z", "EQTL.GWAS.Z"):
        np.testing.assert_allclose(after[col].astype(float), before[col].astype(float), rtol=1e-12)


def test_strand_ambiguous_snps_are_dropped(models, ld, sumstats, genotypes):
    ss = sumstats["trait2"].copy()
    model = next(m for m in models if m.models[int(np.argmin(m.cv_pval[0]))] == "enet")
    column = "enet"
    w = model.weights[:, model.models.index(column)]
    targets = model.snps["snp"].to_numpy()[np.flatnonzero(w != 0)[:3]]
    mask = ss["SNP"].isin(targets)
    ss.loc[mask, "A1"], ss.loc[mask, "A2"] = "A", "T"
    gwas = align_gwas(ss, ld.variants)
    assert gwas.n_ambiguous == 3
    row = associate([model], gwas, ld).table.iloc[0]
    kept = model.snps["snp"].isin(ld.variants["snp"]) & ~model.snps["snp"].isin(targets)
    assert row["NSNP"] == int(kept.sum())
    reduced = dataclasses.replace(model, snps=model.snps[kept.to_numpy()].reset_index(drop=True),
                                  weights=model.weights[kept.to_numpy()])
    expected = independent_twas(reduced, column, sumstats["trait2"], genotypes)[0]
    assert row["TWAS.Z"] == pytest.approx(expected, rel=1e-9)


def test_position_matching(models, ld, sumstats):
    ss = sumstats["trait1"].merge(ld.variants[["snp", "chrom", "pos"]], left_on="SNP", right_on="snp")
    ss = ss.assign(SNP="chr" + ss["chrom"] + "_" + ss["pos"].astype(str), CHR="chr" + ss["chrom"], BP=ss["pos"])
    by_id = associate(models, align_gwas(ss, ld.variants), ld)
    assert by_id.table["TWAS.Z"].isna().all()  # no id in common
    by_pos = associate(models, align_gwas(ss[["SNP", "A1", "A2", "Z", "CHR", "BP"]], ld.variants, "position"), ld)
    compare_with_reference(by_pos.table, FUSION / "assoc" / "trait1.chr22.fullprec.dat")


# ------------------------------------------------------------------------------------------------------------
# LD reference and its cache
# ------------------------------------------------------------------------------------------------------------


def test_ld_blocks_match_numpy_and_are_shared(models, ld, sumstats, genotypes):
    x, bim = genotypes
    rows = np.array([10, 11, 12, 40, 41, 300])
    block = ld.block(rows)
    np.testing.assert_allclose(block.r, np.corrcoef(x[rows]), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(block.z.T, x[rows], rtol=1e-10, atol=1e-12)
    assert ld.block(rows) is block
    fresh = LdReference.from_plink(f"{REF_PREFIX}22")
    twice = models + [dataclasses.replace(m, panel="copy") for m in models]
    table = associate(twice, align_gwas(sumstats["trait1"], fresh.variants), fresh).table
    assert fresh.blocks_computed == 60
    np.testing.assert_array_equal(table["TWAS.Z"].to_numpy()[:60], table["TWAS.Z"].to_numpy()[60:])


# ------------------------------------------------------------------------------------------------------------
# coloc and permutations
# ------------------------------------------------------------------------------------------------------------


def test_coloc_matches_enumeration_of_configurations():
    rng = np.random.default_rng(2)
    m = 6
    z1, z2 = rng.normal(0, 2, m), rng.normal(0, 2, m)
    v1, v2 = 1 / 300, 1 / 5000
    b1, b2 = z1 * math.sqrt(v1), z2 * math.sqrt(v2)
    # Wakefield's ABF written as a ratio of normal densities
    w = 0.15**2
    abf1 = np.sqrt(v1 / (v1 + w)) * np.exp(z1**2 * w / (2 * (v1 + w)))
    abf2 = np.sqrt(v2 / (v2 + w)) * np.exp(z2**2 * w / (2 * (v2 + w)))
    np.testing.assert_allclose(np.exp(log_abf(b1, np.full(m, v1))), abf1, rtol=1e-12)
    p1 = p2 = 1e-4
    p12 = 1e-5
    h = [1.0, p1 * abf1.sum(), p2 * abf2.sum(),
         p1 * p2 * sum(abf1[i] * abf2[j] for i, j in itertools.product(range(m), repeat=2) if i != j),
         p12 * (abf1 * abf2).sum()]
    expected = np.array(h) / sum(h)
    np.testing.assert_allclose(coloc_abf(b1, np.full(m, v1), b2, np.full(m, v2)), expected, rtol=1e-10)
    shared = np.zeros(50)
    shared[20] = 8
    assert fusion_coloc(shared, shared * 1.2, 400, 20000)[4] > 0.9
    other = np.zeros(50)
    other[40] = 9
    assert fusion_coloc(shared, other, 400, 20000)[3] > 0.9


def test_coloc_columns(models, ld, sumstats):
    gwas = align_gwas(sumstats["trait1"], ld.variants)
    table = associate(models, gwas, ld, AssocOptions(coloc_p=0.05, gwas_n=503)).table
    cols = [f"COLOC.PP{k}" for k in range(5)]
    assert list(table.columns[-5:]) == cols
    hit = table["TWAS.P"] < 0.05
    assert hit.any() and table.loc[hit, cols].notna().all().all()
    assert table.loc[~hit, cols].isna().all().all()
    np.testing.assert_allclose(table.loc[hit, cols].sum(axis=1), 1.0, atol=0.003)


def test_permutation_test(models, ld, sumstats):
    gwas = align_gwas(sumstats["trait1"], ld.variants)
    options = AssocOptions(perm=300, perm_minp=1.0, seed=7)
    table = associate(models[:12], gwas, ld, options).table
    again = associate(models[:12], gwas, ld, options).table
    pd.testing.assert_frame_equal(table, again)
    assert table["PERM.N"].notna().all() and (table["PERM.N"] <= 301).all()
    early = table["PERM.N"] < 300
    assert early.any()
    # stopped after the 11th permuted statistic above the observed one: p = 12 / N, no analytic p
    np.testing.assert_allclose(table.loc[early, "PERM.PV"], 12 / table.loc[early, "PERM.N"].astype(float))
    assert table.loc[early, "PERM.ANL_PV"].isna().all()
    assert table.loc[~early, "PERM.ANL_PV"].notna().all()
    assert (table.loc[~early, "PERM.PV"] <= 10 / 300).all()
    only_hits = associate(models[:12], gwas, ld, AssocOptions(perm=50, seed=7)).table
    assert only_hits.loc[only_hits["TWAS.P"] >= 0.05, "PERM.PV"].isna().all()


# ------------------------------------------------------------------------------------------------------------
# readers: R formatting, malformed files
# ------------------------------------------------------------------------------------------------------------


def test_format_r_follows_r():
    # what R prints for format(x, digits = 2)
    assert [format_r(x) for x in (0.346, 5.8e-35, 0.094, 1e-4, 0.00012, 123456.0, 0.1, -0.0526, 0.0)] == [
        "0.35", "5.8e-35", "0.094", "1e-04", "0.00012", "123456", "0.1", "-0.053", "0"]


def test_malformed_weight_files(tmp_path, models):
    bad = tmp_path / "bad.wgt.RDat"
    bad.write_bytes(b"not an R file at all")
    with pytest.raises(InputFileError, match="not a readable R save file"):
        read_wgt_rdat(bad)
    pos = tmp_path / "x.pos"
    pos.write_text("WGT\tID\tCHR\tP0\n a.RDat\tG\t22\t1\n")
    with pytest.raises(InputFileError, match="missing column.*P1") as err:
        read_pos(pos)
    assert err.value.line == 1
    pos.write_text("WGT\tID\tCHR\tP0\tP1\na.RDat\tG\t22\tone\t5\n")
    with pytest.raises(InputFileError, match="P0") as err:
        read_pos(pos)
    assert err.value.line == 2
    directory = tmp_path / "pq"
    write_parquet_panel(models[:2], directory, panel="GEUV")
    profile = pd.read_parquet(directory / "twas_profile.parquet")
    profile.iloc[:1].to_parquet(directory / "twas_profile.parquet", index=False)
    with pytest.raises(InputFileError, match="no profile row"):
        read_parquet_panel(directory)
    profile.drop(columns=["hsq"]).to_parquet(directory / "twas_profile.parquet", index=False)
    with pytest.raises(InputFileError, match="lacks column.*hsq"):
        read_parquet_panel(directory)


def test_dat_roundtrip(models, ld, sumstats, tmp_path):
    table = associate(models[:4], align_gwas(sumstats["trait1"], ld.variants), ld).table
    text, numbers = read_dat(write_dat(table, tmp_path / "x.dat"))
    np.testing.assert_array_equal(numbers["TWAS.Z"].to_numpy(), table["TWAS.Z"].to_numpy(float))
    assert (text["MODELCV.PV"] == table["MODELCV.PV"]).all()


# ------------------------------------------------------------------------------------------------------------
# command line
# ------------------------------------------------------------------------------------------------------------


def _assoc(*args):
    return main(["twas", "assoc", "--sumstats", str(FUSION / "inputs" / "trait2.chr22.sumstats"),
                 "--ref_ld_chr", str(REF_PREFIX), "--chr", "22", *args])


def test_cli_assoc_parquet_panel(parquet_panel, tmp_path):
    out = tmp_path / "o" / "trait2.dat"
    assert _assoc("--weights", str(parquet_panel), "--out", str(out)) == 0
    text, numbers = read_dat(out)
    ref = pd.read_csv(FUSION / "assoc" / "trait2.chr22.fullprec.dat", sep="\t")
    np.testing.assert_allclose(numbers["TWAS.Z"], ref["TWAS.Z"], rtol=1e-6)
    assert (text["PANEL"] == "GEUV").all() and (text["EQTL.ID"] == ref["EQTL.ID"]).all()


def test_cli_assoc_fusion_panel_force_model(tmp_path):
    out = tmp_path / "t.dat"
    assert _assoc("--weights", str(FUSION / "weights" / "GEUV.pos"), "--weights_dir", str(FUSION / "weights"),
                  "--out", str(out), "--force_model", "blup") == 0
    _, numbers = read_dat(out)
    ref = pd.read_csv(FUSION / "assoc" / "trait2.chr22.force_blup.fullprec.dat", sep="\t")
    np.testing.assert_allclose(numbers["TWAS.Z"], ref["TWAS.Z"], rtol=1e-6)


def test_cli_bad_inputs_exit_2(tmp_path, capsys):
    bad_ss = tmp_path / "bad.sumstats"
    bad_ss.write_text("SNP\tA1\tA2\nrs1\tA\tG\n")
    code = main(["twas", "assoc", "--sumstats", str(bad_ss), "--weights", str(FUSION / "weights" / "GEUV.pos"),
                 "--ref_ld_chr", str(REF_PREFIX), "--chr", "22", "--out", str(tmp_path / "x.dat")])
    err = capsys.readouterr().err
    assert code == 2 and str(bad_ss) in err and "Z" in err and "Traceback" not in err
    pos = tmp_path / "w.pos"
    pos.write_text("WGT\tID\tCHR\tP0\tP1\nmissing/G.wgt.RDat\tG\t22\t1\t5\n")
    assert _assoc("--weights", str(pos), "--out", str(tmp_path / "x.dat")) == 2
    err = capsys.readouterr().err
    assert "G.wgt.RDat" in err and "not found" in err and len(err.strip().splitlines()) <= 2
    assert _assoc("--weights", str(FUSION / "weights" / "GEUV.pos"), "--out", str(tmp_path / "x.dat"),
                  "--coloc_P", "0.05") == 2
    assert "--GWASN" in capsys.readouterr().err
    assert _assoc("--weights", str(tmp_path), "--out", str(tmp_path / "x.dat")) == 2
    assert "twas_weights.parquet" in capsys.readouterr().err
