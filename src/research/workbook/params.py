"""Check run parameters against the notebook's ``parameters`` cell before anything executes.

Papermill only warns about unknown names, so this check is ours: unknown names, missing
required values (a default of ``None``) and wrong types are rejected, and the message lists
the parameters the notebook accepts.
"""

from __future__ import annotations

import ast
import difflib
import importlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from ..exceptions import ConfigError, ParameterError

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


def read_notebook(path: Path) -> dict:
    """The notebook as JSON; a file that is not a notebook is a one-line error naming it."""
    try:
        nb = json.loads(Path(path).read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ConfigError(
            f"line {exc.lineno}: not a notebook (not valid JSON: {exc.msg})", str(path)
        ) from None
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"byte {exc.start}: not a notebook (not valid UTF-8)", str(path)
        ) from None
    if not isinstance(nb, dict) or not isinstance(nb.get("cells"), list):
        raise ConfigError("not a notebook (no 'cells' list)", str(path))
    if not isinstance(nb.get("nbformat"), int) or nb["nbformat"] < 4:
        raise ConfigError("not a notebook of format 4 ('nbformat' missing or older)", str(path))
    return nb


def declared_parameters(notebook: Path) -> dict[str, Declared]:
    """The notebook's parameters, read with ``papermill.inspect_notebook``."""
    import papermill

    read_notebook(notebook)
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


def domain_choices(domain: Mapping[str, object]) -> list | None:
    """The allowed values of a domain: ``choices``, or the sequence ``choices_from`` names
    (``module:NAME``, e.g. ``research.alliances:DEFINITIONS``, so the list lives in one place)."""
    if "choices" in domain:
        return list(domain["choices"])
    if "choices_from" in domain:
        module, _, name = str(domain["choices_from"]).partition(":")
        try:
            return list(getattr(importlib.import_module(module), name))
        except (ImportError, AttributeError) as exc:
            raise ConfigError(f"domains: choices_from {domain['choices_from']!r}: {exc}") from exc
    return None


def check_domains(
    run_id: str,
    effective: Mapping[str, object],
    domains: Mapping[str, Mapping[str, object]],
    allowed: list[str],
) -> None:
    """Check the run's effective values against the declared domains (workbook.toml
    ``[domains]``): choices, numeric ranges and ``at_most`` another parameter."""
    for name, domain in domains.items():
        if name not in effective or effective[name] is None:
            continue
        value = effective[name]
        choices = domain_choices(domain)
        if choices is not None and value not in choices:
            close = difflib.get_close_matches(str(value), [str(c) for c in choices], n=1)
            did = f" (did you mean {close[0]!r}?)" if close else ""
            raise ParameterError(run_id, name, f"{value!r} is not one of {choices}{did}", allowed)
        if isinstance(value, int | float) and not isinstance(value, bool):
            if "min" in domain and value < domain["min"]:
                raise ParameterError(run_id, name, f"{value!r} is below {domain['min']}", allowed)
            if "max" in domain and value > domain["max"]:
                raise ParameterError(run_id, name, f"{value!r} is above {domain['max']}", allowed)
        other = domain.get("at_most")
        if other and effective.get(other) is not None and value > effective[other]:
            raise ParameterError(
                run_id, name, f"{value!r} is after {other} = {effective[other]!r}", allowed
            )


def _literal_hint(type_name: str, value: object) -> str:
    """A hint for ``-p`` values, which are TOML literals (``True`` is a string there)."""
    if type_name == "bool" and isinstance(value, str) and value.lower() in ("true", "false"):
        return f" (-p values are TOML literals: write {value.lower()}, in lower case)"
    if type_name in ("int", "float") and isinstance(value, str):
        return " (-p values are TOML literals: write the number without quotes)"
    if type_name == "str" and not isinstance(value, str):
        return f" (-p values are TOML literals: quote it to pass a string, -p name='\"{value}\"')"
    if type_name == "list" and isinstance(value, str):
        return " (-p values are TOML literals: write a list as [1, 2])"
    return ""


def check_parameters(
    run_id: str,
    notebook: Path,
    given: Mapping[str, object],
    domains: Mapping[str, Mapping[str, object]] | None = None,
) -> None:
    """Raise ParameterError for the first unknown, missing, mistyped or out-of-domain
    parameter."""
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
                f"expected {declared[name].type_name}, got {type(value).__name__} {value!r}"
                + _literal_hint(declared[name].type_name, value),
                allowed,
            )
    for d in declared.values():
        if d.required and d.name not in given:
            raise ParameterError(run_id, d.name, "is required (its default is None)", allowed)
    if domains:
        effective = {**{n: d.default for n, d in declared.items()}, **given}
        check_domains(run_id, effective, domains, allowed)
