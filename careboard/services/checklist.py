"""The daily 5S showroom checklist (5S日检): areas and items, the morning's runs from their inspection
cards, answers with photos, rectification cards (限时整改) verified by a supervisor, and the figures the
scorecard and the weekly review read (`rectification_on_time`, `checklist_completion`).

Longer than 500 lines because the 5S check is one workflow over three tables (areas, runs, answers with
their photos): the morning's cards, the answers, the rectification cards and the figures read the same run
and its state; the photo handling itself is apart, in photos.py.
"""
from __future__ import annotations

import calendar
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import BinaryIO

from flask_babel import gettext as _
from sqlalchemy import case, func, select
from sqlalchemy.orm import Session, selectinload

from careboard import dates, policy
from careboard.dates import due_at
from careboard.dbtypes import utcnow
from careboard.models import (Card, CardKind, ChecklistArea, ChecklistItem, ChecklistRun, Column, FiveS, Photo,
                              NoticeKind, PhotoLink, PhotoStage, Priority, Result, Role, RunAnswer, RunStatus, User)
from careboard.services import notifications, photos
from careboard.services import board as board_service
from careboard.services.assigner import Assigner
from careboard.services.errors import Conflict, DomainError, Forbidden, Incomplete
from careboard.services.planning import Planned
from careboard.services.settings import StoreSettings

RULE = "inspection"                     # the care rule (source) of the morning's inspection cards
RECTIFICATION = "rectification"


# ---------------------------------------------------------------- the default set

SORT, ORDER, SHINE, STANDARD, SUSTAIN = (FiveS.SORT, FiveS.SET_IN_ORDER, FiveS.SHINE,
                                        FiveS.STANDARDIZE, FiveS.SUSTAIN)

# (name, responsible role, inspector role, [(5S category, standard)]) — from the seeds: the director and the
# customer-service supervisor check the customer areas daily (硬件形象检查及5S标准日检, 客户接触区域卫生的检查),
# the sales care specialist checks the showroom and display cars once a day (每日1次展厅展车标准检查), the
# reception staff keep the lounge in order (整理客户休息室，使各种物品摆放有序，保持清洁).
DEFAULT_AREAS: list[tuple[str, str, str, list[tuple[str, str]]]] = [
    ("展厅", Role.SHOWROOM_RECEPTION, Role.CS_SUPERVISOR, [
        (SORT, "展厅内无与展示无关的杂物、纸箱，宣传物料为当期有效"),
        (ORDER, "资料架、宣传册摆放整齐，价格牌与展车一一对应"),
        (SHINE, "地面、玻璃门窗、墙面干净无污渍、无灰尘"),
        (STANDARD, "灯光、空调、背景音乐按标准开启，温度适宜"),
        (SUSTAIN, "员工着装整洁、佩戴工牌，站姿与迎宾礼仪规范"),
    ]),
    ("客户休息区", Role.SHOWROOM_RECEPTION, Role.CS_SUPERVISOR, [
        (SORT, "桌面无客户遗留杂物，报刊杂志为当期"),
        (ORDER, "桌椅、沙发摆放整齐，物品摆放有序"),
        (SHINE, "桌椅擦拭干净，地面无水渍、无垃圾"),
        (STANDARD, "茶水、饮料、点心备足，饮水机与咖啡机正常"),
        (STANDARD, "电视、无线网络、充电设施可正常使用"),
        (SUSTAIN, "客户离开后及时整理，恢复原状"),
    ]),
    ("展车", Role.DELIVERY, Role.SALES_CARE, [
        (SHINE, "车身、轮毂、玻璃无灰尘、无手印"),
        (SHINE, "车内清洁无异味，脚垫干净"),
        (ORDER, "座椅调至标准位置，方向盘摆正，车型资料摆放到位"),
        (STANDARD, "胎压正常，轮胎标志摆正，蓄电池电量充足"),
        (SORT, "车内无私人物品与无关杂物"),
        (ORDER, "展车配置牌、价格牌齐全并与车型一致"),
    ]),
    ("洽谈区", Role.SHOWROOM_RECEPTION, Role.SALES_CARE, [
        (SORT, "洽谈桌上无废弃资料、无杂物"),
        (ORDER, "桌椅摆放整齐，烟灰缸、纸笔、名片盒到位"),
        (SHINE, "桌面、椅面干净无污渍"),
        (STANDARD, "合同、报价单等资料按规定存放，不外露客户信息"),
    ]),
    ("洗手间", Role.SHOWROOM_RECEPTION, Role.CS_SUPERVISOR, [
        (SHINE, "地面干燥、洁具干净、无异味"),
        (STANDARD, "洗手液、纸巾、擦手纸备足"),
        (ORDER, "清洁记录表按时填写并张贴"),
        (STANDARD, "设施完好：水龙头、冲水、照明正常"),
    ]),
    ("接待前台", Role.SHOWROOM_RECEPTION, Role.CS_SUPERVISOR, [
        (SORT, "台面只放必需物品，无私人物品"),
        (ORDER, "来店登记表、访客记录、电话记录本放在固定位置"),
        (SHINE, "前台台面、电话、电脑干净"),
        (SUSTAIN, "接待人员按标准微笑迎宾、主动问候"),
    ]),
    ("售后接待区", Role.AFTERSALES_SERVICE, Role.AFTERSALES_CARE, [
        (SORT, "接待台无杂物，工单、单据归类存放"),
        (ORDER, "预约看板、价格公示、服务流程展示齐全"),
        (SHINE, "接待区地面、座椅干净"),
        (STANDARD, "预约客户提前准备：工位、配件、欢迎牌"),
        (SUSTAIN, "服务顾问着装统一、礼仪规范"),
    ]),
]


