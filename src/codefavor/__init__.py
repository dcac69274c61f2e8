"""codefavor: learn and judge code preference (CodeFavor / CodePrefBench).

Public names are re-exported lazily so `import codefavor` stays light (no torch, no HTTP client).
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__", "load_backend", "load_judge"]


def __getattr__(name: str):  # PEP 562: import the heavy parts only when asked for
    if name == "load_judge":
        from codefavor.judges import load_judge

        return load_judge
    if name == "load_backend":
        from codefavor.backends import load_backend

        return load_backend
    raise AttributeError(f"module 'codefavor' has no attribute {name!r}")
