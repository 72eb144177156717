"""Coder's tool: write data/alliances_vs_atop.csv, every state-year (1949-2018, the data's years)
of the states in atop_defense_state_years.csv where the project's defense-pact indicator differs
from ATOP 5.1's, with the reason found from the coded spells. Review the output by hand: a row
whose reason is 'unexplained' is a coding task, not a documented difference.

    .venv/bin/python tools/atop_differences.py
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
import research as rs
from research import alliances as al

ATOP = "ATOP 5.1 (Leeds et al. 2002; Leeds 2022), atop5_1_ddyr"
FIRST = 1949
CENTO = "baghdad_cento"


def reason(ds, index, party, year, project, atop):
    m = ds.tables["alliance_members"]
    al_src = dict(zip(ds.tables["alliances"]["alliance_id"], ds.tables["alliances"]["sources"]))
    mine = m[(m.party_id == party) & (m.status == "active") & m.alliance_id.isin(index.defense)]
    if project and not atop:
        here = [
            a for a in mine.alliance_id if a in index.memberships(party, pd.Timestamp(year, 7, 1))
        ]
        if CENTO in set(mine.alliance_id):
            return (
                "cento_without_defense_in_atop: ATOP codes the Baghdad Pact / CENTO without a "
                "defense pledge; the project codes its mutual-defence article as a defense pact",
                list(al_src[CENTO]),
            )
        return (f"project_only: in force per pages read ({', '.join(here)})", [])
    for r in mine.itertuples():
        s = r.start_date
        if year < s.year <= year + 2:
            return (
                f"signature_vs_entry_into_force: ATOP dates the pledge from signature; the project "
                f"dates {r.alliance_id} from {r.start_event} on {s.date()} ({r.start_date_precision} "
                "precision, page read)",
                list(r.sources),
            )
        if pd.notna(r.end_date) and year - 2 <= r.end_date.year < year:
            return (
                f"atop_end_later: ATOP keeps a pledge after the project's page-coded end of "
                f"{r.alliance_id} on {r.end_date.date()} ({r.end_event}); the residual years were "
                "not coded as a separate pact",
                list(r.sources),
            )
    return ("unexplained", [])


def main() -> None:
    ds = rs.load()
    index = al.Memberships(ds)
    t = ds.tables["atop_defense_state_years"]
    rows = []
    for p, y, a in zip(t.party_id, t.year, t.atop_defense):
        if y < FIRST:
            continue
        proj = index.defense_in_year(p, int(y))
        if proj != bool(a):
            why, src = reason(ds, index, p, int(y), proj, bool(a))
            rows.append(
                dict(
                    party_id=p,
                    year=int(y),
                    project_value=str(proj).lower(),
                    atop_value=str(bool(a)).lower(),
                    reason=why,
                    sources=" | ".join(dict.fromkeys([*src, ATOP])),
                )
            )
    with open("data/alliances_vs_atop.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]), lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
    print(len(rows), "differences of", int((t.year >= FIRST).sum()), "state-years")


if __name__ == "__main__":
    main()
