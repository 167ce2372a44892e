"""Errors as JSON ``{error, detail}``: 400 for a bad parameter, 404 for an unknown item, 422 for a
parameter of the wrong type or range. Bad input never produces a 500."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from ..errors import QtlAtlasError
from ..store import BadQuery, NotFound


def _json(status: int, error: str, detail, **extra) -> JSONResponse:
    return JSONResponse(status_code=status, content={"error": error, "detail": detail, **extra})


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(NotFound)
    async def not_found(_request: Request, exc: NotFound):
        suggestions = list(getattr(exc, "suggestions", None) or [])
        return _json(404, "not_found", str(exc), **({"suggestions": suggestions} if suggestions else {}))

    @app.exception_handler(BadQuery)
    async def bad_query(_request: Request, exc: BadQuery):
        return _json(400, "bad_request", str(exc))

    @app.exception_handler(QtlAtlasError)
    async def atlas_error(_request: Request, exc: QtlAtlasError):
        return _json(400, "bad_request", str(exc))

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError):
        detail = [{"parameter": ".".join(str(p) for p in e.get("loc", ())[1:]) or str(e.get("loc")), "problem": e.get("msg")}
                  for e in exc.errors()]
        if request.url.path.startswith("/compat/"):  # RatGTEx's clients: a missing or empty parameter is a 400
            return _json(400, "bad_request", "; ".join(f"{d['parameter']}: {d['problem']}" for d in detail))
        return _json(422, "invalid_parameter", detail)

    @app.exception_handler(HTTPException)
    async def http(_request: Request, exc: HTTPException):
        names = {404: "not_found", 405: "method_not_allowed"}
        response = _json(exc.status_code, names.get(exc.status_code, "bad_request"), exc.detail)
        response.headers.update(getattr(exc, "headers", None) or {})  # e.g. the Allow header of a 405
        return response
