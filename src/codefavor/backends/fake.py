"""A scripted, deterministic backend for tests and dry runs (no network, no model).

From Python: `FakeBackend(replies=[...])` answers from a queue, `FakeBackend(fn=callable)` answers
with `fn(messages) -> str`. From a spec string: `fake:echo` repeats the last user message,
`fake:const=TEXT` always answers TEXT, `fake:cycle=X|Y|Z` answers X, Y, Z, X, ... in call order.
"""

from __future__ import annotations

import itertools
import threading
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from codefavor.backends import Generation, Message, Sampling, split_spec
from codefavor.errors import CodefavorError


class FakeBackend:
    def __init__(
        self,
        replies: Iterable[str] | None = None,
        fn: Callable[[list[Message]], str] | None = None,
        spec: str = "fake:scripted",
    ):
        if (replies is None) == (fn is None):
            raise ValueError("give exactly one of replies or fn")
        self.spec = spec
        self.model = split_spec(spec).arg or "scripted"
        self._queue: deque[str] | None = deque(replies) if replies is not None else None
        self._fn = fn
        self._lock = threading.Lock()
        self.calls: list[list[Message]] = []

    @classmethod
    def from_spec(cls, spec: str, **_: Any) -> FakeBackend:
        rest = split_spec(spec).arg
        if rest in ("", "echo"):
            return cls(fn=lambda m: next((x["content"] for x in reversed(m) if x["role"] == "user"), ""), spec=spec)
        if rest.startswith("const="):
            text = rest[len("const=") :]
            return cls(fn=lambda m: text, spec=spec)
        if rest.startswith("cycle="):
            cycle = itertools.cycle(rest[len("cycle=") :].split("|"))
            return cls(fn=lambda m: next(cycle), spec=spec)
        raise CodefavorError(
            f"unknown fake backend {spec!r}; expected 'fake:echo', 'fake:const=TEXT' or 'fake:cycle=X|Y'"
        )

    def enqueue(self, *replies: str) -> None:
        assert self._queue is not None, "enqueue needs a queue-backed FakeBackend"
        self._queue.extend(replies)

    def generate(self, conversations: Sequence[list[Message]], sampling: Sampling) -> list[Generation]:
        out = []
        for conv in conversations:
            with self._lock:
                self.calls.append(conv)
                texts = []
                for _ in range(sampling.n):
                    if self._fn is not None:
                        texts.append(self._fn(conv))
                    elif self._queue:
                        texts.append(self._queue.popleft())
                    else:
                        texts = []
                        break
            if not texts:
                out.append(Generation(error="fake backend: reply queue is empty"))
                continue
            out.append(
                Generation(
                    texts=texts,
                    prompt_tokens=sum(len(m["content"].split()) for m in conv),
                    completion_tokens=sum(len(t.split()) for t in texts),
                )
            )
        return out
