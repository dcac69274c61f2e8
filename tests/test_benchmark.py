"""The benchmark protocol: comment stripping, accuracy arithmetic (undecided counts half), both
orders (flip rate, consistent accuracy), Avg, and exactly-once resume after a SIGKILL."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from codefavor.benchmark.report import summarize
from codefavor.benchmark.runner import JUDGMENTS, BenchProtocol, present, run_bench
from codefavor.judges import Verdict
from codefavor.records import BenchTask, Judgment, read_records


def task(i: int, category: str, gt: int) -> BenchTask:
    return BenchTask(
        task_id=f"Toy/{i}",
        instruction=f"Task {i}",
        category=category,
        gt_choice=gt,
        choices=(f"def f():\n    # comment {i}\n    return {i}\n", f'def f():\n    """doc"""\n    return -{i}\n'),
    )


class ScriptedJudge:
    """Picks by a table keyed on the first code shown: how tests pin the arithmetic down."""

    batch_size = 3
    spec = "scripted"

    def __init__(self, table: dict[str, str]):
        self.table = table

    def judge(self, items):
        return [Verdict(self.table.get(it.a, "undecided")) for it in items]


def test_present_strips_comments_only_for_verifiable():
    t = task(1, "correctness", 0)
    item = present(t, "AB")
    assert "comment" not in item.a and "doc" not in item.b and "return 1" in item.a
    assert item.criterion.startswith("The code is correct")
    swapped = present(t, "BA")
    assert swapped.a == item.b and swapped.b == item.a
    human = present(task(2, "human-preference", 0), "AB")
    assert "# comment 2" in human.a
    kept = present(t, "AB", BenchProtocol(strip_comments=False))
    assert "# comment 1" in kept.a
    broken = BenchTask(
        task_id="py2", instruction="x", category="security", gt_choice=0, choices=("print 'hi'  # py2", "x = 1")
    )
    assert present(broken, "AB").a == "print 'hi'  # py2"  # unparseable code is left as is


def test_accuracy_arithmetic(tmp_path):
    tasks = [
        task(i, cat, gt)
        for i, (cat, gt) in enumerate(
            [
                ("correctness", 0),
                ("correctness", 1),
                ("correctness", 0),
                ("correctness", 1),
                ("efficiency", 0),
                ("efficiency", 0),
                ("security", 1),
                ("human-preference", 0),
            ]
        )
    ]
    codes = {t.task_id: present(t, "AB").a for t in tasks}
    # correctness: right, wrong, undecided, right -> (2 + 0.5) / 4 = 62.5
    table = {
        codes["Toy/0"]: "A",
        codes["Toy/1"]: "A",
        codes["Toy/3"]: "B",
        codes["Toy/4"]: "A",
        codes["Toy/5"]: "B",  # efficiency 50
        codes["Toy/6"]: "B",  # security 100
        codes["Toy/7"]: "B",
    }  # human preference 0
    js = run_bench(ScriptedJudge(table), tasks, tmp_path / "run")
    s = summarize(tasks, js)
    cats = s["categories"]
    assert cats["correctness"]["accuracy"] == pytest.approx(62.5)
    assert cats["correctness"]["undecided"] == 1
    assert cats["efficiency"]["accuracy"] == pytest.approx(50.0)
    assert cats["security"]["accuracy"] == pytest.approx(100.0)
    assert cats["human-preference"]["accuracy"] == pytest.approx(0.0)
    assert s["avg"] == pytest.approx((62.5 + 50 + 100) / 3)  # human preference stays out of Avg


def test_both_orders_flip_rate(tmp_path):
    tasks = [task(i, "correctness", 0) for i in range(4)]
    table = {}
    for t in tasks:
        ab, ba = present(t, "AB"), present(t, "BA")
        table[ab.a] = "A"  # always right in the given order
        i = int(t.task_id.split("/")[1])
        table[ba.a] = "B" if i < 2 else "A"  # consistent for 0,1; position-biased (picks A) for 2,3
    js = run_bench(ScriptedJudge(table), tasks, tmp_path / "run", protocol=BenchProtocol(both_orders=True))
    c = summarize(tasks, js)["categories"]["correctness"]
    assert c["acc_AB"] == 100.0 and c["acc_BA"] == 50.0 and c["accuracy"] == 75.0
    assert c["flip_rate"] == 50.0 and c["consistent_accuracy"] == 100.0


def test_failed_judgments_count_as_undecided(tmp_path):
    class Failing:
        batch_size, spec = 8, "failing"

        def judge(self, items):
            return [Verdict("undecided", error="HTTP 500 after 3 attempts") for _ in items]

    tasks = [task(i, "security", 0) for i in range(3)]
    c = summarize(tasks, run_bench(Failing(), tasks, tmp_path / "r"))["categories"]["security"]
    assert c["failed"] == 3 and c["accuracy"] == 50.0


def test_run_folder_refuses_other_settings(tmp_path):
    tasks = [task(0, "correctness", 0)]
    run_bench(ScriptedJudge({}), tasks, tmp_path / "r")
    other = ScriptedJudge({})
    other.spec = "other"
    with pytest.raises(Exception, match="other settings"):
        run_bench(other, tasks, tmp_path / "r")


SLOW_RUN = textwrap.dedent("""
    import sys, time
    from codefavor.benchmark.runner import run_bench, BenchProtocol
    from codefavor.judges.baselines import LengthJudge
    from codefavor.records import BenchTask

    class Slow(LengthJudge):
        batch_size = 2
        def judge(self, items):
            time.sleep(float(sys.argv[2]))
            return super().judge(items)

    tasks = [BenchTask(task_id=f"T/{i}", instruction="x", category="correctness", gt_choice=i % 2,
                       choices=("a" * (i + 1), "b" * (2 * i + 3))) for i in range(40)]
    run_bench(Slow("shorter"), tasks, sys.argv[1], protocol=BenchProtocol(both_orders=True))
