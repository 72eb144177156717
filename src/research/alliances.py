"""Alliance membership at a date, computed from ``alliance_members`` (never typed by hand).

Rules (the codebook states them too, in datapackage.json ``x-codingRules``):

- A spell counts on date *d* when its status is ``active``, it started on or before *d*, and
  it had not ended by *d*. A day-precision end date is the first day outside the alliance; an
  imprecise end counts through the last day it can stand for (a year-precision end, written
  January 1 of year Y, means in force through 31 December Y: ATOP's year convention). A month-
  or year-precision start is the first day of its month or year.
- Suspended and frozen spells (New Zealand in ANZUS from 1986, Armenia in the CSTO from 2024)
  do not count.
- One-way pledges (``direction`` one_way, e.g. the US pledge to Israel of 1981 in ATOP): both
  the pledging and the protected states are members of a defense pact, as in ATOP's
  state-year indicator; each counts the other among its allies.
- ``n_allies`` counts every other member of the party's active defense pacts on the date.
"""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

from .exceptions import AnalysisError

NATO = "nato"
DEFENSE = "defense"
US = "USA"

#: Major powers by party id and years: the Correlates of War's major powers of the Cold War,
#: "the United States; the Soviet Union; the United Kingdom; France; and the People's Republic
#: of China" (Grant, Baird, Corbetta and Volgy 2010, citing Correlates of War 2008:
#: https://studylib.net/doc/7111976/status-matters--exploring), applied to every year from
#: 1945. COW's later additions (Germany and Japan from 1991) were not confirmed on a page read,
#: so they are not used; end year None: still a major power.
MAJOR_POWERS: dict[str, tuple[int, int | None]] = {
    "USA": (1945, None),
    "GBR": (1945, None),
    "FRA": (1945, None),
    "RUS": (1945, None),
    "CHN": (1945, None),
}

#: The alliance definitions notebooks may choose from (parameter ``alliance_definition``).
DEFINITIONS = ("defense_pact", "atop_defense", "nato", "us_treaty_ally", "major_power_ally")

#: The citation of ATOP 5.1 in `sources` (a dataset source, see datapackage.json x-datasetSources).
ATOP_CITATION = "ATOP 5.1 (Leeds et al. 2002; Leeds 2022), atop5_1_ddyr"

#: ATOP 5.1's last year; ``atop_defense`` uses the project's coding after it.
ATOP_LAST_YEAR = 2018

# COW codes that change with the date for one party id (COW State System Membership v2016):
# before the unification of 22 May 1990 the id YEM stands for the Yemen Arab Republic (678);
# from 1990 for Yemen (679). The USSR and Russia are one code (365); West Germany (FRG, 260) and
# Germany (DEU, 255) are two ids, so they need no rule.
DATED_CCODES = {"YEM": ((1990, 678, 679),)}


def party_ccode(party: str, year: int, cow_code: int | None = None) -> int | None:
    """The COW code of a party in a year: ``cow_code`` (from parties.csv) unless a dated rule
    in :data:`DATED_CCODES` applies (code ``before`` for years before ``from_year``)."""
    for from_year, before, after in DATED_CCODES.get(party, ()):
        return before if year < from_year else after
    return cow_code


def is_major_power(party: str, year: int) -> bool:
    """Was the party a COW major power in that year (see :data:`MAJOR_POWERS`)?"""
    span = MAJOR_POWERS.get(party)
    return span is not None and span[0] <= year and (span[1] is None or year <= span[1])


def _end_bound(end, precision) -> pd.Timestamp | None:
    """The first day outside a spell: a day-precision end as coded; an imprecise end the day
    after the last day it can stand for."""
    if pd.isna(end):
        return None
    end = pd.Timestamp(end)
    p = "day" if pd.isna(precision) else str(precision)
    if p == "year":
        return pd.Timestamp(end.year + 1, 1, 1)
    if p == "month":
        return end + pd.offsets.MonthBegin(1)
    return end


