"""Cutting a commit's changed definitions out of their file (Commit-Instruct `codes="commit"`), and
the dialogue that pairs them with a model's instruction and criterion."""

from __future__ import annotations

import json
import textwrap
from collections import Counter

import pytest

from codefavor.backends.fake import FakeBackend
from codefavor.generators import commit_instruct as ci
from codefavor.generators import replies
from codefavor.generators.commit_snippets import Snippets, changed_snippets
from codefavor.generators.engine import OUTCOMES, PAIRS
from codefavor.generators.mining import CommitSeed
from codefavor.records import PreferencePair, read_records

MODULE = textwrap.dedent(
    '''\
    """Statistics helpers."""
    from __future__ import annotations

    import math
    import os
    from collections import Counter as C

    LIMIT = 10
    UNUSED = 3


    def _norm(xs):
        return [x / LIMIT for x in xs]


    def mean(xs):
        """The mean."""
        return sum(_norm(xs)) / len(xs)


    def other():
        return os.getcwd()


    if __name__ == "__main__":
        print(mean([1, 2]))
    '''
)


def test_the_changed_definition_comes_with_what_it_needs_and_nothing_else():
    new = MODULE.replace("return sum(_norm(xs)) / len(xs)", "return sum(_norm(xs)) / len(xs) if xs else 0.0")
    cut = changed_snippets(MODULE, new)
    assert isinstance(cut, Snippets) and cut.names == ("mean",)
    assert cut.before == (
        "from __future__ import annotations\nLIMIT = 10\n\n\ndef _norm(xs):\n    return [x / LIMIT for x in xs]"
        '\n\n\ndef mean(xs):\n    """The mean."""\n    return sum(_norm(xs)) / len(xs)\n'
    )
    assert "if xs else 0.0" in cut.after and "if xs else 0.0" not in cut.before
    for text in (cut.before, cut.after):  # neither the unused names nor the main guard
        assert "UNUSED" not in text and "os" not in text and "__main__" not in text and "other" not in text
        compile(text, "snippet", "exec")


def test_imports_and_decorators_travel_with_their_definition():
    old = "import math\nimport functools\n\n\n@functools.cache\ndef area(r):\n    return math.pi * r * r\n"
    new = old.replace("r * r", "r ** 2")
    cut = changed_snippets(old, new)
    assert isinstance(cut, Snippets)
    assert (
        cut.after == "import math\nimport functools\n\n\n@functools.cache\ndef area(r):\n    return math.pi * r ** 2\n"
    )


def test_a_helper_added_by_the_change_is_in_the_after_snippet_only():
    old = "def total(xs):\n    s = 0\n    for x in xs:\n        s += x\n    return s\n"
    new = "def _add(a, b):\n    return a + b\n\n\ndef total(xs):\n    s = 0\n    for x in xs:\n        s = _add(s, x)\n    return s\n"
    cut = changed_snippets(old, new)
    assert isinstance(cut, Snippets) and "_add" in cut.after and "_add" not in cut.before


@pytest.mark.parametrize(
    ("old", "new", "reason"),
    [
        ("def f(:\n", "def f():\n    pass\n", "file-syntax"),
        ("X = 1\n", "X = 2\n", "no-changed-definition"),  # module-level change only
        ("def f():\n    return 1  # one\n", "def f():\n    return 1  # uno\n", "no-changed-definition"),
        (
            'def f():\n    """Old."""\n    return 1\n',
            'def f():\n    """New."""\n    return 1\n',
            "no-changed-definition",
        ),
        (
            "def f():\n    pass\n",
            "def f():\n    pass\n\n\ndef g():\n    pass\n",
            "no-changed-definition",
        ),  # added only
        ('def f():\n    raise ValueError("bad")\n', 'def f():\n    raise ValueError("Bad")\n', "only-literals"),
        (
            "from .util import g\n\n\ndef f():\n    return g()\n",
            "from .util import g\n\n\ndef f():\n    return g() + 1\n",
            "relative-import",
        ),
        (
            "".join(f"def f{i}():\n    return {i}\n\n\n" for i in range(4)),
            "".join(f"def f{i}():\n    return {i + 1}\n\n\n" for i in range(4)),
            "too-many-definitions",
        ),
        (
            "def f():\n" + "    x = 1\n" * 200 + "    return x\n",
            "def f():\n" + "    x = 1\n" * 200 + "    return x + 1\n",
            "too-long",
        ),
    ],
)
def test_changes_with_no_definition_to_cut_out_say_why(old, new, reason):
    assert changed_snippets(old, new) == reason


def test_a_relative_import_the_definition_does_not_use_does_not_matter():
    old = "from . import other\n\n\ndef f(x):\n    return x\n"
    new = "from . import other\n\n\ndef f(x):\n    return x + 1\n"
    assert isinstance(changed_snippets(old, new), Snippets)


