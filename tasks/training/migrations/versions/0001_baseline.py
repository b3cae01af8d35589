"""Baseline: the job store's four tables as Tessera had them when migrations began.

A store made before Alembic (tables present, no ``alembic_version``) is adopted here: only
the columns such stores can lack are added, with server defaults so their existing rows
stay valid (``samples.share`` arrived with the shared-core speed model, ``jobs.examples``
with the reschedule flow). Both are what the hand-written column upgrades used to add.

Revision ID: 0001
Revises:
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None


def _late_columns() -> list[tuple[str, sa.Column[object]]]:
    """The columns a pre-migration store may lack, as (table, column); fresh objects each
    call, since a Column belongs to the one table it is added to."""
    return [
        ("jobs", sa.Column("examples", sa.Integer(), nullable=False, server_default="0")),
        ("samples", sa.Column("share", sa.Float(), nullable=False, server_default="1.0")),
    ]


def _create_tables() -> None:
    op.create_table(
        "jobs",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(64), nullable=False, unique=True),
        sa.Column("spec", sa.Text(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.Column("pus", sa.Integer(), nullable=False),
        sa.Column("workers", sa.Text(), nullable=False),
        sa.Column("epoch", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("metric", sa.Float(), nullable=True),
        sa.Column("examples", sa.Integer(), nullable=False),
        sa.Column("attained_pu_s", sa.Float(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("submitted_at", sa.Float(), nullable=False),
        sa.Column("started_at", sa.Float(), nullable=True),
        sa.Column("finished_at", sa.Float(), nullable=True),
        sa.Column("updated_at", sa.Float(), nullable=False),
    )
    op.create_index("ix_jobs_state", "jobs", ["state"])
    op.create_table(
        "samples",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("job_id", sa.Integer(), sa.ForeignKey("jobs.id"), nullable=False),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.Column("at", sa.Float(), nullable=False),
        sa.Column("epoch", sa.Integer(), nullable=False),
        sa.Column("step", sa.Integer(), nullable=False),
        sa.Column("loss", sa.Float(), nullable=True),
        sa.Column("metric", sa.Float(), nullable=True),
        sa.Column("samples_per_s", sa.Float(), nullable=True),
        sa.Column("pus", sa.Integer(), nullable=False),
        sa.Column("step_s", sa.Float(), nullable=True),
        sa.Column("sync_s", sa.Float(), nullable=True),
        sa.Column("share", sa.Float(), nullable=False, server_default="1.0"),
    )
    op.create_index("ix_samples_job_id", "samples", ["job_id"])
    op.create_table(
        "allocations",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("iteration", sa.Integer(), nullable=False),
        sa.Column("at", sa.Float(), nullable=False),
        sa.Column("job_id", sa.Integer(), sa.ForeignKey("jobs.id"), nullable=False),
        sa.Column("pus", sa.Integer(), nullable=False),
        sa.Column("workers", sa.Text(), nullable=False),
        sa.Column("policy", sa.String(64), nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=False),
    )
    op.create_index("ix_allocations_iteration", "allocations", ["iteration"])
    op.create_table(
        "checkpoints",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("job_id", sa.Integer(), sa.ForeignKey("jobs.id"), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("step", sa.Integer(), nullable=False),
        sa.Column("epoch", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("world_size", sa.Integer(), nullable=False),
        sa.Column("checksum", sa.String(64), nullable=False),
        sa.Column("at", sa.Float(), nullable=False),
    )
    op.create_index("ix_checkpoints_job_id", "checkpoints", ["job_id"])


def upgrade() -> None:
    """Create the tables, or bring a pre-migration store's tables up to them."""
    inspector = sa.inspect(op.get_bind())
    if not inspector.has_table("jobs"):
        _create_tables()
        return
    for table, column in _late_columns():
        if column.name not in {c["name"] for c in inspector.get_columns(table)}:
            op.add_column(table, column)


def downgrade() -> None:
    """Drop every table (the baseline has nothing before it)."""
    for table in ("checkpoints", "allocations", "samples", "jobs"):
        op.drop_table(table)
