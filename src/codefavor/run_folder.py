"""Run folders: the one manifest rule and the atomic writes that every resumable run uses.

A run folder holds append-only JSONL files (the work, committed line by line) and small files
written whole (manifest, funnel, summary), each through a temp file and a rename, so a kill leaves
the old copy or the new one, never half of either. The benchmark runner and both generators open
their folders here.

The manifest rule: `manifest.json` names the kind of run (`bench`, `commit-instruct`, ...), its
`settings` (everything that changes the output) and its `info` (what this invocation read: input
files, shard, limit; free to change between invocations). A restart compares the settings whole and
refuses any difference, so two experiments never mix in one folder. The manifest carries a layout
`format`; a folder written in another layout is refused with one line, never misread.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path
from typing import Any

from codefavor import __version__
from codefavor.errors import CodefavorError

MANIFEST = "manifest.json"
# The run-folder layout. 2: the outcome line is the commit point and holds the pair (generators);
# settings and info are separate keys of the manifest. Folders without a format are layout 1.
MANIFEST_FORMAT = 2


def write_text_atomic(path: str | Path, text: str) -> None:
    """Write a whole file through a temp file and a rename (readers see the old or the new file)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def write_json_atomic(path: str | Path, obj: Any) -> None:
    """`obj` as indented JSON, written atomically."""
    write_text_atomic(path, json.dumps(obj, indent=2, ensure_ascii=False) + "\n")


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")


def _plain(obj: Any) -> Any:
    """The JSON form of `obj` (tuples become lists), as it reads back from the manifest."""
    return json.loads(json.dumps(obj))


def _short(value: Any) -> str:
    text = json.dumps(value, sort_keys=True) if not isinstance(value, str) else repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def is_run_folder(path: str | Path) -> bool:
    """Whether `path` holds a codefavor run's manifest (not just any file named manifest.json)."""
    try:
        manifest = json.loads((Path(path) / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return False
    return isinstance(manifest, dict) and {"format", "kind", "settings"} <= manifest.keys()


def read_manifest(out_dir: str | Path) -> dict[str, Any] | None:
    """The manifest of a run folder, None when there is none; refuses an unreadable or old one."""
    out = Path(out_dir)
    path = out / MANIFEST
    if not path.exists():
        return None
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as e:
        raise CodefavorError(
            f"{path}: not a readable manifest ({e}); pass a fresh `output`, or `overwrite=True`"
        ) from None
    found = manifest.get("format", 1) if isinstance(manifest, dict) else None
    if found != MANIFEST_FORMAT:
        raise CodefavorError(
            f"{out} holds a run in an older layout (run-folder format {found}; this version reads format "
            f"{MANIFEST_FORMAT}), which it would misread; pass a fresh `output`, or `overwrite=True` to start again"
        )
    return manifest  # type: ignore[no-any-return]


def open_run(
    out_dir: str | Path,
    kind: str,
    settings: dict[str, Any],
    info: dict[str, Any] | None = None,
    *,
    overwrite: bool = False,
) -> dict[str, Any]:
    """Create or reopen a run folder; return its manifest (already written).

    Reopening checks the layout format, the kind and the settings (compared whole); `info` is
    merged over the stored info, `started_at` is kept and `finished_at` cleared until `close_run`.
    """
    out = Path(out_dir)
    if overwrite and out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)
    settings = _plain(settings)
    old = read_manifest(out)
    if old is None:
        manifest: dict[str, Any] = {"format": MANIFEST_FORMAT, "kind": kind, "settings": settings, "info": {}}
        manifest["started_at"] = _now()
    else:
        if old.get("kind") != kind:
            raise CodefavorError(
                f"{out} holds a {old.get('kind')!r} run, not {kind!r}; pass another `output`, or `overwrite=True`"
            )
        before = old.get("settings", {})
        if before != settings:
            keys = sorted(k for k in {*before, *settings} if before.get(k) != settings.get(k))
            what = "; ".join(f"{k}: {_short(before.get(k))}, not {_short(settings.get(k))}" for k in keys)
            raise CodefavorError(
                f"{out} holds a run with other settings ({what}); pass another `output`, or `overwrite=True` to start again"
            )
        manifest = old
    manifest["info"] = {**manifest.get("info", {}), **_plain(info or {})}
    manifest.update(codefavor_version=__version__, finished_at=None)
    save_manifest(out, manifest)
    return manifest


def save_manifest(out_dir: str | Path, manifest: dict[str, Any]) -> None:
    write_json_atomic(Path(out_dir) / MANIFEST, manifest)


def close_run(out_dir: str | Path, manifest: dict[str, Any], *, finished: bool, **info: Any) -> None:
    """Record the end of an invocation: `finished_at` when nothing is left to do, plus final info."""
    manifest["info"] = {**manifest.get("info", {}), **_plain(info)}
    manifest["finished_at"] = _now() if finished else None
    save_manifest(out_dir, manifest)
