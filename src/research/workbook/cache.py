"""Cache keys: a run is skipped when nothing it depends on has changed.

The key covers the notebook source without outputs, the run's parameters, every data file,
the ``research`` package source, the installed distributions and their versions, the kernel
and the Python version. Quarto, Jupyter Book and ploomber miss data or library changes; the
key here does not.
"""

from __future__ import annotations

import hashlib
import json
import platform
from functools import lru_cache
from importlib import metadata
from pathlib import Path

from .config import Run, Workbook

PACKAGE_DIR = Path(__file__).resolve().parents[1]


def _digest(parts: list[bytes]) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(hashlib.sha256(part).digest())
    return h.hexdigest()


def notebook_source_hash(path: Path) -> str:
    """Hash of a notebook's cells (type and source) and kernel, ignoring outputs and counts."""
    from .params import read_notebook

    nb = read_notebook(path)
    cells = [
        {
            "t": c.get("cell_type"),
            "s": "".join(c.get("source", "")),
            "tags": sorted(c.get("metadata", {}).get("tags", [])),
        }
        for c in nb.get("cells", [])
    ]
    return _digest([json.dumps(cells, sort_keys=True).encode()])


@lru_cache(maxsize=8)
def tree_hash(folder: Path, pattern: str) -> str:
    """Hash of the names and contents of the files under a folder that match a glob."""
    files = sorted(
        p
        for p in folder.rglob(pattern)
        if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"
    )
    return _digest(
        [p.relative_to(folder).as_posix().encode() + b"\0" + p.read_bytes() for p in files]
    )


@lru_cache(maxsize=1)
def environment_hash() -> str:
    """Hash of every installed distribution's name and version (the locked environment)."""
    dists = sorted(
        f"{d.metadata['Name']}=={d.version}".lower()
        for d in metadata.distributions()
        if d.metadata["Name"] and d.metadata["Name"].lower() != "research"
    )
    return _digest(["\n".join(dists).encode(), platform.python_version().encode()])


def run_key(run: Run, workbook: Workbook, data_dir: Path) -> str:
    """The cache key of one run."""
    return _digest(
        [
            notebook_source_hash(run.notebook).encode(),
            json.dumps(dict(run.parameters), sort_keys=True, default=str).encode(),
            tree_hash(data_dir, "*").encode(),
            tree_hash(PACKAGE_DIR, "*").encode(),
            environment_hash().encode(),
            workbook.kernel.encode(),
        ]
    )


def stored_key(run_dir: Path) -> str | None:
    """The key recorded in a run's manifest, or None when it never succeeded."""
    try:
        return json.loads((run_dir / "manifest.json").read_text())["cache_key"]
    except (FileNotFoundError, KeyError, json.JSONDecodeError):
        return None
