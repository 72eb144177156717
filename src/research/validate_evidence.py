"""The evidence and deals rules, checked over the raw (string) tables.

Evidence: every field a resource lists in ``x-evidenceFields`` (datapackage.json) that holds a
value has at least one row in evidence.csv; that row's value is the coded value, its URL is one
of the row's sources, and its quote states the value (a count in digits or words, a date's day
and month, or month, or year, by the cell's precision) unless a derivation names what the value
is computed from. Every evidence row points at an existing row and column.

Deals: the tranches of a deal share its sides, their counts do not sum to more than its totals
(unless its notes say so with the word "exceed"), every deal has a tranche, and dates and
precisions hang together.

Missing evidence and missing deals rows are *gaps* (rules in :data:`GAP_RULES`). How they are
reported is set by ``x-evidenceGaps`` in datapackage.json ("error", the default, or
"warning"), or by the caller.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from datetime import date

from .data import RawTable, split_list
from .exceptions import Problem
from .validate import _latest

GAP_RULES = frozenset({"evidence-missing", "deal-missing"})
GAP_LEVELS = ("error", "warning")

# the composite keys of evidence.row_id, where a table's primary key has several fields
_PRECISIONS = ("day", "month", "year")
MONTHS = (
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
)


def gap_level(descriptor: dict, override: str | None = None) -> str:
    """How gaps are reported: the caller's choice, else the descriptor's, else "error"."""
    level = override or descriptor.get("x-evidenceGaps") or "error"
    if level not in GAP_LEVELS:
        raise ValueError(f"evidence gaps are reported as one of {GAP_LEVELS}, not {level!r}")
    return level


def split_gaps(problems: Iterable[Problem]) -> tuple[list[Problem], list[Problem]]:
    """(problems that are not gaps, gaps)."""
    rest, gaps = [], []
    for p in problems:
        (gaps if p.rule in GAP_RULES else rest).append(p)
    return rest, gaps


def _problem(t: RawTable, i: int | None, fld: str | None, value, rule: str, msg: str) -> Problem:
    line = t.lines[i] if i is not None else None
    return Problem(t.path.name, line, fld, None if value is None else str(value), rule, msg)


def row_key(t: RawTable, row: dict) -> str:
    """The evidence row_id of a row: its primary key, composite keys joined with '/'."""
    key = t.schema.get("primaryKey") or []
    key = [key] if isinstance(key, str) else key
    return "/".join(row.get(k, "") for k in key)


def _parse_date(value: str) -> date | None:
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        return None


# ---------------------------------------------------------------- numbers in words

_ONES = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
]
_TENS = ["_", "_", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
_NUMBER_WORDS = {*_ONES, *_TENS[2:], "hundred", "thousand", "million", "billion"}


def number_words(n: int) -> str:
    """English words for a whole number, without 'and' or hyphens ("one thousand two hundred")."""
    if n < 20:
        return _ONES[n]
    if n < 100:
        return _TENS[n // 10] + ("" if n % 10 == 0 else " " + _ONES[n % 10])
    if n < 1000:
        rest = n % 100
        return _ONES[n // 100] + " hundred" + ("" if rest == 0 else " " + number_words(rest))
    for size, word in ((10**9, "billion"), (10**6, "million"), (1000, "thousand")):
        if n >= size:
            rest = n % size
            return (
                number_words(n // size)
                + " "
                + word
                + ("" if rest == 0 else " " + number_words(rest))
            )
    raise AssertionError(n)  # pragma: no cover


def _normalise_words(text: str) -> str:
    text = text.lower().replace("-", " ").replace(",", " ")
    text = re.sub(r"\band\b", " ", text)
    return " " + re.sub(r"\s+", " ", re.sub(r"[^a-z0-9 ]", " ", text)).strip() + " "


_DIGITS = re.compile(r"(?<![\d.,])\d{1,3}(?:(?:,|\.|\s|\u00a0|\u202f|')\d{3})+(?![\d])|\d+")
_SCALED = re.compile(r"(\d+(?:\.\d+)?)\s*(thousand|million)\b", re.IGNORECASE)


def numbers_in(text: str) -> set[int]:
    """Every whole number a text writes in digits, with or without thousands separators,
    or as "93 thousand" or "1.5 million"."""
    found = set()
    for m in _DIGITS.finditer(text):
        s = m.group(0)
        found.add(int(re.sub(r"\D", "", s)))
        if re.search(r"\s", s):  # "in 12 200 men" may also be two numbers
            found.update(int(part) for part in s.split() if part.isdigit())
    for m in _SCALED.finditer(text):
        scale = 1000 if m.group(2).lower() == "thousand" else 10**6
        found.add(round(float(m.group(1)) * scale))
    return found


def states_number(text: str, n: int) -> bool:
    """Does the text state the number n, in digits or in words?"""
    if n in numbers_in(text):
        return True
    words = _normalise_words(text)
    spoken = [number_words(n)]
    if 1100 <= n < 10000 and n % 100 == 0 and n % 1000 != 0:  # "twelve hundred"
        spoken.append(number_words(n // 100) + " hundred")
    if n == 1:
        spoken += ["single", "lone"]
    tokens = words.split()
    for w in spoken:
        parts = w.split()
        for k in range(len(tokens) - len(parts) + 1):
            if tokens[k : k + len(parts)] != parts:
                continue
            before = tokens[k - 1] if k else ""
            after = tokens[k + len(parts)] if k + len(parts) < len(tokens) else ""
            if before not in _NUMBER_WORDS and after not in _NUMBER_WORDS:
                return True
    return False


# ---------------------------------------------------------------- dates in text


# quotes are copied in the page's language: month names of the other languages read so far
FOREIGN_MONTHS = (
    ("gennaio", "janvier", "januar", "jänner", "enero"),
    ("febbraio", "février", "fevrier", "februar", "febrero"),
    ("marzo", "mars", "märz", "marz"),
    ("aprile", "avril", "abril"),
    ("maggio", "mai", "mayo"),
    ("giugno", "juin", "juni", "junio"),
    ("luglio", "juillet", "juli", "julio"),
    ("agosto", "août", "aout"),
    ("settembre", "septembre", "septiembre"),
    ("ottobre", "octobre", "oktober", "octubre"),
    ("novembre", "noviembre"),
    ("dicembre", "décembre", "decembre", "dezember", "diciembre"),
)


def _month_names(month: int) -> str:
    full = MONTHS[month - 1]
    names = {full, full[:3], *FOREIGN_MONTHS[month - 1]}
    if month == 9:
        names.add("sept")
    return "(?:" + "|".join(sorted(names, key=len, reverse=True)) + r")\.?"


def states_date(text: str, d: date, precision: str) -> bool:
    """Does the text state the date to its precision (day and month; month; or year)?"""
    low = text.lower()
    if precision == "year":
        return re.search(rf"(?<!\d){d.year}(?!\d)", low) is not None
    month = _month_names(d.month)
    iso_month = rf"{d.year}-{d.month:02d}"
    if precision == "month":
        return (
            re.search(rf"\b{month}(?![a-z])", low) is not None
            or iso_month in low
            or re.search(rf"(?<!\d)0?{d.month}/{d.year}(?!\d)", low) is not None
        )
    day = rf"0?{d.day}(?:st|nd|rd|th|er|\.)?"
    patterns = [
        rf"(?<!\d){day}\s+(?:of\s+|de\s+)?{month}(?![a-z])",  # 25 February, 25th of Feb., 2. Juni
        rf"\b{month}\s+{day}(?!\d)",  # February 25, Feb. 25
        rf"{iso_month}-{d.day:02d}",  # ISO
        rf"{d.year}\.{d.month:02d}\.{d.day:02d}",  # 2023.11.24
        rf"(?<!\d)0?{d.day}[./]0?{d.month}[./](?:{d.year}|{d.year % 100:02d})(?!\d)",  # 25.2.1949
    ]
    return any(re.search(p, low) for p in patterns)


_ANY_DATE = re.compile(
    r"\d{4}-\d{2}(-\d{2})?|(?<!\d)\d{1,2}(st|nd|rd|th)?\s+(of\s+)?(" + "|".join(MONTHS) + r")"
    r"|(" + "|".join(MONTHS) + r")\s+\d{1,2}(?!\d)|(?<!\d)(19|20)\d{2}(?!\d)",
    re.IGNORECASE,
)


# ---------------------------------------------------------------- evidence rules


def _type_ok(value: str, spec: dict) -> bool:
    from .validate import _type_ok as type_ok

    return value.strip() == "" or type_ok(value, spec)


def evidence_fields(t: RawTable) -> list[str]:
    return list(t.schema.get("x-evidenceFields", []))


def check_evidence(descriptor: dict, raw: dict[str, RawTable]) -> list[Problem]:
    """Every evidence rule, gaps included (filter them with :func:`split_gaps`)."""
    if "evidence" not in raw:
        return []
    return list(_check_evidence_rows(raw)) + list(_check_completeness(raw))


def _index(raw: dict[str, RawTable]) -> dict[str, dict[str, tuple[int, dict]]]:
    out: dict[str, dict[str, tuple[int, dict]]] = {}
    for name, t in raw.items():
        if name == "evidence" or not t.schema.get("primaryKey"):
            continue
        out[name] = {row_key(t, r): (i, r) for i, r in enumerate(t.rows)}
    return out


def _check_evidence_rows(raw: dict[str, RawTable]) -> Iterator[Problem]:
    ev = raw["evidence"]
    index = _index(raw)
    for i, e in enumerate(ev.rows):
        table, rid, fld, value = (
            e.get("table", ""),
            e.get("row_id", ""),
            e.get("field", ""),
            e.get("value", ""),
        )
        if table not in index:
            if table in raw:  # an unknown table is an enum problem of the field rules
                yield _problem(
                    ev,
                    i,
                    "table",
                    table,
                    "evidence-target",
                    f"{table} has no primary key to point at",
                )
            continue
        t = raw[table]
        if rid not in index[table]:
            yield _problem(
                ev, i, "row_id", rid, "evidence-target", f"no row {rid!r} in {t.path.name}"
            )
            continue
        if fld not in t.fields:
            yield _problem(
                ev, i, "field", fld, "evidence-target", f"{t.path.name} has no column {fld!r}"
            )
            continue
        _, row = index[table][rid]
        spec = t.fields[fld]
        cell = row.get(fld, "")
        where = f"{t.path.name}:{t.lines[index[table][rid][0]]} {fld}"
        if spec["type"] == "list":
            extra = [v for v in split_list(value) if v not in split_list(cell)]
            if extra or not split_list(value):
                yield _problem(
                    ev,
                    i,
                    "value",
                    value,
                    "evidence-value",
                    f"{where} is {cell!r}; the evidence names {extra or [value]} not in it",
                )
        elif not _type_ok(cell, spec):
            continue  # the cell's own type problem is reported by the field rules
        elif value != cell:
            yield _problem(ev, i, "value", value, "evidence-value", f"{where} is coded {cell!r}")
            continue
        url = e.get("url", "")
        sources = split_list(row.get("sources", ""))
        if url and url not in sources:
            yield _problem(
                ev,
                i,
                "url",
                url,
                "evidence-url",
                f"not among the sources of {where.rsplit(' ', 1)[0]}",
            )
        quote, derivation = e.get("quote", ""), e.get("derivation", "").strip()
        if spec["type"] in ("integer", "number") and value and not derivation:
            try:
                n = int(float(value))
            except ValueError:
                continue  # a type problem of the coded cell
            if not states_number(quote, n):
                yield _problem(
                    ev,
                    i,
                    "quote",
                    value,
                    "evidence-number",
                    f"the quote does not state {value} (in digits or words) "
                    "and no derivation is given",
                )
        if spec["type"] == "date" and value:
            d = _parse_date(value)
            precision = row.get(f"{fld}_precision", "") or "day"
            if d is None or precision not in _PRECISIONS:
                continue  # type and precision problems of the coded cell
            if not (
                states_date(quote, d, precision)
                or states_date(derivation, d, precision)
                or (derivation and _ANY_DATE.search(derivation))
            ):
                what = {"day": "day and month", "month": "month", "year": "year"}[precision]
                yield _problem(
                    ev,
                    i,
                    "quote",
                    value,
                    "evidence-date",
                    f"neither the quote nor the derivation states the {what} of {value} "
                    f"({precision} precision), and no derivation names a date it is computed from",
                )


def _check_completeness(raw: dict[str, RawTable]) -> Iterator[Problem]:
    ev = raw["evidence"]
    covered: dict[tuple[str, str, str], set[str]] = defaultdict(set)
    for e in ev.rows:
        covered[(e.get("table", ""), e.get("row_id", ""), e.get("field", ""))].update(
            split_list(e.get("value", "")) or {""}
        )
    for name, t in raw.items():
        fields = evidence_fields(t)
        if not fields:
            continue
        for i, row in enumerate(t.rows):
            rid = row_key(t, row)
            for fld in fields:
                cell = row.get(fld, "")
                if not cell.strip():
                    continue
                got = covered.get((name, rid, fld))
                if t.fields.get(fld, {}).get("type") == "list":
                    missing = [v for v in split_list(cell) if not got or v not in got]
                    if missing:
                        yield _problem(
                            t,
                            i,
                            fld,
                            " | ".join(missing),
                            "evidence-missing",
                            f"no evidence row for {name}/{rid}/{fld} item(s) {missing}",
                        )
                elif not got:
                    yield _problem(
                        t,
                        i,
                        fld,
                        cell,
                        "evidence-missing",
                        f"no evidence row for {name}/{rid}/{fld}",
                    )


# ---------------------------------------------------------------- deals rules

_COUNTS = (
    ("released_by_a", "total_released_by_a"),
    ("released_by_b", "total_released_by_b"),
    ("bodies_by_a", "total_bodies_by_a"),
    ("bodies_by_b", "total_bodies_by_b"),
)


def check_deals(descriptor: dict, raw: dict[str, RawTable]) -> list[Problem]:
    """The deals rules (sides, sums, tranches, dates)."""
    if "deals" not in raw:
        return []
    return list(_check_deals(raw))


def _check_deals(raw: dict[str, RawTable]) -> Iterator[Problem]:
    from .validate import _check_mediators  # the exchanges' mediator-type rule, reused

    known = {r["party_id"] for r in raw["parties"].rows}

    t, ex = raw["deals"], raw["exchanges"]
    kinds = {r["party_id"]: r["kind"] for r in raw["parties"].rows}
    tranches: dict[str, list[int]] = defaultdict(list)
    for j, r in enumerate(ex.rows):
        tranches[r.get("deal_id", "")].append(j)
    for i, row in enumerate(t.rows):
        deal = row.get("deal_id", "")
        mine = tranches.get(deal, [])
        if not mine:
            yield _problem(
                t,
                i,
                "deal_id",
                deal,
                "deal-tranches",
                "no tranche in exchanges.csv has this deal_id",
            )
        sides = (row.get("side_a", ""), row.get("side_b", ""))
        for j in mine[:1]:  # later tranches are checked against the first by validate.py
            r = ex.rows[j]
            theirs = (r.get("side_a", ""), r.get("side_b", ""))
            if theirs != sides and set(theirs) | set(sides) <= known:
                yield _problem(
                    ex,
                    j,
                    "side_a,side_b",
                    f"{r.get('side_a')},{r.get('side_b')}",
                    "deal-sides",
                    f"deal {deal!r} in deals.csv:{t.lines[i]} has sides {sides[0]},{sides[1]} "
                    "(same orientation required)",
                )
        flagged = "exceed" in row.get("notes", "").lower()
        for part, total in _COUNTS:
            cap = row.get(total, "")
            if not cap.isdigit():
                continue
            s = sum(
                int(ex.rows[j].get(part, "")) for j in mine if ex.rows[j].get(part, "").isdigit()
            )
            if s > int(cap) and not flagged:
                yield _problem(
                    t,
                    i,
                    total,
                    cap,
                    "deal-sum",
                    f"its tranches' {part} sum to {s}, more than the total; fix the counts or say "
                    "why in notes (with the word 'exceed')",
                )
        for side in ("a", "b"):
            has_total = row.get(f"total_released_by_{side}") or row.get(f"total_bodies_by_{side}")
            if has_total and not row.get(f"totals_precision_{side}"):
                yield _problem(
                    t,
                    i,
                    f"totals_precision_{side}",
                    "",
                    "totals-precision",
                    f"side {side.upper()}'s totals are given, so their precision is required",
                )
        if row.get("talks_started_on") and not row.get("talks_start_kind"):
            yield _problem(
                t,
                i,
                "talks_start_kind",
                "",
                "talks-start-kind",
                "talks_started_on is given, so talks_start_kind is required",
            )
        agreed = _parse_date(row.get("agreement_date", ""))
        talks = _parse_date(row.get("talks_started_on", ""))
        ap = row.get("agreement_date_precision", "") or "day"
        if talks and agreed and talks > _latest(agreed, ap):
            yield _problem(
                t,
                i,
                "talks_started_on",
                row["talks_started_on"],
                "talks-before-agreement",
                f"talks must start on or before the agreement ({row['agreement_date']})",
            )
        first = [
            (
                _parse_date(ex.rows[j].get("exchange_date", "")),
                ex.rows[j].get("exchange_date_precision", "") or "day",
            )
            for j in mine
        ]
        first = [f for f in first if f[0]]
        if agreed and first:
            latest_first = min(_latest(d, p) for d, p in first)
            if agreed > latest_first:
                yield _problem(
                    t,
                    i,
                    "agreement_date",
                    row["agreement_date"],
                    "agreement-before-exchange",
                    f"the deal must be agreed on or before its first tranche ({min(first)[0]})",
                )
        if row.get("mediator_type"):
            yield from _check_mediators(t, i, row, kinds)


# ---------------------------------------------------------------- reporting


def _row_year(raw: dict[str, RawTable], p: Problem) -> int | None:
    t = next((t for t in raw.values() if t.path.name == p.file), None)
    if t is None or p.line not in t.lines:
        return None
    row = t.rows[t.lines.index(p.line)]
    for name in (
        "exchange_date",
        "agreement_date",
        "detained_since",
        "start_date",
        "talks_started_on",
    ):
        d = _parse_date(row.get(name, ""))
        if d:
            return d.year
    if t.name == "deals":  # a deal without a date: its first tranche's
        years = [
            _parse_date(r.get("exchange_date", ""))
            for r in raw["exchanges"].rows
            if r.get("deal_id") == row.get("deal_id")
        ]
        years = [d.year for d in years if d]
        return min(years) if years else None
    return None


def gap_summary(
    raw: dict[str, RawTable], gaps: Iterable[Problem], split_year: int = 2000
) -> list[str]:
    """One line per table and period: how many gaps, in how many rows, by rule."""
    counts: Counter = Counter()
    rows: dict[tuple, set] = defaultdict(set)
    for p in gaps:
        year = _row_year(raw, p)
        period = (
            "undated"
            if year is None
            else (f"before {split_year}" if year < split_year else f"{split_year} on")
        )
        key = (p.file, period, p.rule)
        counts[key] += 1
        rows[key].add(p.line)
    return [
        f"{file} ({period}): {n} {rule} in {len(rows[(file, period, rule)])} row(s)"
        for (file, period, rule), n in sorted(counts.items())
    ]


def check(descriptor: dict, raw: dict) -> list[Problem]:
    """The rule-module entry point (``research.validate.rule_modules``): deals, then evidence."""
    return check_deals(descriptor, raw) + check_evidence(descriptor, raw)
