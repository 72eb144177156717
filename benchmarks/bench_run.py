"""Benchmark: a cold full run of every run in workbook.toml, and a no-op rerun.

Both are measured in one process on the same machine, against the naive baseline: each run
executed sequentially by the ``papermill`` CLI, then rendered by ``jupyter nbconvert --to
html``. Goals: cold full run at most 0.5x the baseline; no-op rerun at most 1.5 s wall.
Run: ``make bench`` (takes a few minutes).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
sys.path.insert(0, str(ROOT / "src"))

from research.workbook.config import load_workbook  # noqa: E402


def project_copy(where: Path) -> Path:
    dest = where / "project"
    dest.mkdir()
    for name in ("data", "notebooks"):
        shutil.copytree(ROOT / name, dest / name)
    shutil.copyfile(ROOT / "workbook.toml", dest / "workbook.toml")
    return dest


def timed(cmd: list[str], cwd: Path) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, cwd=cwd, check=True, capture_output=True)
    return time.perf_counter() - start


def naive(project: Path) -> float:
    """Every run by the papermill CLI, one after another, then nbconvert to HTML."""
    wb = load_workbook(project / "workbook.toml")
    out = project / "naive"
    out.mkdir()
    start = time.perf_counter()
    for run in wb.runs:
        executed = out / f"{run.id}.ipynb"
        params = [x for k, v in run.parameters.items() for x in ("-y", f"{k}: {v!r}")]
        params = [p.replace("True", "true").replace("False", "false") for p in params]
        subprocess.run(
            [
                str(BIN / "papermill"),
                str(run.notebook),
                str(executed),
                "-k",
                wb.kernel,
                "--cwd",
                str(out),
                *params,
            ],
            check=True,
            capture_output=True,
            cwd=project,
        )
        subprocess.run(
            [str(BIN / "jupyter"), "nbconvert", "--to", "html", str(executed)],
            check=True,
            capture_output=True,
            cwd=project,
        )
    return time.perf_counter() - start


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "naive").mkdir()
        (Path(tmp) / "ours").mkdir()
        baseline = naive(project_copy(Path(tmp) / "naive"))
        ours_project = project_copy(Path(tmp) / "ours")
        cold = timed([str(BIN / "research"), "run", "-q"], ours_project)
        noop = min(timed([str(BIN / "research"), "run", "-q"], ours_project) for _ in range(3))
    runs = len(load_workbook(ROOT / "workbook.toml").runs)
    print(f"runs: {runs}")
    print(f"naive baseline (papermill CLI + nbconvert, sequential): {baseline:.1f} s")
    print(
        f"research run, cold (parallel, HTML and site included): {cold:.1f} s "
        f"-> {cold / baseline:.2f}x baseline (goal <= 0.50x: "
        f"{'met' if cold / baseline <= 0.5 else 'NOT met'})"
    )
    print(
        f"research run, no-op rerun: {noop:.2f} s -> {noop / baseline:.3f}x baseline "
        f"(goal <= 1.5 s: {'met' if noop <= 1.5 else 'NOT met'})"
    )


if __name__ == "__main__":
    main()
