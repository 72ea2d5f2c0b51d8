"""The store's schema, as SQLAlchemy Core tables (the head of the Alembic migrations).

```
jobs       one row per job run: (name, scenario clock) is its identity across machines
  job_tasks  per task sums of the job's trials (what trends read)
  trials   one row per finished trial directory: (job_id, trial_name) unique; its
           diagnostics (coverage, distractor followed, wrong remediations, invalid
           actions) as columns, and whole as JSON; NULL where not applicable
    gradings   one row per grading of a trial: the current one and each regrade's
               (trial_id, digest) unique; a regrade adds a row, never overwrites
      verdicts one row per check, compliance rule and rubric criterion of a grading
```

A job's identity is its name plus its scenario clock: a resume and a regrade keep both,
so they update the same rows, and two machines ingesting the same job agree on the key.
A new run of a variant (a new suite directory, a new `--job-name`) is a new job row.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData()

jobs = Table(
    "jobs",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("job_key", String(400), nullable=False, unique=True),
    Column("name", String(300), nullable=False),
    Column("variant", String(300), nullable=False, index=True),
    Column("model", String(200)),
    Column("reasoning_effort", String(20)),
    Column("agent", String(300)),
    Column("n_attempts", Integer),
    Column("judge_model", String(200)),
    Column("scenario_time", String(40), nullable=False),
    Column("started_at", DateTime(timezone=True)),
    Column("finished_at", DateTime(timezone=True)),
    Column("opsbench_version", String(40)),
    Column("host", String(200)),
    Column("path", Text),
    Column("config", JSON),
    Column("n_trials", Integer, nullable=False, default=0),
    Column("ingested_at", DateTime(timezone=True), nullable=False),
)

trials = Table(
    "trials",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("job_id", Integer, ForeignKey("jobs.id", ondelete="CASCADE"), nullable=False),
    Column("trial_name", String(300), nullable=False),
    Column("source_digest", String(64), nullable=False),
    Column("task_id", String(300), nullable=False),
    Column("attempt", Integer, nullable=False),
    Column("category", String(100), nullable=False),
    Column("difficulty", String(40), nullable=False),
    Column("task_checksum", String(100), nullable=False),
    Column("outcome", String(40), nullable=False),
    Column("scored", Boolean, nullable=False),
    Column("passed", Boolean, nullable=False),
    Column("task_gate", Boolean, nullable=False),
    Column("compliance_gate", Boolean),  # NULL: not applicable (Harbor-format tasks)
    Column("reward", Float, nullable=False),
    Column("partial", Boolean, nullable=False),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True), nullable=False),
    Column("seconds", Float, nullable=False),
    Column("phases", JSON),
    Column("calls", Integer, nullable=False),
    Column("input_tokens", Integer, nullable=False),
    Column("output_tokens", Integer, nullable=False),
    Column("cost_usd", Float, nullable=False),
    Column("exception_type", String(200)),
    Column("grader_version", String(40)),
    Column("opsbench_version", String(40)),
    Column("audit_flags", Integer),
    Column("suspect", Boolean),
    Column("evidence_coverage", Float),
    Column("distractor_followed", Boolean),
    Column("wrong_remediations", Integer),
    Column("invalid_actions", Integer),
    Column("diagnostics", JSON),
    UniqueConstraint("job_id", "trial_name", name="uq_trials_job_trial"),
)

job_tasks = Table(
    "job_tasks",
    metadata,
    Column("job_id", Integer, ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True),
    Column("task_id", String(300), primary_key=True),
    Column("category", String(100), nullable=False),
    Column("trials", Integer, nullable=False),
    Column("scored", Integer, nullable=False),
    Column("passed", Integer, nullable=False),
    Column("reward_sum", Float, nullable=False),
    Column("reward_sq", Float, nullable=False),
    Column("cost_usd", Float, nullable=False),
)
"""Per job and task sums of `trials`, rewritten by each ingest of the job in the same
transaction: trends, regressions and the job list read this (one row per task, not per
trial)."""

gradings = Table(
    "gradings",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("trial_id", Integer, ForeignKey("trials.id", ondelete="CASCADE"), nullable=False),
    Column("digest", String(64), nullable=False),
    Column("graded_at", DateTime(timezone=True), nullable=False),
    Column("source", String(100), nullable=False),
    Column("current", Boolean, nullable=False),
    Column("reward", Float),
    Column("task_gate", Boolean),
    Column("compliance_gate", Boolean),
    Column("passed", Boolean),
    Column("grader_version", String(40)),
    Column("judge_model", String(200)),
    Column("diagnostics", JSON),
    UniqueConstraint("trial_id", "digest", name="uq_gradings_trial_digest"),
)

verdicts = Table(
    "verdicts",
    metadata,
    Column("id", Integer, primary_key=True),
    Column(
        "grading_id",
        Integer,
        ForeignKey("gradings.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    Column("section", String(20), nullable=False),
    Column("name", String(300), nullable=False),
    Column("kind", String(60)),
    Column("passed", Boolean),
    Column("verdict", String(20), nullable=False),
    Column("weight", Float),
    Column("message", Text),
)
