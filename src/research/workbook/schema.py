"""The schema of workbook.toml (JSON Schema, checked with ``jsonschema``).

Every table forbids unknown keys, so a typo such as ``[[runs]]``, ``[run.parameter]`` or
``[workbok]`` is an error naming the field path instead of being silently ignored.
"""

from __future__ import annotations

import difflib

from ..exceptions import ConfigError

_TEXT = {"type": "string"}
_PARAMETERS = {"type": "object"}

DOMAIN = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "choices": {"type": "array", "minItems": 1},
        "choices_from": {"type": "string", "pattern": r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$"},
        "min": {"type": "number"},
        "max": {"type": "number"},
        "at_most": {"type": "string"},
        "help": _TEXT,
    },
}

_RUN_KEYS = {
    "id": _TEXT,
    "notebook": _TEXT,
    "title": _TEXT,
    "hypothesis": _TEXT,
    "parameters": _PARAMETERS,
}

SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "workbook": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "title": _TEXT,
                "question": _TEXT,
                "timeout": {"type": "number", "exclusiveMinimum": 0},
                "kernel": _TEXT,
                "outputs": _TEXT,
                "data": _TEXT,
                "hypotheses": {"type": "object", "additionalProperties": _TEXT},
            },
        },
        "run": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["id", "notebook"],
                "properties": _RUN_KEYS,
            },
        },
        "sweep": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["id", "notebook", "grid"],
                "properties": {
                    **_RUN_KEYS,
                    "grid": {
                        "type": "object",
                        "minProperties": 1,
                        "additionalProperties": {"type": "array", "minItems": 1},
                    },
                },
            },
        },
        "confirmatory": {
            "type": "object",
            "additionalProperties": {
                "type": "object",
                "additionalProperties": False,
                "required": ["run", "result"],
                "properties": {
                    "run": _TEXT,
                    "result": _TEXT,
                    # the side of the null the hypothesis predicts, and the null itself
                    "direction": {"enum": ["below", "above"]},
                    "null": {"type": "number"},
                },
            },
        },
        "domains": {"type": "object", "additionalProperties": DOMAIN},
    },
}

_TYPE_WORDS = {
    "object": "a table",
    "array": "an array",
    "string": "a string",
    "number": "a number",
    "integer": "an integer",
    "boolean": "true or false",
}
_TOML_HINT = {
    "run": "write each run as [[run]] (an array of tables), not [run]",
    "sweep": "write each sweep as [[sweep]] (an array of tables), not [sweep]",
}


def _path_text(path) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def _value_type(value: object) -> str:
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, bool):
        return "a boolean"
    return f"{type(value).__name__} {value!r}"


def _message(error) -> tuple[str, str]:
    """(field path, what is wrong) for one jsonschema error."""
    where = _path_text(error.absolute_path)
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        known = list(error.schema.get("properties", {}))
        extra = [k for k in error.instance if k not in known]
        name = extra[0] if extra else "?"
        place = f"{where}.{name}" if error.absolute_path else name
        hint = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
        did = f" (did you mean '{hint[0]}'?)" if hint else ""
        allowed = ", ".join(known) or "(none)"
        return place, f"unknown key '{name}'{did}; allowed here: {allowed}"
    if error.validator == "type":
        want = error.validator_value
        words = " or ".join(
            _TYPE_WORDS.get(w, w) for w in ([want] if isinstance(want, str) else want)
        )
        last = error.absolute_path[-1] if error.absolute_path else None
        hint = _TOML_HINT.get(last) if isinstance(error.instance, dict) else None
        return where, f"expected {words}, got {_value_type(error.instance)}" + (
            f"; {hint}" if hint else ""
        )
    if error.validator == "required":
        missing = error.message.split("'")[1] if "'" in error.message else error.message
        return where, f"'{missing}' is required"
    return where, error.message


_FAST = None


def _fast_valid(doc: dict) -> bool:
    """A quick yes/no with fastjsonschema (compiled once; ms, where importing jsonschema's
    format checkers costs over a second); jsonschema then explains the first failure."""
    global _FAST
    try:
        import fastjsonschema
    except ImportError:
        return False
    if _FAST is None:
        _FAST = fastjsonschema.compile(SCHEMA)
    try:
        _FAST(doc)
    except fastjsonschema.JsonSchemaException:
        return False
    return True


def check_schema(doc: dict, file: str) -> None:
    """Raise ConfigError naming the field path of the first schema violation."""
    if _fast_valid(doc):
        return
    from .render import skip_slow_format_checkers

    skip_slow_format_checkers()
    import jsonschema

    validator = jsonschema.Draft202012Validator(SCHEMA)
    errors = sorted(validator.iter_errors(doc), key=lambda e: list(map(str, e.absolute_path)))
    if errors:
        field, message = _message(errors[0])
        raise ConfigError(f"{field}: {message}", file, field)
