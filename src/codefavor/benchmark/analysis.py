"""What the HTML report shows, as plain data: one or more bench run folders analysed together.

`load_runs` reads each folder through the run-folder protocol (`manifest.json`, and
`judgments.jsonl` through `runner.load_judgments`) and finds the tasks the judgments refer to: the
CodePrefBench categories the manifest names (from `--data`, which may also be one's own task file,
or the usual resolution) plus any task files given. `analyze` adds, per run: `report.summarize` (the one accuracy rule: undecided counts
half, Avg of the three verifiable categories), bootstrap intervals per category and for Avg,
coverage and precision per signal, position bias, and cost per judgment; and, per pair of runs,
paired differences on their common tasks with a paired bootstrap and McNemar's exact (sign) test,
Holm-adjusted over the page, and the tasks where the two runs disagree. Methods are in `stats`.
"""

from __future__ import annotations

import math
import statistics
import zlib
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from codefavor import run_folder
from codefavor.benchmark import data as bench_data
from codefavor.benchmark import stats
from codefavor.benchmark.report import picked_choice, summarize
from codefavor.benchmark.runner import JUDGMENTS, load_judgments
from codefavor.errors import CodefavorError
from codefavor.records import CATEGORIES, VERIFIABLE, BenchTask, Judgment

CiUnit = Literal["seed", "pair"]


@dataclass
class Run:
    name: str
    path: Path
    manifest: dict[str, Any]
    judgments: list[Judgment]
    tasks: list[BenchTask] = field(default_factory=list)  # the tasks this run judged, in benchmark order


def read_manifest(path: str | Path) -> dict[str, Any]:
    """A bench run folder's manifest (the run-folder rule: `settings` and `info`), or one clear error."""
    path = Path(path)
    manifest = run_folder.read_manifest(path) if (path / JUDGMENTS).exists() else None
    if manifest is None:
        raise CodefavorError(f"{path}: not a bench run folder (needs {run_folder.MANIFEST} and {JUDGMENTS})")
    if manifest.get("kind") != "bench" or not isinstance(manifest.get("settings", {}).get("judge"), str):
        raise CodefavorError(f"{path / run_folder.MANIFEST}: not a bench run (kind {manifest.get('kind')!r})")
    return manifest


def judge_of(manifest: dict[str, Any]) -> str:
    return str(manifest["settings"]["judge"])


def load_runs(
    paths: Sequence[str | Path],
    *,
    data_dir: str | Path | None = None,
    task_files: Sequence[str | Path] = (),
    tasks: Sequence[BenchTask] | None = None,
    names: Sequence[str] = (),
) -> list[Run]:
    """Read run folders and attach their tasks. `tasks` (e.g. from `bench --report`) skips loading;
    `names` label the runs in order (default: the judge spec, shortened)."""
    if not paths:
        raise CodefavorError("no run folder given")
    if len(names) > len(paths):
        raise CodefavorError(f"{len(names)} names for {len(paths)} run folders")
    manifests = [read_manifest(p) for p in paths]
    if tasks is None:
        # The release categories the runs judged, plus the users' own task files (`bench --data FILE`).
        shas = [m["settings"].get("data_sha256") or {} for m in manifests]
        cats = [c for c in CATEGORIES if any(c in s for s in shas)]
        if data_dir is not None and any("user-data" in s for s in shas):
            cats = list(CATEGORIES)  # a run over the user's own files: `data` is those files, every category
        loaded: list[BenchTask] = bench_data.load_tasks(cats, data_dir) if cats else []  # type: ignore[arg-type]
        for f in task_files:
            loaded.extend(bench_data.load_user_tasks(f))
        tasks = loaded
    labels = list(names) + [short_name(judge_of(m)) for m in manifests[len(names) :]]
    runs = []
    for p, m, name in zip(paths, manifests, labels, strict=True):
        label = name if labels.count(name) == 1 else f"{name} ({Path(p).name})"
        js = load_judgments(p, tasks, ("AB", "BA"), judge_of(m))
        judged = {j.task_id for j in js}
        if not judged:
            raise CodefavorError(
                f"{p}: no judgment refers to a loaded task; pass `data` or `tasks` with the run's tasks"
            )
        runs.append(Run(label, Path(p), m, js, [t for t in tasks if t.id in judged]))
    return runs


