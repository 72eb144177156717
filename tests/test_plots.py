"""Tests of research.plots: every figure is labelled, saved as PNG and SVG, deterministically."""

from __future__ import annotations

import tempfile

import matplotlib as mpl
import matplotlib.colors as mcolors
import numpy as np
import pandas as pd
import pytest
import seaborn as sns
from matplotlib.figure import Figure

from research import plots
from research.exceptions import AnalysisError
from research.stats import Result
from research.survival import kaplan_meier


@pytest.fixture(autouse=True)
def _agg_backend(monkeypatch):
    """Non-interactive backend: the tests never open a window."""
    monkeypatch.setenv("MPLBACKEND", "Agg")
    mpl.use("Agg")


@pytest.fixture
def exchanges() -> pd.DataFrame:
    rng = np.random.default_rng(1945)
    n = 60
    days = rng.integers(0, 25_000, n)
    return pd.DataFrame(
        {
            "exchange_date": pd.Timestamp("1950-01-01") + pd.to_timedelta(days, unit="D"),
            "context": pd.Categorical(
                rng.choice(["interstate_war", "civil_war", "no_war"], n),
                categories=["interstate_war", "civil_war", "no_war", "unused"],
            ),
            "log_ratio": rng.normal(0, 1.5, n),
        }
    )


@pytest.fixture
def km_by_group() -> dict[str, pd.DataFrame]:
    rng = np.random.default_rng(2)
    return {
        "allied": kaplan_meier(rng.exponential(300, 40), rng.random(40) < 0.7),
        "not allied": kaplan_meier(rng.exponential(600, 40), rng.random(40) < 0.7),
    }


@pytest.fixture
def specs() -> pd.DataFrame:
    est = np.array([-0.3, 0.1, 0.25, 0.5, 0.8, 0.9])
    return pd.DataFrame(
        {
            "estimate": est,
            "ci_low": est - 0.4,  # significant (CI excludes 0): 0.5, 0.8, 0.9
            "ci_high": est + 0.4,
            "sample": ["all", "wars", "all", "wars", "all", "wars"],
            "bodies": [True, True, False, False, True, False],
        }
    )


def _results() -> list[Result]:
    return [
        Result("log-ratio gap", -0.84, -1.6, -0.08, 0.031, 120, 35, "OLS", "H1"),
        Result("hazard ratio", 1.5, 1.1, 2.0, 0.01, 90, None, "Cox PH", "H2"),
        Result("chi2", 3.2, None, None, 0.07, 90, None, "log-rank", "H3"),
    ]


def _labelled(fig: Figure) -> None:
    ax = fig.axes[0]
    assert isinstance(fig, Figure)
    assert ax.get_title().strip()
    assert ax.get_xlabel().strip() or fig.axes[-1].get_xlabel().strip()
    assert ax.get_ylabel().strip()


def _all_figures(exchanges, km_by_group, specs) -> dict[str, Figure]:
    return {
        "over time": plots.exchanges_over_time(exchanges, hue="context"),
        "ratios": plots.ratio_distribution(exchanges),
        "km": plots.km_curves(km_by_group),
        "forest": plots.forest(_results()),
        "spec": plots.specification_curve(specs, spec_cols=["sample", "bodies"]),
        "bars": plots.bar_counts(exchanges, "context", "Conflict context"),
    }


def test_every_figure_has_a_title_and_axis_labels(exchanges, km_by_group, specs):
    figures = _all_figures(exchanges, km_by_group, specs)
    assert len(figures) == 6
    for fig in figures.values():
        _labelled(fig)


def test_save_writes_png_and_svg_with_a_slug_name(tmp_path, exchanges):
    fig = plots.exchanges_over_time(exchanges)
    paths = plots.save(fig, "H1: Exchanges per year (all)", outdir=tmp_path / "new" / "dir")
    assert [p.name for p in paths] == [
        "h1-exchanges-per-year-all.png",
        "h1-exchanges-per-year-all.svg",
    ]
    assert paths[0].read_bytes().startswith(b"\x89PNG")
    assert b"<svg" in paths[1].read_bytes()[:1000]


