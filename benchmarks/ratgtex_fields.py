"""Field-by-field comparison of the RatGTEx-compatible routes against the RatGTEx portal API.

For ``--n`` random valid ids per endpoint (drawn from a RatGTEx-v4-layout data set, see
``../shared/tools/ratgtex-v4-synth``), both servers are asked the same query and the JSON answers compared:

* **missing**: a RatGTEx field absent from ours (nested objects included: ``gene[].statusInTissue[].eqtl``,
  ``clusters.gene``), with the number of ids where it is missing;
* **differ**: a field present in both whose values differ, with the number of ids and one example. Numbers are
  equal when they agree exactly, to 1e-5 relative (float printing), as float32, or at the precision RatGTEx
  printed them (RatGTEx rounds ``singleTissueEqtl`` p-values to 4 significant digits); ints and floats of
  the same value are equal;
* **rows**: list items of one side without a counterpart in the other;
* **extra**: fields only ours has (allowed).

List items are matched by key fields, not by position, where RatGTEx's order follows a file's row order
(``gene``, ``eqtl``, ``xqtl``, ``singleTissueEqtl``, ``medianGeneExpression``, ``exon``, ``variant``,
``tissueInfo``, ``geneExpression`` per tissue); ``topExpressedGene`` is matched by gene and its order checked
too. Per-sample values are compared as multisets (``geneExpression[].data``; ``dyneqtl`` as the multiset of
(value, genotype) pairs), since RatGTEx returns them in its BED's sample order without sample ids. Dendrograms
(``clusters.gene``, ``clusters.tissue``, Newick) are compared as text and, when the text differs, by their
clades (same topology or not).

    python -m benchmarks.ratgtex_fields --peer http://127.0.0.1:5000 --ours http://127.0.0.1:8000 \\
        --data ~/.cache/qtlatlas-bench/ratgtex-small --n 50

``--peer`` and ``--ours`` are server roots (``/api/v4`` and ``/compat/ratgtex/v4`` are appended) or full
prefixes; ``--data`` is the generator's output directory (holding ``v4/`` and ``bench_ids/``).
"""

from __future__ import annotations

import argparse
import json
import math
import random
import re
import sys
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

ENDPOINTS = ["gene", "geneExpression", "medianGeneExpression", "singleTissueEqtl", "eqtl", "xqtl", "dyneqtl",
             "variant", "exon", "tissueInfo", "topExpressedGene"]
MEDIAN_GENES = 10  # genes per medianGeneExpression request
REL_TOL = 1e-5

# How the items of a list are matched: candidate key tuples (the first one every item on both sides has),
# "order" (key match plus a check of the order), or "multiset" (values compared sorted).
LIST_KEYS: dict[str, list[tuple[str, ...]]] = {
    "gene[]": [("geneId",)],
    "gene[].statusInTissue[]": [("tissueSiteDetailId",)],
    "geneExpression[]": [("tissueSiteDetailId",)],
    "medianGeneExpression[]": [("geneId", "tissueSiteDetailId")],
    "singleTissueEqtl[]": [("tissueSiteDetailId", "variantId")],
    "eqtl[]": [("tissueSiteDetailId", "variantId")],
    "xqtl[]": [("tissueSiteDetailId", "phenotypeId", "variantId"), ("tissueSiteDetailId", "modality", "variantId")],
    "variant[]": [("variantId",)],
    "exon[]": [("exonId",), ("transcriptId", "exonNumber"), ("start", "end")],
    "tissueInfo[]": [("tissueSiteDetailId",)],
    "topExpressedGene[]": [("geneId",)],
}
ORDERED = {"topExpressedGene[]"}
MULTISET = {"geneExpression[].data[]", "data[]", "genotypes[]"}
NEWICK = {"clusters.gene", "clusters.tissue"}
# same content under another name in ours: reported as missing, with whether the values agree
ALIASES = {"pval_beta": ("pValueBeta",), "log2_aFC": ("log2aFC",), "pval_nominal": ("pValue",), "slope": ("nes",)}
PRINTED_DIGITS = {"singleTissueEqtl[].pValue": 4}  # RatGTEx rounds these (f"{x:.3e}")