def short_name(spec: str, limit: int = 32) -> str:
    return spec if len(spec) <= limit else spec[: limit - 1] + "…"


def signal_kind(signal: str | None, judge: str) -> str:
    """Evidence (or the judge's own signal) vs. the fallback judge vs. no signal at all."""
    if signal is None or signal == "none":
        return "none"
    if signal.startswith("fallback"):
        # "fallback/<spec>" is the fallback judge; "fallback-patterns" is security evidence for unparsable code.
        return "fallback" if signal.startswith("fallback/") else "evidence"
    return "evidence" if judge.startswith("evidence") else "judge"


def _seed(seed: int, *parts: str) -> int:
    # One stream per category: the same resamples for every run, so adding a run changes nothing else.
    return seed + zlib.crc32("/".join(parts).encode("utf-8"))


def _elapsed(manifest: dict[str, Any]) -> float | None:
    try:
        fmt = "%Y-%m-%dT%H:%M:%S%z"
        return (
            datetime.strptime(manifest["finished_at"], fmt) - datetime.strptime(manifest["started_at"], fmt)
        ).total_seconds()
    except (KeyError, TypeError, ValueError):
        return None


def _cost(run: Run) -> dict[str, Any]:
    js = run.judgments
    lat = [j.latency_s for j in js if j.latency_s is not None]
    prompt = sum((j.usage or {}).get("prompt_tokens", 0) for j in js)
    completion = sum((j.usage or {}).get("completion_tokens", 0) for j in js)
    other = sum(v for j in js for k, v in (j.usage or {}).items() if k not in ("prompt_tokens", "completion_tokens"))
    cached = sum(bool((j.details or {}).get("cached")) for j in js)
    with_usage = sum(j.usage is not None for j in js)
    n = len(js)
    wall = _elapsed(run.manifest)
    return {
        "judgments": n,
        "failed": sum(j.error is not None for j in js),
        "wall_s": wall,
        "wall_s_per_judgment": None if wall is None or not n else wall / n,
        "latency_s_mean": statistics.fmean(lat) if lat else None,
        "latency_s_median": statistics.median(lat) if lat else None,
        "latency_s_total": sum(lat),
        "prompt_tokens_per_judgment": prompt / n if n else None,
        "completion_tokens_per_judgment": completion / n if n else None,
        "tokens_per_judgment": (prompt + completion + other) / n if n else None,
        "requests": with_usage - cached,
        "cache_hits": cached,
        "requests_per_judgment": (with_usage - cached) / n if n else None,
    }


