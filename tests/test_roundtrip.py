"""Round trips for correctness (`evidence.roundtrip`): which functions undo which, the checks built
for them, and where the signal decides between two candidates and where it stays silent."""

from __future__ import annotations

import pytest

from codefavor.evidence import EvidenceOptions
from codefavor.evidence.correctness import correctness_evidence
from codefavor.evidence.examples import extract_checks
from codefavor.evidence.roundtrip import inverse_name, roundtrip_checks

# The instruction implements the forward function and asks for its inverse, without examples.
PAIRS_INS = '''Complete the code.
```python
def encode_pairs(s: str):
    """Swap each pair of characters; an odd last one stays."""
    out = [s[i + 1] + s[i] for i in range(0, len(s) - 1, 2)]
    return "".join(out) + (s[-1] if len(s) % 2 else "")


def decode_pairs(s: str):
    """Takes a string encoded with encode_pairs and returns the decoded string."""
```'''
PAIRS_GOOD = """def decode_pairs(s: str):
    out = [s[i + 1] + s[i] for i in range(0, len(s) - 1, 2)]
    return "".join(out) + (s[-1] if len(s) % 2 else "")"""
PAIRS_ODD = """def decode_pairs(s: str):  # loses the odd last character
    return "".join(s[i + 1] + s[i] for i in range(0, len(s) - 1, 2))"""
# A candidate that brings its own (wrong) forward function must still be checked against the statement's.
PAIRS_OWN = (
    PAIRS_ODD
    + """


def encode_pairs(s: str):
    return "".join(s[i + 1] + s[i] for i in range(0, len(s) - 1, 2))"""
)

# Both functions written by the candidate, as methods of one class (one instance does both).
CODEC_INS = """Design a Codec with encode(self, strs: List[str]) -> str and decode(self, s: str) -> List[str].
Example: Input: dummy_input = ["Hello","World"] Output: ["Hello","World"]"""
CODEC_GOOD = """class Codec:
    def encode(self, strs: List[str]) -> str:
        return "".join(f"{len(x)}#{x}" for x in strs)

    def decode(self, s: str) -> List[str]:
        out, i = [], 0
        while i < len(s):
            j = s.index("#", i)
            n = int(s[i:j])
            out.append(s[j + 1 : j + 1 + n])
            i = j + 1 + n
        return out"""
CODEC_SPLIT = """class Codec:
    def encode(self, strs: List[str]) -> str:
        return ",".join(sorted(strs))

    def decode(self, s: str) -> List[str]:
        return s.split(",")"""  # a canonical order: the list's own order does not come back


@pytest.mark.parametrize(
    ("name", "names", "want"),
    [
        ("decode_cyclic", ["encode_cyclic", "decode_cyclic"], "encode_cyclic"),
        ("deserialize", ["serialize", "deserialize"], "serialize"),
        ("serialize", ["serialize", "deserialize"], "deserialize"),
        ("decompress", ["compress"], "compress"),
        ("unpack_header", ["pack_header"], "pack_header"),
        ("roman_to_int", ["int_to_roman"], "int_to_roman"),
        ("Decrypt", ["Encrypt"], "Encrypt"),
        ("decode_cyclic", ["decode_cyclic"], None),  # nothing to undo
        ("encoder", ["decoder_x"], None),  # a verb inside another word is no verb
        ("fib", ["fib", "encode"], None),
    ],
)
def test_which_function_a_name_undoes(name, names, want):
    assert inverse_name(name, names) == want


def test_checks_use_the_statements_forward_function_on_every_small_length():
    checks = roundtrip_checks(PAIRS_INS, extract_checks(PAIRS_INS), [PAIRS_GOOD, PAIRS_ODD])
    assert len(checks) == 16
    assert all("def encode_pairs" in c.call and c.expected is True for c in checks)
    assert roundtrip_checks("Write fib(n).\nassert fib(3) == 2", extract_checks("assert fib(3) == 2"), []) == []


def test_a_failed_round_trip_decides(sandbox):
    pairs = [
        (PAIRS_INS, PAIRS_GOOD, PAIRS_ODD),
        (PAIRS_INS, PAIRS_OWN, PAIRS_GOOD),  # its own encoder agrees with its decoder: still wrong
        (CODEC_INS, CODEC_SPLIT, CODEC_GOOD),
    ]
    evs = correctness_evidence(pairs, EvidenceOptions(sandbox=sandbox))
    assert [(e.decision, e.signal) for e in evs] == [("A", "roundtrip"), ("B", "roundtrip"), ("B", "roundtrip")]
    assert evs[0].details["roundtrip"]["b"] and not evs[0].details["roundtrip"]["a"]


def test_silent_where_both_round_trips_hold(sandbox):
    other = PAIRS_GOOD.replace('"".join(out)', "''.join(out)")
    evs = correctness_evidence([(PAIRS_INS, PAIRS_GOOD, other)], EvidenceOptions(sandbox=sandbox))
    assert evs[0].decision == "undecided"
    assert evs[0].details["roundtrip"] == {"checks": 16, "a": [], "b": []}
