"""Coder's helper: replace or add alliance_members spells and append their evidence rows.

Used by hand for page-based refinements; each call names the spells and the evidence quotes.
"""

from __future__ import annotations

import csv
from pathlib import Path

DATA = Path("data")
FIELDS = [
    "alliance_id",
    "party_id",
    "start_date",
    "start_date_precision",
    "start_event",
    "end_date",
    "end_date_precision",
    "end_event",
    "status",
    "sources",
    "notes",
]


def apply(drop: list[tuple[str, str, str]], add: list[dict], evidence: list[list[str]]) -> None:
    """Drop spells by (alliance_id, party_id, start_date), append ``add`` and the evidence."""
    path = DATA / "alliance_members.csv"
    rows = list(csv.DictReader(path.open(newline="")))
    keys = set(drop)
    rows = [r for r in rows if (r["alliance_id"], r["party_id"], r["start_date"]) not in keys]
    rows += [{f: a.get(f, "") for f in FIELDS} for a in add]
    with path.open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=FIELDS, lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
    with (DATA / "evidence.csv").open("a", newline="") as f:
        csv.writer(f, lineterminator="\n").writerows(evidence)
