"""Where the evidence judge is silent on an efficiency set, and why: accuracy per split (both orders,
undecided counts half) and the efficiency evidence's reason for every undecided pair, from a
`codefavor bench --both-orders` run directory.

    python benchmarks/foreign/efficiency_silent.py RUN_DIR [DATA_DIR] [-v]

DATA_DIR (default ~/.cache/codefavor/foreign/leetcode-efficiency) holds the {dev,test}.jsonl the run
used: each row's `gt_choice` is the faster candidate. -v lists each pair that is not right, with its
evidence details.
"""

from __future__ import annotations

import argparse
import json
from collections import Counter, defaultdict
from pathlib import Path

DECIDING = ("cpu-time", "timeout")


def _evidence(judgment: dict) -> dict:
    d = judgment.get("details") or {}
    return d.get("efficiency") or ((d.get("evidence") or {}).get("efficiency") or {}).get("efficiency") or {}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run", type=Path, help="a `codefavor bench --both-orders` output folder")
    ap.add_argument(
        "data", nargs="?", default="~/.cache/codefavor/foreign/leetcode-efficiency", help="the set it ran on"
    )
    ap.add_argument("-v", action="store_true", help="list each pair that is not right, with its evidence")
    args = ap.parse_args(argv)
    run, data = args.run, Path(args.data).expanduser()
    if not (run / "judgments.jsonl").is_file():
        ap.error(f"{run}: no judgments.jsonl (a bench output folder is expected)")
    tasks = {}
    for split in ("dev", "test"):
        path = data / f"{split}.jsonl"
        if path.exists():
            for line in path.open():
                row = json.loads(line)
                tasks[row["id"]] = (row, split)
    scores: dict[str, list[float]] = defaultdict(list)
    silent: dict[str, Counter] = defaultdict(Counter)
    for line in (run / "judgments.jsonl").open():
        j = json.loads(line)
        row, split = tasks[j["task_id"]]
        a_is_right = (row["gt_choice"] == 0) == (j["order"] == "AB")
        score = 0.5 if j["decision"] == "undecided" else float((j["decision"] == "A") == a_is_right)
        ev = _evidence(j)
        reason = ev.get("reason", "?")
        if reason not in DECIDING:
            why = reason + ("/" + ",".join(sorted(ev["dropped"])) if ev.get("dropped") else "")
            for s in (split, "all"):
                silent[s][why] += 1
        for s in (split, "all"):
            scores[s].append(score)
        if args.v and j["order"] == "AB" and score < 1:
            print(
                f"{score:.1f} {j['signal']:20} {split:4} {row.get('task_id', row['id'])[:50]:50} {json.dumps(ev)[:140]}"
            )
    for s in ("dev", "test", "all"):
        if scores[s]:
            v = scores[s]
            n = sum(silent[s].values())
            print(
                f"{s:4} accuracy {100 * sum(v) / len(v):5.1f} over {len(v)} judgments; silent {n}: {dict(silent[s].most_common())}"
            )


if __name__ == "__main__":
    main()
