"""The data of a regional plot (LocusZoom's): every tested variant of one phenotype's cis window with its
−log10 p, r² with a reference variant (LD among the tissue's samples), the phenotype's significance
threshold, the gene's independent signals and the genes of the window with their exons.

Shared by the gene page (which embeds the plot of its default phenotype and draws it on the server) and the
API route ``/api/v1/regional/gene/{gene}`` (the page's other choices). The payload is compact: the variants
as column arrays (ids, positions, −log10 p to 3 decimals, slopes to 3 significant digits, r² to 3
decimals), not one object per variant: a window of 8,000 variants with ``chr_pos_ref_alt`` ids is about 400 KB
of JSON (105 KB gzip-compressed), the ids two thirds of it.
"""

from __future__ import annotations

from concurrent.futures import Executor, Future

import numpy as np
import pandas as pd

from ..store import NotFound
from ..store.errors import StoreError
from ..store.ld import MAX_LD_WINDOW_BP
from ..store.params import Span

#: Most variants of one window sent to a plot (the most significant when a window has more).
MAX_WINDOW_VARIANTS = 20_000


def ld_region(chrom: str, lo: int, hi: int, reference_pos: int, max_bp: int = MAX_LD_WINDOW_BP) -> str:
    """The LD window of a plot spanning ``lo..hi`` with its reference at ``reference_pos``: the whole span
    when it fits in ``max_bp``, else ``max_bp`` around the reference within the span (the same rule as
    ``ldRegion`` of ``static/regional.js``)."""
    if hi - lo + 1 > max_bp:
        lo = max(lo, reference_pos - max_bp // 2 + 1)
        hi = min(hi, lo + max_bp - 1)
    return f"{chrom}:{lo}-{hi}"


def rounded(values, decimals: int) -> list:
    """``values`` rounded to ``decimals`` decimals, NaN and infinities as None (a compact JSON list)."""
    a = np.round(np.asarray(values, dtype=np.float64), decimals)
    return [x if x == x and abs(x) != np.inf else None for x in a.tolist()]


def significant_digits(values, digits: int = 3) -> list:
    """``values`` to ``digits`` significant digits, NaN as None."""
    a = np.asarray(values, dtype=np.float64)
    text = np.char.mod(f"%.{digits}g", a)
    return [float(t) if v == v and abs(v) != np.inf else None for t, v in zip(text.tolist(), a.tolist(), strict=True)]


def aligned_r2(ld: pd.DataFrame, ids: list[str]) -> list:
    """r² of each variant of ``ids`` from an LD answer (rows ``variant_id, r2``), to 3 decimals; None where the
    LD window lacks the variant or r² is undefined."""
    by_id = dict(zip(ld["variant_id"].tolist(), ld["r2"].to_numpy(dtype=np.float64).tolist(), strict=True))
    return rounded([by_id.get(v, np.nan) for v in ids], 3)


def cis_window(release, run: dict) -> tuple[int, int]:
    """The cis window of a phenotype (a row of ``phenotype_runs``): its position ± the release's mapping
    window, widened to its first and last tested variant (a phenotype with an end, such as an intron, has
    variants past start + window)."""
    try:
        window = int((release.info.get("mapping") or {}).get("window") or 0)
    except (TypeError, ValueError):
        window = 0
    start = _integer(run.get("start"))
    if start is None or window <= 0:
        return int(run["pos_first"]), int(run["pos_last"])
    return max(1, min(start - window, int(run["pos_first"]))), max(start + window, int(run["pos_last"]))


def _integer(value) -> int | None:
    """``value`` as an int; None when missing (None or NaN)."""
    return None if value is None or value != value else int(value)


def _columns(frame: pd.DataFrame | None, *names: str) -> list[tuple]:
    """Rows of ``frame``'s ``names`` columns as tuples (plain lists: a page's few rows without pandas'
    per-row overhead); no rows when ``frame`` is None or lacks a column."""
    if frame is None or not len(frame) or any(n not in frame.columns for n in names):
        return []
    return list(zip(*(frame[n].tolist() for n in names), strict=True))


def choose_run(runs: pd.DataFrame, tissue: str, modality: str, phenotype: str | None,
               top: pd.DataFrame | None) -> dict:
    """The phenotype of ``tissue × modality`` to plot (a row of ``phenotype_runs`` as a dict): ``phenotype``
    when given, else the one whose top QTL is the most significant (the first when none has a top QTL).
    NotFound when the gene has no such phenotype with published pairs."""
    names = list(runs.columns)
    mine = [dict(zip(names, r, strict=True)) for r in _columns(runs, *names) if r[0] == tissue and r[1] == modality]
    if phenotype is not None:
        mine = [r for r in mine if r["phenotype_id"] == phenotype]
        if not mine:
            raise NotFound("phenotype", phenotype, detail=f"of the gene in {tissue} × {modality} with every "
                                                          "tested pair published")
        return mine[0]
    if not mine:
        raise NotFound("tested pairs", f"{tissue} × {modality}", detail="of the gene (not tested there, or the "
                                                                        "release publishes no nominal pass)")
    p = {pid: pv for t, m, pid, pv in _columns(top, "tissue", "modality", "phenotype_id", "pval_nominal")
         if t == tissue and m == modality and pv == pv}
    return min(mine, key=lambda r: (r["phenotype_id"] not in p, p.get(r["phenotype_id"], 0.0)))


def lead_of(top: pd.DataFrame | None, run: dict) -> str | None:
    """The top QTL table's variant of the phenotype (its lead), None when it has no row there."""
    for t, m, pid, v in _columns(top, "tissue", "modality", "phenotype_id", "variant_id"):
        if (t, m, pid) == (run["tissue"], run["modality"], run["phenotype_id"]):
            return str(v)
    return None


def _ld(release, reference: str, region: str, tissue: str) -> tuple[pd.DataFrame | None, str | None]:
    try:
        return release.ld(reference, region=region, tissue=tissue), None
    except StoreError as exc:
        return None, f"LD is not available: {exc}"


def _independent(rows: pd.DataFrame | None, tissue: str, modality: str, ids: list[str]) -> list[dict]:
    """The gene's independent signals of the tissue × modality, by rank: ``variant_id, rank, phenotype_id, p``
    and ``i``, the variant's index among the plotted ones (-1 when it is not among them)."""
    at = {v: i for i, v in enumerate(ids)}
    found = [{"variant_id": v, "rank": None if rank != rank else int(rank), "phenotype_id": pid,
              "p": None if p != p else float(p), "i": at.get(v, -1)}
             for t, m, pid, v, rank, p in _columns(rows, "tissue", "modality", "phenotype_id", "variant_id", "rank",
                                                   "pval_nominal")
             if t == tissue and m == modality]
    return sorted(found, key=lambda s: (s["rank"] is None, s["rank"] or 0))


def _finemapping(release, gene_id: str, tissue: str, modality: str, phenotype: str) -> pd.DataFrame | None:
    """The phenotype's fine-mapped variants (``variant_id, pip, cs_id``), None when the release has no
    fine-mapping or the phenotype was not fine-mapped."""
    if not release.has_finemapping():
        return None
    rows = release.pips(gene_id, tissue, modality, phenotype)
    return rows if len(rows) else None


def aligned_finemapping(rows: pd.DataFrame | None, ids: list[str]) -> dict | None:
    """PIPs and credible sets aligned with the plotted variants ``ids``: ``pip`` (3 decimals; None where the
    variant was not fine-mapped), ``cs`` (index into ``sets``, None outside every credible set) and ``sets``
    (``id``, ``size``: members in the window, ``drawn``: members among ``ids``, ``max_pip``), ordered by
    their largest PIP; None without fine-mapping."""
    if rows is None:
        return None
    pip = dict(zip(rows["variant_id"].astype(str), rows["pip"].to_numpy(np.float64).tolist(), strict=True))
    members = rows[rows["cs_id"].notna()]
    order = (members.groupby("cs_id")["pip"].max().sort_values(ascending=False) if len(members)
             else pd.Series(dtype=np.float64))
    index = {cs: k for k, cs in enumerate(order.index.tolist())}
    cs_of = dict(zip(members["variant_id"].astype(str), members["cs_id"].map(index).tolist(), strict=True))
    at = set(ids)
    sets = [{"id": str(cs), "size": int((members["cs_id"] == cs).sum()),
             "drawn": int(members.loc[members["cs_id"] == cs, "variant_id"].astype(str).isin(at).sum()),
             "max_pip": round(float(order[cs]), 3)} for cs in order.index]
    return {"pip": rounded([pip.get(v, np.nan) for v in ids], 3), "cs": [cs_of.get(v) for v in ids], "sets": sets}


def regional_data(release, gene: dict, tissue: str, modality: str, phenotype: str | None = None, *,
                  reference: str | None = None, top: pd.DataFrame | None = None,
                  independent: pd.DataFrame | None = None, runs: pd.DataFrame | None = None,
                  pool: Executor | None = None) -> dict:
    """The payload of a regional plot (see the module docstring).

    Args:
        release: the release store.
        gene: a row of ``release.gene`` (or ``resolve_gene``).
        tissue, modality: the tissue × modality (checked by the store).
        phenotype: one of the gene's phenotypes there; default the one with the most significant top QTL.
        reference: the LD reference variant; default the phenotype's lead.
        top, independent: the gene's top and independent QTL rows when the caller has them (read otherwise).
        runs: ``release.phenotype_runs(gene)`` when the caller has it.
        pool: runs the window's pairs, its LD and its genes side by side when given.

    Returns:
        ``tissue, modality, phenotype_id, gene_id, chrom, phenotype_pos, window`` ([start, end] of the cis
        window), ``threshold`` (the phenotype's nominal p threshold, None without one), ``n_total`` (pairs of
        the window) and ``min_nlog10p`` (None, or the −log10 p below which variants were left out past
        :data:`MAX_WINDOW_VARIANTS`), ``variants`` ({id, pos, nlog10p, slope} arrays by position), ``lead``
        (index of the smallest p), ``reference`` (the LD reference's id), ``r2`` (array aligned with the
        variants, None where unknown; None when LD is unavailable), ``ld_region``, ``ld_note`` (why LD is
        missing), ``independent`` (see :func:`_independent`), ``genes`` (the window's genes with their
        merged exons) and ``finemapping`` (PIPs and credible sets: :func:`aligned_finemapping`).
    """
    from ..store.portal import portal_queries

    t = release.check_tissue(tissue)
    m = release.check_modality(modality, t)
    queries = portal_queries(release)
    if top is None:
        top, _ = queries.gene_rows(gene, "top")
    if runs is None:
        runs = release.phenotype_runs(gene["gene_id"])
    run = choose_run(runs, t, m, phenotype, top)
    lo, hi = cis_window(release, run)
    chrom = run["chrom"]

    def run_now(fn, *args, **kwargs) -> Future:
        if pool is not None:
            return pool.submit(fn, *args, **kwargs)
        done: Future = Future()
        done.set_result(fn(*args, **kwargs))
        return done

    pairs_read = run_now(release.all_pairs_strongest, MAX_WINDOW_VARIANTS, gene=gene["gene_id"],
                         phenotype=run["phenotype_id"], tissues=[t], modalities=[m],
                         fields=["variant_id", "pos", "nlog10p", "slope"])
    genes_read = run_now(release.genes_in_span, Span(chrom, lo, hi))
    finemapping_read = run_now(_finemapping, release, gene["gene_id"], t, m, run["phenotype_id"])
    span = (int(run["pos_first"]), int(run["pos_last"]))  # the LD window: the tested variants' span
    ref = reference or lead_of(top, run)
    ld_read = ld_window = None
    if ref is not None:  # known before the pairs are read: LD side by side with them
        ref_variant = release.variant(ref)
        ref, ld_window = ref_variant["variant_id"], ld_region(chrom, *span, int(ref_variant["pos"]))
        ld_read = run_now(_ld, release, ref, ld_window, t)
    if independent is None:
        independent, _ = queries.gene_rows(gene, "independent")
    pairs, total, cut = pairs_read.result()
    pairs = pairs.sort_values(["pos", "variant_id"], kind="stable")
    ids = pairs["variant_id"].astype(str).tolist()
    nlog10p = pairs["nlog10p"].to_numpy(dtype=np.float64)
    lead = int(np.nanargmax(nlog10p)) if len(pairs) and np.isfinite(nlog10p).any() else None
    if ref is None and lead is not None:
        ref, ld_window = ids[lead], ld_region(chrom, *span, int(pairs["pos"].iloc[lead]))
        ld_read = run_now(_ld, release, ref, ld_window, t)
    ld, note = ld_read.result() if ld_read is not None else (None, "LD needs a reference variant.")
    return {
        "tissue": t, "modality": m, "phenotype_id": run["phenotype_id"], "gene_id": gene["gene_id"],
        "chrom": chrom, "phenotype_pos": _integer(run.get("start")), "window": [int(lo), int(hi)],
        "threshold": release.nominal_threshold(t, m, run["phenotype_id"]),
        "n_total": int(total), "min_nlog10p": cut,
        "variants": {"id": ids, "pos": pairs["pos"].astype("int64").tolist(), "nlog10p": rounded(nlog10p, 3),
                     "slope": significant_digits(pairs["slope"])},
        "lead": lead, "reference": ref, "r2": None if ld is None else aligned_r2(ld, ids),
        "ld_region": ld_window, "ld_note": note, "independent": _independent(independent, t, m, ids),
        "genes": genes_read.result(), "finemapping": aligned_finemapping(finemapping_read.result(), ids),
    }
