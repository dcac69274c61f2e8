"""Mining speed: our pygit2 commit miner against PyDriller on the same generated repository.

Builds (once, with `git fast-import`) a repository of `--commits` commits that looks like a real
Python project's history: mostly single-file edits of modules of a few hundred lines, plus
multi-file commits, formatting- and comment-only edits, non-Python files, new files and merges.
Then both tools do the same job over the whole history: find non-merge commits that modify exactly
one Python file, load both sides, and apply the same content filters. Prints commits per second for
each and the ratio (target: ours >= 10x PyDriller's).

    python benchmarks/mining_speed.py                       # 5,000 commits, all mined by both
    python benchmarks/mining_speed.py --commits 20000 --pydriller-limit 2000
"""

from __future__ import annotations

import argparse
import os
import random
import re
import subprocess
import tempfile
import time
from pathlib import Path

from codefavor.generators import mining


def module_text(rng: random.Random, name: str, n_funcs: int) -> list[str]:
    funcs = []
    for i in range(n_funcs):
        k = rng.randint(1, 9)
        funcs.append(
            f"def {name}_f{i}(values, limit={k}):\n"
            f'    """Return the items of values above {k}."""\n'
            f"    out = []\n"
            f"    for v in values:\n"
            f"        if v > limit:\n"
            f"            out.append(v * {k})\n"
            f"    return out\n"
        )
    return funcs


def build_repo(dest: Path, n_commits: int, seed: int = 0) -> None:
    rng = random.Random(seed)
    modules = {f"pkg/mod{i}.py": module_text(rng, f"m{i}", rng.randint(10, 40)) for i in range(60)}
    stream: list[bytes] = []
    mark = 0
    when = 1_600_000_000

    def data(payload: str) -> None:
        b = payload.encode("utf-8")
        stream.append(b"data %d\n" % len(b) + b + b"\n")

    def commit(message: str, files: dict[str, str], parent: int | None, merge: int | None = None) -> int:
        nonlocal mark, when
        mark += 1
        when += 600
        stream.append(b"commit refs/heads/main\nmark :%d\n" % mark)
        stream.append(
            b"author Dev <dev@example.com> %d +0000\ncommitter Dev <dev@example.com> %d +0000\n" % (when, when)
        )
        data(message)
        if parent is not None:
            stream.append(b"from :%d\n" % parent)
        if merge is not None:
            stream.append(b"merge :%d\n" % merge)
        for path, text in files.items():
            stream.append(b"M 100644 inline %s\n" % path.encode())
            data(text)
        return mark

    head = commit("Initial import", {**{p: "\n\n".join(f) for p, f in modules.items()}, "README.md": "# pkg\n"}, None)
    n = 1
    while n < n_commits:
        roll = rng.random()
        path = rng.choice(list(modules))
        funcs = modules[path]
        if roll < 0.60:  # a real edit of one function: a new default, sometimes a new condition
            i = rng.randrange(len(funcs))
            funcs[i] = re.sub(r"limit=\d+", f"limit={n}", funcs[i], count=1)
            if rng.random() < 0.5:
                funcs[i] = funcs[i].replace("v > limit", rng.choice(["v >= limit", "abs(v) > limit"]), 1)
            files = {path: "\n\n".join(funcs)}
            msg = f"Tweak {path}"
        elif roll < 0.70:  # several modules at once
            files = {}
            for p in rng.sample(list(modules), 3):
                modules[p].append(module_text(rng, f"x{n}", 1)[0].replace("_f0", f"_n{n}"))
                files[p] = "\n\n".join(modules[p])
            msg = "Add helpers across modules"
        elif roll < 0.74:  # comment-only
            i = rng.randrange(len(funcs))
            funcs[i] = funcs[i].replace("    out = []\n", f"    # collect results ({n})\n    out = []\n", 1)
            files = {path: "\n\n".join(funcs)}
            msg = f"Comment {path}"
        elif roll < 0.77:  # layout only (the AST stays the same)
            i = rng.randrange(len(funcs))
            funcs[i] = funcs[i].replace("if v > limit:", "if (v > limit):", 1).replace("out = []", "out = [\n    ]", 1)
            files = {path: "\n\n".join(funcs)}
            msg = f"Reformat {path}"
        elif roll < 0.82:  # docs
            files = {"README.md": f"# pkg\n\nRevision {n}.\n"}
            msg = "Docs"
        elif roll < 0.87:  # a new module
            new = f"pkg/new{n}.py"
            modules[new] = module_text(rng, f"n{n}", 5)
            files = {new: "\n\n".join(modules[new])}
            msg = f"Add {new}"
        elif roll < 0.97:  # a growing function: appended code
            funcs.append(module_text(rng, f"g{n}", 1)[0].replace("_f0", f"_g{n}"))
            files = {path: "\n\n".join(funcs)}
            msg = f"Extend {path}"
        else:  # a side commit merged back
            side = commit("Side work", {"NOTES.txt": f"note {n}\n"}, head)
            n += 1
            head = commit("Merge side work", {}, head, merge=side)
            n += 1
            continue
        head = commit(msg, files, head)
        n += 1
    dest.mkdir(parents=True, exist_ok=True)
    subprocess.run(["git", "init", "-q", "-b", "main", str(dest)], check=True)
    subprocess.run(["git", "-C", str(dest), "fast-import", "--quiet"], input=b"".join(stream), check=True)
    subprocess.run(["git", "-C", str(dest), "reset", "-q", "--hard", "main"], check=True)


