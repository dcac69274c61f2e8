"""Time candidate functions on growing inputs; runs inside the sandbox (or as a script, for trusted code).

Inside the sandbox the host sends this file's source and a job to `Sandbox.run_harness`, which calls
`main(job)` here: the whole ladder of sizes in one process (`climb`, when the job has "scale") or
one level of given inputs (`measure`). As a script it reads one pickled job on stdin and writes one
JSON result on stdout (only for code you trust: nothing is contained). It imports nothing from
codefavor (the sandbox has a bare interpreter). For every input the candidates take turns
(alternating who goes first) for a few rounds; each run re-executes the candidate's code in a fresh
namespace (so memo caches do not carry over) and calls the entry function on a private copy of the
arguments. Time is the thread's CPU time, which a busy machine disturbs far less than wall time; a
CPU-time itimer stops a run that passes the per-call limit. Outputs are compared as hashes of a
normalised form (lists and tuples alike, sets and dicts sorted, floats to 6 significant digits), on
the first two rounds (a third answer adds little and hashing a big output costs about as much as a
linear candidate's run). The garbage collector is off while a candidate runs (as in `timeit`), and
the arguments' private copy is unpickled from a blob made once per input, so the overhead around the
runs stays small.

Job (plain data): {"codes": [...], "entry": NAME, or "call": a call plan (the calls module's code, the
      call spec of `examples.timing_plan`, whether the platform's names are given: `_load_call`), "call_limit": s, "level_budget": s, "min_rounds": n,
      "max_rounds": n, "close_ratio": r, and for `measure` the inputs: "inputs": [CALL_SOURCE, ...];
      for `climb` instead "scale": {"module": the marshalled code of `codefavor.evidence.scaling`
      (bytes), "calls": [(args, kwargs_pairs), ...], "targets": [n, ...], "seed": s, "max_calls": n,
      "decisive_ratio", "decisive_time", "max_predicted_call", "total_budget"}: the example calls are
      grown here, level by level (megabytes of inputs need not cross the pipe, and one process serves
      the whole ladder)}
Result of `measure`: {"inputs": [{"runs": [{"status", "times", "out"}, ...one per candidate]}], "setup_errors": [...]};
of `climb`: {"levels": [{"inputs": [...]}, ...], "stopped": why, "setup_errors": [...]}.
"""

import ast
import gc
import hashlib
import json
import marshal
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


_PLAIN = {int, str, bool, type(None)}


def _plain(o):
    """Whether `o` is a list or tuple of plain scalars, or of lists/tuples of them: then `_norm`
    would change nothing that JSON does not already, and the C encoder can take it directly (a
    big output hashed in Python costs about as much as a linear candidate's whole run)."""
    if type(o) not in (list, tuple):
        return False
    types_ = set(map(type, o))
    if types_ <= _PLAIN:
        return True
    return types_ <= {list, tuple} and all(set(map(type, row)) <= _PLAIN for row in o)


def _digest(o):
    blob = json.dumps(o if _plain(o) else _norm(o), sort_keys=True, default=repr)
    return hashlib.sha256(blob.encode("utf-8", "replace")).hexdigest()[:16]


def _to_blob(args, kwargs):
    """One pickle of (args, kwargs) per input: unpickling it gives each run a private copy of the
    arguments (a candidate may sort or pop them in place) many times faster than deepcopy."""
    return pickle.dumps((list(args), dict(kwargs)), protocol=pickle.HIGHEST_PROTOCOL)


def _blobs(job):
    out = []
    for src in job["inputs"]:
        call = ast.parse(src, mode="eval").body
        args = [ast.literal_eval(a) for a in call.args]
        kwargs = {k.arg: ast.literal_eval(k.value) for k in call.keywords}
        out.append(_to_blob(args, kwargs))
    return out


def _load_call(job):
    """The job's call plan, when it has one ("call": {"module": the marshalled code of
    `codefavor.evidence.calls`, "spec": its call spec, "platform": bool}): (the calls module, the
    namespace every run starts from, the spec). Without one, a run calls `job["entry"]` by name."""
    plan = job.get("call")
    if not plan:
        return None
    mod = types.ModuleType("codefavor_calls")
    sys.modules[mod.__name__] = mod
    exec(marshal.loads(plan["module"]), mod.__dict__)
    base = {"__name__": "__candidate__", "__builtins__": __builtins__}
    mod.install(base, bool(plan.get("platform")))  # once per job: the platform's names cost more than a run
    return mod, base, dict(plan["spec"])


