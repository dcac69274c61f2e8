"""Per rule of `evidence/security_diff.py`: on how many security pairs it fires and how often it is right.

A rule fires on a pair when its counts differ between the two codes; it is right when its direction
(more of a hardening mark, fewer of a weakening one) names the labelled secure side. "vote" is
`compare_marks` as the guess's `hardening` step uses it (decided/right over all pairs, static
evidence or not). Codes are comment-stripped first, as the benchmark protocol does for security.
Use it on dev splits to keep each rule's precision in sight; a rule right about as often as wrong
reads noise, not hardening.

    PYTHONPATH=src python benchmarks/security_diff_eval.py --split dev \
        --set ~/.cache/codefavor/foreign/cve-fixes --set ~/.cache/codefavor/foreign/vuln-fixes \
        --set ~/.cache/codefavor/foreign/cweval --codeprefbench ../shared/data/codeprefbench
"""

from __future__ import annotations

from collections import Counter


def evaluate(tasks: list) -> tuple[Counter[str], Counter[str], dict[str, int]]:
    """(fired per rule, right per rule, the vote's {"decided", "right"})."""
    from codefavor.codetools import strip_comments
    from codefavor.evidence.security_diff import compare_marks, marks

    fired: Counter[str] = Counter()
    right: Counter[str] = Counter()
    vote = {"decided": 0, "right": 0}
    for t in tasks:
        secure, other = (strip_comments(t.choices[i]) for i in (t.gt_choice, 1 - t.gt_choice))
        if marks(secure) is None or marks(other) is None:
            continue
        decision, voted = compare_marks(secure, other)  # the votes as the judge counts them
        for v in voted:
            fired[v[1:]] += 1
            right[v[1:]] += v[0] == "+"  # "+rule": for A, the secure side here
        if decision != "undecided":
            vote["decided"] += 1
            vote["right"] += decision == "A"
    return fired, right, vote


def main(argv: list[str] | None = None) -> None:
    from security_rules_eval import security_sets  # the sibling script: run as `python benchmarks/...`

    from codefavor.evidence.security_diff import HARDENING

    split, sets = security_sets(argv, __doc__.splitlines()[0], "codeprefbench")
    results = [(name, len(tasks), *evaluate(tasks)) for name, tasks in sets]
    print(f"split {split}: fired/right per rule (pairs where the rule's counts differ)")
    print(f"{'rule':24s}" + "".join(f" {f'{name} ({n})':>22s}" for name, n, *_ in results))
    for rule in HARDENING:
        print(f"{rule:24s}" + "".join(f" {f'{fi[rule]}/{ri[rule]}':>22s}" for _, _, fi, ri, _ in results))
    print(
        f"{'vote (decided/right)':24s}"
        + "".join(f" {str(v['decided']) + '/' + str(v['right']):>22s}" for *_, v in results)
    )


if __name__ == "__main__":
    main()