def ensure_default_areas(session: Session) -> int:
    """Load the default areas when there are none (a new install, the demo). Returns how many were made."""
    if session.scalar(select(func.count(ChecklistArea.id))):
        return 0
    for position, (name, responsible, inspector, items) in enumerate(DEFAULT_AREAS):
        area = ChecklistArea(name=name, position=position, responsible_role=responsible, inspector_role=inspector)
        session.add(area)
        session.flush()
        session.add_all([ChecklistItem(area_id=area.id, position=i, text=text, category=category)
                         for i, (category, text) in enumerate(items)])
    session.flush()
    return len(DEFAULT_AREAS)


# ---------------------------------------------------------------- areas and items (the template)


@dataclass
class ItemInput:
    """One row of the area form: an existing item (id) or a new one (id None)."""

    id: int | None
    text: str
    category: str
    active: bool = True


def areas_query(*, include_inactive: bool = False):
    query = select(ChecklistArea).order_by(ChecklistArea.position, ChecklistArea.id) \
        .options(selectinload(ChecklistArea.items), selectinload(ChecklistArea.responsible),
                 selectinload(ChecklistArea.inspector))
    return query if include_inactive else query.where(ChecklistArea.active.is_(True))


def _ensure_may_edit(actor: User) -> None:
    if not policy.can_edit_checklists(actor):
        raise Forbidden("checklist template")


def _check_area_fields(session: Session, area_id: int | None, name: str, responsible_role: str,
                       inspector_role: str, responsible: User | None, inspector: User | None) -> str:
    name = (name or "").strip()
    if not name:
        raise DomainError(_("An area needs a name."))
    if len(name) > 80:
        raise DomainError(_("The name is too long (at most 80 characters)."))
    clash = session.scalar(select(ChecklistArea.id).where(ChecklistArea.name == name))
    if clash is not None and clash != area_id:
        raise DomainError(_("There is already an area called “%(name)s”.", name=name))
    for role in (responsible_role, inspector_role):
        Role(role)
    for person, role in ((responsible, responsible_role), (inspector, inspector_role)):
        if person is not None and (person.role != role or not person.active):
            raise DomainError(_("%(name)s is not an active %(role)s.", name=person.display_name,
                                role=Role(role).label))
    return name


