"""The real dataset in data/: valid, and covering what the dataset issue asks for."""

from __future__ import annotations

import pandas as pd
import pytest

import research as rs
from research.validate import validate_package

from .conftest import ROOT


@pytest.fixture(scope="module")
def ds():
    return rs.load(ROOT / "data")


def test_the_data_package_is_valid():
    problems = validate_package(ROOT / "data")
    assert problems == [], "\n".join(map(str, problems[:20]))


def test_coverage(ds):
    ex = ds.exchanges
    assert len(ex) >= 150 and ex["deal_id"].nunique() >= 100
    pairs = {tuple(sorted(p)) for p in zip(ex["side_a"], ex["side_b"])}
    assert len(pairs) >= 30
    ru_ua = (ex["side_a"] == "UKR") & (ex["side_b"] == "RUS")
    assert (~ru_ua).sum() >= 70
    decades = set(ex["exchange_date"].dt.year // 10 * 10)
    assert set(range(1950, 2030, 10)) <= decades
    assert set(ex["region"].astype(str)) == {"Europe", "Middle East", "Asia", "Africa", "Americas"}
    kinds = dict(zip(ds.parties["party_id"], ds.parties["kind"]))
    side_kinds = {(kinds[a] == "state", kinds[b] == "state") for a, b in zip(ex.side_a, ex.side_b)}
    assert (True, True) in side_kinds and (True, False) in side_kinds


@pytest.mark.parametrize(
    "deal",
    [
        "1953-little-switch",
        "1953-big-switch",
        "1962-powers-abel",
        "1973-isr-egy-pows",
        "1974-isr-syr-disengagement-pows",
        "1985-isr-pflpgc-jibril",
        "2011-shalit",
        "2016-us-iran-implementation-day-swap",
        "2010-vienna-spy-swap",
        "2022-reed-yaroshenko",
        "2022-griner-bout",
        "2024-ankara-multilateral-swap",
        "2014-tur-isis-mosul-consulate",
    ],
)
def test_required_cases_are_coded(ds, deal):
    assert deal in set(ds.exchanges["deal_id"])


def test_shalit_and_us_iran_as_sources_say(ds):
    ex = ds.exchanges.set_index("exchange_id")
    shalit = ds.exchanges[ds.exchanges["deal_id"] == "2011-shalit"].sort_values("exchange_date")
    assert list(shalit["released_by_a"]) == [477, 550]
    assert shalit["exchange_date"].iloc[0] == pd.Timestamp("2011-10-18")
    us_iran = ds.exchanges[ds.exchanges["deal_id"] == "2016-us-iran-implementation-day-swap"]
    assert (us_iran["exchange_date"].dt.year == 2016).all()  # not 2015
    ankara = ds.exchange_parties[
        ds.exchange_parties["exchange_id"].isin(
            ds.exchanges.loc[
                ds.exchanges["deal_id"] == "2024-ankara-multilateral-swap", "exchange_id"
            ]
        )
    ]
    assert set(ankara["party_id"]) >= {"USA", "DEU", "POL", "SVN", "NOR", "RUS", "BLR"}
    assert ex.loc[us_iran["exchange_id"].iloc[0], "format"] == "bilateral"


def test_alliances_cover_every_side_and_mediator_state(ds):
    required = {
        "nato",
        "warsaw_pact",
        "csto",
        "us_japan",
        "us_rok",
        "us_phl",
        "anzus",
        "rio",
        "seato",
        "baghdad_cento",
        "arab_league_jdt",
        "gcc_pact",
        "sino_soviet_1950",
        "ussr_prk_1961",
        "chn_prk_1961",
        "rus_blr_union",
    }
    assert required <= set(ds.alliances["alliance_id"])
    m = ds.alliance_members
    sweden = m[(m["alliance_id"] == "nato") & (m["party_id"] == "SWE")]
    assert sweden["start_date"].dt.year.tolist() == [2024]
    assert "suspended" in set(
        m.loc[(m["alliance_id"] == "anzus") & (m["party_id"] == "NZL"), "status"]
    )
    assert "frozen" in set(m.loc[(m["alliance_id"] == "csto") & (m["party_id"] == "ARM"), "status"])
    fra = m[(m["alliance_id"] == "nato") & (m["party_id"] == "FRA")]
    assert len(fra) == 1 and fra["end_date"].isna().all()  # 1966 was not leaving NATO


def test_captivity_spells_do_not_select_on_the_outcome(ds):
    cap = ds.captivities
    assert len(cap) >= 80
    assert (cap["outcome"] != "exchanged").sum() >= 25
    linked = set(cap["exchange_id"].dropna())
    ex = ds.exchanges
    with_headline = ex[ex["detained_since_a"].notna() | ex["detained_since_b"].notna()]
    assert set(with_headline["exchange_id"]) <= linked
