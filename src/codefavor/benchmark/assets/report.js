/* codefavor report page: inflate the inlined libraries and data, draw the plotly figures, and run the
   judgment browser (filters, pages, details with highlighted codes). No network access. */
"use strict";
(function () {
  const PAGE = 50;
  const $ = (id) => document.getElementById(id);
  const status = $("cf-status");

  function bytes(id) {
    const bin = atob($(id).textContent.trim());
    const out = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out;
  }
  async function inflate(id) {
    const stream = new Blob([bytes(id)]).stream().pipeThrough(new DecompressionStream("gzip"));
    return await new Response(stream).text();
  }
  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === "class") e.className = v; else e.setAttribute(k, v);
    }
    for (const c of children) e.append(c instanceof Node ? c : document.createTextNode(String(c)));
    return e;
  }

  function drawFigures() {
    const figs = JSON.parse($("cf-figures").textContent);
    for (const [name, fig] of Object.entries(figs)) {
      const target = $("fig-" + name);
      if (target) window.Plotly.newPlot(target, fig.data, fig.layout, { responsive: true, displaylogo: false });
    }
  }

  function browser(data) {
    const S = data.strings, T = data.tasks, J = data.judgments, runs = data.runs;
    // judgment row: [run, task, order, decision, outcome, signal, details, raw, latency, error, prob_a]
    const byTask = new Map();
    J.forEach((j, n) => { if (!byTask.has(j[1])) byTask.set(j[1], []); byTask.get(j[1]).push(n); });
    const fill = (sel, values) => values.forEach((v) => sel.append(el("option", { value: v }, v)));
    runs.forEach((r, i) => $("f-run").append(el("option", { value: String(i) }, r)));
    fill($("f-category"), [...new Set(T.map((t) => t[1]))]);
    fill($("f-signal"), [...new Set(J.map((j) => j[5]))].sort());
    for (const key of Object.keys(data.disagree)) {
      const [a, b] = key.split("-").map(Number);
      $("f-disagree").append(el("option", { value: key }, `where ${runs[a]} and ${runs[b]} disagree`));
    }
    let rows = [], page = 0, openRow = null;

    function apply() {
      const run = $("f-run").value, cat = $("f-category").value, sig = $("f-signal").value;
      const out = $("f-outcome").value, ord = $("f-order").value, dis = $("f-disagree").value;
      const text = $("f-text").value.trim().toLowerCase();
      const only = dis ? new Set(data.disagree[dis]) : null;
      rows = [];
      for (let n = 0; n < J.length; n++) {
        const j = J[n], t = T[j[1]];
        if (run !== "" && j[0] !== Number(run)) continue;
        if (cat && t[1] !== cat) continue;
        if (sig && j[5] !== sig) continue;
        if (out && j[4] !== out) continue;
        if (ord && j[2] !== ord) continue;
        if (only && !only.has(j[1])) continue;
        if (dis) { const [a, b] = dis.split("-").map(Number); if (j[0] !== a && j[0] !== b) continue; }
        if (text && !t[0].toLowerCase().includes(text) && !S[t[2]].toLowerCase().includes(text)) continue;
        rows.push(n);
      }
      page = 0;
      draw();
    }

    function draw() {
      const pages = Math.max(1, Math.ceil(rows.length / PAGE));
      page = Math.min(page, pages - 1);
      $("count").textContent = `${rows.length} of ${J.length} judgments`;
      $("page").textContent = `page ${page + 1} of ${pages}`;
      $("prev").disabled = page === 0;
      $("next").disabled = page >= pages - 1;
      const body = $("judgments").tBodies[0];
      body.replaceChildren();
      for (const n of rows.slice(page * PAGE, (page + 1) * PAGE)) {
        const j = J[n], t = T[j[1]];
        const tr = el("tr", { "data-n": String(n) },
          el("td", {}, runs[j[0]]), el("td", {}, t[0]), el("td", {}, t[1]), el("td", {}, j[2]),
          el("td", {}, j[3]), el("td", { class: j[4] }, j[4]), el("td", {}, j[5]),
          el("td", {}, j[8] === null ? "" : (1000 * j[8]).toFixed(1)));
        if (n === openRow) tr.classList.add("open");
        tr.addEventListener("click", () => detail(n));
        body.append(tr);
      }
    }

    function codeBlock(code) {
      const c = el("code", { class: "hljs language-python" });
      c.innerHTML = window.hljs.highlight(code, { language: "python", ignoreIllegals: true }).value;
      return el("pre", {}, c);
    }

    function detail(n) {
      openRow = n;
      const j = J[n], t = T[j[1]], box = $("detail");
      // Positions as the judge saw them: in order BA the task's second choice was shown first.
      const shown = j[2] === "AB" ? [0, 1] : [1, 0];
      const picked = j[3] === "A" ? 0 : j[3] === "B" ? 1 : -1;
      const cols = shown.map((choice, pos) => {
        const head = el("h4", {}, `Code ${"AB"[pos]} (choice ${choice + 1})`);
        if (choice === t[5]) head.append(el("span", { class: "badge gt" }, "better (benchmark)"));
        if (picked === pos) head.append(el("span", { class: "badge pick" }, "picked"));
        return el("div", {}, head, codeBlock(S[t[3 + choice]]));
      });
      box.replaceChildren(
        el("h3", {}, `${t[0]} · ${t[1]} · ${runs[j[0]]} · order ${j[2]}`),
        el("p", {}, "verdict ", el("b", {}, j[3]), " → ", el("span", { class: j[4] }, j[4]),
          ` · signal ${j[5]}` + (j[10] === null ? "" : ` · P(A) ${j[10]}`)),
        el("h4", {}, "Instruction"), el("pre", { class: "instr" }, S[t[2]]),
        el("div", { class: "codes" }, ...cols));
      if (j[9] >= 0) box.append(el("h4", {}, "Error"), el("pre", {}, S[j[9]]));
      if (j[6]) box.append(el("h4", {}, "Evidence details"), el("pre", { class: "details" }, JSON.stringify(j[6], null, 1)));
      if (j[7] >= 0) box.append(el("h4", {}, "Judge output"), el("pre", { class: "raw" }, S[j[7]]));
      const others = (byTask.get(j[1]) || []).filter((m) => m !== n);
      if (others.length) {
        const ul = el("ul", { class: "others" });
        for (const m of others) {
          const o = J[m];
          const li = el("li", {}, `${runs[o[0]]}, order ${o[2]}: ${o[3]} → `, el("span", { class: o[4] }, o[4]), ` (${o[5]}) `);
          const b = el("button", { type: "button" }, "open");
          b.addEventListener("click", () => detail(m));
          li.append(b);
          ul.append(li);
        }
        box.append(el("h4", {}, "Other judgments of this task"), ul);
      }
      box.hidden = false;
      draw();
      box.scrollIntoView({ block: "nearest" });
    }

    for (const id of ["f-run", "f-category", "f-signal", "f-outcome", "f-order", "f-disagree"]) $(id).addEventListener("change", apply);
    $("f-text").addEventListener("input", apply);
    $("prev").addEventListener("click", () => { page--; draw(); });
    $("next").addEventListener("click", () => { page++; draw(); });
    document.querySelectorAll(".show-disagree").forEach((b) => b.addEventListener("click", () => {
      $("f-disagree").value = b.dataset.pair;
      apply();
      $("browse").scrollIntoView();
    }));
    apply();
  }

  async function main() {
    if (typeof DecompressionStream === "undefined") {
      status.textContent = "This browser lacks DecompressionStream (Chrome 80+, Firefox 113+, Safari 16.4+): only the tables are shown.";
      return;
    }
    const lib = el("script", {});
    lib.textContent = await inflate("cf-lib");
    document.head.append(lib);
    drawFigures();
    browser(JSON.parse(await inflate("cf-data")));
    status.textContent = "";
    document.body.dataset.ready = "1";
  }
  main().catch((e) => { status.textContent = "Could not load the page's data: " + e; throw e; });
})();