def _apply_items(session: Session, area: ChecklistArea, items: list[ItemInput]) -> None:
    """Edit, add, deactivate; past runs keep their own copy, so nothing is ever deleted."""
    existing = {item.id: item for item in area.items}
    position = 0
    kept = 0
    for row in items:
        text = (row.text or "").strip()
        if row.id is None and not text:
            continue                                     # an empty new row
        if not text:
            raise DomainError(_("An item needs its standard: write it or untick “in use”."))
        if len(text) > 300:
            raise DomainError(_("An item is too long (at most 300 characters)."))
        FiveS(row.category)
        if row.id is None:
            item = ChecklistItem(area_id=area.id, text=text, category=row.category, active=row.active)
            session.add(item)
        else:
            item = existing.get(row.id)
            if item is None:
                raise DomainError(_("An item of this form no longer belongs to the area: reload the page."))
            item.text, item.category, item.active = text, row.category, row.active
        item.position = position
        position += 1
        kept += row.active
    if not kept:
        raise DomainError(_("An area needs at least one item in use."))


def create_area(session: Session, *, actor: User, name: str, responsible_role: str, inspector_role: str,
                responsible: User | None, inspector: User | None, items: list[ItemInput]) -> ChecklistArea:
    _ensure_may_edit(actor)
    name = _check_area_fields(session, None, name, responsible_role, inspector_role, responsible, inspector)
    position = (session.scalar(select(func.max(ChecklistArea.position))) or 0) + 1
    area = ChecklistArea(name=name, position=position, responsible_role=responsible_role,
                         responsible_id=responsible.id if responsible else None, inspector_role=inspector_role,
                         inspector_id=inspector.id if inspector else None)
    session.add(area)
    session.flush()
    session.refresh(area, ["items"])
    _apply_items(session, area, items)
    session.flush()
    return area


def update_area(session: Session, area: ChecklistArea, *, actor: User, seen_version: int, name: str,
                responsible_role: str, inspector_role: str, responsible: User | None, inspector: User | None,
                active: bool, items: list[ItemInput]) -> ChecklistArea:
    """A second supervisor's stale form is refused (Conflict): nothing of theirs overwrites the first's."""
    _ensure_may_edit(actor)
    if area.version != seen_version:
        raise Conflict(area)
    name = _check_area_fields(session, area.id, name, responsible_role, inspector_role, responsible, inspector)
    area.name, area.responsible_role, area.inspector_role, area.active = name, responsible_role, inspector_role, active
    area.responsible_id = responsible.id if responsible else None
    area.inspector_id = inspector.id if inspector else None
    _apply_items(session, area, items)
    area.updated_at = utcnow()                         # bumps the version even when only items changed
    session.flush()
    return area


# ---------------------------------------------------------------- the morning: cards and runs


def run_key(area_id: int, day: date) -> str:
    return f"checklist:{area_id}:{day.isoformat()}"


def plan_inspections(session: Session, day: date):
    """The morning's inspection card of every active area, for its inspector (or the least loaded of the
    inspector's role). The tick asks on every run, so an area added during the day gets its card too."""
    areas = session.execute(select(ChecklistArea.id, ChecklistArea.name, ChecklistArea.inspector_role,
                                   ChecklistArea.inspector_id).where(ChecklistArea.active.is_(True))
                            .order_by(ChecklistArea.position, ChecklistArea.id)).all()
    return [Planned(rule=RULE, key=run_key(a.id, day), role=a.inspector_role, kind=CardKind.INSPECTION,
                    title=f"5S日检：{a.name}（{day.month}月{day.day}日）", create_on=day, due_on=day,
                    preferred_id=a.inspector_id, priority=Priority.HIGH) for a in areas]


def create_runs(session: Session, cards: list[Card]) -> list[ChecklistRun]:
    """A run for each new inspection card of an area, with a copy of the area's items in use today."""
    wanted = {}
    for card in cards:
        if card.rule_key and card.rule_key.startswith("checklist:"):
            _, area_id, day = card.rule_key.split(":")
            wanted[card.id] = (int(area_id), date.fromisoformat(day))
    if not wanted:
        return []
    areas = {a.id: a for a in session.scalars(select(ChecklistArea).options(selectinload(ChecklistArea.items))
                                              .where(ChecklistArea.id.in_({a for a, _ in wanted.values()})))}
    runs = []
    for card_id, (area_id, day) in wanted.items():
        area = areas[area_id]
        run = ChecklistRun(area_id=area.id, day=day, area_name=area.name, card_id=card_id)
        session.add(run)
        session.flush()
        session.add_all([RunAnswer(run_id=run.id, item_id=item.id, position=i, text=item.text,
                                   category=item.category)
                         for i, item in enumerate(i for i in area.items if i.active)])
        runs.append(run)
    session.flush()
    return runs


