#!/usr/bin/env python
"""Standalone reference computation of the UNDP Human Development Index (HDI).

Reproduces ``published.csv`` (HDR 2023/24 time series, 1990-2022) from
``input.csv`` and checks the conventions documented in CONVENTIONS.md.
Plain Python + polars only (no indexlab import).

Usage:  python hdi_reference.py [DATA_DIR]     (default: this script's folder)
Exit status 0 iff every HDI value, every 2022 rank and every 2022 group matches.
"""

from __future__ import annotations

import math
import sys
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal
from pathlib import Path

import polars as pl

# --- goalposts (HDR 2023/24 technical notes) -----------------------------------
LE_MIN, LE_MAX = 20.0, 85.0  # years
EYS_MIN, EYS_MAX = 0.0, 18.0  # years
MYS_MIN, MYS_MAX = 0.0, 15.0  # years
GNI_MIN, GNI_MAX = 100.0, 75_000.0  # 2017 PPP $, natural log

# --- 2022 development groups (applied to the HDI rounded to 3 decimals) --------
GROUPS = [  # (lower bound inclusive, label as spelled in published.csv)
    (0.800, "Very High"),
    (0.700, "High"),
    (0.550, "Medium"),
    (-math.inf, "Low"),
]
RANK_YEAR = 2022


def hdi_expr(cap_le=True, cap_eys=True, cap_mys=True, cap_gni=True, round_dims=None) -> pl.Expr:
    """Unrounded HDI as a polars expression. Options exist only for sensitivity tests."""
    le = pl.col("le").clip(upper_bound=LE_MAX) if cap_le else pl.col("le")
    eys = pl.col("eys").clip(upper_bound=EYS_MAX) if cap_eys else pl.col("eys")
    mys = pl.col("mys").clip(upper_bound=MYS_MAX) if cap_mys else pl.col("mys")
    gni = pl.col("gnipc").clip(upper_bound=GNI_MAX) if cap_gni else pl.col("gnipc")

    i_health = (le - LE_MIN) / (LE_MAX - LE_MIN)
    i_eys = (eys - EYS_MIN) / (EYS_MAX - EYS_MIN)
    i_mys = (mys - MYS_MIN) / (MYS_MAX - MYS_MIN)
    i_edu = (i_eys + i_mys) / 2
    i_inc = (gni.log() - math.log(GNI_MIN)) / (math.log(GNI_MAX) - math.log(GNI_MIN))
    if round_dims is not None:
        i_health, i_edu, i_inc = (x.round(round_dims) for x in (i_health, i_edu, i_inc))
    # Missing input -> null HDI (polars null propagation). Not exercised by this data.
    return (i_health * i_edu * i_inc).pow(1.0 / 3.0)


def round3(x: float, mode: str) -> Decimal:
    """Exact decimal rounding of the binary float value (no x*1000 artefacts)."""
    return Decimal(x).quantize(Decimal("0.001"), rounding=mode)


