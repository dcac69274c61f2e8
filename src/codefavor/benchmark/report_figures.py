"""The report's charts as plotly.js figures (JSON: traces + layout), built from `analysis.analyze`.

plotly.js (inlined in the page) draws them: bars with asymmetric error bars, markers, subplots as
axis domains. The figures are written as plotly.js's own JSON rather than through plotly.py's
`graph_objects`, whose validation layer costs about a second per report on a 2-core machine; the
browser test checks that every figure draws without a console error.
"""

from __future__ import annotations

import html
from typing import Any

from codefavor.benchmark.analysis import short_name
from codefavor.benchmark.anchors import ANCHORS
from codefavor.records import CATEGORIES

COLUMNS = [*CATEGORIES, "avg"]
LABELS = {
    "correctness": "Correctness",
    "efficiency": "Efficiency",
    "security": "Security",
    "human-preference": "Human pref.",
    "avg": "Avg",
}
# plotly.js's default colorway, fixed per run so a run keeps its colour in every chart.
COLORWAY = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22"]
KIND_COLORS = {"evidence": "#2b8a3e", "judge": "#1c7ed6", "fallback": "#f08c00", "none": "#adb5bd"}
ANCHOR_SYMBOLS = {"human": "star", "best LLM judge": "diamond", "CodeFavor": "triangle-up"}
DEFAULT_ANCHORS = {
    "Human developers (3, majority)",
    "Llama-3.1-405B-Instruct",
    "CodeFavor Mistral Nemo 12B, generation",
}


def _color(n: int) -> str:
    return COLORWAY[n % len(COLORWAY)]


def _errors(points: list[float], lows: list[float], highs: list[float]) -> dict[str, Any]:
    return {
        "type": "data",
        "symmetric": False,
        "array": [h - p for p, h in zip(points, highs, strict=True)],
        "arrayminus": [p - lo for p, lo in zip(points, lows, strict=True)],
    }


def _layout(title: str, height: int, **extra: Any) -> dict[str, Any]:
    return {
        "title": {"text": title},
        "height": height,
        "margin": {"l": 60, "r": 20, "t": 60, "b": 80},
        "legend": {"orientation": "h", "y": -0.25},
        "hovermode": "closest",
        **extra,
    }


def _grid(layout: dict[str, Any], titles: list[str], gap: float = 0.08) -> None:
    """Side-by-side subplots: axis pairs x/y, x2/y2, ... on equal domains, each with a title."""
    n = len(titles)
    width = (1.0 - gap * (n - 1)) / n
    for i, title in enumerate(titles):
        sfx = "" if i == 0 else str(i + 1)
        lo = i * (width + gap)
        layout[f"xaxis{sfx}"] = {"domain": [lo, lo + width], "anchor": f"y{sfx}", "automargin": True}
        layout[f"yaxis{sfx}"] = {"anchor": f"x{sfx}", "automargin": True}
        layout.setdefault("annotations", []).append(
            {
                "text": f"<b>{title}</b>",
                "x": lo + width / 2,
                "y": 1.0,
                "xref": "paper",
                "yref": "paper",
                "xanchor": "center",
                "yanchor": "bottom",
                "showarrow": False,
            }
        )


