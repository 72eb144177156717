"""The evidence and deals rules: corrupt a copy of the fixture package and check the message."""

from __future__ import annotations

import csv
import json
import subprocess
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

import research as rs
from research.validate import validate_package
from research.validate_evidence import number_words, states_date, states_number

from .conftest import RESEARCH
from .test_validate import append


def rows(package: Path, resource: str) -> list[dict[str, str]]:
    with (package / f"{resource}.csv").open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def line_of(package: Path, resource: str, **match: str) -> int:
    """The file line (header is 1) of the first row whose cells match."""
    for n, row in enumerate(rows(package, resource), start=2):
        if all(row[k] == v for k, v in match.items()):
            return n
    raise LookupError(match)


def edit(package: Path, resource: str, line: int, **cells: str) -> None:
    """Set cells of one data row (``line`` as in the file: the header is line 1)."""
    put(package, resource, line, cells)


def put(package: Path, resource: str, line: int, cells: dict[str, str]) -> None:
    path = package / f"{resource}.csv"
    with path.open(newline="", encoding="utf-8") as fh:
        body = list(csv.reader(fh))
    for name, value in cells.items():
        body[line - 1][body[0].index(name)] = value
    with path.open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh, lineterminator="\n").writerows(body)


def drop(package: Path, table: str, line: int) -> None:
    path = package / f"{table}.csv"
    with path.open(newline="", encoding="utf-8") as fh:
        body = list(csv.reader(fh))
    del body[line - 1]
    with path.open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh, lineterminator="\n").writerows(body)


def problems(package: Path, gaps: str = "error") -> list[str]:
    return [str(p) for p in validate_package(package, evidence_gaps=gaps)]


def only(package: Path, gaps: str = "error") -> str:
    found = problems(package, gaps)
    assert len(found) == 1, "\n".join(found)
    return found[0]


def test_the_fixture_is_fully_evidenced(package):
    assert problems(package, "error") == []


def test_deals_and_evidence_load_as_typed_frames(package):
    ds = rs.load(package)
    deals = ds.deals
    assert deals["total_released_by_a"].dtype == "Int64"
    assert pd.api.types.is_datetime64_any_dtype(deals["talks_started_on"])
    assert deals["totals_disputed"].dtype == "boolean"
    assert deals.set_index("deal_id").loc["2011-big-deal", "mediators"] == ("MED", "RC")
    assert list(deals["carried_out"].cat.categories) == [
        "as_agreed",
        "partially",
        "not_carried_out",
        "unknown",
    ]
    ev = ds.evidence
    assert set(ev.columns) == {"table", "row_id", "field", "value", "url", "quote", "derivation"}
    assert ev["table"].dtype == "category" and ev["quote"].notna().all()
    assert set(ds.exchanges["deal_id"]) <= set(deals["deal_id"])


def test_the_package_version_and_codebook(package):
    dp = json.loads((package / "datapackage.json").read_text())
    assert dp["version"] == "2.0.0"
    for name in ("deals", "evidence"):
        cb = rs.data.codebook_frame(dp, name)
        assert (cb["description"].str.len() > 10).all(), name


# ---------------------------------------------------------------- evidence completeness


def test_a_value_without_evidence_is_a_gap_with_file_line_and_field(package):
    drop(
        package,
        "evidence",
        line_of(package, "evidence", row_id="2003-deal", field="agreement_date"),
    )
    line = line_of(package, "deals", deal_id="2003-deal")
    assert only(package) == (
        f"deals.csv:{line}: field 'agreement_date' value '2002-12-20' [evidence-missing] "
        "no evidence row for deals/2003-deal/agreement_date"
    )


