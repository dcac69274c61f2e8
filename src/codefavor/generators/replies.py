"""Reading generator model replies, and versioning the prompts that asked for them: pure, never raise.

One answer per question for both generators:
- `strip_reasoning`: drop the `<think>...</think>` blocks reasoning models write before the answer;
- `split_sections`: a reply's sections by heading, headings inside code fences not counted (one
  grammar; each generator passes its own section names);
- `normalize_tags`: the many names a model gives the two codes ([NAIVE], [DRAFT], [IMPROVED],
  [REVISION], [attempt 2], ...) rewritten as the pair's [REJECTED] and [CHOSEN];
- `prompt_version`: the package prompt version plus a content hash of a generator's templates, so
  any wording change shows in every pair it produces.
Then each generator's replies in that grammar: Commit-Instruct's gate (`parse_gate`) and pair
(`parse_pair_reply`), Critic-Evol's review (`parse_review`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

from codefavor.codetools import extract_code, parses
from codefavor.generators.mining import only_cosmetic
from codefavor.prompts import PROMPT_VERSION, template
from codefavor.records import content_id

# An unclosed block runs to the end: the answer never came.
_REASONING = re.compile(r"<think>.*?(?:</think>|\Z)", re.DOTALL | re.IGNORECASE)


def strip_reasoning(text: str) -> str:
    """Drop `<think>...</think>` blocks (whitespace around what is left is kept)."""
    return _REASONING.sub("", text or "")


# The words a model uses for the two codes, inside square brackets.
_CHOSEN_WORDS = r"improved|chosen|better|revision|revised|attempt[ _-]?2|second[ _]attempt"
_REJECTED_WORDS = r"naive|rejected|original|worse|draft|attempt[ _-]?1|first[ _]attempt"
_TAG = re.compile(
    rf"\[\s*(?:the\s+)?(?:(?P<chosen>{_CHOSEN_WORDS})|(?P<rejected>{_REJECTED_WORDS}))"
    r"(?:[\s_-]*(?:code|version|solution))?\s*\]",
    re.IGNORECASE,
)


def normalize_tags(text: str) -> str:
    """Rewrite the tags a model uses for the two codes as [CHOSEN] and [REJECTED]."""
    return _TAG.sub(lambda m: "[CHOSEN]" if m["chosen"] else "[REJECTED]", text)


def is_tag(text: str) -> bool:
    """True when `text` (brackets included) is one of the code tags."""
    return _TAG.fullmatch(text.strip()) is not None


@lru_cache(maxsize=16)
def _heading_pattern(labels: tuple[str, ...]) -> re.Pattern[str]:
    names = "|".join(re.escape(x) for x in sorted(labels, key=len, reverse=True))  # "naive code" before "naive"
    return re.compile(
        r"^[ \t]*(?P<mark>#{1,6}|\d+[.)]|\[)?[ \t]*(?:\*\*|__)?[ \t]*"
        rf"(?P<label>{names})"
        r"(?:[ \t]*\([^)\n]*\))?"  # an aside such as "(before the change)"
        r"[ \t]*(?P<close>\*\*|__|\])?[ \t]*(?P<colon>:)?[ \t]*(?:\*\*|__)?[ \t]*(?P<rest>.*)$",
        re.IGNORECASE,
    )


def _heading(line: str, labels: Mapping[str, str]) -> tuple[str, str] | None:
    """(section, text after the heading) when `line` is a heading, else None.

    A heading is a known label followed by a colon ("Criterion: ...", "**Verdict:** improve"), or in
    brackets ("[VERDICT] good enough"; but "[REVISION]" is a code tag, not a heading), or after a
    Markdown or list mark ("## Reflection", "2) Improved code"), or alone on its line. Prose that
    merely starts with one of the words ("Feedback is welcome") is not a heading.
    """
    m = _heading_pattern(tuple(labels)).match(line)
    if m is None:
        return None
    mark, rest = m["mark"] or "", m["rest"].strip()
    if mark == "[":
        if m["close"] != "]" or is_tag(f"[{m['label']}]"):
            return None
    elif not (m["colon"] or mark or not rest):
        return None
    return labels[m["label"].lower()], rest


def _closes_fence(line: str, labels: Mapping[str, str]) -> bool:
    """Inside a code fence, a line that can only be a heading ends the fence: a Markdown heading of
    level 2 or more (`## Feedback`; a Python comment has one `#`) or a label alone with its colon
    (`FEEDBACK:`, not a Python statement). Models forget to close the fence before the next section."""
    m = _heading_pattern(tuple(labels)).match(line)
    if m is None or m["rest"].strip():
        return False
    mark = m["mark"] or ""
    return (mark.startswith("##")) or (not mark and bool(m["colon"]) and m["label"].isupper())


def split_sections(text: str, labels: Mapping[str, str]) -> dict[str, str]:
    """A reply's sections by heading (`labels`: lower-case heading -> section name); text before
    the first heading is the "preamble". Headings inside code fences do not count (except the
    unmistakable ones of `_closes_fence`, which end an unclosed fence), and a section seen before
    stays text of the current one (the first occurrence wins, unless it is still empty)."""
    found: dict[str, list[str]] = {}
    current = found.setdefault("preamble", [])
    in_fence = False
    # Split on newlines only: str.splitlines() also breaks at form feeds, which real code holds.
    for line in (text or "").replace("\r\n", "\n").split("\n"):
        if in_fence and _closes_fence(line, labels):
            current.append("```")
            in_fence = False
        head = None if in_fence else _heading(line, labels)
        # A heading seen before counts again only while its section is still empty: small models
        # first echo the prompt's list of headings, then answer under the same headings.
        if head is not None and (head[0] not in found or not "".join(found[head[0]]).strip()):
            name, rest = head
            current = found[name] = [rest] if rest else []
            continue
        if line.lstrip().startswith("```"):
            in_fence = not in_fence
        current.append(line)
    return {k: "\n".join(v).strip() for k, v in found.items()}


def prompt_version(tag: str, templates: Iterable[str]) -> str:
    """`<package prompt version>-<tag>-<hash of the templates>`: any wording change shows."""
    return f"{PROMPT_VERSION}-{tag}-{content_id(*(template(t) for t in templates))[:8]}"


# ---------------------------------------------------------------------------------------------
# Commit-Instruct: the YES/NO gate (turn 2) and the pair (turn 3)

_WORD = r"(?<![\w-]){}(?![\w-])"
_YES_NO_UPPER = re.compile(_WORD.format("(YES|NO)"))
_YES_NO_ANY = re.compile(_WORD.format("(yes|no)"), re.IGNORECASE)
_EXPLICIT = re.compile(r"\b(?:answer|verdict|decision)\b[^\w\n]{0,6}(yes|no)(?![\w-])", re.IGNORECASE)
_FIRST_WORD = re.compile(r"^[^\w]*([A-Za-z]+)(?![\w-])")


def parse_gate(text: str) -> Literal["YES", "NO"] | None:
    """YES or NO as a whole word, or None when the answer is missing or ambiguous.

    In order: the first word; an explicit "answer: X" (the last one); the only upper-case YES/NO;
    the only yes/no in any case. "NOTE", "NOT", "NOW" or "no-op" never read as NO.
    """
    text = strip_reasoning(text).strip()
    if not text:
        return None
    first = _FIRST_WORD.match(text)
    if first and first.group(1).upper() in ("YES", "NO"):
        return first.group(1).upper()  # type: ignore[return-value]
    explicit = _EXPLICIT.findall(text)
    if explicit:
        return explicit[-1].upper()  # type: ignore[no-any-return]
    upper = set(_YES_NO_UPPER.findall(text))
    if len(upper) == 1:
        return upper.pop()  # type: ignore[return-value]
    if not upper:
        any_case = {w.upper() for w in _YES_NO_ANY.findall(text)}
        if len(any_case) == 1:
            return any_case.pop()  # type: ignore[return-value]
    return None


PAIR_PARTS = ("instruction", "criterion", "naive", "improved", "feedback")
# The prompts each generator's replies answer: what an echo is measured against.
COMMIT_INSTRUCT_PROMPTS = ("commit_instruct_explain", "commit_instruct_gate", "commit_instruct_pair")
# codes="commit": summary, gate, task, and the follow-up asking again for a missing or vague criterion
COMMIT_TASK_PROMPTS = (
    "commit_instruct_summary",
    "commit_instruct_gate",
    "commit_instruct_task",
    "commit_instruct_criterion",
)
CRITIC_EXAMPLES = ("good_enough", "bug_fix", "efficiency", "security", "concise")  # the critic's shots
CRITIC_PROMPTS = ("critic_review", *(f"critic_example_{e}" for e in CRITIC_EXAMPLES))
# Heading (lower case) -> part of the turn-3 reply.
_PAIR_LABELS = {
    "instruction": "instruction",
    "task": "instruction",
    "criterion": "criterion",
    "criteria": "criterion",
    "naive code": "naive",
    "naive": "naive",
    "improved code": "improved",
    "improved": "improved",
    "feedback": "feedback",
}


@dataclass(frozen=True)
class ParsedPair:
    instruction: str
    criterion: str
    naive: str
    improved: str
    feedback: str


def _squash(text: str) -> str:
    return " ".join(re.sub(r"[`*_]", "", text).split()).lower()


# A sentence this long (words) and this close to the prompt's text (rapidfuzz partial ratio) is a copy.
ECHO_MIN_WORDS = 4
ECHO_THRESHOLD = 90.0


@lru_cache(maxsize=16)
def _prompt_text(names: tuple[str, ...]) -> str:
    return " ".join(_squash(template(n)).replace('"', " ") for n in names)


def echoes_prompt(section: str, template_names: Iterable[str]) -> bool:
    """True when a sentence of `section` repeats the prompt's own text: its descriptions ("A short
    task that a programmer could be given, ...") or its examples ("The function handles an empty
    list without raising an error."), word for word or nearly. Small models do this in most replies
    (Qwen2.5-Coder-0.5B gave the example criterion or the description as its criterion in 60 of 60
    kept Commit-Instruct pairs), and the prompt asks for their own words; a pair whose instruction
    or criterion is the prompt's is not about its codes."""
    from rapidfuzz import fuzz

    prompt = _prompt_text(tuple(template_names))
    for sentence in re.split(r"(?<=[.!?:;])\s+", _squash(section).replace('"', " ")):
        if len(sentence.split()) >= ECHO_MIN_WORDS and fuzz.partial_ratio(sentence, prompt) >= ECHO_THRESHOLD:
            return True
    return False


