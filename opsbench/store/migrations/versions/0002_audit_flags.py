"""Audit flags per trial: how many `verifier/audit.json` raised, and whether it is suspect.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    with op.batch_alter_table("trials") as batch:
        batch.add_column(sa.Column("audit_flags", sa.Integer))
        batch.add_column(sa.Column("suspect", sa.Boolean))
