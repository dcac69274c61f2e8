"""The sandbox's records and the judging of what a child reported, in the parent.

The public data types (`Limits`, `Check`, `CheckResult`, `SandboxRun`, `HarnessRun`, `SandboxError`),
the type-strict comparison of decoded values (`values_equal`; the child's encoding and the decoder
live in `codec.py`), and the functions that turn the fork server's answer for one job into a result:
`_judge_run` (checks, each compared here, never in the child), `_judge_harness`, `_judge_session`.
All are re-exported by `codefavor.evidence.sandbox`.
"""

from __future__ import annotations

import json
import math
import re
import secrets
from dataclasses import dataclass, field
from typing import Any

from codefavor.evidence.sandbox.codec import (
    MAX_DEPTH,
    Opaque,
    decode_value,
    printable,
)

# --------------------------------------------------------------------------------------------
# Public data types


@dataclass(frozen=True)
class Limits:
    """Per-run resource limits. `cpu_s`/`wall_s` cover the whole run (loading the code and all checks);
    `check_s` is a per-check alarm inside the child (a convenience the code could disable; the
    whole-run limits are the ones the kernel and the server enforce)."""

    cpu_s: float = 2.0
    wall_s: float = 4.0
    check_s: float = 1.0
    memory_mb: int = 1024
    output_bytes: int = 64 * 1024
    file_mb: int = 16
    open_files: int = 64


_NO_VALUE = object()


@dataclass(frozen=True)
class Check:
    """One check. `call` is a Python expression (or, for kind "stmt", statements) evaluated after the
    candidate code is loaded. Exactly one expectation applies:
    - `expected`: the value must equal it (type-strict, compared in the parent);
    - `expected_repr`: the repr of the value (or the printed output) must match this text (doctest style);
    - `raises`: an exception of this class name must be raised (and, with `raises_message`, say that:
      a doctest shows the exception's text and compares it; "..." in it matches anything);
    - `stdin`/`expected_stdout`: the code runs as `__main__` with this stdin, stdout must match;
    - none (kind "runs"): passes when evaluation finishes without an exception (the value is reported).
    """

    call: str = ""
    expected: Any = _NO_VALUE
    expected_repr: str | None = None
    raises: str | None = None
    stdin: str | None = None
    expected_stdout: str | None = None
    kind: str = ""  # "value", "repr", "raises", "program", "runs", "stmt"; inferred when empty
    name: str = ""
    rel_tol: float = 1e-6  # float tolerance of "value" checks (an instruction's math.isclose may ask for more)
    raises_message: str | None = None

    def resolved_kind(self) -> str:
        if self.kind:
            return self.kind
        if self.stdin is not None or self.expected_stdout is not None:
            return "program"
        if self.raises:
            return "raises"
        if self.expected is not _NO_VALUE:
            return "value"
        if self.expected_repr is not None:
            return "repr"
        return "runs"


@dataclass
class CheckResult:
    name: str
    passed: bool
    status: str  # "pass", "fail", "raised", "timeout", "missing", "error"
    reason: str = ""
    value: Any = None  # the decoded value the child reported (plain data or Opaque)
    error: str | None = None  # "ExcType: message" when the call raised


@dataclass
class SandboxRun:
    """One code's run on its checks, judged here."""

    checks: list[CheckResult]
    load_error: str | None = None  # the code did not compile or raised while loading
    completed: bool = False  # the harness printed its final token frame
    timed_out: bool = False
    exit: str = ""  # "exit 0", "signal 9", ...
    output: str = ""  # captured stdout/stderr (capped)
    cpu_s: float = 0.0
    wall_s: float = 0.0
    defined: dict[str, int] = field(default_factory=dict)  # top-level function -> positional arity (class: -1)
    forged_frames: int = 0  # result lines without the run's token (ignored)

    @property
    def n_passed(self) -> int:
        return sum(c.passed for c in self.checks)

    @property
    def passed(self) -> bool:
        """Every check passed and the harness completed normally."""
        return self.completed and not self.load_error and all(c.passed for c in self.checks)

    def summary(self) -> dict[str, Any]:
        return {
            "passed": self.n_passed,
            "total": len(self.checks),
            "load_error": self.load_error,
            "completed": self.completed,
            "timed_out": self.timed_out,
            "exit": self.exit,
            "failed": [{"check": c.name, "status": c.status, "reason": c.reason} for c in self.checks if not c.passed],
        }


