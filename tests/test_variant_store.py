"""The build's on-disk variant store and the variant tables written from it (qtlatlas.release.variant_store,
qtlatlas.release.variant_tables): the same answers as an in-memory table, with memory that does not grow."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from qtlatlas.release import layout
from qtlatlas.release.variant_store import VariantStore
from qtlatlas.release.variant_tables import write_variant_tables
from qtlatlas.store.variant_index import VariantIndexReader


def _chunks():
    yield pd.DataFrame({"chrom": ["chr2", "chr2", "chr10"], "pos": [50, 10, 7], "id": ["b", "a", "x"],
                        "ref": ["A", "C", "G"], "alt": ["T", "G", "A"]})
    # a second file: a duplicate id (the first one is kept) and a second variant at chr2:10
    yield pd.DataFrame({"chrom": ["chr2", "chr1", "chr2"], "pos": [99, 5, 10], "id": ["a", "Y", "c"],
                        "ref": ["G", "T", "C"], "alt": ["C", "A", "T"]})


def test_lookup_keeps_the_first_of_each_id_and_the_order_asked(tmp_path):
    store = VariantStore(_chunks(), tmp_path)
    got = store.lookup(pd.Series(["x", "nope", "a", "a", "Y"]))
    assert got.iloc[1].isna().all() and got.drop(index=1).notna().all().all()
    known = got.drop(index=1)
    assert known["chrom"].tolist() == ["chr10", "chr2", "chr2", "chr1"] and known["pos"].tolist() == [7, 10, 10, 5]
    assert known["ref"].tolist() == ["G", "C", "C", "T"] and known["alt"].tolist() == ["A", "G", "G", "A"]
    # sorted by natural chromosome order, then position
    stored = pq.read_table(store.path).to_pandas()
    assert stored["variant_id"].tolist() == ["Y", "a", "c", "b", "x"]
    assert store.chroms == {"chr1": 0, "chr2": 1, "chr10": 2}


def test_variant_tables_by_position_and_by_id(tmp_path):
    store = VariantStore(_chunks(), tmp_path / "scratch")
    store.mark(pd.Series(["a", "b", "a"]), pd.Series([0.25, np.nan, 0.5]))  # the first af given is kept
    store.mark(pd.Series(["b"]), pd.Series([0.1]))
    out = tmp_path / "release"
    recorded = []

    def table(rel: str, _description: str):
        recorded.append(rel)
        path = out / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        return path

    write_variant_tables(store, out, table, lambda rel, _d: recorded.append(f"{rel} sidecar"))
    variants = pq.read_table(out / layout.table_path("variants")).to_pandas()
    assert variants["variant_id"].tolist() == ["Y", "a", "c", "b", "x"]
    assert variants.set_index("variant_id")["af"].fillna(-1).to_dict() == {"Y": -1, "a": 0.25, "c": -1, "b": 0.1,
                                                                            "x": -1}
    reader = VariantIndexReader(str(out / layout.table_path("variant_index")))
    row = reader.lookup("A")
    assert row is not None and row["variant_id"] == "a" and row["same_position"] == ["c"]
    assert reader.lookup("y")["same_position"] == []
    with pa.ipc.open_file(out / layout.table_path("variants_by_position")) as f:
        chroms = [f.get_batch(i).column("chrom").to_pylist() for i in range(f.num_record_batches)]
    assert chroms == [["chr1"], ["chr2", "chr2", "chr2"], ["chr10"]]



def test_spools_start_a_new_file_every_so_many_row_groups(tmp_path, monkeypatch):
    """A spool never keeps the metadata of more than ROW_GROUPS_PER_FILE row groups open: it rotates files,
    and the files together hold every row written, in order."""
    from qtlatlas.release.scratch_sql import SpoolWriter

    monkeypatch.setattr(SpoolWriter, "ROW_GROUPS_PER_FILE", 2)
    schema = pa.schema([("x", pa.int64())])
    spool = SpoolWriter(tmp_path / "s", schema)
    for start in range(0, 10, 2):
        spool.write(pa.table({"x": [start, start + 1]}, schema=schema))
    spool.close()
    assert [p.name for p in spool.paths] == ["s.0.parquet", "s.1.parquet", "s.2.parquet"]
    assert [pq.ParquetFile(p).metadata.num_row_groups for p in spool.paths] == [2, 2, 1]
    assert pa.concat_tables([pq.read_table(p) for p in spool.paths]).column("x").to_pylist() == list(range(10))
