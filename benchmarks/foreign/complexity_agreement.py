"""How often the static complexity reading (`codefavor.evidence.complexity.cheaper`) agrees with the
complexities that doocs/leetcode's authors state for their own accepted solutions.

Every problem under `solution/` whose English README gives two or more Python `class Solution`
answers with a stated time complexity gives every pair of them: stated costs (evaluated at n = 1000,
`build_leetcode.cost`) apart by `--min-ratio` or more are an ordered pair (the reading is right when
it picks the lower stated cost), equal stated costs are a tie (any side the reading picks is a
false split); pairs in between are not counted. Nothing runs: the reading is static, and the pairs
are read straight from the mirror (CC-BY-SA-4.0; no set is written). The split is the one of
leetcode-efficiency (`split_of("leetcode/<folder>")`): rules are chosen on dev.

    python benchmarks/foreign/complexity_agreement.py [--mirror PATH] [--split dev|test|all]
        [--min-ratio 8] [--show N]
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from itertools import combinations
from pathlib import Path

from codefavor.benchmark.data import split_of
from codefavor.evidence.complexity import cheaper

sys.path.insert(0, str(Path(__file__).parent))  # the builders' modules (build_leetcode, common)

from build_leetcode import REPO, cost, problems, solutions  # noqa: E402
from common import Git, mirror_path  # noqa: E402


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mirror", default=str(mirror_path(REPO)))
    ap.add_argument("--split", choices=["dev", "test", "all"], default="dev")
    ap.add_argument("--min-ratio", type=float, default=8.0, help="stated-cost ratio at n=1000 for an ordered pair")
    ap.add_argument("--show", type=int, default=0, help="print the first N pairs the reading gets wrong")
    args = ap.parse_args(argv)
    git = Git(args.mirror)
    head = git.head()
    counts: Counter[str] = Counter()
    wrong: list[str] = []
    for folder in problems(git, head):
        title = folder.split("/")[-1]
        if args.split != "all" and split_of(f"leetcode/{title}") != args.split:
            continue
        readme = git.show(head, folder + "/README_EN.md") or ""
        sols = [(cost(cx), cx, code) for cx, code in solutions(readme) if "class Solution" in code]
        sols = [s for s in sols if s[0]]
        for (ca, xa, a), (cb, xb, b) in combinations(sols, 2):
            ratio = max(ca, cb) / min(ca, cb)
            kind = "tie" if ratio == 1 else "ordered" if ratio >= args.min_ratio else None
            if kind is None:
                continue
            side = cheaper(a, b)
            counts[kind] += 1
            if side is None:
                continue
            if kind == "tie":
                counts["tie-split"] += 1
                wrong.append(f"{title}: tie O({xa}) / O({xb}), read {side} as cheaper")
            elif (side == "A") == (ca < cb):
                counts["ordered-right"] += 1
            else:
                counts["ordered-wrong"] += 1
                wrong.append(f"{title}: O({xa}) vs O({xb}), read {side} as cheaper")
    o, t = counts["ordered"], counts["tie"]
    right, bad = counts["ordered-right"], counts["ordered-wrong"]
    print(f"split {args.split}, mirror at {head[:12]}")
    print(f"ordered pairs {o}: read {right + bad} ({(right + bad) / max(o, 1):.1%}), right {right}, wrong {bad}")
    print(f"tied pairs {t}: split {counts['tie-split']} ({counts['tie-split'] / max(t, 1):.1%})")
    for line in wrong[: args.show]:
        print("  " + line)


if __name__ == "__main__":
    main()
