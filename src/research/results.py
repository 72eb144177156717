"""``record(...)``: a notebook states each headline result once; it lands in the run's
results.json.

Under ``research run`` the engine sets ``RESEARCH_RUN_DIR`` and each call appends to
``$RESEARCH_RUN_DIR/results.json``. Run interactively (JupyterLab, no engine), results are
kept in memory only and shown, so a notebook never writes into the repository.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import asdict, dataclass
from pathlib import Path

from .exceptions import ResearchError

RUN_DIR_ENV = "RESEARCH_RUN_DIR"
_SESSION: list[dict] = []


@dataclass(frozen=True)
class Recorded:
    """One headline result as stored in results.json."""

    name: str
    estimate: float | None
    ci_low: float | None
    ci_high: float | None
    p: float | None
    n: int | None
    n_clusters: int | None
    method: str
    hypothesis: str

    def __str__(self) -> str:
        ci = "" if self.ci_low is None else f" [{self.ci_low:.3g}, {self.ci_high:.3g}]"
        p = "" if self.p is None else f", p = {self.p:.3g}"
        return f"{self.hypothesis or '-'} {self.name}: {self.estimate:.3g}{ci}{p}, n = {self.n}"


def _number(value, what: str, name: str) -> float | None:
    if value is None:
        return None
    try:
        out = float(value)
    except (TypeError, ValueError) as exc:
        raise ResearchError(f"record({name!r}): {what} must be a number, not {value!r}") from exc
    return None if math.isnan(out) else round(out, 10)


def record(
    name: str,
    estimate=None,
    ci: tuple | None = None,
    p=None,
    n=None,
    method: str = "",
    hypothesis: str = "",
    n_clusters=None,
    result=None,
) -> Recorded:
    """Record a headline result of the running notebook.

    Parameters
    ----------
    name : str
        Short name, unique within the run for its hypothesis, e.g. ``"log_ratio_gap"``;
        recording the same name and hypothesis again replaces the earlier result.
    estimate, ci, p, n, n_clusters : numbers
        The effect and its confidence interval; ``ci`` is ``(low, high)``.
    method, hypothesis : str
        How it was estimated, and which hypothesis it tests (``"H1"``).
    result : research.stats.Result, optional
        Take estimate, CI, p, n, clusters and method from a result object.

    Returns
    -------
    Recorded
        What was stored. Numbers are rounded to 10 significant decimals so reruns are
        byte-identical.

    Examples
    --------
    >>> rs.record("gap", result=res, hypothesis="H1")  # doctest: +SKIP
    """
    if result is not None:
        estimate = result.estimate if estimate is None else estimate
        ci = (result.ci_low, result.ci_high) if ci is None else ci
        p = result.p if p is None else p
        n = result.n if n is None else n
        n_clusters = getattr(result, "n_clusters", None) if n_clusters is None else n_clusters
        method = method or result.method
    lo, hi = ci if ci is not None else (None, None)
    rec = Recorded(
        name=str(name),
        estimate=_number(estimate, "estimate", name),
        ci_low=_number(lo, "ci", name),
        ci_high=_number(hi, "ci", name),
        p=_number(p, "p", name),
        n=None if n is None else int(n),
        n_clusters=None if n_clusters is None else int(n_clusters),
        method=str(method),
        hypothesis=str(hypothesis),
    )
    run_dir = os.environ.get(RUN_DIR_ENV)
    if run_dir:
        _append(Path(run_dir) / "results.json", asdict(rec))
    else:
        _SESSION.append(asdict(rec))
    return rec


def _append(path: Path, row: dict) -> None:
    rows = json.loads(path.read_text(encoding="utf-8")) if path.exists() else []
    key = (row["name"], row["hypothesis"])  # re-recording a result replaces it
    rows = [r for r in rows if (r["name"], r["hypothesis"]) != key] + [row]
    path.write_text(json.dumps(rows, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def session_results() -> list[dict]:
    """Results recorded in this interactive session (not under the engine)."""
    return list(_SESSION)