# ---------------------------------------------------------------------------------------------------------
# the data set and its ids


def resolve_data(path: str | Path) -> Path:
    """The generator's output directory (``v4/`` and ``bench_ids/`` inside) from it or its ``v4/``."""
    p = Path(path).expanduser().resolve()
    if (p / "tissue_info.v4.tsv").is_file():
        p = p.parent
    if not (p / "v4" / "tissue_info.v4.tsv").is_file() or not (p / "bench_ids" / "genes.txt").is_file():
        raise FileNotFoundError(f"{path}: not a RatGTEx-v4 synthetic data set (no v4/tissue_info.v4.tsv and "
                                "bench_ids/genes.txt); write one with make_ratgtex_v4.py --out DIR")
    return p


@dataclass
class Ids:
    """Valid ids of a data set: every gene, genes with data per endpoint, variants, significant triples."""

    tissues: list[str]
    genes: list[str]
    egenes: list[str]  # genes with conditionally independent eQTLs (eqtl, singleTissueEqtl)
    xgenes: list[str]  # genes with cross-modality xQTLs
    variants: list[str]
    triples: list[tuple[str, str, str]]  # tissue, gene, variant of significant pairs (dyneqtl)


def load_ids(data: Path) -> Ids:
    v4, ids = data / "v4", data / "bench_ids"
    tissues = pd.read_csv(v4 / "tissue_info.v4.tsv", sep="\t", usecols=["tissueSiteDetailId"])
    egenes = pd.read_csv(v4 / "eqtl" / "eqtls_indep.v4_rn8.tsv", sep="\t", usecols=["gene_id"])["gene_id"]
    xgenes = pd.read_csv(v4 / "xqtl" / "xqtls_indep.cross_modality.v4_rn8.tsv", sep="\t",
                         usecols=["gene_id"])["gene_id"]
    triples = pd.read_csv(ids / "dyneqtl.tsv", sep="\t", header=None, names=["t", "g", "v"], dtype=str)
    return Ids(tissues=tissues["tissueSiteDetailId"].tolist(),
               genes=(ids / "genes.txt").read_text().split(),
               egenes=sorted(set(egenes)), xgenes=sorted(set(xgenes)),
               variants=(ids / "variants.txt").read_text().split(),
               triples=list(triples.itertuples(index=False, name=None)))


def _q(**params: str) -> str:
    return "&".join(f"{k}={urllib.parse.quote(v, safe=':,')}" for k, v in params.items())


def queries(ids: Ids, endpoint: str, n: int, seed: int = 1) -> list[str]:
    """``n`` query strings of valid ids for ``endpoint`` (the same for a given seed)."""
    rng = random.Random(f"{seed}-{endpoint}")
    pick = lambda xs: [xs[rng.randrange(len(xs))] for _ in range(n)]  # noqa: E731
    if endpoint in ("gene", "geneExpression", "exon"):
        return [_q(geneId=g) for g in pick(ids.genes)]
    if endpoint == "medianGeneExpression":
        return [_q(geneId=",".join(rng.sample(ids.genes, MEDIAN_GENES))) for _ in range(n)]
    if endpoint in ("eqtl", "singleTissueEqtl"):
        return [_q(geneId=g) for g in pick(ids.egenes)]
    if endpoint == "xqtl":
        return [_q(geneId=g) for g in pick(ids.xgenes)]
    if endpoint == "dyneqtl":
        return [_q(tissueSiteDetailId=t, geneId=g, variantId=v) for t, g, v in pick(ids.triples)]
    if endpoint == "variant":
        return [_q(variantId=v) for v in pick(ids.variants)]
    if endpoint == "tissueInfo":
        return [""] * n
    if endpoint == "topExpressedGene":
        return [_q(tissueSiteDetailId=t, **({"filterMtGene": "true"} if rng.random() < 0.5 else {}))
                for t in pick(ids.tissues)]
    raise ValueError(f"unknown endpoint {endpoint}")


