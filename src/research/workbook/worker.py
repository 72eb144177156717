"""One run in its own process: papermill executes the notebook, nbconvert renders it, and the
outputs are swapped into place. Started by :mod:`research.workbook.execute`, never by hand.

Usage: ``python -m research.workbook.worker JOB.json``
"""

from __future__ import annotations

import os
import shutil
import sys
import time
from pathlib import Path

from .fsutil import read_json, swap_in, write_json
from .provenance import versions
from .render import render_html

NOTEBOOK = "notebook.ipynb"
HTML = "notebook.html"


def _environment(job: dict, staging: Path) -> None:
    os.environ.update(
        {
            "RESEARCH_RUN_DIR": str(staging),
            "RESEARCH_FIGURES_DIR": str(staging / "figures"),
            "RESEARCH_RUN_ID": job["run_id"],
            "MPLBACKEND": "Agg",
            "PYTHONHASHSEED": "0",
        }
    )
    if job.get("data_dir"):
        os.environ["RESEARCH_DATA_DIR"] = job["data_dir"]


def _execute(job: dict, staging: Path) -> dict:
    """Run papermill; return the error (cell, name, value) or an empty dict."""
    import papermill
    from papermill.exceptions import PapermillExecutionError

    try:
        papermill.execute_notebook(
            job["notebook"],
            str(staging / NOTEBOOK),
            parameters=job["parameters"],
            kernel_name=job["kernel"],
            cwd=str(staging),
            progress_bar=False,
            log_output=False,
            request_save_on_cell_execute=True,
        )
    except PapermillExecutionError as exc:
        return {
            "cell_index": exc.cell_index,
            "exec_count": exc.exec_count,
            "ename": exc.ename,
            "evalue": exc.evalue,
        }
    except Exception as exc:
        return {
            "cell_index": None,
            "exec_count": None,
            "ename": type(exc).__name__,
            "evalue": str(exc) or repr(exc),
        }
    return {}


def _effective_parameters(job: dict) -> dict:
    """The notebook's declared defaults with the run's values over them (shown on the page)."""
    from .params import declared_parameters

    try:
        defaults = {n: d.default for n, d in declared_parameters(Path(job["notebook"])).items()}
    except Exception:  # an unreadable notebook shows only the given values
        defaults = {}
    return {**defaults, **job["parameters"]}


def run_job(job: dict) -> dict:
    staging = Path(job["staging_dir"])
    staging.mkdir(parents=True, exist_ok=True)
    _environment(job, staging)
    started = time.time()
    error = _execute(job, staging)
    finished = time.time()
    status = "failed" if error else "ok"
    effective = _effective_parameters(job)
    if (staging / NOTEBOOK).exists():
        try:
            render_html(staging / NOTEBOOK, staging / HTML, job["run_id"], effective, status)
        except Exception as exc:
            error = error or {
                "cell_index": None,
                "exec_count": None,
                "ename": type(exc).__name__,
                "evalue": f"rendering failed: {exc}",
            }
            status = "failed"
    manifest = {
        "run_id": job["run_id"],
        "notebook": job["notebook_rel"],
        "parameters": job["parameters"],
        "effective_parameters": effective,
        "seed": effective.get("seed"),
        "kernel": job["kernel"],
        "data_checksums": job["data_checksums"],
        "git": job["git"],
        **versions(),
        "cache_key": job["cache_key"],
        "status": status,
        "error": error or None,
        "timings": {
            "started": started,
            "finished": finished,
            "seconds": round(finished - started, 3),
        },
        "title": job.get("title", ""),
        "hypothesis": job.get("hypothesis", ""),
    }
    write_json(staging / "manifest.json", manifest)
    final = Path(job["final_dir"] if status == "ok" else job["failed_dir"])
    swap_in(staging, final)
    if status == "ok":
        shutil.rmtree(job["failed_dir"], ignore_errors=True)
    return manifest


def main(argv: list[str]) -> int:
    job = read_json(Path(argv[0]))
    manifest = run_job(job)
    write_json(
        Path(job["status_file"]),
        {
            "status": manifest["status"],
            "error": manifest["error"],
            "seconds": manifest["timings"]["seconds"],
        },
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
