"""Statistics for judge comparisons and human labels: bootstrap intervals, paired tests, agreement.

Everything here works on plain numbers so it can be checked by hand:
- `task_scores`: one score per benchmark task by the benchmark's rule (right 1, undecided 0.5,
  wrong 0; with both orders, the mean over the orders; a missing order counts as undecided), so
  the mean of the scores is exactly `report.summarize`'s accuracy.
- `bootstrap_ci`: percentile bootstrap of a mean, resampling *clusters* (by default the seed task
  `task_id`: the two correctness pairs of one HumanEval task, or the up to 15 efficiency pairs of
  one EvalPerf task, move together, since they share an instruction and are not independent draws).
  The estimate of each resample is sum(scores) / count over the drawn clusters. Seeded with
  numpy's PCG64 (`default_rng(seed)`), so a report is reproducible.
- `paired_bootstrap`: the same resampling applied to per-task differences of two runs on their
  common tasks; the two-sided p-value is twice the smaller share of resampled differences on
  either side of zero (the percentile-interval inversion), each share (1 + k) / (1 + B), capped at 1.
- `sign_test`: McNemar's exact test generalised to scores: tasks where run 1 scored higher vs.
  tasks where run 2 did, under Binomial(n, 1/2). With one order and no undecided verdicts it is
  McNemar's exact test on the discordant pairs.
- `wilson`: the Wilson score interval of a proportion (per-signal precision).
- `holm`: Holm-Bonferroni adjustment across the comparisons of a page.
- `fleiss_kappa` and `krippendorff_alpha`: agreement of several annotators per item (nominal).
"""

from __future__ import annotations

import math
import statistics
from collections import Counter, defaultdict
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass

from codefavor.benchmark.report import picked_choice
from codefavor.errors import MissingExtraError
from codefavor.records import BenchTask, Judgment, Order

ORDERS: tuple[Order, ...] = ("AB", "BA")


def _np():
    try:
        import numpy
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise MissingExtraError("report", "numpy") from e
    return numpy


def judgment_score(j: Judgment | None, gt_choice: int) -> float:
    """1 when the judgment picked the better code, 0 when the worse, 0.5 when undecided or missing."""
    if j is None:
        return 0.5
    pick = picked_choice(j)
    return 0.5 if pick is None else float(pick == gt_choice)


def task_scores(
    tasks: Sequence[BenchTask], judgments: Sequence[Judgment], orders: Sequence[Order] | None = None
) -> dict[str, float]:
    """Score per task id. `orders` defaults to the orders present in the judgments of each category
    (as `summarize` does), so a run judged in both orders averages them."""
    by_task: dict[str, dict[str, Judgment]] = defaultdict(dict)
    for j in judgments:
        by_task[j.task_id].setdefault(j.order, j)
    present: dict[str, set[str]] = defaultdict(set)
    for t in tasks:
        present[t.category].update(by_task.get(t.id, {}))
    out: dict[str, float] = {}
    for t in tasks:
        os_ = list(orders) if orders is not None else [o for o in ORDERS if o in present[t.category]]
        if not os_:
            out[t.id] = 0.5
            continue
        js = by_task.get(t.id, {})
        out[t.id] = sum(judgment_score(js.get(o), t.gt_choice) for o in os_) / len(os_)
    return out


@dataclass(frozen=True)
class Interval:
    point: float
    low: float
    high: float

    def as_dict(self, scale: float = 100.0) -> dict[str, float]:
        return {"point": self.point * scale, "low": self.low * scale, "high": self.high * scale}


def _cluster_sums(scores: Sequence[float], clusters: Sequence[Hashable] | None) -> tuple[list[float], list[int]]:
    if clusters is None:
        return [float(s) for s in scores], [1] * len(scores)
    if len(clusters) != len(scores):
        raise ValueError("scores and clusters differ in length")
    sums: dict[Hashable, float] = {}
    counts: dict[Hashable, int] = {}
    for s, c in zip(scores, clusters, strict=True):
        sums[c] = sums.get(c, 0.0) + float(s)
        counts[c] = counts.get(c, 0) + 1
    keys = list(sums)
    return [sums[k] for k in keys], [counts[k] for k in keys]


def bootstrap_means(
    scores: Sequence[float], clusters: Sequence[Hashable] | None = None, *, n_boot: int = 2000, seed: int = 0
):  # -> numpy.ndarray (numpy is imported lazily: the core install does not need it)
    """The `n_boot` resampled means (ratio of drawn score sums to drawn counts)."""
    np = _np()
    sums, counts = _cluster_sums(scores, clusters)
    if not sums:
        return np.full(n_boot, np.nan)
    s, n = np.asarray(sums), np.asarray(counts, dtype=float)
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(s), size=(n_boot, len(s)))
    return s[idx].sum(axis=1) / n[idx].sum(axis=1)


def percentiles(draws, level: float) -> tuple[float, float]:
    """The central `level` interval of bootstrap draws (numpy's linear-interpolation quantiles)."""
    np = _np()
    alpha = (1.0 - level) / 2.0
    lo, hi = np.quantile(draws, [alpha, 1.0 - alpha])
    return float(lo), float(hi)


def bootstrap_ci(
    scores: Sequence[float],
    clusters: Sequence[Hashable] | None = None,
    *,
    n_boot: int = 2000,
    level: float = 0.95,
    seed: int = 0,
) -> Interval:
    """Percentile bootstrap interval of the mean of `scores` (numpy's linear-interpolation quantiles)."""
    if not scores:
        return Interval(math.nan, math.nan, math.nan)
    point = sum(scores) / len(scores)
    lo, hi = percentiles(bootstrap_means(scores, clusters, n_boot=n_boot, seed=seed), level)
    return Interval(point, lo, hi)


