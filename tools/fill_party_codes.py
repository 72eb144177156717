"""Coder's tool: fill COW codes of the state parties from the COW list, and append the states
that ATOP names as defense partners (alliance members) but parties.csv lacks.

COW codes come from the COW State System Membership list v2016 (../shared/reference), ISO3 codes
of the appended states from the country_converter package's table (country_data.tsv), read by
hand; GW codes are left empty (the GW list itself was not read: country_converter's GWcode
column disagrees with the GW list's published conventions for Yemen and Vietnam, so it is not
used). Run from the repository root with the path to country_data.tsv.
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

COW_CITE = "COW State System Membership v2016"
COCO_CITE = "country_converter 1.3.2 (coco), country_data.tsv"
# party id -> COW ccode (one id per COW code; Yemen's code depends on the date, see
# research.alliances.party_ccode)
CODES = dict(
    USA=2,
    RUS=365,
    UKR=369,
    BLR=370,
    GBR=200,
    FRA=220,
    FRG=260,
    GDR=265,
    DEU=255,
    POL=290,
    SVN=349,
    NOR=385,
    SWE=380,
    BEL=211,
    NLD=210,
    ITA=325,
    ESP=230,
    CZE=316,
    CSK=315,
    HUN=310,
    TUR=640,
    GRC=350,
    CHE=225,
    AUS=900,
    NZL=920,
    CAN=20,
    JPN=740,
    KOR=732,
    PRK=731,
    CHN=710,
    TWN=713,
    IND=750,
    PAK=770,
    BGD=771,
    AFG=700,
    VNM=816,
    RVN=817,
    PHL=840,
    THA=800,
    ISR=666,
    EGY=651,
    SYR=652,
    JOR=663,
    LBN=660,
    IRQ=645,
    IRN=630,
    SAU=670,
    ARE=696,
    QAT=694,
    OMN=698,
    KWT=690,
    BHR=692,
    YEM=679,
    LBY=620,
    DZA=615,
    MAR=600,
    ETH=530,
    ERI=531,
    SDN=625,
    SSD=626,
    NGA=475,
    CUB=40,
    VEN=101,
    COL=100,
    SLV=92,
    NIC=93,
    ARG=160,
    MEX=70,
    BRA=140,
    GEO=372,
    ARM=371,
    AZE=373,
    KAZ=705,
    UZB=704,
    KGZ=703,
    TJK=702,
    MDA=359,
    RWA=517,
    MMR=775,
    CHL=155,
    BGR=355,
    ZAF=560,
    AGO=540,
    MOZ=541,
    SOM=520,
    CYP=352,
    HRV=344,
    YUG=345,
    BIH=346,
    ECU=130,
    PER=135,
    AUT=305,
)
NOTES = {
    "RUS": "COW 365 for the USSR and Russia (one COW code, one party id).",
    "YEM": "COW 679 (Yemen, from 1990); before the 1990 unification this id stands for the "
    "Yemen Arab Republic, COW 678 (rule in research.alliances.party_ccode). The Yemen People's "
    "Republic (COW 680) is party YPR.",
    "FRG": "COW 260 (German Federal Republic, 1955-1990 in the COW list); unified Germany is DEU, 255.",
    "DEU": "COW 255 (Germany, from 1990 in the COW list); West Germany is FRG, 260.",
}


def main(coco_tsv: str) -> None:
    path = Path("data/parties.csv")
    rows = list(csv.DictReader(path.open(newline="")))
    fields = list(rows[0].keys())
    cow = {
        int(r["ccode"]): r for r in csv.DictReader(open("../shared/reference/cow_states2016.csv"))
    }
    evidence = []
    for r in rows:
        c = CODES.get(r["party_id"])
        if r["kind"] != "state":
            continue
        if c is None:
            r["notes"] = (r["notes"] + " " if r["notes"] else "") + (
                "No COW code: the Holy See is not in the COW State System Membership list v2016."
            )
            continue
        r["cow_code"] = str(c)
        if COW_CITE not in r["sources"]:
            r["sources"] = r["sources"] + " | " + COW_CITE
        if r["party_id"] in NOTES:
            r["notes"] = (r["notes"] + " " if r["notes"] else "") + NOTES[r["party_id"]]
        s = cow[c]
        evidence.append(
            [
                "parties",
                r["party_id"],
                "cow_code",
                str(c),
                COW_CITE,
                f"stateabb={s['stateabb']}, ccode={c}, statenme={s['statenme']}",
                "",
            ]
        )
    coco = {}
    for r in csv.DictReader(open(coco_tsv), delimiter="\t"):
        coco.setdefault(r["name_short"], r["ISO3"])
    return rows, fields, cow, coco, evidence


def needed_codes() -> set[int]:
    """COW codes that ATOP names as defense partners of the states in the exchange data."""
    import pandas as pd

    a = pd.read_csv("../shared/reference/atop5_1_ddyr_1945_2018.csv")
    d = a[a.atop_defense == 1]
    rel = set(relevant_parties())
    codes = {CODES[p] for p in rel if p in CODES} | {678}
    hit = d[d.ccode1.isin(codes) | d.ccode2.isin(codes)]
    return set(hit.ccode1) | set(hit.ccode2)


def relevant_parties() -> list[str]:
    """State parties that are a side, mediator or host of an exchange, a listed member of a
    side, or a captivity's holder or home state."""
    ex = list(csv.DictReader(open("data/exchanges.csv", newline="")))
    ids = set()
    for r in ex:
        ids |= {r["side_a"], r["side_b"]}
        for f in ("mediators", "hosts"):
            ids |= {x.strip() for x in r[f].split("|") if x.strip()}
    ids |= {r["party_id"] for r in csv.DictReader(open("data/exchange_parties.csv", newline=""))}
    for r in csv.DictReader(open("data/captivities.csv", newline="")):
        ids |= {r["holder"], r["home"]}
    kinds = {r["party_id"]: r["kind"] for r in csv.DictReader(open("data/parties.csv", newline=""))}
    return sorted(i for i in ids if kinds.get(i) == "state")