@dataclass
class HarnessRun:
    """What a harness's `main(job)` returned (decoded plain data), or why there is nothing."""

    value: Any = None
    error: str | None = None  # it raised ("ExcType: message"), timed out, or the run ended early
    completed: bool = False
    timed_out: bool = False
    exit: str = ""
    output: str = ""
    cpu_s: float = 0.0  # the kernel's CPU time of the whole child
    wall_s: float = 0.0
    forged_frames: int = 0

    @property
    def ok(self) -> bool:
        return self.error is None


class SandboxError(RuntimeError):
    """The sandbox could not start or its server died unexpectedly."""


# --------------------------------------------------------------------------------------------
# Comparison of decoded values


def _is_num(x: Any) -> bool:
    return type(x) in (int, float)


def values_equal(a: Any, b: Any, depth: int = 0, rel_tol: float = 1e-6) -> bool:
    """Type-strict equality of decoded plain values: bools equal only bools, ints and floats compare
    numerically (floats with a relative tolerance, 1e-6 by default), containers must have the same type, and
    opaque objects equal nothing. Depth-bounded, so it never recurses without end."""
    if depth > MAX_DEPTH + 4 or isinstance(a, Opaque) or isinstance(b, Opaque):
        return False
    ta, tb = type(a), type(b)
    if ta is bool or tb is bool:
        return ta is tb and a is b
    if _is_num(a) and _is_num(b):
        if ta is int and tb is int:
            return a == b
        if math.isnan(a) or math.isnan(b):
            return math.isnan(a) and math.isnan(b)
        return math.isclose(a, b, rel_tol=rel_tol, abs_tol=1e-9)
    if ta in (set, frozenset) and tb in (set, frozenset):
        if len(a) != len(b):
            return False
        rest = list(b)
        for x in a:
            for i, y in enumerate(rest):
                if values_equal(x, y, depth + 1, rel_tol):
                    del rest[i]
                    break
            else:
                return False
        return True
    if ta is not tb:
        return False
    if ta in (list, tuple) or ta.__name__ == "deque":
        return len(a) == len(b) and all(values_equal(x, y, depth + 1, rel_tol) for x, y in zip(a, b, strict=True))
    if ta is dict:
        if len(a) != len(b):
            return False
        for k, v in a.items():
            if k not in b or not values_equal(v, b[k], depth + 1, rel_tol):
                return False
        return True
    if ta is complex:
        return math.isclose(a.real, b.real, rel_tol=rel_tol, abs_tol=1e-9) and math.isclose(
            a.imag, b.imag, rel_tol=rel_tol, abs_tol=1e-9
        )
    return a == b  # str, bytes, bytearray, range, Decimal, Fraction: builtin equality


def _norm_text(s: str) -> str:
    return "\n".join(line.rstrip() for line in s.strip().splitlines())


# --------------------------------------------------------------------------------------------
# Judging what a child reported


def _parse_frames(text: str, token: str) -> tuple[list[dict[str, Any]], int]:
    frames, forged = [], 0
    for line in text.splitlines():
        tok, _, body = line.partition("\t")
        if not secrets.compare_digest(tok.encode(), token.encode()):
            forged += 1
            continue
        try:
            obj = json.loads(body)
        except (ValueError, RecursionError):
            forged += 1
            continue
        if isinstance(obj, dict):
            frames.append(obj)
    return frames, forged


