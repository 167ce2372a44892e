"""Parameters and OpenAPI response declarations shared by the API routers."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query

from ...store.params import encode_cursor
from ..responses import ErrorResponse, Format, Layout, ListResponse

FormatParam = Annotated[Format, Query(description="json (default), tsv or csv")]
LimitParam = Annotated[int, Query(ge=1, le=10_000, description="rows per page")]
LayoutParam = Annotated[Layout, Query(description="JSON layout: `rows` (default; `data` is a list of objects) or "
                                                  "`columns` (`data` holds one array per column whose value varies over "
                                                  "the page, `constant` the value of each other column once, "
                                                  "`meta.rows` the page's length)")]
CursorParam = Annotated[str | None, Query(max_length=200, description="next_cursor of the previous page")]
PageParam = Annotated[int | None, Query(ge=1, le=1_000_000, description="page number (1-based); instead of cursor")]
TissuesParam = Annotated[list[str] | None, Query(max_length=200, description="tissue ids (repeatable)")]
ModalitiesParam = Annotated[list[str] | None, Query(max_length=50, description="modality ids (repeatable)")]

ERRORS = {400: {"model": ErrorResponse, "description": "invalid parameter"},
          404: {"model": ErrorResponse, "description": "unknown release or item"},
          422: {"model": ErrorResponse, "description": "parameter of the wrong type or out of range"}}
LIST = {200: {"model": ListResponse, "description": "rows (JSON envelope, or TSV/CSV with format=)",
              "content": {"text/tab-separated-values": {"schema": {"type": "string"}},
                          "text/csv": {"schema": {"type": "string"}}}}, **ERRORS}


def page_cursor(kind: str, cursor: str | None, page: int | None, limit: int) -> str | None:
    """The store cursor of ``page`` (1-based) when a page number is given, else ``cursor``."""
    if page is None:
        return cursor
    return None if page == 1 else encode_cursor((page - 1) * limit, kind)
