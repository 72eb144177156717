"""``research lab``: JupyterLab on the project, with the project kernel, headless.

The test starts the server as ``make lab`` does (``research lab``, which execs JupyterLab
rooted at the project with ``research-workbook`` as the default kernel) on a free loopback
port with a token, and talks to it the way the browser would: REST for contents and kernels,
the kernel's websocket for code. The kernel reads a fixture copy of the data through
``RESEARCH_DATA_DIR``, so the test does not depend on the real data. At the end no process
it started may be left.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import psutil
import pytest

from .conftest import RESEARCH, ROOT

KERNEL = "research-workbook"
STARTUP_SECONDS = 90
CODE = "import research; ds = research.load(); print(len(ds.exchanges))"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Lab:
    """A running ``research lab`` server and a token-authenticated client for its API."""

    def __init__(self, tmp: Path, data_dir: Path):
        self.port, self.token = _free_port(), secrets.token_hex(16)
        self.children_before = {c.pid for c in psutil.Process().children(recursive=True)}
        self.log_path = tmp / "lab.log"
        jupyter = tmp / "jupyter"
        env = {
            **os.environ,
            "RESEARCH_DATA_DIR": str(data_dir),
            # A private config, data and runtime dir: no user settings or kernels leak in, and
            # the kernel can only come from the venv, where the Makefile registered it.
            "JUPYTER_CONFIG_DIR": str(jupyter / "config"),
            "JUPYTER_DATA_DIR": str(jupyter / "data"),
            "JUPYTER_RUNTIME_DIR": str(jupyter / "runtime"),
            "IPYTHONDIR": str(jupyter / "ipython"),
        }
        # Options go in the private config dir: `research lab` passes extra arguments on to
        # JupyterLab, but this test is about the server it starts, not argument parsing.
        config = {
            # allow_root: CI and containers run as root, where Jupyter otherwise refuses.
            "ServerApp": {"ip": "127.0.0.1", "port": self.port, "port_retries": 0,
                          "open_browser": False, "allow_root": True},
            "IdentityProvider": {"token": self.token},
        }  # fmt: skip
        (jupyter / "config").mkdir(parents=True)
        (jupyter / "config" / "jupyter_server_config.json").write_text(json.dumps(config))
        argv = [RESEARCH, "lab"]
        with self.log_path.open("wb") as log:
            self.proc = subprocess.Popen(
                argv, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, start_new_session=True,
            )  # fmt: skip

    @property
    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:]

    def api(self, method: str, path: str, body: dict | None = None) -> tuple[int, object]:
        """Call the REST API; returns the status and the decoded JSON body (or None)."""
        req = urllib.request.Request(
            f"http://127.0.0.1:{self.port}{path}",
            method=method,
            data=None if body is None else json.dumps(body).encode(),
            headers={"Authorization": f"token {self.token}", "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                raw = resp.read()
                return resp.status, json.loads(raw) if raw else None
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode(errors="replace")

    def wait_ready(self) -> None:
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(f"the lab server exited with {self.proc.returncode}:\n{self.log}")
            try:
                if self.api("GET", "/api/status")[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.25)
        pytest.fail(f"the lab server did not answer within {STARTUP_SECONDS} s:\n{self.log}")

    def shutdown(self) -> int:
        """Ask the server to stop, as the Lab's File > Shut Down does; returns its exit code."""
        status, _ = self.api("POST", "/api/shutdown")
        assert status == 200, self.log
        return self.proc.wait(timeout=30)


def _message(session: str, code: str) -> dict:
    return {
        "header": {
            "msg_id": uuid.uuid4().hex,
            "session": session,
            "username": "test",
            "msg_type": "execute_request",
            "version": "5.3",
        },
        "parent_header": {},
        "metadata": {},
        "content": {
            "code": code,
            "silent": False,
            "store_history": False,
            "user_expressions": {},
            "allow_stdin": False,
            "stop_on_error": True,
        },
        "channel": "shell",
        "buffers": [],
    }


