/* indexlab's JavaScript runtime: what the printed formulas of a methodology call.

   Printed by engine/backends/js/printer.py from the same IR the polars backend compiles;
   each function here mirrors a rule of engine/backends/polars/compile.py, with polars'
   semantics (a missing value is null and propagates; statistics skip nulls; sums add the
   rows of a group in key order, and the rows arrive sorted by unit and period, so that
   the page adds in the order the engine adds). Conditions are true, false or null
   (Kleene logic, as polars). Nothing here evaluates text. */
"use strict";
const R = (() => {
  const isNull = (v) => v === null || v === undefined;

  // -- element-wise arithmetic (null propagates) ---------------------------------------
  const add = (a, b) => (isNull(a) || isNull(b) ? null : a + b);
  const sub = (a, b) => (isNull(a) || isNull(b) ? null : a - b);
  const mul = (a, b) => (isNull(a) || isNull(b) ? null : a * b);
  const div = (a, b) => (isNull(a) || isNull(b) ? null : a / b);
  const neg = (a) => (isNull(a) ? null : -a);
  // polars raises to a whole exponent 1..9 by multiplying left to right (x * x * x), to
  // any other by the C library's pow; Math.pow may differ from it in the last bit
  const powk = (a, k) => {
    if (isNull(a)) return null;
    let out = a;
    for (let j = 1; j < k; j++) out = out * a;
    return out;
  };
  const pow = (a, b) => (isNull(a) || isNull(b) ? null : Math.pow(a, b));
  const sqrt = (a) => (isNull(a) ? null : Math.sqrt(a));
  const log = (a) => (isNull(a) ? null : Math.log(a));
  const exp = (a) => (isNull(a) ? null : Math.exp(a));
  const abs = (a) => (isNull(a) ? null : Math.abs(a));
  const max = (...xs) => (xs.some(isNull) ? null : Math.max(...xs));
  const min = (...xs) => (xs.some(isNull) ? null : Math.min(...xs));
  const minPresent = (...xs) => {
    const p = xs.filter((v) => !isNull(v));
    return p.length ? Math.min(...p) : null;
  };
  const coalesce = (a, b) => (isNull(a) ? b : a);
  const present = (a) => (isNull(a) ? 0 : 1);

  // -- conditions -----------------------------------------------------------------------
  const cmp = (f) => (a, b) => (isNull(a) || isNull(b) ? null : f(a, b));
  const lt = cmp((a, b) => a < b);
  const le = cmp((a, b) => a <= b);
  const gt = cmp((a, b) => a > b);
  const ge = cmp((a, b) => a >= b);
  const eq = (a, b) => (isNull(a) || isNull(b) ? null : a === b);
  const ne = (a, b) => (isNull(a) || isNull(b) ? null : a !== b);
  // |a - b| <= atol + rtol |b|, given the difference as polars forms it
  const within = (d, b, atol, rtol) => {
    if (isNull(d) || isNull(b)) return null;
    return rtol === 0 ? Math.abs(d) <= atol : Math.abs(d) <= atol + rtol * Math.abs(b);
  };
  const and = (...cs) => (cs.some((c) => c === false) ? false : cs.some(isNull) ? null : true);
  const or = (...cs) => (cs.some((c) => c === true) ? true : cs.some(isNull) ? null : false);
  const not = (c) => (isNull(c) ? null : !c);
  const inSet = (v, set) => (isNull(v) ? null : set.includes(v));
  // if/then/else: a missing condition gives a missing value
  const when = (c, a, b) => (isNull(c) ? null : c ? a() : b());

  // -- rows and groups of rows ------------------------------------------------------------
  const col = (n, f) => {
    const out = new Array(n);
    for (let i = 0; i < n; i++) out[i] = f(i);
    return out;
  };
  // groups of the rows sharing `keys` (columns of C), each in row order
  const groupsOf = (C, n, keys) => {
    const id = new Array(n), members = [], index = new Map();
    for (let i = 0; i < n; i++) {
      const k = keys.length ? JSON.stringify(keys.map((c) => C[c][i])) : "";
      let g = index.get(k);
      if (g === undefined) { g = members.length; index.set(k, g); members.push([]); }
      id[i] = g; members[g].push(i);
    }
    return { id, members };
  };
  const broadcast = (G, per) => G.id.map((g) => per[g]);
  const present_ = (x, rows) => rows.filter((i) => !isNull(x[i]));
  // sum of the present values in row order (polars: fill_null(0).cum_sum().last())
  const orderedSum = (x, rows) => { let s = 0; for (const i of rows) if (!isNull(x[i])) s += x[i]; return s; };
  const sorted = (x, rows) => present_(x, rows).map((i) => x[i]).sort((a, b) => a - b);
  // linear interpolation between order statistics (numpy's default, R type 7), as polars
  const quantileOf = (s, q) => {
    if (!s.length) return null;
    const f = (s.length - 1) * q, lo = Math.floor(f), hi = Math.min(lo + 1, s.length - 1);
    return s[lo] + (s[hi] - s[lo]) * (f - lo);
  };
  const stats = {
    max: (x, rows) => { const p = present_(x, rows); return p.length ? Math.max(...p.map((i) => x[i])) : null; },
    min: (x, rows) => { const p = present_(x, rows); return p.length ? Math.min(...p.map((i) => x[i])) : null; },
    sum: (x, rows) => (present_(x, rows).length ? orderedSum(x, rows) : null),
    mean: (x, rows) => { const k = present_(x, rows).length; return k ? orderedSum(x, rows) / k : null; },
    count: (x, rows) => present_(x, rows).length,
    median: (x, rows) => quantileOf(sorted(x, rows), 0.5),
    quantile: (x, rows, q) => quantileOf(sorted(x, rows), q),
    std: (x, rows, ddof) => {
      const k = present_(x, rows).length;
      if (k <= ddof) return null;
      const m = orderedSum(x, rows) / k;
      let s = 0;
      for (const i of rows) if (!isNull(x[i])) s += (x[i] - m) * (x[i] - m);
      return Math.sqrt(s / (k - ddof));
    },
  };
  const stat = (name, x, G, option) => broadcast(G, G.members.map((rows) => stats[name](x, rows, option)));

  // rank within each group: ties "min", "max", "dense" or "average"; nulls get none
  const rank = (x, G, descending, ties) => {
    const out = new Array(x.length).fill(null);
    for (const rows of G.members) {
      const p = present_(x, rows).sort((a, b) => (descending ? x[b] - x[a] : x[a] - x[b]));
      let start = 0, dense = 0;
      while (start < p.length) {
        let end = start;
        while (end + 1 < p.length && x[p[end + 1]] === x[p[start]]) end++;
        dense++;
        const r = ties === "min" ? start + 1 : ties === "max" ? end + 1
          : ties === "dense" ? dense : (start + end + 2) / 2;
        for (let j = start; j <= end; j++) out[p[j]] = r;
        start = end + 1;
      }
    }
    return out;
  };
  // running total in ascending `order` (nulls first, ties in row order); nulls stay null
  const cumsum = (x, order, G) => {
    const out = new Array(x.length).fill(null);
    for (const rows of G.members) {
      const o = rows.slice().sort((a, b) => {
        const na = isNull(order[a]), nb = isNull(order[b]);
        if (na || nb) return na === nb ? a - b : na ? -1 : 1;
        return order[a] - order[b] || a - b;
      });
      let s = 0;
      for (const i of o) if (!isNull(x[i])) { s += x[i]; out[i] = s; }
    }
    return out;
  };
  // the value in the row of the same group where `cond` holds (max if several)
  const at = (x, cond, G) => broadcast(G, G.members.map((rows) => {
    let best = null;
    for (const i of rows) if (cond[i] === true && !isNull(x[i]) && (best === null || x[i] > best)) best = x[i];
    return best;
  }));
  // last observation carried forward within each group, in row (period) order
  const fillForward = (x, G) => {
    const out = x.slice();
    for (const rows of G.members) { let last = null; for (const i of rows) { if (isNull(x[i])) out[i] = last; else last = x[i]; } }
    return out;
  };
  // weighted median: the smallest member value at which the cumulative weight reaches half
  const weightedMedian = (values, weights) => {
    if (values.some(isNull)) return null;
    const order = values.map((_, j) => j).sort((a, b) => values[a] - values[b] || a - b);
    let total = 0; for (const j of order) total += weights[j];
    let cum = 0;
    for (const j of order) { cum += weights[j]; if (cum / total >= 0.5 - 1e-12) return values[j]; }
    return values[order[order.length - 1]];
  };
  // Copeland score: sum over the rows q of the group (itself included) of
  // sign(sum_j w_j (sign(y_pj - y_qj) + 1) / 2 - 1/2)
  // Copeland as the engine computes it (engine/methods/aggregate_outranking.py): p's
  // score is the sum over the rows q of its group of sign(sum_j w_j sign(y_pj - y_qj)),
  // each pair compared on the members both rows have (a missing difference counts 0; the
  // row itself adds 0). The engine sums integer-scaled weights, so an exact tie is exactly
  // 0; here the weights for and against are summed apart and a difference within 1e-12
  // of their size is the same tie (weights come from short decimal texts).
  const copeland = (ys, ws, G) => {
    const n = ys[0].length, out = new Array(n).fill(null);
    for (const rows of G.members) {
      for (const p of rows) {
        let score = 0;
        for (const q of rows) {
          let pro = 0, con = 0;
          for (let j = 0; j < ys.length; j++) {
            if (isNull(ys[j][p]) || isNull(ys[j][q])) continue;
            const s = Math.sign(ys[j][p] - ys[j][q]);
            if (s > 0) pro += ws[j][p];
            else if (s < 0) con += ws[j][p];
          }
          if (Math.abs(pro - con) > 1e-12 * (pro + con)) score += Math.sign(pro - con);
        }
        out[p] = score;
      }
    }
    return out;
  };

  // -- rounding as the engine rounds (engine/backends/polars/compile.py round_decimal) ----
  // the float is read as a decimal of 15 significant digits and at most 12 places
  // (M = x * 10^P rounded half to even), M is rounded to `digits` decimals with ties away
  // from zero ("half_up") or to even ("half_even"), and the decimal is parsed back (a
  // correctly rounded read, as polars reads it); from 2^53 / 10^digits on, x stays
  const roundHalfEven = (v) => {
    const f = Math.floor(v), d = v - f;
    return d > 0.5 ? f + 1 : d < 0.5 ? f : f % 2 === 0 ? f : f + 1;
  };
  const POWERS = [1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13,
    1e14, 1e15];
  const round = (x, digits, mode) => {
    if (isNull(x) || !Number.isFinite(x)) return x;
    const a = Math.abs(x);
    if (!(a < 2 ** 53 / POWERS[digits])) return x;
    let p = 12;
    while (p > digits && !(a < POWERS[15 - p])) p--;
    const m = BigInt(roundHalfEven(x * POWERS[p]));
    const unit = 10n ** BigInt(p - digits);
    const neg = m < 0n, mag = neg ? -m : m;
    let q = mag / unit;
    const r = mag % unit, twice = 2n * r;
    if (twice > unit || (twice === unit && (mode === "half_up" || q % 2n === 1n))) q += 1n;
    return Number(`${neg ? "-" : ""}${q}e-${digits}`);
  };

  // -- classes ------------------------------------------------------------------------------
  // bands from `breaks` (inner bounds, ascending, tolerance applied): "lower" counts the
  // breaks <= v (side right), "upper" those < v (side left)
  const classify = (v, lo, hi, breaks, closed, labels) => {
    if (isNull(v) || !(v >= lo && v <= hi)) return null;
    let k = 0;
    for (const b of breaks) if (closed === "lower" ? b <= v : b < v) k++;
    return labels[k];
  };
  const classifyQuantiles = (x, G, labels) => {
    const k = labels.length;
    const cuts = G.members.map((rows) => {
      const s = sorted(x, rows);
      const out = [];
      for (let j = k - 1; j > 0; j--) out.push(quantileOf(s, j / k));
      return out;
    });
    return x.map((v, i) => {
      if (isNull(v)) return null;
      const c = cuts[G.id[i]];
      for (let j = 0; j < c.length; j++) if (!isNull(c[j]) && v >= c[j]) return labels[j];
      return labels[k - 1];
    });
  };

  // -- exact weights -----------------------------------------------------------------------
  // A weight is a decimal text ("1", "0.25"); the engine reads it as an exact rational and
  // rounds once. Sums and shares are formed exactly (BigInt) and rounded once, as sympy does.
  const decimal = (text) => {
    const m = /^(\d*)(?:\.(\d*))?$/.exec(String(text).trim());
    if (!m) throw new Error(`not a weight: ${text}`);
    const frac = m[2] || "";
    return { num: BigInt((m[1] || "0") + frac), scale: frac.length };
  };
  // the double nearest to num / den (BigInts, den > 0), ties to even
  const ratio = (num, den) => {
    if (num === 0n) return 0;
    const neg = num < 0n;
    if (neg) num = -num;
    const bits = (v) => v.toString(2).length;
    const s = BigInt(Math.max(0, 56 + bits(den) - bits(num)));  // q gets >= 55 bits
    const scaled = num << s;
    let q = scaled / den;
    const rem = scaled % den;
    const drop = BigInt(bits(q) - 53);
    const low = q & ((1n << drop) - 1n), half = 1n << (drop - 1n);
    q >>= drop;
    if (low > half || (low === half && (rem !== 0n || (q & 1n) === 1n))) q += 1n;
    const v = Number(q) * 2 ** (Number(drop) - Number(s));
    return neg ? -v : v;
  };
  const weightSet = (texts) => {
    const ds = texts.map(decimal);
    const scale = Math.max(...ds.map((d) => d.scale));
    const nums = ds.map((d) => d.num * 10n ** BigInt(scale - d.scale));
    const den = 10n ** BigInt(scale);
    const total = nums.reduce((a, b) => a + b, 0n);
    return {
      weights: nums.map((n) => ratio(n, den)),
      total: ratio(total, den),
      shares: nums.map((n) => (total === 0n ? null : ratio(n, total))),
      zero: total === 0n,
    };
  };

  return {
    isNull, add, sub, mul, div, neg, pow, powk, sqrt, log, exp, abs, max, min, minPresent, coalesce,
    present, lt, le, gt, ge, eq, ne, within, and, or, not, inSet, when, col, groupsOf, stat, rank,
    cumsum, at, fillForward, weightedMedian, copeland, round, classify, classifyQuantiles,
    decimal, ratio, weightSet,
  };
})();
if (typeof module !== "undefined") module.exports = R;