# The qualities the explain prompt lists as examples: a criterion naming most of them names none.
_ASPECTS = re.compile(
    r"\b(functionality|correctness|performance|efficiency|safety|security|robustness|completeness|"
    r"maintainability|readability)\b",
    re.IGNORECASE,
)
MAX_ASPECTS = 3
# Words that carry no property of a code: with the prompt's own words, a criterion made only of
# them ("The code after the change is better than the code before it.") names nothing.
_FILLER = frozenset(
    "than then this that these those its their which with from into more most much very also has have had "
    "does did was were been being are because version versions previous original new old first second".split()
)


@lru_cache(maxsize=16)
def _prompt_words(names: tuple[str, ...]) -> frozenset[str]:
    return frozenset(re.findall(r"[a-z]+", _prompt_text(names)))


def vague_words(instruction: str, criterion: str, prompts: Iterable[str] = ()) -> str | None:
    """Why a generated instruction or criterion says nothing about its codes, or None: a criterion
    listing four or more qualities ("better in terms of functionality, correctness, performance,
    safety, ..."), a criterion with no word of its own beside those of `prompts` (the templates it
    answers) and filler words, or a criterion or an instruction made of questions only ("What task
    would the programmer be asked to do?"). Qwen2.5-Coder-0.5B wrote such words in 11 of its first
    26 Commit-Instruct pairs."""
    if len({m.lower() for m in _ASPECTS.findall(criterion)}) > MAX_ASPECTS:
        return "vague-criterion"
    if prompts:
        known = _prompt_words(tuple(prompts)) | _FILLER
        if not [w for w in re.findall(r"[a-z]+", _squash(criterion)) if len(w) > 2 and w not in known]:
            return "vague-criterion"
    for text in (instruction, criterion):
        sentences = [s for s in re.split(r"(?<=[.!?])\s+", text.strip()) if s]
        if sentences and all(s.endswith("?") for s in sentences):
            return "question"
    return None


