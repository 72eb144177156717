"""Codebook rules for captivity spells that concern sampling frames and censoring.

Hooked into :func:`research.validate.check_tables` with one line, so that the frame rules
live beside each other and the general validator stays small.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

from .data import RawTable
from .exceptions import Problem

SPECIAL_FRAMES = ("exchange_derived", "unframed")


def _parse_date(value: str) -> date | None:
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        return None


def _problem(t: RawTable, i: int, fld: str, value: str, rule: str, msg: str) -> Problem:
    return Problem(t.path.name, t.lines[i], fld, value, rule, msg)


def frame_ids(descriptor: dict) -> dict[str, dict]:
    """The frames defined in the package's ``x-frames`` list, by id."""
    return {f["id"]: f for f in descriptor.get("x-frames", [])}


def check(descriptor: dict, raw: dict[str, RawTable]) -> Iterator[Problem]:
    """Frame membership, frame entry and the unknown-end-date (interval-censoring) rule."""
    t = raw.get("captivities")
    if t is None or "frame" not in t.fields:
        return
    frames = frame_ids(descriptor)
    for i, row in enumerate(t.rows):
        yield from _check_frame(t, i, row, frames)
        yield from _check_unknown_end(t, i, row)


def _check_frame(t: RawTable, i: int, row: dict, frames: dict[str, dict]) -> Iterator[Problem]:
    frame, entry_s = row.get("frame", ""), row.get("frame_entry", "")
    if not frame:
        return  # the required-field rule reports it
    if frame not in frames and frame not in SPECIAL_FRAMES:
        yield _problem(
            t,
            i,
            "frame",
            frame,
            "frame-defined",
            f"frame must be an id in x-frames ({', '.join(sorted(frames))}) or one of "
            f"{', '.join(SPECIAL_FRAMES)}",
        )
        return
    entry = _parse_date(entry_s)
    if frame in SPECIAL_FRAMES:
        if entry_s:
            yield _problem(
                t,
                i,
                "frame_entry",
                entry_s,
                "frame-entry-only-in-frames",
                f"a {frame} spell has no frame_entry (it belongs to no sampling frame)",
            )
        return
    if not entry_s and row.get("detained_since", ""):
        yield _problem(
            t,
            i,
            "frame_entry",
            "",
            "frame-entry-required",
            f"a spell of frame {frame!r} needs frame_entry (detained_since, or the date of the "
            "roster it was found on; only a spell with no detention start may leave it empty)",
        )
        return
    since = _parse_date(row.get("detained_since", ""))
    end = _parse_date(row.get("ended_on", "")) or _parse_date(row.get("ended_by", ""))
    if since and entry and entry < since:
        yield _problem(
            t,
            i,
            "frame_entry",
            entry_s,
            "frame-entry-after-start",
            f"frame_entry must not be before detained_since ({row['detained_since']})",
        )
    if end and entry and entry > end:
        yield _problem(
            t,
            i,
            "frame_entry",
            entry_s,
            "frame-entry-before-end",
            f"frame_entry must not be after the end of the spell ({end.isoformat()})",
        )
    spec = frames[frame]
    lo, hi = _parse_date(spec.get("detained_from", "")), _parse_date(spec.get("detained_to", ""))
    if since and _outside(since, lo, hi):
        yield _problem(
            t,
            i,
            "detained_since",
            row.get("detained_since", ""),
            "frame-window",
            f"frame {frame!r} covers detentions from {lo} to {hi}",
        )


def _outside(d: date, lo: date | None, hi: date | None) -> bool:
    return (lo is not None and d < lo) or (hi is not None and d > hi)


def _check_unknown_end(t: RawTable, i: int, row: dict) -> Iterator[Problem]:
    flag = row.get("ended_on_unknown", "") == "true"
    outcome, ended = row.get("outcome", ""), row.get("ended_on", "")
    lkh_s, by_s = row.get("last_known_held", ""), row.get("ended_by", "")
    if not flag:
        for name, value in (("last_known_held", lkh_s), ("ended_by", by_s)):
            if value:
                yield _problem(
                    t,
                    i,
                    name,
                    value,
                    "bounds-only-if-unknown",
                    f"{name} is only given when ended_on_unknown is true",
                )
        return
    if outcome == "still_held" or ended:
        yield _problem(
            t,
            i,
            "ended_on_unknown",
            "true",
            "unknown-end-means-ended",
            "ended_on_unknown is only for a spell that ended (outcome not still_held) "
            "with ended_on empty",
        )
        return
    if not by_s:
        yield _problem(
            t,
            i,
            "ended_by",
            "",
            "unknown-end-needs-bound",
            "an interval-censored spell needs ended_by (the first date its ending was reported)",
        )
        return
    since, lkh, by = (
        _parse_date(row.get("detained_since", "")),
        _parse_date(lkh_s),
        _parse_date(by_s),
    )
    lower = lkh or since
    if lower and by and by < lower:
        yield _problem(
            t,
            i,
            "ended_by",
            by_s,
            "unknown-end-interval",
            f"ended_by must not be before {'last_known_held' if lkh else 'detained_since'} "
            f"({lower.isoformat()})",
        )
    if since and lkh and lkh < since:
        yield _problem(
            t,
            i,
            "last_known_held",
            lkh_s,
            "unknown-end-interval",
            f"last_known_held must not be before detained_since ({since.isoformat()})",
        )
