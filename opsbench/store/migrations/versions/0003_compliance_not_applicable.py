"""A trial's compliance gate may be NULL: not applicable (a Harbor-format task declares no
rules), which is neither a pass nor a failure.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"


def upgrade() -> None:
    with op.batch_alter_table("trials") as batch:
        batch.alter_column("compliance_gate", existing_type=sa.Boolean, nullable=True)
    # Rows stored before: their current grading already says NULL (read from the score).
    op.execute(
        "UPDATE trials SET compliance_gate = NULL WHERE scored AND id IN "
        "(SELECT trial_id FROM gradings WHERE current AND compliance_gate IS NULL)"
    )
