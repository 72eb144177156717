from __future__ import annotations

import pytest

from research.exceptions import ConfigError
from research.workbook.config import load_workbook, parse_override

RUNS = """
[[run]]
id = "single"
notebook = "notebooks/ok.ipynb"
[run.parameters]
n = 5

[[sweep]]
id = "grid"
notebook = "notebooks/ok.ipynb"
[sweep.parameters]
seed = 7
[sweep.grid]
label = ["a b", "c"]
flag = [true, false]
"""


def test_sweep_expands_into_readable_runs(project_factory):
    wb = load_workbook(project_factory(RUNS) / "workbook.toml")
    ids = [r.id for r in wb.runs]
    assert ids == [
        "single",
        "grid--label=a-b--flag=true",
        "grid--label=a-b--flag=false",
        "grid--label=c--flag=true",
        "grid--label=c--flag=false",
    ]
    grid = {r.id: r for r in wb.runs}["grid--label=c--flag=false"]
    assert grid.parameters == {"seed": 7, "label": "c", "flag": False}


def test_select_by_id_and_glob(project_factory):
    wb = load_workbook(project_factory(RUNS) / "workbook.toml")
    assert [r.id for r in wb.select(["single"])] == ["single"]
    assert len(wb.select(["grid--*"])) == 4
    with pytest.raises(ConfigError, match=r"no run matches 'nope'; the runs are: single, grid"):
        wb.select(["nope"])


def test_duplicate_ids_and_missing_notebook_are_errors(project_factory):
    dup = '[[run]]\nid = "x"\nnotebook = "notebooks/ok.ipynb"\n' * 2
    with pytest.raises(ConfigError, match="run id 'x' is used twice"):
        load_workbook(project_factory(dup) / "workbook.toml")


def test_missing_notebook(tmp_path, project_factory):
    bad = '[[run]]\nid = "x"\nnotebook = "notebooks/nope.ipynb"\n'
    with pytest.raises(ConfigError, match=r"run 'x': notebook notebooks/nope\.ipynb not found"):
        load_workbook(project_factory(bad) / "workbook.toml")


def test_bad_toml_names_the_file(project_factory):
    path = project_factory("[[run]\n")
    with pytest.raises(ConfigError, match=r"workbook\.toml: not valid TOML"):
        load_workbook(path / "workbook.toml")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("seed=3", ("seed", 3)),
        ("scale=0.5", ("scale", 0.5)),
        ("flag=true", ("flag", True)),
        ("alliance_definition=nato", ("alliance_definition", "nato")),
        ('label="quoted"', ("label", "quoted")),
        ("label=a=b", ("label", "a=b")),
    ],
)
def test_parse_override(text, expected):
    assert parse_override(text) == expected


def test_parse_override_needs_equals():
    with pytest.raises(ConfigError, match="-p expects name=value"):
        parse_override("seed")
