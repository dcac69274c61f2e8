"""`codefavor report`: one self-contained static HTML page for one or more bench run folders.

The page needs no network: plotly.js (from the installed `plotly` package) and highlight.js
(vendored in `assets/`, BSD-3-Clause) are inlined gzip-compressed and base64-encoded, and so are
the judgments and the tasks' text (each instruction and code stored once, whichever order or run
uses it); the browser inflates them with `DecompressionStream` and highlights a code only when its
judgment is opened. The summary tables are plain HTML and read without JavaScript. The charts are
plotly.js figures from `report_figures`; page logic (filters, table, details) is in
`assets/report.js`.
"""

from __future__ import annotations

import base64
import gzip
import html
import json
import math
import os
import re
import time
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import Any

from codefavor.benchmark import analysis as an
from codefavor.benchmark.anchors import ANCHORS, CITATION
from codefavor.benchmark.report_figures import COLUMNS, KIND_COLORS, LABELS, figures
from codefavor.errors import CodefavorError, MissingExtraError
from codefavor.records import VERIFIABLE, BenchTask

MAX_RAW_CHARS = 4000  # a model's review beyond this is cut in the page (the run folder keeps it whole)


def _plotly_js() -> str:
    try:
        from plotly.offline import get_plotlyjs
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise MissingExtraError("report", "plotly") from e
    return get_plotlyjs()


def _asset(name: str) -> str:
    return resources.files("codefavor.benchmark").joinpath("assets", name).read_text(encoding="utf-8")


def _library() -> str:
    """plotly.js + highlight.js, compressed and base64-encoded. The result depends only on the
    installed plotly and the vendored highlight.js, so it is kept in the user cache (compressing
    5 MB of JavaScript is the slowest step of a render); any cache problem just recompresses."""
    import hashlib

    text = _plotly_js() + "\n;\n" + _asset("highlight.min.js")
    key = hashlib.sha256(text.encode("utf-8")).hexdigest()[:20]
    try:
        from platformdirs import user_cache_dir

        path = (
            Path(os.environ.get("CODEFAVOR_REPORT_CACHE") or Path(user_cache_dir("codefavor")) / "report")
            / f"lib-{key}.b64"
        )
        if path.exists():
            return path.read_text(encoding="ascii")
    except OSError:
        path = None
    packed = _pack(text, level=9)
    if path is not None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
            tmp.write_text(packed, encoding="ascii")
            tmp.replace(path)
        except OSError:
            pass
    return packed


# ----------------------------------------------------------------------------------------------- data


class _Strings:
    """One copy of each text (codes repeat across orders and runs); JSON holds indices."""

    def __init__(self) -> None:
        self.index: dict[str, int] = {}
        self.items: list[str] = []

    def __call__(self, s: str | None) -> int:
        if s is None:
            return -1
        i = self.index.get(s)
        if i is None:
            i = self.index[s] = len(self.items)
            self.items.append(s)
        return i


def payload(runs: Sequence[an.Run], result: dict[str, Any]) -> dict[str, Any]:
    """The judgment browser's data: tasks, judgments and the texts they point at."""
    strings = _Strings()
    task_index: dict[str, int] = {}
    tasks: list[list[Any]] = []
    by_id: dict[str, BenchTask] = {}
    for r in runs:
        for t in r.tasks:
            if t.id not in task_index:
                task_index[t.id] = len(tasks)
                by_id[t.id] = t
                tasks.append(
                    [
                        t.task_id,
                        t.category,
                        strings(t.instruction),
                        strings(t.choices[0]),
                        strings(t.choices[1]),
                        t.gt_choice,
                    ]
                )
    judgments: list[list[Any]] = []
    for n, r in enumerate(runs):
        for j in r.judgments:
            t = by_id[j.task_id]
            raw = j.raw_output
            if raw is not None and len(raw) > MAX_RAW_CHARS:
                raw = (
                    raw[:MAX_RAW_CHARS]
                    + f"\n… ({len(j.raw_output or '') - MAX_RAW_CHARS} more characters in the run folder)"
                )
            judgments.append(
                [
                    n,
                    task_index[j.task_id],
                    j.order,
                    j.decision,
                    an.task_outcome(j, t),
                    j.signal or "none",
                    j.details or None,  # an object: the page pretty-prints it
                    strings(raw),
                    None if j.latency_s is None else round(j.latency_s, 4),
                    strings(j.error),
                    None if j.prob_a is None else round(j.prob_a, 4),
                ]
            )
    disagree = {k: [task_index[i] for i in v] for k, v in result["disagreements"].items()}
    return {
        "runs": [r.name for r in runs],
        "strings": strings.items,
        "tasks": tasks,
        "judgments": judgments,
        "disagree": disagree,
    }


