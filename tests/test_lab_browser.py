"""Interactive use as a person does it: ``research lab`` in real headless Chromium.

One Lab server for the whole test, started as ``make lab`` does (``research lab``) on a free
loopback port with a token. The test opens /lab, then each notebook under notebooks/, runs
it from the interface (Run > Run All Cells), waits for the kernel to go idle, and checks what
the page shows: every code cell has an execution count, no output is an error, figures were
rendered. It saves a screenshot of one notebook after its run, closes each notebook without
saving, shuts the server down and checks that no process is left and that nothing was
written into the repository (no save reached the server, notebooks/ and data/ are byte for
byte as before, and ``git status`` is clean for both).

Lab's autosave is off through the private user-settings folder the test gives the server, and
every save the server receives is logged by a pre-save hook: the log must stay empty.
Chromium comes from the system; without it the test is skipped, unless
``RESEARCH_REQUIRE_BROWSER=1`` (CI), when it fails.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import subprocess
import textwrap
import time
import urllib.request
from pathlib import Path

import psutil
import pytest

from .conftest import RESEARCH, ROOT
from .test_lab import _alive, _free_port
from .test_site_browser import CHROMIUM, CHROMIUM_ARGS, SCREENSHOTS, _require_chromium

pytestmark = [pytest.mark.slow, pytest.mark.browser]

NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
SCREENSHOT_OF = "01_exchange_ratio.ipynb"
STARTUP_SECONDS = 120
RUN_SECONDS = 900  # one notebook, on a shared 2-core machine
KERNEL_DISPLAY = "Python 3 (research workbook)"

# Lab's own settings, as a user would set them in Settings: no autosave, every cell in the
# page (so the test sees all of them), and no news or extension-manager calls to the network.
USER_SETTINGS = {
    "@jupyterlab/docmanager-extension/plugin.jupyterlab-settings": {"autosave": False},
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
        "fetchNews": "false",
        "checkForUpdates": False,
    },
    "@jupyterlab/extensionmanager-extension/plugin.jupyterlab-settings": {"enabled": False},
}

SAVE_HOOK = '''
"""Logs every save the Lab server receives (the test requires there to be none)."""
import os


def hook(model=None, path="", contents_manager=None, **kwargs):
    with open(os.environ["RW_SAVE_LOG"], "a", encoding="utf-8") as fh:
        fh.write(f"{path}\\n")
'''

# What the notebook panel shows, read from Lab's own model of the open notebook.
NOTEBOOK_STATE = """() => {
  const panel = window.jupyterapp.shell.currentWidget;
  if (!panel || !panel.content || !panel.sessionContext) return null;
  const cells = panel.content.widgets.filter(c => c.model.type === "code");
  const kernel = panel.sessionContext.session && panel.sessionContext.session.kernel;
  return {
    path: panel.context.path,
    kernel: panel.sessionContext.kernelDisplayName,
    status: kernel ? kernel.status : "none",
    counts: cells.map(c => c.model.executionCount),
    prompts: cells.map(c => (c.node.querySelector(".jp-InputPrompt") || {}).innerText || ""),
    errors: cells.flatMap(c => c.model.outputs.toJSON()
        .filter(o => o.output_type === "error").map(o => o.ename + ": " + o.evalue)),
    images: panel.content.node.querySelectorAll(".jp-OutputArea-output img").length,
    dirty: panel.context.model.dirty,
    open: [...window.jupyterapp.shell.widgets("main")].map(w => w.title.label),
  };
}"""


def _snapshot(folder: Path) -> dict[str, str]:
    """Every file under a folder (ignored ones included) with its SHA-256."""
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and "__pycache__" not in p.parts
    }


def _git_status(*paths: str) -> str:
    done = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=all", "--ignored", "--", *paths],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout


class LabServer:
    """``research lab`` with a private Jupyter config, settings and runtime folder."""

    def __init__(self, tmp: Path):
        self.port, self.token = _free_port(), secrets.token_hex(16)
        self.base = f"http://127.0.0.1:{self.port}"
        self.save_log = tmp / "saves.log"
        self.save_log.write_text("", encoding="utf-8")
        jupyter = tmp / "jupyter"
        settings = tmp / "lab-settings"
        for rel, value in USER_SETTINGS.items():
            (settings / rel).parent.mkdir(parents=True, exist_ok=True)
            (settings / rel).write_text(json.dumps(value), encoding="utf-8")
        hooks = tmp / "hooks"
        hooks.mkdir()
        (hooks / "rw_savelog.py").write_text(textwrap.dedent(SAVE_HOOK), encoding="utf-8")
        config = {
            # allow_root: CI and containers run as root, where Jupyter otherwise refuses.
            "ServerApp": {"ip": "127.0.0.1", "port": self.port, "port_retries": 0,
                          "open_browser": False, "allow_root": True},
            "IdentityProvider": {"token": self.token},
            "LabApp": {"expose_app_in_browser": True, "news_url": None},
            "FileContentsManager": {"pre_save_hook": "rw_savelog.hook"},
            # Checkpoints (made when a notebook is opened) go outside the repository.
            "FileCheckpoints": {"checkpoint_dir": str(tmp / "checkpoints")},
        }  # fmt: skip
        (jupyter / "config").mkdir(parents=True)
        for name in ("jupyter_server_config.json", "jupyter_lab_config.json"):
            (jupyter / "config" / name).write_text(json.dumps(config), encoding="utf-8")
        env = {
            **os.environ,
            "JUPYTER_CONFIG_DIR": str(jupyter / "config"),
            "JUPYTER_DATA_DIR": str(jupyter / "data"),
            "JUPYTER_RUNTIME_DIR": str(jupyter / "runtime"),
            "JUPYTERLAB_SETTINGS_DIR": str(settings),
            "JUPYTERLAB_WORKSPACES_DIR": str(tmp / "workspaces"),
            "IPYTHONDIR": str(jupyter / "ipython"),
            "MPLCONFIGDIR": str(tmp / "matplotlib"),
            "PYTHONPATH": os.pathsep.join(
                p for p in (str(hooks), os.environ.get("PYTHONPATH", "")) if p
            ),
            "RW_SAVE_LOG": str(self.save_log),
        }
        self.children_before = {c.pid for c in psutil.Process().children(recursive=True)}
        self.log_path = tmp / "lab.log"
        with self.log_path.open("wb") as log:
            self.proc = subprocess.Popen(
                [RESEARCH, "lab"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, start_new_session=True,
            )  # fmt: skip

    @property
    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:]

    def api(self, method: str, path: str) -> tuple[int, object]:
        req = urllib.request.Request(
            f"{self.base}{path}", method=method, headers={"Authorization": f"token {self.token}"}
        )
        with urllib.request.urlopen(req, timeout=30) as resp:
            raw = resp.read()
            return resp.status, json.loads(raw) if raw else None

    def wait_ready(self) -> None:
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(f"research lab exited with {self.proc.returncode}:\n{self.log}")
            try:
                if self.api("GET", "/api/status")[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.5)
        pytest.fail(f"research lab did not answer within {STARTUP_SECONDS} s:\n{self.log}")

    def url(self, path: str, reset: bool = False) -> str:
        # ?reset: start from an empty workspace, so only the notebook asked for is open.
        return f"{self.base}{path}?token={self.token}" + ("&reset" if reset else "")


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    _require_chromium()
    before = {"notebooks": _snapshot(ROOT / "notebooks"), "data": _snapshot(ROOT / "data")}
    status_before = _git_status("notebooks", "data")
    server = LabServer(tmp_path_factory.mktemp("lab"))
    try:
        server.wait_ready()
        yield server, before, status_before
    finally:
        if server.proc.poll() is None:  # the test failed before its own shutdown
            from research.workbook.execute import kill_tree

            kill_tree(server.proc.pid)


def _menu(page, top: str, item: str) -> None:
    """Click a menu of Lab's menu bar, then one of its items, as a person does."""
    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(f"^{re.escape(top)}$")).click()
    page.locator(".lm-Menu-itemLabel", has_text=re.compile(f"^{re.escape(item)}$")).click()


