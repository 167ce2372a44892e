"""``qtlatlas demo``."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..demo import DEMO_SIZES, DemoConfig
from ..errors import QtlAtlasError
from .console import EXIT_INPUT_ERROR, command_name, console
from .pipeline import release_results, run_release
from .validate import validate_and_print

#: Sizes of the default demo atlas (the seed comes from --seed; --size large changes the fields of DEMO_SIZES).
DEMO_CONFIG = DemoConfig()


def _add_demo(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "demo",
        help="generate the demo atlas, map it, build its two releases into a site and serve it",
        description="Generate a realistic synthetic atlas (genotypes, six RNA modalities in three tissues, "
        "two releases on two genome builds, a study and GWAS traits) in the formats labs use, validate it, run "
        "the pipeline on both releases, build them into OUT/site and serve the site (the API and its documentation) "
        "until interrupted; --no-serve stops before serving.",
    )
    p.add_argument("--out", type=Path, default=Path("demo-atlas"), help="output directory (default: ./demo-atlas)")
    p.add_argument("--seed", type=int, default=1, help="random seed; the same seed gives identical files (default 1)")
    p.add_argument("--size", choices=list(DEMO_SIZES), default="default",
                   help="default: 2 chromosomes and 120 genes, a few minutes on 2 cores; large: 10 chromosomes and "
                   "1,200 genes (one per 100 kb), about ten times as long")
    p.add_argument("--no-serve", action="store_true", help="stop before serving the portal (for scripts and tests)")
    p.add_argument("--quiet", action="store_true", help="no progress display while mapping")
    p.add_argument("--host", default="127.0.0.1", help="address to serve on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8000, help="port to serve on (default 8000)")
    p.set_defaults(func=cmd_demo)


def cmd_demo(args: argparse.Namespace) -> int:
    import dataclasses
    import os
    import time

    from ..config import load_atlas
    from ..demo import generate_demo
    from ..release.build import build_release
    from ..release.manifest import verify_release
    from .serve import check_port

    if not args.no_serve:  # a port in use is found now, not after minutes of mapping
        check_port(args.host, args.port)
    t0 = time.perf_counter()
    with console.status(f"Generating the demo atlas in {args.out}…"):
        generate_demo(args.out, dataclasses.replace(DEMO_CONFIG, seed=args.seed, **DEMO_SIZES[args.size]))
    console.print(f"Generated the demo atlas in [bold]{args.out}[/] ({time.perf_counter() - t0:.1f} s).")
    config = args.out / "atlas.yaml"
    atlas = load_atlas(config)
    status = validate_and_print(atlas, None)
    if status != 0:
        return status
    work, site = args.out / "work", args.out / "site"
    for release in atlas.releases:
        report = run_release(atlas, release.id, work, cores=os.cpu_count() or 1, progress=not args.quiet)
        if not report.ok:
            return EXIT_INPUT_ERROR
    for release in atlas.releases:
        published = site / "releases" / release.id
        if published.exists():
            problems = verify_release(published)
            if problems:
                raise QtlAtlasError(f"{published} is already published but does not verify ({problems[0]}); "
                                    f"remove {site} to rebuild the demo site")
            console.print(f"Release {release.id} is already published in {published} (verified).")
            continue
        with console.status(f"Building release {release.id}…") as st:
            build_release(atlas, release.id, site, release_results(atlas, release.id, work),
                          on_step=lambda m, st=st: st.update(m + "…"))
        console.print(f"Published release [bold]{release.id}[/] in {published}")
    console.print(f"Demo site ready in [bold]{site}[/] ({time.perf_counter() - t0:.0f} s in all); "
                  f"check it with: {command_name()} verify {site}", soft_wrap=True)
    if args.no_serve:
        return 0
    from .serve import cmd_serve

    return cmd_serve(argparse.Namespace(site=site, host=args.host, port=args.port, workers=1))
