"""Security evidence: static findings for each candidate, weighted by severity and confidence.

Bandit runs in process through its Python API (one `BanditManager`, its plugin set loaded once).
For code Bandit cannot parse (the benchmark holds Python 2 code and truncated snippets) a
line-based fallback looks for the common weaknesses: weak hashes, eval/exec, pickle/marshal and
unsafe yaml.load, shell=True / os.system / os.popen, hard-coded secrets, insecure temporary files,
SQL built by string formatting, disabled TLS verification, non-cryptographic randomness for secrets,
telnet/ftp, binding to all interfaces and world-writable permissions. The candidate whose weighted
findings score lower wins when the difference is clear (signal `bandit`, or `fallback-patterns` when
the line patterns were used); otherwise the evidence is silent. Both candidates are always analysed
alike (`paired_findings`: when one needs the line patterns, both get them); `verify` applies its own
contradiction rule to the same findings. That a process runs at all (Bandit's B404/B603/B607), an
exception passed over (B110/B112) and deprecations weigh little (`MINOR_WEIGHT`, `DEPRECATION_WEIGHT`):
none decides alone. Suppression comments in a candidate (`# nosec`, with or without test ids) are
never honoured: Bandit runs with its own `ignore_nosec` switch on.
"""

from __future__ import annotations

import ast
import io
import logging
import re
import textwrap
import threading
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from codefavor.evidence import Evidence, EvidenceOptions

SEVERITY = {"LOW": 1.0, "MEDIUM": 3.0, "HIGH": 6.0}
CONFIDENCE = {"LOW": 0.3, "MEDIUM": 0.7, "HIGH": 1.0}
# Findings that say nothing about the security of a solution (asserts in code, the `random` module
# in non-secret contexts is kept: it is the point of several benchmark tasks).
IGNORED = {"B101"}
# Non-cryptographic randomness is a weakness only where it makes a secret: a random delay (jitter
# against timing oracles and brute force, `time.sleep(1 + random.random())`) is none, and counting
# it would make such a fix look like the weaker side.
_DELAY = re.compile(r"\bsleep\s*\(")
_RANDOMNESS = {"B311", "random-secret"}


# Which weakness a finding is about: Bandit's test ids, our AST rules (`security_rules`) and the line
# patterns name the same weakness differently, and a module counts each weakness once (the
# heaviest finding of the kind), however many calls or imported names show it.
KINDS: dict[str, str] = {
    **dict.fromkeys(("B301", "B302", "B403", "B506", "B614", "unsafe-deserialization", "yaml-unsafe-load", "pickle",
                     "yaml-load", "jsonpickle"), "deserialization"),
    **dict.fromkeys(("B601", "B602", "B604", "B605", "B609", "shell-built", "shell", "shell-commands"), "shell"),
    **dict.fromkeys(("B608", "B610", "B611", "sql-built", "sql-format"), "sql"),
    **dict.fromkeys(("B102", "B307", "eval-exec"), "code-execution"),
    **dict.fromkeys(("B501", "B323", "B507", "tls-unverified", "tls-off"), "tls-unverified"),
    **dict.fromkeys(("B502", "B503", "B504", "tls-old"), "tls-version"),
    **dict.fromkeys(("B303", "B324", "weak-hash"), "weak-hash"),
    **dict.fromkeys(("B304", "B305", "B505", "weak-cipher", "weak-key"), "weak-cipher"),
    **dict.fromkeys(("B108", "B306", "insecure-tempname", "tempfile"), "temp-file"),
    **dict.fromkeys(("B105", "B106", "B107", "secret"), "hard-coded-secret"),
    **dict.fromkeys(("B312", "B321", "B401", "B402", "cleartext-protocol"), "cleartext-protocol"),
    **dict.fromkeys(("B313", "B314", "B315", "B316", "B317", "B318", "B319", "B320", "B405", "B406", "B407", "B408",
                     "B409", "B410", "B411", "xml"), "xml"),
    **dict.fromkeys(("B311", "random-secret"), "weak-random"),
    **dict.fromkeys(("B103", "chmod-world"), "permissions"),
    **dict.fromkeys(("B104", "bind-all"), "bind-all"),
    **dict.fromkeys(("B413", "B415", "deprecated-wrap-socket"), "deprecated"),
    **dict.fromkeys(("B404", "B603", "B607"), "process"),
    **dict.fromkeys(("B110", "B112"), "quality"),
}  # fmt: skip
# A deprecation (an old library imported, a deprecated call) says little about what the code does:
# it weighs at most this, so it never outweighs an injection or disabled verification.
DEPRECATION_WEIGHT = 0.5
# That a process runs at all (B404: subprocess imported, B603: a call without a shell, B607: a program
# named without its full path) is no weakness: an argument list without a shell is the very fix for
# command injection, and Bandit only recognises `subprocess.run` written qualified, so counting these
# made a fix that spells the call out look weaker than the bare `check_output(...)` it replaced. An
# exception passed over (B110 try/except/pass, B112 try/except/continue) is code quality, not a
# weakness a fix removes: a fix often wraps its own cleanup so. Each kind weighs at most this, under
# the decision margin: they never decide a pair alone.
MINOR_WEIGHT = 0.2
_CAPPED = {"deprecated": DEPRECATION_WEIGHT, "process": MINOR_WEIGHT, "quality": MINOR_WEIGHT}


