"""chat robots (enterprise WeChat, DingTalk) and their outbox

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07 12:00:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'robot',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=80), nullable=False),
        sa.Column('kind', sa.String(length=20), nullable=False),
        sa.Column('webhook_encrypted', sa.Text(), nullable=False),
        sa.Column('webhook_hint', sa.String(length=80), nullable=False),
        sa.Column('secret_encrypted', sa.Text(), nullable=True),
        sa.Column('role', sa.String(length=30), nullable=True),
        sa.Column('send_escalations', sa.Boolean(), nullable=False),
        sa.Column('send_digest', sa.Boolean(), nullable=False),
        sa.Column('send_weekly', sa.Boolean(), nullable=False),
        sa.Column('active', sa.Boolean(), nullable=False),
        sa.Column('paused_until', sa.DateTime(timezone=True), nullable=True),
        sa.Column('last_sent_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('last_error', sa.String(length=300), nullable=True),
        sa.Column('last_error_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_robot')),
    )
    op.create_table(
        'robot_message',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('robot_id', sa.Integer(), nullable=False),
        sa.Column('topic', sa.String(length=20), nullable=False),
        sa.Column('text', sa.Text(), nullable=False),
        sa.Column('dedupe_key', sa.String(length=120), nullable=True),
        sa.Column('status', sa.String(length=20), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('last_error', sa.String(length=300), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['robot_id'], ['robot.id'], name=op.f('fk_robot_message_robot_id_robot'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_robot_message')),
        sa.UniqueConstraint('dedupe_key', name=op.f('uq_robot_message_dedupe_key')),
    )
    with op.batch_alter_table('robot_message', schema=None) as batch_op:
        batch_op.create_index('ix_robot_message_due', ['status', 'next_attempt_at'], unique=False)


def downgrade():
    with op.batch_alter_table('robot_message', schema=None) as batch_op:
        batch_op.drop_index('ix_robot_message_due')
    op.drop_table('robot_message')
    op.drop_table('robot')
