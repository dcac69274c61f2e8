"""A scripted, deterministic backend for tests and dry runs (no network, no model).

From Python: `FakeBackend(replies=[...])` answers from a queue, `FakeBackend(fn=callable)` answers
with `fn(messages) -> str`. From a spec string: `fake:echo` repeats the last user message,
`fake:const=TEXT` always answers TEXT, `fake:cycle=X|Y|Z` answers X, Y, Z, X, ... in call order, and
`fake:commit-replay` plays the Commit-Instruct dialogue from the commit itself: it answers YES and
turns the commit shown in the first turn into the pair (old code rejected, new code chosen), a dry run
of a pipeline with no model.
"""

from __future__ import annotations

import itertools
import re
import threading
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from codefavor.backends import Generation, Message, Sampling, split_spec
from codefavor.codetools import apply_unified_diff
from codefavor.errors import CodefavorError

REPLAY_SPEC = "fake:commit-replay"


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
        if spec == REPLAY_SPEC:
            return cls(fn=commit_replay, spec=spec)
        raise CodefavorError(
            f"unknown fake backend {spec!r}; expected 'fake:echo', 'fake:const=TEXT', 'fake:cycle=X|Y' "
            "or 'fake:commit-replay'"
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


# The first Commit-Instruct turn shows the message, then "File: ...", then the old code and the diff
# in fences (see prompts/commit_instruct_explain.md).
_MESSAGE = re.compile(r"Commit message:\n(.*?)\n\nFile: ", re.DOTALL)
_FENCED = re.compile(r"(`{3,})[^\n]*\n(.*?)\n\1(?!`)", re.DOTALL)


def commit_replay(messages: list[Message]) -> str:
    """The reply of `fake:commit-replay` to a Commit-Instruct conversation at any of its three turns."""
    turn = sum(1 for m in messages if m["role"] == "assistant")
    if turn == 0:
        return "The change edits the code as the commit message says; it improves the code."
    if turn == 1:
        return "YES"
    first = messages[0]["content"]
    blocks = [m[1] for m in _FENCED.findall(first)]
    m = _MESSAGE.search(first)
    subject = (m.group(1).strip().splitlines() or ["the change"])[0] if m else "the change"
    old, diff = (blocks[0], blocks[-1]) if len(blocks) >= 2 else ("", "")
    new = apply_unified_diff(old, diff)
    return (
        f"INSTRUCTION:\nWrite the module so that it does the following: {subject}\n\n"
        f"CRITERION:\nThe code carries out the intent of the change: {subject}\n\n"
        f"NAIVE CODE:\n```\n{old}\n```\n\nIMPROVED CODE:\n```\n{new.rstrip()}\n```\n\n"
        "FEEDBACK:\n[IMPROVED] makes the change the developer committed; [NAIVE] is the code before it.\n"
    )
