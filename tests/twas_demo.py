"""A small demo atlas with TWAS traits, mapped and built once per test session (shared by the TWAS tests).

Release v2 of the demo (three tissues; TWAS weights for expression and splicing, two traits whose causal
genes are known from ``truth/trait_genes.tsv``) is run through the pipeline and built into ``site/``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from qtlatlas.cli import main
from qtlatlas.commands.pipeline import run_release
from qtlatlas.config import load_atlas
from qtlatlas.demo import DemoConfig, generate_demo

#: Small enough for a 2-core machine, with a GWAS large enough for the causal genes to stand out. 30 genes per
#: chromosome: only a few percent of splicing phenotypes pass the heritability filter, and with 20 genes a
#: tissue's splicing panel was left without a model for some seeds (3 and 6 among 3, 4 and 6).
CONFIG = DemoConfig(seed=3, n_individuals=200, n_variants_per_chrom=600, n_genes_per_chrom=30, n_traits=3,
                    gwas_n=4000)
RELEASE = "v2"


@dataclass
class TwasDemo:
    """Paths of the demo and what its first run measured (seconds)."""

    root: Path
    work: Path
    site: Path
    run_s: float
    task_s: dict[str, float] = field(default_factory=dict)
    build_s: float = 0.0

    @property
    def atlas_yaml(self) -> Path:
        return self.root / "atlas.yaml"

    @property
    def release_dir(self) -> Path:
        return self.site / "releases" / RELEASE

    def twas_s(self) -> float:
        """Seconds spent in the TWAS tasks of the first run (sum over tasks)."""
        return sum(s for tid, s in self.task_s.items() if "/twas/" in tid)


_CACHE: dict[str, TwasDemo] = {}


def twas_demo(base: Path) -> TwasDemo:
    """The demo under ``base`` (a session's base temporary directory), generated, run and built once."""
    key = str(base)
    if key not in _CACHE:
        root = base / "twas_demo"
        generate_demo(root, CONFIG)
        atlas = load_atlas(root / "atlas.yaml")
        t0 = time.perf_counter()
        report = run_release(atlas, RELEASE, root / "work", cores=2, progress=False)
        run_s = time.perf_counter() - t0
        assert report.ok, [(t.id, t.error) for t in report.tasks if t.status != "done"]
        t0 = time.perf_counter()
        site = root / "site"
        assert main(["build", str(root / "atlas.yaml"), "--release", RELEASE, "--site", str(site)]) == 0
        _CACHE[key] = TwasDemo(root, root / "work", site, run_s, {t.id: t.wall_s for t in report.tasks},
                               time.perf_counter() - t0)
    return _CACHE[key]
