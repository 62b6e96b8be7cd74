"""curriculum layout fields: a module's estimated minutes and prerequisites; the objectives a
lesson section teaches and the section it is included from (written once, shown in both)

Revision ID: b7c1e2a9d4f0
Revises: 40d2fa53ba34
Create Date: 2026-12-07 18:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b7c1e2a9d4f0'
down_revision = '40d2fa53ba34'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('modules', schema=None) as batch_op:
        batch_op.add_column(sa.Column('estimated_minutes', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('prerequisites', sa.JSON(), server_default='[]', nullable=False))

    with op.batch_alter_table('lesson_sections', schema=None) as batch_op:
        batch_op.add_column(sa.Column('objectives', sa.JSON(), server_default='[]', nullable=False))
        batch_op.add_column(sa.Column('included_from', sa.String(length=250), nullable=True))


def downgrade():
    with op.batch_alter_table('lesson_sections', schema=None) as batch_op:
        batch_op.drop_column('included_from')
        batch_op.drop_column('objectives')

    with op.batch_alter_table('modules', schema=None) as batch_op:
        batch_op.drop_column('prerequisites')
        batch_op.drop_column('estimated_minutes')
