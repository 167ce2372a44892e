"""TWAS inside the pipeline: the planned tasks, a small demo run (weights per tissue × modality, association
and loci per trait), resumption, the release tables and downloads against the work files, agreement with the
``qtlatlas twas assoc`` command, and the demo traits' causal genes found by the hub."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from twas_demo import RELEASE, twas_demo

from qtlatlas.cli import main
from qtlatlas.commands.pipeline import run_release
from qtlatlas.config import load_atlas
from qtlatlas.errors import InputFileError, QtlAtlasError
from qtlatlas.io.genotype_set import open_genotype_files
from qtlatlas.pipeline import twas_tasks
from qtlatlas.pipeline.plan import plan_release
from qtlatlas.release.twas_tables import publish_twas
from qtlatlas.results import TWAS_POST_FILES, TwasResultFiles, twas_directory
from qtlatlas.twas.fusion_io import read_dat, read_fusion_panel, read_parquet_panel

PANELS = [f"{t}.{m}" for t in ("Adipose", "Brain", "Liver") for m in ("expression", "splicing")]
TRAITS = ["body_weight", "fasting_glucose", "fat_pad"]


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    return twas_demo(tmp_path_factory.getbasetemp())


@pytest.fixture(scope="module")
def atlas(demo):
    return load_atlas(demo.atlas_yaml)


def table(demo, name: str) -> pd.DataFrame:
    return pd.read_parquet(demo.release_dir / "tables" / f"{name}.parquet")


def twas_work(demo) -> TwasResultFiles:
    return TwasResultFiles.from_directory(twas_directory(demo.work, RELEASE))


def digest(directory: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(directory.iterdir())}


# ------------------------------------------------------------------------------------------------------------
# Planning
# ------------------------------------------------------------------------------------------------------------


def test_plan_adds_weights_assoc_and_post_tasks(demo, atlas):
    tasks = {t.id: t for t in plan_release(atlas, RELEASE, demo.work)}
    twas = sorted(t for t in tasks if "/twas/" in t)
    assert twas == sorted([f"v2/twas/weights/{p}" for p in PANELS] + [f"v2/twas/{s}/{t}" for s in ("assoc", "post")
                                                                        for t in TRAITS])
    weights = tasks["v2/twas/weights/Brain.splicing"]
    assert weights.deps == ("v2/Brain/splicing/prepare",)
    assert weights.params["groups"].endswith("Brain/splicing/groups.txt") and weights.params["models"] == ["top1", "lasso", "blup"]
    assoc = tasks["v2/twas/assoc/body_weight"]
    assert set(assoc.deps) == {f"v2/twas/weights/{p}" for p in PANELS}
    assert [p["panel"] for p in assoc.params["panels"]] == PANELS
    assert assoc.params["ld_reference"] == [str(g) for g in atlas.release(RELEASE).genotypes]
    assert tasks["v2/twas/post/body_weight"].deps == ("v2/twas/assoc/body_weight",)
    # no trait, no TWAS; twas.tissues restricts the panels
    bare = atlas.model_copy(update={"twas": atlas.twas.model_copy(update={"traits": []})})
    assert not [t for t in plan_release(bare, RELEASE, demo.work) if "/twas/" in t.id]
    liver = atlas.model_copy(update={"twas": atlas.twas.model_copy(update={"tissues": ["Liver"]})})
    assert sorted(t.id for t in plan_release(liver, RELEASE, demo.work) if "/weights/" in t.id) == [
        "v2/twas/weights/Liver.expression", "v2/twas/weights/Liver.splicing"]


# ------------------------------------------------------------------------------------------------------------
# Running and resuming
# ------------------------------------------------------------------------------------------------------------


def test_twas_tasks_ran_and_wrote_their_files(demo):
    ran = {tid for tid, s in demo.task_s.items() if "/twas/" in tid and s > 0}
    assert len(ran) == len(PANELS) + 2 * len(TRAITS)
    work = twas_work(demo)
    assert sorted(work.panels) == PANELS and sorted(work.associations) == TRAITS and sorted(work.post) == TRAITS
    for panel in PANELS:
        models = read_parquet_panel(work.panels[panel])
        assert models and all(m.panel == panel for m in models)
        assert all(set(m.models) <= {"top1", "lasso", "blup"} for m in models)
    assoc = pd.read_parquet(work.associations["body_weight"])
    assert list(assoc.columns[:4]) == ["tissue", "modality", "phenotype_id", "gene_id"]
    assert sorted(assoc["PANEL"].unique()) == PANELS and assoc["TWAS.Z"].notna().mean() > 0.8
    assert (assoc["PANEL"] == assoc["tissue"] + "." + assoc["modality"]).all()


def test_resume_skips_finished_tasks_and_reruns_what_a_parameter_changes(demo):
    atlas = load_atlas(demo.atlas_yaml)
    again = run_release(atlas, RELEASE, demo.work, cores=2, progress=False)
    assert again.ok and not again.ids("done")
    post = twas_directory(demo.work, RELEASE) / "post" / "body_weight"
    before = digest(post)
    original = demo.atlas_yaml.read_text()
    assert "locus_window" not in original
    try:
        demo.atlas_yaml.write_text(original.replace("twas:\n", "twas:\n  locus_window: 20000\n", 1))
        changed = run_release(load_atlas(demo.atlas_yaml), RELEASE, demo.work, cores=2, progress=False)
        assert sorted(changed.ids("done")) == [f"v2/twas/post/{t}" for t in TRAITS]
    finally:
        demo.atlas_yaml.write_text(original)
    restored = run_release(load_atlas(demo.atlas_yaml), RELEASE, demo.work, cores=2, progress=False)
    assert sorted(restored.ids("done")) == [f"v2/twas/post/{t}" for t in TRAITS]
    assert digest(post) == before  # deterministic outputs


# ------------------------------------------------------------------------------------------------------------
# The release against the work files
# ------------------------------------------------------------------------------------------------------------


def test_release_tables_agree_with_the_work_files(demo):
    work = twas_work(demo)
    panels = table(demo, "twas_panels").set_index("panel")
    models = table(demo, "twas_models")
    weights = table(demo, "twas_weights")
    for panel in PANELS:
        profile = pd.read_parquet(work.panels[panel] / "twas_profile.parquet")
        assert panels.loc[panel, "n_models"] == len(profile) and panels.loc[panel, "tissue"] == panel.split(".")[0]
        mine = models[models["panel"] == panel].set_index("phenotype_id").loc[profile["phenotype_id"]]
        for col in ("hsq", "hsq_pval", "top1_r2", "lasso_pval", "blup_r2"):
            np.testing.assert_array_equal(mine[col].to_numpy(), profile[col].to_numpy())
        wt = pd.read_parquet(work.panels[panel] / "twas_weights.parquet")
        assert (weights["panel"] == panel).sum() == len(wt)
    assert models["gene_name"].notna().all()

    assoc = table(demo, "twas_associations")
    traits = table(demo, "twas_traits").set_index("id")
    loci_table = table(demo, "twas_loci")
    for trait in TRAITS:
        raw = pd.read_parquet(work.associations[trait])
        post = work.post[trait]
        summary = pd.read_json(post / TWAS_POST_FILES["summary"], typ="series")
        mine = assoc[assoc["trait"] == trait].set_index(["panel", "phenotype_id"]).loc[
            list(zip(raw["PANEL"], raw["ID"], strict=True))]
        np.testing.assert_array_equal(mine["twas_z"].to_numpy(), raw["TWAS.Z"].to_numpy(np.float64))
        np.testing.assert_array_equal(mine["twas_p"].to_numpy(), raw["TWAS.P"].to_numpy(np.float64))
        assert (mine["model"].to_numpy() == raw["MODEL"].to_numpy()).all()
        np.testing.assert_array_equal(mine["coloc_pp4"].to_numpy(), raw["COLOC.PP4"].to_numpy(np.float64))
        sig = np.abs(raw["TWAS.Z"].to_numpy(np.float64)) > summary["zthresh"]
        assert (mine["significant"].to_numpy() == sig).all() and sig.any()
        n_tested = int(raw["TWAS.P"].notna().sum())
        assert traits.loc[trait, "n_tested"] == n_tested
        assert traits.loc[trait, "bonferroni_p"] == pytest.approx(0.05 / n_tested)
        assert traits.loc[trait, "n_significant"] == sig.sum()
        lm = pd.read_parquet(post / "locus_models.parquet")
        joined = mine.loc[list(zip(lm["panel"], lm["phenotype_id"], strict=True))]
        assert (joined["locus"].to_numpy() == lm["locus"].to_numpy()).all()
        assert (joined["joint"].to_numpy() == lm["joint"].to_numpy()).all()
        assert mine["locus"].notna().sum() == len(lm)
        loci = pd.read_parquet(post / "loci.parquet")
        assert traits.loc[trait, "n_loci"] == len(loci) > 0
        got = loci_table[loci_table["trait"] == trait].reset_index(drop=True)
        pd.testing.assert_frame_equal(got[list(loci.columns)], loci, check_dtype=False)
        gwas = table(demo, "twas_locus_gwas")
        assert (gwas["trait"] == trait).sum() == len(pd.read_parquet(post / "locus_gwas.parquet"))
        omni = table(demo, "twas_omnibus")
        assert sorted(omni.loc[omni["trait"] == trait, "gene_id"]) == sorted(
            pd.read_parquet(post / "omnibus.parquet")["gene_id"])


def test_downloads_are_fusion_files_that_read_back(demo):
    work = twas_work(demo)
    downloads = demo.release_dir / "downloads"
    for trait in TRAITS:
        _, numbers = read_dat(downloads / f"twas_assoc.{trait}.v2_demo2.dat")
        raw = pd.read_parquet(work.associations[trait])
        np.testing.assert_array_equal(numbers["TWAS.Z"].to_numpy(), raw["TWAS.Z"].to_numpy(np.float64))
        assert numbers["FILE"].iloc[0] == f"{raw['PANEL'].iloc[0]}/{raw['PANEL'].iloc[0]}.{raw['ID'].iloc[0]}.wgt.RDat"
    unpacked = demo.root / "unpacked_weights"
    for panel in PANELS:
        shutil.unpack_archive(downloads / f"twas_weights.{panel}.v2_demo2.tar.gz", unpacked)
        fusion = read_fusion_panel(downloads / f"twas_pos.{panel}.v2_demo2.pos", unpacked)
        ours = read_parquet_panel(work.panels[panel])
        assert [m.phenotype_id for m in fusion] == [m.phenotype_id for m in ours]
        for a, b in zip(fusion, ours, strict=True):
            assert a.models == b.models and a.n == b.n and a.hsq == b.hsq and a.hsq_pval == b.hsq_pval
            np.testing.assert_array_equal(a.weights, b.weights)
            np.testing.assert_array_equal(a.cv_pval, b.cv_pval)
            assert a.snps[["snp", "pos", "a1", "a2"]].equals(b.snps[["snp", "pos", "a1", "a2"]])
    manifest = pd.read_csv(demo.release_dir / "MANIFEST.tsv", sep="\t")
    listed = manifest[manifest["path"].str.startswith("downloads/twas_")]
    assert len(listed) == len(TRAITS) + 2 * len(PANELS) and (listed["kind"] == "download").all()
    assert main(["verify", str(demo.site)]) == 0


def test_pipeline_association_equals_the_assoc_command_on_a_plink_reference(demo, tmp_path):
    """The pipeline reads the LD reference from the release VCF; the FUSION-style command from PLINK 1 files
    written from the same genotypes: the same TWAS z for every model of the panel on chr1."""
    vcf = load_atlas(demo.atlas_yaml).release(RELEASE).genotypes
    data = open_genotype_files([str(g) for g in vcf]).read("chr1")
    prefix = tmp_path / "ref.chr1"
    codes = {2: 0b00, -9: 0b01, 1: 0b10, 0: 0b11}  # PLINK 1 codes of A1 (= ALT) counts
    n = data.dosages.shape[1]
    packed = np.zeros((data.dosages.shape[0], (n + 3) // 4), dtype=np.uint8)
    for j in range(n):
        col = np.vectorize(codes.get)(data.dosages[:, j].astype(int)).astype(np.uint8)
        packed[:, j // 4] |= col << (2 * (j % 4))
    Path(f"{prefix}.bed").write_bytes(b"\x6c\x1b\x01" + packed.tobytes())
    v = data.variants
    Path(f"{prefix}.bim").write_text("".join(f"{c}\t{i}\t0\t{p}\t{a}\t{r}\n" for c, i, p, a, r in zip(
        v["chrom"], v["id"], v["pos"], v["alt"], v["ref"], strict=True)))
    Path(f"{prefix}.fam").write_text("".join(f"{s} {s} 0 0 0 -9\n" for s in data.samples))
    panel = twas_work(demo).panels["Brain.expression"]
    out = tmp_path / "brain.dat"
    sumstats = demo.root / "gwas" / "fasting_glucose.sumstats.tsv.gz"
    assert main(["twas", "assoc", "--sumstats", str(sumstats), "--weights", str(panel), "--ref_ld_chr",
                 str(tmp_path / "ref."), "--chr", "chr1", "--out", str(out)]) == 0
    _, command = read_dat(out)
    pipeline = pd.read_parquet(twas_work(demo).associations["fasting_glucose"])
    pipeline = pipeline[(pipeline["PANEL"] == "Brain.expression") & (pipeline["CHR"] == "chr1")]
    assert len(command) == len(pipeline) > 0
    np.testing.assert_allclose(command["TWAS.Z"].to_numpy(), pipeline["TWAS.Z"].to_numpy(np.float64), rtol=1e-12)
    assert (command["MODEL"].to_numpy() == pipeline["MODEL"].to_numpy()).all()


# ------------------------------------------------------------------------------------------------------------
# Agreement with the planted truth
# ------------------------------------------------------------------------------------------------------------


def test_loci_are_the_weight_windows_of_the_significant_models(demo, atlas):
    """FUSION's workflow: loci come from the weight SNPs of the significant models only (every tested model's
    windows would tile the demo's dense chromosomes into one locus each): a locus holds significant models
    only, every significant model is in one, and a locus spans its models' weight SNPs plus the padding, under
    the 5 Mb a whole-chromosome locus would exceed."""
    assoc = table(demo, "twas_associations")
    loci = table(demo, "twas_loci")
    weights = table(demo, "twas_weights")
    pad = atlas.twas.locus_window
    for trait in TRAITS:
        rows = assoc[assoc["trait"] == trait]
        assert (rows["locus"].notna() == rows["significant"]).all()
        for locus in loci[loci["trait"] == trait].itertuples():
            members = rows[rows["locus"] == locus.locus]
            pos = weights.merge(members[["panel", "phenotype_id"]], on=["panel", "phenotype_id"])["pos"]
            assert pos.min() - pad <= locus.start and locus.end <= pos.max() + pad, (trait, locus.locus)
            assert locus.end - locus.start < 5_000_000 and locus.n_models == len(members)


def test_the_hub_finds_the_causal_genes_of_the_demo_traits(demo):
    """A causal gene with a model in the tissue that mediates its trait is found when its effect is large
    enough to be detected (h² ≥ 2% of the trait): significant for its trait and in one of the trait's loci,
    and most such genes are joint genes; each trait's strongest locus holds a causal gene."""
    truth = pd.read_csv(demo.root / "truth" / "trait_genes.tsv", sep="\t")
    assoc = table(demo, "twas_associations")
    loci = table(demo, "twas_loci")
    testable, significant, joint = [], [], []
    for trait, genes in truth.groupby("trait"):
        rows = assoc[assoc["trait"] == trait]
        joint_genes = set(rows.loc[rows["joint"], "gene_id"])
        for g in genes.itertuples():
            causal = rows[(rows["gene_id"] == g.gene_id) & (rows["tissue"] == g.tissue)
                          & (rows["modality"] == "expression")]
            if causal.empty:
                continue  # no heritable model in the mediating tissue: the TWAS could not test it there
            testable.append(g.gene_id)
            if causal["significant"].all() and causal["locus"].notna().all():
                significant.append(g.gene_id)
            else:
                assert g.h2 < 0.02, (trait, g.gene_id, g.h2, causal[["twas_z", "twas_p", "locus"]])
            if g.gene_id in joint_genes:
                joint.append(g.gene_id)
        strongest = loci[loci["trait"] == trait].sort_values("best_twas_p").iloc[0]
        assert set(strongest["gene_ids"].split(",")) & set(genes["gene_id"]), (trait, strongest["gene_ids"])
    assert len(testable) >= 4 and len(significant) >= 0.75 * len(testable), (testable, significant)
    assert len(joint) >= len(significant) / 2, (significant, joint)


