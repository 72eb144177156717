"""The codebook's rules, checked over the raw (string) tables.

Every problem is collected, not just the first, and each names the file, the line, the field,
the value and the rule. Field-level rules come from datapackage.json (types, required, enum,
unique, minimum, pattern, keys); the cross-field rules below come from the codebook guide.
"""

from __future__ import annotations

import importlib
import itertools
import re
from collections import defaultdict
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from types import ModuleType

from . import captivity_rules
from .data import RawTable, read_raw, split_list
from .exceptions import Problem

EARLIEST = date(1945, 1, 1)
MEDIATOR_KIND = {
    "state": "state",
    "international_organization": "international_organization",
    "humanitarian_organization": "humanitarian",
    "non_state_armed_group": "state",  # a group acting as go-between is coded like a state broker
}


def validate_package(data_dir: Path | str, *, evidence_gaps: str | None = None) -> list[Problem]:
    """Check a data package folder; return every problem found (empty when valid).

    ``evidence_gaps`` ("error" or "warning") overrides the descriptor's ``x-evidenceGaps``:
    as warnings, missing evidence and missing deals rows are left out of the list.
    A pass under the descriptor's own setting is remembered by checksum of the data and the
    rules (:func:`research.data.validation_key`), so the notebooks' ``rs.load()`` after
    ``research run`` does not check the same bytes again; ``RESEARCH_CACHE_DIR=off`` turns
    this off."""
    from .data import is_validated, mark_validated, validation_key

    descriptor, raw = read_raw(data_dir)
    key = validation_key(Path(data_dir), descriptor) if evidence_gaps is None else None
    if key is not None and is_validated(key):
        return []
    problems = check_tables(descriptor, raw, evidence_gaps=evidence_gaps)
    if not problems and key is not None:
        mark_validated(key)
    return problems


def rule_modules() -> list[ModuleType]:
    """The rule modules that plug into validation: every ``research/validate_<topic>.py``,
    in name order. Each defines ``check(descriptor, raw) -> Iterable[Problem]``; nothing else
    needs registering (see the README, "Adding a data rule")."""
    package = Path(__file__).parent
    names = sorted(p.stem for p in package.glob("validate_*.py"))
    modules = [importlib.import_module(f"research.{n}") for n in names]
    for m in modules:
        if not callable(getattr(m, "check", None)):
            raise TypeError(f"{m.__file__}: a rule module needs check(descriptor, raw)")
    return modules


def check_tables(
    descriptor: dict, raw: dict[str, RawTable], *, evidence_gaps: str | None = None
) -> list[Problem]:
    """Every problem: the standard rules of the Table Schema, the codebook's cross-field rules
    below, then each plugged-in rule module's ``check`` (evidence and deals among them).
    Evidence gaps are left out when the descriptor or ``evidence_gaps`` says "warning"."""
    from . import validate_evidence as ve

    problems: list[Problem] = []
    datasets = frozenset(d["citation"] for d in descriptor.get("x-datasetSources", []))
    for table in raw.values():
        problems += list(_check_fields(table, datasets))
        problems += list(_check_primary_key(table))
    problems += list(_check_foreign_keys(raw))
    cutoff = _parse_date(descriptor.get("cutoff_date", ""))
    problems += list(_check_dates_and_precision(raw, cutoff))
    problems += list(_check_exchanges(raw))
    problems += list(_check_memberships(raw))
    problems += list(_check_captivities(raw))
    problems += list(captivity_rules.check(descriptor, raw))  # frames and censoring
    for module in rule_modules():
        problems += list(module.check(descriptor, raw))
    if ve.gap_level(descriptor, evidence_gaps) == "warning":
        problems = ve.split_gaps(problems)[0]
    return problems


# ---------------------------------------------------------------- helpers


def _problem(t: RawTable, i: int | None, fld: str | None, value, rule: str, msg: str) -> Problem:
    line = t.lines[i] if i is not None else None
    return Problem(t.path.name, line, fld, None if value is None else str(value), rule, msg)


def _parse_date(value: str) -> date | None:
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        return None


