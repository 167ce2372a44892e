"""The downloads page's layout: the download files of a release as a matrix of file kinds × tissues, as
RatGTEx lays out its downloads (one row per kind of file, one link per tissue).

File names follow ``kind[.tissue][.modality][.qualifier].release[_genome].ext`` (see
:mod:`qtlatlas.release.downloads`). Files whose names differ only in their tissue form one row, with a cell per
tissue; a tabix index (``.tbi``) rides in its file's cell. A file that names a modality but no tissue holds every
tissue (``top_assoc.expression.v2_rn7.tsv.gz``): it is the "all tissues" cell of the row of its kind and modality.
Files of no tissue and no modality (per GWAS trait, or release-wide) form rows of their own, their links side by
side.
"""

from __future__ import annotations

from dataclasses import dataclass, field

#: Words shown for the qualifiers of a file name (the part after tissue and modality).
QUALIFIERS = {"norm": "normalised", "raw": "input values"}


@dataclass
class FileCell:
    """One download: ``name`` (file name), ``url``, ``bytes``, ``sha256``, ``description``, ``label`` (what tells
    it apart in a row of files of no tissue) and its tabix ``index`` (another FileCell) if any."""

    name: str
    url: str
    bytes: int
    sha256: str
    description: str
    label: str = ""
    index: FileCell | None = None


@dataclass
class MatrixRow:
    """A row of one kind: ``label`` (modality and qualifier, or the file name's pattern), ``cells`` per tissue id
    and ``all_tissues`` (the file of every tissue, if any) in tissue rows, or ``files`` in name order (rows of
    files of no tissue)."""

    label: str
    cells: dict[str, FileCell] = field(default_factory=dict)
    files: list[FileCell] = field(default_factory=list)
    all_tissues: FileCell | None = None

    def all_files(self) -> list[FileCell]:
        """The row's files (not their indexes): per tissue, of every tissue, and of no tissue."""
        return [*self.cells.values(), *([self.all_tissues] if self.all_tissues else []), *self.files]

    @property
    def bytes(self) -> int:
        return sum(f.bytes + (f.index.bytes if f.index else 0) for f in self.all_files())


@dataclass
class KindGroup:
    """The rows of one kind of file (``top_assoc``, ``nominal``…) with its ``title`` and ``about`` text."""

    kind: str
    title: str
    about: str
    rows: list[MatrixRow]

    @property
    def n_files(self) -> int:
        return sum(len(r.all_files()) + sum(1 for f in r.all_files() if f.index) for r in self.rows)

    @property
    def has_all_tissues(self) -> bool:
        """Whether a row of the kind has a file of every tissue."""
        return any(r.all_tissues is not None for r in self.rows)

    @property
    def bytes(self) -> int:
        return sum(r.bytes for r in self.rows)

    def cells(self) -> list[FileCell]:
        """Every file of the kind (indexes included), for its checksum list."""
        out = []
        for r in self.rows:
            for f in r.all_files():
                out += [f] + ([f.index] if f.index else [])
        return out


def _cell(f: dict, index: FileCell | None = None) -> FileCell:
    """The :class:`FileCell` of a manifest row (``name, url, bytes, sha256, description``)."""
    return FileCell(name=f["name"], url=f["url"], bytes=int(f["bytes"]), sha256=f["sha256"],
                    description=f.get("description", ""), index=index)


def parse_name(name: str, tissues: set[str], modalities: set[str]) -> dict:
    """Kind, tissue, modality and qualifier of a download file name (``tissue``/``modality`` None when the name
    names none; ``qualifier`` a part such as ``norm`` between them and the release, or empty). A name with a
    modality and no tissue is a file of every tissue (``top_assoc.expression.v2_rn7.tsv.gz``)."""
    parts = name.split(".")
    kind = parts[0]
    tissue = next((p for p in parts[1:3] if p in tissues), None)
    modality = next((p for p in parts[1:4] if p in modalities), None)
    taken = {kind, tissue, modality}
    after = [p for p in parts[1:4] if p not in taken]
    qualifier = after[0] if after and after[0] in QUALIFIERS else ""
    return {"kind": kind, "tissue": tissue, "modality": modality, "qualifier": qualifier}


