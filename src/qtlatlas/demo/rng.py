"""Named random streams derived from the demo seed, so that each part of the simulation is reproducible
on its own and does not depend on how many numbers the other parts drew."""

from __future__ import annotations

import zlib

import numpy as np


def stream(seed: int, *names: str | int) -> np.random.Generator:
    """A generator for the stream ``names`` of ``seed`` (``SeedSequence([seed, crc32(name)…])``)."""
    words = [int(seed)] + [zlib.crc32(str(n).encode()) for n in names]
    return np.random.default_rng(np.random.SeedSequence(words))
