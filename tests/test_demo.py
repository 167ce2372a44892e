"""The synthetic demo atlas: files, formats, determinism, population genetics and recoverable signals."""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
from pathlib import Path

import numpy as np
import pandas as pd
import pysam
import pytest
from scipy import stats

from qtlatlas.config import DEFAULT_MODALITIES, load_atlas
from qtlatlas.demo import DemoConfig, DemoTruth, generate_demo
from qtlatlas.demo.sample_sheet import FEMALE_MARKERS, MALE_MARKERS
from qtlatlas.io.chromosomes import chrom_sort_key

MARKER_NAMES = FEMALE_MARKERS + MALE_MARKERS

SMALL = DemoConfig(seed=3, n_individuals=200, chrom_length=6_000_000, n_variants_per_chrom=1500,
                   n_genes_per_chrom=50, gwas_n=2000)
MODALITIES = [m.id for m in DEFAULT_MODALITIES]
GROUPED = [m.id for m in DEFAULT_MODALITIES if m.grouped]


# --------------------------------------------------------------------------------------------------
# Fixtures and helpers
# --------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> tuple[Path, DemoTruth]:
    out = tmp_path_factory.mktemp("demo")
    return out, generate_demo(out, SMALL)


@pytest.fixture(scope="module")
def atlas(demo):
    return load_atlas(demo[0] / "atlas.yaml")


def read_vcf(path: Path) -> tuple[list[str], pd.DataFrame, np.ndarray]:
    """Samples, variant table (chrom, pos, id, ref, alt) and (V, n) dosages with NaN for ./."""
    rows, gts = [], []
    with gzip.open(path, "rt") as fh:
        for line in fh:
            if line.startswith("##"):
                continue
            f = line.rstrip("\n").split("\t")
            if line.startswith("#"):
                samples = f[9:]
                continue
            rows.append((f[0], int(f[1]), f[2], f[3], f[4]))
            gts.append(f[9:])
    gt = np.array(gts)
    dos = np.full(gt.shape, np.nan)
    for code, value in (("0/0", 0.0), ("0/1", 1.0), ("1/1", 2.0)):
        dos[gt == code] = value
    return samples, pd.DataFrame(rows, columns=["chrom", "pos", "id", "ref", "alt"]), dos


@pytest.fixture(scope="module")
def genotypes(atlas):
    samples, variants, dos = read_vcf(atlas.release("v1").genotypes[0])
    filled = np.where(np.isnan(dos), np.nanmean(dos, axis=1, keepdims=True), dos)
    af = np.nanmean(dos, axis=1) / 2
    return samples, variants, dos, filled, np.minimum(af, 1 - af)


def read_bed(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, sep="\t", na_values=["NA"], keep_default_na=False)


def gtf_genes(path: Path) -> pd.DataFrame:
    rows = []
    with gzip.open(path, "rt") as fh:
        for line in fh:
            if line.startswith("#"):
                continue
            f = line.rstrip("\n").split("\t")
            if f[2] != "gene":
                continue
            attrs = dict(a.strip().split(" ", 1) for a in f[8].strip().rstrip(";").split(";"))
            rows.append((attrs["gene_id"].strip('"'), attrs["gene_name"].strip('"'), f[0], int(f[3]), int(f[4]), f[6]))
    df = pd.DataFrame(rows, columns=["gene_id", "gene_name", "chrom", "start", "end", "strand"])
    df["tss"] = np.where(df["strand"] == "+", df["start"], df["end"])
    return df.set_index("gene_id")


