"""What each run's manifest.json records: parameters, data checksums, git commit and dirty
flag, Python, package and key library versions, kernel, seed and timings."""

from __future__ import annotations

import platform
import subprocess
from importlib import metadata
from pathlib import Path

KEY_LIBRARIES = (
    "pandas",
    "numpy",
    "scipy",
    "statsmodels",
    "matplotlib",
    "seaborn",
    "papermill",
    "nbconvert",
    "nbclient",
    "ipykernel",
)


def git_state(root: Path) -> dict[str, object]:
    """The commit checked out at ``root`` and whether the tree has uncommitted changes."""

    def git(*args: str) -> str | None:
        try:
            out = subprocess.run(
                ["git", "-C", str(root), *args], capture_output=True, text=True, timeout=10
            )
        except (OSError, subprocess.TimeoutExpired):
            return None
        return out.stdout.strip() if out.returncode == 0 else None

    commit = git("rev-parse", "HEAD")
    status = git("status", "--porcelain", "--untracked-files=no")
    return {"commit": commit, "dirty": None if status is None else bool(status)}


def versions() -> dict[str, object]:
    libs = {}
    for name in KEY_LIBRARIES:
        try:
            libs[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            libs[name] = None
    try:
        pkg = metadata.version("research")
    except metadata.PackageNotFoundError:
        pkg = None
    return {"python": platform.python_version(), "research": pkg, "libraries": libs}
