"""LLM backends: batch-first chat generation chosen by one spec string.

`load_backend("openai:MODEL" | "hf:PATH_OR_HUB_ID" | "fake:...")` imports the backend module only in
the branch that needs it, so the core never pulls in torch or an HTTP client it does not use.
A backend takes a whole batch of conversations and decides itself how to parallelise (threads or
async for HTTP, padded batches for local models); callers never manage concurrency.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from codefavor.errors import CodefavorError

Message = dict[str, str]  # {"role": "system" | "user" | "assistant", "content": str}


@dataclass(frozen=True)
class Sampling:
    """Sampling settings; part of the response-cache key."""

    temperature: float = 0.0
    top_p: float = 1.0
    max_tokens: int = 1024
    stop: tuple[str, ...] = ()
    seed: int | None = None
    n: int = 1


@dataclass
class Generation:
    """The outcome of one conversation: `n` texts, or an error reason when every attempt failed."""

    texts: list[str] = field(default_factory=list)
    prompt_tokens: int = 0
    completion_tokens: int = 0
    latency_s: float = 0.0
    error: str | None = None
    cached: bool = False

    @property
    def text(self) -> str:
        return self.texts[0] if self.texts else ""

    @property
    def usage(self) -> dict[str, int]:
        return {"prompt_tokens": self.prompt_tokens, "completion_tokens": self.completion_tokens}


@runtime_checkable
class Backend(Protocol):
    """Anything that turns a batch of conversations into generations, one per conversation, in order."""

    spec: str

    def generate(self, conversations: Sequence[list[Message]], sampling: Sampling) -> list[Generation]: ...


def load_backend(spec: str, **options: Any) -> Backend:
    """Build a backend from its spec string; `options` are backend-specific (base_url, api_key, ...)."""
    kind, _, rest = spec.partition(":")
    if not rest and kind != "fake":
        raise CodefavorError(f"backend spec {spec!r} has no model; expected 'openai:MODEL', 'hf:PATH' or 'fake:...'")
    match kind:
        case "fake":
            from codefavor.backends.fake import FakeBackend

            return FakeBackend.from_spec(spec, **options)
        case "openai":
            from codefavor.backends.openai import OpenAIBackend  # type: ignore[import-not-found]

            return OpenAIBackend(rest, **options)
        case "hf":
            from codefavor.backends.hf import HFBackend  # type: ignore[import-not-found]

            return HFBackend(rest, **options)
    raise CodefavorError(f"unknown backend spec {spec!r}; expected one of 'openai:MODEL', 'hf:PATH', 'fake:...'")
