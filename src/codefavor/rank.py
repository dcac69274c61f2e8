"""Best-of-n reranking: pick the best of N candidate codes with any pairwise judge.

Every comparison is judged in both orders (A/B and B/A) to cancel position bias. Small sets play a
round-robin (every pair once); large ones a Swiss tournament (about log2 N rounds in which players
with equal records meet) or a knockout bracket (N - 1 matches), so a large N costs about N log N
judge calls rather than N^2. The players are ranked by comparison wins (a comparison split 1-1
between the two orders, or undecided, is half a win each), ties broken by the summed probability
of winning. All comparisons of one round go to the judge in one batch, as judges are batch-first.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from codefavor.judges import Judge, PairItem, Verdict
from codefavor.prompts import CRITERIA, resolve_criterion

Scheme = Literal["auto", "round-robin", "swiss", "knockout"]
SCHEMES: tuple[str, ...] = ("auto", "round-robin", "swiss", "knockout")
ROUND_ROBIN_MAX = 8  # up to here all N(N-1)/2 pairs are cheap enough (28 comparisons at 8)


@dataclass
class Comparison:
    """One pair judged in both orders. `first`/`second` are candidate indices; `points_first` is the
    first one's share of the two orders (1 = won both, 0.5 = split or undecided, 0 = lost both)."""

    round: int
    first: int
    second: int
    decision_ab: str  # verdict with `first` shown as A
    decision_ba: str  # verdict with `second` shown as A
    prob_ab: float | None
    prob_ba: float | None
    points_first: float
    prob_first: float  # mean P(first is better) over the two orders
    signal_ab: str | None = None
    signal_ba: str | None = None
    error: str | None = None

    @property
    def winner(self) -> int | None:
        if self.points_first > 0.5:
            return self.first
        if self.points_first < 0.5:
            return self.second
        return None


@dataclass
class Standing:
    index: int
    wins: float = 0.0
    prob_sum: float = 0.0
    played: int = 0
    byes: int = 0
    eliminated_in: int | None = None  # knockout only


@dataclass
class RankResult:
    scheme: str
    ranking: list[int]  # candidate indices, best first
    standings: list[Standing]  # by candidate index
    comparisons: list[Comparison] = field(default_factory=list)
    rounds: int = 0
    judge_items: int = 0  # PairItems sent to the judge (two per comparison)

    @property
    def best(self) -> int:
        return self.ranking[0]

    def to_dict(self) -> dict[str, Any]:
        return {
            "scheme": self.scheme,
            "best": self.best,
            "ranking": self.ranking,
            "rounds": self.rounds,
            "n_comparisons": len(self.comparisons),
            "judge_items": self.judge_items,
            "standings": [asdict(self.standings[i]) for i in self.ranking],
            "comparisons": [{**asdict(c), "winner": c.winner} for c in self.comparisons],
        }


def _prob_a(v: Verdict) -> float:
    """P(A is better) from a verdict, falling back on its decision when the judge gives none."""
    if v.error is None and v.prob_a is not None:
        return min(1.0, max(0.0, float(v.prob_a)))
    return {"A": 1.0, "B": 0.0}.get(v.decision, 0.5) if v.error is None else 0.5


def _points(v: Verdict) -> float:
    """The A side's point in one order: 1 win, 0 loss, 0.5 undecided or failed."""
    if v.error is not None:
        return 0.5
    return {"A": 1.0, "B": 0.0}.get(v.decision, 0.5)


class _Arena:
    """Candidates, their standings, and the judge calls, shared by the three schemes."""

    def __init__(
        self, judge: Judge, instruction: str, candidates: Sequence[str], criterion: str, category: str | None
    ):
        self.judge, self.instruction, self.candidates = judge, instruction, list(candidates)
        self.criterion, self.category = criterion, category
        self.standings = [Standing(i) for i in range(len(candidates))]
        self.comparisons: list[Comparison] = []
        self.played: set[frozenset[int]] = set()
        self.rounds = 0
        self.judge_items = 0

    def play(self, pairs: Sequence[tuple[int, int]]) -> list[Comparison]:
        """Judge every pair of one round in both orders with a single batched call."""
        if not pairs:
            return []
        self.rounds += 1
        items = []
        for i, j in pairs:
            ci, cj = self.candidates[i], self.candidates[j]
            for a, b, order in ((ci, cj, "ab"), (cj, ci, "ba")):
                items.append(
                    PairItem(
                        self.instruction, a, b, self.criterion, self.category, id=f"r{self.rounds}:{i}-{j}:{order}"
                    )
                )
        verdicts = self.judge.judge(items)
        if len(verdicts) != len(items):
            raise RuntimeError(f"judge {self.judge.spec!r} returned {len(verdicts)} verdicts for {len(items)} items")
        self.judge_items += len(items)
        out = []
        for k, (i, j) in enumerate(pairs):
            vab, vba = verdicts[2 * k], verdicts[2 * k + 1]
            points = (_points(vab) + 1.0 - _points(vba)) / 2
            # Rounded so that a pure position bias (0.9 then 0.9) comes out an exact tie.
            prob = round((_prob_a(vab) + 1.0 - _prob_a(vba)) / 2, 9)
            errors = [e for e in (vab.error, vba.error) if e]
            c = Comparison(
                round=self.rounds,
                first=i,
                second=j,
                decision_ab=vab.decision,
                decision_ba=vba.decision,
                prob_ab=vab.prob_a,
                prob_ba=vba.prob_a,
                points_first=points,
                prob_first=prob,
                signal_ab=vab.signal,
                signal_ba=vba.signal,
                error="; ".join(errors) or None,
            )
            for idx, pts, p in ((i, points, prob), (j, 1.0 - points, 1.0 - prob)):
                s = self.standings[idx]
                s.wins += pts
                s.prob_sum += p
                s.played += 1
            self.played.add(frozenset((i, j)))
            self.comparisons.append(c)
            out.append(c)
        return out

    def order(self, among: Sequence[int] | None = None) -> list[int]:
        """Indices best first: wins, then summed probability, then input order (stable)."""
        pool = range(len(self.candidates)) if among is None else among
        return sorted(pool, key=lambda i: (-self.standings[i].wins, -self.standings[i].prob_sum, i))