def _judge_harness(msg: dict[str, Any] | None) -> HarnessRun:
    if msg is None:
        return HarnessRun(error="the sandbox server died", exit="server died")
    frames, forged = _parse_frames(msg["res"], msg["token"])
    value, error, completed = None, None, False
    reported = False
    for f in frames:
        if f.get("done") is True:
            completed = True
        elif reported:
            continue  # first report wins: a later forged one changes nothing
        elif "v" in f:
            value, reported = decode_value(f["v"]), True
        elif "exc" in f:
            error, reported = printable(str(f.get("err") or f["exc"])), True
        elif f.get("timeout"):
            error, reported = "the harness ran past its time limit", True
    if msg["timed_out"]:
        error, completed = "wall-clock timeout", False
    elif not completed or not reported:
        error = error or f"the run ended early ({msg['exit']})"
    return HarnessRun(
        value=value if error is None else None,
        error=error,
        completed=completed,
        timed_out=bool(msg["timed_out"]),
        exit=str(msg["exit"]),
        output=str(msg["out"]),
        cpu_s=float(msg["cpu_s"]),
        wall_s=float(msg["wall_s"]),
        forged_frames=forged,
    )


def _judge_run(checks: list[Check], msg: dict[str, Any] | None) -> SandboxRun:
    """Compare what the child reported with the expectations held here (never sent to the child)."""
    if msg is None:
        return SandboxRun(
            [CheckResult(c.name or c.call, False, "error", "the sandbox server died") for c in checks],
            exit="server died",
        )
    frames, forged = _parse_frames(msg["res"], msg["token"])
    by_index: dict[int, dict[str, Any]] = {}
    load_error = None
    defined: dict[str, int] = {}
    completed = False
    for f in frames:
        if "i" in f and type(f["i"]) is int and f["i"] not in by_index:
            by_index[f["i"]] = f  # first report wins: a later forged duplicate changes nothing
        elif "load" in f and load_error is None:
            load_error = printable(str(f["load"]))
        elif "defined" in f and isinstance(f["defined"], dict) and not defined:
            defined = {str(k): v for k, v in f["defined"].items() if type(v) is int}
        elif f.get("done") is True:
            completed = True
    early = "wall-clock timeout" if msg["timed_out"] else f"the run ended before this check ({msg['exit']})"
    results = []
    for i, c in enumerate(checks):
        name = c.name or c.call or "program"
        f = by_index.get(i)
        if load_error is not None and c.resolved_kind() != "program":
            results.append(CheckResult(name, False, "error", f"code did not load: {load_error}"))
        elif f is None:
            results.append(CheckResult(name, False, "timeout" if msg["timed_out"] else "missing", early))
        else:
            results.append(_compare(c, name, f))
    if msg["timed_out"] or not completed:
        for r in results:  # a run that did not finish passes nothing: its reports are unconfirmed
            if r.passed:
                r.passed, r.status, r.reason = False, "missing", early
    return SandboxRun(
        checks=results,
        load_error=load_error,
        completed=completed and not msg["timed_out"],
        timed_out=bool(msg["timed_out"]),
        exit=str(msg["exit"]),
        output=str(msg["out"]),
        cpu_s=float(msg["cpu_s"]),
        wall_s=float(msg["wall_s"]),
        defined=defined,
        forged_frames=forged,
    )


_OPAQUE_TEXT = 200  # the codec keeps this much of an object's repr: a text this long may be cut


def _shows(value: Any, text: str) -> bool:
    """Whether an object the codec could not report as data has `text` as its whole repr: a doctest's
    expectation is the text it shows (`>>> make_list([7])` / `7`, a node whose repr is its value)."""
    return isinstance(value, Opaque) and len(value.text) < _OPAQUE_TEXT and value.text == text


