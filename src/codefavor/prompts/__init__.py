"""Prompt templates and the one judge-prompt builder shared by training and inference.

Templates live beside this file, one per `.md` file, with `{name}` fields filled by `render`.
`judge_messages()` is the only place a judge prompt is built: the trained-judge data builder and
every judge call it, so training and inference cannot drift apart (a test checks they match).
All wording here is our own.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Literal

from codefavor.records import Category

PROMPT_VERSION = "v1"

# One criterion sentence per benchmark category, in our own words.
CRITERIA: dict[Category, str] = {
    "correctness": "The code is correct and free of bugs: it runs as given and does exactly what the instruction asks.",
    "efficiency": "The code is efficient: it uses less execution time first, and less memory second.",
    "security": "The code is secure: it resists attacks and follows common security practice.",
    "human-preference": "The code is the one a developer would prefer to use for this instruction.",
}

JudgeType = Literal["classification", "generative"]
Message = dict[str, str]


@cache
def template(name: str) -> str:
    """The raw text of a packaged template (`name` without `.md`)."""
    try:
        return resources.files(__package__).joinpath(f"{name}.md").read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ValueError(f"unknown prompt template {name!r}") from None


def render(name: str, **fields: str) -> str:
    """Fill a packaged template. Field values may contain braces (code does); only the template's
    own `{field}` markers are substituted."""
    return template(name).format(**fields)


def resolve_criterion(criterion: str | None, category: str | None = None) -> str:
    """A criterion given as a category name becomes its sentence; free text is kept as is."""
    if criterion and criterion in CRITERIA:
        return CRITERIA[criterion]  # type: ignore[index]
    if criterion:
        return criterion
    if category in CRITERIA:
        return CRITERIA[category]  # type: ignore[index]
    return CRITERIA["human-preference"]


def judge_messages(instruction: str, code_a: str, code_b: str, criterion: str, judge_type: JudgeType) -> list[Message]:
    """The chat messages a pairwise judge sees, for training rows and inference alike."""
    name = "judge_classify" if judge_type == "classification" else "judge_feedback"
    text = render(
        name,
        instruction=instruction.strip(),
        code_a=code_a.strip("\n"),
        code_b=code_b.strip("\n"),
        criterion=criterion.strip(),
    )
    return [{"role": "user", "content": text}]


# The exact answer a trained classifier emits, and the closing line of generative feedback.
CLASS_LABELS = ("A", "B")


def verdict_line(winner: Literal["A", "B"]) -> str:
    """The final line the generative judge is asked to write (and trained to write)."""
    return f"VERDICT: Candidate {winner} is better."
