"""Best-of-n reranking: schemes, comparison counts, both orders, batching, and the CLI."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence

import pytest

from codefavor.judges import PairItem, Verdict, load_judge
from codefavor.rank import comparisons_needed, rank, swiss_rounds


class QualityJudge:
    """Prefers the candidate with the higher hidden quality (the integer in its first line); records
    every batch so tests can see the batching and both orders."""

    spec = "quality"
    batch_size = 64

    def __init__(self, position_bias: bool = False):
        self.batches: list[list[PairItem]] = []
        self.position_bias = position_bias

    @staticmethod
    def quality(code: str) -> int:
        return int(code.split("\n", 1)[0].lstrip("# "))

    def judge(self, items: Sequence[PairItem]) -> list[Verdict]:
        self.batches.append(list(items))
        out = []
        for it in items:
            qa, qb = self.quality(it.a), self.quality(it.b)
            if self.position_bias or qa == qb:
                out.append(Verdict("A", prob_a=0.9) if self.position_bias else Verdict("undecided", prob_a=0.5))
            else:
                out.append(Verdict("A" if qa > qb else "B", prob_a=0.8 if qa > qb else 0.2))
        return out


def codes(qualities: Sequence[int]) -> list[str]:
    return [f"# {q}\ndef f():\n    return {q}\n" for q in qualities]


@pytest.mark.parametrize("n", [2, 3, 5, 8])
def test_round_robin_ranks_by_quality_and_batches_one_round(n):
    quals = [(7 * k) % n for k in range(1, n + 1)]  # a permutation of 0..n-1 when n is prime-ish
    quals = list(dict.fromkeys(quals)) + [q for q in range(n) if q not in quals]
    judge = QualityJudge()
    res = rank("do it", codes(quals), judge, scheme="round-robin")
    assert [quals[i] for i in res.ranking] == sorted(quals, reverse=True)
    assert len(res.comparisons) == n * (n - 1) // 2 == comparisons_needed(n, "round-robin")
    assert len(judge.batches) == 1 and len(judge.batches[0]) == 2 * len(res.comparisons)
    # Both orders of every pair were asked.
    shown = {(QualityJudge.quality(it.a), QualityJudge.quality(it.b)) for it in judge.batches[0]}
    assert all((b, a) in shown for a, b in shown)


def test_position_bias_cancels_out():
    """A judge that always says "A" gives every comparison a 1-1 split: all tie, input order kept."""
    res = rank("x", codes([1, 3, 2]), QualityJudge(position_bias=True))
    assert all(c.points_first == 0.5 and c.winner is None for c in res.comparisons)
    assert res.ranking == [0, 1, 2]


def test_ties_broken_by_summed_probability():
    class Soft:
        spec, batch_size = "soft", 8

        def judge(self, items):
            # Every order undecided, but candidate "2" leans ahead on probability.
            return [Verdict("undecided", prob_a=0.6 if "2" in it.a else (0.4 if "2" in it.b else 0.5)) for it in items]

    res = rank("x", ["a = 0", "a = 1", "a = 2"], Soft())
    assert {s.wins for s in res.standings} == {1.0}
    assert res.best == 2


@pytest.mark.parametrize("n", [9, 16, 17, 33, 64, 100])
def test_swiss_keeps_comparisons_near_n_log_n_and_finds_the_best(n):
    quals = [(37 * k + 11) % 1009 for k in range(n)]
    judge = QualityJudge()
    res = rank("do it", codes(quals), judge)  # auto picks swiss above 8
    assert res.scheme == "swiss"
    assert res.rounds == swiss_rounds(n) == math.ceil(math.log2(n))
    assert len(res.comparisons) == comparisons_needed(n) == swiss_rounds(n) * (n // 2)
    assert len(res.comparisons) <= n * math.ceil(math.log2(n)) / 2 < n * (n - 1) / 2
    assert len(judge.batches) == res.rounds  # one judge call per round
    # With a consistent judge, the unbeaten candidate is the best one.
    assert quals[res.best] == max(quals)
    # No rematches while fresh opponents remain (true for these sizes).
    pairs = [frozenset((c.first, c.second)) for c in res.comparisons]
    assert len(pairs) == len(set(pairs))


@pytest.mark.parametrize("n", [2, 5, 8, 13, 32])
def test_knockout_plays_n_minus_one_and_finds_the_best(n):
    quals = [(29 * k + 3) % 97 for k in range(n)]
    res = rank("x", codes(quals), QualityJudge(), scheme="knockout")
    assert len(res.comparisons) == n - 1 == comparisons_needed(n, "knockout")
    assert quals[res.best] == max(quals)
    assert sorted(res.ranking) == list(range(n))


def test_single_candidate_and_errors():
    res = rank("x", ["pass"], QualityJudge())
    assert res.best == 0 and res.comparisons == []
    with pytest.raises(ValueError, match="at least one"):
        rank("x", [], QualityJudge())
    with pytest.raises(ValueError, match="unknown ranking scheme"):
        rank("x", ["a", "b"], QualityJudge(), scheme="elo")  # type: ignore[arg-type]


def test_failed_verdicts_count_as_undecided():
    class Broken:
        spec, batch_size = "broken", 8

        def judge(self, items):
            return [Verdict("A", prob_a=1.0, error="boom") for _ in items]

    res = rank("x", ["a", "bb"], Broken())
    assert res.comparisons[0].points_first == 0.5 and res.comparisons[0].error


def test_baseline_judges_give_length_orders():
    cands = ["x = 1\ny = 2\nz = 3", "x = 1", "x = 1\ny = 2"]
    assert rank("x", cands, load_judge("shorter")).ranking == [1, 2, 0]
    assert rank("x", cands, load_judge("longer")).ranking == [0, 2, 1]
    assert rank("x", cands, load_judge("random:3")).best in (0, 1, 2)


def test_criterion_name_sets_category():
    judge = QualityJudge()
    rank("x", codes([1, 2]), judge, criterion="efficiency")
    it = judge.batches[0][0]
    assert it.category == "efficiency" and "efficient" in it.criterion
    rank("x", codes([1, 2]), judge, criterion="be short")
    assert judge.batches[-1][0].criterion == "be short" and judge.batches[-1][0].category is None


def test_cli_rank_json_and_table(tmp_path, capsys):
    from codefavor.cli import main

    files = []
    for k, body in enumerate(["return 1", "a = 1\n    return a", "a = 1\n    b = a\n    return b"]):
        p = tmp_path / f"c{k}.py"
        p.write_text(f"def f():\n    {body}\n")
        files.append(str(p))
    md = tmp_path / "reply.md"  # a model reply: the code block is judged, the prose ignored
    md.write_text("Here you go, a long explanation that would lose on length.\n```python\nf=1\n```\n")
    inst = tmp_path / "inst.txt"
    inst.write_text("Write f.")
    main(["rank", "--instruction", str(inst), "--judge", "shorter", "--json", *files, str(md)])
    out = json.loads(capsys.readouterr().out)
    assert out["best_file"] == str(md) and out["scheme"] == "round-robin"
    assert out["n_comparisons"] == 6 and len(out["comparisons"]) == 6 and out["judge_items"] == 12
    assert [s["file"] for s in out["standings"]] == [str(md), *files]
    main(["rank", "--instruction", "Write f.", "--judge", "longer", *files])
    assert f"best: {files[2]}" in capsys.readouterr().out


def test_cli_rank_user_errors(tmp_path, capsys):
    from codefavor.cli import main

    p = tmp_path / "a.py"
    p.write_text("x = 1\n")
    with pytest.raises(SystemExit) as e:
        main(["rank", "--instruction", "x", "--scheme", "elo", str(p)])
    assert e.value.code == 2 and "--scheme 'elo'" in capsys.readouterr().err
    with pytest.raises(SystemExit) as e:
        main(["rank", "--instruction", "x", str(tmp_path / "missing.py")])
    assert e.value.code == 2 and "missing.py" in capsys.readouterr().err


# ---- with the evidence judge: orders that the evidence makes certain

SQUARE = '''Write a function square(x) that returns x squared.
```
def square(x):
    """
    >>> square(3)
    9
    >>> square(-2)
    4
    >>> square(0)
    0
    """
```
'''
SQUARES = {  # fails 0, 1, 2 and 3 of the three examples
    "right": "def square(x):\n    return x * x\n",
    "one_off": "def square(x):\n    return x * x if x != 0 else 1\n",
    "two_off": "def square(x):\n    return x * 3 + (x == 0)\n",
    "wrong": "def square(x):\n    return x + 1\n",
}


@pytest.mark.parametrize("scheme", ["round-robin", "swiss", "knockout"])
def test_evidence_judge_ranks_by_examples_passed(sandbox, scheme):
    judge = load_judge("evidence+none", sandbox=sandbox)
    names = ["wrong", "two_off", "right", "one_off"]
    res = rank(SQUARE, [SQUARES[n] for n in names], judge, criterion="correctness", scheme=scheme)
    assert names[res.best] == "right"
    if scheme == "round-robin":
        assert [names[i] for i in res.ranking] == ["right", "one_off", "two_off", "wrong"]
        assert all(c.signal_ab == "examples" for c in res.comparisons)


def test_evidence_judge_ranks_by_measured_speed(sandbox):
    from codefavor.judges.evidence import EVIDENCE

    if not EVIDENCE.get("efficiency"):
        pytest.fail("the evidence judge has no efficiency evidence registered")
    dups = '''Say whether a list holds a duplicate.
```
def has_dup(xs):
    """
    >>> has_dup([1, 2, 3, 4, 5, 6, 7, 8, 9])
    False
    >>> has_dup([4, 1, 4])
    True
    """
```
'''
    quadratic = (
        "def has_dup(xs):\n    for i in range(len(xs)):\n        for j in range(i + 1, len(xs)):\n"
        "            if xs[i] == xs[j]:\n                return True\n    return False\n"
    )
    sorting = "def has_dup(xs):\n    s = sorted(xs)\n    return any(a == b for a, b in zip(s, s[1:]))\n"
    linear = "def has_dup(xs):\n    return len(set(xs)) != len(xs)\n"
    judge = load_judge("evidence+none", sandbox=sandbox)
    res = rank(dups, [quadratic, linear, sorting], judge, criterion="efficiency")
    assert res.ranking == [1, 2, 0]
