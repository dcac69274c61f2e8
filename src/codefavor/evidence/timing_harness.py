"""Time candidate functions on one level of growing inputs; runs as a script or inside the sandbox.

As a script it reads one JSON job on stdin and writes one JSON result on stdout; inside the sandbox
the host calls `measure(job)`. It imports nothing from codefavor (the sandbox has a bare
interpreter). For every input the candidates take turns (alternating who goes first) for a few
rounds; each run re-executes the candidate's code in a fresh namespace (so memo caches do not carry
over) and calls the entry function on a private copy of the arguments. Time is the thread's CPU
time, which a busy machine disturbs far less than wall time; a CPU-time itimer stops a run that
passes the per-call limit. Outputs are compared as hashes of a normalised form (lists and tuples
alike, sets and dicts sorted, floats to 6 significant digits).

Job: {"codes": [...], "entry": NAME, "inputs": [CALL_SOURCE, ...], "call_limit": s,
      "level_budget": s, "min_rounds": n, "max_rounds": n}
Result: {"inputs": [{"runs": [{"status", "times", "out"}, ...one per candidate]}], "setup_errors": [...]}
"""

import ast
import copy
import gc
import hashlib
import json
import math
import pickle
import signal
import sys
import time
import types


class _Timeout(BaseException):  # not an Exception: a candidate's `except Exception` must not swallow it
    pass


def _on_timer(signum, frame):
    raise _Timeout()


def _norm(o, depth=0):
    if depth > 40:
        return repr(o)
    if o is None or isinstance(o, (bool, str)):
        return o
    if isinstance(o, int):
        return o
    if isinstance(o, float):
        if math.isnan(o) or math.isinf(o):
            return repr(o)
        return float(f"{o:.6g}")
    if isinstance(o, complex):
        return [_norm(o.real), _norm(o.imag)]
    if isinstance(o, (list, tuple)):
        return [_norm(x, depth + 1) for x in o]
    if isinstance(o, (set, frozenset)):
        return {"set": sorted(json.dumps(_norm(x, depth + 1), sort_keys=True, default=repr) for x in o)}
    if isinstance(o, dict):
        return {
            "dict": sorted([json.dumps(_norm(k, depth + 1), default=repr), _norm(v, depth + 1)] for k, v in o.items())
        }
    return repr(o)


def _digest(o):
    blob = json.dumps(_norm(o), sort_keys=True, default=repr)
    return hashlib.sha256(blob.encode("utf-8", "replace")).hexdigest()[:16]


def _fresh(value):
    """A private copy of the arguments (a candidate may sort or pop them in place); a pickle round
    trip is many times faster than deepcopy on big literals."""
    try:
        return pickle.loads(pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL))
    except Exception:  # noqa: BLE001
        return copy.deepcopy(value)


def _run(compiled, entry, args, kwargs, limit):
    """One timed call in a fresh namespace: (status, cpu seconds, output digest)."""
    signal.signal(signal.SIGPROF, _on_timer)
    # The wall-clock guard only when this file is the main program: inside a sandbox the host's own
    # alarm owns SIGALRM.
    wall_guard = signal.getsignal(signal.SIGALRM) is _on_timer
    ns = {"__name__": "__candidate__", "__builtins__": __builtins__}
    try:
        exec(compiled, ns)
        fn = ns[entry]
        a, kw = _fresh(args), _fresh(kwargs)
    except BaseException as e:  # noqa: BLE001 - any failure of untrusted code is a result, not a crash
        return "error", None, type(e).__name__
    signal.setitimer(signal.ITIMER_PROF, limit)
    if wall_guard:
        signal.setitimer(signal.ITIMER_REAL, limit * 4 + 1)  # a candidate that sleeps is stopped too
    t0 = time.thread_time()
    try:
        out = fn(*a, **kw)
        if isinstance(out, (types.GeneratorType, map, filter, zip, reversed, enumerate)):
            out = list(out)  # lazy results do their work when consumed: that work is part of the cost
        spent = time.thread_time() - t0
    except _Timeout:
        return "timeout", time.thread_time() - t0, None
    except RecursionError:
        return "error", None, "RecursionError"
    except BaseException as e:  # noqa: BLE001
        return "error", None, type(e).__name__
    finally:
        signal.setitimer(signal.ITIMER_PROF, 0)
        if wall_guard:
            signal.setitimer(signal.ITIMER_REAL, 0)
    try:
        digest = _digest(out)
    except BaseException as e:  # noqa: BLE001 - an unprintable result
        return "error", None, "unhashable:" + type(e).__name__
    return "ok", spent, digest


def measure(job):
    """Time every candidate on every input of one ladder level (see the module docstring)."""
    entry, limit = job["entry"], float(job.get("call_limit", 1.0))
    level_budget = float(job.get("level_budget", 0.05))
    min_rounds, max_rounds = int(job.get("min_rounds", 3)), int(job.get("max_rounds", 7))
    compiled, setup_errors = [], []
    for code in job["codes"]:
        try:
            compiled.append(compile(code, "<candidate>", "exec"))
            setup_errors.append(None)
        except (SyntaxError, ValueError) as e:
            compiled.append(None)
            setup_errors.append(type(e).__name__)
    result = {"inputs": [], "setup_errors": setup_errors}
    if any(c is None for c in compiled):
        return result
    n = len(compiled)
    level_spent = 0.0
    for src in job["inputs"]:
        call = ast.parse(src, mode="eval").body
        args = [ast.literal_eval(a) for a in call.args]
        kwargs = {k.arg: ast.literal_eval(k.value) for k in call.keywords}
        runs = [{"status": "ok", "times": [], "out": None} for _ in range(n)]
        first_round = 0.0
        gc.collect()  # once per input: collecting before every run costs more than it evens out
        for r in range(max_rounds):
            order = range(n) if r % 2 == 0 else range(n - 1, -1, -1)  # alternate who goes first
            for c in order:
                if runs[c]["status"] != "ok":
                    continue
                status, t, out = _run(compiled[c], entry, args, kwargs, limit)
                if status != "ok":
                    runs[c] = {"status": status, "times": runs[c]["times"], "out": out}
                    continue
                if runs[c]["out"] is not None and runs[c]["out"] != out:
                    runs[c]["status"] = "unstable"  # a different answer on the same input
                runs[c]["out"] = out
                runs[c]["times"].append(t)
                level_spent += t
                if r == 0:
                    first_round += t
            if any(x["status"] != "ok" for x in runs):
                break
            # Enough rounds once the level has spent its budget; a slow input gets two, the least
            # that shows a gap repeats.
            if r + 1 >= min_rounds and level_spent > level_budget:
                break
            if r + 1 >= 2 and first_round > 2 * level_budget:
                break
        result["inputs"].append({"runs": runs})
    return result


def main():
    job = json.loads(sys.stdin.read())
    signal.signal(signal.SIGALRM, _on_timer)
    print(json.dumps(measure(job)))


if __name__ == "__main__":
    main()
