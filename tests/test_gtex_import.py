"""Per-tissue results in GTEx's layout imported in place: `qtlatlas import gtex`, then `validate` and `build`.

The files are GTEx-shaped from real data: the GEUVADIS chr22 tensorQTL reference outputs written under GTEx's
file names and column names (``gene_id`` for the phenotype, ``maf``, …), and GTEx v8's own allpairs example
(``-nan`` slope standard errors included) as the nominal pass of a second tissue.
"""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import pandas as pd
import pytest

from qtlatlas.cli import main
from qtlatlas.config import load_atlas
from qtlatlas.release.imported import iter_pairs, pair_columns
from qtlatlas.store import ReleaseStore

SHARED = Path(__file__).resolve().parents[2] / "shared"
GEU = SHARED / "reference" / "geuvadis22"
TQ = GEU / "tensorqtl"
GTF = SHARED / "data" / "geuvadis-chr22-qtltools" / "gencode.v19.annotation.chr22.gtf.gz"
ALLPAIRS = SHARED / "data" / "gtex-v8-fastqtl-2tissue-example" / "Tissue_1.fastqtl.gz"

pytestmark = pytest.mark.shared


def _gz(df: pd.DataFrame, path: Path) -> None:
    with gzip.open(path, "wt") as fh:
        df.to_csv(fh, sep="\t", index=False, float_format="%.6g")


@pytest.fixture(scope="module")
def gtex_dir(tmp_path_factory) -> Path:
    """GEUVADIS chr22 as GTEx publishes a tissue (``LCL``), in nested folders as GTEx's archives unpack."""
    root = tmp_path_factory.mktemp("gtex")
    (root / "GTEx_Analysis_v8_eQTL").mkdir()
    (root / "GTEx_Analysis_v8_eQTL_all_associations").mkdir()
    (root / "GTEx_Analysis_v8_eQTL_expression_matrices").mkdir()
    cis = pd.read_csv(TQ / "g22.cis_qtl.txt.gz", sep="\t").rename(columns={"phenotype_id": "gene_id"})
    _gz(cis, root / "GTEx_Analysis_v8_eQTL" / "LCL.v8.egenes.txt.gz")
    indep = pd.read_csv(TQ / "g22.cis_independent_qtl.txt.gz", sep="\t").rename(columns={"phenotype_id": "gene_id"})
    _gz(indep, root / "GTEx_Analysis_v8_eQTL" / "LCL.v8.independent_eqtls.txt.gz")
    nominal = pd.read_parquet(TQ / "g22.cis_qtl_pairs.chr22.parquet").rename(columns={"phenotype_id": "gene_id"})
    nominal["maf"] = nominal["af"].where(nominal["af"] <= 0.5, 1 - nominal["af"])
    columns = ["gene_id", "variant_id", "start_distance", "ma_samples", "ma_count", "maf", "pval_nominal", "slope",
               "slope_se"]
    _gz(nominal[columns].rename(columns={"start_distance": "tss_distance"}),
        root / "GTEx_Analysis_v8_eQTL_all_associations" / "LCL.allpairs.txt.gz")
    shutil.copy(GEU / "phenotypes.int.bed.gz",
                root / "GTEx_Analysis_v8_eQTL_expression_matrices" / "LCL.v8.normalized_expression.bed.gz")
    shutil.copy(GEU / "covariates.txt", root / "GTEx_Analysis_v8_eQTL" / "LCL.v8.covariates.txt")
    return root


def test_gtex_allpairs_columns_are_read_as_tensorqtl(tmp_path):
    """GTEx's allpairs (gene_id, maf, '-nan') reads as tensorQTL's nominal pass."""
    assert {"phenotype_id", "variant_id", "pval_nominal", "slope", "slope_se", "maf"} <= set(pair_columns(ALLPAIRS))
    batch = next(iter_pairs(ALLPAIRS, "expression", False))
    raw = pd.read_csv(ALLPAIRS, sep="\t")
    assert list(batch["phenotype_id"]) == list(raw["gene_id"]) and batch["slope_se"].isna().sum() == (
        raw["slope_se"].astype(str).str.contains("nan")).sum()


def test_import_validate_build_and_query(gtex_dir, tmp_path):
    atlas_path = tmp_path / "atlas.yaml"
    assert main(["import", "gtex", str(gtex_dir), "--release", "v8", "--out", str(atlas_path),
                 "--genotypes", str(GEU / "genotypes.vcf.gz"), "--annotation", str(GTF), "--genome", "GRCh37"]) == 0
    atlas = load_atlas(atlas_path)
    inp = atlas.release("v8").tissues["LCL"]["expression"]
    assert inp.results.cis.name == "LCL.v8.egenes.txt.gz" and inp.results.nominal[0].name == "LCL.allpairs.txt.gz"
    assert inp.results.phenotypes.name == "LCL.v8.normalized_expression.bed.gz"
    assert atlas.atlas.name == "GTEx v8"
    assert main(["validate", str(atlas_path)]) == 0
    assert main(["build", str(atlas_path), "--release", "v8", "--site", str(tmp_path / "site")]) == 0
    store = ReleaseStore(tmp_path / "site" / "releases" / "v8")
    cis = pd.read_csv(TQ / "g22.cis_qtl.txt.gz", sep="\t")
    top = pd.read_parquet(store.table_file("top_qtls"))
    assert len(top) == len(cis) and set(top["phenotype_id"]) == set(cis["phenotype_id"])
    lead = cis.sort_values("pval_nominal").iloc[0]
    pair = store.nominal_pair("LCL", "expression", lead["phenotype_id"], lead["variant_id"])
    assert pair["pval_nominal"] == pytest.approx(lead["pval_nominal"], rel=1e-5)
    rows, total, _ = store.pairs(gene=lead["phenotype_id"])
    assert total > 0 and (rows["pval_nominal"] <= rows["pval_nominal_threshold"]).all()


def test_gtex_import_needs_egenes(tmp_path, capsys):
    (tmp_path / "in").mkdir()
    shutil.copy(ALLPAIRS, tmp_path / "in" / "Lung.allpairs.txt.gz")
    assert main(["import", "gtex", str(tmp_path / "in"), "--release", "v8", "--out", str(tmp_path / "a.yaml"),
                 "--genotypes", str(GEU / "genotypes.vcf.gz"), "--annotation", str(GTF)]) == 2
    assert "egenes" in capsys.readouterr().err and not (tmp_path / "a.yaml").exists()