def _pack(text: str, level: int = 6) -> str:
    # mtime=0: the same input gives the same page bytes.
    return base64.b64encode(gzip.compress(text.encode("utf-8"), compresslevel=level, mtime=0)).decode("ascii")


def _script_json(obj: Any) -> str:
    # Inside <script type="application/json">, "</" would end the element.
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).replace("</", "<\\/")


# ----------------------------------------------------------------------------------------------- HTML


def _f(x: float | None, digits: int = 1) -> str:
    return "–" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.{digits}f}"


def _p(p: float | None) -> str:
    if p is None:
        return "–"
    return "<0.001" if p < 0.001 else f"{p:.3f}"


def _accuracy_table(result: dict[str, Any]) -> str:
    head = "".join(f"<th>{LABELS[c]}</th>" for c in COLUMNS)
    rows = []
    for r in result["runs"]:
        cells = []
        for c in COLUMNS:
            ci = r["ci"].get(c)
            cells.append(
                "<td>–</td>"
                if ci is None
                else f'<td><b>{_f(ci["point"])}</b> <span class="ci">[{_f(ci["low"])}, {_f(ci["high"])}]</span></td>'
            )
        rows.append(f'<tr><th class="run">{html.escape(r["name"])}</th>{"".join(cells)}</tr>')
    for a in ANCHORS:
        vals = a.by_category()
        cells = "".join(f"<td>{_f(vals.get(c))}</td>" for c in COLUMNS)
        rows.append(
            f'<tr class="anchor"><th class="run">paper: {html.escape(a.name)} <span class="tag">'
            f"{html.escape(a.group)}</span></th>{cells}</tr>"
        )
    return (
        f'<table class="acc"><thead><tr><th>judge</th>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>'
        f'<p class="note">Avg = mean of {", ".join(VERIFIABLE)}. Paper rows: {html.escape(CITATION)} '
        "(human developers: 3 per task, majority vote; human preference has no human row).</p>"
    )


