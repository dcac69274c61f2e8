"""The generative judge: any LLM backend writes a short review, then a verdict line we parse.

`GenerativeJudge("openai:MODEL", base_url=...)` (spec `gen:openai:MODEL`) or `GenerativeJudge("hf:PATH")`
(spec `hf-gen:PATH`, a trained generative judge) renders `prompts.judge_messages(..., "generative")`
(the same prompt the trained judges learn from), sends the whole batch to the backend at once and
reads each reply with `judges.parse`. Replies stop at the prompt's own headings (`prompts.JUDGE_STOP`:
small models echo the prompt back and never return). A reply with no strong verdict statement (a
review that trails off, a truncated one) gets one follow-up turn asking for the verdict line alone
(`prompts.verdict_followup`, a few tokens; a server that caches the prompt prefix answers it cheaply),
and `final_decision` combines the two. Still no verdict: "undecided". A generation
that failed (every retry used up) is "undecided" with `error` set, so the benchmark counts it as
undecided and reports it as failed. Raw output, token usage and latency are kept per verdict.

Options: `temperature` (0), `max_tokens` (1024), `followup` (True), `batch_size` (the backend's preference), and
anything else goes to the backend (`base_url`, `api_key`, `cache`, `max_in_flight`, `dtype`, ...).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from codefavor.backends import Backend, Sampling, load_backend, split_spec
from codefavor.judges import PairItem, Verdict
from codefavor.judges.parse import answer_statement, deciding_statement
from codefavor.prompts import JUDGE_STOP, judge_messages, resolve_criterion, verdict_followup
from codefavor.records import Decision

FOLLOWUP_MAX_TOKENS = 4  # the answer is one letter


def final_decision(reply: str | None, followup: str | None = None) -> Decision:
    """The verdict of a reply and its optional follow-up answer: a strong statement in the reply
    wins; else the follow-up's answer (`parse.answer_statement`: a one-letter question, so an
    answer naming one candidate names the choice); else a weak (one-quality) statement of the reply.
    Pure."""
    first = deciding_statement(reply)
    if first is not None and first.strong:
        return "undecided" if first.outcome == "tie" else first.outcome
    second = answer_statement(followup)
    chosen = second if second is not None else first
    return "undecided" if chosen is None or chosen.outcome == "tie" else chosen.outcome


class GenerativeJudge:
    def __init__(
        self,
        backend_spec: str,
        *,
        backend: Backend | None = None,
        temperature: float = 0.0,
        max_tokens: int = 1024,
        followup: bool = True,
        batch_size: int | None = None,
        **backend_options: Any,
    ):
        kind, arg, _ = split_spec(backend_spec)
        # Options the CLI passes for API judges only mean something to HTTP backends.
        if kind == "hf":
            for k in ("base_url", "api_key"):
                if backend_options.get(k) is None:
                    backend_options.pop(k, None)
        self.backend = backend if backend is not None else load_backend(backend_spec, **backend_options)
        self.spec = f"hf-gen:{arg}" if kind == "hf" else f"gen:{backend_spec}"
        self.sampling = Sampling(temperature=temperature, max_tokens=max_tokens, stop=JUDGE_STOP)
        self.followup_sampling = Sampling(
            temperature=temperature, max_tokens=min(FOLLOWUP_MAX_TOKENS, max_tokens), stop=JUDGE_STOP
        )
        self.followup = followup
        self.batch_size = int(batch_size or getattr(self.backend, "batch_size", 16))

    def judge(self, items: Sequence[PairItem]) -> list[Verdict]:
        convs = [
            judge_messages(
                it.instruction,
                it.a,
                it.b,
                resolve_criterion(it.criterion, it.category),
                "generative",
                it.trace.text() if it.trace is not None else None,
            )
            for it in items
        ]
        gens = self.backend.generate(convs, self.sampling) if convs else []
        assert len(gens) == len(items), f"backend {self.backend.spec!r} returned {len(gens)} for {len(items)}"
        # Replies without a strong statement get the one-line follow-up, all in one batch.
        ask = [
            k
            for k, g in enumerate(gens)
            if self.followup and g.error is None and not getattr(deciding_statement(g.text), "strong", False)
        ]
        followups: dict[int, Any] = {}
        if ask:
            more = self.backend.generate(
                [verdict_followup(convs[k], gens[k].text) for k in ask], self.followup_sampling
            )
            followups = {k: f for k, f in zip(ask, more, strict=True) if f.error is None}
        out = []
        for k, g in enumerate(gens):
            if g.error is not None:
                out.append(Verdict("undecided", signal="model", error=g.error, latency_s=g.latency_s, usage=g.usage))
                continue
            stmt = deciding_statement(g.text)
            f = followups.get(k)
            details: dict[str, Any] = {"statement": stmt.text if stmt else None, "cached": g.cached}
            usage, latency = dict(g.usage or {}), g.latency_s
            if f is not None:
                fstmt = answer_statement(f.text)
                details.update(followup_reply=f.text, followup_statement=fstmt.text if fstmt else None)
                for key, val in (f.usage or {}).items():
                    if isinstance(val, (int, float)):
                        usage[key] = usage.get(key, 0) + val
                latency = (latency or 0.0) + (f.latency_s or 0.0)
            out.append(
                Verdict(
                    final_decision(g.text, f.text if f is not None else None),
                    prob_a=None,
                    signal="model",
                    raw_output=g.text,
                    details=details,
                    latency_s=latency,
                    usage=usage or g.usage,
                )
            )
        return out
