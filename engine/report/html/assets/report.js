/* indexlab report page: renders the data of one run and recomputes it live.

   PROGRAM (printed by engine/backends/js from the methodology's IR) computes, from the
   columns C and the parameters P, every step that depends on a weight or a choice, then
   the ranks, classes and screening rules. The page calls it once at load (and shows
   whether it reproduces the engine's own numbers), then on every change of a weight or
   a switch. Text from the methodology is only ever set as textContent; the MathML comes
   from the engine's printer. */
"use strict";
(() => {
  const D = JSON.parse(document.getElementById("report-data").textContent);
  const n = D.n;
  const C = {};
  for (const [k, v] of Object.entries(D.columns)) C[k] = v.slice();
  const UNIT = D.unit, PERIOD = D.period;
  const periods = D.periods.length ? D.periods : [null];
  const state = { period: periods[periods.length - 1], sort: { key: "rank", dir: 1 }, query: "", unit: null };
  const weights = {}, choices = {};
  const reset = () => {
    for (const s of D.sliders) weights[s.group] = s.nominal.slice();
    for (const s of D.switches) choices[s.parameter] = 0;
  };
  reset();
  const charts = {};

  // -- small helpers -------------------------------------------------------------------
  const $ = (id) => document.getElementById(id);
  const el = (tag, attrs = {}, ...kids) => {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) {
      if (k === "text") e.textContent = v;
      else if (v === null || v === undefined) continue;
      else if (k === "class") e.className = v;
      else e.setAttribute(k, v);
    }
    for (const kid of kids) if (kid !== null && kid !== undefined) e.append(kid);
    return e;
  };
  const fmt = (v, digits = 4) => {
    if (v === null || v === undefined) return "—";
    if (typeof v !== "number") return String(v);
    if (!Number.isFinite(v)) return "undefined";
    if (Number.isInteger(v) && Math.abs(v) < 1e15) return String(v);
    const a = Math.abs(v);
    return a !== 0 && (a < 1e-3 || a >= 1e7) ? v.toExponential(digits - 1) : Number(v.toPrecision(digits + 2)).toString();
  };
  const rowsOf = (p) => {
    const out = [];
    for (let i = 0; i < n; i++) if (PERIOD === null || C[PERIOD][i] === p) out.push(i);
    return out;
  };
  const label = D.labels.length ? D.labels[0] : null;
  const unitName = (i) => (label && C[label][i] ? `${C[label][i]}` : `${C[UNIT][i]}`);
  const chart = (id) => {
    if (!charts[id]) charts[id] = echarts.init($(id), null, { renderer: "canvas" });
    return charts[id];
  };
  window.addEventListener("resize", () => Object.values(charts).forEach((c) => c.resize()));
  const table = (id, head, rows, opts = {}) => {
    const t = $(id);
    const thead = t.tHead, tbody = t.tBodies[0];
    thead.replaceChildren(el("tr", {}, ...head.map((h) => {
      const th = el("th", { class: h.text ? "text" : null, text: h.label, scope: "col" });
      if (opts.sort && h.key) {
        th.dataset.key = h.key;
        if (opts.sort.key === h.key) th.setAttribute("aria-sort", opts.sort.dir > 0 ? "ascending" : "descending");
        th.addEventListener("click", () => opts.onSort(h.key));
      }
      return th;
    })));
    tbody.replaceChildren(...rows.map((r) => {
      const tr = el("tr", r.attrs || {});
      r.cells.forEach((c, j) => tr.append(el("td", { class: [head[j].text ? "text" : "", c.cls || ""].join(" ").trim() || null, text: c.text ?? fmt(c.v) })));
      return tr;
    }));
  };

  // -- parameters and recomputation -----------------------------------------------------
  const params = () => {
    const P = {};
    for (const s of D.switches) P[s.parameter] = choices[s.parameter];
    for (const s of D.sliders) {
      const w = R.weightSet(weights[s.group]);
      if (w.zero) throw new Error(`the weights of group '${s.group}' add up to 0`);
      s.members.forEach((m, j) => {
        P[`__w.${s.group}.${m}`] = w.weights[j];
        P[`__wn.${s.group}.${m}`] = w.shares[j];
      });
      P[`__wt.${s.group}`] = w.total;
    }
    return P;
  };
  const status = (text, error = false) => {
    const s = $("status");
    s.textContent = text;
    s.className = "status" + (error ? " error" : "");
  };
  const atNominal = () =>
    D.sliders.every((s) => weights[s.group].every((t, j) => Number(t) === Number(s.nominal[j]))) &&
    D.switches.every((s) => choices[s.parameter] === 0);
  const compute = () => {
    let P;
    try {
      P = params();
    } catch (e) {
      status(e.message, true);
      return false;
    }
    const t0 = performance.now();
    PROGRAM(C, n, P, R);
    const ms = performance.now() - t0;
    let undefinedRows = 0, first = null;
    for (const c of D.writes) {
      for (let i = 0; i < n; i++) {
        const v = C[c][i];
        if (typeof v === "number" && !Number.isFinite(v)) {
          undefinedRows++;
          if (!first) first = `${c} of ${C[UNIT][i]}${PERIOD ? " " + C[PERIOD][i] : ""}`;
        }
      }
    }
    if (undefinedRows) {
      status(`With these settings ${undefinedRows} values are undefined (first: ${first}); ` +
        "indexlab run would stop with a data error.", true);
    } else {
      status(`Recomputed ${n} rows in ${ms.toFixed(1)} ms` + (atNominal() ? " (the methodology's own settings)." : "."));
    }
    return !undefinedRows;
  };
  // how far the page's numbers at nominal settings are from the engine's
  const agreement = () => {
    let maxRel = 0, differ = 0, compared = 0;
    for (const [c, ref] of Object.entries(D.nominal)) {
      for (let i = 0; i < n; i++) {
        const a = C[c][i], b = ref[i];
        compared++;
        if (typeof a === "number" && typeof b === "number") {
          if (a !== b) {
            const rel = Math.abs(a - b) / Math.max(Math.abs(b), 1e-300);
            maxRel = Math.max(maxRel, rel);
            if (c === "rank" || rel > 1e-12) differ++;
          }
        } else if ((a ?? null) !== (b ?? null)) differ++;
      }
    }
    return { maxRel, differ, compared };
  };

  // -- controls -----------------------------------------------------------------------
  const decimals = (t) => (String(t).split(".")[1] || "").length;
  const sliderScale = (s) => {
    const d = Math.max(1, ...s.nominal.map(decimals));
    const top = Math.max(1, ...s.nominal.map(Number)) * 4;
    return { d, unit: 10 ** -d, max: Math.round(top * 10 ** d) };
  };
  const positionText = (pos, d) => {
    const s = String(pos).padStart(d + 1, "0");
    return d ? `${s.slice(0, -d)}.${s.slice(-d)}` : s;
  };
  const renderControls = () => {
    const box = $("switches");
    box.replaceChildren(...D.switches.map((s) => {
      const sel = el("select", { "data-parameter": s.parameter, "aria-label": s.label });
      s.options.forEach((o, k) => sel.append(el("option", { value: String(k), text: o })));
      sel.value = String(choices[s.parameter]);
      sel.addEventListener("change", () => { choices[s.parameter] = Number(sel.value); update(); });
      return el("div", { class: "switch" }, el("label", { text: `${s.label}: ` }), sel);
    }));
    const sliders = $("sliders");
    sliders.replaceChildren(...D.sliders.map((s) => {
      const g = D.groups.find((x) => x.name === s.group) || { label: s.group };
      const sc = sliderScale(s);
      const block = el("div", { class: "weights", "data-group": s.group }, el("h4", { text: g.label || s.group }));
      s.members.forEach((m, j) => {
        const id = `w-${s.group}-${m}`;
        const range = el("input", { type: "range", id, min: "0", max: String(sc.max), step: "1", "data-group": s.group, "data-member": m });
        const text = el("input", { type: "text", inputmode: "decimal", class: "weight-text", "data-group": s.group, "data-member": m, "aria-label": `weight of ${m}` });
        const shareLine = el("div", { class: "share" });
        const sync = () => {
          text.value = weights[s.group][j];
          const pos = Math.round(Number(weights[s.group][j]) * 10 ** sc.d);
          range.value = String(Math.min(pos, sc.max));
        };
        sync();
        range.addEventListener("input", () => { weights[s.group][j] = positionText(Number(range.value), sc.d); text.value = weights[s.group][j]; update(); });
        text.addEventListener("change", () => {
          const t = text.value.trim();
          if (!/^\d*(\.\d*)?$/.test(t) || t === "" || t === ".") { status(`'${t}' is not a weight (a number >= 0)`, true); return; }
          weights[s.group][j] = t;
          sync();
          update();
        });
        block.append(el("div", { class: "weight" }, el("label", { for: id, text: m }), range, text, shareLine));
      });
      return block;
    }));
    $("reset").onclick = () => { reset(); renderControls(); update(); };
  };
  const renderShares = () => {
    for (const s of D.sliders) {
      let w;
      try { w = R.weightSet(weights[s.group]); } catch (e) { continue; }
      const lines = document.querySelectorAll(`.weights[data-group="${CSS.escape(s.group)}"] .share`);
      lines.forEach((line, j) => { line.textContent = w.zero ? "" : `${(w.shares[j] * 100).toFixed(1)} % of ${s.group}`; });
    }
    const groups = D.sliders.filter((s) => s.nominal.some((t, j) => Number(t) !== Number(weights[s.group][j])));
    $("yaml").textContent = groups.length
      ? "groups:\n" + groups.map((s) => `  ${s.group}:\n    weights: {${s.members.map((m, j) => `${m}: ${weights[s.group][j]}`).join(", ")}}`).join("\n")
      : "# the methodology's own weights";
  };

  // -- ranking ------------------------------------------------------------------------
  // the columns of the index's direct members: group scores, normalised indicators
  const topGroups = () => (D.tree.children || [])
    .map((c) => (c.kind === "group" ? c.name : `${c.name}.norm`))
    .filter((col) => C[col]);
  const digits = D.index && D.index.rounding ? D.index.rounding.digits : null;
  const fmtIndex = (v) => (typeof v === "number" && Number.isFinite(v) && digits !== null ? v.toFixed(digits) : fmt(v));
  const renderRanking = () => {
    const rows = rowsOf(state.period);
    const q = state.query.toLowerCase();
    const shown = rows.filter((i) => !q || String(C[UNIT][i]).toLowerCase().includes(q) ||
      D.labels.some((l) => String(C[l][i] ?? "").toLowerCase().includes(q)));
    const groups = topGroups();
    const head = [
      { label: "rank", key: "rank" },
      { label: "Δ", key: "delta" },
      { label: UNIT, key: UNIT, text: true },
      ...D.labels.slice(0, 1).map((l) => ({ label: l, key: l, text: true })),
      { label: "index", key: "index" },
      ...(C.class ? [{ label: "class", key: "class", text: true }] : []),
      ...groups.map((g) => ({ label: g, key: g })),
    ];
    const value = (i, key) => (key === "delta" ? delta(i) : C[key][i]);
    const { key, dir } = state.sort;
    shown.sort((a, b) => {
      const x = value(a, key), y = value(b, key);
      if (x === null || x === undefined) return 1;
      if (y === null || y === undefined) return -1;
      return (x < y ? -1 : x > y ? 1 : 0) * dir || String(C[UNIT][a]).localeCompare(String(C[UNIT][b]));
    });
    table("ranking-table", head, shown.map((i) => {
      const d = delta(i);
      return {
        attrs: { "data-unit": String(C[UNIT][i]), class: d ? "changed" : null },
        cells: [
          { v: C.rank[i], cls: "rank" },
          { text: d ? (d > 0 ? `▲${d}` : `▼${-d}`) : "", cls: d > 0 ? "up" : d < 0 ? "down" : "" },
          { text: String(C[UNIT][i]) },
          ...D.labels.slice(0, 1).map((l) => ({ text: C[l][i] ?? "" })),
          { text: fmtIndex(C.index[i]), cls: "index" },
          ...(C.class ? [{ text: C.class[i] ?? "—", cls: "class" }] : []),
          ...groups.map((g) => ({ v: C[g][i] })),
        ],
      };
    }), { sort: state.sort, onSort: (k) => { state.sort = { key: k, dir: state.sort.key === k ? -state.sort.dir : 1 }; renderRanking(); } });
    $("count").textContent = `${shown.length} of ${rows.length} units`;
  };
  const delta = (i) => {
    const a = C.rank[i], b = D.nominal.rank ? D.nominal.rank[i] : null;
    return a === null || b === null || a === undefined || b === undefined ? 0 : b - a;
  };

  // -- unit profile -------------------------------------------------------------------
  const rankWithin = (col, rows, i) => {
    const v = C[col][i];
    if (v === null || v === undefined) return null;
    let better = 0, k = 0;
    for (const j of rows) { const w = C[col][j]; if (w !== null && w !== undefined) { k++; if (w > v) better++; } }
    return { rank: better + 1, of: k };
  };
  const renderProfile = () => {
    const rows = rowsOf(state.period);
    const units = [...new Set(C[UNIT])].sort();
    const sel = $("unit");
    if (!sel.options.length) {
      units.forEach((u) => sel.append(el("option", { value: String(u), text: String(u) })));
      sel.addEventListener("change", () => { state.unit = sel.value; renderProfile(); renderShift(); });
    }
    if (state.unit === null) {
      const best = rows.filter((i) => C.rank[i] === 1)[0];
      state.unit = String(C[UNIT][best ?? rows[0]]);
    }
    sel.value = state.unit;
    const i = rows.find((r) => String(C[UNIT][r]) === state.unit);
    if (i === undefined) { $("unit-summary").textContent = "No data for this unit in this period."; table("profile-table", [], []); return; }
    $("unit-summary").textContent = `${unitName(i)}: index ${fmt(C.index[i])}, rank ${fmt(C.rank[i])} of ${rows.filter((r) => C.rank[r] !== null).length}` + (C.class ? `, class ${C.class[i] ?? "—"}` : "");
    const items = [
      ...D.indicators.map((ind) => ({ name: ind.name, label: ind.label, raw: C[ind.name] ? C[ind.name][i] : null, col: ind.norm, kind: "indicator" })),
      ...D.groups.map((g) => ({ name: g.name, label: g.label, raw: null, col: g.name, kind: "group" })),
    ].filter((x) => C[x.col]);
    const ranked = items.map((x) => ({ ...x, value: C[x.col][i], r: rankWithin(x.col, rows, i) }));
    table("profile-table",
      [{ label: "", text: true }, { label: "name", text: true }, { label: "raw value" }, { label: "score" }, { label: "rank" }],
      ranked.map((x) => ({ cells: [{ text: x.kind }, { text: `${x.name}${x.label && x.label !== x.name ? " — " + x.label : ""}` }, { v: x.raw }, { v: x.value }, { text: x.r ? `${x.r.rank} / ${x.r.of}` : "—" }] })));
    const shown = ranked.filter((x) => x.r);
    chart("profile-chart").setOption({
      animation: false,
      grid: { left: 8, right: 16, top: 24, bottom: 8, containLabel: true },
      title: { text: "share of units it is ahead of (%)", textStyle: { fontSize: 12, fontWeight: "normal" } },
      tooltip: { trigger: "axis", axisPointer: { type: "shadow" } },
      xAxis: { type: "value", min: 0, max: 100 },
      yAxis: { type: "category", inverse: true, data: shown.map((x) => x.name), axisLabel: { fontSize: 10 } },
      series: [{ type: "bar", data: shown.map((x) => (x.r.of > 1 ? Math.round((x.r.of - x.r.rank) / (x.r.of - 1) * 1000) / 10 : 100)),
        itemStyle: { color: (p) => (ranked.find((x) => x.name === shown[p.dataIndex].name).kind === "group" ? "#2f6fb3" : "#8fb3d9") } }],
    }, true);
  };

  // -- framework ------------------------------------------------------------------------
  const currentShares = () => {
    const out = {};
    for (const r of D.weights) if (r.period === state.period || r.period === null || r.period === undefined) out[`${r.group}|${r.member}`] = r.weight;
    for (const s of D.sliders) {
      let w;
      try { w = R.weightSet(weights[s.group]); } catch (e) { continue; }
      s.members.forEach((m, j) => { out[`${s.group}|${m}`] = w.zero ? null : w.shares[j]; });
    }
    return out;
  };
  const renderFramework = () => {
    const shares = currentShares();
    const nominalShare = {}, nominalEff = {};
    for (const r of D.weights) if (r.period === state.period || r.period === null || r.period === undefined) { nominalShare[`${r.group}|${r.member}`] = r.weight; nominalEff[r.member] = r.effective_weight; }
    const rows = [];
    const walk = (node, parent, eff) => {
      const share = parent ? shares[`${parent}|${node.name}`] : 1;
      const e = eff === null || share === null || share === undefined ? null : eff * share;
      const out = { name: node.name, value: e ?? 0, share, nominal: parent ? nominalShare[`${parent}|${node.name}`] : 1, effective: e, nominalEffective: nominalEff[node.name] ?? (parent ? null : 1), label: node.label };
      if (parent) rows.push(out);
      if (node.children) out.children = node.children.map((c) => walk(c, node.name, e));
      return out;
    };
    const root = walk(D.tree, null, 1);
    chart("sunburst").setOption({
      animation: false,
      tooltip: { formatter: (p) => { const d = p.data; return `${d.name}${d.label && d.label !== d.name ? " — " + d.label : ""}<br>share in parent: ${fmt(d.nominal)} → ${fmt(d.share)}<br>effective weight: ${fmt(d.nominalEffective)} → ${fmt(d.effective)}`; } },
      series: [{ type: "sunburst", data: root.children || [], radius: ["12%", "95%"], sort: null, nodeClick: false,
        label: { rotate: "radial", fontSize: 10, minAngle: 6 }, levels: [] }],
    }, true);
    table("weights-table",
      [{ label: "member", text: true }, { label: "share (methodology)" }, { label: "share (now)" }, { label: "effective (engine)" }, { label: "effective (now)" }],
      rows.map((r) => ({ cells: [{ text: r.name }, { v: r.nominal }, { v: r.share }, { v: r.nominalEffective }, { v: r.effective }] })));
  };

  // -- rank shifts ----------------------------------------------------------------------
  const renderShift = () => {
    const c = chart("shift-chart");
    const rows = rowsOf(state.period);
    const top = rows.filter((i) => C.rank[i] !== null).sort((a, b) => C.rank[a] - C.rank[b]).slice(0, 12).map((i) => String(C[UNIT][i]));
    if (state.unit && !top.includes(state.unit)) top.push(state.unit);
    if (D.compared.length) {
      const cats = [D.id, ...D.compared.map((o) => o.id)];
      c.setOption({
        animation: false, title: { text: `Ranks under each methodology (${state.period ?? "all"})`, textStyle: { fontSize: 13 } },
        tooltip: { trigger: "item" }, legend: { type: "scroll", bottom: 0 },
        grid: { left: 40, right: 90, top: 40, bottom: 50 },
        xAxis: { type: "category", data: cats }, yAxis: { type: "value", inverse: true, min: 1, name: "rank" },
        series: top.map((u) => { const i = rows.find((r) => String(C[UNIT][r]) === u); return { type: "line", name: u, endLabel: { show: true, formatter: u }, data: [C.rank[i], ...D.compared.map((o) => C[`rank@${o.id}`][i])] }; }),
      }, true);
    } else if (periods.length > 1) {
      const series = top.map((u) => ({ type: "line", name: u, endLabel: { show: true, formatter: u }, connectNulls: false,
        data: periods.map((p) => { for (let i = 0; i < n; i++) if (C[PERIOD][i] === p && String(C[UNIT][i]) === u) return C.rank[i]; return null; }) }));
      c.setOption({
        animation: false, title: { text: "Rank over the periods (the leaders of the chosen period)", textStyle: { fontSize: 13 } },
        tooltip: { trigger: "axis" }, legend: { type: "scroll", bottom: 0 },
        grid: { left: 40, right: 90, top: 40, bottom: 50 },
        xAxis: { type: "category", data: periods.map(String) }, yAxis: { type: "value", inverse: true, min: 1, name: "rank" }, series,
      }, true);
    } else {
      c.setOption({ title: { text: "One period and no compared methodology: see the shifts from re-weighting below", textStyle: { fontSize: 13 } } }, true);
    }
    const changed = rows.filter((i) => delta(i) !== 0).sort((a, b) => delta(b) - delta(a));
    chart("live-shift-chart").setOption({
      animation: false,
      title: { text: changed.length ? "Rank shift from the methodology's weights to the current ones" : "No rank shift: change a weight or a choice", textStyle: { fontSize: 13 } },
      tooltip: { trigger: "axis" }, grid: { left: 8, right: 16, top: 36, bottom: 8, containLabel: true },
      xAxis: { type: "category", data: changed.map((i) => String(C[UNIT][i])), axisLabel: { rotate: 60, fontSize: 9 } },
      yAxis: { type: "value", name: "places gained" },
      series: [{ type: "bar", data: changed.map((i) => ({ value: delta(i), itemStyle: { color: delta(i) > 0 ? "#1b7f3b" : "#b3261e" } })) }],
    }, true);
  };

  // -- diagnostics ----------------------------------------------------------------------
  const inPeriod = (r) => PERIOD === null || r[PERIOD] === state.period;
  const renderDiagnostics = () => {
    const dg = D.diagnostics;
    $("diag-note").textContent = `At the ${dg.stage} stage (the engine's values at the methodology's weights). Statistics as COINr's get_stats: sample SD, skewness and excess kurtosis as Excel's SKEW and KURT; an outlier has |skewness| > 2 and kurtosis > 3.5. The heatmap shows Pearson's r in the latest period.`;
    const h = dg.heatmap;
    const cells = [];
    h.r.forEach((row, a) => row.forEach((v, b) => cells.push([b, a, v === null ? "-" : v])));
    chart("heatmap").setOption({
      animation: false, tooltip: { formatter: (p) => `${h.names[p.value[1]]} × ${h.names[p.value[0]]}: r = ${p.value[2]}` },
      grid: { left: 8, right: 8, top: 8, bottom: 60, containLabel: true },
      xAxis: { type: "category", data: h.names, axisLabel: { rotate: 90, fontSize: 9 } },
      yAxis: { type: "category", data: h.names, inverse: true, axisLabel: { fontSize: 9 } },
      visualMap: { min: -1, max: 1, calculable: true, orient: "horizontal", left: "center", bottom: 0, inRange: { color: ["#b3261e", "#f7f7f7", "#2f6fb3"] } },
      series: [{ type: "heatmap", data: cells }],
    }, true);
    const first = {};
    for (const r of dg.pca) if (inPeriod(r)) first[r.group] = r.variance_share;
    table("groups-table", [{ label: "group", text: true }, { label: "k" }, { label: "n" }, { label: "alpha" }, { label: "alpha (complete cases)" }, { label: "PC1 share" }],
      dg.cronbach.filter(inPeriod).map((r) => ({ cells: [{ text: r.group }, { v: r.k }, { v: r.n }, { v: r.alpha }, { v: r.alpha_complete }, { v: first[r.group] ?? null }] })));
    const cols = ["n", "available", "zeros", "unique", "min", "max", "mean", "median", "sd", "skewness", "kurtosis"];
    table("stats-table", [{ label: "name", text: true }, ...cols.map((c) => ({ label: c })), { label: "outlier", text: true }],
      dg.statistics.filter(inPeriod).map((r) => ({ cells: [{ text: r.name }, ...cols.map((c) => ({ v: r[c] })), { text: r.outlier ? "yes" : "" }] })));
    const avail = dg.availability.filter(inPeriod);
    table("avail-table", [{ label: UNIT, text: true }, { label: "missing" }, { label: "available" }],
      avail.map((r) => ({ cells: [{ text: String(r[UNIT]) }, { v: r.n_missing }, { v: r.available }] })));
  };

  // -- methodology, checks --------------------------------------------------------------
  const renderStatic = () => {
    $("title").textContent = D.title;
    $("subtitle").textContent = [D.id, D.version, `${D.n} rows`].filter(Boolean).join(" · ");
    $("description").textContent = D.description || "";
    const box = $("formulas");
    let section = null;
    for (const f of D.formulas) {
      if (f.section !== section) { section = f.section; box.append(el("h3", { text: section })); }
      const div = el("div", { class: "formula" });
      div.innerHTML = f.mathml;  // MathML printed by the engine from the IR
      if (f.note) div.append(el("div", { class: "note", text: f.note }));
      box.append(div);
    }
    $("conventions").replaceChildren(...D.conventions.map((c) => el("li", { text: c })));
    if (D.classes && !D.classes.quantiles) {
      table("bands-table", [{ label: "class", text: true }, { label: "min" }, { label: "max" }, { label: "group", text: true }],
        D.classes.bands.map((b) => ({ cells: [{ text: b.label }, { v: b.min }, { v: b.max }, { text: b.group ?? "" }] })));
    }
    $("references").replaceChildren(...D.references.map((r) => el("li", { text: r })));
    $("checks-list").replaceChildren(...(D.checks.length ? D.checks.map((c) => {
      const div = el("div", { class: `check ${c.failed ? "fail" : "pass"} ${c.severity}` },
        el("strong", { text: `${c.severity} check ${c.name}: ${c.failed ? `${c.failed} of ${c.tested} rows fail` : `ok (${c.tested} rows)`}` }),
        c.label ? el("div", { class: "small", text: c.label }) : null);
      const f = el("div");
      f.innerHTML = c.mathml;
      div.append(f);
      if (c.rows.length) div.append(el("div", { class: "small muted", text: "failing: " + c.rows.join("; ") }));
      return div;
    }) : [el("p", { class: "muted", text: "The methodology declares no checks." })]));
    $("warnings").replaceChildren(...D.warnings.map((w) => el("li", { text: w })));
    const sel = $("period");
    periods.forEach((p) => sel.append(el("option", { value: String(p), text: p === null ? "—" : String(p) })));
    sel.value = String(state.period);
    sel.disabled = periods.length < 2;
    sel.addEventListener("change", () => { state.period = periods.find((p) => String(p) === sel.value); renderAll(); });
    $("search").addEventListener("input", (e) => { state.query = e.target.value; renderRanking(); });
  };

  const renderAll = () => {
    renderShares();
    renderRanking();
    renderProfile();
    renderFramework();
    renderShift();
    renderDiagnostics();
  };
  const update = () => {
    compute();
    renderShares();
    renderRanking();
    renderProfile();
    renderFramework();
    renderShift();
  };

  renderStatic();
  renderControls();
  // on a phone the ranking comes first; the controls stay one tap away
  if (window.innerWidth < 980) document.querySelector("#controls > details").open = false;
  compute();
  const agree = agreement();
  renderAll();
  const note = agree.differ === 0
    ? `At the methodology's weights this page reproduces indexlab run: ${agree.compared} values compared, largest relative difference ${agree.maxRel.toExponential(1)}, ranks and classes identical.`
    : `At the methodology's weights ${agree.differ} of ${agree.compared} values differ from indexlab run (largest relative difference ${agree.maxRel.toExponential(1)}).`;
  status(note, agree.differ !== 0);
  if (!D.static && !D.sliders.length && !D.switches.length) {
    $("sliders").replaceChildren(el("p", { class: "muted small", text: "This methodology has no weights or choices a reader can change (data-driven or equal weights, no alternatives)." }));
  }
  if (D.static) {
    $("sliders").replaceChildren(el("p", { class: "status error", text: `No live weights in this page: ${D.static}` }));
    $("reset").hidden = true;
  }
  window.indexlab = {
    columns: C, data: D, compute, agreement: agree, weights, choices,
    setWeights: (group, texts) => { weights[group] = texts.map(String); renderControls(); update(); },
    setChoice: (parameter, k) => { choices[parameter] = k; renderControls(); update(); },
    ready: true,
  };
})();
