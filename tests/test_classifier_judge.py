"""The hf-cls judge: batch-size invariance, order averaging, over-long prompts, dynamic batching."""

from __future__ import annotations

import pytest

from codefavor.judges import PairItem, decide_prob, load_judge
from codefavor.judges.classifier import ClassifierJudge, common_prefix_len, left_pad, pack_batches


def _items(n: int = 11) -> list[PairItem]:
    # Lengths vary a lot so that batches mix short and long prompts (and need padding).
    return [
        PairItem(
            instruction="Return the sum of a list." + " Be brief." * (i % 4),
            a="def total(xs):\n    return sum(xs)\n" * (1 + i % 3),
            b="def total(xs):\n    t = 0\n    for x in xs:\n        t += x\n    return t\n" * (1 + i % 5),
            criterion="correctness",
            category="correctness",
            id=str(i),
        )
        for i in range(n)
    ]


def test_pack_batches_respects_budgets_and_covers_everything():
    lengths = [5, 50, 7, 30, 30, 200, 1, 9]
    batches = pack_batches(lengths, max_batch_size=3, max_batch_tokens=100)
    assert sorted(i for b in batches for i in b) == list(range(len(lengths)))
    for b in batches:
        assert len(b) <= 3
        assert len(b) == 1 or len(b) * max(lengths[i] for i in b) <= 100
    # Shortest first: each batch's longest row is no longer than the next batch's shortest.
    for b1, b2 in zip(batches, batches[1:], strict=False):
        assert max(lengths[i] for i in b1) <= min(lengths[i] for i in b2)


def test_left_pad_positions_ignore_padding():
    enc = left_pad([[5, 6, 7], [8]], pad_id=0)
    assert enc["input_ids"].tolist() == [[5, 6, 7], [0, 0, 8]]
    assert enc["attention_mask"].tolist() == [[1, 1, 1], [0, 0, 1]]
    assert enc["position_ids"].tolist() == [[0, 1, 2], [0, 0, 0]]


def test_same_decisions_whatever_the_batch_size(tiny_model_dir):
    items = _items()
    runs = []
    for max_batch_size, max_batch_tokens in ((1, 1 << 20), (3, 1 << 20), (64, 1 << 20), (64, 600)):
        judge = ClassifierJudge(
            tiny_model_dir,
            device="cpu",
            max_batch_size=max_batch_size,
            max_batch_tokens=max_batch_tokens,
            share_prefix=False,
        )
        runs.append(judge.judge(items))
    base = runs[0]
    for other in runs[1:]:
        assert [v.decision for v in other] == [v.decision for v in base]
        for v, w in zip(base, other, strict=True):
            assert w.prob_a == pytest.approx(v.prob_a, abs=1e-5)


def test_common_prefix_leaves_each_sequence_a_token():
    assert common_prefix_len([1, 2, 3, 4], [1, 2, 5]) == 2
    assert common_prefix_len([1, 2, 3], [1, 2, 3]) == 2
    assert common_prefix_len([7], [7]) == 0


def test_shared_prefix_scores_match_full_prompts_with_fewer_tokens(tiny_model_dir):
    items = _items(6)
    full = ClassifierJudge(tiny_model_dir, device="cpu", share_prefix=False).judge(items)
    shared = ClassifierJudge(tiny_model_dir, device="cpu").judge(items)
    for v, w in zip(full, shared, strict=True):
        assert w.decision == v.decision
        assert w.details["prob_a_by_order"] == pytest.approx(v.details["prob_a_by_order"], abs=1e-5)
        # the task and the template run once, not twice
        assert w.usage["prompt_tokens"] < v.usage["prompt_tokens"]


def test_both_orders_average_the_same_code(tiny_model_dir):
    items = _items(4)
    both = ClassifierJudge(tiny_model_dir, device="cpu").judge(items)
    single = ClassifierJudge(tiny_model_dir, device="cpu", both_orders=False).judge(items)
    swapped_items = [PairItem(i.instruction, i.b, i.a, i.criterion, i.category, i.id) for i in items]
    swapped = ClassifierJudge(tiny_model_dir, device="cpu", both_orders=False).judge(swapped_items)
    for v, s, w in zip(both, single, swapped, strict=True):
        assert v.prob_a == pytest.approx((s.prob_a + (1 - w.prob_a)) / 2, abs=1e-6)
        assert v.usage["forward_passes"] == 2 and s.usage["forward_passes"] == 1
        assert v.decision == decide_prob(v.prob_a)
        assert 0.0 <= v.prob_a <= 1.0 and v.signal == "model"


def test_too_long_prompts_are_undecided_not_truncated(tiny_model_dir):
    judge = ClassifierJudge(tiny_model_dir, device="cpu", max_length=250)
    short = PairItem("Add.", "a+b", "b+a", "correctness")
    long = PairItem("Add.", "x = 1\n" * 200, "b+a", "correctness")
    v_short, v_long = judge.judge([short, long])
    assert v_short.prob_a is not None and v_short.error is None  # scored (random weights: maybe a tie)
    assert v_long.decision == "undecided" and "exceeds max_length" in v_long.error


def test_load_judge_spec_and_unknown_options(tiny_model_dir):
    judge = load_judge(f"hf-cls:{tiny_model_dir}", device="cpu")
    assert judge.spec == f"hf-cls:{tiny_model_dir}" and judge.batch_size > 0
    with pytest.raises(Exception, match="unknown option"):
        load_judge(f"hf-cls:{tiny_model_dir}", temperature=0.3)


@pytest.mark.parametrize(
    ("prob_a", "tie", "decision"),
    [
        (0.5, 1e-3, "undecided"),
        (0.5005, 1e-3, "undecided"),
        (0.4995, 1e-3, "undecided"),
        (0.5011, 1e-3, "A"),
        (0.4989, 1e-3, "B"),
        (0.5001, 0.0, "A"),
        (0.4999, 0.0, "B"),
        (0.5, 0.0, "undecided"),
        (1.0, 1e-3, "A"),
        (0.0, 1e-3, "B"),
    ],
)
def test_a_probability_near_one_half_is_a_tie(prob_a, tie, decision):
    assert decide_prob(prob_a, tie) == decision
