"""Batch jobs: chat requests sent as OpenAI batch files instead of one call each (about half price).

`OpenAIBackend(..., batch=FOLDER)` hands its cache misses to `BatchJobs(FOLDER).run(requests)`, which
writes them as one batch file (JSONL lines `{custom_id, method, url, body}`, where `custom_id` is the
request's response-cache key, a content hash), uploads it (`/v1/files`), creates a batch
(`/v1/batches`), polls it, downloads its output and error files and answers each request with a
`Generation`, so the stage above runs as it would on direct calls. The folder (a run folder's
`batch/`) holds:

  jobs.jsonl     the journal, one event a line: `prepared` (job id, its input file, the custom_ids),
                 `uploaded` (file id), `submitted` (batch id), `finished` (status, output and error
                 file ids). Each is written before the next step starts.
  inputs/J.jsonl the batch file of job J (also what `vllm run-batch -i` reads)
  results.jsonl  one line per collected answer or failure: custom_id, texts and usage, or error

Exactly once: a rerun after a kill reads the journal and resumes every unfinished job on the same
server (polls a submitted one, submits a prepared one) before it submits anything new; a job is
created with `metadata.codefavor_job` = its id, and a job that was uploaded but not recorded as
submitted is first looked up by that id among the server's batches, so a kill between create and
the journal line does not submit it twice. Failed lines (an error status, an error-file line, a
line missing from the output, an expired or cancelled batch's unfinished lines) are resubmitted in
a new batch of just those, up to `max_rounds` times per run; what still fails is answered with
`Generation.error` and recorded, so the stage records it per row and a later rerun tries again.

Offline (`offline=True`): the batch file is written and the run stops with a message naming it;
`vllm run-batch -i FILE -o OUT --model M` runs it, `codefavor batch collect OUT --into FOLDER` (that
is `collect_file`) reads OUT into `results.jsonl`, and a rerun of the stage picks the answers up.
"""

from __future__ import annotations

import hashlib
import json
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from codefavor.backends import Generation
from codefavor.errors import CodefavorError

JOURNAL, RESULTS, INPUTS = "jobs.jsonl", "results.jsonl", "inputs"
ENDPOINT = "/v1/chat/completions"
FINAL = frozenset({"completed", "failed", "expired", "cancelled"})


def job_id(custom_ids: list[str], round_: int) -> str:
    """A job id from what it asks for: the same requests in the same round get the same id."""
    return hashlib.sha256(("\n".join(sorted(custom_ids)) + f"\n#{round_}").encode()).hexdigest()[:20]


def batch_line(custom_id: str, body: Mapping[str, Any], url: str = ENDPOINT) -> dict[str, Any]:
    return {"custom_id": custom_id, "method": "POST", "url": url, "body": dict(body)}


def parse_output_line(line: Mapping[str, Any]) -> tuple[str, Generation]:
    """(custom_id, Generation) from a line of a batch output or error file (OpenAI's and `vllm
    run-batch`'s format); a failure becomes a Generation with `error`. Never raises on odd lines."""
    from codefavor.backends.openai import completion_from_body

    cid = str(line.get("custom_id") or "")
    response = line.get("response") if isinstance(line.get("response"), Mapping) else None
    error = line.get("error")
    status = response.get("status_code") if response else None
    if response and status == 200 and not error:
        return cid, completion_from_body(response.get("body"))
    if isinstance(error, Mapping):
        reason = f"{error.get('code') or 'error'}: {error.get('message') or ''}".rstrip(": ")
    elif error:
        reason = str(error)
    else:
        body = response.get("body") if response else None
        detail = (body.get("error") or {}).get("message", "") if isinstance(body, Mapping) else ""
        reason = f"HTTP {status}: {detail}".rstrip(": ") if status else "no response"
    from codefavor.backends.openai import REFUSED_STATUS

    return cid, Generation(error=f"batch: {reason}", refused=status in REFUSED_STATUS)


def _gen_line(cid: str, gen: Generation) -> dict[str, Any]:
    if gen.error is not None:
        return {"custom_id": cid, "error": gen.error, **({"refused": True} if gen.refused else {})}
    return {"custom_id": cid, "texts": gen.texts, "usage": gen.usage}


def _gen_from_line(row: Mapping[str, Any]) -> Generation:
    if row.get("error") is not None:
        return Generation(error=str(row["error"]), refused=bool(row.get("refused")))
    usage = row.get("usage") or {}
    return Generation(
        texts=list(row.get("texts") or []),
        prompt_tokens=int(usage.get("prompt_tokens") or 0),
        completion_tokens=int(usage.get("completion_tokens") or 0),
    )


