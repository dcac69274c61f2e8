"""Efficiency pairs of programming-site problems written as `class Solution`, from doocs/leetcode
(CC-BY-SA-4.0), plus the few real bug fixes of its Python solutions as correctness pairs.

- `leetcode-efficiency`: for each problem under `solution/` whose English README gives two or
  more Python solutions with stated time complexities, the solution of the lowest complexity
  (chosen) vs the highest (rejected), when the stated costs differ by at least `--min-ratio` at
  n = 1000 (the default 8 admits a log factor: O(n) vs O(n log n); 30 keeps polynomial gaps only). Every solution in the
  repository is an accepted answer; the instruction is the statement as text, with its
  `Input: ... Output: ...` examples.
- `leetcode-fixes`: commits of that repository whose message starts with "fix" and that change a
  Python solution: the solution before (buggy) vs after (fixed).

Validation in codefavor's sandbox: the examples are turned into `Solution().method(...)` calls
(arguments by parameter name, else by position) with the platform's implicit imports preloaded; an
efficiency pair is kept when both solutions pass every checkable example, a fix pair when the fix
passes them and the old version fails one. Examples that cannot be checked this way (linked lists,
trees, design problems, in-place results, "any order" answers) keep the pair but mark it
unchecked; the counts of each shape are in meta.json for the evidence judge's part 2.

    python benchmarks/foreign/build_leetcode.py [--mirror PATH] [--out DIR] [--limit N]
"""

from __future__ import annotations

import ast
import html
import math
import re
from collections import Counter
from typing import Any

from common import Git, arg_parser, default_out, make_task, mirror_path, shapes, write_set

REPO = "doocs/leetcode"
LICENSE = "CC-BY-SA-4.0"
# What the platform imports for every solution; the code itself relies on it (List, deque, ...).
PRELUDE = (
    "from typing import *\nfrom collections import *\nfrom itertools import *\nfrom functools import *\n"
    "from heapq import *\nfrom bisect import *\nfrom math import *\nimport math, collections, heapq, bisect, itertools\n"
)


def statement(readme: str) -> str:
    """The problem statement as plain text (HTML tags dropped, superscripts as ^)."""
    m = re.search(r"<!-- description:start -->(.*?)<!-- description:end -->", readme, re.S)
    text = m.group(1) if m else ""
    text = re.sub(r"<sup>(.*?)</sup>", r"^\1", text)
    text = re.sub(r"<img[^>]*>", "[image]", text)
    text = re.sub(r"<li>\s*", "- ", text)
    text = re.sub(r"<[^>]+>", "", text)
    text = html.unescape(text).replace("\xa0", " ")
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def solutions(readme: str) -> list[tuple[str, str]]:
    """(stated time complexity, Python code) of each `### Solution` section that has both."""
    out = []
    for sec in re.split(r"\n### ", readme)[1:]:
        code = re.search(r"#### Python3?\s*\n+```python\n(.*?)```", sec, re.S)
        cx = re.search(r"[Tt]ime complexity[^$]{0,80}?\$O\((.+?)\)\$", sec, re.S)
        if code and cx:
            out.append((cx.group(1).strip(), code.group(1)))
    return out


_LATEX = [(r"\\log\s*_?\{?\d*\}?\s*", " log "), (r"\\times|\\cdot", "*"), (r"\\sqrt", "sqrt"), (r"\\textit\{(\w+)\}", r"\1"),
          (r"\\text\{(\w+)\}", r"\1"), (r"\\left|\\right|\\,|\\;", ""), (r"\{", "("), (r"\}", ")"), (r"\^", "**"),
          (r"\|", "")]  # fmt: skip


