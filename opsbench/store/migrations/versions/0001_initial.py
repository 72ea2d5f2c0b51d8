"""The first store: jobs, trials, gradings (the regrade history) and their verdicts.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "jobs",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("job_key", sa.String(400), nullable=False, unique=True),
        sa.Column("name", sa.String(300), nullable=False),
        sa.Column("variant", sa.String(300), nullable=False, index=True),
        sa.Column("model", sa.String(200)),
        sa.Column("reasoning_effort", sa.String(20)),
        sa.Column("agent", sa.String(300)),
        sa.Column("n_attempts", sa.Integer),
        sa.Column("judge_model", sa.String(200)),
        sa.Column("scenario_time", sa.String(40), nullable=False),
        sa.Column("started_at", TZ),
        sa.Column("finished_at", TZ),
        sa.Column("opsbench_version", sa.String(40)),
        sa.Column("host", sa.String(200)),
        sa.Column("path", sa.Text),
        sa.Column("config", sa.JSON),
        sa.Column("n_trials", sa.Integer, nullable=False),
        sa.Column("ingested_at", TZ, nullable=False),
    )
    op.create_table(
        "trials",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "job_id", sa.Integer, sa.ForeignKey("jobs.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("trial_name", sa.String(300), nullable=False),
        sa.Column("source_digest", sa.String(64), nullable=False),
        sa.Column("task_id", sa.String(300), nullable=False),
        sa.Column("attempt", sa.Integer, nullable=False),
        sa.Column("category", sa.String(100), nullable=False),
        sa.Column("difficulty", sa.String(40), nullable=False),
        sa.Column("task_checksum", sa.String(100), nullable=False),
        sa.Column("outcome", sa.String(40), nullable=False),
        sa.Column("scored", sa.Boolean, nullable=False),
        sa.Column("passed", sa.Boolean, nullable=False),
        sa.Column("task_gate", sa.Boolean, nullable=False),
        sa.Column("compliance_gate", sa.Boolean, nullable=False),
        sa.Column("reward", sa.Float, nullable=False),
        sa.Column("partial", sa.Boolean, nullable=False),
        sa.Column("started_at", TZ, nullable=False),
        sa.Column("finished_at", TZ, nullable=False),
        sa.Column("seconds", sa.Float, nullable=False),
        sa.Column("phases", sa.JSON),
        sa.Column("calls", sa.Integer, nullable=False),
        sa.Column("input_tokens", sa.Integer, nullable=False),
        sa.Column("output_tokens", sa.Integer, nullable=False),
        sa.Column("cost_usd", sa.Float, nullable=False),
        sa.Column("exception_type", sa.String(200)),
        sa.Column("grader_version", sa.String(40)),
        sa.Column("opsbench_version", sa.String(40)),
        sa.UniqueConstraint("job_id", "trial_name", name="uq_trials_job_trial"),
    )
    op.create_table(
        "job_tasks",
        sa.Column(
            "job_id",
            sa.Integer,
            sa.ForeignKey("jobs.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("task_id", sa.String(300), primary_key=True),
        sa.Column("category", sa.String(100), nullable=False),
        sa.Column("trials", sa.Integer, nullable=False),
        sa.Column("scored", sa.Integer, nullable=False),
        sa.Column("passed", sa.Integer, nullable=False),
        sa.Column("reward_sum", sa.Float, nullable=False),
        sa.Column("reward_sq", sa.Float, nullable=False),
        sa.Column("cost_usd", sa.Float, nullable=False),
    )
    op.create_table(
        "gradings",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "trial_id", sa.Integer, sa.ForeignKey("trials.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("graded_at", TZ, nullable=False),
        sa.Column("source", sa.String(100), nullable=False),
        sa.Column("current", sa.Boolean, nullable=False),
        sa.Column("reward", sa.Float),
        sa.Column("task_gate", sa.Boolean),
        sa.Column("compliance_gate", sa.Boolean),
        sa.Column("passed", sa.Boolean),
        sa.Column("grader_version", sa.String(40)),
        sa.Column("judge_model", sa.String(200)),
        sa.UniqueConstraint("trial_id", "digest", name="uq_gradings_trial_digest"),
    )
    op.create_table(
        "verdicts",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "grading_id",
            sa.Integer,
            sa.ForeignKey("gradings.id", ondelete="CASCADE"),
            nullable=False,
            index=True,
        ),
        sa.Column("section", sa.String(20), nullable=False),
        sa.Column("name", sa.String(300), nullable=False),
        sa.Column("kind", sa.String(60)),
        sa.Column("passed", sa.Boolean),
        sa.Column("verdict", sa.String(20), nullable=False),
        sa.Column("weight", sa.Float),
        sa.Column("message", sa.Text),
    )