def test_png_is_150_dpi(tmp_path, exchanges):
    from PIL import Image

    fig = plots.ratio_distribution(exchanges)
    png, _ = plots.save(fig, "ratios", outdir=tmp_path)
    with Image.open(png) as im:
        # PNG stores whole pixels per metre: 150 dpi is 5906 px/m, read back as 150.01 dpi.
        assert im.info["dpi"] == pytest.approx((5906 * 0.0254, 5906 * 0.0254), abs=1e-9)
        assert "Software" not in im.info


def test_saving_twice_gives_identical_svg(tmp_path, exchanges, km_by_group, specs):
    for name, fig in _all_figures(exchanges, km_by_group, specs).items():
        _, first = plots.save(fig, name, outdir=tmp_path / "a")
        _, second = plots.save(fig, name, outdir=tmp_path / "b")
        assert first.read_bytes() == second.read_bytes(), name
        assert b"<dc:date>" not in first.read_bytes()


def test_rebuilding_a_figure_gives_identical_files(tmp_path, km_by_group):
    first = plots.save(plots.km_curves(km_by_group), "km", outdir=tmp_path / "a")
    second = plots.save(plots.km_curves(km_by_group), "km", outdir=tmp_path / "b")
    for a, b in zip(first, second, strict=True):
        assert a.read_bytes() == b.read_bytes()


def test_save_default_folder_from_environment(tmp_path, monkeypatch, exchanges):
    fig = plots.bar_counts(exchanges, "context", "Context")
    monkeypatch.setenv(plots.FIGURES_ENV, str(tmp_path / "env-figs"))
    assert plots.save(fig, "ctx")[1] == tmp_path / "env-figs" / "ctx.svg"
    monkeypatch.delenv(plots.FIGURES_ENV)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TMPDIR", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    tempfile.tempdir = None  # re-read TMPDIR
    try:
        paths = plots.save(fig, "ctx")
    finally:
        tempfile.tempdir = None
    # interactive (no engine): a temp folder, never the working directory (the repository)
    assert paths[0] == tmp_path / "tmp" / "research-figures" / "ctx.png"
    assert paths[0].exists() and not (tmp_path / "figures").exists()


