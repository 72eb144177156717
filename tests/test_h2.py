"""Tests of research.h2: the frame sample, honest censoring, delayed entry, time-varying
alliance status and the H2 estimates, on a small synthetic set of captivity spells."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from research import alliances as al
from research import h2
from research.exceptions import AnalysisError

CUTOFF = pd.Timestamp("2025-12-31")
KINDS = {"HOLDSTATE": "state", "HOLDGROUP": "non_state_armed_group", "OTHERSTATE": "state"}
KINDS |= {"ALLY": "state", "JOINER": "state", "NEUTRAL": "state"}


def _members() -> tuple[pd.DataFrame, pd.DataFrame]:
    """ALLY in a defense pact throughout; JOINER from 2015-01-01; NEUTRAL never."""
    members = pd.DataFrame(
        {
            "alliance_id": ["pact", "pact"],
            "party_id": ["ALLY", "JOINER"],
            "start_date": pd.to_datetime(["1949-01-01", "2015-01-01"]),
            "end_date": pd.to_datetime([None, None]),
            "end_date_precision": [None, None],
            "status": ["active", "active"],
        }
    )
    alliances = pd.DataFrame({"alliance_id": ["pact"], "obligations": [("defense",)]})
    return members, alliances


def _durations(rng: np.random.Generator, n: int = 150) -> pd.DataFrame:
    """Spells as ``captivity_durations`` returns them (cutoff-filled, before research.h2)."""
    home = rng.choice(["ALLY", "JOINER", "NEUTRAL"], n)
    holder = rng.choice(["HOLDSTATE", "HOLDGROUP", "OTHERSTATE"], n)
    start = pd.Timestamp("2008-01-01") + pd.to_timedelta(rng.integers(0, 3000, n), unit="D")
    days = rng.integers(20, 2500, n).astype(float)
    outcome = rng.choice(
        ["exchanged", "released_without_exchange", "died_in_captivity", "rescued", "still_held"],
        n,
        p=[0.5, 0.15, 0.1, 0.1, 0.15],
    )
    ended = start + pd.to_timedelta(days, unit="D")
    still = outcome == "still_held"
    ended = ended.where(~still, pd.NaT)
    days = np.where(still, (CUTOFF - start).days, days)
    frame = rng.choice(["frame-a", "frame-b"], n)
    d = pd.DataFrame(
        {
            "captivity_id": [f"s{i}" for i in range(n)],
            "holder": holder,
            "home": home,
            "n_captives": rng.choice([1, 1, 1, 3], n),
            "captive_kind": rng.choice(["civilians", "soldiers"], n),
            "detained_since": start,
            "detained_since_precision": "day",
            "ended_on": ended,
            "ended_on_precision": np.where(still, None, "day"),
            "outcome": outcome,
            "frame": frame,
            "frame_entry": pd.NaT,
            "ended_on_unknown": False,
            "last_known_held": pd.NaT,
            "ended_by": pd.NaT,
            "confidence": "high",
        }
    )
    d["days"] = days
    d["days_lower"], d["days_upper"] = days, days
    d.loc[[0, 1, 2], "frame"] = ["exchange_derived", "exchange_derived", "unframed"]
    d.loc[[0, 1], "outcome"] = "exchanged"
    # three deaths with unknown end dates, cutoff-filled as captivity_durations does
    for i, by in zip((3, 4, 5), ("2014-06-30", None, "2016-02-01"), strict=True):
        d.loc[i, ["outcome", "ended_on", "ended_on_unknown"]] = ["died_in_captivity", pd.NaT, True]
        d.loc[i, "ended_by"] = pd.Timestamp(by) if by else pd.NaT
        d.loc[i, "detained_since"] = pd.Timestamp("2010-01-01")
        filled = (CUTOFF - pd.Timestamp("2010-01-01")).days
        d.loc[i, ["days", "days_lower", "days_upper"]] = filled
    d.loc[5, "last_known_held"] = pd.Timestamp("2012-01-01")
    # a spell found on a snapshot roster two years after its start: delayed entry
    d.loc[6, ["frame_entry", "days", "days_lower", "days_upper"]] = [
        d.loc[6, "detained_since"] + pd.Timedelta(days=730),
        2000.0,
        2000.0,
        2000.0,
    ]
    index = al.Memberships(*_members())
    for definition in al.DEFINITIONS:
        d[f"{definition}_home"] = [
            al.is_allied(index.covariates(p, t), definition)
            for p, t in zip(d["home"], d["detained_since"], strict=True)
        ]
    d["year"] = d["detained_since"].dt.year
    d["cause"] = 0
    return d


@pytest.fixture
def durations(rng) -> pd.DataFrame:
    return _durations(rng)


def test_frame_sample_leaves_out_derived_and_unframed_spells(durations):
    s = h2.spells(durations, "defense_pact", KINDS)
    assert not s.set_index("captivity_id").loc[["s0", "s1", "s2"], "primary"].any()
    sample = h2.primary_sample(s)
    assert not sample["frame"].isin(["exchange_derived", "unframed"]).any()
    assert set(sample["frame"]) == {"frame-a", "frame-b"}
    assert h2.counts(sample)["n"] == len(sample) == len(s) - 3


def test_an_unknown_end_is_never_carried_to_the_cutoff(durations):
    cutoff_days = (CUTOFF - pd.Timestamp("2010-01-01")).days
    point = h2.spells(durations, "defense_pact", KINDS).set_index("captivity_id")
    assert not {"s3", "s4", "s5"} & set(point.index)  # no point duration
    low = h2.spells(durations, "defense_pact", KINDS, "days_lower").set_index("captivity_id")
    high = h2.spells(durations, "defense_pact", KINDS, "days_upper").set_index("captivity_id")
    # s3: between detention start (no last_known_held) and ended_by 2014-06-30
    assert low.loc["s3", "duration"] == 0.5  # zero days counts as half a day
    assert (
        high.loc["s3", "duration"] == (pd.Timestamp("2014-06-30") - pd.Timestamp("2010-01-01")).days
    )
    # s5: from last_known_held 2012-01-01 to ended_by 2016-02-01
    assert (
        low.loc["s5", "duration"] == (pd.Timestamp("2012-01-01") - pd.Timestamp("2010-01-01")).days
    )
    assert high.loc["s5", "duration"] < cutoff_days
    # s4 has no ended_by: no interval, in no analysis
    assert "s4" not in low.index and "s4" not in high.index
    out = h2.exclusions(durations).set_index("captivity_id")
    assert out.loc["s4", "reason"] == "ended on an unknown date"
    out = h2.exclusions(durations, "days_upper").set_index("captivity_id")
    assert list(out.index) == ["s4"] and "no interval bound" in out.loc["s4", "reason"]


def test_missing_frame_column_means_unknown_frame(durations):
    old = durations.drop(columns=["frame", "frame_entry"])
    assert not h2.has_frames(old)
    s = h2.spells(old, "defense_pact", KINDS)
    assert set(s["frame"]) == {h2.UNKNOWN_FRAME} and s["primary"].all()
    assert (s["entry"] == 0).all()


def test_delayed_entry_from_frame_entry(durations):
    s = h2.spells(durations, "defense_pact", KINDS).set_index("captivity_id")
    assert s.loc["s6", "entry"] == 730 and (s.drop(index="s6")["entry"] == 0).all()
    late = durations.assign(frame_entry=durations["detained_since"] + pd.Timedelta(days=9000))
    assert h2.spells(late, "defense_pact", KINDS).empty  # every spell ended before it entered


def test_endings_are_coded_as_competing_risks(durations):
    s = h2.spells(durations, "defense_pact", KINDS)
    outcome = s["outcome"].astype(object)
    assert (s.loc[outcome == "exchanged", "ending"] == h2.EXCHANGE).all()
    assert (s.loc[outcome == "still_held", "ending"] == 0).all()
    others = ~outcome.isin(["exchanged", "still_held"])
    assert (s.loc[others, "ending"] == h2.OTHER).all() and (s["event"] == (s["ending"] == 1)).all()


def test_time_varying_rows_split_at_membership_changes(durations):
    members, alliances = _members()
    index = al.Memberships(members, alliances)
    assert not hasattr(index, "change_dates") or callable(index.change_dates)
    s = h2.primary_sample(h2.spells(durations, "defense_pact", KINDS))
    long = h2.tv_rows(s, index, members, "defense_pact")
    joined = pd.Timestamp("2015-01-01")
    crossing = s[
        (s["home"] == "JOINER")
        & (s["detained_since"] < joined)
        & (s["detained_since"] + pd.to_timedelta(s["duration"], unit="D") > joined)
    ]
    assert len(crossing) > 0 and h2.switchers(long) == len(crossing)
    for label, row in crossing.iterrows():
        pieces = long[long["spell_row"] == label].sort_values("start")
        assert pieces["allied_home"].tolist() == [False, True]
        assert pieces["start"].iloc[1] == (joined - row["detained_since"]).days
        assert pieces["event"].tolist() == [0, row["event"]]
    # the pieces of each spell cover (entry, duration] exactly once
    span = long.groupby("spell_row").agg(lo=("start", "min"), hi=("stop", "max"))
    assert (span["lo"] == s["entry"]).all() and (span["hi"] == s["duration"]).all()
    assert long.groupby("spell_row")["event"].sum().tolist() == s["event"].tolist()


def test_change_dates_of_the_alliance_module_are_used_when_present(durations):
    members, alliances = _members()

    class WithChanges(al.Memberships):
        def change_dates(self, party, definition):
            return [pd.Timestamp("2012-06-01")]  # a made-up change, to see it used

    s = h2.primary_sample(h2.spells(durations, "defense_pact", KINDS))
    long = h2.tv_rows(s, WithChanges(members, alliances), members, "defense_pact")
    cut = (pd.Timestamp("2012-06-01") - s["detained_since"]).dt.days
    inside = ((cut > s["entry"]) & (cut < s["duration"])).sum()
    assert len(long) == len(s) + inside


def test_estimates_end_to_end(durations):
    members, alliances = _members()
    index = al.Memberships(members, alliances)
    out = h2.estimates(durations, "defense_pact", KINDS, index, members)
    frame_spells = len(h2.primary_sample(h2.spells(durations, "defense_pact", KINDS)))
    res = out["confirmatory"]
    assert res.name == h2.CONFIRMATORY and res.hypothesis == "H2"
    assert res.n == frame_spells and res.n_clusters == out["counts"]["clusters"]
    assert res.ci_low < res.estimate < res.ci_high and 0 < res.p < 1
    assert "time-varying" in res.method and "clustered by dyad" in res.method
    assert out["strata"] == "frame" and out["covs"][0] == "allied_home"
    assert set(out["cif"]) == {"allied home state", "non-allied home state"}
    assert out["fine_gray"].n == frame_spells - 1 == frame_spells - out["fine_gray_left_out"]
    assert out["tests"]["robust_score"].n_clusters == res.n_clusters
    assert out["all_counts"]["n"] == frame_spells + 3  # derived and unframed, for comparison
    table = h2.cif_table(out["cif"])
    assert list(table["days"].unique()) == list(h2.HORIZONS)
    assert (table["ci_low"] <= table["cif"]).all() and (table["cif"] <= table["ci_high"]).all()


def test_ph_remedy_stratifies_a_failing_control_and_models_a_failing_allied_effect(rng):
    n = 300
    x = rng.random(n) < 0.5
    allied = rng.random(n) < 0.5
    # control x: falling hazard against rising (non-proportional); allied: no effect at all
    t = rng.weibull(np.where(x, 0.5, 2.0)) * 1000
    data = pd.DataFrame(
        {
            "duration": t + 1,
            "entry": 0.0,
            "event": 1,
            "allied_home": allied,
            "x": x,
            "dyad": rng.integers(0, 20, n),
        }
    )
    out = h2.ph_remedy(data, ["allied_home", "x"], None)
    assert out["failing"] == ["x"] and out["moved_to_strata"] == ["x"]
    assert out["covs"] == ["allied_home"] and out["strata"] == "stratum"
    assert "tv_table" not in out
    swapped = data.rename(columns={"allied_home": "x", "x": "allied_home"})
    out = h2.ph_remedy(swapped, ["allied_home", "x"], None)
    assert "allied_home" in out["failing"] and "allied_home_x_t" in set(out["tv_table"]["term"])
    hr = out["hr_at"]
    assert list(hr) == list(h2.HORIZONS) and hr[365] > hr[5 * 365]  # the effect falls


def test_within_dyad_needs_variation_within_a_dyad():
    long = pd.DataFrame(
        {
            "dyad": ["a", "a", "b", "b"],
            "allied_home": [True, True, False, False],
            "start": 0.0,
            "stop": [1.0, 2, 3, 4],
            "event": 1,
            "spell_row": [0, 1, 2, 3],
        }
    )
    assert h2.within_dyad(long, 4).startswith("not identified")


def test_primary_sample_needs_both_groups(durations):
    s = h2.spells(durations, "defense_pact", KINDS)
    with pytest.raises(AnalysisError, match="both allied and non-allied"):
        h2.primary_sample(s[s["allied_home"]])


def test_specifications_on_the_frame_spells(durations):
    specs = h2.specifications(durations, KINDS)
    assert set(specs["bound"]) == {"days", "days_lower", "days_upper"}
    frame_spells = len(h2.primary_sample(h2.spells(durations, "defense_pact", KINDS)))
    assert (specs.loc[specs["bound"] == "days", "n"] == frame_spells).any()
