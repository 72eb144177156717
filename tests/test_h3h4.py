"""H3/H4 coefficients (CR2 with Bell-McCaffrey df) and the talks-based speed sample."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from research import h3h4
from research import inference as inf


@pytest.fixture
def deals(rng) -> pd.DataFrame:
    n = 30
    return pd.DataFrame(
        {
            "dyad": [f"d{i % 10}" for i in range(n)],
            "abs_log_ratio": np.abs(rng.normal(0, 1, n)),
            "log_ttd": rng.normal(5, 1, n),
            "ttd_talks": [np.nan] * 26 + [30.0, 60.0, 90.0, 10.0],
            "talks_start_kind": ["unknown"] * 26
            + ["first_public_offer"] * 2
            + ["talks_started"] * 2,
            "multilateral": [True, False] * 15,
            "mediated": [True, True, False] * 10,
            "humanitarian": [True] + [False] * 29,
            "all_for_all": [False] * 27 + [True] * 3,
            "mediator_allied_a": [False] * n,
            "mediator_allied_b": [False] * n,
            "log_ratio_a": rng.normal(0, 1, n),
        }
    )


def test_cr2_coef_equals_cr2_fit(deals):
    r = h3h4.cr2_coef(
        deals.assign(multilateral=deals["multilateral"].astype(float)),
        "abs_log_ratio", ["multilateral"], "multilateral", "x", "H3",
    )  # fmt: skip
    x = np.column_stack([np.ones(30), deals["multilateral"].astype(float)])
    t = inf.cr2_fit(deals["abs_log_ratio"], deals["dyad"], x).test(1)
    assert r.estimate == pytest.approx(t["estimate"]) and r.p == pytest.approx(t["p"])
    assert dict(r.extra)["df"] == pytest.approx(t["df"])


def test_speed_uses_the_start_of_talks_and_says_when_it_cannot(deals):
    cov = h3h4.coverage(deals)
    assert cov.loc["not in sources", "deals"] == 26
    res = h3h4.h3_estimates(deals)
    assert res["balance"].name == h3h4.PRIMARY_H3 and res["balance"].n == 30
    assert isinstance(res["speed_talks"], str) and "needs 6 deals" in res["speed_talks"]
    assert "fallback" in res["speed_detention_fallback"].name
    h4 = h3h4.h4_estimates(deals, n_resamples=50)
    assert h4["humanitarian_negotiated"].n == 27  # all-for-all repatriations set apart
