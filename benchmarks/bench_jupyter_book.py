"""Benchmark: the six main notebooks, Jupyter Book 1 (myst-nb + jupyter-cache, forced
execution) against ``research run --force`` of the six main runs, in one process.

Goal (issue 13): research at most 0.5x Jupyter Book. Jupyter Book is a benchmark-only
dependency, not in the locks: ``.venv/bin/pip install ".[bench]"`` (jupyter-book<2), then
``.venv/bin/python benchmarks/bench_jupyter_book.py``. Without it the script says so and exits 0.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
MAIN_RUNS = [
    "overview",
    "h1-ratio",
    "h2-time",
    "h3h4-format-mediation",
    "specification-curve",
    "cases",
]


def project_copy(where: Path) -> Path:
    dest = where / "project"
    dest.mkdir(parents=True)
    for name in ("data", "notebooks"):
        shutil.copytree(ROOT / name, dest / name)
    shutil.copyfile(ROOT / "workbook.toml", dest / "workbook.toml")
    return dest


def jupyter_book(project: Path) -> float:
    book = project / "book"
    book.mkdir()
    nbs = sorted((project / "notebooks").glob("*.ipynb"))
    for nb in nbs:
        shutil.copyfile(nb, book / nb.name)
    (book / "_config.yml").write_text(
        "title: bench\nexecute:\n  execute_notebooks: force\n  timeout: 1200\n"
        "  allow_errors: false\n"
    )
    chapters = "".join(f"  - file: {nb.stem}\n" for nb in nbs[1:])
    (book / "_toc.yml").write_text(f"format: jb-book\nroot: {nbs[0].stem}\nchapters:\n{chapters}")
    start = time.perf_counter()
    # the notebooks find the data from their working folder upwards, or through RESEARCH_DATA
    subprocess.run(
        [str(BIN / "jupyter-book"), "build", str(book)],
        check=True,
        capture_output=True,
        cwd=project,
        env={**os.environ, "RESEARCH_DATA": str(project / "data")},
    )
    return time.perf_counter() - start


def main() -> int:
    if shutil.which("jupyter-book", path=str(BIN)) is None:
        print("jupyter-book is not installed: pip install '.[bench]' (jupyter-book<2) first")
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        jb = jupyter_book(project_copy(Path(tmp) / "jb"))
        ours_project = project_copy(Path(tmp) / "ours")
        start = time.perf_counter()
        subprocess.run(
            [str(BIN / "research"), "run", "-q", "--force", *MAIN_RUNS],
            check=True,
            capture_output=True,
            cwd=ours_project,
        )
        ours = time.perf_counter() - start
    ratio = ours / jb
    print(f"Jupyter Book 1, six notebooks, forced execution: {jb:.1f} s")
    print(
        f"research run --force, the six main runs: {ours:.1f} s -> {ratio:.2f}x "
        f"(goal <= 0.50x: {'met' if ratio <= 0.5 else 'NOT met'})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
