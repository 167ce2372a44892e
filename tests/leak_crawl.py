"""A crawler of the whole portal for leak tests: every GET operation of the OpenAPI (the RatGTEx-compatible routes
included), every page reachable by links, every download, fetched with the caller's headers (a token, or none).

* :func:`crawl` answers the list of :class:`Fetched` responses (bodies gzip-decompressed, tar members expanded);
* :func:`find_leaks` answers every occurrence of forbidden strings in them, and every 5xx;
* :func:`coverage` answers the OpenAPI GET paths that never answered 2xx.

Parameter values are discovered through the API itself (``/api/v1/releases``, ``/tissues``, ``/qtls/top``, …) with the
same headers, never hard-coded, so a crawl without a token only knows what an anonymous visitor can learn; ``extra``
adds values a visitor could guess (e.g. the ids of private items) to try in every parameter of their kind.

A required parameter the crawler cannot fill raises :class:`UnfilledParameter` naming the operation and the
parameter: a new route cannot go uncrawled silently.
"""

from __future__ import annotations

import io
import json
import re
import tarfile
import zlib
from collections import defaultdict, deque
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import parse_qsl, quote, unquote, urlencode, urljoin, urlsplit

#: Largest body kept per response (bytes as sent, before decompression). The small demo's largest download is under
#: 1 MB; a private id can be anywhere in a file, so the cap is far above that and :attr:`Fetched.truncated` says
#: when it was reached.
MAX_BODY = 32 * 1024 * 1024
#: Largest body after decompression (gzip members and tar members together).
MAX_INFLATED = 128 * 1024 * 1024
#: Pages fetched by the link crawl (HTML and any other same-origin link that is not a download).
MAX_PAGES = 400
#: Links followed per page template and release (``/gene/{gene}`` of release v1: this many genes).
PER_TEMPLATE = 4
#: Pages of a paginated API answer followed (``meta.next_cursor``).
MAX_API_PAGES = 3
#: Paths not crawled: the portal's and Swagger's packaged assets (the same files for every site; plotly alone is
#: megabytes). Site data is never served from them.
SKIP_PREFIXES = ("/static/", "/assets/")
#: Query parameters of OpenAPI operations whose enum values are each tried once (sort orders only reorder rows).
NO_ENUM_WALK = {"sort", "order"}
#: Parameter name -> the kind of value it takes (see :class:`Values`).
PARAM_KINDS = {
    "release": "release", "tissue": "tissue", "tissues": "tissue", "tissueSiteDetailId": "tissue",
    "modality": "modality", "gene": "gene", "genes": "gene", "geneId": "gene", "variant": "variant",
    "variantId": "variant", "variants": "variants", "region": "region", "trait": "trait", "n": "locus",
    "panel": "panel", "phenotype": "phenotype", "phenotype_id": "phenotype", "individual": "individual",
    "study": "study", "project": "project", "tag": "tag",
}


class UnfilledParameter(AssertionError):
    """Required parameters of OpenAPI operations the crawler found no value for (``operation: parameter`` each)."""


@dataclass
class Fetched:
    """One response: ``body`` is gzip-decompressed when it was gzip (every member of a BGZF file) and, for a tar,
    followed by its gzip members decompressed; ``route`` is the OpenAPI path template, the page route template, or
    ``download:KIND`` / ``study-file`` it came from; ``kind`` is api, compat, page or download."""

    url: str
    status: int
    headers: dict[str, str]
    body: bytes
    route: str
    kind: str
    truncated: bool = False


@dataclass
class Values:
    """Parameter values of one release (``None``: the default release), by kind, discovered through the API;
    ``contexts`` are consistent tuples (tissue, modality, gene, phenotype, variant, region) of top QTLs, so that
    operations taking several of them get values that go together."""

    by_kind: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    contexts: list[dict[str, str]] = field(default_factory=list)

    def add(self, kind: str, value) -> None:
        """Add ``value`` (when not empty and new) to ``kind``."""
        if value not in (None, "") and str(value) not in self.by_kind[kind]:
            self.by_kind[kind].append(str(value))

    def first(self, kind: str, context: dict[str, str] | None = None) -> str | None:
        """The value of ``kind`` in ``context``, else the first discovered one, else None."""
        if context and context.get(kind):
            return context[kind]
        values = self.by_kind.get(kind) or []
        return values[0] if values else None