# ---------------------------------------------------------------------------------------------
# the reply: instruction, criterion, feedback

TASK_REPLY = """INSTRUCTION:
Write `mean(xs)` returning the average of a list of numbers, or 0.0 for an empty list.

CRITERION:
It returns 0.0 for an empty list instead of raising ZeroDivisionError.

FEEDBACK:
[NAIVE] divides by zero on an empty list; [IMPROVED] checks for it first.
"""


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        (TASK_REPLY, ("Write `mean(xs)`", "It returns 0.0", "[REJECTED] divides")),
        (TASK_REPLY.replace("[NAIVE]", "the first").replace("[IMPROVED]", "the second"), ("Write", "It returns", "")),
        (TASK_REPLY.split("FEEDBACK:")[0], ("Write", "It returns", "")),  # feedback is optional
        ("**Instruction:** Write f.\n**Criterion:** f handles None.\n", ("Write f.", "f handles None.", "")),
        (TASK_REPLY.split("CRITERION:")[0], "missing-criterion"),
        ("CRITERION: fast\n", "missing-instruction"),
        ("INSTRUCTION:\n```python\ndef f(): pass\n```\nCRITERION: fast\n", "missing-instruction"),
        (
            TASK_REPLY.replace(
                "It returns 0.0 for an empty list instead of raising ZeroDivisionError.",
                "The one quality in which the code after the change is better.",
            ),
            "criterion-echo",
        ),
        ("", "missing-instruction"),
        (
            TASK_REPLY.replace(
                "It returns 0.0 for an empty list instead of raising ZeroDivisionError.",
                "Better in functionality, correctness, robustness and maintainability.",
            ),
            "vague-criterion",
        ),
        (
            TASK_REPLY.replace(
                "It returns 0.0 for an empty list instead of raising ZeroDivisionError.",
                "The code after the change is better than the code before it.",
            ),
            "criterion-echo",  # the follow-up prompt's own words
        ),
        (
            TASK_REPLY.replace(
                "Write `mean(xs)` returning the average of a list of numbers, or 0.0 for an empty list.",
                "Both versions answer one programming task, and the code after the change is the better one.",
            ),
            "template-echo",
        ),
        (
            TASK_REPLY.replace(
                "Write `mean(xs)` returning the average of a list of numbers, or 0.0 for an empty list.",
                "What would the programmer be asked to do?",
            ),
            "question",
        ),
    ],  # fmt: skip
)
def test_parse_task_reply(reply, expected):
    got = replies.parse_task_reply(reply)
    if isinstance(expected, str):
        assert got == expected
        return
    assert not isinstance(got, str)
    assert got.instruction.startswith(expected[0]) and got.criterion.startswith(expected[1])
    assert got.feedback.startswith(expected[2]) if expected[2] else got.feedback == ""


# ---------------------------------------------------------------------------------------------
# the dialogue with codes="commit"

OLD = "def mean(xs):\n    return sum(xs) / len(xs)\n"
NEW = "def mean(xs):\n    if not xs:\n        return 0.0\n    return sum(xs) / len(xs)\n"


def seed(i: int, old: str = OLD, new: str = NEW) -> CommitSeed:
    return CommitSeed(
        repo="example/proj", commit=f"{i:040x}", path="stats.py", message=f"m{i}", old_code=old, new_code=new
    )


def test_commit_codes_dialogue_pairs_the_commit_code_with_the_model_words(tmp_path):
    def fn(messages):
        turn = sum(m["role"] == "assistant" for m in messages)
        return ["It guards against an empty list.", "YES", TASK_REPLY][turn]

    backend = FakeBackend(fn=fn, spec="fake:scripted")
    seeds = [seed(0), seed(1, "X = 1\n", "X = 2\n"), seed(2, OLD.replace("mean", "avg"), NEW.replace("mean", "avg"))]
    settings = ci.Settings(backend.spec, decontaminate=False, codes="commit")
    funnel = ci.run_commit_instruct(seeds, backend, tmp_path, settings=settings).funnel
    assert funnel["kept"] == 2 and funnel["unextractable"] == 1
    assert funnel["reasons"]["unextractable"] == {"no-changed-definition": 1}
    pairs = list(read_records(tmp_path / PAIRS, PreferencePair))
    assert [p.rejected for p in pairs] == [OLD, OLD.replace("mean", "avg")]
    assert [p.chosen for p in pairs] == [NEW, NEW.replace("mean", "avg")]
    assert pairs[0].instruction.startswith("Write `mean(xs)`") and pairs[0].feedback.startswith("[REJECTED]")
    assert pairs[0].meta["codes"] == "commit" and pairs[0].meta["definitions"] == ["mean"]
    assert pairs[0].provenance.prompt_version == ci.prompt_version("commit") != ci.prompt_version()
    # No model call for the seed with nothing to cut out; turn 3 shows both codes.
    assert len(backend.calls) == 2 * 3
    outcomes = [json.loads(x) for x in (tmp_path / OUTCOMES).read_text().splitlines()]
    assert Counter(o["status"] for o in outcomes) == {"kept": 2, "unextractable": 1}
    third = next(o for o in outcomes if o["status"] == "kept")["messages"][4]["content"]
    first = outcomes[0]["messages"][0]["content"]
    assert "The code before the change:\n```python\n" + OLD in first and "+    if not xs:" in first
    assert third.startswith("The code after the change:\n```python\n" + NEW)


