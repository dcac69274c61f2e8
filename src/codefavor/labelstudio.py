"""A human code-preference study through Label Studio: export pairs to label, import the labels.

`export_tasks` turns bench tasks or preference pairs into Label Studio task JSON plus a pairwise
labeling config (instruction, criterion, both codes highlighted with Pygments and line numbers,
optionally the sandbox results of the instruction's examples for each code, and the choices A / B /
tie / skip with an optional confidence) and the project settings (`maximum_annotations` = N
annotators per task). A pair is shown with its better code first or second by a hash of its id, so
position tells annotators nothing; what each position holds travels in the task's `meta`.

`import_export` reads a Label Studio JSON export and writes, into one folder:
`annotations.jsonl` (one line per annotation: annotator, label, confidence, `lead_time`),
`labels.jsonl` (per task: votes, majority, the decisive label, agreement with the source),
`bench-tasks.jsonl` (BenchTask, category human-preference, `gt_choice` from the humans),
`pairs.jsonl` (PreferencePair, source "human") and `summary.json` (agreement as Krippendorff's
alpha and Fleiss' kappa, person-minutes per task from `lead_time`, the unsolved rate and, where the
source knew the better code, the humans' accuracy by the benchmark's rule).

A task is decided by the paper's rule by default (`no-conflict`: at least one A or B vote and no
vote for the other code; ties may be mixed in), or by a strict `majority` of A / B / tie votes.
Skips (the skip choice or Label Studio's skip button) are no vote. Label Studio itself is not
imported: the files are its documented task and export formats.
"""

from __future__ import annotations

import html
import json
import math
import statistics
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import ValidationError

from codefavor.benchmark import stats
from codefavor.benchmark.anchors import HUMAN_STUDY
from codefavor.errors import CodefavorError, DataError
from codefavor.prompts import CRITERIA
from codefavor.records import BenchTask, PreferencePair, Provenance, iter_json, write_records

LABELS = ("A", "B", "tie", "skip")
CONFIDENCE = ("Low", "High", "Very high")  # the paper's three levels
Rule = Literal["no-conflict", "majority"]
FROM_NAME = "preference"


@dataclass
class Item:
    """One pair to label, in the order shown: `a` is displayed first."""

    ref: str  # the source record's id
    kind: Literal["task", "pair"]
    instruction: str
    criterion: str
    category: str | None
    a: str
    b: str
    better: int | None  # 0 if `a` is the better code by the source, 1 if `b`, None if unknown
    record: dict[str, Any] = field(default_factory=dict)

    def meta(self) -> dict[str, Any]:
        return {"kind": self.kind, "ref": self.ref, "better": self.better, "category": self.category}


def read_items(path: str | Path, category: str | None = None, limit: int | None = None) -> list[Item]:
    """BenchTask or PreferencePair JSONL(.gz) -> items (a record with `chosen` is a pair, else a task);
    the first `limit` records only, when given."""
    import itertools

    if limit is not None and limit < 1:
        raise CodefavorError(f"`limit` {limit}: expected at least 1 record (or no limit for all)")
    path = Path(path)
    objs = list(itertools.islice(iter_json(path), limit))
    if not objs:
        raise DataError(str(path), None, "no records")
    items: list[Item] = []
    for obj in objs:
        line = obj.pop("__line__")
        try:
            if "chosen" in obj:
                p = PreferencePair.model_validate(obj)
                swap = int(p.id[-1], 16) % 2 == 1  # stable, about half the pairs
                a, b = (p.rejected, p.chosen) if swap else (p.chosen, p.rejected)
                items.append(
                    Item(p.id, "pair", p.instruction, p.criterion, category, a, b, int(swap), json.loads(p.to_json()))
                )
            else:
                t = BenchTask.model_validate({"category": category, **obj} if category else obj)
                items.append(
                    Item(
                        t.id,
                        "task",
                        t.instruction,
                        CRITERIA[t.category],
                        t.category,
                        t.choices[0],
                        t.choices[1],
                        t.gt_choice,
                        json.loads(t.to_json()),
                    )
                )
        except ValidationError as e:
            err = e.errors()[0]
            where = ".".join(str(p) for p in err.get("loc", ())) or None
            hint = " (a CodePrefBench file: pass its `category`)" if where == "category" else ""
            raise DataError(str(path), line, err.get("msg", str(e)) + hint, field=where) from None
    return items


# ----------------------------------------------------------------------------------------------- export


