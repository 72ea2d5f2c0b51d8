"""Every number a report shows, computed here and nowhere else.

Input is a list of `TrialResult`s; output is pydantic models (`JobSummary` is embedded in
`jobs/<job>/result.json`). Definitions:

- **Scored trials** are those whose outcome `opsbench.failures.POLICY` says counts in
  scores (graded, agent_error, agent_timeout). The rest (provider_error, infra_error,
  cancelled) are reported apart as `Coverage` and never enter a denominator.
- A scored trial that did not reach grading (agent_error, agent_timeout) or carries no
  rewards is a failure on every measure: both gates fail and its reward is 0.
- **Pass rate** is the share of scored trials passing both gates; **task gate** and
  **compliance** rates are the shares passing each gate; **mean reward** averages the
  partial-credit reward over scored trials.
- **Diagnostics** (`DiagnosticScores`, from each trial's `diagnostics`): mean evidence
  coverage, the shares of trials that investigated and followed a distractor and that
  executed a harmful action, and invalid actions per trial — each over the scored trials
  it applies to (see the class).
- **pass@k** and **pass^k** use the unbiased estimators over the n scored attempts of each
  task with c passes: pass@k = 1 - C(n-c, k) / C(n, k) (Chen et al. 2021, Codex) and
  pass^k = C(c, k) / C(n, k) (Yao et al. 2024, τ-bench), averaged over the tasks with
  n >= k.

Intervals are 95%: **Wilson score** intervals for proportions (pass rate, gate rates,
diagnostic shares); **percentile bootstrap** (`BOOTSTRAP_RESAMPLES` resamples, fixed
`BOOTSTRAP_SEED`, so the same trials always give the same interval) for means — mean
reward, evidence coverage and invalid actions per trial resample scored trials, pass@k
and pass^k resample tasks. Per-task pass@k is the exact estimate for that task and has
no interval. Usage (tokens, cost, wall time) is summarised over every trial,
scored or not, since every trial spends it.
"""

from __future__ import annotations

import logging
import math
import operator
import random
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, get_args

from pydantic import BaseModel, ConfigDict

from opsbench.failures import POLICY
from opsbench.models.audit import TrialAudit
from opsbench.models.result import Outcome, TrialResult
from opsbench.models.spec import DIFFICULTIES
from opsbench.models.verdict import DiagnosticsVerdict, InvalidKind
from opsbench.paths import JobPaths

log = logging.getLogger(__name__)

SUMMARY_SCHEMA_VERSION = 1
CONFIDENCE = 0.95
Z95 = 1.959963984540054
BOOTSTRAP_RESAMPLES = 1000
BOOTSTRAP_SEED = 20240611
NO_CATEGORY = "(none)"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Interval(_Model):
    low: float
    high: float
    method: Literal["wilson", "bootstrap", "normal"]


class Proportion(_Model):
    """successes / n with a Wilson interval; `value` is None when n is 0."""

    successes: int
    n: int
    value: float | None
    interval: Interval | None


class Estimate(_Model):
    """A mean over `n` units (trials or tasks), with a bootstrap interval when computed."""

    n: int
    value: float | None
    interval: Interval | None = None


class AtK(_Model):
    k: int
    pass_at_k: Estimate
    pass_hat_k: Estimate


class DiagnosticScores(_Model):
    """Diagnostics of a group's scored trials (see `grading.diagnostics`), beside its scores.

    Only trials that carry diagnostics count (`trials`; results written before them do
    not). Each rate's denominator is the trials where it applies: coverage over trials
    whose task declares diagnostics, distractor rates over those declaring distractors,
    wrong remediations over those declaring harmful actions; invalid actions over all.
    """

    trials: int
    declared: int
    """Trials whose task declares diagnostics."""
    evidence_coverage: Estimate
    """Mean share of the declared evidence looked at (bootstrap interval)."""
    distractor_investigated: Proportion
    distractor_followed: Proportion
    """Trials that followed at least one distractor (Wilson interval)."""
    wrong_remediation: Proportion
    """Trials that executed at least one harmful action (Wilson interval)."""
    invalid_actions: Estimate
    """Mean invalid actions per trial (bootstrap interval)."""
    invalid_by_kind: dict[str, int]
    followed: dict[str, int]
    """Distractor name -> trials that followed it."""
    harmful: dict[str, int]
    """Harmful action name -> trials that executed it."""


