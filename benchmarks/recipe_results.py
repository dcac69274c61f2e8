"""Copy the small text results of a recipe's runs folder into a tracked folder, or back.

Run folders are lost when a session ends; this keeps what a later session needs to resume and what
the README quotes: stage records, manifests, funnels, mining and filter reports, generator outcomes
(real model replies to our own inputs), drafts, seeds, kept pairs, bench judgments (task ids,
decisions and probabilities only, no model text that could quote a task: a bench resumes from them) and summaries, and the report.
Never model weights, never CodePrefBench tasks (tasks.jsonl stays out).

    python benchmarks/recipe_results.py runs/cpu-real-small results/cpu-real-small          # save
    python benchmarks/recipe_results.py --restore results/cpu-real-small runs/cpu-real-small  # resume later
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

KEEP = {
    "stage.json", "manifest.json", "funnel.json", "mining.json", "decontam.json", "verify.json",
    "summary.json", "report.md", "report.json", "outcomes.jsonl", "drafts.jsonl", "pairs.jsonl",
    "removed.jsonl", "seeds.jsonl", "instructions.jsonl", "skipped.json", "judgments.jsonl",
}  # fmt: skip
MAX_BYTES = 5_000_000
# What a saved judgment keeps: enough to resume and score, none of a generative judge's reply text.
JUDGMENT_FIELDS = ("id", "task_id", "order", "judge", "decision", "prob_a", "signal", "latency_s", "usage", "error")


def _judgments(src: Path, dst: Path) -> None:
    with src.open(encoding="utf-8") as f, dst.open("w", encoding="utf-8") as out:
        for line in f:
            row = json.loads(line)
            kept = {k: row[k] for k in JUDGMENT_FIELDS if k in row}
            if "prob_a_by_order" in (row.get("details") or {}):
                kept["details"] = {"prob_a_by_order": row["details"]["prob_a_by_order"]}
            out.write(json.dumps(kept) + "\n")


def copy(src: Path, dst: Path) -> list[str]:
    copied = []
    for f in sorted(src.rglob("*")):
        rel = f.relative_to(src)
        if not f.is_file() or f.name not in KEEP or "model" in rel.parts or f.stat().st_size > MAX_BYTES:
            continue
        target = dst / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        if f.name == "judgments.jsonl":
            _judgments(f, target)
        else:
            shutil.copy2(f, target)
        copied.append(str(rel))
    return copied


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("src")
    ap.add_argument("dst")
    ap.add_argument("--restore", action="store_true", help="copy a saved folder back into a runs folder")
    a = ap.parse_args()
    src, dst = Path(a.src), Path(a.dst)
    if a.restore:
        shutil.copytree(src, dst, dirs_exist_ok=True)
        print(f"restored {src} -> {dst}")
        return
    files = copy(src, dst)
    print(f"{len(files)} files -> {dst}")


if __name__ == "__main__":
    main()
