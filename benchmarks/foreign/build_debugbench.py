"""Correctness pairs from DebugBench (Apache-2.0): LeetCode problems, each an accepted `class
Solution` against the same code with a bug implanted (a wrong condition or index, a misused
operator, an undefined name, a missing colon, two to four bugs at once).

Source: thunlp/DebugBench, `benchmark/python3_*.json` (one file per bug kind). The instruction is the
row's statement as LeetCode shows it: `description`, each of `examples` as "Example k:", and the
`constraints` under "Constraints:". The codes are `oracle_code` (chosen) and `buggy_code`
(rejected); rows whose two codes are the same once whitespace is normalised are dropped and
counted. DebugBench checked its labels on LeetCode's own judge; there are no hidden tests to rerun
here, so no sandbox validation: a fixed code that fails its statement's examples is the data's, and
the bench says so through the `examples` signal.

    python benchmarks/foreign/build_debugbench.py [--mirror PATH] [--out DIR]
"""

from __future__ import annotations

import json

from common import Git, arg_parser, default_out, make_task, mirror_path, shapes, write_set

REPO = "thunlp/DebugBench"
LICENSE = "Apache-2.0"


def statement(row: dict) -> str:
    """A row's problem as LeetCode writes it: description, examples, constraints."""
    parts = [row["description"].strip()]
    parts += [f"Example {k}:\n{ex.strip()}" for k, ex in enumerate(row.get("examples") or [], 1)]
    if row.get("constraints"):
        parts.append("Constraints:\n" + row["constraints"].strip())
    return "\n\n".join(parts)


def build(git: Git) -> tuple[list, dict]:
    head = git.head()
    files = sorted(p for p in git.ls(head, "benchmark/") if p.split("/")[-1].startswith("python3_"))
    tasks, same, per_kind = [], [], {}
    for path in files:
        kind = path.split("/")[-1][len("python3_") : -len(".json")]
        rows = json.loads(git.show(head, path) or "[]")
        per_kind[kind] = len(rows)
        for n, row in enumerate(rows):
            fixed, buggy = row["oracle_code"].strip() + "\n", row["buggy_code"].strip() + "\n"
            tid = f"debugbench/{kind.replace(' ', '-')}/{row['slug']}/{n}"
            if " ".join(fixed.split()) == " ".join(buggy.split()):
                same.append(tid)
                continue
            instruction = statement(row)
            info = {"source": REPO, "commit": head, "license": LICENSE, "file": path, "problem": row["slug"],
                    "bug_kind": kind, "level": row.get("level"), "validated": "no (labels from LeetCode's judge)",
                    "shapes": shapes(fixed, instruction)}  # fmt: skip
            tasks.append(make_task(tid, instruction, fixed, buggy, "correctness", info))
    meta = {"source": REPO, "commit": head, "license": LICENSE, "kind": "implanted bugs vs accepted class Solution",
            "files": files, "rows_per_bug_kind": per_kind, "same_code_dropped": same}  # fmt: skip
    return tasks, meta


def main(argv: list[str] | None = None) -> None:
    ap = arg_parser(__doc__)
    ap.add_argument("--mirror", default=str(mirror_path(REPO)))
    args = ap.parse_args(argv)
    tasks, meta = build(Git(args.mirror))
    write_set(args.out or default_out(), "debugbench", tasks, meta)


if __name__ == "__main__":
    main()