# ---------------------------------------------------------------------------------------------------------------------
# fetching


class _Crawler:
    """State of one crawl: the client, headers, what was fetched (by normalised URL) and the results in order."""

    def __init__(self, client, headers: dict | None, max_body: int):
        self.client = client
        self.headers = dict(headers or {})
        self.max_body = max_body
        self.seen: dict[str, Fetched] = {}
        self.results: list[Fetched] = []

    def get(self, url: str, route: str, kind: str) -> Fetched:
        """The response to GET ``url`` (fetched once per normalised URL), recorded in :attr:`results`."""
        key = normalise(url)
        if key in self.seen:
            return self.seen[key]
        chunks, size, truncated = [], 0, False
        with self.client.stream("GET", key, headers=self.headers, follow_redirects=False) as response:
            for chunk in response.iter_bytes():
                chunks.append(chunk)
                size += len(chunk)
                if size >= self.max_body:
                    truncated = True
                    break
            status, headers = response.status_code, dict(response.headers)
        fetched = Fetched(key, status, headers, inflate(b"".join(chunks)[: self.max_body]), route, kind, truncated)
        self.seen[key] = fetched
        self.results.append(fetched)
        return fetched

    def json(self, url: str, route: str, kind: str = "api"):
        """The JSON of GET ``url`` when it answers 2xx JSON, else None."""
        fetched = self.get(url, route, kind)
        if not 200 <= fetched.status < 300 or "json" not in fetched.headers.get("content-type", ""):
            return None
        try:
            return json.loads(fetched.body)
        except ValueError:
            return None


def normalise(url: str) -> str:
    """``url`` as path + query with the query parameters sorted and no fragment (URLs differing only in
    parameter order are one URL)."""
    parts = urlsplit(url)
    query = urlencode(sorted(parse_qsl(parts.query, keep_blank_values=True)))
    return parts.path + ("?" + query if query else "")


def inflate(body: bytes) -> bytes:
    """``body`` decompressed when it is gzip (all members: BGZF is multi-member gzip), with the gzip members of a
    tar appended after it; any other body as it is."""
    if body[:2] == b"\x1f\x8b":
        body = _gunzip(body)
    if len(body) > 262 and body[257:262] == b"ustar":
        body += b"".join(_tar_members(body))
    return body


def _gunzip(data: bytes) -> bytes:
    """Every gzip member of ``data`` decompressed (a truncated last member: what it holds), then any trailing bytes
    that are not gzip as they are."""
    out, total = [], 0
    while data[:2] == b"\x1f\x8b" and total < MAX_INFLATED:
        inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
        try:
            out.append(inflater.decompress(data, MAX_INFLATED - total))
        except zlib.error:
            break
        total += len(out[-1])
        if not inflater.eof:
            return b"".join(out)
        data = inflater.unused_data
    return b"".join(out) + data


def _tar_members(body: bytes) -> list[bytes]:
    """The gzip-compressed members of the tar ``body`` (e.g. FUSION .wgt.RDat files, gzip inside), decompressed."""
    members = []
    try:
        with tarfile.open(fileobj=io.BytesIO(body)) as tar:
            for member in tar:
                handle = tar.extractfile(member) if member.isfile() else None
                data = handle.read() if handle else b""
                if data[:2] == b"\x1f\x8b":
                    members.append(b"\n" + _gunzip(data))
    except tarfile.TarError:
        pass
    return members


# ---------------------------------------------------------------------------------------------------------------------
# discovery


def _rows(payload) -> list[dict]:
    """``data`` rows of an API list answer (empty when there are none)."""
    data = payload.get("data") if isinstance(payload, dict) else None
    return [r for r in data if isinstance(r, dict)] if isinstance(data, list) else []


def _with(url: str, release: str | None, **params) -> str:
    """``url`` with ``params`` (and ``release`` when not None) as its query."""
    query = {k: v for k, v in {**params, "release": release}.items() if v is not None}
    return url + ("?" + urlencode(query) if query else "")