def main() -> int:
    here = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parent
    inp = pl.read_csv(here / "input.csv")
    pub = pl.read_csv(
        here / "published.csv", schema_overrides={"hdi": pl.Utf8, "hdi_rank": pl.Int64}
    )
    df = inp.join(
        pub.select("iso3", "year", "hdi", "hdi_rank", "hdi_group"),
        on=["iso3", "year"],
        how="full",
        coalesce=True,
        validate="1:1",
    )
    n = df.height
    print(
        f"rows: {n} (input {inp.height}, published {pub.height}); "
        f"rows with any missing input: {df.select(pl.any_horizontal(pl.col('le', 'eys', 'mys', 'gnipc').is_null()).sum()).item()}; "
        f"missing published hdi: {df['hdi'].null_count()}"
    )

    df = df.with_columns(hdi_raw=hdi_expr(), hdi_pub=pl.col("hdi").cast(pl.Float64))

    # ---- 1. HDI values ------------------------------------------------------
    recs = df.select("iso3", "year", "hdi", "hdi_raw").to_dicts()
    print(
        "\n[1] HDI = cbrt(I_health * mean(I_eys, I_mys) * I_income), caps LE<=85 EYS<=18 MYS<=15 GNI<=75000"
    )
    results = {}
    for label, mode in (("half-up", ROUND_HALF_UP), ("half-even", ROUND_HALF_EVEN)):
        bad = [r for r in recs if round3(r["hdi_raw"], mode) != Decimal(r["hdi"])]
        results[label] = bad
        print(f"  round {label:9s}: {n - len(bad)} match, {len(bad)} mismatch")
        for r in bad[:20]:
            print(
                f"     MISMATCH {r['iso3']} {r['year']}: raw={r['hdi_raw']!r} published={r['hdi']}"
            )
    diff_up_even = [
        r
        for r in recs
        if round3(r["hdi_raw"], ROUND_HALF_UP) != round3(r["hdi_raw"], ROUND_HALF_EVEN)
    ]
    print(f"  rows where half-up and half-even differ: {len(diff_up_even)}")
    # polars' own round (scales by 1000) in both modes
    for mode in ("half_to_even", "half_away_from_zero"):
        m = df.select((pl.col("hdi_raw").round(3, mode=mode) == pl.col("hdi_pub")).sum()).item()
        print(f"  polars round(3, {mode!r}): {m} match")
    maxdiff = df.select((pl.col("hdi_raw") - pl.col("hdi_pub")).abs().max()).item()
    print(f"  max |unrounded computed - published| = {maxdiff:.10f}")

    print("  closest cases to a rounding tie (distance of raw*1000 from k+0.5, in HDI units):")
    near = (
        df.with_columns(
            tie_dist=(
                (pl.col("hdi_raw") * 1000 - (pl.col("hdi_raw") * 1000).floor() - 0.5).abs() / 1000
            )
        )
        .sort("tie_dist")
        .head(6)
    )
    for r in near.iter_rows(named=True):
        print(
            f"     {r['iso3']} {r['year']}: raw={r['hdi_raw']:.15f} published={r['hdi']} tie_dist={r['tie_dist']:.2e}"
        )

    # ---- 2. sensitivity -------------------------------------------------------
    print(f"\n[2] sensitivity (matches out of {n}, exact half-up rounding of the float HDI)")
    caps = df.select(
        le=(pl.col("le") > LE_MAX).sum(),
        eys=(pl.col("eys") > EYS_MAX).sum(),
        mys=(pl.col("mys") > MYS_MAX).sum(),
        gni=(pl.col("gnipc") > GNI_MAX).sum(),
    ).row(0, named=True)
    print(
        f"  rows above max: LE {caps['le']}, EYS {caps['eys']}, MYS {caps['mys']}, GNI {caps['gni']}"
    )
    variants = {
        "no LE cap": hdi_expr(cap_le=False),
        "no EYS cap": hdi_expr(cap_eys=False),
        "no MYS cap": hdi_expr(cap_mys=False),
        "no GNI cap": hdi_expr(cap_gni=False),
        "dimension indices rounded to 3 dp": hdi_expr(round_dims=3),
        "dimension indices rounded to 4 dp": hdi_expr(round_dims=4),
    }
    rounded_inputs = df.with_columns(
        pl.col("le").round(1),
        pl.col("eys").round(1),
        pl.col("mys").round(1),
        pl.col("gnipc").round(0),
    )
    for label, expr in variants.items():
        vals = df.select(expr).to_series().to_list()
        m = sum(round3(v, ROUND_HALF_UP) == Decimal(r["hdi"]) for v, r in zip(vals, recs))
        print(f"  {label:38s}: {m} match, {n - m} mismatch")
    vals = rounded_inputs.select(hdi_expr()).to_series().to_list()
    m = sum(round3(v, ROUND_HALF_UP) == Decimal(r["hdi"]) for v, r in zip(vals, recs))
    print(
        f"  {'inputs rounded to display precision':38s}: {m} match, {n - m} mismatch  (LE/EYS/MYS 1 dp, GNI integer)"
    )

    # ---- 3. ranks and groups (2022) ----------------------------------------
    print(f"\n[3] {RANK_YEAR} ranks and groups")
    y = df.filter(pl.col("year") == RANK_YEAR).with_columns(
        hdi3=pl.col("hdi_raw").map_elements(
            lambda v: float(round3(v, ROUND_HALF_UP)), return_dtype=pl.Float64
        )
    )
    y = y.with_columns(
        rank_calc=pl.when(pl.col("hdi3").is_not_null())
        .then(pl.col("hdi3").rank("min", descending=True))
        .cast(pl.Int64),
        group_calc=pl.when(pl.col("hdi3") >= GROUPS[0][0])
        .then(pl.lit(GROUPS[0][1]))
        .when(pl.col("hdi3") >= GROUPS[1][0])
        .then(pl.lit(GROUPS[1][1]))
        .when(pl.col("hdi3") >= GROUPS[2][0])
        .then(pl.lit(GROUPS[2][1]))
        .when(pl.col("hdi3").is_not_null())
        .then(pl.lit(GROUPS[3][1])),
    )
    rank_ok = (y["rank_calc"] == y["hdi_rank"]).sum()
    grp_ok = (y["group_calc"] == y["hdi_group"]).sum()
    print(
        f"  countries: {y.height}; rank (min-rank on rounded HDI, descending): {rank_ok} match, {y.height - rank_ok} mismatch"
    )
    for m_ in ("dense", "ordinal", "average"):
        alt = (y["hdi3"].rank(m_, descending=True).cast(pl.Int64) == y["hdi_rank"]).sum()
        print(f"    alt rank method {m_!r} on rounded HDI: {alt} match")
    alt = (y["hdi_raw"].rank("ordinal", descending=True).cast(pl.Int64) == y["hdi_rank"]).sum()
    print(f"    alt: ordinal rank on UNROUNDED HDI: {alt} match")
    ties = (
        y.filter(pl.col("hdi3").is_duplicated())
        .group_by("hdi3")
        .agg(pl.col("iso3").sort(), pl.col("hdi_rank").first())
        .sort("hdi3", descending=True)
    )
    print(f"  tied rounded values: {ties.height} groups, {ties['iso3'].list.len().sum()} countries")
    for r in ties.iter_rows(named=True):
        print(f"     {r['hdi3']:.3f} rank {r['hdi_rank']}: {', '.join(r['iso3'])}")
    print(
        f"  groups (rounded HDI, >=0.800 / >=0.700 / >=0.550): {grp_ok} match, {y.height - grp_ok} mismatch"
    )
    raw_grp = y.with_columns(
        g=pl.when(pl.col("hdi_raw") >= 0.8)
        .then(pl.lit("Very High"))
        .when(pl.col("hdi_raw") >= 0.7)
        .then(pl.lit("High"))
        .when(pl.col("hdi_raw") >= 0.55)
        .then(pl.lit("Medium"))
        .otherwise(pl.lit("Low"))
    )
    print(f"    alt: groups on UNROUNDED HDI: {(raw_grp['g'] == raw_grp['hdi_group']).sum()} match")
    print("  countries near group boundaries:")
    for b in (0.800, 0.700, 0.550):
        near = y.filter((pl.col("hdi_raw") - b).abs() < 0.0015).sort("hdi_raw")
        for r in near.iter_rows(named=True):
            print(
                f"     {b:.3f}: {r['iso3']} raw={r['hdi_raw']:.6f} rounded={r['hdi3']:.3f} published group={r['hdi_group']}"
            )
    print("  group sizes:", dict(sorted(y.group_by("hdi_group").len().iter_rows())))
    print(
        f"  published rank/group present outside {RANK_YEAR}: "
        f"{df.filter((pl.col('year') != RANK_YEAR) & (pl.col('hdi_rank').is_not_null() | pl.col('hdi_group').is_not_null())).height}"
    )

    ok = not results["half-up"] and rank_ok == y.height and grp_ok == y.height
    print(
        f"\nSUMMARY: hdi {n - len(results['half-up'])}/{n} match, {len(results['half-up'])} mismatch; "
        f"rank {rank_ok}/{y.height}; group {grp_ok}/{y.height}; max abs diff {maxdiff:.10f}"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
