"""Shared fixtures: a tiny synthetic data package and a small fixture workbook.

The fixture package under tests/fixtures/package is synthetic (made-up parties such as ALPHA
and BRAVO); it exercises the code and is never analysed. Its datapackage.json is always the
project's own, so the fixtures follow the real codebook.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).parent / "fixtures"
RESEARCH = str(Path(sys.executable).parent / "research")


@pytest.fixture
def rng() -> np.random.Generator:
    """A generator seeded from a fixed string, as seaborn's tests do."""
    seed = int(hashlib.sha256(b"alliance-prisoner-exchange").hexdigest()[:8], 16)
    return np.random.default_rng(seed)


@pytest.fixture
def package(tmp_path: Path) -> Path:
    """A writable copy of the synthetic data package, with the project's datapackage.json."""
    dest = tmp_path / "data"
    shutil.copytree(FIXTURES / "package", dest)
    shutil.copyfile(ROOT / "data" / "datapackage.json", dest / "datapackage.json")
    return dest


def make_project(tmp_path: Path, runs_toml: str) -> Path:
    """A fixture project: data/, notebooks/ and a workbook.toml with the given runs."""
    project = tmp_path / "project"
    project.mkdir()
    shutil.copytree(FIXTURES / "package", project / "data")
    shutil.copyfile(ROOT / "data" / "datapackage.json", project / "data" / "datapackage.json")
    shutil.copytree(FIXTURES / "notebooks", project / "notebooks")
    header = textwrap.dedent(
        """
        [workbook]
        title = "Fixture workbook"
        question = "Does the engine work?"
        [workbook.hypotheses]
        H0 = "The engine works."
        """
    )
    (project / "workbook.toml").write_text(header + textwrap.dedent(runs_toml), encoding="utf-8")
    return project


@pytest.fixture
def project_factory(tmp_path: Path):
    """Build a fixture project from a workbook.toml runs section."""
    return lambda runs_toml: make_project(tmp_path, runs_toml)


def research(project: Path, *args: str, timeout: float = 300, **kw) -> subprocess.CompletedProcess:
    """Run the ``research`` command in a project folder, as a user would."""
    return subprocess.run(
        [RESEARCH, *args], cwd=project, capture_output=True, text=True, timeout=timeout, **kw
    )


@pytest.fixture(scope="session")
def executed_project(tmp_path_factory) -> Path:
    """A copy of the project (workbook, notebooks, data) run once per test session with
    `research run`; shared by test_notebooks.py and test_readme_findings.py."""
    dest = tmp_path_factory.mktemp("workbook") / "project"
    dest.mkdir()
    for name in ("data", "notebooks"):
        shutil.copytree(ROOT / name, dest / name)
    shutil.copyfile(ROOT / "workbook.toml", dest / "workbook.toml")
    proc = research(dest, "run", "-q", timeout=1800)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    return dest
