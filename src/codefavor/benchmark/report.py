"""Accuracy by the CodePrefBench protocol, position-bias figures, and the printed/saved report.

Accuracy = (correct + 0.5 x undecided) / N; a failed judgment is undecided and also counted as
failed. "Avg" is the mean of correctness, efficiency and security; human preference is reported
beside it. With both orders, a category's accuracy is the mean over both orders, and the report adds
each order's accuracy, the flip rate (tasks whose picked code changes when the codes are swapped)
and the accuracy of the order-consistent decisions. Every category also says how many judgments the
evidence decided and how many a fallback guessed (signals `fallback/...`), with the share of each
that was right, and the accuracy of the evidence alone (the guesses counted as undecided).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from codefavor.judges import JUDGE_ONLY_SIGNALS
from codefavor.records import CATEGORIES, VERIFIABLE, BenchTask, Judgment


def picked_choice(j: Judgment) -> int | None:
    """Which of the task's original choices (0/1) the judgment preferred, or None if undecided."""
    if j.decision == "undecided":
        return None
    first = j.decision == "A"
    return (0 if first else 1) if j.order == "AB" else (1 if first else 0)


def _acc(correct: int, undecided: int, n: int) -> float | None:
    return None if n == 0 else 100.0 * (correct + 0.5 * undecided) / n


def summarize(tasks: Sequence[BenchTask], judgments: Sequence[Judgment]) -> dict[str, Any]:
    by_task: dict[str, dict[str, Judgment]] = defaultdict(dict)
    for j in judgments:
        by_task[j.task_id][j.order] = j
    cats: dict[str, Any] = {}
    for cat in CATEGORIES:
        ts = [t for t in tasks if t.category == cat]
        if not ts:
            continue
        c: dict[str, Any] = {"n": len(ts)}
        counts: dict[str, dict[str, int]] = {o: defaultdict(int) for o in ("AB", "BA")}
        signals: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        flips = consistent = consistent_right = both = 0
        latency = 0.0
        tokens = 0
        for t in ts:
            js = by_task.get(t.id, {})
            for o, j in js.items():
                k = counts[o]
                k["judged"] += 1
                pick = picked_choice(j)
                if j.error:
                    k["failed"] += 1
                if pick is None:
                    k["undecided"] += 1
                elif pick == t.gt_choice:
                    k["correct"] += 1
                else:
                    k["wrong"] += 1
                sig = j.signal or "none"
                signals[sig]["seen"] += 1
                if pick is not None:
                    signals[sig]["decided"] += 1
                    signals[sig]["right"] += int(pick == t.gt_choice)
                latency += j.latency_s or 0.0
                tokens += sum((j.usage or {}).values())
            if "AB" in js and "BA" in js:
                both += 1
                p1, p2 = picked_choice(js["AB"]), picked_choice(js["BA"])
                if p1 != p2:
                    flips += 1
                elif p1 is not None:
                    consistent += 1
                    consistent_right += int(p1 == t.gt_choice)
        for o in ("AB", "BA"):
            k = counts[o]
            if k["judged"]:
                c[f"acc_{o}"] = _acc(k["correct"], k["undecided"] + (len(ts) - k["judged"]), len(ts))
        judged = sum(counts[o]["judged"] for o in counts)
        orders_present = [o for o in ("AB", "BA") if counts[o]["judged"]]
        c["accuracy"] = sum(c[f"acc_{o}"] for o in orders_present) / len(orders_present) if orders_present else None
        c["judged"] = judged
        c["missing"] = len(ts) * max(1, len(orders_present)) - judged
        c["correct"] = sum(counts[o]["correct"] for o in counts)
        c["wrong"] = sum(counts[o]["wrong"] for o in counts)
        c["undecided"] = sum(counts[o]["undecided"] for o in counts)
        c["failed"] = sum(counts[o]["failed"] for o in counts)
        if both:
            c["flip_rate"] = 100.0 * flips / both
            c["consistent_accuracy"] = 100.0 * consistent_right / consistent if consistent else None
            c["consistent_coverage"] = 100.0 * consistent / both
        c["signals"] = {s: dict(v) for s, v in sorted(signals.items())}
        c.update(_coverage(signals, judged))
        c["latency_s_total"] = round(latency, 3)
        c["tokens_total"] = tokens
        cats[cat] = c
    ver = [cats[c]["accuracy"] for c in VERIFIABLE if c in cats and cats[c]["accuracy"] is not None]
    return {
        "categories": cats,
        "avg": sum(ver) / len(ver) if len(ver) == len(VERIFIABLE) else None,
        "avg_of": [c for c in VERIFIABLE if c in cats],
    }


