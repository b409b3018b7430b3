"""Every button of a card's detail, in the drawer and on the card's own page, for each kind of card: it does
what it says (the state in the database) and answers with its message (a toast). Then the changes made
elsewhere: Done in the drawer moves on to the next card, a drag, the steps of a rectification and of a
complaint, and a 5S tap the server fails on (issue 17, item 3)."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import quote

import pytest
from flask import abort, request
from playwright.sync_api import Locator, Page, expect
from sqlalchemy import select

from careboard.extensions import db
from careboard.models import Card, CardEvent, ChecklistRun, Complaint, RunAnswer, User
from careboard.services import board
from tests.browser.conftest import drag, log_in
from tests.photos import jpeg

TABLET = {"width": 1024, "height": 768}


# ---------------------------------------------------------------- the database, as the test sees it


@dataclass(frozen=True)
class Seen:
    """A card as the database holds it after a step, with its newest history entry."""
    column: str
    title: str
    assignee: str | None
    satisfaction: int | None
    event: str
    note: str | None


def card_id(server, title: str, username: str | None = None) -> int:
    """The open card whose title starts so (of that person: the demo has past days' 5S cards too)."""
    with server.app.app_context():
        query = select(Card.id).where(Card.title.like(f"{title}%"), Card.column != "done").order_by(Card.id.desc())
        if username:
            query = query.join(User, User.id == Card.assignee_id).where(User.username == username)
        return db.session.scalars(query).first()


def seen(server, card: int) -> Seen:
    with server.app.app_context():
        row = db.session.get(Card, card)
        event = db.session.scalar(select(CardEvent).where(CardEvent.card_id == card).order_by(CardEvent.id.desc()))
        who = db.session.get(User, row.assignee_id).username if row.assignee_id else None
        return Seen(row.column, row.title, who, row.satisfaction, event.kind, event.note)


def user_id(server, username: str) -> int:
    with server.app.app_context():
        return db.session.scalar(select(User.id).where(User.username == username))


def toast(page: Page) -> Locator:
    return page.locator("#toasts .toast-success").last


# ---------------------------------------------------------------- where the card is shown


@dataclass
class Where:
    """The card shown in the drawer of the board or on its own page; `detail()` (re)opens it when a change
    took it away (Done closes the drawer when the card was the last of its list)."""
    page: Page
    server: object
    host: str
    card: int
    title: str

    def detail(self) -> Locator:
        detail = self.page.locator(f"#{self.host} #card-detail-{self.card}")
        if detail.count() == 0:
            self.open()
        return detail

    def open(self):
        if self.host == "card-page":
            self.page.goto(f"{self.server.url}/board/cards/{self.card}")
        else:
            if "/board/?" not in self.page.url:
                self.page.goto(f"{self.server.url}/board/?q={quote(self.title)}")
            self.page.locator(f"#card-{self.card} .card-link").click()
        expect(self.page.locator(f"#{self.host} #card-detail-{self.card}")).to_be_visible()


# ---------------------------------------------------------------- the buttons


@dataclass(frozen=True)
class Step:
    """One button: what the person does, the toast that answers it, and what the database holds after it."""
    name: str
    do: Callable[[Where], None]
    says: str
    holds: Callable[[Seen], bool]
    undo: bool = False                      # the toast offers to take it back


def move(column: str) -> Callable[[Where], None]:
    return lambda w: w.detail().get_by_role("button", name=f"→ {column}").click()


def comment(w: Where):
    detail = w.detail()
    detail.get_by_label("备注", exact=True).fill("已与客户电话确认")
    detail.get_by_role("button", name="添加备注").click()


def edit(w: Where):
    detail = w.detail()
    detail.get_by_text("✎ 编辑").click()
    detail.get_by_label("标题").fill(w.title + "（已改）")
    detail.get_by_role("button", name="保存", exact=True).click()


def done(w: Where):
    w.detail().get_by_role("button", name="标记完成").click()


def reopen(w: Where):
    w.detail().get_by_role("button", name="↺ 重新打开").click()


def outcome(w: Where):
    detail = w.detail()
    detail.get_by_label("已接通").check()
    detail.get_by_label("满意度（1–10）").select_option("9")
    detail.get_by_label("客户反馈").fill("客户满意")
    detail.get_by_role("button", name="标记完成").click()


def reassign_to(username: str) -> Callable[[Where], None]:
    def run(w: Where):
        detail = w.detail()
        detail.get_by_label("分派给").select_option(str(user_id(w.server, username)))
        detail.get_by_role("button", name="⇄ 转派").click()
    return run


def undo(w: Where):
    toast(w.page).get_by_role("button", name="撤销").click()


def opens(link: str, heading: str) -> Callable[[Where], None]:
    """A link of the detail to the card's own work (checklist, photos, complaint): it opens that page."""
    def run(w: Where):
        w.detail().get_by_role("link", name=link).click()
        expect(w.page.get_by_role("heading", name=heading).first).to_be_visible()
    return run


MOVE = Step("move", move("进行中"), "已移到进行中：", lambda s: s.column == "doing", undo=True)
COMMENT = Step("comment", comment, "备注已添加", lambda s: (s.event, s.note) == ("commented", "已与客户电话确认"))
EDIT = Step("edit", edit, "修改已保存", lambda s: s.title.endswith("（已改）"))
DONE = Step("done", done, "已完成：", lambda s: s.column == "done", undo=True)
UNDO_DONE = Step("undo", undo, "已撤销：", lambda s: (s.column, s.note) == ("doing", "已撤销"))
REOPEN = Step("reopen", reopen, "已重新打开：", lambda s: s.column != "done" and s.event == "reopened")
OUTCOME = Step("outcome", outcome, "回访结果已记录：", lambda s: (s.column, s.satisfaction) == ("done", 9))
REASSIGN = Step("reassign", reassign_to("sales2"), "已转派给陈晨：", lambda s: s.assignee == "sales2", undo=True)


def back_to(username: str) -> Step:
    return Step("undo reassign", undo, "已撤销：", lambda s: s.assignee == username and s.note == "已撤销")


# Each kind of card, as the person who works it: every button its detail has, in an order that reaches them
# all (Done before its undo and Reopen); a link to the card's own work comes last (it leaves the detail).
CASES = {
    "task": ("sales1", "试驾车预约确认", [MOVE, COMMENT, EDIT, DONE, UNDO_DONE, DONE, REOPEN], None),
    "task-supervisor": ("supervisor", "审核本周回访记录抽查",
                        [REASSIGN, back_to("supervisor"), EDIT, MOVE, DONE, UNDO_DONE], None),
    "callback": ("sales1", "交车3天回访：王先生", [MOVE, COMMENT, EDIT, OUTCOME], None),
    "inspection": ("sales1", "5S日检：展车", [MOVE, COMMENT, EDIT], ("打开检查表", "5S日检：展车")),
    "rectification": ("reception1", "限时整改：洗手间", [MOVE, COMMENT, EDIT], ("整改前后照片", "限时整改")),
    "complaint": ("supervisor", "保养等待时间过长", [COMMENT, REASSIGN, back_to("supervisor")],
                  ("打开投诉", "投诉处理单")),
}


@pytest.mark.parametrize("host", ["drawer", "card-page"])
@pytest.mark.parametrize("kind", list(CASES))
def test_every_button_of_a_cards_detail_does_what_it_says_and_answers(browser, live_server, shot, kind, host):
    username, title, steps, link = CASES[kind]
    page = browser.new_context(viewport=TABLET, locale="zh-CN").new_page()
    log_in(page, live_server, username)
    where = Where(page, live_server, host, card_id(live_server, title, username), title)
    where.open()
    detail = where.detail()
    # The buttons the detail offers are the ones walked here (a new button needs its step).
    offered = {"move": detail.locator(".move-buttons button").count() > 0,
               "done": detail.get_by_role("button", name="标记完成").count() > 0,
               "edit": detail.locator("details.edit-card").count() > 0,
               "reassign": detail.locator(".reassign-form").count() > 0}
    walked = {name: any(s.name == name or (name == "done" and s.name == "outcome") for s in steps)
              for name in offered}
    assert offered == walked, (offered, walked)
    for step in steps:
        step.do(where)
        said = toast(page)
        expect(said).to_contain_text(step.says)
        expect(said.get_by_role("button", name="撤销")).to_have_count(1 if step.undo else 0)
        state = seen(live_server, where.card)
        assert step.holds(state), (step.name, state)
    if link:
        opens(*link)(where)
    shot(page, f"actions-{kind}-{host}")
    page.context.close()


# ---------------------------------------------------------------- Done in the drawer moves on


def test_done_in_the_drawer_opens_the_next_card_of_the_list(page, live_server, shot):
    log_in(page, live_server, "sales1")                      # "My cards", most urgent first
    cards = page.locator(".mine-list > .mine-card")
    item = page.locator(".mine-card", has_text="试驾车预约确认")
    following = item.locator("xpath=following-sibling::li[1]")
    next_title = following.locator(".card-title").text_content()
    done_id = int(item.get_attribute("id").removeprefix("mine-card-"))
    before = cards.count()
    item.locator(".card-link").click()
    drawer = page.locator("#drawer")
    drawer.get_by_role("button", name="标记完成").click()
    expect(toast(page)).to_contain_text("已完成：试驾车预约确认")
    expect(drawer.get_by_role("heading", name=next_title)).to_be_visible()      # the next card, not a closed drawer
    expect(page.locator(f"#mine-card-{done_id}")).to_have_count(0)               # the done card left the list
    expect(cards).to_have_count(before - 1)
    assert seen(live_server, done_id).column == "done"
    shot(page, "done-moves-to-the-next-card-1024x768")


def test_done_on_the_last_card_of_its_list_closes_the_drawer(page, live_server):
    log_in(page, live_server, "sales1")
    card = card_id(live_server, "试驾车预约确认")
    page.goto(f"{live_server.url}/board/?q={quote('试驾车预约确认')}")          # the only card of its list
    page.locator(f"#card-{card} .card-link").click()
    page.locator("#drawer").get_by_role("button", name="标记完成").click()
    expect(toast(page)).to_contain_text("已完成：试驾车预约确认")
    expect(page.locator("#drawer")).to_be_empty()
    expect(page.locator(f"ol[data-column='done'] #card-{card}")).to_be_visible()   # the board shows it done
    assert seen(live_server, card).column == "done"


# ---------------------------------------------------------------- a drag




def test_a_drag_between_columns_is_answered_and_can_be_undone(page, live_server, shot):
    log_in(page, live_server, "sales1")
    card = card_id(live_server, "试驾车预约确认")
    page.goto(f"{live_server.url}/board/?q={quote('试驾车预约确认')}")
    lane = page.locator("section.lane", has=page.locator(f"#card-{card}"))          # the person's own lane
    target = lane.locator("ol[data-column='waiting']")
    with page.expect_response(lambda r: r.url.endswith("/board/drop")) as answer:
        drag(page, page.locator(f"#card-{card}"), target)
    assert answer.value.status == 200
    said = toast(page)
    expect(said).to_contain_text("已移到待确认：试驾车预约确认")
    expect(target.locator(f"#card-{card}")).to_be_visible()
    assert seen(live_server, card).column == "waiting"
    said.get_by_role("button", name="撤销").click()
    expect(toast(page)).to_contain_text("已撤销：试驾车预约确认")
    expect(lane.locator(f"ol[data-column='todo'] #card-{card}")).to_be_visible()
    assert seen(live_server, card).column == "todo"
    shot(page, "drag-undone-1024x768")


# ---------------------------------------------------------------- a rectification's and a complaint's steps


def test_each_step_of_a_rectification_is_answered(browser, live_server, shot, tmp_path):
    photo = tmp_path / "after.jpg"
    photo.write_bytes(jpeg(size=(640, 480), color=(60, 170, 90)))
    card = card_id(live_server, "限时整改：洗手间", "reception1")
    title = seen(live_server, card).title
    fixer = browser.new_context(viewport=TABLET, locale="zh-CN").new_page()
    log_in(fixer, live_server, "reception1")
    fixer.goto(f"{live_server.url}/checklist/rectifications/{card}")
    fixer.get_by_label("整改后的照片").set_input_files(str(photo))
    fixer.get_by_role("button", name="上传照片").click()
    expect(toast(fixer)).to_contain_text("整改后的照片已上传")
    fixer.get_by_label("整改情况").fill("已清洁")
    fixer.get_by_role("button", name="已整改：提交验收").click()
    expect(toast(fixer)).to_contain_text(f"已提交验收：{title}")
    assert seen(live_server, card).column == "waiting"

    boss = browser.new_context(viewport=TABLET, locale="zh-CN").new_page()
    log_in(boss, live_server, "supervisor")
    boss.goto(f"{live_server.url}/checklist/rectifications/{card}")
    boss.get_by_label("还有什么问题").fill("地面仍有水渍")
    boss.get_by_role("button", name="↩ 退回").click()
    expect(toast(boss)).to_contain_text(f"已退回重新整改：{title}")
    assert seen(live_server, card).column != "waiting"
    fixer.reload()
    fixer.get_by_role("button", name="已整改：提交验收").click()
    expect(toast(fixer)).to_contain_text(f"已提交验收：{title}")
    boss.reload()
    boss.get_by_role("button", name="✓ 验收通过：完成").click()
    expect(toast(boss)).to_contain_text(f"验收通过：{title}")
    assert seen(live_server, card).column == "done"
    shot(boss, "rectification-verified-toast-1024x768")
    for page in (fixer, boss):
        page.context.close()


def test_each_step_of_a_complaint_is_answered(page, live_server, shot):
    log_in(page, live_server, "supervisor")
    with live_server.app.app_context():
        complaint = db.session.scalar(select(Complaint).where(Complaint.status == "received")
                                      .order_by(Complaint.id))
        number = complaint.id
    page.goto(f"{live_server.url}/complaints/{number}")

    def status() -> str:
        with live_server.app.app_context():
            return db.session.get(Complaint, number).status

    for label, says, now in [("→ 已响应", "已响应", "responded"), ("→ 已转责任部门", "已转责任部门", "handed_off")]:
        page.get_by_role("button", name=label).click()
        expect(toast(page)).to_contain_text(f"投诉 #{number}：{says}")
        assert status() == now
    page.get_by_label("处理方案").fill("免费补做一次保养")
    page.get_by_role("button", name="→ 已提出方案").click()
    expect(toast(page)).to_contain_text(f"投诉 #{number}：已提出方案")
    page.locator(".step-form button[type=submit]").click()
    expect(toast(page)).to_contain_text(f"投诉 #{number}：")
    assert status() == "resolved"
    page.get_by_label("仍不满意：重新处理").check()
    page.get_by_role("button", name="记录二次回访").click()
    expect(toast(page)).to_contain_text(f"投诉 #{number} 已重新打开")
    assert status() == "handed_off"
    page.get_by_text("修改本环节期限").click()
    page.get_by_label("新的期限").fill("2100-01-01T10:00")
    page.get_by_role("button", name="保存", exact=True).click()
    expect(toast(page)).to_contain_text(f"投诉 #{number}：期限已改为")
    with live_server.app.app_context():
        assert db.session.get(Complaint, number).deadline_override is not None
    shot(page, "complaint-step-toast-1024x768")


# ---------------------------------------------------------------- a 5S tap the server fails on


def test_a_5s_tap_the_server_fails_on_says_so_not_network(browser, live_server, shot):
    with live_server.app.app_context():
        run = db.session.scalar(select(ChecklistRun).where(ChecklistRun.area_name == "洽谈区",
                                                           ChecklistRun.status == "open"))
        who = board.get_card(db.session, run.card_id).assignee.username
        run_id = run.id

    def fail_the_save():                  # the server fails on this request: its 500, answered by its error handler
        if request.method == "POST" and "/answers/" in request.path:
            abort(500)

    hooks = live_server.app.before_request_funcs.setdefault(None, [])
    page = browser.new_context(viewport=TABLET, locale="zh-CN").new_page()
    log_in(page, live_server, who)
    page.goto(f"{live_server.url}/checklist/runs/{run_id}")
    item = page.locator(".run-item").nth(0)
    hooks.append(fail_the_save)
    try:
        item.locator("label.tri-na").click()
        expect(item.get_by_text("未保存：服务器出错。")).to_be_visible()
        expect(item.get_by_text("未保存：网络连接失败。")).to_be_hidden()
        expect(page.locator("#toasts .toast-error")).to_contain_text("出错")
    finally:
        hooks.remove(fail_the_save)
    item.locator("[data-retry]").click()
    expect(page.locator(".run-item").nth(0)).to_have_class("run-item result-na")
    with live_server.app.app_context():
        assert db.session.scalar(select(RunAnswer.result).where(RunAnswer.run_id == run_id)
                                 .order_by(RunAnswer.position)) == "na"
    page.context.close()


# ---------------------------------------------------------------- without JavaScript


def test_without_javascript_the_answer_and_its_undo_work(browser, live_server, shot):
    """A plain form post: the page the 303 leads to shows the toast; its undo and its × are a form and a link."""
    page = browser.new_context(viewport=TABLET, locale="zh-CN", java_script_enabled=False).new_page()
    log_in(page, live_server, "sales1")
    card = card_id(live_server, "试驾车预约确认", "sales1")
    page.goto(f"{live_server.url}/board/cards/{card}")
    page.get_by_role("button", name="→ 待确认").click()
    said = toast(page)
    expect(said).to_contain_text("已移到待确认：试驾车预约确认")
    assert seen(live_server, card).column == "waiting"
    shot(page, "no-js-toast-with-undo-1024x768")
    said.get_by_role("button", name="撤销").click()
    expect(toast(page)).to_contain_text("已撤销：试驾车预约确认")
    state = seen(live_server, card)
    assert (state.column, state.note) == ("todo", "已撤销")
    toast(page).get_by_role("button", name="关闭").click()              # a link back to the page, without the toast
    expect(page.locator("#toasts .toast")).to_have_count(0)
    expect(page).to_have_url(f"{live_server.url}/board/cards/{card}")
    page.context.close()
