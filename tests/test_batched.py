"""Look-up files (Arrow IPC batches + sidecar of key ranges) and their readers, on small hand-made tables
with tiny batches so that every boundary case occurs."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from qtlatlas.release.batched import PositionBatchWriter, RunBatchWriter, sidecar_path, write_keyed_batches
from qtlatlas.store.batched import RunRows
from qtlatlas.store.positional import PositionalTable
from qtlatlas.store.variant_index import VariantIndexReader


def _index_table(ids: list[str]) -> pa.Table:
    ids = sorted(ids, key=lambda v: (v.lower(), v))
    n = len(ids)
    return pa.table({"variant_key": [v.lower() for v in ids], "variant_id": ids, "chrom": ["1"] * n,
                     "pos": list(range(1, n + 1)), "ref": ["A"] * n, "alt": ["G"] * n, "af": [0.1] * n,
                     "same_position": [[] for _ in range(n)]})


@pytest.mark.parametrize("batch_rows", [1, 2, 3, 7])
def test_variant_index_finds_every_id_at_any_batch_boundary(tmp_path, batch_rows):
    ids = ["rs1", "RS1", "rs10", "rs2", "rs20", "rs3", "Rs3", "rs300", "rs4", "x_9"]
    path = write_keyed_batches(_index_table(ids), "variant_key", tmp_path / "index.arrow", batch_rows=batch_rows)
    reader = VariantIndexReader(str(path))
    for v in ids:
        assert reader.lookup(v)["variant_id"] == v  # the exact id wins over other cases
    assert reader.lookup("rS10")["variant_id"] == "rs10"
    assert reader.lookup("rs3")["variant_id"] == "rs3" and reader.lookup("RS3")["variant_id"] in {"Rs3", "rs3"}
    for absent in ("rs0", "rs11", "rs5", "zzz", "", "a"):
        assert reader.lookup(absent) is None


def test_positional_pages_equal_a_plain_filter(tmp_path):
    rng = np.random.default_rng(1)
    writer = PositionBatchWriter(tmp_path / "by_pos.arrow", pa.schema([("chrom", pa.string()), ("pos", pa.int64()),
                                                                       ("tissue", pa.string()), ("v", pa.int64())]),
                                 batch_rows=5)
    frames = []
    for chrom in ("1", "2", "10"):
        pos = np.sort(rng.integers(1, 200, 37))
        t = pa.table({"chrom": [chrom] * len(pos), "pos": pos, "tissue": rng.choice(["A", "B"], len(pos)),
                      "v": np.arange(len(pos))})
        writer.write(t)
        frames.append(t.to_pandas())
    writer.close()
    assert sidecar_path(tmp_path / "by_pos.arrow").is_file()
    table = PositionalTable(str(tmp_path / "by_pos.arrow"))
    import pandas as pd

    everything = pd.concat(frames, ignore_index=True)
    for chrom, start, end, tissues in (("2", 50, 120, None), ("10", 1, 500, ["B"]), ("1", 77, 77, None),
                                       ("3", 1, 100, None)):
        exp = everything[(everything["chrom"] == chrom) & everything["pos"].between(start, end)]
        equal = {}
        if tissues:
            exp = exp[exp["tissue"].isin(tissues)]
            equal["tissue"] = tissues
        got = table.read([chrom], start, end, equal).to_pandas()
        pd.testing.assert_frame_equal(got.reset_index(drop=True), exp.reset_index(drop=True))
        for offset, limit in ((0, 4), (3, 6), (len(exp) - 1, 10), (len(exp) + 2, 5)):
            page, total = table.page([chrom], start, end, equal, max(offset, 0), limit, ["pos", "v"])
            assert total == len(exp)
            pd.testing.assert_frame_equal(page.to_pandas(),
                                          exp[["pos", "v"]].iloc[max(offset, 0):max(offset, 0) + limit].reset_index(drop=True))


def test_position_batches_are_cut_per_chromosome_across_writes(tmp_path):
    schema = pa.schema([("chrom", pa.string()), ("pos", pa.int64())])
    writer = PositionBatchWriter(tmp_path / "p.arrow", schema, batch_rows=2)
    writer.write(pa.table({"chrom": ["1", "1", "1"], "pos": [1, 2, 3]}))
    writer.write(pa.table({"chrom": ["1", "2", "2", "2"], "pos": [4, 1, 5, 9]}))  # spans two chromosomes
    writer.write(pa.table({"chrom": ["2"], "pos": [10]}))
    writer.close()
    side = pq.read_table(sidecar_path(tmp_path / "p.arrow")).to_pydict()
    assert side["chrom"] == ["1", "1", "2", "2"] and side["n_rows"] == [2, 2, 2, 2]
    assert side["pos_min"] == [1, 3, 1, 9] and side["pos_max"] == [2, 4, 5, 10]
    with pa.ipc.open_file(tmp_path / "p.arrow") as f:
        assert [f.get_batch(i).column(0).to_pylist() for i in range(f.num_record_batches)] == [
            ["1", "1"], ["1", "1"], ["2", "2"], ["2", "2"]]


def test_unsorted_or_unplaced_rows_are_refused(tmp_path):
    schema = pa.schema([("chrom", pa.string()), ("pos", pa.int64())])
    writer = PositionBatchWriter(tmp_path / "bad.arrow", schema)
    with pytest.raises(ValueError, match="comes back"):
        writer.write(pa.table({"chrom": ["1", "2", "1"], "pos": [1, 2, 3]}))
    with pytest.raises(ValueError, match="no row without"):
        PositionBatchWriter(tmp_path / "bad2.arrow", schema).write(pa.table({"chrom": ["1"], "pos": pa.array([None], pa.int64())}))


RUN_SCHEMA = pa.schema([("gene", pa.string()), ("source", pa.string()), ("v", pa.int64())])


@pytest.mark.parametrize("batch_rows", [1, 2, 3, 7, 1000])
def test_runs_read_back_exactly_their_rows_at_any_batch_boundary(tmp_path, batch_rows):
    rng = np.random.default_rng(batch_rows)
    writer = RunBatchWriter(tmp_path / "runs.arrow", RUN_SCHEMA, "gene", "source", batch_rows=batch_rows)
    expected: dict[tuple[str, str], list[list[int]]] = {}
    value = 0
    # three writes (chromosomes); gene "g2" comes back in the last one: a second run
    for genes in (["g3", "g1"], ["g0", "g2", "g10"], ["g2", "g4"]):
        rows = {"gene": [], "source": [], "v": []}
        for gene in genes:
            for source in ("top", "significant"):
                n = int(rng.integers(0, 6))
                runs = expected.setdefault((gene, source), [])
                if n:
                    runs.append(list(range(value, value + n)))
                rows["gene"] += [gene] * n
                rows["source"] += [source] * n
                rows["v"] += list(range(value, value + n))
                value += n
        writer.write(pa.table(rows, schema=RUN_SCHEMA))
    writer.close()
    reader = RunRows(str(tmp_path / "runs.arrow"))
    for (gene, source), runs in expected.items():
        got = reader.read(gene, source, columns=["v"])
        assert [t.column("v").to_pylist() for t in got] == runs
        assert reader.count(gene, source) == sum(map(len, runs))
        cut = reader.read(gene, source, limit=2)
        assert [t.column("v").to_pylist() for t in cut] == [r[:2] for r in runs]
        assert [t.column("gene").to_pylist() for t in cut] == [[gene] * len(r[:2]) for r in runs]
    both = reader.read("g2")  # every part of a key
    assert sum(t.num_rows for t in both) == sum(len(r) for (g, _), runs in expected.items() if g == "g2" for r in runs)
    for absent in ("g", "g5", "g20", "", "zz"):
        assert reader.read(absent, "top") == [] and reader.count(absent) == 0


def test_runs_refuse_a_missing_key(tmp_path):
    writer = RunBatchWriter(tmp_path / "runs.arrow", RUN_SCHEMA, "gene", "source")
    with pytest.raises(ValueError, match="missing values"):
        writer.write(pa.table({"gene": ["a", None], "source": ["top", "top"], "v": [1, 2]}, schema=RUN_SCHEMA))
