"""runs that are never lost: dispatch time, retries, idempotency keys, soft delete; model bytes off the row

Revision ID: service_reliability
Revises: b39fd3682412
Create Date: 2026-12-06 02:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'service_reliability'
down_revision = 'b39fd3682412'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('model_artifact', schema=None) as batch_op:
        batch_op.alter_column('data', existing_type=sa.LargeBinary(), nullable=True)
    with op.batch_alter_table('run', schema=None) as batch_op:
        batch_op.add_column(sa.Column('headlines', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('dispatched_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('attempts', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('idempotency_key', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('deleted_at', sa.DateTime(), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_run_idempotency_key'), ['idempotency_key'])
        batch_op.create_index('ix_run_list_order', ['deleted_at', 'created_at', 'id'], unique=False)


def downgrade():
    with op.batch_alter_table('run', schema=None) as batch_op:
        batch_op.drop_index('ix_run_list_order')
        batch_op.drop_constraint(batch_op.f('uq_run_idempotency_key'), type_='unique')
        batch_op.drop_column('deleted_at')
        batch_op.drop_column('idempotency_key')
        batch_op.drop_column('attempts')
        batch_op.drop_column('dispatched_at')
        batch_op.drop_column('headlines')
    with op.batch_alter_table('model_artifact', schema=None) as batch_op:
        batch_op.alter_column('data', existing_type=sa.LargeBinary(), nullable=False)