# ---------------------------------------------------------------- a run


def get_run(session: Session, run_id: int) -> ChecklistRun | None:
    return session.scalar(select(ChecklistRun).where(ChecklistRun.id == run_id)
                          .options(selectinload(ChecklistRun.answers), selectinload(ChecklistRun.submitted_by)))


def run_of_card(session: Session, card_id: int) -> ChecklistRun | None:
    return session.scalar(select(ChecklistRun).where(ChecklistRun.card_id == card_id))


def run_card(session: Session, run: ChecklistRun) -> Card | None:
    return board_service.get_card(session, run.card_id) if run.card_id else None


def may_answer(user: User, run: ChecklistRun, card: Card | None) -> bool:
    """The inspection card's person (or one of its role, unassigned) and supervisors, while the run is open."""
    if run.status != RunStatus.OPEN:
        return False
    if card is None:
        return policy.can_edit_checklists(user)
    return policy.can_change_card(user, card)


def photos_of(session: Session, answer_ids: list[int], stage: PhotoStage | None = None) -> dict[int, list[PhotoLink]]:
    """The photos of some answers, oldest first, keyed by answer id."""
    found: dict[int, list[PhotoLink]] = {a: [] for a in answer_ids}
    if not answer_ids:
        return found
    query = select(PhotoLink).options(selectinload(PhotoLink.photo)).where(PhotoLink.answer_id.in_(answer_ids)) \
        .order_by(PhotoLink.id)
    if stage is not None:
        query = query.where(PhotoLink.stage == stage)
    for link in session.scalars(query):
        found[link.answer_id].append(link)
    return found


def _ensure_may_answer(session: Session, actor: User, run: ChecklistRun) -> None:
    if run.status != RunStatus.OPEN:
        raise DomainError(_("This checklist was submitted already and can no longer be changed."))
    if not may_answer(actor, run, run_card(session, run)):
        raise Forbidden(f"run {run.id}")


def answer_item(session: Session, run: ChecklistRun, answer: RunAnswer, *, actor: User, result: str | None,
                note: str | None) -> RunAnswer:
    """One tap: pass, fail or n.a. (and the note). Saved at once."""
    _ensure_may_answer(session, actor, run)
    if answer.run_id != run.id:
        raise DomainError(_("This item belongs to another checklist."))
    note = (note or "").strip() or None
    if note and len(note) > 1000:
        raise DomainError(_("The note is too long (at most 1000 characters)."))
    if result is not None:
        answer.result = Result(result)
    answer.note = note
    answer.answered_at = utcnow()
    answer.answered_by_id = actor.id
    session.flush()
    return answer


def add_before_photo(session: Session, run: ChecklistRun, answer: RunAnswer, *, actor: User, upload: BinaryIO,
                     filename: str | None = None) -> PhotoLink:
    """A photo of an item while the run is open. The person and the run are checked before the file is
    read, the file is verified before anything is stored, and the files are written last (`photos.store`)."""
    _ensure_may_answer(session, actor, run)
    if answer.run_id != run.id:
        raise DomainError(_("This item belongs to another checklist."))
    photo = photos.store(session, photos.prepare(upload, filename), actor=actor)
    return _link(session, answer, photo, PhotoStage.BEFORE, actor)


def _link(session: Session, answer: RunAnswer, photo: Photo, stage: PhotoStage, actor: User) -> PhotoLink:
    link = session.scalar(select(PhotoLink).where(PhotoLink.answer_id == answer.id, PhotoLink.photo_id == photo.id,
                                                  PhotoLink.stage == stage))
    if link is None:                                    # the same photo sent twice is kept once
        link = PhotoLink(photo_id=photo.id, answer_id=answer.id, stage=stage, added_by_id=actor.id)
        session.add(link)
        session.flush()
    return link


