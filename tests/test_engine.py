"""The engine end to end: real notebooks executed by papermill in worker processes."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import time
import uuid
from pathlib import Path

import psutil
import pytest

from .conftest import RESEARCH, research

pytestmark = pytest.mark.slow

OK_AND_FAIL = """
[[run]]
id = "ok"
notebook = "notebooks/ok.ipynb"
[run.parameters]
n = 5
seed = 3

[[run]]
id = "fail"
notebook = "notebooks/fail.ipynb"
"""


def kernels(parent: int | None = None) -> set[int]:
    """Pids of running IPython kernels, all or one process's descendants."""
    out = set()
    procs = (
        psutil.process_iter(["pid", "cmdline"])
        if parent is None
        else psutil.Process(parent).children(recursive=True)
    )
    for p in procs:
        try:
            p.info = {"pid": p.pid, "cmdline": p.cmdline()}
        except psutil.NoSuchProcess:
            continue
        cmd = " ".join(p.info["cmdline"] or [])
        if "ipykernel_launcher" in cmd:
            out.add(p.info["pid"])
    return out


def marked_kernels(mark: str) -> set[int]:
    """Pids of kernels started under this test's marker (inherited through the environment),
    so kernels of other processes on a shared machine are never mistaken for ours."""
    out = set()
    for p in psutil.process_iter(["pid", "cmdline"]):
        try:
            if "ipykernel_launcher" in " ".join(p.info["cmdline"] or []) and (
                p.environ().get("RESEARCH_TEST_MARK") == mark
            ):
                out.add(p.pid)
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return out


def marked_env() -> tuple[str, dict]:
    mark = uuid.uuid4().hex
    return mark, {**os.environ, "RESEARCH_TEST_MARK": mark}


def wait_gone(pids: set[int], seconds: float = 10) -> set[int]:
    deadline = time.time() + seconds
    while time.time() < deadline:
        alive = {
            p
            for p in pids
            if psutil.pid_exists(p) and psutil.Process(p).status() != psutil.STATUS_ZOMBIE
        }
        if not alive:
            return set()
        time.sleep(0.2)
    return alive


def results(project: Path, run: str) -> list[dict]:
    return json.loads((project / "outputs" / "runs" / run / "results.json").read_text())


def test_bad_parameter_is_rejected_before_anything_executes(project_factory):
    project = project_factory(OK_AND_FAIL)
    proc = research(project, "run", "-p", "nn=3")
    assert proc.returncode == 2
    assert "run 'ok': parameter 'nn': unknown to ok.ipynb" in proc.stderr
    assert "The notebook accepts: n: int = 3" in proc.stderr
    assert not (project / "outputs" / "runs").exists()
    assert not (project / "outputs" / "failed").exists()


def test_string_values_arrive_as_data(project_factory):
    project = project_factory(OK_AND_FAIL)
    nasty = 'quote " and \' and \\ backslash\nnewline"; import os; os._exit(3) #\u00e9'
    proc = research(project, "run", "ok", "-q", "-p", f"label={nasty}")
    assert proc.returncode == 0, proc.stderr
    echo = {r["name"]: r for r in results(project, "ok")}["label_echo"]
    assert echo["method"] == nasty
    assert echo["estimate"] == len(nasty)


def test_failure_does_not_stop_the_batch_and_is_kept(project_factory):
    project = project_factory(OK_AND_FAIL)
    mark, env = marked_env()
    proc = research(project, "run", "-q", "-j", "2", env=env)
    assert proc.returncode == 1
    out = proc.stdout
    assert "fail" in out and "cell 4" in out and "ValueError" in out
    assert (project / "outputs/runs/ok/results.json").exists()
    kept = project / "outputs/failed/fail"
    nb = json.loads((kept / "notebook.ipynb").read_text())
    errors = [
        o for c in nb["cells"] for o in c.get("outputs", []) if o.get("output_type") == "error"
    ]
    assert errors and errors[0]["evalue"] == "deliberate failure for the test"
    manifest = json.loads((kept / "manifest.json").read_text())
    assert manifest["error"]["ename"] == "ValueError" and manifest["error"]["cell_index"] == 3
    index = (project / "outputs/site/index.html").read_text()
    assert 'href="failed/fail.html"' in index and "deliberate failure for the test" in index
    assert (project / "outputs/site/failed/fail.html").exists()
    assert not wait_gone(marked_kernels(mark))


def test_a_failed_rerun_keeps_the_last_good_outputs(project_factory):
    project = project_factory(OK_AND_FAIL)
    assert research(project, "run", "ok", "-q").returncode == 0
    good = (project / "outputs/runs/ok/results.json").read_bytes()
    proc = research(project, "run", "ok", "-q", "-p", "n=-1")  # numpy rejects a negative size
    assert proc.returncode == 1
    assert (project / "outputs/runs/ok/results.json").read_bytes() == good
    assert (project / "outputs/failed/ok/notebook.ipynb").exists()


