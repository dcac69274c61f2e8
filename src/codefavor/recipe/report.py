"""The recipe's report: each generator's funnel, then one table of the benched judges with a paired
test against the zero-shot base model on the same tasks (bootstrap interval of the difference and
the exact sign/McNemar p-value over tasks where the two differ)."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from codefavor.records import CATEGORIES, BenchTask, Judgment, read_records

SHORT = {"correctness": "corr", "efficiency": "eff", "security": "sec", "human-preference": "human"}


def _json(path: str | None) -> dict[str, Any]:
    p = Path(path) if path else None
    return json.loads(p.read_text(encoding="utf-8")) if p is not None and p.is_file() else {}


def _partial_funnel(folder: Path) -> dict[str, Any]:
    """The funnel of a generator stage still in progress, from its outcome lines (the last per seed)."""
    from collections import Counter

    from codefavor.generators.engine import reason_key

    latest: dict[str, dict[str, Any]] = {}
    path = folder / "outcomes.jsonl"
    if path.is_file():
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                o = json.loads(line)
                latest[str(o["id"])] = o
            except (ValueError, KeyError, TypeError):
                continue  # a line cut by a kill
    status = Counter(o.get("status", "?") for o in latest.values())
    reasons: dict[str, Counter[str]] = {}
    for o in latest.values():
        if o.get("status") not in ("kept", "good_enough", "duplicate"):
            reasons.setdefault(o.get("status", "?"), Counter())[reason_key(o.get("reason") or "")] += 1
    return {"seeds": "?", "processed": len(latest), **status, "kept": status.get("kept", 0),
            "reasons": {k: dict(v) for k, v in reasons.items()}, "in_progress": True}  # fmt: skip


def _funnel_rows(
    inputs: dict[str, dict[str, str]], reads: Sequence[str], root: Path
) -> tuple[list[str], dict[str, Any]]:
    lines = ["## Funnels", "", "| generator | seeds | processed | kept | after decontamination | after verify | "
             "rejected (why) |", "|---|---:|---:|---:|---:|---:|---|"]  # fmt: skip
    table: dict[str, Any] = {}
    for stage in reads:
        if not stage.startswith("generate-"):
            continue
        name = stage.removeprefix("generate-")
        f = _json(inputs.get(stage, {}).get("funnel")) if stage in inputs else _partial_funnel(root / stage)
        dec = _json(inputs.get(f"decontaminate-{name}", {}).get("report"))
        ver_pairs = inputs.get(f"verify-{name}", {}).get("pairs")
        after_verify = (
            sum(1 for _ in open(ver_pairs, encoding="utf-8")) if ver_pairs and Path(ver_pairs).is_file() else None
        )
        reasons = {status: r for status, r in (f.get("reasons") or {}).items() if r}
        removed = {k: v for k, v in (dec.get("removed_by_reason") or {}).items() if v}
        if removed:  # what decontamination dropped of the kept pairs, and why
            reasons = {**reasons, "decontaminated": removed}
        why = "; ".join(
            f"{status}: " + ", ".join(f"{k or '?'} {v}" for k, v in sorted(r.items(), key=lambda x: -x[1])[:4])
            for status, r in reasons.items()
        )
        statuses = {
            k: v for k, v in f.items()
            if isinstance(v, int) and not isinstance(v, bool) and k not in ("seeds", "processed", "pending")
        }  # fmt: skip
        name = f"{name} (in progress)" if f.get("in_progress") else name
        table[name] = {"funnel": f, "decontaminated": dec, "after_verify": after_verify}
        lines.append(
            f"| {name} | {f.get('seeds', 0)} | {f.get('processed', 0)} | {f.get('kept', 0)} | {dec.get('kept', '-')} | "
            f"{after_verify if after_verify is not None else '-'} | {why or ', '.join(f'{k} {v}' for k, v in statuses.items() if v)} |"
        )
    return lines, table


def _bench(
    out: dict[str, str], folder: Path, sample: Callable[[], list[BenchTask]] | None = None
) -> tuple[list[BenchTask], list[Judgment], dict[str, Any]] | None:
    """A finished bench stage's sample, judgments and summary; for one still in progress (its folder
    has judgments but no outputs yet) only the tasks judged in both orders, marked in the summary.
    Without the folder's tasks.jsonl the tasks come from `sample` (the seeded sample drawn again)."""
    path = Path(out["judgments"]) if out.get("judgments") else folder / "judgments.jsonl"
    tasks_path = path.with_name("tasks.jsonl")
    if not path.is_file() or (not tasks_path.is_file() and sample is None):
        return None
    summary = _json(out.get("summary"))
    judgments = list(read_records(path, Judgment))
    if tasks_path.is_file():
        tasks = list(read_records(tasks_path, BenchTask))
    else:
        judged = {j.task_id for j in judgments}
        tasks = [t for t in sample() if t.id in judged]  # type: ignore[misc]
    if not out.get("judgments"):
        orders: dict[str, set[str]] = {}
        for j in judgments:
            orders.setdefault(j.task_id, set()).add(j.order)
        tasks = [t for t in tasks if len(orders.get(t.id, ())) == 2]
        judgments = [j for j in judgments if any(t.id == j.task_id for t in tasks)]
        summary = {"in_progress": True}
        if not tasks:
            return None
    return tasks, judgments, summary


