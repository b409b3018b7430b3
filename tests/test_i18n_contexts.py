"""One English word, two meanings, two messages (issue 17, item 7): "Open" the button (打开) is not "Open"
the state of a complaint (未关闭), "Done" the button (完成) is not the column or status (已完成), a queued
import is "Waiting" in its own sense (排队中). Flask-Babel's pgettext picks the meaning by its context."""
from __future__ import annotations

from flask_babel import force_locale, gettext, pgettext

from careboard.models import Column
from careboard.models.imports import JobStatus


def test_the_chinese_catalog_tells_the_button_from_the_state(app):
    with app.test_request_context(), force_locale("zh_CN"):
        assert pgettext("button", "Open") == "打开" and pgettext("state", "Open") == "未关闭"
        assert gettext("Open") == "打开"                       # a button written without a context yet
        assert gettext("Done") == "完成" and pgettext("state", "Done") == "已完成"
        assert str(Column.DONE.label) == "已完成" and str(JobStatus.DONE.label) == "已完成"
        assert str(JobStatus.QUEUED.label) == "排队中" and str(Column.WAITING.label) == "待确认"
        assert str(JobStatus.FAILED.label) == "失败" and gettext("Failed") == "不合格"     # a 5S item failed
        assert pgettext("page", "Start") == "首页" and gettext("Start") == "开始"
    with app.test_request_context(), force_locale("en"):
        assert pgettext("button", "Open") == pgettext("state", "Open") == "Open"


def test_the_kpi_templates_list_opens_and_the_complaints_filter_is_a_state(client, auth, people):
    auth.login("director")
    templates = client.get("/scorecard/templates").get_data(as_text=True)
    assert ">打开</a>" in templates and "未关闭" not in templates
    complaints = client.get("/complaints/").get_data(as_text=True)
    option = complaints.split('<option value="open"', 1)[1].split("</option>", 1)[0]
    assert option.endswith(">未关闭")
