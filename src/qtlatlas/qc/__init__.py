"""Sample QC before publishing: expression-based sex check and genotype–phenotype identity check.

Pure numerics, as in :mod:`qtlatlas.engine`: arrays in, dataclasses of arrays out; no files, no configuration.
"""
