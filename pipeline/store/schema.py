"""Every table of the staging store, in one MetaData: the one definition of its schema.

A change here needs a migration in migrations/versions/ (see migrate.py); a test checks that
the migrations build exactly this schema.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from pipeline.records import DATASET_COLUMNS

metadata_obj = MetaData()

# One proposed dataset row per image of a source; `f_<column>` hold the dataset's columns.
candidates = Table(
    "candidates",
    metadata_obj,
    Column("id", Integer, primary_key=True),
    Column("source_id", String(512), nullable=False, index=True),
    Column("source_kind", String(16), nullable=False),
    Column("image_sha256", String(64), nullable=False, index=True),
    Column("image_file", Text, nullable=False),
    Column("image_index", Integer),
    Column("page", Integer),
    Column("xref", Integer),
    Column("bbox", JSON),
    Column("panel", String(8)),
    Column("caption", Text),
    Column("classifier_modality", String(16)),
    Column("classifier_view", String(16)),
    Column("classifier_confidence", Float),
    Column("classifier_reasons", JSON),
    Column("evidence", JSON),
    Column("flags", JSON),
    Column("phash", String(64), index=True),
    Column("status", String(16), nullable=False, default="pending", index=True),
    Column("decided_by", String(128)),
    Column("decided_at", DateTime(timezone=True)),
    Column("decision_reason", Text),
    Column("version", Integer, nullable=False, default=1),
    Column("created_at", DateTime(timezone=True), nullable=False),
    *(Column(f"f_{name}", Text) for name in DATASET_COLUMNS),
    UniqueConstraint("source_id", "image_sha256", name="uq_source_image"),
)

# Each source the pipeline was pointed at, and how its last attempt ended.
sources = Table(
    "sources",
    metadata_obj,
    Column("source_id", String(512), primary_key=True),
    Column("kind", String(16), nullable=False),
    Column("location", Text, nullable=False),
    Column("status", String(16), nullable=False),  # "ok" or "failed"
    Column("error", Text),
    Column("images_found", Integer),
    Column("candidates_staged", Integer),
    Column("attempts", Integer, nullable=False, default=0),
    Column("last_run_at", DateTime(timezone=True), nullable=False),
    Column("failed_step", String(32)),  # the extraction step a failed source stopped at
)

# Every change of a candidate, with the row before and after.
audit_log = Table(
    "audit_log",
    metadata_obj,
    Column("id", Integer, primary_key=True),
    Column("candidate_id", Integer, ForeignKey("candidates.id"), nullable=False, index=True),
    Column("action", String(32), nullable=False),
    Column("actor", String(128), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("before", JSON),
    Column("after", JSON),
)

# Rows of an existing dataset imported so the pipeline never proposes them again.
dataset_images = Table(
    "dataset_images",
    metadata_obj,
    Column("id", Integer, primary_key=True),
    Column("patientid", String(64)),
    Column("filename", Text, nullable=False),
    Column("sha256", String(64), index=True),
    Column("phash", String(64), index=True),
    Column("row", JSON),
    Column("imported_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("filename", name="uq_dataset_filename"),
)

# Perceptual fingerprints of candidate images (ref = candidate id) and dataset images
# (ref = file name): hashes loaded all at once, thumbnails read for the few shortlisted.
image_fingerprints = Table(
    "image_fingerprints",
    metadata_obj,
    Column("id", Integer, primary_key=True),
    Column("kind", String(16), nullable=False),
    Column("ref", String(1024), nullable=False),
    Column("sha256", String(64), index=True),
    Column("version", Integer, nullable=False),
    Column("hashes", LargeBinary, nullable=False),
    Column("thumbs", LargeBinary, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("kind", "ref", name="uq_fingerprint_image"),
)

# Nightly runs: the start of the last successful one is where the next discovery begins.
runs = Table(
    "runs",
    metadata_obj,
    Column("id", Integer, primary_key=True),
    Column("started_at", DateTime(timezone=True), nullable=False, index=True),
    Column("finished_at", DateTime(timezone=True)),
    Column("status", String(16), nullable=False),
    Column("since", DateTime(timezone=True)),
    Column("found", Integer),
    Column("processed", Integer),
    Column("failed", Integer),
    Column("staged", Integer),
    Column("report", Text),
    Column("flow_run_id", String(64)),
)
