"""Every bad input gives a one-line error naming the file and the place, and every typo in
workbook.toml is rejected (issue 13, defects 4-6)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from research import cli
from research.exceptions import ConfigError, ParameterError
from research.workbook.config import load_workbook
from research.workbook.params import check_parameters

from .conftest import FIXTURES, ROOT

OK_RUN = '[[run]]\nid = "ok"\nnotebook = "notebooks/ok.ipynb"\n'


def one_line_error(capsys, argv: list[str], code: int = 2) -> str:
    assert cli.main(argv) == code
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    assert err.startswith("error: ")
    assert "Traceback" not in err
    return err


@pytest.mark.parametrize(
    ("toml", "expected"),
    [
        (
            '[[runs]]\nid = "ok"\nnotebook = "notebooks/ok.ipynb"\n',
            "runs: unknown key 'runs' (did you mean 'run'?)",
        ),
        (
            OK_RUN + "[run.parameter]\nn = 4\n",
            "run[0].parameter: unknown key 'parameter' (did you mean 'parameters'?)",
        ),
        ('[workbok]\ntitle = "x"\n' + OK_RUN, "unknown key 'workbok' (did you mean 'workbook'?)"),
        ('[run]\nid = "ok"\nnotebook = "notebooks/ok.ipynb"\n', "run: expected an array"),
        (OK_RUN + 'parameters = "x"\n', "run[0].parameters: expected a table, got str 'x'"),
        (
            OK_RUN + '[[sweep]]\nid = "s"\nnotebook = "notebooks/ok.ipynb"\n[sweep.grid]\nn = []\n',
            "sweep[0].grid.n",
        ),
        (OK_RUN + '[confirmatory]\nH1 = { run = "ok" }\n', "confirmatory.H1: 'result' is required"),
        (
            OK_RUN + '[confirmatory]\nH1 = { run = "nope", result = "mean" }\n',
            "confirmatory.H1.run: no run 'nope'; the runs are: ok",
        ),
        (OK_RUN + "[domains]\nn = { choise = [1] }\n", "domains.n.choise: unknown key"),
    ],
)
def test_typos_and_wrong_shapes_are_rejected_with_the_field_path(project_factory, toml, expected):
    path = project_factory(toml) / "workbook.toml"
    with pytest.raises(ConfigError) as err:
        load_workbook(path)
    assert expected in str(err.value)
    assert str(err.value).startswith(str(path))


def test_timeout_must_be_a_number(project_factory, capsys, monkeypatch):
    project = project_factory(OK_RUN)
    text = (project / "workbook.toml").read_text()
    (project / "workbook.toml").write_text(
        text.replace("[workbook]", '[workbook]\ntimeout = "ten"')
    )
    monkeypatch.chdir(project)
    err = one_line_error(capsys, ["list"])
    assert "workbook.toml: workbook.timeout: expected a number, got str 'ten'" in err


def test_a_valid_confirmatory_table_is_read(project_factory):
    wb = load_workbook(
        project_factory(OK_RUN + '[confirmatory]\nH0 = { run = "ok", result = "mean" }\n')
        / "workbook.toml"
    )
    assert wb.confirmatory == {"H0": {"run": "ok", "result": "mean"}}


def test_the_real_workbook_passes_the_schema():
    wb = load_workbook(ROOT / "workbook.toml")
    assert wb.runs and "alliance_definition" in wb.domains


def test_outputs_pointing_at_a_file(project_factory, capsys, monkeypatch):
    project = project_factory(OK_RUN)
    (project / "outputs").write_text("not a folder")
    monkeypatch.chdir(project)
    err = one_line_error(capsys, ["run", "-q"])
    assert "workbook.outputs:" in err and "is not a folder" in err


@pytest.mark.parametrize(
    ("content", "expected"), [("{not json", "not valid JSON"), ("{}", "no 'cells'")]
)
def test_a_notebook_that_is_not_a_notebook(project_factory, capsys, monkeypatch, content, expected):
    project = project_factory(OK_RUN)
    (project / "notebooks/ok.ipynb").write_text(content)
    monkeypatch.chdir(project)
    err = one_line_error(capsys, ["run", "-q"])
    assert "notebooks/ok.ipynb" in err and expected in err


def _real_domains() -> dict:
    return load_workbook(ROOT / "workbook.toml").domains


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ({"alliance_definition": "natoo"}, "'natoo' is not one of"),
        ({"min_confidence": "hgih"}, "'hgih' is not one of ['low', 'medium', 'high']"),
        ({"start_year": 2000, "end_year": 1990}, "2000 is after end_year = 1990"),
        ({"start_year": 2030}, "2030 is after end_year = 2025"),
        ({"n_resamples": 0}, "0 is below 1"),
    ],
)
def test_values_outside_their_domain_fail_before_any_kernel(given, expected):
    nb = ROOT / "notebooks/01_exchange_ratio.ipynb"
    with pytest.raises(ParameterError) as err:
        check_parameters("h1", nb, given, _real_domains())
    assert expected in str(err.value)


def test_alliance_choices_come_from_the_code():
    from research.alliances import DEFINITIONS

    nb = ROOT / "notebooks/01_exchange_ratio.ipynb"
    for d in DEFINITIONS:
        check_parameters("h1", nb, {"alliance_definition": d}, _real_domains())


def test_domain_errors_reach_the_cli_before_execution(project_factory, capsys, monkeypatch):
    project = project_factory(OK_RUN + "[domains]\nlabel = { choices = ['default', 'x'] }\n")
    monkeypatch.chdir(project)
    err = one_line_error(capsys, ["run", "-q", "-p", "label=y"])
    assert "parameter 'label': 'y' is not one of ['default', 'x']" in err
    assert not (project / "outputs/runs").exists()


# ---- the data package


def test_invalid_utf8_in_a_csv(package, capsys):
    path = package / "exchanges.csv"
    data = path.read_bytes().split(b"\n")
    data[2] = data[2] + b"\xff\xfe"
    path.write_bytes(b"\n".join(data))
    err = one_line_error(capsys, ["validate", str(package)])
    assert f"{path}:3: not valid UTF-8" in err


def test_a_cell_over_the_csv_field_limit(package, capsys):
    path = package / "parties.csv"
    with path.open("a", encoding="utf-8") as fh:
        fh.write('ZULU,"' + "z" * 200_000 + '",state,,,,,x,\n')
    err = one_line_error(capsys, ["validate", str(package)])
    assert str(path) in err and "field larger than field limit" in err


@pytest.mark.parametrize(
    ("descriptor", "expected"),
    [
        ({"name": "x"}, "'resources' must be a non-empty list"),
        ([], "expected a JSON object, got list"),
        ({"resources": {"a": 1}}, "'resources' must be a non-empty list"),
        ({"resources": ["x"]}, "resources[0]: expected an object, got str"),
        ({"resources": [{"name": "a"}]}, "resources[0]: 'path' must be a non-empty string"),
        (
            {"resources": [{"name": "a", "path": "a.csv", "schema": {}}]},
            "resources[0] (a): 'schema.fields' must be a list",
        ),
    ],
)
def test_a_datapackage_of_the_wrong_shape(package, capsys, descriptor, expected):
    (package / "datapackage.json").write_text(json.dumps(descriptor))
    err = one_line_error(capsys, ["validate", str(package)])
    assert f"{package / 'datapackage.json'}: {expected}" in err


def test_fixture_notebooks_are_notebooks():
    for nb in Path(FIXTURES / "notebooks").glob("*.ipynb"):
        assert json.loads(nb.read_text())["cells"]


def test_every_run_of_the_real_workbook_passes_its_parameter_checks():
    """Catches a sweep value the code no longer allows (e.g. a dropped alliance definition)
    in the test suite rather than at `make run`."""
    wb = load_workbook(ROOT / "workbook.toml")
    for run in wb.runs:
        check_parameters(run.id, run.notebook, run.parameters, wb.domains)
