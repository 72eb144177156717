"""H5: the dyad histories and the within-dyad estimates."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from research import legacy as lg


def _deals(rng) -> pd.DataFrame:
    rows = []
    for g in range(5):
        start = pd.Timestamp("2000-01-01") + pd.Timedelta(days=100 * g)
        for k in range(4):
            date = start + pd.Timedelta(days=int(400 / (k + 1)) * k + g)
            rows.append(
                {
                    "deal_id": f"g{g}-{k}",
                    "dyad": f"D{g}",
                    "exchange_date": date,
                    "last_date": date + pd.Timedelta(days=2),
                    "abs_log_ratio": abs(rng.normal()),
                    "ttd_talks": np.nan,
                }
            )
    return pd.DataFrame(rows)


def test_sequences_count_earlier_completed_deals(rng):
    d = _deals(rng)
    status = pd.Categorical(
        ["not_carried_out", "as_agreed"], categories=["as_agreed", "not_carried_out"]
    )
    table = pd.DataFrame({"deal_id": ["g0-1", "g0-2"], "carried_out": status})  # typed as loaded
    s = lg.sequences(d, table).set_index("deal_id")
    assert s.loc["g0-0", "prior_deals"] == 0 and np.isnan(s.loc["g0-0", "days_since_last"])
    assert s.loc["g0-2", "prior_deals"] == 1  # g0-1 was not carried out
    assert s.loc["g1-2", "prior_deals"] == 2
    gap = (s.loc["g1-1", "exchange_date"] - s.loc["g1-0", "last_date"]).days
    assert s.loc["g1-1", "days_since_last"] == gap


def test_within_dyad_estimates_use_fixed_effects(rng):
    s = lg.sequences(_deals(rng))
    res = lg.h5_estimates(s)
    gap = res["gap"]
    assert gap.name == lg.PRIMARY and gap.n == 15 and gap.n_clusters == 5
    # a fresh within-dyad OLS: demeaning by dyad gives the same slope
    d = s[s["order"] > 1]
    y = d["log_gap"] - d.groupby("dyad")["log_gap"].transform("mean")
    x = d["log_prior"] - d.groupby("dyad")["log_prior"].transform("mean")
    assert gap.estimate == pytest.approx(float((x * y).sum() / (x * x).sum()))
    assert gap.estimate < 0  # the gaps shrink by construction
    assert isinstance(res["speed_talks"], str) and "not estimable" in res["speed_talks"]
    assert lg.sequence_trend(s, "D0")["rho_order_gap"] < 0


def test_conclusion_says_when_the_check_disagrees():
    from research.stats import Result

    null = Result("g", -0.3, -5.0, 4.4, 0.7, 107, 12, "m")
    neg = Result("g", -1.7, -3.2, -0.3, 0.03, 37, 10, "m")
    assert lg.conclusion(null, neg).endswith("does not survive this check.")
    assert lg.conclusion(neg, neg).endswith("survives this check.")
    assert "Without" not in lg.conclusion(null, "not estimable")
