"""Bandit alone vs Bandit + the AST rules of `evidence/security_rules.py`, on security pairs.

For each set: how many pairs each analysis decides (a clear score difference, margin 0.25 as in
`evidence/security.py`) and how many of those it gets right, plus accuracy with undecided as half.
"bandit+rules" is the security evidence as the judge runs it (`compare_security`: Bandit on the
code or its dedented form, the always-on patterns, and the AST rules, each kind of weakness once per
module); "bandit" and "rules alone" score only those findings. Codes are comment-stripped first, as
the benchmark protocol does for security.

Measured on the dev splits (decided/right, accuracy with undecided as half), Bandit -> Bandit+rules
(the judge's security evidence) -> rules alone: cve-fixes (105) 3/1 (49.5) -> 5/3 (50.5) -> 2/2;
vuln-fixes (266) 123/121 (72.4) -> 138/136 (75.2) -> 117/117; cweval (7) 2/2 (64.3) -> 3/3 (71.4) ->
2/2; CodePrefBench security (108) 106/106 (99.1) -> 106/106 (99.1) -> 43/43. The rules alone never
decided wrongly on these sets. On the rebuilt sets (cve-fixes 168 dev) after the reference-pair pass
(Bandit's process and try/except/pass findings capped under the margin; sql-built silent where the
values are bound apart, and reading db.exec and *db wrappers): cve-fixes 5/5 (51.5) -> 11/11 (53.3)
-> 8/8; vuln-fixes 121/120 (72.4) -> 147/146 (77.3) -> 138/138 (before it: 122/120, 140/138,
120/120); cweval and CodePrefBench unchanged.

    PYTHONPATH=src python benchmarks/security_rules_eval.py --split dev \
        --set ~/.cache/codefavor/foreign/cve-fixes --set ~/.cache/codefavor/foreign/vuln-fixes \
        --set ~/.cache/codefavor/foreign/cweval \
        --codeprefbench ../shared/data/codeprefbench
"""

from __future__ import annotations

import argparse
from pathlib import Path


def evaluate(tasks: list, margin: float = 0.25) -> dict[str, dict[str, float]]:
    from codefavor.codetools import strip_comments
    from codefavor.evidence.security import compare_security, findings, score

    out = {k: {"decided": 0, "right": 0} for k in ("bandit", "bandit+rules", "rules")}
    for t in tasks:
        a, b = (strip_comments(c) for c in t.choices)
        (fa, _), (fb, _) = findings(a), findings(b)
        alone = {"bandit": lambda f: f.source != "rules", "rules": lambda f: f.source == "rules"}
        decisions = {
            "bandit+rules": compare_security(a, b, margin).decision,  # what the judge uses (like with like)
            **{k: _decide(score([f for f in fa if keep(f)]), score([f for f in fb if keep(f)]), margin)
               for k, keep in alone.items()},
        }  # fmt: skip
        truth = "A" if t.gt_choice == 0 else "B"
        for k, d in decisions.items():
            if d in ("A", "B"):
                out[k]["decided"] += 1
                out[k]["right"] += d == truth
    for v in out.values():
        v["accuracy"] = round(100 * (v["right"] + 0.5 * (len(tasks) - v["decided"])) / max(1, len(tasks)), 1)
    return out


def _decide(xa: float, xb: float, margin: float) -> str | None:
    if abs(xa - xb) <= margin:
        return None
    return "A" if xa < xb else "B"


def security_sets(argv: list[str] | None, description: str, codeprefbench_name: str) -> tuple[str, list]:
    """The split and [(name, tasks)] of the security sets named on the command line (`--set DIR|FILE`
    repeated, `--codeprefbench DIR`, `--split`); shared with `security_diff_eval.py`."""
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("--set", action="append", default=[], help="a folder or file of BenchTask records (repeatable)")
    ap.add_argument("--codeprefbench", default=None, help="also CodePrefBench security from this folder")
    ap.add_argument("--split", default="dev", choices=["dev", "test", "all"])
    args = ap.parse_args(argv)
    from codefavor.benchmark.data import load_tasks

    sets = []
    for s in args.set:
        p = Path(s).expanduser()
        sets.append(
            (p.name, load_tasks(["security"], p / f"{args.split}.jsonl" if p.is_dir() and args.split != "all" else p))
        )
    if args.codeprefbench:
        sets.append((codeprefbench_name, load_tasks(["security"], args.codeprefbench, split=args.split)))
    return args.split, sets


def main(argv: list[str] | None = None) -> None:
    split, sets = security_sets(argv, __doc__.splitlines()[0], "codeprefbench-security")
    print(f"split {split}: decided/right (accuracy, undecided = half)")
    print(f"{'set':24s} {'n':>5s}  {'bandit':>18s}  {'bandit+rules':>18s}  {'rules alone':>18s}")
    for name, tasks in sets:
        r = evaluate(tasks)
        cells = "  ".join(
            f"{r[k]['decided']:>4d}/{r[k]['right']:<4d} ({r[k]['accuracy']:5.1f})"
            for k in ("bandit", "bandit+rules", "rules")
        )
        print(f"{name:24s} {len(tasks):5d}  {cells}")


if __name__ == "__main__":
    main()