@dataclass(frozen=True)
class PairedResult:
    n: int
    diff: Interval  # mean(score_1 - score_2) with its bootstrap interval
    p_bootstrap: float
    better_1: int  # tasks where run 1 scored higher
    better_2: int
    p_sign: float  # McNemar exact / sign test


def paired_bootstrap(
    scores_1: Sequence[float],
    scores_2: Sequence[float],
    clusters: Sequence[Hashable] | None = None,
    *,
    n_boot: int = 2000,
    level: float = 0.95,
    seed: int = 0,
) -> PairedResult:
    """Compare two runs on the same tasks (aligned lists): difference, its interval, two p-values."""
    if len(scores_1) != len(scores_2):
        raise ValueError("paired scores differ in length")
    diffs = [a - b for a, b in zip(scores_1, scores_2, strict=True)]
    better_1 = sum(d > 0 for d in diffs)
    better_2 = sum(d < 0 for d in diffs)
    p_sign = sign_test(better_1, better_2)
    if not diffs:
        return PairedResult(0, Interval(math.nan, math.nan, math.nan), 1.0, 0, 0, 1.0)
    draws = bootstrap_means(diffs, clusters, n_boot=n_boot, seed=seed)
    lo, hi = percentiles(draws, level)
    point = sum(diffs) / len(diffs)
    p_boot = 1.0 if better_1 == better_2 == 0 else bootstrap_p(draws)
    return PairedResult(len(diffs), Interval(point, lo, hi), p_boot, better_1, better_2, p_sign)


def wilson(k: int, n: int, level: float = 0.95) -> tuple[float, float]:
    """Wilson score interval of a proportion k/n (NaNs when n is 0)."""
    if n == 0:
        return math.nan, math.nan
    z = statistics.NormalDist().inv_cdf(0.5 + level / 2.0)
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def bootstrap_p(draws) -> float:
    """Two-sided p-value that the mean is 0: twice the smaller share of draws on either side of 0,
    each share counted as (1 + k) / (1 + B) so it never reads 0 from a finite number of resamples."""
    b = len(draws)
    below = (1 + int((draws <= 0).sum())) / (1 + b)
    above = (1 + int((draws >= 0).sum())) / (1 + b)
    return min(1.0, 2.0 * min(below, above))


def sign_test(n_pos: int, n_neg: int) -> float:
    """Exact two-sided p-value of `n_pos` vs `n_neg` under Binomial(n_pos + n_neg, 1/2)."""
    n = n_pos + n_neg
    if n == 0:
        return 1.0
    k = min(n_pos, n_neg)
    tail = sum(math.comb(n, i) for i in range(k + 1)) / 2.0**n
    return min(1.0, 2.0 * tail)


def holm(pvalues: Sequence[float]) -> list[float]:
    """Holm-Bonferroni adjusted p-values, in the input order (monotone, capped at 1)."""
    m = len(pvalues)
    order = sorted(range(m), key=lambda i: pvalues[i])
    adjusted = [0.0] * m
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * pvalues[i]))
        adjusted[i] = running
    return adjusted


def fleiss_kappa(counts: Sequence[Sequence[int]]) -> float:
    """Fleiss' kappa from an items x categories table of rating counts; every item must have the
    same number of raters (at least 2). NaN when the expected agreement is 1 (a single category)."""
    rows = [list(r) for r in counts if sum(r) > 0]
    if not rows:
        return math.nan
    n = sum(rows[0])
    if n < 2 or any(sum(r) != n for r in rows):
        raise ValueError("Fleiss' kappa needs the same number (>= 2) of ratings per item")
    big_n = len(rows)
    k = len(rows[0])
    p_j = [sum(r[j] for r in rows) / (big_n * n) for j in range(k)]
    p_i = [(sum(c * c for c in r) - n) / (n * (n - 1)) for r in rows]
    p_bar = sum(p_i) / big_n
    p_e = sum(p * p for p in p_j)
    if p_e >= 1.0:
        return math.nan
    return (p_bar - p_e) / (1.0 - p_e)


def krippendorff_alpha(units: Sequence[Sequence[Hashable]] | Mapping[Hashable, Sequence[Hashable]]) -> float:
    """Krippendorff's alpha for nominal labels. `units` holds, per unit, the labels it received
    (missing ratings simply absent); units with fewer than two labels are not pairable and ignored.
    alpha = 1 - D_o / D_e from the coincidence matrix; NaN when only one label value occurs."""
    seq = list(units.values()) if isinstance(units, Mapping) else list(units)
    coincidence: Counter[tuple[Hashable, Hashable]] = Counter()
    for labels in seq:
        m = len(labels)
        if m < 2:
            continue
        c = Counter(labels)
        for a, na in c.items():
            for b, nb in c.items():
                pairs = na * (nb - 1) if a == b else na * nb
                if pairs:
                    coincidence[(a, b)] += pairs / (m - 1)
    n_c: Counter[Hashable] = Counter()
    for (a, _b), v in coincidence.items():
        n_c[a] += v
    total = sum(n_c.values())
    if total <= 1 or len(n_c) < 2:
        return math.nan
    observed = sum(v for (a, b), v in coincidence.items() if a != b)
    expected = sum(n_c[a] * n_c[b] for a in n_c for b in n_c if a != b) / (total - 1)
    return 1.0 - observed / expected
