"""The staging store as it was before migrations: candidates, sources, audit log, dataset.

A store made then is stamped with this revision when first opened (see migrate.py).

Revision ID: 0001
Revises:
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

DATASET_COLUMNS = (
    "patientid", "offset", "sex", "age", "finding", "RT_PCR_positive", "survival",
    "intubated", "intubation_present", "went_icu", "in_icu", "needed_supplemental_O2",
    "extubated", "temperature", "pO2_saturation", "leukocyte_count", "neutrophil_count",
    "lymphocyte_count", "view", "modality", "date", "location", "folder", "filename", "doi",
    "url", "license", "clinical_notes", "other_notes",
)  # fmt: skip


def upgrade() -> None:
    op.create_table(
        "candidates",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("source_id", sa.String(512), nullable=False, index=True),
        sa.Column("source_kind", sa.String(16), nullable=False),
        sa.Column("image_sha256", sa.String(64), nullable=False, index=True),
        sa.Column("image_file", sa.Text, nullable=False),
        sa.Column("image_index", sa.Integer),
        sa.Column("page", sa.Integer),
        sa.Column("xref", sa.Integer),
        sa.Column("bbox", sa.JSON),
        sa.Column("panel", sa.String(8)),
        sa.Column("caption", sa.Text),
        sa.Column("classifier_modality", sa.String(16)),
        sa.Column("classifier_view", sa.String(16)),
        sa.Column("classifier_confidence", sa.Float),
        sa.Column("classifier_reasons", sa.JSON),
        sa.Column("evidence", sa.JSON),
        sa.Column("flags", sa.JSON),
        sa.Column("phash", sa.String(64), index=True),
        sa.Column("status", sa.String(16), nullable=False, index=True),
        sa.Column("decided_by", sa.String(128)),
        sa.Column("decided_at", sa.DateTime(timezone=True)),
        sa.Column("decision_reason", sa.Text),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        *(sa.Column(f"f_{name}", sa.Text) for name in DATASET_COLUMNS),
        sa.UniqueConstraint("source_id", "image_sha256", name="uq_source_image"),
    )
    op.create_table(
        "sources",
        sa.Column("source_id", sa.String(512), primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("location", sa.Text, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("error", sa.Text),
        sa.Column("images_found", sa.Integer),
        sa.Column("candidates_staged", sa.Integer),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("last_run_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "candidate_id", sa.Integer, sa.ForeignKey("candidates.id"), nullable=False, index=True
        ),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("actor", sa.String(128), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("before", sa.JSON),
        sa.Column("after", sa.JSON),
    )
    op.create_table(
        "dataset_images",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("patientid", sa.String(64)),
        sa.Column("filename", sa.Text, nullable=False),
        sa.Column("sha256", sa.String(64), index=True),
        sa.Column("phash", sa.String(64), index=True),
        sa.Column("row", sa.JSON),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("filename", name="uq_dataset_filename"),
    )


def downgrade() -> None:
    for table in ("audit_log", "dataset_images", "sources", "candidates"):
        op.drop_table(table)
