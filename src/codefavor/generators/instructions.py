"""Instruction sources for Critic-Evol: rows with an instruction and, optionally, a first attempt
(Self-OSS-Instruct style), from JSONL(.gz), Parquet or a Hugging Face dataset (`inputs.read_rows`).

Every row becomes a `Seed` with a stable id (the row's own, or a hash of the instruction), so a
restart and a shard find the same items; a bad row is one `DataError` naming file, line and field.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from codefavor.errors import DataError
from codefavor.generators.inputs import Shard, in_shard, read_rows
from codefavor.records import content_id


@dataclass(frozen=True)
class Seed:
    """One instruction to evolve; `response` is an existing first attempt when the input has one."""

    id: str
    instruction: str
    response: str | None = None


def _seed_from(obj: dict[str, Any], where: tuple[str, int], fields: tuple[str, str, str]) -> Seed:
    instr_f, resp_f, id_f = fields
    instruction = obj.get(instr_f)
    if not isinstance(instruction, str) or not instruction.strip():
        raise DataError(where[0], where[1], "missing or empty (expected a non-empty string)", field=instr_f)
    response = obj.get(resp_f)
    if response is not None and not isinstance(response, str):
        raise DataError(where[0], where[1], f"expected a string, got {type(response).__name__}", field=resp_f)
    raw_id = obj.get(id_f)
    sid = str(raw_id) if isinstance(raw_id, (str, int)) and str(raw_id) else content_id("seed", instruction)
    return Seed(sid, instruction, response if response and response.strip() else None)


def load_seeds(
    path: str | Path | None = None,
    *,
    hf_dataset: str | None = None,
    hf_config: str | None = None,
    hf_split: str = "train",
    instruction_field: str = "instruction",
    response_field: str = "response",
    id_field: str = "id",
    shard: Shard | None = None,
    stats: Counter[str] | None = None,
) -> list[Seed]:
    """Read instructions (the shard's only, by a hash of the id); a bad row raises one `DataError`
    naming file, line (or row) and field.

    Rows repeating an id with the same instruction are skipped and counted in `stats["duplicate_inputs"]`;
    an id reused for a different instruction is an error (resume could not tell the two apart).
    """
    fields = (instruction_field, response_field, id_field)
    seeds: list[Seed] = []
    first_seen: dict[str, tuple[int, str]] = {}
    rows = read_rows(path, hf_dataset=hf_dataset, hf_config=hf_config, hf_split=hf_split, columns=list(fields))
    for src, line, obj in rows:
        seed = _seed_from(obj, (src, line), fields)
        if seed.id in first_seen:
            prev_line, prev_instr = first_seen[seed.id]
            if prev_instr != seed.instruction:
                raise DataError(src, line, f"duplicate id {seed.id!r} (also on line {prev_line})", field=id_field)
            if stats is not None:
                stats["duplicate_inputs"] += 1
            continue
        first_seen[seed.id] = (line, seed.instruction)
        if in_shard(seed.id, shard):
            seeds.append(seed)
    return seeds


def open_source(
    input: str | Path | None = None,
    *,
    hf_dataset: str | None = None,
    hf_config: str | None = None,
    hf_split: str = "train",
    shard: Shard | None = None,
    **fields: str,
) -> tuple[list[Seed], dict[str, Any]]:
    """The seeds of one input (`load_seeds`) and a description of it for the manifest."""
    stats: Counter[str] = Counter()
    seeds = load_seeds(
        input, hf_dataset=hf_dataset, hf_config=hf_config, hf_split=hf_split, shard=shard, stats=stats, **fields
    )
    info = {
        "input": str(input) if input else None,
        "hf_dataset": hf_dataset,
        **({"hf_config": hf_config} if hf_config else {}),
        "hf_split": hf_split if hf_dataset else None,
        "shard": f"{shard[0]}/{shard[1]}" if shard else None,
        "duplicate_inputs": stats["duplicate_inputs"],
    }
    return seeds, info
