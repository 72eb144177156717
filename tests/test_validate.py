"""Every codebook rule: corrupt a copy of the fixture package and check the message."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from research.data import load
from research.exceptions import DataValidationError
from research.validate import validate_package


def edit(package: Path, table: str, line: int, **values: str) -> None:
    """Set cells of one data row (``line`` as in the file: the header is line 1)."""
    path = package / f"{table}.csv"
    with path.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    header = rows[0]
    for name, value in values.items():
        rows[line - 1][header.index(name)] = value
    with path.open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh, lineterminator="\n").writerows(rows)


def append(package: Path, table: str, row: dict[str, str]) -> None:
    path = package / f"{table}.csv"
    with path.open(newline="", encoding="utf-8") as fh:
        header = next(csv.reader(fh))
    with path.open("a", newline="", encoding="utf-8") as fh:
        csv.writer(fh, lineterminator="\n").writerow([row.get(h, "") for h in header])


def only(package: Path) -> str:
    # a corrupted cell also breaks its evidence row; those rules are tested in
    # test_validate_evidence.py
    problems = [p for p in validate_package(package) if not p.rule.startswith("evidence-")]
    assert len(problems) == 1, "\n".join(map(str, problems))
    return str(problems[0])


def test_the_fixture_package_is_valid(package):
    assert validate_package(package) == []


@pytest.mark.parametrize(
    ("table", "line", "field", "value", "expected"),
    [
        (
            "exchanges",
            2,
            "released_by_a",
            "two",
            "exchanges.csv:2: field 'released_by_a' value 'two' [type] expected a whole number",
        ),
        (
            "exchanges",
            3,
            "exchange_date",
            "2003-02-30",
            "exchanges.csv:3: field 'exchange_date' value '2003-02-30' [type] expected an ISO date",
        ),
        (
            "exchanges",
            2,
            "count_disputed",
            "yes",
            "exchanges.csv:2: field 'count_disputed' value 'yes' [type] expected true or false",
        ),
        (
            "exchanges",
            2,
            "region",
            "Oceania",
            "exchanges.csv:2: field 'region' value 'Oceania' [enum] must be one of ['Europe',",
        ),
        (
            "exchanges",
            2,
            "name",
            "",
            "exchanges.csv:2: field 'name' [required] a value is required",
        ),
        (
            "exchanges",
            2,
            "released_by_b",
            "-1",
            "exchanges.csv:2: field 'released_by_b' value '-1' [minimum] must be at least 0",
        ),
        (
            "exchanges",
            2,
            "sources",
            "",
            "exchanges.csv:2: field 'sources' [required] a value is required",
        ),
        (
            "exchanges",
            2,
            "sources",
            "a book I read",
            "field 'sources' value 'a book I read' [source-url] each source must be an http(s) URL",
        ),
        ("parties", 2, "iso3", "aaa", "parties.csv:2: field 'iso3' value 'aaa' [pattern]"),
        (
            "alliances",
            2,
            "obligations",
            "defense | friendship",
            "alliances.csv:2: field 'obligations' value 'friendship' [enum] each item must be "
            "one of",
        ),
    ],
)
def test_field_rules_name_file_line_field_value_and_rule(
    package, table, line, field, value, expected
):
    edit(package, table, line, **{field: value})
    assert expected in only(package)


def test_unique_keys(package):
    edit(package, "exchanges", 3, exchange_id="1962-02-10-ALPHA-BRAVO")
    problems = [str(p) for p in validate_package(package)]
    assert any(
        "exchanges.csv:3: field 'exchange_id' value '1962-02-10-ALPHA-BRAVO' [unique] "
        "duplicates the key of line 2" in p
        for p in problems
    )


def test_foreign_keys_resolve(package):
    edit(package, "exchanges", 2, side_b="ZULU")
    assert (
        "exchanges.csv:2: field 'side_b' value 'ZULU' [foreign-key] no party_id 'ZULU' in "
        "parties.csv" in only(package)
    )


def test_foreign_keys_in_list_fields(package):
    edit(package, "exchanges", 3, mediators="MED | NOBODY")
    assert "field 'mediators' value 'NOBODY' [foreign-key]" in only(package)


def test_detention_starts_before_the_exchange(package):
    edit(package, "exchanges", 2, detained_since_a="1963-01-01")
    assert (
        "exchanges.csv:2: field 'detained_since_a' value '1963-01-01' "
        "[detention-before-exchange]" in only(package)
    )


def test_detention_within_the_month_of_a_month_precision_exchange_is_fine(package):
    # exchange 2003-01 (month): a detention on 2003-01-15 can precede it
    edit(package, "exchanges", 3, detained_since_a="2003-01-15", detained_since_a_precision="day")
    edit(package, "evidence", 11, value="2003-01-15", quote="Held from 15 January 2003.")
    assert validate_package(package) == []


def test_membership_ends_after_it_starts(package):
    edit(package, "alliance_members", 7, end_date="1980-01-01")
    assert (
        "alliance_members.csv:7: field 'end_date' value '1980-01-01' [membership-order] a "
        "membership must end after it starts" in only(package)
    )


def test_no_overlapping_spells(package):
    edit(package, "alliance_members", 5, start_date="2004-01-01", start_date_precision="day")
    assert "[membership-overlap] DELTA in nato: this spell overlaps the spell on line 4" in only(
        package
    )


def test_counts_are_not_negative(package):
    edit(package, "exchange_parties", 2, released="-3")
    assert "exchange_parties.csv:2: field 'released' value '-3' [minimum]" in only(package)


def test_tranches_of_one_deal_share_their_sides(package):
    edit(package, "exchanges", 5, side_b="BRAVO", released_by_b="")
    assert (
        "exchanges.csv:5: field 'side_a,side_b' value 'ALPHA,BRAVO' [deal-sides] tranches of "
        "deal '2011-big-deal' must share their sides; line 4 has ALPHA,ECHO" in only(package)
    )


def test_precision_is_required_with_a_date_and_dates_are_not_imputed(package):
    edit(package, "exchanges", 2, agreement_date="1962-01-15")
    assert "[precision-required]" in only(package)
    edit(package, "exchanges", 2, agreement_date_precision="month")
    assert (
        "field 'agreement_date' value '1962-01-15' [precision-month] a month-precision date "
        "is written as the first of the month" in only(package)
    )


def test_mediator_type_matches_the_mediators(package):
    edit(package, "exchanges", 3, mediator_type="humanitarian")
    assert "[mediator-type] the mediators ['MED'] make this 'state'" in only(package)


def test_multilateral_needs_three_states(package):
    edit(package, "exchanges", 3, format="multilateral")
    assert "[format-multilateral]" in only(package)


def test_dates_after_the_cutoff(package):
    edit(
        package, "exchanges", 7, exchange_date="2030-01-01", exchange_id="2030-01-01-CHARLIE-BRAVO"
    )
    assert "field 'exchange_date' value '2030-01-01' [after-cutoff]" in only(package)


def test_captivity_rules(package):
    edit(package, "captivities", 5, ended_on="2024-01-01", ended_on_precision="day")
    assert "captivities.csv:5: field 'ended_on' value '2024-01-01' [still-held-open]" in only(
        package
    )
    edit(package, "captivities", 5, ended_on="", ended_on_precision="", outcome="escaped")
    assert "[ended-needs-date] outcome 'escaped' needs ended_on" in only(package)


def test_exchanged_spell_names_a_resolving_exchange(package):
    edit(package, "captivities", 2, exchange_id="")
    assert "captivities.csv:2: field 'exchange_id' [exchanged-needs-exchange]" in only(package)
    edit(package, "captivities", 2, exchange_id="1999-01-01-ALPHA-BRAVO")
    assert "[foreign-key] no exchange_id '1999-01-01-ALPHA-BRAVO' in exchanges.csv" in only(package)


def test_exchanged_spell_ends_on_its_exchange_date(package):
    edit(package, "captivities", 2, ended_on="1962-03-10")
    assert (
        "captivities.csv:2: field 'ended_on' value '1962-03-10' [end-matches-exchange] "
        "ended_on must match the date of exchange 1962-02-10-ALPHA-BRAVO" in only(package)
    )


def test_captivity_ends_after_it_starts(package):
    edit(package, "captivities", 4, ended_on="1967-01-01")
    assert "[detention-before-end]" in only(package)


def test_every_problem_is_reported_not_just_the_first(package):
    edit(package, "exchanges", 2, released_by_a="x", region="Mars")
    edit(package, "parties", 4, kind="planet")
    rules = sorted(p.rule for p in validate_package(package))
    assert rules == ["enum", "enum", "type"]


def test_header_must_match_the_schema(package):
    path = package / "parties.csv"
    path.write_text(path.read_text().replace("cow_code", "cow"), encoding="utf-8")
    assert "parties.csv:1: value" in str(validate_package(package)[0])
    assert "missing ['cow_code'], unexpected ['cow']" in str(validate_package(package)[0])


def test_load_refuses_invalid_data_with_every_problem(package):
    edit(package, "exchanges", 2, released_by_a="x")
    edit(package, "exchanges", 3, region="Mars")
    with pytest.raises(DataValidationError, match=r"2 problem\(s\) in the data package") as err:
        load(package)
    assert [(p.file, p.line, p.field) for p in err.value.problems] == [
        ("exchanges.csv", 2, "released_by_a"),
        ("exchanges.csv", 3, "region"),
    ]


def test_cli_validate_exits_non_zero_and_lists_problems(package):
    from .conftest import research

    edit(package, "exchanges", 2, released_by_a="x")
    proc = research(package.parent, "validate", str(package))
    assert proc.returncode == 1
    assert "exchanges.csv:2: field 'released_by_a' value 'x' [type]" in proc.stderr
    assert research(package.parent, "validate", str(package.parent / "nowhere")).returncode == 2


def test_descriptor_is_a_frictionless_package_with_licence_cutoff_and_keys():
    from .conftest import ROOT

    dp = json.loads((ROOT / "data" / "datapackage.json").read_text())
    assert dp["profile"] == "tabular-data-package"
    assert dp["licenses"][0]["name"] == "CC-BY-4.0" and dp["cutoff_date"] and dp["citation"]
    for res in dp["resources"]:
        assert res["schema"]["primaryKey"], res["name"]
        assert all(f.get("description") for f in res["schema"]["fields"]), res["name"]
        source = "url" if res["name"] == "evidence" else "sources"  # evidence: one page a row
        assert source in [f["name"] for f in res["schema"]["fields"]], res["name"]
