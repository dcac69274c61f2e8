"""Security pairs from three public sources, none of them CodePrefBench:

- `cve-fixes`: real CVE fixes in Python packages. The fixing commits come from the PyPA advisory
  database (pypa/advisory-database, CC-BY-4.0: each advisory's `references` of GitHub commits and
  its CVE alias); each project's own history (a fetched mirror, `--mirrors DIR`) gives the code
  before and after. A pair is one function (or method) the fix changed, vulnerable before vs fixed
  after, from non-test files; fixes that change more than `--max-funcs` functions are left out (the
  more a commit touches, the less each change is the fix). License: each project's own (recorded
  per row when the mirror has a LICENSE file).
- `cve-fixes-recent`: the same, from a fork of that database whose records run to 2026-07
  (westonsteimel/advisory-database-pypa, CC-BY-4.0, GitHub Security Advisories imported), keeping
  only the fixing commits that the pinned database does not reference: newer fixes, a check of the
  security rules on CVEs they were not read against.
- `vuln-fixes`: function pairs of vulnerability-fixing commits curated by SVEN (eth-sri/sven,
  MIT) and SafeCoder (eth-sri/SafeCoder, MIT), Python only, CWE-022/078/079/089 (+ 326/327/377/502
  /295 in SafeCoder); rows whose commit is also in the advisory database carry its CVE id.
- `cweval`: secure vs insecure reference solutions of CWEval (Co1lin/CWEval, Apache-2.0): the
  task file's solution (secure) vs the `*_unsafe` reference in its test file, with the task's
  docstring as the instruction.

    python benchmarks/foreign/build_security.py [--sets cve-fixes,vuln-fixes,cweval] [--out DIR]
"""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path
from typing import Any

import yaml
from common import (
    MIRRORS,
    Git,
    arg_parser,
    changed_functions,
    default_out,
    functions,
    make_task,
    mirror_path,
    write_set,
)

from codefavor.codetools import strip_comments

ADVISORY_REPO = "pypa/advisory-database"
# A fork of it whose records run to 2026-07 (GitHub Security Advisories imported; CC-BY-4.0 too):
# its fixes that the pinned database does not reference make `cve-fixes-recent`, fixes the rules
# of `evidence.security_diff` were never read against.
RECENT_ADVISORIES = "westonsteimel/advisory-database-pypa"
NON_PYTHON = ("tensorflow/", "micropython/", "bytecodealliance/", "jimmo/micropython")
_TESTISH = re.compile(r"(^|/)(tests?|testing|docs?|examples?)/|(^|/)test_[^/]*\.py$|_tests?\.py$|conftest\.py$")


def advisories(git: Git) -> list[dict[str, Any]]:
    """(repo, commit, advisory id, CVE) for every GitHub commit reference of the advisory database."""
    head = git.head()
    rows = []
    for path in git.ls(head, "vulns/"):
        if not path.endswith(".yaml"):
            continue
        try:
            d = yaml.safe_load(git.show(head, path) or "") or {}
        except yaml.YAMLError:
            continue
        cves = [a for a in d.get("aliases") or [] if str(a).startswith("CVE-")]
        for ref in d.get("references") or []:
            m = re.match(r"https://github\.com/([\w.-]+/[\w.-]+)/commit/([0-9a-f]{7,40})", str(ref.get("url", "")))
            if m:
                rows.append({"repo": m.group(1), "commit": m.group(2), "advisory": d.get("id", ""),
                             "cve": cves[0] if cves else "", "summary": d.get("summary") or ""})  # fmt: skip
    return rows


def _docline(src: str) -> str:
    try:
        fn = ast.parse(src).body[0]
        doc = ast.get_docstring(fn) or ""  # type: ignore[arg-type]
    except (SyntaxError, IndexError, TypeError):
        return ""
    return doc.strip().split("\n\n")[0].replace("\n", " ")[:300]


def _license(git: Git, rev: str) -> str:
    for name in ("LICENSE", "LICENSE.txt", "LICENSE.md", "LICENSE.rst", "COPYING", "LICENCE"):
        text = git.show(rev, name)
        if text:
            head = " ".join(text.split()[:40])
            for spdx, pat in [("MIT", r"Permission is hereby granted, free of charge"), ("Apache-2.0", r"Apache License"),
                              ("BSD", r"Redistribution and use in source and binary forms"), ("GPL", r"GNU GENERAL PUBLIC"),
                              ("LGPL", r"GNU LESSER"), ("AGPL", r"GNU AFFERO"), ("MPL-2.0", r"Mozilla Public"),
                              ("ZPL", r"Zope Public License"), ("PSF", r"PYTHON SOFTWARE FOUNDATION")]:  # fmt: skip
                if re.search(pat, head if spdx != "BSD" else text[:3000], re.I):
                    return spdx
            return f"see {name}"
    return "unknown"