_INT = re.compile(r"^-?[0-9]+$")
_NUM = re.compile(r"^-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?$")
_URL = re.compile(r"^https?://\S+$")


def _type_ok(value: str, spec: dict) -> bool:
    kind = spec["type"]
    if kind == "integer":
        return bool(_INT.match(value))
    if kind == "number":
        return bool(_NUM.match(value))
    if kind == "boolean":
        return value in spec.get("trueValues", ["true"]) + spec.get("falseValues", ["false"])
    if kind == "date":
        return bool(re.match(r"^\d{4}-\d{2}-\d{2}$", value)) and _parse_date(value) is not None
    return True


# ---------------------------------------------------------------- field rules


def _check_fields(t: RawTable, datasets: frozenset[str] = frozenset()) -> Iterator[Problem]:
    """Field rules; a source is an http(s) URL or a published dataset's citation listed in
    the descriptor's ``x-datasetSources``."""
    expected = [f["name"] for f in t.schema["fields"]]
    missing = [n for n in expected if n not in t.header]
    extra = [n for n in t.header if n not in expected]
    if missing or extra:
        yield Problem(
            t.path.name,
            1,
            None,
            ",".join(t.header),
            "header",
            f"columns must be {expected}; missing {missing}, unexpected {extra}",
        )
    for i, row in enumerate(t.rows):
        if "__extra__" in row:
            yield _problem(
                t,
                i,
                None,
                row["__extra__"],
                "row-length",
                f"the row has more cells than the {len(t.header)} columns of the header",
            )
        for spec in t.schema["fields"]:
            name = spec["name"]
            value = row.get(name, "")
            c = spec.get("constraints", {})
            if value.strip() == "":
                if c.get("required"):
                    yield _problem(t, i, name, value, "required", "a value is required")
                continue
            if value != value.strip():
                yield _problem(t, i, name, value, "whitespace", "remove leading or trailing spaces")
            if not _type_ok(value, spec):
                expect = {
                    "integer": "a whole number",
                    "number": "a number",
                    "boolean": "true or false",
                    "date": "an ISO date YYYY-MM-DD",
                }
                yield _problem(
                    t, i, name, value, "type", f"expected {expect.get(spec['type'], spec['type'])}"
                )
                continue
            items = split_list(value) if spec["type"] == "list" else (value,)
            if "enum" in c and value not in c["enum"]:
                yield _problem(t, i, name, value, "enum", f"must be one of {c['enum']}")
            for item in items:
                if spec.get("x-itemEnum") and item not in spec["x-itemEnum"]:
                    yield _problem(
                        t, i, name, item, "enum", f"each item must be one of {spec['x-itemEnum']}"
                    )
            if (
                "minimum" in c
                and spec["type"] in ("integer", "number")
                and float(value) < c["minimum"]
            ):
                yield _problem(t, i, name, value, "minimum", f"must be at least {c['minimum']}")
            if "pattern" in c and not re.fullmatch(c["pattern"], value):
                yield _problem(t, i, name, value, "pattern", f"must match {c['pattern']}")
            if name == "sources":
                for url in items:
                    if not _URL.match(url) and url not in datasets:
                        yield _problem(
                            t,
                            i,
                            name,
                            url,
                            "source-url",
                            "each source must be an http(s) URL, separated by ' | '",
                        )


def _check_primary_key(t: RawTable) -> Iterator[Problem]:
    keys = [k for k in [t.schema.get("primaryKey")] if k]
    keys += [[f["name"]] for f in t.schema["fields"] if f.get("constraints", {}).get("unique")]
    for key in keys:
        key = [key] if isinstance(key, str) else key
        seen: dict[tuple, int] = {}
        for i, row in enumerate(t.rows):
            value = tuple(row.get(k, "") for k in key)
            if value in seen:
                yield _problem(
                    t,
                    i,
                    ",".join(key),
                    "|".join(value),
                    "unique",
                    f"duplicates the key of line {t.lines[seen[value]]}",
                )
            else:
                seen[value] = i


