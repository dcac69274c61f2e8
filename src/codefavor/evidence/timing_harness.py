"""One candidate's side of an efficiency measurement: runs in a contained process of its own.

`efficiency.climb` (the parent) starts one such process per candidate and round, as a sandbox
session (`Sandbox.session` calls `main(job, channel)` here), or as a script for trusted code. The
job is data: {"code": the candidate, "entry": the function to call, or "call": a call plan (the
compiled `codefavor.evidence.calls` module, the call spec of `examples.timing_plan`, whether the
platform's implicit names are given), by which `calls.prepare` builds the arguments' objects (linked
lists, trees) and binds a fresh instance for a `class Solution` method before the call, and
`finish(result)` gives what is compared (the mutated argument of an in-place method)}. The process loads the code
(a syntax error is reported as {"setup": ...}), and then, saying {"ready"} before each, for every
value the parent feeds it ({"blob": a pickle of the inputs of one ladder level, each itself a pickle
of (args, kwargs), made by the parent}), re-executes the code in a fresh namespace per input (memo
caches do not carry over from one input to another; `job["slots"]` says how many a value may hold),
unpickles a private copy of each input's arguments, reports {"in"}, calls the entry function on
each input in turn with the garbage collector off (as `timeit` does), reports {"ret"}, and then the
outputs as text ({"out": a list of each output's normalised JSON form: lists and tuples alike, sets
and dicts sorted, floats to 6 significant digits, numpy values as the numbers and lists they hold})
or {"err": the exception's name}.

Nothing here measures time and nothing here is trusted: the parent reads this process's CPU clock
from the kernel as it forwards each value and as each report arrives, compares the outputs itself
(it hashes the text it received), and stops a call that passes its CPU limit by killing the
process. So a candidate that patches the clock, the alarm or this file, or installs
profile hooks, changes only what its own process does, and every CPU second it spends between the
value's arrival and its output's is counted against it. This file imports nothing from codefavor
(the sandbox has a bare interpreter).
"""

import gc
import json
import marshal
import math
import pickle
import struct
import sys
import types


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
    if type(o).__module__ == "numpy" and hasattr(o, "tolist"):
        # A numpy scalar or array is the number or list it holds (np.int64(3) is 3, as an int is):
        # its repr names the type, which two equal answers need not share.
        try:
            return _norm(o.tolist(), depth + 1)
        except Exception:  # noqa: BLE001 - an object that only claims to be numpy's
            return repr(o)
    return repr(o)


_PLAIN = {int, str, bool, type(None)}


def _plain(o):
    """Whether `o` is a list or tuple of plain scalars, or of lists/tuples of them: then `_norm`
    would change nothing that JSON does not already, and the C encoder can take it directly (a
    big output normalised in Python costs about as much as a linear candidate's whole run)."""
    if type(o) not in (list, tuple):
        return False
    types_ = set(map(type, o))
    if types_ <= _PLAIN:
        return True
    return types_ <= {list, tuple} and all(set(map(type, row)) <= _PLAIN for row in o)


def output_text(o):
    """The output as the parent compares it (normalised JSON)."""
    return json.dumps(o if _plain(o) else _norm(o), sort_keys=True, default=repr)


def _warm_allocator():
    """Keep what calls free in the heap, faulted in, for the calls after them: glibc's thresholds
    fixed high (blocks up to 32 MB from the heap, the heap never trimmed), so a call does not pay
    for fresh pages that an earlier call already touched. Setting them costs nothing; allocating
    and freeing blocks to move the thresholds (what glibc does on its own) cost a process ~6 ms."""
    try:
        import ctypes

        libc = ctypes.CDLL(None)
        libc.mallopt(-3, 32 << 20)  # M_MMAP_THRESHOLD
        libc.mallopt(-1, 256 << 20)  # M_TRIM_THRESHOLD
    except Exception:  # noqa: BLE001 - not glibc: its defaults
        pass


_LAZY = (types.GeneratorType, map, filter, zip, reversed, enumerate)


def _load_call(job):
    """The job's call plan, when it has one: (the calls module, the namespace every run starts
    from, the spec). Without one, a run calls `job["entry"]` by name."""
    plan = job.get("call")
    if not plan:
        return None
    mod = types.ModuleType("codefavor_calls")
    sys.modules[mod.__name__] = mod
    exec(marshal.loads(plan["module"]), mod.__dict__)
    base = {"__name__": "__candidate__", "__builtins__": __builtins__}
    mod.install(base, bool(plan.get("platform")))  # once per process: the platform's names cost more than a run
    return mod, base, dict(plan["spec"])