def test_gaps_can_be_warnings_and_the_default_is_error(package):
    drop(package, "evidence", line_of(package, "evidence", row_id="pilot-1960", field="outcome"))
    assert problems(package, "warning") == []
    dp_path = package / "datapackage.json"
    dp = json.loads(dp_path.read_text())
    dp.pop("x-evidenceGaps", None)  # absent: gaps are errors
    dp_path.write_text(json.dumps(dp))
    assert "[evidence-missing]" in str(validate_package(package)[0])
    dp["x-evidenceGaps"] = "warning"
    dp_path.write_text(json.dumps(dp))
    assert validate_package(package) == []
    rs.load(package)  # a gap as a warning does not stop the analysis


def test_every_item_of_a_list_field_needs_evidence(package):
    line = line_of(package, "evidence", row_id="2011-10-18-ALPHA-ECHO", field="mediators")
    edit(package, "evidence", line, value="MED")
    assert "field 'mediators' value 'RC' [evidence-missing]" in only(package)


def test_a_missing_deals_row_is_a_gap(package):
    drop(package, "deals", line_of(package, "deals", deal_id="2023-bodies"))
    found = problems(package)
    assert any(
        "exchanges.csv:7: field 'deal_id' value '2023-bodies' [deal-missing]" in p for p in found
    )
    assert all("[evidence-target]" in p or "[deal-missing]" in p for p in found), found
    assert not [p for p in problems(package, "warning") if "deal-missing" in p]


# ---------------------------------------------------------------- evidence rows


@pytest.mark.parametrize(
    ("row_id", "field", "cells", "expected"),
    [
        (
            "2011-10-18-ALPHA-ECHO",
            "released_by_a",
            {"value": "478"},
            "[evidence-value] exchanges.csv:4 released_by_a is coded '477'",
        ),
        (
            "2011-10-18-ALPHA-ECHO",
            "released_by_a",
            {"url": "https://example.org/elsewhere"},
            "value 'https://example.org/elsewhere' [evidence-url] not among the sources of "
            "exchanges.csv:4",
        ),
        (
            "2011-10-18-ALPHA-ECHO",
            "released_by_a",
            {"quote": "Hundreds were freed."},
            "value '477' [evidence-number] the quote does not state 477",
        ),
        (
            "2011-10-18-ALPHA-ECHO",
            "exchange_date",
            {"quote": "It happened on 19 October 2011."},
            "value '2011-10-18' [evidence-date] neither the quote nor the derivation states the "
            "day and month",
        ),
        (
            "2003-01-01-DELTA-CHARLIE",
            "exchange_date",
            {"quote": "It happened early in 2003."},
            "states the month of 2003-01-01 (month precision)",
        ),
        (
            "2003-01-01-DELTA-CHARLIE",
            "detained_since_a",
            {"quote": "It happened long before."},
            "states the year of 2001-01-01 (year precision)",
        ),
        (
            "2011-10-18-ALPHA-ECHO",
            "mediators",
            {"value": "MED | RC | USA"},
            "[evidence-value] exchanges.csv:4 mediators is 'MED | RC'; the evidence names ['USA']",
        ),
    ],
)
def test_evidence_rows_must_match_their_cell_source_and_quote(
    package, row_id, field, cells, expected
):
    put(package, "evidence", line_of(package, "evidence", row_id=row_id, field=field), cells)
    message = only(package)
    assert message.startswith("evidence.csv:")
    assert expected in message


def test_a_derivation_stands_in_for_the_quote(package):
    line = line_of(package, "evidence", row_id="2011-big-deal", field="total_released_by_a")
    edit(package, "evidence", line, derivation="")
    assert "[evidence-number] the quote does not state 1027" in only(package)
    line = line_of(package, "evidence", row_id="2011-10-18-ALPHA-ECHO", field="exchange_date")
    edit(package, "evidence", line, quote="Freed a week after the deal.", derivation="")
    edit(
        package,
        "evidence",
        line,
        derivation="seven days after the agreement of 2011-10-11",
    )
    assert len(problems(package)) == 1  # only the first corruption is left


