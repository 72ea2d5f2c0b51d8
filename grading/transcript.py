"""Render a trajectory for the judge within a character budget.

Long tool outputs are cut in the middle with a marker, largest first, until the whole fits;
the final answer is never dropped (it is what most criteria are about).
"""

from __future__ import annotations

import json

from grading.checks import clip
from opsbench.models.trajectory import Trajectory

DEFAULT_BUDGET = 60_000
FINAL_ANSWER_CAP = 12_000
MIN_OUTPUT = 400


def render_transcript(trajectory: Trajectory | None, budget: int = DEFAULT_BUDGET) -> str:
    if trajectory is None:
        return "(no trajectory was recorded)\n\nFINAL ANSWER:\n(none)"
    parts: list[list[str]] = []  # [header, body]; bodies of tool outputs may shrink
    shrinkable: list[int] = []
    for step in trajectory.steps:
        if step.source == "user":
            continue  # the task statement is given to the judge separately
        if step.reasoning_content:
            parts.append([f"[step {step.step_id}] reasoning:", step.reasoning_content])
            shrinkable.append(len(parts) - 1)
        if step.message:
            parts.append([f"[step {step.step_id}] {step.source}:", step.message])
        for call in step.tool_calls or []:
            args = json.dumps(call.arguments, ensure_ascii=False)
            parts.append([f"[step {step.step_id}] tool call {call.function_name}:", args])
        for result in step.observation.results if step.observation else []:
            parts.append([f"[step {step.step_id}] tool output:", result.content or ""])
            shrinkable.append(len(parts) - 1)
    final = "FINAL ANSWER:\n" + clip(trajectory.final_answer() or "(none)", FINAL_ANSWER_CAP)
    room = budget - len(final)

    def size() -> int:
        return sum(len(h) + len(b) + 2 for h, b in parts)

    while size() > room and shrinkable:
        largest = max(shrinkable, key=lambda i: len(parts[i][1]))
        body = parts[largest][1]
        if len(body) <= MIN_OUTPUT:
            break
        parts[largest][1] = clip(body, max(MIN_OUTPUT, len(body) // 2))
    body = "\n".join(f"{h}\n{b}" for h, b in parts)
    if len(body) > room:  # still too long: keep the most recent steps
        body = "[... earlier steps cut ...]\n" + body[-max(room - 40, 0) :]
    return f"{body}\n\n{final}"
