"""LLM backends: batch-first chat generation chosen by one spec string.

`load_backend("openai:MODEL" | "hf:PATH_OR_HUB_ID" | "fake:...")` imports the backend module only in
the branch that needs it, so the core never pulls in torch or an HTTP client it does not use.
A backend takes a whole batch of conversations and decides itself how to parallelise (threads or
async for HTTP, padded batches for local models); callers never manage concurrency.

Also here, because every layer above needs them: `split_spec`, the one reader of spec strings
(backend and judge specs alike); `same_backend_spec`, which compares two through it;
`check_options`, which turns an option a constructor does not declare into a one-line error naming
the ones it does; and `backend_options`, the shared `base_url` / `api_key` / `cache` options built
from command-line flags.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple, Protocol, runtime_checkable

from codefavor.errors import CodefavorError

Message = dict[str, str]  # {"role": "system" | "user" | "assistant", "content": str}


class Spec(NamedTuple):
    """A spec string split into its parts (see `split_spec`)."""

    kind: str  # what to build: "openai", "hf", "fake", "gen", "hf-cls", "evidence", "shorter", ...
    arg: str  # what follows the first ':', verbatim ("" when there is none)
    fallback: str | None = None  # what follows '+' in a hybrid ("evidence+SPEC"), else None

    def __str__(self) -> str:
        text = f"{self.kind}:{self.arg}" if self.arg else self.kind
        return f"{text}+{self.fallback}" if self.fallback is not None else text


def split_spec(spec: str) -> Spec:
    """Split a backend or judge spec string into `Spec(kind, arg, fallback)`; the one place specs are read.

    The contract, which every caller may rely on:
    - Surrounding whitespace is dropped; nothing else is normalised (no lower-casing, no path resolving).
    - The spec is cut at its first separator, ':' or '+', whichever comes first. The text before it is
      `kind`.
    - After ':' everything is `arg`, verbatim: later colons and plus signs belong to it, so a model id
      or path may hold them (`hf-cls:/path/with:colon` -> ("hf-cls", "/path/with:colon")), and a
      nested spec stays whole (`gen:openai:MODEL` -> ("gen", "openai:MODEL"); split `arg` again to
      read the inner backend). `fallback` is None.
    - After '+' (a hybrid, `evidence+SPEC`) everything, stripped, is `fallback` and `arg` is "":
      `evidence+gen:openai:MODEL` -> ("evidence", "", "gen:openai:MODEL"); `evidence+none` ->
      ("evidence", "", "none"). Only a '+' before any ':' makes a hybrid.
    - No separator: `kind` is the whole spec and `arg` is "" (`shorter`, `evidence`, `fake`).
    - It never raises and never judges meaning: an unknown kind, a missing model or an empty fallback
      come back as they are, and the loaders (`load_backend`, `judges.load_judge`) reject them with a
      message that names the spec.
    `str(split_spec(s))` gives the spec back in canonical form: stripped, no blanks around '+', and an
    empty `arg` without its ':' (`fake:` -> `fake`).
    """
    spec = spec.strip()
    colon, plus = spec.find(":"), spec.find("+")
    if plus >= 0 and (colon < 0 or plus < colon):
        return Spec(spec[:plus].strip(), "", spec[plus + 1 :].strip())
    if colon >= 0:
        return Spec(spec[:colon].strip(), spec[colon + 1 :])
    return Spec(spec, "")


def same_backend_spec(a: str, b: str) -> bool:
    """Whether two backend specs name the same model on the same kind of backend: equal kinds and
    equal args, where two local paths count as equal when they resolve to the same file or folder
    (`hf:out/judge/` and `hf:./out/judge`). Options are not part of a spec, so two `openai:` specs
    that agree here may still talk to different servers."""
    sa, sb = split_spec(a), split_spec(b)
    if sa.kind != sb.kind or sa.fallback is not None or sb.fallback is not None:
        return False
    if sa.arg == sb.arg:
        return True
    pa, pb = Path(sa.arg), Path(sb.arg)
    return bool(sa.arg and sb.arg) and pa.exists() and pb.exists() and pa.resolve() == pb.resolve()


def check_options(spec: str, options: Mapping[str, Any], accepts: Callable[..., Any]) -> None:
    """Raise a one-line `CodefavorError` if `options` holds a keyword that `accepts` (a constructor or
    function) does not declare; the message lists the declared ones, read from its signature, so the
    list can never drift from the code."""
    params = inspect.signature(accepts).parameters.values()
    # Options are the parameters with a default; the required ones (the model, the path) come from the spec.
    declared = [
        p.name for p in params if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD) and p.default is not p.empty
    ]
    unknown = sorted(set(options) - set(declared))
    if unknown:
        raise CodefavorError(f"unknown option(s) {unknown} for {spec!r}; expected {', '.join(declared)}")


def backend_options(
    base_url: str | None = None,
    api_key: str | None = None,
    no_cache: bool = False,
    batch: str | Path | None = None,
    batch_poll: float | None = None,
    batch_offline: bool = False,
) -> dict[str, Any]:
    """The options the shared command-line flags (`--base-url`, `--api-key`, `--no-cache`, and
    `--batch` / `--batch-poll` / `--batch-offline` as the folder they put batch jobs in) give a
    backend or a model-backed judge: only the ones set, so each backend keeps its own defaults."""
    opts: dict[str, Any] = {}
    if batch is not None:
        opts["batch"] = str(batch)
        if batch_poll is not None:
            opts["batch_poll"] = batch_poll
        if batch_offline:
            opts["batch_offline"] = True
    if base_url:
        opts["base_url"] = base_url
    if api_key:
        opts["api_key"] = api_key
    if no_cache:
        opts["cache"] = False
    return opts


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
    # The server refused this request itself (HTTP 400/413/422: longer than the model's context,
    # malformed): sending it again fails again, so generators record it as an outcome, not an error.
    refused: bool = False

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


EXPECTED = "'openai:MODEL', 'hf:PATH' or 'fake:...'"


def load_backend(spec: str, **options: Any) -> Backend:
    """Build a backend from its spec string; `options` are backend-specific (base_url, api_key, ...)."""
    kind, arg, fallback = split_spec(spec)
    if fallback is not None:
        raise CodefavorError(f"backend spec {spec!r}: only judge specs combine with '+'; expected {EXPECTED}")
    if not arg and kind in ("openai", "hf"):
        raise CodefavorError(f"backend spec {spec!r} has no model; expected {EXPECTED}")
    match kind:
        case "fake":
            from codefavor.backends.fake import FakeBackend

            return FakeBackend.from_spec(spec, **options)
        case "openai":
            from codefavor.backends.openai import OpenAIBackend  # type: ignore[import-not-found]

            return OpenAIBackend(arg, **options)
        case "hf":
            from codefavor.backends.hf import HFBackend  # type: ignore[import-not-found]

            return HFBackend(arg, **options)
    raise CodefavorError(f"unknown backend spec {spec!r}; expected one of {EXPECTED}")
