"""The real-reply fixtures (tests/data/real_replies/, see its README) are well formed, and each
hand-checked expectation agrees with the reply it describes: the functions said to be there are
defined by a fenced block that parses, a reply said to hold no usable code holds none, and a quoted
criterion is in the reply. The parsers' table tests build on these rows."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest

DIR = Path(__file__).parent / "data" / "real_replies"
PROMPTS = {"critic_draft", "critic_review", "commit_instruct_gate", "commit_instruct_pair", "judge_feedback"}
FENCE = re.compile(r"```[\w+-]*\n(.*?)(?:```|\Z)", re.S)


def _rows() -> list[dict]:
    rows = []
    for f in sorted(DIR.glob("*.jsonl")):
        for n, line in enumerate(f.read_text(encoding="utf-8").splitlines(), start=1):
            rows.append({**json.loads(line), "_where": f"{f.name}:{n}"})
    return rows


ROWS = _rows()


def _defined(code: str) -> set[str] | None:
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return None
    return {n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))}


def _parsing_blocks(text: str) -> list[set[str]]:
    return [d for d in (_defined(b) for b in FENCE.findall(text)) if d is not None]


def test_there_are_fixtures_for_every_prompt_and_each_row_is_complete():
    assert {r["prompt"].split("@")[0] for r in ROWS} == PROMPTS  # judge_feedback@REV: that revision's prompt
    ids = [r["id"] for r in ROWS]
    assert len(ids) == len(set(ids))
    for r in ROWS:
        assert r["prompt"].split("@")[0] in PROMPTS and r["reply"].strip() and r["model"], r["_where"]
        assert isinstance(r.get("expected"), dict), f"{r['_where']}: not hand-checked yet"


@pytest.mark.parametrize("row", [r for r in ROWS if r["prompt"] == "critic_draft"], ids=lambda r: r["_where"])
def test_draft_expectations_match_the_reply(row):
    exp, blocks = row["expected"], _parsing_blocks(row["reply"])
    if exp["usable"]:
        assert any(set(exp["defines"]) == b for b in blocks), (exp["defines"], blocks)
    else:
        assert not any(blocks), blocks


@pytest.mark.parametrize("row", [r for r in ROWS if r["prompt"] == "critic_review"], ids=lambda r: r["_where"])
def test_review_expectations_match_the_reply(row):
    exp, text = row["expected"], row["reply"]
    assert exp["verdict"] in ("improve", "good_enough", None)
    if exp["criterion"]:
        assert " ".join(exp["criterion"].split()) in " ".join(text.split())
    if exp["revision_defines"]:
        revision = text.split("## Revision", 1)[1]
        assert set(exp["revision_defines"]) == _parsing_blocks(revision)[0]
    if exp["verdict"] is None:
        assert not re.search(r"^#+\s*verdict", text, re.I | re.M)


@pytest.mark.parametrize("row", [r for r in ROWS if r["prompt"].startswith("commit")], ids=lambda r: r["_where"])
def test_commit_expectations_match_the_reply(row):
    exp, text = row["expected"], row["reply"]
    if row["prompt"] == "commit_instruct_gate":
        assert exp["answer"] in ("YES", "NO", None)
        if exp["answer"]:
            assert exp["answer"] in text.upper()
        return
    for name in ("naive", "improved"):
        head = re.search(rf"^{name.upper()} CODE:", text, re.M)
        assert head, name
        block = FENCE.search(text, head.end())
        assert block and set(exp[f"{name}_defines"]) <= (_defined(block.group(1).split("\nFEEDBACK:")[0]) or set())


JUDGE_ROWS = [r for r in ROWS if r["prompt"].startswith("judge_feedback")]


@pytest.mark.parametrize("row", JUDGE_ROWS, ids=lambda r: r["_where"])
def test_judge_replies_read_as_hand_checked(row):
    """The generative judge's verdict parser (and the follow-up answer, where one was asked) on real
    replies of real small models to our own pairs: what the reply says, as read by hand."""
    from codefavor.judges.generative import final_decision
    from codefavor.judges.parse import decision

    exp = row["expected"]
    assert exp["decision"] in ("A", "B", "undecided") and exp["note"]
    assert decision(row["reply"]) == exp.get("reply_decision", exp["decision"])
    assert final_decision(row["reply"], row.get("followup")) == exp["decision"]