@dataclass(frozen=True)
class Finding:
    rule: str  # Bandit test id (B602, ...), our AST rule's name, or a line pattern's name
    severity: str  # LOW / MEDIUM / HIGH
    confidence: str
    line: int
    text: str
    source: str  # "bandit", "rules" (evidence/security_rules.py), "pattern" or "fallback"
    points: float | None = None  # the rule's own weight (AST rules), else severity x confidence

    @property
    def kind(self) -> str:
        if self.source == "pattern":  # a key or token written into the code: each one is its own exposure
            return f"{self.rule}:{self.text}"
        return KINDS.get(self.rule, self.rule)

    @property
    def weight(self) -> float:
        w = self.points if self.points is not None else weight(self.severity, self.confidence)
        cap = _CAPPED.get(self.kind)
        return min(w, cap) if cap is not None else w

    def as_dict(self) -> dict[str, Any]:
        return {"rule": self.rule, "kind": self.kind, "severity": self.severity, "confidence": self.confidence,
                "weight": round(self.weight, 3), "line": self.line, "text": self.text[:160], "source": self.source}  # fmt: skip


def weight(severity: str, confidence: str) -> float:
    """How much one finding of Bandit or the line patterns counts: severity x confidence."""
    return SEVERITY.get(severity, 1.0) * CONFIDENCE.get(confidence, 0.5)


_LOCK = threading.Lock()  # BanditManager keeps per-scan state


@cache
def _manager() -> Any:
    from bandit.core import config as b_config
    from bandit.core import manager as b_manager

    for name in ("bandit", "stevedore"):  # bandit logs every unparsable file; stevedore its optional formatters
        logging.getLogger(name).setLevel(logging.CRITICAL)
    with warnings.catch_warnings():  # stevedore's deprecation noise while loading the plugins
        warnings.simplefilter("ignore")
        # A candidate's `# nosec` would switch Bandit off for its own worst line: Bandit's own switch
        # makes it read no suppression comment at all (our AST rules and line patterns read none).
        return b_manager.BanditManager(b_config.BanditConfig(), "file", quiet=True, ignore_nosec=True)


