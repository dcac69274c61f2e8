"""Which license a repository's code is under: license files classified into lower-case SPDX ids by
phrases of each license's own text, and the allow-lists that the miners filter on.

Detection reads only the license files at the root of the tree (LICENSE, COPYING, UNLICENSE and
their variants); a text we do not recognise is 'other', no license file is None.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from codefavor.errors import MissingExtraError

# Licenses the paper's permissive filter would keep (lower-case SPDX ids).
PERMISSIVE: frozenset[str] = frozenset(
    {
        "mit",
        "mit-0",
        "apache-2.0",
        "bsd-2-clause",
        "bsd-3-clause",
        "isc",
        "0bsd",
        "unlicense",
        "cc0-1.0",
        "psf-2.0",
        "zlib",
        "bsl-1.0",
    }
)

_LICENSE_FILE = re.compile(r"^(?:licen[cs]e|copying|unlicense)(?:[._-][\w.-]*)?$", re.IGNORECASE)
_WS = re.compile(r"\s+")


def allow_list(licenses: Iterable[str] = (), permissive: bool = False) -> frozenset[str] | None:
    """The licenses to keep: the given SPDX ids, plus the permissive set; None (any) when neither."""
    allowed = {x.strip().lower() for x in licenses} | (set(PERMISSIVE) if permissive else set())
    return frozenset(allowed) if allowed else None


def license_allowed(license: str | None, allowed: frozenset[str] | None) -> bool:
    """True when any alternative of a (possibly dual) license is in the allow-list."""
    if allowed is None:
        return True
    if not license:
        return False
    parts = re.split(r"\s+or\s+|\s*/\s*|\s*,\s*", license.strip().lower())
    return any(p in allowed for p in parts)


def _license_kind(text: str) -> str:
    """One license text as a lower-case SPDX id, by phrases of each license's own text.

    Copyleft texts are recognised by their terms sections first (permissive licenses may mention
    the GPL, as Python's does), then the permissive ones, then a bare mention of a copyleft license.
    """
    t = _WS.sub(" ", text.lower())
    gnu_terms = "terms and conditions for copying, distribution and modification" in t or "terms and conditions" in t
    if "gnu affero general public license" in t and gnu_terms:
        return "agpl-3.0"
    if ("gnu lesser general public license" in t or "gnu library general public license" in t) and gnu_terms:
        return "lgpl-3.0" if "version 3" in t else "lgpl-2.1"
    if "gnu general public license" in t and "terms and conditions for copying, distribution and modification" in t:
        return "gpl-3.0" if "version 3, 29 june 2007" in t else "gpl-2.0"
    if "mozilla public license" in t and "definitions" in t:
        return "mpl-2.0" if "version 2.0" in t else "mpl-1.1"
    if "eclipse public license" in t and "definitions" in t:
        return "epl-2.0" if "version 2.0" in t or "v 2.0" in t else "epl-1.0"
    if "python software foundation license" in t:
        return "psf-2.0"
    if "apache license" in t and "version 2.0" in t:
        return "apache-2.0"
    if "permission is hereby granted, free of charge" in t:
        return "mit" if "the above copyright notice and this permission notice shall be included" in t else "mit-0"
    if "redistribution and use in source and binary forms" in t:
        return "bsd-3-clause" if ("neither the name" in t or "names of its contributors" in t) else "bsd-2-clause"
    if "permission to use, copy, modify, and/or distribute this software for any purpose" in t:
        return "isc" if "provided that the above copyright notice" in t else "0bsd"
    if "this is free and unencumbered software released into the public domain" in t:
        return "unlicense"
    if "cc0" in t and "creative commons" in t:
        return "cc0-1.0"
    if "boost software license" in t:
        return "bsl-1.0"
    if "altered source versions must be plainly marked" in t:
        return "zlib"
    for name, spdx in (
        ("gnu affero general public license", "agpl-3.0"),
        ("gnu lesser general public license", "lgpl-3.0"),
        ("gnu general public license", "gpl-3.0" if "version 3" in t else "gpl-2.0"),
        ("mozilla public license", "mpl-2.0"),
    ):
        if name in t:
            return spdx
    return "other"


def detect_license(files: Iterable[tuple[str, bytes]]) -> str | None:
    """Classify license files (name, bytes) into lower-case SPDX ids; dual licenses join with ' or '.

    None when there is no license file; 'other' for a license text we do not recognise.
    """
    kinds = sorted(
        {_license_kind(data.decode("utf-8", "replace")) for name, data in files if _LICENSE_FILE.match(name)}
    )
    if len(kinds) > 1 and "other" in kinds:
        kinds.remove("other")  # e.g. a NOTICE-like COPYING beside a real LICENSE
    return " or ".join(kinds) or None


def repo_license(repo: Any, tree: Any) -> str | None:
    """The license of a repository as found in the root of `tree` (the default branch tip)."""
    try:
        import pygit2
    except ImportError:
        raise MissingExtraError("git", "pygit2") from None
    files = []
    for entry in tree:
        if entry.type_str == "blob" and _LICENSE_FILE.match(entry.name):
            blob = repo[entry.id]
            if isinstance(blob, pygit2.Blob) and blob.size < 200_000:
                files.append((entry.name, blob.data))
    return detect_license(files)
