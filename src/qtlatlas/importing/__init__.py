"""Importers: an ``atlas.yaml`` that names a lab's already published results in place (RatGTEx, GTEx)."""
