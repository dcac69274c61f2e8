"""A verdict's details as readable lines for `codefavor judge`: what each candidate passed and failed,
security findings, measured speed (ratio and times) or why nothing was measured, and warnings."""

from __future__ import annotations

import json
from typing import Any

# Why efficiency evidence decided, or why it stayed silent (`EfficiencyDetails.reason`).
EFFICIENCY_REASONS = {
    "cpu-time": "measured CPU time on the instruction's examples, grown",
    "timeout": "one candidate timed out where the other finished quickly",
    "no-gap": "no clear gap: the faster must win by the threshold (1.25x) in every round (a near miss's further rounds: less each side's slowest quarter, medians apart too)",
    "few-rounds": "the only comparable level was timed once, on the way up: too few rounds to decide",
    "design": "a design problem (an operation list): its calls are not timed",
    "no-entry": "no entry point to time (the instruction defines none both candidates implement as a function)",
    "no-examples": "the instruction has no example call of the entry point to grow into timing inputs",
    "nothing-measured": "no input could be timed on both candidates",
    "disagree": "the candidates return different outputs on the grown inputs, so their speed does not compare",
    "does-not-compile": "a candidate does not compile or load",
    "harness-error": "the timing harness failed",
    "no-sandbox": "the sandbox cannot start here, and candidates never run outside it",
}
SET_ASIDE = {
    "too-fast": "too quick to time on either side",
    "error": "a run raised or returned nothing usable",
    "both-timeout": "both timed out",
    "timeout-not-decisive": "one timed out, the other finished too slowly for that to decide",
    "both-fail": "grown inputs both candidates fail alone (they break a promise of the statement)",
    "disagree": "the outputs differ",
    "one-side-error": "only one candidate raised",
    "one-side-setup": "only one candidate failed to set up",
    "one-side-unstable": "only one candidate answered differently when run again",
}


def _ms(seconds: Any) -> str:
    return "-" if not isinstance(seconds, (int, float)) else f"{seconds * 1e3:.3g} ms"


def efficiency_lines(e: dict[str, Any], indent: str) -> list[str]:
    reason = str(e.get("reason", ""))
    lines = [f"{indent}efficiency: {reason} ({EFFICIENCY_REASONS.get(reason, 'see details')})"]
    ratio = e.get("ratio")
    if "time_a" in e or ratio is not None:
        faster = ""
        if isinstance(ratio, (int, float)) and ratio > 0:
            faster = f"B/A time ratio {ratio:.3g} (" + (
                f"A {1 / ratio:.3g}x faster)"
                if ratio > 1
                else f"B {1 / ratio:.3g}x faster)"
                if ratio < 1
                else "equal)"
            )
        size = f" at size {e['target']}" if e.get("target") is not None else ""
        lines.append(
            f"{indent}  CPU time A {_ms(e.get('time_a'))}, B {_ms(e.get('time_b'))}{size}, "
            f"{e.get('inputs', 0)} inputs; {faster}".rstrip("; ")
        )
    dropped = e.get("dropped") or {}
    if dropped:
        parts = [f"{k} {n}" + (f" ({SET_ASIDE[k]})" if k in SET_ASIDE else "") for k, n in dropped.items()]
        lines.append(f"{indent}  set aside: {', '.join(parts)}")
    if e.get("entry"):
        lines.append(f"{indent}  entry point: {e['entry']}")
    return lines


def evidence_lines(details: dict[str, Any], indent: str = "") -> list[str]:
    """A digest of a verdict's details: failed checks per candidate, findings, speed, warnings, silence."""
    lines: list[str] = []
    if details.get("warning"):
        lines.append(f"{indent}warning: {details['warning']}")
    ex = details.get("examples")
    if isinstance(ex, dict):
        lines.append(f"{indent}examples: entry {ex.get('entry')!r}, {len(ex.get('checks', []))} checks")
        for s in ex.get("skipped", [])[:5]:
            lines.append(f"{indent}  skipped: {s['example'][:70]!r} ({s['reason']})")
    for side in ("a", "b"):
        d = details.get(side)
        if not isinstance(d, dict):
            continue
        if "total" in d:
            lines.append(f"{indent}candidate {side.upper()}: passed {d['passed']}/{d['total']}"
                         + (f", does not load: {d['load_error']}" if d.get("load_error") else ""))  # fmt: skip
            for f in d.get("failed", [])[:6]:
                lines.append(f"{indent}  failed {f['check'][:70]!r}: {f['reason'][:120]}")
        if "findings" in d:
            lines.append(f"{indent}candidate {side.upper()}: security score {d['score']}")
            for f in d["findings"][:8]:
                lines.append(
                    f"{indent}  {f['rule']} {f['severity']}/{f['confidence']} line {f['line']}: {f['text'][:80]}"
                )
    if isinstance(details.get("efficiency"), dict):
        lines += efficiency_lines(details["efficiency"], indent)
    for key in ("load", "undefined_names", "variants", "roundtrip", "recurrence"):
        if isinstance(details.get(key), dict):
            lines.append(f"{indent}{key}: {json_short(details[key])}")
    if isinstance(details.get("evidence"), dict):
        if not details["evidence"]:
            lines.append(f"{indent}evidence: none applies to this criterion")
        for sig, d in details["evidence"].items():
            lines.append(f"{indent}evidence silent ({sig}):")
            lines += evidence_lines(d or {}, indent + "  ")
    return lines


def json_short(obj: object) -> str:
    text = json.dumps(obj, default=str)
    return text if len(text) < 300 else text[:297] + "..."
