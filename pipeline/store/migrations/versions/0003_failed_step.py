"""Which step of the extraction a failed source stopped at.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("sources") as batch:
        batch.add_column(sa.Column("failed_step", sa.String(32)))


def downgrade() -> None:
    with op.batch_alter_table("sources") as batch:
        batch.drop_column("failed_step")
