"""Seaborn figures in one house style, saved as PNG and SVG.

Each figure function draws inside the house style (``whitegrid``, the colour-blind palette,
readable font sizes) without changing global settings, and returns a
:class:`matplotlib.figure.Figure`. Figures are built with ``Figure()`` rather than
``pyplot``, so they are not registered with pyplot: a notebook shows a figure once, when it
is the cell's value, and long sweeps don't accumulate open figures. Pass ``save_as`` to
also write it with :func:`save`.

Saved files are deterministic: the SVG has no date and a fixed ``svg.hashsalt`` (so its
element ids are stable), and the PNG has no software stamp.
"""

from __future__ import annotations

import io
import os
import re
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

import matplotlib as mpl
import numpy as np
import pandas as pd
import seaborn as sns
from cycler import cycler
from matplotlib.figure import Figure
from matplotlib.layout_engine import ConstrainedLayoutEngine, TightLayoutEngine
from matplotlib.lines import Line2D

from .exceptions import AnalysisError
from .stats import Result, _require_columns

__all__ = [
    "FIGURES_ENV",
    "bar_counts",
    "cif_curves",
    "exchanges_over_time",
    "figures_dir",
    "forest",
    "km_curves",
    "ratio_distribution",
    "save",
    "set_style",
    "specification_curve",
]

FIGURES_ENV = "RESEARCH_FIGURES_DIR"
PALETTE = "colorblind"
_SVG_SALT = "research-workbook"  # fixed salt: SVG element ids are the same on every save
_NOT_SIGNIFICANT = "0.6"


def _house_rc() -> dict:
    rc = {**sns.axes_style("whitegrid"), **sns.plotting_context("notebook", font_scale=1.1)}
    rc.update(
        {
            "axes.prop_cycle": cycler(color=sns.color_palette(PALETTE)),
            "axes.titlesize": 14,
            "axes.titleweight": "bold",
            "figure.figsize": (8.0, 4.8),
            "svg.hashsalt": _SVG_SALT,
        }
    )
    return rc


def set_style() -> None:
    """Apply the house style globally (for a notebook's own matplotlib or seaborn plots).

    The figure functions of this module use the style whether or not this was called.

    Examples
    --------
    >>> set_style()
    """
    sns.set_theme(context="notebook", style="whitegrid", palette=PALETTE, font_scale=1.1)
    mpl.rcParams.update(_house_rc())


@contextmanager
def _house_style() -> Iterator[None]:
    with mpl.rc_context(_house_rc()):
        yield