def _wait_for(page, predicate: str, seconds: float, what: str) -> dict:
    deadline = time.monotonic() + seconds
    state = None
    while time.monotonic() < deadline:
        state = page.evaluate(NOTEBOOK_STATE)
        if state is not None and page.evaluate(f"s => ({predicate})", state):
            return state
        page.wait_for_timeout(500)
    pytest.fail(f"{what} within {seconds} s; last state: {state}")


def _close_without_saving(page) -> None:
    # The item's label as this Lab version spells it ("Close and Shut Down Notebook…").
    label = page.evaluate("() => window.jupyterapp.commands.label('notebook:close-and-shutdown')")
    _menu(page, "File", label)
    dialog = page.locator(".jp-Dialog")
    dialog.wait_for(timeout=15_000)
    dialog.get_by_role(
        "button", name=re.compile("^(Discard|Don't Save|Close|Ok)$", re.I)
    ).first.click()
    page.locator(".jp-Dialog").wait_for(state="detached", timeout=15_000)


def test_every_notebook_runs_from_the_lab_interface_and_nothing_is_written(lab):
    from playwright.sync_api import sync_playwright

    server, before, status_before = lab
    assert NOTEBOOKS, "the project has notebooks"
    ran: dict[str, dict] = {}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page_errors: list[str] = []
        page.on("pageerror", lambda exc: page_errors.append(str(exc)))
        page.goto(server.url("/lab"))
        page.locator("#jp-main-dock-panel").wait_for(timeout=STARTUP_SECONDS * 1000)
        page.wait_for_function("() => !!window.jupyterapp", timeout=60_000)
        for nb in NOTEBOOKS:
            rel = nb.relative_to(ROOT).as_posix()
            page.goto(server.url(f"/lab/tree/{rel}", reset=True))
            page.wait_for_function("() => !!window.jupyterapp", timeout=60_000)
            _wait_for(
                page,
                f"s.path === {json.dumps(rel)} && s.status === 'idle'",
                STARTUP_SECONDS,
                f"{rel}: the notebook did not open with an idle kernel",
            )
            _menu(page, "Run", "Run All Cells")
            state = _wait_for(
                page,
                "s.status === 'idle' && s.counts.length > 0 && s.counts.every(c => c !== null)"
                " && s.prompts.every(p => !p.includes('*'))",
                RUN_SECONDS,
                f"{rel}: Run All did not finish",
            )
            ran[rel] = state
            assert state["open"] == [nb.name], "one notebook open at a time"
            if nb.name == SCREENSHOT_OF:
                SCREENSHOTS.mkdir(parents=True, exist_ok=True)
                page.locator(".jp-OutputArea-output img").first.scroll_into_view_if_needed()
                page.screenshot(path=str(SCREENSHOTS / "lab-notebook.png"))
            _close_without_saving(page)
        browser.close()

    for rel, state in ran.items():
        assert state["kernel"] == KERNEL_DISPLAY, rel
        assert state["errors"] == [], f"{rel} shows an error output"
        assert state["counts"] == sorted(state["counts"]), f"{rel}: cells ran in order"
        assert all(re.fullmatch(r"\[\d+\]:", p.strip()) for p in state["prompts"]), rel
    assert set(ran) == {nb.relative_to(ROOT).as_posix() for nb in NOTEBOOKS}
    assert sum(s["images"] for s in ran.values()) >= 1, "at least one figure was rendered"
    assert ran[f"notebooks/{SCREENSHOT_OF}"]["images"] >= 1
    assert (SCREENSHOTS / "lab-notebook.png").stat().st_size > 0
    assert page_errors == []

    # Shut down as File > Shut Down does; every process the test started ends with it.
    started = [p.pid for p in psutil.Process(server.proc.pid).children(recursive=True)]
    assert server.api("POST", "/api/shutdown")[0] == 200
    assert server.proc.wait(timeout=60) == 0, server.log
    deadline = time.monotonic() + 15
    while _alive(started) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _alive(started) == []
    left = [c for c in psutil.Process().children(recursive=True)]
    left = [c for c in left if c.pid not in server.children_before and c.is_running()]
    assert [c for c in left if c.status() != psutil.STATUS_ZOMBIE] == []

    # Nothing written into the repository.
    assert server.save_log.read_text(encoding="utf-8") == "", "no save reached the server"
    assert _snapshot(ROOT / "notebooks") == before["notebooks"]
    assert _snapshot(ROOT / "data") == before["data"]
    assert _git_status("notebooks", "data") == status_before
