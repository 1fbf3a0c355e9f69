"""Independent audit of the Kireeva (Kazakhstan IT clusters) tables 2-6.

Standalone: stdlib only, no indexlab import. Reads regions.csv and
published_table6.csv next to this file (and, for the employed cross-check,
the original tables in ../shared/paper/data next to the project, if present). Prints findings.
"""

import csv
import math
import pathlib

HERE = pathlib.Path(__file__).resolve().parent
SRC = HERE.parents[2] / "shared" / "paper" / "data"  # shared/ beside the project
YEARS = ("2010", "2014")


def load(path):
    with open(path, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


ROWS = load(HERE / "regions.csv")
PUB = {r["region"]: r for r in load(HERE / "published_table6.csv")}
ORDER = [r["region"] for r in ROWS if r["year"] == "2010"]
BY = {(r["region"], r["year"]): r for r in ROWS}


def f(r, c):
    return float(r[c])


def decimals(s):
    return len(s.split(".")[1]) if "." in s else 0


def half_ulp(s):
    return 0.5 * 10 ** (-decimals(s))


# ---------------------------------------------------------------- definitions
# derived column -> (numerator col, denominator col, factor)
DERIVED = {
    "labour_productivity": ("grp", "employed", 1e3),  # thousand tenge / person
    "return_on_assets": ("grp", "fixed_assets", 1.0),
    "ecology": ("grp", "emissions", 1.0),  # thousand tenge / tonne
    "rd_per_employed": ("rd_expenditure", "employed", 1e6),  # tenge / person
    "tech_innovation_per_employed": ("tech_innovation_expenditure", "employed", 1e6),
}
# employed is printed as whole persons but every value ends in "00": treat as +-50
EMPLOYED_HALF_ULP = 50.0


def recompute(r, col):
    num, den, k = DERIVED[col]
    return f(r, num) * k / f(r, den)


def interval(r, col):
    """Range of the derived value allowed by rounding of its printed inputs."""
    num, den, k = DERIVED[col]
    n, d = f(r, num), f(r, den)
    hn = half_ulp(r[num])
    hd = EMPLOYED_HALF_ULP if den == "employed" else half_ulp(r[den])
    return (n - hn) * k / (d + hd), (n + hn) * k / (d - hd)


def section(t):
    print()
    print("=" * 78)
    print(t)
    print("=" * 78)


# ------------------------------------------------------------------ 1. employed
section("1. employed: susceptibility table vs activity table")
if SRC.exists():
    pairs = [
        ("2010", "table2_susceptibility_2010.csv", "table3_activity_2010.csv"),
        ("2014", "table4_susceptibility_2014.csv", "table5_activity_2014.csv"),
    ]
    bad = 0
    for y, a, b in pairs:
        ea = {r["region"]: r["employed"] for r in load(SRC / a)}
        eb = {r["region"]: r["employed"] for r in load(SRC / b)}
        for k in ea:
            if ea[k] != eb[k]:
                bad += 1
                print(f"  {y} {k}: {ea[k]} vs {eb[k]}")
        ra = [r["region"] for r in load(SRC / a)]
        rb = [r["region"] for r in load(SRC / b)]
        if ra != rb:
            diff = [(i + 1, x, z) for i, (x, z) in enumerate(zip(ra, rb)) if x != z]
            print(f"  {y}: row order differs between {a} and {b}: {diff}")
    print(f"  {bad} disagreements (joined by region name)")
else:
    print("  source tables not found; skipped")

# ------------------------------------------------------------ 2. derived cols
section("2. printed derived columns vs their raw-column definitions")
print("  tolerance: printed value must lie in the range implied by rounding of the")
print("  raw inputs (half a unit of their last printed digit; employed +-50) widened")
print("  by half a unit of the printed derived value's last digit.")
gross, minor = [], []
for y in YEARS:
    for reg in ORDER:
        r = BY[(reg, y)]
        for col in DERIVED:
            p = f(r, col)
            v = recompute(r, col)
            lo, hi = interval(r, col)
            h = half_ulp(r[col])
            strict = abs(p - v) <= h + 1e-9
            loose = lo - h - 1e-9 <= p <= hi + h + 1e-9
            if strict:
                continue
            src = [s for s in ORDER if abs(recompute(BY[(s, y)], col) - p) <= h + 1e-9]
            rec = (y, reg, col, r[col], v, (p - v) / v, src)
            (minor if loose else gross).append(rec)
print("  -- disagreements beyond all rounding:")
for y, reg, col, ps, v, rel, src in gross:
    print(
        f"  {y} {reg:17s} {col:28s} printed {ps:>10s} recomputed {v:12.2f} "
        f"rel {rel:+8.2%}  printed value = recomputed value of {src}"
    )
print("  -- disagreements beyond output rounding only (explained by input rounding):")
for y, reg, col, ps, v, rel, _src in minor:
    print(f"  {y} {reg:17s} {col:28s} printed {ps:>10s} recomputed {v:12.4f} rel {rel:+.2e}")
print(f"  total: {len(gross)} gross, {len(minor)} minor")

# Pattern check for table 4: derived printed by row position vs 2010 row order
t4 = [r["region"] for r in load(SRC / "table4_susceptibility_2014.csv")] if SRC.exists() else None
if t4:
    ok = 0
    for i, reg in enumerate(t4):
        alpha_reg = ORDER[i]  # region in the same row position of the 2010 / table 5 order
        r_here, r_alpha = BY[(reg, "2014")], BY[(alpha_reg, "2014")]
        if all(
            abs(f(r_here, c) - recompute(r_alpha, c)) <= half_ulp(r_here[c]) + 1e-9
            for c in ("labour_productivity", "return_on_assets", "ecology")
        ):
            ok += 1
    print(f"  table 4: in {ok}/16 printed rows the derived columns equal the values")
    print("  recomputed for the region at the same row number in the 2010/table-5 order")
    print("  (i.e. derived columns were pasted in a different row order than names+raw).")

# --------------------------------------------------------------- 3. oddities
section("3. other oddities")
RAW = [
    "grp",
    "employed",
    "fixed_assets",
    "emissions",
    "rd_expenditure",
    "tech_innovation_expenditure",
    "innovative_output",
]
for y in YEARS:
    for c in RAW:
        seen = {}
        for reg in ORDER:
            seen.setdefault(BY[(reg, y)][c], []).append(reg)
        for val, regs in seen.items():
            if len(regs) > 1:
                print(f"  {y} {c}: identical value {val} in {regs}")
for reg in ORDER:
    for c in RAW:
        if f(BY[(reg, "2010")], c) == f(BY[(reg, "2014")], c):
            print(f"  {reg}: {c} 2014 == 2010 == {BY[(reg, '2014')][c]}")
for reg in ORDER:
    for c in RAW:
        s = BY[(reg, "2014")][c]
        if c != "employed" and "." not in s:
            print(f"  {reg} 2014 {c} printed without decimals: {s}")

print("\n  implied population = innovative_output*1e6 / innovative_output_per_capita")
print(
    f"  {'region':17s} {'pop 2010':>10s} {'pop 2014':>10s} {'ratio':>7s}"
    f" {'empl/pop 2010':>13s} {'empl/pop 2014':>13s}"
)
POP = {}
for reg in ORDER:
    p = {
        y: f(BY[(reg, y)], "innovative_output")
        * 1e6
        / f(BY[(reg, y)], "innovative_output_per_capita")
        for y in YEARS
    }
    POP[reg] = p
    e = {y: f(BY[(reg, y)], "employed") / p[y] for y in YEARS}
    flag = (
        "  <-- "
        if abs(p["2014"] / p["2010"] - 1) > 0.001 or max(e.values()) > 0.9 or min(e.values()) < 0.2
        else ""
    )
    print(
        f"  {reg:17s} {p['2010']:10.0f} {p['2014']:10.0f} {p['2014'] / p['2010']:7.4f}"
        f" {e['2010']:13.2f} {e['2014']:13.2f}{flag}"
    )

# Row-shift hypothesis: Russian-alphabetical names (rows 5-14 of tables 2/3/5)
# against data in the official statistical order (the order of table 4).
ALPHA = ORDER
OFFICIAL = t4 or ALPHA
M = {ALPHA[i]: OFFICIAL[i] for i in range(16)}  # row labelled X holds data of M[X]
moved = [k for k in ALPHA if M[k] != k]
print("\n  hypothesis H-shift (rows 5-14: Russian-alphabetical names next to data in the")
print("  official order of table 4): the row labelled X holds the data of region M[X].")
print("  Tested per column on 2010 values; the population behind SC is the same both years.")
print("   ", ", ".join(f"{k} -> {M[k]}" for k in moved))


def spread(vals):
    logs = [math.log(v) for v in vals]
    m = sum(logs) / len(logs)
    return math.sqrt(sum((x - m) ** 2 for x in logs) / (len(logs) - 1))


print(
    "  sd of log(2014/2010) over the 7 moved regions, printed labels vs H-shift"
    " (smaller = more plausible):"
)
for c in RAW:
    as_printed = [f(BY[(k, "2014")], c) / f(BY[(k, "2010")], c) for k in moved]
    shifted = [f(BY[(M[k], "2014")], c) / f(BY[(k, "2010")], c) for k in moved]
    print(f"    {c:28s} printed {spread(as_printed):5.2f}   H-shift {spread(shifted):5.2f}")
emp_pop_shift = [f(BY[(M[k], "2014")], "employed") / POP[k]["2010"] for k in moved]
print(
    "  2014 employed / implied 2010 population under H-shift:",
    ", ".join(f"{M[k]} {x:.2f}" for k, x in zip(moved, emp_pop_shift)),
)

# ------------------------------------------------------------------- 4. index
section("4. table 6 reproduction")
IND_PRINTED = [
    "labour_productivity",
    "return_on_assets",
    "ecology",
    "rd_per_employed",
    "tech_innovation_per_employed",
    "innovative_output_per_capita",
]
NAMES = ["SD", "SF", "SE", "SA", "SB", "SC"]


def indicators(year, variant, overrides=None):
    out = {}
    for reg in ORDER:
        r = BY[(reg, year)]
        if variant == "b":
            v = [f(r, c) for c in IND_PRINTED]
        else:
            v = [recompute(r, c) for c in IND_PRINTED[:5]] + [f(r, "innovative_output_per_capita")]
        out[reg] = v
    for (reg, i), val in (overrides or {}).items():
        out[reg][i] = val
    return out


def index(ind, leaders=None):
    mx = [max(v[i] for v in ind.values()) for i in range(6)]
    for i, val in (leaders or {}).items():
        mx[i] = val
    res = {}
    for reg, v in ind.items():
        s = [v[i] / mx[i] * 100 for i in range(6)]
        res[reg] = ((s[0] + s[1] + s[2]) / 3 + (s[3] + s[4] + s[5]) / 3) / 2
    return res, mx


BANDS = [
    (90, "A++"),
    (80, "A+"),
    (70, "A"),
    (60, "B++"),
    (50, "B+"),
    (40, "B"),
    (30, "C++"),
    (20, "C+"),
    (10, "C"),
    (0, "D"),
]


def klass(x):
    for lo, k in BANDS:
        if x >= lo:
            return k
    return "D"


def compare(res, year, label):
    d = {k: res[k] - float(PUB[k]["index_" + year]) for k in ORDER}
    miss = [k for k in ORDER if round(res[k], 2) != float(PUB[k]["index_" + year])]
    big = {k: v for k, v in d.items() if abs(v) > 0.01}
    mx = max(d, key=lambda k: abs(d[k]))
    print(
        f"  {label} {year}: max|diff| {abs(d[mx]):.4f} ({mx}); "
        f"{16 - len(miss)}/16 equal at 2 dp; |diff|>0.01: "
        + (", ".join(f"{k} {v:+.3f}" for k, v in big.items()) or "none")
    )
    return d


RESULTS = {}
for variant in ("a", "b"):
    for y in YEARS:
        res, mx = index(indicators(y, variant))
        RESULTS[(variant, y)] = res
        compare(res, y, f"variant ({variant})")
# classes from published indices
for y in YEARS:
    for k in ORDER:
        if klass(float(PUB[k]["index_" + y])) != PUB[k]["class_" + y]:
            print(f"  published class inconsistent with published index: {k} {y}")

print("\n  refinement (a'): variant (a) but the SF leader value taken as printed")
print("  (rounded ROA: 2.01 in 2010, 1.18 in 2014) instead of the unrounded maximum")
LEAD = {}
for y in YEARS:
    ind = indicators(y, "a")
    _, mx = index(ind)
    best = max(ORDER, key=lambda k: ind[k][1])
    lead_pr = f(BY[(best, y)], "return_on_assets")
    LEAD[y] = lead_pr
    res, _ = index(ind, {1: lead_pr})
    RESULTS[("a'", y)] = res
    print(f"  {y}: unrounded SF leader {best} {mx[1]:.5f}, printed {lead_pr}")
    compare(res, y, "variant (a')")
# rounding vs truncation
for y in YEARS:
    tr = sum(
        1
        for k in ORDER
        if math.floor(RESULTS[("a'", y)][k] * 100 + 1e-9) / 100 == float(PUB[k]["index_" + y])
    )
    print(f"  {y}: truncating (a') to 2 dp matches {tr}/16 (rounding is the better fit)")

# -------------------------------------------------------------- 5. South 2014
section("5. South Kazakhstan 2014: which input would give the published 30.28?")
S = "South Kazakhstan"
ind14 = indicators("2014", "a")
res14, mx14 = index(ind14, {1: LEAD["2014"]})
sh = [ind14[S][i] / ([*mx14[:1], LEAD["2014"], *mx14[2:]][i]) * 100 for i in range(6)]
print("  shares:", ", ".join(f"{n} {s:.2f}" for n, s in zip(NAMES, sh)))
print(
    f"  computed {res14[S]:.4f}, published 30.28 -> share sum must fall by "
    f"{(res14[S] - 30.28) * 6:.2f} points; only SF (100.1) and SC (100.0) are big enough."
)
target = (30.275, 30.285)
base = res14[S] - sh[5] / 6
lo_sc = (target[0] - base) * 6 / 100 * mx14[5]
hi_sc = (target[1] - base) * 6 / 100 * mx14[5]
print(
    f"  SC (leader kept at 322715.14, as all other regions require): SC in "
    f"[{lo_sc:.0f}, {hi_sc:.0f}] tenge reproduces 30.28"
)


def south_with(over, leaders=None):
    ind = indicators("2014", "a", over)
    lead = {1: LEAD["2014"]}
    lead.update(leaders or {})
    return index(ind, lead)[0][S]


pop2010 = POP[S]["2010"]
hyp = [
    ("SC printed 322715.14 (as is)", {}, None),
    ("SC = 322715.14/10 = 32271.51 (decimal slip)", {(S, 5): 32271.514}, {5: 322715.14}),
    (
        f"SC = output/2010-implied population {pop2010:.0f} = "
        f"{f(BY[(S, '2014')], 'innovative_output') * 1e6 / pop2010:.2f}",
        {(S, 5): f(BY[(S, "2014")], "innovative_output") * 1e6 / pop2010},
        {5: 322715.14},
    ),
    ("SC = 2010 value 9910.28", {(S, 5): 9910.28}, {5: 322715.14}),
    (
        "SD,SF,SE = printed (shuffled) table-4 row",
        {(S, 0): 9158.68, (S, 1): 0.69, (S, 2): 25806.1},
        None,
    ),
    ("SF with fixed_assets x10 (20326000)", {(S, 1): 2399860.9 / 20326000.0}, None),
]
for label, over, lead in hyp:
    v = south_with(over, lead)
    print(f"  {label:62s} -> {v:7.3f} {'MATCH' if round(v, 2) == 30.28 else ''}")
# consistent correction: SC fixed AND leader recomputed
ind_fix = indicators("2014", "a", {(S, 5): f(BY[(S, "2014")], "innovative_output") * 1e6 / pop2010})
res_fix, mx_fix = index(ind_fix, {1: LEAD["2014"]})
print(
    f"\n  consistent correction (South SC = {ind_fix[S][5]:.2f}, SC leader becomes"
    f" {max(ind_fix, key=lambda k: ind_fix[k][5])} {mx_fix[5]:.2f}):"
)
for k in ORDER:
    d = res_fix[k] - float(PUB[k]["index_2014"])
    if abs(d) >= 0.5:
        print(
            f"    {k:17s} published {PUB[k]['index_2014']:>6s} -> {res_fix[k]:6.2f} "
            f"({d:+.2f}) class {PUB[k]['class_2014']} -> {klass(res_fix[k])}"
        )

# Illustration only (hypothesis-dependent): 2014 SC with H-shift populations
pop_of = {M[k]: POP[k]["2010"] for k in ALPHA}
over = {(reg, 5): f(BY[(reg, "2014")], "innovative_output") * 1e6 / pop_of[reg] for reg in ORDER}
res_h, mx_h = index(indicators("2014", "a", over), {1: LEAD["2014"]})
print(
    "\n  illustration, IF H-shift holds: 2014 SC recomputed with re-assigned populations"
    " (and South's 2010 population):"
)
for k in ORDER:
    d = res_h[k] - float(PUB[k]["index_2014"])
    if abs(d) >= 0.5:
        print(
            f"    {k:17s} SC {over[(k, 5)]:10.2f} index published {PUB[k]['index_2014']:>6s}"
            f" -> {res_h[k]:6.2f} ({d:+.2f}) class {PUB[k]['class_2014']} -> {klass(res_h[k])}"
        )

# ------------------------------------------------------------- 6. change col
section("6. change column: printed vs index2014/index2010*100")
for k in ORDER:
    p = PUB[k]
    ch = float(p["index_2014"]) / float(p["index_2010"]) * 100
    chc = RESULTS[("a'", "2014")][k] / RESULTS[("a'", "2010")][k] * 100
    if round(ch, 2) != float(p["change_2014_vs_2010_pct"]):
        i14 = float(p["change_2014_vs_2010_pct"]) / 100 * float(p["index_2010"])
        i10 = float(p["index_2014"]) / float(p["change_2014_vs_2010_pct"]) * 100
        print(
            f"  {k}: printed {p['change_2014_vs_2010_pct']}, from published indices "
            f"{ch:.2f}, from computed indices {chc:.2f}; printed change implies "
            f"index2014 {i14:.2f} (given 2010) or index2010 {i10:.2f} (given 2014)"
        )
print("  all other 15 rows agree to 2 dp")

# --------------------------------------------------------------- 7. table
section("7. printed vs computed, variant (a) [and (a') with printed SF leader]")
print("  year region             printed  comp(a)   diff  comp(a') diff(a') cls.pr cls.comp")
for y in YEARS:
    for k in ORDER:
        p = float(PUB[k]["index_" + y])
        a, a2 = RESULTS[("a", y)][k], RESULTS[("a'", y)][k]
        print(
            f"  {y} {k:17s} {p:8.2f} {a:8.4f} {a - p:+7.4f} {a2:8.4f} {a2 - p:+7.4f}"
            f" {PUB[k]['class_' + y]:>6s} {klass(a):>6s}"
        )
