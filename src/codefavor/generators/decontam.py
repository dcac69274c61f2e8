"""Decontamination: drop synthetic pairs whose code nearly duplicates a CodePrefBench candidate.

Similarity is rapidfuzz's normalized Indel similarity (0-100) on whitespace-normalized code, with a
length pre-filter so most comparisons are skipped; the default threshold 80 mirrors the paper's
contamination check (top-1 similarity above 80). `load_decontaminator` builds the index from the
CodePrefBench files, found as `codefavor bench` finds them (a folder, $CODEFAVOR_DATA, the cache, else
a download), for both generators.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from codefavor.errors import CodefavorError
from codefavor.records import BenchTask

_WS = re.compile(r"\s+")


def normalize(code: str) -> str:
    return _WS.sub(" ", code).strip()


@dataclass
class Decontaminator:
    """Index of benchmark codes; `match(code)` gives the best similarity and its task id."""

    refs: Sequence[tuple[str, str]]  # (normalized code, task id)
    threshold: float = 80.0

    @classmethod
    def from_tasks(cls, tasks: Iterable[BenchTask], threshold: float = 80.0) -> Decontaminator:
        refs = [(normalize(c), t.task_id) for t in tasks for c in t.choices]
        return cls(sorted(refs, key=lambda r: len(r[0])), threshold)

    def match(self, code: str) -> tuple[float, str | None]:
        from rapidfuzz import fuzz

        q = normalize(code)
        best, best_id = 0.0, None
        n = len(q)
        # ratio = 2*matches/(len1+len2) <= 2*min/(len1+len2): skip references too different in length.
        for ref, tid in self.refs:
            m = len(ref)
            if n + m == 0 or 200.0 * min(n, m) / (n + m) < self.threshold:
                continue
            s = fuzz.ratio(q, ref, score_cutoff=max(best, self.threshold))
            if s > best:
                best, best_id = s, tid
        return best, best_id

    def is_contaminated(self, *codes: str) -> tuple[bool, float, str | None]:
        best, tid = 0.0, None
        for c in codes:
            s, t = self.match(c)
            if s > best:
                best, tid = s, t
        return best >= self.threshold, best, tid


def load_decontaminator(data_dir: str | Path | None = None, threshold: float = 80.0) -> Decontaminator:
    """The index over every CodePrefBench candidate; a clear error when the files cannot be found."""
    from codefavor.benchmark.data import load_tasks

    try:
        tasks = load_tasks(data_dir=data_dir)
    except CodefavorError as e:
        raise CodefavorError(
            f"decontamination needs CodePrefBench ({e}); pass `decontaminate=False` to skip it"
        ) from None
    return Decontaminator.from_tasks(tasks, threshold=threshold)


def check_decontaminator(decontaminator: Decontaminator | None, enabled: bool, threshold: float) -> None:
    """A run's settings and the index it was given must agree (the settings are what the manifest records)."""
    if enabled and decontaminator is None:
        raise CodefavorError(
            "decontamination is on but no benchmark index was given (pass `decontaminate=False` to skip)"
        )
    if decontaminator is not None and (not enabled or decontaminator.threshold != threshold):
        raise ValueError(f"the decontaminator (threshold {decontaminator.threshold}) does not match the settings")