def run(coco_tsv: str) -> None:
    rows, fields, cow, coco, evidence = main(coco_tsv)
    gw_iso = {}
    for r in csv.DictReader(open(coco_tsv), delimiter="\t"):
        if r["GWcode"]:
            gw_iso.setdefault(int(float(r["GWcode"])), r["ISO3"])
    have = {int(r["cow_code"]) for r in rows if r["cow_code"]} | {678}
    ids = {r["party_id"] for r in rows}
    for c in sorted(needed_codes() - have):
        s = cow[c]
        iso = "" if c == 680 else gw_iso[c]
        pid = "YPR" if c == 680 else iso
        if pid in ids:
            raise SystemExit(f"party id {pid} for COW {c} is taken")
        ids.add(pid)
        note = (
            "Added as an alliance member (ATOP 5.1 defense partner of a state in the exchange "
            "data). Name and COW code from the COW list v2016"
            + (
                "; ISO3 from country_converter's table (row whose GWcode equals this COW code)."
                if iso
                else "; no ISO3 (the state ended in 1990)."
            )
        )
        rows.append(
            {
                "party_id": pid,
                "name": s["statenme"],
                "kind": "state",
                "iso3": iso,
                "cow_code": str(c),
                "gw_code": "",
                "sponsor": "",
                "sources": COW_CITE + (" | " + COCO_CITE if iso else ""),
                "notes": note,
            }
        )
        evidence.append(
            [
                "parties",
                pid,
                "cow_code",
                str(c),
                COW_CITE,
                f"stateabb={s['stateabb']}, ccode={c}, statenme={s['statenme']}",
                "",
            ]
        )
        if iso:
            evidence.append(
                [
                    "parties",
                    pid,
                    "iso3",
                    iso,
                    COCO_CITE,
                    f"ISO3={iso}, GWcode={c}",
                    "row of country_data.tsv matched on GWcode = COW code",
                ]
            )
    with path_open("data/parties.csv", "w") as f:
        w = csv.DictWriter(f, fieldnames=fields, lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
    with path_open("data/evidence.csv", "a") as f:
        csv.writer(f, lineterminator="\n").writerows(evidence)
    print(len(rows), "parties;", len(evidence), "evidence rows")


def path_open(p: str, mode: str):
    return open(p, mode, newline="")


if __name__ == "__main__" and len(sys.argv) > 1:
    run(sys.argv[1])
