"""The LLM rubric judge: one call per trial for all criteria, through the provider layer.

- Binary YES/NO per criterion with a short explanation, asked for as JSON, temperature 0
  and a fixed seed (dropped by LiteLLM where a provider has no such parameter).
- Criteria with a `fact` get the canonical value inlined ("source of truth: ...").
- A cache keyed by (judge model, rubric digest, transcript digest, facts digest): a regrade
  with nothing changed costs nothing and returns the same verdicts.
- An answer that does not parse is asked again (a bounded number of times); a judge that
  cannot be reached (no credentials, provider down after retries) or never answers in
  shape leaves the criteria `ungraded` — never NO, never a zero.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter, ValidationError

from grading.grader import Judge, ungraded
from grading.transcript import render_transcript
from opsbench.models.provider import ProviderSettings
from opsbench.models.result import UsageCounters
from opsbench.models.spec import Criterion, TaskSpec
from opsbench.models.trajectory import Trajectory, write_json_atomic
from opsbench.models.verdict import CriterionVerdict

log = logging.getLogger(__name__)

PROMPT = Path(__file__).with_name("prompts") / "judge_system.md"
PARSE_ATTEMPTS = 3


def _digest(data: Any) -> str:
    raw = json.dumps(data, sort_keys=True, ensure_ascii=False).encode()
    return hashlib.sha256(raw).hexdigest()


@dataclass
class LlmJudge:
    """Callable as `grading.grader.Judge`."""

    model: str
    cache_dir: Path | None = None
    provider_settings: ProviderSettings = field(default_factory=ProviderSettings)
    usage: UsageCounters = field(default_factory=UsageCounters)
    calls: int = 0

    def __call__(
        self, spec: TaskSpec, trajectory: Trajectory | None, facts: dict[str, str]
    ) -> list[CriterionVerdict]:
        criteria = spec.rubric
        transcript = render_transcript(trajectory)
        # The rubric as spec.json holds it: cache keys stay those of earlier runs.
        rubric = [c.model_dump(mode="json") for c in criteria]
        key = _digest([self.model, _digest(rubric), _digest(transcript), _digest(facts)])
        cached = self._cache_get(key)
        if cached is not None:
            return cached
        messages = self._messages(spec, criteria, transcript, facts)
        verdicts = self._ask(criteria, messages)
        if verdicts is not None:
            self._cache_put(key, verdicts)
            return verdicts
        return ungraded(spec, "the judge's answer could not be parsed")

    # ----------------------------------------------------------------- prompt

    def _messages(
        self,
        spec: TaskSpec,
        criteria: list[Criterion],
        transcript: str,
        facts: dict[str, str],
    ) -> list[dict[str, Any]]:
        lines = []
        for c in criteria:
            line = f"- {c.name}: {c.criterion}"
            if c.name in facts:
                line += f"\n  (source of truth: {facts[c.name]})"
            lines.append(line)
        user = (
            f"TASK GIVEN TO THE AGENT:\n{spec.statement.strip()}\n\n"
            f"CRITERIA:\n" + "\n".join(lines) + f"\n\nTRANSCRIPT:\n{transcript}"
        )
        return [
            {"role": "system", "content": PROMPT.read_text()},
            {"role": "user", "content": user},
        ]

    # ----------------------------------------------------------------- call

    def _ask(
        self, criteria: list[Criterion], messages: list[dict[str, Any]]
    ) -> list[CriterionVerdict] | None:
        from opsbench.providers import ModelClient, ModelRequestRejected, ProviderCallFailed

        try:
            client = ModelClient(
                self.model,
                settings=self.provider_settings,
                usage=self.usage,
            )
        except Exception as exc:  # configuration the judge cannot work with
            log.warning("judge %s unusable: %s", self.model, exc)
            raise JudgeUnavailable(str(exc)) from exc
        for attempt in range(PARSE_ATTEMPTS):
            try:
                answer = client.complete(
                    messages,
                    temperature=0,
                    seed=0,
                    response_format={"type": "json_object"},
                    drop_params=True,
                )
            except (ProviderCallFailed, ModelRequestRejected) as exc:
                raise JudgeUnavailable(str(exc)) from exc
            self.calls += 1
            verdicts = parse_verdicts(answer.content, criteria)
            if verdicts is not None:
                return verdicts
            log.info("judge answer unparseable (attempt %d): %r", attempt + 1, answer.content[:200])
            messages = [
                *messages,
                {"role": "assistant", "content": answer.content},
                {
                    "role": "user",
                    "content": "Reply with the JSON object only, "
                    'in the shape {"verdicts": [...]}, one entry per criterion.',
                },
            ]
        return None

    # ----------------------------------------------------------------- cache

    def _cache_get(self, key: str) -> list[CriterionVerdict] | None:
        if self.cache_dir is None:
            return None
        path = self.cache_dir / f"{key}.json"
        try:
            return _CACHED.validate_json(path.read_bytes())
        except (OSError, ValidationError):
            return None

    def _cache_put(self, key: str, verdicts: list[CriterionVerdict]) -> None:
        if self.cache_dir is not None:
            data = [v.model_dump(mode="json", exclude={"fact"}) for v in verdicts]
            write_json_atomic(self.cache_dir / f"{key}.json", data)


_CACHED = TypeAdapter(list[CriterionVerdict])
"""A cache entry: the judge's verdicts, as earlier runs wrote them."""


class JudgeUnavailable(Exception):
    """No verdicts can be had now (credentials, outage): criteria stay ungraded."""


def parse_verdicts(text: str, criteria: list[Criterion]) -> list[CriterionVerdict] | None:
    """One verdict per criterion, or None if the answer is not usable as a whole."""
    start, end = text.find("{"), text.rfind("}")
    if start < 0 or end <= start:
        return None
    try:
        data = json.loads(text[start : end + 1])
        raw = {str(v["name"]): v for v in data["verdicts"]}
    except (ValueError, KeyError, TypeError):
        return None
    out = []
    for c in criteria:
        v = raw.get(c.name)
        if not isinstance(v, dict):
            return None
        verdict = str(v.get("verdict", "")).strip().upper()
        if verdict not in ("YES", "NO"):
            return None
        out.append(
            CriterionVerdict(
                name=c.name,
                criterion=c.criterion,
                weight=c.weight,
                verdict="yes" if verdict == "YES" else "no",
                explanation=str(v.get("explanation", "")),
            )
        )
    return out


def judge_or_ungraded(judge: LlmJudge) -> Judge:
    """Wrap a judge so an unavailable one leaves criteria ungraded with the reason."""

    def call(
        spec: TaskSpec, trajectory: Trajectory | None, facts: dict[str, str]
    ) -> list[CriterionVerdict]:
        try:
            return judge(spec, trajectory, facts)
        except JudgeUnavailable as exc:
            return ungraded(spec, f"judge unavailable: {exc}"[:500])

    return call
