"""The generative judge: any LLM backend writes a short review, then a verdict line we parse.

`GenerativeJudge("openai:MODEL", base_url=...)` (spec `gen:openai:MODEL`) or `GenerativeJudge("hf:PATH")`
(spec `hf-gen:PATH`, a trained generative judge) renders `prompts.judge_messages(..., "generative")`
(the same prompt the trained judges learn from), sends the whole batch to the backend at once and
reads each reply with `judges.parse.decision`. A reply with no verdict is "undecided"; a generation
that failed (every retry used up) is "undecided" with `error` set, so the benchmark counts it as
undecided and reports it as failed. Raw output, token usage and latency are kept per verdict.

Options: `temperature` (0), `max_tokens` (1024), `batch_size` (the backend's preference), and
anything else goes to the backend (`base_url`, `api_key`, `cache`, `max_in_flight`, `dtype`, ...).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from codefavor.backends import Backend, Sampling, load_backend, split_spec
from codefavor.judges import PairItem, Verdict
from codefavor.judges.parse import deciding_statement
from codefavor.prompts import judge_messages, resolve_criterion


class GenerativeJudge:
    def __init__(
        self,
        backend_spec: str,
        *,
        backend: Backend | None = None,
        temperature: float = 0.0,
        max_tokens: int = 1024,
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
        self.sampling = Sampling(temperature=temperature, max_tokens=max_tokens)
        self.batch_size = int(batch_size or getattr(self.backend, "batch_size", 16))

    def judge(self, items: Sequence[PairItem]) -> list[Verdict]:
        convs = [
            judge_messages(it.instruction, it.a, it.b, resolve_criterion(it.criterion, it.category), "generative")
            for it in items
        ]
        gens = self.backend.generate(convs, self.sampling) if convs else []
        assert len(gens) == len(items), f"backend {self.backend.spec!r} returned {len(gens)} for {len(items)}"
        out = []
        for g in gens:
            if g.error is not None:
                out.append(Verdict("undecided", signal="model", error=g.error, latency_s=g.latency_s, usage=g.usage))
                continue
            stmt = deciding_statement(g.text)
            decision = "undecided" if stmt is None or stmt.outcome == "tie" else stmt.outcome
            details: dict[str, Any] = {"statement": stmt.text if stmt else None, "cached": g.cached}
            out.append(
                Verdict(
                    decision,  # type: ignore[arg-type]
                    prob_a=None,
                    signal="model",
                    raw_output=g.text,
                    details=details,
                    latency_s=g.latency_s,
                    usage=g.usage,
                )
            )
        return out