def bandit_findings(code: str) -> list[Finding] | None:
    """Bandit's findings for `code`, or None when Bandit cannot parse it."""
    with _LOCK, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # stevedore's deprecation noise from Bandit's plugin loading
        from bandit.core import meta_ast, metrics

        mgr = _manager()
        mgr.results, mgr.skipped, mgr.scores = [], [], []
        mgr.b_ma = meta_ast.BanditMetaAst()
        mgr.metrics = metrics.Metrics()
        name = "<candidate>.py"
        mgr._parse_file(name, io.BytesIO(code.encode("utf-8", "replace")), [name])
        if mgr.skipped:
            return None
        lines = code.splitlines()
        passed = _shell_passed_on(code) if any(i.test_id in _SHELL_TRUE for i in mgr.results) else set()
        return [
            Finding(i.test_id, i.severity, i.confidence, i.lineno, i.text, "bandit")
            for i in mgr.results
            if i.test_id not in IGNORED
            and not _is_delay(i.test_id, lines, i.lineno)
            and not _is_escaping_import(i.test_id, lines, i.lineno)
            and not (i.test_id in _SHELL_TRUE and i.lineno in passed)
            and not _is_mask(i.test_id, i.text)
        ]


# A password shown masked (`"password": "******"`, a log line's `'***'`) is no secret: Bandit's
# hard-coded password tests (B105-B107) read any string a password name is given, and counting it made
# a fix that masks the password in a log line look like the weaker side.
_MASK = re.compile(r"""Possible hardcoded password: (['"])([^\w\s])\2*\1\s*$""")


def _is_mask(rule: str, text: str) -> bool:
    return rule in ("B105", "B106", "B107") and bool(_MASK.search(text))


# Bandit's "shell=True" tests read any `shell=` value but False as True. A wrapper that hands on its
# caller's choice (`Popen(args, shell=shell)`) runs no shell of its own: that is the caller's finding,
# and counting it made a fix that adds such a switch (defaulting to False) look like the weaker side.
_SHELL_TRUE = {"B602", "B604"}


def _shell_passed_on(code: str) -> set[int]:
    """Lines of calls whose `shell=` is a name or an attribute (a value handed on), not a literal."""
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError, RecursionError):
        return set()
    return {
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and any(k.arg == "shell" and isinstance(k.value, (ast.Name, ast.Attribute)) for k in node.keywords)
    }


# `xml.sax.saxutils` holds the escaping helpers (escape, quoteattr) and a writer, no parser: Bandit's
# B406 names any import under `xml.sax`, and counting it made an escaping fix the weaker side.
_SAXUTILS = re.compile(
    r"^\s*(?:import\s+xml\.sax\.saxutils(?:\s+as\s+\w+)?|from\s+xml\.sax\.saxutils\s+import\s+[\w\s,()]+"
    r"|from\s+xml\.sax\s+import\s+saxutils(?:\s+as\s+\w+)?)\s*(?:#.*)?$"
)


def _is_escaping_import(rule: str, lines: list[str], lineno: int) -> bool:
    """Whether an XML import finding is the import of `xml.sax.saxutils` alone (no parser imported)."""
    return rule == "B406" and 0 < lineno <= len(lines) and bool(_SAXUTILS.search(lines[lineno - 1]))


def _is_delay(rule: str, lines: list[str], lineno: int) -> bool:
    """Whether a randomness finding sits in a delay (`sleep(...)`), where it protects no secret."""
    return rule in _RANDOMNESS and 0 < lineno <= len(lines) and bool(_DELAY.search(lines[lineno - 1]))


