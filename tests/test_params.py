from __future__ import annotations

import pytest

from research.exceptions import ParameterError
from research.workbook.params import check_parameters, declared_parameters

from .conftest import FIXTURES

OK = FIXTURES / "notebooks" / "ok.ipynb"
REQUIRED = FIXTURES / "notebooks" / "required.ipynb"


def test_declared_parameters_are_read_from_the_parameters_cell():
    declared = declared_parameters(OK)
    assert {n: d.type_name for n, d in declared.items()} == {
        "n": "int",
        "label": "str",
        "seed": "int",
        "flag": "bool",
        "scale": "float",
    }


def test_valid_parameters_pass():
    check_parameters("r", OK, {"n": 4, "label": "x", "flag": True, "scale": 2})


def test_unknown_parameter_lists_the_accepted_ones():
    with pytest.raises(ParameterError) as err:
        check_parameters("my-run", OK, {"nn": 4})
    msg = str(err.value)
    assert "run 'my-run': parameter 'nn': unknown to ok.ipynb" in msg
    assert "n: int = 3" in msg and "label: str = 'default'" in msg
    assert err.value.run_id == "my-run" and err.value.parameter == "nn"


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("n", "4", "expected int, got str '4'"),
        ("n", True, "expected int, got bool True"),
        ("flag", 1, "expected bool, got int 1"),
        ("label", 3, "expected str, got int 3"),
    ],
)
def test_wrong_types_are_rejected(name, value, expected):
    with pytest.raises(ParameterError, match=expected):
        check_parameters("r", OK, {name: value})


def test_missing_required_value():
    with pytest.raises(ParameterError, match="parameter 'country': is required"):
        check_parameters("r", REQUIRED, {"years": 3})
    check_parameters("r", REQUIRED, {"country": "X"})
