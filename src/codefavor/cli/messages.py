"""How the error boundary words what goes wrong: library messages with flags, usage errors in one line.

Library messages quote the parameters they are about in backticks (`output`, `overwrite=True`), as a
Python caller would pass them; at the command line the same words name the flags that set them
(--output, --overwrite). Usage errors come from typer's vendored click (or the click package) and
span several lines there; here they are one.
"""

from __future__ import annotations

import re
from typing import Any

import typer

EXIT_USER_ERROR, EXIT_INTERRUPTED = 2, 130
# Parameters whose flag is not their name in dashes (`name=True` -> --name, `name=False` -> --no-name).
FLAG_OF = {"decontaminate=False": "--no-decontam", "execute=False": "--no-exec", "weights": "--weight",
           "repos": "--repo", "judges": "--judge"}  # fmt: skip


def _flags(app: Any) -> set[str]:
    found: set[str] = set()
    stack = [typer.main.get_command(app)]
    while stack:
        cmd = stack.pop()
        stack += list(getattr(cmd, "commands", {}).values())
        for p in cmd.params:
            found.update(o for o in [*p.opts, *p.secondary_opts] if o.startswith("--"))
    return found


def as_flags(message: str, app: Any) -> str:
    """A library message with its quoted parameters (`output`, `overwrite=True`) named by the app's flags;
    a quoted name no flag sets stays as it is."""
    if "`" not in message:
        return message
    flags = _flags(app)

    def flag(m: re.Match[str]) -> str:
        quoted = m[0].strip("`")
        if quoted in FLAG_OF:
            return FLAG_OF[quoted]
        dashed = m[1].replace("_", "-")
        candidate = f"--no-{dashed}" if m[2] == "False" else f"--{dashed}"
        return candidate if candidate in flags else m[0]

    return re.sub(r"`([a-z][a-z_]*)(?:=(True|False|[A-Z_]+))?`", flag, message)


def usage_message(e: Exception) -> str | None:
    """One line for a usage error (no command, missing option, bad value, unknown command); None when
    `e` is not one."""
    if not hasattr(e, "format_message") or getattr(e, "exit_code", None) != EXIT_USER_ERROR:
        return None
    ctx = getattr(e, "ctx", None)
    where = ctx.command_path if ctx is not None else "codefavor"
    see = f"see '{where} --help'"
    head = where.partition(" ")[2]  # the subcommand, as in "generate critic-evol"
    head = f"{head}: " if head else ""
    if type(e).__name__ == "NoArgsIsHelpError" and ctx is not None:
        commands = getattr(ctx.command, "list_commands", None)
        if commands is not None:
            return f"{head}no command given; expected one of {', '.join(commands(ctx))} ({see})"
        return f"{head}no arguments given ({see})"
    text = " ".join(str(e.format_message()).split()).rstrip(".")
    return f"{head}{text} ({see})"
