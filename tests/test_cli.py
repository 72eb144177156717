"""The command line: --version, --workbook after the subcommand, a run called ``lab``, the
``lab`` subcommand's own help and its root handling, -p hints (issue 13 defect 8, issue 15)."""

from __future__ import annotations

import csv
import subprocess

import pytest

import research
from research import cli

from .conftest import RESEARCH
from .conftest import research as run_research


def test_version():
    out = subprocess.run([RESEARCH, "--version"], capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.strip() == f"research {research.__version__}"
    assert research.__version__ != "0+unknown"


def test_a_run_called_lab_keeps_its_options():
    args = cli.parse_args(["run", "lab", "-j", "2", "--force", "-p", "n=3"])
    assert args.command == "run" and args.runs == ["lab"]
    assert args.jobs == 2 and args.force and args.param == ["n=3"]


def test_workbook_before_or_after_the_subcommand():
    assert cli.parse_args(["--workbook", "a.toml", "list"]).workbook == "a.toml"
    assert cli.parse_args(["list", "--workbook", "b.toml"]).workbook == "b.toml"
    assert cli.parse_args(["run", "x", "--workbook=c.toml"]).workbook == "c.toml"
    assert cli.parse_args(["list"]).workbook == "workbook.toml"
    assert cli.parse_args(["run", "-v"]).verbose is True


def test_lab_passes_other_options_through_untouched():
    args = cli.parse_args(
        ["lab", "--no-browser", "--ServerApp.port=8899", "--workbook", "w.toml", "--", "-v"]
    )
    assert args.command == "lab" and args.workbook == "w.toml"
    assert args.lab_args == ["--no-browser", "--ServerApp.port=8899", "-v"]


def test_lab_help_is_ours_and_short():
    out = subprocess.run([RESEARCH, "lab", "--help"], capture_output=True, text=True, timeout=30)
    assert out.returncode == 0
    assert out.stdout.startswith("usage: research lab")
    assert len(out.stdout.splitlines()) < 20


@pytest.mark.parametrize("root", [True, False])
def test_lab_as_root_adds_allow_root_and_says_so(monkeypatch, capsys, tmp_path, root):
    seen = {}
    monkeypatch.setattr(cli, "_is_root", lambda: root)
    monkeypatch.setattr(cli.os, "execv", lambda exe, argv: seen.update(argv=argv))
    cli.main(["lab", "--workbook", str(tmp_path / "workbook.toml"), "--no-browser"])
    err = capsys.readouterr().err
    assert "--no-browser" in seen["argv"]
    assert f"--ServerApp.root_dir={tmp_path}" in seen["argv"]
    if root:
        assert seen["argv"][-1] == "--allow-root"
        assert err.strip().splitlines() == [
            "research lab: running as root, so JupyterLab is started with --allow-root"
        ]
    else:
        assert "--allow-root" not in seen["argv"] and err == ""


def test_lab_as_root_does_not_add_allow_root_twice(monkeypatch, tmp_path):
    seen = {}
    monkeypatch.setattr(cli, "_is_root", lambda: True)
    monkeypatch.setattr(cli.os, "execv", lambda exe, argv: seen.update(argv=argv))
    cli.main(["lab", "--workbook", str(tmp_path / "w.toml"), "--allow-root"])
    assert seen["argv"].count("--allow-root") == 1


def test_p_values_get_a_toml_hint(project_factory):
    project = project_factory('[[run]]\nid = "ok"\nnotebook = "notebooks/ok.ipynb"\n')
    proc = run_research(project, "run", "-q", "-p", "flag=True")
    assert proc.returncode == 2
    assert "expected bool, got str 'True' (-p values are TOML literals: write true" in proc.stderr
    proc = run_research(project, "run", "-q", "-p", "label=3")
    assert "quote it to pass a string" in proc.stderr
    assert "TOML literal" in subprocess.run(
        [RESEARCH, "run", "--help"], capture_output=True, text=True
    ).stdout.replace("\n", " ")


@pytest.mark.slow
def test_a_failed_p_attempt_keeps_the_last_good_results_on_the_site(project_factory):
    project = project_factory('[[run]]\nid = "ok"\nnotebook = "notebooks/ok.ipynb"\n')
    assert run_research(project, "run", "-q").returncode == 0
    site = project / "outputs/site"

    def rows():
        with (site / "results.csv").open(newline="") as fh:
            return [(r["run"], r["name"], r["estimate"], r["p_bh"]) for r in csv.DictReader(fh)]

    good = rows()
    assert len(good) == 2
    assert run_research(project, "run", "-q", "-p", "n=-1").returncode == 1
    assert rows() == good
    index = (site / "index.html").read_text()
    assert 'href="failed/ok.html"' in index  # the failure is shown too
    assert list((site / "figures").glob("ok--*.png"))


def test_verbose_logs_to_stderr(project_factory):
    project = project_factory('[[run]]\nid = "ok"\nnotebook = "notebooks/ok.ipynb"\n')
    proc = run_research(project, "list", "-v")
    assert proc.returncode == 0
    assert "research: research.workbook.execute: ok: no stored cache key" in proc.stderr