def render(
    recipe: Any,
    inputs: dict[str, dict[str, str]],
    reads: Sequence[str],
    root: Path,
    sample: Callable[[], list[BenchTask]] | None = None,
) -> tuple[str, dict[str, Any]]:
    """The report's markdown and the same figures as a dict (`sample`: the bench sample, drawn again
    for bench folders that lack their tasks.jsonl)."""
    from codefavor.benchmark.stats import paired_bootstrap, task_scores

    lines = [f"# Recipe {recipe.name}", ""]
    funnel_lines, funnels = _funnel_rows(inputs, reads, root)
    lines += funnel_lines + [""]
    rows: dict[str, Any] = {}
    benches = [s for s in reads if s.startswith("bench-")]
    if sample is not None:
        sample = functools.cache(sample)  # drawn at most once
    loaded = {s: _bench(inputs.get(s, {}), root / s, sample) for s in benches}
    zero = {s: task_scores(*v[:2]) for s, v in loaded.items() if s.endswith("-zero-shot") and v is not None}
    head = (
        "| judge | tasks | acc | "
        + " | ".join(SHORT[c] for c in CATEGORIES)
        + " | undecided | vs zero-shot (95% CI) | p |"
    )
    lines += ["## CodePrefBench sample (both orders averaged; accuracy in %)", "", head,
              "|---|---:|---:|" + "---:|" * len(CATEGORIES) + "---:|---|---:|"]  # fmt: skip
    for stage in benches:
        got = loaded[stage]
        label = stage.removeprefix("bench-")
        if got is None:
            lines.append(f"| {label} | - | not run (yet, or too few pairs to train) |" + " |" * (len(CATEGORIES) + 3))
            continue
        tasks, judgments, summary = got
        scores = task_scores(tasks, judgments)
        cats = {c: [scores[t.id] for t in tasks if t.category == c] for c in CATEGORIES}
        acc = 100 * sum(scores.values()) / len(scores) if scores else float("nan")
        undecided = sum(j.decision == "undecided" for j in judgments) / max(1, len(judgments))
        row: dict[str, Any] = {"tasks": len(tasks), "accuracy": round(acc, 1), "undecided": round(undecided, 3)}
        row["categories"] = {c: round(100 * sum(v) / len(v), 1) if v else None for c, v in cats.items()}
        vs, p = "-", "-"
        # the zero-shot row of the same variant (bench-VARIANT-zero-shot), or the only one
        variant = next((z for z in zero if stage.startswith(z.removesuffix("zero-shot"))), None)
        base_scores = zero.get(variant) if variant else None
        if base_scores is not None and not stage.endswith("-zero-shot"):
            common = [t for t in tasks if t.id in base_scores]
            if common:
                r = paired_bootstrap([scores[t.id] for t in common], [base_scores[t.id] for t in common])
                d = r.diff
                vs, p = f"{100 * d.point:+.1f} [{100 * d.low:+.1f}, {100 * d.high:+.1f}] (n={r.n})", f"{r.p_sign:.3f}"
                row["vs_zero_shot"] = {"diff": d.point, "low": d.low, "high": d.high, "p_sign": r.p_sign, "n": r.n,
                                       "better": r.better_1, "worse": r.better_2}  # fmt: skip
        rows[label] = row
        cells = " | ".join("-" if row["categories"][c] is None else f"{row['categories'][c]:.1f}" for c in CATEGORIES)
        name = f"{label} (in progress)" if summary.get("in_progress") else label
        if summary.get("judge"):
            row["judge"] = summary["judge"]
        row["in_progress"] = bool(summary.get("in_progress"))
        lines.append(f"| {name} | {len(tasks)} | {acc:.1f} | {cells} | {100 * undecided:.0f}% | {vs} | {p} |")
    lines += ["", "Scores per task average both orders (a task judged A in both orders scores 0.5). "
              "p: exact sign test (McNemar) over tasks where the judge and zero-shot differ."]  # fmt: skip
    return "\n".join(lines) + "\n", {"funnels": funnels, "bench": rows}
