"""Packaging: py.typed, __version__, where the data is found, and notebook hygiene."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import research
from research.data import default_data_dir
from research.exceptions import ResearchError

from .conftest import ROOT


def test_py_typed_and_version_ship():
    assert (Path(research.__file__).parent / "py.typed").is_file()
    assert research.__version__[0].isdigit()


def test_data_is_found_from_the_working_directory_not_the_package(
    tmp_path_factory, monkeypatch, package
):
    monkeypatch.delenv("RESEARCH_DATA", raising=False)
    monkeypatch.delenv("RESEARCH_DATA_DIR", raising=False)
    project = package.parent
    (project / "notebooks").mkdir()
    monkeypatch.chdir(project / "notebooks")
    assert default_data_dir().resolve() == package.resolve()
    elsewhere = tmp_path_factory.mktemp("nodata")
    monkeypatch.chdir(elsewhere)
    with pytest.raises(
        ResearchError, match="no data package found: pass data_dir=, set RESEARCH_DATA"
    ):
        default_data_dir()
    monkeypatch.setenv("RESEARCH_DATA", str(package))
    assert default_data_dir() == package
    monkeypatch.setenv("RESEARCH_DATA", str(elsewhere))
    with pytest.raises(ResearchError, match=r"\$RESEARCH_DATA = .*: no datapackage.json"):
        default_data_dir()


def test_load_from_outside_any_project_is_one_line(tmp_path):
    code = "import research as rs; rs.load()"
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, env=env
    )
    assert proc.returncode == 1 and "no data package found" in proc.stderr


NORMALISED = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "notebooks").glob("*.ipynb"))


@pytest.mark.parametrize("nb", NORMALISED)
def test_committed_notebooks_pass_nbstripout_verify(nb):
    """Every committed notebook is as nbstripout leaves it (the filter in .gitattributes)."""
    exe = shutil.which("nbstripout", path=str(Path(sys.executable).parent))
    if exe is None:
        pytest.skip("nbstripout is not installed (it is in the test lock)")
    proc = subprocess.run([exe, "--verify", str(ROOT / nb)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_gitattributes_and_pre_commit_agree():
    attrs = (ROOT / ".gitattributes").read_text()
    assert "*.ipynb filter=nbstripout" in attrs
    assert "data/evidence.csv merge=union" in attrs  # the union lines are kept
    pre = (ROOT / ".pre-commit-config.yaml").read_text()
    assert "nbstripout" in pre and "--keep-id" not in pre  # ids normalised, as --verify checks


def test_validation_is_cached_by_checksum_and_rule_modules_plug_in(package, tmp_path, monkeypatch):
    from research import validate
    from research.data import load

    monkeypatch.setenv("RESEARCH_CACHE_DIR", str(tmp_path / "cache"))
    calls = []
    real = validate.check_tables
    monkeypatch.setattr(
        validate, "check_tables", lambda d, r, **kw: calls.append(1) or real(d, r, **kw)
    )
    assert validate.validate_package(package) == []
    assert validate.validate_package(package) == []
    load(package)
    assert len(calls) == 1  # the same bytes under the same rules are checked once
    with (package / "parties.csv").open("a") as fh:
        fh.write("\n")
    assert validate.validate_package(package) == []
    assert len(calls) == 2
    # a broken file is never served from the cache
    text = (package / "parties.csv").read_text().replace("ALPHA,", "ALPHA,,", 1)
    (package / "parties.csv").write_text(text)
    assert validate.validate_package(package)
    assert validate.validate_package(package)


def test_rule_modules_are_discovered():
    from research import validate

    names = [m.__name__ for m in validate.rule_modules()]
    assert names == sorted(names)
    assert all(n.startswith("research.validate_") for n in names)