def discover(crawler: _Crawler, release: str | None, extra: dict[str, list[str]]) -> Values:
    """Values of every parameter kind for ``release`` (None: the default), read from the API's list endpoints with
    the crawl's headers, then ``extra``'s values."""
    values = Values()
    values.add("release", release)
    for row in _rows(crawler.json(_with("/api/v1/tissues", release), "/api/v1/tissues")):
        values.add("tissue", row.get("tissue_id"))
    for row in _rows(crawler.json(_with("/api/v1/modalities", release), "/api/v1/modalities")):
        values.add("modality", row.get("id"))
    for row in _rows(crawler.json(_with("/api/v1/studies", None), "/api/v1/studies")):
        values.add("study", row.get("id"))
    for row in _rows(crawler.json(_with("/api/v1/twas/panels", release), "/api/v1/twas/panels")):
        values.add("panel", row.get("panel"))
    for row in _rows(crawler.json(_with("/api/v1/twas/traits", release), "/api/v1/twas/traits")):
        values.add("trait", row.get("id"))
        values.add("project", row.get("project"))
        for tag in row.get("tags") or []:
            values.add("tag", tag)
    trait = values.first("trait")
    if trait:
        url = _with(f"/api/v1/twas/traits/{quote(trait, safe='')}/loci", release)
        for row in _rows(crawler.json(url, "/api/v1/twas/traits/{trait}/loci")):
            values.add("locus", row.get("locus"))
    for row in _rows(crawler.json(_with("/api/v1/samples", release, limit=5), "/api/v1/samples")):
        values.add("individual", row.get("individual_id"))
    for row in _rows(crawler.json(_with("/api/v1/qtls/top", release, limit=20), "/api/v1/qtls/top")):
        _add_context(values, row)
    for row in _rows(crawler.json(_with("/api/v1/qtls/independent", release, limit=20), "/api/v1/qtls/independent")):
        _add_context(values, row)
    for kind, extras in extra.items():
        for value in extras:
            values.add(kind, value)
    return values


def _add_context(values: Values, row: dict) -> None:
    """Add a top-QTL row's tissue, modality, gene, phenotype, variant and region as values and as a context."""
    region = f"{row['chrom']}:{max(1, int(row['pos']) - 50000)}-{int(row['pos']) + 50000}" if row.get("chrom") else None
    context = {"tissue": row.get("tissue"), "modality": row.get("modality"), "gene": row.get("gene_id"),
               "phenotype": row.get("phenotype_id"), "variant": row.get("variant_id"), "region": region,
               "gene_name": row.get("gene_name")}
    context = {k: str(v) for k, v in context.items() if v not in (None, "")}
    for kind, value in context.items():
        values.add(kind, value)
    if context not in values.contexts:
        values.contexts.append(context)
    variants = values.by_kind.get("variant") or []
    if len(variants) >= 2:
        values.by_kind["variants"] = [",".join(variants[:2])]


# ---------------------------------------------------------------------------------------------------------------------
# OpenAPI operations


@dataclass
class Operation:
    """A GET operation of the OpenAPI: its path template, parameters (name -> OpenAPI parameter object)."""

    path: str
    params: dict[str, dict]

    @property
    def kind(self) -> str:
        """compat for the RatGTEx-compatible routes, else api."""
        return "compat" if self.path.startswith("/compat/") else "api"

    def required(self) -> list[str]:
        """Names of the required parameters, release excluded for query parameters (the default is a release)."""
        return [n for n, p in self.params.items() if p.get("required") and not (n == "release" and p["in"] == "query")]

    def optional_ids(self) -> list[str]:
        """Names of the optional parameters that take an id-like value the crawler can fill (not release)."""
        return [n for n, p in self.params.items() if not p.get("required") and n in PARAM_KINDS and n != "release"]

    def enums(self) -> dict[str, list[str]]:
        """Optional parameters with enum values (sort orders excluded) -> their values."""
        out = {}
        for name, param in self.params.items():
            schema = param.get("schema") or {}
            options = schema.get("enum") or [e for s in schema.get("anyOf", []) for e in s.get("enum", [])]
            if options and name not in NO_ENUM_WALK and not param.get("required"):
                out[name] = [str(o) for o in options]
        return out


def operations(client) -> list[Operation]:
    """Every GET operation of ``/api/openapi.json``."""
    spec = client.get("/api/openapi.json").json()
    return [Operation(path, {p["name"]: p for p in ops["get"].get("parameters", [])})
            for path, ops in spec["paths"].items() if "get" in ops]


def _value(op: Operation, name: str, values: Values, context: dict | None) -> str | None:
    """A value for parameter ``name`` of ``op`` (None when none is known)."""
    if name == "q":
        return values.first("variant", context) if "variant" in op.path else values.first("gene_name", context)
    kind = PARAM_KINDS.get(name)
    return values.first(kind, context) if kind else None