def execute(lab: Lab, kernel_id: str, code: str, timeout: float = 120) -> tuple[dict, str, list]:
    """Run code through the kernel's websocket, as the Lab frontend does.

    Returns the execute_reply content, the stdout text and any error messages.
    """
    import websocket

    ws = websocket.create_connection(
        f"ws://127.0.0.1:{lab.port}/api/kernels/{kernel_id}/channels",
        header=[f"Authorization: token {lab.token}"],
        timeout=timeout,
        suppress_origin=True,
    )
    try:
        request = _message(uuid.uuid4().hex, code)
        ws.send(json.dumps(request))
        msg_id, reply, idle, stdout, errors = request["header"]["msg_id"], None, False, [], []
        deadline = time.monotonic() + timeout
        while (reply is None or not idle) and time.monotonic() < deadline:
            msg = json.loads(ws.recv())
            if msg.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            kind, content = msg["msg_type"], msg["content"]
            if kind == "execute_reply":
                reply = content
            elif kind == "status" and content["execution_state"] == "idle":
                idle = True
            elif kind == "stream" and content["name"] == "stdout":
                stdout.append(content["text"])
            elif kind == "error":
                errors.append(f"{content['ename']}: {content['evalue']}")
        assert reply is not None and idle, f"no reply within {timeout} s:\n{lab.log}"
        return reply, "".join(stdout), errors
    finally:
        ws.close()


def _alive(pids: list[int]) -> list[int]:
    """The pids of ``pids`` still running (zombies count as gone: they hold nothing)."""
    alive = []
    for pid in pids:
        try:
            if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                alive.append(pid)
        except psutil.NoSuchProcess:
            pass
    return alive


def _fixture_rows(data_dir: Path) -> int:
    lines = (data_dir / "exchanges.csv").read_text(encoding="utf-8").splitlines()
    return len([line for line in lines[1:] if line.strip()])


@pytest.fixture
def lab(tmp_path: Path, package: Path):
    server = Lab(tmp_path, package)
    try:
        server.wait_ready()
        yield server
    finally:
        if server.proc.poll() is None:  # the test failed before its own shutdown
            from research.workbook.execute import kill_tree

            kill_tree(server.proc.pid)


@pytest.mark.slow
def test_lab_serves_the_notebooks_and_runs_the_project_kernel(lab: Lab, package: Path):
    status, listing = lab.api("GET", "/api/contents/notebooks")
    assert status == 200, listing
    assert listing["type"] == "directory"
    on_disk = {p.name for p in (ROOT / "notebooks").iterdir() if not p.name.startswith(".")}
    assert {item["name"] for item in listing["content"]} == on_disk
    assert all(i["type"] == "notebook" for i in listing["content"] if i["name"].endswith(".ipynb"))

    status, specs = lab.api("GET", "/api/kernelspecs")
    assert status == 200
    assert specs["default"] == KERNEL, "research lab makes the project kernel the default"
    status, kernel = lab.api("POST", "/api/kernels", {"name": KERNEL})
    assert status == 201, kernel
    assert kernel["name"] == KERNEL

    reply, stdout, errors = execute(lab, kernel["id"], CODE)
    assert errors == []
    assert reply["status"] == "ok"
    assert stdout.strip().isdigit()
    assert int(stdout) == _fixture_rows(package) > 0

    code = "import sys, research; print(sys.prefix); print(research.__file__)"
    reply, stdout, errors = execute(lab, kernel["id"], code)
    assert reply["status"] == "ok", errors
    prefix, module = stdout.split()
    assert Path(prefix) == Path(sys.prefix), "the kernel runs in the project's venv"
    assert Path(module).is_relative_to(ROOT / "src"), "the kernel imports the project's package"

    started = [p.pid for p in psutil.Process(lab.proc.pid).children(recursive=True)]
    assert started, "the kernel runs as a child of the server"
    status, _ = lab.api("DELETE", f"/api/kernels/{kernel['id']}")
    assert status == 204
    assert lab.api("GET", "/api/kernels") == (200, [])

    assert lab.shutdown() == 0, lab.log
    deadline = time.monotonic() + 10
    while _alive(started) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _alive(started) == [], "every process the server started has ended"
    children = psutil.Process().children(recursive=True)
    left = [c for c in children if c.pid not in lab.children_before]
    assert left == [], "no process the test started is left"


def test_research_lab_passes_options_on_to_jupyterlab():
    from research.cli import parse_args

    args = parse_args(["lab", "--no-browser", "--ServerApp.port=9999"])
    assert args.lab_args == ["--no-browser", "--ServerApp.port=9999"]