# (rule, severity, confidence, pattern) for code Bandit cannot parse. Patterns are per line.
_FALLBACK: list[tuple[str, str, str, re.Pattern[str]]] = [
    (r, s, c, re.compile(p, re.I))
    for r, s, c, p in [
        ("weak-hash", "MEDIUM", "HIGH", r"\b(?:hashlib\.)?(?:md5|sha1|md4)\s*\(|new\(\s*['\"](?:md5|sha1)['\"]|\b(?:md5|sha)\.new\("),
        ("weak-cipher", "HIGH", "HIGH", r"\b(?:DES|ARC4|Blowfish|ARC2)\.new\(|\bMODE_ECB\b"),
        ("eval-exec", "MEDIUM", "HIGH", r"(?<![\w.])(?:eval|exec|execfile)\s*\(|^\s*exec\s+['\"\w]"),
        ("pickle", "MEDIUM", "HIGH", r"\b(?:c?pickle|marshal|shelve|dill)\.(?:loads?|Unpickler)\b|jsonpickle\.decode"),
        ("yaml-load", "MEDIUM", "HIGH", r"\byaml\.load\((?![^)]*Loader\s*=\s*(?:yaml\.)?SafeLoader)"),
        ("shell", "HIGH", "HIGH", r"shell\s*=\s*True|\bos\.(?:system|popen[234]?|spawn\w*|exec\w+)\s*\("),
        ("shell-commands", "HIGH", "MEDIUM", r"\bcommands\.get(?:status)?output\s*\(|\bpopen2\."),
        ("secret", "LOW", "MEDIUM",
         r"(?:password|passwd|pwd|secret|token|api_?key)\w*\s*=\s*['\"][^'\"]{3,}['\"]"),
        ("tempfile", "MEDIUM", "HIGH", r"\b(?:tempfile\.)?mktemp\s*\(|['\"]/tmp/|os\.tempnam|os\.tmpnam"),
        ("sql-format", "MEDIUM", "MEDIUM",
         r"(?:select|insert|update|delete|where|from|into|values|pragma)\b[^\n]*(?:['\"]\s*%|\.format\(|['\"]\s*\+\s*\w)"
         r"|execute\(\s*f['\"]"),
        ("tls-off", "HIGH", "HIGH",
         r"verify\s*=\s*False|_create_unverified_context|CERT_NONE|check_hostname\s*=\s*False"),
        ("tls-old", "HIGH", "HIGH", r"PROTOCOL_(?:SSLv2|SSLv3|TLSv1)\b|SSLv3_METHOD|TLSv1_METHOD"),
        ("random-secret", "LOW", "HIGH", r"\brandom\.(?:random|randint|choice|randrange|getrandbits|sample)\("),
        ("cleartext-protocol", "HIGH", "HIGH", r"\b(?:telnetlib|ftplib)\b"),
        ("bind-all", "MEDIUM", "MEDIUM", r"['\"]0\.0\.0\.0['\"]"),
        ("chmod-world", "MEDIUM", "HIGH", r"chmod\([^)]*0o?[0-7]*7[0-7]?\)|chmod\([^)]*0o?777"),
        ("xml", "LOW", "HIGH", r"\bxml\.(?:etree|dom|sax(?!\.saxutils\b))\b|\blxml\b|xmlrpclib|xmlrpc\.client"),
        ("input-py2", "HIGH", "HIGH", r"(?<![\w.])input\s*\((?![^)]*\bint\()"),
        ("assert-auth", "LOW", "MEDIUM", r"\bdebug\s*=\s*True"),
    ]
]  # fmt: skip


# Applied to every candidate, Bandit or not: what Bandit's own tests do not look for.
_ALWAYS: list[tuple[str, str, str, re.Pattern[str]]] = [
    (r, s, c, re.compile(p))
    for r, s, c, p in [
        ("private-key", "HIGH", "HIGH", r"-----BEGIN (?:RSA |EC |DSA |OPENSSH |ENCRYPTED )?PRIVATE KEY-----"),
        ("api-key", "HIGH", "MEDIUM",
         r"['\"](?:AIza[0-9A-Za-z_-]{30,}|AKIA[0-9A-Z]{16}|sk-[A-Za-z0-9]{20,}|gh[pous]_[A-Za-z0-9]{30,}"
         r"|xox[bpas]-[A-Za-z0-9-]{10,})['\"]"),
        ("jsonpickle", "MEDIUM", "HIGH", r"\bjsonpickle\.decode\("),
    ]
]  # fmt: skip