def cost(expr: str, n: float = 1000.0) -> float | None:
    """The stated complexity evaluated with every size variable = n (None when it does not parse)."""
    e = expr
    for pat, rep in _LATEX:
        e = re.sub(pat, rep, e)
    e = re.sub(r"\blog\s+([A-Za-z_]\w*|\d+)", r"log(\1)", e)  # "log n" -> "log(n)"
    e = re.sub(r"\b(log|sqrt)\s+\(", r"\1(", e)
    e = re.sub(r"(?<=[\w)])\s+(?=[\w(])", "*", e.strip())  # implicit products: "n log n"
    e = re.sub(r"(?<=\d)(?=[a-zA-Z(])", "*", e)
    names = {w for w in re.findall(r"[A-Za-z_]\w*", e) if w not in ("log", "sqrt")}
    env = {"log": lambda x: math.log2(max(x, 2.0)), "sqrt": math.sqrt, **{w: n for w in names}}
    try:
        val = eval(compile(ast.parse(e, mode="eval"), "<cost>", "eval"), {"__builtins__": {}}, env)  # noqa: S307 - our own arithmetic on digits, names and operators
        return float(min(val, 1e300))
    except OverflowError:  # exponential in n: beyond any polynomial
        return 1e300
    except (ArithmeticError, SyntaxError, TypeError, NameError, ValueError):  # a complexity we cannot read is skipped
        return None


def _literal(text: str) -> Any:
    t = re.sub(r"\btrue\b", "True", re.sub(r"\bfalse\b", "False", re.sub(r"\bnull\b", "None", text.strip())))
    return ast.literal_eval(t)


def examples(stmt: str) -> list[tuple[str, str]]:
    """(input text, output text) of every `Input: ... Output: ...` example."""
    return [(m.group(1).strip(), m.group(2).strip())
            for m in re.finditer(r"Input:\s*(.+?)\s*\nOutput:\s*(.+?)\s*(?:\n|$)", stmt)]  # fmt: skip


def method_of(code: str) -> tuple[str, list[str]] | None:
    """The public method of `class Solution` and its parameter names (self excluded)."""
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return None
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and node.name == "Solution":
            for fn in node.body:
                if isinstance(fn, ast.FunctionDef) and not fn.name.startswith("_"):
                    return fn.name, [a.arg for a in fn.args.args[1:]]
    return None


def calls(code: str, stmt: str) -> list[tuple[str, Any]] | None:
    """Sandbox calls for the examples, or None when this shape cannot be checked by value."""
    m = method_of(code)
    exs = examples(stmt)
    if m is None or not exs or "ListNode" in code or "TreeNode" in code or "any order" in stmt.lower():
        return None
    name, params = m
    if re.search(rf"def {name}\([^)]*\)\s*->\s*None", code):
        return None  # in place: the result is a mutated argument
    out = []
    for inp, outp in exs:
        try:
            call = ast.parse(
                f"f({re.sub(r'true|false|null', lambda x: x.group().title().replace('Null', 'None'), inp)})",
                mode="eval",
            ).body
            kws = {k.arg: ast.literal_eval(k.value) for k in call.keywords}  # type: ignore[attr-defined]
            expected = _literal(outp)
        except (SyntaxError, ValueError, TypeError, MemoryError, RecursionError):
            return None
        if set(kws) == set(params):
            args = [kws[p] for p in params]
        elif len(kws) == len(params):
            args = list(kws.values())  # names differ between statement and code: by position
        else:
            return None
        out.append((f"Solution().{name}({', '.join(repr(a) for a in args)})", expected))
    return out


def _check(sb: Any, codes: list[str], cs: list[tuple[str, Any]]) -> list[int]:
    from codefavor.evidence.sandbox import Check, Limits

    checks = [Check(c, expected=e) for c, e in cs]
    res = sb.run_many([(PRELUDE + c, checks) for c in codes], limits=Limits(cpu_s=10, wall_s=20, check_s=3))
    return [r.n_passed if not r.load_error else -1 for r in res]


def problems(git: Git, head: str) -> list[str]:
    return sorted(p[: -len("/README_EN.md")] for p in git.ls(head, "solution/") if p.endswith("/README_EN.md"))