def _slug(name: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    if not slug:
        raise ValueError(f"figure name must contain a letter or digit; got {name!r}")
    return slug


def figures_dir(outdir: str | Path | None = None) -> Path:
    """The folder figures are saved in: ``outdir``, else ``$RESEARCH_FIGURES_DIR`` (set by the
    engine to the run's ``figures/``), else a ``research-figures`` folder in the system's temp
    directory, so a notebook run interactively never writes into the repository."""
    default = Path(tempfile.gettempdir()) / "research-figures"
    return Path(outdir or os.environ.get(FIGURES_ENV) or default)


def _freeze_layout(fig: Figure) -> None:
    """Run the figure's layout engine once, then fix the layout.

    Re-running constrained or tight layout on every draw moves axes in the last digits, so
    two saves of one figure would differ; a fixed layout makes them byte-identical.
    """
    if isinstance(fig.get_layout_engine(), ConstrainedLayoutEngine | TightLayoutEngine):
        fig.draw_without_rendering()
        fig.set_layout_engine("none")


def save(fig: Figure, name: str, outdir: str | Path | None = None) -> list[Path]:
    """Save ``fig`` as PNG (150 dpi) and SVG, deterministically.

    The SVG has no date and stable element ids (fixed ``svg.hashsalt``), the PNG no software
    stamp, and a figure with a layout engine has its layout computed once and then fixed, so
    saving the same figure again writes the same bytes.

    Parameters
    ----------
    fig : Figure
    name : str
        Any text; the file stem is its slug ("H1: ratio by alliance" -> ``h1-ratio-by-alliance``).
    outdir : str or Path, optional
        Target folder (created if missing); see :func:`figures_dir` for the default.

    Returns
    -------
    list of Path
        The PNG and SVG paths.

    Raises
    ------
    ValueError
        If ``name`` has no letter or digit.

    Examples
    --------
    >>> save(fig, "Exchanges per year", outdir="outputs/figures")  # doctest: +SKIP
    [PosixPath('outputs/figures/exchanges-per-year.png'), ...]
    """
    folder = figures_dir(outdir)
    stem = _slug(name)
    folder.mkdir(parents=True, exist_ok=True)
    png, svg = folder / f"{stem}.png", folder / f"{stem}.svg"
    _freeze_layout(fig)
    with mpl.rc_context({"svg.hashsalt": _SVG_SALT}):
        fig.savefig(png, format="png", dpi=150, bbox_inches="tight", metadata={"Software": None})
        fig.savefig(svg, format="svg", bbox_inches="tight", metadata={"Date": None})
    return [png, svg]


def _finish(fig: Figure, save_as: str | None, outdir: str | Path | None) -> Figure:
    _freeze_layout(fig)  # the returned figure looks the same however often it is drawn
    if save_as:
        save(fig, save_as, outdir)
    return fig


def _new_figure(figsize: tuple[float, float] | None = None) -> Figure:
    return Figure(figsize=figsize, layout="constrained")


# --------------------------------------------------------------------------- figures


def exchanges_over_time(
    df: pd.DataFrame,
    date_col: str = "exchange_date",
    hue: str | None = None,
    *,
    title: str = "Prisoner exchanges per year",
    save_as: str | None = None,
    outdir: str | Path | None = None,
) -> Figure:
    """Stacked counts of handovers per calendar year, optionally split by ``hue``.

    Rows without a date are left out (the count is not imputed).

    Parameters
    ----------
    df : DataFrame
        One row per handover.
    date_col : str
        Date column (dates or anything ``pandas.to_datetime`` reads).
    hue : str, optional
        Column to split the bars by.
    title, save_as, outdir
        Figure title; if ``save_as`` is given, the figure is saved under that name.

    Returns
    -------
    Figure

    Raises
    ------
    AnalysisError
        If a column is missing, or no row has a date.

    Examples
    --------
    >>> exchanges_over_time(ds.exchanges, hue="conflict_context")  # doctest: +SKIP
    """
    _require_columns(df, [date_col, hue])
    data = pd.DataFrame({"year": pd.to_datetime(df[date_col]).dt.year})
    if hue:
        data[hue] = df[hue]
    data = data.dropna(subset=["year"])
    if data.empty:
        raise AnalysisError(f"column {date_col!r} has no dates to plot")
    with _house_style():
        fig = _new_figure()
        ax = fig.add_subplot()
        sns.histplot(data=data, x="year", hue=hue, discrete=True, multiple="stack", ax=ax)
        ax.set(title=title, xlabel="year of exchange", ylabel="handovers (count)")
    return _finish(fig, save_as, outdir)


def _ratio_label(ratio: float) -> str:
    return f"{ratio:g}:1" if ratio >= 1 else f"1:{1 / ratio:g}"


def _ratio_ticks(low: float, high: float) -> list[float]:
    """Ratios at powers of ten inside [low, high] (log scale), plus 1:3/1:2/2:1/3:1 if few."""
    tens = [10.0**k for k in range(-4, 5)]
    ticks = [r for r in tens if low <= np.log(r) <= high]
    if len(ticks) < 3:
        ticks = sorted({*ticks, *(r for r in (1 / 3, 1 / 2, 2, 3) if low <= np.log(r) <= high)})
    return ticks


def ratio_distribution(
    df: pd.DataFrame,
    ratio_col: str = "log_ratio",
    hue: str | None = None,
    *,
    title: str = "Exchange ratios",
    save_as: str | None = None,
    outdir: str | Path | None = None,
) -> Figure:
    """Histogram of natural-log exchange ratios, with ticks labelled as ratios (1:10, 1:1, 10:1).

    The dashed line marks parity, "number for number" (Lieber Code art. 105). Rows whose
    log ratio is missing or infinite (nobody released by one side) are left out.

    Parameters
    ----------
    df : DataFrame
    ratio_col : str
        Natural log of released by A / released by B (``research.variables`` names it
        ``log_ratio_a``, or ``log_ratio_allied`` oriented by alliance).
    hue : str, optional
        Column to split the histogram by.
    title, save_as, outdir
        As for :func:`exchanges_over_time`.

    Returns
    -------
    Figure

    Raises
    ------
    AnalysisError
        If a column is missing or no ratio is finite.

    Examples
    --------
    >>> ratio_distribution(frame, "log_ratio_a")  # doctest: +SKIP
    """
    _require_columns(df, [ratio_col, hue])
    finite = np.isfinite(pd.to_numeric(df[ratio_col]).astype(float)).to_numpy()
    data = df.loc[finite, [ratio_col, *([hue] if hue else [])]]
    if data.empty:
        raise AnalysisError(f"column {ratio_col!r} has no finite log ratios to plot")
    with _house_style():
        fig = _new_figure()
        ax = fig.add_subplot()
        sns.histplot(data=data, x=ratio_col, hue=hue, multiple="layer", element="step", ax=ax)
        ax.axvline(0.0, color="0.25", linestyle="--", linewidth=1)
        ticks = _ratio_ticks(*ax.get_xlim())
        ax.set_xticks(np.log(ticks), [_ratio_label(r) for r in ticks])
        ax.set(
            title=title,
            xlabel="exchange ratio, released by A : released by B (log scale)",
            ylabel="handovers (count)",
        )
    return _finish(fig, save_as, outdir)


def _step_data(km: pd.DataFrame) -> dict[str, np.ndarray]:
    """The curve from time 0 (where survival and its band are 1) for a post-step plot."""
    return {
        col: np.concatenate([[0.0 if col == "time" else 1.0], km[col].to_numpy(dtype=float)])
        for col in ("time", "survival", "ci_low", "ci_high")
    }


def km_curves(
    km_by_group: Mapping[str, pd.DataFrame],
    *,
    title: str = "Time to exchange (Kaplan–Meier)",
    ylabel: str = "share still held",
    save_as: str | None = None,
    outdir: str | Path | None = None,
) -> Figure:
    """Kaplan–Meier step curves with confidence bands and censoring ticks, one per group.

    Parameters
    ----------
    km_by_group : mapping of str to DataFrame
        Group label -> output of :func:`research.survival.kaplan_meier`.
    title, ylabel : str
        Title and y-axis label (a share, from 0 to 1).
    save_as, outdir
        As for :func:`exchanges_over_time`.

    Returns
    -------
    Figure

    Raises
    ------
    AnalysisError
        If the mapping is empty or a table lacks a Kaplan–Meier column.

    Examples
    --------
    >>> km_curves({"allied": km_a, "not allied": km_b})  # doctest: +SKIP
    """
    if not km_by_group:
        raise AnalysisError("km_curves needs at least one group's Kaplan–Meier table")
    for km in km_by_group.values():
        _require_columns(km, ["time", "survival", "ci_low", "ci_high", "n_at_risk", "n_censored"])
    with _house_style():
        fig = _new_figure()
        ax = fig.add_subplot()
        colors = sns.color_palette(PALETTE, len(km_by_group))
        for (label, km), color in zip(km_by_group.items(), colors, strict=True):
            s = _step_data(km)
            n = int(km["n_at_risk"].iloc[0])
            ax.step(s["time"], s["survival"], where="post", color=color, label=f"{label} (n = {n})")
            ax.fill_between(
                s["time"], s["ci_low"], s["ci_high"], step="post", color=color, alpha=0.2
            )
            cens = km[km["n_censored"] > 0]
            ax.plot(cens["time"], cens["survival"], "|", color=color, markersize=8)
        ax.set(title=title, xlabel="days since detention", ylabel=ylabel, ylim=(0, 1.02))
        ax.legend(title="group (| censored)")
    return _finish(fig, save_as, outdir)


def forest(
    results: Sequence[Result],
    *,
    title: str = "Estimates with confidence intervals",
    xlabel: str = "estimate (units of each outcome)",
    null: float = 0.0,
    save_as: str | None = None,
    outdir: str | Path | None = None,
) -> Figure:
    """Forest plot: one row per :class:`~research.stats.Result`, point and CI, null line.

    Parameters
    ----------
    results : sequence of Result
        Results without a CI are drawn as points only.
    title, xlabel : str
    null : float
        Reference value (0 for differences, 1 for hazard ratios).
    save_as, outdir
        As for :func:`exchanges_over_time`.

    Returns
    -------
    Figure

    Raises
    ------
    AnalysisError
        If ``results`` is empty.

    Examples
    --------
    >>> forest([h1, h2], null=0.0)  # doctest: +SKIP
    """
    if not results:
        raise AnalysisError("forest needs at least one Result")
    labels = [" ".join(p for p in (r.hypothesis, r.name) if p) or r.method for r in results]
    y = np.arange(len(results))[::-1]
    with _house_style():
        fig = _new_figure((8.0, 1.2 + 0.5 * len(results)))
        ax = fig.add_subplot()
        color = sns.color_palette(PALETTE)[0]
        for yi, r in zip(y, results, strict=True):
            if r.ci_low is not None and r.ci_high is not None:
                ax.hlines(yi, r.ci_low, r.ci_high, color=color, linewidth=2)
            ax.plot(r.estimate, yi, "o", color=color)
        ax.axvline(null, color="0.25", linestyle="--", linewidth=1)
        ax.set_yticks(y, labels)
        ax.set(title=title, xlabel=xlabel, ylabel="result")
    return _finish(fig, save_as, outdir)


def _spec_panel(ax, data: pd.DataFrame, spec_cols: Sequence[str]) -> None:
    """Bottom panel: a dot where a specification uses a value of each choice."""
    rows = [(c, v) for c in spec_cols for v in pd.unique(data[c].astype(str))]
    x = np.arange(len(data))
    for i, (col, value) in enumerate(rows):
        used = (data[col].astype(str) == value).to_numpy()
        ax.plot(x[used], np.full(used.sum(), i), "o", color="0.2", markersize=4)
    ax.set_yticks(range(len(rows)), [f"{c} = {v}" for c, v in rows])
    ax.set_ylim(len(rows) - 0.5, -0.5)
    ax.set(xlabel="specification (ranked by estimate)", ylabel="choice")


def specification_curve(
    df: pd.DataFrame,
    estimate: str = "estimate",
    ci_low: str = "ci_low",
    ci_high: str = "ci_high",
    spec_cols: Sequence[str] | None = None,
    *,
    null: float = 0.0,
    title: str = "Specification curve",
    ylabel: str = "estimate with CI",
    save_as: str | None = None,
    outdir: str | Path | None = None,
) -> Figure:
    """Specification curve (Simonsohn, Simmons & Nelson 2020).

    Top: estimates sorted from low to high with their CIs, coloured when the CI excludes
    ``null``. Bottom: for each specification choice, a dot marks the value it takes.

    Parameters
    ----------
    df : DataFrame
        One row per specification.
    estimate, ci_low, ci_high : str
        Columns of the estimate and its confidence limits.
    spec_cols : sequence of str, optional
        Columns describing the choices; by default every other column.
    null : float
        Reference value for significance and the dashed line.
    title, ylabel, save_as, outdir
        As for :func:`exchanges_over_time`.

    Returns
    -------
    Figure

    Raises
    ------
    AnalysisError
        If a column is missing or there are no specifications.

    Examples
    --------
    >>> specification_curve(specs, spec_cols=["sample", "bodies", "controls"])  # doctest: +SKIP
    """
    cols = [estimate, ci_low, ci_high]
    spec_cols = list(spec_cols) if spec_cols is not None else [c for c in df if c not in cols]
    _require_columns(df, [*cols, *spec_cols])
    if df.empty or not spec_cols:
        raise AnalysisError("specification_curve needs at least one row and one choice column")
    data = df.sort_values(estimate, kind="mergesort").reset_index(drop=True)
    sig = ((data[ci_low] > null) | (data[ci_high] < null)).to_numpy()
    with _house_style():
        fig = _new_figure((9.0, 3.5 + 0.3 * sum(df[c].nunique(dropna=False) for c in spec_cols)))
        top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=[2, 1])
        color = np.where(sig, mpl.colors.to_hex(sns.color_palette(PALETTE)[0]), _NOT_SIGNIFICANT)
        x = np.arange(len(data))
        top.vlines(x, data[ci_low], data[ci_high], colors=color, linewidth=1.5)
        top.scatter(x, data[estimate], c=color, s=18, zorder=3)
        top.axhline(null, color="0.25", linestyle="--", linewidth=1)
        top.legend(handles=_significance_handles(), loc="upper left")
        top.set(title=title, ylabel=ylabel)
        _spec_panel(bottom, data, spec_cols)
    return _finish(fig, save_as, outdir)


