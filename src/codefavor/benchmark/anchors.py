"""Reference accuracies from the CodeFavor paper, shown beside our runs in the HTML report.

Source: J. Liu et al., "Learning Code Preference via Synthetic Evolution", arXiv:2410.03837 (2024),
Table 3 (CodePrefBench accuracy, %, undecided counted half) and Section 4 (the human study: 18
developers, 3 per task, majority vote; 7.8 minutes per developer per task, 23.4 person-minutes per
task; human preference has no human row because its labels are the developers' own). The figures
are facts from the paper, typed in by hand; `None` is a cell the paper leaves empty.
"""

from __future__ import annotations

from dataclasses import dataclass

CITATION = "Liu et al., Learning Code Preference via Synthetic Evolution, arXiv:2410.03837 (2024), Table 3"


@dataclass(frozen=True)
class Anchor:
    name: str
    group: str  # "human", "best LLM judge", "CodeFavor"
    correctness: float | None
    efficiency: float | None
    security: float | None
    avg: float | None
    human_preference: float | None

    def by_category(self) -> dict[str, float | None]:
        return {
            "correctness": self.correctness,
            "efficiency": self.efficiency,
            "security": self.security,
            "human-preference": self.human_preference,
            "avg": self.avg,
        }


ANCHORS: tuple[Anchor, ...] = (
    Anchor("Human developers (3, majority)", "human", 84.9, 74.9, 59.7, 73.2, None),
    Anchor("Llama-3.1-405B-Instruct", "best LLM judge", 68.9, 78.3, 99.0, 82.2, 68.3),
    Anchor("Mistral Large 2 (123B)", "best LLM judge", 65.8, 81.2, 99.5, 82.2, 71.7),
    Anchor("Claude 3.5 Sonnet", "best LLM judge", 65.8, 79.9, 98.1, 81.2, 64.8),
    Anchor("Llama-3-70B-Instruct (the critic)", "best LLM judge", 55.7, 76.0, 96.6, 76.1, 63.8),
    Anchor("CodeFavor Mistral Nemo 12B, generation", "CodeFavor", 58.8, 77.8, 96.6, 77.7, 66.9),
    Anchor("CodeFavor Mistral Nemo 12B, classification", "CodeFavor", 58.0, 76.1, 96.6, 76.9, 64.1),
    Anchor("CodeFavor Gemma-2-9B, generation", "CodeFavor", 57.0, 78.7, 96.6, 77.4, 64.1),
    Anchor("CodeFavor Llama-3-8B, generation", "CodeFavor", 58.2, 75.0, 98.6, 77.2, 69.0),
)

# The paper's human study (Section 4 and Table 4), for the Label Studio summary.
HUMAN_STUDY = {
    "annotators": 18,
    "annotators_per_task": 3,
    "minutes_per_annotator_per_task": 7.8,
    "person_minutes_per_task": 23.4,
    "unsolved_rate": {"correctness": 15.1, "efficiency": 25.1, "security": 40.3},
    "cost_per_task_usd": 6.1,
}
