"""The data in the formats researchers use: every table as Parquet, Stata .dta (variable and
value labels from the codebook) and R .rds; a merge-ready state-year file keyed by COW
code; a BibTeX entry; the CFF citation; the dataset's version and changelog.

Tables are exported from the typed frames of :func:`research.data.load`: dates are dates,
counts nullable integers, codes categoricals whose categories come from datapackage.json
(value labels in Stata, factors in R), and lists are joined with " | " as in the CSV.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

LIST_SEP = " | "
STATA_LABEL_MAX = 80


def load_available(data_dir: Path):
    """The typed dataset of the tables whose CSV exists (a table not coded yet is left out),
    unvalidated: publishing shows the data as it is; ``research validate`` judges it."""
    import json
    import tempfile

    from ..data import load

    descriptor = json.loads((data_dir / "datapackage.json").read_text(encoding="utf-8"))
    present = [r for r in descriptor["resources"] if (data_dir / r["path"]).is_file()]
    if len(present) == len(descriptor["resources"]):
        return load(data_dir, validate=False)
    with tempfile.TemporaryDirectory(prefix="research-site-") as tmp:
        for r in present:
            shutil.copyfile(data_dir / r["path"], Path(tmp) / r["path"])
        trimmed = {**descriptor, "resources": present}
        (Path(tmp) / "datapackage.json").write_text(json.dumps(trimmed), encoding="utf-8")
        ds = load(tmp, validate=False)
    return ds


@dataclass(frozen=True)
class Download:
    """One file on the downloads page."""

    table: str
    fmt: str
    path: str  # relative to the site
    note: str = ""


def export_frame(frame: pd.DataFrame, fields: list[dict]) -> pd.DataFrame:
    """A copy of a typed table with list fields joined as in the CSV."""
    out = frame.copy()
    for f in fields:
        name = f["name"]
        if name in out and f["type"] == "list":
            out[name] = out[name].map(
                lambda v: LIST_SEP.join(v) if isinstance(v, tuple) else ("" if v is None else v)
            )
    return out


def _stata_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Stata wants floats for nullable integers, 0/1 for booleans and no missing strings."""
    out = frame.copy()
    for col in out.columns:
        s = out[col]
        if isinstance(s.dtype, pd.CategoricalDtype):
            continue
        if pd.api.types.is_bool_dtype(s.dtype) or str(s.dtype) == "boolean":
            out[col] = s.astype("Float64").astype(float).astype("float32")
        elif pd.api.types.is_integer_dtype(s.dtype):
            out[col] = s.astype("Float64").astype(float)
        elif pd.api.types.is_datetime64_any_dtype(s.dtype):
            out[col] = s.astype("datetime64[ns]")
        elif pd.api.types.is_float_dtype(s.dtype):
            out[col] = s.astype(float)
        else:
            out[col] = s.astype(object).where(s.notna(), "").astype(str)
    return out


def _label(text: str) -> str:
    text = re.sub(r"\s+", " ", text or "").strip()
    return text if len(text) <= STATA_LABEL_MAX else text[: STATA_LABEL_MAX - 1] + "…"


def write_stata(frame: pd.DataFrame, fields: list[dict], path: Path) -> None:
    """Stata 14+ .dta with a variable label per field (its codebook description) and value
    labels for coded fields (pandas writes categoricals as labelled integers)."""
    labels = {f["name"]: _label(f.get("description", "")) for f in fields if f["name"] in frame}
    stata = _stata_frame(frame)
    stata.to_stata(path, write_index=False, version=118, variable_labels=labels, convert_strl=[])


def write_rds(frame: pd.DataFrame, path: Path) -> None:
    """An R data frame (.rds) through pyreadr: categoricals become factors; dates are ISO
    text (pyreadr writes no Date class; ``as.Date()`` converts them)."""
    import pyreadr

    out = frame.copy()
    for col in out.columns:
        s = out[col]
        if str(s.dtype) == "boolean":
            out[col] = s.astype(object).where(s.notna(), None)
        elif pd.api.types.is_integer_dtype(s.dtype):
            out[col] = s.astype("Float64").astype(float)
        elif pd.api.types.is_datetime64_any_dtype(s.dtype):
            out[col] = s.dt.strftime("%Y-%m-%d").astype(object).where(s.notna(), None)
    pyreadr.write_rds(path, out)