def cpu_seconds() -> float:
    """CPU time of this process and of its finished children (PyDriller runs git subprocesses)."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def run_ours(repo: Path) -> tuple[int, int, float, float]:
    stats = mining.MiningStats()
    t0, c0 = time.perf_counter(), cpu_seconds()
    seeds = sum(1 for _ in mining.iter_git_seeds([repo], mining.MiningConfig(), stats))
    return stats.read, seeds, time.perf_counter() - t0, cpu_seconds() - c0


def run_pydriller(repo: Path, limit: int | None) -> tuple[int, int, float, float]:
    from pydriller import ModificationType, Repository

    cfg = mining.MiningConfig()
    commits = seeds = 0
    t0, c0 = time.perf_counter(), cpu_seconds()
    for commit in Repository(str(repo), order="topo-order").traverse_commits():
        commits += 1
        if not commit.merge and len(commit.parents) == 1:
            mods = commit.modified_files
            if len(mods) == 1 and mods[0].change_type == ModificationType.MODIFY:
                m = mods[0]
                path = m.new_path or ""
                if mining.lang_of_path(path, cfg.languages) and not mining.path_reason(path):
                    old, new = m.source_code_before, m.source_code
                    if old is not None and new is not None and not mining.text_reason(old, new, "python", cfg):
                        seeds += 1
        if limit is not None and commits >= limit:
            break
    return commits, seeds, time.perf_counter() - t0, cpu_seconds() - c0


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--commits", type=int, default=5000)
    ap.add_argument("--repo", type=Path, default=None, help="reuse or build the repository here")
    ap.add_argument("--pydriller-limit", type=int, default=None, help="time PyDriller on the first N commits only")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    repo = args.repo or Path(tempfile.mkdtemp(prefix="mining-bench-")) / "repo"
    if not (repo / ".git").exists():
        t0 = time.perf_counter()
        build_repo(repo, args.commits, args.seed)
        print(f"built {repo} ({args.commits} commits) in {time.perf_counter() - t0:.1f} s")
    run_ours(repo)  # warm the OS cache so neither tool pays for the first read
    ours = run_ours(repo)
    theirs = run_pydriller(repo, args.pydriller_limit)
    rates = {}
    for name, (commits, seeds, wall, cpu) in (("ours", ours), ("pydriller", theirs)):
        rates[name] = (commits / wall, commits / cpu)
        print(
            f"{name + ':':<11}{commits} commits, {seeds} seeds; wall {wall:.2f} s = {rates[name][0]:,.0f} commits/s; "
            f"CPU {cpu:.2f} s = {rates[name][1]:,.0f} commits/s"
        )
    wall_ratio, cpu_ratio = (rates["ours"][i] / rates["pydriller"][i] for i in (0, 1))
    print(f"ratio:     {wall_ratio:.1f}x by wall clock, {cpu_ratio:.1f}x by CPU time (target >= 10x)")


if __name__ == "__main__":
    main()
