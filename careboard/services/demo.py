"""Demo data: the store and one account per role, all with the password `careboard-demo`."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from careboard.models import Level, Role, Setting, User
from careboard.services import DomainError, accounts

DEMO_PASSWORD = "careboard-demo"
DEMO_STORE_NAME = "星辰汽车 4S 店"

# username, display name, role, level
DEMO_USERS = [
    ("admin", "系统管理员 Admin", Role.ANALYST, Level.ADMIN),
    ("director", "王总监", Role.CARE_DIRECTOR, Level.DIRECTOR),
    ("supervisor", "李主管", Role.CS_SUPERVISOR, Level.SUPERVISOR),
    ("sales1", "张丽", Role.SALES_CARE, Level.STAFF),
    ("sales2", "陈晨", Role.SALES_CARE, Level.STAFF),
    ("aftersales1", "刘洋", Role.AFTERSALES_CARE, Level.STAFF),
    ("aftersales2", "赵敏", Role.AFTERSALES_CARE, Level.STAFF),
    ("phone1", "孙悦", Role.PHONE_RECEPTION, Level.STAFF),
    ("delivery1", "周杰", Role.DELIVERY, Level.STAFF),
    ("reception1", "吴倩", Role.SHOWROOM_RECEPTION, Level.STAFF),
    ("service1", "郑浩", Role.AFTERSALES_SERVICE, Level.STAFF),
    ("insurance1", "冯婷", Role.INSURANCE_RENEWAL, Level.STAFF),
    ("marketing1", "何磊", Role.MARKETING_MANAGER, Level.STAFF),
    ("analyst1", "许静", Role.ANALYST, Level.STAFF),
    ("ads1", "韩雪", Role.ADVERTISING, Level.STAFF),
    ("club1", "曹阳", Role.OWNERS_CLUB, Level.STAFF),
]
DEMO_USERNAMES = {row[0] for row in DEMO_USERS}


def foreign_users(session: Session) -> list[str]:
    """User names that the demo did not create: a sign that this is a real store's database."""
    names = session.scalars(select(User.username)).all()
    return sorted(set(names) - DEMO_USERNAMES)


def load_demo(session: Session, *, force: bool = False) -> list[str]:
    """Create what is missing of the demo; returns what it created. Idempotent."""
    foreign = foreign_users(session)
    if foreign and not force:
        raise DomainError(
            f"This database holds accounts that are not demo accounts ({', '.join(foreign[:5])}"
            f"{'…' if len(foreign) > 5 else ''}); refusing to add demo data. Use --force to add it anyway.")
    created: list[str] = []
    if session.get(Setting, "store_name") is None:
        session.add(Setting(key="store_name", value=DEMO_STORE_NAME))
        created.append(f"store {DEMO_STORE_NAME}")
    existing = set(session.scalars(select(User.username)).all())
    for username, display_name, role, level in DEMO_USERS:
        if username in existing:
            continue
        accounts.create_user(session, username=username, display_name=display_name, role=role, level=level,
                             password=DEMO_PASSWORD)
        created.append(f"user {username} ({role.value}, {level.name.lower()})")
    session.flush()
    return created