def write_tables(ds, out: Path) -> list[Download]:
    """Every table of the package as Parquet, .dta and .rds under ``out`` (the site's
    ``downloads/``)."""
    files: list[Download] = []
    for res in ds.descriptor["resources"]:
        name = res["name"]
        if name not in ds.tables:
            continue
        fields = res["schema"]["fields"]
        frame = export_frame(ds.tables[name], fields)
        for fmt, writer in (
            ("parquet", lambda f, p: f.to_parquet(p, index=False)),
            ("dta", lambda f, p, fields=fields: write_stata(f, fields, p)),
            ("rds", write_rds),
        ):
            sub = out / fmt
            sub.mkdir(parents=True, exist_ok=True)
            writer(frame, sub / f"{name}.{fmt}")
            files.append(Download(name, fmt, f"downloads/{fmt}/{name}.{fmt}"))
    return files


# --- state-year ------------------------------------------------------------------------------

STATE_YEAR_FIELDS = {
    "cow_code": "COW state number (from parties.cow_code)",
    "year": "Calendar year",
    "party_id": "This dataset's party id",
    "name": "State name",
    "n_exchanges": "Exchanges (handovers) in the year with the state as a principal",
    "n_deals": "Distinct deals with a handover in the year with the state as a principal",
    "released": "Living persons the state released in the year's exchanges",
    "received": "Living persons released to the state in the year's exchanges",
}


def state_year(ds, first_year: int | None = None) -> tuple[pd.DataFrame, list[str]]:
    """A state-year panel keyed by COW code: alliance covariates on 31 December (or on the
    cutoff date in the cutoff year) and exchange counts per state and year.

    States without a COW code in parties.csv are left out and returned by party id.
    The years run from the first exchange's year (or ``first_year``) to the cutoff year.

    Returns
    -------
    (DataFrame, list of str)
        The panel, sorted by cow_code and year; the party ids left out for lack of a code.
    """
    from .cases import _memberships

    parties, ex = ds.parties, ds.exchanges
    states = parties[parties["kind"].astype(str) == "state"]
    missing = sorted(states.loc[states["cow_code"].isna(), "party_id"])
    states = states[states["cow_code"].notna()]
    cutoff = ds.cutoff
    if first_year is not None:
        start = first_year
    elif len(ex) and ex["exchange_date"].notna().any():
        start = int(ex["exchange_date"].dt.year.min())
    else:
        start = cutoff.year
    index = _memberships(ds)
    principals = _principals(ds)
    rows = []
    for _, p in states.iterrows():
        pid = p["party_id"]
        mine = principals[principals["party_id"] == pid]
        for year in range(int(start), cutoff.year + 1):
            on = min(pd.Timestamp(year=year, month=12, day=31), cutoff)
            cov = index.covariates(pid, on)
            in_year = mine[mine["year"] == year]
            rows.append(
                {
                    "cow_code": int(p["cow_code"]),
                    "year": year,
                    "party_id": pid,
                    "name": p["name"],
                    **{k: (int(v) if isinstance(v, bool) else v) for k, v in cov.items()},
                    "n_exchanges": int(in_year["exchange_id"].nunique()),
                    "n_deals": int(in_year["deal_id"].nunique()),
                    "released": int(in_year["released"].sum()),
                    "received": int(in_year["received"].sum()),
                }
            )
    frame = pd.DataFrame(rows)
    if len(frame):
        frame = frame.sort_values(["cow_code", "year"], kind="stable").reset_index(drop=True)
    return frame, missing


