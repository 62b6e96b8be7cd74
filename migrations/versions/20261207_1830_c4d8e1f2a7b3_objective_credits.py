"""credit across programmes: the objectives each equivalence joins (from
curricula/equivalences.yaml), and the objectives credited to a learner from another programme

Revision ID: c4d8e1f2a7b3
Revises: b7c1e2a9d4f0
Create Date: 2026-12-07 18:30:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c4d8e1f2a7b3'
down_revision = 'b7c1e2a9d4f0'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('equivalence_members',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('equivalence', sa.String(length=80), nullable=False),
    sa.Column('objective_id', sa.Integer(), nullable=False),
    sa.Column('programme_major', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['objective_id'], ['objectives.id'], name=op.f('fk_equivalence_members_objective_id_objectives')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_equivalence_members')),
    sa.UniqueConstraint('equivalence', 'objective_id', name=op.f('uq_equivalence_members_equivalence'))
    )
    with op.batch_alter_table('equivalence_members', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_equivalence_members_equivalence'), ['equivalence'], unique=False)
        batch_op.create_index(batch_op.f('ix_equivalence_members_objective_id'), ['objective_id'], unique=False)

    op.create_table('objective_credits',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('objective_id', sa.Integer(), nullable=False),
    sa.Column('source_objective_id', sa.Integer(), nullable=False),
    sa.Column('equivalence', sa.String(length=80), nullable=False),
    sa.Column('target_major', sa.Integer(), nullable=False),
    sa.Column('source_major', sa.Integer(), nullable=False),
    sa.Column('evidence', sa.JSON(), nullable=False),
    sa.Column('credited_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['objective_id'], ['objectives.id'], name=op.f('fk_objective_credits_objective_id_objectives')),
    sa.ForeignKeyConstraint(['source_objective_id'], ['objectives.id'], name=op.f('fk_objective_credits_source_objective_id_objectives')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_objective_credits_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_objective_credits')),
    sa.UniqueConstraint('user_id', 'objective_id', 'target_major', name=op.f('uq_objective_credits_user_id'))
    )
    with op.batch_alter_table('objective_credits', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_objective_credits_objective_id'), ['objective_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_objective_credits_user_id'), ['user_id'], unique=False)


def downgrade():
    with op.batch_alter_table('objective_credits', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_objective_credits_user_id'))
        batch_op.drop_index(batch_op.f('ix_objective_credits_objective_id'))
    op.drop_table('objective_credits')
    with op.batch_alter_table('equivalence_members', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_equivalence_members_objective_id'))
        batch_op.drop_index(batch_op.f('ix_equivalence_members_equivalence'))
    op.drop_table('equivalence_members')
