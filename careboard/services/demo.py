"""Demo data: the store and one account per role, all with the password `careboard-demo`."""
from __future__ import annotations

import io
import random
from datetime import date, timedelta

from PIL import Image, ImageDraw
from sqlalchemy import select
from sqlalchemy.orm import Session

from careboard import dates, policy
from careboard.dates import birthday_in
from careboard.dbtypes import utcnow
from careboard.models import (Card, ChecklistRun, Complaint, Customer, KpiEntry, Level, Result, Robot, RobotKind, Role,
                              Setting, User)
from careboard.services import (accounts, board, checklist, complaints, customers, kpi, kpi_engine, planning, robots,
                                settings)
from careboard.services import tick as tick_service
from careboard.services.errors import DomainError

DEMO_PASSWORD = "careboard-demo"
DEMO_STORE_NAME = "星辰汽车 4S 店"

# username, display name, role, level. The administrator keeps accounts and settings and does no care work: no
# care role, so no lane, no cards, no scorecard and no row in the review.
DEMO_USERS = [
    ("admin", "系统管理员 Admin", Role.NONE, Level.ADMIN),
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


def account_lines() -> list[str]:
    """The demo accounts, one line each, for the end of `flask demo` (and `make run`)."""
    return [f"  {username:<12} {level.name.lower():<10} {role.value}" for username, _name, role, level in DEMO_USERS]


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
    created += load_board_demo(session)
    created += load_customer_demo(session)
    created += load_complaint_demo(session)
    created += load_checklist_demo(session)
    created += load_scorecard_demo(session)
    created += load_robot_demo(session)
    report = tick_service.tick(session, now=utcnow())
    if report.created:
        created.append(f"{len(report.created)} cards from the care rules (tick)")
    return created


# A realistic day on the board: (role, kind, title, due in hours from now (None: no due time), column, priority)
DEMO_CARDS = [
    ("sales_care", "callback", "交车3天回访：王先生 新明锐 沪A·D1234", -20, "todo", 2),
    ("sales_care", "callback", "交车3天回访：李女士 柯迪亚克 沪B·77K21", -3, "todo", 1),
    ("sales_care", "callback", "交车3个月回访：陈先生 速派", 1, "todo", 2),
    ("sales_care", "callback", "交车6个月回访：赵女士 柯珞克", 5, "doing", 2),
    ("sales_care", "reminder", "生日问候：周先生（今天生日）", 3, "todo", 2),
    ("sales_care", "reminder", "节日问候短信：元旦祝福名单 38 人", 30, "todo", 3),
    ("sales_care", "task", "试驾车预约确认：周六上午 3 组客户", 2, "todo", 1),
    ("sales_care", "task", "整理本周交车档案（48小时内归档）", 26, "doing", 2),
    ("sales_care", "callback", "交车3天回访：孙先生 明锐 旅行版", -1, "doing", 2),
    ("sales_care", "callback", "交车3天回访：吴女士 昕动", 20, "waiting", 2),
    ("aftersales_care", "callback", "维修后3天回访：郑先生 保养 工单 R2611-031", -6, "todo", 1),
    ("aftersales_care", "callback", "维修后3天回访：冯女士 钣喷 工单 R2611-044", 4, "todo", 2),
    ("aftersales_care", "callback", "维修后3天回访：何先生 更换刹车片", 22, "todo", 2),
    ("aftersales_care", "reminder", "首保提醒：本周到期 12 位车主（短信）", 8, "doing", 2),
    ("aftersales_care", "reminder", "定保提醒：11月第4周名单", 48, "todo", 3),
    ("aftersales_care", "reminder", "质保到期电话提醒：许先生 2021款 明锐", 30, "todo", 2),
    ("aftersales_care", "callback", "流失客户挽回：6个月未进站 韩女士", 72, "todo", 2),
    ("aftersales_care", "callback", "流失客户挽回：6个月未进站 曹先生", -26, "todo", 2),
    ("aftersales_care", "reminder", "年检提醒：12月到期 7 位车主", 96, "waiting", 3),
    ("aftersales_care", "callback", "维修后3天回访：邓先生 空调维修", 1, "doing", 1),
    ("phone_reception", "complaint", "来电抱怨：保养等待时间过长（马先生）", -2, "doing", 1),
    ("phone_reception", "task", "400 热线来电登记汇总（昨日）", 6, "todo", 2),
    ("phone_reception", "task", "回复线上留言 5 条", 3, "todo", 2),
    ("phone_reception", "callback", "预约确认：明天 9:00 保养 3 位客户", 8, "todo", 2),
    ("delivery", "task", "交车仪式准备：下午 15:00 柯迪亚克 GT", 4, "doing", 1),
    ("delivery", "task", "交车资料核对：合同、发票、合格证", 6, "todo", 2),
    ("delivery", "task", "新车 PDI 检查单签字确认", -4, "todo", 2),
    ("delivery", "task", "交车后 24 小时内上传交车照片", 18, "todo", 3),
    ("showroom_reception", "inspection", "客户休息区 5S 检查：饮品、杂志、充电区", 1, "todo", 2),
    ("showroom_reception", "inspection", "洽谈区桌面与资料架整理", 2, "doing", 2),
    ("showroom_reception", "task", "来店客户登记表录入（上午）", -1, "todo", 2),
    ("showroom_reception", "task", "展厅绿植浇水与香氛补充", 5, "todo", 3),
    ("aftersales_service", "task", "服务接待区 5S：接车台与钥匙柜", 2, "todo", 2),
    ("aftersales_service", "callback", "交车后跟进：维修车辆交付说明", 6, "todo", 2),
    ("aftersales_service", "task", "维修进度告知：工单 R2611-052 配件到货", -3, "doing", 1),
    ("aftersales_service", "task", "客户休息区座椅报修", 30, "waiting", 3),
    ("insurance_renewal", "reminder", "续保提醒：12月到期 26 位客户", 24, "doing", 1),
    ("insurance_renewal", "callback", "续保跟进：程先生 报价已发", -5, "todo", 2),
    ("insurance_renewal", "callback", "续保跟进：宋女士 比价中", 10, "todo", 2),
    ("insurance_renewal", "callback", "续保跟进：唐先生 已续保，确认保单", 30, "waiting", 3),
    ("insurance_renewal", "task", "本月续保率统计（目标 ≥ 40%）", 50, "todo", 2),
    ("marketing_manager", "task", "车友会冬季自驾活动方案", 72, "doing", 2),
    ("marketing_manager", "task", "12月展厅活动物料确认", -10, "todo", 1),
    ("marketing_manager", "task", "本周线索来源分析", 26, "todo", 2),
    ("analyst", "task", "周报数据准备：回访率、投诉关闭率", 20, "doing", 1),
    ("analyst", "task", "流失客户目标群分析（每月5日）", 200, "todo", 2),
    ("analyst", "task", "满意度总部报告解读（3天内）", -8, "todo", 1),
    ("advertising", "task", "朋友圈广告素材审核", 6, "todo", 2),
    ("advertising", "task", "户外广告到期续约确认", 100, "todo", 3),
    ("advertising", "task", "展厅海报更换", -2, "doing", 2),
    ("owners_club", "task", "车友汇新会员入会登记 8 人", 8, "todo", 2),
    ("owners_club", "task", "会员积分兑换礼品发放", 30, "doing", 2),
    ("owners_club", "task", "会员生日关怀名单", 4, "todo", 2),
    ("cs_supervisor", "inspection", "展厅 5S 巡检（晨检）", 1, "todo", 1),
    ("cs_supervisor", "task", "审核本周回访记录抽查 10 条", 28, "todo", 2),
    ("cs_supervisor", "complaint", "升级投诉：车辆异响多次未修复（林先生）", -1, "doing", 1),
    ("cs_supervisor", "task", "客服人员排班表（下周）", 50, "todo", 3),
    ("care_director", "task", "满意度分析会议（总部报告后3天内）", 30, "todo", 1),
    ("care_director", "task", "审批 11 月考核数据", 80, "todo", 2),
    ("care_director", "task", "周例会议程准备", 20, "doing", 2),
    ("sales_care", "callback", "交车3个月回访：郭先生 柯米克", None, "todo", 3),
    ("aftersales_care", "reminder", "保养到期短信：本周 20 位", None, "todo", 3),
    ("delivery", "task", "交车区物料补充", None, "todo", 3),
    ("phone_reception", "task", "电话录音抽检", None, "todo", 3),
]
DEMO_DONE_TODAY = [
    ("sales_care", "callback", "交车3天回访：钱女士 明锐 — 满意，已回访", "客户已接通，满意度 9 分，无问题。"),
    ("aftersales_care", "callback", "维修后3天回访：蒋先生 — 已回访", "客户已接通，反映洗车不够干净，已转售后。"),
    ("showroom_reception", "inspection", "展厅入口 5S 检查", None),
    ("insurance_renewal", "callback", "续保跟进：沈女士 — 已续保", "已续保，保单已邮寄。"),
]


DEMO_SOURCES = (("交车3天", "sale_3d"), ("交车3个月", "sale_3m"), ("交车6个月", "sale_6m"),
                ("维修后3天", "service_3d"), ("流失客户", "winback"), ("生日", "birthday"), ("续保", "insurance"))


def demo_source(title: str) -> str:
    """The rule that would have made a demo card, so it shows that rule's script and label."""
    return next((rule for prefix, rule in DEMO_SOURCES if title.startswith(prefix) or prefix in title[:8]),
                "manual")


def load_board_demo(session: Session) -> list[str]:
    """A day's worth of cards across the roles, a few of them overdue. Skipped if the demo cards exist."""
    if session.scalar(select(Card.id).where(Card.rule_key.like("demo:%")).limit(1)) is not None:
        return []
    now = utcnow().replace(second=0, microsecond=0)
    people = {}
    for user in session.scalars(select(User).where(User.active.is_(True)).order_by(User.username)):
        people.setdefault(user.role, []).append(user)
    supervisor = session.scalar(select(User).where(User.username == "supervisor"))
    created = 0
    for i, (role, kind, title, hours, column, priority) in enumerate(DEMO_CARDS):
        staff = people.get(role) or [None]
        assignee = staff[i % len(staff)]
        card = board.create_card(session, actor=None, kind=kind, title=title, role=role, assignee=assignee,
                                 due_at=None if hours is None else now + timedelta(hours=hours),
                                 priority=priority, source=demo_source(title), rule_key=f"demo:{i}")
        if column != "todo" and assignee is not None:
            session.flush()
            board.move_card(session, card, actor=assignee, to_column=column, to_assignee=assignee,
                            position=None, seen_version=card.version)
        created += 1
    for j, (role, kind, title, note) in enumerate(DEMO_DONE_TODAY):
        assignee = (people.get(role) or [supervisor])[0]
        card = board.create_card(session, actor=None, kind=kind, title=title, role=role, assignee=assignee,
                                 due_at=now + timedelta(hours=2), source=demo_source(title),
                                 rule_key=f"demo:done:{j}")
        session.flush()
        board.complete_card(session, card, actor=assignee, seen_version=card.version, note=note)
        created += 1
    if supervisor is not None:
        first = session.scalar(select(Card).where(Card.rule_key == "demo:0"))
        board.add_comment(session, first, actor=supervisor, body="客户上午不方便接电话，请下午再拨。")
    session.flush()
    return [f"{created} demo cards"]


SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢"
GIVEN = ["伟", "芳", "娜", "敏", "静", "磊", "洋", "勇", "艳", "杰", "娟", "涛", "明", "超", "秀英", "霞", "平", "刚",
         "桂英", "建华", "文", "华", "红", "志强", "晓东", "海燕", "丽", "军", "鹏", "婷"]
MODELS = ["明锐", "速派", "柯迪亚克", "柯珞克", "柯米克", "昕动", "明锐 旅行版", "柯迪亚克 GT", "昕锐", "速派 PRO"]
PLATE_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"
VIN_CHARS = "ABCDEFGHJKLMNPRSTUVWXYZ0123456789"
DEMO_CUSTOMERS = 300


def next_anniversary(day, today):
    """The next yearly date of `day` after today (insurance renews on the delivery's anniversary)."""
    this_year = birthday_in(today.year, day)
    return this_year if this_year > today else birthday_in(today.year + 1, day)


def load_customer_demo(session: Session, *, today=None, count: int = DEMO_CUSTOMERS) -> list[str]:
    """About 300 customers with deliveries and service visits over the past years, so that `tick` makes
    a realistic day of callbacks and reminders. Skipped when the store has customers already."""
    if session.scalar(select(Customer.id).limit(1)) is not None:
        return []
    rng = random.Random(20261125)
    today = today or date.today()
    sales_people = session.scalars(select(User).where(User.role == Role.SALES_CARE,
                                                      User.active.is_(True)).order_by(User.id)).all()
    after_people = session.scalars(select(User).where(User.role == Role.AFTERSALES_CARE,
                                                      User.active.is_(True)).order_by(User.id)).all()
    sales = visits = 0
    for i in range(count):
        name = rng.choice(SURNAMES) + rng.choice(GIVEN) + ("先生" if rng.random() < 0.5 else "女士")
        birthday = date(rng.randint(1965, 2000), rng.randint(1, 12), rng.randint(1, 28))
        customer = customers.create_customer(
            session, name=name, mobile=f"13{rng.randint(5, 9)}{i:04d}{rng.randint(0, 9999):04d}", birthday=birthday,
            sales_care=sales_people[i % len(sales_people)] if sales_people and i % 5 else None,
            aftersales_care=after_people[i % len(after_people)] if after_people and i % 4 else None)
        # Most customers bought within the last year; some are older owners who only come for service.
        delivered = today - timedelta(days=rng.randint(0, 365) if i % 5 else rng.randint(400, 1800))
        plate = "沪" + rng.choice("ABCDEFGHJKLMN") + "".join(rng.choice(PLATE_LETTERS[:10] + "0123456789")
                                                             for _ in range(5))
        vehicle = customers.save_vehicle(
            session, customer, vin="LSV" + "".join(rng.choice(VIN_CHARS) for _ in range(14)), plate=plate,
            model=rng.choice(MODELS), delivery_date=delivered,
            first_maintenance_due=delivered + timedelta(days=90), warranty_end=delivered + timedelta(days=3 * 365),
            insurance_expiry=next_anniversary(delivered, today),
            next_inspection=delivered + timedelta(days=6 * 365) if i % 5 else delivered + timedelta(days=2 * 365))
        if i % 5:
            customers.record_sale(session, vehicle, delivered)
            sales += 1
        day = delivered + timedelta(days=rng.randint(60, 150))
        while day < today and rng.random() < 0.7:
            customers.record_visit(session, vehicle, day, work_order=f"R{day:%y%m}-{i:03d}{visits % 10}",
                                   description=rng.choice(["常规保养", "更换机油机滤", "空调清洗", "钣喷维修",
                                                           "更换刹车片", "四轮定位", "轮胎更换"]))
            visits += 1
            day += timedelta(days=rng.randint(90, 200))
    session.flush()
    return [f"{count} demo customers with {sales} deliveries and {visits} service visits"]


def load_robot_demo(session: Session) -> list[str]:
    """One enterprise WeChat robot, switched off and with a made-up key, so the admin sees how a robot is set
    up; it never sends (nothing is sent to a robot that is off). Skipped when a robot exists."""
    if session.scalar(select(Robot.id).limit(1)) is not None:
        return []
    admin = session.scalar(select(User).where(User.username == "admin"))
    if admin is None:
        return []
    robots.save_robot(session, actor=admin, values=robots.RobotValues(
        name="客服部群（示例，未启用）", kind=RobotKind.WECOM.value, role=None, secret=None, active=False,
        webhook="https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=demo-0000-not-a-real-key"))
    return ["1 demo chat robot (switched off)"]


# (description, category, department, channel, hours ago received, steps taken, hours between steps)
DEMO_COMPLAINTS = [
    ("保养等待时间过长，预约了还等了两个小时", "service", "aftersales", "phone", 1.5, 0, 0),        # overdue response
    ("维修后异响仍未解决，已经第三次进站", "service", "aftersales", "hotline", 40, 2, 0.5),        # overdue solution
    ("销售顾问承诺的赠品没有兑现", "sales", "sales", "showroom", 0.2, 0, 0),
    ("洗车不干净，内饰有污渍", "service", "aftersales", "callback", 5, 2, 0.3),
    ("交车时讲解不清楚，不会用导航", "sales", "sales", "callback", 20, 3, 2),
    ("配件等待超过一周", "parts", "aftersales", "phone", 50, 4, 8),
    ("前台接待态度冷淡", "attitude", "customer_care", "online", 70, 5, 6),
    ("休息区空调太冷", "facilities", "administration", "showroom", 100, 5, 8),
    ("保险理赔进度慢", "other", "aftersales", "hotline", 30, 3, 4),
    ("试驾车预约被临时取消", "sales", "sales", "phone", 8, 2, 1),
    ("保养价格与报价不一致", "service", "aftersales", "phone", 26, 4, 3),
    ("车友会活动报名后没人通知", "other", "marketing", "online", 120, 5, 10),
]


def load_complaint_demo(session: Session) -> list[str]:
    """A dozen complaints in various steps, two of them overdue. Skipped when complaints exist."""
    if session.scalar(select(Complaint.id).limit(1)) is not None:
        return []
    s = settings.load(session)
    phone = session.scalar(select(User).where(User.username == "phone1"))
    boss = session.scalar(select(User).where(User.username == "supervisor"))
    if phone is None or boss is None:
        return []
    now = utcnow()
    order = [complaints.S.RESPONDED, complaints.S.HANDED_OFF, complaints.S.SOLUTION_PROPOSED, complaints.S.RESOLVED]
    for description, category, department, channel, hours_ago, steps, gap in DEMO_COMPLAINTS:
        # A complaint still waiting for its response counts its hours ago in opening hours, as its clock does:
        # the overdue one is overdue and the fresh one is not at any time of day. The others wait on the
        # 24-hour limits, which run day and night.
        received = s.calendar.subtract_minutes(now, hours_ago * 60) if steps == 0 \
            else now - timedelta(hours=hours_ago)
        complaint = complaints.log_complaint(session, actor=phone, channel=channel, category=category,
                                             department=department, description=description, received_at=received,
                                             s=s)
        at = received
        for to in order[:min(steps, 4)]:
            at += timedelta(hours=gap)
            complaints.advance(session, complaint, actor=boss, to=to, seen_version=complaint.version, now=at, s=s,
                               solution="致歉并免费处理" if to is complaints.S.SOLUTION_PROPOSED else None)
        if steps >= 5:
            complaints.second_callback(session, complaint, actor=boss, satisfied=True, seen_version=complaint.version,
                                       now=at + timedelta(hours=gap), s=s)
    session.flush()
    return [f"{len(DEMO_COMPLAINTS)} demo complaints"]


def demo_photo(seed: int) -> bytes:
    """A stand-in for a tablet photo: a grey scene with a red mark where the fault is."""
    image = Image.new("RGB", (640, 480), (180 + seed % 40, 182, 186))
    draw = ImageDraw.Draw(image)
    x, y = 120 + (seed * 53) % 360, 100 + (seed * 31) % 240
    draw.rectangle((40, 300, 600, 460), fill=(120, 110, 100))
    draw.ellipse((x, y, x + 120, y + 120), outline=(210, 30, 30), width=8)
    out = io.BytesIO()
    image.save(out, "JPEG", quality=80)
    return out.getvalue()


def load_checklist_demo(session: Session, *, days: int = 10) -> list[str]:
    """The default 5S areas and the last `days` days of checks: mostly passes, a few failed items with
    photos, their rectifications mostly put right and verified. Skipped when runs exist."""
    made = checklist.ensure_default_areas(session)
    created = [f"{made} 5S areas"] if made else []
    if session.scalar(select(ChecklistRun.id).limit(1)) is not None:
        return created
    s = settings.load(session)
    boss = session.scalar(select(User).where(User.username == "supervisor"))
    if boss is None:
        return created
    rng = random.Random(5)
    today = dates.local_date(utcnow(), s.zone)
    runs = 0
    for back in range(days, 0, -1):
        day = today - timedelta(days=back)
        cards = planning.create_planned(session, checklist.plan_inspections(session, day), s)
        for run in checklist.create_runs(session, cards):
            run = checklist.get_run(session, run.id)
            card = board.get_card(session, run.card_id)
            inspector = card.assignee or boss
            morning = dates.due_at(day, s.zone) - timedelta(hours=14, minutes=rng.randint(0, 90))
            for answer in run.answers:
                roll = rng.random()
                result = Result.FAIL if roll < 0.07 else Result.NA if roll < 0.1 else Result.PASS
                checklist.answer_item(session, run, answer, actor=inspector, result=result,
                                      note="现场拍照" if result == Result.FAIL else None)
                if result == Result.FAIL:
                    checklist.add_before_photo(session, run, answer, actor=inspector,
                                               upload=io.BytesIO(demo_photo(answer.id)), filename="demo.jpg")
            rectifications = checklist.submit_run(session, run, actor=inspector, s=s)
            run.submitted_at = card.completed_at = morning
            for rect in rectifications:
                answer = checklist.answer_of_card(session, rect.id)
                if back <= 1 or rng.random() < 0.15:
                    continue                                     # still open (one of them late)
                person = rect.assignee or boss
                checklist.add_after_photo(session, rect, answer, actor=person,
                                          upload=io.BytesIO(demo_photo(answer.id + 1000)), filename="after.jpg")
                checklist.complete_rectification(session, rect, answer, actor=person, seen_version=rect.version,
                                                 note="已整改")
                answer.rectified_at = morning + timedelta(hours=rng.choice((3, 6, 20, 40)))
                checklist.verify_rectification(session, rect, actor=boss, seen_version=rect.version)
                rect.completed_at = answer.rectified_at + timedelta(hours=1)
            runs += 1
    session.flush()
    return created + [f"{runs} 5S checks over {days} days"]


def demo_value(metric, rng):
    """A plausible month's figure for an entered metric of any rule."""
    spec = metric.spec
    if metric.rule == kpi_engine.LINEAR:
        low, high = float(min(spec.floor, spec.target)), float(max(spec.floor, spec.target))
        value = rng.uniform(low + (high - low) * 0.6, high * 1.02) if spec.target > spec.floor else \
            rng.uniform(low * 0.9, low + (high - low) * 0.4)
        return round(value, 3 if metric.unit == "rate" else 1)
    if metric.rule == kpi_engine.WEIGHTED_RATES:
        return {p.code: round(rng.uniform(0.7, 1.05), 2) for p in spec.parts}
    if metric.rule == kpi_engine.BAND_INTERPOLATED:
        return rng.choice((8, 15, 25, 35, 45))
    if metric.rule == kpi_engine.JUDGED:
        band = rng.choice([b for b in spec.bands if b.max > 0] or list(spec.bands))
        return {"band": band.code, "value": float(band.max if rng.random() < 0.5 else band.min)}
    if metric.rule == kpi_engine.COEFFICIENT:
        thresholds = [float(step.min) for step in spec.steps if step.min is not None]
        return rng.choice(thresholds) if thresholds else None
    return None                                              # a gate reads another metric's value


def load_scorecard_demo(session: Session) -> list[str]:
    """Last month's figures for everyone with a template, finalized by the director; this month's for the
    customer-service supervisor only (the others are still to be entered). Skipped when entries exist."""
    if session.scalar(select(KpiEntry.id).limit(1)) is not None:
        return []
    boss = session.scalar(select(User).where(User.username == "supervisor"))
    director = session.scalar(select(User).where(User.username == "director"))
    if boss is None or director is None:
        return []
    s = settings.load(session)
    rng = random.Random(11)
    this_month = dates.month_of(dates.local_date(utcnow(), s.zone))
    last_month = dates.previous_months(this_month, 2)[0]
    people = kpi.scorable_people(session)
    admin = session.scalar(select(User).where(User.username == "admin"))
    for month, members in ((last_month, people), (this_month, [boss])):
        for person in members:
            # Figures come from the level above: the supervisor's staff, the director the supervisor,
            # the administrator the director (policy.can_enter_kpi).
            actor = next((a for a in (boss, director, admin) if a is not None and policy.can_enter_kpi(a, person)),
                         None)
            if actor is None:
                continue
            template = kpi.template_for(session, person.role)
            values = {m.code: demo_value(m, rng) for m in template.metrics if m.source == "entered"}
            kpi.save_entries(session, actor=actor, person=person, month=month,
                             values={k: v for k, v in values.items() if v is not None})
    kpi.finalize(session, actor=director, month=last_month, s=s, note="演示数据")
    return [f"scorecard figures for {len(people)} people, {last_month} finalized"]