def _finished(job: Mapping[str, Any]) -> bool:
    """Whether a job's merged events include `finished` (the only event that records a status)."""
    return "status" in job


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    """The whole lines of a JSONL file; a torn last line (a kill mid-write) is skipped."""
    if not path.exists():
        return []
    rows = []
    for text in path.read_text(encoding="utf-8").splitlines():
        try:
            row = json.loads(text)
        except ValueError:
            continue
        if isinstance(row, dict):
            rows.append(row)
    return rows


def _append(path: Path, row: Mapping[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as f:
        f.write(json.dumps(row, ensure_ascii=False) + "\n")
        f.flush()


class BatchJobs:
    """Batch jobs of one server kept in one folder; `run(requests)` answers them all (see the module)."""

    def __init__(
        self,
        folder: str | Path,
        *,
        base_url: str,
        api_key: str | None = None,
        poll_s: float = 30.0,
        max_rounds: int = 3,
        completion_window: str = "24h",
        offline: bool = False,
        client: Any = None,
        log: Callable[[str], None] | None = None,
    ):
        self.folder = Path(folder)
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key
        self.poll_s = float(poll_s)
        self.max_rounds = int(max_rounds)
        self.completion_window = completion_window
        self.offline = offline
        self._client = client
        self.log = log or (lambda text: print(f"codefavor: {text}", file=sys.stderr, flush=True))

    @property
    def client(self) -> Any:
        if self._client is None:
            import openai

            self._client = openai.OpenAI(base_url=self.base_url, api_key=self.api_key or "none")
        return self._client

    # -- the state on disk ------------------------------------------------------------------

    def _jobs(self) -> dict[str, dict[str, Any]]:
        """Job id -> its merged events, for this server only, in the order they were prepared."""
        jobs: dict[str, dict[str, Any]] = {}
        for ev in _read_jsonl(self.folder / JOURNAL):
            if ev.get("base_url") != self.base_url or "job" not in ev:
                continue
            jobs.setdefault(ev["job"], {}).update(ev)
        return jobs

    def results(self) -> dict[str, Generation]:
        """custom_id -> its last collected answer; an answer, once collected, beats a later failure."""
        out: dict[str, Generation] = {}
        for row in _read_jsonl(self.folder / RESULTS):
            cid = row.get("custom_id")
            if not isinstance(cid, str):
                continue
            gen = _gen_from_line(row)
            if gen.error is None or cid not in out or out[cid].error is not None:
                out[cid] = gen
        return out

    def _event(self, **ev: Any) -> None:
        _append(self.folder / JOURNAL, {"base_url": self.base_url, "at": round(time.time(), 3), **ev})

    def _record(self, answers: Mapping[str, Generation]) -> None:
        path = self.folder / RESULTS
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8") as f:
            for cid, gen in answers.items():
                f.write(json.dumps(_gen_line(cid, gen), ensure_ascii=False) + "\n")
            f.flush()

    # -- the run ----------------------------------------------------------------------------

    def run(self, requests: Mapping[str, Mapping[str, Any]]) -> dict[str, Generation]:
        """An answer (or a recorded failure) for every custom_id in `requests` (custom_id -> chat body)."""
        want = set(requests)
        answers = {c: g for c, g in self.results().items() if c in want and g.error is None}
        # 1. Unfinished jobs first (a rerun after a kill), so nothing is submitted twice.
        for jid, job in self._jobs().items():
            if _finished(job) or not (set(job.get("ids") or ()) & (want - set(answers))):
                continue
            answers.update({c: g for c, g in self._drive(jid, job).items() if g.error is None and c in want})
        # 2. New rounds for what is still missing, bounded.
        failures: dict[str, Generation] = {}
        for _ in range(self.max_rounds):
            pending = sorted(want - set(answers))
            if not pending:
                break
            jid = self._prepare(pending, requests)
            got = self._drive(jid, self._jobs()[jid])
            for c in pending:
                g = got.get(c) or Generation(error="batch: missing from the batch output")
                if g.error is None:
                    answers[c] = g
                    failures.pop(c, None)
                else:
                    failures[c] = g
        return {c: answers.get(c) or failures.get(c) or Generation(error="batch: not collected") for c in want}

    def _prepare(self, ids: list[str], requests: Mapping[str, Mapping[str, Any]]) -> str:
        """Write job J's batch file and its `prepared` event (or reuse both, when a kill fell after them)."""
        round_ = 0
        jobs = self._jobs()
        while job_id(ids, round_) in jobs and _finished(jobs[job_id(ids, round_)]):
            round_ += 1  # the same requests again (a retry of failures): a new job
        jid = job_id(ids, round_)
        if jid in jobs:
            return jid
        path = self.folder / INPUTS / f"{jid}.jsonl"
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(
            "".join(json.dumps(batch_line(c, requests[c]), ensure_ascii=False) + "\n" for c in ids), encoding="utf-8"
        )
        tmp.replace(path)
        self._event(event="prepared", job=jid, input=str(path.relative_to(self.folder)), ids=ids)
        return jid

    def _drive(self, jid: str, job: dict[str, Any]) -> dict[str, Generation]:
        """Take job `jid` from wherever the journal left it to collected answers."""
        input_path = self.folder / job["input"]
        if self.offline:
            raise CodefavorError(
                f"batch file written: {input_path} ({len(job['ids'])} requests); run it, e.g. "
                f"`vllm run-batch -i {input_path} -o OUT.jsonl --model MODEL`, then "
                f"`codefavor batch collect OUT.jsonl --into {self.folder}` and rerun this command"
            )
        batch_id = job.get("batch_id")
        if batch_id is None:
            file_id = job.get("file_id")
            if file_id is not None:
                batch_id = self._find_created(jid)  # a kill may have fallen between create and its event
            if file_id is None:
                with input_path.open("rb") as f:
                    file_id = self.client.files.create(file=f, purpose="batch").id
                self._event(event="uploaded", job=jid, file_id=file_id)
            if batch_id is None:
                batch_id = self.client.batches.create(
                    input_file_id=file_id, endpoint=ENDPOINT, completion_window=self.completion_window,
                    metadata={"codefavor_job": jid},
                ).id  # fmt: skip
            self._event(event="submitted", job=jid, batch_id=batch_id)
            self.log(f"batch {batch_id} submitted ({len(job['ids'])} requests; job {jid} in {self.folder})")
        batch = self._wait(batch_id)
        got = self._collect(batch, job["ids"])
        self._record(got)
        self._event(
            event="finished", job=jid, status=batch.status, output_file_id=batch.output_file_id,
            error_file_id=batch.error_file_id, ok=sum(g.error is None for g in got.values()),
        )  # fmt: skip
        return got

    def _find_created(self, jid: str) -> str | None:
        """The id of a batch this folder created for job `jid`, found by its metadata, or None."""
        for b in self.client.batches.list(limit=100):
            if (b.metadata or {}).get("codefavor_job") == jid:
                return b.id
        return None

    def _wait(self, batch_id: str) -> Any:
        last = None
        while True:
            batch = self.client.batches.retrieve(batch_id)
            if batch.status in FINAL:
                return batch
            counts = batch.request_counts
            now = (batch.status, counts.completed if counts else None)
            if now != last:
                done = f", {counts.completed}/{counts.total} done" if counts else ""
                self.log(f"batch {batch_id}: {batch.status}{done}")
                last = now
            time.sleep(self.poll_s)

    def _collect(self, batch: Any, ids: list[str]) -> dict[str, Generation]:
        got: dict[str, Generation] = {}
        for fid in (batch.error_file_id, batch.output_file_id):  # output last: an answer wins
            if not fid:
                continue
            text = self.client.files.content(fid).text
            for row in (json.loads(x) for x in text.splitlines() if x.strip()):
                cid, gen = parse_output_line(row)
                if cid:
                    got[cid] = gen
        why = f"batch {batch.id} {batch.status}"
        if batch.status == "failed" and getattr(batch, "errors", None) and batch.errors.data:
            why += ": " + "; ".join(str(e.message) for e in batch.errors.data[:3])
        for cid in ids:
            got.setdefault(cid, Generation(error=f"batch: missing from the output of {why}"))
        return {c: got[c] for c in ids}


def collect_file(output: str | Path, folder: str | Path) -> dict[str, int]:
    """Read a batch output file (`vllm run-batch -o`, or one downloaded by hand) into `folder`'s
    results, so a rerun of the stage uses the answers. Returns counts of answers and failures."""
    output = Path(output)
    if not output.is_file():
        raise CodefavorError(f"{output}: no such file")
    answers: dict[str, Generation] = {}
    for n, text in enumerate(output.read_text(encoding="utf-8").splitlines(), 1):
        if not text.strip():
            continue
        try:
            row = json.loads(text)
        except ValueError:
            raise CodefavorError(f"{output}:{n}: not JSON") from None
        if not isinstance(row, dict) or not isinstance(row.get("custom_id"), str):
            raise CodefavorError(f"{output}:{n}: custom_id: missing")
        cid, gen = parse_output_line(row)
        answers[cid] = gen
    BatchJobs(folder, base_url="offline", log=lambda _: None)._record(answers)
    ok = sum(g.error is None for g in answers.values())
    return {"answers": ok, "failures": len(answers) - ok}
