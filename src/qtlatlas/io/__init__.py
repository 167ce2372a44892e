"""Readers for the inputs of an atlas: genotypes, phenotype BEDs, groups, covariates, annotation.

Every reader returns plain arrays and tables (numpy, pandas) that the engine consumes, and raises
:class:`qtlatlas.errors.InputFileError` naming the file and line on malformed input.
"""
