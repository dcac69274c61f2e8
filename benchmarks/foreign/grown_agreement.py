"""How often two accepted solutions disagree on the timing inputs grown from their statement's examples.

Both candidates of a foreign efficiency pair (doocs/leetcode: accepted solutions) are correct, so when
they give different outputs on a grown input, or one or both raise, the input broke a precondition of
the problem and the pair's efficiency evidence is silent. This grows every task's examples as the
evidence judge does (`efficiency.plan`, `scaling.level_calls` with the statement's constraints) at
each level up to 1024 items and runs both solutions on each input here, in this process, each on its
own copy, with a 2 s alarm: TRUSTED CODE ONLY (the accepted solutions of these sets).

    PYTHONPATH=src python benchmarks/foreign/grown_agreement.py [DATA_DIR] [--filter TEXT] [-v]

Prints each task that does not agree on every input (its first bad input) and the counts:
agree, disagree (both finish, outputs differ), one-error, both-error, and tasks with no plan.
"""

from __future__ import annotations

import collections
import copy
import json
import signal
import sys
from pathlib import Path

from codefavor.evidence import calls as calls_mod
from codefavor.evidence import efficiency, scaling
from codefavor.records import content_id

LEVELS = (16, 64, 256, 1024)


class _Timeout(Exception):
    pass


def _alarm(*_: object) -> None:
    raise _Timeout


def _run(code: str, spec: dict, call: scaling.Call) -> tuple[str, str | None]:
    ns: dict = {"__name__": "__candidate__"}
    calls_mod.install(ns, True)
    exec(compile(code, "<candidate>", "exec"), ns)
    args, kwargs = copy.deepcopy((list(call.args), [list(kv) for kv in call.kwargs]))
    signal.setitimer(signal.ITIMER_REAL, 2.0)
    try:
        fn, a, kw, finish = calls_mod.prepare(ns, {**spec, "args": args, "kwargs": kwargs})
        return "ok", repr(finish(fn(*a, **kw)))
    except _Timeout:
        return "timeout", None
    except BaseException as e:  # noqa: BLE001 - any failure of a candidate is a finding
        return f"error {type(e).__name__}: {str(e)[:60]}", None
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)


def verdict(row: dict) -> tuple[str, str]:
    """("agree" | "disagree" | "one-error" | "both-error" | "no-plan:<why>", the first bad input)."""
    spec, calls, why = efficiency.plan(row["instruction"], *row["choices"])
    if spec is None or not calls:
        return f"no-plan:{why}", ""
    seed = content_id(row["instruction"])
    facts = {"facts": spec["constraints"]} if "constraints" in spec else {}  # none before constraints were read
    for target in LEVELS:
        for call in scaling.level_calls(calls, target, seed, **facts):
            a, b = (_run(code, spec, call) for code in row["choices"])
            if a[0] == b[0] == "ok":
                if a[1] != b[1]:
                    return "disagree", f"L{target} {call.source('f')[:200]} | {a[1][:60]} | {b[1][:60]}"
            elif "timeout" in (a[0], b[0]) and not any(s.startswith("error") for s in (a[0], b[0])):
                continue
            elif a[0] != "ok" and b[0] != "ok":
                return "both-error", f"L{target} {call.source('f')[:200]} | {a[0]} | {b[0]}"
            else:
                return "one-error", f"L{target} {call.source('f')[:200]} | {a[0]} | {b[0]}"
    return "agree", ""


def main(argv: list[str]) -> None:
    args = [a for a in argv if not a.startswith("-")]
    filt = argv[argv.index("--filter") + 1].lower() if "--filter" in argv else ""
    if filt:
        args.remove(filt) if filt in args else None
    data = Path(args[0] if args else "~/.cache/codefavor/foreign/leetcode-efficiency").expanduser()
    signal.signal(signal.SIGALRM, _alarm)
    sys.setrecursionlimit(5_000)
    tally: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    for split in ("dev", "test"):
        path = data / f"{split}.jsonl"
        if not path.exists():
            continue
        for line in path.open():
            row = json.loads(line)
            name = row.get("task_id", row["id"])
            if filt and filt not in name.lower():
                continue
            v, where = verdict(row)
            tally[split][v] += 1
            tally["all"][v] += 1
            if v != "agree" or "-v" in argv:
                print(f"{split:4} {v:12} {name[:60]}\n      {where}")
    for split, counts in tally.items():
        print(split, dict(counts.most_common()))


if __name__ == "__main__":
    main(sys.argv[1:])
