"""The sample QC report in a release: ``downloads/sample_qc.{release}.tsv`` (the pipeline's report as written,
notes included) and ``tables/sample_qc.parquet`` (its rows, for the Samples page)."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Mapping
from pathlib import Path

from ..config import Release
from ..results import ResultFiles
from . import layout
from .tables import write_table


def infer_qc_report(release: Release, results: Mapping[tuple[str, str], ResultFiles]) -> Path | None:
    """``WORK/{release}/sample_qc.tsv`` beside the mapping results ``WORK/{release}/{tissue}/{modality}/``
    (None for imported results or when the pipeline wrote no report)."""
    from ..pipeline.sample_qc import REPORT_FILE

    for (tissue, modality), rf in results.items():
        if rf.cis is None:  # imported from multi-tissue tables
            continue
        d = Path(rf.cis).parent
        if d.name == modality and d.parent.name == tissue and d.parent.parent.name == release.id:
            candidate = d.parent.parent / REPORT_FILE
            return candidate if candidate.is_file() else None
    return None


def publish_sample_qc(report: Path | None, release: Release, out: Path,
                      note: Callable[[str, str, str], Path]) -> int:
    """Publish ``report`` (when given); returns the number of flagged checks (0 without a report)."""
    if report is None:
        return 0
    from ..pipeline.sample_qc import read_report

    qc = read_report(report)
    rel = layout.download_path("sample_qc", release.id, release.genome)
    dest = note(rel, "sample quality control: declared sex of every individual against the sex marker genes, "
                "and each sample's RNA against every individual's genotypes at the strongest cis-QTLs "
                "(flag = needs a look; message says why)", "download")
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(report, dest)
    write_table(qc.rows, note(layout.table_path("sample_qc"), "sample quality control report", "table"))
    return int(qc.rows["flag"].sum())