def pair_words_fault(source: str, instruction: str, criterion: str) -> str | None:
    """What is wrong with the words a generator wrote for a pair, or None: `prompt-echo` (its own
    prompt's text, `echoes_prompt`) or a `vague_words` reason. Commit-Instruct writes the instruction
    and the criterion, Critic-Evol's critic the criterion; pairs of other sources are never faulted."""
    if source == "commit-instruct":
        prompts = (*COMMIT_INSTRUCT_PROMPTS, *COMMIT_TASK_PROMPTS)
        if any(echoes_prompt(t, prompts) for t in (instruction, criterion)):
            return "prompt-echo"
        return vague_words(instruction, criterion, prompts)
    if source == "critic-evol":
        return "prompt-echo" if echoes_prompt(criterion, CRITIC_PROMPTS) else vague_words("", criterion)
    return None


def parse_pair_reply(
    text: str, lang: str = "python", prompts: Iterable[str] = COMMIT_INSTRUCT_PROMPTS
) -> ParsedPair | str:
    """A validated pair, or the rejection reason: `missing-<part>`, `template-echo`, `naive-syntax`,
    `improved-syntax`, `identical-codes` or `feedback-untagged`."""
    sections = split_sections(strip_reasoning(text), _PAIR_LABELS)
    for part in PAIR_PARTS:
        if not sections.get(part):
            return f"missing-{part}"
    if any(echoes_prompt(sections[p], prompts) for p in ("instruction", "criterion")):
        return "template-echo"
    naive = extract_code(sections["naive"], lang)
    improved = extract_code(sections["improved"], lang)
    if not naive.strip():
        return "missing-naive"
    if not improved.strip():
        return "missing-improved"
    if lang == "python":
        if not parses(naive):
            return "naive-syntax"
        if not parses(improved):
            return "improved-syntax"
    if only_cosmetic(naive, improved, lang):
        return "identical-codes"
    feedback = normalize_tags(sections["feedback"])
    if "[CHOSEN]" not in feedback and "[REJECTED]" not in feedback:
        return "feedback-untagged"
    return ParsedPair(sections["instruction"], sections["criterion"], naive, improved, feedback)