def _message_matches(said: str, expected: str) -> bool:
    """Whether an exception's text is the one a doctest shows (whitespace normalised; "..." matches
    anything, as under doctest's ELLIPSIS). The child cuts a text at 300 characters: a cut text
    matches when it is a prefix of what is expected."""
    norm = " ".join(said.split())
    pattern = ".*".join(re.escape(" ".join(part.split())) for part in expected.split("..."))
    if re.fullmatch(pattern, norm, re.S):
        return True
    return len(said) >= 300 and " ".join(expected.split()).startswith(norm)


def _compare(c: Check, name: str, f: dict[str, Any]) -> CheckResult:
    kind = c.resolved_kind()
    if f.get("timeout"):
        return CheckResult(name, False, "timeout", "the check ran past its time limit")
    if kind == "program":
        out = str(f.get("stdout", ""))
        if f.get("err"):
            err = printable(str(f["err"]))
            return CheckResult(name, False, "raised", f"the program failed: {err}", error=err)
        ok = c.expected_stdout is not None and _norm_text(out) == _norm_text(c.expected_stdout)
        why = "" if ok else f"printed {out[:200]!r}, expected {str(c.expected_stdout)[:200]!r}"
        return CheckResult(name, ok, "pass" if ok else "fail", why, value=out)
    if "exc" in f:
        exc, err = printable(str(f["exc"])), printable(str(f.get("err", "")))
        if kind == "raises":
            if exc != c.raises:
                return CheckResult(name, False, "fail", f"raised {exc}, expected {c.raises}")
            said = err.split(": ", 1)[1] if ": " in err else ""
            if c.raises_message is not None and not _message_matches(said, c.raises_message):
                why = f"raised {exc} saying {said[:120]!r}, expected {c.raises_message[:120]!r}"
                return CheckResult(name, False, "fail", why, error=err)
            return CheckResult(name, True, "pass", "")
        return CheckResult(name, False, "raised", f"raised {err}", error=err)
    value = decode_value(f.get("v"))
    if kind == "raises":
        return CheckResult(name, False, "fail", f"returned {value!r:.200} instead of raising {c.raises}", value=value)
    if kind in ("runs", "stmt"):
        return CheckResult(name, True, "pass", value=value)
    if kind == "value":
        ok = values_equal(value, c.expected, rel_tol=c.rel_tol) or _shows(value, repr(c.expected))
        why = "" if ok else f"returned {value!r:.200}, expected {c.expected!r:.200}"
        return CheckResult(name, ok, "pass" if ok else "fail", why, value=value)
    # "repr": doctest style; the printed output plus the repr of a non-None value, compared as text
    shown = str(f.get("stdout", ""))
    if isinstance(value, Opaque):
        shown += value.text if len(value.text) < _OPAQUE_TEXT else ""
    elif value is not None:
        shown += repr(value)
    ok = _norm_text(shown) == _norm_text(c.expected_repr or "")
    why = "" if ok else f"showed {shown[:200]!r}, expected {str(c.expected_repr)[:200]!r}"
    return CheckResult(name, ok, "pass" if ok else "fail", why, value=value)


def _report(text: str) -> Any:
    try:
        frame = json.loads(text)
    except (ValueError, RecursionError):
        return None
    return decode_value(frame["s"]) if isinstance(frame, dict) and "s" in frame else None


def _judge_session(msg: dict[str, Any] | None) -> HarnessRun:
    if msg is None:
        return HarnessRun(error="the sandbox server died", exit="server died")
    error = None
    if msg["timed_out"]:
        error = "wall-clock timeout"
    elif msg.get("cpu_killed"):
        error = "cpu-limit"
    return HarnessRun(
        error=error,
        completed=error is None,
        timed_out=bool(msg["timed_out"]),
        exit=str(msg["exit"]),
        output=str(msg["out"]),
        cpu_s=float(msg["cpu_s"]),
        wall_s=float(msg["wall_s"]),
        forged_frames=int(msg.get("forged", 0)),
    )
