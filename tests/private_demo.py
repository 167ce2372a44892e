"""The small demo atlas with private items, built once per test session: tissue :data:`TISSUE` private, TWAS
trait :data:`TRAIT` embargoed until :data:`EMBARGO`, study :data:`STUDY` private (atlas.yaml ``visibility:``, as
a lab writes it)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

TISSUE, TISSUE_NAME = "Liver", "Liver"
STUDY = "demo2024"
EMBARGO = "2099-01-01"


def trait_ids() -> list[str]:
    """The two TWAS traits of the private demo (the second is embargoed)."""
    from qtlatlas.demo.gwas import trait_metadata

    return [t[0] for t in trait_metadata(2)]


def trait() -> tuple[str, str]:
    """(id, name) of the embargoed trait."""
    from qtlatlas.demo.gwas import trait_metadata

    tid, name, _unit, _tags = trait_metadata(2)[1]
    return tid, name


def private_demo_site(tmp_path_factory) -> Path:
    """``SITE`` of the private demo (two releases, three tissues, two traits), built on first use."""
    from browser.portal_site import SMALL, demo_site

    cfg = dataclasses.replace(SMALL, n_traits=2, visibility=(
        (f"tissue:{TISSUE}", "private"), (f"trait:{trait()[0]}", {"embargoed_until": EMBARGO}),
        (f"study:{STUDY}", "private")))
    return demo_site(tmp_path_factory, cfg, "private-demo")
