"""Peak memory of ``qtlatlas build`` as the release grows: a simulated atlas at 1× and 10× (ten times the
chromosome length, genes and variants, so about ten times the significant pairs), mapped with the pipeline
(200 permutations, to keep the benchmark short), then built; prints the significant pairs and the build's
wall time and peak RSS for each size.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import pyarrow.parquet as pq
import yaml

from qtlatlas.demo import DemoConfig, generate_demo

from .measure import measure

SIZES = {
    "1x": DemoConfig(seed=3),
    "10x": DemoConfig(seed=3, chrom_length=120_000_000, n_genes_per_chrom=600, n_variants_per_chrom=30_000),
}
QTLATLAS = [sys.executable, "-m", "qtlatlas.cli"]


def _fast_mapping(config: Path) -> None:
    data = yaml.safe_load(config.read_text())
    data.setdefault("mapping", {})["permutations"] = 200
    config.write_text(yaml.safe_dump(data, sort_keys=False))


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="qtlatlas-bench-build-") as tmp:
        for label, config in SIZES.items():
            root = Path(tmp) / label
            generate_demo(root, config)
            atlas = root / "atlas.yaml"
            _fast_mapping(atlas)
            run = measure([*QTLATLAS, "run", str(atlas), "--release", "v1", "--quiet"], log=root / "run.log")
            if run.returncode != 0:
                print(f"  {label}: qtlatlas run failed (see {root / 'run.log'})")
                continue
            build = measure([*QTLATLAS, "build", str(atlas), "--release", "v1", "--site", str(root / "site")],
                            log=root / "build.log")
            pairs = pq.ParquetFile(root / "site" / "releases" / "v1" / "tables" / "signif_pairs.parquet").metadata.num_rows
            print(f"  {label:>4}: {pairs:>10,} significant pairs; build {build.wall_s:6.1f} s, "
                  f"{build.peak_rss_mb:5.0f} MB peak RSS (run {run.wall_s:.0f} s)")


if __name__ == "__main__":
    main()
