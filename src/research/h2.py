"""H2: time to exchange of captivity spells, with competing endings and honest censoring.

The unit is a captivity spell. The primary sample is the **frame spells**: spells coded
because they belong to a sampling frame defined before their outcomes were known (the
``frame`` column; ``x-frames`` in datapackage.json). Spells derived from exchange rows
(``exchange_derived``) end in an exchange by construction and never enter it; ``unframed``
spells neither. Exchange is the event of interest; the other endings (released without
exchange, rescued, escaped, died) compete with it; still-held spells are right-censored at the
cutoff. A spell that ended on an unknown date is never carried to the cutoff: it has no point
duration and enters only the lower/upper bound analyses (interval bounds ``last_known_held``
and ``ended_by``), or is left out when it has no bounds. A spell that entered its frame
through a snapshot roster enters the risk set on ``frame_entry`` (delayed entry), so that
long captivities are not over-represented.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

import numpy as np
import pandas as pd

from . import alliances as al
from . import competing, survival
from .exceptions import AnalysisError
from .stats import Result
from .variables import day_bounds

SPELL_CONTROLS = ("holder_nonstate", "civilians", "group_spell", "post_cold_war")
#: frame values that are not sampling frames: never in the primary sample
NON_FRAME = ("exchange_derived", "unframed")
#: the frame of every spell when captivities.csv has no ``frame`` column
UNKNOWN_FRAME = "unknown"
EXCHANGE, OTHER = 1, 2
ENDINGS = {0: "still held at the cutoff (censored)", EXCHANGE: "exchanged", OTHER: "other ending"}
GROUPS = {True: "allied home state", False: "non-allied home state"}
#: times (days) at which cumulative incidence and time-varying hazard ratios are reported
HORIZONS = (365, 3 * 365, 5 * 365)


# ---------------------------------------------------------------- the spells


def has_frames(durations: pd.DataFrame) -> bool:
    """Whether the captivities carry the ``frame`` column (else every spell is unknown)."""
    return "frame" in durations.columns


def _ended_unknown(d: pd.DataFrame) -> pd.Series:
    ended = d["outcome"].astype(object) != "still_held"
    flag = d["ended_on_unknown"].fillna(False).astype(bool) if "ended_on_unknown" in d else False
    return ended & (d["ended_on"].isna() | flag)


def _honest_durations(durations: pd.DataFrame) -> pd.DataFrame:
    """Replace cutoff-filled durations of spells that ended on an unknown date by bounds."""
    d = durations.copy()
    unknown = _ended_unknown(d)
    if not unknown.any():
        return d
    for col in ("days", "days_lower", "days_upper"):
        d[col] = d[col].astype("Float64")
    start, start_p = d["detained_since"], d["detained_since_precision"]
    last = d["last_known_held"] if "last_known_held" in d else pd.Series(pd.NaT, index=d.index)
    by = d["ended_by"] if "ended_by" in d else pd.Series(pd.NaT, index=d.index)
    day = pd.Series("day", index=d.index)
    by = pd.to_datetime(by)
    lower = day_bounds(start, start_p, pd.to_datetime(last).fillna(start), day)["days_lower"]
    upper = day_bounds(start, start_p, by, day)["days_upper"]
    # without ended_by there is no interval: the spell enters no duration analysis
    d.loc[unknown, "days"] = pd.NA
    d.loc[unknown, "days_lower"] = lower.where(by.notna())[unknown]
    d.loc[unknown, "days_upper"] = upper[unknown]
    return d


def exclusions(durations: pd.DataFrame, bound: str = "days") -> pd.DataFrame:
    """Spells left out of a duration analysis on ``bound``, with the reason for each."""
    d = _honest_durations(durations)
    reason = pd.Series("", index=d.index, dtype=object)
    reason[d["detained_since"].isna()] = "no detention start"
    unknown = _ended_unknown(d) & d[bound].isna() & (reason == "")
    reason[unknown] = "ended on an unknown date" + (
        "" if bound == "days" else " and no interval bound"
    )
    reason[d[bound].isna() & (reason == "")] = f"no {bound}"
    out = d.loc[reason != "", ["captivity_id", "outcome"]].assign(reason=reason[reason != ""])
    return out.reset_index(drop=True)


def spells(
    durations: pd.DataFrame, definition: str, kinds: Mapping[str, str], bound: str = "days"
) -> pd.DataFrame:
    """Captivity spells ready for survival analysis under one alliance definition.

    ``allied_home`` is the home state's status on the detention start (the time-varying
    version is :func:`tv_rows`). ``bound`` chooses the point duration (``days``) or its
    ``days_lower``/``days_upper`` bound; see :func:`exclusions` for what is left out. Spells
    of zero days count as half a day. ``ending`` is 0 (censored), 1 (exchanged) or 2 (another
    ending); ``entry`` is the delayed-entry time in days (``frame_entry``, else 0);
    ``primary`` marks frame spells.
    """
    if bound not in ("days", "days_lower", "days_upper"):
        raise AnalysisError(f"bound must be days, days_lower or days_upper; not {bound!r}")
    d = _honest_durations(durations)
    if not has_frames(d):
        d["frame"] = UNKNOWN_FRAME
    s = d.dropna(subset=[bound, "detained_since"]).copy()
    s["frame"] = s["frame"].astype(object).fillna(UNKNOWN_FRAME)
    s["primary"] = ~s["frame"].isin(NON_FRAME)
    s["duration"] = s[bound].astype(float).clip(lower=0.5)
    outcome = s["outcome"].astype(object)
    s["ending"] = np.select(
        [outcome == "exchanged", outcome == "still_held"], [EXCHANGE, 0], default=OTHER
    )
    s["event"] = (s["ending"] == EXCHANGE).astype(int)
    entry_date = s["frame_entry"] if "frame_entry" in s else pd.Series(pd.NaT, index=s.index)
    entry = (pd.to_datetime(entry_date) - s["detained_since"]).dt.days.astype("float64")
    s["entry"] = entry.fillna(0.0).clip(lower=0.0)
    s = s[s["entry"] < s["duration"]]  # a spell that ended before it entered its frame
    s["allied_home"] = s[f"{definition}_home"].astype(bool)
    s["holder_nonstate"] = s["holder"].map(lambda p: kinds.get(p) != "state")
    s["civilians"] = s["captive_kind"].astype(object) == "civilians"
    s["group_spell"] = ~(s["n_captives"].astype("Float64") == 1).fillna(False).astype(bool)
    s["post_cold_war"] = s["year"] >= 1992
    s["dyad"] = ["-".join(sorted((h, o))) for h, o in zip(s["holder"], s["home"], strict=True)]
    return s


def primary_sample(s: pd.DataFrame) -> pd.DataFrame:
    """The frame spells (derived and unframed spells never enter), with both groups."""
    out = s[s["primary"]].copy()
    if out["allied_home"].nunique() < 2:
        raise AnalysisError(
            f"H2 needs frame spells of both allied and non-allied home states; the frame "
            f"sample has {len(out)} spells, allied: {sorted(out['allied_home'].unique())}"
        )
    return out


def counts(s: pd.DataFrame) -> dict[str, int]:
    """n, events by ending, clusters (dyads) and frames: for every table and figure."""
    return {
        "n": len(s),
        "exchanged": int((s["ending"] == EXCHANGE).sum()),
        "other_endings": int((s["ending"] == OTHER).sum()),
        "censored": int((s["ending"] == 0).sum()),
        "clusters": int(s["dyad"].nunique()),
        "frames": int(s["frame"].nunique()),
        "delayed_entry": int((s["entry"] > 0).sum()),
    }


def counts_label(s: pd.DataFrame) -> str:
    c = counts(s)
    return (
        f"n = {c['n']} spells, {c['exchanged']} exchanged, {c['other_endings']} other endings, "
        f"{c['censored']} censored; {c['clusters']} dyads, {c['frames']} frame(s)"
    )


# ---------------------------------------------------------------- time-varying alliance status


def _change_dates(index: al.Memberships, members: pd.DataFrame, party: str, definition: str):
    """Dates at which the party's status may change: ``Memberships.change_dates`` where the
    alliance module has it, else every start and end date of every spell of every alliance
    the party was ever in (a superset: a split where nothing changes is harmless)."""
    method = getattr(index, "change_dates", None)
    if method is not None:
        return list(method(party, definition))
    mine = set(members.loc[members["party_id"] == party, "alliance_id"])
    rows = members[members["alliance_id"].isin(mine)]
    return sorted(set(rows["start_date"].dropna()) | set(rows["end_date"].dropna()))


def tv_rows(
    s: pd.DataFrame, index: al.Memberships, members: pd.DataFrame, definition: str
) -> pd.DataFrame:
    """Counting-process rows (start, stop]: each spell split where its home state's alliance
    status may change, from its frame entry on, with ``allied_home`` on each piece's start."""
    cuts = {}
    for label, row in s.iterrows():
        dates = _change_dates(index, members, row["home"], definition)
        days = [(pd.Timestamp(x) - row["detained_since"]).days for x in dates]
        cuts[label] = [*days, row["entry"]]
    long = survival.split_spells(s, "duration", "event", cuts)
    long = long[long["stop"] > long["entry"]].copy()
    long["start"] = np.maximum(long["start"], long["entry"])
    on = long["detained_since"] + pd.to_timedelta(long["start"], unit="D")
    long["allied_home"] = [
        al.is_allied(index.covariates(p, d), definition)
        for p, d in zip(long["home"], on, strict=True)
    ]
    last = long.groupby("spell_row")["stop"].transform("max") == long["stop"]
    long["ending"] = np.where(last, long["ending"], 0)
    return long.reset_index(drop=True)


