"""glossary terms: the terms the lessons use, defined once (curricula/glossary.yaml)

Revision ID: e6a0b4c2d9f1
Revises: d5e9f3a1b8c6
Create Date: 2026-12-07 19:10:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'e6a0b4c2d9f1'
down_revision = 'd5e9f3a1b8c6'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('glossary_terms',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('slug', sa.String(length=80), nullable=False),
    sa.Column('term', sa.String(length=120), nullable=False),
    sa.Column('aliases', sa.JSON(), nullable=False),
    sa.Column('definition', sa.Text(), nullable=False),
    sa.Column('retired_at', sa.DateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_glossary_terms')),
    sa.UniqueConstraint('slug', name=op.f('uq_glossary_terms_slug'))
    )


def downgrade():
    op.drop_table('glossary_terms')
