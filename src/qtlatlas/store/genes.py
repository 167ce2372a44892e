"""Gene queries of a release: search, gene pages (coordinates and status), transcripts and exons,
expression per sample and median expression. Mixed into :class:`~qtlatlas.store.release.ReleaseStore`."""

from __future__ import annotations

import difflib

import numpy as np
import pandas as pd

from ..io.chromosomes import chrom_key
from .batched import KeyedRows
from .errors import NotFound
from .params import MAX_LIST, is_clean, text
from .params import limit as check_limit

GENE_FIELDS = ["gene_id", "gene_name", "gene_type", "chrom", "start", "end", "strand", "tss", "description"]
#: Longest search text accepted (longer texts cannot prefix an id or a symbol).
MAX_SEARCH = 100


def _plain(value):
    """A JSON-friendly Python scalar (numpy ints/floats unwrapped, missing values as None)."""
    if value is None:
        return None
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating, float)):
        return None if np.isnan(value) else float(value)
    if isinstance(value, np.bool_):
        return bool(value)
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    return value


def records(df: pd.DataFrame) -> list[dict]:
    """Rows of ``df`` as dicts of plain Python values."""
    cols = list(df.columns)
    return [{c: _plain(v) for c, v in zip(cols, row, strict=True)} for row in df.itertuples(index=False, name=None)]


class _GeneIndex:
    """The genes table in memory, with lower-cased ids and symbols for case-insensitive lookups."""

    def __init__(self, df: pd.DataFrame):
        self.df = df.reset_index(drop=True)
        self.ids = df["gene_id"].astype(str).to_numpy(dtype=object)
        self.names = df["gene_name"].fillna("").astype(str).to_numpy(dtype=object)
        self.lower_ids = np.array([s.lower() for s in self.ids], dtype=object)
        self.lower_names = np.array([s.lower() for s in self.names], dtype=object)
        self.lower_ids_s = pd.Series(self.lower_ids, dtype=object)
        self.lower_names_s = pd.Series(self.lower_names, dtype=object)
        self.by_id = {s: i for i, s in enumerate(self.lower_ids)}
        by_name: dict[str, int] = {}
        for i, s in enumerate(self.lower_names):
            if s:
                by_name.setdefault(s, i)  # the first in genome order
        self.by_name = by_name
        self.chroms = df["chrom"].astype(str).to_numpy(dtype=object)
        self._columns = list(self.df.columns)
        self._values = [self.df[c].tolist() for c in self._columns]
        self._rows: dict[int, dict] = {}

    def row(self, i: int) -> dict:
        """Row ``i`` as a dict of plain Python values (missing values as None), made once and kept."""
        found = self._rows.get(i)
        if found is None:
            found = {c: _plain(v[i]) for c, v in zip(self._columns, self._values, strict=True)}
            self._rows[i] = found
        return found

    def find(self, q: str) -> int | None:
        key = q.lower()
        i = self.by_id.get(key)
        if i is None:
            i = self.by_name.get(key)
        if i is None and "." in key:  # a versioned id (ENSG….12) of an unversioned annotation
            i = self.by_id.get(key.split(".", 1)[0])
        return i