def robustness(
    tasks: Sequence[BenchTask], plain: Sequence[Judgment], perturbed: Sequence[Judgment]
) -> dict[str, dict[str, Any]]:
    """Per category, what semantics-preserving edits did to a judge: its accuracy on the plain and
    on the perturbed codes, the drop (plain minus perturbed, points), and the flips: (task, order)
    judgments whose picked code (or undecided) differs between the two runs, with their rate in %,
    and apart the flips of the judgments the plain run decided by evidence (not by a guess)."""
    plain_by = {(j.task_id, j.order): picked_choice(j) for j in plain}
    by_evidence = {
        (j.task_id, j.order) for j in plain if is_evidence(j.signal or "none") and picked_choice(j) is not None
    }
    pert_by = {(j.task_id, j.order): picked_choice(j) for j in perturbed}
    before, after = summarize(tasks, plain)["categories"], summarize(tasks, perturbed)["categories"]
    out: dict[str, dict[str, Any]] = {}
    for cat in before:
        ids = {t.id for t in tasks if t.category == cat}
        keys = [k for k in plain_by if k[0] in ids and k in pert_by]
        flips = sum(plain_by[k] != pert_by[k] for k in keys)
        evidence_keys = [k for k in keys if k in by_evidence]
        evidence_flips = sum(plain_by[k] != pert_by[k] for k in evidence_keys)
        acc, acc_p = before[cat]["accuracy"], after.get(cat, {}).get("accuracy")
        out[cat] = {"accuracy": acc, "perturbed_accuracy": acc_p,
                    "drop": None if acc is None or acc_p is None else round(acc - acc_p, 2),
                    "judgments": len(keys), "flips": flips,
                    "flip_rate": round(100.0 * flips / len(keys), 2) if keys else None,
                    "evidence_judgments": len(evidence_keys), "evidence_flips": evidence_flips}  # fmt: skip
    return out


def robustness_rows(rob: dict[str, dict[str, Any]]) -> list[list[str]]:
    return [[cat, _fmt(r["accuracy"]), _fmt(r["perturbed_accuracy"]), _fmt(r["drop"]), str(r["judgments"]),
             str(r["flips"]), _fmt(r["flip_rate"]), f"{r['evidence_flips']}/{r['evidence_judgments']}"]
            for cat, r in rob.items()]  # fmt: skip


ROBUSTNESS_HEADERS = ["category", "accuracy", "perturbed", "drop", "judgments", "flips", "flip %", "evidence flips"]


def print_robustness(rob: dict[str, dict[str, Any]], title: str) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title)
    for h in ROBUSTNESS_HEADERS:
        table.add_column(h, justify="left" if h == "category" else "right", no_wrap=True)
    for r in robustness_rows(rob):
        table.add_row(*r)
    Console(width=max(Console().width, 120)).print(table)


def is_guess(signal: str) -> bool:
    """Whether a verdict's signal is a fallback's guess (`fallback/...`) rather than evidence."""
    return signal.startswith("fallback/")


def is_evidence(signal: str) -> bool:
    """Whether a verdict's signal is evidence: neither a fallback's guess nor a judge that reads
    none (a model's or a baseline's, `judges.JUDGE_ONLY_SIGNALS`)."""
    return not is_guess(signal) and signal not in JUDGE_ONLY_SIGNALS