# ------------------------------------------------------------------------------------------------------------
# Releases without TWAS, incomplete results and bad input
# ------------------------------------------------------------------------------------------------------------


def test_a_release_without_twas_builds_and_verifies(demo, tmp_path):
    text = demo.atlas_yaml.read_text()
    start = text.index("twas:\n")
    end = text.index("\nmapping:", start)
    bare = demo.root / "atlas_without_twas.yaml"
    bare.write_text(text[:start] + text[end + 1:])
    site = tmp_path / "site"
    assert main(["build", str(bare), "--release", RELEASE, "--site", str(site), "--work", str(demo.work)]) == 0
    release = site / "releases" / RELEASE
    assert not list((release / "tables").glob("twas_*")) and not list((release / "downloads").glob("twas_*"))
    assert main(["verify", str(site)]) == 0
    from qtlatlas.store import Site

    assert not Site(site).release(RELEASE).has_twas()


def test_incomplete_twas_results_are_an_error_naming_what_is_missing(demo, atlas, tmp_path):
    copy = tmp_path / "twas"
    shutil.copytree(twas_directory(demo.work, RELEASE), copy)
    shutil.rmtree(copy / "post" / "fasting_glucose")
    partial = TwasResultFiles.from_directory(copy)
    with pytest.raises(QtlAtlasError, match="loci of trait fasting_glucose"):
        publish_twas(atlas, atlas.release(RELEASE), partial, tmp_path, lambda rel, d, k: tmp_path / rel)


