"""Correctness pairs from HumanEvalFix (HumanEvalPack, MIT): each problem's canonical solution vs
the bug its authors inserted by hand (a missing condition, a wrong operator, a misused variable).

Source: bigcode-project/octopack, `evaluation/create/humaneval-x/data/python/data/humanevalpack.jsonl`
(164 rows). The instruction is the row's `instruction` ("Write a Python function `sig` to solve the
following problem:" and the docstring, examples included): prose, not CodePrefBench's code-block
prompt. The codes are `declaration` + `canonical_solution` (chosen) and `declaration` +
`buggy_solution` (rejected). HumanEval's problems are also CodePrefBench's, so the statements are
not new; the pairs (one deliberate bug against the reference) are.

Validation (in codefavor's sandbox, never outside it): each code runs with the row's `test` (the
hidden tests, `check(entry)`); the fixed code must pass and the buggy one must fail, else the row is
dropped and counted in meta.json.

    python benchmarks/foreign/build_humanevalfix.py [--mirror PATH] [--out DIR]
"""

from __future__ import annotations

import json

from common import Git, builder_main, make_task, shapes

REPO = "bigcode-project/octopack"
PATH = "evaluation/create/humaneval-x/data/python/data/humanevalpack.jsonl"
LICENSE = "MIT"


def build(git: Git, validate: bool = True) -> tuple[list, dict]:
    head = git.head()
    rows = [json.loads(line) for line in (git.show(head, PATH) or "").splitlines() if line.strip()]
    jobs = [
        (
            r["task_id"],
            r["instruction"],
            r["declaration"] + r["canonical_solution"],
            r["declaration"] + r["buggy_solution"],
            r,
        )
        for r in rows
    ]
    dropped: dict[str, str] = {}
    if validate:
        from codefavor.evidence.sandbox import Limits, Sandbox

        lim = Limits(cpu_s=20, wall_s=40, check_s=10)
        programs = [code + "\n\n" + r["test"] + "\n" for _, _, fixed, buggy, r in jobs for code in (fixed, buggy)]
        with Sandbox() as sb:
            runs = sb.run_many([(p, []) for p in programs], limits=lim)
        for n, (tid, *_rest) in enumerate(jobs):
            rf, rb = runs[2 * n], runs[2 * n + 1]
            fixed_ok = rf.completed and not rf.load_error
            buggy_ok = rb.completed and not rb.load_error
            if not fixed_ok or buggy_ok:
                dropped[tid] = (
                    f"fixed {'passes' if fixed_ok else 'fails: ' + str(rf.load_error)[:80]}, buggy {'passes' if buggy_ok else 'fails'}"
                )
    tasks = []
    for tid, instruction, fixed, buggy, r in jobs:
        if tid in dropped:
            continue
        info = {"source": REPO, "commit": head, "license": LICENSE, "file": PATH, "problem": tid,
                "bug_type": r.get("bug_type"), "failure_symptoms": r.get("failure_symptoms"),
                "validated": "sandbox: fixed passes the hidden tests, buggy fails them" if validate else "no",
                "shapes": shapes(fixed, instruction)}  # fmt: skip
        tasks.append(make_task(f"humanevalfix/{tid}", instruction, fixed, buggy, "correctness", info))
    meta = {"source": REPO, "commit": head, "license": LICENSE, "file": PATH,
            "kind": "hand-inserted bugs vs canonical solutions, with tests", "rows": len(rows),
            "dropped_by_validation": dropped}  # fmt: skip
    return tasks, meta


def main(argv: list[str] | None = None) -> None:
    builder_main(__doc__, REPO, "humanevalfix", build, argv)


if __name__ == "__main__":
    main()
