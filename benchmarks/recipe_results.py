"""Copy the small text results of a recipe's runs folder into a tracked folder, or back.

Run folders are lost when a session ends; this keeps what a later session needs to resume and what
the README quotes: stage records, manifests, funnels, mining and filter reports, generator outcomes
(real model replies to our own inputs), drafts, seeds, kept pairs, bench summaries and the report.
Never model weights, never CodePrefBench tasks or judgments (tasks.jsonl, judgments.jsonl stay out).

    python benchmarks/recipe_results.py runs/cpu-real-small results/cpu-real-small          # save
    python benchmarks/recipe_results.py --restore results/cpu-real-small runs/cpu-real-small  # resume later
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

KEEP = {
    "stage.json", "manifest.json", "funnel.json", "mining.json", "decontam.json", "verify.json",
    "summary.json", "report.md", "report.json", "outcomes.jsonl", "drafts.jsonl", "pairs.jsonl",
    "removed.jsonl", "seeds.jsonl", "instructions.jsonl", "skipped.json",
}  # fmt: skip
MAX_BYTES = 5_000_000


def copy(src: Path, dst: Path) -> list[str]:
    copied = []
    for f in sorted(src.rglob("*")):
        rel = f.relative_to(src)
        if not f.is_file() or f.name not in KEEP or "model" in rel.parts or f.stat().st_size > MAX_BYTES:
            continue
        target = dst / rel
        target.parent.mkdir(parents=True, exist_ok=True)
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