def test_bad_inputs_name_the_file(demo, atlas, tmp_path):
    geno = [str(g) for g in atlas.release(RELEASE).genotypes]
    with pytest.raises(InputFileError, match="no variant on chromosome chr9"):
        twas_tasks.load_ld_reference(geno, "chr9")
    other = tmp_path / "other.sumstats.tsv"
    other.write_text("SNP\tA1\tA2\tZ\nrs_none\tA\tG\t1.5\n")
    panels = [{"panel": "Brain.expression", "tissue": "Brain", "modality": "expression",
               "path": str(twas_work(demo).panels["Brain.expression"])}]
    with pytest.raises(InputFileError, match="other.sumstats.tsv: no SNP id matches the LD reference"):
        twas_tasks.assoc({"assoc": str(tmp_path / "x.parquet")}, 1, trait="t", sumstats=str(other), gwas_n=100,
                         panels=panels, ld_reference=geno, coloc_p=None, perm=0, seed=1)
    with pytest.raises(InputFileError, match="missing.bed.gz"):
        twas_tasks.weights({"panel": str(tmp_path)}, 1, panel="p", tissue="t", modality="m",
                           phenotypes=str(tmp_path / "missing.bed.gz"), covariates=None, groups=None, genotypes=geno,
                           window=100_000, models=["top1"], crossval=5, hsq_p=0.01, seed=1)
    with pytest.raises(InputFileError, match="not a TWAS association table|TWAS association table not found"):
        twas_tasks.read_association_table(tmp_path / "nothing.parquet")


