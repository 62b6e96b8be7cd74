"""honest completion: module completions made with the removed self-attestation button are kept
and marked self-attested (they count for nothing); the engine's clock holds while a gate waits
for content (the status "waiting-for-content" needs a longer enrolments.stage_status)

Revision ID: c0a7e5d1f3b2
Revises: ad88c7a0eefe
Create Date: 2026-12-07 17:10:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c0a7e5d1f3b2'
down_revision = 'ad88c7a0eefe'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('module_completions', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('self_attested', sa.Boolean(), server_default=sa.false(), nullable=False)
        )

    # The button was offered only on a module without a live lesson section (the view refused
    # it otherwise), so every completion of such a module was made by saying so.
    op.execute(
        "UPDATE module_completions SET self_attested = TRUE WHERE NOT EXISTS ("
        " SELECT 1 FROM lesson_sections"
        " WHERE lesson_sections.module_id = module_completions.module_id"
        " AND lesson_sections.retired_at IS NULL)"
    )

    # Room for the status "waiting-for-content".
    with op.batch_alter_table('enrolments', schema=None) as batch_op:
        batch_op.alter_column('stage_status', existing_type=sa.String(length=12), type_=sa.String(length=20), existing_nullable=True)

    op.create_table('clock_holds',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('enrolment_id', sa.Integer(), nullable=False),
    sa.Column('stage_id', sa.String(length=20), nullable=False),
    sa.Column('held_from', sa.Date(), nullable=False),
    sa.Column('released_on', sa.Date(), nullable=True),
    sa.Column('reason', sa.String(length=500), nullable=False),
    sa.ForeignKeyConstraint(['enrolment_id'], ['enrolments.id'], name=op.f('fk_clock_holds_enrolment_id_enrolments')),
    sa.ForeignKeyConstraint(['stage_id'], ['stages.id'], name=op.f('fk_clock_holds_stage_id_stages')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_clock_holds'))
    )
    with op.batch_alter_table('clock_holds', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_clock_holds_enrolment_id'), ['enrolment_id'], unique=False)


def downgrade():
    with op.batch_alter_table('clock_holds', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_clock_holds_enrolment_id'))

    op.drop_table('clock_holds')
    # Back to 12 characters: the status no older code knows goes first.
    op.execute("UPDATE enrolments SET stage_status = NULL WHERE stage_status = 'waiting-for-content'")
    with op.batch_alter_table('enrolments', schema=None) as batch_op:
        batch_op.alter_column('stage_status', existing_type=sa.String(length=20), type_=sa.String(length=12), existing_nullable=True)

    with op.batch_alter_table('module_completions', schema=None) as batch_op:
        batch_op.drop_column('self_attested')
