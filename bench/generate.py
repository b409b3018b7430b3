"""A large, realistic dataset for the benchmarks, written fast with bulk INSERTs.

`generate(app)` fills the app's already-migrated (and empty) database: 200 active people over the 13
roles, 5,000 open cards (2,000 of them in the sales_care lane, 500 in the aftersales_service lane: the
boards of 2,000 and 500 cards that `make bench` compares) and 100,000 done cards of the last year, with
their history (one 'created' event per card, and a 'completed' event per done card).

It bypasses the services on purpose (one INSERT per few thousand rows instead of a flush per card),
but keeps their invariants: gapless positions per lane, version 1, UTC-aware datetimes, a 'created'
event for every card and a 'completed' event for every done card. Deterministic for a given seed.
"""
from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import Flask
from sqlalchemy import func, insert, select, text
from werkzeug.security import generate_password_hash

from careboard.extensions import db
from careboard.models import Card, CardEvent, CardKind, Column, EventKind, Level, Priority, Role, User

PASSWORD = "bench-password"
CHUNK = 5_000
SALES_SHARE_OF_OPEN = 0.40          # 2,000 of 5,000 open cards are in the sales_care lane
MID_ROLE = Role.AFTERSALES_SERVICE    # a board of a few hundred cards beside the sales_care one
MID_SHARE_OF_OPEN = 0.10            # 500 of 5,000 open cards are in its lane
SALES_SHARE_OF_USERS = 0.10         # about 20 of 200 people are sales care specialists
UNASSIGNED_SHARE = 0.03             # open cards nobody has claimed yet (their role's "Unassigned" lane)

OPEN_COLUMN_WEIGHTS = {Column.TODO.value: 0.5, Column.DOING.value: 0.25, Column.WAITING.value: 0.25}
KIND_WEIGHTS = {CardKind.CALLBACK.value: 0.35, CardKind.REMINDER.value: 0.2, CardKind.TASK.value: 0.2,
                CardKind.INSPECTION.value: 0.1, CardKind.COMPLAINT.value: 0.1, CardKind.RECTIFICATION.value: 0.05}
PRIORITY_WEIGHTS = {int(Priority.HIGH): 0.15, int(Priority.NORMAL): 0.7, int(Priority.LOW): 0.15}
RULES = {CardKind.CALLBACK.value: ["delivery_day_1_callback", "delivery_day_7_callback", "after_service_callback"],
         CardKind.REMINDER.value: ["service_reminder", "insurance_renewal_60d", "birthday_greeting"]}

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
GIVEN = ["伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明", "超", "秀英",
         "霞", "平", "刚", "桂英", "晓东", "海燕", "子涵", "浩然", "欣怡", "雨桐", "宇航", "梓萱"]
MODELS = ["Model 3", "Model Y", "汉 EV", "唐 DM-i", "秦 PLUS", "宋 PLUS", "海豹", "元 PLUS", "朗逸", "帕萨特",
          "途观 L", "凯美瑞", "RAV4 荣放", "雅阁", "CR-V", "轩逸", "奥迪 A6L", "宝马 5系", "奔驰 C级", "理想 L7"]
TITLES = {
    CardKind.CALLBACK.value: ["交车回访：{name} 的 {model}", "保养后回访：{name}（{model}）", "维修满意度回访 {name}"],
    CardKind.REMINDER.value: ["保养提醒：{name} 的 {model} 已到 {km} 公里", "保险到期提醒：{name}",
                              "年检提醒：{model}"],
    CardKind.TASK.value: ["整理 {model} 交车资料", "为 {name} 预约试驾", "更新客户档案：{name}", "准备车主活动物料"],
    CardKind.INSPECTION.value: ["展厅 5S 检查：{model} 展车", "交车区检查", "客休区巡检"],
    CardKind.COMPLAINT.value: ["投诉：{name} 反映 {model} 异响", "投诉：等待时间过长（{name}）",
                               "投诉：费用疑问 {name}"],
    CardKind.RECTIFICATION.value: ["整改：{model} 展车灰尘", "整改：客休区饮水机", "整改：交车流程缺项"],
}
DETAILS = ["客户希望下午三点后联系。", "已电话未接通，稍后再拨。", "客户对服务顾问评价很好。",
           "需要与售后经理确认配件到货时间。", "客户提到朋友也想看车，留意转介绍。", ""]
