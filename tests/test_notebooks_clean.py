"""Committed notebooks are source: no outputs, no execution counts, one parameters cell.

Outputs belong in outputs/runs/ (the engine writes them); a notebook committed with outputs
leaks data and makes diffs unreadable, and the engine's cache key is computed without
outputs anyway. Papermill injects run parameters after the cell tagged ``parameters``.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from .conftest import FIXTURES, ROOT

FOLDERS = (ROOT / "notebooks", FIXTURES / "notebooks")
NOTEBOOKS = sorted(p for folder in FOLDERS for p in folder.glob("*.ipynb"))
FIXTURE_NOTEBOOKS = {"die", "fail", "ok", "required", "slow"}


def test_the_notebooks_are_found():
    found = {p.stem for p in NOTEBOOKS if p.parent == FIXTURES / "notebooks"}
    assert found >= FIXTURE_NOTEBOOKS


@pytest.fixture(params=NOTEBOOKS, ids=lambda p: p.relative_to(ROOT).as_posix())
def notebook(request) -> tuple[Path, nbformat.NotebookNode]:
    path = request.param
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    return path, nb


def test_no_outputs_and_no_execution_counts(notebook):
    path, nb = notebook
    dirty = [
        i
        for i, cell in enumerate(nb.cells)
        if cell.cell_type == "code" and (cell.outputs or cell.execution_count is not None)
    ]
    assert dirty == [], f"{path.name}: cells {dirty} have outputs; run nbstripout on it"


def test_not_an_executed_copy(notebook):
    path, nb = notebook
    marked = [i for i, cell in enumerate(nb.cells) if "papermill" in cell.metadata]
    assert "papermill" not in nb.metadata and marked == [], (
        f"{path.name} carries papermill metadata: it is an executed copy from outputs/"
    )


def test_exactly_one_parameters_cell(notebook):
    path, nb = notebook
    tagged = [
        (i, cell.cell_type)
        for i, cell in enumerate(nb.cells)
        if "parameters" in cell.metadata.get("tags", [])
    ]
    assert len(tagged) == 1, f"{path.name}: cells tagged 'parameters': {tagged}"
    assert tagged[0][1] == "code", f"{path.name}: the parameters cell must be a code cell"