@pytest.mark.parametrize(
    ("cells", "expected"),
    [
        ({"row_id": "2011-10-19-ALPHA-ECHO"}, "[evidence-target] no row '2011-10-19-ALPHA-ECHO'"),
        ({"field": "released_by_c"}, "[evidence-target] exchanges.csv has no column"),
        ({"table": "prisoners"}, "field 'table' value 'prisoners' [enum]"),
    ],
)
def test_evidence_must_point_at_an_existing_row_and_field(package, cells, expected):
    line = line_of(package, "evidence", row_id="2003-01-01-DELTA-CHARLIE", field="mediators")
    put(package, "evidence", line, cells)
    found = problems(package)
    assert any(expected in p for p in found), found
    # the cell it no longer backs is now a gap
    assert all("[evidence-missing]" in p or expected in p for p in found), found


def test_composite_keys_are_joined_with_a_slash(package):
    line = line_of(package, "evidence", table="alliance_members", row_id="pact2/BRAVO/1990-06-01")
    edit(package, "evidence", line, row_id="pact2/BRAVO")
    found = problems(package)
    assert any("no row 'pact2/BRAVO' in alliance_members.csv" in p for p in found), found


# ---------------------------------------------------------------- numbers and dates in quotes


@pytest.mark.parametrize(
    ("text", "n"),
    [
        ("about 8,200 Egyptians", 8200),
        ("about 8 200 Egyptians", 8200),
        ("some 1200 men", 1200),
        ("1.200 Gefangene", 1200),
        ("nineteen sailors", 19),
        ("Twenty-two Syrians", 22),
        ("one thousand two hundred", 1200),
        ("twelve hundred prisoners", 1200),
        ("nearly 93,000 Pakistani POWs", 93000),
        ("some 93 thousand soldiers", 93000),
        ("ninety-three thousand", 93000),
        ("a lone pilot was freed", 1),
    ],
)
def test_numbers_are_found_in_digits_and_words(text, n):
    assert states_number(text, n)


@pytest.mark.parametrize(
    ("text", "n"),
    [
        ("20 sailors", 19),
        ("in 1949", 1200),
        ("1,200", 200),
        ("one hundred", 1),
        ("twenty one", 1),
        ("a pilot", 1),
    ],
)
def test_other_numbers_do_not_count(text, n):
    assert not states_number(text, n)


def test_number_words():
    assert number_words(37_500) == "thirty seven thousand five hundred"
    assert number_words(245) == "two hundred forty five"


@pytest.mark.parametrize(
    "text",
    [
        "on 25 February 1949",
        "on February 25, 1949",
        "Feb. 25",
        "the 25th of February",
        "1949-02-25",
        "25.02.1949",
        "1949.02.25",
        "il 25 febbraio 1949",  # quotes are copied in the page's language
        "am 25. Februar 1949",
        "le 25 février 1949",
    ],
)
def test_a_day_is_found_in_many_spellings(text):
    assert states_date(text, date(1949, 2, 25), "day")


@pytest.mark.parametrize(
    "text", ["on 26 February 1949", "February 1949", "25 March", "2.25.1949", "il 25 marzo"]
)
def test_a_wrong_or_coarser_day_does_not_count(text):
    assert not states_date(text, date(1949, 2, 25), "day")


def test_month_and_year_precision():
    assert states_date("in Sept. 1953", date(1953, 9, 1), "month")
    assert not states_date("in 1953", date(1953, 9, 1), "month")
    assert states_date("by 1953", date(1953, 1, 1), "year")
    assert not states_date("in 19530", date(1953, 1, 1), "year")


# ---------------------------------------------------------------- deals


