"""Correctness pairs from QuixBugs (MIT): each program's real one-line bug vs its corrected version.

Source: jkoppel/QuixBugs, `python_programs/NAME.py` (buggy) and `correct_python_programs/NAME.py`
(fixed), tests from `json_testcases/NAME.json` (arguments, expected result) called the way
`python_testcases/test_NAME.py` calls them (`list(...)` around the generators). The instruction is
the corrected program's description docstring when it has one, else a one-line task, plus the first
three test cases written as `NAME(args) == expected` lines. Programs tested only through graph
objects (`*_test.py` with `node.py`) are left out and counted.

Validation (in codefavor's sandbox, never outside it): the fixed program must pass every test case
and the buggy one must fail at least one; pairs that do not are dropped and counted in meta.json.

    python benchmarks/foreign/build_quixbugs.py [--mirror PATH] [--out DIR]
"""

from __future__ import annotations

import ast
import json
import re

from common import Git, builder_main, make_task, shapes

REPO = "jkoppel/QuixBugs"
LICENSE = "MIT"
MAX_TESTS = 40


def _description(code: str) -> str:
    """The description docstring of a corrected program (QuixBugs puts it after the code); strings
    that are alternative code (some files keep a second version in a string) do not count."""
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return ""
    for node in tree.body:
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
            text = node.value.value.strip()
            if re.search(r"^\s*def \w+\(", text, re.M):
                continue
            return text
    return ""


def _call_form(test_src: str, name: str) -> str | None:
    """How the test calls the program: 'NAME({args})' or 'list(NAME({args}))'."""
    m = re.search(rf"assert (list\()?{name}\(\*input_data\)\)? ==", test_src)
    if not m:
        return None
    return f"list({name}({{args}}))" if m.group(1) else f"{name}({{args}})"


def _as_json(call: str) -> str:
    return f"__import__('json').loads(__import__('json').dumps({call}))"


def _drop_strings(code: str) -> str:
    """The corrected program without its module-level strings (its description and, in some files,
    an alternative version of the code kept in a string)."""
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return code
    lines = code.splitlines(keepends=True)
    for node in reversed(tree.body):
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
            del lines[node.lineno - 1 : node.end_lineno]
    return "".join(lines).strip("\n") + "\n"


def build(git: Git, validate: bool = True) -> tuple[list, dict]:
    head = git.head()
    names = sorted(p.split("/")[-1][:-5] for p in git.ls(head, "json_testcases/") if p.endswith(".json"))
    tasks, dropped, skipped = [], {}, []
    graph = sorted(p.split("/")[-1][:-8] for p in git.ls(head, "python_programs/") if p.endswith("_test.py"))
    jobs = []
    for name in names:
        buggy = git.show(head, f"python_programs/{name}.py")
        fixed = git.show(head, f"correct_python_programs/{name}.py")
        test_src = git.show(head, f"python_testcases/test_{name}.py") or ""
        form = _call_form(test_src, name)
        if not (buggy and fixed and form):
            skipped.append(name)
            continue
        cases = [
            json.loads(line)
            for line in (git.show(head, f"json_testcases/{name}.json") or "").splitlines()
            if line.strip()
        ]
        calls = [(form.format(args=", ".join(repr(a) for a in args)), exp) for args, exp in cases[:MAX_TESTS]]
        jobs.append((name, buggy, fixed, calls))
    verdicts: dict[str, tuple[list[int], int, list]] = {}
    if validate:
        from codefavor.evidence.sandbox import Check, Limits, Sandbox

        lim = Limits(cpu_s=20, wall_s=40, check_s=2)
        with Sandbox() as sb:
            for name, buggy, fixed, calls in jobs:
                tol = 1e-2 if name == "sqrt" else 1e-6  # the test compares with abs=epsilon
                # JSON test data has lists where the programs return tuples: compare as JSON does
                checks = [Check(_as_json(c), expected=e, rel_tol=tol) for c, e in calls]
                shown = [Check(c) for c, _ in calls]
                rf, rs = sb.run_many([(fixed, checks), (fixed, shown)], limits=lim)
                keep = [i for i, r in enumerate(rf.checks) if r.passed]  # cases the fix passes in time
                rb = sb.run(buggy, [checks[i] for i in keep], limits=lim) if keep else None
                verdicts[name] = (keep, rb.n_passed if rb else 0, [r.value for r in rs.checks])
    for name, buggy, fixed, calls in jobs:
        values = [e for _, e in calls]
        if validate:
            keep, pb, values = verdicts[name]
            if not keep or pb == len(keep):
                dropped[name] = f"fixed passes {len(keep)}/{len(calls)}, buggy passes {pb} of those"
                continue
            calls = [calls[i] for i in keep]
            values = [values[i] for i in keep]
        desc = _description(buggy) or _description(fixed)  # the description lives in either file
        head_line = desc or f"Implement `{name}` as specified by the examples."
        examples = "\n".join(f"{c} == {v!r}" for (c, _), v in zip(calls[:3], values[:3], strict=True))
        instruction = f"{head_line}\n\nExamples:\n{examples}"
        info = {"source": REPO, "commit": head, "license": LICENSE, "program": name,
                "validated": "sandbox: fixed passes the kept tests, buggy fails one" if validate else "no",
                "tests": len(calls), "shapes": shapes(fixed, instruction)}  # fmt: skip
        tasks.append(
            make_task(f"quixbugs/{name}", instruction, _drop_strings(fixed), _drop_strings(buggy), "correctness", info)
        )
    meta = {"source": REPO, "commit": head, "license": LICENSE, "kind": "buggy-vs-fixed with tests",
            "programs": len(names) + len(graph), "graph_tests_left_out": graph, "no_json_call_form": skipped,
            "dropped_by_validation": dropped}  # fmt: skip
    return tasks, meta


def main(argv: list[str] | None = None) -> None:
    builder_main(__doc__, REPO, "quixbugs", build, argv)


if __name__ == "__main__":
    main()