class GeneQueries:
    """Gene lookups (see the module docstring)."""

    # -- the genes table --------------------------------------------------------------------------

    def _gene_index(self) -> _GeneIndex:
        def load():
            import pyarrow.parquet as pq

            present = set(pq.read_schema(self.table_file("genes")).names)
            df = pd.read_parquet(self.table_file("genes"), columns=[c for c in GENE_FIELDS if c in present])
            if "description" not in df:  # releases built before descriptions were kept
                df["description"] = ""
            df["description"] = df["description"].fillna("")
            return _GeneIndex(df)

        return self._cached("genes", load)

    def _genes(self) -> pd.DataFrame:
        return self._gene_index().df

    def _gene_row(self, i: int) -> dict:
        """Row ``i`` of the genes table as a dict of plain values (a fresh dict: callers may add keys)."""
        return dict(self._gene_index().row(i))

    def resolve_gene(self, gene: object) -> dict:
        """The genes-table row of a gene id or symbol (case-insensitive; a symbol shared by several genes
        gives the first in genome order); NotFound with suggestions otherwise."""
        if not is_clean(gene) or not str(gene).strip():
            raise NotFound("gene", gene)
        q = str(gene).strip()
        idx = self._gene_index()
        i = idx.find(q)
        if i is None:
            raise NotFound("gene", q, suggestions=self._suggest_genes(q), detail=f"in release {self.id}")
        return self._gene_row(i)

    def _suggest_genes(self, q: str, n: int = 5) -> list[str]:
        idx = self._gene_index()
        key = q.lower()
        out: list[str] = []
        for k in range(min(len(key), 20), 1, -1):  # symbols sharing the longest prefix
            hit = idx.lower_names_s.str.startswith(key[:k]).to_numpy(bool)
            if hit.any():
                out = sorted(set(idx.names[hit]), key=lambda s: (len(s), s.lower()))[:n]
                break
        if len(out) < n:
            pool = sorted({s for s in idx.lower_names if s and abs(len(s) - len(key)) <= 3})
            close = difflib.get_close_matches(key, pool, n=n, cutoff=0.6)
            original = {s.lower(): s for s in idx.names}
            for c in close:
                name = original[c]
                if name not in out:
                    out.append(name)
        return out[:n]

    # -- search and gene pages --------------------------------------------------------------------

    def search_genes(self, q: str, limit: int = 20) -> list[dict]:
        """Genes whose id or symbol matches ``q`` (case-insensitive): exact matches of the id or symbol
        first, then ids or symbols starting with ``q``, shorter first then alphabetical. Each result is
        the genes-table row plus ``match`` ("exact" or "prefix"). An empty ``q`` is a BadQuery."""
        q = text(q, "q", max_len=MAX_SEARCH).lower()
        n = check_limit(limit, "limit", maximum=1000)
        idx = self._gene_index()
        exact = ((idx.lower_ids_s == q) | (idx.lower_names_s == q)).to_numpy(bool)
        by_name = idx.lower_names_s.str.startswith(q).to_numpy(bool) & ~exact
        by_id = idx.lower_ids_s.str.startswith(q).to_numpy(bool) & ~exact & ~by_name
        ranked: list[tuple[int, int, str, int]] = [(0, 0, "", int(i)) for i in np.flatnonzero(exact)]
        ranked += [(1, len(idx.lower_names[i]), idx.lower_names[i], int(i)) for i in np.flatnonzero(by_name)]
        ranked += [(1, len(idx.lower_ids[i]), idx.lower_ids[i], int(i)) for i in np.flatnonzero(by_id)]
        ranked.sort()
        out = []
        for kind, _l, _s, i in ranked[:n]:
            row = self._gene_row(i)
            row["match"] = "exact" if kind == 0 else "prefix"
            out.append(row)
        return out

    def gene(self, gene: str) -> dict:
        """A gene by id or symbol: the genes-table fields (gene_id, gene_name, gene_type, chrom, start, end,
        strand, tss) and ``status``, one ``{tissue, modality, expressed, tested, has_qtl, n_independent}``
        per tissue × modality where the gene was measured (release order; tissues this store hides left out)."""
        row = self.resolve_gene(gene)
        if self.has_table("gene_status_index"):  # one small batch of a look-up file
            index = self._cached("gene_status_index", lambda: KeyedRows(self.table_file("gene_status_index"), "gene_id"))
            found = [(r["tissue"], r["modality"], r["expressed"], r["tested"], r["has_qtl"], r["n_independent"])
                     for r in index.rows(row["gene_id"])]
        else:  # releases built before the look-up file
            found = self.db.rows(
                "SELECT tissue, modality, expressed, tested, has_qtl, n_independent FROM read_parquet(?) "
                "WHERE gene_id = ?", [self.table_file("gene_status"), row["gene_id"]])
        if self.hidden.tissues:
            found = [r for r in found if r[0] not in self.hidden.tissues]
        order = {(t, m): i for i, (t, m) in enumerate((t, m) for t, ms in self._tissue_modalities.items() for m in ms)}
        found.sort(key=lambda r: (order.get((r[0], r[1]), 1 << 30), r[0], r[1]))
        row["status"] = [{"tissue": t, "modality": m, "expressed": bool(e), "tested": bool(te), "has_qtl": bool(q),
                          "n_independent": int(n or 0)} for t, m, e, te, q, n in found]
        return row

    def exons(self, gene_id: str) -> dict:
        """Transcripts and exons of a gene (id or symbol): ``{"gene_id", "transcripts": [...], "exons": [...]}``
        with the columns of the transcripts and exons tables, sorted by start."""
        gid = self.resolve_gene(gene_id)["gene_id"]
        out: dict = {"gene_id": gid, "transcripts": [], "exons": []}
        for name in ("transcripts", "exons"):
            index = f"{name}_index"
            if self.has_table(index):  # one small batch of a look-up file, rows already in this order
                reader = self._cached(index, lambda index=index: KeyedRows(self.table_file(index), "gene_id"))
                out[name] = [{k: _plain(v) for k, v in row.items()} for row in reader.rows(gid)]
            elif self.has_table(name):
                df = self.db.df("SELECT * FROM read_parquet(?) WHERE gene_id = ? ORDER BY start, transcript_id",
                                [self.table_file(name), gid])
                out[name] = records(df)
        return out

    # -- expression -------------------------------------------------------------------------------

    def expression_tissues(self) -> list[str]:
        """Tissues with an expression (TPM) table."""
        from ..release import layout

        return [t for t in self.tissue_ids() if (self.path / layout.expression_table_path(t)).is_file()]

    def _expression_index(self):
        """The reader of ``expression_index`` (:class:`~qtlatlas.store.values.ValueIndex`; None when the release
        predates it)."""
        if not self.has_table("expression_index"):
            return None
        from .values import ValueIndex

        return self._cached("expression_index", lambda: ValueIndex(self.table_file("expression_index")))

    def expression_arrays(self, gene_id: str, tissues: list[str] | None = None) -> list[tuple[str, list[str], np.ndarray]]:
        """Expression (TPM) of a gene (id or symbol) per tissue, as ``(tissue, sample ids, float32 values)`` in
        release order (``tissues``: those only); tissues where it was not quantified are left out."""
        gid = self.resolve_gene(gene_id)["gene_id"]
        wanted = self.expression_tissues() if tissues is None else [self.check_tissue(t) for t in tissues]
        index = self._expression_index()
        out = []
        if index is not None:
            for t in wanted:
                values = index.values(gid, t)
                if values is not None:
                    out.append((t, index.samples[t], values))
            return out
        from ..release import layout

        for t in wanted:  # releases built before the look-up file: one row of a wide table
            path = self.path / layout.expression_table_path(t)
            if not path.is_file():
                continue
            wide = self.db.df("SELECT * FROM read_parquet(?) WHERE phenotype_id = ? LIMIT 1", [str(path), gid])
            if wide.empty:
                continue
            row = wide.drop(columns=["phenotype_id"]).iloc[0]
            out.append((t, [str(c) for c in row.index], pd.to_numeric(row, errors="coerce").to_numpy(np.float32)))
        return out

    def expression(self, gene_id: str, tissue: str | None = None) -> pd.DataFrame:
        """Expression (TPM) of a gene (id or symbol) per sample: long table ``tissue, sample_id, tpm`` (float32, as
        stored: written at float32 precision; samples in table order; tissues in release order). Empty when the
        gene was not quantified."""
        found = self.expression_arrays(gene_id, None if tissue is None else [tissue])
        if not found:
            return pd.DataFrame({"tissue": pd.Series(dtype=object), "sample_id": pd.Series(dtype=object),
                                 "tpm": pd.Series(dtype=np.float32)})
        lengths = [len(values) for _, _, values in found]
        return pd.DataFrame({"tissue": np.repeat(np.array([t for t, _, _ in found], dtype=object), lengths),
                             "sample_id": np.concatenate([np.asarray(samples, dtype=object) for _, samples, _ in found]),
                             "tpm": np.concatenate([values.astype(np.float32) for _, _, values in found])})

    def median_matrix(self) -> tuple[dict[str, int], list[str], np.ndarray]:
        """Median TPM of every gene and tissue, in memory (a genes × tissues float64 matrix, NaN where a gene
        was not quantified): ``(row of each gene id, tissue ids in release order, matrix)``; cached. A restricted
        store has the columns of its visible tissues only (a copy of the release's matrix without the others)."""
        if self.hidden.tissues:
            def visible():
                rows, tissues, matrix = self._base.median_matrix()
                cols = [j for j, t in enumerate(tissues) if self.tissue_visible(t)]
                return rows, [tissues[j] for j in cols], np.ascontiguousarray(matrix[:, cols])

            return self._cached("median_matrix", visible)

        def load():
            df = pd.read_parquet(self.table_file("medians"), columns=["tissue", "gene_id", "median"])
            genes = list(dict.fromkeys(df["gene_id"].astype(str)))
            order = {t: i for i, t in enumerate(self.tissue_ids())}
            tissues = sorted(set(df["tissue"].astype(str)), key=lambda t: (order.get(t, len(order)), t))
            rows = {g: i for i, g in enumerate(genes)}
            cols = {t: j for j, t in enumerate(tissues)}
            matrix = np.full((len(genes), len(tissues)), np.nan)
            matrix[df["gene_id"].astype(str).map(rows).to_numpy(), df["tissue"].astype(str).map(cols).to_numpy()] = \
                df["median"].to_numpy(np.float64)
            return rows, tissues, matrix

        return self._cached("median_matrix", load)

    def median_block(self, gene_ids: list[str], tissues: list[str] | None = None
                     ) -> tuple[list[str], list[str | None], list[str], np.ndarray]:
        """Median TPM of genes given by id or symbol (NotFound for an unknown one; at most MAX_LIST) in
        ``tissues`` (validated; None: all), from the in-memory matrix: ``(gene ids in the order asked, their
        symbols, tissue ids in release order, genes × tissues float64 matrix with NaN where not quantified)``.
        Genes without any median are left out."""
        if isinstance(gene_ids, str):
            gene_ids = [gene_ids]
        if len(gene_ids) > MAX_LIST:
            from .errors import BadQuery

            raise BadQuery("genes", f"more than {MAX_LIST} genes")
        rows = [self.resolve_gene(g) for g in gene_ids]
        tissue_list = self._tissue_filter(tissues)
        if not rows or not self.has_table("medians"):
            return [], [], [], np.zeros((0, 0))
        names = {r["gene_id"]: r["gene_name"] for r in rows}
        index, all_tissues, matrix = self.median_matrix()
        ids = [g for g in dict.fromkeys(r["gene_id"] for r in rows) if g in index]
        cols = [j for j, t in enumerate(all_tissues) if tissue_list is None or t in tissue_list]
        block = matrix[np.ix_([index[g] for g in ids], cols)]
        kept = ~np.isnan(block).all(axis=1) if len(cols) else np.zeros(len(ids), dtype=bool)
        ids = [g for g, k in zip(ids, kept, strict=True) if k]
        return ids, [names[g] for g in ids], [all_tissues[j] for j in cols], block[kept]

    def medians(self, gene_ids: list[str], tissues: list[str] | None = None) -> pd.DataFrame:
        """Median TPM: ``tissue, gene_id, gene_name, median`` for genes given by id or symbol (NotFound
        for an unknown one), in the order asked, tissues in release order."""
        ids, names, tissue_ids, block = self.median_block(gene_ids, tissues)
        gene_at, tissue_at = np.nonzero(~np.isnan(block))
        if not len(gene_at):
            return pd.DataFrame({"tissue": pd.Series(dtype=object), "gene_id": pd.Series(dtype=object),
                                 "gene_name": pd.Series(dtype=object), "median": pd.Series(dtype=np.float64)})
        return pd.DataFrame({"tissue": np.asarray(tissue_ids, dtype=object)[tissue_at],
                             "gene_id": np.asarray(ids, dtype=object)[gene_at],
                             "gene_name": np.asarray(names, dtype=object)[gene_at],
                             "median": block[gene_at, tissue_at]})

    def mito_gene_ids(self) -> list[str]:
        """Genes on the mitochondrial chromosome (or with an ``MT-`` symbol)."""
        def load():
            idx = self._gene_index()
            mito = [chrom_key(c) == "MT" for c in idx.chroms]
            named = [n.upper().startswith("MT-") for n in idx.names]
            return [g for g, a, b in zip(idx.ids, mito, named, strict=True) if a or b]

        return self._cached("mito", load)

    def top_expressed(self, tissue: str, n: int = 50, exclude_mito: bool = False) -> pd.DataFrame:
        """The ``n`` genes of highest median TPM in a tissue: ``tissue, gene_id, gene_name, median``
        (descending; ties by gene id); ``exclude_mito`` drops mitochondrial genes."""
        t = self.check_tissue(tissue)
        n = check_limit(n, "n", maximum=10_000)
        if not self.has_table("medians"):
            return pd.DataFrame(columns=["tissue", "gene_id", "gene_name", "median"])
        genes, names, values = self._expression_ranking(t, exclude_mito)
        return pd.DataFrame({"tissue": t, "gene_id": genes[:n], "gene_name": names[:n], "median": values[:n]})

    def _expression_ranking(self, tissue: str, exclude_mito: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Every gene quantified in ``tissue`` by descending median TPM (ties by gene id): gene ids, symbols and
        medians (float64), computed once per tissue from the in-memory median matrix (then sliced per request)."""
        def rank():
            index, tissues, matrix = self.median_matrix()
            if tissue not in tissues:
                empty = np.array([], dtype=object)
                return empty, empty, np.array([], dtype=np.float64)
            values = matrix[:, tissues.index(tissue)]
            genes = np.array(list(index), dtype=object)
            keep = ~np.isnan(values)
            if exclude_mito:
                keep &= ~np.isin(genes, np.array(self.mito_gene_ids(), dtype=object))
            genes, values = genes[keep], values[keep]
            order = np.lexsort((genes.astype(str), -values))
            idx = self._gene_index()
            names = dict(zip(idx.ids, idx.names, strict=True))
            ranked = genes[order]
            return ranked, np.array([names.get(g) for g in ranked], dtype=object), values[order]

        return self._cached(f"expression_ranking:{tissue}:{exclude_mito}", rank)

    def has_significant_eqtl(self, gene: dict) -> bool:
        """Whether a gene (a row of :meth:`gene`, with its ``status``) has a significant expression QTL in some
        tissue (RatGTEx's ``hasEqtl``)."""
        return any(s["has_qtl"] for s in gene.get("status", []) if s["modality"] == "expression")

    def gene_chromosomes(self, gene_ids: list[str]) -> dict[str, str]:
        """``{gene_id: chromosome}`` of the known ones among ``gene_ids``."""
        idx = self._gene_index()
        out = {}
        for g in gene_ids:
            i = idx.by_id.get(str(g).lower())
            if i is not None:
                out[str(g)] = str(idx.chroms[i])
        return out
