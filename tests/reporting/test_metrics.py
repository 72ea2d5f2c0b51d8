"""The metrics module against numbers worked out by hand."""

from __future__ import annotations

import itertools
import math
import random
from pathlib import Path

import pytest

from opsbench import failures, metrics
from opsbench.failures import Cause, OutcomePolicy
from opsbench.metrics import JobSummary, summarize_job
from opsbench.models.result import Outcome, TrialResult
from opsbench.paths import JobPaths
from tests.reporting.report_jobs import TrialSpec, hand_made_specs, write_job


def wilson_by_hand(s: int, n: int) -> tuple[float, float]:
    z = 1.959963984540054
    p = s / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return centre - half, centre + half


@pytest.fixture
def hand_results(tmp_path: Path) -> list[TrialResult]:
    return write_job(tmp_path / "job", hand_made_specs())


def test_hand_made_job(hand_results: list[TrialResult]) -> None:
    s = summarize_job(hand_results)
    # 9 trials; provider_error, infra_error and cancelled are excluded: 6 scored.
    assert s.coverage.trials == 9 and s.coverage.scored == 6 and s.coverage.excluded == 3
    assert s.coverage.excluded_by_outcome == {"provider_error": 1, "infra_error": 1, "cancelled": 1}
    assert s.outcomes == {
        "graded": 5,
        "agent_error": 1,
        "agent_timeout": 0,
        "provider_error": 1,
        "infra_error": 1,
        "cancelled": 1,
    }
    o = s.overall
    # passes: disk-full 1 and 2, log-spike 1; the agent_error counts as a fail.
    assert (o.passed.successes, o.passed.n, o.passed.value) == (3, 6, 0.5)
    assert o.passed.interval is not None and o.passed.interval.method == "wilson"
    low, high = wilson_by_hand(3, 6)
    assert o.passed.interval.low == pytest.approx(low) and o.passed.interval.high == pytest.approx(
        high
    )
    assert (o.task_gate.successes, o.compliance.successes) == (4, 4)
    assert o.reward.value == pytest.approx((1 + 1 + 1 + 0.25 + 0 + 1) / 6)
    assert o.reward.interval is not None and o.reward.interval.method == "bootstrap"
    assert o.reward.interval.low <= (o.reward.value or 0) <= o.reward.interval.high
    # Per task (n scored, c passed): disk-full (3, 2), slow-db (2, 0), log-spike (1, 1).
    at = {a.k: a for a in o.at_k}
    assert sorted(at) == [1, 2, 3]
    assert at[1].pass_at_k.value == pytest.approx((2 / 3 + 0 + 1) / 3)
    assert at[1].pass_at_k.n == 3
    assert at[2].pass_at_k.value == pytest.approx((1.0 + 0.0) / 2)  # log-spike has n < 2
    assert at[2].pass_at_k.n == 2
    assert at[2].pass_hat_k.value == pytest.approx((1 / 3 + 0.0) / 2)
    assert at[3].pass_at_k.value == pytest.approx(1.0) and at[3].pass_hat_k.value == 0.0
    assert at[2].pass_at_k.interval is not None
    assert at[2].pass_at_k.interval.method == "bootstrap"


def test_groups_and_tasks(hand_results: list[TrialResult]) -> None:
    s = summarize_job(hand_results)
    assert list(s.by_category) == ["alerts", "logs"]
    alerts = s.by_category["alerts"]
    assert (alerts.trials, alerts.excluded, alerts.passed.successes) == (5, 1, 2)
    assert list(s.by_difficulty) == ["easy", "medium", "hard"]
    assert s.by_difficulty["hard"].passed.value == 0.0
    tasks = {t.task_id: t for t in s.tasks}
    assert tasks["slow-db"].attempts == 3
    assert tasks["slow-db"].scores.trials == 2 and tasks["slow-db"].scores.excluded == 1
    assert tasks["disk-full"].compliance_violations == 1
    assert tasks["log-spike"].outcomes == {"graded": 1, "infra_error": 1, "cancelled": 1}
    assert tasks["disk-full"].scores.at_k[1].pass_at_k.interval is None  # exact per task


def test_usage(hand_results: list[TrialResult]) -> None:
    u = summarize_job(hand_results).usage
    # wall times 30, 40, ..., 110 s: median 70, p90 by linear interpolation 100 + 0.2 * 10.
    assert u.seconds.median == pytest.approx(70)
    assert u.seconds.p90 == pytest.approx(102)
    assert u.cost_usd.total == pytest.approx(0.45)
    assert u.tokens.median == 1100


