"""The samples and individuals of a release: ``tables/sample_metadata.parquet`` and ``tables/individuals.parquet``
(:mod:`qtlatlas.release.sample_tables`) when atlas.yaml gave them, else derived from ``tables/samples.parquet``
(each mapped sample its own individual, sex unknown). Both tables are small and cached per release.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .errors import BadQuery, NotFound
from .params import is_clean

#: Leading columns of :meth:`SampleQueries.sample_rows` (free metadata columns follow).
SAMPLE_COLUMNS = ["sample_id", "individual_id", "tissue", "accession", "fastq", "batch"]
#: Leading and trailing columns of :meth:`SampleQueries.individual_rows` (free metadata columns between).
INDIVIDUAL_COLUMNS = ["individual_id", "sex", "batch"]
INDIVIDUAL_DERIVED = ["n_tissues", "tissues"]
#: Values of the ``sex`` filter (``unknown``: the empty value).
SEX_FILTERS = ("female", "male", "unknown")
#: Columns of :meth:`SampleQueries.sample_qc_rows` (the sample QC report, :mod:`qtlatlas.pipeline.sample_qc`).
SAMPLE_QC_COLUMNS = ["check", "tissue", "sample_id", "individual_id", "declared", "observed", "score", "best_z",
                     "n_used", "flag", "message"]
#: Values of the ``check`` filter of :meth:`SampleQueries.sample_qc_rows`.
QC_CHECKS = ("sex", "identity")
#: Columns of :meth:`SampleQueries.sample_counts`.
COUNT_COLUMNS = ["tissue", "n_samples", "n_individuals", "n_female", "n_male", "n_unknown_sex", "batches"]


class SampleQueries:
    """Sample and individual reads, mixed into :class:`~qtlatlas.store.release.ReleaseStore`."""

    def has_sample_qc(self) -> bool:
        """Whether the release publishes a sample QC report."""
        return self.has_table("sample_qc")

    def sample_qc_rows(self, *, check: str | None = None, flagged: bool = False,
                       tissue: str | None = None) -> pd.DataFrame:
        """Rows of the sample QC report (:data:`SAMPLE_QC_COLUMNS`; empty without one): ``check`` one of
        :data:`QC_CHECKS`, ``flagged`` only what needs a look, ``tissue`` the identity rows of a tissue and the sex
        rows of individuals sampled there (unknown check or tissue: :class:`~qtlatlas.store.errors.NotFound` or
        :class:`~qtlatlas.store.errors.InvalidParameter` naming it). A restricted store leaves out the identity rows
        of hidden tissues and the sex rows of individuals sampled in one (their score pools those samples)."""
        def load() -> pd.DataFrame:
            if self.hidden.tissues:
                return _visible_qc(self._base.sample_qc_rows(), self.hidden.tissues)
            if not self.has_sample_qc():
                return pd.DataFrame(columns=SAMPLE_QC_COLUMNS)
            df = pd.read_parquet(self.table_file("sample_qc"))
            for c in ("tissue", "sample_id", "individual_id", "declared", "observed", "message"):
                df[c] = df[c].fillna("").astype(str)
            df["flag"] = df["flag"].astype(bool)
            return df[SAMPLE_QC_COLUMNS].reset_index(drop=True)

        rows = self._cached("samples:qc", load)
        if check is not None:
            if check not in QC_CHECKS:
                raise BadQuery("check", f"must be one of {', '.join(QC_CHECKS)}, not {str(check)[:40]!r}")
            rows = rows[rows["check"] == check]
        if tissue is not None:
            tissue = self.check_sample_tissue(tissue)
            in_tissue = rows["tissue"].str.split(",").map(lambda ts: tissue in ts)
            rows = rows[in_tissue]
        if flagged:
            rows = rows[rows["flag"]]
        return rows.reset_index(drop=True)

    def has_sample_metadata(self) -> bool:
        """Whether the release publishes a sample table from atlas.yaml (else samples are derived)."""
        return self.has_table("sample_metadata")

    def _sample_table(self) -> pd.DataFrame:
        """The samples (:data:`SAMPLE_COLUMNS`, then free metadata); a restricted store's without those of hidden
        tissues."""
        def load() -> pd.DataFrame:
            if self.hidden.tissues:
                return self.visible_rows(self._base._sample_table())
            if self.has_sample_metadata():
                df = pd.read_parquet(self.table_file("sample_metadata"))
            elif self.has_table("samples"):
                mapped = pd.read_parquet(self.table_file("samples"), columns=["sample_id", "tissue"])
                df = pd.DataFrame({"sample_id": mapped["sample_id"].astype(str),
                                   "individual_id": mapped["sample_id"].astype(str),
                                   "tissue": mapped["tissue"].astype(str)})
            else:
                df = pd.DataFrame(columns=SAMPLE_COLUMNS[:3])
            for c in SAMPLE_COLUMNS:
                if c not in df.columns:
                    df[c] = ""
            df = df[SAMPLE_COLUMNS + [c for c in df.columns if c not in SAMPLE_COLUMNS]]
            return df.astype(object).reset_index(drop=True)

        return self._cached("samples:table", load)

    def _individual_table(self) -> pd.DataFrame:
        """The individuals (``individual_id, sex, batch``, free metadata, ``n_tissues, tissues``); a restricted
        store's ``tissues`` and ``n_tissues`` count its visible tissues only, and individuals sampled only in hidden
        tissues are left out."""
        def load() -> pd.DataFrame:
            if self.hidden.tissues:
                return _visible_individuals(self._base._individual_table(), self.hidden.tissues)
            if self.has_table("individuals"):
                df = pd.read_parquet(self.table_file("individuals"))
                df["n_tissues"] = df["n_tissues"].astype("int64")
                return df.reset_index(drop=True)
            samples = self._sample_table()
            order = {t: i for i, t in enumerate(self.sample_tissues())}
            by_person = samples.groupby("individual_id", sort=False)["tissue"].agg(
                lambda ts: sorted(set(ts), key=lambda t: order.get(t, len(order))))
            return pd.DataFrame({"individual_id": by_person.index.astype(str).tolist(), "sex": "", "batch": "",
                                 "n_tissues": by_person.map(len).to_numpy(np.int64),
                                 "tissues": by_person.map(",".join).tolist()})

        return self._cached("samples:individuals", load)

    def sample_tissues(self) -> list[str]:
        """The release's tissues, then any other tissue of its sample table (by name)."""
        tissues = self.tissue_ids()
        extra = sorted(set(self._sample_table()["tissue"]) - set(tissues))
        return tissues + extra

    def check_sample_tissue(self, tissue: object) -> str:
        """``tissue`` when the sample table or the release has it; NotFound naming it and the tissues otherwise."""
        known = self.sample_tissues()
        if not is_clean(tissue) or tissue not in known:
            raise NotFound("tissue", tissue, detail=f"in release {self.id} (tissues: {', '.join(known)})")
        return tissue  # type: ignore[return-value]

    def sample_rows(self, *, tissue: str | None = None, individual: str | None = None) -> pd.DataFrame:
        """Samples (:data:`SAMPLE_COLUMNS`, then free metadata) of a ``tissue`` and/or an ``individual``, in the
        published order. NotFound for an unknown tissue or individual."""
        df = self._sample_table()
        keep = np.ones(len(df), dtype=bool)
        if tissue is not None:
            keep &= (df["tissue"] == self.check_sample_tissue(tissue)).to_numpy(bool)
        if individual is not None:
            if not is_clean(individual) or individual not in set(df["individual_id"]):
                raise NotFound("individual", individual, detail=f"in release {self.id}")
            keep &= (df["individual_id"] == individual).to_numpy(bool)
        return df[keep].reset_index(drop=True)

    def individual_rows(self, *, sex: str | None = None, tissue: str | None = None) -> pd.DataFrame:
        """Individuals (``individual_id, sex, batch``, free metadata, ``n_tissues, tissues``) of a ``sex``
        (:data:`SEX_FILTERS`; BadQuery otherwise) and/or with a sample of ``tissue`` (NotFound when unknown)."""
        df = self._individual_table()
        keep = np.ones(len(df), dtype=bool)
        if sex is not None:
            if sex not in SEX_FILTERS:
                raise BadQuery("sex", f"must be one of {', '.join(SEX_FILTERS)}, not {str(sex)[:40]!r}")
            keep &= (df["sex"].fillna("") == ("" if sex == "unknown" else sex)).to_numpy(bool)
        if tissue is not None:
            self.check_sample_tissue(tissue)
            people = set(self._sample_table().loc[lambda s: s["tissue"] == tissue, "individual_id"])
            keep &= df["individual_id"].isin(people).to_numpy(bool)
        return df[keep].reset_index(drop=True)

    def sample_counts(self) -> pd.DataFrame:
        """Per tissue (:meth:`sample_tissues` order, tissues without samples left out): samples, individuals, their
        sexes, and ``batches`` ({batch: samples}, empty when no batch is given)."""
        samples = self._sample_table()
        sex = self._individual_table().set_index("individual_id")["sex"].fillna("")
        rows = []
        for tissue in self.sample_tissues():
            part = samples[samples["tissue"] == tissue]
            if part.empty:
                continue
            people = pd.Series(part["individual_id"].unique())
            sexes = people.map(sex).fillna("")
            batches = part["batch"].fillna("")
            rows.append({"tissue": tissue, "n_samples": len(part), "n_individuals": len(people),
                         "n_female": int((sexes == "female").sum()), "n_male": int((sexes == "male").sum()),
                         "n_unknown_sex": int((sexes == "").sum()),
                         "batches": {str(b): int(n) for b, n in batches[batches != ""].value_counts(sort=False)
                                     .sort_index().items()}})
        return pd.DataFrame(rows, columns=COUNT_COLUMNS)

    def shared_individuals(self) -> pd.DataFrame:
        """Tissue × tissue (:meth:`sample_tissues` with samples): individuals with a sample of both (the diagonal:
        of the tissue)."""
        samples = self._sample_table()
        tissues = [t for t in self.sample_tissues() if t in set(samples["tissue"])]
        sets = {t: set(samples.loc[samples["tissue"] == t, "individual_id"]) for t in tissues}
        return pd.DataFrame([[len(sets[a] & sets[b]) for b in tissues] for a in tissues], index=tissues,
                            columns=tissues, dtype=np.int64)

    def tissue_combinations(self, top: int = 15) -> pd.DataFrame:
        """The ``top`` most common sets of tissues sampled from one individual: ``tissues`` (comma-separated),
        ``n_tissues``, ``n_individuals``; most individuals first, then more tissues, then by name."""
        people = self._individual_table()
        people = people[people["n_tissues"] > 0]
        counts = people.groupby("tissues", sort=False).size()
        out = pd.DataFrame({"tissues": counts.index.astype(str), "n_individuals": counts.to_numpy(np.int64)})
        out["n_tissues"] = [len(t.split(",")) for t in out["tissues"]]
        out = out.sort_values(["n_individuals", "n_tissues", "tissues"], ascending=[False, False, True], kind="stable")
        return out[["tissues", "n_tissues", "n_individuals"]].head(top).reset_index(drop=True)


