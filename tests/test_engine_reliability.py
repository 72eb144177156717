"""Reliability of the scheduler: SIGKILL and SIGHUP leave nothing behind, a late writer never
replaces newer outputs, a second run on the same project is refused, a crash in the scheduler
stops every worker, and the caller's folder never shadows modules (issue 13, defects 1-3)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import psutil
import pytest

from research import cli
from research.workbook import execute as execute_mod
from research.workbook.config import load_workbook
from research.workbook.fsutil import GENERATION_NAME, next_generation

from .conftest import RESEARCH, research

pytestmark = pytest.mark.slow

SLOW_AND_OK = """
[[run]]
id = "slow"
notebook = "notebooks/slow.ipynb"
[run.parameters]
seconds = 12.0

[[run]]
id = "ok"
notebook = "notebooks/ok.ipynb"
"""


def marked(mark: str) -> set[int]:
    """Pids of workers and kernels started under this test's marker (inherited through the
    environment), so processes of other helpers on a shared machine are never counted."""
    out = set()
    for p in psutil.process_iter(["pid", "cmdline"]):
        try:
            cmd = " ".join(p.info["cmdline"] or [])
            if ("ipykernel_launcher" in cmd or "research.workbook.worker" in cmd) and (
                p.environ().get("RESEARCH_TEST_MARK") == mark
            ):
                out.add(p.pid)
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue
    return out


def alive(pids: set[int]) -> set[int]:
    out = set()
    for p in pids:
        try:
            if psutil.Process(p).status() != psutil.STATUS_ZOMBIE:
                out.add(p)
        except psutil.NoSuchProcess:
            continue
    return out


def wait_gone(pids: set[int], seconds: float = 15) -> set[int]:
    deadline = time.time() + seconds
    while time.time() < deadline:
        if not alive(pids):
            return set()
        time.sleep(0.2)
    return alive(pids)


def start_slow(project: Path, mark: str) -> subprocess.Popen:
    """Start ``research run slow`` and wait until its kernel runs."""
    proc = subprocess.Popen(
        [RESEARCH, "run", "slow", "-q"],
        cwd=project,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "RESEARCH_TEST_MARK": mark},
    )
    deadline = time.time() + 90
    while time.time() < deadline:
        if any("ipykernel" in " ".join(psutil.Process(p).cmdline()) for p in marked(mark)):
            return proc
        time.sleep(0.2)
    proc.kill()
    pytest.fail("the slow run never started a kernel")


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGHUP])
def test_sigkill_or_sighup_leaves_no_process_and_no_late_writer(project_factory, sig):
    project = project_factory(SLOW_AND_OK)
    mark = uuid.uuid4().hex
    proc = start_slow(project, mark)
    ours = marked(mark)
    assert ours
    proc.send_signal(sig)
    proc.communicate(timeout=30)
    if sig == signal.SIGHUP:
        assert proc.returncode == 130  # handled like SIGTERM
    assert not wait_gone(ours | marked(mark)), "a worker or kernel outlived research run"
    time.sleep(14)  # past the slow run's 12 s: an orphan would have swapped in by now
    assert not (project / "outputs/runs/slow").exists(), "a late writer swapped in"
    # the leftovers of the killed batch are removed by the next run
    assert research(project, "run", "ok", "-q").returncode == 0
    assert not list((project / "outputs").glob(".batch-*"))


def test_a_second_run_on_the_same_project_is_refused(project_factory):
    project = project_factory(SLOW_AND_OK)
    mark = uuid.uuid4().hex
    first = start_slow(project, mark)
    try:
        second = research(project, "run", "ok", "-q", "--force")
        assert second.returncode == 1
        err = second.stderr.strip()
        assert len(err.splitlines()) == 1, err
        assert "outputs/.lock: another research process" in err
        assert f"pid {first.pid}" in err
    finally:
        first.send_signal(signal.SIGTERM)
        first.communicate(timeout=30)
    assert not wait_gone(marked(mark))
    assert not (project / "outputs/runs/ok").exists()


def test_a_worker_of_an_older_batch_never_swaps_in(project_factory, tmp_path):
    """The generation check before the swap: a worker whose batch is no longer current
    throws its result away instead of replacing newer outputs."""
    project = project_factory(SLOW_AND_OK)
    outputs = project / "outputs"
    old = next_generation(outputs)
    next_generation(outputs)  # a newer batch started meanwhile
    assert int((outputs / GENERATION_NAME).read_text()) == old + 1
    staging = tmp_path / "staging"
    job = {
        "run_id": "ok",
        "notebook": str(project / "notebooks/ok.ipynb"),
        "notebook_rel": "notebooks/ok.ipynb",
        "parameters": {},
        "kernel": "research-workbook",
        "staging_dir": str(staging),
        "final_dir": str(outputs / "runs/ok"),
        "failed_dir": str(outputs / "failed/ok"),
        "data_dir": str(project / "data"),
        "cache_key": "x",
        "status_file": str(tmp_path / "gone" / "ok.status.json"),
        "outputs": str(outputs),
        "generation": old,
        "data_checksums": {},
        "git": {},
    }
    (tmp_path / "job.json").write_text(json.dumps(job))
    proc = subprocess.run(
        [sys.executable, "-P", "-m", "research.workbook.worker", str(tmp_path / "job.json")],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert proc.returncode == 0, proc.stderr
    assert not (outputs / "runs/ok").exists()
    assert not staging.exists()
    assert not (tmp_path / "gone").exists()


def test_a_crash_in_the_scheduler_stops_every_worker(project_factory, monkeypatch):
    project = project_factory(SLOW_AND_OK)
    mark = uuid.uuid4().hex
    monkeypatch.setenv("RESEARCH_TEST_MARK", mark)
    wb = load_workbook(project / "workbook.toml")

    def full_disk(self, o):
        raise OSError(28, "No space left on device", str(self.tmp / "x"))

    monkeypatch.setattr(execute_mod.Batch, "_finish", full_disk)
    with pytest.raises(OSError, match="No space left"):
        execute_mod.execute(wb, wb.runs, project / "data", jobs=2, force=True)
    assert not wait_gone(marked(mark)), "a worker outlived the crashed scheduler"
    assert not psutil.Process().children(recursive=True)
    assert not (project / "outputs/runs/slow").exists()
    assert not list((project / "outputs").glob(".batch-*"))


def test_a_full_disk_during_publish_is_one_line(project_factory, monkeypatch, capsys):
    project = project_factory(SLOW_AND_OK)
    monkeypatch.chdir(project)

    def full_disk(*_a, **_k):
        raise OSError(28, "No space left on device", str(project / "outputs/site/index.html"))

    monkeypatch.setattr("research.workbook.publish.publish", full_disk)
    assert cli.main(["publish"]) == 1
    err = capsys.readouterr().err.strip()
    assert err == f"error: {project}/outputs/site/index.html: No space left on device"


def test_the_callers_folder_never_shadows_modules(project_factory):
    project = project_factory(SLOW_AND_OK)
    (project / "concurrent.py").write_text("raise SystemExit('the cwd shadowed concurrent')\n")
    (project / "json.py").write_text("raise SystemExit('the cwd shadowed json')\n")
    proc = research(project, "run", "ok", "-q")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert (project / "outputs/runs/ok/results.json").exists()
