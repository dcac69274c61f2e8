"""The generative judge over scripted and real backends, and inside the benchmark runner."""

from __future__ import annotations

import pytest

from codefavor.backends import Generation, Sampling
from codefavor.backends.fake import FakeBackend
from codefavor.benchmark.report import summarize
from codefavor.benchmark.runner import BenchProtocol, run_bench
from codefavor.judges import PairItem, load_judge
from codefavor.judges.generative import GenerativeJudge
from codefavor.prompts import CRITERIA, judge_messages
from codefavor.records import BenchTask

ITEM = PairItem("Reverse a list.", "def r(x): return x[::-1]", "def r(x): x.reverse()", CRITERIA["correctness"])


@pytest.fixture(autouse=True)
def _private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("CODEFAVOR_CACHE", str(tmp_path / "cache.sqlite"))


def test_prompt_is_the_shared_judge_prompt():
    fake = FakeBackend(replies=["Fine.\nVERDICT: Candidate A is better."])
    judge = GenerativeJudge("fake:x", backend=fake)
    (v,) = judge.judge([ITEM])
    assert fake.calls == [judge_messages(ITEM.instruction, ITEM.a, ITEM.b, ITEM.criterion, "generative")]
    assert (v.decision, v.signal, v.prob_a) == ("A", "model", None)
    assert v.raw_output == "Fine.\nVERDICT: Candidate A is better."
    assert v.details == {"statement": "A is better", "cached": False} and v.usage and v.error is None


def test_category_name_as_criterion_is_expanded():
    fake = FakeBackend(fn=lambda m: "VERDICT: Candidate B is better.")
    GenerativeJudge("fake:x", backend=fake).judge([PairItem("i", "a", "b", "security")])
    assert CRITERIA["security"] in fake.calls[0][0]["content"]


class FailingBackend:
    """Answers odd items, fails even ones, like a backend that ran out of retries."""

    spec = "fake:failing"
    batch_size = 7

    def generate(self, conversations, sampling: Sampling) -> list[Generation]:
        return [
            Generation(texts=["VERDICT: Candidate B is better."], completion_tokens=5, latency_s=0.1)
            if i % 2
            else Generation(error="HTTP 503: overloaded (gave up after 6 attempts)", latency_s=2.0)
            for i in range(len(conversations))
        ]


def test_failed_generation_is_undecided_with_reason():
    judge = GenerativeJudge("fake:failing", backend=FailingBackend())
    assert judge.batch_size == 7
    vs = judge.judge([ITEM] * 4)
    assert [v.decision for v in vs] == ["undecided", "B", "undecided", "B"]
    assert vs[0].error == "HTTP 503: overloaded (gave up after 6 attempts)" and vs[0].raw_output is None
    assert vs[1].error is None


def test_load_judge_specs(tiny_model_dir):
    j = load_judge("gen:fake:const=VERDICT: Candidate A is better.")
    assert j.spec == "gen:fake:const=VERDICT: Candidate A is better." and j.judge([ITEM])[0].decision == "A"
    h = load_judge(f"hf-gen:{tiny_model_dir}", cache=False, max_tokens=4, followup=False)
    assert h.spec == f"hf-gen:{tiny_model_dir}"
    (v,) = h.judge([ITEM])
    assert v.decision in ("A", "B", "undecided") and v.error is None and v.usage["completion_tokens"] <= 4


def _tasks() -> list[BenchTask]:
    return [
        BenchTask(
            task_id=f"t{i}",
            instruction=f"task {i}",
            choices=(f"good_{i} = 1", f"bad_{i} = 2"),
            gt_choice=0,
            category=cat,
        )
        for i, cat in enumerate(["correctness", "efficiency", "security", "human-preference"] * 2)
    ]


