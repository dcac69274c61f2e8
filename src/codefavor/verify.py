"""Evidence-checked synthetic data: annotate preference pairs with evidence, drop those it contradicts.

For every `PreferencePair` we gather what can be verified without a model: the instruction's
examples run on both codes in the sandbox (how many each passes, whether each loads and defines the
entry point), the security findings of each code (Bandit, or line patterns for code it cannot
parse), and, when the criterion is about efficiency, which code is measurably faster on scaled-up
examples. A pair is removed when its evidence contradicts the label:
- `examples`: the chosen code passes fewer of the instruction's examples than the rejected one;
- `loads`: the chosen code does not load (or lacks the entry point) while the rejected one does;
- `security`: the chosen code has a security finding the rejected one lacks and scores worse
  overall (counting medium and high severity; low too when the criterion is security);
- `efficiency`: the criterion is efficiency and the rejected code is clearly faster.
Kept pairs go to the output with the evidence under `meta["evidence"]`; removed ones go to a second
file with the rules they broke. Both are appended as each batch finishes, and a rerun skips the ids
already in either file, so an interrupted run resumes without redoing or duplicating work. Neither
output may be the input (the input would be appended to while it is read, and a resume would take
its own pairs for finished work).

The per-pair work is `annotate` (pair -> annotated pair), wrapped as `VerifyStage` so any engine of
`codefavor.engines` maps it; this process writes the outputs whatever engine ran it. On a remote engine
a pair whose evidence could not be gathered (the worker's sandbox failed, the worker died) goes to
`NAME.errors.jsonl` with why, and is tried again by the next run; in this process such a failure ends
the run, as the sandbox is never bypassed.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from codefavor.engines import LOCAL, EngineSpec, built, map_batches
from codefavor.errors import CodefavorError
from codefavor.evidence import Evidence
from codefavor.records import JsonlAppender, PreferencePair, ReadStats, done_ids, read_records

RULES: tuple[str, ...] = ("examples", "loads", "security", "efficiency")
SERIOUS = {"MEDIUM", "HIGH"}
SECURITY_MARGIN = 0.25  # the same margin the security evidence uses to call a difference clear


@dataclass
class VerifyStats:
    read: int = 0
    already_done: int = 0  # in an output file from an earlier run
    duplicates: int = 0  # a pair repeated later in the input: checked once
    kept: int = 0
    removed: int = 0
    by_rule: Counter[str] = field(default_factory=Counter)  # a pair can break several rules
    bad_lines: int = 0
    errors: int = 0  # pairs a remote engine could not check (NAME.errors.jsonl; retried next run)

    def to_dict(self) -> dict[str, Any]:
        return {
            "read": self.read,
            "already_done": self.already_done,
            "duplicates": self.duplicates,
            "checked": self.kept + self.removed,
            "kept": self.kept,
            "removed": self.removed,
            "removed_by_rule": {r: self.by_rule.get(r, 0) for r in RULES},
            "bad_lines": self.bad_lines,
        } | ({"errors": self.errors} if self.errors else {})


def removed_path_for(output: Path, kind: str = "removed") -> Path:
    """Where the removed pairs go by default: beside the output, `NAME.removed.jsonl` (`kind`
    "errors": where a remote engine's failed pairs go)."""
    name = output.name.removesuffix(".gz").removesuffix(".jsonl")
    return output.with_name(f"{name}.{kind}.jsonl")


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve() or (a.exists() and b.exists() and a.samefile(b))
    except OSError:
        return False


def _check_outputs(input_path: Path, output: Path, removed: Path) -> None:
    """Refuse outputs that are the input or each other, before anything is read or written."""
    for name, path in (("output", output), ("removed", removed)):
        if _same_file(path, input_path):
            raise CodefavorError(
                f"`{name}` {path} is the input file; verify appends to its outputs while it reads the input, "
                "so write to another file"
            )
    if _same_file(output, removed):
        raise CodefavorError(f"`output` and `removed` are the same file ({output}); kept and removed pairs need two")


def _category(pair: PreferencePair) -> str:
    from codefavor.judges import PairItem
    from codefavor.judges.evidence import infer_category

    return infer_category(PairItem(pair.instruction, pair.chosen, pair.rejected, pair.criterion))


def _relevant(found: list[dict[str, Any]], category: str) -> list[dict[str, Any]]:
    return [f for f in found if category == "security" or f["severity"] in SERIOUS]


def _score(found: list[dict[str, Any]]) -> float:
    from codefavor.evidence.security import score

    return score(found)  # each kind of weakness once, as the security evidence counts it


def gather_evidence(
    pairs: Sequence[PreferencePair],
    sandbox: Any,
    *,
    efficiency: Callable[[str, str, str], Evidence] | None = None,
) -> list[dict[str, Any]]:
    """The evidence for each pair (plain JSON), with `contradicts`: the rules it breaks.

    The facts come from the evidence functions themselves: `correctness.run_examples` (every code on
    its instruction's examples, one batch) and `load_problem`, `security.compare_security` (like with
    like), and `efficiency(instruction, chosen, rejected)`, an efficiency `Evidence` (A = chosen); by
    default `compare_efficiency` measured in the same sandbox.
    """
    from codefavor.evidence.correctness import load_problem, run_examples
    from codefavor.evidence.security import compare_security

    if efficiency is None:
        from codefavor.evidence.efficiency import compare_efficiency, sandbox_runner

        runner = sandbox_runner(sandbox)

        def efficiency(ins: str, a: str, b: str) -> Evidence:
            return compare_efficiency(ins, a, b, runner=runner)

    ran = run_examples([(p.instruction, (p.chosen, p.rejected)) for p in pairs], sandbox)  # one concurrent batch
    out = []
    for p, (ex, (rc, rr)) in zip(pairs, ran, strict=True):
        category = _category(p)
        ev: dict[str, Any] = {"category": category, "entry": ex.entry}
        broken: list[str] = []
        if ex.checks:
            ev["examples"] = {
                "checks": len(ex.checks),
                "chosen_passed": rc.n_passed,
                "rejected_passed": rr.n_passed,
                "chosen_failed": [c.name for c in rc.checks if not c.passed][:10],
                "rejected_failed": [c.name for c in rr.checks if not c.passed][:10],
            }
            if rc.n_passed < rr.n_passed:
                broken.append("examples")
        lc, lr = load_problem(rc, ex), load_problem(rr, ex)
        ev["loads"] = {"chosen": lc, "rejected": lr}
        if lc is not None and lr is None:
            broken.append("loads")
        sec = compare_security(p.chosen, p.rejected).details
        fc, fr = sec["a"]["findings"], sec["b"]["findings"]
        ev["security"] = {
            "analyzer": sec["analyzer"],
            "chosen": sorted({f"{f['rule']}:{f['severity']}" for f in fc}),
            "rejected": sorted({f"{f['rule']}:{f['severity']}" for f in fr}),
        }
        # A finding the rejected code lacks counts only when it also leaves the chosen code worse
        # overall: a safe call often draws a milder finding of its own (B603 for B602's fix).
        rc_, rr_ = _relevant(fc, category), _relevant(fr, category)
        if {f["rule"] for f in rc_} - {f["rule"] for f in fr} and _score(rc_) > _score(rr_) + SECURITY_MARGIN:
            broken.append("security")
        if category == "efficiency":
            e = efficiency(p.instruction, p.chosen, p.rejected)
            measured = e.details.get("efficiency", {})
            faster = {"A": "chosen", "B": "rejected"}.get(e.decision)
            ev["efficiency"] = {
                "faster": faster,
                "reason": measured.get("reason"),
                "ratio_rejected_over_chosen": measured.get("ratio"),
            }
            if faster == "rejected":
                broken.append("efficiency")
        ev["contradicts"] = broken
        out.append(ev)
    return out


def annotate(
    pairs: Sequence[PreferencePair],
    sandbox: Any,
    *,
    efficiency: Callable[[str, str, str], Evidence] | None = None,
) -> list[PreferencePair]:
    """Each pair with its evidence under `meta["evidence"]` (`gather_evidence`), in order."""
    evidence = gather_evidence(pairs, sandbox, efficiency=efficiency)
    return [p.model_copy(update={"meta": {**p.meta, "evidence": ev}}) for p, ev in zip(pairs, evidence, strict=True)]


@dataclass(frozen=True)
class VerifyStage:
    """`annotate` as a stage: the sandbox (default: this worker's own pool) built where it runs."""

    sandbox: Any = None
    efficiency: Callable[[str, str, str], Evidence] | None = None

    def setup(self) -> Callable[[list[PreferencePair]], list[PreferencePair]]:
        from codefavor.evidence.sandbox import default_sandbox

        sandbox = built(self.sandbox) or default_sandbox()
        return lambda pairs: annotate(pairs, sandbox, efficiency=self.efficiency)


def verify_pairs(
    input_path: str | Path,
    output: str | Path,
    *,
    removed: str | Path | None = None,
    sandbox: Any = None,
    batch_size: int = 32,
    skip_bad: bool = False,
    efficiency: Callable[[str, str, str], Evidence] | None = None,
    on_start: Callable[[int, int], None] | None = None,
    progress: Callable[[int], None] | None = None,
    engine: EngineSpec = LOCAL,
) -> VerifyStats:
    """Annotate and filter the pairs of `input_path` (see the module docstring); resumable.

    Returns the counts of this call (pairs already in either output file count as `already_done`).
    """
    from codefavor.evidence.sandbox import SandboxError

    if batch_size < 1:
        raise CodefavorError(f"`batch_size` {batch_size}: expected a positive number")
    output = Path(output)
    removed_path = Path(removed) if removed else removed_path_for(output)
    _check_outputs(Path(input_path), output, removed_path)
    done = done_ids(output) | done_ids(removed_path)
    stats = VerifyStats()
    read_stats = ReadStats()
    todo: list[PreferencePair] = []
    seen: set[str] = set()
    for pair in read_records(input_path, PreferencePair, skip_bad=skip_bad, stats=read_stats):
        stats.read += 1
        if pair.id in seen:  # a duplicate line later in the input is checked once, and counted as such
            stats.duplicates += 1
            continue
        seen.add(pair.id)
        if pair.id in done:
            stats.already_done += 1
            continue
        todo.append(pair)
    stats.bad_lines = read_stats.bad
    if on_start:
        on_start(stats.read, stats.already_done)
    stage = VerifyStage(sandbox, efficiency)
    chunks = (todo[start : start + batch_size] for start in range(0, len(todo), batch_size))
    errors = _ErrorLog(removed_path_for(output, "errors"))
    with JsonlAppender(output) as keep, JsonlAppender(removed_path) as drop:
        try:
            for chunk, results in map_batches(engine, stage, chunks, failed=lambda pair, why: why):
                for pair, annotated in zip(chunk, results, strict=True):
                    if isinstance(annotated, str):  # a remote engine could not check it: retried next run
                        errors.write({"id": pair.id, "error": annotated})
                        stats.errors += 1
                        continue
                    contradicts = annotated.meta["evidence"]["contradicts"]
                    if contradicts:
                        drop.write(annotated)
                        stats.removed += 1
                        stats.by_rule.update(contradicts)
                    else:
                        keep.write(annotated)
                        stats.kept += 1
                if progress:
                    progress(len(chunk))
        except SandboxError as e:  # never run candidates uncontained; what is written so far stays
            raise CodefavorError(f"verify runs candidate code and needs the sandbox: {e}") from None
        finally:
            errors.close()
    return stats


class _ErrorLog:
    """NAME.errors.jsonl, opened only when there is an error to write."""

    def __init__(self, path: Path):
        self.path, self._sink = path, None

    def write(self, rec: dict[str, Any]) -> None:
        if self._sink is None:
            self._sink = JsonlAppender(self.path)
        self._sink.write(rec)

    def close(self) -> None:
        if self._sink is not None:
            self._sink.close()
