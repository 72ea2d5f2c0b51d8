"""Diagnostics per trial and per grading: evidence coverage, distractors followed, wrong
remediations and invalid actions (`grading.diagnostics`).

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"


def upgrade() -> None:
    with op.batch_alter_table("trials") as batch:
        batch.add_column(sa.Column("evidence_coverage", sa.Float))
        batch.add_column(sa.Column("distractor_followed", sa.Boolean))
        batch.add_column(sa.Column("wrong_remediations", sa.Integer))
        batch.add_column(sa.Column("invalid_actions", sa.Integer))
        batch.add_column(sa.Column("diagnostics", sa.JSON))
    with op.batch_alter_table("gradings") as batch:
        batch.add_column(sa.Column("diagnostics", sa.JSON))