def _url(op: Operation, filled: dict[str, str]) -> str:
    """The URL of ``op`` with ``filled`` path and query parameters."""
    path = op.path
    query = {}
    for name, value in filled.items():
        if op.params[name]["in"] == "path":
            path = path.replace("{" + name + "}", quote(value, safe=""))
        else:
            query[name] = value
    return path + ("?" + urlencode(query) if query else "")


def _fill(op: Operation, names: list[str], values: Values, context: dict | None,
          fixed: dict[str, str]) -> tuple[dict[str, str], list[str]]:
    """Values of ``names`` (``fixed`` first), and the names no value was found for."""
    filled, missing = {}, []
    for name in names:
        value = fixed.get(name) or _value(op, name, values, context)
        if value is None:
            missing.append(name)
        else:
            filled[name] = value
    return filled, missing


def _call(crawler: _Crawler, op: Operation, filled: dict[str, str]) -> Fetched:
    """GET ``op`` with ``filled``, then its next pages (``meta.next_cursor``, at most :data:`MAX_API_PAGES`)."""
    first = fetched = crawler.get(_url(op, filled), op.path, op.kind)
    for _ in range(MAX_API_PAGES - 1):
        if "cursor" not in op.params or not 200 <= fetched.status < 300:
            break
        try:
            cursor = (json.loads(fetched.body).get("meta") or {}).get("next_cursor")
        except (ValueError, AttributeError):
            break
        if not cursor:
            break
        fetched = crawler.get(_url(op, {**filled, "cursor": cursor}), op.path, op.kind)
    return first


def crawl_operation(crawler: _Crawler, op: Operation, values: Values, release: str | None,
                    extra: dict[str, list[str]]) -> list[str]:
    """Call ``op`` for ``release`` (None: the default; a path ``release`` then takes the first listed): with its
    required parameters from each top-QTL context until one answers 2xx, else adding one optional id parameter at a
    time; with the default release also each optional id parameter alone, each enum value, and each ``extra`` value.
    Answers the required parameters it found no value for."""
    fixed = {"release": release} if release and "release" in op.params else {}
    required = op.required()
    contexts = values.contexts[:3] or [None]
    missing: list[str] = []
    ok = False
    for context in contexts:
        filled, missing = _fill(op, required + list(fixed), values, context, fixed)
        if missing:
            return missing
        if 200 <= _call(crawler, op, filled).status < 300:
            ok = True
            break
    base, _ = _fill(op, required + list(fixed), values, contexts[0], fixed)
    for name in op.optional_ids():
        if ok and release is not None:
            break
        value = _value(op, name, values, contexts[0])
        if value is not None:
            ok = 200 <= _call(crawler, op, {**base, name: value}).status < 300 or ok
    if release is None:
        for name, options in op.enums().items():
            for option in options:
                _call(crawler, op, {**base, name: option})
    for name in op.params:
        for value in extra.get(PARAM_KINDS.get(name, ""), []):
            _call(crawler, op, {**base, name: value})
    return []


def crawl_api(crawler: _Crawler, extra: dict[str, list[str]]) -> tuple[list[str], Values]:
    """Every GET operation of the OpenAPI, once with the defaults and once per release the API lists (compat
    routes, whose release is in the path: per release). Answers the releases and the values of the default release;
    raises :class:`UnfilledParameter` naming each operation and required parameter no value was found for."""
    crawler.get("/api/openapi.json", "/api/openapi.json", "api")  # the spec itself (enums, examples) is checked too
    releases = [str(r["id"]) for r in _rows(crawler.json("/api/v1/releases", "/api/v1/releases")) if r.get("id")]
    releases += [r for r in extra.get("release", []) if r not in releases]
    default = discover(crawler, None, extra)
    by_release = {r: discover(crawler, r, extra) for r in releases}
    unfilled = []
    for op in operations(crawler.client):
        takes_release = "release" in op.params
        settings = ([] if op.kind == "compat" else [(None, default)]) + \
            [(r, by_release[r]) for r in releases if takes_release]
        for release, values in settings:
            unfilled += [f"{op.path}: {name}" for name in crawl_operation(crawler, op, values, release, extra)]
    if unfilled:
        raise UnfilledParameter("no value found for required parameters: " + "; ".join(sorted(set(unfilled))))
    return releases, default