def accuracy(runs: list[dict[str, Any]]) -> dict[str, Any]:
    data = []
    for n, r in enumerate(runs):
        cols = [c for c in COLUMNS if c in r["ci"]]
        ci = r["ci"]
        pts = [ci[c]["point"] for c in cols]
        data.append(
            {
                "type": "bar",
                "name": short_name(r["name"], 40),
                "x": [LABELS[c] for c in cols],
                "y": pts,
                "marker": {"color": _color(n)},
                "error_y": _errors(pts, [ci[c]["low"] for c in cols], [ci[c]["high"] for c in cols]),
                "customdata": [[ci[c]["low"], ci[c]["high"]] for c in cols],
                "hovertemplate": "%{x}: %{y:.1f} [%{customdata[0]:.1f}, %{customdata[1]:.1f}]"
                "<extra>%{fullData.name}</extra>",
            }
        )
    for a in ANCHORS:
        vals = a.by_category()
        cols = [c for c in COLUMNS if vals.get(c) is not None]
        data.append(
            {
                "type": "scatter",
                "mode": "markers",
                "name": f"paper: {a.name}",
                "x": [LABELS[c] for c in cols],
                "y": [vals[c] for c in cols],
                "marker": {
                    "symbol": ANCHOR_SYMBOLS[a.group],
                    "size": 11,
                    "color": "#495057",
                    "line": {"width": 1, "color": "#fff"},
                },
                "legendgroup": a.group,
                "visible": True if a.name in DEFAULT_ANCHORS else "legendonly",
                "hovertemplate": "%{x}: %{y:.1f}<extra>" + html.escape(a.name) + " (paper)</extra>",
            }
        )
    layout = _layout(
        "Accuracy per category (95% bootstrap interval); markers: the paper's Table 3",
        520,
        barmode="group",
        yaxis={"title": {"text": "accuracy %"}, "range": [0, 105]},
    )
    return {"data": data, "layout": layout}


def differences(runs: list[dict[str, Any]], comparisons: list[dict[str, Any]]) -> dict[str, Any]:
    data = []
    for n, (a, b) in enumerate(sorted({(c["a"], c["b"]) for c in comparisons})):
        rows = [c for c in comparisons if (c["a"], c["b"]) == (a, b)]
        diffs = [c["diff"] for c in rows]
        data.append(
            {
                "type": "scatter",
                "mode": "markers",
                "name": f"{short_name(runs[a]['name'], 25)} − {short_name(runs[b]['name'], 25)}",
                "y": [LABELS[c["category"]] for c in rows],
                "x": diffs,
                "marker": {"size": 10, "color": _color(n)},
                "error_x": _errors(diffs, [c["low"] for c in rows], [c["high"] for c in rows]),
                "customdata": [[c["low"], c["high"], c["p_bootstrap"]] for c in rows],
                "hovertemplate": "%{y}: %{x:+.1f} [%{customdata[0]:+.1f}, %{customdata[1]:+.1f}], "
                "p=%{customdata[2]:.3g}<extra>%{fullData.name}</extra>",
            }
        )
    layout = _layout(
        "Paired difference in accuracy (points, 95% paired bootstrap interval)",
        160 + 60 * len(COLUMNS),
        xaxis={"title": {"text": "difference (points)"}, "zeroline": True},
        yaxis={"autorange": "reversed", "type": "category"},
        shapes=[
            {
                "type": "line",
                "xref": "x",
                "yref": "paper",
                "x0": 0,
                "x1": 0,
                "y0": 0,
                "y1": 1,
                "line": {"dash": "dash", "color": "#555"},
            }
        ],
    )
    return {"data": data, "layout": layout}


def signals(runs: list[dict[str, Any]]) -> dict[str, Any]:
    layout = _layout("", 540, barmode="stack")
    _grid(layout, ["Share of judgments by signal kind", "Precision per signal (95% Wilson)"], gap=0.1)
    layout["yaxis"].update(title={"text": "% of judgments"}, range=[0, 100])
    layout["yaxis2"].update(title={"text": "% right of decided"}, range=[0, 105])
    cats = [(r, c) for r in runs for c in CATEGORIES if c in r["summary"]["categories"]]
    x = [[short_name(r["name"], 18) for r, _ in cats], [LABELS[c] for _, c in cats]]
    data = []
    for k in KIND_COLORS:
        ys = [sum(s["coverage"] for s in r["signals"] if s["category"] == c and s["kind"] == k) for r, c in cats]
        if any(ys):
            data.append(
                {
                    "type": "bar",
                    "name": k,
                    "x": x,
                    "y": ys,
                    "marker": {"color": KIND_COLORS[k]},
                    "hovertemplate": "%{x}: %{y:.1f}%<extra>" + k + "</extra>",
                }
            )
    sig = [(r, s) for r in runs for s in r["signals"] if s["precision"] is not None]
    pts = [s["precision"] for _, s in sig]
    data.append(
        {
            "type": "bar",
            "xaxis": "x2",
            "yaxis": "y2",
            "showlegend": False,
            "x": [
                [short_name(r["name"], 18) for r, _ in sig],
                [f"{LABELS[s['category']]}: {s['signal']}" for _, s in sig],
            ],
            "y": pts,
            "marker": {"color": [KIND_COLORS[s["kind"]] for _, s in sig]},
            "error_y": _errors(pts, [s["precision_low"] for _, s in sig], [s["precision_high"] for _, s in sig]),
            "text": [f"{s['right']}/{s['decided']}" for _, s in sig],
            "textposition": "none",
            "hovertemplate": "%{x}: %{y:.1f}% (%{text} right/decided)<extra></extra>",
        }
    )
    return {"data": data, "layout": layout}


