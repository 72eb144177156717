"""One error family for the workbook. Every error carries structured fields, so callers and
tests can inspect *what* went wrong without parsing messages."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


class ResearchError(Exception):
    """Base class of every error raised by the ``research`` package."""


@dataclass(frozen=True)
class Problem:
    """One broken rule in one cell (or row) of the data package."""

    file: str
    line: int | None
    field: str | None
    value: str | None
    rule: str
    message: str

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        field = f" field '{self.field}'" if self.field else ""
        value = f" value {self.value!r}" if self.value not in (None, "") else ""
        return f"{where}:{field}{value} [{self.rule}] {self.message}"


class DataValidationError(ResearchError):
    """The data package breaks one or more codebook rules; ``problems`` lists them all."""

    def __init__(self, problems: Sequence[Problem], data_dir: str = "") -> None:
        self.problems = tuple(problems)
        self.data_dir = data_dir
        head = f"{len(self.problems)} problem(s) in the data package {data_dir}".rstrip()
        body = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"{head}:\n{body}")


class ConfigError(ResearchError):
    """workbook.toml is malformed or names something that does not exist."""

    def __init__(self, message: str, file: str = "", field: str | None = None) -> None:
        self.file = file
        self.field = field
        super().__init__(f"{file}: {message}" if file else message)


class ParameterError(ResearchError):
    """A run passes a parameter its notebook does not accept, or of the wrong type."""

    def __init__(self, run_id: str, parameter: str, message: str, allowed: Sequence[str]) -> None:
        self.run_id = run_id
        self.parameter = parameter
        self.allowed = tuple(allowed)
        listed = ", ".join(self.allowed) or "(none)"
        super().__init__(
            f"run '{run_id}': parameter '{parameter}': {message}. The notebook accepts: {listed}."
        )


class RunFailedError(ResearchError):
    """A notebook run failed: the failing cell and the error are recorded."""

    def __init__(self, run_id: str, cell_index: int | None, ename: str, evalue: str) -> None:
        self.run_id = run_id
        self.cell_index = cell_index
        self.ename = ename
        self.evalue = evalue
        cell = f"cell {cell_index}" if cell_index is not None else "kernel"
        super().__init__(f"run '{run_id}' failed in {cell}: {ename}: {evalue}")


class AnalysisError(ResearchError):
    """An analysis cannot be computed as asked (too few observations, no variation, ...)."""