def _check_foreign_keys(raw: dict[str, RawTable]) -> Iterator[Problem]:
    for t in raw.values():
        fks = [(fk, False) for fk in t.schema.get("foreignKeys", [])]
        fks += [(fk, True) for fk in t.schema.get("x-listForeignKeys", [])]
        for fk, is_list in fks:
            ref = raw[fk["reference"]["resource"]]
            target = {r.get(fk["reference"]["fields"][0], "") for r in ref.rows}
            name = fk["fields"][0]
            for i, row in enumerate(t.rows):
                value = row.get(name, "")
                for item in split_list(value) if is_list else ([value] if value else []):
                    if item not in target:
                        yield _problem(
                            t,
                            i,
                            name,
                            item,
                            fk.get("x-rule", "foreign-key"),
                            f"no {fk['reference']['fields'][0]} {item!r} in {ref.path.name}",
                        )


# ---------------------------------------------------------------- cross-field rules


def _date_fields(t: RawTable) -> list[str]:
    return [f["name"] for f in t.schema["fields"] if f["type"] == "date"]


def _check_dates_and_precision(raw: dict[str, RawTable], cutoff: date | None) -> Iterator[Problem]:
    for t in raw.values():
        for name in _date_fields(t):
            pname = f"{name}_precision"
            if pname not in t.fields:
                continue
            for i, row in enumerate(t.rows):
                d, p = _parse_date(row.get(name, "")), row.get(pname, "")
                if d is None:
                    if p and not row.get(name, ""):
                        yield _problem(
                            t,
                            i,
                            pname,
                            p,
                            "precision-without-date",
                            f"a precision is given but {name} is empty",
                        )
                    continue
                if not p:
                    yield _problem(
                        t,
                        i,
                        pname,
                        p,
                        "precision-required",
                        f"{name} is given, so its precision (day, month, year) is required",
                    )
                if p == "month" and d.day != 1:
                    yield _problem(
                        t,
                        i,
                        name,
                        row[name],
                        "precision-month",
                        "a month-precision date is written as the first of the month",
                    )
                if p == "year" and (d.month, d.day) != (1, 1):
                    yield _problem(
                        t,
                        i,
                        name,
                        row[name],
                        "precision-year",
                        "a year-precision date is written as January 1",
                    )
                if t.name in ("exchanges", "captivities") and cutoff and d > cutoff:
                    yield _problem(
                        t,
                        i,
                        name,
                        row[name],
                        "after-cutoff",
                        f"dates must not be after the cutoff {cutoff.isoformat()}",
                    )
                if t.name == "exchanges" and name == "exchange_date" and d < EARLIEST:
                    yield _problem(
                        t,
                        i,
                        name,
                        row[name],
                        "before-1945",
                        "the dataset covers exchanges from 1945 on",
                    )


def _latest(d: date, precision: str) -> date:
    """The last day a date of the given precision can stand for."""
    if precision == "year":
        return date(d.year, 12, 31)
    if precision == "month":
        nxt = date(d.year + (d.month == 12), d.month % 12 + 1, 1)
        return date.fromordinal(nxt.toordinal() - 1)
    return d


