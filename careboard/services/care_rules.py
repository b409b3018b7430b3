"""The care rules engine: callback, reminder and inspection cards that appear by themselves.

`tick(session, now=...)` is idempotent and incremental:

* Every card a rule makes has a unique `rule_key` (rule, source row, due date): a second tick, or two
  ticks at once, cannot make it twice (a concurrent duplicate fails its savepoint and is skipped).
* Date rules are evaluated per *creation day*: a card appears `lead` days before it is due. The days
  already handled are remembered (RuleState "days_done"), so a tick looks only at the new days, each
  with an indexed range query — it never rescans the customer base.
* Rows that arrive late (an import of last week's deliveries, a corrected insurance date) are caught by
  id / update-time cursors: their cards whose day has already come are made at once.
* Nothing older than `backfill_days` is made: importing five years of history does not flood the board.
* One bad row never stops the others: a date outside 1900–2100 (written past the forms, say by hand in the
  database) is left out of every planning query, named in the tick's report, and told to the supervisors and
  the director once a day (`out_of_range_rows`, `notify_skipped`).

The numbers (3 days, 3 and 6 months, lead times) come from DESIGN.md and the store's settings.
"""
from __future__ import annotations

import calendar
import threading
import time as monotime
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from flask import Flask
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, or_, select, text, update
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from careboard import dates, policy
from careboard.dbtypes import utcnow
from careboard.models import (CallbackResult, CallbackScript, Card, CardEvent, CardKind, Column, Customer, EventKind,
                              Level, Notification, Priority, Role, RuleState, Sale, ServiceVisit, User, Vehicle)
from careboard.models.cards import OPEN_COLUMNS
from careboard.services import DomainError
from careboard.services import board as board_service
from careboard.services import settings as settings_service
from careboard.services.customers import format_plate
from careboard.services.settings import StoreSettings
from careboard.services.texts import is_visible

DUE_TIME = time(23, 59)        # a card due on a day is due by the end of that day, in the store's zone

DEFAULT_HOLIDAYS = """\
2026-01-01 元旦
2026-02-17 春节
2026-04-05 清明节
2026-05-01 劳动节
2026-06-19 端午节
2026-09-25 中秋节
2026-10-01 国庆节
2027-01-01 元旦
2027-02-06 春节
2027-04-05 清明节
2027-05-01 劳动节
2027-06-09 端午节
2027-09-15 中秋节
2027-10-01 国庆节"""

# The standard scripts (话术) by callback rule; the director may replace them (CallbackScript rows).
DEFAULT_SCRIPTS = {
    "sale_3d": "您好，我是{store}的客户关爱专员。感谢您选择我们，您的新车使用三天了，用车还顺利吗？"
               "交车时的讲解是否清楚？对销售顾问的服务是否满意（1–10 分）？有什么需要我们帮助的吗？",
    "sale_3m": "您好，我是{store}的客户关爱专员。您的爱车已经陪伴您三个月了，用车有没有遇到问题？"
               "首次保养的时间和里程还记得吗？需要帮您预约吗？",
    "sale_6m": "您好，我是{store}的客户关爱专员。您的爱车已经使用半年，想了解一下您的整体满意度（1–10 分），"
               "以及对我们的服务有什么建议。",
    "service_3d": "您好，我是{store}售后关爱专员。您三天前在我店做了维修保养，车辆使用是否正常？"
                  "对服务顾问和维修质量是否满意（1–10 分）？交车时是否洗车、讲解是否清楚？",
    "winback": "您好，我是{store}的客户关爱专员。您的爱车已经有半年没有回店保养了，最近用车还好吗？"
               "我们本月有保养优惠，需要帮您预约吗？如有不满意的地方，也请告诉我们。",
}


RULE_LABELS = {
    "manual": _l("Manual"),
    "sale_3d": _l("3-day sales callback"),
    "sale_3m": _l("3-month sales callback"),
    "sale_6m": _l("6-month sales callback"),
    "service_3d": _l("3-day after-sales callback"),
    "winback": _l("Win-back of a lost customer"),
    "first_maintenance": _l("First maintenance reminder"),
    "maintenance": _l("Regular maintenance reminder"),
    "warranty": _l("Warranty expiry reminder"),
    "inspection": _l("Annual inspection reminder / daily inspection"),
    "insurance": _l("Insurance renewal reminder"),
    "birthday": _l("Birthday greeting"),
    "holiday": _l("Holiday greeting"),
}


def rule_label(source: str) -> str:
    return str(RULE_LABELS.get(source, source))


class CallbackError(DomainError):
    """An outcome that cannot be recorded (missing satisfaction, not a callback…)."""


# ---------------------------------------------------------------- dates


def add_months(day: date, months: int) -> date:
    """Calendar months, clamped at the month's end: Jan 31 + 3 months = Apr 30."""
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def birthday_in(year: int, birthday: date) -> date:
    """The birthday's date in `year`; Feb 29 is celebrated on Feb 28 in other years."""
    if birthday.month == 2 and birthday.day == 29 and not calendar.isleap(year):
        return date(year, 2, 28)
    return birthday.replace(year=year)


def due_at(day: date, zone) -> datetime:
    return datetime.combine(day, DUE_TIME, tzinfo=zone).astimezone(UTC)


