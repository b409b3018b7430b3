"""notifications: the bell's kinds, a card and a link per notice, its parameters, and each person's choices

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07 12:00:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade():
    # the notices made before: escalations (with their complaint) and the tick's skipped rows (without)
    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.add_column(sa.Column('kind', sa.String(length=30), nullable=False,
                                      server_default='complaint_escalated'))
        batch_op.add_column(sa.Column('actor_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('card_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('link', sa.String(length=300), nullable=True))
        batch_op.add_column(sa.Column('params', sa.JSON(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_notification_actor_id_user'), 'user', ['actor_id'], ['id'])
        batch_op.create_foreign_key(batch_op.f('fk_notification_card_id_card'), 'card', ['card_id'], ['id'],
                                    ondelete='SET NULL')
    notification = sa.table('notification', sa.column('kind', sa.String), sa.column('complaint_id', sa.Integer),
                            sa.column('link', sa.String))
    op.execute(notification.update().where(notification.c.complaint_id.is_(None)).values(kind='rows_skipped'))
    op.execute(notification.update().where(notification.c.complaint_id.is_not(None)).values(
        link=sa.literal('/complaints/') + sa.cast(notification.c.complaint_id, sa.String)))
    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.alter_column('kind', server_default=None, existing_type=sa.String(length=30), existing_nullable=False)

    op.create_table(
        'notification_preference',
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=30), nullable=False),
        sa.Column('enabled', sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_notification_preference_user_id_user'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('user_id', 'kind', name=op.f('pk_notification_preference')),
    )


def downgrade():
    op.drop_table('notification_preference')
    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_notification_card_id_card'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('fk_notification_actor_id_user'), type_='foreignkey')
        batch_op.drop_column('params')
        batch_op.drop_column('link')
        batch_op.drop_column('card_id')
        batch_op.drop_column('actor_id')
        batch_op.drop_column('kind')