def _check_exchanges(raw: dict[str, RawTable]) -> Iterator[Problem]:
    t = raw["exchanges"]
    kinds = {r["party_id"]: r["kind"] for r in raw["parties"].rows}
    deal_sides: dict[str, tuple[int, tuple[str, str]]] = {}
    states_by_exchange: dict[str, set[str]] = defaultdict(set)
    sides_by_exchange: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for r in raw["exchange_parties"].rows:
        sides_by_exchange[r["exchange_id"]][r["side"]].add(r["party_id"])
        if kinds.get(r["party_id"]) == "state":
            states_by_exchange[r["exchange_id"]].add(r["party_id"])
    for i, row in enumerate(t.rows):
        a, b = row.get("side_a", ""), row.get("side_b", "")
        if a and a == b:
            yield _problem(t, i, "side_b", b, "distinct-sides", "side_b must differ from side_a")
        ex = _parse_date(row.get("exchange_date", ""))
        for side in ("a", "b"):
            since = _parse_date(row.get(f"detained_since_{side}", ""))
            if since and ex and since > _latest(ex, row.get("exchange_date_precision", "day")):
                yield _problem(
                    t,
                    i,
                    f"detained_since_{side}",
                    row[f"detained_since_{side}"],
                    "detention-before-exchange",
                    f"detention must start before the exchange ({row['exchange_date']})",
                )
        agreed = _parse_date(row.get("agreement_date", ""))
        if agreed and ex and agreed > _latest(ex, row.get("exchange_date_precision", "day")):
            yield _problem(
                t,
                i,
                "agreement_date",
                row["agreement_date"],
                "agreement-before-exchange",
                f"the deal must be agreed on or before the exchange ({row['exchange_date']})",
            )
        deal = row.get("deal_id", "")
        if deal in deal_sides and deal_sides[deal][1] != (a, b):
            first, sides = deal_sides[deal]
            yield _problem(
                t,
                i,
                "side_a,side_b",
                f"{a},{b}",
                "deal-sides",
                f"tranches of deal {deal!r} must share their sides; line {t.lines[first]} "
                f"has {sides[0]},{sides[1]}",
            )
        deal_sides.setdefault(deal, (i, (a, b)))
        yield from _check_mediators(t, i, row, kinds)
        eid = row.get("exchange_id", "")
        states = states_by_exchange[eid] | {p for p in (a, b) if kinds.get(p) == "state"}
        coalition = any(kinds.get(p) == "international_organization" for p in (a, b))
        if row.get("format") == "multilateral" and len(states) < 3 and not coalition:
            yield _problem(
                t,
                i,
                "format",
                "multilateral",
                "format-multilateral",
                "a multilateral exchange needs three or more states as principals, "
                "listed in exchange_parties.csv",
            )
        if row.get("format") == "bilateral" and len(states) > 2:
            yield _problem(
                t,
                i,
                "format",
                "bilateral",
                "format-bilateral",
                f"exchange_parties.csv lists {len(states)} states as principals: "
                "format must be multilateral",
            )
        listed = sides_by_exchange.get(eid)
        for side, lead in (("a", a), ("b", b)):
            if listed and listed[side] and lead not in listed[side]:
                yield _problem(
                    t,
                    i,
                    f"side_{side}",
                    lead,
                    "lead-party-listed",
                    f"exchange_parties.csv lists side {side} of this exchange without "
                    f"its lead party {lead}",
                )
        if (
            row.get("released_by_a") == row.get("released_by_b") == ""
            and not (row.get("bodies_by_a") or row.get("bodies_by_b"))
            and not _explains_missing(row.get("notes", ""))
        ):
            yield _problem(
                t,
                i,
                "released_by_a",
                "",
                "counts-explained",
                "no count at all: say in notes that the counts were not found",
            )


MISSING_WORDS = (
    "not found",
    "not disclosed",
    "not reported",
    "not stated",
    "not given",
    "unknown",
    "not known",
    "no figure",
    "not in sources",
    "not available",
)


def _explains_missing(notes: str) -> bool:
    """Do the notes say that a missing value was looked for and not found?"""
    text = notes.lower()
    return any(w in text for w in MISSING_WORDS)


def _check_mediators(t: RawTable, i: int, row: dict, kinds: dict) -> Iterator[Problem]:
    mediators = split_list(row.get("mediators", ""))
    mtype = row.get("mediator_type", "")
    got = {MEDIATOR_KIND.get(kinds.get(m, ""), "") for m in mediators} - {""}
    expected = "none" if not mediators else (got.pop() if len(got) == 1 else "mixed")
    if not got and mediators and expected == "mixed":
        return  # unknown parties: reported by the foreign-key rule
    if mtype and mtype != expected:
        yield _problem(
            t,
            i,
            "mediator_type",
            mtype,
            "mediator-type",
            f"the mediators {list(mediators)} make this {expected!r}",
        )