OUTCOMES = ["客户满意，无其他需求。", "客户反馈等待时间较长，已致歉。", "已预约下次保养。", "客户未接听，已发短信。",
            "已解决，客户确认。"]


@dataclass
class Dataset:
    """What was generated: who to log in as, and how many rows of each kind."""

    password: str
    supervisor: str                       # a cs_supervisor account (sees the whole department)
    overseers: list[str]                  # every account of level supervisor and up, `supervisor` first
    sales_staff: list[str]                # sales_care staff accounts, most open cards first
    users: int = 0
    open_cards: int = 0
    done_cards: int = 0
    events: int = 0
    open_by_role: dict[str, int] = field(default_factory=dict)
    open_by_user: dict[str, int] = field(default_factory=dict)


def _pick(rng: random.Random, weights: dict):
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def _user_plan(users: int) -> list[tuple[Role, Level]]:
    """(role, level) for each person: a director or two, a few supervisors, ~10% sales care, the rest
    spread over the other roles."""
    directors = 1 if users < 100 else 2
    supervisors = max(1, round(users * 0.02))
    sales = max(2, round(users * SALES_SHARE_OF_USERS))
    plan = [(Role.CARE_DIRECTOR, Level.DIRECTOR)] * directors + [(Role.CS_SUPERVISOR, Level.SUPERVISOR)] * supervisors
    plan += [(Role.SALES_CARE, Level.STAFF)] * sales
    others = [r for r in Role if r not in (Role.CARE_DIRECTOR, Role.CS_SUPERVISOR, Role.SALES_CARE)]
    if users < len(plan) + len(others):
        raise ValueError(f"at least {len(plan) + len(others)} users are needed to fill every role")
    plan += [(others[i % len(others)], Level.STAFF) for i in range(users - len(plan))]
    return plan


def _chunks(rows: list[dict], size: int = CHUNK):
    for start in range(0, len(rows), size):
        yield rows[start:start + size]


def _next_id(model) -> int:
    return (db.session.scalar(select(func.max(model.id))) or 0) + 1


def _insert(model, rows: list[dict]) -> None:
    """ORM bulk INSERT, a few thousand rows per executemany. render_nulls keeps every row's key set the
    same (the ORM would otherwise omit None values and split the batch into one statement per row)."""
    statement = insert(model).execution_options(render_nulls=True)
    for chunk in _chunks(rows):
        db.session.execute(statement, chunk)


def _with_ids(model, rows: list[dict]) -> list[int]:
    """Number the rows ourselves: RETURNING the ids in order would insert row by row on SQLite."""
    start = _next_id(model)
    ids = list(range(start, start + len(rows)))
    for row, row_id in zip(rows, ids, strict=True):
        row["id"] = row_id
    return ids


def _advance_sequences() -> None:
    """PostgreSQL: the serial sequences did not see our explicit ids; move them past the largest."""
    if db.session.get_bind().dialect.name != "postgresql":
        return
    for model in (User, Card, CardEvent):
        table = model.__table__.name
        db.session.execute(text(f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), "
                                f"(SELECT max(id) FROM \"{table}\"))"))


