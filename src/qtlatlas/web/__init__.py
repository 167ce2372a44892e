"""The portal: a read-only FastAPI application over a site directory (API now, pages later).

Everything it shows is read through :mod:`qtlatlas.store`; it never touches raw files.
"""
