"""The pairs of every tissue × modality sorted by variant (the one-read PheWAS): written with bounded memory
through many windows and spool parts, they answer every variant query exactly as the per-tissue stores do."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from test_release_build import TQ, import_results, write_atlas

from qtlatlas.config import load_atlas
from qtlatlas.release import all_pairs_by_variant, build_release, layout
from qtlatlas.store import ReleaseStore

pytestmark = pytest.mark.shared


@pytest.fixture(scope="module")
def two_tissues(tmp_path_factory):
    """GEUVADIS chr22 published as two tissues (LCL and a copy, LCL2), its by-variant file cut into ~40 windows
    with at most 3 spool files open."""
    tmp = tmp_path_factory.mktemp("byvariant")
    path = write_atlas(tmp)
    text = path.read_text()
    block = text[text.index("      LCL:\n"):text.index("        expression:\n")]
    body = text[text.index("        expression:\n"):text.index("  - id: v2")]
    text = text.replace("  - {id: LCL, name: Lymphoblastoid cell lines, colour: \"#1f77b4\"}",
                        "  - {id: LCL, name: Lymphoblastoid cell lines, colour: \"#1f77b4\"}\n"
                        "  - {id: LCL2, name: Lymphoblastoid cell lines again, colour: \"#ff7f0e\"}", 1)
    text = text.replace(block + body, block + body + block.replace("LCL", "LCL2") + body, 1)
    path.write_text(text)
    atlas = load_atlas(path)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(all_pairs_by_variant, "WINDOW_ROWS", 25_000)
        mp.setattr(all_pairs_by_variant, "OPEN_SPOOLS", 3)
        out = build_release(atlas, "v1", tmp / "site", import_results(atlas, "v1"))
    return out


def _per_store(out) -> ReleaseStore:
    store = ReleaseStore(out)
    store._pairs_by_variant = lambda: None  # the per-tissue stores only
    return store


def test_every_variant_query_equals_the_per_tissue_stores(two_tissues):
    reference = pd.read_parquet(TQ / "g22.cis_qtl_pairs.chr22.parquet", columns=["phenotype_id", "variant_id"])
    fast, slow = ReleaseStore(two_tissues), _per_store(two_tissues)
    assert fast._pairs_by_variant() is not None
    assert fast._pairs_by_variant().targets == [("LCL", "expression"), ("LCL2", "expression")]
    rng = np.random.default_rng(3)
    for v in rng.choice(reference["variant_id"].unique(), 25, replace=False):
        rows, total, _ = fast.all_pairs(variant=v, limit=10_000)
        expected = reference[reference["variant_id"] == v]
        assert total == len(rows) == 2 * len(expected)
        assert list(rows["tissue"]) == ["LCL"] * len(expected) + ["LCL2"] * len(expected)
        for query in ({}, {"tissues": ["LCL2"]}, {"min_nlog10p": 1.0}, {"limit": 3}):
            a, b = fast.all_pairs(variant=v, **query), slow.all_pairs(variant=v, **query)
            pd.testing.assert_frame_equal(a[0], b[0])
            assert a[1:] == b[1:]
        cursor = fast.all_pairs(variant=v, limit=3)[2]
        if cursor is not None:
            pd.testing.assert_frame_equal(fast.all_pairs(variant=v, limit=3, cursor=cursor)[0],
                                          slow.all_pairs(variant=v, limit=3, cursor=cursor)[0])
        a, b = fast.all_pairs_strongest(4, variant=v), slow.all_pairs_strongest(4, variant=v)
        pd.testing.assert_frame_equal(a[0], b[0])
        assert a[1:] == b[1:]


def test_by_variant_file_is_published_and_bounded(two_tissues):
    manifest = set(pd.read_csv(two_tissues / "MANIFEST.tsv", sep="\t")["path"])
    assert {layout.ALL_PAIRS_BY_VARIANT, layout.ALL_PAIRS_BY_VARIANT.replace(".arrow", ".batches.parquet")} <= manifest
    by_variant = ReleaseStore(two_tissues)._pairs_by_variant()
    n_pairs = int(by_variant.file.ranges.column("n_rows").to_numpy().sum())
    assert n_pairs == 2 * 541_349
    first, last = by_variant.first, by_variant.last
    assert (first <= last).all() and (last[:-1] <= first[1:]).all()  # batches in variant order
    size = (two_tissues / layout.ALL_PAIRS_BY_VARIANT).stat().st_size
    assert size / n_pairs <= 7  # every statistic kept: ~6 bytes per pair

