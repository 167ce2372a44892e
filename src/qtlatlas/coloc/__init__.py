"""Colocalisation of GWAS signals with QTLs: variant matching (:mod:`.match`) and coloc.abf over the phenotypes
of a nominal QTL file (:mod:`.abf`). The numerics are in :mod:`qtlatlas.engine.coloc`."""