def peer_prefix(url: str) -> str:
    """A RatGTEx API prefix: ``/api/v4`` appended to a bare server root."""
    url = url.rstrip("/")
    return url if urllib.parse.urlsplit(url).path else url + "/api/v4"


def ours_prefix(url: str, release: str = "v4") -> str:
    """A qtlatlas RatGTEx-compatible prefix: ``/compat/ratgtex/RELEASE`` appended to a bare server root."""
    url = url.rstrip("/")
    return url if urllib.parse.urlsplit(url).path else f"{url}/compat/ratgtex/{release}"


# ---------------------------------------------------------------------------------------------------------
# value comparison


def _is_num(x: object) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool)


def _sig_digits(x: float) -> int:
    """Significant digits of ``x`` as printed (shortest repr): 4 for 3.558e-07, 6 for 0.885397."""
    return len(repr(float(x)).split("e")[0].lstrip("-").replace(".", "").strip("0"))


def num_equal(a: float, b: float) -> str | None:
    """``"exact"``, ``"approx"`` (within 1e-5 relative, float32, or RatGTEx's printed precision) or None."""
    fa, fb = float(a), float(b)
    if fa == fb or (math.isnan(fa) and math.isnan(fb)):
        return "exact"
    if not (math.isfinite(fa) and math.isfinite(fb)):
        return None
    if abs(fa - fb) <= REL_TOL * max(abs(fa), abs(fb)):
        return "approx"
    if np.float32(fa) == np.float32(fb):
        return "approx"
    d = _sig_digits(fa)  # RatGTEx rounded it (singleTissueEqtl p-values: 4 digits); 3–6 digits only, as
    if 3 <= d <= 6 and float(f"{fb:.{d - 1}e}") == fa:  # fewer could be an exact round number
        return "approx"
    return None


def value_equal(a: object, b: object) -> str | None:
    if _is_num(a) and _is_num(b):
        return num_equal(a, b)
    if type(a) is not type(b):
        return None
    return "exact" if a == b else None


# Newick: clades as sets of leaf names


def _clades(newick: str) -> set[frozenset[str]] | None:
    text = newick.strip().rstrip(";")
    stack: list[set[str]] = []
    clades: set[frozenset[str]] = set()
    leaves: set[str] = set()
    for token in re.findall(r"\(|\)|,|[^(),:]+(?::[^(),]*)?|:[^(),]*", text):
        if token == "(":
            stack.append(set())
        elif token == ")":
            if not stack:
                return None
            clade = stack.pop()
            clades.add(frozenset(clade))
            if stack:
                stack[-1] |= clade
        elif token == "," or token.startswith(":"):
            continue
        else:
            name = token.split(":")[0].strip()
            if name:
                leaves.add(name)
                if stack:
                    stack[-1].add(name)
    if stack:
        return None
    return clades | {frozenset([leaf]) for leaf in leaves}


def newick_note(a: str, b: str) -> str:
    ca, cb = _clades(a), _clades(b)
    if ca is None or cb is None:
        return "not both Newick"
    if ca == cb:
        return "same clades, other text (branch lengths or child order)"
    leaves = lambda c: set().union(*c) if c else set()  # noqa: E731
    return "other topology" if leaves(ca) == leaves(cb) else "other leaves"


# ---------------------------------------------------------------------------------------------------------
# structural comparison


@dataclass
class Finding:
    ids: set[str] = field(default_factory=set)
    example: str = ""
    notes: Counter = field(default_factory=Counter)

    def add(self, qid: str, example: str, note: str = "") -> None:
        if not self.ids:
            self.example = f"{qid or '(no parameters)'}: {example}"
        self.ids.add(qid)
        if note:
            self.notes[note] += 1


