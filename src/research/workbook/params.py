"""Check run parameters against the notebook's ``parameters`` cell before anything executes.

Papermill only warns about unknown names, so this check is ours: unknown names, missing
required values (a default of ``None``) and wrong types are rejected, and the message lists
the parameters the notebook accepts.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from ..exceptions import ParameterError

TYPES = {
    "int": (int,),
    "float": (int, float),
    "str": (str,),
    "bool": (bool,),
    "list": (list,),
    "dict": (dict,),
}


@dataclass(frozen=True)
class Declared:
    """A parameter as declared in the notebook's parameters cell."""

    name: str
    type_name: str  # int, float, str, bool, list, dict, or "any"
    default: object
    required: bool
    help: str = ""


def declared_parameters(notebook: Path) -> dict[str, Declared]:
    """The notebook's parameters, read with ``papermill.inspect_notebook``."""
    import papermill

    out = {}
    for name, p in papermill.inspect_notebook(str(notebook)).items():
        try:
            default = ast.literal_eval(p["default"])
        except (ValueError, SyntaxError):
            default = p["default"]
        annotated = p.get("inferred_type_name") or "None"
        if annotated not in ("None", ""):
            type_name = annotated.lower()
        elif default is None:
            type_name = "any"
        else:
            type_name = type(default).__name__
        out[name] = Declared(name, type_name, default, default is None, p.get("help", ""))
    return out


def check_parameters(run_id: str, notebook: Path, given: Mapping[str, object]) -> None:
    """Raise ParameterError for the first unknown, missing or mistyped parameter."""
    declared = declared_parameters(notebook)
    allowed = [f"{d.name}: {d.type_name} = {d.default!r}" for d in declared.values()]
    if not declared:
        raise ParameterError(run_id, "-", f"{notebook.name} has no cell tagged 'parameters'", [])
    for name, value in given.items():
        if name not in declared:
            raise ParameterError(run_id, name, f"unknown to {notebook.name}", allowed)
        expected = TYPES.get(declared[name].type_name)
        wrong_bool = isinstance(value, bool) and declared[name].type_name in ("int", "float")
        if expected and (not isinstance(value, expected) or wrong_bool):
            raise ParameterError(
                run_id,
                name,
                f"expected {declared[name].type_name}, got {type(value).__name__} {value!r}",
                allowed,
            )
    for d in declared.values():
        if d.required and d.name not in given:
            raise ParameterError(run_id, d.name, "is required (its default is None)", allowed)