def main(job, chan):
    """The session: load the code, then one call per value fed (see the module docstring)."""
    _warm_allocator()
    try:
        compiled = compile(job["code"], "<candidate>", "exec")
    except (SyntaxError, ValueError) as e:
        chan.send({"setup": type(e).__name__})
        return None
    # What exists now is never scanned again: in a forked child a collection writes to every
    # object's header, which copies every page of the heap it shares with its parent.
    gc.freeze()
    entry = job.get("entry")
    try:
        call = _load_call(job)
    except BaseException as e:  # noqa: BLE001 - the plan runs beside untrusted code
        chan.send({"setup": "call-plan:" + type(e).__name__})
        return None
    slots = max(1, int(job.get("slots", 1)))
    while True:
        # One fresh namespace per input the next value may hold (memo caches never carry over
        # from one input to another), made before the parent's clock starts.
        loaded = []
        for _ in range(slots):
            ns = dict(call[1]) if call else {"__name__": "__candidate__", "__builtins__": __builtins__}
            try:
                exec(compiled, ns)
                loaded.append((ns, None if call else ns[entry], None))
            except BaseException as e:  # noqa: BLE001 - any failure of untrusted code is a result
                loaded.append((ns, None, type(e).__name__))
        # Idle from here until the next value: the parent reads the CPU clock only after this, so
        # no work left over from the call before (freeing its output, loading afresh) is timed.
        chan.send({"ready": True, "idle": True})
        msg = chan.recv()
        if msg is None:
            return None
        runs, err = [], None
        try:
            # The inputs of one level, each pickled on its own (no object shared between two).
            inputs = [pickle.loads(b) for b in pickle.loads(msg["blob"])]
            if len(inputs) > slots:
                raise ValueError("more inputs than namespaces")
            for (ns, fn, load_err), (a, kw) in zip(loaded, inputs, strict=False):
                err = err or load_err
                finish = None
                if call and err is None:  # objects built and the instance bound before the call's phase
                    spec = {**call[2], "args": a, "kwargs": [[k, v] for k, v in kw.items()]}
                    fn, a, kw, finish = call[0].prepare(ns, spec)
                runs.append((fn, a, kw, finish))
        except BaseException as e:  # noqa: BLE001
            err = err or "arguments:" + type(e).__name__
        del loaded
        chan.send({"in": True})
        if err is not None:
            chan.send({"ret": True})
            chan.send({"err": err, "last": True})
            continue
        outs = []
        gc.disable()
        try:
            for fn, a, kw, _finish in runs:
                out = fn(*a, **kw)
                if isinstance(out, _LAZY):
                    out = list(out)  # lazy results do their work when consumed: that work is part of the cost
                outs.append(out)
        except RecursionError:
            err = "RecursionError"
        except BaseException as e:  # noqa: BLE001
            err = type(e).__name__
        finally:
            gc.enable()
        chan.send({"ret": True})
        if err is not None:
            chan.send({"err": err, "last": True})
            continue
        try:
            parts = [
                output_text(finish(out) if finish else out)
                for out, (_f, _a, _k, finish) in zip(outs, runs, strict=True)
            ]
            text = "[" + ",".join(parts) + "]"
        except BaseException as e:  # noqa: BLE001 - an unprintable result
            chan.send({"err": "unprintable:" + type(e).__name__, "last": True})
            continue
        del outs, runs
        chan.send({"out": text, "last": True})


class _Stdio:
    """The channel of script mode (trusted code only): length-prefixed pickles on stdin/stdout."""

    def recv(self):
        head = sys.stdin.buffer.read(4)
        if len(head) < 4:
            return None
        return pickle.loads(sys.stdin.buffer.read(struct.unpack("<I", head)[0]))

    def send(self, value):
        data = pickle.dumps(value)
        sys.stdout.buffer.write(struct.pack("<I", len(data)) + data)
        sys.stdout.buffer.flush()
        sys.stdin.buffer.read(4)  # the parent's acknowledgement: it has read our clock


if __name__ == "__main__":
    chan = _Stdio()
    main(chan.recv(), chan)
