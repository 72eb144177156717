"""The case browser's content: one record per deal and per captivity spell, as plain data
for the templates, with the evidence (quote and link) behind every value.

Deals come from ``deals.csv`` where a row exists; a deal without one is derived from its
tranches in ``exchanges.csv`` (sides, dates, totals, mediators and hosts), and says so.
Every value shown carries its evidence rows from ``evidence.csv`` (table, row id, field);
a value without one shows "no quote recorded". Values are strings as coded: the templates
escape them.
"""

from __future__ import annotations

import csv
import inspect
import re
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

LIST_SEP = " | "


def read_rows(path: Path) -> list[dict[str, str]]:
    """The rows of a CSV as strings (empty list when the file is missing)."""
    if not path.is_file():
        return []
    with path.open(newline="", encoding="utf-8") as fh:
        return [
            {k: (v or "") for k, v in row.items() if k is not None} for row in csv.DictReader(fh)
        ]


def split(value: str) -> list[str]:
    return [v.strip() for v in (value or "").split("|") if v.strip()]


def slug(value: str) -> str:
    """A file name for an id: letters, digits, dot, dash and underscore only."""
    return re.sub(r"[^A-Za-z0-9._-]", "_", value) or "_"


def is_url(text: str) -> bool:
    return text.startswith(("http://", "https://"))


@dataclass
class Value:
    """One coded value with the evidence behind it."""

    field: str
    value: str
    evidence: list[dict[str, str]] = field(default_factory=list)
    derived: str = ""  # how a value without a row of its own was computed


class Evidence:
    """evidence.csv indexed by (table, row_id, field)."""

    def __init__(self, rows: list[dict[str, str]]):
        self._by: dict[tuple[str, str, str], list[dict[str, str]]] = defaultdict(list)
        for r in rows:
            item = {
                "value": r.get("value", ""),
                "url": r.get("url", ""),
                "is_url": is_url(r.get("url", "")),
                "quote": r.get("quote", ""),
                "derivation": r.get("derivation", ""),
            }
            self._by[(r.get("table", ""), r.get("row_id", ""), r.get("field", ""))].append(item)
        self.n_rows = len(rows)

    def value(self, table: str, row_id: str, field_name: str, value: str) -> Value:
        return Value(field_name, value, list(self._by.get((table, row_id, field_name), [])))

    def count(self) -> int:
        return self.n_rows


def _memberships(ds):
    """research.alliances.Memberships for a dataset, whichever constructor it has."""
    from ..alliances import Memberships

    params = list(inspect.signature(Memberships).parameters)
    if params and params[0] == "members":
        return Memberships(ds.alliance_members, ds.alliances)
    return Memberships(ds)


class Alliances:
    """The treaties a party was in on a date, by name (through research.alliances)."""

    def __init__(self, ds, alliance_rows: list[dict[str, str]]):
        self.names = {r["alliance_id"]: r.get("name") or r["alliance_id"] for r in alliance_rows}
        try:
            self.index = _memberships(ds) if ds is not None else None
        except Exception:  # the look-up is a convenience on the page, never fatal
            self.index = None

    def on(self, party: str, date: str) -> list[dict[str, str]] | None:
        """``[{"id", "name"}]`` of the alliances ``party`` was in on ``date``; None if unknown."""
        if self.index is None or not date:
            return None
        try:
            ids = self.index.memberships(party, pd.Timestamp(date))
        except Exception:
            return None
        return [{"id": a, "name": self.names.get(a, a)} for a in sorted(ids)]


def _int(text: str) -> int | None:
    try:
        return int(float(text))
    except (TypeError, ValueError):
        return None


def _sum(values: list[str]) -> str:
    nums = [_int(v) for v in values if v != ""]
    nums = [n for n in nums if n is not None]
    return str(sum(nums)) if nums else ""


def _union(values: list[str]) -> list[str]:
    out: list[str] = []
    for v in values:
        for item in split(v):
            if item not in out:
                out.append(item)
    return out


