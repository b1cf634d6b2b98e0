"""The review queue: items, reviewers and their sessions, and the queues an API key may review.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("api_keys") as batch:
        batch.add_column(sa.Column("queues", sa.String(512), nullable=False, server_default=""))
    op.create_table(
        "review_items",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("queue", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("origin", sa.String(16), nullable=False),
        sa.Column("job_id", sa.String(32)),
        sa.Column("owner", sa.String(32), nullable=False),
        sa.Column("name", sa.String(512), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("media_type", sa.String(128)),
        sa.Column("text", sa.Text),
        sa.Column("blob", sa.String(64)),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("risk", sa.Float, nullable=False),
        sa.Column("labels", sa.JSON, nullable=False),
        sa.Column("result", sa.JSON, nullable=False),
        sa.Column("webhook_url", sa.String(2048)),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("claimed_by", sa.String(255)),
        sa.Column("claim_until", sa.DateTime()),
        sa.Column("escalated_from", sa.String(64)),
        sa.Column("escalated_by", sa.String(255)),
        sa.Column("decision", sa.String(16)),
        sa.Column("reason", sa.Text),
        sa.Column("decided_by", sa.String(255)),
        sa.Column("decided_at", sa.DateTime()),
        sa.Column("bank", sa.String(128)),
    )
    for column in ("queue", "status", "job_id", "risk", "created_at", "decided_at"):
        op.create_index(f"ix_review_items_{column}", "review_items", [column])
    op.create_table(
        "reviewers",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("name", sa.String(128), nullable=False, unique=True),
        sa.Column("password_hash", sa.String(256), nullable=False),
        sa.Column("queues", sa.String(512), nullable=False),
        sa.Column("prefs", sa.JSON, nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("disabled_at", sa.DateTime()),
    )
    op.create_table(
        "review_sessions",
        sa.Column("token_hash", sa.String(64), primary_key=True),
        sa.Column("reviewer_id", sa.String(32), nullable=False),
        sa.Column("csrf", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_review_sessions_reviewer_id", "review_sessions", ["reviewer_id"])
    op.create_index("ix_review_sessions_expires_at", "review_sessions", ["expires_at"])


def downgrade() -> None:
    op.drop_table("review_sessions")
    op.drop_table("reviewers")
    op.drop_table("review_items")
    with op.batch_alter_table("api_keys") as batch:
        batch.drop_column("queues")