def _significance_handles() -> list[Line2D]:
    sig = mpl.colors.to_hex(sns.color_palette(PALETTE)[0])
    return [
        Line2D([], [], marker="o", linestyle="", color=sig, label="CI excludes null"),
        Line2D([], [], marker="o", linestyle="", color=_NOT_SIGNIFICANT, label="CI includes null"),
    ]


def bar_counts(
    df: pd.DataFrame,
    col: str,
    title: str,
    *,
    label: str | None = None,
    save_as: str | None = None,
    outdir: str | Path | None = None,
) -> Figure:
    """Horizontal bars of row counts per value of ``col``, missing values shown as "missing".

    Categorical columns keep their (codebook) category order, including unused categories;
    other columns are ordered by frequency.

    Parameters
    ----------
    df : DataFrame
    col : str
    title : str
    label : str, optional
        Axis label for the categories (default: ``col``).
    save_as, outdir
        As for :func:`exchanges_over_time`.

    Returns
    -------
    Figure

    Raises
    ------
    AnalysisError
        If ``col`` is missing.

    Examples
    --------
    >>> bar_counts(ds.exchanges, "mediator_type", "Who mediated")  # doctest: +SKIP
    """
    _require_columns(df, [col])
    is_cat = isinstance(df[col].dtype, pd.CategoricalDtype)
    counts = df[col].value_counts(dropna=False, sort=not is_cat)
    counts.index = ["missing" if pd.isna(v) else str(v) for v in counts.index]
    with _house_style():
        fig = _new_figure((8.0, 1.5 + 0.4 * len(counts)))
        ax = fig.add_subplot()
        sns.barplot(x=counts.to_numpy(), y=list(counts.index), orient="h", ax=ax)
        ax.bar_label(ax.containers[0], padding=3)
        ax.set(title=title, xlabel="rows (count)", ylabel=label or col)
    return _finish(fig, save_as, outdir)