def holiday_lines(text: str) -> tuple[list[tuple[date, str]], list[tuple[int, str]]]:
    """The holidays of the list and its bad lines (number, text): a line is a date in 1900–2100 and a name."""
    holidays, bad = [], []
    for number, line in enumerate((text or "").splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        day, _sep, name = line.partition(" ")
        try:
            holidays.append((dates.check(date.fromisoformat(day)), name.strip() or day))
        except ValueError:                                   # not a date, or DateOutOfRange
            bad.append((number, line))
    return holidays, bad


def parse_holidays(text: str) -> list[tuple[date, str]]:
    """The holiday list as the settings page saves it: DomainError naming the first bad line."""
    holidays, bad = holiday_lines(text)
    if bad:
        raise DomainError(_("Holiday list, line %(n)d: write a date between 1900 and 2100 as 2026-10-01 followed "
                            "by the name.", n=bad[0][0]))
    return holidays


def parse_now(text: str | None, settings: StoreSettings | None = None) -> datetime:
    """`--now`: an ISO time in 1900–2100; without an offset it is the store's local time. None: the real now.
    ValueError (DateOutOfRange for a time outside 1900–2100) when it is not one."""
    if not text:
        return utcnow()
    value = datetime.fromisoformat(text.strip())
    dates.check(value)
    if value.tzinfo is None:
        zone = (settings or settings_service.load(current_db_session())).zone
        value = value.replace(tzinfo=zone)
    return value.astimezone(UTC)


def current_db_session() -> Session:
    from careboard.extensions import db
    return db.session


# ---------------------------------------------------------------- what the rules want


@dataclass(frozen=True)
class Planned:
    """A card a rule wants, on `create_on` (local date), due by the end of `due_on`."""

    rule: str
    key: str
    role: str
    kind: str
    title: str
    create_on: date
    due_on: date
    customer_id: int | None = None
    vehicle_id: int | None = None
    preferred_id: int | None = None          # the customer's usual care person for this role
    details: str = ""
    priority: int = Priority.NORMAL


SALE_CALLBACKS = (("sale_3d", 0, 3), ("sale_3m", 3, 0), ("sale_6m", 6, 0))   # (rule, months, days)
SALE_TITLES = {"sale_3d": "交车3天回访", "sale_3m": "交车3个月回访", "sale_6m": "交车6个月回访"}


def _vehicle_label(plate: str | None, model: str | None) -> str:
    return " ".join(part for part in (model or "", format_plate(plate)) if part)


def _sale_cards(row, s: StoreSettings) -> list[Planned]:
    cards = []
    for rule, months, days in SALE_CALLBACKS:
        due = add_months(row.delivered_on, months) + timedelta(days=days)
        cards.append(Planned(
            rule=rule, key=f"{rule}:sale:{row.id}:{due.isoformat()}", role=Role.SALES_CARE.value,
            kind=CardKind.CALLBACK.value,
            title=f"{SALE_TITLES[rule]}：{row.name} {_vehicle_label(row.plate, row.model)}".strip(),
            create_on=due - timedelta(days=s.callback_lead_days), due_on=due, customer_id=row.customer_id,
            vehicle_id=row.vehicle_id, preferred_id=row.sales_care_id,
            details=f"交车日期 {row.delivered_on.isoformat()}"))
    return cards


def _visit_cards(row, s: StoreSettings) -> list[Planned]:
    due = row.visited_on + timedelta(days=3)
    work_order = f" 工单 {row.work_order}" if row.work_order else ""
    return [Planned(
        rule="service_3d", key=f"service_3d:visit:{row.id}:{due.isoformat()}", role=Role.AFTERSALES_CARE.value,
        kind=CardKind.CALLBACK.value,
        title=f"维修后3天回访：{row.name} {_vehicle_label(row.plate, row.model)}{work_order}".strip(),
        create_on=due - timedelta(days=s.callback_lead_days), due_on=due, customer_id=row.customer_id,
        vehicle_id=row.vehicle_id, preferred_id=row.aftersales_care_id,
        details=f"进站日期 {row.visited_on.isoformat()}" + (f"\n{row.description}" if row.description else ""))]


# Vehicle date reminders: (rule, Vehicle field, role, title, settings lead attribute)
DATE_REMINDERS = (
    ("first_maintenance", "first_maintenance_due", Role.AFTERSALES_CARE, "首保提醒（短信）",
     "first_maintenance_lead_days"),
    ("warranty", "warranty_end", Role.AFTERSALES_CARE, "质保到期电话提醒", "warranty_lead_days"),
    ("inspection", "next_inspection", Role.AFTERSALES_CARE, "年检提醒", "inspection_lead_days"),
    ("insurance", "insurance_expiry", Role.INSURANCE_RENEWAL, "续保提醒", "insurance_lead_days"),
)


def _date_reminder(rule: str, title: str, role: Role, day: date, lead: int, row, s: StoreSettings) -> Planned:
    create_on = day - timedelta(days=lead)
    preferred = row.aftersales_care_id if role is Role.AFTERSALES_CARE else None
    return Planned(
        rule=rule, key=f"{rule}:vehicle:{row.vehicle_id}:{day.isoformat()}", role=role.value,
        kind=CardKind.REMINDER.value,
        title=f"{title}：{row.name} {_vehicle_label(row.plate, row.model)}（{day.isoformat()}）".strip(),
        create_on=create_on, due_on=min(create_on + timedelta(days=s.reminder_due_days), day),
        customer_id=row.customer_id, vehicle_id=row.vehicle_id, preferred_id=preferred)


def _vehicle_cards(row, s: StoreSettings) -> list[Planned]:
    """Every date reminder and the win-back of one vehicle row (VEHICLE_FIELDS)."""
    cards = []
    for rule, column, role, title, lead_name in DATE_REMINDERS:
        day = getattr(row, column)
        if day is not None:
            cards.append(_date_reminder(rule, title, role, day, getattr(s, lead_name), row, s))
    if row.last_service_visit is not None:
        day = add_months(row.last_service_visit, s.maintenance_interval_months)
        cards.append(_date_reminder("maintenance", "定期保养提醒", Role.AFTERSALES_CARE, day,
                                    s.maintenance_lead_days, row, s))
    base = row.last_service_visit or row.delivery_date
    if base is not None:
        lapse = add_months(base, s.winback_months)
        cards.append(Planned(
            rule="winback", key=f"winback:vehicle:{row.vehicle_id}:{base.isoformat()}",
            role=Role.AFTERSALES_CARE.value, kind=CardKind.CALLBACK.value,
            title=f"流失客户挽回：{s.winback_months}个月未进站 {row.name} {_vehicle_label(row.plate, row.model)}",
            create_on=lapse, due_on=lapse + timedelta(days=7), customer_id=row.customer_id,
            vehicle_id=row.vehicle_id, preferred_id=row.aftersales_care_id,
            details=f"上次进站 {base.isoformat()}"))
    return cards


def _birthday_card(row, year: int, s: StoreSettings) -> Planned:
    day = birthday_in(year, row.birthday)
    return Planned(
        rule="birthday", key=f"birthday:customer:{row.customer_id}:{day.isoformat()}", role=Role.SALES_CARE.value,
        kind=CardKind.REMINDER.value, title=f"生日问候：{row.name}（{day.month}月{day.day}日）",
        create_on=day - timedelta(days=s.birthday_lead_days), due_on=day, customer_id=row.customer_id,
        preferred_id=row.sales_care_id)


# ---------------------------------------------------------------- queries (each a range on an index)
#
# Every query that feeds the planning leaves out rows with a date outside 1900–2100 (`_sane`): adding months
# to 9999-12-31 overflows. Those rows are reported instead (`out_of_range_rows`).

VEHICLE_DATES = (Vehicle.delivery_date, Vehicle.warranty_end, Vehicle.insurance_expiry, Vehicle.next_inspection,
                 Vehicle.first_maintenance_due, Vehicle.last_service_visit)


def _sane(*columns) -> list:
    """Conditions: each date column is empty or in 1900–2100."""
    return [or_(c.is_(None), c.between(dates.FIRST, dates.LAST)) for c in columns]


def _insane(*columns):
    """Condition: some date column lies outside 1900–2100."""
    return or_(*(or_(c < dates.FIRST, c > dates.LAST) for c in columns))


def _sale_rows(session: Session, *conditions):
    return session.execute(
        select(Sale.id, Sale.delivered_on, Sale.customer_id, Sale.vehicle_id, Customer.name,
               Customer.sales_care_id, Vehicle.plate, Vehicle.model)
        .join(Customer, Customer.id == Sale.customer_id).join(Vehicle, Vehicle.id == Sale.vehicle_id)
        .where(*conditions, *_sane(Sale.delivered_on))).all()


def _visit_rows(session: Session, *conditions):
    return session.execute(
        select(ServiceVisit.id, ServiceVisit.visited_on, ServiceVisit.work_order, ServiceVisit.description,
               ServiceVisit.customer_id, ServiceVisit.vehicle_id, Customer.name, Customer.aftersales_care_id,
               Vehicle.plate, Vehicle.model)
        .join(Customer, Customer.id == ServiceVisit.customer_id)
        .join(Vehicle, Vehicle.id == ServiceVisit.vehicle_id).where(*conditions, *_sane(ServiceVisit.visited_on))).all()


VEHICLE_FIELDS = (Vehicle.id.label("vehicle_id"), Vehicle.customer_id, Vehicle.plate, Vehicle.model,
                  *VEHICLE_DATES, Customer.name, Customer.sales_care_id, Customer.aftersales_care_id)


def _vehicle_rows(session: Session, *conditions):
    return session.execute(select(*VEHICLE_FIELDS).join(Customer, Customer.id == Vehicle.customer_id)
                           .where(*conditions, *_sane(*VEHICLE_DATES))).all()


def _birthday_rows(session: Session, *conditions):
    return session.execute(select(Customer.id.label("customer_id"), Customer.name, Customer.birthday,
                                  Customer.sales_care_id)
                           .where(Customer.birthday.is_not(None), *conditions, *_sane(Customer.birthday))).all()


# ---------------------------------------------------------------- rows the rules cannot plan


FIELD_LABELS = {
    "birthday": _l("Birthday"),
    "delivery_date": _l("Delivery date"),
    "warranty_end": _l("Warranty end"),
    "insurance_expiry": _l("Insurance expiry"),
    "next_inspection": _l("Next annual inspection"),
    "first_maintenance_due": _l("First maintenance due"),
    "last_service_visit": _l("Last service visit"),
    "delivered_on": _l("Delivered on"),
    "visited_on": _l("Visited on"),
    "holidays": _l("Holiday list"),
}


@dataclass(frozen=True)
class SkippedRow:
    """A row the rules left out: `table` #`row_id`, of a customer (None for a setting), and the bad field."""

    table: str                    # customer | vehicle | sale | service_visit | settings
    row_id: int
    customer_id: int | None
    customer: str
    field: str
    value: str

    def line(self) -> str:
        whose = f" of customer {self.customer} (#{self.customer_id})" if self.customer_id else ""
        return (f"skipped {self.table} #{self.row_id}{whose}: {self.field} {self.value} is not a date in "
                f"{dates.FIRST.isoformat()}..{dates.LAST.isoformat()}")

    def notice(self) -> str:
        label = str(FIELD_LABELS.get(self.field, self.field))
        if self.customer_id is None:
            return _("The care rules skipped line %(n)d of the %(field)s in the settings (“%(value)s”): write a "
                     "date between 1900 and 2100.", n=self.row_id, field=label, value=self.value)
        return _("The care rules skipped customer %(name)s (#%(id)d): %(field)s %(value)s is not a date between "
                 "1900 and 2100. Please correct it.", name=self.customer, id=self.customer_id, field=label,
                 value=self.value)


def out_of_range_rows(session: Session, s: StoreSettings) -> list[SkippedRow]:
    """Every row with a date outside 1900–2100, which the planning queries leave out: one query per table."""
    skipped = []
    for row in session.execute(select(Customer.id, Customer.name, Customer.birthday)
                               .where(_insane(Customer.birthday)).order_by(Customer.id)):
        skipped.append(SkippedRow("customer", row.id, row.id, row.name, "birthday", row.birthday.isoformat()))
    for row in session.execute(select(Vehicle.id, Customer.id.label("customer_id"), Customer.name, *VEHICLE_DATES)
                               .join(Customer, Customer.id == Vehicle.customer_id)
                               .where(_insane(*VEHICLE_DATES)).order_by(Vehicle.id)):
        for column in VEHICLE_DATES:
            value = getattr(row, column.key)
            if not dates.in_range(value):
                skipped.append(SkippedRow("vehicle", row.id, row.customer_id, row.name, column.key,
                                          value.isoformat()))
    for model, column in ((Sale, Sale.delivered_on), (ServiceVisit, ServiceVisit.visited_on)):
        for row in session.execute(select(model.id, model.customer_id, Customer.name, column)
                                   .join(Customer, Customer.id == model.customer_id)
                                   .where(_insane(column)).order_by(model.id)):
            skipped.append(SkippedRow(model.__tablename__, row.id, row.customer_id, row.name, column.key,
                                      getattr(row, column.key).isoformat()))
    for number, line in holiday_lines(s.holidays)[1]:
        skipped.append(SkippedRow("settings", number, None, "", "holidays", line[:60]))
    return skipped


def notify_skipped(session: Session, skipped: list[SkippedRow], *, now: datetime, s: StoreSettings) -> int:
    """A notice of each skipped row to every active supervisor and director, at most once a (store) day each.
    Returns the number of notices made."""
    if not skipped:
        return 0
    bosses = session.scalars(select(User.id).where(User.active.is_(True),
                                                   User.level.in_((Level.SUPERVISOR, Level.DIRECTOR)))).all()
    texts = list(dict.fromkeys(row.notice()[:300] for row in skipped))
    midnight = datetime.combine(now.astimezone(s.zone).date(), time(0), tzinfo=s.zone).astimezone(UTC)
    sent = set()
    for chunk in _chunks(texts, 200):
        sent.update((uid, text) for uid, text in session.execute(select(Notification.user_id, Notification.text).where(
            Notification.complaint_id.is_(None), Notification.created_at >= midnight, Notification.text.in_(chunk))))
    notices = [Notification(user_id=uid, text=text, created_at=now)
               for text in texts for uid in bosses if (uid, text) not in sent]
    session.add_all(notices)
    return len(notices)


def _in(planned: Iterable[Planned], start: date, end: date) -> list[Planned]:
    return [p for p in planned if start <= p.create_on <= end]


def plan_days(session: Session, start: date, end: date, s: StoreSettings, today: date) -> list[Planned]:
    """The cards whose creation day lies in [start, end]."""
    cards: list[Planned] = []
    lead = timedelta(days=s.callback_lead_days)
    # Sales: due = D + months + days, created `lead` before. A month-end clamp maps several delivery
    # days onto one due day, so the range is widened by 3 days each side and the days filtered in Python.
    slack = timedelta(days=3)
    for rule, months, days in SALE_CALLBACKS:
        low = add_months(start + lead - timedelta(days=days), -months) - slack
        high = add_months(end + lead - timedelta(days=days), -months) + slack
        for row in _sale_rows(session, Sale.delivered_on.between(low, high)):
            cards += [p for p in _sale_cards(row, s) if p.rule == rule and start <= p.create_on <= end]
    low, high = start + lead - timedelta(days=3), end + lead - timedelta(days=3)
    for row in _visit_rows(session, ServiceVisit.visited_on.between(low, high)):
        cards += _in(_visit_cards(row, s), start, end)
    # Vehicle dates: the day the reminder is created is the date minus its lead.
    wanted: set[int] = set()
    for _rule, column, _role, _title, lead_name in DATE_REMINDERS:
        lead_days = timedelta(days=getattr(s, lead_name))
        wanted.update(session.scalars(select(Vehicle.id).where(
            getattr(Vehicle, column).between(start + lead_days, end + lead_days))))
    maintenance = timedelta(days=s.maintenance_lead_days)
    wanted.update(session.scalars(select(Vehicle.id).where(Vehicle.last_service_visit.between(
        add_months(start + maintenance, -s.maintenance_interval_months) - slack,
        add_months(end + maintenance, -s.maintenance_interval_months) + slack))))
    lapse_low = add_months(start, -s.winback_months) - slack
    lapse_high = add_months(end, -s.winback_months) + slack
    wanted.update(session.scalars(select(Vehicle.id).where(Vehicle.last_service_visit.between(lapse_low, lapse_high))))
    wanted.update(session.scalars(select(Vehicle.id).where(
        Vehicle.last_service_visit.is_(None), Vehicle.delivery_date.between(lapse_low, lapse_high))))
    for chunk in _chunks(sorted(wanted), 500):
        for row in _vehicle_rows(session, Vehicle.id.in_(chunk)):
            cards += _in(_vehicle_cards(row, s), start, end)
    cards += plan_birthdays(session, start, end, s)
    cards += plan_holidays(session, start, end, s)
    return cards


def plan_birthdays(session: Session, start: date, end: date, s: StoreSettings, *conditions) -> list[Planned]:
    cards = []
    for row in _birthday_rows(session, *conditions):
        for year in {start.year, end.year, (end + timedelta(days=s.birthday_lead_days)).year}:
            card = _birthday_card(row, year, s)
            if start <= card.create_on <= end:
                cards.append(card)
    return cards


def plan_holidays(session: Session, start: date, end: date, s: StoreSettings) -> list[Planned]:
    """One greeting card per holiday for each active sales care person (for their customers). Bad lines of
    the list are left out (out_of_range_rows reports them)."""
    cards = []
    people = None
    for day, name in holiday_lines(s.holidays or DEFAULT_HOLIDAYS)[0]:
        create_on = day - timedelta(days=s.holiday_lead_days)
        if not start <= create_on <= end:
            continue
        if people is None:
            people = session.scalars(select(User.id).where(User.role == Role.SALES_CARE.value,
                                                           User.active.is_(True)).order_by(User.id)).all()
        for user_id in people:
            cards.append(Planned(
                rule="holiday", key=f"holiday:{day.isoformat()}:user:{user_id}", role=Role.SALES_CARE.value,
                kind=CardKind.REMINDER.value, title=f"节日问候：{name}（{day.month}月{day.day}日）给我的客户发送祝福",
                create_on=create_on, due_on=day - timedelta(days=1), preferred_id=user_id))
    return cards


def _chunks(items: list, size: int):
    for i in range(0, len(items), size):
        yield items[i:i + size]


# ---------------------------------------------------------------- the tick


@dataclass
class TickReport:
    now: datetime
    days: tuple[date, date] | None = None
    created: list[Card] = field(default_factory=list)
    skipped_existing: int = 0
    escalated: list = field(default_factory=list)        # complaints newly past a deadline
    skipped_rows: list[SkippedRow] = field(default_factory=list)    # dates outside 1900–2100: left out
    listing: list[tuple[str, str, str]] = field(default_factory=list)   # (rule, title, assignee) of each
                                                                         # created card, taken before the commit

    def list_created(self) -> None:
        """Put the created cards into words while they are loaded: after the commit they are expired, and
        their assignee (lazy="raise_on_sql") may not be loaded again."""
        self.listing = [(c.source, c.title, c.assignee.display_name if c.assignee else "-") for c in self.created]

    def lines(self) -> list[str]:
        head = f"tick at {self.now.isoformat(timespec='seconds')}"
        if self.days:
            head += f", days {self.days[0].isoformat()}..{self.days[1].isoformat()}"
        escalated = [f"escalated {len(self.escalated)} overdue complaints"] if self.escalated else []
        skipped = [row.line() for row in self.skipped_rows]
        if not self.listing:
            return [head, "nothing to create"] + escalated + skipped
        by_rule: dict[str, int] = {}
        for rule, _title, _who in self.listing:
            by_rule[rule] = by_rule.get(rule, 0) + 1
        summary = ", ".join(f"{rule} {n}" for rule, n in sorted(by_rule.items()))
        return [head, f"created {len(self.listing)} cards ({summary})"] + escalated + skipped + \
            [f"  + [{rule}] {title} → {who}" for rule, title, who in self.listing]


def _state(session: Session, key: str) -> RuleState | None:
    return session.get(RuleState, key)


def _set_state(session: Session, key: str, value: str) -> None:
    row = session.get(RuleState, key)
    if row is None:
        session.add(RuleState(key=key, value=value))
    else:
        row.value = value


def tick(session: Session, *, now: datetime) -> TickReport:
    """Create the cards that are due to appear by `now`. Safe to run at any time, as often as wanted."""
    s = settings_service.load(session)
    today = now.astimezone(s.zone).date()
    floor = today - timedelta(days=s.backfill_days)
    report = TickReport(now=now)
    planned: list[Planned] = []

    done = _state(session, "days_done")
    start = max(date.fromisoformat(done.value) + timedelta(days=1), floor) if done else floor
    if start <= today:
        planned += plan_days(session, start, today, s, today)
        report.days = (start, today)

    planned += plan_late_rows(session, s, today, floor)
    from careboard.services import checklist, complaints, reports
    planned += checklist.plan_inspections(session, today)      # every tick: an area added today gets its card
    created = create_planned(session, [p for p in planned if p.due_on >= floor], s)
    checklist.create_runs(session, created)
    report.created, report.skipped_existing = created, len(planned) - len(created)
    report.list_created()
    report.escalated = complaints.escalate(session, now=now, s=s)
    report.skipped_rows = out_of_range_rows(session, s)
    notify_skipped(session, report.skipped_rows, now=now, s=s)
    reports.ensure_due_reports(session, now=now, s=s)           # the Monday and the monthly report, once each
    _set_state(session, "days_done", today.isoformat())
    _set_state(session, "last_tick_at", now.isoformat())
    session.flush()
    return report


def plan_late_rows(session: Session, s: StoreSettings, today: date, floor: date) -> list[Planned]:
    """Rows added or changed since the last tick whose cards' day has come already (late imports)."""
    cards: list[Planned] = []

    def due_now(items: Iterable[Planned]) -> list[Planned]:
        return [p for p in items if p.create_on <= today]

    sale_cursor = int((_state(session, "cursor:sale") or RuleState(value="0")).value)
    visit_cursor = int((_state(session, "cursor:visit") or RuleState(value="0")).value)
    changed_since = _state(session, "cursor:changed")
    last_sale = session.scalar(select(func.max(Sale.id))) or 0
    last_visit = session.scalar(select(func.max(ServiceVisit.id))) or 0
    if last_sale > sale_cursor:
        for row in _sale_rows(session, Sale.id > sale_cursor, Sale.id <= last_sale):
            cards += due_now(_sale_cards(row, s))
    if last_visit > visit_cursor:
        for row in _visit_rows(session, ServiceVisit.id > visit_cursor, ServiceVisit.id <= last_visit):
            cards += due_now(_visit_cards(row, s))
    if changed_since is not None:
        since = datetime.fromisoformat(changed_since.value)
        for row in _vehicle_rows(session, Vehicle.updated_at > since):
            cards += due_now(_vehicle_cards(row, s))
        cards += list(plan_birthdays(session, floor, today, s, Customer.updated_at > since))
    _set_state(session, "cursor:sale", str(last_sale))
    _set_state(session, "cursor:visit", str(last_visit))
    newest = max(session.scalar(select(func.max(Vehicle.updated_at))) or datetime.min.replace(tzinfo=UTC),
                 session.scalar(select(func.max(Customer.updated_at))) or datetime.min.replace(tzinfo=UTC))
    if newest.year > 1:
        _set_state(session, "cursor:changed", newest.isoformat())
    return cards


class Assigner:
    """The customer's usual care person if active, else the least-loaded active person of the role."""

    def __init__(self, session: Session):
        self.session = session
        self.load: dict[str, dict[int, int]] = {}
        self.active: dict[int, User] = {u.id: u for u in session.scalars(select(User).where(User.active.is_(True)))}

    def pick(self, role: str, preferred_id: int | None) -> User | None:
        if role not in self.load:
            self.load[role] = board_service.open_load(self.session, role)
        load = self.load[role]
        person = self.active.get(preferred_id) if preferred_id else None
        if person is None or person.role != role:
            if not load:
                return None
            person = self.active[min(load, key=lambda uid: (load[uid], uid))]
        load[person.id] = load.get(person.id, 0) + 1
        return person


def create_planned(session: Session, planned: list[Planned], s: StoreSettings) -> list[Card]:
    """Make the planned cards that do not exist yet, at the end of their person's To do."""
    unique = {p.key: p for p in planned}
    if not unique:
        return []
    existing: set[str] = set()
    for chunk in _chunks(list(unique), 500):
        existing.update(session.scalars(select(Card.rule_key).where(Card.rule_key.in_(chunk))))
    todo = sorted((p for key, p in unique.items() if key not in existing), key=lambda p: (p.due_on, p.key))
    if not todo:
        return []
    assigner = Assigner(session)
    # The next free position of every To do lane: a person's, or the unassigned cards of a role.
    ends: dict[object, int] = {}
    for assignee_id, role, count in session.execute(
            select(Card.assignee_id, Card.role, func.count()).where(Card.column == Column.TODO.value)
            .group_by(Card.assignee_id, Card.role)):
        lane_key = assignee_id or f"role:{role}"
        ends[lane_key] = ends.get(lane_key, 0) + count
    created = []
    for batch in _chunks(todo, 200):
        cards = []
        for p in batch:
            person = assigner.pick(p.role, p.preferred_id)
            lane = person.id if person else None
            lane_key = lane or f"role:{p.role}"
            position = ends.get(lane_key, 0)
            ends[lane_key] = position + 1
            cards.append(Card(kind=p.kind, title=p.title[:200], details=p.details, role=p.role,
                              assignee_id=lane, assignee=person, column=Column.TODO.value, position=position,
                              due_at=due_at(p.due_on, s.zone), priority=int(p.priority), source=p.rule,
                              rule_key=p.key, customer_id=p.customer_id, vehicle_id=p.vehicle_id))
        created += _insert(session, cards)
    return created


def _insert(session: Session, cards: list[Card]) -> list[Card]:
    """Insert a batch in a savepoint; if a concurrent tick made one of them, go card by card."""
    try:
        with session.begin_nested():
            session.add_all(cards)
            session.flush()
            session.add_all([_created_event(c) for c in cards])
            session.flush()
        return cards
    except IntegrityError:
        made = []
        for card in cards:
            fresh = Card(**{k: getattr(card, k) for k in CARD_COPY})
            fresh.assignee = card.assignee
            try:
                with session.begin_nested():
                    session.add(fresh)
                    session.flush()
                    session.add(_created_event(fresh))
                    session.flush()
                made.append(fresh)
            except IntegrityError:
                continue                                  # made by the other tick: fine
        return made


CARD_COPY = ("kind", "title", "details", "role", "assignee_id", "column", "position", "due_at", "priority",
             "source", "rule_key", "customer_id", "vehicle_id")


def _created_event(card: Card) -> CardEvent:
    return CardEvent(card_id=card.id, actor_id=None, kind=EventKind.CREATED.value, to_value=Column.TODO.value,
                     at=utcnow())


# ---------------------------------------------------------------- the app runs it too


_tick_lock = threading.Lock()
_last_check: dict[str, float | None] = {"at": None}     # monotonic time of the last check; None: never
TICK_CLAIM = "tick_claimed_at"
TICK_LOCK_ID = 0x43424B54              # PostgreSQL advisory lock key ("CBKT"): one tick at a time


def claim_tick(session: Session, *, now: datetime, interval_seconds: int | None = None) -> bool:
    """The right to run a tick now, across gunicorn workers, their threads and the cron job. Call it first
    in a fresh transaction and run `tick` in the same one.

    On PostgreSQL a transaction-level advisory lock: while one tick runs, every other claim is refused at
    once. Everywhere a claim row: with `interval_seconds`, it is taken only when the last claim is at least
    that old (one conditional UPDATE, so two workers cannot both see it as old); SQLite serializes the write
    itself. Without an interval (the cron command), only a tick running right now refuses the claim.
    """
    if session.get_bind().dialect.name == "postgresql":
        if not session.scalar(text("SELECT pg_try_advisory_xact_lock(:id)"), {"id": TICK_LOCK_ID}):
            return False
    stamp = _stamp(now)
    claim = update(RuleState).where(RuleState.key == TICK_CLAIM).values(value=stamp, updated_at=utcnow())
    if interval_seconds is not None:
        claim = claim.where(RuleState.value <= _stamp(now - timedelta(seconds=interval_seconds)))
    if session.execute(claim, execution_options={"synchronize_session": False}).rowcount == 1:
        return True
    if session.scalar(select(RuleState.key).where(RuleState.key == TICK_CLAIM)) is not None:
        return False
    try:
        with session.begin_nested():
            session.add(RuleState(key=TICK_CLAIM, value=stamp))
        return True
    except IntegrityError:                 # another worker made the row this instant: it ticks
        return False


def _stamp(moment: datetime) -> str:
    """UTC, fixed width, so the claim times compare as text in SQL."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def maybe_tick(app: Flask) -> None:
    """Called on requests: at most every CAREBOARD_AUTO_TICK_SECONDS, run a tick in a background thread,
    so a single-box install needs no cron. Across workers the last tick time in the database decides."""
    interval = app.config.get("CAREBOARD_AUTO_TICK_SECONDS", 300)
    last = _last_check["at"]
    if not interval or (last is not None and monotime.monotonic() - last < interval):
        return
    if not _tick_lock.acquire(blocking=False):
        return
    _last_check["at"] = monotime.monotonic()
    threading.Thread(target=_background_tick, args=(app, interval), daemon=True, name="careboard-tick").start()


def _background_tick(app: Flask, interval: int) -> None:
    try:
        run_claimed_tick(app, interval)
    finally:
        _tick_lock.release()


def run_claimed_tick(app: Flask, interval: int | None) -> TickReport | None:
    """Claim and run one tick in its own transaction; None when another worker has it (or had it within
    `interval` seconds)."""
    from careboard.extensions import db
    with app.app_context():
        try:
            now = utcnow()
            if not claim_tick(db.session, now=now, interval_seconds=interval):
                db.session.rollback()
                return None
            report = tick(db.session, now=now)
            db.session.commit()
        except (IntegrityError, OperationalError) as error:   # SQLite busy beyond its timeout, a unique key
            db.session.rollback()
            app.logger.warning("automatic tick skipped: %s", error)
            return None
        if report.created:
            app.logger.info("automatic tick created %d cards", len(report.created))
        for row in report.skipped_rows:
            app.logger.warning("automatic tick: %s", row.line())
        return report


# ---------------------------------------------------------------- callback outcomes


def script_for(session: Session, rule: str, store_name: str) -> str | None:
    row = session.get(CallbackScript, rule)
    text = row.body if row else DEFAULT_SCRIPTS.get(rule)
    return text.replace("{store}", store_name) if text else None


def save_script(session: Session, *, actor: User, rule: str, body: str) -> CallbackScript:
    if not policy.can_edit_scripts(actor):
        raise board_service.Forbidden("scripts")
    if rule not in DEFAULT_SCRIPTS:
        raise DomainError(_("Unknown callback type."))
    body = (body or "").strip()
    if not body:
        raise DomainError(_("A script cannot be empty."))
    row = session.get(CallbackScript, rule) or CallbackScript(kind=rule)
    row.body, row.updated_by_id = body, actor.id
    session.add(row)
    return row


def record_callback(session: Session, card: Card, *, actor: User, seen_version: int, reached: bool,
                    satisfaction: int | None, comments: str | None, problems: str | None,
                    settings: StoreSettings, now: datetime) -> Card | None:
    """Complete a callback with its outcome. Not reached: a retry card for the next day, until the last
    attempt, which counts as failed. Reached at or below the satisfaction threshold: flagged for a
    complaint. Returns the retry card, if one was made."""
    if card.kind != CardKind.CALLBACK.value:
        raise CallbackError(_("Only a callback has a callback outcome."))
    comments = (comments or "").strip() if is_visible(comments) else ""
    problems = (problems or "").strip() if is_visible(problems) else None
    retry = None
    if reached:
        if satisfaction is None or not 1 <= int(satisfaction) <= 10:
            raise CallbackError(_("Give the customer's satisfaction from 1 to 10."))
        card.callback_result = CallbackResult.REACHED.value
        card.satisfaction = int(satisfaction)
        card.complaint_flag = card.satisfaction <= settings.satisfaction_threshold
        note = comments or _("Reached; satisfaction %(n)d.", n=card.satisfaction)
    else:
        card.satisfaction = None
        last = card.attempt >= settings.callback_attempts
        card.callback_result = (CallbackResult.FAILED if last else CallbackResult.NOT_REACHED).value
        note = comments or _("Not reached (attempt %(n)d of %(total)d).", n=card.attempt,
                             total=settings.callback_attempts)
    card.problems = problems
    board_service.complete_card(session, card, actor=actor, seen_version=seen_version, note=note)
    if not reached and card.callback_result == CallbackResult.NOT_REACHED.value:
        retry = _retry(session, card, actor, settings, now)
    if card.complaint_flag:
        _open_complaint(session, card, actor, comments, problems, settings, now)
    return retry


def _open_complaint(session: Session, card: Card, actor: User, comments: str, problems: str | None,
                    s: StoreSettings, now: datetime):
    """A dissatisfied callback opens a complaint with the callback linked: one complaint per callback. A
    reopened callback completed dissatisfied again keeps the complaint it opened the first time."""
    from careboard.models import Complaint
    from careboard.services import complaints
    opened = session.scalar(select(Complaint).where(Complaint.callback_card_id == card.id)
                            .order_by(Complaint.id).limit(1))
    if opened is not None:
        return opened
    aftersales = card.role in (Role.AFTERSALES_CARE.value, Role.AFTERSALES_SERVICE.value)
    text = "\n".join(part for part in (
        _("Dissatisfied callback (satisfaction %(n)d): %(title)s", n=card.satisfaction, title=card.title),
        comments, problems or "") if part)
    return complaints.log_complaint(
        session, actor=actor, channel="callback", category="service" if aftersales else "sales",
        department="aftersales" if aftersales else "sales", description=text, received_at=now,
        customer_id=card.customer_id, callback_card=card, s=s)


def _retry(session: Session, card: Card, actor: User, s: StoreSettings, now: datetime) -> Card:
    """The next attempt's card, made once per callback: a reopened callback completed "not reached" again
    finds the retry it made the first time."""
    key = f"retry:{card.id}"
    made = session.scalar(select(Card).where(Card.rule_key == key))
    if made is not None:
        return made
    tomorrow = now.astimezone(s.zone).date() + timedelta(days=1)
    retry = board_service.create_card(
        session, actor=None, kind=CardKind.CALLBACK, title=retry_title(card.title, card.attempt + 1),
        role=card.role, assignee=card.assignee if card.assignee and card.assignee.active else None,
        details=card.details, due_at=due_at(tomorrow, s.zone), priority=card.priority, source=card.source,
        rule_key=key, customer_id=card.customer_id)
    retry.vehicle_id = card.vehicle_id
    retry.attempt = card.attempt + 1
    return retry


def retry_title(title: str, attempt: int) -> str:
    """The title of the next attempt's card, e.g. "…（第2次拨打）": the callback's title shortened to fit
    the column, the attempt kept."""
    suffix = f"（第{attempt}次拨打）"
    base = title.split("（第")[0].rstrip()
    return base[:board_service.TITLE_LENGTH - len(suffix)].rstrip() + suffix


def flagged_callbacks():
    """Reached callbacks at or below the threshold: what the complaints issue turns into complaints."""
    return select(Card).where(Card.kind == CardKind.CALLBACK.value, Card.complaint_flag.is_(True),
                              Card.column == Column.DONE.value)


def open_callbacks_of(customer_id: int):
    return select(Card).where(Card.customer_id == customer_id, Card.kind == CardKind.CALLBACK.value,
                              Card.column.in_(OPEN_COLUMNS))
