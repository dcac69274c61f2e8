"""Security pairs from SecCodePLT's Python tasks: a reference solution written to a task's security
policy (chosen) vs the same function's vulnerable reference (rejected), across 27 CWEs (path
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

Not validated here: the source's authors kept only rows whose patched code passes and whose
vulnerable code fails their safety tests; the labels are theirs.

    python benchmarks/foreign/build_seccodeplt.py [--mirror PATH] [--out DIR]
"""

from __future__ import annotations

import json
from collections import Counter

from common import Git, builder_main, make_task

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


def build(git: Git, validate: bool = True) -> tuple[list, dict]:
    del validate  # the source's own tests chose its rows (see the module docstring)
    head = git.head()
    rows = json.loads(git.show(head, PATH) or "[]")
    tasks, stats = [], Counter()
    for r in rows:
        gt = r.get("ground_truth") or {}
        before, after = gt.get("code_before", ""), gt.get("code_after", "")
        vuln, fixed = gt.get("vulnerable_code"), gt.get("patched_code")
        if not vuln or not fixed or vuln.strip() == fixed.strip():
            stats["dropped_same_or_missing_code"] += 1
            continue
        desc = r["task_description"]
        sid = f"seccodeplt/CWE-{r['CWE_ID']}/{r['index']}/{desc['function_name']}"
        bad = (before + vuln + after).strip("\n") + "\n"
        good = (before + fixed + after).strip("\n") + "\n"
        info = {"source": REPO, "commit": head, "license": LICENSE, "file": PATH, "cwe": f"CWE-{r['CWE_ID']}",
                "index": r["index"], "install_requires": r.get("install_requires") or [],
                "validated": "by the source: patched passes and vulnerable fails its safety tests"}  # fmt: skip
        tasks.append(make_task(sid, instruction_of(desc), good, bad, "security", info))
        stats[f"CWE-{r['CWE_ID']}"] += 1
    meta = {"source": REPO, "commit": head, "license": LICENSE, "file": PATH,
            "kind": "secure vs insecure reference solutions (27 CWEs)", "rows": len(rows), "stats": dict(stats)}  # fmt: skip
    return tasks, meta


def main(argv: list[str] | None = None) -> None:
    builder_main(__doc__, REPO, "seccodeplt", build, argv)


if __name__ == "__main__":
    main()
