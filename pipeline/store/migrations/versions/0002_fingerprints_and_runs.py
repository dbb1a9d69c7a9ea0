"""Image fingerprints and nightly runs, once created on first use, now part of the schema.

Stores that already have them (a duplicate check or a nightly run made them) keep them.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    existing = set(sa.inspect(op.get_bind()).get_table_names())
    if "image_fingerprints" not in existing:
        op.create_table(
            "image_fingerprints",
            sa.Column("id", sa.Integer, primary_key=True),
            sa.Column("kind", sa.String(16), nullable=False),
            sa.Column("ref", sa.String(1024), nullable=False),
            sa.Column("sha256", sa.String(64), index=True),
            sa.Column("version", sa.Integer, nullable=False),
            sa.Column("hashes", sa.LargeBinary, nullable=False),
            sa.Column("thumbs", sa.LargeBinary, nullable=False),
            sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
            sa.UniqueConstraint("kind", "ref", name="uq_fingerprint_image"),
        )
    if "runs" not in existing:
        op.create_table(
            "runs",
            sa.Column("id", sa.Integer, primary_key=True),
            sa.Column("started_at", sa.DateTime(timezone=True), nullable=False, index=True),
            sa.Column("finished_at", sa.DateTime(timezone=True)),
            sa.Column("status", sa.String(16), nullable=False),
            sa.Column("since", sa.DateTime(timezone=True)),
            sa.Column("found", sa.Integer),
            sa.Column("processed", sa.Integer),
            sa.Column("failed", sa.Integer),
            sa.Column("staged", sa.Integer),
            sa.Column("report", sa.Text),
            sa.Column("flow_run_id", sa.String(64)),
        )


def downgrade() -> None:
    op.drop_table("runs")
    op.drop_table("image_fingerprints")