class Memberships:
    """An index of the active spells for fast repeated look-ups (one per exchange and side).

    Parameters
    ----------
    members : Dataset or DataFrame
        A loaded dataset (``rs.Memberships(ds)``), or its ``alliance_members`` table.
    alliances : DataFrame, optional
        The ``alliances`` table when ``members`` is a table; without it no alliance counts as
        a defense pact.
    atop : DataFrame, optional
        ATOP 5.1 state-years (``atop_defense_state_years``); taken from the dataset when
        given one. Without it ``atop_defense`` falls back to the project's coding.

    Examples
    --------
    >>> idx = Memberships(ds)  # doctest: +SKIP
    >>> idx.covariates("TUR", pd.Timestamp("2014-09-20"))["nato"]  # doctest: +SKIP
    True
    """

    def __init__(self, members, alliances: pd.DataFrame | None = None, atop=None) -> None:
        if hasattr(members, "tables"):
            tables = members.tables
            members, alliances = tables["alliance_members"], tables["alliances"]
            atop = tables.get("atop_defense_state_years") if atop is None else atop
        active = members[members["status"] == "active"]
        self._spells = [
            (a, p, pd.Timestamp(s), _end_bound(e, ep))
            for a, p, s, e, ep in zip(
                active["alliance_id"],
                active["party_id"],
                active["start_date"],
                active["end_date"],
                active["end_date_precision"],
            )
        ]
        self._all = [
            (a, p, pd.Timestamp(s), _end_bound(e, ep))
            for a, p, s, e, ep in zip(
                members["alliance_id"],
                members["party_id"],
                members["start_date"],
                members["end_date"],
                members["end_date_precision"],
            )
        ]
        self.defense = (
            frozenset()
            if alliances is None
            else frozenset(
                alliances.loc[alliances["obligations"].map(lambda o: DEFENSE in o), "alliance_id"]
            )
        )
        self._atop: dict[tuple[str, int], bool] = {}
        if atop is not None:
            self._atop = {
                (p, int(y)): bool(v)
                for p, y, v in zip(atop["party_id"], atop["year"], atop["atop_defense"])
            }

    def _in_force(self, on: pd.Timestamp):
        return [(a, p) for a, p, s, e in self._spells if s <= on and (e is None or e > on)]

    def memberships(self, party: str, on: pd.Timestamp) -> frozenset[str]:
        """The alliances a party belongs to on a date."""
        return frozenset(a for a, p in self._in_force(pd.Timestamp(on)) if p == party)

    def allies(
        self, party: str, on: pd.Timestamp, within: Iterable[str] | None = None
    ) -> frozenset[str]:
        """Parties sharing at least one alliance (optionally only those in ``within``)."""
        spells = self._in_force(pd.Timestamp(on))
        mine = {a for a, p in spells if p == party}
        if within is not None:
            mine &= set(within)
        return frozenset(p for a, p in spells if a in mine) - {party}

    def defense_in_year(self, party: str, year: int) -> bool:
        """In an active defense-pact spell on any day of the year (ATOP's state-year sense)."""
        lo, hi = pd.Timestamp(year, 1, 1), pd.Timestamp(year + 1, 1, 1)
        return any(
            p == party and a in self.defense and s < hi and (e is None or e > lo)
            for a, p, s, e in self._spells
        )

    def allies_in_year(self, party: str, year: int) -> frozenset[str]:
        """Other members of the party's defense pacts on any day of the year (ATOP's count)."""
        lo, hi = pd.Timestamp(year, 1, 1), pd.Timestamp(year + 1, 1, 1)
        spells = [
            (a, p)
            for a, p, s, e in self._spells
            if a in self.defense and s < hi and (e is None or e > lo)
        ]
        mine = {a for a, p in spells if p == party}
        return frozenset(p for a, p in spells if a in mine) - {party}

    def atop_defense(self, party: str, on: pd.Timestamp) -> bool:
        """ATOP 5.1's state-year defense indicator for the date's year up to 2018 (False for a
        state-year ATOP lacks); the project's ``defense_pact`` after ATOP's last year."""
        on = pd.Timestamp(on)
        if on.year <= ATOP_LAST_YEAR and self._atop:
            return self._atop.get((party, on.year), False)
        return bool(self.memberships(party, on) & self.defense)

    def covariates(self, party: str, on: pd.Timestamp) -> dict[str, object]:
        """Alliance covariates of one party on one date.

        Returns
        -------
        dict
            ``defense_pact`` (member of an alliance with a defense obligation),
            ``atop_defense`` (ATOP 5.1 state-year indicator to 2018, ours after), ``nato``,
            ``us_treaty_ally`` (in NATO or in a defense pact with the United States; the
            United States counts while it has one), ``major_power_ally`` (shares a defense
            pact with a COW major power of that year other than itself) and ``n_allies``
            (distinct other members of its defense pacts).
        """
        on = pd.Timestamp(on)
        mine = self.memberships(party, on)
        defense_allies = self.allies(party, on, within=self.defense)
        return {
            "defense_pact": bool(mine & self.defense),
            "atop_defense": self.atop_defense(party, on),
            "nato": NATO in mine,
            "us_treaty_ally": NATO in mine
            or US in defense_allies
            or (party == US and bool(defense_allies)),
            "major_power_ally": any(is_major_power(p, on.year) for p in defense_allies),
            "n_allies": len(defense_allies),
        }

    def status(self, party: str, on: pd.Timestamp, definition: str) -> bool:
        """Is the party allied on the date under one definition (see :data:`DEFINITIONS`)?"""
        return is_allied(self.covariates(party, on), definition)

    def change_dates(self, party: str, definition: str) -> list[pd.Timestamp]:
        """Sorted dates on which the party's status under ``definition`` changes.

        A returned date is the first day of the new status. Candidates are every start and end
        of a spell (any party's, since an ally's spell can change a party's status), each
        1 January (the ATOP state-year indicator, major-power years) to 2019.
        """
        is_allied({definition: False}, definition)  # rejects an unknown definition
        days = {s for _a, _p, s, _e in self._all} | {e for *_, e in self._all if e is not None}
        if definition in ("atop_defense", "major_power_ally"):
            days |= {pd.Timestamp(y, 1, 1) for y in range(1945, ATOP_LAST_YEAR + 2)}
        out = []
        for d in sorted(days):
            if self.status(party, d, definition) != self.status(
                party, d - pd.Timedelta(days=1), definition
            ):
                out.append(d)
        return out


