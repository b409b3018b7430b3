"""The care rules: which callback and reminder cards a store day brings, from the customers' dates.

The rules plan, they do not make: each returns `Planned` cards (planning.py), and the tick (tick.py) makes
them. Planning with the tick is idempotent and incremental:

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

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from careboard import dates
from careboard.dates import DEFAULT_HOLIDAYS, add_months, birthday_in, holiday_lines
from careboard.models import CardKind, Customer, Role, RuleState, Sale, ServiceVisit, User, Vehicle
from careboard.services.customers import format_plate
from careboard.services.planning import Planned, chunks
from careboard.services.settings import StoreSettings

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


SALE_CALLBACKS = (("sale_3d", 0, 3), ("sale_3m", 3, 0), ("sale_6m", 6, 0))   # (rule, months, days)
SALE_TITLES = {"sale_3d": "交车3天回访", "sale_3m": "交车3个月回访", "sale_6m": "交车6个月回访"}


def _vehicle_label(plate: str | None, model: str | None) -> str:
    return " ".join(part for part in (model or "", format_plate(plate)) if part)


def _sale_cards(row, s: StoreSettings) -> list[Planned]:
    cards = []
    for rule, months, days in SALE_CALLBACKS:
        due = add_months(row.delivered_on, months) + timedelta(days=days)
        cards.append(Planned(
            rule=rule, key=f"{rule}:sale:{row.id}:{due.isoformat()}", role=Role.SALES_CARE,
            kind=CardKind.CALLBACK,
            title=f"{SALE_TITLES[rule]}：{row.name} {_vehicle_label(row.plate, row.model)}".strip(),
            create_on=due - timedelta(days=s.callback_lead_days), due_on=due, customer_id=row.customer_id,
            vehicle_id=row.vehicle_id, preferred_id=row.sales_care_id, open_days_only=True,
            details=f"交车日期 {row.delivered_on.isoformat()}"))
    return cards


def _visit_cards(row, s: StoreSettings) -> list[Planned]:
    due = row.visited_on + timedelta(days=3)
    work_order = f" 工单 {row.work_order}" if row.work_order else ""
    return [Planned(
        rule="service_3d", key=f"service_3d:visit:{row.id}:{due.isoformat()}", role=Role.AFTERSALES_CARE,
        kind=CardKind.CALLBACK,
        title=f"维修后3天回访：{row.name} {_vehicle_label(row.plate, row.model)}{work_order}".strip(),
        create_on=due - timedelta(days=s.callback_lead_days), due_on=due, customer_id=row.customer_id,
        vehicle_id=row.vehicle_id, preferred_id=row.aftersales_care_id, open_days_only=True,
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
        rule=rule, key=f"{rule}:vehicle:{row.vehicle_id}:{day.isoformat()}", role=role,
        kind=CardKind.REMINDER,
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
            role=Role.AFTERSALES_CARE, kind=CardKind.CALLBACK,
            title=f"流失客户挽回：{s.winback_months}个月未进站 {row.name} {_vehicle_label(row.plate, row.model)}",
            create_on=lapse, due_on=lapse + timedelta(days=7), customer_id=row.customer_id,
            vehicle_id=row.vehicle_id, preferred_id=row.aftersales_care_id, open_days_only=True,
            details=f"上次进站 {base.isoformat()}"))
    return cards


def _birthday_card(row, year: int, s: StoreSettings) -> Planned:
    day = birthday_in(year, row.birthday)
    return Planned(
        rule="birthday", key=f"birthday:customer:{row.customer_id}:{day.isoformat()}", role=Role.SALES_CARE,
        kind=CardKind.REMINDER, title=f"生日问候：{row.name}（{day.month}月{day.day}日）",
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
    for chunk in chunks(sorted(wanted), 500):
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
            people = session.scalars(select(User.id).where(User.role == Role.SALES_CARE,
                                                           User.active.is_(True)).order_by(User.id)).all()
        for user_id in people:
            cards.append(Planned(
                rule="holiday", key=f"holiday:{day.isoformat()}:user:{user_id}", role=Role.SALES_CARE,
                kind=CardKind.REMINDER, title=f"节日问候：{name}（{day.month}月{day.day}日）给我的客户发送祝福",
                create_on=create_on, due_on=day - timedelta(days=1), preferred_id=user_id))
    return cards


# ---------------------------------------------------------------- where the rules got to


def read_state(session: Session, key: str) -> RuleState | None:
    return session.get(RuleState, key)


def write_state(session: Session, key: str, value: str) -> None:
    row = session.get(RuleState, key)
    if row is None:
        session.add(RuleState(key=key, value=value))
    else:
        row.value = value


def plan_late_rows(session: Session, s: StoreSettings, today: date, floor: date) -> list[Planned]:
    """Rows added or changed since the last tick whose cards' day has come already (late imports)."""
    cards: list[Planned] = []

    def due_now(items: Iterable[Planned]) -> list[Planned]:
        return [p for p in items if p.create_on <= today]

    sale_cursor = int((read_state(session, "cursor:sale") or RuleState(value="0")).value)
    visit_cursor = int((read_state(session, "cursor:visit") or RuleState(value="0")).value)
    changed_since = read_state(session, "cursor:changed")
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
    write_state(session, "cursor:sale", str(last_sale))
    write_state(session, "cursor:visit", str(last_visit))
    newest = max(session.scalar(select(func.max(Vehicle.updated_at))) or datetime.min.replace(tzinfo=UTC),
                 session.scalar(select(func.max(Customer.updated_at))) or datetime.min.replace(tzinfo=UTC))
    if newest.year > 1:
        write_state(session, "cursor:changed", newest.isoformat())
    return cards
