"""run.headlines: each finished section's headline, stored while the run executes

The service branch's revision adds the same column: whichever runs second finds it and leaves it alone.

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


def _has_headlines() -> bool:
    return 'headlines' in {column['name'] for column in sa.inspect(op.get_bind()).get_columns('run')}


def upgrade():
    if not _has_headlines():
        with op.batch_alter_table('run', schema=None) as batch_op:
            batch_op.add_column(sa.Column('headlines', sa.JSON(), nullable=True))


def downgrade():
    if _has_headlines():
        with op.batch_alter_table('run', schema=None) as batch_op:
            batch_op.drop_column('headlines')