def _principals(ds) -> pd.DataFrame:
    """One row per exchange and principal party: persons it released and received."""
    ex = ds.exchanges
    rows = []
    listed = ds.exchange_parties if "exchange_parties" in ds.tables else None
    for _, t in ex.iterrows():
        if pd.isna(t["exchange_date"]):
            continue
        year, deal = int(t["exchange_date"].year), t["deal_id"] or t["exchange_id"]
        members = listed[listed["exchange_id"] == t["exchange_id"]] if listed is not None else []
        ra, rb = _n(t["released_by_a"]), _n(t["released_by_b"])
        if len(members):
            for _, m in members.iterrows():
                mine, other = (ra, rb) if m["side"] == "a" else (rb, ra)
                released = _n(m["released"]) if pd.notna(m["released"]) else mine
                received = _n(m["received"]) if pd.notna(m["received"]) else other
                rows.append((t["exchange_id"], deal, year, m["party_id"], released, received))
        else:
            rows.append((t["exchange_id"], deal, year, t["side_a"], ra, rb))
            rows.append((t["exchange_id"], deal, year, t["side_b"], rb, ra))
    cols = ["exchange_id", "deal_id", "year", "party_id", "released", "received"]
    return pd.DataFrame(rows, columns=cols)


def _n(value) -> int:
    return 0 if value is None or pd.isna(value) else int(value)


def write_state_year(ds, out: Path) -> tuple[list[Download], list[str]]:
    """The state-year panel as CSV, Parquet, .dta and .rds under ``out/state_year``."""
    frame, missing = state_year(ds)
    sub = out / "state_year"
    sub.mkdir(parents=True, exist_ok=True)
    fields = [{"name": k, "description": v} for k, v in STATE_YEAR_FIELDS.items()]
    fields += [
        {"name": c, "description": f"Alliance covariate {c} on 31 December (research.alliances)"}
        for c in frame.columns
        if c not in STATE_YEAR_FIELDS
    ]
    frame.to_csv(sub / "state_year.csv", index=False, lineterminator="\n")
    frame.to_parquet(sub / "state_year.parquet", index=False)
    write_stata(frame, fields, sub / "state_year.dta")
    write_rds(frame, sub / "state_year.rds")
    files = [
        Download("state_year", fmt, f"downloads/state_year/state_year.{fmt}")
        for fmt in ("csv", "parquet", "dta", "rds")
    ]
    return files, missing


# --- citation ---------------------------------------------------------------------------------


def bibtex(descriptor: dict, year: str) -> str:
    """A BibTeX @misc entry for the dataset, from datapackage.json."""
    authors = " and ".join(
        "{" + c.get("title", "") + "}" for c in descriptor.get("contributors", []) if c.get("title")
    )
    version = descriptor.get("version", "")
    key = re.sub(r"[^a-z0-9]+", "", (descriptor.get("name") or "dataset").lower())
    fields = {
        "author": authors or "{The workbook contributors}",
        "title": "{" + descriptor.get("title", "") + "}",
        "year": year,
        "version": version,
        "note": f"Dataset version {version}, data cutoff {descriptor.get('cutoff_date', '')}",
        "howpublished": "Frictionless Data Package",
    }
    body = ",\n".join(
        f"  {k} = {{{v}}}" if not v.startswith("{") else f"  {k} = {v}"
        for k, v in fields.items()
        if v
    )
    return f"@misc{{{key}{version.replace('.', '')},\n{body}\n}}\n"


def write_citation(descriptor: dict, root: Path, out: Path) -> list[Download]:
    """dataset.bib, CITATION.cff (copied from the project) and the data changelog."""
    out.mkdir(parents=True, exist_ok=True)
    year = (descriptor.get("cutoff_date") or "")[:4]
    (out / "dataset.bib").write_text(bibtex(descriptor, year), encoding="utf-8")
    files = [Download("citation", "bib", "downloads/dataset.bib")]
    if (root / "CITATION.cff").is_file():
        shutil.copyfile(root / "CITATION.cff", out / "CITATION.cff")
        files.append(Download("citation", "cff", "downloads/CITATION.cff"))
    return files
