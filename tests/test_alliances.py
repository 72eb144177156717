"""Membership at a date, worked by hand on the fixture's spells.

Fixture spells: nato = ALPHA, USA (1950-), DELTA (active 2000-03-15 to 2005-01-01, then
suspended), MED (1960-); pact2 (consultation only) = BRAVO, CHARLIE from 1990-06 to 2010.
"""

from __future__ import annotations

import pandas as pd
import pytest

import research as rs
from research.alliances import Memberships, is_allied
from research.exceptions import AnalysisError


@pytest.fixture
def index(package):
    ds = rs.load(package)
    return Memberships(ds.alliance_members, ds.alliances)


def test_membership_on_a_date(index):
    day = pd.Timestamp
    assert index.memberships("DELTA", day("2000-03-14")) == frozenset()
    assert index.memberships("DELTA", day("2000-03-15")) == {"nato"}
    assert index.memberships("DELTA", day("2004-12-31")) == {"nato"}
    # the end date is the first day outside; a suspended spell does not count
    assert index.memberships("DELTA", day("2005-01-01")) == frozenset()
    assert index.memberships("BRAVO", day("2009-12-31")) == {"pact2"}
    assert index.memberships("BRAVO", day("2010-01-01")) == frozenset()


def test_allies_and_shared_alliance(index, package):
    on = pd.Timestamp("2003-01-01")
    assert index.allies("DELTA", on) == {"ALPHA", "USA", "MED"}
    members = rs.load(package).alliance_members
    assert rs.share_alliance(members, "MED", "DELTA", on)
    assert not rs.share_alliance(members, "MED", "DELTA", pd.Timestamp("2006-01-01"))


def test_covariates_by_hand(index):
    c = index.covariates("CHARLIE", pd.Timestamp("2003-01-01"))
    # pact2 is consultation only: an alliance but not a defense pact
    assert c == {
        "defense_pact": False,
        "any_alliance": True,
        "nato": False,
        "major_power_ally": False,
        "n_allies": 1,
    }
    c = index.covariates("ALPHA", pd.Timestamp("2003-01-01"))
    assert c == {
        "defense_pact": True,
        "any_alliance": True,
        "nato": True,
        "major_power_ally": True,
        "n_allies": 3,
    }  # USA, DELTA, MED
    # a major power is not its own ally
    assert index.covariates("USA", pd.Timestamp("1955-01-01"))["major_power_ally"] is False


def test_definitions(index):
    c = index.covariates("ALPHA", pd.Timestamp("2003-01-01"))
    assert is_allied(c, "nato")
    with pytest.raises(
        AnalysisError,
        match=r"must be one of \['defense_pact', 'any_alliance', "
        r"'nato', 'major_power_ally'\]; not 'warsaw'",
    ):
        is_allied(c, "warsaw")
