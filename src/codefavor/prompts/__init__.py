"""Prompt templates and the one judge-prompt builder shared by training and inference.

Templates live beside this file, one per `.md` file, with `{name}` fields filled by `render`.
`judge_messages()` is the only place a judge prompt is built: the trained-judge data builder and
every judge call it, so training and inference cannot drift apart (a test checks they match).
`render_prompt` / `prompt_ids` turn those messages into the exact text and token ids a local model
reads (its own chat template, assistant turn opened), and `label_token_ids` gives the single tokens
a classifier answers with; they take any HF-style tokenizer and import nothing heavy.
All wording here is our own.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Any, Literal

from codefavor.errors import CodefavorError
from codefavor.records import Category

PROMPT_VERSION = "v1"

# One criterion sentence per benchmark category, in our own words.
CRITERIA: dict[Category, str] = {
    "correctness": "The code is correct and free of bugs: it runs as given and does exactly what the instruction asks.",
    "efficiency": "The code is efficient: it uses less execution time first, and less memory second.",
    "security": "The code is secure: it resists attacks and follows common security practice.",
    "human-preference": "The code is the one a developer would prefer to use for this instruction.",
}
# What a pair is judged for when the user names no criterion (`codefavor judge`, `rank`, `/v1/judge`).
DEFAULT_CRITERION: Category = "correctness"

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


def judge_messages(
    instruction: str, code_a: str, code_b: str, criterion: str, judge_type: JudgeType, trace: str | None = None
) -> list[Message]:
    """The chat messages a pairwise judge sees, for training rows and inference alike. `trace`, when
    given, is what running the two codes on the task's examples produced (`evidence.correctness.
    execution_traces`, in the order A, B); it goes in its own section before the criterion."""
    name = "judge_classify" if judge_type == "classification" else "judge_feedback"
    text = render(
        name,
        instruction=instruction.strip(),
        code_a=code_a.strip("\n"),
        code_b=code_b.strip("\n"),
        criterion=criterion.strip(),
        trace=render("judge_trace", trace=trace.strip("\n")) if trace else "",
    )
    return [{"role": "user", "content": text}]


# The exact answer a trained classifier emits, and the closing line of generative feedback.
CLASS_LABELS = ("A", "B")


# Where a generative judge's reply stops: the judge prompt's own section headings (a small model that
# starts echoing the prompt back never returns to its review) and a chat turn the template leaked.
JUDGE_STOP = ("\n### Task", "\n### Criterion", "<|im_start|>", "<|im_end|>")


def verdict_followup(messages: list[Message], reply: str) -> list[Message]:
    """The conversation that asks a judge whose reply gave no verdict for the one verdict line."""
    return [
        *messages,
        {"role": "assistant", "content": reply},
        {"role": "user", "content": render("judge_verdict_followup")},
    ]


def verdict_line(winner: Literal["A", "B"]) -> str:
    """The final line the generative judge is asked to write (and trained to write)."""
    return f"VERDICT: Candidate {winner} is better."


# ---- the judge prompt as a local model reads it, shared by training and inference ----------------


def render_prompt(tokenizer: Any, messages: list[Message]) -> str:
    """The judge prompt as text: the model's own chat template with the assistant turn opened."""
    if not getattr(tokenizer, "chat_template", None):
        raise CodefavorError(
            f"the tokenizer of {tokenizer.name_or_path!r} has no chat template; judges need an instruct model"
        )
    return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)


def prompt_ids(tokenizer: Any, messages: list[Message]) -> list[int]:
    """Token ids of `render_prompt` (the template already holds any BOS, so none is added)."""
    return tokenizer(render_prompt(tokenizer, messages), add_special_tokens=False)["input_ids"]


def label_token_ids(tokenizer: Any) -> tuple[int, int]:
    """The ids of the single tokens a classifier answers with (`CLASS_LABELS`: "A", "B"); an error if
    either is not one token, since then no single logit carries the answer."""
    ids = []
    for label in CLASS_LABELS:
        toks = tokenizer.encode(label, add_special_tokens=False)
        if len(toks) != 1:
            raise CodefavorError(f"{label!r} is not a single token for {tokenizer.name_or_path!r} (got {toks})")
        ids.append(toks[0])
    return ids[0], ids[1]
