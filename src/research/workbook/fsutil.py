"""Atomic folder and file replacement, so a failed or interrupted step never leaves a
half-written output or destroys the last good one."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
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


LOCK_NAME = ".lock"
SWAP_LOCK_NAME = ".swap.lock"
GENERATION_NAME = ".generation"


_HELD: dict[str, int] = {}


class ProjectBusy(OSError):
    """Another ``research`` process holds the project's outputs/.lock."""


@contextlib.contextmanager
def project_lock(outputs: Path) -> Iterator[None]:
    """Hold ``outputs/.lock`` (``fcntl.flock``) for a whole run or publish.

    The kernel releases a flock when its holder dies, even by SIGKILL, so a crashed run never
    leaves the project locked. A second ``research run`` on the same project fails at once
    with a one-line message instead of duplicating all the work.
    """
    outputs.mkdir(parents=True, exist_ok=True)
    key = str(outputs.resolve())
    if _HELD.get(key):  # re-entered in this process (run, then publish): already ours
        _HELD[key] += 1
        try:
            yield
        finally:
            _HELD[key] -= 1
        return
    fd = os.open(outputs / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 64, 0).decode(errors="replace").strip() or "?"
            raise ProjectBusy(
                f"{outputs / LOCK_NAME}: another research process (pid {holder}) is running on "
                "this project; wait for it to finish or stop it"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        _HELD[key] = 1
        try:
            yield
        finally:
            _HELD.pop(key, None)
    finally:
        os.close(fd)  # closing the descriptor releases the lock


@contextlib.contextmanager
def swap_lock(outputs: Path) -> Iterator[None]:
    """A short blocking lock around a generation check and the swap that depends on it."""
    outputs.mkdir(parents=True, exist_ok=True)
    fd = os.open(outputs / SWAP_LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def current_generation(outputs: Path) -> int:
    try:
        return int((outputs / GENERATION_NAME).read_text().strip() or 0)
    except (FileNotFoundError, ValueError):
        return 0


def next_generation(outputs: Path) -> int:
    """Start a new batch generation: workers of older batches may no longer swap in."""
    with swap_lock(outputs):
        gen = current_generation(outputs) + 1
        tmp = outputs / f".{GENERATION_NAME}.tmp"
        tmp.write_text(f"{gen}\n")
        os.replace(tmp, outputs / GENERATION_NAME)
    return gen


def remove_stale(outputs: Path) -> list[Path]:
    """Remove leftovers of interrupted or killed batches: ``.batch-*``, ``.site-*`` and the
    ``.<name>.old-<pid>`` folders of an interrupted swap. Call only under :func:`project_lock`."""
    removed = []
    for pattern in (".batch-*", ".site-*"):
        for p in outputs.glob(pattern):
            shutil.rmtree(p, ignore_errors=True)
            removed.append(p)
    for parent in (outputs, outputs / "runs", outputs / "failed"):
        for p in parent.glob(".*.old-*") if parent.is_dir() else ():
            shutil.rmtree(p, ignore_errors=True)
            removed.append(p)
    return removed
