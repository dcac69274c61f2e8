"""The evidence judge: decide from verifiable evidence, and hand the rest to a fallback judge.

Specs: `evidence` (evidence, then the cheap built-in fallback below), `evidence+SPEC` (evidence,
then any other judge spec: `evidence+longer`, `evidence+gen:openai:MODEL`, `evidence+hf-cls:PATH`)
and `evidence+none` (evidence only; undecided where it is silent).

Which evidence applies is chosen per criterion: the item's benchmark category when known, else
inferred from the criterion text (`infer_category`). `EVIDENCE` maps a category to its sources, each
a stable name and an evidence function (`codefavor.evidence`: `fn(pairs, options) -> list[Evidence]`),
tried in order until one decides. Every verdict records the deciding `signal` ("examples", "loads",
"static", "edge", "bandit", "fallback-patterns", "timing", "timing-timeout", or "fallback/<the
fallback's signal>") and `details` (which checks each candidate failed and why, which findings each
one has); where the evidence was silent, `details["evidence"][source name]` keeps what each source
found ("correctness", "security", "efficiency"), warnings included. Another table can be given to
`load_judge(..., evidence=TABLE)`.

The built-in fallback prefers by length, in the direction that was better on the dev split for
the category (shorter for correctness and efficiency, longer for security and human preference):
cheap, offline, and clearly labelled as a guess.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Any, NamedTuple

from codefavor.backends import split_spec
from codefavor.errors import CodefavorError
from codefavor.evidence import EvidenceFn, EvidenceOptions
from codefavor.evidence.correctness import correctness_evidence
from codefavor.evidence.efficiency import efficiency_evidence
from codefavor.evidence.security import security_evidence
from codefavor.judges import Judge, PairItem, Verdict, load_judge
from codefavor.prompts import CRITERIA


class Source(NamedTuple):
    """One evidence source: `name` keys its details in a silent verdict (part of the output: keep it stable)."""

    name: str
    gather: EvidenceFn


EVIDENCE: Mapping[str, tuple[Source, ...]] = MappingProxyType(
    {
        "correctness": (Source("correctness", correctness_evidence),),
        "security": (Source("security", security_evidence),),
        "efficiency": (Source("efficiency", efficiency_evidence),),
        "human-preference": (),
    }
)


def infer_category(item: PairItem) -> str:
    """The item's category, or the one its criterion text is about."""
    if item.category in CRITERIA:
        return item.category  # type: ignore[return-value]
    text = item.criterion.lower()
    for cat, sentence in CRITERIA.items():
        if text.strip() in (cat, sentence.lower()):
            return cat
    if re.search(r"secur|vulnerab|attack|exploit|injection|unsafe|safe\b|cwe", text):
        return "security"
    if re.search(r"efficien|fast|speed|performance|latency|memory|complexity|run ?time|execution time", text):
        return "efficiency"
    if re.search(r"correct|bug|pass|tests?\b|works?\b|functional|accura|right answer|does what", text):
        return "correctness"
    return "human-preference"


CHEAP_FALLBACK = {
    "correctness": "shorter",
    "efficiency": "shorter",
    "security": "longer",
    "human-preference": "longer",
}


class _CheapFallback:
    """Length in the per-category direction chosen on the dev split."""

    spec = "cheap"
    batch_size = 1024

    def judge(self, items: Sequence[PairItem]) -> list[Verdict]:
        from codefavor.judges.baselines import LengthJudge

        out = []
        for it in items:
            v = LengthJudge(prefer=CHEAP_FALLBACK[infer_category(it)]).judge([it])[0]  # type: ignore[arg-type]
            if v.decision != "undecided":  # a guess: about as sure as it was right on the dev split
                v.prob_a = 0.6 if v.decision == "A" else 0.4
            out.append(v)
        return out


class EvidenceJudge:
    def __init__(
        self,
        fallback: Judge | None,
        spec: str,
        options: EvidenceOptions = EvidenceOptions(),
        evidence: Mapping[str, Sequence[Source]] = EVIDENCE,
    ):
        self.fallback = fallback
        self.spec = spec
        self.options = options
        self.evidence = evidence
        # Evidence runs concurrently in the sandbox pool: a batch of 64 keeps it busy, and a killed
        # run loses at most one batch (results are written after each).
        self.batch_size = 64
        # The runner may overlap batches, so one slow check delays only its own; not with a model
        # fallback, which need not be thread-safe (and has its own batching).
        self.concurrent_batches = 3 if fallback is None or isinstance(fallback, _CheapFallback) else 1

    def judge(self, items: Sequence[PairItem]) -> list[Verdict]:
        t0 = time.perf_counter()
        verdicts: list[Verdict | None] = [None] * len(items)
        silent_details: dict[int, dict[str, Any]] = {}
        by_cat: dict[str, list[int]] = {}
        for n, it in enumerate(items):
            by_cat.setdefault(infer_category(it), []).append(n)
        for cat, idx in by_cat.items():
            todo = list(idx)
            for source in self.evidence.get(cat, ()):
                if not todo:
                    break
                evs = source.gather([(items[n].instruction, items[n].a, items[n].b) for n in todo], self.options)
                rest = []
                for n, ev in zip(todo, evs, strict=True):
                    if ev.decided:
                        p = ev.confidence if ev.decision == "A" else 1.0 - ev.confidence
                        verdicts[n] = Verdict(ev.decision, prob_a=p, signal=ev.signal, details=ev.details)
                    else:
                        silent_details.setdefault(n, {})[source.name] = ev.details
                        rest.append(n)
                todo = rest
        silent = [n for n, v in enumerate(verdicts) if v is None]
        if silent and self.fallback is not None:
            fb = self.fallback.judge([items[n] for n in silent])
            for n, v in zip(silent, fb, strict=True):
                details = {"evidence": silent_details.get(n, {}), "fallback": v.details}
                verdicts[n] = Verdict(
                    v.decision, prob_a=v.prob_a, signal=f"fallback/{v.signal or self.fallback.spec}",
                    raw_output=v.raw_output, details=details, latency_s=v.latency_s, usage=v.usage, error=v.error,
                )  # fmt: skip
        per_item = (time.perf_counter() - t0) / max(1, len(items))
        out = []
        for n, v in enumerate(verdicts):
            if v is None:
                v = Verdict("undecided", prob_a=0.5, signal="none", details={"evidence": silent_details.get(n, {})})
            if v.latency_s is None:
                v.latency_s = per_item
            out.append(v)
        return out


def load_evidence_judge(spec: str, **options: Any) -> EvidenceJudge:
    """`evidence`, `evidence+none` or `evidence+SPEC` (SPEC: any other judge spec)."""
    spec = spec.strip()
    kind, arg, rest = split_spec(spec)
    if kind != "evidence" or arg or rest == "":
        raise CodefavorError(f"judge spec {spec!r}: expected 'evidence', 'evidence+none' or 'evidence+SPEC'")
    evidence_opts = EvidenceOptions(
        **{k: options.pop(k) for k in ("sandbox", "edge", "efficiency_config") if k in options}
    )
    table = options.pop("evidence", EVIDENCE)
    if rest is None:
        fallback: Judge | None = _CheapFallback()
    elif rest == "none":
        fallback = None
    elif split_spec(rest).kind == "evidence":
        raise CodefavorError(f"judge spec {spec!r}: the fallback cannot itself be an evidence judge")
    else:
        fallback = load_judge(rest, **options)
    return EvidenceJudge(fallback, spec, evidence_opts, table)