def _run(compiled, entry, blob, limit, want_digest=True, call=None):
    """One timed call in a fresh namespace: (status, cpu seconds, output digest or None). With a call
    plan (`_load_call`), `calls.prepare` builds the arguments' objects and binds a fresh instance
    before the timer starts; only `fn(*args, **kwargs)` is timed, and `finish(result)` is hashed."""
    signal.signal(signal.SIGPROF, _on_timer)
    # The wall-clock guard only when this file is the main program: inside a sandbox the host's own
    # alarm owns SIGALRM.
    wall_guard = signal.getsignal(signal.SIGALRM) is _on_timer
    ns = dict(call[1]) if call else {"__name__": "__candidate__", "__builtins__": __builtins__}
    finish = None
    try:
        exec(compiled, ns)
        a, kw = pickle.loads(blob)
        if call:
            spec = {**call[2], "args": a, "kwargs": [[k, v] for k, v in kw.items()]}
            fn, a, kw, finish = call[0].prepare(ns, spec)
        else:
            fn = ns[entry]
    except BaseException as e:  # noqa: BLE001 - any failure of untrusted code is a result, not a crash
        return "error", None, type(e).__name__
    # Repeating: a candidate that swallows the first _Timeout (a bare `except:`) gets another soon.
    signal.setitimer(signal.ITIMER_PROF, limit, max(limit / 4, 0.005))
    if wall_guard:
        signal.setitimer(signal.ITIMER_REAL, limit * 4 + 1)  # a candidate that sleeps is stopped too
    gc.disable()
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
        gc.enable()
        signal.setitimer(signal.ITIMER_PROF, 0)
        if wall_guard:
            signal.setitimer(signal.ITIMER_REAL, 0)
    if not want_digest:
        return "ok", spent, None
    try:
        digest = _digest(finish(out) if finish else out)
    except BaseException as e:  # noqa: BLE001 - an unprintable result
        return "error", None, "unhashable:" + type(e).__name__
    return "ok", spent, digest


def _compile(codes):
    compiled, setup_errors = [], []
    for code in codes:
        try:
            compiled.append(compile(code, "<candidate>", "exec"))
            setup_errors.append(None)
        except (SyntaxError, ValueError) as e:
            compiled.append(None)
            setup_errors.append(type(e).__name__)
    return compiled, setup_errors


def _measure_level(compiled, entry, blobs, job, call=None):
    limit = float(job.get("call_limit", 1.0))
    level_budget = float(job.get("level_budget", 0.05))
    min_rounds, max_rounds = int(job.get("min_rounds", 3)), int(job.get("max_rounds", 7))
    close = float(job.get("close_ratio", 0.0))
    n = len(compiled)
    level_spent = 0.0
    inputs = []
    for blob in blobs:
        runs = [{"status": "ok", "times": [], "out": None} for _ in range(n)]
        first_round = 0.0
        gc.collect()  # once per input: collecting before every run costs more than it evens out
        for r in range(max_rounds):
            order = range(n) if r % 2 == 0 else range(n - 1, -1, -1)  # alternate who goes first
            for c in order:
                if runs[c]["status"] != "ok":
                    continue
                status, t, out = _run(compiled[c], entry, blob, limit, want_digest=r < 2, call=call)
                if status != "ok":
                    runs[c] = {"status": status, "times": runs[c]["times"], "out": out}
                    continue
                if out is not None:
                    if runs[c]["out"] is not None and runs[c]["out"] != out:
                        runs[c]["status"] = "unstable"  # a different answer on the same input
                    runs[c]["out"] = out
                runs[c]["times"].append(t)
                level_spent += t
                if r == 0:
                    first_round += t
            if any(x["status"] != "ok" for x in runs):
                break
            # Enough rounds once the level has spent its budget, or at once when the two candidates'
            # times are far apart in every round so far: only close calls need more. A slow input
            # gets two, the least that shows a gap repeats.
            if r + 1 >= min_rounds and (level_spent > level_budget or (close and _clear(runs, close))):
                break
            if r + 1 >= 2 and first_round > 2 * level_budget:
                break
        inputs.append({"runs": runs})
    return inputs


def _clear(runs, ratio):
    """Whether the first two candidates' times differ by `ratio` or more, the same way, in every round."""
    ta, tb = runs[0]["times"], runs[1]["times"]
    pairs = list(zip(ta, tb, strict=False))  # a failed run leaves one side shorter
    return bool(pairs) and (all(b >= a * ratio for a, b in pairs) or all(a >= b * ratio for a, b in pairs))


def measure(job):
    """Time every candidate on every input of one level (see the module docstring)."""
    compiled, setup_errors = _compile(job["codes"])
    result = {"inputs": [], "setup_errors": setup_errors}
    if any(c is None for c in compiled):
        return result
    blobs = _blobs(job)
    call = _load_call(job)
    # What exists now (the host's modules) is never scanned again: in a forked worker a collection
    # writes to every object's header, which copies every page of the parent's heap.
    gc.freeze()
    result["inputs"] = _measure_level(compiled, job.get("entry"), blobs, job, call)
    return result


