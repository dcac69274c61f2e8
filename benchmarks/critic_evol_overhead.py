"""Per-item CPU overhead of Critic-Evol outside the models: sanitizing, prompt building, parsing,
validation, decontamination against CodePrefBench and the JSONL writes, with instant fake backends.

    PYTHONPATH=src python benchmarks/critic_evol_overhead.py --items 2000 [--no-decontam]
"""

from __future__ import annotations

import argparse
import tempfile
import time

from codefavor.backends.fake import FakeBackend
from codefavor.generators import critic_evol as ce

F = "```"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--items", type=int, default=2000)
    p.add_argument("--no-decontam", action="store_true")
    a = p.parse_args()
    seeds = [ce.Seed(f"s{i}", f"Write `rev{i}(s)` that reverses a string, variant {i}.") for i in range(a.items)]

    def draft(m):
        n = m[0]["content"].rsplit("variant ", 1)[1].split(".")[0]
        return f"Here:\n{F}python\ndef rev{n}(s):\n    out = ''\n    for ch in s:\n        out = ch + out\n    return out\n\nprint(rev{n}('ab'))\n{F}"

    def critic(m):
        n = m[0]["content"].rsplit("variant ", 1)[1].split(".")[0]
        if int(n) % 5 == 0:
            return "## Reflection\nFine.\n## Verdict\ngood enough"
        return (
            f"## Reflection\nQuadratic.\n## Verdict\nimprove\n## Criterion\nLinear time.\n## Revision\n{F}python\n"
            f"def rev{n}(s):\n    return s[::-1]\n{F}\n## Feedback\n[DRAFT] is O(n^2); [REVISION] slices once."
        )

    decon = None
    if not a.no_decontam:
        from codefavor.generators.decontam import load_decontaminator

        t0 = time.perf_counter()
        decon = load_decontaminator()
        print(f"decontamination index: {len(decon.refs)} codes in {time.perf_counter() - t0:.2f} s")
    settings = ce.Settings(draft="fake:d", critic="fake:c", decontaminate=decon is not None)
    with tempfile.TemporaryDirectory() as out:
        t0 = time.perf_counter()
        res = ce.run_critic_evol(
            seeds,
            out,
            critic=FakeBackend(fn=critic, spec="fake:c"),
            draft=FakeBackend(fn=draft, spec="fake:d"),
            settings=settings,
            decontaminator=decon,
            batch_size=64,
        )
        dt = time.perf_counter() - t0
    f = res.funnel
    print(f"items {f['seeds']}  kept {f['kept']}  good enough {f['good_enough']}  contaminated {f['contaminated']}")
    print(f"wall {dt:.2f} s  ->  {1000 * dt / a.items:.2f} ms per item, {a.items / dt:.0f} items/s")


if __name__ == "__main__":
    main()