def remove_photo(session: Session, run: ChecklistRun, link: PhotoLink, *, actor: User) -> None:
    """A wrong shot, while the run is open. The file stays: another item may show the same photo."""
    _ensure_may_answer(session, actor, run)
    session.delete(link)
    session.flush()


def submit_run(session: Session, run: ChecklistRun, *, actor: User, s: StoreSettings) -> list[Card]:
    """Refused with the list of what is missing; otherwise every failed item becomes a rectification card
    for the area's responsible person, and the inspection card is done."""
    _ensure_may_answer(session, actor, run)
    answers = run.answers
    photos = photos_of(session, [a.id for a in answers], PhotoStage.BEFORE)
    unanswered = [a for a in answers if a.result is None]
    without_photo = [a for a in answers if a.result == Result.FAIL and not photos[a.id]]
    if unanswered or without_photo:
        parts = []
        if unanswered:
            parts.append(_("%(n)d items have no answer", n=len(unanswered)))
        if without_photo:
            parts.append(_("%(n)d failed items have no photo", n=len(without_photo)))
        raise Incomplete(_("Not submitted: %(what)s.", what=_("; ").join(parts)), unanswered, without_photo)
    area = session.get(ChecklistArea, run.area_id)
    cards = [_rectification_card(session, run, area, a, s) for a in answers if a.result == Result.FAIL]
    run.status = RunStatus.SUBMITTED
    run.submitted_at = utcnow()
    run.submitted_by_id = actor.id
    card = run_card(session, run)
    if card is not None and card.column != Column.DONE:
        board_service.complete_card(session, card, actor=actor, seen_version=card.version,
                                    note=summary_note(answers))
    session.flush()
    return cards


def summary_note(answers: list[RunAnswer]) -> str:
    counts = Counter(a.result for a in answers)
    return _("Checklist submitted: %(ok)d pass, %(bad)d fail, %(na)d n/a.", ok=counts[Result.PASS],
             bad=counts[Result.FAIL], na=counts[Result.NA])


def _responsible(session: Session, area: ChecklistArea) -> User | None:
    person = session.get(User, area.responsible_id) if area.responsible_id else None
    if person is not None and person.active and person.role == area.responsible_role:
        return person
    return Assigner(session).pick(area.responsible_role, None)


def rectification_due(day: date, s: StoreSettings) -> datetime:
    """End of the day `rectification_days` after the run's day (default: the end of the next day). Counting
    opening hours (the default, clock_rectification), the days are open days: a check on the eve of a closed
    day is put right by the end of the next day the store opens; 0 stays the check's own day."""
    due = day
    if s.counts_opening("clock_rectification"):
        for _n in range(s.rectification_days):
            due = s.calendar.next_open_day(due + timedelta(days=1))
    else:
        due = day + timedelta(days=s.rectification_days)
    return due_at(due, s.zone)


def _rectification_card(session: Session, run: ChecklistRun, area: ChecklistArea, answer: RunAnswer,
                        s: StoreSettings) -> Card:
    details = _("Failed in the 5S check of %(day)s.", day=run.day.isoformat())
    if answer.note:
        details += "\n" + answer.note
    card = board_service.create_card(
        session, actor=None, kind=CardKind.RECTIFICATION, title=f"限时整改：{run.area_name}—{answer.text}"[:200],
        role=area.responsible_role, assignee=_responsible(session, area), details=details,
        due_at=rectification_due(run.day, s), priority=Priority.HIGH, source=RECTIFICATION,
        rule_key=f"rectification:{answer.id}")
    answer.rectification_card_id = card.id
    return card


# ---------------------------------------------------------------- rectification


def answer_of_card(session: Session, card_id: int) -> RunAnswer | None:
    return session.scalar(select(RunAnswer).where(RunAnswer.rectification_card_id == card_id)
                          .options(selectinload(RunAnswer.run)))