def test_models_on_a_chromosome_the_gwas_lacks_stay_untested(demo, atlas, tmp_path):
    geno = [str(g) for g in atlas.release(RELEASE).genotypes]
    chr1 = set(open_genotype_files(geno).read("chr1").variants["id"])
    full = pd.read_csv(demo.root / "gwas" / "fat_pad.sumstats.tsv.gz", sep="\t")
    only_chr1 = tmp_path / "chr1.sumstats.tsv"
    full[full["SNP"].isin(chr1)].to_csv(only_chr1, sep="\t", index=False)
    panels = [{"panel": "Liver.expression", "tissue": "Liver", "modality": "expression",
               "path": str(twas_work(demo).panels["Liver.expression"])}]
    out = tmp_path / "assoc.parquet"
    twas_tasks.assoc({"assoc": str(out)}, 1, trait="fat_pad", sumstats=str(only_chr1), gwas_n=4000, panels=panels,
                     ld_reference=geno, coloc_p=0.05, perm=0, seed=1)
    got = pd.read_parquet(out)
    work = pd.read_parquet(twas_work(demo).associations["fat_pad"])
    work = work[work["PANEL"] == "Liver.expression"]
    assert list(got["ID"]) == list(work["ID"])
    on2 = got["CHR"] == "chr2"
    assert on2.any() and got.loc[on2, "TWAS.Z"].isna().all()
    assert (got.loc[on2, "skip_reason"] == "no GWAS SNP matches the LD reference on chromosome chr2").all()
    np.testing.assert_allclose(got.loc[~on2, "TWAS.Z"].to_numpy(np.float64),
                               work.loc[(work["CHR"] == "chr1").to_numpy(), "TWAS.Z"].to_numpy(np.float64), rtol=1e-12)
