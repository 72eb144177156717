"""The cache key is exact: what a run reads, and nothing else (issue 13, the cache gap)."""

from __future__ import annotations

import json
import time

import pytest

from research.workbook.cache import code_hash, environment_hash, notebook_source_hash, run_key
from research.workbook.config import load_workbook

from .conftest import research

OK = '[[run]]\nid = "ok"\nnotebook = "notebooks/ok.ipynb"\n'


def _key(project):
    wb = load_workbook(project / "workbook.toml")
    return run_key(wb.runs[0], wb, project / "data")


def _edit_markdown(nb_path, text):
    doc = json.loads(nb_path.read_text())
    md = next(c for c in doc["cells"] if c["cell_type"] == "markdown")
    md["source"] = text
    nb_path.write_text(json.dumps(doc))


def test_prose_in_data_and_markdown_do_not_change_the_key(project_factory):
    project = project_factory(OK)
    before = _key(project)
    (project / "data/AUDIT.md").write_text("# an audit note\n")
    (project / "data/LICENSE.md").write_text("licence text\n")
    (project / "README.md").write_text("prose\n")
    nb = project / "notebooks/ok.ipynb"
    src_before = notebook_source_hash(nb)
    _edit_markdown(nb, "# A new title")
    assert _key(project) == before
    assert notebook_source_hash(nb) != src_before  # but the page must be re-rendered


def test_code_parameters_and_listed_data_change_the_key(project_factory):
    project = project_factory(OK)
    before = _key(project)
    nb = project / "notebooks/ok.ipynb"
    doc = json.loads(nb.read_text())
    code = [c for c in doc["cells"] if c["cell_type"] == "code"]
    old = code[-1]["source"]
    code[-1]["source"] = "x = 1\n"
    nb.write_text(json.dumps(doc))
    assert _key(project) != before
    code[-1]["source"] = old
    nb.write_text(json.dumps(doc))
    assert _key(project) == before
    with (project / "data/exchanges.csv").open("a") as fh:
        fh.write("\n")
    assert _key(project) != before


def test_only_locked_distributions_count(tmp_path):
    lock = tmp_path / "requirements.lock"
    lock.write_text("# header\npandas==0\nnumpy==0\n")
    one = environment_hash(lock)
    lock.write_text("# header\npandas==0\nnumpy==0\nnot-installed-anywhere==1\n")
    assert environment_hash(lock) == one  # a name that is not installed adds nothing
    lock.write_text("# header\npandas==0\n")
    assert environment_hash(lock) != one


def test_code_hash_ignores_outputs(project_factory):
    project = project_factory(OK)
    nb = project / "notebooks/ok.ipynb"
    before = code_hash(nb)
    doc = json.loads(nb.read_text())
    for c in doc["cells"]:
        if c["cell_type"] == "code":
            c["outputs"] = [{"output_type": "stream", "name": "stdout", "text": "x"}]
            c["execution_count"] = 7
    nb.write_text(json.dumps(doc))
    assert code_hash(nb) == before


@pytest.mark.slow
def test_a_markdown_only_edit_re_renders_without_executing(project_factory):
    project = project_factory(OK)
    assert research(project, "run", "-q").returncode == 0
    run_dir = project / "outputs/runs/ok"
    manifest = json.loads((run_dir / "manifest.json").read_text())
    _edit_markdown(project / "notebooks/ok.ipynb", "# Fixture, retitled by the test")
    assert "markdown edited" in research(project, "list").stdout
    start = time.time()
    proc = research(project, "run", "-q")
    elapsed = time.time() - start
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "rendered" in proc.stdout
    after = json.loads((run_dir / "manifest.json").read_text())
    assert after["timings"] == manifest["timings"]  # not executed again
    assert after["rendered"]["markdown_only"] is True
    html = (run_dir / "notebook.html").read_text()
    assert "Fixture, retitled by the test" in html
    assert "fixture figure" in html or "data:image/png" in html  # outputs kept
    site = (project / "outputs/site/runs/ok.html").read_text()
    assert "Fixture, retitled by the test" in site
    nb = json.loads((run_dir / "notebook.ipynb").read_text())
    assert any(c.get("outputs") for c in nb["cells"] if c["cell_type"] == "code")
    print(f"markdown-only re-render, whole command: {elapsed:.2f} s")
    assert elapsed < 10  # the whole command on a shared machine; the render itself is ~1-2 s
    assert "cached" in research(project, "run", "-q").stdout
