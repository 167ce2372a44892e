"""Read-only access to a published site, for the portal: the only layer that reads release tables.

:class:`Site` lists releases, studies and errata from small JSON/TSV files; :class:`ReleaseStore` answers
queries on one release with DuckDB (bounded reads of the Parquet tables, bound parameters only).
Errors are :class:`NotFound` (unknown release, gene, variant…) and :class:`BadQuery` (invalid parameter).
"""

from .errors import BadQuery, NotFound, StoreError
from .params import MAX_LIMIT, MAX_REGION_BP
from .release import ReleaseStore
from .site import Site

__all__ = ["MAX_LIMIT", "MAX_REGION_BP", "BadQuery", "NotFound", "ReleaseStore", "Site", "StoreError"]