def add_after_photo(session: Session, card: Card, answer: RunAnswer, *, actor: User, upload: BinaryIO,
                    filename: str | None = None) -> PhotoLink:
    """The responsible person's "after" photo while the rectification is open: every check first, the
    files last, as for `add_before_photo`."""
    if not policy.can_change_card(actor, card):
        raise Forbidden(card.id)
    if card.column in (Column.WAITING, Column.DONE):
        raise DomainError(_("This rectification is waiting for verification or done; it takes no more photos."))
    if answer.rectification_card_id != card.id:
        raise DomainError(_("This item belongs to another checklist."))
    photo = photos.store(session, photos.prepare(upload, filename), actor=actor)
    return _link(session, answer, photo, PhotoStage.AFTER, actor)


def complete_rectification(session: Session, card: Card, answer: RunAnswer, *, actor: User, seen_version: int,
                           note: str | None) -> Card:
    """The responsible person's part: with at least one "after" photo, to Waiting for the supervisor."""
    if card.version != seen_version:
        raise Conflict(card)
    if not policy.can_change_card(actor, card):
        raise Forbidden(card.id)
    if card.column in (Column.WAITING, Column.DONE):
        raise DomainError(_("This rectification was sent for verification already."))
    if not photos_of(session, [answer.id], PhotoStage.AFTER)[answer.id]:
        raise DomainError(_("Take an “after” photo first: the supervisor verifies the rectification by it."))
    board_service.move_card(session, card, actor=actor, to_column=Column.WAITING, to_assignee=card.assignee,
                            position=None, seen_version=seen_version)
    note = (note or "").strip()
    board_service.add_comment(session, card, actor=actor, body=note or _("Rectified: after photo sent for "
                                                                          "verification."))
    answer.rectified_at = utcnow()
    session.flush()
    return card


def verify_rectification(session: Session, card: Card, *, actor: User, seen_version: int) -> Card:
    if not policy.can_verify_rectification(actor):
        raise Forbidden(card.id)
    if card.version != seen_version:
        raise Conflict(card)
    if card.column != Column.WAITING:
        raise DomainError(_("Only a rectification waiting for verification can be verified."))
    board_service.complete_card(session, card, actor=actor, seen_version=seen_version,
                                note=_("Rectification verified."))
    _tell_responsible(session, card, actor, NoticeKind.RECTIFICATION_VERIFIED)
    return card


def _tell_responsible(session: Session, card: Card, actor: User, kind: NoticeKind, reason: str = "") -> None:
    params = {"actor": actor.display_name, "title": card.title}
    if reason:
        params["excerpt"] = notifications.excerpt(reason)
    notifications.notify(session, user_id=card.assignee_id, kind=kind, actor_id=actor.id, card_id=card.id,
                         link=notifications.path("board.show_card", card_id=card.id), params=params)


def send_back(session: Session, card: Card, answer: RunAnswer, *, actor: User, seen_version: int,
              reason: str) -> Card:
    if not policy.can_verify_rectification(actor):
        raise Forbidden(card.id)
    if card.version != seen_version:
        raise Conflict(card)
    if card.column != Column.WAITING:
        raise DomainError(_("Only a rectification waiting for verification can be sent back."))
    reason = (reason or "").strip()
    if not reason:
        raise DomainError(_("Say what is still wrong, so it can be put right."))
    board_service.move_card(session, card, actor=actor, to_column=Column.DOING, to_assignee=card.assignee,
                            position=None, seen_version=seen_version)
    board_service.add_comment(session, card, actor=actor, body=_("Sent back: %(reason)s", reason=reason),
                              tell_owner=False)
    _tell_responsible(session, card, actor, NoticeKind.RECTIFICATION_SENT_BACK, reason)
    answer.rectified_at = None
    session.flush()
    return card


def check_done(session: Session, card: Card, actor: User, note: str | None = None) -> None:
    """The board asks before a card of the checklist goes to Done by a drag or the Done button."""
    if card.kind == CardKind.INSPECTION:
        run = run_of_card(session, card.id)
        if run is not None and run.status != RunStatus.SUBMITTED:
            raise DomainError(_("Fill in and submit the checklist first: the card is done with it."))
    elif card.kind == CardKind.RECTIFICATION:
        answer = answer_of_card(session, card.id)
        if answer is None:
            return
        if not policy.can_verify_rectification(actor):
            raise DomainError(_("A supervisor verifies a rectification: send it with its “after” photo."))
        if not photos_of(session, [answer.id], PhotoStage.AFTER)[answer.id]:
            raise DomainError(_("This rectification has no “after” photo yet."))


