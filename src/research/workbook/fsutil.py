"""Atomic folder and file replacement, so a failed or interrupted step never leaves a
half-written output or destroys the last good one."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path


def swap_in(staging: Path, final: Path) -> None:
    """Replace ``final`` with ``staging`` by renames on one filesystem.

    The old folder is renamed aside first and removed only after the new one is in place,
    so at every instant ``final`` is either the complete old or the complete new folder
    (between the two renames it is briefly absent, never half-written).
    """
    final.parent.mkdir(parents=True, exist_ok=True)
    trash = final.with_name(f".{final.name}.old-{os.getpid()}")
    if final.exists():
        final.rename(trash)
    staging.rename(final)
    shutil.rmtree(trash, ignore_errors=True)


def write_json(path: Path, obj: object) -> None:
    """Write JSON atomically (temp file, then rename), sorted keys, trailing newline."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(obj, fh, indent=2, sort_keys=True, ensure_ascii=False, default=str)
        fh.write("\n")
    os.replace(tmp, path)


def read_json(path: Path, default: object = None) -> object:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, json.JSONDecodeError):
        return default
