"""The report's statistics against hand-computed values and a second, independent bootstrap."""

from __future__ import annotations

import math
import random

import pytest

from codefavor.benchmark import stats
from codefavor.benchmark.report import summarize
from codefavor.records import BenchTask, Judgment

np = pytest.importorskip("numpy")


def _task(i: int, cat: str = "correctness", gt: int = 0, seed_task: str | None = None) -> BenchTask:
    return BenchTask(
        task_id=seed_task or f"T/{i}", instruction=f"task {i}", choices=(f"a{i}", f"b{i}"), gt_choice=gt, category=cat
    )


def test_task_scores_by_hand_and_equal_to_summarize():
    ts = [_task(0, gt=0), _task(1, gt=1), _task(2, gt=0), _task(3, gt=1, cat="security")]
    js = [
        Judgment(task_id=ts[0].id, order="AB", decision="A"),  # right
        Judgment(task_id=ts[0].id, order="BA", decision="A"),  # picked choice 1: wrong -> task 0 scores 0.5
        Judgment(task_id=ts[1].id, order="AB", decision="B"),  # right
        Judgment(task_id=ts[1].id, order="BA", decision="undecided"),  # -> 0.75
        Judgment(task_id=ts[2].id, order="AB", decision="B"),  # wrong; BA missing counts undecided -> 0.25
        Judgment(task_id=ts[3].id, order="AB", decision="undecided"),  # security has only AB -> 0.5
    ]
    sc = stats.task_scores(ts, js)
    assert sc == {ts[0].id: 0.5, ts[1].id: 0.75, ts[2].id: 0.25, ts[3].id: 0.5}
    summary = summarize(ts, js)
    assert summary["categories"]["correctness"]["accuracy"] == pytest.approx(100 * (0.5 + 0.75 + 0.25) / 3)


def test_task_scores_match_summarize_on_random_runs():
    rng = random.Random(7)
    cats = ["correctness", "efficiency", "security", "human-preference"]
    ts = [_task(i, cat=rng.choice(cats), gt=rng.randint(0, 1)) for i in range(200)]
    js = [
        Judgment(task_id=t.id, order=o, decision=rng.choice(["A", "B", "undecided"]))
        for t in ts
        for o in ("AB", "BA")
        if rng.random() < 0.9  # some missing orders
    ]
    sc = stats.task_scores(ts, js)
    summary = summarize(ts, js)
    for cat, c in summary["categories"].items():
        xs = [sc[t.id] for t in ts if t.category == cat]
        assert 100 * sum(xs) / len(xs) == pytest.approx(c["accuracy"])


def _quantile(sorted_xs: list[float], q: float) -> float:
    # Linear interpolation between closest ranks (numpy's default), written out.
    pos = q * (len(sorted_xs) - 1)
    lo = math.floor(pos)
    hi = min(lo + 1, len(sorted_xs) - 1)
    return sorted_xs[lo] + (sorted_xs[hi] - sorted_xs[lo]) * (pos - lo)


def test_bootstrap_matches_a_loop_written_out():
    rng = random.Random(3)
    scores = [rng.choice([0.0, 0.5, 1.0, 1.0]) for _ in range(57)]
    clusters = [f"s{i // 3}" for i in range(57)]  # 19 seed tasks of 3 pairs each
    ci = stats.bootstrap_ci(scores, clusters, n_boot=500, seed=11)
    # Same draws (the documented generator), everything else by hand.
    keys = list(dict.fromkeys(clusters))
    sums = {k: sum(s for s, c in zip(scores, clusters, strict=True) if c == k) for k in keys}
    counts = {k: clusters.count(k) for k in keys}
    idx = np.random.default_rng(11).integers(0, len(keys), size=(500, len(keys)))
    means = sorted(sum(sums[keys[i]] for i in row) / sum(counts[keys[i]] for i in row) for row in idx.tolist())
    assert ci.point == pytest.approx(sum(scores) / len(scores))
    assert ci.low == pytest.approx(_quantile(means, 0.025), abs=1e-12)
    assert ci.high == pytest.approx(_quantile(means, 0.975), abs=1e-12)


def test_bootstrap_agrees_with_an_independent_generator_and_the_normal_interval():
    rng = random.Random(5)
    n = 400
    scores = [1.0 if rng.random() < 0.7 else 0.0 for _ in range(n)]
    ci = stats.bootstrap_ci(scores, n_boot=4000, seed=0)
    # Python's own generator, 4000 resamples of single tasks.
    other = random.Random(99)
    means = sorted(sum(other.choices(scores, k=n)) / n for _ in range(4000))
    assert ci.low == pytest.approx(_quantile(means, 0.025), abs=0.01)
    assert ci.high == pytest.approx(_quantile(means, 0.975), abs=0.01)
    p = sum(scores) / n
    half = 1.959964 * math.sqrt(p * (1 - p) / n)
    assert ci.low == pytest.approx(p - half, abs=0.01) and ci.high == pytest.approx(p + half, abs=0.01)


def test_cluster_bootstrap_resamples_whole_seed_tasks():
    base = [1.0, 0.0, 1.0, 1.0, 0.5, 0.0, 1.0, 1.0, 0.0, 1.0]
    single = stats.bootstrap_ci(base, [str(i) for i in range(10)], n_boot=300, seed=4)
    # Every seed task repeated 4 times: the same clusters, the same ratio per resample.
    rep = [s for s in base for _ in range(4)]
    clustered = stats.bootstrap_ci(rep, [str(i) for i in range(10) for _ in range(4)], n_boot=300, seed=4)
    assert (clustered.low, clustered.high) == pytest.approx((single.low, single.high))
    # Resampling the 40 copies as if independent gives a narrower, overconfident interval.
    naive = stats.bootstrap_ci(rep, n_boot=300, seed=4)
    assert naive.high - naive.low < clustered.high - clustered.low