board_service.register_workflow((CardKind.INSPECTION, CardKind.RECTIFICATION),
                                board_service.Workflow(completion="checklist", check_done=check_done))


# ---------------------------------------------------------------- history and figures


@dataclass(frozen=True)
class Rate:
    done: int
    total: int

    @property
    def rate(self) -> float | None:
        return self.done / self.total if self.total else None


GOOD_PASS_RATE, FAIR_PASS_RATE = 0.95, 0.8          # a day of the history: good from 95 %, fair from 80 %


def day_rating(pass_rate: float | None) -> str:
    """How a day's check went, for the history calendar: good, fair, poor, or open while nothing is judged."""
    if pass_rate is None:
        return "open"
    if pass_rate >= GOOD_PASS_RATE:
        return "good"
    return "fair" if pass_rate >= FAIR_PASS_RATE else "poor"


@dataclass
class RunDay:
    day: date
    run_id: int | None = None
    status: str | None = None
    passed: int = 0
    failed: int = 0
    na: int = 0
    unanswered: int = 0

    @property
    def pass_rate(self) -> float | None:
        judged = self.passed + self.failed
        return self.passed / judged if judged else None

    @property
    def rating(self) -> str:
        """day_rating() of the day's pass rate; "none" on a day without a run."""
        return "none" if self.run_id is None else day_rating(self.pass_rate)


@dataclass
class AreaMonth:
    area: ChecklistArea
    year: int
    month: int
    weeks: list[list[RunDay | None]] = field(default_factory=list)    # Monday first, None outside the month

    @property
    def days(self) -> list[RunDay]:
        return [d for week in self.weeks for d in week if d is not None]


def _counts(session: Session, run_ids: list[int]) -> dict[int, Counter]:
    counts: dict[int, Counter] = {r: Counter() for r in run_ids}
    if run_ids:
        for run_id, result, n in session.execute(
                select(RunAnswer.run_id, RunAnswer.result, func.count()).where(RunAnswer.run_id.in_(run_ids))
                .group_by(RunAnswer.run_id, RunAnswer.result)):
            counts[run_id][result] += n
    return counts


def area_month(session: Session, area: ChecklistArea, year: int, month: int) -> AreaMonth:
    """A calendar of the area's runs in a month with each day's pass rate (pass / (pass + fail))."""
    first = date(year, month, 1)
    last = date(year, month, calendar.monthrange(year, month)[1])
    runs = session.execute(select(ChecklistRun.id, ChecklistRun.day, ChecklistRun.status)
                           .where(ChecklistRun.area_id == area.id, ChecklistRun.day.between(first, last))).all()
    counts = _counts(session, [r.id for r in runs])
    by_day = {}
    for r in runs:
        c = counts[r.id]
        by_day[r.day] = RunDay(day=r.day, run_id=r.id, status=r.status, passed=c[Result.PASS],
                               failed=c[Result.FAIL], na=c[Result.NA], unanswered=c[None])
    result = AreaMonth(area=area, year=year, month=month)
    for week in calendar.Calendar(firstweekday=0).monthdatescalendar(year, month):
        result.weeks.append([by_day.get(d, RunDay(day=d)) if d.month == month else None for d in week])
    return result


@dataclass(frozen=True)
class FailingItem:
    text: str
    area_name: str
    failed: int
    answered: int


def most_failed(session: Session, *, start: date, end: date, area_id: int | None = None,
                limit: int = 10) -> list[FailingItem]:
    """The items that failed most often in runs of days [start, end], with how often they were judged."""
    query = select(RunAnswer.text, ChecklistRun.area_name,
                   func.sum(case((RunAnswer.result == Result.FAIL, 1), else_=0)),
                   func.count(RunAnswer.id)) \
        .join(ChecklistRun, RunAnswer.run_id == ChecklistRun.id) \
        .where(ChecklistRun.day.between(start, end), RunAnswer.result.in_([Result.PASS, Result.FAIL])) \
        .group_by(RunAnswer.text, ChecklistRun.area_name)
    if area_id is not None:
        query = query.where(ChecklistRun.area_id == area_id)
    rows = [FailingItem(text, area, int(failed or 0), int(n)) for text, area, failed, n in session.execute(query)]
    rows = [r for r in rows if r.failed]
    rows.sort(key=lambda r: (-r.failed, -r.failed / r.answered, r.area_name, r.text))
    return rows[:limit]


