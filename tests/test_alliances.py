"""Membership at a date, worked by hand on the fixture's spells, and the real alliance coding
checked against ATOP 5.1.

Fixture spells: nato = ALPHA, USA (1950-), DELTA (active 2000-03-15 to 2005-01-01, then
suspended), MED (1960-); pact2 (consultation only) = BRAVO, CHARLIE from 1990-06 to 2010.
Fixture ATOP state-years: ALPHA and CHARLIE true in 2003-2004, BRAVO false.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import research as rs
from research import alliances as al
from research import variables as va
from research.alliances import Memberships, is_allied
from research.exceptions import AnalysisError

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = ROOT.parent / "shared" / "reference"
ATOP_FILE = REFERENCE / "atop5_1_ddyr_1945_2018.csv"
day = pd.Timestamp


@pytest.fixture
def index(package):
    return Memberships(rs.load(package))


@pytest.fixture(scope="module")
def real():
    return rs.load()


def test_membership_on_a_date(index):
    assert index.memberships("DELTA", day("2000-03-14")) == frozenset()
    assert index.memberships("DELTA", day("2000-03-15")) == {"nato"}
    assert index.memberships("DELTA", day("2004-12-31")) == {"nato"}
    # a day-precision end date is the first day outside; a suspended spell does not count
    assert index.memberships("DELTA", day("2005-01-01")) == frozenset()
    assert index.memberships("BRAVO", day("2009-12-31")) == {"pact2"}
    assert index.memberships("BRAVO", day("2010-01-01")) == frozenset()


def _spells(*rows):
    cols = ["alliance_id", "party_id", "start_date", "end_date", "end_date_precision", "status"]
    frame = pd.DataFrame(rows, columns=cols)
    for c in ("start_date", "end_date"):
        frame[c] = pd.to_datetime(frame[c])
    return frame


def test_an_imprecise_end_counts_through_its_year_or_month():
    members = _spells(
        ("p", "A", "1963-01-01", "1979-01-01", "year", "active"),
        ("p", "B", "1963-01-01", "1979-03-01", "month", "active"),
    )
    alliances = pd.DataFrame({"alliance_id": ["p"], "obligations": [("defense",)]})
    idx = Memberships(members, alliances)
    assert idx.memberships("A", day("1979-12-31")) == {"p"}
    assert idx.memberships("A", day("1980-01-01")) == frozenset()
    assert idx.memberships("B", day("1979-03-31")) == {"p"}
    assert idx.memberships("B", day("1979-04-01")) == frozenset()
    assert idx.defense_in_year("A", 1979) and not idx.defense_in_year("A", 1980)


def test_a_one_way_pledge_allies_both_states():
    # ATOP's state-year indicator counts both the pledging and the protected state
    members = _spells(
        ("oneway", "USA", "1981-01-01", "1991-01-01", "year", "active"),
        ("oneway", "ISR", "1981-01-01", "1991-01-01", "year", "active"),
    )
    alliances = pd.DataFrame({"alliance_id": ["oneway"], "obligations": [("defense",)]})
    c = Memberships(members, alliances).covariates("ISR", day("1985-06-01"))
    assert c["defense_pact"] and c["us_treaty_ally"] and c["major_power_ally"]
    assert c["n_allies"] == 1


def test_covariates_by_hand(index):
    c = index.covariates("CHARLIE", day("2003-01-01"))
    # pact2 is consultation only: not a defense pact, no defense allies; ATOP says allied
    assert c == {
        "defense_pact": False,
        "atop_defense": True,
        "nato": False,
        "us_treaty_ally": False,
        "major_power_ally": False,
        "n_allies": 0,
    }
    c = index.covariates("ALPHA", day("2003-01-01"))
    assert c == {
        "defense_pact": True,
        "atop_defense": True,
        "nato": True,
        "us_treaty_ally": True,
        "major_power_ally": True,
        "n_allies": 3,
    }  # USA, DELTA, MED
    # a major power is not its own ally; after ATOP's last year atop_defense is ours
    usa = index.covariates("USA", day("1955-01-01"))
    assert usa["major_power_ally"] is False and usa["us_treaty_ally"] is True
    assert index.covariates("BRAVO", day("2003-06-01"))["atop_defense"] is False
    assert index.covariates("MED", day("2020-01-01"))["atop_defense"] is True


def test_change_dates(index):
    assert index.change_dates("DELTA", "nato") == [day("2000-03-15"), day("2005-01-01")]
    assert index.change_dates("BRAVO", "defense_pact") == []
    # ATOP's years: CHARLIE allied in 2003-2004 only
    assert index.change_dates("CHARLIE", "atop_defense") == [day("2003-01-01"), day("2005-01-01")]
    with pytest.raises(AnalysisError, match="alliance_definition must be one of"):
        index.change_dates("DELTA", "any_alliance")


def test_definitions(index):
    c = index.covariates("ALPHA", day("2003-01-01"))
    assert is_allied(c, "nato") and index.status("ALPHA", day("2003-01-01"), "us_treaty_ally")
    with pytest.raises(
        AnalysisError,
        match=r"must be one of \['defense_pact', 'atop_defense', 'nato', 'us_treaty_ally', "
        r"'major_power_ally'\]; not 'any_alliance'",
    ):
        is_allied(c, "any_alliance")


def test_cow_codes_by_date():
    assert al.party_ccode("YEM", 1989, 679) == 678
    assert al.party_ccode("YEM", 1990, 679) == 679
    assert al.party_ccode("RUS", 1960, 365) == 365


# ---------------------------------------------------------------- the real coding


def test_every_state_party_has_its_cow_code(real):
    p = real.parties
    states = p[p["kind"] == "state"]
    missing = states.loc[states["cow_code"].isna(), "party_id"].tolist()
    assert missing == ["VAT"]  # the Holy See is not in the COW list (notes say so)
    codes = dict(zip(p["party_id"], p["cow_code"]))
    assert (codes["RUS"], codes["FRG"], codes["DEU"], codes["YEM"]) == (365, 260, 255, 679)
    assert states["cow_code"].dropna().is_unique


def test_exchange_side_state_years_are_in_the_atop_table(real):
    years = va.exchange_state_years(real)
    atop = real.atop_defense_state_years
    have = set(zip(atop["party_id"], atop["year"]))
    missing = [(p, y) for p, y in zip(years["party_id"], years["year"]) if (p, y) not in have]
    assert missing == [], (
        f"state-years without ATOP values {missing}: "
        "run tools/build_atop_alliances.py --state-years"
    )


def test_every_difference_from_atop_is_documented(real):
    index = Memberships(real)
    atop = real.atop_defense_state_years
    atop = atop[atop["year"] >= 1949]
    documented = {
        (p, y): (pv, av)
        for p, y, pv, av in zip(
            real.alliances_vs_atop["party_id"],
            real.alliances_vs_atop["year"],
            real.alliances_vs_atop["project_value"],
            real.alliances_vs_atop["atop_value"],
        )
    }
    found = {}
    for p, y, a in zip(atop["party_id"], atop["year"], atop["atop_defense"]):
        project = index.defense_in_year(p, int(y))
        if project != bool(a):
            found[(p, int(y))] = (project, bool(a))
    undocumented = {k: v for k, v in found.items() if documented.get(k) != v}
    stale = sorted(set(documented) - set(found))
    assert undocumented == {} and stale == [], (
        f"undocumented differences {undocumented}; documented but no longer differing {stale}"
    )
    assert 1 - len(found) / len(atop) >= 0.98


def test_agreement_on_exchange_side_state_years(real):
    agree = va.atop_agreement(real)
    assert len(agree) >= 100
    assert agree["agree"].mean() >= 0.98


def test_atop_derived_spells_have_evidence(real):
    # evidence.csv is read as a file here: it is not (yet) a resource of the package
    ev = pd.read_csv(ROOT / "data" / "evidence.csv", dtype=str, keep_default_na=False)
    ev = ev[ev["table"] == "alliance_members"]
    have = set(zip(ev["row_id"], ev["field"]))
    m = real.alliance_members
    derived = m[m["sources"].map(lambda s: al.ATOP_CITATION in s)]
    assert len(derived) > 300
    for r in derived.itertuples():
        key = f"{r.alliance_id}/{r.party_id}/{r.start_date.date()}"
        fields = ["start_date", "status"] + (["end_date"] if pd.notna(r.end_date) else [])
        missing = [f for f in fields if (key, f) not in have]
        assert not missing, f"alliance_members {key}: no evidence row for {missing}"


def test_one_way_pledges_name_their_pledging_state(real):
    a = real.alliances.set_index("alliance_id")
    one_way = a[a["direction"] == "one_way"]
    assert "atop_usa_isr_1981" in one_way.index
    assert one_way.loc["atop_usa_isr_1981", "pledged_by"] == ("USA",)
    assert (one_way["pledged_by"].map(len) >= 1).all()
    assert (a.loc[a["direction"] == "mutual", "pledged_by"].map(len) == 0).all()


@pytest.mark.skipif(not ATOP_FILE.is_file(), reason="../shared/reference (ATOP 5.1) is absent")
def test_the_atop_table_matches_the_reference_file(real):
    ddyr = pd.read_csv(ATOP_FILE)
    d = ddyr[ddyr["atop_defense"] == 1]
    partners: dict[tuple[int, int], set[int]] = {}
    for c1, c2, y in zip(d["ccode1"], d["ccode2"], d["year"]):
        partners.setdefault((c1, y), set()).add(c2)
        partners.setdefault((c2, y), set()).add(c1)
    t = real.atop_defense_state_years
    for p, y, c, v, n in zip(
        t["party_id"], t["year"], t["cow_code"], t["atop_defense"], t["atop_n_defense_partners"]
    ):
        got = partners.get((int(c), int(y)), set())
        assert (bool(v), int(n)) == (bool(got), len(got)), f"{p} {y}: ATOP has {sorted(got)}"


@pytest.mark.skipif(not ATOP_FILE.is_file(), reason="../shared/reference (ATOP 5.1) is absent")
def test_n_allies_matches_atop_on_nine_state_years_in_ten(real):
    # any-day-of-the-year ally counts against ATOP's; the rest is CENTO (a defense pact here,
    # not in ATOP) and page-coded accession and withdrawal dates (92.5% agree when written)
    index = Memberships(real)
    t = real.atop_defense_state_years
    t = t[(t["year"] >= 1949) & t["atop_defense"]]
    off = [
        (p, int(y), len(index.allies_in_year(p, int(y))), int(n))
        for p, y, n in zip(t["party_id"], t["year"], t["atop_n_defense_partners"])
        if len(index.allies_in_year(p, int(y))) != n
    ]
    assert len(off) / len(t) <= 0.10, off[:20]
    cento = {"GBR", "TUR", "PAK", "IRN", "IRQ"}
    assert sum(p in cento for p, *_ in off) / len(off) >= 0.4
