"""The small demo site of the portal tests, built once per test session (``qtlatlas demo --no-serve`` with the
sizes of tests/test_api.py) and shared by tests/test_pages.py and the browser tests."""

from __future__ import annotations

from pathlib import Path

from qtlatlas.demo import DemoConfig

#: A GWAS of 300 individuals reaches no locus at 5e-8: its loci are colocalised from the suggestive 1e-5, as a
#: lab with a small GWAS would.
SMALL = DemoConfig(seed=5, n_individuals=120, n_variants_per_chrom=600, n_genes_per_chrom=15, n_traits=1, gwas_n=300,
                   coloc_p_threshold=1e-5)


def demo_site(tmp_path_factory, config: DemoConfig = SMALL, name: str = "portal-demo") -> Path:
    """``SITE`` of a demo atlas (default: the small one, two releases, three tissues), built from ``config`` on first
    use in the session's temporary directory ``name``."""
    import qtlatlas.commands.demo as demo_command
    from qtlatlas.cli import main

    out = tmp_path_factory.getbasetemp() / name
    site = out / "site"
    if all((site / "releases" / r / "release.json").is_file() for r in ("v1", "v2")):
        return site
    original = demo_command.DEMO_CONFIG
    demo_command.DEMO_CONFIG = config
    try:
        assert main(["demo", "--out", str(out), "--no-serve", "--quiet"]) == 0
    finally:
        demo_command.DEMO_CONFIG = original
    return site
