"""Read a pairwise verdict out of free LLM text: a pure function that answers A, B or undecided.

`decision(text)` never raises. It finds every *decisive statement* in the reply and lets the last one
win, so a verdict restated or corrected at the end beats what came before. Statements come in two
strengths: strong ones name a verdict ("VERDICT: Candidate B is better.", "I prefer A", "the winner
is [CODE_B]", "neither is better", a reply that is only a label) and weak ones compare on one
quality ("A is more efficient", "B has a bug"). A weak statement decides only when there is no strong
one, so a review written after the verdict ("Verdict: B. A is faster, but crashes on ...") cannot
overturn it. A tie ("neither", "both are equally good", "tie") is a decisive statement that answers
undecided.

Labels are normalised first: "Code A", "Candidate 1", "Response B", "[CODE_B]", "[[A]]", "the first
solution", "the latter" all become one of two markers; markdown emphasis and fenced code blocks are
removed so `**Candidate A**` reads like `Candidate A` and code inside the reply cannot vote.
A markdown heading that only names a candidate (`### Candidate A`, the judge prompt's own section
heading, which small models echo before re-quoting the code) is a section title, not a verdict, and
is dropped before anything else is read; so are headings that open with a candidate's label when
both candidates have one (`### Candidate A is better` ... `### Candidate B is better`: a small model
titling each candidate's section with the verdict template, which says nothing about a winner).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from codefavor.records import Decision

Outcome = Literal["A", "B", "tie"]

_A, _B = "\u27e6A\u27e7", "\u27e6B\u27e7"  # markers that cannot occur in normal text
_NOUN = (
    r"(?:code|candidate|response|solution|snippet|option|program|implementation|answer|assistant|model|output"
    r"|version|function|approach|submission|script|sample)"
)
_ONE, _TWO = r"(?-i:A|1)", r"(?-i:B|2)"  # the letter itself must be a capital

# Label spellings -> markers. Order matters: the bracketed/underscored forms go before the plain ones.
_LABELS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"\[{0,2}\s*\b(?:code|candidate|response|solution|answer|output)_(?:a|1)\b\s*\]{0,2}", re.I), _A),
    (re.compile(r"\[{0,2}\s*\b(?:code|candidate|response|solution|answer|output)_(?:b|2)\b\s*\]{0,2}", re.I), _B),
    (re.compile(rf"\b{_NOUN}\s*#?\s*[\"'(\[]?{_ONE}\b[\"')\]]?(?![\w-])", re.I), _A),
    (re.compile(rf"\b{_NOUN}\s*#?\s*[\"'(\[]?{_TWO}\b[\"')\]]?(?![\w-])", re.I), _B),
    (re.compile(rf"\bthe\s+(?:first\s+(?:{_NOUN}|one)|former(?:\s+{_NOUN})?)\b", re.I), _A),
    (re.compile(rf"\bthe\s+(?:second\s+(?:{_NOUN}|one)|latter(?:\s+{_NOUN})?)\b", re.I), _B),
    (re.compile(r"[\[(]{1,2}\s*A\s*[\])]{1,2}"), _A),
    (re.compile(r"[\[(]{1,2}\s*B\s*[\])]{1,2}"), _B),
    (re.compile(r"\\boxed\{\s*(?:\\text\{)?\s*A\s*\}?\s*\}"), _A),
    (re.compile(r"\\boxed\{\s*(?:\\text\{)?\s*B\s*\}?\s*\}"), _B),
]

_FENCE = re.compile(r"```.*?(?:```|\Z)", re.S)
# "### Candidate A", "## Code B:", "#### Response 2" alone on a line: a heading, never a verdict.
_LABEL_HEADING = re.compile(
    rf"^[ \t]*#{{1,6}}[ \t]*[*_]*[ \t]*{_NOUN}[ \t]*(?:{_ONE}|{_TWO})[ \t]*[*_]*[ \t]*:?[ \t]*$", re.M | re.I
)
# A heading that opens with a candidate's label, whatever follows ("### Candidate B is better").
_OPENING_HEADING = re.compile(rf"^[ \t]*#{{1,6}}[ \t]*[*_]*[ \t]*{_NOUN}[ \t]*(?P<l>{_ONE}|{_TWO})\b.*$", re.M | re.I)
_EMPH = re.compile(r"[*_`~]+")
_QUOTE = re.compile(r"^\s*(?:>+|#+)\s*", re.M)

# A label after normalisation: a marker, or a bare capital A/B standing as a word.
_L = rf"(?:{_A}|{_B}|\b(?-i:[AB])\b(?![-'\u2019]\w))"
_ADV = r"(?:(?:clearly|definitely|certainly|slightly|significantly|much|far|overall|still|thus|therefore|hence|also|strictly|marginally|obviously|undoubtedly|the|a|an|by\s+far|somewhat|generally|arguably|likely)\s+)*"
_GOOD_NOUN = r"(?:one|choice|option|code|candidate|solution|response|answer|pick|implementation|program|winner)"
_POSITIVE = (
    rf"(?:better|superior|preferred|preferable|stronger|the\s+winner|winner|the\s+(?:better|stronger|superior|best)\s+{_GOOD_NOUN}"
    rf"|the\s+best|best|the\s+clear\s+winner|the\s+right\s+{_GOOD_NOUN}|the\s+one\s+to\s+(?:choose|prefer|pick|use))"
)
_NEGATIVE = r"(?:worse|inferior|weaker|the\s+worse\s+\w+|less\s+preferable|not\s+preferred|the\s+loser)"
_QUALITY = (
    r"(?:correct|efficient|secure|safe|robust|readable|maintainable|reliable|accurate|complete|idiomatic|performant"
    r"|appropriate|suitable|optimal|optimized|elegant|pythonic|scalable|memory[- ]efficient|time[- ]efficient)"
)
_BE = r"(?:is|was|seems|appears|looks|would\s+be|will\s+be|remains|comes\s+out|stands\s+out\s+as|'s)"
_NOT = r"(?:is\s+not|isn't|is\s+no|was\s+not|wasn't|does\s+not\s+seem|doesn't\s+seem)"
_TIE_WORD = r"(?:neither|none|tie|tied|a\s+tie|draw|a\s+draw|both|equal|equivalent|same|undecided|inconclusive)"
_VERDICT_KEY = (
    r"(?:verdict|final\s+verdict|final\s+answer|answer|decision|final\s+decision|winner|choice|my\s+choice|conclusion"
    r"|judgment|judgement|result|preference|my\s+pick|pick|recommendation"
    rf"|(?:the\s+)?(?:better|preferred|superior|best|winning|stronger)\s+{_GOOD_NOUN})"
)

# Between a verdict keyword and its value: "is", "would be", a colon or dash, or a line break.
_SEP = r"\s*(?:(?:is|was|would\s+be|will\s+be)\s*[:=\-\u2013\u2014]?|[:=\-\u2013\u2014]|\n)\s*"
_CHOOSE = (
    r"(?:prefer|prefers|preferring|choose|chose|choosing|pick|picked|select|selected|recommend|recommended"
    r"|favou?r|favou?red|go\s+with|going\s+with|vote\s+for|side\s+with|opt\s+for)"
)

_STRONG: list[tuple[re.Pattern[str], str]] = [
    # "VERDICT: Candidate A is better", "Final answer: B", "The better code is [CODE_B]", "Winner - A"
    (
        re.compile(
            rf"\b{_VERDICT_KEY}{_SEP}(?:that\s+)?[\"'$]?(?P<l>{_L})",
            re.I,
        ),
        "label",
    ),
    (
        re.compile(rf"\b{_VERDICT_KEY}{_SEP}(?:it's\s+|it\s+is\s+)?{_TIE_WORD}\b", re.I),
        "tie",
    ),
    # a line that is nothing but a label ("B", "**Candidate A**", "[[B]]", "A.")
    (re.compile(rf"^\s*(?:the\s+answer\s+is\s+)?(?P<l>{_L})\s*[.!]?\s*$", re.I | re.M), "label"),
    # "A is better", "Candidate B is clearly the better solution", "B wins", "A outperforms B"
    (re.compile(rf"(?P<l>{_L})\s*{_BE}\s+{_ADV}{_POSITIVE}\b", re.I), "label"),
    (
        re.compile(
            rf"(?P<l>{_L})\s*(?:clearly\s+|easily\s+)?(?:wins|prevails|comes\s+out\s+ahead|is\s+ahead)\b", re.I
        ),
        "label",
    ),
    (
        re.compile(
            rf"(?P<l>{_L})\s*(?:gave|gives|has|provides|offers|wrote|writes|produced|produces)\s+"
            rf"(?:the|a)\s+(?:much\s+|far\s+|clearly\s+)?(?:better|superior|stronger|best)\s+{_GOOD_NOUN}",
            re.I,
        ),
        "label",
    ),
    (re.compile(rf"(?P<l>{_L})\s*>\s*{_L}"), "label"),
    (re.compile(rf"(?P<l>{_L})\s*<\s*{_L}"), "other"),
    # "A is worse", "B is not better" -> the other one
    (re.compile(rf"(?P<l>{_L})\s*{_BE}\s+{_ADV}{_NEGATIVE}\b", re.I), "other"),
    (re.compile(rf"(?P<l>{_L})\s*{_NOT}\s+{_ADV}(?:better|superior|preferred|preferable)\b", re.I), "other"),
    # "I prefer B", "we would choose Code A", "go with [[B]]", "B should be preferred"
    (re.compile(rf"(?<!not\s)(?<!n't\s)(?<!never\s)\b{_CHOOSE}\s+(?P<l>{_L})", re.I), "label"),
    (re.compile(rf"\b(?:not|n't|never)\s+(?:\w+\s+)?{_CHOOSE}\s+(?P<l>{_L})", re.I), "other"),
    (re.compile(rf"(?P<l>{_L})\s*should\s+be\s+(?:preferred|chosen|selected|picked|used|favou?red)\b", re.I), "label"),
    (
        re.compile(
            rf"\b(?:so|thus|therefore|hence|overall|in\s+summary|in\s+conclusion)[,:]?\s+(?P<l>{_L})\s*[.!]?\s*$",
            re.I | re.M,
        ),
        "label",
    ),
    # ties: "neither is better", "both are equally good", "it's a tie", "no clear winner"
    (
        re.compile(
            r"\b(?:neither|none)\s+(?:\w+\s+){0,4}?(?:is|are|seems|stands\s+out\s+as)\s+(?:clearly\s+|really\s+)?"
            r"(?:better|preferable|preferred|superior|the\s+winner)\b"
            r"|\bneither\s+(?:one|candidate|code|response|solution|option)?\s*[.!]?\s*$"
            r"|\b(?:it's|it\s+is|this\s+is|that's|result\s+is)\s+an?\s+(?:tie|draw)\b"
            r"|\b(?:both|they|the\s+two)\s+(?:\w+\s+){0,3}?(?:are|seem|look)\s+(?:about\s+|roughly\s+)?"
            r"(?:equally\s+(?:good|bad|valid|strong|acceptable|preferable|fine)|equivalent|identical|the\s+same|on\s+par|equal)\b"
            r"|\bno\s+(?:clear\s+)?(?:winner|preference|difference\s+in\s+quality)\b"
            r"|\b(?:cannot|can't|can\s+not|unable\s+to)\s+(?:decide|determine|choose|tell)\b"
            r"|^\s*(?:tie|draw|neither|both|equal)\s*[.!]?\s*$",
            re.I | re.M,
        ),
        "tie",
    ),
]

_WEAK: list[tuple[re.Pattern[str], str]] = [
    # "both are equally correct" ties on one quality only; a later "but A is faster" still decides
    (
        re.compile(rf"\b(?:both|they|the\s+two)\s+(?:\w+\s+){{0,3}}?(?:are|seem|look)\s+equally\s+{_QUALITY}\b", re.I),
        "tie",
    ),
    (re.compile(rf"(?P<l>{_L})\s*{_BE}\s+{_ADV}more\s+{_QUALITY}\b", re.I), "label"),
    (
        re.compile(
            rf"(?P<l>{_L})\s*(?:{_BE}|runs|executes|performs|scales)\s+{_ADV}(?:faster|safer|cleaner|quicker|better)\b",
            re.I,
        ),
        "label",
    ),
    (re.compile(rf"(?P<l>{_L})\s*{_BE}\s+{_ADV}less\s+{_QUALITY}\b", re.I), "other"),
    (
        re.compile(
            rf"(?P<l>{_L})\s*(?:{_BE}|runs|executes|performs)\s+{_ADV}(?:incorrect|wrong|buggy|broken|insecure|vulnerable|unsafe|slower)\b"
            rf"|(?P<l2>{_L})\s*(?:has|contains|introduces)\s+(?:a\s+|an\s+)?(?:serious\s+|critical\s+|subtle\s+)?"
            rf"(?:bug|flaw|vulnerability|error|security\s+issue)"
            rf"|(?P<l3>{_L})\s*(?:fails|crashes)\b",
            re.I,
        ),
        "other",
    ),
]


@dataclass(frozen=True)
class Statement:
    """One decisive statement found in a reply: where it ends, what it says and how strongly."""

    end: int
    outcome: Outcome
    strong: bool
    text: str


def normalize(text: str) -> str:
    """Replace label spellings by markers and drop markdown and code blocks (kept for debugging)."""
    t = _FENCE.sub(" ", text)
    t = _LABEL_HEADING.sub(" ", t)
    if {m.group("l") in ("A", "1") for m in _OPENING_HEADING.finditer(t)} == {True, False}:
        t = _OPENING_HEADING.sub(" ", t)  # one titled section per candidate: titles, not verdicts
    for pat, marker in _LABELS:
        t = pat.sub(marker, t)
    t = _EMPH.sub("", t)
    return _QUOTE.sub("", t)


def _label_of(m: re.Match[str]) -> str | None:
    for g in ("l", "l2", "l3"):
        v = m.groupdict().get(g)
        if v:
            return "A" if v in (_A, "A", "a") else "B"
    return None


def statements(text: str) -> list[Statement]:
    """Every decisive statement in `text`, in the order they end."""
    t = normalize(text)
    found: list[Statement] = []
    for strong, table in ((True, _STRONG), (False, _WEAK)):
        for pat, kind in table:
            for m in pat.finditer(t):
                if kind == "tie":
                    outcome: Outcome = "tie"
                else:
                    lab = _label_of(m)
                    if lab is None:
                        continue
                    outcome = lab if kind == "label" else ("B" if lab == "A" else "A")  # type: ignore[assignment]
                snippet = m.group(0).replace(_A, "A").replace(_B, "B").strip()
                found.append(Statement(m.end(), outcome, strong, snippet))
    found.sort(key=lambda s: s.end)
    return found


def deciding_statement(text: str | None) -> Statement | None:
    """The statement that decides: the last strong one, else the last weak one, else None."""
    if not text or not isinstance(text, str):
        return None
    try:
        found = statements(text)
    except Exception:  # a parser of model text must never raise (regex engine limits, odd unicode)
        return None
    strong = [s for s in found if s.strong]
    pool = strong or found
    return pool[-1] if pool else None


def decision(text: str | None) -> Decision:
    """ "A", "B" or "undecided" for a judge's reply. Pure; never raises."""
    s = deciding_statement(text)
    if s is None or s.outcome == "tie":
        return "undecided"
    return s.outcome


_HEADING_MARK = re.compile(r"^[ \t]*#{1,6}[ \t]*", re.M)


def answer_statement(text: str | None) -> Statement | None:
    """The verdict of a reply to a one-letter question ("Which candidate ...? Answer with one letter
    only: A or B."): a decisive statement as `deciding_statement` reads one; else, the candidate
    the answer names when it names exactly one. Asked for a letter, small models answer with the
    prompt's own section heading (`### Candidate A`), or start a sentence the few tokens cut off
    (`A is the`, `I think B`): in an answer to that question these name the choice. Pure; never raises."""
    if not text or not isinstance(text, str):
        return None
    first = deciding_statement(text)
    if first is not None:  # "A is worse" says B: a statement beats the letter it names
        return first
    try:
        t = normalize(_HEADING_MARK.sub("", text))
        named = set(re.findall(_L, t))
    except Exception:  # a parser of model text must never raise
        return None
    labels = {"A" if n in (_A, "A") else "B" for n in named}
    if len(labels) == 1:
        (lab,) = labels
        return Statement(len(text), lab, True, text.strip())  # type: ignore[arg-type]
    return None