def comparisons_needed(n: int, scheme: Scheme = "auto") -> int:
    """How many comparisons (each two judge items) a scheme plays for n candidates."""
    scheme = _pick_scheme(n, scheme)
    if n < 2:
        return 0
    if scheme == "round-robin":
        return n * (n - 1) // 2
    if scheme == "knockout":
        return n - 1
    return swiss_rounds(n) * (n // 2)


def swiss_rounds(n: int) -> int:
    """Rounds of the Swiss scheme: enough for one unbeaten leader, log2 N rounded up."""
    return max(1, math.ceil(math.log2(n))) if n >= 2 else 0


def _pick_scheme(n: int, scheme: Scheme) -> str:
    if scheme not in SCHEMES:
        raise ValueError(f"unknown ranking scheme {scheme!r}; expected one of {', '.join(SCHEMES)}")
    if scheme == "auto":
        return "round-robin" if n <= ROUND_ROBIN_MAX else "swiss"
    return scheme


def _swiss_pairs(arena: _Arena, players: list[int]) -> tuple[list[tuple[int, int]], int | None]:
    """Pair neighbours in the current order, avoiding rematches where possible; the lowest-placed
    player that has not had one sits out (a bye) when the count is odd."""
    ordered = arena.order(players)
    bye = None
    if len(ordered) % 2:
        bye = next((i for i in reversed(ordered) if arena.standings[i].byes == 0), ordered[-1])
        ordered.remove(bye)
    pairs: list[tuple[int, int]] = []
    free = list(ordered)
    while free:
        top = free.pop(0)
        # The nearest-ranked opponent not met yet; if every one has been met, the nearest of all.
        k = next((k for k, o in enumerate(free) if frozenset((top, o)) not in arena.played), 0)
        pairs.append((top, free.pop(k)))
    return pairs, bye


def rank(
    instruction: str,
    candidates: Sequence[str],
    judge: Judge,
    *,
    criterion: str | None = None,
    category: str | None = None,
    scheme: Scheme = "auto",
) -> RankResult:
    """Rank `candidates` for `instruction` with a pairwise `judge`; `result.best` is the pick.

    Args:
        criterion: a category name ("correctness", "efficiency", ...) or a free-text criterion.
            A category name also tells evidence judges which checks to run.
        category: the category for evidence judges when `criterion` is free text.
        scheme: "round-robin" (N(N-1)/2 comparisons), "swiss" (ceil(log2 N) rounds of N/2),
            "knockout" (N - 1, ranks only by the round a candidate fell in), or "auto"
            (round-robin up to ROUND_ROBIN_MAX candidates, Swiss above).
    """
    n = len(candidates)
    if n == 0:
        raise ValueError("rank needs at least one candidate")
    if category is None and criterion in CRITERIA:
        category = criterion
    chosen = _pick_scheme(n, scheme)
    arena = _Arena(judge, instruction, candidates, resolve_criterion(criterion, category), category)
    if n == 1:
        return RankResult(chosen, [0], arena.standings)

    if chosen == "round-robin":
        arena.play([(i, j) for i in range(n) for j in range(i + 1, n)])
        ranking = arena.order()
    elif chosen == "swiss":
        players = list(range(n))
        for _ in range(swiss_rounds(n)):
            pairs, bye = _swiss_pairs(arena, players)
            if bye is not None:
                arena.standings[bye].byes += 1
                arena.standings[bye].wins += 1.0  # a bye counts as a win, as in chess Swiss events
            arena.play(pairs)
        ranking = arena.order()
    else:
        alive = list(range(n))
        while len(alive) > 1:
            # Pair in seed order; an odd one out goes through unplayed.
            pairs = [(alive[k], alive[k + 1]) for k in range(0, len(alive) - 1, 2)]
            carried = [alive[-1]] if len(alive) % 2 else []
            results = arena.play(pairs)
            nxt = []
            for c in results:
                win = c.winner
                if win is None:  # split or undecided: the higher summed probability, then the seed
                    win = c.first if c.prob_first >= 0.5 else c.second
                lose = c.second if win == c.first else c.first
                arena.standings[lose].eliminated_in = arena.rounds
                nxt.append(win)
            alive = nxt + carried
        champion = alive[0]
        rest = [i for i in range(n) if i != champion]
        # Later elimination ranks higher; within a round, wins and probability decide.
        rest.sort(
            key=lambda i: (
                -(arena.standings[i].eliminated_in or 0),
                -arena.standings[i].wins,
                -arena.standings[i].prob_sum,
                i,
            )
        )
        ranking = [champion, *rest]
    return RankResult(chosen, ranking, arena.standings, arena.comparisons, arena.rounds, arena.judge_items)
