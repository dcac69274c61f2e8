"""Baseline judges that read no meaning: prefer the shorter or longer code, or flip a seeded coin.

They anchor the benchmark (a real judge must beat them) and serve as the cheap fallback of hybrid
judges. Length is counted in characters after stripping surrounding whitespace; equal lengths are
undecided.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Literal

from codefavor.judges import PairItem, Verdict
from codefavor.records import content_id


class LengthJudge:
    batch_size = 1024

    def __init__(self, prefer: Literal["shorter", "longer"]):
        self.prefer = prefer
        self.spec = prefer

    def judge(self, items: Sequence[PairItem]) -> list[Verdict]:
        out = []
        for it in items:
            la, lb = len(it.a.strip()), len(it.b.strip())
            if la == lb:
                out.append(Verdict("undecided", prob_a=0.5, signal="length"))
                continue
            a_shorter = la < lb
            pick = "A" if a_shorter == (self.prefer == "shorter") else "B"
            out.append(
                Verdict(pick, prob_a=1.0 if pick == "A" else 0.0, signal="length", details={"len_a": la, "len_b": lb})
            )
        return out


class RandomJudge:
    """A coin flip seeded per item (seed + item content), so results do not depend on batching."""

    batch_size = 1024

    def __init__(self, seed: int = 0):
        self.seed = seed
        self.spec = f"random:{seed}"

    def judge(self, items: Sequence[PairItem]) -> list[Verdict]:
        out = []
        for it in items:
            rng = random.Random(f"{self.seed}:{content_id(it.instruction, it.a, it.b)}")
            pick = "A" if rng.random() < 0.5 else "B"
            out.append(Verdict(pick, prob_a=0.5, signal="random"))
        return out