@dataclass
class EndpointReport:
    endpoint: str
    ids: int = 0
    compared: int = 0
    peer_failed: Finding = field(default_factory=Finding)
    ours_failed: Finding = field(default_factory=Finding)
    missing: dict[str, Finding] = field(default_factory=dict)
    extra: dict[str, Finding] = field(default_factory=dict)
    differ: dict[str, Finding] = field(default_factory=dict)
    rows: dict[str, Finding] = field(default_factory=dict)
    approx: Counter = field(default_factory=Counter)  # values equal only within a tolerance, per field

    def _note(self, table: dict[str, Finding], path: str, qid: str, example: str, note: str = "") -> None:
        table.setdefault(path, Finding()).add(qid, example, note)

    def as_dict(self) -> dict:
        f = lambda t: {p: {"ids": len(x.ids), "example": x.example, "notes": dict(x.notes)}  # noqa: E731
                       for p, x in sorted(t.items())}
        return {"endpoint": self.endpoint, "ids": self.ids, "compared": self.compared,
                "peer_failed": len(self.peer_failed.ids), "peer_failed_example": self.peer_failed.example,
                "ours_failed": len(self.ours_failed.ids), "ours_failed_example": self.ours_failed.example,
                "missing": f(self.missing), "extra": f(self.extra), "differ": f(self.differ), "rows": f(self.rows),
                "approx": dict(self.approx)}


def _short(x: object, n: int = 80) -> str:
    s = json.dumps(x, separators=(",", ":"))
    return s if len(s) <= n else s[: n - 1] + "…"


def _norm_key(x: object) -> object:
    if _is_num(x) and float(x).is_integer():
        return int(x)
    return x


def _round(x: object) -> object:
    """A value for multiset counting: numbers to 5 significant digits."""
    return float(f"{float(x):.4e}") if _is_num(x) and math.isfinite(float(x)) else x


def _key_of(items: list, keys: tuple[str, ...]) -> list | None:
    if not all(isinstance(i, dict) and all(k in i for k in keys) for i in items):
        return None
    return [tuple(_norm_key(i[k]) for k in keys) for i in items]


