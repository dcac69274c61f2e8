"""A learnable toy preference for smoke runs and tests: prefer code that does not call `eval`.

Each pair is two short functions that differ in one place: the rejected one turns text into a
value with `eval(...)`, the chosen one with a safe parser (`int`, `float`, `json.loads`,
`ast.literal_eval`). A judge that ignores the codes scores 50%; one that has learnt to find `eval`
and its position scores 100%. The CPU config (`configs/train/cpu_tiny.yaml`) trains on these
(`train_files: [toy:N]`), with a tiny random model from `codefavor.testing` (`model: testing:1m`).
"""

from __future__ import annotations

import random
from pathlib import Path

from codefavor.records import PreferencePair, Provenance, write_records

VERBS = ["read", "parse", "load", "get", "decode", "fetch", "take", "convert"]
NOUNS = ["value", "count", "price", "size", "limit", "score", "level", "total", "offset", "weight"]
SAFE = ["int({x})", "float({x})", "json.loads({x})", "ast.literal_eval({x})"]
SOURCES = ["input()", "text", "line.strip()", "raw", "os.environ['{N}']", "data[0]"]
TASKS = ["Read a {n} from the user.", "Parse the {n} given as text.", "Turn the {n} string into a number."]
TOY_CRITERION = "The code is secure: it never evaluates untrusted text."


def toy_pair(rng: random.Random) -> PreferencePair:
    noun = rng.choice(NOUNS)
    name = f"{rng.choice(VERBS)}_{noun}"
    src = rng.choice(SOURCES).format(N=noun.upper())
    arg = "text" if src == "text" else "raw" if src == "raw" else "line" if "line" in src else "data"
    safe = rng.choice(SAFE).format(x=src)
    body = "def {name}({arg}):\n    {noun} = {expr}\n    return {noun}\n"
    chosen = body.format(name=name, arg=arg, noun=noun, expr=safe)
    rejected = body.format(name=name, arg=arg, noun=noun, expr=f"eval({src})")
    return PreferencePair(
        instruction=rng.choice(TASKS).format(n=noun),
        chosen=chosen,
        rejected=rejected,
        criterion=TOY_CRITERION,
        feedback="[REJECTED] calls eval on untrusted text, which can run any code; [CHOSEN] parses it safely.",
        source="toy-no-eval",
        provenance=Provenance(prompt_version="toy-v1"),
    )


def toy_pairs(n: int, seed: int = 0) -> list[PreferencePair]:
    """`n` distinct toy pairs (deterministic for a seed)."""
    rng = random.Random(seed)
    pairs: dict[str, PreferencePair] = {}
    for _ in range(n * 20):
        p = toy_pair(rng)
        pairs.setdefault(p.id, p)
        if len(pairs) >= n:
            break
    return list(pairs.values())


def write_toy_pairs(path: str | Path, n: int, seed: int = 0) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_records(path, toy_pairs(n, seed))
    return path
