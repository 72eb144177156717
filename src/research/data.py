"""Load the Frictionless Data Package in ``data/`` into typed DataFrames.

Files are read here and nowhere else. The schema (types, enums, keys) comes from
``datapackage.json``; the rules themselves live in :mod:`research.validate`.
"""

from __future__ import annotations

import csv
import io
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from .exceptions import DataValidationError, ResearchError


class _LazyPandas:
    """pandas, imported on first use: ``research validate`` and the engine's checks read and
    check the raw strings only, and a no-op ``research run`` should not pay 0.4 s for it."""

    def __getattr__(self, name: str):
        import pandas

        return getattr(pandas, name)


pd = _LazyPandas()

DATA_ENV = "RESEARCH_DATA_DIR"
LIST_SEPARATOR = " | "


@dataclass(frozen=True)
class RawTable:
    """A CSV table as read from disk: cells as strings, with the line each record starts on."""

    name: str
    path: Path
    schema: dict
    header: tuple[str, ...]
    rows: tuple[dict[str, str], ...]
    lines: tuple[int, ...]

    @property
    def fields(self) -> dict[str, dict]:
        return {f["name"]: f for f in self.schema["fields"]}


@dataclass(frozen=True)
class Dataset:
    """The typed tables of the data package, plus its descriptor.

    Attributes are DataFrames named after the package's resources (``exchanges``,
    ``parties``, ``alliances``, ``alliance_members``, ``exchange_parties``, ``captivities``,
    ``deals`` (one row per agreement, with its totals) and ``evidence`` (the quote behind each
    coded value)).
    """

    descriptor: dict
    data_dir: Path
    tables: dict[str, pd.DataFrame] = field(repr=False)

    def __getattr__(self, name: str) -> pd.DataFrame:
        tables = object.__getattribute__(self, "tables")
        if name in tables:
            return tables[name].copy()
        raise AttributeError(f"the data package has no table {name!r}; it has {sorted(tables)}")

    @property
    def cutoff(self) -> pd.Timestamp:
        """The dataset's cutoff date (spells still open then are right-censored)."""
        return pd.Timestamp(self.descriptor["cutoff_date"])

    def codebook(self, table: str) -> pd.DataFrame:
        """The codebook of one table: field, type, required, allowed values, description."""
        return codebook_frame(self.descriptor, table)


DATA_ENV_SHORT = "RESEARCH_DATA"


def find_data_dir(start: Path | None = None) -> Path | None:
    """The nearest ``data/`` holding a ``datapackage.json``, from ``start`` (default: the
    working directory) up to the filesystem root; None when there is none."""
    here = Path.cwd() if start is None else Path(start)
    for folder in (here, *here.resolve().parents):
        if (folder / "data" / "datapackage.json").is_file():
            return folder / "data"
        if folder.name == "data" and (folder / "datapackage.json").is_file():
            return folder
    return None


def project_root() -> Path:
    """The project folder: the one holding ``data/datapackage.json``, looked up from the
    working directory (so it works from an installed wheel as from a checkout)."""
    found = find_data_dir()
    if found is None:
        raise ResearchError(_not_found())
    return found.parent


def _not_found() -> str:
    return (
        f"no data package found: pass data_dir=, set {DATA_ENV_SHORT} (or {DATA_ENV}) to the "
        f"folder holding datapackage.json, or work inside the project folder (looked from "
        f"{Path.cwd()} upwards for data/datapackage.json)"
    )


def default_data_dir() -> Path:
    """Where the data package is when no path is given, first match wins:

    1. ``$RESEARCH_DATA`` (or ``$RESEARCH_DATA_DIR``, which the engine sets for its kernels);
    2. ``data/`` in the working directory or the nearest folder above it that has one.

    The package's own location is never used, so an installed wheel finds the data as a
    checkout does. Raises a one-line ResearchError naming all three ways when nothing is found.
    """
    for var in (DATA_ENV_SHORT, DATA_ENV):
        env = os.environ.get(var)
        if env:
            path = Path(env)
            if not (path / "datapackage.json").is_file():
                raise ResearchError(f"${var} = {env}: no datapackage.json in that folder")
            return path
    found = find_data_dir()
    if found is None:
        raise ResearchError(_not_found())
    return found


def read_descriptor(data_dir: Path) -> dict:
    path = Path(data_dir) / "datapackage.json"
    try:
        with path.open(encoding="utf-8") as fh:
            descriptor = json.load(fh)
    except FileNotFoundError as exc:
        raise ResearchError(f"{path}: no datapackage.json (is {data_dir} a data package?)") from exc
    except json.JSONDecodeError as exc:
        raise ResearchError(f"{path}: line {exc.lineno}: not valid JSON: {exc.msg}") from exc
    except UnicodeDecodeError as exc:
        raise ResearchError(f"{path}: byte {exc.start}: not valid UTF-8") from exc
    check_descriptor_shape(descriptor, path)
    return descriptor