def switchers(long: pd.DataFrame) -> int:
    """Spells whose alliance status changes during the spell."""
    return int((long.groupby("spell_row")["allied_home"].nunique() > 1).sum())


# ---------------------------------------------------------------- the estimates


EVENTS_PER_COVARIATE = 10  # Peduzzi et al. (1996): about ten events per Cox covariate


def design(s: pd.DataFrame) -> tuple[list[str], str | None]:
    """Covariates and strata of the H2 models, by a rule fixed before the estimates.

    ``allied_home`` always; stratified by frame when there are several. A control enters
    only if it varies within a frame among the spells that ended in an exchange (otherwise
    the strata absorb it and its coefficient is not identified), and only while the model
    keeps at least :data:`EVENTS_PER_COVARIATE` exchange events per covariate.
    """
    several = s["frame"].nunique() > 1
    events = s[s["event"] == 1]
    budget = int(events.shape[0] // EVENTS_PER_COVARIATE) - 1  # allied_home takes one
    keep = []
    for c in SPELL_CONTROLS:
        if len(keep) >= budget:
            break
        within = s.groupby("frame")[c].nunique().max() if several else s[c].nunique()
        among_events = (
            events.groupby("frame")[c].nunique().max() if several else events[c].nunique()
        )
        if within > 1 and among_events > 1:
            keep.append(c)
    return ["allied_home", *keep], ("frame" if several else None)


def _numeric(df: pd.DataFrame, covs: list[str]) -> pd.DataFrame:
    out = df.copy()
    out[covs] = out[covs].astype(float)
    return out


def cause_specific_cox(
    rows: pd.DataFrame,
    covs: list[str],
    strata: str | None,
    *,
    duration: str = "duration",
    entry: str = "entry",
    name: str = "",
) -> tuple[pd.DataFrame, object]:
    """Cox model of the hazard of exchange (other endings censored at their end), delayed
    entry, SE clustered by dyad."""
    return survival.cox_ph(
        _numeric(rows, covs),
        duration,
        "event",
        covs,
        strata=strata,
        cluster="dyad",
        entry=entry,
        report="allied_home",
        name=name or "cause-specific HR of exchange, allied home state",
        hypothesis="H2",
    )


def ph_remedy(
    rows: pd.DataFrame,
    covs: list[str],
    strata: str | None,
    *,
    duration: str = "duration",
    entry: str = "entry",
    alpha: float = 0.05,
) -> dict[str, object]:
    """The proportional-hazards test and what the analysis does about it.

    A control whose test has p < ``alpha`` moves into the strata (its own baseline hazard);
    if ``allied_home`` fails, a time-varying coefficient allied_home * log(t) is fitted and
    its hazard ratio is reported at :data:`HORIZONS`. Returns the test table, the remedied
    covariates and strata, and the time-varying model when needed.
    """
    data = _numeric(rows, covs)
    try:
        ph = survival.ph_test(data, duration, "event", covs, strata=strata, entry=entry)
    except AnalysisError as exc:  # nothing to act on: said in the table, the model stays as is
        ph = pd.DataFrame([{"term": "GLOBAL", "chisq": np.nan, "df": len(covs), "p": np.nan}])
        ph["note"] = str(exc)
    failing = [t for t, p in zip(ph["term"], ph["p"], strict=True) if t != "GLOBAL" and p < alpha]
    moved = [c for c in failing if c != "allied_home"]
    new_covs = [c for c in covs if c not in moved]
    data = data.copy()
    new_strata = strata
    if moved:
        parts = [data[strata].astype(str)] if strata else []
        parts += [c + "=" + data[c].astype(int).astype(str) for c in moved]
        data["stratum"] = parts[0].str.cat(parts[1:], sep="|") if len(parts) > 1 else parts[0]
        new_strata = "stratum"
    out = {"ph": ph, "failing": failing, "moved_to_strata": moved, "covs": new_covs}
    out["strata"], out["data"] = new_strata, data
    if "allied_home" in failing:
        long = survival.time_interaction(data, duration, "event", "allied_home", entry=entry)
        terms = ["allied_home", "allied_home_x_t", *new_covs[1:]]
        table, _ = survival.cox_ph(
            long, "stop", "event", terms, strata=new_strata, cluster="dyad", entry="start"
        )
        b = table.set_index("term")["coef"]
        out["tv_table"] = table
        out["hr_at"] = {
            h: float(np.exp(b["allied_home"] + b["allied_home_x_t"] * np.log(h))) for h in HORIZONS
        }
    return out


def cif_by_group(s: pd.DataFrame, ending: int = EXCHANGE) -> dict[str, pd.DataFrame]:
    """Aalen–Johansen cumulative incidence of one ending by home-state status (delayed entry)."""
    return {
        GROUPS[g]: competing.aalen_johansen(
            s.loc[s["allied_home"] == g, "duration"],
            s.loc[s["allied_home"] == g, "ending"],
            cause=ending,
            entry=s.loc[s["allied_home"] == g, "entry"],
        )
        for g in (True, False)
        if (s["allied_home"] == g).any()
    }


def cif_table(cif: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """Cumulative incidence with CI and numbers at risk at :data:`HORIZONS`, by group."""
    rows = []
    for group, aj in cif.items():
        for h in HORIZONS:
            before = aj[aj["time"] <= h]
            last = before.iloc[-1] if len(before) else None
            later = aj[aj["time"] >= h]
            rows.append(
                {
                    "group": group,
                    "days": h,
                    "cif": float(last["cif"]) if last is not None else 0.0,
                    "ci_low": float(last["ci_low"]) if last is not None else 0.0,
                    "ci_high": float(last["ci_high"]) if last is not None else 0.0,
                    "at_risk": int(later["n_at_risk"].iloc[0]) if len(later) else 0,
                }
            )
    return pd.DataFrame(rows)


def fine_gray(s: pd.DataFrame, covs: list[str]) -> tuple[pd.DataFrame, object, int]:
    """Fine–Gray sHR of exchange on the spells without delayed entry (the IPCW weights here
    do not handle left truncation) in frames with at least one exchange among them, frames
    as fixed effects, SE clustered by dyad. Returns the table, the result and how many
    spells were left out."""
    sub = s[s["entry"] == 0].copy()
    # a frame with no exchange among these spells has a fixed effect of minus infinity
    # (separation): its spells carry no information on the subdistribution of exchange
    with_events = sub.loc[sub["ending"] == EXCHANGE, "frame"].unique()
    sub = sub[sub["frame"].isin(with_events)].copy()
    terms = list(covs)
    frames = sorted(sub["frame"].unique())
    for f in frames[1:]:
        col = f"frame_{f}"
        sub[col] = (sub["frame"] == f).astype(float)
        terms.append(col)
    table, res = competing.fine_gray(
        _numeric(sub, list(covs)),
        "duration",
        "ending",
        terms,
        cause=EXCHANGE,
        cluster="dyad",
        report="allied_home",
        name="Fine-Gray sHR of exchange, allied home state",
        hypothesis="H2",
    )
    return table, res, len(s) - len(sub)


def within_dyad(long: pd.DataFrame, n_spells: int) -> tuple[pd.DataFrame, object] | str:
    """Dyad-stratified Cox on the time-varying rows: identified only by spells and dyads
    whose home state's status differs across risk sets in the same dyad. Returns the
    reason instead when no dyad has such variation."""
    varying = long.groupby("dyad")["allied_home"].nunique()
    informative = varying[varying > 1].index
    if len(informative) == 0:
        return (
            "not identified: in no holder-home dyad does the home state's alliance status "
            "differ between spells or over time"
        )
    try:
        table, res = survival.cox_ph(
            _numeric(long, ["allied_home"]),
            "stop",
            "event",
            ["allied_home"],
            strata="dyad",
            cluster="dyad",
            entry="start",
            name="within-dyad HR of exchange, allied home state",
            hypothesis="H2",
        )
    except AnalysisError as exc:
        return f"not identified: {exc}"
    informative_spells = long.loc[long["dyad"].isin(informative), "spell_row"].nunique()
    method = res.method + f"; identified by {len(informative)} dyad(s), {informative_spells} spells"
    return table, replace(res, n=n_spells, method=method)


def tests(s: pd.DataFrame, strata: str | None) -> dict[str, object]:
    """Plain log-rank (delayed entry, not stratified, not clustered) and the cluster-robust
    score test (stratified by frame, delayed entry, clustered by dyad), allied vs not."""
    plain = survival.logrank_test(
        s["duration"],
        s["event"],
        s["allied_home"].map(GROUPS),
        entry=s["entry"],
        name="log-rank, allied vs non-allied home (exchange; other endings censored)",
        hypothesis="H2",
    )
    robust = survival.robust_score_test(
        _numeric(s, ["allied_home"]),
        "duration",
        "event",
        "allied_home",
        "dyad",
        strata=strata,
        entry="entry",
        name="cluster-robust score test, allied vs non-allied home",
        hypothesis="H2",
    )
    return {"logrank": plain, "robust_score": robust}


def bounds(
    durations: pd.DataFrame,
    definition: str,
    kinds: Mapping[str, str],
    covs: list[str],
    strata: str | None,
) -> pd.DataFrame:
    """The primary cause-specific Cox (fixed status) on the lower and upper duration bounds."""
    rows = []
    for bound in ("days_lower", "days", "days_upper"):
        s = primary_sample(spells(durations, definition, kinds, bound))
        try:
            _, r = cause_specific_cox(s, covs, strata)
        except AnalysisError as exc:
            r = not_estimable(bound, s, exc)
        c = counts(s)
        rows.append(
            {"bound": bound, "hr": r.estimate, "ci_low": r.ci_low, "ci_high": r.ci_high}
            | {"p": r.p, "n": c["n"], "exchanged": c["exchanged"], "clusters": c["clusters"]}
        )
    return pd.DataFrame(rows)


#: the confirmatory H2 result's name (workbook.toml [confirmatory] H2)
CONFIRMATORY = "cause-specific HR of exchange, allied home state (frame spells)"


def not_estimable(name: str, s: pd.DataFrame, exc: AnalysisError) -> Result:
    """A secondary estimate this sample cannot identify, said as such instead of failing the
    run (the confirmatory model is never replaced this way)."""
    return Result(
        name,
        float("nan"),
        None,
        None,
        None,
        len(s),
        int(s["dyad"].nunique()),
        f"not estimable on this sample: {exc}",
        hypothesis="H2",
    )


def estimates(
    durations: pd.DataFrame,
    definition: str,
    kinds: Mapping[str, str],
    index: al.Memberships,
    members: pd.DataFrame,
    bound: str = "days",
) -> dict[str, object]:
    """Every H2 estimate on the frame spells.

    ``confirmatory`` is the pre-specified test: the cause-specific Cox hazard ratio of
    exchange for an allied home state, with alliance status time-varying (counting-process
    rows), delayed entry at ``frame_entry``, stratified by frame, controls that vary within a
    frame, any control failing the PH test moved into the strata, and SE clustered by dyad.
    """
    s = primary_sample(spells(durations, definition, kinds, bound))
    covs, strata = design(s)
    long = tv_rows(s, index, members, definition)
    remedy = ph_remedy(long, covs, strata, duration="stop", entry="start")
    try:
        table, confirmatory = cause_specific_cox(
            remedy["data"],
            remedy["covs"],
            remedy["strata"],
            duration="stop",
            entry="start",
            name=CONFIRMATORY,
        )
    except AnalysisError as exc:  # recorded as not estimable, with the reason, not skipped
        table, confirmatory = pd.DataFrame(), not_estimable(CONFIRMATORY, s, exc)
    moved = remedy["moved_to_strata"]
    confirmatory = (
        confirmatory
        if table.empty
        else replace(
            confirmatory,
            n=len(s),
            method="cause-specific Cox PH of exchange (Efron ties), alliance status time-varying "
            f"({len(long)} counting-process rows), delayed entry at frame_entry, stratified by "
            + " x ".join(([strata] if strata else []) + moved or ["nothing"])
            + f", controls {remedy['covs'][1:]}, robust SE clustered by dyad",
        )
    )
    try:
        fixed_table, fixed = cause_specific_cox(
            s, covs, strata, name="cause-specific HR of exchange, allied at detention start"
        )
    except AnalysisError as exc:
        fixed_table = pd.DataFrame()
        fixed = not_estimable("cause-specific HR of exchange, allied at detention start", s, exc)
    try:
        fg_table, fg, fg_left_out = fine_gray(s, covs)
    except AnalysisError as exc:
        fg_table, fg_left_out = pd.DataFrame(), int((s["entry"] > 0).sum())
        fg = not_estimable("Fine-Gray sHR of exchange, allied home state", s, exc)
    every = spells(durations, definition, kinds, bound)
    _, all_spells = cause_specific_cox(
        every, ["allied_home"], None, name="HR of exchange, all spells incl. exchange-derived"
    )
    return {
        "spells": s,
        "long": long,
        "counts": counts(s),
        "covs": covs,
        "strata": strata,
        "cif": cif_by_group(s, EXCHANGE),
        "cif_other": cif_by_group(s, OTHER),
        "tests": tests(s, strata),
        "remedy": remedy,
        "confirmatory": confirmatory,
        "confirmatory_table": table,
        "fixed": fixed,
        "fixed_table": fixed_table,
        "fine_gray": fg,
        "fine_gray_table": fg_table,
        "fine_gray_left_out": fg_left_out,
        "within_dyad": within_dyad(long, len(s)),
        "switchers": switchers(long),
        "all_spells": all_spells,
        "all_counts": counts(every),
    }


def specifications(durations: pd.DataFrame, kinds: Mapping[str, str]) -> pd.DataFrame:
    """H2 across alliance definitions, duration bounds and controls on the frame spells:
    cause-specific Cox (status at detention start, delayed entry, by frame, SE by dyad)."""
    rows = []
    for definition in al.DEFINITIONS:
        for bound in ("days", "days_lower", "days_upper"):
            try:
                s = primary_sample(spells(durations, definition, kinds, bound))
            except AnalysisError:
                continue  # a definition under which no frame spell is allied
            full, strata = design(s)
            for controls in (True, False):
                covs = full if controls else ["allied_home"]
                if controls and covs == ["allied_home"]:
                    continue  # no control enters (design's rule): the same as without
                try:
                    _, r = cause_specific_cox(s, covs, strata)
                except AnalysisError:
                    continue  # not estimable under this definition (e.g. no allied exchange)
                rows.append(
                    {
                        "hypothesis": "H2",
                        "definition": definition,
                        "bound": bound,
                        "controls": controls,
                        "estimate": dict(r.extra)["log_hr"],
                        "ci_low": np.log(r.ci_low),
                        "ci_high": np.log(r.ci_high),
                        "p": r.p,
                        "n": r.n,
                        "clusters": r.n_clusters,
                    }
                )
    return pd.DataFrame(rows)
