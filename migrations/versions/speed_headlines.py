"""run.headlines: each finished section's headline, stored while the run executes

Revision ID: speed_headlines
Revises: b39fd3682412
Create Date: 2026-12-06 02:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'speed_headlines'
down_revision = 'b39fd3682412'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('run', schema=None) as batch_op:
        batch_op.add_column(sa.Column('headlines', sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table('run', schema=None) as batch_op:
        batch_op.drop_column('headlines')