def check_descriptor_shape(descriptor: object, path: Path) -> None:
    """Raise a one-line error naming the place when the descriptor is not a Data Package
    whose resources each have a name, a path and a schema with fields."""
    if not isinstance(descriptor, dict):
        raise ResearchError(f"{path}: expected a JSON object, got {type(descriptor).__name__}")
    resources = descriptor.get("resources")
    if not isinstance(resources, list) or not resources:
        raise ResearchError(f"{path}: 'resources' must be a non-empty list of resources")
    for i, res in enumerate(resources):
        where = f"{path}: resources[{i}]"
        if not isinstance(res, dict):
            raise ResearchError(f"{where}: expected an object, got {type(res).__name__}")
        for key in ("name", "path"):
            if not isinstance(res.get(key), str) or not res.get(key):
                raise ResearchError(f"{where}: '{key}' must be a non-empty string")
        schema = res.get("schema")
        fields = schema.get("fields") if isinstance(schema, dict) else None
        if not isinstance(fields, list) or not all(
            isinstance(f, dict) and isinstance(f.get("name"), str) for f in fields
        ):
            raise ResearchError(
                f"{where} ({res['name']}): 'schema.fields' must be a list of objects with a 'name'"
            )


def _read_csv(path: Path) -> tuple[tuple[str, ...], list[dict[str, str]], list[int]]:
    """Read one CSV as strings; bad bytes and oversized cells are one-line errors."""
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        data = path.read_bytes()
        line = data[: exc.start].count(b"\n") + 1
        raise ResearchError(
            f"{path}:{line}: not valid UTF-8 (byte {data[exc.start]:#04x} at offset {exc.start})"
        ) from None
    if text.startswith("\ufeff"):
        text = text[1:]
    reader = csv.reader(io.StringIO(text, newline=""))
    rows, lines = [], []
    try:
        header = tuple(next(reader, ()))
        start = reader.line_num + 1
        for record in reader:
            if record:  # a blank line is not a row
                rows.append(dict(zip(header, record + [""] * (len(header) - len(record)))))
                if len(record) > len(header):
                    rows[-1]["__extra__"] = ",".join(record[len(header) :])
                lines.append(start)
            start = reader.line_num + 1
    except csv.Error as exc:
        raise ResearchError(f"{path}:{reader.line_num}: not readable as CSV: {exc}") from None
    return header, rows, lines


def read_raw(data_dir: Path | str) -> tuple[dict, dict[str, RawTable]]:
    """Read the descriptor and every resource's CSV as strings, keeping line numbers."""
    data_dir = Path(data_dir)
    descriptor = read_descriptor(data_dir)
    tables = {}
    for res in descriptor["resources"]:
        path = data_dir / res["path"]
        if not path.is_file():
            raise ResearchError(f"{path}: missing; datapackage.json lists resource {res['name']!r}")
        header, rows, lines = _read_csv(path)
        tables[res["name"]] = RawTable(
            res["name"], path, res["schema"], header, tuple(rows), tuple(lines)
        )
    return descriptor, tables


def split_list(value: str) -> tuple[str, ...]:
    """Split a ' | '-separated list cell into its items."""
    return tuple(v.strip() for v in value.split(LIST_SEPARATOR.strip()) if v.strip())


def _typed_column(values: list[str], spec: dict) -> pd.Series:
    kind = spec["type"]
    blank = [v.strip() == "" for v in values]
    if kind == "integer":
        return pd.Series([None if b else int(v) for v, b in zip(values, blank)], dtype="Int64")
    if kind == "number":
        return pd.Series([None if b else float(v) for v, b in zip(values, blank)], dtype="Float64")
    if kind == "boolean":
        truthy = set(spec.get("trueValues", ["true"]))
        return pd.Series(
            [None if b else v in truthy for v, b in zip(values, blank)], dtype="boolean"
        )
    if kind == "date":
        return pd.to_datetime(pd.Series([None if b else v for v, b in zip(values, blank)]))
    if kind == "list":
        return pd.Series([split_list(v) for v in values], dtype=object)
    enum = spec.get("constraints", {}).get("enum")
    if enum:
        return pd.Series(
            pd.Categorical(
                [None if b else v for v, b in zip(values, blank)],
                categories=enum,
                ordered=bool(spec.get("x-ordered")),
            )
        )
    return pd.Series([None if b else v for v, b in zip(values, blank)], dtype="string")


