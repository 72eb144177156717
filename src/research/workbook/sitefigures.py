"""The site's own figures: the forest plot of the confirmatory family, a timeline of every
exchange, and the exchanges by region. Drawn in the house style of :mod:`research.plots`
and saved as PNG with no software stamp, so a rebuild from the same inputs writes the same
bytes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

PNG_META = {"Software": None}


def _save(fig: Figure, path: Path) -> Path:
    fig.savefig(path, format="png", dpi=100, metadata=PNG_META)
    return path


def forest(findings: list[dict], path: Path) -> Path | None:
    """One panel per confirmatory hypothesis: estimate, 95% CI and its null line.

    Hypotheses without a result are listed with "no result". Returns None when no
    hypothesis has an estimate.
    """
    from ..plots import _house_style

    rows = [f for f in findings if f["row"] and f["row"].get("estimate") is not None]
    if not rows:
        return None
    with _house_style():
        fig = Figure(figsize=(9.0, 1.0 + 1.1 * len(findings)), layout="constrained")
        axes = fig.subplots(len(findings), 1, squeeze=False)[:, 0]
        for ax, f in zip(axes, findings, strict=True):
            row, null = f["row"], float(f["spec"].get("null", 0.0))
            label = f"{f['hypothesis']}: {f['spec'].get('result', '')}"
            if not row or row.get("estimate") is None:
                ax.text(0.5, 0.5, f"{label}: no result", ha="center", va="center")
                ax.set_axis_off()
                continue
            est, lo, hi = row["estimate"], row.get("ci_low"), row.get("ci_high")
            color = "#0b3d66" if f["verdict"] in ("supported", "contradicted") else "0.45"
            if lo is not None and hi is not None:
                ax.hlines(0, lo, hi, color=color, linewidth=3)
            ax.plot([est], [0], "o", color=color, markersize=9)
            ax.axvline(null, color="0.3", linestyle="--", linewidth=1)
            span = [v for v in (est, lo, hi, null) if v is not None]
            pad = (max(span) - min(span)) * 0.15 or 0.5
            ax.set_xlim(min(span) - pad, max(span) + pad)
            ax.set_yticks([])  # the label goes above the panel: a long tick label squeezes it
            ax.set_ylim(-1, 1)
            ax.set_title(label, loc="left", fontsize=10, fontweight="normal")
            ax.set_title(f["verdict"], loc="right", fontsize=10, fontweight="normal")
        fig.suptitle("Confirmatory tests: estimate and 95% CI (dashed: no effect)")
        return _save(fig, path)


def timeline(cases, path: Path) -> Path | None:
    """Every exchange: date on x, dyad on y, marker area by persons released (both sides)."""
    from ..plots import _house_style

    points = []
    for t in cases.tables["exchanges"]:
        date = t.get("exchange_date", "")
        if not date:
            continue
        n = sum(int(float(t[k])) for k in ("released_by_a", "released_by_b") if t.get(k))
        year = int(date[:4]) + (int(date[5:7]) - 1) / 12 if len(date) >= 7 else int(date[:4])
        points.append((year, cases.dyad(t["side_a"], t["side_b"]), n))
    if not points:
        return None
    order = {}
    for _, dyad, _ in sorted(points):
        order.setdefault(dyad, len(order))
    with _house_style():
        fig = Figure(figsize=(11.0, 2.0 + 0.16 * len(order)), layout="constrained")
        ax = fig.add_subplot()
        x = np.array([p[0] for p in points])
        y = np.array([order[p[1]] for p in points])
        size = np.array([p[2] for p in points], dtype=float)
        ax.scatter(x, y, s=12 + 4 * np.sqrt(size), alpha=0.6, color="#0b3d66", edgecolor="white")
        ax.set_yticks(range(len(order)), list(order), fontsize=7)
        ax.invert_yaxis()
        ax.set(xlabel="date of the handover", title="Every exchange, by dyad")
        ax.text(
            1.0, 1.0, "marker area: persons released", transform=ax.transAxes, ha="right",
            va="bottom", fontsize=9,
        )  # fmt: skip
        return _save(fig, path)


def regions(cases, path: Path) -> Path | None:
    """Deals and persons released per region of the dispute."""
    from ..plots import _house_style

    deals: dict[str, set] = {}
    released: dict[str, int] = {}
    for t in cases.tables["exchanges"]:
        region = t.get("region") or "unknown"
        deals.setdefault(region, set()).add(t.get("deal_id") or t["exchange_id"])
        n = sum(int(float(t[k])) for k in ("released_by_a", "released_by_b") if t.get(k))
        released[region] = released.get(region, 0) + n
    if not deals:
        return None
    names = sorted(deals, key=lambda r: (-len(deals[r]), r))
    with _house_style():
        fig = Figure(figsize=(10.0, 4.0), layout="constrained")
        ax1, ax2 = fig.subplots(1, 2)
        ax1.barh(names, [len(deals[r]) for r in names], color="#0b3d66")
        ax1.set(title="Deals", xlabel="number of deals")
        ax2.barh(names, [released[r] for r in names], color="#7a9cc6")
        ax2.set(title="Persons released", xlabel="persons (both sides)")
        for ax in (ax1, ax2):
            ax.invert_yaxis()
        ax2.set_yticks(range(len(names)), [""] * len(names))
        fig.suptitle("Exchanges by region of the dispute")
        return _save(fig, path)
