"""`codefavor judge` (one pair), `rank` (best of N) and `verify` (evidence-checked pairs)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from codefavor.cli.options import (
    Address,
    ApiKey,
    BaseUrl,
    Criterion,
    Engine,
    Instruction,
    Json,
    Judge,
    NoCache,
    Workers,
    echo_json,
    text_or_file,
)
from codefavor.prompts import DEFAULT_CRITERION


def judge(
    instruction: Instruction,
    a: Annotated[str, typer.Option("--a", help="File with candidate A's code (a Markdown reply: its longest block).")],
    b: Annotated[str, typer.Option("--b", help="File with candidate B's code.")],
    criterion: Criterion = DEFAULT_CRITERION,
    judge: Judge = None,
    base_url: BaseUrl = None,
    api_key: ApiKey = None,
    no_cache: NoCache = False,
    json_out: Json = False,
) -> None:
    """Judge one pair: print the verdict, its confidence and the evidence behind it.

    Exit codes: 0 a verdict was reached (A or B), 3 undecided, 2 a user error (missing file,
    unknown judge spec), 1 a bug.
    """
    from codefavor.backends import backend_options
    from codefavor.cli.verdicts import evidence_lines
    from codefavor.codetools import read_candidate
    from codefavor.errors import CodefavorError
    from codefavor.judges import DEFAULT_JUDGE, load_judge, pair_item

    def code(flag: str, path: str) -> str:
        try:
            return read_candidate(path)
        except CodefavorError as e:
            raise CodefavorError(f"{flag} {e}") from None

    item = pair_item(text_or_file(instruction, "--instruction"), code("--a", a), code("--b", b), criterion, id="cli")
    the_judge = load_judge(judge or DEFAULT_JUDGE, **backend_options(base_url, api_key, no_cache))
    v = the_judge.judge([item])[0]
    conf = None if v.prob_a is None else (v.prob_a if v.decision == "A" else 1 - v.prob_a)
    if json_out:
        echo_json({"judge": the_judge.spec, "decision": v.decision, "confidence": conf, "prob_a": v.prob_a,
                   "signal": v.signal, "details": v.details, "error": v.error})  # fmt: skip
    else:
        verdict = "undecided" if v.decision == "undecided" else f"Candidate {v.decision} is better"
        typer.echo(f"verdict: {verdict}")
        shown = "-" if conf is None else f"{conf:.2f}"
        typer.echo(f"confidence: {shown}   signal: {v.signal}   judge: {the_judge.spec}")
        for line in evidence_lines(v.details or {}):
            typer.echo(line)
        if v.error:
            typer.echo(f"error: {v.error}")
    if v.decision == "undecided":
        sys.exit(3)  # SystemExit passes through the error boundary untouched


def rank(
    candidates: Annotated[list[Path], typer.Argument(help="Files holding one candidate code each.")],
    instruction: Instruction,
    judge: Judge = None,
    criterion: Criterion = DEFAULT_CRITERION,
    scheme: Annotated[
        str, typer.Option(help="auto (round-robin up to 8, else swiss), round-robin, swiss or knockout.")
    ] = "auto",
    base_url: BaseUrl = None,
    api_key: ApiKey = None,
    no_cache: NoCache = False,
    json_out: Json = False,
) -> None:
    """Pick the best of N candidate codes with a pairwise judge (both orders per comparison)."""
    from codefavor.backends import backend_options
    from codefavor.cli.options import warn
    from codefavor.codetools import read_candidate
    from codefavor.errors import CodefavorError
    from codefavor.judges import DEFAULT_JUDGE, load_judge
    from codefavor.rank import SCHEMES
    from codefavor.rank import rank as rank_candidates

    if scheme not in SCHEMES:
        raise CodefavorError(f"--scheme {scheme!r}: expected one of {', '.join(SCHEMES)}")
    codes = [read_candidate(p) for p in candidates]
    if len(codes) == 1:
        warn(f"only one candidate ({candidates[0]}): nothing to compare, so it is the pick")
    the_judge = load_judge(judge or DEFAULT_JUDGE, **backend_options(base_url, api_key, no_cache))
    result = rank_candidates(
        text_or_file(instruction, "--instruction"),
        codes,
        the_judge,
        criterion=criterion,
        scheme=scheme,  # type: ignore[arg-type]
    )
    if json_out:
        out = result.to_dict()
        out.update(judge=the_judge.spec, criterion=criterion, files=[str(p) for p in candidates])
        out["best_file"] = str(candidates[result.best])
        for s in out["standings"]:
            s["file"] = str(candidates[s["index"]])
        echo_json(out)
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"rank: {the_judge.spec}, {result.scheme}, {len(result.comparisons)} comparisons")
    for col in ("#", "candidate", "wins", "P(win) sum", "played"):
        table.add_column(col, justify="left" if col == "candidate" else "right")
    for place, i in enumerate(result.ranking, start=1):
        s = result.standings[i]
        table.add_row(str(place), str(candidates[i]), f"{s.wins:g}", f"{s.prob_sum:.2f}", str(s.played))
    Console().print(table)
    typer.echo(f"best: {candidates[result.best]}")


def verify(
    pairs: Annotated[Path, typer.Argument(help="PreferencePair JSONL(.gz) to check.")],
    output: Annotated[Path, typer.Option(help="Kept pairs, each annotated with its evidence (appended; resumable).")],
    removed: Annotated[
        Optional[Path], typer.Option(help="Removed pairs and the rules they broke (default OUTPUT.removed.jsonl).")
    ] = None,
    batch_size: Annotated[int, typer.Option(help="Pairs whose examples run in the sandbox together.")] = 32,
    skip_bad: Annotated[bool, typer.Option(help="Skip malformed lines (counted) instead of stopping.")] = False,
    engine: Engine = "local",
    address: Address = None,
    workers: Workers = None,
    json_out: Json = False,
) -> None:
    """Annotate pairs with evidence and drop those it contradicts (resumable)."""
    from codefavor.cli.options import counting_bar
    from codefavor.engines import EngineSpec
    from codefavor.verify import RULES, removed_path_for, verify_pairs

    where = EngineSpec(engine, address, workers)

    with counting_bar("verifying", disable=json_out) as bar:
        stats = verify_pairs(
            pairs, output, removed=removed, batch_size=batch_size, skip_bad=skip_bad, on_start=bar.start,
            progress=bar.advance, engine=where,
        )  # fmt: skip
    summary = stats.to_dict()
    summary.update(output=str(output), removed_file=str(removed or removed_path_for(output)))
    if json_out:
        echo_json(summary)
        return
    typer.echo(
        f"read {stats.read}, already done {stats.already_done}, checked {stats.kept + stats.removed}: "
        f"kept {stats.kept}, removed {stats.removed}"
        + (f", duplicate lines {stats.duplicates}" if stats.duplicates else "")
        + (f", bad lines skipped {stats.bad_lines}" if stats.bad_lines else "")
        + (f", not checked (retried next run) {stats.errors}" if stats.errors else "")
    )
    for rule in RULES:
        typer.echo(f"  removed by {rule}: {stats.by_rule.get(rule, 0)}")
    typer.echo(f"kept: {output}\nremoved: {summary['removed_file']}")