def _commit_key(r: dict[str, Any]) -> tuple[str, str]:
    return r["repo"].lower(), r["commit"][:12]


def cve_fixes(
    max_funcs: int = 3, max_lines: int = 150, advisory_repo: str = ADVISORY_REPO, without: str | None = None
) -> tuple[list, dict]:
    """Function pairs of the fixing commits that `advisory_repo`'s advisories reference (less those
    that the advisories of `without` reference too: a set of only the newer fixes)."""
    adv_git = Git(mirror_path(advisory_repo))
    refs = [r for r in advisories(adv_git) if not r["repo"].lower().startswith(NON_PYTHON)]
    seen = {_commit_key(r) for r in advisories(Git(mirror_path(without)))} if without else set()
    by_commit: dict[tuple[str, str], dict[str, Any]] = {}
    for r in refs:
        if _commit_key(r) not in seen:
            by_commit.setdefault(_commit_key(r), r)
    mirrors = {p.name.lower().replace("+", "/"): p / "repo" for p in MIRRORS.iterdir() if (p / "repo").is_dir()}
    tasks, stats = [], {"fix_commits": len(by_commit), "repos_available": 0, "commits_found": 0,
                        "commits_too_broad": 0, "commits_no_function_change": 0}  # fmt: skip
    repos_used: dict[str, dict[str, str]] = {}
    for (repo, _short), r in sorted(by_commit.items()):
        path = mirrors.get(repo)
        if path is None:
            continue
        git = Git(path)
        if not git.has(r["commit"]):
            continue
        stats["commits_found"] += 1
        sha = git.full(r["commit"])
        pairs = list(changed_functions(git, sha, _TESTISH, strip_comments))
        if not pairs:
            stats["commits_no_function_change"] += 1
            continue
        if len(pairs) > max_funcs:
            stats["commits_too_broad"] += 1
            continue
        if repo not in repos_used:
            repos_used[repo] = {"head": git.head(), "license": _license(git, git.head())}
        for ch in pairs:
            fpath, qual, vuln, fixed = ch.path, ch.qual, ch.before, ch.after
            if max(vuln.count("\n"), fixed.count("\n")) > max_lines:
                continue
            name = qual.rsplit(".", 1)[-1]
            doc = _docline(fixed)
            instruction = f"Write the function `{name}` of `{fpath}` in {repo.split('/')[-1]}." + (
                f" {doc}" if doc else ""
            )
            info = {"source": f"github.com/{repo}", "commit": sha, "file": fpath, "function": qual,
                    "advisory": r["advisory"], "cve": r["cve"], "license": repos_used[repo]["license"],
                    "advisory_source": advisory_repo, "label": "advisory fix commit: before = vulnerable"}  # fmt: skip
            tasks.append(
                make_task(f"cve/{repo}/{sha[:12]}/{fpath}:{qual}", instruction, fixed, vuln, "security", info)
            )
    stats["repos_available"] = len(repos_used)
    meta = {"source": advisory_repo, "commit": adv_git.head(), "without": without, "license": "CC-BY-4.0 (advisories); code: each project's",
            "kind": "real CVE fix pairs (function level)", "max_funcs_per_commit": max_funcs, "stats": stats,
            "repos": repos_used}  # fmt: skip
    return tasks, meta


