"""Build a git repository whose history replays real code evolution from folders of snapshots.

Where no clone with history is at hand (offline machines), successive releases of the same code
(for example each installed Python's standard library) are a real record of developers' changes.
This script commits the first snapshot, then, for each next snapshot, one commit per changed file
(sorted by path), so Commit-Instruct mining sees single-file modifications of real code:

    python benchmarks/snapshot_history.py /tmp/stdlib-history \
        /root/.pyenv/versions/3.{6.15,7.16,8.18,9.18,10.13,11.7,12.1,13.0}/lib/python3.*/ --glob '*.py' \
        --license /root/.pyenv/versions/3.13.0/lib/python3.13/LICENSE.txt
    codefavor generate commit-instruct --repo /tmp/stdlib-history --backend fake:commit-replay --output runs/ci-stdlib

It uses `git fast-import`, so tens of thousands of commits take seconds.
"""

from __future__ import annotations

import argparse
import subprocess
from pathlib import Path

SKIP_PARTS = {"test", "tests", "site-packages", "idlelib", "lib2to3", "__pycache__", "config-3", "ensurepip"}


def snapshot(root: Path, pattern: str, max_bytes: int) -> dict[str, bytes]:
    files = {}
    for p in sorted(root.rglob(pattern)):
        rel = p.relative_to(root)
        if any(part in SKIP_PARTS or part.startswith("config-") for part in rel.parts):
            continue
        if p.is_file() and p.stat().st_size <= max_bytes:
            files[rel.as_posix()] = p.read_bytes()
    return files


def _data(out: list[bytes], payload: bytes) -> None:
    out.append(b"data %d\n" % len(payload))
    out.append(payload)
    out.append(b"\n")


def build(dest: Path, roots: list[Path], pattern: str, license_file: Path | None, max_bytes: int) -> int:
    dest.mkdir(parents=True, exist_ok=True)
    subprocess.run(["git", "init", "-q", "-b", "main", str(dest)], check=True)
    stream: list[bytes] = []
    mark, when, commits = 0, 1_500_000_000, 0
    prev: dict[str, bytes] = {}

    def commit(message: str, changes: list[tuple[str, bytes | None]]) -> None:
        nonlocal mark, when, commits
        mark += 1
        when += 3600
        stream.append(b"commit refs/heads/main\nmark :%d\n" % mark)
        stream.append(b"author Snapshot <snapshot@example.com> %d +0000\n" % when)
        stream.append(b"committer Snapshot <snapshot@example.com> %d +0000\n" % when)
        _data(stream, message.encode("utf-8"))
        if mark > 1:
            stream.append(b"from :%d\n" % (mark - 1))
        for path, content in changes:
            if content is None:
                stream.append(b"D %s\n" % path.encode("utf-8"))
            else:
                stream.append(b"M 100644 inline %s\n" % path.encode("utf-8"))
                _data(stream, content)
        commits += 1

    for i, root in enumerate(roots):
        files = snapshot(root, pattern, max_bytes)
        if i == 0:
            first = sorted(files.items())
            if license_file is not None:
                first.append(("LICENSE", license_file.read_bytes()))
            commit(f"Import {root}", first)  # type: ignore[arg-type]
        else:
            for path in sorted(set(files) | set(prev)):
                old, new = prev.get(path), files.get(path)
                if old == new:
                    continue
                verb = "Add" if old is None else "Remove" if new is None else "Update"
                commit(f"{verb} {path} as in {root}", [(path, new)])
        prev = files
    subprocess.run(["git", "-C", str(dest), "fast-import", "--quiet"], input=b"".join(stream), check=True)
    subprocess.run(["git", "-C", str(dest), "reset", "-q", "--hard", "main"], check=True)
    return commits


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("dest", type=Path)
    ap.add_argument("roots", type=Path, nargs="+", help="snapshot folders, oldest first")
    ap.add_argument("--glob", default="*.py")
    ap.add_argument("--license", type=Path, default=None, help="a license file to add at the root")
    ap.add_argument("--max-bytes", type=int, default=200_000)
    args = ap.parse_args(argv)
    n = build(args.dest, args.roots, args.glob, args.license, args.max_bytes)
    print(f"{args.dest}: {n} commits")


if __name__ == "__main__":
    main()
