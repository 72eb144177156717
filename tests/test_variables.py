"""Derived variables against cases worked by hand on the fixture package."""

from __future__ import annotations

import math

import pandas as pd
import pytest

import research as rs


@pytest.fixture
def frame(package):
    return rs.analysis_frame(rs.load(package)).set_index("exchange_id")


def test_exchange_ratio(frame, package):
    assert frame.loc["1962-02-10-ALPHA-BRAVO", "ratio_a"] == 0.5  # 1 released for 2 returned
    assert frame.loc["1962-02-10-ALPHA-BRAVO", "log_ratio_a"] == pytest.approx(math.log(0.5))
    # a side that released nobody (or an unknown count) leaves the ratio undefined
    assert pd.isna(frame.loc["2011-12-18-ALPHA-ECHO", "ratio_a"])
    bodies = rs.analysis_frame(rs.load(package), include_bodies=True).set_index("exchange_id")
    assert bodies.loc["2023-05-06-CHARLIE-BRAVO", "ratio_a"] == pytest.approx(60 / 50)
    assert frame.loc["2023-05-06-CHARLIE-BRAVO", "ratio_a"] == 1.0


def test_time_to_deal_with_precision_bounds(frame):
    # detained 1960-05-01 (day), exchanged 1962-02-10 (day): 650 days, no uncertainty
    row = frame.loc["1962-02-10-ALPHA-BRAVO"]
    assert (row["ttd_a"], row["ttd_a_lower"], row["ttd_a_upper"]) == (650, 650, 650)
    # detained in 1957-06 (month) by side B's account, exchanged 1962-02-10:
    # 1957-06-01 -> 1962-02-10 = 1715; latest start 1957-06-30 -> 1686
    assert (row["ttd_b"], row["ttd_b_lower"], row["ttd_b_upper"]) == (1715, 1686, 1715)
    # detained in 2001 (year), exchanged in 2003-01 (month):
    # point 2003-01-01 - 2001-01-01 = 730; lower 2003-01-01 - 2001-12-31 = 366;
    # upper 2003-01-31 - 2001-01-01 = 760
    row = frame.loc["2003-01-01-DELTA-CHARLIE"]
    assert (row["ttd_a"], row["ttd_a_lower"], row["ttd_a_upper"]) == (730, 366, 760)


def test_alliance_covariates_on_the_exchange_date(frame):
    row = frame.loc["2003-01-01-DELTA-CHARLIE"]
    assert row["defense_pact_a"] and row["nato_a"] and not row["defense_pact_b"]
    assert row[
        "atop_defense_b"
    ]  # ATOP (fixture) has CHARLIE allied; its own pact is consultation only
    assert row["mediator_allied_a"] and not row["mediator_allied_b"]  # MED is in nato
    assert not row["shared_alliance"]
    # the multilateral side is led by USA with ALPHA listed: allied as a side
    row = frame.loc["2024-08-01-USA-BRAVO"]
    assert row["nato_a"] and not row["major_power_ally_a"]


def test_dyad_and_derived_flags(frame):
    assert frame.loc["2011-10-18-ALPHA-ECHO", "dyad"] == "ALPHA-ECHO"
    assert frame.loc["2011-10-18-ALPHA-ECHO", "state_vs_nonstate"]
    assert frame.loc["2011-10-18-ALPHA-ECHO", "humanitarian_mediator"]
    assert not frame.loc["2003-01-01-DELTA-CHARLIE", "humanitarian_mediator"]


def test_orientation_by_alliance(frame):
    oriented = rs.orient_by_alliance(frame.reset_index(), "defense_pact").set_index("exchange_id")
    row = oriented.loc["2003-01-01-DELTA-CHARLIE"]
    assert row["asymmetry"] == "allied_vs_nonallied" and row["allied_side"] == "DELTA"
    assert row["log_ratio_allied"] == pytest.approx(math.log(10))
    assert oriented.loc["2023-05-06-CHARLIE-BRAVO", "asymmetry"] == "neither_allied"


def test_captivity_durations_with_censoring(package):
    d = rs.captivity_durations(rs.load(package)).set_index("captivity_id")
    # exchanged: 2006-06-25 -> 2011-10-18 = 1941 days, event
    assert (d.loc["soldier-2006", "days"], d.loc["soldier-2006", "event"]) == (1941, 1)
    # still held: censored at the cutoff 2025-12-31; detained 2020-07 (month):
    # 2020-07-01 -> 2025-12-31 = 2009 days, lower bound from 2020-07-31 = 1979
    row = d.loc["journalist-2020"]
    assert (row["days"], row["days_lower"], row["event"], row["cause"]) == (2009, 1979, 0, 0)
    assert row["censored_at_cutoff"]
    # released without exchange: censored at its end (cause 2); died: cause 3
    assert (d.loc["crew-1968", "event"], d.loc["crew-1968", "cause"]) == (0, 2)
    assert d.loc["aid-worker", "cause"] == 3
    # alliance covariates of home and holder on the detention date
    assert d.loc["crew-1968", "nato_home"] and not d.loc["journalist-2020", "nato_home"]


def test_functions_do_not_mutate_their_input(package):
    ds = rs.load(package)
    ex = ds.exchanges
    before = ex.copy()
    rs.exchange_ratio(ex)
    rs.time_to_deal(ex)
    pd.testing.assert_frame_equal(ex, before)