# ---------------------------------------------------------------------------------------------------------------------
# pages and downloads


class _Links(HTMLParser):
    """``href`` and ``src`` attribute values of an HTML document, and its GET forms as (action, fields) with each
    field's default value (the first option of a select, "" for an empty text input)."""

    def __init__(self):
        super().__init__()
        self.links: list[str] = []
        self.forms: list[tuple[str, dict[str, str]]] = []
        self._form: dict[str, str] | None = None
        self._select: str | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.links += [v for k, v in attrs.items() if k in ("href", "src") and v]
        if tag == "form" and (attrs.get("method") or "get").lower() == "get":
            self._form = {}
            self.forms.append((attrs.get("action") or "", self._form))
        elif self._form is not None and tag in ("input", "textarea") and attrs.get("name"):
            if (attrs.get("type") or "text") not in ("submit", "button", "checkbox", "radio") or "checked" in attrs:
                self._form.setdefault(attrs["name"], attrs.get("value") or "")
        elif self._form is not None and tag == "select":
            self._select = attrs.get("name")
        elif self._form is not None and tag == "option" and self._select:
            self._form.setdefault(self._select, attrs.get("value") or "")

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None
        elif tag == "select":
            self._select = None


def _same_origin(link: str, base: str) -> str | None:
    """``link`` of page ``base`` normalised when it is same-origin, else None."""
    target = urlsplit(urljoin("http://testserver" + base, link))  # the parser has unescaped it
    if target.scheme in ("http", "https") and target.netloc == "testserver":
        return normalise(target.path + ("?" + target.query if target.query else ""))
    return None


def _form_values(name: str, values: Values | None) -> list[str]:
    """Values to submit in an empty form field ``name``: for ``q`` (search boxes) a gene symbol, gene id, variant,
    tissue and trait; for a field named as an API parameter (tissue, gene, …) that kind's first value; else none."""
    if values is None:
        return []
    if name == "q":
        kinds = ("gene_name", "gene", "variant", "tissue", "trait")
        return [v for kind in kinds for v in values.by_kind.get(kind, [])[:1]]
    kind = PARAM_KINDS.get(name) if name != "n" else None
    return [values.first(kind)] if kind and values.first(kind) else []


def links(body: bytes, base: str, values: Values | None = None) -> list[str]:
    """Same-origin links of the HTML ``body`` of ``base``, normalised (no fragment, sorted query), then its GET
    forms submitted with their default values and, for each empty field, once with each of its
    :func:`_form_values`."""
    parser = _Links()
    parser.feed(body.decode("utf-8", "replace"))
    out = [_same_origin(link, base) for link in parser.links]
    for action, fields in parser.forms:
        submissions = [fields] + [{**fields, name: probe} for name, value in fields.items() if not value
                                  for probe in _form_values(name, values)]
        for query in submissions:
            query = {k: v for k, v in query.items() if v}
            out.append(_same_origin((action or base).split("#")[0] + ("?" + urlencode(query) if query else ""), base))
    return [link for link in out if link]


def page_routes() -> list:
    """The GET page routes of :mod:`qtlatlas.web.pages` (nested routers flattened), the catch-all excluded (a
    POST-only route such as ``/logout`` is no page to crawl)."""
    from qtlatlas.web.pages import router

    def flat(routes):
        for route in routes:
            if hasattr(route, "original_router"):
                yield from flat(route.original_router.routes)
            elif hasattr(route, "routes") and not hasattr(route, "path_regex"):
                yield from flat(route.routes)
            else:
                yield route

    return [r for r in flat(router.routes) if getattr(r, "path", "") != "/{path:path}"
            and "GET" in (getattr(r, "methods", None) or {"GET"})]


def is_download(path: str) -> bool:
    """Whether ``path`` is a download file (a release file or a study file; checksums and URL lists are pages)."""
    if path.startswith("/releases/"):
        return not path.endswith(("/SHA256SUMS", "/urls.txt"))
    return bool(re.match(r"^/studies/[^/]+/files/", path))


def template(path: str, routes: list, ops: list[Operation]) -> str:
    """The page route template or OpenAPI path ``path`` matches, else the path itself."""
    for route in routes:
        if route.path_regex.match(path):
            return route.path
    for op in ops:
        if re.fullmatch(re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(op.path)), path):
            return op.path
    return path