def vuln_fixes() -> tuple[list, dict]:
    adv = {(r["commit"][:7]): r for r in advisories(Git(mirror_path(ADVISORY_REPO)))}
    sources = [("eth-sri/sven", "data_train_val/"), ("eth-sri/SafeCoder", "data_train_val/")]
    tasks, heads, n_read = [], {}, 0
    for repo, under in sources:
        git = Git(mirror_path(repo))
        head = git.head()
        heads[repo] = head
        for path in git.ls(head, under):
            if not path.endswith(".jsonl"):
                continue
            for line in (git.show(head, path) or "").splitlines():
                try:
                    d = json.loads(line)
                except ValueError:
                    continue
                if not str(d.get("file_name", "")).endswith(".py"):
                    continue
                n_read += 1
                before, after = d["func_src_before"], d["func_src_after"]
                if strip_comments(before) == strip_comments(after):
                    continue
                commit = d["commit_link"].rsplit("/", 1)[-1]
                hit = adv.get(commit[:7], {})
                desc = (d.get("description") or "").strip()
                instruction = desc or f"Write the function `{d['func_name']}` of `{d['file_name']}`."
                info = {"source": repo, "commit": head, "file": path, "license": "MIT", "fix_commit": d["commit_link"],
                        "cwe": d.get("vul_type", ""), "cve": hit.get("cve", ""), "origin_file": d["file_name"],
                        "label": "curated vulnerability fix: before = vulnerable"}  # fmt: skip
                sid = f"vuln/{d['commit_link'].removeprefix('github.com/')}/{d['file_name']}:{d['func_name']}"
                tasks.append(make_task(sid, instruction, after, before, "security", info))
    # SVEN and SafeCoder share rows: keep one per id (write_set also drops identical code pairs).
    uniq = {t.task_id: t for t in tasks}
    meta = {"source": list(heads), "commit": heads, "license": "MIT", "kind": "vulnerability-fix pairs (curated)",
            "rows_read": n_read, "with_cve": sum(1 for t in uniq.values() if t.annotations[0]["cve"])}  # fmt: skip
    return list(uniq.values()), meta


def _function_named(code: str, name: str) -> str | None:
    return functions(code).get(name)


def cweval() -> tuple[list, dict]:
    repo = "Co1lin/CWEval"
    git = Git(mirror_path(repo))
    head = git.head()
    tasks, missing = [], []
    for path in sorted(git.ls(head, "benchmark/core/py/")):
        if not path.endswith("_task.py"):
            continue
        task_src = git.show(head, path) or ""
        test_src = git.show(head, path.replace("_task.py", "_test.py")) or ""
        secure_funcs = functions(task_src)
        unsafe = {k[: -len("_unsafe")]: v for k, v in functions(test_src).items() if k.endswith("_unsafe")}
        both = [n for n in secure_funcs if n in unsafe]
        if not both:
            missing.append(path)
            continue
        name = both[0]
        secure = secure_funcs[name]
        try:
            doc = ast.get_docstring(ast.parse(secure).body[0]) or ""  # type: ignore[arg-type]
        except (SyntaxError, IndexError, TypeError):
            doc = ""
        sig = secure.split("\n", 1)[0]
        instruction = f"{doc.strip()}\n\nImplement:\n{sig}"
        # the task's own imports come along so both sides are complete modules
        imports = "".join(line + "\n" for line in task_src.splitlines() if line.startswith(("import ", "from ")))
        unsafe_imports = "".join(line + "\n" for line in test_src.splitlines()
                                 if line.startswith(("import ", "from ")) and "pytest" not in line and "_task" not in line)  # fmt: skip
        unsafe_code = unsafe[name].replace(f"def {name}_unsafe(", f"def {name}(", 1)
        info = {"source": repo, "commit": head, "license": "Apache-2.0", "file": path, "cwe": path.split("/")[-1][:9],
                "label": "reference: task solution secure, *_unsafe insecure"}  # fmt: skip
        tasks.append(make_task(f"cweval/{path.split('/')[-1][:-8]}", instruction, imports + secure,
                               unsafe_imports + unsafe_code, "security", info))  # fmt: skip
    meta = {"source": repo, "commit": head, "license": "Apache-2.0", "kind": "secure-vs-insecure reference solutions",
            "tasks_without_unsafe_reference": missing}  # fmt: skip
    return tasks, meta


def main(argv: list[str] | None = None) -> None:
    ap = arg_parser(__doc__)
    ap.add_argument("--sets", default="cve-fixes,vuln-fixes,cweval")
    ap.add_argument("--max-funcs", type=int, default=3)
    args = ap.parse_args(argv)
    out: Path = args.out or default_out()
    for name in args.sets.split(","):
        if name == "cve-fixes":
            tasks, meta = cve_fixes(args.max_funcs)
        elif name == "cve-fixes-recent":
            tasks, meta = cve_fixes(args.max_funcs, advisory_repo=RECENT_ADVISORIES, without=ADVISORY_REPO)
        elif name == "vuln-fixes":
            tasks, meta = vuln_fixes()
        elif name == "cweval":
            tasks, meta = cweval()
        else:
            raise SystemExit(f"unknown set {name!r}")
        write_set(out, name, tasks, meta)


if __name__ == "__main__":
    main()