def r2(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a - a.mean(), b - b.mean()
    den = (a @ a) * (b @ b)
    return float((a @ b) ** 2 / den) if den > 0 else float("nan")


def sha256_tree(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


# --------------------------------------------------------------------------------------------------
# Files and configuration
# --------------------------------------------------------------------------------------------------


def test_atlas_yaml_loads_with_two_releases_on_two_builds(atlas):
    assert [r.id for r in atlas.releases] == ["v1", "v2"]
    assert atlas.releases[0].genome != atlas.releases[1].genome
    assert len(atlas.tissues) >= 3
    v1, v2 = atlas.releases
    assert set(v2.tissues) == {t.id for t in atlas.tissues}
    assert set(v2.tissues) - set(v1.tissues) == {SMALL.tissue_ids[-1]}
    da = atlas.data_access
    assert da.raw_reads[0].accession.startswith("PRJNA") and da.archives[0].doi
    assert da.variant_calls and da.code and "fictional" in da.citation.lower()
    assert len(atlas.twas.traits) == SMALL.n_traits
    assert all(t.n == SMALL.gwas_n for t in atlas.twas.traits)


def test_every_referenced_file_exists(atlas, demo):
    out, _ = demo
    for release in atlas.releases:
        assert release.annotation.is_file() and release.genotypes[0].is_file()
        assert Path(f"{release.genotypes[0]}.tbi").is_file()
        for tissue, mods in release.tissues.items():
            assert set(mods) == set(MODALITIES), tissue
            for m, inp in mods.items():
                assert inp.bed.is_file() and Path(f"{inp.bed}.tbi").is_file()
                assert (inp.groups is not None) == (m in GROUPED)
                assert (inp.counts is not None) == (m == "expression")
                for p in (inp.groups, inp.counts, inp.covariates):
                    assert p is None or p.is_file()
        with_cov = {t for t, mods in release.tissues.items() if mods["expression"].covariates is not None}
        assert with_cov == {SMALL.covariate_tissue_id}
    study = atlas.studies[0]
    assert len(study.files) >= 2 and all(f.path.is_file() for f in study.files)
    assert all(t.sumstats.is_file() for t in atlas.twas.traits)
    for name in ("causal_variants", "trait_genes", "traits", "confounders"):
        assert (out / "truth" / f"{name}.tsv").is_file() and (out / "truth" / f"{name}.parquet").is_file()


def test_config_is_validated():
    with pytest.raises(ValueError, match="n_chromosomes"):
        DemoConfig(n_chromosomes=1)
    with pytest.raises(ValueError, match="tissues"):
        DemoConfig(tissues=(("A", "A", "#000000", "X"),))


# --------------------------------------------------------------------------------------------------
# Formats
# --------------------------------------------------------------------------------------------------


def test_vcf_layout(atlas, genotypes):
    samples, variants, dos, _, _ = genotypes
    assert len(samples) == SMALL.n_individuals
    assert variants["chrom"].nunique() >= 2 and all(c.startswith("chr") for c in variants["chrom"].unique())
    assert variants["id"].is_unique and variants["id"].str.match(r"^rs\d+$").all()
    assert (variants["ref"].str.len() == 1).all() and (variants["ref"] != variants["alt"]).all()
    for _, grp in variants.groupby("chrom"):
        assert grp["pos"].is_monotonic_increasing
    missing = np.isnan(dos).mean()
    assert 0 < missing < 0.01
    with pysam.VariantFile(str(atlas.release("v1").genotypes[0])) as vcf:
        recs = list(vcf.fetch("chr2", 1_000_000, 2_000_000))
        assert recs and all(1_000_000 < r.pos <= 2_000_000 for r in recs)


def test_beds_are_sorted_tss_anchored_and_tabix_readable(atlas):
    for release in atlas.releases:
        genes = gtf_genes(release.annotation)
        assert set(genes["strand"]) == {"+", "-"}
        autosomes = {f"chr{i + 1}" for i in range(SMALL.n_chromosomes)}
        assert set(genes["chrom"]) == autosomes | {"chrX", "chrY"}  # the sex marker genes sit on chrX and chrY
        assert set(genes.loc[genes["chrom"].isin(["chrX", "chrY"]), "gene_name"]) == set(MARKER_NAMES)
        for tissue, mods in release.tissues.items():
            for m, inp in mods.items():
                bed = read_bed(inp.bed)
                assert list(bed.columns[:4]) == ["#chr", "start", "end", "phenotype_id"]
                assert bed["phenotype_id"].is_unique and len(bed) > 10
                order = list(zip([chrom_sort_key(c) for c in bed["#chr"]], bed["start"], strict=True))
                assert order == sorted(order), (tissue, m)
                gene = genes.loc[bed["phenotype_id"].str.split("__").str[0]]
                assert (bed["#chr"].to_numpy() == gene["chrom"].to_numpy()).all()
                assert (bed["start"].to_numpy() == gene["tss"].to_numpy() - 1).all()
                assert (bed["end"].to_numpy() == gene["tss"].to_numpy()).all()
                with pysam.TabixFile(str(inp.bed)) as tbx:
                    assert tbx.header[-1].split("\t")[:4] == ["#chr", "start", "end", "phenotype_id"]
                    row = bed.iloc[len(bed) // 2]
                    hits = [r.split("\t")[3] for r in tbx.fetch(row["#chr"], int(row["start"]), int(row["end"]))]
                    assert row["phenotype_id"] in hits


def test_phenotype_ids_and_values_look_like_pantry(atlas):
    release = atlas.release("v2")
    patterns = {"expression": r"^ENSDEMG\d+$", "stability": r"^ENSDEMG\d+$",
                "isoforms": r"^ENSDEMG\d+__ENSDEMT\d+$", "splicing": r"^ENSDEMG\d+__chr\d+:\d+:\d+:clu_\d+$",
                "alt_TSS": r"^ENSDEMG\d+__TSS_\d+$", "alt_polyA": r"^ENSDEMG\d+__PAS_\d+$"}
    mods = release.tissues[SMALL.tissue_ids[0]]
    for m, inp in mods.items():
        bed = read_bed(inp.bed)
        assert bed["phenotype_id"].str.match(patterns[m]).all(), m
        values = bed.iloc[:, 4:].to_numpy(dtype=float)
        if m == "expression":
            assert np.nanmin(values) >= 0 and np.nanmax(values) > 50  # TPM
            assert not np.isnan(values).any()
        elif m in GROUPED:
            assert np.nanmin(values) >= 0 and np.nanmax(values) <= 1
        else:
            assert np.nanstd(values) > 0
    ratios = np.concatenate([read_bed(mods[m].bed).iloc[:, 4:].to_numpy(dtype=float).ravel() for m in GROUPED])
    assert np.isnan(ratios).any(), "grouped modalities write NA where the gene is not expressed"
    counts = read_bed(mods["expression"].counts)
    assert counts["phenotype_id"].tolist() == read_bed(mods["expression"].bed)["phenotype_id"].tolist()
    assert np.nanmin(counts.iloc[:, 4:].to_numpy(dtype=float)) >= 0


def test_grouped_modalities_have_several_phenotypes_per_gene(atlas):
    for tissue, mods in atlas.release("v2").tissues.items():
        for m in GROUPED:
            bed = read_bed(mods[m].bed)
            groups = pd.read_csv(mods[m].groups, sep="\t", header=None, names=["phenotype_id", "group_id"])
            assert groups["phenotype_id"].tolist() == bed["phenotype_id"].tolist()
            assert (groups["group_id"] == groups["phenotype_id"].str.split("__").str[0]).all()
            sizes = groups.groupby("group_id").size()
            assert sizes.min() >= 2 and len(sizes) >= 10, (tissue, m)


def test_isoform_ratios_sum_to_one(atlas):
    for _tissue, mods in atlas.release("v2").tissues.items():
        bed = read_bed(mods["isoforms"].bed)
        gene = bed["phenotype_id"].str.split("__").str[0]
        sums = bed.iloc[:, 4:].groupby(gene.to_numpy()).sum(min_count=1).to_numpy()
        expressed = ~np.isnan(sums)
        assert expressed.mean() > 0.9
        np.testing.assert_allclose(sums[expressed], 1.0, atol=1e-4)


def test_tissues_have_different_sample_subsets(atlas, genotypes):
    samples = genotypes[0]
    subsets = {}
    for tissue, mods in atlas.release("v2").tissues.items():
        cols = list(read_bed(mods["expression"].bed).columns[4:])
        assert set(cols) <= set(samples)
        assert 0.75 * len(samples) <= len(cols) < len(samples)
        subsets[tissue] = frozenset(cols)
    assert len(set(subsets.values())) == len(subsets)
    cov_inp = atlas.release("v2").tissues[SMALL.covariate_tissue_id]["expression"]
    cov = pd.read_csv(cov_inp.covariates, sep="\t")
    assert cov.columns[0] == "id" and list(cov.columns[1:]) == list(read_bed(cov_inp.bed).columns[4:])
    assert cov["id"].tolist() == ["sex", "batch"]
    assert set(np.unique(cov.iloc[:, 1:].to_numpy())) == {0, 1}


def test_v2_coordinates_are_shifted_per_chromosome(atlas):
    g1, g2 = gtf_genes(atlas.release("v1").annotation), gtf_genes(atlas.release("v2").annotation)
    g2 = g2[~g2["chrom"].isin(["chrX", "chrY"])]  # the sex marker genes keep their coordinates (no genotypes)
    shift = (g2["tss"] - g1.loc[g2.index, "tss"]).groupby(g2["chrom"]).agg(["min", "max"])
    assert (shift["min"] == shift["max"]).all() and (shift["min"] != 0).all()
    _, v1, _ = read_vcf(atlas.release("v1").genotypes[0])
    _, v2, _ = read_vcf(atlas.release("v2").genotypes[0])
    assert v1["id"].tolist() == v2["id"].tolist()
    for chrom, grp in v2.groupby("chrom"):
        assert (grp["pos"].to_numpy() - v1.loc[grp.index, "pos"].to_numpy() == shift.loc[chrom, "min"]).all()


def test_sumstats_layout(atlas, genotypes):
    variants = genotypes[1].set_index("id")
    for trait in atlas.twas.traits:
        ss = pd.read_csv(trait.sumstats, sep="\t")
        assert list(ss.columns) == ["SNP", "A1", "A2", "Z", "BETA", "SE", "N"]
        assert len(ss) > 0.9 * len(variants) and ss["SNP"].isin(variants.index).all()
        assert (ss["A1"].to_numpy() == variants.loc[ss["SNP"], "alt"].to_numpy()).all()
        assert (ss["A2"].to_numpy() == variants.loc[ss["SNP"], "ref"].to_numpy()).all()
        np.testing.assert_allclose(ss["Z"], ss["BETA"] / ss["SE"], rtol=1e-3)
        assert (ss["N"] == SMALL.gwas_n).all()


# --------------------------------------------------------------------------------------------------
# Determinism
# --------------------------------------------------------------------------------------------------


def test_same_seed_gives_byte_identical_files(demo, tmp_path):
    out, _ = demo
    generate_demo(tmp_path / "again", SMALL)
    first, second = sha256_tree(out), sha256_tree(tmp_path / "again")
    assert first.keys() == second.keys()
    assert [k for k in first if first[k] != second[k]] == []


def test_different_seed_gives_different_genotypes(demo, tmp_path):
    out, _ = demo
    generate_demo(tmp_path / "other", dataclasses.replace(SMALL, seed=SMALL.seed + 1))
    vcf = "releases/v1/genotypes.vcf.gz"
    assert (out / vcf).read_bytes() != (tmp_path / "other" / vcf).read_bytes()


# --------------------------------------------------------------------------------------------------
# Population genetics
# --------------------------------------------------------------------------------------------------


def test_allele_frequency_spectrum_has_many_rare_variants(genotypes):
    _, _, dos, _, maf = genotypes
    assert (maf < 0.2).mean() > 0.5
    assert (maf < 0.05).mean() > 0.1
    assert (maf > 0.3).mean() > 0.1
    # Hardy-Weinberg: observed heterozygosity close to 2pq
    af = np.nanmean(dos, axis=1) / 2
    het = np.nanmean(dos == 1, axis=1) * dos.shape[1] / (~np.isnan(dos)).sum(axis=1)
    assert abs(het.mean() - (2 * af * (1 - af)).mean()) < 0.02


def test_ld_decays_with_distance(genotypes):
    _, variants, _, filled, maf = genotypes
    adjacent, far = [], []
    for _, grp in variants[maf >= 0.05].groupby("chrom"):
        idx, pos = grp.index.to_numpy(), grp["pos"].to_numpy()
        adjacent += [r2(filled[i], filled[j]) for i, j in zip(idx[:-1], idx[1:], strict=True)]
        j = np.searchsorted(pos, pos + 2_000_000)
        far += [r2(filled[idx[a]], filled[idx[b]]) for a, b in enumerate(j) if b < len(idx)]
    assert np.nanmean(adjacent) > 0.5
    assert np.nanmean(far) < 0.05
    assert np.nanmean(adjacent) > 10 * np.nanmean(far)


# --------------------------------------------------------------------------------------------------
# Planted signals
# --------------------------------------------------------------------------------------------------


def test_truth_tables(demo, atlas):
    out, truth = demo
    cv = truth.causal_variants
    assert set(cv["release"]) == {"v1", "v2"} and set(cv["modality"]) == set(MODALITIES)
    assert set(cv["signal"]) == {1, 2}
    assert cv["r2"].between(0.0, 0.41).all() and cv["r2"].max() > 0.3 and cv["r2"].min() < 0.05
    assert (cv["tss_distance"].abs() <= 500_000).all() and (cv["tss_distance"].abs() < 50_000).mean() > 0.5
    assert cv["shared_with_expression"].any() and cv["shared_across_tissues"].any()
    assert cv.equals(pd.read_parquet(out / "truth" / "causal_variants.parquet"))
    v2 = cv[cv["release"] == "v2"]
    # positions in v2 coordinates match the v2 VCF
    _, variants, _ = read_vcf(atlas.release("v2").genotypes[0])
    pos = variants.set_index("id").loc[v2["variant_id"], "pos"].to_numpy()
    assert (pos == v2["pos"].to_numpy()).all()
    # the same variant drives expression and another modality of the same gene in the same tissue
    expr = v2[v2["modality"] == "expression"][["tissue", "gene_id", "variant_id"]]
    other = v2[v2["modality"] != "expression"][["tissue", "gene_id", "variant_id"]]
    assert len(expr.merge(other)) > 0
    # about half of the expressed genes are eGenes in each tissue
    for tissue, mods in atlas.release("v2").tissues.items():
        bed = read_bed(mods["expression"].bed)
        expressed = bed.loc[bed.iloc[:, 4:].median(axis=1) >= 1, "phenotype_id"]
        egenes = set(v2.loc[(v2["tissue"] == tissue) & (v2["modality"] == "expression"), "gene_id"])
        assert 0.3 < expressed.isin(egenes).mean() < 0.75, tissue
    conf = truth.confounders
    assert (conf["n_hidden_factors"] == SMALL.n_hidden_factors).all() and len(conf) == len(SMALL.tissues)
    assert set(truth.trait_genes["trait"]) == set(truth.traits["trait"])


def _inverse_normal(values: np.ndarray) -> np.ndarray:
    ranks = stats.rankdata(values, axis=1)
    return stats.norm.ppf((ranks - 0.5) / values.shape[1])


def test_planted_eqtls_are_recoverable_by_plain_regression(demo, atlas, genotypes):
    _, truth = demo
    samples, variants, _, filled, maf = genotypes
    tissue = SMALL.tissue_ids[0]
    bed = read_bed(atlas.release("v1").tissues[tissue]["expression"].bed)
    cols = list(bed.columns[4:])
    x = filled[:, [samples.index(s) for s in cols]]
    values = bed.iloc[:, 4:].to_numpy(dtype=float)
    # expressed genes on the genotyped chromosomes (not the sex marker genes of chrX and chrY)
    keep = (np.median(values, axis=1) >= 1.0) & ~bed["#chr"].isin(["chrX", "chrY"]).to_numpy()
    bed, y = bed[keep].reset_index(drop=True), _inverse_normal(values[keep])
    # remove the top expression PCs (hidden confounders) from phenotypes and genotypes
    y -= y.mean(axis=1, keepdims=True)
    pcs = np.linalg.svd(y, full_matrices=False)[2][:5].T  # (n, 5)

    def residualise(m: np.ndarray) -> np.ndarray:
        m = m - m.mean(axis=1, keepdims=True)
        return m - (m @ pcs) @ pcs.T

    y = residualise(y)
    dof = y.shape[1] - 2 - pcs.shape[1]
    cv = truth.causal_variants
    cv = cv[(cv["release"] == "v1") & (cv["tissue"] == tissue) & (cv["modality"] == "expression")]
    ids = variants["id"].to_numpy()
    strong_ok, strong, logp_causal, logp_null = 0, 0, [], []
    for k, row in bed.iterrows():
        cis = np.flatnonzero((variants["chrom"].to_numpy() == row["#chr"])
                             & (np.abs(variants["pos"].to_numpy() - row["end"]) <= 1_000_000) & (maf >= 0.05))
        g = residualise(x[cis])
        r = (g @ y[k]) / np.sqrt((g * g).sum(axis=1) * (y[k] @ y[k]))
        t = r * np.sqrt(dof / (1 - r**2))
        min_logp = -np.log10(2 * stats.t.sf(np.abs(t).max(), dof))
        planted = cv[cv["gene_id"] == row["phenotype_id"]]
        (logp_causal if len(planted) else logp_null).append(min_logp)
        if len(planted) and planted["r2"].max() >= 0.1:
            strong += 1
            best = cis[np.argmax(np.abs(r))]
            causal = [np.flatnonzero(ids == v)[0] for v in planted["variant_id"]]
            strong_ok += max(r2(filled[best], filled[c]) for c in causal) > 0.8
    assert strong >= 15
    assert strong_ok >= 0.8 * strong, f"{strong_ok}/{strong} strong eGenes recovered"
    assert np.mean(logp_causal) > np.mean(logp_null) + 3
    assert np.mean(logp_null) < 3.5


def test_gwas_z_scores_are_enriched_at_causal_genes(demo, atlas):
    _, truth = demo
    tg = truth.trait_genes
    assert len(tg) >= SMALL.n_traits * SMALL.trait_genes[0]
    assert truth.traits["h2_mediated"].between(0.05, 0.2).all()
    for trait in atlas.twas.traits:
        ss = pd.read_csv(trait.sumstats, sep="\t")
        causal = set(",".join(tg.loc[tg["trait"] == trait.id, "variant_ids"]).split(","))
        z_causal = ss.loc[ss["SNP"].isin(causal), "Z"].abs()
        assert len(z_causal) > 0
        assert z_causal.mean() > 3 * ss["Z"].abs().mean(), trait.id
        assert z_causal.max() > 5


def test_sample_sheets_describe_every_bed_column_and_the_planted_problems(demo, atlas):
    """samples.tsv has one row per sample of each tissue of a release (library ids ``<individual>.<tissue>``),
    individuals.tsv every genotyped individual; the truth's swap exchanges two same-sex individuals' columns of
    one tissue, and the declared sex of the mislabelled individual contradicts its marker expression."""
    out, truth = demo
    problems = truth.sample_problems
    swap = problems[problems["problem"] == "sample_swap"]
    flip = problems.loc[problems["problem"] == "sex_mislabel", "individual_id"].item()
    assert len(swap) == 2 and set(swap["individual_id"]) == set(swap["matches"])
    for release in atlas.releases:
        samples = pd.read_csv(release.samples, sep="\t")
        individuals = pd.read_csv(release.individuals, sep="\t").set_index("individual_id")
        assert samples["sample_id"].is_unique
        assert (samples["sample_id"] == samples["individual_id"] + "." + samples["tissue"]).all()
        assert set(individuals.index) == set(read_vcf(release.genotypes[0])[0])
        for tissue, mods in release.tissues.items():
            columns = list(read_bed(mods["expression"].bed).columns[4:])
            assert sorted(columns) == sorted(samples.loc[samples["tissue"] == tissue, "individual_id"])
        expr = read_bed(release.tissues[swap["tissue"].iloc[0]]["expression"].bed)
        a, b = swap["individual_id"]
        assert individuals.loc[a, "sex"] == individuals.loc[b, "sex"] or flip in (a, b)
        # the marker genes give each column's true sex: the mislabelled individual contradicts its declaration
        genes = gtf_genes(release.annotation)
        xist = genes.index[genes["gene_name"] == "Xist"].item()
        for tissue, mods in release.tissues.items():
            bed = read_bed(mods["expression"].bed).set_index("phenotype_id")
            female = bed.loc[xist, bed.columns[3:]] > 5
            declared = individuals.loc[female.index, "sex"] == "female"
            wrong = set(female.index[female.to_numpy() != declared.to_numpy()])
            assert wrong == ({flip} if flip in female.index else set()), tissue
        assert len(expr.columns) > 4