def test_bootstrap_of_constant_scores_and_reproducibility():
    assert stats.bootstrap_ci([1.0] * 20, n_boot=100) == stats.Interval(1.0, 1.0, 1.0)
    a = stats.bootstrap_ci([0.0, 1.0] * 30, n_boot=200, seed=1)
    assert a == stats.bootstrap_ci([0.0, 1.0] * 30, n_boot=200, seed=1)
    assert a != stats.bootstrap_ci([0.0, 1.0] * 30, n_boot=200, seed=2)


def test_sign_test_is_mcnemar_exact():
    assert stats.sign_test(0, 5) == pytest.approx(2 / 32)
    assert stats.sign_test(2, 8) == pytest.approx(2 * (1 + 10 + 45) / 1024)
    assert stats.sign_test(8, 2) == stats.sign_test(2, 8)
    assert stats.sign_test(5, 5) == 1.0
    assert stats.sign_test(0, 0) == 1.0


def test_paired_bootstrap_counts_and_zero_difference():
    x = [1.0, 1.0, 0.0, 1.0, 0.5, 1.0]
    y = [1.0, 0.0, 0.0, 0.0, 1.0, 1.0]
    r = stats.paired_bootstrap(x, y, n_boot=400, seed=0)
    assert (r.n, r.better_1, r.better_2) == (6, 2, 1)
    assert r.diff.point == pytest.approx((0 + 1 + 0 + 1 - 0.5 + 0) / 6)
    assert r.p_sign == pytest.approx(stats.sign_test(2, 1))
    same = stats.paired_bootstrap(x, x, n_boot=100)
    assert (same.diff.point, same.diff.low, same.diff.high, same.p_bootstrap) == (0, 0, 0, 1.0)
    # A large, consistent gap: every resample is above 0, so p is (1 + 0) / (1 + B) times 2.
    big = stats.paired_bootstrap([1.0] * 50, [0.0] * 40 + [1.0] * 10, n_boot=999, seed=0)
    assert big.p_bootstrap == pytest.approx(2 / 1000)
    assert big.diff.low > 0.6


def test_holm_by_hand():
    assert stats.holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert stats.holm([0.5, 0.9]) == pytest.approx([1.0, 1.0])


def test_wilson_by_hand():
    lo, hi = stats.wilson(8, 10)
    assert (lo, hi) == pytest.approx((0.4902, 0.9433), abs=1e-4)
    assert stats.wilson(0, 10)[0] == pytest.approx(0.0, abs=1e-12) and stats.wilson(10, 10)[1] == pytest.approx(1.0)
    assert all(math.isnan(v) for v in stats.wilson(0, 0))


def test_fleiss_kappa_by_hand_and_the_textbook_example():
    # 3 items, 3 raters, labels A/B: P_i = 1, 1, 1/3; p = (5/9, 4/9); kappa = (7/9 - 41/81) / (40/81) = 0.55.
    assert stats.fleiss_kappa([[3, 0], [0, 3], [2, 1]]) == pytest.approx(0.55)
    # Fleiss (1971) as reproduced on Wikipedia: 10 subjects, 14 raters, 5 categories, kappa 0.210.
    table = [
        [0, 0, 0, 0, 14],
        [0, 2, 6, 4, 2],
        [0, 0, 3, 5, 6],
        [0, 3, 9, 2, 0],
        [2, 2, 8, 1, 1],
        [7, 7, 0, 0, 0],
        [3, 2, 6, 3, 0],
        [2, 5, 3, 2, 2],
        [6, 5, 2, 1, 0],
        [0, 2, 2, 3, 7],
    ]
    assert stats.fleiss_kappa(table) == pytest.approx(0.210, abs=5e-4)
    assert stats.fleiss_kappa([[3, 0], [3, 0]]) != stats.fleiss_kappa([[3, 0], [3, 0]])  # NaN: one category only
    with pytest.raises(ValueError):
        stats.fleiss_kappa([[3, 0], [1, 1]])


def test_krippendorff_alpha_by_hand_and_the_published_example():
    # Two coders, four units: (a,a) (a,b) (b,b) (b,b): n_a = 3, n_b = 5, 2 disagreeing pairs;
    # alpha = 1 - 2 / (2 * 3 * 5 / 7) = 1 - 14/30.
    assert stats.krippendorff_alpha([["a", "a"], ["a", "b"], ["b", "b"], ["b", "b"]]) == pytest.approx(1 - 14 / 30)
    # Krippendorff (2011), "Computing Krippendorff's alpha-reliability": 4 observers, 12 units with
    # missing values; nominal alpha = 0.743.
    rows = [
        [1, 2, 3, 3, 2, 1, 4, 1, 2, None, None, None],
        [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, None, 3],
        [None, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, None],
        [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, None],
    ]
    units = [[r[u] for r in rows if r[u] is not None] for u in range(12)]
    assert stats.krippendorff_alpha(units) == pytest.approx(0.743, abs=5e-4)
    assert math.isnan(stats.krippendorff_alpha([["a", "a"], ["a"]]))
    assert stats.krippendorff_alpha({"u1": ["a", "a"], "u2": ["b", "b"]}) == 1.0
