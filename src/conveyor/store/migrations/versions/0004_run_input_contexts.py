"""A run may use one dataset version in several contexts (training and validation).

Revision ID: 0004
Revises: 0003
"""

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("run_inputs", recreate="always") as batch:
        batch.drop_constraint("pk_run_inputs", type_="primary")
        batch.create_primary_key("pk_run_inputs", ["run_id", "dataset_version_id", "context"])


def downgrade() -> None:
    # keep one context per (run, dataset version): the earliest recorded
    op.execute(
        "DELETE FROM run_inputs WHERE EXISTS (SELECT 1 FROM run_inputs AS o "
        "WHERE o.run_id = run_inputs.run_id "
        "AND o.dataset_version_id = run_inputs.dataset_version_id "
        "AND o.created_at < run_inputs.created_at)"
    )
    with op.batch_alter_table("run_inputs", recreate="always") as batch:
        batch.drop_constraint("pk_run_inputs", type_="primary")
        batch.create_primary_key("pk_run_inputs", ["run_id", "dataset_version_id"])