def _scan(code: str, rules: list[tuple[str, str, str, re.Pattern[str]]], source: str) -> list[Finding]:
    out = []
    lines = code.splitlines()
    for n, line in enumerate(lines, 1):
        for rule, sev, conf, pat in rules:
            if rule == "xml" and _SAXUTILS.search(line):
                continue  # the escaping helpers alone, as for Bandit's B406 (`_is_escaping_import`)
            if pat.search(line) and not _is_delay(rule, lines, n):
                out.append(Finding(rule, sev, conf, n, line.strip(), source))
    return out


def fallback_findings(code: str) -> list[Finding]:
    """Line-based findings for code that does not parse as Python 3."""
    return _scan(code, _FALLBACK + _ALWAYS, "fallback")


def rules_findings(code: str) -> list[Finding]:
    """The AST rules of `security_rules` (weaknesses Bandit has no rule for, names resolved by their
    attribute form so code without imports counts) as findings with their own weights."""
    from codefavor.evidence.security_rules import rule_findings

    return [Finding(f.rule, f.severity, "HIGH", f.line, f.text, "rules", f.weight) for f in rule_findings(code)]


def findings(code: str) -> tuple[list[Finding], str]:
    """Findings and their source: Bandit when it parses the code (a method cut out of its class is
    read dedented), else the fallback line patterns; the AST rules and the always-on patterns in
    either case."""
    found = bandit_findings(code)
    text = code
    if found is None:
        dedented = textwrap.dedent(code)
        if dedented != code:
            found, text = bandit_findings(dedented), dedented
    if found is not None:
        return found + _scan(text, _ALWAYS, "pattern") + rules_findings(text), "bandit"
    return fallback_findings(code) + rules_findings(code), "fallback"


def score(found: Sequence[Finding | dict[str, Any]]) -> float:
    """A module's weighted findings, each kind of weakness once (its heaviest finding); also over
    `Finding.as_dict()` records."""
    heaviest: dict[str, float] = {}
    for f in found:
        kind, w = (f["kind"], f["weight"]) if isinstance(f, dict) else (f.kind, f.weight)
        heaviest[kind] = max(heaviest.get(kind, 0.0), w)
    return sum(heaviest.values())


def paired_findings(a: str, b: str) -> tuple[list[Finding], list[Finding], str]:
    """Both candidates' findings and the analyser, like with like: when one side needs the fallback
    (Bandit cannot parse it), both get the fallback."""
    fa, sa = findings(a)
    fb, sb = findings(b)
    if sa != sb:
        return fallback_findings(a) + rules_findings(a), fallback_findings(b) + rules_findings(b), "fallback"
    return fa, fb, sa


def compare_security(a: str, b: str, margin: float = 0.25) -> Evidence:
    """The candidate with the clearly lower weighted score wins; the details list each one's findings."""
    fa, fb, analyzer = paired_findings(a, b)
    xa, xb = score(fa), score(fb)
    details = {
        "a": {"score": round(xa, 2), "findings": [f.as_dict() for f in fa]},
        "b": {"score": round(xb, 2), "findings": [f.as_dict() for f in fb]},
        "analyzer": analyzer,
    }
    signal = "bandit" if analyzer == "bandit" else "fallback-patterns"
    if abs(xa - xb) <= margin:
        return Evidence("undecided", signal, 0.5, details)
    return Evidence("A" if xa < xb else "B", signal, min(0.99, 0.75 + 0.05 * abs(xa - xb)), details)


def security_evidence(
    pairs: Sequence[tuple[str, str, str]], options: EvidenceOptions = EvidenceOptions()
) -> list[Evidence]:
    """Security evidence for (instruction, code_a, code_b) triples (static: nothing runs)."""
    return [compare_security(a, b) for _, a, b in pairs]