def strip_by_group(
    df: pd.DataFrame,
    group: str,
    value: str,
    *,
    title: str,
    xlabel: str,
    ylabel: str,
    save_as: str | None = None,
    outdir: str | Path | None = None,
    seed: int = 0,
) -> Figure:
    """Every observation as a point per group, over a box of its quartiles.

    Small samples are shown whole rather than summarised away. The horizontal jitter is
    seeded (``seed``), so the figure is byte-for-byte reproducible.
    """
    _require_columns(df, [group, value])
    data = df[[group, value]].dropna().astype({group: str, value: float})
    with _house_style():
        fig = _new_figure((6.4, 4.0))
        ax = fig.subplots()
        order = sorted(data[group].unique())
        sns.boxplot(
            data=data,
            x=group,
            y=value,
            order=order,
            ax=ax,
            color="0.9",
            showfliers=False,
            width=0.5,
        )
        # the jitter is drawn from a generator seeded by ``seed``, so the same data always
        # gives the same picture (seaborn's stripplot draws from numpy's global state)
        rng = np.random.default_rng(seed)
        for i, g in enumerate(order):
            ys = data.loc[data[group] == g, value].to_numpy()
            xs = i + rng.uniform(-0.2, 0.2, size=len(ys))
            ax.scatter(xs, ys, s=16, alpha=0.7, color="C0", linewidths=0, zorder=3)
        counts = data[group].value_counts()
        ax.set_xticks(range(len(order)), [f"{g}\n(n = {counts[g]})" for g in order])
        ax.set(title=title, xlabel=xlabel, ylabel=ylabel)
    return _finish(fig, save_as, outdir)


