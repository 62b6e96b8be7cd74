"""job aids: templates to download for an objective's artefact, kept with their text

Revision ID: f7b1c5d3e0a2
Revises: e6a0b4c2d9f1
Create Date: 2026-12-07 19:15:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'f7b1c5d3e0a2'
down_revision = 'e6a0b4c2d9f1'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('job_aids',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('module_id', sa.Integer(), nullable=False),
    sa.Column('slug', sa.String(length=80), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('filename', sa.String(length=120), nullable=False),
    sa.Column('objective', sa.String(length=80), nullable=True),
    sa.Column('content', sa.Text(), nullable=False),
    sa.Column('retired_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['module_id'], ['modules.id'], name=op.f('fk_job_aids_module_id_modules')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_job_aids')),
    sa.UniqueConstraint('module_id', 'slug', name=op.f('uq_job_aids_module_id'))
    )
    with op.batch_alter_table('job_aids', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_job_aids_module_id'), ['module_id'], unique=False)


def downgrade():
    with op.batch_alter_table('job_aids', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_job_aids_module_id'))
    op.drop_table('job_aids')
