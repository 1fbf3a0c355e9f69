"""Build regions.csv from the paper's tables 2-5 (typed in as printed).

Standalone, stdlib only. Values are copied as strings, never reformatted.
Tables are joined by region name (row order differs between the 2014 tables).
Usage: python build_regions.py [/path/to/paper/data]
"""

import csv
import pathlib
import shutil
import sys

HERE = pathlib.Path(__file__).resolve().parent
DATA = (
    pathlib.Path(sys.argv[1])
    if len(sys.argv) > 1
    else HERE.parents[2] / "shared" / "paper" / "data"
)

COLUMNS = [
    "region",
    "region_ru",
    "year",
    "grp",
    "employed",
    "fixed_assets",
    "emissions",
    "rd_expenditure",
    "tech_innovation_expenditure",
    "innovative_output",
    "labour_productivity",
    "return_on_assets",
    "ecology",
    "rd_per_employed",
    "tech_innovation_per_employed",
    "innovative_output_per_capita",
]


def read(name):
    with open(DATA / name, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def main():
    order = [r["region"] for r in read("table2_susceptibility_2010.csv")]
    out = []
    problems = []
    for year, sus_name, act_name in [
        ("2010", "table2_susceptibility_2010.csv", "table3_activity_2010.csv"),
        ("2014", "table4_susceptibility_2014.csv", "table5_activity_2014.csv"),
    ]:
        sus = {r["region"]: r for r in read(sus_name)}
        act = {r["region"]: r for r in read(act_name)}
        assert set(sus) == set(act) == set(order), (
            year,
            set(sus) ^ set(order),
            set(act) ^ set(order),
        )
        for region in order:
            s, a = sus[region], act[region]
            assert s["year"] == a["year"] == year
            if s["region_ru"] != a["region_ru"]:
                problems.append(
                    f"{year} {region}: region_ru differs {s['region_ru']!r} vs {a['region_ru']!r}"
                )
            if s["employed"] != a["employed"]:
                problems.append(
                    f"{year} {region}: employed differs: susceptibility table {s['employed']} "
                    f"vs activity table {a['employed']} (kept susceptibility value)"
                )
            row = {"region": region, "region_ru": s["region_ru"], "year": year}
            for c in [
                "grp",
                "employed",
                "fixed_assets",
                "emissions",
                "labour_productivity",
                "return_on_assets",
                "ecology",
            ]:
                row[c] = s[c]
            for c in [
                "rd_expenditure",
                "tech_innovation_expenditure",
                "innovative_output",
                "rd_per_employed",
                "tech_innovation_per_employed",
                "innovative_output_per_capita",
            ]:
                row[c] = a[c]
            out.append(row)
    with open(HERE / "regions.csv", "w", encoding="utf-8", newline="") as f:
        w = csv.DictWriter(f, fieldnames=COLUMNS, lineterminator="\n")
        w.writeheader()
        w.writerows(out)
    shutil.copyfile(DATA / "table6_index_published.csv", HERE / "published_table6.csv")
    shutil.copyfile(DATA / "table7_ksi_published.csv", HERE / "published_table7.csv")
    print(f"wrote {len(out)} rows to regions.csv")
    print("employed cross-check:", "all 32 pairs identical" if not problems else "")
    for p in problems:
        print("  " + p)


if __name__ == "__main__":
    main()