def show(fig: Figure):
    """Display a figure inline as PNG, the same under JupyterLab and under the engine (whose
    kernels use the non-interactive Agg backend, where a bare figure would print as text)."""
    from IPython.display import Image

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight", metadata={"Software": None})
    return Image(data=buffer.getvalue(), format="png")


def _at_risk_row(table: pd.DataFrame, ticks: Sequence[float]) -> list[int]:
    """Numbers at risk at each tick: those with time >= tick (delayed entry already in)."""
    out = []
    for tick in ticks:
        later = table[table["time"] >= tick]
        out.append(int(later["n_at_risk"].iloc[0]) if len(later) else 0)
    return out


def cif_curves(
    cif_by_group: Mapping[str, pd.DataFrame],
    *,
    title: str,
    ylabel: str = "cumulative incidence of exchange",
    subtitle: str = "",
    ticks: Sequence[float] | None = None,
    save_as: str | None = None,
    outdir: str | Path | None = None,
) -> Figure:
    """Cumulative incidence step curves with bands and a numbers-at-risk table beneath.

    Parameters
    ----------
    cif_by_group : mapping of str to DataFrame
        Group label -> output of :func:`research.competing.aalen_johansen`.
    title, ylabel, subtitle : str
        Labels; put n, events and clusters in ``subtitle``.
    ticks : sequence of float, optional
        Times (days) for the x ticks and the at-risk table (default: yearly).
    save_as, outdir
        As for :func:`exchanges_over_time`.

    Returns
    -------
    Figure

    Raises
    ------
    AnalysisError
        If the mapping is empty or a table lacks a column.
    """
    if not cif_by_group:
        raise AnalysisError("cif_curves needs at least one group's cumulative incidence table")
    for table in cif_by_group.values():
        _require_columns(table, ["time", "cif", "ci_low", "ci_high", "n_at_risk"])
    end = max(float(t["time"].max()) for t in cif_by_group.values())
    if ticks is None:  # yearly ticks, every few years for long spells
        ticks = list(np.arange(0, end + 1, 365 * max(1, int(end // 3650))))
    ticks = [float(x) for x in ticks]
    with _house_style():
        fig = _new_figure((7.5, 5.2))
        grid = fig.add_gridspec(2, 1, height_ratios=[4, 1])
        ax, table_ax = fig.add_subplot(grid[0]), fig.add_subplot(grid[1])
        colors = sns.color_palette(PALETTE, len(cif_by_group))
        for i, ((label, t), color) in enumerate(zip(cif_by_group.items(), colors, strict=True)):
            x = np.concatenate([[0.0], t["time"].to_numpy(float)])
            y = np.concatenate([[0.0], t["cif"].to_numpy(float)])
            lo = np.concatenate([[0.0], t["ci_low"].to_numpy(float)])
            hi = np.concatenate([[0.0], t["ci_high"].to_numpy(float)])
            ax.step(x, y, where="post", color=color, label=label, lw=1.8)
            ax.fill_between(x, lo, hi, step="post", color=color, alpha=0.18)
            for tick, n in zip(ticks, _at_risk_row(t, ticks), strict=True):
                table_ax.text(tick, -i, str(n), ha="center", va="center", color=color, fontsize=9)
        ax.set_title(title + (f"\n{subtitle}" if subtitle else ""), fontsize=10)
        ax.set(ylabel=ylabel, ylim=(0, 1))
        ax.set_xticks(ticks, [f"{tick / 365:g}" for tick in ticks])
        ax.set_xlim(0, max(ticks[-1], end) * 1.02)
        ax.set_xlabel("years since detention")
        ax.legend(loc="upper left")
        table_ax.set_xlim(ax.get_xlim())
        table_ax.set_ylim(-len(cif_by_group) + 0.5, 0.5)
        table_ax.set_yticks(range(0, -len(cif_by_group), -1), list(cif_by_group), fontsize=9)
        table_ax.set_xticks([])
        table_ax.set_title("number at risk", fontsize=9, loc="left")
        table_ax.grid(False)
        for spine in table_ax.spines.values():
            spine.set_visible(False)
    return _finish(fig, save_as, outdir)
