"""`cls:openai:MODEL` against the stub's `/v1/completions` with logprobs: the prompt is hf-cls's own,
both orders are averaged, label variants and missing labels are handled, the spec is parsed once."""

from __future__ import annotations

import math

import pytest

from codefavor.errors import CodefavorError
from codefavor.judges import PairItem, load_judge
from codefavor.judges.served_classifier import ServedClassifierJudge, label_logprobs, prob_first
from codefavor.testing import stub_server


@pytest.fixture(scope="module")
def url():
    proc, base = stub_server.start([])
    yield base
    proc.terminate()
    proc.wait(timeout=10)


def item(a: str, b: str, note: str = "") -> PairItem:
    return PairItem(f"Sum a list.{note}", a, b, "correctness", "correctness")


GOOD, BAD = "def f(xs):\n    return sum(xs)  # GOOD\n", "def f(xs):\n    return 0  # BAD\n"


def test_decisions_follow_the_label_logprobs_in_both_orders(url, tiny_model_dir):
    judge = load_judge("cls:openai:stub", base_url=url, api_key="x", tokenizer=str(tiny_model_dir))
    assert isinstance(judge, ServedClassifierJudge) and judge.spec == "cls:openai:stub"
    items = [item(GOOD, BAD), item(BAD, GOOD), item(GOOD, BAD, " [spaceonly]"), item(GOOD, BAD, " [nolabels]")]
    v = judge.judge(items)
    assert [x.decision for x in v] == ["A", "B", "A", "undecided"]
    p = prob_first(-0.2, -1.9)
    assert v[0].prob_a == pytest.approx(p) and v[0].details["prob_a_by_order"] == pytest.approx([p, p])
    assert v[1].prob_a == pytest.approx(1 - p)
    assert v[2].prob_a == pytest.approx(prob_first(-0.3, -1.5))
    assert "neither label" in v[3].error


def test_one_order_only(url, tiny_model_dir):
    judge = ServedClassifierJudge("stub", base_url=url, api_key="x", tokenizer=str(tiny_model_dir), both_orders=False)
    (v,) = judge.judge([item(GOOD, BAD)])
    assert v.decision == "A" and len(v.details["prob_a_by_order"]) == 1


def test_one_prompt_per_request_gives_the_same_scores(url, tiny_model_dir):
    items = [item(GOOD, BAD), item(BAD, GOOD)] * 5
    many = ServedClassifierJudge("stub", base_url=url, api_key="x", tokenizer=str(tiny_model_dir)).judge(items)
    one = ServedClassifierJudge(
        "stub", base_url=url, api_key="x", tokenizer=str(tiny_model_dir), prompts_per_request=1, max_in_flight=3
    ).judge(items)
    assert [x.prob_a for x in many] == [x.prob_a for x in one]


def test_a_server_that_refuses_prompt_lists_gets_one_per_request(tiny_model_dir):
    import httpx

    proc, base = stub_server.start(["--single-prompt"])
    try:
        judge = ServedClassifierJudge("stub", base_url=base, api_key="x", tokenizer=str(tiny_model_dir))
        judge.client = judge.client.with_options(max_retries=0)
        items = [item(GOOD, BAD), item(BAD, GOOD)] * 3
        assert [v.decision for v in judge.judge(items)] == ["A", "B"] * 3 and judge.prompts_per_request == 1
        before = httpx.get(base.removesuffix("/v1") + "/stats").json()["completion_requests"]
        judge.judge(items)  # from now on one prompt per request, no failed list first
        assert httpx.get(base.removesuffix("/v1") + "/stats").json()["completion_requests"] - before == 12
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_the_prompt_is_the_one_hf_cls_reads(url, tiny_model_dir):
    from codefavor.judges.classifier import ClassifierJudge

    served = ServedClassifierJudge("stub", base_url=url, api_key="x", tokenizer=str(tiny_model_dir))
    local = ClassifierJudge(tiny_model_dir, device="cpu")
    for it in (item(GOOD, BAD), item(BAD, GOOD, " more words")):
        for swapped in (False, True):
            text = served.prompt(it, swapped)
            assert served.tokenizer(text, add_special_tokens=False)["input_ids"] == local.prompt_ids(it, swapped)


def test_an_unreachable_server_is_an_undecided_verdict_with_the_reason(tiny_model_dir):
    judge = ServedClassifierJudge(
        "stub", base_url="http://127.0.0.1:9/v1", api_key="x", tokenizer=str(tiny_model_dir), timeout=2
    )
    judge.client = judge.client.with_options(max_retries=0)
    (v,) = judge.judge([item(GOOD, BAD)])
    assert v.decision == "undecided" and "Connection" in v.error


def test_label_logprobs_is_pure_and_total():
    assert label_logprobs({"A": -0.1, "B": -2.0, " A": -3.0}) == (-0.1, -2.0, False)
    assert label_logprobs({" A": -0.5, " B": -1.0}) == (-0.5, -1.0, False)
    assert label_logprobs({"A": -0.1, "x": -4.0}) == (-0.1, -4.0, True)  # B bounded by the smallest listed
    assert label_logprobs({"x": -1.0}) == (None, None, False)
    assert label_logprobs(None) == (None, None, False)
    assert label_logprobs({}) == (None, None, False)
    assert prob_first(0.0, 0.0) == 0.5 and prob_first(-1000.0, 0.0) == pytest.approx(math.exp(-1000.0), abs=1e-300)


def test_the_spec_is_read_by_the_one_parser():
    with pytest.raises(CodefavorError, match="cls:openai:MODEL"):
        load_judge("cls:hf:x")
    with pytest.raises(CodefavorError, match="unknown option"):
        load_judge("cls:openai:m", base_url="http://127.0.0.1:9/v1", tokenizer="x", bogus=1)


def test_an_averaged_probability_within_the_tie_margin_is_undecided(url, tiny_model_dir):
    p = prob_first(-0.2, -1.9)  # what the stub gives the GOOD code in each order, about 0.85
    wide = ServedClassifierJudge("stub", base_url=url, api_key="x", tokenizer=str(tiny_model_dir), tie=p - 0.5 + 0.01)
    narrow = ServedClassifierJudge(
        "stub", base_url=url, api_key="x", tokenizer=str(tiny_model_dir), tie=p - 0.5 - 0.01
    )
    assert [v.decision for v in wide.judge([item(GOOD, BAD), item(BAD, GOOD)])] == ["undecided", "undecided"]
    assert [v.decision for v in narrow.judge([item(GOOD, BAD), item(BAD, GOOD)])] == ["A", "B"]
