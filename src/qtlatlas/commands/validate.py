"""``qtlatlas validate``."""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.table import Table

from .console import EXIT_INPUT_ERROR, console, err_console, print_wide


def _add_validate(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "validate",
        help="check atlas.yaml, every file it names, and the sample ids of each tissue × modality",
        description="Check the atlas configuration and every file it names (genotypes, phenotype BEDs, "
        "groups, covariates, annotation, studies, GWAS summary statistics), and reconcile sample ids "
        "(genotypes ∩ phenotypes ∩ covariates) per tissue × modality. Prints a table of counts and the "
        "first mismatches; exits with status 2 when a problem is found.",
    )
    p.add_argument("config", type=Path, help="atlas.yaml")
    p.add_argument("--release", action="append", metavar="ID", help="check only this release (repeatable)")
    p.add_argument("--qc", action="store_true",
                   help="also run sample quality control: each individual's declared sex against the sex marker "
                   "genes (qc.sex_markers), and each sample's RNA against the genotypes at its tissue's strongest "
                   "cis-QTLs (needs `qtlatlas run`'s cis results in --work); exits with status 2 when a sample or "
                   "individual is flagged")
    p.add_argument("--work", type=Path, default=None,
                   help="work directory of `qtlatlas run` (default: work/ beside atlas.yaml), for --qc")
    p.set_defaults(func=cmd_validate)


def cmd_validate(args: argparse.Namespace) -> int:
    from ..config import load_atlas

    atlas = load_atlas(args.config)
    status = validate_and_print(atlas, args.release)
    if not args.qc:
        return status
    work = args.work or args.config.resolve().parent / "work"
    qc_status = sample_qc_and_print(atlas, args.release, work)
    return status or qc_status


def sample_qc_and_print(atlas, releases: list[str] | None, work: Path) -> int:
    """Run sample QC of the chosen releases (all by default), print what is flagged and any notes; 2 when
    something is flagged."""
    from ..pipeline.sample_qc import run_sample_qc

    flagged_any = False
    for release in [atlas.release(r) for r in releases] if releases else atlas.releases:
        with console.status("Sample QC…") as status:
            report = run_sample_qc(release, atlas.qc, atlas.mapping.fdr, work,
                                   on_step=lambda m: status.update(f"Sample QC: {m}…"))
        for note in report.notes:
            console.print(f"[cyan]note:[/] {release.id}: {note}", soft_wrap=True)
        flagged = report.flagged
        checked = report.rows.groupby("check").size().to_dict()
        summary = ", ".join(f"{n} {'individuals' if c == 'sex' else 'samples'} ({c})" for c, n in checked.items())
        if flagged.empty:
            console.print(f"[green]OK[/]: release {release.id}: sample QC flagged nothing"
                          + (f" ({summary} checked)" if summary else ""))
            continue
        flagged_any = True
        table = Table(title=f"Release {release.id}: {len(flagged)} flagged by sample QC ({summary} checked)",
                      title_justify="left")
        for col in ("check", "tissue", "sample", "individual", "declared", "observed", "why"):
            table.add_column(col, no_wrap=col not in ("why", "tissue"))
        for r in flagged.itertuples():
            table.add_row(r.check, r.tissue, r.sample_id, r.individual_id, r.declared, r.observed, r.message)
        print_wide(table)
    return EXIT_INPUT_ERROR if flagged_any else 0


def visibility_notes(atlas) -> list[str]:
    """One line per item that is not public (private, or embargoed until a date, and whether that date has
    passed), so the lab sees what a build will keep from readers without a token."""
    from ..access.policy import ItemAccess, today

    on = today()
    out = []
    for kind, items in (("release", atlas.releases), ("tissue", atlas.tissues), ("study", atlas.studies),
                        ("TWAS trait", atlas.twas.traits)):
        for item in items:
            access = ItemAccess.from_config(item.visibility)
            if access.visibility == "private":
                out.append(f"{kind} {item.id} is private: only readers with a token of its scope see it")
            elif access.embargoed_until is not None:
                state = "lifted" if access.is_public(on) else "private until then"
                out.append(f"{kind} {item.id} is embargoed until {access.embargoed_until.isoformat()} ({state})")
    return out


def validate_and_print(atlas, releases: list[str] | None) -> int:
    from ..validate import validate_atlas

    with console.status("Checking files…") as status:
        report = validate_atlas(atlas, releases, on_step=lambda msg: status.update(f"Checking {msg}…"))
    for rel in report.releases:
        print_wide(_release_table(rel))
        for note in rel.notes:
            console.print(f"[cyan]note:[/] {note}", soft_wrap=True)
        for w in rel.warnings:
            console.print(f"[yellow]warning:[/] {w}", soft_wrap=True)
    for w in report.warnings:
        console.print(f"[yellow]warning:[/] {w}", soft_wrap=True)
    for line in visibility_notes(atlas):
        console.print(f"[cyan]note:[/] {line}", soft_wrap=True)
    errors = report.all_errors()
    for e in errors:
        err_console.print(f"[red]error:[/] {e}")
    if errors:
        err_console.print(f"[red]{len(errors)} problem(s) found.[/]")
        return EXIT_INPUT_ERROR
    console.print(f"[green]OK[/]: {atlas.atlas.name}: {len(report.releases)} release(s) checked, no problems found.")
    return 0


def _release_table(rel) -> Table:
    table = Table(
        caption="BED: samples in the phenotype BED; genotyped, covariates: of those, found there; used: mapped; "
        "testable: phenotypes with a variant in cis; model: the covariates mapped with (the lab's + computed "
        "genotype + phenotype PCs)",
        caption_justify="left",
        title=f"Release {rel.release} ({rel.genome}): {rel.n_genotyped_samples} genotyped samples, "
        f"{rel.n_variants:,} variants",
        title_justify="left",
    )
    table.add_column("tissue", no_wrap=True)
    table.add_column("modality", no_wrap=True)
    for col in ("phenotypes", "BED", "genotyped", "covariates", "used", "testable", "model"):
        table.add_column(col, justify="right", no_wrap=True)
    any_mismatch = any(c.not_genotyped or c.not_in_covariates for c in rel.inputs)
    if any_mismatch:
        table.add_column("first mismatches")
    for c in rel.inputs:
        mismatch = []
        if c.not_genotyped:
            mismatch.append("not genotyped: " + ", ".join(c.not_genotyped[:3]))
        if c.not_in_covariates:
            mismatch.append("no covariates: " + ", ".join(c.not_in_covariates[:3]))
        table.add_row(
            c.tissue, c.modality, f"{c.n_phenotypes:,}", str(c.n_bed_samples), str(c.n_genotyped),
            "—" if c.n_covariate_samples is None else str(c.n_covariate_samples),
            "[red]failed[/]" if c.failed else str(c.n_used),
            "—" if c.n_testable is None else f"{c.n_testable:,}", c.model or "—",
            *(["; ".join(mismatch)] if any_mismatch else []),
        )
    return table
