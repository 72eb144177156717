"""Execute runs in parallel worker processes, with caching, timeouts and clean shutdown.

Each run executes in its own process (:mod:`research.workbook.worker`) that starts its own
kernel; the scheduler here owns the batch: it checks every parameter first, skips cached runs,
keeps at most ``jobs`` workers busy, kills a run past its timeout together with its kernel,
and on Ctrl-C or SIGTERM stops every worker and kernel before it exits.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from ..data import file_checksums
from .cache import notebook_source_hash, run_key, stored_key, stored_source_hash
from .config import Run, Workbook
from .fsutil import next_generation, project_lock, read_json, remove_stale, swap_in, write_json
from .params import check_parameters
from .provenance import git_state

POLL_SECONDS = 0.05
logger = logging.getLogger(__name__)


STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class Interrupted(Exception):
    """The batch was stopped by SIGINT, SIGTERM or SIGHUP (a closed terminal)."""


@dataclass
class Outcome:
    """What happened to one run in this batch."""

    run: Run
    status: str  # ok, failed, cached, pending, running
    seconds: float = 0.0
    error: dict | None = None
    key: str = ""
    started: float = 0.0
    proc: subprocess.Popen | None = field(default=None, repr=False)
    staging: Path | None = None

    @property
    def error_text(self) -> str:
        if not self.error:
            return ""
        cell = self.error.get("cell_index")
        where = f"cell {cell + 1}: " if cell is not None else ""  # people count from 1
        return f"{where}{self.error.get('ename')}: {self.error.get('evalue')}"


def plan(workbook: Workbook, runs: Sequence[Run], data_dir: Path, force: bool) -> list[Outcome]:
    """Decide per run: cached (skip), rerender (only markdown changed) or pending (execute)."""
    out = []
    for run in runs:
        key = run_key(run, workbook, data_dir)
        final = workbook.runs_dir / run.id
        failed = (workbook.failed_dir / run.id).exists()
        stored = stored_key(final)
        status = "pending"
        if not force and not failed and stored == key:
            same_text = stored_source_hash(final) == notebook_source_hash(run.notebook)
            status = "cached" if same_text else "rerender"
        logger.debug(
            "%s: cache key %s, stored %s -> %s", run.id, key[:12], (stored or "-")[:12], status
        )
        out.append(Outcome(run, status, key=key))
    return out


def merge_markdown(executed: dict, source: dict) -> dict:
    """The executed notebook with the source's markdown: code cells (with their outputs) are
    taken in order from ``executed``, every other cell from ``source``. Only valid when the
    code cells are unchanged, which the cache key guarantees."""
    injected = [
        c
        for c in executed["cells"]
        if "injected-parameters" in c.get("metadata", {}).get("tags", [])
    ]
    code = iter(c for c in executed["cells"] if c.get("cell_type") == "code" and c not in injected)
    cells = []
    for c in source["cells"]:
        if c.get("cell_type") == "code":
            cells.append(next(code))
            if "parameters" in c.get("metadata", {}).get("tags", []):
                cells += injected
        else:
            cells.append(c)
    return {**executed, "cells": cells}


def rerender(workbook: Workbook, o: Outcome) -> None:
    """Re-render a run whose markdown alone changed, without starting a kernel."""
    import json

    from .fsutil import swap_lock
    from .params import read_notebook
    from .render import render_html

    started = time.time()
    final = workbook.runs_dir / o.run.id
    staging = Path(tempfile.mkdtemp(prefix=".batch-render-", dir=workbook.outputs))
    try:
        shutil.copytree(final, staging, dirs_exist_ok=True)
        executed = json.loads((staging / "notebook.ipynb").read_text(encoding="utf-8"))
        merged = merge_markdown(executed, read_notebook(o.run.notebook))
        (staging / "notebook.ipynb").write_text(
            json.dumps(merged, indent=1, ensure_ascii=False) + "\n", encoding="utf-8"
        )
        manifest = read_json(staging / "manifest.json", {})
        params = manifest.get("effective_parameters") or dict(o.run.parameters)
        render_html(staging / "notebook.ipynb", staging / "notebook.html", o.run.id, params, "ok")
        manifest["source_hash"] = notebook_source_hash(o.run.notebook)
        manifest["rendered"] = {"at": time.time(), "markdown_only": True}
        write_json(staging / "manifest.json", manifest)
        with swap_lock(workbook.outputs):
            swap_in(staging, final)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    o.status, o.seconds = "rendered", round(time.time() - started, 3)


def kill_tree(pid: int, grace: float = 3.0) -> None:
    """Terminate a process and all its descendants (its kernel too), then kill stragglers."""
    try:
        root = psutil.Process(pid)
        procs = [*root.children(recursive=True), root]
    except psutil.NoSuchProcess:
        return
    for p in procs:
        with contextlib.suppress(psutil.NoSuchProcess):
            p.terminate()
    _, alive = psutil.wait_procs(procs, timeout=grace)
    for p in alive:
        with contextlib.suppress(psutil.NoSuchProcess):
            p.kill()
    psutil.wait_procs(alive, timeout=grace)


class Batch:
    """Runs the pending outcomes with at most ``jobs`` workers at once."""

    def __init__(
        self,
        workbook: Workbook,
        outcomes: list[Outcome],
        data_dir: Path,
        jobs: int,
        timeout: float,
        on_change: Callable[[list[Outcome]], None],
    ):
        self.workbook, self.outcomes, self.data_dir = workbook, outcomes, data_dir
        self.jobs, self.timeout, self.on_change = max(1, jobs), timeout, on_change
        remove_stale(workbook.outputs)  # the caller holds the project lock: nothing else runs
        self.generation = next_generation(workbook.outputs)
        self.tmp = Path(tempfile.mkdtemp(prefix=".batch-", dir=workbook.outputs))
        self.common = {"data_checksums": file_checksums(data_dir), "git": git_state(workbook.root)}
        self.stop_signal: int | None = None

    def _job(self, o: Outcome) -> Path:
        rid = o.run.id
        o.staging = self.tmp / rid
        job = {
            "run_id": rid,
            "notebook": str(o.run.notebook),
            "notebook_rel": os.path.relpath(o.run.notebook, self.workbook.root),
            "parameters": dict(o.run.parameters),
            "kernel": self.workbook.kernel,
            "staging_dir": str(o.staging),
            "final_dir": str(self.workbook.runs_dir / rid),
            "failed_dir": str(self.workbook.failed_dir / rid),
            "data_dir": str(self.data_dir),
            "cache_key": o.key,
            "source_hash": notebook_source_hash(o.run.notebook),
            "status_file": str(self.tmp / f"{rid}.status.json"),
            "title": o.run.title,
            "hypothesis": o.run.hypothesis,
            "outputs": str(self.workbook.outputs),
            "generation": self.generation,
            "parent_pid": os.getpid(),
            **self.common,
        }
        path = self.tmp / f"{rid}.job.json"
        write_json(path, job)
        return path

    def _start(self, o: Outcome) -> None:
        job = self._job(o)
        log = open(self.tmp / f"{o.run.id}.log", "wb")  # noqa: SIM115 - closed with the process
        o.proc = subprocess.Popen(
            # -P: the caller's folder is never put on sys.path, so a concurrent.py there
            # cannot shadow the standard library
            [sys.executable, "-P", "-m", "research.workbook.worker", str(job)],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # Ctrl-C reaches the scheduler, which stops the workers
            cwd=self.workbook.root,
        )
        o.status, o.started = "running", time.time()
        logger.debug(
            "%s: worker pid %d started (generation %d)", o.run.id, o.proc.pid, self.generation
        )

    def _finish(self, o: Outcome) -> None:
        o.seconds = round(time.time() - o.started, 3)
        status = read_json(self.tmp / f"{o.run.id}.status.json")
        if status and o.proc and o.proc.returncode == 0:
            o.status, o.error = status["status"], status["error"]
        else:
            log = (self.tmp / f"{o.run.id}.log").read_text(errors="replace")[-2000:]
            self._fail(
                o,
                {
                    "cell_index": None,
                    "ename": "WorkerDied",
                    "evalue": f"the worker exited with {o.proc.returncode}: {log.strip()}",
                },
            )

    def _fail(self, o: Outcome, error: dict) -> None:
        """Keep whatever the run left (its partial notebook) in failed/<run>, with the error."""
        o.status, o.error = "failed", error
        if o.staging:
            o.staging.mkdir(parents=True, exist_ok=True)  # the worker may have died before
            manifest = {
                "run_id": o.run.id,
                "status": "failed",
                "error": error,
                "parameters": dict(o.run.parameters),
                "cache_key": o.key,
                "notebook": os.path.relpath(o.run.notebook, self.workbook.root),
            }
            write_json(o.staging / "manifest.json", manifest)
            _render_partial(o)
            swap_in(o.staging, self.workbook.failed_dir / o.run.id)

    def _poll(self) -> bool:
        changed = False
        for o in self.outcomes:
            if o.status != "running":
                continue
            if o.proc.poll() is not None:
                self._finish(o)
                changed = True
            elif self.timeout and time.time() - o.started > self.timeout:
                kill_tree(o.proc.pid)
                o.seconds = round(time.time() - o.started, 3)
                self._fail(
                    o,
                    {
                        "cell_index": None,
                        "ename": "Timeout",
                        "evalue": f"the run exceeded --timeout {self.timeout:g} s",
                    },
                )
                changed = True
        return changed

    def _handle(self, signum, _frame) -> None:
        self.stop_signal = signum

    def _stop_all(self) -> None:
        for o in self.outcomes:
            if o.status == "running" and o.proc:
                kill_tree(o.proc.pid)
                o.status = "interrupted"

    def run(self) -> list[Outcome]:
        old = {s: signal.signal(s, self._handle) for s in STOP_SIGNALS}
        try:
            while True:
                if self.stop_signal is not None:
                    raise Interrupted(signal.Signals(self.stop_signal).name)
                running = sum(o.status == "running" for o in self.outcomes)
                for o in self.outcomes:
                    if o.status == "pending" and running < self.jobs:
                        self._start(o)
                        running += 1
                        self.on_change(self.outcomes)
                if self._poll():
                    self.on_change(self.outcomes)
                if not any(o.status in ("pending", "running") for o in self.outcomes):
                    return self.outcomes
                time.sleep(POLL_SECONDS)
        except (Interrupted, KeyboardInterrupt):
            self._stop_all()
            raise Interrupted("interrupted") from None
        except BaseException:
            self._stop_all()  # a crash anywhere in the scheduler stops every worker
            raise
        finally:
            for s, h in old.items():
                signal.signal(s, h)
            shutil.rmtree(self.tmp, ignore_errors=True)


def _render_partial(o: Outcome) -> None:
    from .render import render_html

    nb = o.staging / "notebook.ipynb"
    if nb.exists() and not (o.staging / "notebook.html").exists():
        # a partial notebook may not render; the run's error is kept either way
        with contextlib.suppress(Exception):
            render_html(nb, o.staging / "notebook.html", o.run.id, dict(o.run.parameters), "failed")


def execute(
    workbook: Workbook,
    runs: Sequence[Run],
    data_dir: Path,
    *,
    jobs: int | None = None,
    force: bool = False,
    timeout: float | None = None,
    on_change: Callable[[list[Outcome]], None] = lambda _o: None,
) -> list[Outcome]:
    """Check parameters, then execute every run that is not cached.

    Raises
    ------
    ParameterError
        Before anything executes, for the first bad parameter of any run to execute.
    Interrupted
        On SIGINT or SIGTERM, after every worker and kernel has been stopped.
    """
    outcomes = plan(workbook, runs, data_dir, force)
    for o in outcomes:
        if o.status == "pending":
            check_parameters(o.run.id, o.run.notebook, o.run.parameters, workbook.domains)
    if not any(o.status in ("pending", "rerender") for o in outcomes):
        return outcomes
    workbook.outputs.mkdir(parents=True, exist_ok=True)
    jobs = jobs or os.cpu_count() or 1
    with project_lock(workbook.outputs):
        for o in outcomes:
            if o.status == "rerender":
                rerender(workbook, o)
                on_change(outcomes)
        if not any(o.status == "pending" for o in outcomes):
            return outcomes
        batch = Batch(workbook, outcomes, data_dir, jobs, timeout or workbook.timeout, on_change)
        return batch.run()


def run_status(workbook: Workbook, run: Run, data_dir: Path) -> str:
    """For ``research list``: cached, stale, failed or new."""
    if (workbook.failed_dir / run.id).exists():
        return "failed"
    stored = stored_key(workbook.runs_dir / run.id)
    if stored is None:
        logger.debug("%s: no stored cache key: new", run.id)
        return "new"
    key = run_key(run, workbook, data_dir)
    logger.debug("%s: cache key %s, stored %s", run.id, key[:12], stored[:12])
    if stored != key:
        return "stale"
    same_text = stored_source_hash(workbook.runs_dir / run.id) == notebook_source_hash(run.notebook)
    return "cached" if same_text else "markdown edited"


def summary_rows(outcomes: Sequence[Outcome], workbook: Workbook) -> list[dict]:
    rows = []
    for o in outcomes:
        base = workbook.failed_dir if o.status == "failed" else workbook.runs_dir
        rows.append(
            {
                "run": o.run.id,
                "status": o.status,
                "seconds": o.seconds,
                "outputs": os.path.relpath(base / o.run.id, Path.cwd()),
                "error": o.error_text,
            }
        )
    return rows
