"""The training-set builder: both orders, loss on the target only, tags renamed, over-length pairs
dropped and counted, and the training prompt identical to the hf-cls judge's inference prompt."""

from __future__ import annotations

import pytest

from codefavor.prompts import verdict_line
from codefavor.records import PreferencePair
from codefavor.training.data import BuildStats, build_rows, rename_tags, split_pairs


def _pair(i: int = 0, feedback: str = "[CHOSEN] closes the file; [REJECTED] leaks it.", **kw) -> PreferencePair:
    fields = dict(
        instruction=f"Read a file number {i}.",
        chosen=f"def read(p):\n    with open(p) as f:\n        return f.read()  # {i}\n",
        rejected=f"def read(p):\n    return open(p).read()  # {i}\n",
        criterion="correctness",
        feedback=feedback,
        source="manual",
    )
    fields.update(kw)
    return PreferencePair(**fields)


def test_rename_tags_follows_the_order():
    text = "[CHOSEN] is safe, [REJECTED] is not; prefer [CHOSEN]."
    assert rename_tags(text, "A") == "Candidate A is safe, Candidate B is not; prefer Candidate A."
    assert rename_tags(text, "B") == "Candidate B is safe, Candidate A is not; prefer Candidate B."


def test_classification_rows_target_one_token_in_both_orders(tiny_tokenizer):
    rows = build_rows([_pair()], tiny_tokenizer, "classification", max_seq_length=2048)
    assert [r["order"] for r in rows] == ["AB", "BA"]
    a_id, b_id = (tiny_tokenizer.encode(x, add_special_tokens=False)[0] for x in "AB")
    for row, winner, loser in ((rows[0], a_id, b_id), (rows[1], b_id, a_id)):
        targets = [t for t in row["labels"] if t != -100]
        assert targets == [winner]  # loss on the answer token only
        assert row["labels"][:-1] == [-100] * (len(row["input_ids"]) - 1)
        assert row["input_ids"][-1] == winner and row["answer_index"] == len(row["input_ids"]) - 1
        assert row["choice_ids"] == (winner, loser)
    # The chosen code sits at A in the first row and at B in the second.
    text0, text1 = (tiny_tokenizer.decode(r["input_ids"]) for r in rows)
    assert text0.index("with open(p)") < text0.index("return open(p)")
    assert text1.index("with open(p)") > text1.index("return open(p)")


def test_single_order_when_asked(tiny_tokenizer):
    rows = build_rows([_pair()], tiny_tokenizer, "classification", 2048, both_orders=False)
    assert [r["order"] for r in rows] == ["AB"]


def test_generative_rows_rename_feedback_and_end_with_the_verdict(tiny_tokenizer):
    rows = build_rows([_pair()], tiny_tokenizer, "generative", max_seq_length=4096)
    for row, chosen_at in zip(rows, "AB", strict=True):
        target = [t for t in row["labels"] if t != -100]
        assert target[-1] == tiny_tokenizer.eos_token_id
        text = tiny_tokenizer.decode(target[:-1])
        other = "B" if chosen_at == "A" else "A"
        assert text == f"Candidate {chosen_at} closes the file; Candidate {other} leaks it.\n{verdict_line(chosen_at)}"
        assert "[CHOSEN]" not in text and "[REJECTED]" not in text
        # The decision token is the verdict letter, and the loser's letter is its alternative.
        winner_tok, loser_tok = row["choice_ids"]
        assert row["input_ids"][row["answer_index"]] == winner_tok
        assert tiny_tokenizer.decode([winner_tok]).strip() == chosen_at
        assert tiny_tokenizer.decode([loser_tok]).strip() == other


def test_over_length_pairs_are_dropped_and_counted_never_cut(tiny_tokenizer):
    long_pair = _pair(1, chosen="x = 1\n" * 400)
    stats = BuildStats()
    rows = build_rows([_pair(0), long_pair], tiny_tokenizer, "classification", max_seq_length=300, stats=stats)
    assert {r["pair_id"] for r in rows} == {_pair(0).id}
    assert stats.pairs_read == 2 and stats.pairs_kept == 1 and stats.dropped_too_long == 1
    assert stats.longest_dropped_tokens > 300 and stats.rows == 2
    assert all(len(r["input_ids"]) <= 300 for r in rows)


def test_generative_rows_need_feedback_naming_a_code(tiny_tokenizer):
    stats = BuildStats()
    pairs = [_pair(0, feedback=""), _pair(1, feedback="Both are fine."), _pair(2)]
    rows = build_rows(pairs, tiny_tokenizer, "generative", 4096, stats=stats)
    assert stats.dropped_no_feedback == 2 and len(rows) == 2
    # Classification rows do not need feedback.
    assert len(build_rows(pairs, tiny_tokenizer, "classification", 4096)) == 6


def test_training_prompt_equals_inference_prompt(tiny_model_dir, tiny_tokenizer):
    from codefavor.judges import PairItem
    from codefavor.judges.classifier import ClassifierJudge

    pair = _pair(3, criterion="The code must not leak file handles.")
    judge = ClassifierJudge(tiny_model_dir, device="cpu")
    rows = build_rows([pair], judge.tokenizer, "classification", 4096)
    shown_ab = PairItem(pair.instruction, pair.chosen, pair.rejected, pair.criterion)
    assert rows[0]["input_ids"][: rows[0]["answer_index"]] == judge.prompt_ids(shown_ab)
    assert rows[1]["input_ids"][: rows[1]["answer_index"]] == judge.prompt_ids(shown_ab, swapped=True)
    # A category name as criterion resolves to the same sentence on both sides.
    cat_pair = _pair(4)
    rows = build_rows([cat_pair], judge.tokenizer, "classification", 4096)
    item = PairItem(cat_pair.instruction, cat_pair.chosen, cat_pair.rejected, "correctness", category="correctness")
    assert rows[0]["input_ids"][:-1] == judge.prompt_ids(item)


def test_split_is_stable_and_keeps_orders_together():
    pairs = [_pair(i) for i in range(200)]
    train, held = split_pairs(pairs, 0.2, seed=0)
    assert 15 <= len(held) <= 60 and len(train) + len(held) == 200
    again_train, again_held = split_pairs(list(reversed(pairs)), 0.2, seed=0)
    assert {p.id for p in held} == {p.id for p in again_held}
    with pytest.raises(Exception, match="eval_fraction"):
        split_pairs(pairs, 1.5)