def position(runs: list[dict[str, Any]]) -> dict[str, Any]:
    layout = _layout("", 480, barmode="group")
    _grid(layout, ["Accuracy by order", "Flip rate (%)", "Picks of position A (%)"])
    for ax in ("yaxis", "yaxis2", "yaxis3"):
        layout[ax]["range"] = [0, 105]
    layout["shapes"] = [
        {
            "type": "line",
            "xref": "x3 domain",
            "yref": "y3",
            "x0": 0,
            "x1": 1,
            "y0": 50,
            "y1": 50,
            "line": {"dash": "dot", "color": "#888"},
        }
    ]
    data = []
    for n, r in enumerate(runs):
        pos = r["position"]
        cats = [c for c in CATEGORIES if c in pos]
        xs = [LABELS[c] for c in cats]
        name = short_name(r["name"], 25)
        for order, pattern in (("AB", ""), ("BA", "/")):
            data.append(
                {
                    "type": "bar",
                    "name": f"{name} {order}",
                    "x": xs,
                    "y": [pos[c][f"acc_{order}"] for c in cats],
                    "marker": {"color": _color(n), "pattern": {"shape": pattern}},
                    "legendgroup": str(n),
                    "offsetgroup": f"{n}{order}",
                }
            )
        for axis, key in (("2", "flip_rate"), ("3", "a_rate")):
            data.append(
                {
                    "type": "bar",
                    "name": name,
                    "x": xs,
                    "y": [pos[c][key] for c in cats],
                    "xaxis": f"x{axis}",
                    "yaxis": f"y{axis}",
                    "marker": {"color": _color(n)},
                    "legendgroup": str(n),
                    "showlegend": False,
                    "offsetgroup": str(n),
                }
            )
    return {"data": data, "layout": layout}


def cost(runs: list[dict[str, Any]]) -> dict[str, Any]:
    layout = _layout("", 440, barmode="group")
    _grid(layout, ["Seconds per judgment", "Tokens per judgment", "Requests per judgment"])
    names = [short_name(r["name"], 25) for r in runs]
    bars = [
        ("wall clock / judgments", "", "wall_s_per_judgment", "#1f77b4"),
        ("mean judge latency", "", "latency_s_mean", "#aec7e8"),
        ("prompt tokens", "2", "prompt_tokens_per_judgment", "#ff7f0e"),
        ("completion tokens", "2", "completion_tokens_per_judgment", "#ffbb78"),
        ("requests (cache hits excluded)", "3", "requests_per_judgment", "#2ca02c"),
    ]
    data = [
        {
            "type": "bar",
            "name": label,
            "x": names,
            "y": [r["cost"][key] for r in runs],
            "xaxis": f"x{axis}",
            "yaxis": f"y{axis}",
            "marker": {"color": color},
        }
        for label, axis, key, color in bars
    ]
    return {"data": data, "layout": layout}


def figures(result: dict[str, Any]) -> dict[str, Any]:
    """Every chart of the page, keyed by the element it goes in (`fig-<key>`)."""
    runs = result["runs"]
    figs = {"accuracy": accuracy(runs)}
    if result["comparisons"]:
        figs["differences"] = differences(runs, result["comparisons"])
    figs.update(signals=signals(runs), position=position(runs), cost=cost(runs))
    return figs
