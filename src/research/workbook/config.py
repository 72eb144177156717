"""Read workbook.toml: the runs (notebook x parameters), single runs and sweeps."""

from __future__ import annotations

import fnmatch
import itertools
import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from ..exceptions import ConfigError
from .schema import check_schema

RUN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._=-]*$")
DEFAULT_KERNEL = "research-workbook"


@dataclass(frozen=True)
class Run:
    """One notebook executed with one set of parameters."""

    id: str
    notebook: Path
    parameters: Mapping[str, object] = field(default_factory=dict)
    title: str = ""
    hypothesis: str = ""


@dataclass(frozen=True)
class Workbook:
    """The parsed workbook.toml."""

    root: Path
    path: Path
    title: str
    runs: tuple[Run, ...]
    outputs: Path
    kernel: str = DEFAULT_KERNEL
    timeout: float = 600.0
    data_dir: Path | None = None
    confirmatory: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    domains: Mapping[str, Mapping[str, object]] = field(default_factory=dict)

    @property
    def runs_dir(self) -> Path:
        return self.outputs / "runs"

    @property
    def failed_dir(self) -> Path:
        return self.outputs / "failed"

    @property
    def site_dir(self) -> Path:
        return self.outputs / "site"

    def select(self, patterns: Sequence[str] = ()) -> tuple[Run, ...]:
        """Runs whose id matches any of the ids or globs (all runs when none is given)."""
        if not patterns:
            return self.runs
        chosen = []
        for pat in patterns:
            hits = [r for r in self.runs if fnmatch.fnmatchcase(r.id, pat)]
            if not hits:
                ids = ", ".join(r.id for r in self.runs)
                raise ConfigError(f"no run matches {pat!r}; the runs are: {ids}", str(self.path))
            chosen += [r for r in hits if r not in chosen]
        return tuple(chosen)

    def with_overrides(
        self, runs: Sequence[Run], overrides: Mapping[str, object]
    ) -> tuple[Run, ...]:
        """The runs with ``-p name=value`` overrides applied to their parameters."""
        return tuple(replace(r, parameters={**r.parameters, **overrides}) for r in runs)


def parse_override(text: str) -> tuple[str, object]:
    """Parse ``name=value``: the value is read as a TOML value (3, 0.5, true, "x", [1, 2]) and
    falls back to the plain string, so ``-p alliance_definition=nato`` needs no quotes."""
    name, sep, raw = text.partition("=")
    if not sep or not name.strip():
        raise ConfigError(f"-p expects name=value, not {text!r}")
    try:
        value = tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw
    return name.strip(), value


def _sweep_runs(spec: dict, path: Path, root: Path) -> list[Run]:
    grid = spec.get("grid", {})
    if not grid or not all(isinstance(v, list) and v for v in grid.values()):
        raise ConfigError(
            f"sweep {spec.get('id')!r}: 'grid' must map parameter names to non-empty lists",
            str(path),
            "grid",
        )
    names = list(grid)
    runs = []
    for combo in itertools.product(*(grid[n] for n in names)):
        values = dict(zip(names, combo))
        suffix = "--".join(f"{n}={_slug(v)}" for n, v in values.items())
        runs.append(
            Run(
                id=f"{spec['id']}--{suffix}",
                notebook=_notebook(spec, path, root),
                parameters={**spec.get("parameters", {}), **values},
                title=spec.get("title", ""),
                hypothesis=spec.get("hypothesis", ""),
            )
        )
    return runs


def _slug(value: object) -> str:
    text = str(value).lower() if isinstance(value, bool) else str(value)
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-") or "x"


def _notebook(spec: dict, path: Path, root: Path) -> Path:
    if "notebook" not in spec:
        raise ConfigError(f"run {spec.get('id')!r} has no 'notebook'", str(path), "notebook")
    nb = (root / spec["notebook"]).resolve()
    if not nb.is_file():
        raise ConfigError(
            f"run {spec.get('id')!r}: notebook {spec['notebook']} not found", str(path), "notebook"
        )
    return nb


def load_workbook(path: Path | str = "workbook.toml") -> Workbook:
    """Parse workbook.toml; sweeps expand into one run per grid combination."""
    path = Path(path).resolve()
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError(
            "not found (run from the project folder or pass --workbook)", str(path)
        ) from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"not valid TOML: {exc}", str(path)) from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"byte {exc.start}: not valid UTF-8", str(path)) from None
    except IsADirectoryError as exc:
        raise ConfigError("is a folder, not a file", str(path)) from exc
    check_schema(doc, str(path))
    root = path.parent
    meta = doc.get("workbook", {})
    runs: list[Run] = []
    for spec in doc.get("run", []):
        _require_id(spec, path)
        runs.append(
            Run(
                spec["id"],
                _notebook(spec, path, root),
                dict(spec.get("parameters", {})),
                spec.get("title", ""),
                spec.get("hypothesis", ""),
            )
        )
    for spec in doc.get("sweep", []):
        _require_id(spec, path)
        runs += _sweep_runs(spec, path, root)
    seen: set[str] = set()
    for r in runs:
        if r.id in seen:
            raise ConfigError(f"run id {r.id!r} is used twice", str(path), "id")
        seen.add(r.id)
    ids = [r.id for r in runs]
    for name, entry in doc.get("confirmatory", {}).items():
        if entry["run"] not in ids:
            raise ConfigError(
                f"confirmatory.{name}.run: no run {entry['run']!r}; the runs are: {', '.join(ids)}",
                str(path),
                f"confirmatory.{name}.run",
            )
    outputs = (root / meta.get("outputs", "outputs")).resolve()
    if outputs.exists() and not outputs.is_dir():
        raise ConfigError(
            f"workbook.outputs: {outputs} exists and is not a folder", str(path), "workbook.outputs"
        )
    data_dir = meta.get("data")
    return Workbook(
        root=root,
        path=path,
        title=meta.get("title", "Workbook"),
        runs=tuple(runs),
        outputs=outputs,
        kernel=meta.get("kernel", DEFAULT_KERNEL),
        timeout=float(meta.get("timeout", 600)),
        data_dir=(root / data_dir).resolve() if data_dir else None,
        confirmatory={k: dict(v) for k, v in doc.get("confirmatory", {}).items()},
        domains={k: dict(v) for k, v in doc.get("domains", {}).items()},
    )


def _require_id(spec: dict, path: Path) -> None:
    rid = spec.get("id")
    if not isinstance(rid, str) or not RUN_ID.match(rid):
        raise ConfigError(
            f"every run and sweep needs an 'id' of letters, digits, '.', '_', '-'; got {rid!r}",
            str(path),
            "id",
        )
