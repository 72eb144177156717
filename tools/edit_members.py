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


def redate(aid: str, year: int, new: str, precision: str, url: str, quote: str,
           derivation: str = "", parties: set[str] | None = None, note: str = "",
           name: str | None = None) -> list[str]:
    """Give the ATOP-derived spells of ``aid`` that start in ``year`` (optionally only those of
    ``parties``) the start date a page states; re-key their evidence rows and add the page's."""
    path = DATA / "alliance_members.csv"
    rows = list(csv.DictReader(path.open(newline="")))
    moved = {}
    for r in rows:
        if r["alliance_id"] == aid and r["start_date"] == f"{year}-01-01" and (
            parties is None or r["party_id"] in parties
        ):
            old = f"{aid}/{r['party_id']}/{r['start_date']}"
            r["start_date"], r["start_date_precision"] = new, precision
            if url not in r["sources"]:
                r["sources"] += " | " + url
            r["notes"] = (r["notes"] + " " + note).strip()
            moved[old] = f"{aid}/{r['party_id']}/{new}"
    with path.open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=FIELDS, lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
    ev_path = DATA / "evidence.csv"
    ev = list(csv.reader(ev_path.open(newline="")))
    out = []
    for e in ev:
        if e[0] == "alliance_members" and e[1] in moved:
            e[1] = moved[e[1]]
            if e[2] == "start_date":
                continue  # the page's date replaces ATOP's year
        out.append(e)
    for key in moved.values():
        out.append(["alliance_members", key, "start_date", new, url, quote, derivation])
    with ev_path.open("w", newline="") as f:
        csv.writer(f, lineterminator="\n").writerows(out)
    apath = DATA / "alliances.csv"
    al = list(csv.DictReader(apath.open(newline="")))
    for a in al:
        if a["alliance_id"] == aid:
            if name:
                a["name"] = name
            if url not in a["sources"]:
                a["sources"] += " | " + url
            if a["start_date"] == f"{year}-01-01":
                a["start_date"], a["start_date_precision"] = new, precision
            a["notes"] = (a["notes"] + " " + note).strip()
    with apath.open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(al[0]), lineterminator="\n")
        w.writeheader()
        w.writerows(al)
    return sorted(moved.values())