def test_tranche_sums_must_not_exceed_the_totals(package):
    line = line_of(package, "deals", deal_id="2011-big-deal")
    edit(package, "deals", line, total_released_by_a="1000")
    ev = line_of(package, "evidence", row_id="2011-big-deal", field="total_released_by_a")
    edit(package, "evidence", ev, value="1000")
    assert only(package) == (
        f"deals.csv:{line}: field 'total_released_by_a' value '1000' [deal-sum] its tranches' "
        "released_by_a sum to 1027, more than the total; fix the counts or say why in notes "
        "(with the word 'exceed')"
    )
    edit(package, "deals", line, notes="tranche sums exceed the total: one source counts twice")
    assert problems(package) == []


def test_deals_and_tranches_share_their_sides(package):
    line = line_of(package, "deals", deal_id="2003-deal")
    edit(package, "deals", line, side_a="CHARLIE", side_b="DELTA")
    found = only(package)
    assert found.startswith(
        "exchanges.csv:3: field 'side_a,side_b' value 'DELTA,CHARLIE' [deal-sides]"
    )
    assert f"deals.csv:{line} has sides CHARLIE,DELTA" in found


def test_a_deal_needs_a_tranche(package):
    append(
        package,
        "deals",
        {
            "deal_id": "1999-orphan",
            "name": "No tranche",
            "side_a": "ALPHA",
            "side_b": "BRAVO",
            "totals_disputed": "false",
            "carried_out": "unknown",
            "sources": "https://example.org/fixture/deals",
            "confidence": "low",
        },
    )
    assert "[deal-tranches] no tranche in exchanges.csv has this deal_id" in only(package)


@pytest.mark.parametrize(
    ("cells", "expected"),
    [
        ({"totals_precision_a": ""}, "[totals-precision] side A's totals are given"),
        ({"talks_start_kind": ""}, "[talks-start-kind] talks_started_on is given"),
        (
            {"talks_started_on": "2003-01-01", "talks_started_on_precision": "day"},
            "[talks-before-agreement] talks must start on or before the agreement (2002-12-20)",
        ),
        (
            {"mediator_type": "humanitarian"},
            "[mediator-type] the mediators ['MED'] make this 'state'",
        ),
        ({"mediators": "MED | NOBODY"}, "field 'mediators' value 'NOBODY' [foreign-key]"),
        ({"carried_out": "mostly"}, "field 'carried_out' value 'mostly' [enum]"),
    ],
)
def test_deal_fields_hang_together(package, cells, expected):
    line = line_of(package, "deals", deal_id="2003-deal")
    put(package, "deals", line, cells)
    for field in ("talks_started_on",):
        if field in cells:  # keep its evidence in step, so only the tested rule fires
            ev = line_of(package, "evidence", row_id="2003-deal", field=field)
            edit(package, "evidence", ev, value=cells[field], quote="It began on 1 January 2003.")
    found = [p for p in problems(package) if "[evidence-" not in p]
    assert len(found) == 1 and expected in found[0], found


def test_a_deal_is_agreed_before_its_first_tranche(package):
    line = line_of(package, "deals", deal_id="2011-big-deal")
    edit(package, "deals", line, agreement_date="2011-11-01")
    found = [p for p in problems(package) if "[evidence-" not in p]
    assert found == [
        f"deals.csv:{line}: field 'agreement_date' value '2011-11-01' [agreement-before-exchange] "
        "the deal must be agreed on or before its first tranche (2011-10-18)"
    ]


# ---------------------------------------------------------------- the command


def test_validate_lists_gaps_as_errors_or_summarises_them(package):
    drop(package, "evidence", line_of(package, "evidence", row_id="pilot-1960", field="outcome"))
    err = subprocess.run(
        [RESEARCH, "validate", str(package), "--evidence-gaps", "error"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert err.returncode != 0
    assert "captivities.csv:2: field 'outcome' value 'exchanged' [evidence-missing]" in err.stderr
    warn = subprocess.run(
        [RESEARCH, "validate", str(package), "--evidence-gaps", "warning"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert warn.returncode == 0, warn.stderr
    assert "captivities.csv (before 2000): 1 evidence-missing in 1 row(s)" in warn.stderr