def _per_person(rows, on_time) -> dict[int | None, Rate]:
    """(person, …) rows into a Rate per person; `on_time(row)` says whether the row was in time."""
    tallies: dict[int | None, list[int]] = {}
    for row in rows:
        tally = tallies.setdefault(row[0], [0, 0])
        tally[0] += bool(on_time(row))
        tally[1] += 1
    return {person: Rate(done, total) for person, (done, total) in tallies.items()}


def _overall(rates: dict) -> Rate:
    return Rate(sum(r.done for r in rates.values()), sum(r.total for r in rates.values()))


def rectification_on_time_by_person(session: Session, *, start: datetime, end: datetime, now: datetime,
                                    person_ids: list[int] | None = None) -> dict[int | None, Rate]:
    """Rectification cards due in [start, end): sent for verification (with the after photo) by their
    deadline / those due, per responsible person (of `person_ids`, or everyone). A card not yet due and
    not yet rectified is not counted (it can still make it); a card sent back counts from its resubmission."""
    query = select(Card.assignee_id, Card.due_at, RunAnswer.rectified_at) \
        .join(RunAnswer, RunAnswer.rectification_card_id == Card.id) \
        .where(Card.kind == CardKind.RECTIFICATION, Card.due_at >= start, Card.due_at < end)
    if person_ids is not None:
        query = query.where(Card.assignee_id.in_(person_ids))
    rows = (r for r in session.execute(query) if r.rectified_at is not None or r.due_at <= now)
    return _per_person(rows, lambda r: r.rectified_at is not None and r.rectified_at <= r.due_at)


def rectification_on_time(session: Session, *, start: datetime, end: datetime, now: datetime,
                          assignee_id: int | None = None) -> Rate:
    """The same as one figure: for one person, or for every rectification card."""
    return _overall(rectification_on_time_by_person(
        session, start=start, end=end, now=now, person_ids=None if assignee_id is None else [assignee_id]))


def checklist_completion_by_person(session: Session, *, start: date, end: date, s: StoreSettings,
                                   person_ids: list[int] | None = None) -> dict[int | None, Rate]:
    """Runs of the days [start, end] submitted on their own day (store time) / runs made, per person of
    the inspection card (of `person_ids`, or everyone)."""
    query = select(Card.assignee_id, ChecklistRun.day, ChecklistRun.submitted_at) \
        .outerjoin(Card, Card.id == ChecklistRun.card_id).where(ChecklistRun.day.between(start, end))
    if person_ids is not None:
        query = query.where(Card.assignee_id.in_(person_ids))
    return _per_person(session.execute(query),
                       lambda r: r.submitted_at is not None and dates.local_date(r.submitted_at, s.zone) <= r.day)


def checklist_completion(session: Session, *, start: date, end: date, s: StoreSettings,
                         inspector_id: int | None = None) -> Rate:
    """The same as one figure: for one inspector, or for every run."""
    return _overall(checklist_completion_by_person(
        session, start=start, end=end, s=s, person_ids=None if inspector_id is None else [inspector_id]))


def today_runs(session: Session, day: date) -> list[tuple[ChecklistRun, Card | None, Counter]]:
    runs = session.scalars(select(ChecklistRun).where(ChecklistRun.day == day).order_by(ChecklistRun.area_id)).all()
    cards = {c.id: c for c in session.scalars(select(Card).options(selectinload(Card.assignee))
                                              .where(Card.id.in_([r.card_id for r in runs if r.card_id])))}
    counts = _counts(session, [r.id for r in runs])
    return [(r, cards.get(r.card_id), counts[r.id]) for r in runs]


def open_rectifications(session: Session) -> list[Card]:
    return session.scalars(select(Card).options(selectinload(Card.assignee))
                           .where(Card.kind == CardKind.RECTIFICATION, Card.column != Column.DONE)
                           .order_by(Card.due_at)).all()