def crawl_pages(crawler: _Crawler, releases: list[str], max_pages: int, per_template: int,
                values: Values | None = None) -> set[str]:
    """Breadth-first over same-origin links and GET forms (empty fields filled from ``values``) from ``/``,
    ``/api/docs``, every page route without path parameters (``/twas`` is linked from nowhere) and, per release,
    ``/?release=R`` and ``/downloads?release=R``: HTML pages are parsed for links; at most ``per_template`` URLs per
    page template and release, ``max_pages`` in all. Answers the download links found (not fetched here)."""
    routes, ops = page_routes(), operations(crawler.client)
    fixed = [r.path for r in routes if "{" not in r.path and not r.path.startswith(SKIP_PREFIXES)]
    seeds = ["/", "/api/docs"] + [u for r in releases for u in (_with("/", r), _with("/downloads", r))] + fixed
    queue, queued, downloads = deque(), set(), set()
    per: dict[tuple, int] = defaultdict(int)
    fetched_pages = 0

    def push(url: str) -> None:
        path = urlsplit(url).path
        if url in queued or path.startswith(SKIP_PREFIXES):
            return
        if is_download(unquote(path)):
            downloads.add(url)
            return
        key = (template(path, routes, ops), dict(parse_qsl(urlsplit(url).query)).get("release"))
        if per[key] >= per_template:
            return
        per[key] += 1
        queued.add(url)
        queue.append((url, key[0]))

    for seed in seeds:
        push(normalise(seed))
    while queue and fetched_pages < max_pages:
        url, route = queue.popleft()
        fetched = crawler.get(url, route, "page")
        fetched_pages += 1
        location = fetched.headers.get("location")
        if 300 <= fetched.status < 400 and location:
            push(normalise(urljoin("http://testserver" + url, location).removeprefix("http://testserver")))
        if "text/html" in fetched.headers.get("content-type", ""):
            for link in links(fetched.body, url, values):
                push(link)
    return downloads


def download_label(path: str) -> str:
    """``download:KIND`` (the file name's first dot-separated part) of a release file, ``study-file`` of a study's."""
    if path.startswith("/studies/"):
        return "study-file"
    return "download:" + unquote(path).rsplit("/", 1)[-1].split(".")[0]


def crawl_downloads(crawler: _Crawler, releases: list[str], linked: set[str]) -> None:
    """Every download: the ``linked`` ones, every path of each release's manifest (``/api/v1/downloads``) and every
    file of every study (``/api/v1/studies``)."""
    urls = set(linked)
    for release in releases:
        for row in _rows(crawler.json(_with("/api/v1/downloads", release), "/api/v1/downloads")):
            if row.get("path"):
                urls.add(f"/releases/{quote(release, safe='')}/{quote(row['path'])}")
    for study in _rows(crawler.json("/api/v1/studies", "/api/v1/studies")):
        for file in study.get("files") or []:
            urls.add(f"/studies/{quote(str(study['id']), safe='')}/files/{quote(file['path'])}")
    for url in sorted(urls):
        crawler.get(url, download_label(urlsplit(url).path), "download")


def crawl(client, site=None, headers: dict | None = None, *, max_pages: int = MAX_PAGES,
          per_template: int = PER_TEMPLATE, extra: dict[str, list[str]] | None = None,
          max_body: int = MAX_BODY) -> list[Fetched]:
    """Every response of the portal of ``client`` (a TestClient of ``create_app(site)``) to a visitor sending
    ``headers``: every OpenAPI GET operation (with the defaults and per release), every page reachable by links
    (``max_pages``, ``per_template`` per template and release), every download. ``extra`` maps parameter kinds
    (tissue, gene, trait, study, release, …: values of :data:`PARAM_KINDS`) to values to try besides the discovered
    ones. ``site`` is not read (the crawl learns everything through the portal); it names what is crawled.
    Raises :class:`UnfilledParameter` when a required parameter of an operation cannot be filled."""
    client.cookies.clear()  # a cookie a crawl with another token received must not authorise this one
    crawler = _Crawler(client, headers, max_body)
    extra = extra or {}
    releases, default = crawl_api(crawler, extra)
    linked = crawl_pages(crawler, releases, max_pages, per_template, default)
    crawl_downloads(crawler, releases, linked)
    return crawler.results
