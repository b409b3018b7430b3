"""board changes: the cells each saved card change touched, so the tablets refresh only those

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02 01:00:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'board_change',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('column', sa.String(length=20), nullable=False),
        sa.Column('assignee_id', sa.Integer(), nullable=True),
        sa.Column('role', sa.String(length=30), nullable=False),
        sa.Column('at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_board_change')),
    )
    with op.batch_alter_table('board_change', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_board_change_at'), ['at'], unique=False)


def downgrade():
    with op.batch_alter_table('board_change', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_board_change_at'))
    op.drop_table('board_change')
