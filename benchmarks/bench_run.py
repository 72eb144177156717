"""Benchmark: a cold full run of every run in workbook.toml, a no-op rerun, an edit to the
engine / site / prose (0 runs may re-execute) and a markdown-only edit (re-rendered, <= 3 s).

All are measured in one process on the same machine, against the naive baseline: each run
executed sequentially by the ``papermill`` CLI, then rendered by ``jupyter nbconvert --to
html``. Goals (issue 13): cold full run at most 0.35x the baseline; no-op rerun at most
0.5 s wall; engine, site or prose edit -> 0 re-executions; markdown-only edit -> re-rendered
in at most 3 s. Run: ``make bench`` (takes several minutes).

The engine edit appends a comment to src/research/workbook/pages.py of this checkout (the
installed package) and restores the file in a ``finally``.
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


def _statuses(project: Path) -> tuple[float, str]:
    start = time.perf_counter()
    out = subprocess.run(
        [str(BIN / "research"), "run", "-q"], cwd=project, check=True, capture_output=True
    ).stdout.decode()
    return time.perf_counter() - start, out


def _count(out: str, status: str) -> int:
    return sum(1 for line in out.splitlines() if f" {status} " in line)


def _edit_markdown(nb: Path) -> None:
    import json

    doc = json.loads(nb.read_text())
    md = next(c for c in doc["cells"] if c["cell_type"] == "markdown")
    md["source"] = "".join(md["source"]) + "\n\nEdited by the benchmark."
    nb.write_text(json.dumps(doc, indent=1))


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "naive").mkdir()
        (Path(tmp) / "ours").mkdir()
        baseline = naive(project_copy(Path(tmp) / "naive"))
        ours_project = project_copy(Path(tmp) / "ours")
        cold = timed([str(BIN / "research"), "run", "-q"], ours_project)
        noop = min(timed([str(BIN / "research"), "run", "-q"], ours_project) for _ in range(3))
        # prose and engine edits: nothing may re-execute
        (ours_project / "data" / "AUDIT.md").write_text("# a prose edit by the benchmark\n")
        pages = ROOT / "src/research/workbook/pages.py"
        original = pages.read_bytes()
        try:
            pages.write_bytes(original + b"\n# an engine edit by the benchmark\n")
            edit_s, edit_out = _statuses(ours_project)
        finally:
            pages.write_bytes(original)
        edit_ok = _count(edit_out, "ok") + _count(edit_out, "failed")
        _edit_markdown(ours_project / "notebooks" / "01_exchange_ratio.ipynb")
        md_s, md_out = _statuses(ours_project)
        md_exec, md_rendered = _count(md_out, "ok"), _count(md_out, "rendered")
    runs = len(load_workbook(ROOT / "workbook.toml").runs)
    print(f"runs: {runs}")
    print(f"naive baseline (papermill CLI + nbconvert, sequential): {baseline:.1f} s")
    print(
        f"research run, cold (parallel, HTML and site included): {cold:.1f} s "
        f"-> {cold / baseline:.2f}x baseline (goal <= 0.35x: "
        f"{'met' if cold / baseline <= 0.35 else 'NOT met'})"
    )
    print(
        f"research run, no-op rerun: {noop:.2f} s -> {noop / baseline:.3f}x baseline "
        f"(goal <= 0.5 s: {'met' if noop <= 0.5 else 'NOT met'})"
    )
    print(
        f"engine + prose edit: {edit_ok} runs re-executed in {edit_s:.2f} s "
        f"(goal 0: {'met' if edit_ok == 0 else 'NOT met'})"
    )
    print(
        f"markdown-only edit of notebook 01: {md_rendered} re-rendered, {md_exec} re-executed, "
        f"{md_s:.2f} s for the whole command (goal <= 3 s and 0 executed: "
        f"{'met' if md_s <= 3 and md_exec == 0 else 'NOT met'})"
    )


if __name__ == "__main__":
    main()
