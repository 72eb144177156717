"""Same inputs, same bytes: the strip plot's jitter is seeded and the injected-parameters cell
has a fixed id (issue 13, defect 9)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from research import plots
from research.workbook.worker import stable_cell_ids


def _strip(tmp_path, name, **kw):
    df = pd.DataFrame({"g": ["a"] * 20 + ["b"] * 20, "v": np.linspace(0, 1, 40)})
    fig = plots.strip_by_group(
        df, "g", "v", title="T", xlabel="g", ylabel="v", save_as=name, outdir=tmp_path, **kw
    )
    return fig


def _offsets(fig) -> np.ndarray:
    return np.concatenate([c.get_offsets()[:, 0] for c in fig.axes[0].collections])


def test_strip_jitter_is_seeded(tmp_path):
    np.random.seed(1)
    a = _strip(tmp_path, "a")
    np.random.seed(2)  # the global state must not matter
    b = _strip(tmp_path, "b")
    assert np.array_equal(_offsets(a), _offsets(b))
    assert (tmp_path / "a.png").read_bytes() == (tmp_path / "b.png").read_bytes()
    c = _strip(tmp_path, "c", seed=5)
    assert not np.array_equal(_offsets(a), _offsets(c))
    xs = _offsets(a)
    assert xs.min() >= -0.2 and xs.max() <= 1.2 and len(np.unique(xs)) > 30  # really jittered


def test_injected_parameters_cell_gets_a_fixed_id(tmp_path):
    nb = {
        "cells": [
            {"cell_type": "code", "id": "params", "metadata": {"tags": ["parameters"]}},
            {
                "cell_type": "code",
                "id": "3f2a9c1e-random",
                "metadata": {"tags": ["injected-parameters"]},
            },
        ],
        "metadata": {},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    path = tmp_path / "nb.ipynb"
    path.write_text(json.dumps(nb))
    stable_cell_ids(path)
    ids = [c["id"] for c in json.loads(path.read_text())["cells"]]
    assert ids == ["params", "injected-parameters"]


def test_a_forced_rerun_renders_the_same_html(project_factory):
    import pytest

    from .conftest import research

    pytest.importorskip("papermill")
    project = project_factory(
        '[[run]]\nid = "ok"\nnotebook = "notebooks/ok.ipynb"\n[run.parameters]\nn = 4\n'
    )
    assert research(project, "run", "-q", "--force").returncode == 0
    page = project / "outputs/runs/ok/notebook.html"
    first = page.read_text()
    assert 'id="cell-id=injected-parameters"' in first or "injected-parameters" in first
    assert research(project, "run", "-q", "--force").returncode == 0
    assert page.read_text() == first


def test_long_printed_output_is_capped_with_a_notice(tmp_path):
    from research.workbook.worker import cap_outputs

    nb = {
        "cells": [
            {
                "cell_type": "code",
                "id": "a",
                "metadata": {},
                "source": "print('x' * 10**6)",
                "outputs": [
                    {"output_type": "stream", "name": "stdout", "text": "A" + "x" * 10**6 + "Z"},
                    {"output_type": "stream", "name": "stdout", "text": "short"},
                ],
            }
        ],
        "metadata": {},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    path = tmp_path / "nb.ipynb"
    path.write_text(json.dumps(nb))
    assert cap_outputs(path, cap=1000) == 1
    outs = json.loads(path.read_text())["cells"][0]["outputs"]
    text = outs[0]["text"]
    assert len(text) < 1300 and text.startswith("A") and text.endswith("Z")
    assert "characters of printed output cut here by the research workbook" in text
    assert outs[1]["text"] == "short"
