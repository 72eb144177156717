"""The alliance & prisoner-exchange research workbook.

A thin public face: ``import research as rs`` then ``rs.load()``, ``rs.analysis_frame(ds)``,
``rs.record(...)``. Names are imported on first use, so the command-line tool starts fast.
"""

from __future__ import annotations

import importlib
from importlib import metadata as _metadata

try:
    __version__ = _metadata.version("research")
except _metadata.PackageNotFoundError:  # a source tree that was never installed
    __version__ = "0+unknown"

_EXPORTS = {
    "load": "data",
    "Dataset": "data",
    "default_data_dir": "data",
    "validate_package": "validate",
    "ResearchError": "exceptions",
    "DataValidationError": "exceptions",
    "AnalysisError": "exceptions",
    "ParameterError": "exceptions",
    "Problem": "exceptions",
    "analysis_frame": "variables",
    "orient_by_alliance": "variables",
    "captivity_durations": "variables",
    "exchange_ratio": "variables",
    "time_to_deal": "variables",
    "missingness": "variables",
    "Memberships": "alliances",
    "party_covariates": "alliances",
    "share_alliance": "alliances",
    "DEFINITIONS": "alliances",
    "record": "results",
    "stats": None,
    "survival": None,
    "plots": None,
    "alliances": None,
    "variables": None,
    "hypotheses": None,
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module 'research' has no attribute {name!r}")
    module = _EXPORTS[name]
    if module is None:
        return importlib.import_module(f".{name}", __name__)
    return getattr(importlib.import_module(f".{module}", __name__), name)


def __dir__() -> list[str]:
    return __all__
