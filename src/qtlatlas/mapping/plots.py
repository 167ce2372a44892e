"""QC plots of a permutation pass (``qtlatlas map cis --plots``).

Writes next to the outputs: ``PREFIX.qc.qq.png`` (QQ plot of ``pval_beta``), ``PREFIX.qc.perm_vs_beta.png``
(empirical against Beta-approximated p-values), ``PREFIX.qc.tss_distance.png`` (distance of eGene lead
variants to the TSS) and ``PREFIX.qc.html``, a self-contained page embedding the three (no external assets).
"""

from __future__ import annotations

import base64
import html
from pathlib import Path

import numpy as np
import pandas as pd

from ..engine.significance import SignificanceSummary


def _figure():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 4.2), dpi=110)
    return plt, fig, ax


def _save(plt, fig, ax, path: Path, legend: bool = True) -> None:
    if legend:
        ax.legend(frameon=False, loc="upper left")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def qq_plot(pvals: np.ndarray, path: Path, title: str) -> None:
    """−log10 observed against expected uniform quantiles, with a 95% band."""
    p = np.sort(np.asarray(pvals, dtype=float)[np.isfinite(pvals)])
    n = len(p)
    expected = -np.log10((np.arange(1, n + 1) - 0.5) / n)
    plt, fig, ax = _figure()
    from scipy import stats

    k = np.arange(1, n + 1)
    ax.fill_between(expected, -np.log10(stats.beta.ppf(0.025, k, n - k + 1)), -np.log10(stats.beta.ppf(0.975, k, n - k + 1)),
                    color="#d0d7e2", label="95% band")
    ax.plot(expected, -np.log10(np.maximum(p, 1e-300)), ".", ms=3, color="#1f4e8c", label="phenotypes")
    ax.plot([0, expected.max()], [0, expected.max()], "-", color="#777", lw=1)
    ax.set(xlabel="expected −log10 p", ylabel="observed −log10 pval_beta", title=title)
    _save(plt, fig, ax, path)


def perm_vs_beta_plot(table: pd.DataFrame, path: Path, n_permutations: int) -> None:
    plt, fig, ax = _figure()
    x = -np.log10(table["pval_perm"].to_numpy(float))
    y = -np.log10(np.maximum(table["pval_beta"].to_numpy(float), 1e-300))
    ax.plot(x, y, ".", ms=3, color="#1f4e8c")
    top = max(np.nanmax(x), 1)
    ax.plot([0, top], [0, top], "-", color="#777", lw=1)
    ax.axvline(np.log10(n_permutations + 1), color="#c44", lw=0.8, ls="--", label="permutation resolution")
    ax.set(xlabel="−log10 pval_perm (empirical)", ylabel="−log10 pval_beta (Beta approximation)",
           title="Empirical vs Beta-approximated p-values")
    _save(plt, fig, ax, path)


def tss_distance_plot(table: pd.DataFrame, fdr: float, path: Path) -> None:
    plt, fig, ax = _figure()
    sig = table[table["qval"] <= fdr]
    d = sig["start_distance"].to_numpy(float) / 1000
    ax.hist(d, bins=60, color="#1f4e8c")
    ax.set(xlabel="lead variant position relative to the TSS (kb)", ylabel="eGenes",
           title=f"eGene lead variants (q ≤ {fdr:g}, n = {len(sig):,})")
    _save(plt, fig, ax, path, legend=False)


def write_qc_plots(table: pd.DataFrame, summary: SignificanceSummary, prefix: str, fdr: float,
                   n_permutations: int) -> list[Path]:
    """Write the three PNGs and the HTML page; returns their paths."""
    base = Path(f"{prefix}.qc")
    paths = [Path(f"{base}.qq.png"), Path(f"{base}.perm_vs_beta.png"), Path(f"{base}.tss_distance.png")]
    qq_plot(table["pval_beta"].to_numpy(float), paths[0], "QQ plot of Beta-approximated p-values")
    perm_vs_beta_plot(table, paths[1], n_permutations)
    tss_distance_plot(table, fdr, paths[2])
    rows = [("phenotypes tested", f"{summary.n_tested:,}"), ("π̂₀", f"{summary.pi0:.3f}"),
            (f"significant at FDR {fdr:g}", f"{summary.n_significant:,}"),
            ("p* (Beta p-value threshold)", "—" if summary.pval_threshold is None else f"{summary.pval_threshold:.4g}"),
            ("r(pval_beta, pval_perm)", f"{summary.pearson_beta_perm:.4f}")]
    images = "".join(
        f'<figure><img alt="{html.escape(p.stem)}" src="data:image/png;base64,{base64.b64encode(p.read_bytes()).decode()}">'
        f"</figure>" for p in paths)
    table_html = "".join(f"<tr><th scope='row'>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>" for k, v in rows)
    page = (f"<!doctype html><html lang='en'><meta charset='utf-8'><title>cis-QTL QC: {html.escape(Path(prefix).name)}</title>"
            "<style>body{font-family:system-ui,sans-serif;margin:2rem;color:#111}figure{display:inline-block;margin:0 1rem 1rem 0}"
            "table{border-collapse:collapse}th,td{padding:.2rem .8rem;border-bottom:1px solid #ddd;text-align:left}</style>"
            f"<h1>cis-QTL QC: {html.escape(Path(prefix).name)}</h1><table>{table_html}</table>{images}</html>")
    html_path = Path(f"{base}.html")
    html_path.write_text(page)
    return [*paths, html_path]