def typed_frame(table: RawTable) -> pd.DataFrame:
    """Convert a validated raw table into a typed DataFrame (column order as in the schema)."""
    columns = {}
    for spec in table.schema["fields"]:
        columns[spec["name"]] = _typed_column([r.get(spec["name"], "") for r in table.rows], spec)
    frame = pd.DataFrame(columns)
    frame.attrs["source_file"] = str(table.path)
    return frame


def load(data_dir: Path | str | None = None, *, validate: bool = True) -> Dataset:
    """Load the data package as typed DataFrames.

    Parameters
    ----------
    data_dir : path, optional
        Folder holding ``datapackage.json``; default: ``$RESEARCH_DATA_DIR`` or the project's
        ``data/``.
    validate : bool
        Check every codebook rule first (default). Turn off only for debugging.

    Returns
    -------
    Dataset
        Tables as attributes: dates as datetimes, counts as nullable integers, codes as
        categoricals whose categories come from datapackage.json, lists as tuples.

    Raises
    ------
    DataValidationError
        Listing every problem, each with file, line, field, value and rule.

    Examples
    --------
    >>> import research as rs
    >>> ds = rs.load()
    >>> ds.exchanges[["exchange_id", "released_by_a", "released_by_b"]].head()  # doctest: +SKIP
    """
    from .validate import check_tables

    data_dir = Path(data_dir) if data_dir is not None else default_data_dir()
    descriptor, raw = read_raw(data_dir)
    if validate:
        key = validation_key(data_dir, descriptor)
        if not is_validated(key):
            problems = check_tables(descriptor, raw)
            if problems:
                raise DataValidationError(problems, str(data_dir))
            mark_validated(key)
    tables = {name: typed_frame(t) for name, t in raw.items()}
    return Dataset(descriptor=descriptor, data_dir=data_dir, tables=tables)


CACHE_ENV = "RESEARCH_CACHE_DIR"


def validation_key(data_dir: Path, descriptor: dict) -> str:
    """SHA-256 over the package's bytes (datapackage.json and every listed resource) and the
    source of the rules (validate.py and every validate_*.py): a passed validation is valid
    for exactly this data under exactly these rules."""
    import hashlib

    h = hashlib.sha256()
    files = [Path(data_dir) / "datapackage.json"]
    files += [Path(data_dir) / r["path"] for r in descriptor["resources"]]
    here = Path(__file__).parent
    files += [here / "validate.py", *sorted(here.glob("validate_*.py"))]
    for f in files:
        h.update(f.name.encode() + b"\0")
        h.update(hashlib.sha256(f.read_bytes()).digest())
    return h.hexdigest()


def _validation_cache() -> Path | None:
    if os.environ.get(CACHE_ENV) == "off":
        return None
    base = os.environ.get(CACHE_ENV) or os.environ.get("XDG_CACHE_HOME")
    root = Path(base) if base else Path.home() / ".cache"
    return (root if os.environ.get(CACHE_ENV) else root / "research") / "validated"


def is_validated(key: str) -> bool:
    """Has this exact data passed these exact rules before (a marker file per key)?"""
    cache = _validation_cache()
    return cache is not None and (cache / key).is_file()


def mark_validated(key: str) -> None:
    cache = _validation_cache()
    if cache is None:
        return
    try:  # a read-only home only costs the next load a validation
        cache.mkdir(parents=True, exist_ok=True)
        (cache / key).touch()
    except OSError:
        pass


def codebook_frame(descriptor: dict, table: str) -> pd.DataFrame:
    """The codebook of one resource: field, type, required, allowed values, description."""
    resources = {r["name"]: r for r in descriptor["resources"]}
    if table not in resources:
        raise ResearchError(f"no table {table!r} in the data package; it has {sorted(resources)}")
    rows = []
    for f in resources[table]["schema"]["fields"]:
        c = f.get("constraints", {})
        allowed = c.get("enum") or f.get("x-itemEnum") or []
        rows.append(
            {
                "field": f["name"],
                "type": f["type"],
                "required": bool(c.get("required")),
                "allowed": ", ".join(allowed),
                "description": f.get("description", ""),
            }
        )
    return pd.DataFrame(rows)


def file_checksums(data_dir: Path | str | None = None) -> dict[str, str]:
    """SHA-256 of every file in the data package (for manifests and cache keys)."""
    import hashlib

    data_dir = Path(data_dir) if data_dir is not None else default_data_dir()
    out = {}
    for path in sorted(p for p in data_dir.iterdir() if p.is_file()):
        out[path.name] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out
