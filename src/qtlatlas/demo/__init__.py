"""A realistic synthetic atlas: genotypes, six RNA modalities in several tissues, two releases on two
genome builds, a study and GWAS traits, plus the truth that was planted.

>>> from qtlatlas.demo import DemoConfig, generate_demo
>>> truth = generate_demo("demo-atlas", DemoConfig(seed=1))      # doctest: +SKIP
>>> truth.causal_variants.head()                                   # doctest: +SKIP

Modules: :mod:`.genome` (genes, transcripts, GTF), :mod:`.genotypes` (founder mosaic, VCF),
:mod:`.features` (phenotype definitions and ids), :mod:`.samples` (who was sampled where),
:mod:`.effects` (planted cis effects), :mod:`.phenotypes` (values with confounders), :mod:`.gwas`
(traits), :mod:`.release` / :mod:`.metadata` / :mod:`.files` (writers), :mod:`.atlas` (orchestration),
:mod:`.realism` (how atlas-like a generated demo is: LD decay, expression shared across tissues, ties).
"""

from .settings import DEMO_SIZES, DemoConfig, DemoTruth

__all__ = ["DEMO_SIZES", "DemoConfig", "DemoTruth", "generate_demo"]


def __getattr__(name: str):
    # the generator (NumPy, pandas, writers) is imported when first used, not with the command line
    if name == "generate_demo":
        from .atlas import generate_demo

        return generate_demo
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
