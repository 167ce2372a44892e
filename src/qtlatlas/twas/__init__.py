"""TWAS numerics (pure: arrays in, arrays out).

Weights (:mod:`.reml`, :mod:`.models`, :mod:`.crossval`, :mod:`.weights`), association with GWAS summary
statistics (:mod:`.ld`, :mod:`.align`, :mod:`.impute`, :mod:`.assoc`, :mod:`.coloc`), post-processing
(:mod:`.postprocess`, :mod:`.omnibus`) and FUSION interchange (:mod:`.fusion_io`).
"""