def memberships(members: pd.DataFrame, party: str, on: pd.Timestamp) -> frozenset[str]:
    """The alliances a party belongs to on a date (see :class:`Memberships`)."""
    return Memberships(members).memberships(party, on)


def allies(
    members: pd.DataFrame, party: str, on: pd.Timestamp, within: Iterable[str] | None = None
) -> frozenset[str]:
    """The parties sharing at least one alliance (optionally only those in ``within``) on a date."""
    return Memberships(members).allies(party, on, within)


def share_alliance(members: pd.DataFrame, a: str, b: str, on: pd.Timestamp) -> bool:
    """Did parties ``a`` and ``b`` share an alliance on the date?"""
    return b in allies(members, a, on)


def party_covariates(
    members: pd.DataFrame, alliances: pd.DataFrame, party: str, on: pd.Timestamp
) -> dict[str, object]:
    """Alliance covariates of one party on one date (see :meth:`Memberships.covariates`)."""
    return Memberships(members, alliances).covariates(party, on)


def is_allied(covariates: dict[str, object], definition: str) -> bool:
    """Apply one alliance definition to a party's covariates."""
    if definition not in DEFINITIONS:
        raise AnalysisError(
            f"alliance_definition must be one of {list(DEFINITIONS)}; not {definition!r}"
        )
    return bool(covariates[definition])
