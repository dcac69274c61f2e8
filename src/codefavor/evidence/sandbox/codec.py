"""The sandbox's framing and value codec, shared by the fork server (`server.py`) and the parent.

Length-prefixed JSON messages (`write_msg`/`read_msg`, and `_read_job` for a blocking fd that must
not read past one message), and the tagged plain-JSON encoding of values (`encode_value`,
`decode_value`): exact builtin types only; anything else travels as an `Opaque` that equals nothing.
Stdlib only: the server loads it from its own directory (see `server.py`).
"""

from __future__ import annotations

import base64
import json
import os
import struct
from typing import Any

MAX_DEPTH = 60
MAX_NODES = 200_000


def read_msg(f: Any) -> Any:
    """One length-prefixed JSON message from a binary file, or None at end of file."""
    head = f.read(4)
    if len(head) < 4:
        return None
    (n,) = struct.unpack("<I", head)
    return json.loads(f.read(n))


def write_msg(f: Any, obj: Any) -> None:
    data = json.dumps(obj).encode()
    f.write(struct.pack("<I", len(data)) + data)
    f.flush()


def _read_exactly(fd: int, n: int) -> bytes | None:
    buf = bytearray()
    while len(buf) < n:
        chunk = os.read(fd, n - len(buf))
        if not chunk:
            return None
        buf += chunk
    return bytes(buf)


def _read_job(fd: int) -> Any:
    """Exactly one message from a blocking fd (nothing of the next one is read), or None at EOF."""
    head = _read_exactly(fd, 4)
    if head is None:
        return None
    body = _read_exactly(fd, struct.unpack("<I", head)[0])
    return None if body is None else json.loads(body)


def printable(text: str, limit: int = 500) -> str:
    """Candidate-chosen text (exception messages) made safe to print: control characters escaped."""
    return "".join(c if c.isprintable() or c == " " else repr(c)[1:-1] for c in text[:limit])


class Opaque:
    """A value the child could not report as plain data (a custom object): never equal to anything."""

    __slots__ = ("type_name", "text")

    def __init__(self, type_name: str, text: str):
        self.type_name, self.text = type_name, text

    def __eq__(self, other: object) -> bool:
        return False

    __hash__ = object.__hash__

    def __repr__(self) -> str:
        return printable(f"<{self.type_name} {self.text}>")


def _encode(v: Any, budget: list[int], depth: int = 0, strict: bool = False) -> Any:
    """Plain JSON from exact builtin types only; subclasses and other objects become opaque (or,
    `strict`, a ValueError: the parent's own job data must arrive whole)."""
    budget[0] -= 1
    if budget[0] < 0 or depth > MAX_DEPTH:
        if strict:
            raise ValueError("the value is too large or too deep for the sandbox codec")
        return {"o": ["too-large", ""]}
    t = type(v)
    if v is None or t is bool or t is str:
        return v
    if t is int:
        if abs(v) < 2**53:
            return v
        return {"I": str(v)} if v.bit_length() < 12000 else {"o": ["int", "an integer too large to report"]}
    if t is float:
        return {"f": repr(v)}
    if t is complex:
        return {"c": [repr(v.real), repr(v.imag)]}
    if t is bytes or t is bytearray:
        return {"b" if t is bytes else "ba": base64.b64encode(v).decode()}
    if t is list or t is tuple:
        return {"l" if t is list else "t": [_encode(x, budget, depth + 1, strict) for x in v]}
    if t is set or t is frozenset:
        return {"s" if t is set else "fs": [_encode(x, budget, depth + 1, strict) for x in v]}
    mod = getattr(t, "__module__", "")
    name = getattr(t, "__qualname__", "?")
    if t is dict or (mod == "collections" and name in ("OrderedDict", "defaultdict", "Counter")):
        return {"d": [[_encode(k, budget, depth + 1, strict), _encode(x, budget, depth + 1, strict)]
                      for k, x in dict.items(v)]}  # fmt: skip
    if mod == "collections" and name == "deque":
        return {"dq": [_encode(x, budget, depth + 1, strict) for x in list(v)]}
    if t is range:
        return {"r": [v.start, v.stop, v.step]}
    if mod == "decimal" and name == "Decimal":
        return {"D": str(v)}
    if mod == "fractions" and name == "Fraction":
        return {"F": [str(v.numerator), str(v.denominator)]}
    if mod == "numpy" and getattr(v, "shape", None) == ():  # numpy scalars: report the plain number
        return {"np": _encode(v.item(), budget, depth + 1, strict)}
    if strict:
        raise ValueError(f"a {mod}.{name} cannot travel through the sandbox codec")
    try:
        text = repr(v)[:200]
    except BaseException:  # noqa: BLE001 - a hostile __repr__ may raise anything
        text = "?"
    return {"o": [f"{mod}.{name}", text]}


def encode_value(v: Any, strict: bool = False) -> Any:
    """A value as tagged plain JSON (see `_encode`); `strict` raises instead of making opaque parts."""
    return _encode(v, [MAX_NODES], strict=strict)


def decode_value(x: Any, depth: int = 0) -> Any:
    """Rebuild plain Python values from the encoding (only builtin constructors; never evaluates)."""
    if depth > MAX_DEPTH + 2:
        return Opaque("too-deep", "")
    if x is None or isinstance(x, (bool, str, int)):
        return x
    if isinstance(x, float):  # not produced by _encode, but JSON may carry one
        return x
    if not isinstance(x, dict) or len(x) != 1:
        return Opaque("malformed", "")
    ((tag, p),) = x.items()
    try:
        match tag:
            case "I":
                return int(p)
            case "f":
                return float(p)
            case "c":
                return complex(float(p[0]), float(p[1]))
            case "b":
                return base64.b64decode(p)
            case "ba":
                return bytearray(base64.b64decode(p))
            case "l":
                return [decode_value(e, depth + 1) for e in p]
            case "t":
                return tuple(decode_value(e, depth + 1) for e in p)
            case "s" | "fs":
                items = [decode_value(e, depth + 1) for e in p]
                return set(items) if tag == "s" else frozenset(items)
            case "d":
                return {decode_value(k, depth + 1): decode_value(v, depth + 1) for k, v in p}
            case "dq":
                import collections

                return collections.deque(decode_value(e, depth + 1) for e in p)
            case "r":
                return range(int(p[0]), int(p[1]), int(p[2]))
            case "D":
                import decimal

                return decimal.Decimal(p)
            case "F":
                import fractions

                return fractions.Fraction(int(p[0]), int(p[1]))
            case "np":
                return decode_value(p, depth + 1)
            case "o":
                return Opaque(str(p[0]), str(p[1]))
    except (TypeError, ValueError, IndexError, ArithmeticError, RecursionError):
        pass  # unhashable set members, malformed payloads: treat as opaque
    return Opaque("malformed", "")