def _middle(name: str, release_id: str) -> str:
    """The parts of a file name between its kind and its release (``body_weight`` of
    ``coloc.body_weight.v2_hg38.tsv.gz``), or the whole name when there are none."""
    parts = name.split(".")
    end = next((i for i, p in enumerate(parts) if i and (p == release_id or p.startswith(release_id + "_"))), None)
    middle = parts[1:end] if end else []
    return ".".join(middle) or name


def row_label(parts: dict, modality_names: dict[str, str], unit: str) -> str:
    """The label of a tissue row: modality and qualifier of the name's ``parts`` (:func:`parse_name`); the
    unnormalised expression values are named by their ``unit`` (``Expression, TPM (unnormalised)``)."""
    modality = modality_names.get(parts["modality"] or "", "")
    if parts["modality"] == "expression" and parts["qualifier"] == "raw":
        return f"{modality or 'Expression'}, {unit} (unnormalised)"
    return " · ".join(x for x in (modality, QUALIFIERS.get(parts["qualifier"], "")) if x) or "per tissue"


def build_groups(files: list[dict], release_id: str, tissues: list[str], modality_names: dict[str, str],
                 sections: dict[str, tuple[str, str]], unit: str = "TPM") -> list[KindGroup]:
    """The kinds of ``files`` (dicts with ``name, url, bytes, sha256, description``) of release ``release_id``,
    each as rows of a matrix over ``tissues`` (plus the file of every tissue of a row, when there is one);
    known kinds in ``sections`` order (kind -> (title, about)), others after, by name. ``unit``: the unit of
    the release's unnormalised expression values."""
    tissue_set, modality_set = set(tissues), set(modality_names)
    indexes = {f["name"][: -len(".tbi")]: f for f in files if f["name"].endswith(".tbi")}
    by_kind: dict[str, dict[str, MatrixRow]] = {}
    names = {f["name"] for f in files}
    for f in sorted(files, key=lambda f: f["name"]):
        if f["name"].endswith(".tbi") and f["name"][: -len(".tbi")] in names:
            continue  # shown with its file
        parts = parse_name(f["name"], tissue_set, modality_set)
        index = indexes.get(f["name"])
        cell = _cell(f, index=None if index is None else _cell(index))
        rows = by_kind.setdefault(parts["kind"], {})
        if parts["tissue"] is not None:
            key = "tissue:" + f["name"].replace(f".{parts['tissue']}.", ".{tissue}.", 1)
            row = rows.setdefault(key, MatrixRow(label=row_label(parts, modality_names, unit)))
            row.cells[parts["tissue"]] = cell
        elif parts["modality"] is not None:  # every tissue: the row its per-tissue files have
            key = "tissue:" + f"{parts['kind']}.{{tissue}}." + f["name"][len(parts["kind"]) + 1:]
            rows.setdefault(key, MatrixRow(label=row_label(parts, modality_names, unit))).all_tissues = cell
        else:
            cell.label = _middle(f["name"], release_id)
            rows.setdefault("files", MatrixRow(label="")).files.append(cell)
    order = [k for k in sections if k in by_kind] + sorted(k for k in by_kind if k not in sections)
    groups = []
    for kind in order:
        title, about = sections.get(kind, (kind.replace("_", " ").capitalize(), ""))
        rows = list(by_kind[kind].values())
        groups.append(KindGroup(kind=kind, title=title, about=about, rows=rows))
    return groups


def sha256sums(files: list[dict]) -> str:
    """``sha256sum -c`` input for ``files`` (dicts with ``name`` and ``sha256``): one ``HASH  NAME`` line each."""
    return "".join(f"{f['sha256']}  {f['name']}\n" for f in files)
