"""Coder's tool (run by hand, not by the package): extend the alliance tables from ATOP 5.1.

Reads ../shared/reference (ATOP 5.1 directed dyad-years) and the coded tables, and appends
year-precision spells derived from ATOP for every defense pledge of every state that is a side,
mediator or host of an exchange (or a captivity's holder or home state) that the page-coded
treaties do not already cover. Every derived value gets an evidence row whose derivation names
the dyad-years. Run from the repository root: ``.venv/bin/python tools/build_atop_alliances.py``.
"""

from __future__ import annotations

import csv
import sys
from collections import defaultdict
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "tools"))
from fill_party_codes import relevant_parties  # noqa: E402

from research.alliances import party_ccode  # noqa: E402

REF = Path("../shared/reference")
DATA = Path("data")
ATOP = "ATOP 5.1 (Leeds et al. 2002; Leeds 2022), atop5_1_ddyr"
LAST = 2018
FIRST = 1949  # the data's first date (exchanges from 1949, captivities from 1950)
EDGE = 2  # a run of at most this many years next to a page-coded spell of the same pair is a
# dating convention (signature vs entry into force), documented in alliances_vs_atop.csv
# Named treaties extended to their full ATOP membership through an anchor state whose ATOP
# defense partners from that year on are that treaty's members only (checked by hand).
ANCHORS = {"nato": (395, 1949), "arab_league_jdt": (660, 1950)}
MEMBER_FIELDS = [
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


def runs(years):
    years = sorted(years)
    out, start, prev = [], years[0], years[0]
    for y in years[1:]:
        if y != prev + 1:
            out.append((start, prev))
            start = y
        prev = y
    out.append((start, prev))
    return out


class Builder:
    def __init__(self):
        a = pd.read_csv(REF / "atop5_1_ddyr_1945_2018.csv")
        d = a[a.atop_defense == 1]
        self.directed = set(zip(d.ccode1, d.ccode2, d.year))
        self.part = defaultdict(set)
        for c1, c2, y in self.directed:
            self.part[(c1, y)].add(c2)
            self.part[(c2, y)].add(c1)
        parties = pd.read_csv(DATA / "parties.csv", dtype=str, keep_default_na=False)
        self.cow = {p: int(c) for p, c in zip(parties.party_id, parties.cow_code) if c}
        self.by_cow = defaultdict(list)
        for p, c in self.cow.items():
            self.by_cow[c].append(p)
        self.by_cow[678].append("YEM")
        self.members = pd.read_csv(DATA / "alliance_members.csv", dtype=str, keep_default_na=False)
        self.alliances = pd.read_csv(DATA / "alliances.csv", dtype=str, keep_default_na=False)
        for col in ("direction", "pledged_by"):
            if col not in self.alliances:
                self.alliances[col] = ""
        self.new_members, self.new_alliances, self.evidence = [], [], []

    def cc(self, p, y):
        return party_ccode(p, y, self.cow.get(p))

    def pid(self, c, y):
        ids = [p for p in self.by_cow[c] if self.cc(p, y) == c]
        if len(ids) != 1:
            raise SystemExit(f"no unique party for COW {c} in {y}: {ids}")
        return ids[0]

    def spell(self, aid, pid, y0, y1, note, cites):
        ended = y1 < LAST
        if y0 == 1945:
            note += (
                " In force in 1945, the first year of the ATOP file used here: the spell may "
                "have started earlier (left-censored at 1945)."
            )
        row = dict(
            alliance_id=aid,
            party_id=pid,
            start_date=f"{y0}-01-01",
            start_date_precision="year",
            start_event="signature",
            end_date=f"{y1}-01-01" if ended else "",
            end_date_precision="year" if ended else "",
            end_event="last_atop_year" if ended else "",
            status="active",
            sources=ATOP,
            notes=note,
        )
        self.new_members.append(row)
        key = f"{aid}/{pid}/{row['start_date']}"
        self.evidence.append(
            [
                "alliance_members",
                key,
                "start_date",
                row["start_date"],
                ATOP,
                f"{cites}, year={y0}: atop_defense=1",
                f"ATOP 5.1 dyad-years: first year of the run with atop_defense=1 ({cites}); ATOP dates from signature",
            ]
        )
        if ended:
            self.evidence.append(
                [
                    "alliance_members",
                    key,
                    "end_date",
                    row["end_date"],
                    ATOP,
                    f"{cites}, year={y1}: atop_defense=1; year={y1 + 1}: no defense pledge",
                    f"ATOP 5.1 dyad-years: last year of the run with atop_defense=1 ({cites})",
                ]
            )
        self.evidence.append(
            [
                "alliance_members",
                key,
                "status",
                "active",
                ATOP,
                f"{cites}: atop_defense=1 in {y0}-{y1}",
                "ATOP 5.1 codes the pledge in force in every year of the spell",
            ]
        )

    def extend_named(self):
        for aid, (anchor, first) in ANCHORS.items():
            coded = set(self.members.loc[self.members.alliance_id == aid, "party_id"])
            yrs = defaultdict(list)
            for y in range(first, LAST + 1):
                ps = self.part.get((anchor, y), set())
                for c in ps | ({anchor} if ps else set()):
                    yrs[c].append(y)
            for c, ys in sorted(yrs.items()):
                for y0, y1 in runs(ys):
                    p = self.pid(c, y0)
                    if p in coded:
                        continue
                    cites = f"ccode1={anchor}, ccode2={c}" if c != anchor else f"ccode1={anchor}"
                    self.spell(
                        aid,
                        p,
                        y0,
                        y1,
                        f"Member derived from ATOP 5.1: defense pledge with COW {anchor} "
                        f"(anchor state whose ATOP defense partners are this treaty's members), "
                        f"{y0}-{LAST if y1 >= LAST else y1}; year precision, from signature "
                        "(ATOP's convention); no page read for this member's own dates.",
                        cites,
                    )

    def covered(self):
        """(party, year) -> parties sharing a page-coded or already derived defense treaty."""
        defense = set(
            self.alliances.loc[self.alliances.obligations.str.contains("defense"), "alliance_id"]
        )
        rows = pd.concat([self.members, pd.DataFrame(self.new_members)], ignore_index=True)
        rows = rows[(rows.status == "active") & rows.alliance_id.isin(defense)]
        by_year = defaultdict(set)  # (alliance, year) -> parties
        for r in rows.itertuples():
            y0 = int(r.start_date[:4])
            y1 = int(r.end_date[:4]) if r.end_date else LAST
            if r.end_date and r.end_date_precision == "day" and r.end_date[5:] == "01-01":
                y1 -= 1
            for y in range(y0, min(y1, LAST) + 1):
                by_year[(r.alliance_id, y)].add(r.party_id)
        out = defaultdict(set)
        for (_aid, y), ps in by_year.items():
            for p in ps:
                out[(p, y)] |= ps - {p}
        return out

    def residual(self):
        cov = self.covered()
        dy = defaultdict(list)  # frozenset({cA, cB}) -> years
        for p in relevant_parties():
            for y in range(FIRST, LAST + 1):
                c = self.cc(p, y)
                if c is None:
                    continue
                done = {self.cc(q, y) for q in cov.get((p, y), ())}
                for t in self.part.get((c, y), set()) - done:
                    dy[frozenset((c, t))].append(y)
        pair_cov = defaultdict(set)
        for (p, y), qs in cov.items():
            for q in qs:
                pair_cov[frozenset((self.cc(p, y), self.cc(q, y)))].add(y)
        out, edges = {}, {}
        for k, ys in dy.items():
            keep = []
            for y0, y1 in runs(sorted(set(ys))):
                near = {y0 - 1, y1 + 1} & pair_cov.get(k, set())
                (edges if near and y1 - y0 + 1 <= EDGE else out).setdefault(k, []).extend(
                    range(y0, y1 + 1)
                )
            del keep
        return out, edges

    def groups(self, dy):
        """Residual dyad runs grouped into treaties: dyads with the same run of years that form
        a complete graph (every pair pledged in every year) are one multilateral group."""
        by_run = defaultdict(set)
        for k, ys in dy.items():
            for r in runs(ys):
                by_run[r].add(k)
        out = []
        for (y0, y1), dyads in sorted(by_run.items()):
            adj = defaultdict(set)
            for k in dyads:
                a, b = sorted(k)
                adj[a].add(b)
                adj[b].add(a)
            seen = set()
            for n in sorted(adj):
                if n in seen:
                    continue
                comp, stack = set(), [n]
                while stack:
                    x = stack.pop()
                    if x not in comp:
                        comp.add(x)
                        stack.extend(adj[x] - comp)
                seen |= comp
                full = all(
                    b in self.part.get((a, y), ())
                    for a in comp
                    for b in comp
                    if a < b
                    for y in range(y0, y1 + 1)
                )
                mine = [k for k in dyads if k <= comp]
                if full and len(comp) > 2:
                    out.append((y0, y1, tuple(sorted(comp))))
                else:
                    out.extend((y0, y1, tuple(sorted(k))) for k in mine)
        return self.merge(out)

    def clique(self, members, y):
        return all(b in self.part.get((a, y), ()) for a in members for b in members if a < b)

    def merge(self, groups):
        """Merge groups that share two or more members while, in every year, the union of
        their members still pledged defense pairwise (one treaty with accessions)."""
        gs = [{c: set(range(y0, y1 + 1)) for c in comp} for y0, y1, comp in groups]
        changed = True
        while changed:
            changed = False
            for i in range(len(gs)):
                for j in range(i + 1, len(gs)):
                    g, h = gs[i], gs[j]
                    common = [c for c in set(g) & set(h) if g[c] & h[c]]
                    if len(common) < 2:
                        continue
                    u = {c: g.get(c, set()) | h.get(c, set()) for c in set(g) | set(h)}
                    years = set().union(*u.values())
                    if all(self.clique([c for c, ys in u.items() if y in ys], y) for y in years):
                        gs[i] = u
                        del gs[j]
                        changed = True
                        break
                if changed:
                    break
        return gs


def write(b: Builder):
    al = pd.concat([b.alliances, pd.DataFrame(b.new_alliances)], ignore_index=True).fillna("")
    for i, r in al.iterrows():
        if not r["direction"]:
            al.loc[i, "direction"] = "mutual"
    cols = [
        "alliance_id",
        "name",
        "obligations",
        "scope",
        "direction",
        "pledged_by",
        "cow_id",
        "atop_id",
        "start_date",
        "start_date_precision",
        "end_date",
        "end_date_precision",
        "sources",
        "notes",
    ]
    al[cols].to_csv(DATA / "alliances.csv", index=False, lineterminator="\n")
    with open(DATA / "alliance_members.csv", "a", newline="") as f:
        w = csv.DictWriter(f, fieldnames=MEMBER_FIELDS, lineterminator="\n")
        w.writerows(b.new_members)
    with open(DATA / "evidence.csv", "a", newline="") as f:
        csv.writer(f, lineterminator="\n").writerows(b.evidence)


def add_groups(b: Builder, groups) -> None:
    abb = {int(r["ccode"]): r["stateabb"] for r in csv.DictReader(open(REF / "cow_states2016.csv"))}
    taken = set(b.alliances.alliance_id)
    for g in groups:  # runs that start at the data window reach back to their ATOP start
        early = [c for c in g if min(g[c]) == FIRST]
        y = FIRST - 1
        while (
            y >= 1945
            and len(early) > 1
            and all(o in b.part.get((c, y), ()) for c in early for o in early if o != c)
        ):
            for c in early:
                g[c].add(y)
            y -= 1
    for g in sorted(groups, key=lambda g: (min(min(v) for v in g.values()), sorted(g))):
        y0 = min(min(v) for v in g.values())
        y1 = max(max(v) for v in g.values())
        cs = sorted(g)
        first = {c: b.pid(c, min(g[c])) for c in cs}
        if len(cs) == 2:
            a, c = cs
            ys = g[a] | g[c]
            ab = all((a, c, y) in b.directed for y in ys)
            ba = all((c, a, y) in b.directed for y in ys)
            direction = "mutual" if ab and ba else "one_way"
            pledged = "" if direction == "mutual" else (first[a] if ab else first[c])
            aid = f"atop_{first[a].lower()}_{first[c].lower()}_{y0}"
            name = f"{abb[a]}-{abb[c]} defense pledge (ATOP 5.1, from {y0})"
            scope = "bilateral"
        else:
            direction, pledged = "mutual", ""
            aid = f"atop_multi_{first[cs[0]].lower()}_{y0}"
            shown = ", ".join(abb[c] for c in cs[:4])
            name = f"Multilateral defense pledge of {len(cs)} states incl. {shown} (ATOP 5.1, from {y0})"
            scope = "multilateral"
        n = 2
        base = aid
        while aid in taken:
            aid, n = f"{base}_{n}", n + 1
        taken.add(aid)
        b.new_alliances.append(
            dict(
                alliance_id=aid,
                name=name,
                obligations="defense",
                scope=scope,
                direction=direction,
                pledged_by=pledged,
                cow_id="",
                atop_id="",
                start_date=f"{y0}-01-01",
                start_date_precision="year",
                end_date="" if y1 >= LAST else f"{y1}-01-01",
                end_date_precision="" if y1 >= LAST else "year",
                sources=ATOP,
                notes=(
                    "Derived from ATOP 5.1 dyad-years: the members pledged defense to each other "
                    f"({'one way, from ' + pledged if pledged else 'in both directions'}) in every "
                    "year of their spells. The treaty itself was not identified from a page read, so "
                    "the name only states members and first year; atop_id empty because the shipped "
                    "ATOP dyad-year file carries no atopid; dates are years from signature (ATOP's "
                    "convention). A spell still in force in 2018, ATOP's last year, is coded ongoing."
                ),
            )
        )
        for c in cs:
            for r0, r1 in runs(g[c]):
                others = [o for o in cs if o != c][:3]
                cites = "; ".join(f"ccode1={c}, ccode2={o}" for o in others)
                b.spell(
                    aid,
                    b.pid(c, r0),
                    r0,
                    r1,
                    f"Derived from ATOP 5.1: defense pledge with the other members in {r0}-{r1}"
                    f"{' (one-way, pledged by ' + pledged + ')' if pledged else ''}.",
                    cites,
                )


if __name__ == "__main__" and "--state-years" not in sys.argv:
    b = Builder()
    b.extend_named()
    dy, edges = b.residual()
    add_groups(b, b.groups(dy))
    if "--write" in sys.argv:
        write(b)
    print(
        len(b.new_alliances),
        "alliances,",
        len(b.new_members),
        "spells,",
        len(b.evidence),
        "evidence rows",
    )
    for a in b.new_alliances:
        print(a["alliance_id"], "|", a["name"], "|", a["direction"], a["pledged_by"])


def atop_state_years() -> None:
    """Write data/atop_defense_state_years.csv: ATOP 5.1's defense indicator (the state gives
    or receives a defense pledge in the year) and its count of defense partners, for every
    relevant party and year 1945-2018 in which the party's COW code is in the COW list."""
    b = Builder()
    cow = pd.read_csv(REF / "cow_states2016.csv")
    spans = defaultdict(list)
    for c, y0, y1 in zip(cow.ccode, cow.styear, cow.endyear):
        spans[c].append((y0, max(y1, LAST) if y1 == 2016 else y1))
    rows = []
    for p in relevant_parties():
        for y in range(1945, LAST + 1):
            c = b.cc(p, y)
            if c is None or not any(a <= y <= z for a, z in spans[c]):
                continue
            n = len(b.part.get((c, y), ()))
            rows.append(
                dict(
                    party_id=p,
                    year=y,
                    cow_code=c,
                    atop_defense=str(n > 0).lower(),
                    atop_n_defense_partners=n,
                    sources=ATOP,
                )
            )
    pd.DataFrame(rows).to_csv(
        DATA / "atop_defense_state_years.csv", index=False, lineterminator="\n"
    )
    print(len(rows), "state-years")


if __name__ == "__main__" and "--state-years" in sys.argv:
    atop_state_years()
