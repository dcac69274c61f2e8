"""Evidence about code that needs no model, and the one record every signal returns.

Modules: running candidates on checks in a sandbox (`sandbox`), checks and example calls extracted
from instructions with the one entry-point rule (`examples`), and the signals built on them:
`correctness` (examples, loading, undefined names), `security` (Bandit and line patterns) and
`efficiency` (CPU time on scaled-up examples, grown by `scaling`; `timing_harness` is the code it
runs in the sandbox, one process per candidate). Judges, `verify` and the generators import from here; nothing here imports them.

Every signal has the same shape: `fn(pairs, options) -> list[Evidence]`, one `Evidence` per
(instruction, code_a, code_b) triple, decided "A"/"B" or "undecided" (silent), with the deciding
signal's name, a confidence and plain-JSON details.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from codefavor.records import Decision


class Pair(NamedTuple):
    """What every evidence function compares: two candidate codes for one instruction."""

    instruction: str
    a: str
    b: str


@dataclass(frozen=True)
class Evidence:
    """What one evidence function found for one pair."""

    decision: Decision  # "A", "B", or "undecided" when the evidence is silent
    signal: str  # what decided ("examples", "loads", "bandit", "timing", ...), or the silent signal's name
    confidence: float = 0.5  # how sure a decision is (0.5 when undecided)
    details: dict[str, Any] = field(default_factory=dict)  # plain JSON: what each candidate did and why

    @property
    def decided(self) -> bool:
        return self.decision in ("A", "B")


@dataclass(frozen=True)
class EvidenceOptions:
    """What the evidence functions may be given; each reads the fields it needs."""

    sandbox: Any = None  # a `sandbox.Sandbox`; None: the shared `default_sandbox()`, started on first use
    variants: bool = True  # correctness: differential inputs where the examples are silent (`evidence.variants`)
    efficiency_config: Any = None  # an `efficiency.EfficiencyConfig`; None: the defaults
    # an `efficiency.Measurements` shared by one caller's calls; None: each call measures its own pairs
    measurements: Any = None


EvidenceFn = Callable[[Sequence[tuple[str, str, str]], EvidenceOptions], list[Evidence]]


def resolve_sandbox(options: EvidenceOptions) -> Any:
    """The options' sandbox, else the shared one (looked up at call time, so tests may replace it)."""
    if options.sandbox is not None:
        return options.sandbox
    from codefavor.evidence import sandbox

    return sandbox.default_sandbox()
