"""Alliance membership at a date, computed from ``alliance_members`` (never typed by hand).

A spell counts on date *d* when its status is ``active``, it started on or before *d*, and it
had not ended by *d* (an end date is the first day outside the alliance). Suspended and frozen
spells (New Zealand in ANZUS from 1986, Armenia in the CSTO from 2024) do not count. Dates are
compared as coded; a month- or year-precision start is the first day of its month or year.
"""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

from .exceptions import AnalysisError

# The COW State System's major powers after 1945 (United States, USSR/Russia, China, United
# Kingdom, France), by this package's party ids. "Allied to a major power" means sharing an
# active defense pact with one of them other than oneself.
MAJOR_POWERS = frozenset({"USA", "RUS", "CHN", "GBR", "FRA"})
NATO = "nato"

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
DEFENSE = "defense"

#: The alliance definitions notebooks may choose from (parameter ``alliance_definition``).
DEFINITIONS = ("defense_pact", "any_alliance", "nato", "major_power_ally")


class Memberships:
    """An index of the active spells for fast repeated look-ups (one per exchange and side).

    Parameters
    ----------
    members, alliances : DataFrame
        The ``alliance_members`` and ``alliances`` tables of a loaded dataset; without
        ``alliances`` no alliance counts as a defense pact.

    Examples
    --------
    >>> idx = Memberships(ds.alliance_members, ds.alliances)  # doctest: +SKIP
    >>> idx.covariates("TUR", pd.Timestamp("2014-09-20"))["nato"]  # doctest: +SKIP
    True
    """

    def __init__(self, members: pd.DataFrame, alliances: pd.DataFrame | None = None) -> None:
        active = members[members["status"] == "active"]
        self._spells = [
            (a, p, s, None if pd.isna(e) else e)
            for a, p, s, e in zip(
                active["alliance_id"], active["party_id"], active["start_date"], active["end_date"]
            )
        ]
        self.defense = (
            frozenset()
            if alliances is None
            else frozenset(
                alliances.loc[alliances["obligations"].map(lambda o: DEFENSE in o), "alliance_id"]
            )
        )

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

    def covariates(self, party: str, on: pd.Timestamp) -> dict[str, object]:
        """Alliance covariates of one party on one date.

        Returns
        -------
        dict
            ``defense_pact`` (member of an alliance with a defense obligation),
            ``any_alliance``, ``nato``, ``major_power_ally`` (shares a defense pact with a
            major power other than itself) and ``n_allies`` (distinct parties sharing any
            alliance).
        """
        mine = self.memberships(party, on)
        return {
            "defense_pact": bool(mine & self.defense),
            "any_alliance": bool(mine),
            "nato": NATO in mine,
            "major_power_ally": bool(self.allies(party, on, within=self.defense) & MAJOR_POWERS),
            "n_allies": len(self.allies(party, on)),
        }


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