def _coverage(signals: dict[str, dict[str, int]], judged: int) -> dict[str, Any]:
    """How many judgments the evidence decided and how many a fallback guessed, each with how many
    were right, and the accuracy the evidence alone reaches (guesses counted as undecided; none for a
    judge that reads no evidence at all, a model's or a baseline's)."""
    ev = {"decided": 0, "right": 0}
    gu = {"decided": 0, "right": 0}
    reads_evidence = False
    for sig, v in signals.items():
        box = gu if is_guess(sig) else ev if is_evidence(sig) else None
        if box is not None:
            reads_evidence = True
            box["decided"] += v.get("decided", 0)
            box["right"] += v.get("right", 0)
    only = (
        None if not judged or not reads_evidence else 100.0 * (ev["right"] + 0.5 * (judged - ev["decided"])) / judged
    )
    return {"evidence": ev, "guess": gu, "evidence_only_accuracy": only}


def _share(box: dict[str, int]) -> str:
    d, r = box.get("decided", 0), box.get("right", 0)
    return f"{d} ({100.0 * r / d:.0f}%)" if d else "0"


def _fmt(x: float | None) -> str:
    return "-" if x is None else f"{x:.1f}"


def rows(summary: dict[str, Any]) -> list[list[str]]:
    out = []
    for cat, c in summary["categories"].items():
        out.append(
            [
                cat,
                str(c["n"]),
                _fmt(c["accuracy"]),
                str(c["undecided"]),
                str(c["failed"]),
                _fmt(c.get("acc_AB")),
                _fmt(c.get("acc_BA")),
                _fmt(c.get("flip_rate")),
                _fmt(c.get("consistent_accuracy")),
                _share(c.get("evidence", {})),
                _share(c.get("guess", {})),
                _fmt(c.get("evidence_only_accuracy")),
            ]
        )
    return out


# "evidence" / "guessed": judgments decided by evidence or guessed by a fallback (each: how many,
# and the share right); "evidence only": the accuracy without the guesses (as `evidence+none`).
HEADERS = ["category", "tasks", "accuracy", "undecided", "failed", "acc A-B", "acc B-A", "flip %", "consistent acc",
           "evidence", "guessed", "evidence only"]  # fmt: skip


def to_markdown(summary: dict[str, Any], title: str = "CodePrefBench") -> str:
    lines = [f"## {title}", "", "| " + " | ".join(HEADERS) + " |", "|" + "---|" * len(HEADERS)]
    lines += ["| " + " | ".join(r) + " |" for r in rows(summary)]
    lines += ["", f"**Avg** (correctness, efficiency, security): {_fmt(summary['avg'])}", ""]
    sig_lines = []
    for cat, c in summary["categories"].items():
        for s, v in c["signals"].items():
            sig_lines.append(f"| {cat} | {s} | {v.get('seen', 0)} | {v.get('decided', 0)} | {v.get('right', 0)} |")
    if sig_lines:
        lines += ["| category | signal | judgments | decided | right |", "|---|---|---|---|---|", *sig_lines, ""]
    return "\n".join(lines)


def print_table(summary: dict[str, Any], title: str = "CodePrefBench") -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title)
    for h in HEADERS:
        table.add_column(h, justify="left" if h == "category" else "right", no_wrap=True)
    for r in rows(summary):
        table.add_row(*r)
    # A pipe or CI log reports 80 columns; the table needs about 110 to stay readable.
    console = Console(width=max(Console().width, 160))
    console.print(table)
    console.print(f"Avg (correctness, efficiency, security): [bold]{_fmt(summary['avg'])}[/bold]")
    by_cat = {
        cat: ", ".join(
            f"{s} {v.get('right', 0)}/{v.get('decided', 0)}" for s, v in c["signals"].items() if v.get("decided")
        )
        for cat, c in summary["categories"].items()
    }
    if any(by_cat.values()):
        console.print("right/decided by signal: " + "; ".join(f"{cat}: {txt}" for cat, txt in by_cat.items() if txt))
    if any(c.get("guess", {}).get("decided") for c in summary["categories"].values()):
        console.print("fallback/... signals are guesses, not evidence (README: the evidence judge, the guess)")