def test_the_codes_setting_is_checked():
    with pytest.raises(ValueError, match="codes must be one of"):
        ci.Settings("fake:x", codes="both")


# Real replies of Qwen2.5-Coder-0.5B-Instruct (Q4_K_M, T=0) to the first wording of the turn-3
# prompt, which listed the three bare headings: the model echoed that list before answering.
REAL_ECHOED_HEADINGS = """INSTRUCTION:
CRITERION:
FEEDBACK:

Under INSTRUCTION, state that task the way a programmer would be asked to do it: name the function or class and say what it must do. Do not speak of a commit, a diff or two versions. Under CRITERION,
one sentence naming the quality in which the second version is better.

TASK: Implement Pigeonhole Sorting in Python
"""
REAL_OWN_LABELS = """Task: Implement a function to count vowels in a given string.
Criterion: Improve the functionality of the function by adding error handling for invalid inputs.
Feedback:
NAIVE version is better because it does not raise an exception when the input is not a string.
"""


def test_real_replies_to_the_task_prompt():
    assert replies.parse_task_reply(REAL_ECHOED_HEADINGS) == "missing-criterion"  # never answered
    got = replies.parse_task_reply(REAL_OWN_LABELS)
    assert not isinstance(got, str)
    assert got.instruction == "Implement a function to count vowels in a given string."
    assert got.criterion.startswith("Improve the functionality") and got.feedback == ""  # names no code


def test_an_echoed_empty_heading_is_answered_by_its_later_occurrence():
    text = (
        "INSTRUCTION:\nCRITERION:\n\nINSTRUCTION: Write f(x) returning x squared.\nCRITERION: It handles negatives.\n"
    )
    got = replies.parse_task_reply(text)
    assert not isinstance(got, str)
    assert got.instruction == "Write f(x) returning x squared." and got.criterion == "It handles negatives."


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        ("CRITERION: It returns 0.0 for an empty list.", "It returns 0.0 for an empty list."),
        ("It returns 0.0 for an\nempty list.\n\nFEEDBACK: more words", "It returns 0.0 for an empty list."),
        ("<think>hm</think>**Criterion:** It no longer divides by zero.", "It no longer divides by zero."),
        ("", ""),
    ],
)
def test_parse_criterion_reply(reply, expected):
    assert replies.parse_criterion_reply(reply) == expected


def test_a_vague_criterion_gets_one_follow_up_and_the_pair_keeps_the_rest_of_the_reply(tmp_path):
    vague = TASK_REPLY.replace(
        "It returns 0.0 for an empty list instead of raising ZeroDivisionError.",
        "The code after the change is better than the code before it.",
    )
    answers = {"m0": "CRITERION: It returns 0.0 for an empty list.", "m1": "It is better."}

    def fn(messages):
        turn = sum(m["role"] == "assistant" for m in messages)
        message = messages[0]["content"].split("Commit message:\n", 1)[1].split("\n", 1)[0]
        return ["It guards against an empty list.", "YES", vague, answers[message]][turn]

    backend = FakeBackend(fn=fn, spec="fake:scripted")
    settings = ci.Settings(backend.spec, decontaminate=False, codes="commit")
    funnel = ci.run_commit_instruct([seed(0), seed(1)], backend, tmp_path, settings=settings).funnel
    assert funnel["kept"] == 1 and funnel["reasons"]["unparseable"] == {"vague-criterion": 1}
    (pair,) = read_records(tmp_path / PAIRS, PreferencePair)
    assert pair.criterion == "It returns 0.0 for an empty list." and pair.instruction.startswith("Write `mean(xs)`")
    assert pair.feedback.startswith("[REJECTED]")
    outcomes = [json.loads(x) for x in (tmp_path / OUTCOMES).read_text().splitlines()]
    assert [len(o["messages"]) for o in outcomes] == [8, 8]
    assert outcomes[0]["messages"][6]["content"] == ci.criterion_prompt()
    assert len(backend.calls) == 4 * 2
