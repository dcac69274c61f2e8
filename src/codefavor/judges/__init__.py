"""Pairwise judges: the interface, and `load_judge(spec)` that builds one from a spec string.

A judge is batch-first: it takes a list of `PairItem`s and returns one `Verdict` per item, in order.
`decision` names a position ("A" = the first code shown) or "undecided". Spec strings:
`shorter`, `longer`, `random:SEED` (baselines), `gen:BACKEND_SPEC` (generative judge over any
backend), `hf-cls:PATH`, `hf-gen:PATH` (local trained judges), `cls:openai:MODEL` (`hf-cls` scored through an
OpenAI-compatible server's log-probabilities), `evidence` and `evidence+SPEC`
(evidence first, SPEC where the evidence is silent). Each branch imports its module lazily.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from codefavor.backends import split_spec
from codefavor.errors import CodefavorError
from codefavor.records import Decision

DEFAULT_JUDGE = "evidence"  # evidence first, then a cheap length guess: runs offline, no weights
# Signals of judges that read no evidence: models and baselines (the evidence judge marks what its
# fallback decided `fallback/<signal>`, so these never stand bare in its verdicts).
JUDGE_ONLY_SIGNALS = frozenset({"model", "length", "random", "none"})

# An averaged P(A) this close to 0.5 is a tie. The same model scored by two engines (float32 in
# process, f16 or quantized kernels behind a server) differs by up to about 7e-4 in one order's P(A)
# (measured on a trained 135M judge, 200 prompts), so a side of 0.5 nearer than this says which
# engine ran, not which code is better.
TIE_MARGIN = 1e-3


def decide_prob(prob_a: float, tie: float = TIE_MARGIN) -> Decision:
    """The decision a probability that A is better gives: "A" above 0.5 + `tie`, "B" below 0.5 -
    `tie`, "undecided" in between (it scores half)."""
    if prob_a > 0.5 + tie:
        return "A"
    if prob_a < 0.5 - tie:
        return "B"
    return "undecided"


@dataclass(frozen=True)
class PairItem:
    """One question for a judge: which of `a` and `b` better meets `criterion` for `instruction`.
    `category` (a benchmark category name, when known) lets evidence judges pick their checks.
    `trace`: what running `a` and `b` on the instruction's examples produced, for model judges to read
    (an `evidence.correctness.ExecutionTrace`, set by `evidence+traces+SPEC`)."""

    instruction: str
    a: str
    b: str
    criterion: str
    category: str | None = None
    id: str = ""
    trace: Any = None


def pair_item(instruction: str, a: str, b: str, criterion: str | None = "correctness", id: str = "") -> PairItem:
    """A question whose criterion is a category name (which also sets `category`, so evidence judges
    pick their checks) or free text (evidence judges infer the category from it)."""
    from codefavor.prompts import CRITERIA, resolve_criterion

    category = criterion if criterion in CRITERIA else None
    return PairItem(instruction, a, b, resolve_criterion(criterion), category=category, id=id)


@dataclass
class Verdict:
    decision: Decision
    prob_a: float | None = None  # P(A is better), when the judge has one
    signal: str | None = None  # what decided: "length", "model", "tests", "bandit", ...
    raw_output: str | None = None
    details: dict[str, Any] | None = None
    latency_s: float | None = None
    usage: dict[str, int] | None = None
    error: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@runtime_checkable
class Judge(Protocol):
    spec: str
    batch_size: int  # how many items the runner hands over at once (bigger for concurrent backends)

    def judge(self, items: Sequence[PairItem]) -> list[Verdict]: ...


def load_judge(spec: str, **options: Any) -> Judge:
    """Build a judge from its spec string. `options` go to model-backed judges (base_url, ...)."""
    kind, arg, fallback = split_spec(spec)
    if kind == "evidence":
        from codefavor.judges.evidence import load_evidence_judge  # type: ignore[import-not-found]

        return load_evidence_judge(spec, **options)
    if fallback is None:
        match kind:
            case "shorter" | "longer" if not arg:
                from codefavor.judges.baselines import LengthJudge

                return LengthJudge(prefer=kind)
            case "random":
                from codefavor.judges.baselines import RandomJudge

                try:
                    seed = int(arg) if arg else 0
                except ValueError:
                    raise CodefavorError(
                        f"judge spec {spec!r}: the seed must be an integer, e.g. 'random:0'"
                    ) from None
                return RandomJudge(seed=seed)
            case "gen" | "hf-gen" if arg:
                from codefavor.judges.generative import GenerativeJudge  # type: ignore[import-not-found]

                return GenerativeJudge(judge_backend_spec(spec) or "", **options)
            case "hf-cls" if arg:
                from codefavor.judges.classifier import ClassifierJudge  # type: ignore[import-not-found]

                return ClassifierJudge(arg, **options)
            case "cls" if split_spec(arg).kind == "openai" and split_spec(arg).arg:
                from codefavor.judges.served_classifier import ServedClassifierJudge  # type: ignore[import-not-found]

                return ServedClassifierJudge(split_spec(arg).arg, **options)
    raise CodefavorError(
        f"unknown judge spec {spec!r}; expected 'shorter', 'longer', 'random:SEED', 'gen:BACKEND', "
        "'hf-cls:PATH', 'hf-gen:PATH', 'cls:openai:MODEL', 'evidence' or 'evidence+SPEC'"
    )


def judge_backend_spec(spec: str) -> str | None:
    """The backend spec a generative judge spec generates with (`gen:BACKEND` -> BACKEND,
    `hf-gen:PATH` -> `hf:PATH`), or None for judges that use no chat backend."""
    kind, arg, fallback = split_spec(spec)
    if fallback is not None or not arg:
        return None
    if kind == "gen":
        return arg
    if kind == "hf-gen":
        return f"hf:{arg}"
    return None