def test_exclusions_never_in_the_denominator(tmp_path: Path) -> None:
    base = hand_made_specs()
    more = [
        TrialSpec(f"flaky-{i}", 1, Outcome.PROVIDER_ERROR, category="alerts") for i in range(50)
    ]
    s = summarize_job(write_job(tmp_path / "job", base + more))
    assert s.overall.passed.n == 6 and s.overall.passed.value == 0.5
    assert s.coverage.excluded == 53
    assert all(t.scores.trials == 0 for t in s.tasks if t.task_id.startswith("flaky-"))


def test_policy_table_decides_what_counts(
    hand_results: list[TrialResult], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(
        failures.POLICY,
        Outcome.AGENT_ERROR,
        OutcomePolicy(Cause.AGENT, counts_in_scores=False, rerun_on_resume=True),
    )
    s = summarize_job(hand_results)
    assert s.overall.passed.n == 5
    assert s.coverage.excluded_by_outcome["agent_error"] == 1


@pytest.mark.parametrize(("n", "c"), [(5, 2), (4, 4), (6, 0), (3, 1)])
def test_unbiased_estimators_match_enumeration(n: int, c: int) -> None:
    outcomes = [True] * c + [False] * (n - c)
    for k in range(1, n + 1):
        subsets = list(itertools.combinations(outcomes, k))
        assert metrics.pass_at_k(n, c, k) == pytest.approx(
            sum(any(s) for s in subsets) / len(subsets)
        )
        assert metrics.pass_hat_k(n, c, k) == pytest.approx(
            sum(all(s) for s in subsets) / len(subsets)
        )
    with pytest.raises(ValueError):
        metrics.pass_at_k(n, c, n + 1)


def test_bootstrap_is_seeded_and_brackets_the_mean() -> None:
    rng = random.Random(3)
    rows: list[tuple[float | None, ...]] = [(rng.choice([0.0, 0.5, 1.0]),) for _ in range(400)]
    first = metrics.bootstrap_means(rows)
    assert first == metrics.bootstrap_means(rows)
    mean = sum(r[0] or 0 for r in rows) / len(rows)
    ci = first[0]
    assert ci is not None and ci.low < mean < ci.high and ci.method == "bootstrap"
    # Both resampling paths (pooled multinomial, direct) give comparable intervals.
    wide: list[tuple[float | None, ...]] = [((r[0] or 0) + i * 1e-9,) for i, r in enumerate(rows)]
    ci2 = metrics.bootstrap_means(wide)[0]
    assert ci2 is not None
    assert ci2.low == pytest.approx(ci.low, abs=0.02) and ci2.high == pytest.approx(
        ci.high, abs=0.02
    )


def test_binomial_sampler_moments() -> None:
    rng = random.Random(11)
    for n, p in [(7, 0.3), (300, 0.02), (2000, 0.4), (50, 0.93)]:
        xs = [metrics._binomial(rng, n, p) for _ in range(20000)]
        mean = sum(xs) / len(xs)
        var = sum((x - mean) ** 2 for x in xs) / (len(xs) - 1)
        assert mean == pytest.approx(n * p, rel=0.02, abs=0.05)
        assert var == pytest.approx(n * p * (1 - p), rel=0.06)
        assert min(xs) >= 0 and max(xs) <= n


def test_summary_round_trips_as_json(hand_results: list[TrialResult]) -> None:
    s = summarize_job(hand_results)
    assert JobSummary.model_validate_json(s.model_dump_json()) == s


def test_empty_job() -> None:
    s = summarize_job([])
    assert s.overall.passed.value is None and s.overall.passed.interval is None
    assert s.overall.at_k == [] and s.tasks == [] and s.coverage.scored_fraction is None


def test_head_to_head(tmp_path: Path) -> None:
    a = summarize_job(write_job(tmp_path / "a", hand_made_specs()))
    specs = [
        TrialSpec(s.task_id, s.attempt, Outcome.GRADED, passed=True, category=s.category)
        for s in hand_made_specs()
    ]
    b = summarize_job(write_job(tmp_path / "b", specs))
    h = metrics.head_to_head(b, a)
    # b passes everything: beats disk-full (2/3) and slow-db (0/2), ties log-spike (1/1).
    assert (h.tasks, h.wins, h.losses, h.ties) == (3, 2, 0, 1)


def test_load_results_skips_unfinished_and_unreadable(tmp_path: Path) -> None:
    job_dir = tmp_path / "job"
    write_job(job_dir, hand_made_specs())
    jp = JobPaths(job_dir)
    jp.trial("running", 1).make()
    broken = jp.trial("broken", 1)
    broken.make()
    broken.result.write_text("{", encoding="utf-8")
    results = metrics.load_results(job_dir)
    assert len(results) == 9
    assert summarize_job(results).overall.passed.value == 0.5