def label_config(examples: bool = False) -> str:
    """The Label Studio labeling config: instruction, criterion, two codes side by side, choices."""
    ex = (
        '  <Header value="Results of the instruction\'s examples (run in a sandbox)" size="5"/>\n'
        '  <HyperText name="examples" value="$examples_html"/>\n'
        if examples
        else ""
    )
    choices = "\n".join(f'    <Choice value="{v}"/>' for v in LABELS)
    conf = "\n".join(f'    <Choice value="{v}"/>' for v in CONFIDENCE)
    return f"""<View>
  <Header value="Which code would you rather use? Pick the better one by the criterion, or tie / skip."/>
  <Header value="Instruction" size="5"/>
  <Text name="instruction" value="$instruction"/>
  <Header value="Criterion" size="5"/>
  <Text name="criterion" value="$criterion"/>
  <View style="display: grid; grid-template-columns: 1fr 1fr; gap: 1em">
    <View style="min-width: 0; overflow-x: auto">
      <Header value="Code A" size="4"/>
      <HyperText name="code_a" value="$code_a_html"/>
    </View>
    <View style="min-width: 0; overflow-x: auto">
      <Header value="Code B" size="4"/>
      <HyperText name="code_b" value="$code_b_html"/>
    </View>
  </View>
{ex}  <Choices name="{FROM_NAME}" toName="code_a" choice="single-radio" required="true" showInline="true">
{choices}
  </Choices>
  <Header value="How sure are you? (optional)" size="6"/>
  <Choices name="confidence" toName="code_a" choice="single-radio" showInline="true">
{conf}
  </Choices>
</View>
"""


INSTRUCTIONS = (
    "<p>Read the instruction and the criterion, then both codes. Choose <b>A</b> or <b>B</b> for the code you "
    "would use by that criterion, <b>tie</b> when neither is better, <b>skip</b> when you cannot tell.</p>"
)


def highlight(code: str) -> str:
    """Code as HTML with inline styles (Label Studio shows HTML but no stylesheet of ours)."""
    from pygments import highlight as pyg
    from pygments.formatters import HtmlFormatter
    from pygments.lexers import PythonLexer

    return pyg(code, PythonLexer(), HtmlFormatter(noclasses=True, linenos="inline", style="default"))


def example_results(items: Sequence[Item]) -> list[str | None]:
    """Per item, an HTML table of the instruction's examples run on both codes in the sandbox."""
    # The same runs the correctness evidence makes (one extraction, one calling convention).
    from codefavor.evidence.correctness import run_examples
    from codefavor.evidence.sandbox import default_sandbox

    ran = run_examples([(it.instruction, (it.a, it.b)) for it in items], default_sandbox(), only_with_examples=True)
    out: list[str | None] = []
    for extraction, runs in ran:
        cs = extraction.checks
        if not cs or len(runs) != 2:
            out.append(None)
            continue
        ra, rb = runs

        def cell(r: Any, n: int) -> str:
            if r.load_error:
                return f'<td style="color:#c92a2a">does not load: {html.escape(r.load_error[:200])}</td>'
            c = r.checks[n]
            color = "#2b8a3e" if c.passed else "#c92a2a"
            text = "pass" if c.passed else f"{c.status}: {c.reason[:200]}"
            return f'<td style="color:{color}">{html.escape(text)}</td>'

        rows = "".join(
            f"<tr><td><code>{html.escape(c.name or c.call)[:300]}</code></td>{cell(ra, n)}{cell(rb, n)}</tr>"
            for n, c in enumerate(cs)
        )
        out.append(
            '<table style="border-collapse: collapse" border="1" cellpadding="4"><tr><th>example</th><th>Code A</th>'
            f"<th>Code B</th></tr>{rows}</table><p>Passed: A {ra.n_passed}/{len(cs)}, B {rb.n_passed}/{len(cs)}</p>"
        )
    return out


