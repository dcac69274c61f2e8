"""Opt-in (`pytest -m real_model`): `cls:openai:` through llama.cpp's server (`--logits_all true`) scores
like in-process `hf-cls` on the same SmolLM2 GGUF, on CodePrefBench tasks (benchmarks/cls_served_vs_inprocess.py
has the full run and the throughput figures)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

pytestmark = pytest.mark.real_model

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "cls_served_vs_inprocess.py"


def test_served_scores_match_in_process_hf_cls(bench_dir):
    if importlib.util.find_spec("llama_cpp") is None:
        pytest.skip("llama-cpp-python is not installed (make real-models)")
    pytest.importorskip("gguf")
    spec = importlib.util.spec_from_file_location("cls_served_vs_inprocess", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    out = mod.compare("smollm2-gguf", n=8, data=bench_dir, threads=1)
    assert out["tasks"] == 8
    # Every order of every task was scored (a failed request or a label outside the top log-probs
    # leaves no probabilities); undecided verdicts are ties (`judges.TIE_MARGIN`), in either engine.
    assert all(len(t["served"] or []) == 2 for t in out["per_task"]), out["per_task"]
    # Each order's own decision (P(A) far from 0.5) must agree; the averaged P(A) of this untrained
    # model sits within a hair of 0.5, so we bound the probability difference instead of its sign.
    assert out["agreement_by_order"] >= 0.99, out
    assert out["max_abs_prob_diff_by_order"] < 0.02 and out["max_abs_prob_diff"] < 0.01, out
