"""Table tests of the generator reply parsers on real replies of real small models
(tests/data/real_replies/, hand-checked `expected` fields): each parser must give what the
hand check says a correct parser gives."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from codefavor.generators import replies

DIR = Path(__file__).parent / "data" / "real_replies"


def _rows(name: str) -> list[dict]:
    path = DIR / f"{name}.jsonl"
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _draft_of(item: str) -> str | None:
    """The draft the critic saw: the same item's draft reply, sanitized as Critic-Evol does."""
    from codefavor.generators.sanitize import sanitize

    for r in _rows("critic_draft"):
        if r["item"] == item:
            return sanitize(r["reply"]).code
    return None


@pytest.mark.parametrize("row", _rows("critic_review"), ids=lambda r: r["item"])
def test_review_verdict_matches_the_hand_check(row):
    exp = row["expected"]
    review = replies.parse_review(row["reply"], _draft_of(row["item"]))
    if exp.get("reject") == "prompt echo":  # the criterion is the prompt's own
        assert (review.verdict, review.reason) == ("unparseable", "criterion copied from the prompt"), review
    elif exp["verdict"] is None or (exp["verdict"] == "improve" and not exp["feedback_present"]):
        assert review.verdict == "unparseable", review  # no verdict, or an improve without feedback
    else:
        assert review.verdict == exp["verdict"], review
    if review.verdict == "improve":
        assert " ".join(exp["criterion"].split()) == review.criterion
        # the feedback ends where the reply starts echoing the prompt's task block
        assert "### Task" not in review.feedback and "[DRAFT]\n```" not in review.feedback


@pytest.mark.parametrize("row", _rows("commit_instruct_gate"), ids=lambda r: r["item"])
def test_gate_answer_matches_the_hand_check(row):
    assert replies.parse_gate(row["reply"]) == row["expected"]["answer"]


@pytest.mark.parametrize("row", _rows("commit_instruct_pair"), ids=lambda r: r["item"])
def test_pair_reply_matches_the_hand_check(row):
    exp = row["expected"]
    got = replies.parse_pair_reply(row["reply"])
    if exp["keep"]:
        assert isinstance(got, replies.ParsedPair), got
    elif exp.get("reject") == "template echo":
        assert got == "template-echo"
    else:
        assert not isinstance(got, replies.ParsedPair)


def test_an_unclosed_fence_ends_at_a_heading_that_cannot_be_code():
    text = "NAIVE CODE:\n```python\ndef f():\n    return 1\nIMPROVED CODE:\n```python\ndef f():\n    return 2\n```\n"
    sec = replies.split_sections(text, {"naive code": "naive", "improved code": "improved"})
    assert "return 2" not in sec["naive"] and "return 2" in sec["improved"]
    # a one-# comment inside a fence is code, not a heading
    text = "## Revision\n```python\n# Feedback\nx = 1\n```\n## Feedback\nok"
    sec = replies.split_sections(text, {"revision": "revision", "feedback": "feedback"})
    assert "# Feedback" in sec["revision"] and sec["feedback"] == "ok"


def test_good_enough_wins_unless_a_different_revision_follows():
    head = "## Reflection\nFine.\n\n## Verdict\ngood enough\n\n## Criterion\nShorter.\n"
    same = head + "## Revision\n```python\ndef f():\n    return 1\n```\n"
    assert replies.parse_review(head).verdict == "good_enough"
    assert replies.parse_review(same, "def f():\n    return 1").verdict == "good_enough"
    assert replies.parse_review(same, "def f():\n    return 2").verdict == "unparseable"


def test_a_review_without_a_reflection_heading_still_counts_when_the_verdict_is_there():
    assert replies.parse_review("## Verdict\ngood enough").verdict == "good_enough"