@dataclass(frozen=True)
class ParsedTask:
    """Turn 3 of Commit-Instruct with `codes="commit"`: the words around the commit's two codes."""

    instruction: str
    criterion: str
    feedback: str  # "" when the reply gave none or named neither code


# The turn-3 faults a follow-up asking for the criterion alone can mend.
CRITERION_FAULTS = ("missing-criterion", "vague-criterion", "criterion-echo")


def parse_task_reply(
    text: str, prompts: Iterable[str] = COMMIT_TASK_PROMPTS, criterion: str | None = None
) -> ParsedTask | str:
    """The instruction, criterion and feedback, or the rejection reason: `missing-instruction`,
    `template-echo` (the instruction is the prompt's), `question` (the instruction is only
    questions), then the criterion's: `missing-criterion`, `criterion-echo`, `vague-criterion`
    (`CRITERION_FAULTS`). `criterion`, when given, replaces the reply's own (the follow-up's answer).
    Feedback is optional (the classifier trains without it): a missing one, or one naming neither
    code, is kept as "" rather than losing the pair."""
    sections = split_sections(strip_reasoning(text), _PAIR_LABELS)
    if not _words(sections.get("instruction", "")):
        return "missing-instruction"
    instruction = sections["instruction"].strip()
    if echoes_prompt(instruction, prompts):
        return "template-echo"
    if vague_words(instruction, "") is not None:
        return "question"
    criterion = " ".join((sections.get("criterion", "") if criterion is None else criterion).split())
    if not _words(criterion):
        return "missing-criterion"
    if echoes_prompt(criterion, prompts):
        return "criterion-echo"
    if vague_words("", criterion, prompts) is not None:
        return "vague-criterion"
    feedback = normalize_tags(sections.get("feedback", ""))
    if "[CHOSEN]" not in feedback and "[REJECTED]" not in feedback:
        feedback = ""
    return ParsedTask(instruction, criterion, feedback.strip())


def parse_criterion_reply(text: str) -> str:
    """The criterion of the follow-up's answer: under a CRITERION heading when there is one, else the
    answer's first paragraph, whitespace squashed ("" when there is none)."""
    text = strip_reasoning(text).strip()
    sections = split_sections(text, _PAIR_LABELS)
    body = sections.get("criterion") or sections.get("preamble", "")
    return " ".join(body.strip().split("\n\n")[0].split())


def _words(text: str) -> str:
    """The text without code fences: an instruction that is only code is no instruction."""
    return re.sub(r"```.*?(?:```|\Z)", "", text, flags=re.DOTALL).strip()


# ---------------------------------------------------------------------------------------------
# Critic-Evol: the critic's review

# Heading (lower case) -> section of the critic's answer.
_REVIEW_LABELS = {
    "reflection": "reflection",
    "verdict": "verdict",
    "criterion": "criterion",
    "criteria": "criterion",
    "revision": "revision",
    "revised code": "revision",
    "improved code": "revision",
    "second attempt": "revision",
    "feedback": "feedback",
}