def _check_memberships(raw: dict[str, RawTable]) -> Iterator[Problem]:
    t = raw["alliance_members"]
    spells: dict[tuple[str, str], list[tuple[date, date | None, int]]] = defaultdict(list)
    for i, row in enumerate(t.rows):
        start, end = _parse_date(row.get("start_date", "")), _parse_date(row.get("end_date", ""))
        if end and not row.get("end_event"):
            yield _problem(t, i, "end_event", "", "end-event", "an ended spell needs its end_event")
        if row.get("end_event") and not end:
            yield _problem(
                t, i, "end_date", "", "end-event", "an end_event is given but end_date is empty"
            )
        # an imprecise end counts through the last day it can stand for (codebook rule); a
        # status change within that period starts the next spell on the coded date
        bound = end
        if end and (row.get("end_date_precision") or "day") != "day":
            bound = _latest(end, row["end_date_precision"]) + timedelta(days=1)
        if start and bound and bound <= start:
            yield _problem(
                t,
                i,
                "end_date",
                row["end_date"],
                "membership-order",
                f"a membership must end after it starts ({row['start_date']})",
            )
        if start:
            spells[(row["alliance_id"], row["party_id"])].append((start, end, i))
    for (alliance, party), rows in spells.items():
        rows.sort()
        for (s1, e1, i1), (s2, _e2, i2) in itertools.pairwise(rows):
            if e1 is None or e1 > s2:
                yield _problem(
                    t,
                    i2,
                    "start_date",
                    s2.isoformat(),
                    "membership-overlap",
                    f"{party} in {alliance}: this spell overlaps the spell on line "
                    f"{t.lines[i1]} ({s1.isoformat()} to {e1 or 'ongoing'})",
                )


def _unknown_end(row: dict) -> bool:
    """An ending without a date is allowed only under the interval-censoring flag."""
    return row.get("ended_on_unknown", "") == "true"


def _check_captivities(raw: dict[str, RawTable]) -> Iterator[Problem]:
    t = raw["captivities"]
    exchanges = {r["exchange_id"]: r for r in raw["exchanges"].rows}
    for i, row in enumerate(t.rows):
        outcome, ended, eid = (
            row.get("outcome", ""),
            row.get("ended_on", ""),
            row.get("exchange_id", ""),
        )
        if outcome == "still_held" and ended:
            yield _problem(
                t,
                i,
                "ended_on",
                ended,
                "still-held-open",
                "a still_held spell has no ended_on (it is censored at the cutoff)",
            )
        if outcome and outcome != "still_held" and not ended and not _unknown_end(row):
            yield _problem(
                t,
                i,
                "ended_on",
                "",
                "ended-needs-date",
                f"outcome {outcome!r} needs ended_on, or ended_on_unknown = true with "
                "ended_by (interval-censored; only a still_held spell has no end)",
            )
        if outcome == "exchanged" and not eid:
            yield _problem(
                t,
                i,
                "exchange_id",
                "",
                "exchanged-needs-exchange",
                "an exchanged spell must name its exchange_id",
            )
        if eid and outcome not in ("exchanged", "died_in_captivity"):
            yield _problem(
                t,
                i,
                "exchange_id",
                eid,
                "exchange-only-if-exchanged",
                f"exchange_id is given but the outcome is {outcome!r} (only exchanged "
                "spells, and deaths whose remains came home in an exchange, name one)",
            )
        since, end = _parse_date(row.get("detained_since", "")), _parse_date(ended)
        if since and end and end < since:
            yield _problem(
                t,
                i,
                "ended_on",
                ended,
                "detention-before-end",
                f"a captivity must end after it starts ({row['detained_since']})",
            )
        if outcome == "exchanged" and eid in exchanges and end:
            ex_row = exchanges[eid]
            ex = _parse_date(ex_row.get("exchange_date", ""))
            if ex and not _dates_agree(
                end,
                row.get("ended_on_precision", "day"),
                ex,
                ex_row.get("exchange_date_precision", "day"),
            ):
                yield _problem(
                    t,
                    i,
                    "ended_on",
                    ended,
                    "end-matches-exchange",
                    f"ended_on must match the date of exchange {eid} "
                    f"({ex_row['exchange_date']}) within the stated precision",
                )


def _dates_agree(d1: date, p1: str, d2: date, p2: str) -> bool:
    """True when two dates with precisions can denote the same day."""
    return d1 <= _latest(d2, p2) and d2 <= _latest(d1, p1)
