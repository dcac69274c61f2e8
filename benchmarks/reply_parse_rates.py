"""Parse rates of the generator reply parsers over real replies: the hand-checked fixtures
(tests/data/real_replies) and any generator run folders given (their outcomes.jsonl).

Prints, per prompt, how many replies the parser on PYTHONPATH reads as each status, and for the
fixtures how many agree with the hand check. Run it once with the current sources and once with an
older checkout first on the path to compare before and after:

    PYTHONPATH=src python benchmarks/reply_parse_rates.py runs/cpu-real-small/generate-critic-evol
    git worktree add /tmp/before f50c29a && PYTHONPATH=/tmp/before/src python benchmarks/reply_parse_rates.py ...
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path

from codefavor.generators import replies

FIXTURES = Path(__file__).resolve().parents[1] / "tests" / "data" / "real_replies"


def _review_status(text: str, draft: str | None) -> str:
    try:
        r = replies.parse_review(text, draft)  # type: ignore[call-arg]
    except TypeError:  # an older parser without the draft argument
        r = replies.parse_review(text)
    return r.verdict if r.verdict != "unparseable" else f"unparseable ({r.reason.split(' (')[0][:40]})"


def _expected_review(exp: dict) -> str:
    if (
        exp.get("reject") == "prompt echo"
        or exp["verdict"] is None
        or (exp["verdict"] == "improve" and not exp["feedback_present"])
    ):
        return "unparseable"
    return exp["verdict"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("runs", nargs="*", help="Critic-Evol or Commit-Instruct run folders")
    args = ap.parse_args()
    from codefavor.generators.sanitize import sanitize

    drafts = {}
    for line in (FIXTURES / "critic_draft.jsonl").read_text().splitlines():
        r = json.loads(line)
        drafts.setdefault(r["item"], sanitize(r["reply"]).code)
    agree, total, seen = 0, 0, Counter()
    for line in (FIXTURES / "critic_review.jsonl").read_text().splitlines():
        r = json.loads(line)
        got = _review_status(r["reply"], drafts.get(r["item"]))
        seen[got] += 1
        total += 1
        agree += got.split(" (")[0] == _expected_review(r["expected"])
    print(f"fixtures critic_review: {agree}/{total} agree with the hand check; statuses {dict(seen)}")
    agree, total = 0, 0
    for line in (FIXTURES / "commit_instruct_pair.jsonl").read_text().splitlines():
        r = json.loads(line)
        got = replies.parse_pair_reply(r["reply"])
        want = "template-echo" if r["expected"].get("reject") == "template echo" else None
        total += 1
        agree += (got == want) if want else (isinstance(got, replies.ParsedPair) == r["expected"]["keep"])
    print(f"fixtures commit_instruct_pair: {agree}/{total} agree with the hand check")
    for run in args.runs:
        counts: Counter[str] = Counter()
        path = Path(run) if Path(run).is_file() else Path(run) / "outcomes.jsonl"
        for line in path.read_text().splitlines():
            o = json.loads(line)
            for c in o.get("conversations", []):
                if c.get("role") == "critic" and c.get("error") is None:
                    draft = next((x for x in o["conversations"] if x.get("role") == "draft"), None)
                    code = sanitize(draft["reply"]).code if draft else None
                    counts[_review_status(c["reply"], code)] += 1
            said = [m["content"] for m in o.get("messages", []) if m.get("role") == "assistant"]
            if len(said) >= 2:  # Commit-Instruct: explain, gate, pair
                counts[f"gate {replies.parse_gate(said[1])}"] += 1
            if len(said) >= 3:
                got = replies.parse_pair_reply(said[2])
                counts["pair " + ("parsed" if isinstance(got, replies.ParsedPair) else got)] += 1
        print(f"{run}: {dict(counts)}")


if __name__ == "__main__":
    main()
