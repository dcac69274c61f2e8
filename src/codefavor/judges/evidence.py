"""The evidence judge: decide from verifiable evidence, and hand the rest to a fallback judge.

Specs: `evidence` (evidence, then the cheap built-in fallback below), `evidence+SPEC` (evidence,
then any other judge spec: `evidence+longer`, `evidence+gen:openai:MODEL`, `evidence+hf-cls:PATH`)
and `evidence+none` (evidence only; undecided where it is silent).

Which evidence applies is chosen per criterion: the item's benchmark category when known, else
inferred from the criterion text (`infer_category`). `EVIDENCE` maps a category to its evidence
functions, tried in order until one decides; each takes the batch of items and returns one
`Evidence` per item, so a new signal plugs in with `EVIDENCE[category].append(fn)` (efficiency:
timing on scaled-up examples, `evidence.efficiency`). Every verdict records the deciding `signal`
("examples", "loads", "static", "edge", "bandit", "fallback-patterns", "timing", "timing-timeout",
or "fallback/<the fallback's signal>")
and `details` (which checks each candidate failed and why, which findings each one has).

The built-in fallback prefers by length, in the direction that was better on the dev split for
the category (shorter for correctness and efficiency, longer for security and human preference):
cheap, offline, and clearly labelled as a guess.
"""

from __future__ import annotations

import re
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

from codefavor.errors import CodefavorError
from codefavor.evidence.correctness import Evidence, correctness_evidence
from codefavor.judges import Judge, PairItem, Verdict, load_judge
from codefavor.prompts import CRITERIA

EvidenceFn = Callable[[Sequence[PairItem], dict[str, Any]], list[Evidence]]


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


def _correctness(items: Sequence[PairItem], opts: dict[str, Any]) -> list[Evidence]:
    from codefavor.evidence.correctness import undefined_names
    from codefavor.evidence.sandbox import SandboxError, default_sandbox

    try:
        sandbox = opts.get("sandbox") or default_sandbox()
        return correctness_evidence([(i.instruction, i.a, i.b) for i in items], sandbox, edge=opts.get("edge", False))
    except SandboxError as e:
        # Never run candidates uncontained: without a sandbox only the static signal remains.
        if not opts.get("_warned"):
            opts["_warned"] = True
            print(f"codefavor: warning: {e}; correctness evidence is static only", file=sys.stderr)
        out = []
        for it in items:
            ua, ub = undefined_names(it.a), undefined_names(it.b)
            d = None if bool(ua) == bool(ub) else ("B" if ua else "A")
            out.append(
                Evidence(
                    d, "static" if d else "silent", 0.75, {"sandbox": str(e), "undefined_names": {"a": ua, "b": ub}}
                )
            )
        return out


def _security(items: Sequence[PairItem], opts: dict[str, Any]) -> list[Evidence]:
    from codefavor.evidence.security import security_evidence

    out = []
    for it in items:
        d, analyzer, conf, details = security_evidence(it.a, it.b)
        signal = "bandit" if analyzer == "bandit" else "fallback-patterns"
        out.append(Evidence(d, signal, conf, details))
    return out


def _efficiency(items: Sequence[PairItem], opts: dict[str, Any]) -> list[Evidence]:
    from codefavor.evidence.efficiency import efficiency_evidence

    # EfficiencyEvidence carries the same decision/signal/confidence/details fields as Evidence.
    return efficiency_evidence(items, opts)  # type: ignore[return-value]


EVIDENCE: dict[str, list[EvidenceFn]] = {
    "correctness": [_correctness],
    "security": [_security],
    "efficiency": [_efficiency],
    "human-preference": [],
}
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
    def __init__(self, fallback: Judge | None, spec: str, **options: Any):
        self.fallback = fallback
        self.spec = spec
        self.options = options
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
            for fn in EVIDENCE.get(cat, []):
                if not todo:
                    break
                evs = fn([items[n] for n in todo], self.options)
                rest = []
                for n, ev in zip(todo, evs, strict=True):
                    if ev.decision in ("A", "B"):
                        p = ev.confidence if ev.decision == "A" else 1.0 - ev.confidence
                        verdicts[n] = Verdict(ev.decision, prob_a=p, signal=ev.signal, details=ev.details)
                    else:
                        silent_details.setdefault(n, {})[fn.__name__.strip("_")] = ev.details
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
    head, plus, rest = spec.partition("+")
    if head != "evidence" or (plus and not rest.strip()):
        raise CodefavorError(f"judge spec {spec!r}: expected 'evidence', 'evidence+none' or 'evidence+SPEC'")
    rest = rest.strip()
    evidence_opts = {k: options.pop(k) for k in ("sandbox", "edge", "efficiency_config") if k in options}
    if not plus:
        fallback: Judge | None = _CheapFallback()
    elif rest == "none":
        fallback = None
    elif rest.startswith("evidence"):
        raise CodefavorError(f"judge spec {spec!r}: the fallback cannot itself be an evidence judge")
    else:
        fallback = load_judge(rest, **options)
    return EvidenceJudge(fallback, spec, **evidence_opts)
