"""Error types: one base for mistakes a user can fix, turned into one-line messages by the CLI.

Tracebacks are for bugs; a bad input file, a missing extra or an unknown spec string is a
`CodefavorError` whose message says what is wrong and what to change.
"""

from __future__ import annotations


class CodefavorError(Exception):
    """A user-facing error: the CLI prints its message on one line and exits with code 2."""


class DataError(CodefavorError):
    """Bad input data, located by file, line and (where known) field."""

    def __init__(self, path: str, line: int | None, message: str, field: str | None = None):
        self.path, self.line, self.field, self.reason = str(path), line, field, message
        where = self.path if line is None else f"{self.path}:{line}"
        what = f"field {field!r}: {message}" if field else message
        super().__init__(f"{where}: {what}")


class MissingExtraError(CodefavorError, ImportError):
    """An optional dependency is not installed; the message names the extra to install."""

    def __init__(self, extra: str, module: str):
        super().__init__(f"this feature needs {module!r}; install it with: pip install 'codefavor[{extra}]'")
