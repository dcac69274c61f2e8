"""The verdict parser against a table of replies written the way LLM judges really write them."""

from __future__ import annotations

import pytest

from codefavor.judges.parse import deciding_statement, decision, normalize
from codefavor.prompts import verdict_line

CASES: list[tuple[str, str, str]] = [
    # (name, reply, expected)
    ("our verdict line A", "A handles the empty list; B does not.\nVERDICT: Candidate A is better.", "A"),
    ("our verdict line B", "Both run, but B avoids the quadratic loop.\n\nVERDICT: Candidate B is better.", "B"),
    ("verdict only, no feedback", "VERDICT: Candidate B is better.", "B"),
    ("bold verdict", "**Review**: A leaks the file handle.\n\n**VERDICT: Candidate B is better.**", "B"),
    ("bold label", "After comparing both, **Candidate A** is better because it validates input.", "A"),
    ("markdown heading", "### Final verdict\n**B**", "B"),
    ("Code A phrasing", "Code A is more efficient, since it uses a set for lookups. Code A is better.", "A"),
    ("CODE_B tag", "The preferred code is [CODE_B].", "B"),
    ("CODE_A bare tag", "[CODE_A] is clearly superior: it escapes the SQL parameters.", "A"),
    ("Candidate 1", "Candidate 1 is better: it terminates on every input.", "A"),
    ("Candidate 2", "I would pick Candidate 2, it is the safer implementation.", "B"),
    ("Response B", "Response B is the better response overall.", "B"),
    ("Response A wins", "Response A wins on both speed and readability.", "A"),
    ("solution #2", "Solution #2 is preferable.", "B"),
    ("double brackets", "Explanation: A sorts twice.\nFinal answer: [[B]]", "B"),
    ("boxed", "Therefore the answer is $\\boxed{A}$.", "A"),
    ("bare letter", "B", "B"),
    ("bare letter with period", " A. ", "A"),
    ("bare parenthesised", "(B)", "B"),
    ("answer colon", "Answer: A", "A"),
    ("winner dash", "Winner - B", "B"),
    ("better one is", "The better one is A, because B never closes the socket.", "A"),
    ("prefer", "Overall, I prefer B.", "B"),
    ("go with", "I'd go with Code A here.", "A"),
    ("should be preferred", "Candidate B should be preferred for production use.", "B"),
    ("A > B", "Ranking: A > B", "A"),
    ("worse than", "Code A is worse than Code B because it ignores the timeout.", "B"),
    ("not better", "Candidate B is not better: it mutates its argument.", "A"),
    ("first / second", "The second solution is better; the first one overflows.", "B"),
    ("former / latter", "The former is better since the latter reads the whole file into memory.", "A"),
    ("contradiction, last wins", "Initially A looks better. Wait, A is wrong on negatives. B is better.", "B"),
    (
        "verdict restated",
        "VERDICT: Candidate A is better.\nTo summarise, A is better because it validates the path.",
        "A",
    ),
    ("verdict then corrected", "VERDICT: Candidate A is better.\nCorrection: VERDICT: Candidate B is better.", "B"),
    (
        "review after verdict cannot overturn",
        "Verdict: B.\nNotes: A is faster, but it crashes on empty input.",
        "B",
    ),
    ("weak statement only", "Code B is more secure because it uses parameterised queries.", "B"),
    ("weak negative only", "Candidate A has a bug in the loop bound.", "B"),
    ("neither", "Neither candidate is better; both fail the edge case.", "undecided"),
    ("both equally good", "Both are equally good solutions to the task.", "undecided"),
    ("tie", "It's a tie.", "undecided"),
    ("verdict tie", "VERDICT: tie", "undecided"),
    ("verdict neither", "Final verdict: Neither", "undecided"),
    ("tie after earlier preference", "At first B seemed better, but on reflection they are equivalent.", "undecided"),
    ("preference after tie", "Both are equally correct. However, B is better because it is O(n).", "B"),
    ("empty reply", "", "undecided"),
    ("whitespace reply", "   \n\t ", "undecided"),
    ("no verdict at all", "Both snippets define a function and return a list.", "undecided"),
    (
        "code block cannot vote",
        "```python\nif A > B:\n    return A\n```\nNo clear winner here.",
        "undecided",
    ),
    ("article a is not a label", "I prefer a simpler approach, and A is a loop. Verdict: B", "B"),
    ("lowercase candidate a", "verdict: candidate b is better", "undecided"),
    ("choose", "We should choose [A].", "A"),
    ("cannot decide", "Without tests I cannot decide which is better.", "undecided"),
    ("assistant A", "Assistant A gave the better answer.", "A"),
    ("option B recommended", "I recommend Option B.", "B"),
    ("conclusion line", "In conclusion, B.", "B"),
    ("quoted markdown", "> **Verdict:** Code A", "A"),
    ("italic", "_Candidate B_ is *clearly* the superior solution.", "B"),
    ("the better code is", "The better code is Code 2.", "B"),
    ("backticked label", "`CODE_A` is better.", "A"),
    ("explicit better than", "Candidate A is better than Candidate B.", "A"),
    ("less efficient", "Code A is less efficient than Code B.", "B"),
    ("answer is colon", "The answer is: B", "B"),
    (
        "bold verdict heading",
        "**Analysis**\n- Code A: O(n^2) nested loops.\n- Code B: O(n) with a set.\n\n**Verdict**: Code B",
        "B",
    ),
    ("quality tie then weak", "Both are equally correct, but A is faster.", "A"),
    ("quality tie alone", "Both candidates are equally secure.", "undecided"),
    ("negated recommendation", "I would not recommend A.", "B"),
    ("neither perfect but", "Neither is perfect, but Candidate B is better.", "B"),
    ("scores then verdict", "Candidate A: 6/10. Candidate B: 9/10.\nWinner: Candidate B", "B"),
    ("question then answer", "Which is better, A or B? Looking closely, A is better.", "A"),
    ("same-sentence reversal", "A is better than B, no wait, B is better than A.", "B"),
    ("note after verdict", "VERDICT: Candidate A is better.\n\nNote: Candidate B has a subtle bug.", "A"),
    ("article A is not a label", "A better approach would use a set.", "undecided"),
    ("article A then verdict", "A better approach would use a set, so I prefer B.", "B"),
    ("runs faster", "Candidate B runs faster on large inputs.", "B"),
    ("prompt echo with real verdict", "Format: VERDICT: Candidate A is better.\nMy verdict: Candidate B", "B"),
]


@pytest.mark.parametrize(("name", "reply", "expected"), CASES, ids=[c[0] for c in CASES])
def test_decision_table(name: str, reply: str, expected: str) -> None:
    assert decision(reply) == expected, f"{name}: {normalize(reply)!r} -> {deciding_statement(reply)}"


def test_table_is_large_and_balanced() -> None:
    expected = [c[2] for c in CASES]
    assert len(CASES) >= 40
    assert {"A", "B", "undecided"} <= set(expected)
    assert len({c[0] for c in CASES}) == len(CASES)


@pytest.mark.parametrize("winner", ["A", "B"])
def test_parses_our_own_verdict_line(winner: str) -> None:
    assert decision(verdict_line(winner)) == winner  # type: ignore[arg-type]
    assert decision("Some review text.\n" + verdict_line(winner)) == winner  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "junk",
    [None, 42, b"VERDICT: A", "\x00\x01", "A" * 100_000, "[[" * 5000, "Candidate " * 3000, "\u27e6A\u27e7"],
)
def test_never_raises(junk: object) -> None:
    assert decision(junk) in ("A", "B", "undecided")  # type: ignore[arg-type]
