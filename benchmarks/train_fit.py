"""Does a trained judge fit its own training pairs? `hf-cls` on the pairs it was trained on, both orders.

    python benchmarks/train_fit.py PAIRS.jsonl MODEL_DIR     # MODEL_DIR, or "base" for SmolLM2-135M
    python benchmarks/train_fit.py runs/cpu-real-small/verify-commit-instruct/pairs.jsonl \\
        runs/cpu-real-small/train-commit-instruct/model

The chosen code is shown at A in one order and at B in the other; prints one JSON line: how often
the judge prefers it (undecided counts half), the mean P(chosen) in each position and how much the
two orders differ. A judge at about 50% on its own training pairs has not learned them.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("pairs", help="PreferencePair JSONL (the stage's verified pairs)")
    ap.add_argument("model", help='model directory, or "base" for the SmolLM2-135M GGUF')
    args = ap.parse_args(argv)

    from codefavor.judges import PairItem, load_judge
    from codefavor.models import smollm2_gguf_path
    from codefavor.records import PreferencePair, read_records

    model = str(smollm2_gguf_path()) if args.model == "base" else args.model
    pairs = list(read_records(args.pairs, PreferencePair))
    items = [PairItem(p.instruction, p.chosen, p.rejected, p.criterion) for p in pairs]
    judge = load_judge(f"hf-cls:{model}", both_orders=True, batch_size=4)
    start = time.time()
    verdicts = judge.judge(items)
    seconds = time.time() - start
    score = sum(1.0 if v.decision == "A" else 0.5 if v.decision == "undecided" else 0.0 for v in verdicts)
    # prob_a_by_order: P(chosen) with the chosen code at A, then with it at B (already mapped back)
    at_a = [v.details["prob_a_by_order"][0] for v in verdicts if v.details]
    at_b = [v.details["prob_a_by_order"][1] for v in verdicts if v.details]
    result = {
        "model": model,
        "pairs": len(verdicts),
        "accuracy_chosen_preferred": round(score / max(1, len(verdicts)), 4),
        "decisions": {d: sum(v.decision == d for v in verdicts) for d in ("A", "B", "undecided")},
        "mean_p_chosen_at_A": round(statistics.fmean(at_a), 4),
        "mean_p_chosen_when_at_B": round(statistics.fmean(at_b), 4),
        "mean_abs_order_diff": round(statistics.fmean(abs(a - b) for a, b in zip(at_a, at_b, strict=True)), 4),
        "seconds": round(seconds, 1),
    }
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
