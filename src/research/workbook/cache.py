"""Cache keys: a run is skipped when nothing it can read has changed, and only that.

A run's key covers exactly:

- its notebook's **code** cells (source and tags) and kernelspec, not markdown or outputs;
- its parameters and the kernel it runs on;
- the data package: ``datapackage.json`` and the resources it lists (not AUDIT.md, a licence
  or other prose in ``data/``);
- the **science** modules of ``research`` (everything but the engine ``workbook/`` and the
  command line ``cli.py``, which the science never imports: see tests/test_layering.py);
- the locked dependencies: the installed version of every distribution ``requirements.lock``
  names (all installed distributions when there is no lock), and the Python version.

A second hash, of every cell including markdown, tells a markdown-only edit apart: such a run
is re-rendered from its executed notebook without starting a kernel.
"""

from __future__ import annotations

import hashlib
import json
import platform
import re
from functools import lru_cache
from importlib import metadata
from pathlib import Path

from .config import Run, Workbook

PACKAGE_DIR = Path(__file__).resolve().parents[1]
ENGINE_PARTS = ("workbook", "cli.py")  # relative to PACKAGE_DIR: never part of a run's key


def _digest(parts: list[bytes]) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(hashlib.sha256(part).digest())
    return h.hexdigest()


def _cells(path: Path) -> tuple[list[dict], str]:
    from .params import read_notebook

    nb = read_notebook(path)
    kernel = (nb.get("metadata", {}).get("kernelspec") or {}).get("name", "")
    cells = [
        {
            "t": c.get("cell_type"),
            "s": "".join(c.get("source", "")),
            "tags": sorted(c.get("metadata", {}).get("tags", [])),
        }
        for c in nb.get("cells", [])
    ]
    return cells, kernel


def code_hash(path: Path) -> str:
    """Hash of a notebook's code cells (source and tags) and kernelspec name."""
    cells, kernel = _cells(path)
    code = [c for c in cells if c["t"] == "code"]
    return _digest([json.dumps(code, sort_keys=True).encode(), kernel.encode()])


def notebook_source_hash(path: Path) -> str:
    """Hash of every cell (markdown too) and the kernelspec, ignoring outputs and counts."""
    cells, kernel = _cells(path)
    return _digest([json.dumps(cells, sort_keys=True).encode(), kernel.encode()])


def _files_digest(root: Path, files: list[Path]) -> str:
    return _digest(
        [p.relative_to(root).as_posix().encode() + b"\0" + p.read_bytes() for p in sorted(files)]
    )


def data_hash(data_dir: Path) -> str:
    """Hash of ``datapackage.json`` and the resources it lists (nothing else in the folder)."""
    data_dir = Path(data_dir)
    files = [data_dir / "datapackage.json"]
    try:
        descriptor = json.loads(files[0].read_text(encoding="utf-8"))
        paths = [r["path"] for r in descriptor["resources"]]
    except (OSError, ValueError, KeyError, TypeError):
        paths = []  # validation, which runs first, names the problem
    files += [data_dir / p for p in paths if (data_dir / p).is_file()]
    return _files_digest(data_dir, files)


def science_files() -> list[Path]:
    """The analysis modules a notebook can import: the package without the engine."""
    out = []
    for p in PACKAGE_DIR.rglob("*"):
        rel = p.relative_to(PACKAGE_DIR)
        if not p.is_file() or "__pycache__" in rel.parts or p.suffix == ".pyc":
            continue
        if rel.parts[0] in ENGINE_PARTS:
            continue
        out.append(p)
    return sorted(out)


@lru_cache(maxsize=1)
def science_hash() -> str:
    return _files_digest(PACKAGE_DIR, science_files())


LOCK_LINE = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==")


def environment_hash(lock: Path | None = None) -> str:
    """Hash of the installed versions of the locked distributions, and the Python version.

    Only distributions the lock names count, so installing a tool beside the project (a
    benchmark's Jupyter Book, pre-commit) re-executes nothing; without a lock, all count.
    """
    text = lock.read_text(encoding="utf-8") if lock is not None and lock.is_file() else None
    return _environment_hash(text)


@lru_cache(maxsize=4)
def _environment_hash(lock_text: str | None) -> str:
    names = None
    if lock_text is not None:
        names = {
            re.sub(r"[-_.]+", "-", m.group(1)).lower()
            for line in lock_text.splitlines()
            if (m := LOCK_LINE.match(line.strip()))
        }
    dists = sorted(
        f"{name}=={version}"
        for name, version in installed()
        if name != "research" and (names is None or name in names)
    )
    return _digest(["\n".join(dists).encode(), platform.python_version().encode()])


DIST_INFO = re.compile(r"^(?P<name>.+?)-(?P<version>[^-]+)\.(dist-info|egg-info)$")


def installed() -> list[tuple[str, str]]:
    """(normalised name, version) of every installed distribution, read from the names of
    the ``*.dist-info`` folders (parsing every METADATA file costs half a second)."""
    out = []
    for d in metadata.distributions():
        folder = getattr(d, "_path", None)
        m = DIST_INFO.match(folder.name) if folder is not None else None
        if m:
            name, version = m.group("name"), m.group("version")
        else:
            name, version = d.metadata["Name"] or "", d.version
        out.append((re.sub(r"[-_.]+", "-", name).lower(), version))
    return out


def run_key(run: Run, workbook: Workbook, data_dir: Path) -> str:
    """The cache key of one run: what decides whether it must execute again."""
    return _digest(
        [
            code_hash(run.notebook).encode(),
            json.dumps(dict(run.parameters), sort_keys=True, default=str).encode(),
            data_hash(data_dir).encode(),
            science_hash().encode(),
            environment_hash(workbook.root / "requirements.lock").encode(),
            workbook.kernel.encode(),
        ]
    )


def _manifest(run_dir: Path) -> dict:
    try:
        m = json.loads((run_dir / "manifest.json").read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return {}
    return m if isinstance(m, dict) else {}


def stored_key(run_dir: Path) -> str | None:
    """The key recorded in a run's manifest, or None when it never succeeded."""
    return _manifest(run_dir).get("cache_key")


def stored_source_hash(run_dir: Path) -> str | None:
    """The full-source hash (markdown included) the run's pages were rendered from."""
    return _manifest(run_dir).get("source_hash")


def tree_hash(folder: Path, pattern: str) -> str:
    """Hash of the names and contents of the files under a folder that match a glob."""
    files = [
        p
        for p in folder.rglob(pattern)
        if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"
    ]
    return _files_digest(folder, files)