@dataclass(frozen=True)
class Review:
    """The critic's answer: `verdict` is "improve", "good_enough" or "unparseable" (with `reason`)."""

    verdict: Literal["improve", "good_enough", "unparseable"]
    reason: str = ""
    reflection: str = ""
    criterion: str = ""
    revision: str = ""  # the raw text of the Revision section (fence included)
    feedback: str = ""


# The headings of the critic prompt's own task block: a reply that reaches one has finished its
# review and started echoing the prompt (or inventing the next example).
_ECHO = re.compile(
    r"^[ \t]*(?:#{1,6}[ \t]*(?:task|\[draft\]|review|example\b.*)[ \t]*:?|now review this one\.?)[ \t]*$",
    re.IGNORECASE,
)


def cut_echo(text: str) -> str:
    """`text` up to the first line, after its first, that repeats a heading of the critic prompt's
    task block (`### Task`, `### [DRAFT]`, `### Review`, "Now review this one."), outside code fences."""
    lines = (text or "").replace("\r\n", "\n").split("\n")
    in_fence, seen = False, False
    for i, line in enumerate(lines):
        if not in_fence and seen and _ECHO.match(line):
            return "\n".join(lines[:i]).rstrip()
        if line.lstrip().startswith("```"):
            in_fence = not in_fence
        seen = seen or bool(line.strip())
    return text


def _verdict_word(text: str) -> Literal["improve", "good_enough"] | None:
    first = text.strip().strip("`*").lower().splitlines()[0] if text.strip() else ""
    first = first.strip("`*. ")
    if any(w in first for w in ("improve", "not good", "needs", "revise")):
        return "improve"
    if "good enough" in first or "no change" in first or first.startswith(("good", "sound", "correct")):
        return "good_enough"
    return None


def parse_review(text: str, draft: str | None = None, prompts: Iterable[str] = CRITIC_PROMPTS) -> Review:
    """Parse the critic's answer into a `Review`; malformed and truncated answers become "unparseable".

    A `good enough` verdict wins over sections copied from the few-shot shape after it, unless a
    revision follows that differs from `draft` (when given): then the answer contradicts itself.
    Whatever follows an echo of the prompt's own task headings is dropped (`cut_echo`); a criterion
    that repeats the text of `prompts` (the templates the reply answers) is rejected."""
    text = cut_echo(strip_reasoning(text))
    if not text.strip():
        return Review("unparseable", "empty answer")
    sec = split_sections(text, _REVIEW_LABELS)
    # Some models open with their reflection and no heading; accept it when a verdict follows.
    reflection = sec.get("reflection") or (sec.get("preamble", "") if "verdict" in sec else "")
    verdict_text = sec.get("verdict", "").strip()
    has_body = any(k in sec for k in ("criterion", "revision", "feedback"))
    if not verdict_text:
        if not reflection:
            return Review("unparseable", "no reflection section")
        reason = "truncated: no verdict" if not has_body else "no verdict section"
        return Review("unparseable", reason, reflection)
    verdict = _verdict_word(verdict_text)
    if verdict == "good_enough":
        revision_code = extract_code(sec.get("revision", ""), "python") if sec.get("revision") else ""
        if not revision_code.strip() or (draft is not None and _same_text(revision_code, draft)):
            return Review("good_enough", "", reflection)
        return Review("unparseable", "verdict is good enough but a revision follows", reflection)
    if verdict is None:
        first = verdict_text.strip("`*").splitlines()[0]
        return Review("unparseable", f"unknown verdict {first[:40]!r}", reflection)
    missing = [k for k in ("criterion", "revision", "feedback") if not sec.get(k)]
    if missing:
        return Review("unparseable", f"truncated: missing {', '.join(missing)}", reflection)
    revision = sec["revision"]
    if revision.count("```") % 2 == 1:
        return Review("unparseable", "truncated: unclosed code fence in the revision", reflection)
    criterion = " ".join(sec["criterion"].split())
    if echoes_prompt(criterion, prompts):
        return Review("unparseable", "criterion copied from the prompt", reflection)
    return Review("improve", "", reflection, criterion, revision, sec["feedback"].strip())


def _same_text(a: str, b: str) -> bool:
    return [x.rstrip() for x in a.strip().splitlines()] == [x.rstrip() for x in b.strip().splitlines()]