def _split_tissues(text: object) -> list[str]:
    return [t for t in str(text or "").split(",") if t]


def _visible_individuals(people: pd.DataFrame, hidden: frozenset[str]) -> pd.DataFrame:
    """``people`` (:meth:`SampleQueries._individual_table`) with ``tissues`` and ``n_tissues`` over the tissues not in
    ``hidden``; individuals whose every tissue is hidden are left out (those sampled in none stay)."""
    listed = [_split_tissues(t) for t in people["tissues"]]
    seen = [[t for t in ts if t not in hidden] for ts in listed]
    keep = np.array([bool(v) or not ts for ts, v in zip(listed, seen, strict=True)], dtype=bool)
    out = people.copy()
    out["tissues"] = [",".join(v) for v in seen]
    out["n_tissues"] = np.array([len(v) for v in seen], dtype=np.int64)
    return out[keep].reset_index(drop=True)


def _visible_qc(rows: pd.DataFrame, hidden: frozenset[str]) -> pd.DataFrame:
    """Sample QC rows without any row that names a tissue of ``hidden`` (the identity rows of such a tissue, the sex
    rows of individuals sampled in one: their score and call pool every sample of the individual)."""
    keep = np.array([not (set(_split_tissues(t)) & hidden) for t in rows["tissue"]], dtype=bool)
    return rows[keep].reset_index(drop=True)
