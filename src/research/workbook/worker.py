"""One run in its own process: papermill executes the notebook, nbconvert renders it, and the
outputs are swapped into place. Started by :mod:`research.workbook.execute`, never by hand.

Usage: ``python -m research.workbook.worker JOB.json``
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import shutil
import signal
import sys
import threading
import time
from pathlib import Path

from .fsutil import current_generation, read_json, swap_in, swap_lock, write_json
from .provenance import versions
from .render import render_html

NOTEBOOK = "notebook.ipynb"
HTML = "notebook.html"


PR_SET_PDEATHSIG = 1
WATCH_SECONDS = 0.25


def _kill_children_and_exit(code: int) -> None:
    """Stop this worker's kernel (every descendant) and exit at once."""
    import psutil

    try:
        procs = psutil.Process().children(recursive=True)
    except psutil.Error:
        procs = []
    for p in procs:
        with contextlib.suppress(psutil.Error):
            p.terminate()
    _, alive = psutil.wait_procs(procs, timeout=2)
    for p in alive:
        with contextlib.suppress(psutil.Error):
            p.kill()
    os._exit(code)


def die_with_parent(parent: int) -> None:
    """Make sure this worker and its kernel never outlive the scheduler that started them.

    Three layers: on Linux the kernel sends SIGTERM when the parent dies (``PR_SET_PDEATHSIG``),
    SIGTERM and SIGHUP stop the kernel before exiting, and a watchdog thread checks the parent
    pid (for other systems, and for the moment before ``prctl`` took effect).
    """
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, lambda signum, _f: _kill_children_and_exit(128 + signum))
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    if os.getppid() != parent:
        _kill_children_and_exit(1)

    def watch() -> None:
        while True:
            if os.getppid() != parent:
                _kill_children_and_exit(1)
            time.sleep(WATCH_SECONDS)

    threading.Thread(target=watch, name="parent-watchdog", daemon=True).start()


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


def stable_cell_ids(notebook: Path) -> None:
    """Give papermill's injected-parameters cell a fixed id instead of a random one, so the
    executed notebook and its HTML are the same on every run."""
    import json

    try:
        nb = json.loads(notebook.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return
    taken = {c.get("id") for c in nb.get("cells", [])}
    changed = False
    for i, cell in enumerate(nb.get("cells", [])):
        if "injected-parameters" in cell.get("metadata", {}).get("tags", []):
            new = "injected-parameters" if "injected-parameters" not in taken else f"injected-{i}"
            if cell.get("id") != new:
                cell["id"], changed = new, True
    if changed:
        tmp = notebook.with_suffix(".tmp")
        tmp.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        os.replace(tmp, notebook)


OUTPUT_CAP = 100_000  # characters of printed text kept per output (head and tail)


def _cap(text: str, cap: int) -> tuple[str, bool]:
    if len(text) <= cap:
        return text, False
    head, tail = text[: cap // 2], text[-cap // 2 :]
    cut = len(text) - len(head) - len(tail)
    notice = (
        f"\n[... {cut:,} characters of printed output cut here by the research workbook "
        f"(at most {cap:,} kept per output; print less or write a file) ...]\n"
    )
    return head + notice + tail, True


def cap_outputs(notebook: Path, cap: int = OUTPUT_CAP) -> int:
    """Cut printed text (streams, plain-text results, tracebacks excepted) longer than ``cap``
    characters to its head and tail with a notice, so a chatty cell does not copy megabytes
    into the executed notebook, its page and the site. Returns how many outputs were cut."""
    import json

    try:
        nb = json.loads(notebook.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return 0
    n = 0
    for cell in nb.get("cells", []):
        for out in cell.get("outputs", []) or []:
            if out.get("output_type") == "stream":
                text = "".join(out.get("text", ""))
                out["text"], cut = _cap(text, cap)
                n += cut
            for mime in ("text/plain", "text/html"):
                data = out.get("data") or {}
                if mime in data:
                    text = "".join(data[mime])
                    data[mime], cut = _cap(text, cap)
                    n += cut
    if n:
        tmp = notebook.with_suffix(".tmp")
        tmp.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        os.replace(tmp, notebook)
    return n


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
    truncated = 0
    if (staging / NOTEBOOK).exists():
        stable_cell_ids(staging / NOTEBOOK)
        truncated = cap_outputs(staging / NOTEBOOK)
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
        "source_hash": job.get("source_hash"),
        "truncated_outputs": truncated,
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
    outputs = Path(job["outputs"]) if job.get("outputs") else None
    with swap_lock(outputs) if outputs else contextlib.nullcontext():
        # a late writer never replaces newer outputs: a worker whose batch is no longer the
        # current one (its scheduler died, a later run started) throws its work away
        parent = job.get("parent_pid")
        stale = outputs is not None and current_generation(outputs) != job.get("generation")
        if stale or (parent is not None and os.getppid() != parent):
            shutil.rmtree(staging, ignore_errors=True)
            manifest["status"] = "superseded"
            return manifest
        swap_in(staging, final)
        if status == "ok":
            shutil.rmtree(job["failed_dir"], ignore_errors=True)
    return manifest


def main(argv: list[str]) -> int:
    job = read_json(Path(argv[0]))
    if job.get("parent_pid") is not None:
        die_with_parent(job["parent_pid"])
    manifest = run_job(job)
    if manifest["status"] == "superseded" or not Path(job["status_file"]).parent.is_dir():
        return 0  # the batch that started this worker is gone; nobody reads a status
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
