"""How much of a set's code the efficiency evidence can time at all, whatever the labels: each
problem's chosen code against itself (plus one harmless module line, so the two are two programs),
measured as the judge measures, and why each silent one is silent (no entry point, a design problem,
every level failed...). A pair of equal codes can only be "no-gap" when it is measured: anything else
is a shape or a statement the ladder cannot grow yet.

    python benchmarks/foreign/efficiency_coverage.py DATA_DIR [--split dev] [--limit N] [-v]
    python benchmarks/foreign/efficiency_coverage.py --leetcode [--mirror PATH] [--split dev] [--limit 400] [--seed 1] [-v]

DATA_DIR holds a set's {dev,test}.jsonl (e.g. ~/.cache/codefavor/foreign/debugbench: accepted
`class Solution` code of 17 bug kinds, each problem counted once; elsewhere a task id is a problem).
`--leetcode` reads every problem of a doocs/leetcode mirror instead (its English statement and its
first Python `class Solution`, the problems of one split drawn in a seeded order), the platform's
code at large rather than one set's rows. Runs in the sandbox.
"""

from __future__ import annotations

import argparse
import random
import re
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

from codefavor.benchmark.data import load_tasks, split_of
from codefavor.evidence.efficiency import efficiency_evidence

sys.path.insert(0, str(Path(__file__).parent))  # the builders' modules (build_leetcode, common)

MEASURED = ("no-gap", "cpu-time", "few-rounds")


def leetcode_problems(mirror: Path, split: str, seed: int) -> Iterator[tuple[str, str, str]]:
    """(name, statement, first `class Solution`) of each doocs/leetcode problem of `split`, in a
    seeded order; the task id is build_leetcode's (`leetcode/<folder>`), so the split is the set's."""
    from build_leetcode import statement
    from common import Git

    git = Git(mirror)
    head = git.head()
    listing = git._run("ls-tree", "-r", "--name-only", head, "solution/").splitlines()
    folders = sorted(p[: -len("/README_EN.md")] for p in listing if p.endswith("/README_EN.md"))
    random.Random(seed).shuffle(folders)
    for folder in folders:
        title = folder.split("/")[-1]
        if split != "all" and split_of(f"leetcode/{title}") != split:
            continue
        readme = git.show(head, folder + "/README_EN.md") or ""
        m = re.search(r"#### Python3?\s*\n+```python\n(.*?)```", readme, re.S)
        if m and "class Solution" in m.group(1):
            yield title, f"{title.split('.', 1)[-1]}\n\n{statement(readme)}", m.group(1)


def problem_args(ap: argparse.ArgumentParser) -> None:
    """The arguments that choose the problems (a set's folder, or --leetcode), shared with examples_agreement.py."""
    ap.add_argument("data", type=Path, nargs="?", help="a folder with the set's dev.jsonl / test.jsonl")
    ap.add_argument("--leetcode", action="store_true", help="every problem of a doocs/leetcode mirror instead")
    ap.add_argument("--mirror", type=Path, help="the doocs/leetcode mirror (default: the fetched one)")
    ap.add_argument("--seed", type=int, default=1, help="the order --leetcode draws its problems in")
    ap.add_argument("--split", default="dev", choices=("dev", "test", "all"))
    ap.add_argument("--limit", type=int, default=0, help="at most this many problems (0: all)")
    ap.add_argument("-v", action="store_true", help="list each problem that is not measured (or fails), with why")


def accepted_problems(args: argparse.Namespace, ap: argparse.ArgumentParser) -> list[tuple[str, str, str]]:
    """(name, instruction, accepted code) of each problem `problem_args` chose: a set's chosen side,
    a DebugBench problem once (it has many rows: debugbench/<bug kind>/<problem>/<n>), or doocs/leetcode's."""
    if args.leetcode == (args.data is not None):
        ap.error("give one of DATA_DIR and --leetcode")
    if args.data is not None and not args.data.is_dir():
        ap.error(f"{args.data}: not a folder")
    if args.leetcode:
        from common import mirror_path

        mirror = args.mirror or mirror_path("doocs/leetcode")
        if not mirror.exists():
            ap.error(f"{mirror}: no doocs/leetcode mirror (fetch it, or give --mirror)")
        source: Iterator[tuple[str, str, str]] = leetcode_problems(mirror, args.split, args.seed)
    else:
        source = _set_problems(args.data, args.split)
    out = []
    for item in source:
        out.append(item)
        if args.limit and len(out) >= args.limit:
            break
    return out


def _set_problems(data: Path, split: str) -> Iterator[tuple[str, str, str]]:
    seen: set[str] = set()
    for t in load_tasks(data_dir=data, split=split):
        problem = t.task_id.split("/")[2] if t.task_id.startswith("debugbench/") else t.task_id
        if problem not in seen:
            seen.add(problem)
            yield t.task_id, t.instruction, t.choices[t.gt_choice]


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    problem_args(ap)
    args = ap.parse_args(argv)
    items = accepted_problems(args, ap)
    names = [name for name, _, _ in items]
    pairs = [(ins, code, code + "\n_unused = 0\n") for _, ins, code in items]
    reasons: Counter[str] = Counter()
    for name, ev in zip(names, efficiency_evidence(pairs), strict=True):
        e = ev.details.get("efficiency", {})
        why = e.get("reason", "?")
        if why not in MEASURED and e.get("dropped"):
            why += "/" + ",".join(sorted(e["dropped"]))
        reasons[why] += 1
        if args.v and e.get("reason") not in MEASURED:
            print(f"{why:40} {name}")
    measured = sum(n for why, n in reasons.items() if why in MEASURED)
    print(
        f"{len(pairs)} problems, measured {measured} ({100 * measured / max(len(pairs), 1):.1f}%): {dict(reasons.most_common())}"
    )


if __name__ == "__main__":
    main()
