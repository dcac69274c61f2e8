"""The HTML report: the analysis of run folders by hand, the page's self-contained data, the CLI."""

from __future__ import annotations

import base64
import gzip
import json
import re

import pytest

from codefavor.benchmark import analysis as an
from codefavor.benchmark import stats
from codefavor.benchmark.report import summarize
from codefavor.benchmark.runner import BenchProtocol, run_bench
from codefavor.judges import Verdict
from codefavor.records import BenchTask, write_records
from conftest import run_cli

pytest.importorskip("plotly")
pytest.importorskip("numpy")


def _tasks() -> list[BenchTask]:
    out = []
    for i in range(12):
        cat = ["correctness", "efficiency", "security", "human-preference"][i % 4]
        short, long_ = f"def f{i}():\n    return {i}\n", f"def f{i}():\n    x = {i}\n    # keep\n    return x\n"
        gt = i % 3 % 2  # a mix of 0 and 1
        out.append(
            BenchTask(
                task_id=f"Toy/{i // 2}",
                instruction=f"Write f{i}. </script>",
                category=cat,
                choices=(short, long_),
                gt_choice=gt,
            )
        )
    return out


class Scripted:
    """Picks A for items whose id is in `a_ids`, B for `b_ids`, else undecided; reports usage."""

    batch_size = 5

    def __init__(self, spec, a_ids=(), b_ids=()):
        self.spec, self.a, self.b = spec, set(a_ids), set(b_ids)

    def judge(self, items):
        out = []
        for it in items:
            key = (it.id, it.a)
            d = "A" if key in self.a else "B" if key in self.b else "undecided"
            out.append(
                Verdict(
                    d,
                    signal="model" if d != "undecided" else "none",
                    latency_s=0.5,
                    usage={"prompt_tokens": 100, "completion_tokens": 10},
                    raw_output="x" * 5000,
                )
            )
        return out


def _good_judge(tasks):
    # Right on every task in both orders.
    a, b = [], []
    for t in tasks:
        better, worse = t.choices[t.gt_choice], t.choices[1 - t.gt_choice]
        a.append((t.id, better))
        b.append((t.id, worse))
    return Scripted("good", a_ids=a, b_ids=b)


def test_analysis_by_hand(tmp_path):
    tasks = _tasks()
    good = _good_judge(tasks)
    # "first": always picks the code shown first (pure position bias): right in exactly one order.
    first = Scripted("first", a_ids=[(t.id, c) for t in tasks for c in t.choices])
    run_bench(good, tasks, tmp_path / "good", protocol=BenchProtocol(both_orders=True, strip_comments=False))
    run_bench(first, tasks, tmp_path / "first", protocol=BenchProtocol(both_orders=True, strip_comments=False))
    runs = an.load_runs([tmp_path / "good", tmp_path / "first"], tasks=tasks)
    res = an.analyze(runs, n_boot=200)
    g, f = res["runs"]
    assert g["ci"]["correctness"] == {"point": 100.0, "low": 100.0, "high": 100.0, "n": 3}
    assert f["ci"]["correctness"]["point"] == pytest.approx(50.0)
    assert f["ci"]["avg"]["point"] == pytest.approx(50.0)
    s = summarize(runs[1].tasks, runs[1].judgments)
    assert f["summary"]["categories"]["security"]["accuracy"] == s["categories"]["security"]["accuracy"]
    # Position bias: "first" flips on every task and always picks A.
    assert f["position"]["efficiency"]["flip_rate"] == 100.0 and f["position"]["efficiency"]["a_rate"] == 100.0
    assert g["position"]["efficiency"]["flip_rate"] == 0.0
    # Signals: all judgments by the judge's own signal, precision 100 for good, 50 for first.
    sig = {(s["category"], s["signal"]): s for s in g["signals"]}
    assert sig[("correctness", "model")]["precision"] == 100.0 and sig[("correctness", "model")]["kind"] == "judge"
    assert {s["precision"] for s in f["signals"]} == {50.0}
    # Cost: 0.5 s, 110 tokens and one request per judgment.
    assert g["cost"]["latency_s_mean"] == 0.5 and g["cost"]["tokens_per_judgment"] == 110.0
    assert g["cost"]["requests_per_judgment"] == 1.0 and g["cost"]["judgments"] == 24
    # Paired: good beats first on every task (score 1 vs 0.5): McNemar exact over 3 correctness tasks.
    row = next(c for c in res["comparisons"] if c["category"] == "correctness")
    assert (row["better_a"], row["better_b"], row["diff"]) == (3, 0, pytest.approx(50.0))
    assert row["p_sign"] == pytest.approx(stats.sign_test(3, 0)) == pytest.approx(0.25)
    assert "p_holm" in row and row["p_holm"] >= row["p_bootstrap"]
    assert sorted(res["disagreements"]["0-1"]) == sorted(t.id for t in tasks)
    assert "percentile bootstrap, 200 resamples of seed tasks" in res["method"]["text"]