def generate(app: Flask, *, users: int = 200, open_cards: int = 5_000, done_cards: int = 100_000,
             seed: int = 1) -> Dataset:
    """Fill the app's migrated, empty database; return who to log in as and what was made. Times are
    relative to now, so the same seed gives the same data up to the clock."""
    rng = random.Random(seed)
    with app.app_context():
        now = datetime.now(UTC)
        zone = ZoneInfo(app.config["CAREBOARD_TIMEZONE"])
        today_start = datetime.combine(now.astimezone(zone).date(), time.min, tzinfo=zone).astimezone(UTC)
        password_hash = generate_password_hash(PASSWORD, app.config["PASSWORD_HASH_METHOD"])

        # ---- people
        plan = _user_plan(users)
        counters: dict[str, int] = defaultdict(int)
        user_rows, used_names = [], set()
        for role, level in plan:
            counters[role.value] += 1
            name = rng.choice(SURNAMES) + rng.choice(GIVEN)
            while name in used_names:
                name = rng.choice(SURNAMES) + rng.choice(GIVEN) + rng.choice(GIVEN)
            used_names.add(name)
            username = f"{role.value.replace('_', '')}{counters[role.value]:02d}"
            user_rows.append(dict(username=username, display_name=name,
                                  password_hash=password_hash, role=role.value, level=int(level), active=True,
                                  language="zh_CN", created_at=now - timedelta(days=400), last_login_at=None))
        _with_ids(User, user_rows)
        _insert(User, user_rows)
        people = user_rows
        by_role: dict[str, list[dict]] = defaultdict(list)
        for person in people:
            by_role[person["role"]].append(person)
        other_roles = [r for r in by_role if r != Role.SALES_CARE.value]
        other_weights = [len(by_role[r]) for r in other_roles]

        def card_role(is_sales: bool) -> str:
            return Role.SALES_CARE.value if is_sales else rng.choices(other_roles, weights=other_weights)[0]

        rest_roles = [r for r in other_roles if r != MID_ROLE.value]
        rest_weights = [len(by_role[r]) for r in rest_roles]

        def open_card_role(i: int) -> str:
            """The first cards go to sales_care, the next to MID_ROLE, the rest by the other roles' people."""
            if i < sales_open:
                return Role.SALES_CARE.value
            return MID_ROLE.value if i < sales_open + mid_open else rng.choices(rest_roles, weights=rest_weights)[0]

        def card_fields(role: str, created_at: datetime) -> dict:
            kind = _pick(rng, KIND_WEIGHTS)
            title = rng.choice(TITLES[kind]).format(name=rng.choice(SURNAMES) + rng.choice(GIVEN),
                                                    model=rng.choice(MODELS), km=rng.choice((5, 10, 20, 30)) * 1000)
            from_rule = kind in (CardKind.CALLBACK.value, CardKind.REMINDER.value) and rng.random() < 0.7
            return dict(kind=kind, title=title, details=rng.choice(DETAILS), role=role,
                        priority=_pick(rng, PRIORITY_WEIGHTS),
                        source=rng.choice(RULES[kind]) if from_rule else "manual", rule_key=None,
                        customer_id=None,
                        created_at=created_at, version=1)

        # ---- open cards: gapless positions per lane, as the services keep them
        sales_open = round(open_cards * SALES_SHARE_OF_OPEN)
        mid_open = round(open_cards * MID_SHARE_OF_OPEN)
        open_rows: list[dict] = []
        lanes: dict[tuple, int] = defaultdict(int)
        for i in range(open_cards):
            role = open_card_role(i)
            assignee = None if rng.random() < UNASSIGNED_SHARE else rng.choice(by_role[role])
            column = _pick(rng, OPEN_COLUMN_WEIGHTS)
            lane = (column, assignee["id"]) if assignee else (column, None, role)
            created_at = now - timedelta(seconds=rng.randint(600, 30 * 86_400))
            due = rng.random()
            if due < 0.30:
                due_at = now - timedelta(seconds=rng.randint(60, 10 * 86_400))          # overdue
            elif due < 0.40:
                due_at = now + timedelta(seconds=rng.randint(60, 2 * 3_600))            # due soon
            elif due < 0.70:
                due_at = now + timedelta(seconds=rng.randint(2 * 3_600, 14 * 86_400))   # on time
            else:
                due_at = None
            row = card_fields(role, created_at)
            row.update(assignee_id=assignee["id"] if assignee else None, column=column, position=lanes[lane],
                       due_at=due_at, created_by_id=None if row["source"] != "manual" else
                       (assignee or rng.choice(people))["id"],
                       updated_at=created_at + timedelta(seconds=rng.randint(0, 3_600)), completed_at=None,
                       completed_by_id=None, outcome_note=None)
            lanes[lane] += 1
            open_rows.append(row)
        open_ids = _with_ids(Card, open_rows)
        _insert(Card, open_rows)

        # ---- done cards: completed over the last year, never today (store time), so not on the board
        done_rows: list[dict] = []
        for _ in range(done_cards):
            role = card_role(rng.random() < SALES_SHARE_OF_OPEN)
            person = rng.choice(by_role[role])
            completed_at = today_start - timedelta(seconds=rng.randint(60, 365 * 86_400))
            created_at = completed_at - timedelta(seconds=rng.randint(600, 10 * 86_400))
            due = rng.random()
            due_at = None if due < 0.3 else completed_at + timedelta(seconds=rng.randint(-86_400, 3 * 86_400))
            row = card_fields(role, created_at)
            row.update(assignee_id=person["id"], column=Column.DONE.value, position=0, due_at=due_at,
                       created_by_id=None if row["source"] != "manual" else person["id"], updated_at=completed_at,
                       completed_at=completed_at, completed_by_id=person["id"],
                       outcome_note=rng.choice(OUTCOMES) if row["kind"] == CardKind.CALLBACK.value else None)
            done_rows.append(row)
        done_ids = _with_ids(Card, done_rows)
        _insert(Card, done_rows)

        # ---- history
        events: list[dict] = []

        def event(card_id: int, at: datetime, actor_id: int | None, kind: EventKind, to_value: str,
                  note: str | None = None) -> dict:
            return dict(card_id=card_id, at=at, actor_id=actor_id, kind=kind.value, from_value=None,
                        to_value=to_value, note=note)

        for card_id, row in zip(open_ids, open_rows, strict=True):
            events.append(event(card_id, row["created_at"], row["created_by_id"], EventKind.CREATED, Column.TODO.value))
        for card_id, row in zip(done_ids, done_rows, strict=True):
            events.append(event(card_id, row["created_at"], row["created_by_id"], EventKind.CREATED, Column.TODO.value))
            events.append(event(card_id, row["completed_at"], row["completed_by_id"], EventKind.COMPLETED,
                                Column.DONE.value, row["outcome_note"]))
        _with_ids(CardEvent, events)
        _insert(CardEvent, events)
        _advance_sequences()
        db.session.commit()

        open_by_user: dict[int, int] = defaultdict(int)
        open_by_role: dict[str, int] = defaultdict(int)
        for row in open_rows:
            open_by_role[row["role"]] += 1
            if row["assignee_id"]:
                open_by_user[row["assignee_id"]] += 1
        usernames = {p["id"]: p["username"] for p in people}
        sales_staff = sorted((p for p in by_role[Role.SALES_CARE.value] if p["level"] == Level.STAFF),
                             key=lambda p: (-open_by_user[p["id"]], p["username"]))
        overseers = sorted((p for p in people if p["level"] >= Level.SUPERVISOR),
                           key=lambda p: (p["role"] != Role.CS_SUPERVISOR.value, p["id"]))
        return Dataset(password=PASSWORD, supervisor=overseers[0]["username"],
                       overseers=[p["username"] for p in overseers],
                       sales_staff=[p["username"] for p in sales_staff], users=len(people),
                       open_cards=len(open_rows), done_cards=len(done_rows), events=len(events),
                       open_by_role=dict(open_by_role),
                       open_by_user={usernames[uid]: n for uid, n in open_by_user.items()})