def efficiency(git: Git, validate: bool, min_ratio: float, limit: int | None) -> tuple[list, dict]:
    head = git.head()
    tasks, stats, shape_counts = [], Counter(), Counter()
    sb = None
    if validate:
        from codefavor.evidence.sandbox import Sandbox

        sb = Sandbox()
    try:
        for folder in problems(git, head):
            readme = git.show(head, folder + "/README_EN.md") or ""
            sols = [(cost(cx), cx, code) for cx, code in solutions(readme)]
            sols = [s for s in sols if s[0] is not None and s[0] > 0]
            if len(sols) < 2:
                continue
            stats["problems_with_2+_costed_solutions"] += 1
            fast, slow = min(sols, key=lambda s: s[0]), max(sols, key=lambda s: s[0])
            if slow[0] / fast[0] < min_ratio:
                stats["cost_ratio_too_small"] += 1
                continue
            stmt = statement(readme)
            title = folder.split("/")[-1]
            instruction = f"{title.split('.', 1)[-1]}\n\n{stmt}"
            cs = calls(fast[2], stmt)
            checked = "not checkable (shape)"
            if sb is not None and cs:
                pf, ps = _check(sb, [fast[2], slow[2]], cs)
                if pf < len(cs) or ps < len(cs):
                    stats["dropped_failing_examples"] += 1
                    continue
                checked = f"both pass {len(cs)} examples"
            stats["kept_checked" if cs else "kept_unchecked"] += 1
            sh = shapes(fast[2] + slow[2], instruction)
            shape_counts.update(k for k, v in sh.items() if v)
            info = {"source": REPO, "commit": head, "license": LICENSE, "problem": folder,
                    "complexity": {"chosen": fast[1], "rejected": slow[1]}, "validated": checked, "shapes": sh}  # fmt: skip
            tasks.append(make_task(f"leetcode/{title}", instruction, fast[2], slow[2], "efficiency", info))
            if limit and len(tasks) >= limit:
                break
    finally:
        if sb is not None:
            sb.close()
    meta = {"source": REPO, "commit": head, "license": LICENSE, "kind": "slow-vs-fast accepted class Solution",
            "min_ratio": min_ratio, "stats": dict(stats), "shapes": dict(shape_counts),
            "needs_implicit_imports": "every row: the code uses List/deque/... without importing them"}  # fmt: skip
    return tasks, meta


def fixes(git: Git, validate: bool) -> tuple[list, dict]:
    head = git.head()
    log = git.log("--format=%H", "-i", "--grep=^fix", "--no-merges", "--", "solution/")
    tasks, stats = [], Counter()
    sb = None
    if validate:
        from codefavor.evidence.sandbox import Sandbox

        sb = Sandbox()
    try:
        for sha in log.split():
            for status, path in git.changed(sha):
                if status != "M" or not re.search(r"/Solution\d*\.py$", path):
                    continue
                before, after = git.show(f"{sha}^", path), git.show(sha, path)
                readme = git.show(sha, path.rsplit("/", 1)[0] + "/README_EN.md") or ""
                if not before or not after or before.strip() == after.strip():
                    continue
                stats["changed_solutions"] += 1
                stmt = statement(readme)
                cs = calls(after, stmt)
                if sb is None or not cs:
                    stats["not_checkable"] += 1
                    continue
                pa, pb = _check(sb, [after, before], cs)
                if pa < len(cs) or pb == len(cs):
                    stats["not_confirmed_by_examples"] += 1
                    continue
                title = path.split("/")[-2]
                info = {"source": REPO, "commit": sha, "license": LICENSE, "file": path,
                        "validated": f"fix passes {len(cs)} examples, old version fails {len(cs) - max(pb, 0)}"}  # fmt: skip
                tasks.append(make_task(f"leetcode-fix/{sha[:12]}/{title}", f"{title.split('.', 1)[-1]}\n\n{stmt}",
                                       after, before, "correctness", info))  # fmt: skip
    finally:
        if sb is not None:
            sb.close()
    meta = {"source": REPO, "commit": head, "license": LICENSE, "kind": "real fixes of accepted-solution bugs",
            "stats": dict(stats)}  # fmt: skip
    return tasks, meta


def main(argv: list[str] | None = None) -> None:
    ap = arg_parser(__doc__)
    ap.add_argument("--mirror", default=str(mirror_path(REPO)))
    ap.add_argument("--min-ratio", type=float, default=8.0, help="stated-cost ratio at n=1000 (8: a log factor)")
    ap.add_argument("--limit", type=int, default=None, help="stop after N efficiency pairs")
    args = ap.parse_args(argv)
    git = Git(args.mirror)
    out = args.out or default_out()
    write_set(out, "leetcode-efficiency", *efficiency(git, not args.no_validate, args.min_ratio, args.limit))
    write_set(out, "leetcode-fixes", *fixes(git, not args.no_validate))


if __name__ == "__main__":
    main()