def _unpack(page: str, element: str) -> str:
    m = re.search(rf'<script type="application/octet-stream" id="{element}">([^<]*)</script>', page)
    assert m, element
    return gzip.decompress(base64.b64decode(m.group(1))).decode("utf-8")


def test_bench_tasks_report_and_compare_from_the_cli(tmp_path, capsys):
    tasks = _tasks()
    tfile = tmp_path / "tasks.jsonl"
    write_records(tfile, tasks)
    for judge in ("shorter", "longer"):
        code, _, err = run_cli(
            [
                "bench",
                "--data",
                tfile,
                "--judge",
                judge,
                "--both-orders",
                "--output",
                tmp_path / judge,
                "--report",
                "--json",
            ],
            capsys,
        )
        assert code == 0, err
        assert (tmp_path / judge / "report.html").stat().st_size > 1_000_000
    # A run over one's own task file: the report reads the same file.
    out = tmp_path / "cmp.html"
    code, stdout, err = run_cli(
        [
            "report",
            tmp_path / "shorter",
            tmp_path / "longer",
            "--data",
            tfile,
            "--output",
            out,
            "--bootstrap",
            "300",
            "--json-out",
            tmp_path / "cmp.json",
        ],
        capsys,
    )
    assert code == 0, err
    assert stdout.startswith("report: ")
    page = out.read_text(encoding="utf-8")
    saved = json.loads((tmp_path / "cmp.json").read_text())
    assert saved["method"]["bootstrap"] == 300 and [r["name"] for r in saved["runs"]] == ["shorter", "longer"]
    # Self-contained: nothing is fetched at view time.
    assert not re.search(r"<script[^>]+src=|<link[^>]+href=|@import", page)
    lib = _unpack(page, "cf-lib")
    assert "Plotly" in lib and "hljs" in lib
    data = json.loads(_unpack(page, "cf-data"))
    assert data["runs"] == ["shorter", "longer"] and len(data["judgments"]) == 2 * 2 * len(tasks)
    # Every code and instruction is stored once, however many runs and orders use it.
    for t in tasks:
        assert data["strings"].count(t.choices[0]) == 1 and data["strings"].count(t.instruction) == 1
    # The "</script>" inside an instruction cannot end the figures' JSON element early.
    figs = json.loads(re.search(r'id="cf-figures">(.*?)</script>', page, re.S).group(1))
    assert set(figs) == {"accuracy", "differences", "signals", "position", "cost"}
    assert "Llama-3.1-405B-Instruct" in page and "arXiv:2410.03837" in page
    # shorter and longer are complements: every task disagrees, and the difference table says so.
    assert len(data["disagree"]["0-1"]) == len(tasks)


def test_report_user_errors(tmp_path, capsys):
    code, _, err = run_cli(["report", tmp_path, "--output", tmp_path / "x.html"], capsys)
    assert code == 2 and "not a bench run folder" in err
    tasks = _tasks()
    run_bench(_good_judge(tasks), tasks, tmp_path / "r")
    code, _, err = run_cli(["report", tmp_path / "r", "--output", tmp_path / "x.html"], capsys)
    assert code == 2 and "no judgment refers to a loaded task" in err
    code, _, err = run_cli(["report", tmp_path / "r", "--ci-unit", "task"], capsys)
    assert code == 2