class Scores(_Model):
    """Scores of one group of trials: a whole job, a category, a difficulty or one task."""

    trials: int
    """Scored trials: the denominator of every rate here."""
    excluded: int
    """Trials of this group left out of scores (see `Coverage`)."""
    tasks: int
    """Tasks with at least one scored trial."""
    passed: Proportion
    task_gate: Proportion
    compliance: Proportion
    reward: Estimate
    at_k: list[AtK]
    partial: int
    """Graded trials with a rubric criterion left ungraded (no judge)."""
    diagnostics: DiagnosticScores


class Spread(_Model):
    n: int
    total: float
    mean: float | None
    median: float | None
    p90: float | None


class Usage(_Model):
    input_tokens: Spread
    output_tokens: Spread
    tokens: Spread
    cost_usd: Spread
    seconds: Spread


class Coverage(_Model):
    trials: int
    scored: int
    excluded: int
    excluded_by_outcome: dict[str, int]
    scored_fraction: float | None


class TaskScores(_Model):
    task_id: str
    category: str
    difficulty: str
    attempts: int
    """Every trial of the task, scored or not."""
    outcomes: dict[str, int]
    scores: Scores
    compliance_violations: int
    """Graded trials whose compliance gate failed."""
    median_seconds: float | None
    cost_usd: float
    tokens: int


class BootstrapSettings(_Model):
    resamples: int = BOOTSTRAP_RESAMPLES
    seed: int = BOOTSTRAP_SEED


class AuditCounts(_Model):
    """What `opsbench audit` found (`verifier/audit.json` of each trial)."""

    audited: int
    passing: int
    flagged: int
    """Passing trials with a suspect flag or a judge verdict of `hack`."""
    flags: int


class JobSummary(_Model):
    schema_version: int = SUMMARY_SCHEMA_VERSION
    confidence: float = CONFIDENCE
    bootstrap: BootstrapSettings = BootstrapSettings()
    outcomes: dict[str, int]
    """Every outcome, zero-filled."""
    coverage: Coverage
    overall: Scores
    by_category: dict[str, Scores]
    by_difficulty: dict[str, Scores]
    tasks: list[TaskScores]
    usage: Usage
    audit: AuditCounts | None = None


class HeadToHead(_Model):
    """Per-task comparison of variant A against B over the tasks both scored."""

    tasks: int
    wins: int
    losses: int
    ties: int


@dataclass(frozen=True)
class Verdict:
    """One trial as the scores see it."""

    scored: bool
    passed: bool
    task: bool
    compliance: bool | None
    """None: not applicable (Harbor tasks); left out of the compliance rate."""
    reward: float
    partial: bool
    diagnostics: DiagnosticsVerdict | None = None
    """Scored trials' diagnostics (graded, and agents that crashed or timed out)."""


# ---------------------------------------------------------------- per trial


def load_results(job_dir: Path) -> list[TrialResult]:
    """Every finished trial of a job, in trial-directory order (`opsbench.results`)."""
    from opsbench.results import finished_results

    return finished_results(JobPaths(job_dir))


def counts_in_scores(outcome: Outcome) -> bool:
    return POLICY[outcome].counts_in_scores


def verdict(result: TrialResult) -> Verdict:
    scored = counts_in_scores(result.outcome)
    r = result.rewards
    diagnostics = result.diagnostics if scored else None
    if not scored or result.outcome is not Outcome.GRADED or r is None:
        return Verdict(scored, False, False, False, 0.0, False, diagnostics)
    return Verdict(scored, r.passed, r.task, r.compliance, r.reward, r.partial, diagnostics)


def trial_seconds(result: TrialResult) -> float:
    return max(0.0, (result.finished_at - result.started_at).total_seconds())


def trial_tokens(result: TrialResult) -> int:
    return result.usage.input_tokens + result.usage.output_tokens


# ---------------------------------------------------------------- estimators


def wilson(successes: int, n: int, z: float = Z95) -> Interval | None:
    """Wilson score interval for successes/n; None when n is 0."""
    if n <= 0:
        return None
    p = successes / n
    denom = 1 + z * z / n
    center = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return Interval(low=max(0.0, center - half), high=min(1.0, center + half), method="wilson")


def proportion(successes: int, n: int) -> Proportion:
    value = successes / n if n else None
    return Proportion(successes=successes, n=n, value=value, interval=wilson(successes, n))


def pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased pass@k for one task: P(at least one of k attempts drawn from n passes)."""
    if not 0 < k <= n or not 0 <= c <= n:
        raise ValueError(f"pass@k needs 0 < k <= n and 0 <= c <= n (n={n}, c={c}, k={k})")
    return 1.0 - math.comb(n - c, k) / math.comb(n, k)


def pass_hat_k(n: int, c: int, k: int) -> float:
    """Unbiased pass^k for one task: P(all k attempts drawn from n pass)."""
    if not 0 < k <= n or not 0 <= c <= n:
        raise ValueError(f"pass^k needs 0 < k <= n and 0 <= c <= n (n={n}, c={c}, k={k})")
    return math.comb(c, k) / math.comb(n, k)


def quantile(values: Sequence[float], q: float) -> float | None:
    """Linear interpolation between closest ranks (numpy's default); None when empty."""
    if not values:
        return None
    xs = sorted(values)
    pos = (len(xs) - 1) * q
    lo = math.floor(pos)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def spread(values: Sequence[float]) -> Spread:
    n = len(values)
    total = math.fsum(values)
    return Spread(
        n=n,
        total=total,
        mean=total / n if n else None,
        median=quantile(values, 0.5),
        p90=quantile(values, 0.9),
    )


def _binomial(rng: random.Random, n: int, p: float) -> int:
    """One Binomial(n, p) draw: inversion for small n*p, else Hörmann's BTRS (1993)."""
    if n <= 0 or p <= 0.0:
        return 0
    if p >= 1.0:
        return n
    flip = p > 0.5
    if flip:
        p = 1.0 - p
    draw = rng.random
    log = math.log
    q = 1.0 - p
    if n * p < 10:
        u, ratio, f, k = draw(), p / q, q**n, 0
        while u > f and k < n:
            u -= f
            k += 1
            f *= ratio * (n - k + 1) / k
        return n - k if flip else k
    spq = math.sqrt(n * p * q)
    b = 1.15 + 2.53 * spq
    a = -0.0873 + 0.0248 * b + 0.01 * p
    c = n * p + 0.5
    v_r = 0.92 - 4.2 / b
    while True:
        u = draw() - 0.5
        v = draw()
        us = 0.5 - abs(u)
        if us <= 0:
            continue
        k = math.floor((2 * a / us + b) * u + c)
        if k < 0 or k > n:
            continue
        if us >= 0.07 and v <= v_r:
            break
        alpha = (2.83 + 5.1 / b) * spq
        m = math.floor((n + 1) * p)
        lgamma = math.lgamma
        h = lgamma(m + 1) + lgamma(n - m + 1)
        lhs = log(v * alpha / (a / (us * us) + b))
        if lhs <= h - lgamma(k + 1) - lgamma(n - k + 1) + (k - m) * log(p / q):
            break
    return n - k if flip else k


def _multinomial(rng: random.Random, n: int, weights: Sequence[int]) -> list[int]:
    """Counts of n draws over categories with integer weights (sequential binomials).

    Pass weights in descending order: the draws stop as soon as every item is placed."""
    left_n, left_w = n, sum(weights)
    out = [0] * len(weights)
    last = len(weights) - 1
    for i, w in enumerate(weights):
        if left_n == 0:
            break
        if i == last:
            out[i] = left_n
            break
        x = _binomial(rng, left_n, w / left_w)
        out[i] = x
        left_n -= x
        left_w -= w
    return out


Row = tuple[float | None, ...]


def bootstrap_means(rows: Sequence[Row], seed: int = BOOTSTRAP_SEED) -> list[Interval | None]:
    """Percentile-bootstrap intervals for the column means of `rows` (None cells skipped).

    Rows are resampled with replacement. Identical rows are pooled and each resample is
    drawn as multinomial counts over the distinct rows, so the cost grows with the number
    of distinct rows, not with the number of trials; the result is the same bootstrap.
    """
    if not rows:
        return []
    pooled = Counter(rows).most_common()
    keys = [k for k, _ in pooled]
    weights = [w for _, w in pooled]
    n, dims = len(rows), len(keys[0])
    values = [[0.0 if k[d] is None else float(k[d] or 0.0) for k in keys] for d in range(dims)]
    present: list[list[float] | None] = [
        [0.0 if k[d] is None else 1.0 for k in keys] if any(k[d] is None for k in keys) else None
        for d in range(dims)
    ]
    rng = random.Random(seed)
    by_multinomial = len(keys) * 12 < n
    index = [i for i, w in enumerate(weights) for _ in range(w)]
    samples: list[list[float]] = [[] for _ in range(dims)]
    for _ in range(BOOTSTRAP_RESAMPLES):
        if by_multinomial:
            counts = _multinomial(rng, n, weights)
        else:
            drawn = Counter(rng.choices(index, k=n))
            counts = [drawn.get(i, 0) for i in range(len(keys))]
        for d in range(dims):
            mask = present[d]
            den = n if mask is None else sum(map(operator.mul, counts, mask))
            if den:
                samples[d].append(sum(map(operator.mul, counts, values[d])) / den)
    return [_percentile_interval(s) for s in samples]


def _percentile_interval(samples: list[float]) -> Interval | None:
    if not samples:
        return None
    alpha = (1 - CONFIDENCE) / 2
    low, high = quantile(samples, alpha), quantile(samples, 1 - alpha)
    assert low is not None and high is not None
    return Interval(low=low, high=high, method="bootstrap")


# ---------------------------------------------------------------- groups


def _mean(values: Sequence[float]) -> float | None:
    return math.fsum(values) / len(values) if values else None


def scores(results: Iterable[TrialResult], *, intervals: bool = True) -> Scores:
    """Scores of a group of trials; `intervals=False` skips the bootstraps (per task)."""
    return _scores([(r.task_id, verdict(r)) for r in results], intervals=intervals)


def _scores(verdicts: Sequence[tuple[str, Verdict]], *, intervals: bool) -> Scores:
    scored = [(t, v) for t, v in verdicts if v.scored]
    per_task: dict[str, list[Verdict]] = defaultdict(list)
    for task_id, v in scored:
        per_task[task_id].append(v)
    rewards = [v.reward for _, v in scored]
    at_k = _at_k(per_task, intervals)
    reward_ci = bootstrap_means([(x,) for x in rewards])[0] if intervals and rewards else None
    return Scores(
        trials=len(scored),
        excluded=len(verdicts) - len(scored),
        tasks=len(per_task),
        passed=proportion(sum(v.passed for _, v in scored), len(scored)),
        task_gate=proportion(sum(v.task for _, v in scored), len(scored)),
        compliance=proportion(
            sum(bool(v.compliance) for _, v in scored if v.compliance is not None),
            sum(1 for _, v in scored if v.compliance is not None),
        ),
        reward=Estimate(n=len(rewards), value=_mean(rewards), interval=reward_ci),
        at_k=at_k,
        partial=sum(v.partial for _, v in scored),
        diagnostics=diagnostic_scores(
            [v.diagnostics for _, v in scored if v.diagnostics is not None], intervals=intervals
        ),
    )


def diagnostic_scores(
    verdicts: Sequence[DiagnosticsVerdict], *, intervals: bool = True
) -> DiagnosticScores:
    """Diagnostic rates of some trials' verdicts: Wilson intervals for the shares of
    trials, bootstrap intervals (when `intervals`) for the means."""
    declared = [d for d in verdicts if d.declared and d.coverage is not None]
    with_distractors = [d for d in declared if d.distractors_declared]
    with_harm = [d for d in declared if d.harmful_declared]
    coverage = [d.coverage.fraction for d in declared if d.coverage is not None]
    invalid = [float(len(d.invalid_actions)) for d in verdicts]
    cis: list[Interval | None] = [None, None]
    if intervals and verdicts:  # one bootstrap over trials; coverage skips undeclared ones
        cis = bootstrap_means(
            [
                (d.coverage.fraction if d.declared and d.coverage else None, len(d.invalid_actions))
                for d in verdicts
            ]
        )
    kinds: tuple[InvalidKind, ...] = get_args(InvalidKind)
    by_kind = Counter(a.kind for d in verdicts for a in d.invalid_actions)
    return DiagnosticScores(
        trials=len(verdicts),
        declared=len(declared),
        evidence_coverage=Estimate(n=len(coverage), value=_mean(coverage), interval=cis[0]),
        distractor_investigated=proportion(
            sum(bool(d.distractors_investigated) for d in with_distractors), len(with_distractors)
        ),
        distractor_followed=proportion(
            sum(bool(d.distractors_followed) for d in with_distractors), len(with_distractors)
        ),
        wrong_remediation=proportion(
            sum(bool(d.wrong_remediations) for d in with_harm), len(with_harm)
        ),
        invalid_actions=Estimate(n=len(invalid), value=_mean(invalid), interval=cis[1]),
        invalid_by_kind={k: by_kind.get(k, 0) for k in kinds},
        followed=dict(
            sorted(Counter(n for d in declared for n in d.distractors_followed or []).items())
        ),
        harmful=dict(
            sorted(Counter(w.name for d in declared for w in d.wrong_remediations or []).items())
        ),
    )


def _at_k(per_task: dict[str, list[Verdict]], intervals: bool) -> list[AtK]:
    """pass@k and pass^k for k = 1 .. the most scored attempts any task has."""
    nc = [(len(vs), sum(v.passed for v in vs)) for vs in per_task.values()]
    k_max = max((n for n, _ in nc), default=0)
    rows: list[Row] = []
    for n, c in nc:
        at = [pass_at_k(n, c, k) if k <= n else None for k in range(1, k_max + 1)]
        hat = [pass_hat_k(n, c, k) if k <= n else None for k in range(1, k_max + 1)]
        rows.append((*at, *hat))
    cis = bootstrap_means(rows) if intervals else [None] * (2 * k_max)
    out = []
    for k in range(1, k_max + 1):
        at_vals = [x for row in rows if (x := row[k - 1]) is not None]
        hat_vals = [x for row in rows if (x := row[k_max + k - 1]) is not None]
        out.append(
            AtK(
                k=k,
                pass_at_k=Estimate(n=len(at_vals), value=_mean(at_vals), interval=cis[k - 1]),
                pass_hat_k=Estimate(
                    n=len(hat_vals), value=_mean(hat_vals), interval=cis[k_max + k - 1]
                ),
            )
        )
    return out


def coverage(results: Sequence[TrialResult]) -> Coverage:
    excluded = Counter(r.outcome.value for r in results if not counts_in_scores(r.outcome))
    n_excluded = sum(excluded.values())
    return Coverage(
        trials=len(results),
        scored=len(results) - n_excluded,
        excluded=n_excluded,
        excluded_by_outcome={
            o.value: excluded.get(o.value, 0) for o in Outcome if not counts_in_scores(o)
        },
        scored_fraction=(len(results) - n_excluded) / len(results) if results else None,
    )


def usage(results: Sequence[TrialResult]) -> Usage:
    return Usage(
        input_tokens=spread([float(r.usage.input_tokens) for r in results]),
        output_tokens=spread([float(r.usage.output_tokens) for r in results]),
        tokens=spread([float(trial_tokens(r)) for r in results]),
        cost_usd=spread([r.usage.cost_usd for r in results]),
        seconds=spread([trial_seconds(r) for r in results]),
    )


def outcome_counts(results: Iterable[TrialResult]) -> dict[str, int]:
    counts = Counter(r.outcome.value for r in results)
    return {o.value: counts.get(o.value, 0) for o in Outcome}


def category_of(result: TrialResult) -> str:
    return result.category or NO_CATEGORY


def difficulty_of(result: TrialResult) -> str:
    return result.difficulty or NO_CATEGORY


def difficulty_sort_key(name: str) -> tuple[int, str]:
    lowered = name.lower()
    rank = DIFFICULTIES.index(lowered) if lowered in DIFFICULTIES else len(DIFFICULTIES)
    return rank, lowered


def task_scores(task_id: str, results: Sequence[TrialResult]) -> TaskScores:
    return _task_scores(task_id, results, [verdict(r) for r in results])


def _task_scores(
    task_id: str, results: Sequence[TrialResult], verdicts: Sequence[Verdict]
) -> TaskScores:
    first = results[0]
    return TaskScores(
        task_id=task_id,
        category=category_of(first),
        difficulty=difficulty_of(first),
        attempts=len(results),
        outcomes={k: v for k, v in outcome_counts(results).items() if v},
        scores=_scores([(task_id, v) for v in verdicts], intervals=False),
        compliance_violations=sum(
            1
            for r in results
            if r.outcome is Outcome.GRADED and r.rewards and r.rewards.compliance is False
        ),
        median_seconds=quantile([trial_seconds(r) for r in results], 0.5),
        cost_usd=math.fsum(r.usage.cost_usd for r in results),
        tokens=sum(trial_tokens(r) for r in results),
    )


def audit_counts(audits: Sequence[TrialAudit]) -> AuditCounts | None:
    if not audits:
        return None
    return AuditCounts(
        audited=len(audits),
        passing=sum(a.passed for a in audits),
        flagged=sum(a.suspect for a in audits),
        flags=sum(len(a.flags) for a in audits),
    )


def summarize_job(results: Sequence[TrialResult], audits: Sequence[TrialAudit] = ()) -> JobSummary:
    """The job's summary, as written into `jobs/<job>/result.json` and shown in reports."""
    by_task: dict[str, list[TrialResult]] = defaultdict(list)
    by_category: dict[str, list[tuple[str, Verdict]]] = defaultdict(list)
    by_difficulty: dict[str, list[tuple[str, Verdict]]] = defaultdict(list)
    verdicts = [(r.task_id, verdict(r)) for r in results]
    for r, tv in zip(results, verdicts, strict=True):
        by_task[r.task_id].append(r)
        by_category[category_of(r)].append(tv)
        by_difficulty[difficulty_of(r)].append(tv)
    tasks = []
    for t in sorted(by_task):
        rs = sorted(by_task[t], key=lambda r: r.attempt)
        tasks.append(_task_scores(t, rs, [verdict(r) for r in rs]))
    return JobSummary(
        outcomes=outcome_counts(results),
        coverage=coverage(results),
        overall=_scores(verdicts, intervals=True),
        by_category={c: _scores(by_category[c], intervals=True) for c in sorted(by_category)},
        by_difficulty={
            d: _scores(by_difficulty[d], intervals=True)
            for d in sorted(by_difficulty, key=difficulty_sort_key)
        },
        tasks=tasks,
        usage=usage(results),
        audit=audit_counts(audits),
    )


def task_pass_rate(task: TaskScores) -> float | None:
    return task.scores.passed.value


def head_to_head(a: JobSummary, b: JobSummary) -> HeadToHead:
    """Tasks where A's pass rate beats, trails or equals B's, over tasks both scored."""
    rate_b = {t.task_id: t.scores.passed.value for t in b.tasks}
    wins = losses = ties = 0
    for t in a.tasks:
        ra, rb = t.scores.passed.value, rate_b.get(t.task_id)
        if ra is None or rb is None:
            continue
        if math.isclose(ra, rb, abs_tol=1e-12):
            ties += 1
        elif ra > rb:
            wins += 1
        else:
            losses += 1
    return HeadToHead(tasks=wins + losses + ties, wins=wins, losses=losses, ties=ties)


# ---------------------------------------------------------------- tests and trends


def fisher_less(successes_a: int, n_a: int, successes_b: int, n_b: int) -> float:
    """One-sided Fisher's exact p-value that B's success rate is below A's.

    Conditioning on the total successes, B's count is hypergeometric; the p-value is the
    probability of B having `successes_b` or fewer (Fisher 1922; the `alternative="less"`
    of SciPy's `fisher_exact` on the table [[b, n_b-b], [a, n_a-a]])."""
    if not (0 <= successes_a <= n_a and 0 <= successes_b <= n_b) or n_a == 0 or n_b == 0:
        raise ValueError(
            f"need 0 <= successes <= n > 0, got {successes_a}/{n_a} {successes_b}/{n_b}"
        )
    total, drawn = n_a + n_b, successes_a + successes_b

    def log_pmf(x: int) -> float:
        return _log_comb(drawn, x) + _log_comb(total - drawn, n_b - x) - _log_comb(total, n_b)

    low = max(0, n_b - (total - drawn))
    p = math.fsum(math.exp(log_pmf(x)) for x in range(low, successes_b + 1))
    return min(1.0, p)


def _log_comb(n: int, k: int) -> float:
    return math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1)


def holm_adjust(p_values: Sequence[float]) -> list[float]:
    """Holm–Bonferroni adjusted p-values (Holm 1979), in the input order: reject where the
    adjusted value is at most alpha, and the family-wise error rate is at most alpha."""
    m = len(p_values)
    order = sorted(range(m), key=lambda i: p_values[i])
    adjusted = [1.0] * m
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p_values[i]))
        adjusted[i] = running
    return adjusted


def normal_mean_interval(n: int, total: float, total_sq: float, z: float = Z95) -> Interval | None:
    """Normal-approximation interval for a mean from its count, sum and sum of squares
    (for trends, where per-job bootstraps over a long history would be too slow)."""
    if n < 2:  # one value says nothing about its spread
        return None
    mean = total / n
    var = max(0.0, total_sq / n - mean * mean) * n / (n - 1)
    half = z * math.sqrt(var / n)
    return Interval(low=max(0.0, mean - half), high=min(1.0, mean + half), method="normal")