def test_save_as_saves_the_figure(tmp_path, km_by_group):
    plots.km_curves(km_by_group, save_as="Time to deal", outdir=tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["time-to-deal.png", "time-to-deal.svg"]


def test_save_rejects_a_name_without_letters(tmp_path, exchanges):
    with pytest.raises(ValueError, match="letter or digit"):
        plots.save(plots.bar_counts(exchanges, "context", "C"), " :: ", outdir=tmp_path)


def test_ratio_axis_is_labelled_in_ratios(exchanges):
    ax = plots.ratio_distribution(exchanges).axes[0]
    labels = {t.get_text(): t.get_position()[0] for t in ax.get_xticklabels()}
    assert {"1:10", "1:1", "10:1"} <= set(labels)
    assert labels["1:1"] == 0.0 and labels["10:1"] == pytest.approx(np.log(10))
    assert labels["1:10"] == pytest.approx(-np.log(10))
    assert "log" in ax.get_xlabel()


def test_ratio_distribution_leaves_out_infinite_ratios(tmp_path, exchanges):
    # Nobody released by B makes the log ratio infinite: the figure is that of the other rows.
    data = exchanges.assign(log_ratio=exchanges["log_ratio"].where(exchanges.index > 0, np.inf))
    with_inf = plots.save(plots.ratio_distribution(data), "r", tmp_path / "a")[1]
    without = plots.save(plots.ratio_distribution(data.iloc[1:]), "r", tmp_path / "b")[1]
    assert with_inf.read_bytes() == without.read_bytes()
    assert np.all(np.isfinite(plots.ratio_distribution(data).axes[0].get_xlim()))


def test_exchanges_over_time_counts_every_dated_row(exchanges):
    ax = plots.exchanges_over_time(exchanges).axes[0]
    assert sum(p.get_height() for p in ax.patches) == len(exchanges)
    assert ax.get_xlabel() == "year of exchange"


def test_km_curves_draw_steps_from_one_with_bands(km_by_group):
    ax = plots.km_curves(km_by_group).axes[0]
    assert ax.get_xlabel() == "days since detention"
    steps = [line for line in ax.get_lines() if line.get_drawstyle() == "steps-post"]
    assert len(steps) == 2
    for line, km in zip(steps, km_by_group.values(), strict=True):
        assert line.get_ydata()[0] == 1.0 and line.get_xdata()[0] == 0.0
        np.testing.assert_allclose(line.get_ydata()[1:], km["survival"])
    assert len(ax.collections) == 2  # one CI band per group
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [
        "allied (n = 40)",
        "not allied (n = 40)",
    ]


def test_forest_has_one_row_per_result():
    ax = plots.forest(_results()).axes[0]
    rows = {t.get_text(): t.get_position()[1] for t in ax.get_yticklabels()}
    assert rows == {"H1 log-ratio gap": 2, "H2 hazard ratio": 1, "H3 chi2": 0}  # H1 on top
    assert len(ax.collections) == 2  # CI segments for the two results that have a CI


def test_specification_curve_colours_by_significance(specs):
    fig = plots.specification_curve(specs.iloc[::-1], spec_cols=["sample", "bodies"])
    top, bottom = fig.axes
    points = top.collections[-1]
    np.testing.assert_allclose(points.get_offsets()[:, 1], sorted(specs["estimate"]))
    colours = [mcolors.to_hex(c) for c in points.get_facecolors()]
    sig = mcolors.to_hex(sns.color_palette("colorblind")[0])
    assert colours == [mcolors.to_hex("0.6")] * 3 + [sig] * 3
    rows = [t.get_text() for t in bottom.get_yticklabels()]
    assert rows == ["sample = all", "sample = wars", "bodies = True", "bodies = False"]
    # One row of dots per choice: "sample = all" is used at ranks 0, 2 and 4 (estimates
    # -0.3, 0.25, 0.8) and "bodies = False" at ranks 2, 3 and 5.
    marks = bottom.get_lines()
    assert [line.get_xdata().tolist() for line in marks] == [
        [0, 2, 4],
        [1, 3, 5],
        [0, 1, 4],
        [2, 3, 5],
    ]
    assert [set(line.get_ydata()) for line in marks] == [{0}, {1}, {2}, {3}]


def test_specification_curve_defaults_to_all_other_columns(specs):
    bottom = plots.specification_curve(specs).axes[1]
    assert len(bottom.get_yticklabels()) == 4


def test_bar_counts_follow_codebook_order_and_show_missing(exchanges):
    data = exchanges.copy()
    data.loc[0, "context"] = np.nan
    ax = plots.bar_counts(data, "context", "Conflict context").axes[0]
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels == ["interstate_war", "civil_war", "no_war", "unused", "missing"]
    widths = [p.get_width() for p in ax.patches]
    expected = [int((data["context"] == c).sum()) for c in labels[:4]]
    assert widths == [*expected, 1] and expected[3] == 0 and sum(widths) == len(data)


def test_figure_functions_do_not_change_global_style(exchanges):
    before = mpl.rcParams.copy()
    plots.exchanges_over_time(exchanges)
    assert mpl.rcParams == before
    plots.set_style()
    assert mpl.rcParams["svg.hashsalt"] == "research-workbook"
    assert mpl.rcParams["axes.grid"] is True
    mpl.rcParams.update(before)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda df: plots.exchanges_over_time(df, date_col="when"), "column 'when' is not"),
        (lambda df: plots.ratio_distribution(df, hue="side"), "column 'side' is not"),
        (lambda df: plots.bar_counts(df, "kind", "K"), "column 'kind' is not"),
        (lambda df: plots.km_curves({}), "at least one group"),
        (lambda df: plots.forest([]), "at least one Result"),
        (lambda df: plots.km_curves({"a": df}), "column 'time' is not"),
    ],
)
def test_figure_errors(exchanges, call, message):
    with pytest.raises(AnalysisError, match=message):
        call(exchanges)


def test_strip_by_group_labels_groups_with_their_n(tmp_path):
    df = pd.DataFrame({"g": ["a", "a", "b", "b", "b"], "v": [1.0, 2.0, 3.0, None, 5.0]})
    fig = plots.strip_by_group(
        df,
        "g",
        "v",
        title="T",
        xlabel="group",
        ylabel="value (units)",
        save_as="strip",
        outdir=tmp_path,
    )
    ax = fig.axes[0]
    assert ax.get_title() == "T" and ax.get_ylabel() == "value (units)"
    assert [t.get_text() for t in ax.get_xticklabels()] == ["a\n(n = 2)", "b\n(n = 2)"]
    assert (tmp_path / "strip.png").exists() and (tmp_path / "strip.svg").exists()