class _Comparer:
    def __init__(self, report: EndpointReport, qid: str):
        self.r, self.qid = report, qid

    def compare(self, a: object, b: object, path: str) -> None:
        if isinstance(a, dict):
            if not isinstance(b, dict):
                self.r._note(self.r.differ, path or "(response)", self.qid, f"RatGTEx {_short(a)} vs ours {_short(b)}")
                return
            self._dict(a, b, path)
        elif isinstance(a, list):
            if not isinstance(b, list):
                self.r._note(self.r.differ, path + "[]", self.qid, f"RatGTEx {_short(a)} vs ours {_short(b)}")
                return
            self._list(a, b, path + "[]")
        elif path in NEWICK and isinstance(a, str) and isinstance(b, str) and a != b:
            note = newick_note(a, b)
            self.r._note(self.r.differ, path, self.qid, f"{note}: RatGTEx {_short(a, 60)} vs ours {_short(b, 60)}", note)
        else:
            eq = value_equal(a, b)
            if eq is None and path in PRINTED_DIGITS and _is_num(a) and _is_num(b):
                eq = "approx" if float(f"{float(b):.{PRINTED_DIGITS[path] - 1}e}") == float(a) else None
            if eq is None:
                self.r._note(self.r.differ, path, self.qid, f"RatGTEx {_short(a)} vs ours {_short(b)}")
            elif eq == "approx":
                self.r.approx[path] += 1

    def _dict(self, a: dict, b: dict, path: str) -> None:
        pre = path + "." if path else ""
        if "data" in a and "genotypes" in a and "data" in b and "genotypes" in b and path == "":
            self._paired(a, b)
            a = {k: v for k, v in a.items() if k not in ("data", "genotypes")}
            b = {k: v for k, v in b.items() if k not in ("data", "genotypes")}
        for k, v in a.items():
            if k not in b:
                alias = next((x for x in ALIASES.get(k, ()) if x in b), None)
                note = "" if alias is None else f"ours has {alias}, " + (
                    "equal" if value_equal(v, b[alias]) else "differing")
                self.r._note(self.r.missing, pre + k, self.qid, f"RatGTEx {_short(v)}"
                             + (f", ours {alias} {_short(b[alias])}" if alias else ""), note)
            else:
                self.compare(v, b[k], pre + k)
        for k, v in b.items():
            if k not in a:
                self.r._note(self.r.extra, pre + k, self.qid, f"ours {_short(v)}")

    def _paired(self, a: dict, b: dict) -> None:
        """dyneqtl: the multiset of (expression, genotype) pairs, as RatGTEx gives no sample ids."""
        if not isinstance(a["data"], list) or not isinstance(b["data"], list):
            return
        pa = sorted(zip(a["genotypes"], a["data"], strict=False), key=lambda x: (x[0] is None, x[0] or 0, x[1]))
        pb = sorted(zip(b["genotypes"], b["data"], strict=False), key=lambda x: (x[0] is None, x[0] or 0, x[1]))
        if len(pa) != len(pb):
            self.r._note(self.r.differ, "data[]+genotypes[] (pairs)", self.qid,
                         f"{len(pa)} samples in RatGTEx vs {len(pb)} in ours")
            return
        bad = [(x, y) for x, y in zip(pa, pb, strict=True)
               if x[0] != y[0] or num_equal(x[1], y[1]) is None]
        if bad:
            ra, rb = Counter((g, _round(v)) for g, v in pa), Counter((g, _round(v)) for g, v in pb)
            lost = sorted((ra - rb).elements(), key=str)
            self.r._note(self.r.differ, "data[]+genotypes[] (pairs)", self.qid,
                         f"{len(lost)}/{len(pa)} (genotype, value) pairs of RatGTEx not in ours, e.g. "
                         f"{lost[0] if lost else bad[0][0]}")

    def _list(self, a: list, b: list, path: str) -> None:
        if path in MULTISET or (a and not isinstance(a[0], dict | list)):
            self._multiset(a, b, path)
            return
        keys = next(((k, ka, kb) for k in LIST_KEYS.get(path, [])
                     if (ka := _key_of(a, k)) is not None and (kb := _key_of(b, k)) is not None), None)
        if keys is None:  # positional
            for x, y in zip(a, b, strict=False):
                self.compare(x, y, path)
            if len(a) != len(b):
                self.r._note(self.r.rows, path, self.qid, f"{len(a)} items in RatGTEx vs {len(b)} in ours "
                             "(matched by position: no key fields on both sides)")
            return
        self._names(a, b, path)
        k, ka, kb = keys
        index_b: dict[object, list[int]] = {}
        for j, key in enumerate(kb):
            index_b.setdefault(key, []).append(j)
        used = set()
        missing_rows = []
        for i, key in enumerate(ka):
            js = index_b.get(key)
            if not js:
                missing_rows.append(key)
                continue
            j = js.pop(0)
            used.add(j)
            self.compare(a[i], b[j], path)
        only_ours = [kb[j] for j in range(len(b)) if j not in used]
        label = ",".join(k)
        if missing_rows:
            self.r._note(self.r.rows, f"{path} missing in ours", self.qid,
                         f"{len(missing_rows)}/{len(a)} RatGTEx items (by {label}) missing, e.g. {missing_rows[0]}")
        if only_ours:
            self.r._note(self.r.rows, f"{path} only in ours", self.qid,
                         f"{len(only_ours)} items (by {label}) not in RatGTEx's {len(a)}, e.g. {only_ours[0]}")
        if path in ORDERED and not missing_rows and not only_ours and ka != kb:
            self.r._note(self.r.differ, f"{path} (order)", self.qid, f"RatGTEx {ka[:3]}… vs ours {kb[:3]}…")

    def _names(self, a: list, b: list, path: str) -> None:
        """Fields of RatGTEx's items that none of ours has (and the reverse), matched items or not."""
        if not (a and b and all(isinstance(x, dict) for x in a + b)):
            return
        names_a, names_b = set().union(*a), set().union(*b)
        for name in sorted(names_a - names_b):
            self.r._note(self.r.missing, f"{path}.{name}", self.qid,
                         f"RatGTEx {_short(next(x[name] for x in a if name in x))}")
        for name in sorted(names_b - names_a):
            self.r._note(self.r.extra, f"{path}.{name}", self.qid, f"ours {_short(next(x[name] for x in b if name in x))}")

    def _multiset(self, a: list, b: list, path: str) -> None:
        if len(a) != len(b):
            self.r._note(self.r.differ, path + " (multiset)", self.qid, f"{len(a)} values in RatGTEx vs {len(b)} in ours")
            return
        key = lambda x: (x is None, 0, float(x), "") if _is_num(x) else (x is None, 1, 0.0, str(x))  # noqa: E731
        sa, sb = sorted(a, key=key), sorted(b, key=key)
        bad = [(x, y) for x, y in zip(sa, sb, strict=True) if value_equal(x, y) is None]
        if bad:
            ra, rb = Counter(map(_round, sa)), Counter(map(_round, sb))
            lost, new = sorted((ra - rb).elements(), key=str), sorted((rb - ra).elements(), key=str)
            self.r._note(self.r.differ, path + " (multiset)", self.qid,
                         f"{len(lost)}/{len(a)} values of RatGTEx not in ours, e.g. {lost[:1]}; ours has instead "
                         f"e.g. {new[:1]}")
        elif approx := sum(value_equal(x, y) == "approx" for x, y in zip(sa, sb, strict=True)):
            self.r.approx[path] += approx


