"""The classification judge served (`cls:openai:MODEL`): `hf-cls` scoring through an OpenAI-compatible
server (vLLM, SGLang, llama.cpp's server) instead of in process.

The prompt is the one `hf-cls` reads, rendered by the same builder (`judge_messages(...,
"classification")` in the model's own chat template, assistant turn opened, via `render_prompt`),
sent as text to `POST /v1/completions` with `max_tokens=1` and `logprobs=top_logprobs` (20). From the
top log-probabilities of the one generated position we take the two label tokens ("A", "B"; a
leading-space variant " A" where the bare token is absent) and P(A) = softmax over the two, as
`hf-cls` does over the two logits. A label missing from the top list has at most the smallest listed
log-probability, which we use as its bound (the decision stays right; the probability is a bound);
both missing leaves that order undecided. Both orders are scored and averaged by default, as `hf-cls`.

The tokenizer that renders the prompt is read locally: `tokenizer=PATH` (an HF folder, hub id or
`.gguf` file), else MODEL itself (servers commonly name a model by its path). Requests carry
`prompts_per_request` prompts each (completions take a list; a server that answers a list with an
error or with the wrong number of choices, as llama.cpp's does, is sent one prompt per request from
then on) and `max_in_flight` of them are open at once.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from codefavor.backends import check_options
from codefavor.judges import TIE_MARGIN, PairItem, Verdict, decide_prob
from codefavor.prompts import CLASS_LABELS, judge_messages, render_prompt, resolve_criterion


def label_logprobs(top: Mapping[str, float] | None) -> tuple[float | None, float | None, bool]:
    """(logprob of "A", of "B", whether one of them is a bound) from one position's top log-probabilities.
    A bare label token wins over its leading-space variant; a missing label gets the smallest listed
    value as a bound; both missing: (None, None, False). Pure, never raises."""
    if not top:
        return None, None, False
    found: list[float | None] = []
    for label in CLASS_LABELS:
        value = top.get(label)
        if value is None:
            value = top.get(" " + label)
        found.append(float(value) if isinstance(value, (int, float)) else None)
    a, b = found
    if a is None and b is None:
        return None, None, False
    floor = min(float(v) for v in top.values() if isinstance(v, (int, float)))
    return (a if a is not None else floor), (b if b is not None else floor), a is None or b is None


def prob_first(la: float, lb: float) -> float:
    """softmax([la, lb])[0], computed stably."""
    m = max(la, lb)
    ea, eb = math.exp(la - m), math.exp(lb - m)
    return ea / (ea + eb)


class ServedClassifierJudge:
    """`cls:openai:MODEL`: see the module docstring. Options: `base_url`, `api_key`, `tokenizer`,
    `both_orders` (True), `top_logprobs` (20), `prompts_per_request` (16), `max_in_flight` (8),
    `batch_size` (items per runner call), `timeout` (s per request), `tie` (as `hf-cls`'s)."""

    def __init__(
        self,
        model: str,
        base_url: str | None = None,
        api_key: str | None = None,
        tokenizer: str | None = None,
        both_orders: bool = True,
        top_logprobs: int = 20,
        prompts_per_request: int = 16,
        max_in_flight: int = 8,
        batch_size: int = 64,
        timeout: float = 300.0,
        tie: float = TIE_MARGIN,
        cache: bool = True,  # accepted for CLI symmetry: scores are not cached
        **options: Any,
    ):
        self.spec = f"cls:openai:{model}"
        check_options(self.spec, options, ServedClassifierJudge)
        import openai

        from codefavor.models import load_tokenizer

        self.model = model
        self.both_orders = both_orders
        self.tie = float(tie)
        self.top_logprobs = int(top_logprobs)
        self.prompts_per_request = max(1, int(prompts_per_request))
        self.max_in_flight = max(1, int(max_in_flight))
        self.batch_size = batch_size
        self.tokenizer = load_tokenizer(tokenizer or model)
        self.client = openai.OpenAI(
            base_url=base_url or os.environ.get("OPENAI_BASE_URL"),
            api_key=api_key or os.environ.get("OPENAI_API_KEY") or "none",
            timeout=timeout,
        )

    def prompt(self, item: PairItem, swapped: bool = False) -> str:
        """The exact text `hf-cls` tokenizes for this item and order."""
        a, b = (item.b, item.a) if swapped else (item.a, item.b)
        criterion = resolve_criterion(item.criterion, item.category)
        return render_prompt(self.tokenizer, judge_messages(item.instruction, a, b, criterion, "classification"))

    def _ask(self, prompts: list[str]) -> list[Mapping[str, float] | None | str]:
        """Top log-probabilities of the answer position per prompt, or an error text per prompt."""
        try:
            resp = self.client.completions.create(
                model=self.model, prompt=prompts if len(prompts) > 1 else prompts[0], max_tokens=1,
                logprobs=self.top_logprobs, temperature=0.0,
            )  # fmt: skip
            choices = sorted(resp.choices, key=lambda c: c.index)
        except Exception as e:  # the server's answer, whatever it is, becomes the verdict's error
            if len(prompts) > 1:
                self.prompts_per_request = 1
                return [x for p in prompts for x in self._ask([p])]
            return [f"{type(e).__name__}: {str(e)[:200]}"]
        if len(choices) != len(prompts):
            if len(prompts) > 1:
                self.prompts_per_request = 1
                return [x for p in prompts for x in self._ask([p])]
            return ["the server answered no choice"]
        out: list[Mapping[str, float] | None | str] = []
        for c in choices:
            lp = c.logprobs
            tops = getattr(lp, "top_logprobs", None) if lp is not None else None
            out.append(dict(tops[0]) if tops and tops[0] else None)
        return out

    def judge(self, items: Sequence[PairItem]) -> list[Verdict]:
        start = time.perf_counter()
        orders = (False, True) if self.both_orders else (False,)
        owners = [(i, s) for i in range(len(items)) for s in orders]
        prompts = [self.prompt(items[i], s) for i, s in owners]
        tops: list[Mapping[str, float] | None | str] = []
        k = self.prompts_per_request
        chunks = [prompts[j : j + k] for j in range(0, len(prompts), k)]
        with ThreadPoolExecutor(max_workers=self.max_in_flight) as pool:
            for got in pool.map(self._ask, chunks):
                tops.extend(got)
        per_item: dict[int, list[float]] = {}
        notes: dict[int, list[str]] = {}
        for (i, swapped), top in zip(owners, tops, strict=True):
            if isinstance(top, str):
                notes.setdefault(i, []).append(top)
                continue
            la, lb, bound = label_logprobs(top)
            if la is None or lb is None:
                notes.setdefault(i, []).append("neither label among the top log-probabilities")
                continue
            if bound:
                notes.setdefault(i, []).append("one label outside the top log-probabilities (its bound used)")
            p = prob_first(la, lb)
            per_item.setdefault(i, []).append(1.0 - p if swapped else p)  # swapped: the first label names b
        latency = (time.perf_counter() - start) / max(1, len(items))
        verdicts = []
        for i in range(len(items)):
            ps = per_item.get(i)
            if not ps:
                why = "; ".join(notes.get(i, [])) or "no score"
                verdicts.append(Verdict(decision="undecided", signal="model", error=why, latency_s=latency))
                continue
            prob_a = sum(ps) / len(ps)
            decision = decide_prob(prob_a, self.tie)
            details: dict[str, Any] = {"prob_a_by_order": ps}
            if i in notes:
                details["notes"] = notes[i]
            verdicts.append(
                Verdict(
                    decision=decision,
                    prob_a=prob_a,
                    signal="model",
                    details=details,
                    latency_s=latency,
                    usage={"requests": len(ps)},
                )  # fmt: skip
            )
        return verdicts