def test_runner_with_both_orders_counts_failures(tmp_path):
    # The fake model always prefers whichever code contains "good": right in both orders, except that
    # every third call fails outright.
    calls = {"n": 0}

    class Picky:
        spec = "fake:picky"
        batch_size = 5

        def generate(self, conversations, sampling):
            out = []
            for conv in conversations:
                calls["n"] += 1
                if calls["n"] % 3 == 0:
                    out.append(Generation(error="timed out after 300s (gave up after 6 attempts)"))
                    continue
                text = conv[0]["content"]
                a_first = text.index("good_") < text.index("bad_")
                out.append(Generation(texts=[f"VERDICT: Candidate {'A' if a_first else 'B'} is better."]))
            return out

    judge = GenerativeJudge("fake:picky", backend=Picky())
    tasks = _tasks()
    js = run_bench(judge, tasks, tmp_path / "run", protocol=BenchProtocol(both_orders=True))
    assert len(js) == 2 * len(tasks)
    failed = [j for j in js if j.error]
    assert len(failed) == calls["n"] // 3 and all(j.decision == "undecided" for j in failed)
    summary = summarize(tasks, js)
    assert sum(c["failed"] for c in summary["categories"].values()) == len(failed)
    right = len(js) - len(failed)
    total_acc = sum(c["correct"] for c in summary["categories"].values())
    assert total_acc == right  # every answered judgment picked the good code, in both orders


def test_a_reply_without_a_verdict_gets_the_one_line_follow_up():
    from codefavor.backends.fake import FakeBackend
    from codefavor.judges.generative import GenerativeJudge

    seen = []

    def answer(messages):
        seen.append(messages)
        if len(messages) == 1:  # the first turn: a review that trails off, no verdict
            return "### Candidate A\nIt is fine.\n### Candidate B\nIt crashes on empty input."
        return "VERDICT: Candidate A is better."

    j = GenerativeJudge("fake:scripted", backend=FakeBackend(fn=answer))
    (v,) = j.judge([ITEM])
    assert v.decision == "A" and v.details["followup_reply"] == "VERDICT: Candidate A is better."
    assert [m["role"] for m in seen[1]] == ["user", "assistant", "user"] and "one letter" in seen[1][2]["content"]
    # a reply with its verdict asks nothing more; with the follow-up off, the trailing review is undecided
    seen.clear()
    (w,) = GenerativeJudge("fake:x", backend=FakeBackend(replies=["Review.\nVERDICT: Candidate B is better."])).judge(
        [ITEM]
    )
    assert w.decision == "B" and "followup_reply" not in w.details
    (u,) = GenerativeJudge("fake:scripted", backend=FakeBackend(fn=answer), followup=False).judge([ITEM])
    assert u.decision == "undecided"


@pytest.mark.parametrize(
    "reply,followup,expected",
    [
        ("VERDICT: Candidate B is better.", "VERDICT: Candidate A is better.", "B"),  # the reply's own verdict wins
        ("A is faster.", "VERDICT: Candidate B is better.", "B"),  # a weak statement yields to the follow-up
        ("A is faster.", "I am not sure.", "A"),  # ...but stands when the follow-up says nothing
        ("The code is fine.", "B", "B"),  # the follow-up answers with the letter alone
        ("Both are equally good.", None, "undecided"),
        ("", "VERDICT: Candidate X is better.", "undecided"),  # the template echoed, letter not filled
        ("The code is fine.", "### Candidate B", "B"),  # asked for a letter: the prompt's heading names it
        ("### Candidate A\n```\nx = 1\n```", "### Candidate A", "A"),  # the reply's echoed heading is no verdict
        ("The code is fine.", "A is the", "A"),  # an answer cut by the token cap
        ("The code is fine.", "A or B", "undecided"),  # names both: no choice
        ("The code is fine.", "The original criteria are", "undecided"),
        ("The code is fine.", "Both", "undecided"),  # a tie answer stays a tie
        ("The code is fine.", "A is worse", "B"),  # a statement beats the letter it names
        (None, None, "undecided"),
    ],
)
def test_final_decision(reply, followup, expected):
    from codefavor.judges.generative import final_decision

    assert final_decision(reply, followup) == expected