def _get(url: str, timeout: float) -> tuple[int, object | str]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            body = response.read()
            status = response.status
    except urllib.error.HTTPError as e:
        return e.code, e.read()[:200].decode("utf-8", "replace")
    except (urllib.error.URLError, OSError) as e:
        return 0, str(e)
    try:
        return status, json.loads(body)
    except ValueError:
        return -status, body[:200].decode("utf-8", "replace")


def compare(peer: str, ours: str, data: str | Path, n: int = 50, endpoints: list[str] | None = None,
            seed: int = 7, release: str = "v4", timeout: float = 120.0) -> dict[str, EndpointReport]:
    """Compare ``n`` random valid queries per endpoint between the RatGTEx API and ours."""
    ids = load_ids(resolve_data(data))
    peer_url, ours_url = peer_prefix(peer), ours_prefix(ours, release)
    reports: dict[str, EndpointReport] = {}
    for endpoint in endpoints or ENDPOINTS:
        report = reports[endpoint] = EndpointReport(endpoint)
        for qid in dict.fromkeys(queries(ids, endpoint, n, seed)):  # distinct queries (tissueInfo: one)
            report.ids += 1
            sa, ja = _get(f"{peer_url}/{endpoint}?{qid}", timeout)
            sb, jb = _get(f"{ours_url}/{endpoint}?{qid}", timeout)
            if sa != 200:
                report.peer_failed.add(qid, f"HTTP {sa} {_short(ja)}")
                continue
            if sb != 200:
                report.ours_failed.add(qid, f"HTTP {sb} {_short(jb, 160)}")
                continue
            report.compared += 1
            _Comparer(report, qid).compare(ja, jb, "")
    return reports


