"""Safety switches, permission modes and renewals, read for the differential marks (`security_diff`).

What a call or an assignment turns on or off: keyword switches and options dicts (`verify=False`,
`autoescape=True`, `timeout=...`, `algorithms=[...]`), a TLS context's checks set by assignment, a
file mode written as a number, and what a call renews or drops (a session, a credential header, a
socket's timeout). Each adds to the counts of `security_diff.marks` under the rules of
`security_vocab.HARDENING`; the tree walk and the other readings stay in `security_diff`.
"""

from __future__ import annotations

import ast
from collections import Counter

from codefavor.evidence.security_vocab import (
    CREDENTIAL_HEADERS,
    ESCAPE_FILTERS,
    REQUEST_SESSION_METHODS,
    REQUESTS,
    SAFE_KW,
    SAFE_OFF,
    SAFE_ON,
    SESSION_METHODS,
    SESSION_RENEWALS,
    TIMEOUT_CALLS,
    TLS_SWITCHES,
    UNSAFE_ON,
)


def _const(node: ast.AST | None) -> object:
    return node.value if isinstance(node, ast.Constant) else None


def _name(node: ast.AST) -> str:
    return node.attr if isinstance(node, ast.Attribute) else node.id if isinstance(node, ast.Name) else ""


def options(pairs: list[tuple[str | None, ast.AST]], out: Counter[str]) -> None:
    """Safety switches passed as keywords, or written as the entries of an options dict
    (`{"autoescape": True}` handed to a constructor later)."""
    for arg, node in pairs:
        value = node.value if isinstance(node, ast.Constant) else None
        if arg == "typ" and value in ("safe", "base"):  # ruamel.yaml's YAML(typ="safe")
            out["safe-parser"] += 1
        elif arg == "filter" and value in (
            "data",
            "tar",
        ):  # tarfile's extraction filters: no links out, no absolute names
            out["safe-option"] += 1
        elif arg == "default_filters" and any(_const(e) in ESCAPE_FILTERS for e in ast.walk(node)):
            out["escaping"] += 1  # Mako's filters on every expression: `h` escapes HTML
        elif arg == "algorithms" and any(
            isinstance(e, ast.Constant) and isinstance(e.value, str) and e.value.lower() == "none"
            for e in ast.walk(node)
        ):
            out["unsafe-option"] += 1  # jwt.decode(t, key, algorithms=["none"]): a token needs no signature
        elif arg in SAFE_KW or (arg in SAFE_ON and value is True) or (arg in SAFE_OFF and value is False):
            out["safe-option"] += 1
        elif arg in UNSAFE_ON and value is True or (arg in SAFE_ON and value is False):
            out["unsafe-option"] += 1


def tls_switches(node: ast.Assign, out: Counter[str]) -> None:
    """A TLS context's checks set by assignment: `ctx.check_hostname = False`, `ctx.verify_mode =
    ssl.CERT_NONE` turn them off; True or CERT_REQUIRED turns them on."""
    for t in node.targets:
        if isinstance(t, ast.Attribute) and t.attr in TLS_SWITCHES:
            value = _const(node.value) if isinstance(node.value, ast.Constant) else _name(node.value)
            if value is False or value == "CERT_NONE":
                out["unsafe-option"] += 1
            elif value is True or value == "CERT_REQUIRED":
                out["safe-option"] += 1


def permission_mode(node: ast.Call, name: str, owner: str, out: Counter[str]) -> None:
    """A permission mode written as a number: what it gives the world (`umask` takes bits away)."""
    at = {
        "chmod": -1,
        "fchmod": -1,
        "lchmod": -1,
        "makedirs": 1,
        "mkdir": 1,
        "umask": 0,
        "open": 2 if owner == "os" else None,
    }
    if name not in at or at[name] is None:
        return
    kw = next((k.value for k in node.keywords if k.arg == "mode"), None)
    i = at[name]
    value = _const(kw) if kw is not None else _const(node.args[i]) if -len(node.args) <= i < len(node.args) else None
    if not isinstance(value, int) or isinstance(value, bool) or (name != "umask" and value > 0o7777):
        return
    if name == "umask":  # the bits it takes away: all of the group's and others' / not even others' write
        out["restrictive-mode"] += value & 0o077 == 0o077
        out["permissive-mode"] += not value & 0o002
    elif value & 0o002:
        out["permissive-mode"] += 1
    elif not value & 0o077:
        out["restrictive-mode"] += 1


def renewals(node: ast.Call, name: str, owner: str, out: Counter[str]) -> None:
    """What a call renews or drops: a session (at login or logout), a credential header (before a
    redirect is followed), a socket's timeout (set to a value, not to None: no timeout)."""
    session = node.func.value if isinstance(node.func, ast.Attribute) else None
    of_request = isinstance(session, ast.Attribute) and session.attr == "session" and _name(session.value) in REQUESTS
    if (
        name in SESSION_RENEWALS
        or (name in SESSION_METHODS and "session" in owner.lower())
        or (name in REQUEST_SESSION_METHODS and of_request)
    ):
        out["session-rotation"] += 1
    if name in ("pop", "remove", "discard") and node.args and CREDENTIAL_HEADERS.match(_const_text(node.args[0])):
        out["credential-stripped"] += 1
    if (
        name in TIMEOUT_CALLS
        and node.args
        and not (isinstance(node.args[0], ast.Constant) and node.args[0].value is None)
    ):
        out["safe-option"] += 1


def deleted(node: ast.Delete, out: Counter[str]) -> None:
    """`del headers['Authorization']`: a credential header dropped, as `renewals` reads `pop`."""
    for t in node.targets:
        if isinstance(t, ast.Subscript) and CREDENTIAL_HEADERS.match(_const_text(t.slice)):
            out["credential-stripped"] += 1


def _const_text(node: ast.AST) -> str:
    """A str or bytes constant's text ('' for anything else): headers are written both ways."""
    value = _const(node)
    return value if isinstance(value, str) else value.decode("latin-1") if isinstance(value, bytes) else ""