def _signals(run: Run, summary: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for cat, c in summary["categories"].items():
        seen_total = sum(v.get("seen", 0) for v in c["signals"].values()) or 1
        for sig, v in c["signals"].items():
            decided, right = v.get("decided", 0), v.get("right", 0)
            lo, hi = stats.wilson(right, decided)
            out.append(
                {
                    "category": cat,
                    "signal": sig,
                    "kind": signal_kind(sig, judge_of(run.manifest)),
                    "seen": v.get("seen", 0),
                    "coverage": 100.0 * v.get("seen", 0) / seen_total,
                    "decided": decided,
                    "right": right,
                    "precision": 100.0 * right / decided if decided else None,
                    "precision_low": None if math.isnan(lo) else 100.0 * lo,
                    "precision_high": None if math.isnan(hi) else 100.0 * hi,
                }
            )
    return out


def _position(run: Run, summary: dict[str, Any]) -> dict[str, Any]:
    by_cat: dict[str, list[Judgment]] = defaultdict(list)
    cat_of = {t.id: t.category for t in run.tasks}
    for j in run.judgments:
        by_cat[cat_of[j.task_id]].append(j)
    out = {}
    for cat, c in summary["categories"].items():
        decided = [j for j in by_cat[cat] if j.decision != "undecided"]
        out[cat] = {
            "acc_AB": c.get("acc_AB"),
            "acc_BA": c.get("acc_BA"),
            "flip_rate": c.get("flip_rate"),
            "consistent_accuracy": c.get("consistent_accuracy"),
            "consistent_coverage": c.get("consistent_coverage"),
            "a_rate": 100.0 * sum(j.decision == "A" for j in decided) / len(decided) if decided else None,
        }
    return out


def _intervals(
    tasks: Sequence[BenchTask], scores: dict[str, float], *, n_boot: int, level: float, seed: int, unit: CiUnit
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    draws: dict[str, Any] = {}
    for cat in CATEGORIES:
        ts = [t for t in tasks if t.category == cat]
        if not ts:
            continue
        xs = [scores[t.id] for t in ts]
        clusters = [t.task_id for t in ts] if unit == "seed" else None
        d = stats.bootstrap_means(xs, clusters, n_boot=n_boot, seed=_seed(seed, cat))
        lo, hi = stats.percentiles(d, level)
        out[cat] = {"point": 100.0 * sum(xs) / len(xs), "low": 100.0 * lo, "high": 100.0 * hi, "n": len(ts)}
        draws[cat] = d
    if all(c in draws for c in VERIFIABLE):
        # Avg: the mean of the three categories, each resampled on its own (stratified bootstrap).
        avg = sum(draws[c] for c in VERIFIABLE) / len(VERIFIABLE)
        lo, hi = stats.percentiles(avg, level)
        out["avg"] = {"point": sum(out[c]["point"] for c in VERIFIABLE) / 3, "low": 100.0 * lo, "high": 100.0 * hi}
    return out


def _compare(
    a: Run, b: Run, sa: dict[str, float], sb: dict[str, float], *, n_boot: int, level: float, seed: int, unit: CiUnit
) -> tuple[list[dict[str, Any]], list[str]]:
    common = [t for t in a.tasks if t.id in sb]
    rows: list[dict[str, Any]] = []
    draws: dict[str, Any] = {}
    for cat in CATEGORIES:
        ts = [t for t in common if t.category == cat]
        if not ts:
            continue
        x, y = [sa[t.id] for t in ts], [sb[t.id] for t in ts]
        clusters = [t.task_id for t in ts] if unit == "seed" else None
        r = stats.paired_bootstrap(x, y, clusters, n_boot=n_boot, level=level, seed=_seed(seed, cat))
        draws[cat] = stats.bootstrap_means(
            [p - q for p, q in zip(x, y, strict=True)], clusters, n_boot=n_boot, seed=_seed(seed, cat)
        )
        rows.append(
            {
                "category": cat,
                "n": r.n,
                "acc_a": 100.0 * sum(x) / len(x),
                "acc_b": 100.0 * sum(y) / len(y),
                "diff": 100.0 * r.diff.point,
                "low": 100.0 * r.diff.low,
                "high": 100.0 * r.diff.high,
                "p_bootstrap": r.p_bootstrap,
                "better_a": r.better_1,
                "better_b": r.better_2,
                "p_sign": r.p_sign,
            }
        )
    if all(c in draws for c in VERIFIABLE):
        avg = sum(draws[c] for c in VERIFIABLE) / len(VERIFIABLE)
        lo, hi = stats.percentiles(avg, level)
        point = statistics.fmean(r["diff"] for r in rows if r["category"] in VERIFIABLE)
        p = stats.bootstrap_p(avg) if point else 1.0
        rows.append(
            {
                "category": "avg",
                "n": sum(r["n"] for r in rows if r["category"] in VERIFIABLE),
                "acc_a": statistics.fmean(r["acc_a"] for r in rows if r["category"] in VERIFIABLE),
                "acc_b": statistics.fmean(r["acc_b"] for r in rows if r["category"] in VERIFIABLE),
                "diff": point,
                "low": 100.0 * lo,
                "high": 100.0 * hi,
                "p_bootstrap": p,
                "better_a": None,
                "better_b": None,
                "p_sign": None,
            }
        )
    disagree = [t.id for t in common if sa[t.id] != sb[t.id]]
    return rows, disagree


def analyze(
    runs: Sequence[Run], *, n_boot: int = 2000, level: float = 0.95, seed: int = 0, ci_unit: CiUnit = "seed"
) -> dict[str, Any]:
    """Everything the page shows, as JSON-able data (percentages on a 0-100 scale)."""
    scores = [stats.task_scores(r.tasks, r.judgments) for r in runs]
    out_runs = []
    for r, sc in zip(runs, scores, strict=True):
        summary = summarize(r.tasks, r.judgments)
        out_runs.append(
            {
                "name": r.name,
                "path": str(r.path),
                "judge": judge_of(r.manifest),
                "split": r.manifest["info"].get("split"),
                "both_orders": bool(r.manifest["info"].get("both_orders")),
                "n_tasks_manifest": r.manifest["info"].get("n_tasks"),
                "n_tasks": len(r.tasks),
                "started_at": r.manifest.get("started_at"),
                "finished_at": r.manifest.get("finished_at"),
                "summary": summary,
                "ci": _intervals(r.tasks, sc, n_boot=n_boot, level=level, seed=seed, unit=ci_unit),
                "signals": _signals(r, summary),
                "position": _position(r, summary),
                "cost": _cost(r),
            }
        )
    comparisons: list[dict[str, Any]] = []
    disagreements: dict[str, list[str]] = {}
    for i in range(len(runs)):
        for k in range(i + 1, len(runs)):
            rows, dis = _compare(
                runs[i], runs[k], scores[i], scores[k], n_boot=n_boot, level=level, seed=seed, unit=ci_unit
            )
            for row in rows:
                comparisons.append({"a": i, "b": k, **row})
            disagreements[f"{i}-{k}"] = dis
    tested = [n for n, c in enumerate(comparisons) if c["category"] != "avg"]
    for n, p in zip(tested, stats.holm([comparisons[n]["p_bootstrap"] for n in tested]), strict=True):
        comparisons[n]["p_holm"] = p
    return {
        "runs": out_runs,
        "comparisons": comparisons,
        "disagreements": disagreements,
        "method": {
            "bootstrap": n_boot,
            "level": level,
            "seed": seed,
            "ci_unit": ci_unit,
            "text": method_text(n_boot, level, seed, ci_unit),
        },
    }


def method_text(n_boot: int, level: float, seed: int, unit: CiUnit) -> str:
    what = (
        "seed tasks (task_id: the pairs built from one benchmark problem move together)"
        if unit == "seed"
        else "pairs (each task on its own)"
    )
    return (
        f"Accuracy counts an undecided verdict as half; with both orders a task scores the mean of its two "
        f"orders. {int(level * 100)}% intervals: percentile bootstrap, {n_boot} resamples of {what}, numpy PCG64 "
        f"seeded with {seed} plus a CRC32 of the category, the same resamples for every run; Avg resamples the "
        f"three verifiable categories separately and averages them. Paired differences use the same resamples of "
        f"per-task score differences on the tasks both runs judged; p (bootstrap) is twice the smaller share "
        f"(1 + k) / (1 + B) of resampled differences on either side of 0; p (McNemar) is the exact sign test on the tasks where one "
        f"run scored higher; p (Holm) adjusts the bootstrap p-values over every comparison on the page. "
        f"Precision intervals are Wilson score intervals."
    )


def task_outcome(j: Judgment, t: BenchTask) -> str:
    pick = picked_choice(j)
    return "undecided" if pick is None else ("right" if pick == t.gt_choice else "wrong")
