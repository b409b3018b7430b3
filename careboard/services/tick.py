"""The tick: the one use case that runs the store's automatic work, and the claim that lets only one run.

`tick(session, now=...)` asks the care rules for the cards that are due to appear (care_rules.py), the 5S
checklist for today's inspections, makes them (planning.py), escalates overdue complaints, tells the
supervisors about rows the rules had to leave out, and writes the weekly and monthly reports. It never
commits: `flask tick` (cli.py) and the background runner (runner.py) claim it, run it and commit.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from flask_babel import gettext as _
from sqlalchemy import select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from careboard.dates import day_bounds, local_date
from careboard.dbtypes import utcnow
from careboard.models import Card, NoticeKind, Notification, RuleState, Topic
from careboard.models.reports import WEEKLY
from careboard.services import board_sync, care_rules, checklist, complaints, notifications, reports, robots
from careboard.services import settings as settings_service
from careboard.services.care_rules import SkippedRow, read_state, write_state
from careboard.services.planning import Planned, chunks, create_planned
from careboard.services.settings import StoreSettings


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



def tick(session: Session, *, now: datetime) -> TickReport:
    """Create the cards that are due to appear by `now`. Safe to run at any time, as often as wanted."""
    s = settings_service.load(session)
    today = local_date(now, s.zone)
    floor = today - timedelta(days=s.backfill_days)
    report = TickReport(now=now)
    planned: list[Planned] = []

    done = read_state(session, "days_done")
    start = max(date.fromisoformat(done.value) + timedelta(days=1), floor) if done else floor
    if start <= today:
        planned += care_rules.plan_days(session, start, today, s, today)
        report.days = (start, today)

    planned += care_rules.plan_late_rows(session, s, today, floor)
    planned += checklist.plan_inspections(session, today)      # every tick: an area added today gets its card
    created = create_planned(session, [p for p in planned if p.due_on >= floor], s)
    checklist.create_runs(session, created)
    report.created, report.skipped_existing = created, len(planned) - len(created)
    report.list_created()
    report.escalated = complaints.escalate(session, now=now, s=s)
    report.skipped_rows = care_rules.out_of_range_rows(session, s)
    notify_skipped(session, report.skipped_rows, now=now, s=s)
    made = reports.ensure_due_reports(session, now=now, s=s)    # the Monday and the monthly report, once each
    for report_row in made:
        if report_row.kind == WEEKLY:
            robots.enqueue(session, topic=Topic.WEEKLY, now=now, dedupe=f"weekly:{report_row.period}",
                           text=_("The weekly report of %(period)s is ready: %(link)s", period=report_row.period,
                                  link=robots.link("/review/reports")))
    robots.plan_digests(session, now=now, s=s)                  # the morning digest, once a store day
    board_sync.prune(session, now)                              # the tablets' change log keeps a day
    write_state(session, "days_done", today.isoformat())
    write_state(session, "last_tick_at", now.isoformat())
    session.flush()
    return report


def notify_skipped(session: Session, skipped: list[SkippedRow], *, now: datetime, s: StoreSettings) -> int:
    """A notice of each skipped row to every active supervisor and director, at most once a (store) day each.
    Returns the number of notices made."""
    if not skipped:
        return 0
    bosses = notifications.supervisors(session)
    texts = list(dict.fromkeys(row.notice()[:300] for row in skipped))
    midnight = day_bounds(local_date(now, s.zone), s.zone)[0].astimezone(UTC)
    sent = set()
    for chunk in chunks(texts, 200):
        sent.update((uid, text) for uid, text in session.execute(select(Notification.user_id, Notification.text).where(
            Notification.kind == NoticeKind.ROWS_SKIPPED, Notification.created_at >= midnight,
            Notification.text.in_(chunk))))
    made = 0
    for notice in texts:                       # no link: the notice says which row, in which file or table
        made += len(notifications.notify_all(session, user_ids=[uid for uid in bosses if (uid, notice) not in sent],
                                             kind=NoticeKind.ROWS_SKIPPED, text=notice, now=now, link=None))
    return made


# ---------------------------------------------------------------- one tick at a time


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