def export_tasks(
    items: Sequence[Item], output: str | Path, *, annotators: int = 3, run_examples: bool = False, title: str = ""
) -> dict[str, Path]:
    """Write OUTPUT (Label Studio tasks), OUTPUT.config.xml and OUTPUT.project.json; return the paths."""
    if annotators < 1:
        raise CodefavorError(f"`annotators` {annotators}: expected at least 1")
    out = Path(output)
    if out.suffix == ".gz":
        raise CodefavorError(f"{out}: Label Studio imports plain JSON; name the tasks file .json")
    examples = example_results(items) if run_examples else [None] * len(items)
    tasks = []
    for it, ex in zip(items, examples, strict=True):
        data = {
            "instruction": it.instruction,
            "criterion": it.criterion,
            "category": it.category or "",
            "code_a": it.a,
            "code_b": it.b,
            "code_a_html": highlight(it.a),
            "code_b_html": highlight(it.b),
            "cf_ref": it.ref,
        }
        if run_examples:
            data["examples_html"] = ex or "<p>No runnable examples in the instruction.</p>"
        tasks.append({"data": data, "meta": {"codefavor": {**it.meta(), "record": it.record}}})
    config = label_config(examples=run_examples)
    project = {
        "title": title or f"codefavor: {out.stem}",
        "label_config": config,
        "expert_instruction": INSTRUCTIONS,
        "show_instruction": True,
        "show_skip_button": True,
        "maximum_annotations": annotators,
        "overlap_cohort_percentage": 100,
    }
    paths = {
        "tasks": out,
        "config": out.with_name(out.stem + ".config.xml"),
        "project": out.with_name(out.stem + ".project.json"),
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    for key, text in (
        ("tasks", json.dumps(tasks, ensure_ascii=False, indent=1)),
        ("config", config),
        ("project", json.dumps(project, ensure_ascii=False, indent=2)),
    ):
        tmp = paths[key].with_name(paths[key].name + ".tmp")
        tmp.write_text(text.rstrip("\n") + "\n", encoding="utf-8")
        tmp.replace(paths[key])
    return paths


# ----------------------------------------------------------------------------------------------- import


@dataclass
class Annotation:
    task: str  # source ref
    ls_task: int | None
    annotator: str
    label: str  # A / B / tie / skip, as shown
    confidence: str | None
    lead_time_s: float | None
    created_at: str | None = None


def _annotator(a: dict[str, Any]) -> str:
    who = a.get("completed_by")
    if isinstance(who, dict):
        who = who.get("email") or who.get("id")
    return str(who) if who is not None else "unknown"


def _choice(a: dict[str, Any], name: str) -> str | None:
    for r in a.get("result") or []:
        if r.get("from_name") == name and r.get("type") == "choices":
            picked = (r.get("value") or {}).get("choices") or []
            return str(picked[0]) if picked else None
    return None


def read_export(path: str | Path) -> tuple[list[tuple[dict[str, Any], Item]], list[Annotation]]:
    """A Label Studio JSON export -> the exported items (with their LS task) and the annotations."""
    path = Path(path)
    try:
        tasks = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise DataError(str(path), None, f"not a readable JSON export ({e})") from None
    if not isinstance(tasks, list):
        raise DataError(str(path), None, "expected a JSON list of tasks (Label Studio's JSON export)")
    items: list[tuple[dict[str, Any], Item]] = []
    anns: list[Annotation] = []
    for n, t in enumerate(tasks):
        where = f"task #{n} (id {t.get('id')})" if isinstance(t, dict) else f"task #{n}"
        data = t.get("data") if isinstance(t, dict) else None
        meta = ((t.get("meta") or {}).get("codefavor") if isinstance(t, dict) else None) or {}
        if not isinstance(data, dict) or "code_a" not in data or "code_b" not in data:
            raise DataError(str(path), None, f"{where}: not a codefavor task (no data.code_a / data.code_b)")
        ref = str(data.get("cf_ref") or meta.get("ref") or "")
        if not ref:
            raise DataError(str(path), None, f"{where}: missing", field="data.cf_ref")
        item = Item(
            ref=ref,
            kind=meta.get("kind", "task"),
            instruction=str(data.get("instruction", "")),
            criterion=str(data.get("criterion", "")),
            category=meta.get("category") or data.get("category") or None,
            a=str(data["code_a"]),
            b=str(data["code_b"]),
            better=meta.get("better"),
            record=meta.get("record") or {},
        )
        items.append((t, item))
        for a in t.get("annotations") or []:
            label = "skip" if a.get("was_cancelled") else _choice(a, FROM_NAME)
            if label is None:
                continue  # an empty draft-like annotation: no vote, no time
            if label not in LABELS:
                raise DataError(str(path), None, f"{where}: unknown choice {label!r}; expected one of {LABELS}")
            lt = a.get("lead_time")
            anns.append(
                Annotation(
                    ref,
                    t.get("id"),
                    _annotator(a),
                    label,
                    _choice(a, "confidence"),
                    None if lt is None else float(lt),
                    a.get("created_at"),
                )
            )
    return items, anns


def decide(votes: Counter[str], rule: Rule = "no-conflict") -> str | None:
    """The decisive label (A / B / tie) of a task's votes, or None when the humans did not settle it."""
    a, b, tie = votes.get("A", 0), votes.get("B", 0), votes.get("tie", 0)
    if rule == "no-conflict":
        if a and not b:
            return "A"
        if b and not a:
            return "B"
        return None
    top = max(a, b, tie)
    if top == 0 or [a, b, tie].count(top) > 1:
        return None
    return "A" if a == top else "B" if b == top else "tie"


def _majority(votes: Counter[str]) -> str | None:
    counts = {k: votes.get(k, 0) for k in ("A", "B", "tie")}
    top = max(counts.values())
    winners = [k for k, v in counts.items() if v == top]
    return None if top == 0 or len(winners) > 1 else winners[0]


def _number(x: float | None) -> float | None:
    # An undefined statistic (NaN: a single label value, too few ratings) is null in JSON.
    return None if x is None or math.isnan(x) else x


def agreement(per_task: dict[str, list[str]]) -> dict[str, Any]:
    """Krippendorff's alpha (nominal, any number of ratings) and Fleiss' kappa over the tasks that
    have the most common number of ratings; skips are missing ratings."""
    rated = {k: [v for v in vs if v != "skip"] for k, vs in per_task.items()}
    alpha = stats.krippendorff_alpha(list(rated.values()))
    sizes = Counter(len(v) for v in rated.values() if len(v) >= 2)
    kappa, used, raters = None, 0, None
    if sizes:
        raters = max(sizes, key=lambda s: (sizes[s], s))
        rows = [[vs.count(c) for c in ("A", "B", "tie")] for vs in rated.values() if len(vs) == raters]
        used = len(rows)
        kappa = stats.fleiss_kappa(rows)
    return {
        "krippendorff_alpha": _number(alpha),
        "fleiss_kappa": _number(kappa),
        "fleiss_tasks": used,
        "fleiss_raters": raters,
        "labels": ["A", "B", "tie"],
    }


def _minutes(anns: Iterable[Annotation]) -> dict[str, Any]:
    times = sorted(a.lead_time_s / 60.0 for a in anns if a.lead_time_s is not None)
    if not times:
        return {"annotations_timed": 0}
    cut = times[: max(1, len(times) - len(times) // 100)]  # the paper drops the longest 1%
    return {
        "annotations_timed": len(times),
        "minutes_per_annotation_mean": statistics.fmean(times),
        "minutes_per_annotation_mean_trimmed_1pct": statistics.fmean(cut),
        "minutes_per_annotation_median": statistics.median(times),
        "minutes_per_annotation_p99": times[min(len(times) - 1, int(0.99 * len(times)))],
    }


def import_export(
    path: str | Path, output: str | Path, *, rule: Rule = "no-conflict", wage_per_hour: float | None = None
) -> dict[str, Any]:
    """Read a Label Studio export and write the five files described above; return the summary."""
    if rule not in ("no-conflict", "majority"):
        raise CodefavorError(f"`rule` {rule!r}: expected no-conflict or majority")
    items, anns = read_export(path)
    out = Path(output)
    out.mkdir(parents=True, exist_ok=True)
    by_task: dict[str, list[Annotation]] = {}
    for a in anns:
        by_task.setdefault(a.task, []).append(a)
    labels, bench, pairs = [], [], []
    per_task_labels: dict[str, list[str]] = {}
    cats: dict[str, Counter[str]] = {}
    person_minutes: list[float] = []
    for ls_task, it in items:
        mine = by_task.get(it.ref, [])
        votes = Counter(a.label for a in mine)
        per_task_labels[it.ref] = [a.label for a in mine]
        label = decide(votes, rule)
        pm = sum(a.lead_time_s or 0.0 for a in mine) / 60.0
        if mine:
            person_minutes.append(pm)
        correct = None if it.better is None or label not in ("A", "B") else int(("A", "B").index(label) == it.better)
        cat = it.category or "unknown"
        c = cats.setdefault(cat, Counter())
        c["tasks"] += 1
        c["annotated"] += bool(mine)
        c["decided"] += label in ("A", "B")
        if it.better is not None:
            c["with_truth"] += 1
            c["right"] += correct == 1
            c["undecided"] += label not in ("A", "B")
        labels.append(
            {
                "task": it.ref,
                "ls_task": ls_task.get("id"),
                "kind": it.kind,
                "category": it.category,
                "votes": {k: votes.get(k, 0) for k in LABELS},
                "annotators": [a.annotator for a in mine],
                "majority": _majority(votes),
                "label": label,
                "person_minutes": pm,
                "source_better": None if it.better is None else "AB"[it.better],
                "agrees_with_source": None if correct is None else bool(correct),
            }
        )
        if label in ("A", "B"):
            pick = ("A", "B").index(label)
            chosen, rejected = (it.a, it.b) if pick == 0 else (it.b, it.a)
            human = [{"annotator": a.annotator, "label": a.label, "confidence": a.confidence} for a in mine]
            task_id = str(it.record.get("task_id") or it.ref)
            bench.append(
                BenchTask(
                    task_id=task_id,
                    instruction=it.instruction,
                    choices=(it.a, it.b),
                    gt_choice=pick,
                    category="human-preference",
                    annotations=human,
                )
            )
            pairs.append(
                PreferencePair(
                    instruction=it.instruction,
                    chosen=chosen,
                    rejected=rejected,
                    criterion=it.criterion,
                    source="human",
                    provenance=Provenance(seed_id=it.ref),
                    meta={"votes": dict(votes), "annotations": human, "from_kind": it.kind, "category": it.category},
                )
            )
    ann_rows = [
        {
            "task": a.task,
            "ls_task": a.ls_task,
            "annotator": a.annotator,
            "label": a.label,
            "confidence": a.confidence,
            "lead_time_s": a.lead_time_s,
            "created_at": a.created_at,
        }
        for a in anns
    ]
    n = len(items)
    undecided = sum(1 for row in labels if row["label"] not in ("A", "B"))
    pm_mean = statistics.fmean(person_minutes) if person_minutes else None
    by_cat = {}
    for cat, c in sorted(cats.items()):
        row: dict[str, Any] = {"tasks": c["tasks"], "annotated": c["annotated"], "decided": c["decided"]}
        if c["with_truth"]:
            acc = 100.0 * (c["right"] + 0.5 * c["undecided"]) / c["with_truth"]
            row.update(accuracy=acc, unsolved_rate=100.0 - acc, tasks_with_truth=c["with_truth"])
        by_cat[cat] = row
    summary: dict[str, Any] = {
        "export": str(path),
        "rule": rule,
        "tasks": n,
        "annotated_tasks": sum(1 for row in labels if row["annotators"]),
        "annotations": len(anns),
        "annotators": len({a.annotator for a in anns}),
        "annotations_per_task": len(anns) / n if n else None,
        "labels": dict(Counter(a.label for a in anns)),
        "confidence": dict(Counter(a.confidence for a in anns if a.confidence)),
        "agreement": agreement(per_task_labels),
        "undecided_rate": 100.0 * undecided / n if n else None,
        "person_minutes_per_task": pm_mean,
        **_minutes(anns),
        "by_category": by_cat,
        "bench_tasks": len(bench),
        "pairs": len(pairs),
        "paper": HUMAN_STUDY,
    }
    if wage_per_hour is not None and pm_mean is not None:
        summary["cost_per_task"] = pm_mean / 60.0 * wage_per_hour
    write_records(out / "annotations.jsonl", ann_rows)
    write_records(out / "labels.jsonl", labels)
    write_records(out / "bench-tasks.jsonl", bench)
    write_records(out / "pairs.jsonl", pairs)
    tmp = out / "summary.json.tmp"
    tmp.write_text(json.dumps(summary, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    tmp.replace(out / "summary.json")
    return summary


def summary_lines(summary: dict[str, Any], output: str | Path) -> list[str]:
    """A few lines for the terminal."""

    def f(x: float | None, d: int = 1) -> str:
        return "-" if x is None else f"{x:.{d}f}"

    ag = summary["agreement"]
    lines = [
        f"{summary['tasks']} tasks, {summary['annotations']} annotations by {summary['annotators']} annotators "
        f"({f(summary['annotations_per_task'])} per task); labels {summary['labels']}",
        f"agreement: Krippendorff's alpha {f(ag['krippendorff_alpha'], 3)}, Fleiss' kappa {f(ag['fleiss_kappa'], 3)} "
        f"({ag['fleiss_tasks']} tasks with {ag['fleiss_raters']} ratings)",
        f"time: {f(summary.get('person_minutes_per_task'))} person-minutes per task, "
        f"{f(summary.get('minutes_per_annotation_mean'))} minutes per annotation (paper: 23.4 and 7.8)",
        f"undecided ({summary['rule']}): {f(summary['undecided_rate'])}% of tasks",
    ]
    for cat, row in summary["by_category"].items():
        if "accuracy" in row:
            lines.append(f"  {cat}: accuracy {f(row['accuracy'])}, unsolved {f(row['unsolved_rate'])}%")
    lines.append(f"bench tasks: {summary['bench_tasks']}, pairs: {summary['pairs']} -> {output}")
    return lines
