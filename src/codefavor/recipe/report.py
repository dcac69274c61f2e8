"""The recipe's report: the generators' funnels and one table of the benched judges, paired against zero-shot."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def render(recipe: Any, inputs: dict[str, dict[str, str]], reads: Sequence[str]) -> tuple[str, dict[str, Any]]:
    return f"# {recipe.name}\n", {}