def _runs_table(result: dict[str, Any]) -> str:
    rows = []
    for r in result["runs"]:
        c = r["cost"]
        judged = f"{r['n_tasks']}" + (
            f" of {r['n_tasks_manifest']}" if r["n_tasks_manifest"] not in (None, r["n_tasks"]) else ""
        )
        rows.append(
            "<tr>"
            f'<th class="run">{html.escape(r["name"])}</th><td><code>{html.escape(r["judge"])}</code></td>'
            f"<td><code>{html.escape(r['path'])}</code></td>"
            f"<td>{html.escape(str(r['split']))}</td><td>{'both' if r['both_orders'] else 'A-B'}</td>"
            f"<td>{judged}</td><td>{c['judgments']}</td><td>{c['failed']}</td>"
            f"<td>{_f(c['wall_s'], 0)}</td><td>{_f(None if c['latency_s_mean'] is None else 1000 * c['latency_s_mean'])}</td>"
            f"<td>{_f(c['tokens_per_judgment'], 0)}</td><td>{c['requests']}</td><td>{c['cache_hits']}</td>"
            "</tr>"
        )
    return (
        "<table><thead><tr><th>run</th><th>judge</th><th>folder</th><th>split</th><th>orders</th><th>tasks</th><th>judgments</th>"
        "<th>failed</th><th>wall s</th><th>ms / judgment</th><th>tokens / judgment</th><th>requests</th>"
        f"<th>cache hits</th></tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )


def _comparison_table(result: dict[str, Any]) -> str:
    if not result["comparisons"]:
        return '<p class="note">One run: paired comparisons need two or more run folders.</p>'
    runs = result["runs"]
    rows = []
    for c in result["comparisons"]:
        sig = c.get("p_holm") is not None and c["p_holm"] < 0.05
        better = "–" if c["better_a"] is None else f"{c['better_a']} / {c['better_b']}"
        rows.append(
            f'<tr class="{"sig" if sig else ""}"><td>{html.escape(runs[c["a"]]["name"])}</td>'
            f"<td>{html.escape(runs[c['b']]['name'])}</td><td>{LABELS[c['category']]}</td><td>{c['n']}</td>"
            f"<td>{_f(c['acc_a'])}</td><td>{_f(c['acc_b'])}</td><td><b>{c['diff']:+.1f}</b> "
            f'<span class="ci">[{c["low"]:+.1f}, {c["high"]:+.1f}]</span></td><td>{better}</td>'
            f"<td>{_p(c['p_sign'])}</td><td>{_p(c['p_bootstrap'])}</td><td>{_p(c.get('p_holm'))}</td></tr>"
        )
    dis = []
    for key, ids in result["disagreements"].items():
        a, b = (int(x) for x in key.split("-"))
        dis.append(
            f"<li>{html.escape(runs[a]['name'])} vs {html.escape(runs[b]['name'])}: {len(ids)} tasks scored differently "
            f'<button type="button" class="show-disagree" data-pair="{key}">show them in the table</button></li>'
        )
    return (
        "<table><thead><tr><th>run a</th><th>run b</th><th>category</th><th>common tasks</th><th>acc a</th>"
        "<th>acc b</th><th>a − b [95% CI]</th><th>tasks a / b better</th><th>p McNemar</th><th>p bootstrap</th>"
        f"<th>p Holm</th></tr></thead><tbody>{''.join(rows)}</tbody></table><ul>{''.join(dis)}</ul>"
    )


def _signals_table(result: dict[str, Any]) -> str:
    rows = []
    for r in result["runs"]:
        for s in r["signals"]:
            ci = (
                ""
                if s["precision"] is None
                else f' <span class="ci">[{_f(s["precision_low"])}, {_f(s["precision_high"])}]</span>'
            )
            rows.append(
                f"<tr><td>{html.escape(r['name'])}</td><td>{LABELS[s['category']]}</td><td>{html.escape(s['signal'])}</td>"
                f'<td><span class="kind" style="background:{KIND_COLORS[s["kind"]]}">{s["kind"]}</span></td>'
                f"<td>{s['seen']}</td><td>{_f(s['coverage'])}</td><td>{s['decided']}</td><td>{s['right']}</td>"
                f"<td>{_f(s['precision'])}{ci}</td></tr>"
            )
    return (
        "<table><thead><tr><th>run</th><th>category</th><th>signal</th><th>kind</th><th>judgments</th>"
        "<th>coverage %</th><th>decided</th><th>right</th><th>precision % [95% Wilson]</th></tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


def _position_table(result: dict[str, Any]) -> str:
    rows = []
    for r in result["runs"]:
        for c, p in r["position"].items():
            rows.append(
                f"<tr><td>{html.escape(r['name'])}</td><td>{LABELS[c]}</td><td>{_f(p['acc_AB'])}</td><td>{_f(p['acc_BA'])}</td>"
                f"<td>{_f(p['flip_rate'])}</td><td>{_f(p['consistent_accuracy'])}</td><td>{_f(p['a_rate'])}</td></tr>"
            )
    return (
        "<table><thead><tr><th>run</th><th>category</th><th>acc A-B</th><th>acc B-A</th><th>flip %</th>"
        f"<th>consistent acc</th><th>picks A %</th></tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )


def render(runs: Sequence[an.Run], result: dict[str, Any], *, title: str = "codefavor report") -> str:
    """The whole page as one string."""
    figs = figures(result)
    page = _asset("report.html")
    parts = {
        "TITLE": html.escape(title),
        "CSS": _asset("highlight-github.min.css") + "\n" + _asset("report.css"),
        "GENERATED": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "METHOD": html.escape(result["method"]["text"]),
        "RUNS_TABLE": _runs_table(result),
        "ACCURACY_TABLE": _accuracy_table(result),
        "COMPARISON_TABLE": _comparison_table(result),
        "SIGNALS_TABLE": _signals_table(result),
        "POSITION_TABLE": _position_table(result),
        "FIGURES": _script_json(figs),
        "LIB": _library(),
        "DATA": _pack(json.dumps(payload(runs, result), ensure_ascii=False, separators=(",", ":"))),
        "JS": _asset("report.js"),
    }
    # One pass, so a placeholder-like text inside a value (a run name, a code) is never expanded.
    return re.sub(r"\{\{([A-Z_]+)\}\}", lambda m: parts[m.group(1)], page)


def write_report(
    run_dirs: Sequence[str | Path],
    output: str | Path,
    *,
    data_dir: str | Path | None = None,
    task_files: Sequence[str | Path] = (),
    tasks: Sequence[BenchTask] | None = None,
    n_boot: int = 2000,
    seed: int = 0,
    ci_unit: an.CiUnit = "seed",
    title: str | None = None,
    names: Sequence[str] = (),
    json_output: str | Path | None = None,
) -> Path:
    """Read the run folders, analyse them and write the page atomically; return its path.
    `json_output` also saves the analysis (every number on the page) as JSON."""
    if ci_unit not in ("seed", "pair"):
        raise CodefavorError(f"`ci_unit` {ci_unit!r}: expected seed or pair")
    if n_boot < 100:
        raise CodefavorError(f"`bootstrap` {n_boot}: expected at least 100 resamples")
    runs = an.load_runs(run_dirs, data_dir=data_dir, task_files=task_files, tasks=tasks, names=names)
    result = an.analyze(runs, n_boot=n_boot, seed=seed, ci_unit=ci_unit)
    text = render(runs, result, title=title or "codefavor report: " + ", ".join(r.name for r in runs))
    out = Path(output)
    _write(out, text)
    if json_output is not None:
        _write(Path(json_output), json.dumps(result, indent=1, ensure_ascii=False) + "\n")
    return out


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