def test_kernel_death_and_timeout_fail_without_orphans(project_factory):
    project = project_factory("""
[[run]]
id = "die"
notebook = "notebooks/die.ipynb"

[[run]]
id = "slow"
notebook = "notebooks/slow.ipynb"
""")
    mark, env = marked_env()
    start = time.time()
    proc = research(project, "run", "-q", "--timeout", "20", env=env)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    print(proc.stdout)
    assert time.time() - start < 90
    die = json.loads((project / "outputs/failed/die/manifest.json").read_text())
    assert die["error"]["ename"] == "DeadKernelError"
    slow = json.loads((project / "outputs/failed/slow/manifest.json").read_text())
    assert slow["error"]["ename"] == "Timeout"
    assert "exceeded --timeout 20 s" in proc.stdout
    assert not wait_gone(marked_kernels(mark)), "a kernel was left running"


def test_sigterm_stops_workers_and_keeps_the_site(project_factory):
    project = project_factory("""
[[run]]
id = "slow"
notebook = "notebooks/slow.ipynb"

[[run]]
id = "ok"
notebook = "notebooks/ok.ipynb"
""")
    assert research(project, "run", "ok", "-q").returncode == 0
    site = project / "outputs/site"
    snapshot = {p: p.read_bytes() for p in site.rglob("*") if p.is_file()}
    proc = subprocess.Popen(
        [RESEARCH, "run", "slow", "-q"],
        cwd=project,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.time() + 60
    while not kernels(proc.pid) and time.time() < deadline:
        time.sleep(0.2)
    mine = kernels(proc.pid)
    assert mine, "the slow run never started a kernel"
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130
    assert "interrupted" in err
    assert {p: p.read_bytes() for p in site.rglob("*") if p.is_file()} == snapshot
    assert not wait_gone(mine), "a kernel was left running"


def test_cache_skips_unchanged_runs_and_tracks_notebooks_and_data(project_factory):
    project = project_factory("""
[[run]]
id = "ok"
notebook = "notebooks/ok.ipynb"

[[run]]
id = "req"
notebook = "notebooks/required.ipynb"
[run.parameters]
country = "X"
""")

    def statuses(*args):
        proc = research(project, "run", "-q", *args)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        listing = research(project, "list").stdout
        return proc.stdout, listing

    statuses()
    out, listing = statuses()
    assert out.count("cached") == 2
    assert listing.count("cached") == 2
    nb = project / "notebooks/required.ipynb"
    doc = json.loads(nb.read_text())
    doc["cells"][-1]["source"] = "print(country, years, 'edited')"
    nb.write_text(json.dumps(doc))
    assert "stale" in research(project, "list", "req").stdout
    out, _ = statuses()
    assert out.count("cached") == 1 and "│ req " in out and "│ ok " in out
    rows = [line for line in out.splitlines() if "│ ok " in line]
    assert "cached" in rows[0]
    with (project / "data/exchanges.csv").open("a") as fh:
        fh.write("\n")  # a blank line: same data, different file
    out, _ = statuses()
    assert "cached" not in out
    out, _ = statuses("--force")
    assert "cached" not in out


def test_force_reruns_are_byte_identical_and_manifest_has_provenance(project_factory):
    project = project_factory(OK_AND_FAIL)
    subprocess.run(["git", "init", "-q"], cwd=project, check=True)
    subprocess.run(
        ["git", "-c", "user.email=t@t", "-c", "user.name=t", "add", "."], cwd=project, check=True
    )
    subprocess.run(
        ["git", "-c", "user.email=t@t", "-c", "user.name=t", "commit", "-qm", "x"],
        cwd=project,
        check=True,
    )
    assert research(project, "run", "ok", "-q", "--force").returncode == 0
    first = (project / "outputs/runs/ok/results.json").read_bytes()
    assert research(project, "run", "ok", "-q", "--force").returncode == 0
    assert (project / "outputs/runs/ok/results.json").read_bytes() == first
    m = json.loads((project / "outputs/runs/ok/manifest.json").read_text())
    assert m["parameters"] == {"n": 5, "seed": 3} and m["seed"] == 3
    assert m["effective_parameters"] == {
        "n": 5,
        "label": "default",
        "seed": 3,
        "flag": False,
        "scale": 1.5,
    }
    for name, digest in m["data_checksums"].items():
        assert hashlib.sha256((project / "data" / name).read_bytes()).hexdigest() == digest
    head = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=project, capture_output=True, text=True
    ).stdout.strip()
    assert m["git"]["commit"] == head
    assert m["git"]["dirty"] is False  # outputs/ is untracked, not a change
    assert m["kernel"] == "research-workbook"
    assert m["python"].startswith("3.11") and m["libraries"]["pandas"]
    assert m["timings"]["seconds"] > 0 and m["status"] == "ok"
    assert os.path.exists(project / "outputs/runs/ok/notebook.html")
