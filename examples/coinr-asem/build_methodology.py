"""Writes asem.yaml from COINr's ASEM metadata (asem_meta.csv): run once, output committed.

    python examples/coinr-asem/build_methodology.py

Each level-1 row of the metadata is an input (the data column, named by its iCode) and
an indicator of the same code in lower case (a name is defined once); the level-2 to 4
rows are the groups with their parents and weights.
"""

from __future__ import annotations

import csv
from pathlib import Path

HERE = Path(__file__).resolve().parent
TOP = "SustConn"  # COINr's "Index": renamed so that it does not look like the index column


def main() -> None:
    rows = list(csv.DictReader((HERE / "asem_meta.csv").open(encoding="utf-8")))
    indicators = [r for r in rows if r["Type"] == "Indicator"]
    aggregates = [r for r in rows if r["Type"] == "Aggregate"]

    def code(r: dict[str, str]) -> str:
        if r["Type"] == "Indicator":
            return r["iCode"].lower()
        return TOP if r["iCode"] == "Index" else r["iCode"]

    out = [
        "# yaml-language-server: $schema=../../schema/methodology.schema.json",
        "# Written by build_methodology.py from asem_meta.csv (COINr's ASEM_iMeta): edit that.",
        "indexlab: 1",
        "id: coinr-asem",
        "title: ASEM Sustainable Connectivity Index (COINr's example)",
        "description: >",
        "  COINr's example index (package COINr 1.1.14, data ASEM_iData and ASEM_iMeta): 49",
        "  indicators of 51 Asian and European countries in 8 pillars, 2 sub-indices and the",
        "  index, built as COINr's default pipeline builds it: Treat() (winsorise up to 5",
        "  points, else log, where |skewness| > 2 and kurtosis > 3.5), Normalise() (min-max to",
        "  0-100, reversed for 'lower is better'), Aggregate() (arithmetic means, weights 1).",
        "  Used by the diagnostics tests and as the report's example.",
        "authors:",
        "  - William Becker and the European Commission's JRC (COINr and the ASEM data)",
        "  - indexlab developers (this file)",
        "references:",
        "  - cite: >",
        "      Becker W. et al. (2022). COINr: An R package for developing composite indicators.",
        "      Journal of Open Source Software 7(78), 4567.",
        "    doi: 10.21105/joss.04567",
        "",
        "data:",
        "  unit: uCode",
        "  period: Time",
        "  labels: [uName, GDP_group, GDPpc_group, Pop_group, EurAsia_group]",
        "",
        "inputs:",
    ]
    for r in indicators:
        out.append(f'  {r["iCode"]}: {{label: "{r["iName"]}", unit: "{r["Unit"]}"}}')
    out += ["", "indicators:"]
    for r in indicators:
        out.append(f"  {code(r)}:")
        out.append(f'    label: "{r["iName"]}"')
        out.append(f"    formula: {r['iCode']}")
        if r["Direction"] == "-1":
            out.append("    direction: lower")
    out += [
        "",
        "treatment:",
        "  default: {method: winsorise_log}        # COINr's Treat() defaults",
        "",
        "normalisation:",
        "  default: {method: min_max, range: [0, 100]}   # COINr's Normalise() default (n_minx)",
        "",
        "groups:",
    ]
    for r in aggregates:
        members = [x for x in rows if x["Parent"] == r["iCode"]]
        out.append(f"  {code(r)}:")
        out.append(f'    label: "{r["iName"]}"')
        out.append(f"    members: [{', '.join(code(x) for x in members)}]")
        out.append("    coverage: 0.01                 # COINr's a_amean skips missing members")
        weights = {code(x): x["Weight"] for x in members}
        if len(set(weights.values())) > 1:
            out.append("    weights: {" + ", ".join(f"{k}: {v}" for k, v in weights.items()) + "}")
    out += [
        "",
        "index:",
        "  label: Sustainable Connectivity",
        f"  group: {TOP}",
        "",
        "ranking: {order: descending, ties: min}",
        "",
        "# the sliders of `indexlab report`, and `indexlab sensitivity`",
        "uncertainty:",
        "  replications: 200",
        "  seed: 1",
        "  weights: {perturb: 0.25}",
        "  normalisation:",
        "    alternatives:",
        "      - {method: min_max, range: [0, 100]}",
        "      - {method: z_score, sd: 10, mean: 100}",
    ]
    (HERE / "asem.yaml").write_text("\n".join(out) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
