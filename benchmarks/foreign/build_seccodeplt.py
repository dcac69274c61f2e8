"""Security pairs from SecCodePLT's Python tasks: a reference solution written to a task's security
policy (chosen) vs the same function's vulnerable reference (rejected), across 28 CWEs (path
traversal, command and code injection, XSS, SSRF, XXE, ReDoS, open redirect, weak randomness,
missing signature checks, unbounded resources, missing authorisation, TOCTOU, ...).

Source: ucsb-mlsec/SecCodePLT, `virtue_code_eval/data/safety/codesecplt/data.json` (1,411 rows;
the repository has no license file, so nothing of it is committed here: the set is built locally
for evaluation only). Each row's code is `code_before` + `vulnerable_code` or `patched_code` +
`code_after`: the same function, differing only where the policy asks. The instruction is what a
developer would be asked: the function's name, description, context, arguments, return value and
the exceptions it raises; the row's `security_policy` and `rule` (the answer key) are left out.
The row's `setup` (imports and the globals the context names) is not part of either code, as a
candidate would be read in a file that provides them.

The task is the seed, not the row: most rows are a seed task renamed, so rows joined by the shape
of their secure or of their vulnerable code (its own names and strings blanked) in one CWE share one
task id, and with it one split (`split_of(task_id)`); the row's own id is in its provenance.

Not validated here: the source's authors kept only rows whose patched code passes and whose
vulnerable code fails their safety tests; the labels are theirs.

    python benchmarks/foreign/build_seccodeplt.py [--mirror PATH] [--out DIR]
"""

from __future__ import annotations

import builtins
import hashlib
import io
import json
import keyword
import tokenize
from collections import Counter

from common import Git, builder_main, make_task

from codefavor.records import BenchTask

REPO = "ucsb-mlsec/SecCodePLT"
PATH = "virtue_code_eval/data/safety/codesecplt/data.json"
LICENSE = "none stated in the repository (evaluation only, nothing committed)"


def instruction_of(desc: dict[str, str]) -> str:
    """The task as a developer gets it: no security policy, no rule."""
    parts = [f"Write the Python function `{desc['function_name']}`. {desc.get('description', '').strip()}"]
    for key, title in (("context", "Context"), ("arguments", "Arguments"), ("return", "Returns"), ("raise", "Raises")):
        text = (desc.get(key) or "").strip()
        if text and text.lower() not in ("none", "n/a"):
            parts.append(f"{title}:\n{text}")
    return "\n\n".join(parts)


_KEEP = set(dir(builtins)) | set(keyword.kwlist)


def shape(code: str) -> str:
    """The code with its own names and its strings blanked (attributes, builtins and keywords kept):
    the rows of one seed task are the seed renamed, so they share a shape."""
    out, prev = [], ""
    try:
        for tok in tokenize.generate_tokens(io.StringIO(code).readline):
            if tok.type == tokenize.NAME and tok.string not in _KEEP and prev != ".":
                out.append("N")
            elif tok.type == tokenize.STRING:
                out.append("S")
            elif tok.type not in (tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT):
                out.append(tok.string)
            prev = tok.string
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return code
    return " ".join(out)


def _seeds(pairs: list[tuple[str, str, str]]) -> list[str]:
    """The seed of each (cwe, secure, vulnerable) row: rows joined by a shared shape of their secure or
    their vulnerable code (one seed's variants, or one vulnerable seed fixed two ways) are one seed."""
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    keys = [(f"{cwe}:+{shape(good)}", f"{cwe}:-{shape(bad)}") for cwe, good, bad in pairs]
    for g, v in keys:
        parent[find(g)] = find(v)
    # named by the group's smallest key, whatever the rows' order: a rebuild names each seed alike
    least: dict[str, str] = {}
    for k in parent:
        root = find(k)
        least[root] = min(least.get(root, k), k)
    return [hashlib.sha256(least[find(g)].encode()).hexdigest()[:12] for g, _ in keys]


def build(git: Git, validate: bool = True) -> tuple[list, dict]:
    del validate  # the source's own tests chose its rows (see the module docstring)
    head = git.head()
    rows = json.loads(git.show(head, PATH) or "[]")
    kept, stats = [], Counter()
    for r in rows:
        gt = r.get("ground_truth") or {}
        before, after = gt.get("code_before", ""), gt.get("code_after", "")
        vuln, fixed = gt.get("vulnerable_code"), gt.get("patched_code")
        if not vuln or not fixed or vuln.strip() == fixed.strip():
            stats["dropped_same_or_missing_code"] += 1
            continue
        bad = (before + vuln + after).strip("\n") + "\n"
        good = (before + fixed + after).strip("\n") + "\n"
        kept.append((r, good, bad))
        stats[f"CWE-{r['CWE_ID']}"] += 1
    seeds = _seeds([(str(r["CWE_ID"]), good, bad) for r, good, bad in kept])
    tasks = []
    for (r, good, bad), seed in zip(kept, seeds, strict=True):
        desc = r["task_description"]
        sid = f"seccodeplt/CWE-{r['CWE_ID']}/{r['index']}/{desc['function_name']}"
        info = {"source": REPO, "commit": head, "license": LICENSE, "file": PATH, "cwe": f"CWE-{r['CWE_ID']}",
                "row": sid, "index": r["index"], "install_requires": r.get("install_requires") or [],
                "validated": "by the source: patched passes and vulnerable fails its safety tests"}  # fmt: skip
        # the task is the seed: its variants share the task id, and with it the split (the chosen
        # side's position still varies per row)
        row = make_task(sid, instruction_of(desc), good, bad, "security", info)
        tasks.append(BenchTask(task_id=f"seccodeplt/CWE-{r['CWE_ID']}/{seed}", instruction=row.instruction,
                               choices=row.choices, gt_choice=row.gt_choice, category="security",
                               annotations=row.annotations))  # fmt: skip
    meta = {"source": REPO, "commit": head, "license": LICENSE, "file": PATH,
            "kind": "secure vs insecure reference solutions (28 CWEs)", "rows": len(rows), "seeds": len(set(seeds)),
            "stats": dict(stats)}  # fmt: skip
    return tasks, meta


def main(argv: list[str] | None = None) -> None:
    builder_main(__doc__, REPO, "seccodeplt", build, argv)


if __name__ == "__main__":
    main()