""")


def test_resume_after_sigkill(tmp_path):
    script = tmp_path / "slow_run.py"
    script.write_text(SLOW_RUN)
    out = tmp_path / "run"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    proc = subprocess.Popen([sys.executable, str(script), str(out), "0.05"], env=env)
    jpath = out / JUDGMENTS
    deadline = time.time() + 60
    while time.time() < deadline:
        if jpath.exists() and jpath.read_text().count("\n") >= 10:
            break
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    partial = jpath.read_text().count("\n")
    assert 10 <= partial < 80, partial
    subprocess.run([sys.executable, str(script), str(out), "0"], env=env, check=True)
    lines = [json.loads(x) for x in jpath.read_text().splitlines()]
    keys = [(x["task_id"], x["order"]) for x in lines]
    assert len(keys) == 80 and len(set(keys)) == 80  # every (task, order) exactly once
    # and the same decisions as an uninterrupted run
    fresh = tmp_path / "fresh"
    subprocess.run([sys.executable, str(script), str(fresh), "0"], env=env, check=True)
    decisions = {(x.task_id, x.order): x.decision for x in read_records(fresh / JUDGMENTS, Judgment)}
    assert {(x["task_id"], x["order"]): x["decision"] for x in lines} == decisions


class SlowFirstJudge(ScriptedJudge):
    """Takes batches concurrently; the first batch is the slowest, so later ones finish first."""

    concurrent_batches = 3

    def __init__(self, table, fail_on=None):
        super().__init__(table)
        self.calls = 0
        self.fail_on = fail_on

    def judge(self, items):
        self.calls += 1
        if self.fail_on is not None and any(it.a == self.fail_on for it in items):
            raise RuntimeError("judge failed")
        if any(it.a.endswith("return 0\n") for it in items):
            time.sleep(0.3)
        return super().judge(items)


def test_concurrent_batches_write_in_order_and_resume(tmp_path):
    tasks = [task(i, "correctness", i % 2) for i in range(10)]
    codes = [present(t, "AB").a for t in tasks]
    judge = SlowFirstJudge({c: "A" for c in codes})
    seen = []
    js = run_bench(judge, tasks, tmp_path / "run", progress=lambda done, new: seen.append(done))
    assert len(js) == 10 and judge.calls == 4  # batches of 3: 3 + 3 + 3 + 1
    assert seen == [3, 6, 9, 10]
    written = [j.task_id for j in read_records(tmp_path / "run" / JUDGMENTS, Judgment)]
    assert written == [t.id for t in tasks]  # in order although the first batch finished last
    again = SlowFirstJudge({c: "A" for c in codes})
    assert len(run_bench(again, tasks, tmp_path / "run")) == 10 and again.calls == 0


def test_concurrent_batches_error_propagates(tmp_path):
    tasks = [task(i, "correctness", 0) for i in range(9)]
    codes = [present(t, "AB").a for t in tasks]
    judge = SlowFirstJudge({c: "A" for c in codes}, fail_on=codes[4])
    with pytest.raises(RuntimeError, match="judge failed"):
        run_bench(judge, tasks, tmp_path / "run")
    written = list(read_records(tmp_path / "run" / JUDGMENTS, Judgment))
    assert [j.task_id for j in written] == [t.id for t in tasks[:3]]  # the batch before the failure
