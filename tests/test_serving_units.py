"""Units of the serving path: RatGTEx's Newick trees, spreading clients over workers, the fast TSV writer and
the variant index's same-position lists."""

from __future__ import annotations

import asyncio
import io
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from scipy.cluster.hierarchy import linkage, to_tree

from qtlatlas.analysis.clustering import ratgtex_newick
from qtlatlas.io.text import tsv_bytes
from qtlatlas.release.tables import write_variant_index
from qtlatlas.store.variant_index import VariantIndexReader
from qtlatlas.web.balance import CloseWhenBusy


def _newick_by_definition(node, labels) -> str:
    """The RatGTEx portal's tree format, written from its definition: a merge lists its right child, then its left
    one; each subtree carries its branch length (parent height − own height) in ``%g``; the root carries none."""
    def sub(n, parent_height):
        length = f"{parent_height - n.dist:g}"
        if n.is_leaf():
            return f"{labels[n.id]}:{length}"
        inner = f"({sub(n.get_right(), n.dist)},{sub(n.get_left(), n.dist)})"
        return inner if n is node else f"{inner}:{length}"
    return sub(node, node.dist) + ";"


@pytest.mark.parametrize("n", [2, 3, 9, 40])
def test_ratgtex_newick_follows_the_portal_format(n):
    rng = np.random.default_rng(n)
    values = rng.gamma(1.5, 30, (n, 6))
    labels = [f"G{i}" for i in range(n)]
    tree = to_tree(linkage(values, method="average", optimal_ordering=True))
    text = ratgtex_newick(values, labels)
    assert text == _newick_by_definition(tree, labels)
    assert all(text.count(f"{g}:") == 1 for g in labels) and text.endswith(");")  # every leaf once; no root length
    lengths = [float(x.split(")")[0].split(",")[0]) for x in text.rstrip(";").split(":")[1:]]
    assert min(lengths) >= 0


def _app(block: asyncio.Event):
    async def app(scope, receive, send):
        await block.wait()
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
        await send({"type": "http.response.body", "body": b"ok"})
    return app


def _run_in_own_loop(coroutine):
    """Run ``coroutine`` on a fresh event loop in its own thread: the browser tests' session-wide Playwright (sync
    API) keeps an event loop registered as running in the main thread, where ``asyncio.run`` refuses to start."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def test_busy_workers_close_connections_idle_ones_keep_them():
    async def scenario(n_requests: int, busy: int) -> list[bool]:
        block = asyncio.Event()
        middleware = CloseWhenBusy(_app(block), busy=busy)
        closed: list[bool] = []

        async def one():
            async def send(message):
                if message["type"] == "http.response.start":
                    closed.append((b"connection", b"close") in message["headers"])
            await middleware({"type": "http"}, None, send)

        tasks = [asyncio.ensure_future(one()) for _ in range(n_requests)]
        await asyncio.sleep(0)
        assert middleware.in_flight == n_requests
        block.set()
        await asyncio.gather(*tasks)
        assert middleware.in_flight == 0
        return closed

    assert _run_in_own_loop(scenario(3, busy=4)) == [False] * 3  # below the bar: keep-alive
    closed = _run_in_own_loop(scenario(8, busy=4))
    assert closed[:4] == [True] * 4 and not any(closed[5:])  # the first answers, sent while 8 were in flight


def test_tsv_bytes_is_tensorqtls_text_format():
    frame = pd.DataFrame({"phenotype_id": ["g1", None, "g3"], "pos": pd.array([12, None, 3], dtype="Int64"),
                          "pval_nominal": [1.234567891e-12, np.nan, 0.5], "slope": [-0.123456789, 1.0, 2e-5]})
    text = tsv_bytes(frame).decode()
    assert text.splitlines()[0] == "phenotype_id\tpos\tpval_nominal\tslope"
    assert text.splitlines()[1:] == ["g1\t12\t1.23457e-12\t-0.123457", "NA\tNA\tNA\t1", "g3\t3\t0.5\t2e-05"]
    back = pd.read_csv(io.StringIO(text), sep="\t")
    np.testing.assert_allclose(back["pval_nominal"].to_numpy(), [1.23457e-12, np.nan, 0.5])
    assert tsv_bytes(frame, header=False).decode().count("\n") == 3


def test_variant_index_lists_the_other_variants_at_a_position(tmp_path):
    variants = pa.table({"variant_id": ["rs1", "rs2", "chr1_100_A_G", "rs4"], "chrom": ["1", "1", "1", "2"],
                         "pos": [100, 200, 100, 100], "ref": ["A", "C", "A", "T"], "alt": ["C", "G", "G", "A"],
                         "af": [0.1, None, 0.3, 0.4]})
    path = write_variant_index(variants, tmp_path / "variant_index.arrow")
    reader = VariantIndexReader(str(path))
    assert reader.lookup("rs1")["same_position"] == ["chr1_100_A_G"]
    assert reader.lookup("CHR1_100_a_g")["variant_id"] == "chr1_100_A_G"  # any case
    assert reader.lookup("chr1_100_A_G")["same_position"] == ["rs1"]
    assert reader.lookup("rs2")["same_position"] == [] and reader.lookup("rs2")["af"] is None
    assert reader.lookup("rs4")["same_position"] == []  # the same position on another chromosome
    assert reader.lookup("rs9") is None


@pytest.mark.parametrize("text", ["0:0-,", "chr1:,-5", "chr1:,,-,,", "chr1:5-"])
def test_region_without_digits_is_a_bad_query(text):
    from qtlatlas.store import params
    from qtlatlas.store.errors import BadQuery

    with pytest.raises(BadQuery, match="region"):
        params.region(text)
    assert params.region("chr1:1,000-2,000") == params.Span("chr1", 1000, 2000)