def _gap(inputs):
    """(time of the first candidate, of the second, whether every round agrees on who is faster)
    over the inputs where two candidates both finished with the same output; None without any."""
    usable = []
    for inp in inputs:
        a, b = inp["runs"][:2]
        if a["status"] == b["status"] == "ok" and a["out"] == b["out"] and a["times"] and b["times"]:
            usable.append((a["times"], b["times"]))
    if not usable:
        return None
    ta, tb = sum(min(a) for a, _ in usable), sum(min(b) for _, b in usable)
    rounds = min(min(len(a), len(b)) for a, b in usable)
    per_round = [(sum(a[r] for a, _ in usable), sum(b[r] for _, b in usable)) for r in range(rounds)]
    same = all(x < y for x, y in per_round) or all(x > y for x, y in per_round)
    return ta, tb, same


def climb(job):
    """Climb the whole ladder in this one process (one job per pair, not one per level): grow the
    example calls to each size in turn (`scaling.level_calls`, loaded from the job) and time both
    candidates, until the slower passes the level budget, a run times out, the next level would
    pass the per-call cap (predicted from the growth of the slowest call), the CPU budget is spent,
    or a decisive gap (wide and in every round, on a level that took long enough) has shown.

    Returns {"levels": [{"inputs": [...]}, ...], "stopped": why, "setup_errors": [...]}.
    """
    spec = job["scale"]
    compiled, setup_errors = _compile(job["codes"])
    if any(c is None for c in compiled):
        return {"levels": [], "stopped": "setup", "setup_errors": setup_errors}
    mod = types.ModuleType("codefavor_scaling")
    sys.modules[mod.__name__] = mod  # dataclasses look their module up
    exec(marshal.loads(spec["module"]), mod.__dict__)
    calls = [mod.Call(tuple(a), tuple(tuple(kv) for kv in kw)) for a, kw in spec["calls"]]
    call = _load_call(job)
    gc.freeze()  # see `measure`
    levels, spent, prev_call, stopped = [], 0.0, 0.0, "done"
    for target in spec["targets"]:
        level = mod.level_calls(calls, int(target), str(spec["seed"]), max_calls=int(spec["max_calls"]))
        blobs = [_to_blob(c.args, c.kwargs) for c in level]
        del level
        inputs = _measure_level(compiled, job.get("entry"), blobs, job, call)
        del blobs
        levels.append({"inputs": inputs})
        runs = [r for inp in inputs for r in inp["runs"]]
        spent += sum(sum(r["times"]) for r in runs)
        slowest = max((sum(min(inp["runs"][c]["times"] or [0.0]) for inp in inputs) for c in range(2)), default=0.0)
        if any(r["status"] == "timeout" for r in runs):
            stopped = "timeout"
            break
        if slowest > float(job["level_budget"]):
            stopped = "budget"
            break
        gap = _gap(inputs)
        if gap:
            ta, tb, same = gap
            slow, fast = max(ta, tb), min(ta, tb)
            if same and slow >= float(spec["decisive_time"]) and slow >= fast * float(spec["decisive_ratio"]):
                stopped = "decisive"
                break
        # A quadratic candidate multiplies its time by ~16 per level, and one level too far costs
        # more than all the others together.
        slow_call = max((min(r["times"]) for r in runs if r["times"]), default=0.0)
        if prev_call > 1e-4 and slow_call * max(slow_call / prev_call, 1.0) > float(spec["max_predicted_call"]):
            stopped = "predicted"
            break
        prev_call = slow_call
        if spent > float(spec["total_budget"]):
            stopped = "total"
            break
    return {"levels": levels, "stopped": stopped, "setup_errors": setup_errors}


def _warm_allocator():
    """Allocate and free a few megabytes twice before any timing. With glibc the first free raises the
    mmap threshold, and the second block comes from the heap and stays there, faulted in: so the
    candidate that runs first on a new, bigger input does not pay for fresh pages that the other then
    reuses (measured: without it, identical candidates were called apart several times as often, the
    first-goer always the slower)."""
    bytearray(8 << 20)
    bytearray(6 << 20)


def main(job):
    """The harness's entry point (what `Sandbox.run_harness` calls): climb a ladder or measure one level."""
    _warm_allocator()
    return climb(job) if "scale" in job else measure(job)


if __name__ == "__main__":
    signal.signal(signal.SIGALRM, _on_timer)  # as a script, this harness owns the wall-clock alarm
    print(json.dumps(main(pickle.load(sys.stdin.buffer))))
