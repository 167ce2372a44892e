"""``mapping.maf_threshold`` and ``mapping.min_mac`` of atlas.yaml: their defaults and validation, and that the
pipeline's mapping tasks test only the variants whose minor allele is common enough among the samples of the
tissue × modality (not among every genotyped sample), while ``qtlatlas map`` keeps tensorQTL's defaults."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from atlas_factory import SAMPLES, make_atlas, vcf_text
from conftest import write_text
from pydantic import ValidationError

from qtlatlas.config import MappingSettings, load_atlas
from qtlatlas.mapping.run import MapOptions, _testable
from qtlatlas.pipeline.execute import resolve_func
from qtlatlas.pipeline.plan import plan_release

PHENOTYPED = SAMPLES[:27]  # make_atlas's BEDs: the last three genotyped samples have no phenotype


def _rare(variant_id: str, pos: int, alt_dosage: dict[str, int]) -> str:
    calls = [{0: "0/0", 1: "0/1", 2: "1/1"}[alt_dosage.get(s, 0)] for s in SAMPLES]
    return "\t".join(["chr1", str(pos), variant_id, "C", "T", ".", "PASS", ".", "GT", *calls])


#: Rare variants beside make_atlas's 40 common ones, with their minor-allele count among the 27 phenotyped samples.
RARE = {
    # 3 copies: MAF 0.056 passes 0.01, the count does not
    "rare3": {s: 1 for s in PHENOTYPED[:3]},
    # 4 copies among the phenotyped samples, 10 among all 30 genotyped ones: counted within the tissue, it fails
    "outside4": {**{s: 1 for s in PHENOTYPED[:4]}, **{s: 2 for s in SAMPLES[27:]}},
    # exactly 10 copies: kept
    "edge10": {s: 1 for s in PHENOTYPED[5:15]},
}


def _atlas(root: Path, mapping: str = "") -> Path:
    path = make_atlas(root, extra_yaml=f"mapping: {{permutations: 200, trans_modalities: []{mapping}}}\n")
    rows = [_rare(v, 70_000 + 100 * i, dosages) for i, (v, dosages) in enumerate(RARE.items())]
    write_text(root / "genotypes.vcf", vcf_text(SAMPLES) + "\n".join(rows) + "\n")
    return path


def _run(task) -> None:
    for path in task.outputs.values():
        Path(path.rstrip("/")).parent.mkdir(parents=True, exist_ok=True)
        if path.endswith("/"):
            Path(path).mkdir(parents=True, exist_ok=True)
    resolve_func(task.func)(outputs=dict(task.outputs), threads=1, **task.params)


def _tested(root: Path, mapping: str = "") -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """(nominal pairs, cis table, prepare task's outputs) of T1's expression mapped by the pipeline's tasks."""
    tasks = {t.id: t for t in plan_release(load_atlas(_atlas(root, mapping)), "r1", root / "work")}
    for name in ("r1/prune", "r1/T1/expression/prepare", "r1/T1/expression/cis", "r1/T1/expression/nominal"):
        _run(tasks[name])
    nominal = Path(tasks["r1/T1/expression/nominal"].outputs["nominal"])
    pairs = pd.concat([pd.read_parquet(p) for p in sorted(nominal.glob("*.parquet")) if "signif" not in p.name])
    return (pairs, pd.read_csv(tasks["r1/T1/expression/cis"].outputs["cis"], sep="\t"),
            tasks["r1/T1/expression/prepare"].outputs)


def _cli_nominal(root: Path, prepared: dict, prefix: str, *options: str) -> set[str]:
    """Variants of ``qtlatlas map cis_nominal`` on the pipeline's prepared phenotypes and covariates."""
    from qtlatlas.cli import main

    assert main(["map", "cis_nominal", str(root / "genotypes.vcf"), prepared["phenotypes"], str(root / prefix),
                 "--covariates", prepared["covariates"], *options]) == 0
    return set(pd.concat([pd.read_parquet(p) for p in root.glob(f"{prefix}.cis_qtl_pairs.*.parquet")])["variant_id"])


def test_defaults_and_validation(tmp_path):
    m = MappingSettings()
    assert (m.maf_threshold, m.min_mac) == (0.01, 10)
    assert "GTEx" in MappingSettings.model_fields["min_mac"].description
    atlas = load_atlas(make_atlas(tmp_path, extra_yaml="mapping: {min_mac: 5, maf_threshold: 0.05}\n"))
    assert (atlas.mapping.min_mac, atlas.mapping.maf_threshold) == (5, 0.05)
    for bad in ({"min_mac": -1}, {"min_mac": "ten"}, {"min_mac": 2.5}, {"maf_threshold": 0.5}):
        with pytest.raises(ValidationError):
            MappingSettings(**bad)
    # the standalone engine options keep tensorQTL's: every polymorphic variant
    assert (MapOptions().maf_threshold, MapOptions().min_mac) == (0.0, 0)


def test_pipeline_tests_only_variants_with_enough_minor_alleles_in_the_tissue(tmp_path):
    pairs, cis, prepared = _tested(tmp_path / "default")
    tested = set(pairs["variant_id"])
    assert "edge10" in tested and not tested & {"rare3", "outside4"}
    assert pairs["ma_count"].min() >= 10
    assert set(cis["variant_id"]) <= tested
    # counted within the tissue's samples: the nominal pass reports the edge variant's 10 copies
    assert set(pairs.loc[pairs["variant_id"] == "edge10", "ma_count"]) == {10}

    everything, _, _ = _tested(tmp_path / "off", ", min_mac: 0, maf_threshold: 0")
    assert {"rare3", "outside4", "edge10"} <= set(everything["variant_id"])
    assert set(everything.loc[everything["variant_id"] == "outside4", "ma_count"]) == {4}
    # qtlatlas map keeps tensorQTL's default (every polymorphic variant); --min-mac gives the pipeline's choice
    root = tmp_path / "default"
    assert _cli_nominal(root, prepared, "cli") == set(everything["variant_id"])
    assert _cli_nominal(root, prepared, "cli10", "--min-mac", "10", "--maf-threshold", "0.01") == tested


def test_min_mac_is_part_of_the_mapping_tasks_identity(tmp_path):
    plans = [{t.id: t for t in plan_release(load_atlas(make_atlas(tmp_path / str(n), extra_yaml=f"mapping: {{min_mac: {n}}}\n")),
                                            "r1", tmp_path / "work")} for n in (10, 3)]
    for task_id in ("r1/T1/expression/cis", "r1/T1/expression/nominal", "r1/T1/expression/independent"):
        assert [p[task_id].params["mapping"]["min_mac"] for p in plans] == [10, 3]
    assert [p["r1/T1/expression/finemap"].params["min_mac"] for p in plans] == [10, 3]


def test_trans_scan_filter_matches_the_cis_filter():
    dosages = np.array([[1, 1, 1, 0, 0, 0, 0, 0, 0, 0],  # MAC 3
                        [2, 2, 2, 2, 2, 0, 0, 0, 0, 0],  # MAC 10
                        [2, 2, 2, 2, 2, 2, 2, 2, 2, 1],  # ALT frequent: the minor allele is REF, 1 copy
                        [1, np.nan, 1, 1, 1, 1, 1, 1, 1, 1]], dtype=np.float32)
    assert _testable(dosages, MapOptions()) is None
    assert _testable(dosages, MapOptions(min_mac=10)).tolist() == [False, True, False, True]
    assert _testable(dosages, MapOptions(maf_threshold=0.2)).tolist() == [False, True, False, True]
    assert _testable(dosages, MapOptions(maf_threshold=0.1)).tolist() == [True, True, False, True]