class Cases:
    """Deals, tranches, parties and captivity spells of one data package, for the pages.

    Parameters
    ----------
    data_dir : Path
        The data package folder.
    """

    def __init__(self, data_dir: Path):
        self.data_dir = data_dir
        t = {
            name: read_rows(data_dir / f"{name}.csv")
            for name in (
                "exchanges",
                "deals",
                "parties",
                "exchange_parties",
                "captivities",
                "alliances",
                "alliance_members",
                "evidence",
            )
        }
        self.tables = t
        self.evidence = Evidence(t["evidence"])
        self.parties = {r["party_id"]: r for r in t["parties"]}
        try:
            from .downloads import load_available

            ds = load_available(data_dir)
        except Exception:  # unreadable data: the pages still show the rows as coded
            ds = None
        self.alliances = Alliances(ds, t["alliances"])
        self.deal_rows = {r["deal_id"]: r for r in t["deals"] if r.get("deal_id")}
        self.tranches: dict[str, list[dict[str, str]]] = defaultdict(list)
        for r in sorted(
            t["exchanges"], key=lambda r: (r.get("exchange_date", ""), r["exchange_id"])
        ):
            self.tranches[r.get("deal_id") or r["exchange_id"]].append(r)
        self.members = defaultdict(list)
        for r in t["exchange_parties"]:
            self.members[r["exchange_id"]].append(r)
        self.spells_by_exchange = defaultdict(list)
        for r in t["captivities"]:
            if r.get("exchange_id"):
                self.spells_by_exchange[r["exchange_id"]].append(r)
        self.exchange_deal = {
            r["exchange_id"]: (r.get("deal_id") or r["exchange_id"]) for r in t["exchanges"]
        }

    # --- names --------------------------------------------------------------------------

    def party_name(self, pid: str) -> str:
        return (self.parties.get(pid) or {}).get("name") or pid

    def party(self, pid: str) -> dict[str, str]:
        return {"id": pid, "name": self.party_name(pid)}

    def dyad(self, a: str, b: str) -> str:
        return f"{self.party_name(a)} – {self.party_name(b)}"

    # --- deals --------------------------------------------------------------------------

    def deal_ids(self) -> list[str]:
        ids = set(self.tranches) | set(self.deal_rows)
        return sorted(ids, key=lambda d: (self._first_date(d), d))

    def _first_date(self, deal_id: str) -> str:
        tr = self.tranches.get(deal_id) or []
        row = self.deal_rows.get(deal_id) or {}
        return (tr[0].get("exchange_date") if tr else "") or row.get("agreement_date", "")

    def summary(self, deal_id: str) -> dict:
        """One row of the deals index."""
        d = self.deal(deal_id, full=False)
        return {
            "id": deal_id,
            "slug": slug(deal_id),
            "name": d["name"],
            "date": d["first_date"],
            "year": d["first_date"][:4],
            "dyad": self.dyad(d["side_a"], d["side_b"]),
            "region": d["region"],
            "format": d["format"].value,
            "mediators": ", ".join(self.party_name(m) for m in split(d["mediators"].value)),
            "tranches": len(d["tranches"]),
            "released_by_a": d["total_a"].value,
            "released_by_b": d["total_b"].value,
        }

    def deal(self, deal_id: str, full: bool = True) -> dict:
        """Everything the page of one deal shows."""
        tranches = self.tranches.get(deal_id, [])
        row = self.deal_rows.get(deal_id)
        first = tranches[0] if tranches else {}
        ev = self.evidence

        def dv(field_name: str, derived: str) -> Value:
            if row is not None and row.get(field_name, "") != "":
                return ev.value("deals", deal_id, field_name, row[field_name])
            return Value(field_name, derived, derived="from the tranches" if derived else "")

        side_a = (row or {}).get("side_a") or first.get("side_a", "")
        side_b = (row or {}).get("side_b") or first.get("side_b", "")
        out = {
            "id": deal_id,
            "slug": slug(deal_id),
            "from_deals_csv": row is not None,
            "name": (row or {}).get("name") or first.get("name") or deal_id,
            "side_a": side_a,
            "side_b": side_b,
            "side_a_name": self.party_name(side_a),
            "side_b_name": self.party_name(side_b),
            "first_date": first.get("exchange_date", "") or (row or {}).get("agreement_date", ""),
            "region": first.get("region", ""),
            "agreement_date": dv(
                "agreement_date",
                next((t["agreement_date"] for t in tranches if t.get("agreement_date")), ""),
            ),
            "format": dv("format", first.get("format", "")),
            "mediators": dv(
                "mediators", LIST_SEP.join(_union([t.get("mediators", "") for t in tranches]))
            ),
            "hosts": dv("hosts", LIST_SEP.join(_union([t.get("hosts", "") for t in tranches]))),
            "mediator_type": dv("mediator_type", first.get("mediator_type", "")),
            "total_a": dv(
                "total_released_by_a", _sum([t.get("released_by_a", "") for t in tranches])
            ),
            "total_b": dv(
                "total_released_by_b", _sum([t.get("released_by_b", "") for t in tranches])
            ),
            "tranches": tranches,
        }
        if not full:
            return out
        extra = (
            "talks_started_on",
            "talks_start_kind",
            "carried_out",
            "totals_disputed",
            "confidence",
        )
        out["deal_fields"] = [
            ev.value("deals", deal_id, f, row.get(f, "")) for f in extra if row and row.get(f)
        ]
        out["mediator_list"] = [self.party(m) for m in split(out["mediators"].value)]
        out["host_list"] = [self.party(h) for h in split(out["hosts"].value)]
        out["deal_sources"] = [
            {"url": u, "is_url": is_url(u)} for u in split((row or {}).get("sources", ""))
        ]
        out["deal_notes"] = (row or {}).get("notes", "")
        out["tranche_views"] = [self._tranche(t) for t in tranches]
        return out

    def _tranche(self, t: dict[str, str]) -> dict:
        xid, ev = t["exchange_id"], self.evidence
        fields = (
            "exchange_date",
            "released_by_a",
            "released_by_b",
            "bodies_by_a",
            "bodies_by_b",
            "count_precision",
            "mediators",
            "hosts",
        )
        date = t.get("exchange_date", "")
        listed = self.members.get(xid) or [
            {"side": "a", "party_id": t.get("side_a", ""), "released": "", "received": ""},
            {"side": "b", "party_id": t.get("side_b", ""), "released": "", "received": ""},
        ]
        parties = []
        for m in listed:
            pid = m.get("party_id", "")
            parties.append(
                {
                    **self.party(pid),
                    "side": m.get("side", ""),
                    "released": ev.value(
                        "exchange_parties", f"{xid}/{pid}", "released", m.get("released", "")
                    ),
                    "received": ev.value(
                        "exchange_parties", f"{xid}/{pid}", "received", m.get("received", "")
                    ),
                    "alliances": self.alliances.on(pid, date),
                }
            )
        spells = [
            {
                "id": s["captivity_id"],
                "slug": slug(s["captivity_id"]),
                "name": s.get("name", ""),
                "n": s.get("n_captives", ""),
                "since": s.get("detained_since", ""),
                "home": self.party_name(s.get("home", "")),
            }
            for s in self.spells_by_exchange.get(xid, [])
        ]
        return {
            "id": xid,
            "name": t.get("name", ""),
            "values": [
                ev.value("exchanges", xid, f, t.get(f, "")) for f in fields if t.get(f, "") != ""
            ],
            "parties": parties,
            "spells": spells,
            "sources": [{"url": u, "is_url": is_url(u)} for u in split(t.get("sources", ""))],
            "notes": t.get("notes", ""),
        }

    # --- captivity spells ---------------------------------------------------------------

    def captivity_ids(self) -> list[str]:
        return [r["captivity_id"] for r in self.tables["captivities"]]

    def captivity(self, cid: str) -> dict:
        row = next(r for r in self.tables["captivities"] if r["captivity_id"] == cid)
        fields = (
            "n_captives",
            "captive_kind",
            "detained_since",
            "ended_on",
            "outcome",
            "exchange_id",
        )
        deal = self.exchange_deal.get(row.get("exchange_id", ""))
        return {
            "id": cid,
            "slug": slug(cid),
            "name": row.get("name", "") or cid,
            "holder": self.party(row.get("holder", "")),
            "home": self.party(row.get("home", "")),
            "values": [
                self.evidence.value("captivities", cid, f, row.get(f, ""))
                for f in fields
                if row.get(f)
            ],
            "deal": {"id": deal, "slug": slug(deal)} if deal else None,
            "sources": [{"url": u, "is_url": is_url(u)} for u in split(row.get("sources", ""))],
            "notes": row.get("notes", ""),
        }

    def captivity_summary(self, cid: str) -> dict:
        row = next(r for r in self.tables["captivities"] if r["captivity_id"] == cid)
        return {
            "id": cid,
            "slug": slug(cid),
            "name": row.get("name", "") or cid,
            "holder": self.party_name(row.get("holder", "")),
            "home": self.party_name(row.get("home", "")),
            "n": row.get("n_captives", ""),
            "since": row.get("detained_since", ""),
            "ended": row.get("ended_on", ""),
            "outcome": row.get("outcome", ""),
        }