def _paths(table: dict[str, Finding], n: int, limit: int = 99) -> str:
    items = sorted(table.items(), key=lambda kv: (-len(kv[1].ids), kv[0]))
    return ", ".join(f"{p} ({len(x.ids)}/{n})" for p, x in items[:limit]) + (" …" if len(items) > limit else "")


def print_report(reports: dict[str, EndpointReport], out=None) -> None:
    """A table (one line per endpoint) and, below, every missing, differing and extra field with an example."""
    out = out or sys.stdout
    w = lambda s="": print(s, file=out)  # noqa: E731
    w(f"{'endpoint':<22}{'ids':>5}{'compared':>10}{'ours ≠200':>11}{'missing':>9}{'differ':>8}{'rows':>6}{'extra':>7}")
    for r in reports.values():
        w(f"{r.endpoint:<22}{r.ids:>5}{r.compared:>10}{len(r.ours_failed.ids):>11}{len(r.missing):>9}"
          f"{len(r.differ):>8}{len(r.rows):>6}{len(r.extra):>7}")
    w("(missing/differ/rows/extra: number of fields; per field below, (k/N) = ids of the N compared where it occurs)")
    for r in reports.values():
        lines = []
        if r.peer_failed.ids:
            lines.append(f"  RatGTEx failed on {len(r.peer_failed.ids)}/{r.ids} ids, e.g. {r.peer_failed.example}")
        if r.ours_failed.ids:
            lines.append(f"  ours failed on {len(r.ours_failed.ids)}/{r.ids} ids, e.g. {r.ours_failed.example}")
        if r.missing:
            lines.append(f"  missing in ours: {_paths(r.missing, r.compared)}")
            for p, x in sorted(r.missing.items()):
                if x.notes:
                    lines.append(f"    {p}: {', '.join(f'{k} ({v} items)' for k, v in x.notes.items())}")
        for table, label in ((r.rows, "rows"), (r.differ, "differ")):
            for p, x in sorted(table.items(), key=lambda kv: (-len(kv[1].ids), kv[0])):
                notes = f" [{'; '.join(f'{k}: {v}' for k, v in x.notes.items())}]" if x.notes else ""
                lines.append(f"  {label} {p} ({len(x.ids)}/{r.compared}){notes}, e.g. {x.example}")
        if r.extra:
            lines.append(f"  extra in ours: {_paths(r.extra, r.compared, 12)}")
        if r.approx:
            lines.append("  equal within tolerance only (print precision, float32): "
                         + ", ".join(f"{p} ({k} values)" for p, k in r.approx.items()))
        if lines:
            w(f"{r.endpoint}:")
            for line in lines:
                w(line)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--peer", required=True, help="RatGTEx API root (http://HOST:PORT) or prefix (…/api/v4)")
    ap.add_argument("--ours", required=True, help="qtlatlas server root or prefix (…/compat/ratgtex/v4)")
    ap.add_argument("--data", required=True, help="generator output directory (v4/ and bench_ids/ inside)")
    ap.add_argument("--n", type=int, default=50, help="random valid ids per endpoint (default 50)")
    ap.add_argument("--release", default="v4", help="release id of ours (default v4)")
    ap.add_argument("--endpoints", help=f"comma-separated subset of {','.join(ENDPOINTS)}")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--json", type=Path, help="also write the findings as JSON here")
    a = ap.parse_args(argv)
    endpoints = a.endpoints.split(",") if a.endpoints else None
    unknown = set(endpoints or []) - set(ENDPOINTS)
    if unknown:
        ap.error(f"unknown endpoint(s): {', '.join(sorted(unknown))}")
    try:
        reports = compare(a.peer, a.ours, a.data, a.n, endpoints, a.seed, a.release)
    except FileNotFoundError as e:
        print(e, file=sys.stderr)
        return 2
    print_report(reports)
    if a.json:
        a.json.write_text(json.dumps({k: r.as_dict() for k, r in reports.items()}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
