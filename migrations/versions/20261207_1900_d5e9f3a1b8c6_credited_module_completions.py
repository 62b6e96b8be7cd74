"""credited module completions: where a module's completion came from when every objective of
it was credited from another programme

Revision ID: d5e9f3a1b8c6
Revises: c0a7e5d1f3b2
Create Date: 2026-12-07 19:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'd5e9f3a1b8c6'
down_revision = 'c0a7e5d1f3b2'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('module_completions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('credited_from', sa.String(length=300), nullable=True))


def downgrade():
    with op.batch_alter_table('module_completions', schema=None) as batch_op:
        batch_op.drop_column('credited_from')
