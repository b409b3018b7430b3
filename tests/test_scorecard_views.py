"""The scorecard pages: who sees what (each denial), the breakdown and its JSON, the entries (a judged value
out of range refused, nothing stored), finalize and reopen, the HR export, and the director's what-if."""
from __future__ import annotations

import io
import json
from datetime import UTC

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from careboard.models import KpiEntry, KpiMonth, KpiTemplate, Level, Role
from careboard.services.kpi_templates import default_template
from tests.factories import make_user

MONTH = "2026-10"


def test_staff_see_only_their_own(client, auth, people):
    auth.login("sales1")
    ranking = client.get(f"/scorecard/?month={MONTH}")
    assert ranking.status_code == 303 and ranking.headers["Location"].endswith(f"/scorecard/sales1/{MONTH}")
    own = client.get(f"/scorecard/sales1/{MONTH}")
    assert own.status_code == 200 and "成交客户回访完成率" in own.get_data(as_text=True)
    assert "<svg" in own.get_data(as_text=True)
    assert client.get(f"/scorecard/sales2/{MONTH}").status_code == 403
    assert client.get(f"/scorecard/sales2/{MONTH}.json").status_code == 403
    assert client.get(f"/scorecard/sales2/{MONTH}/measures/sales_callback").status_code == 403
    for url in (f"/scorecard/entries/{MONTH}/sales1", f"/scorecard/months/{MONTH}/export.xlsx",
                "/scorecard/templates", "/scorecard/templates/sales_care"):
        assert client.get(url).status_code == 403, url
    for url in (f"/scorecard/months/{MONTH}/finalize", f"/scorecard/months/{MONTH}/reopen",
                f"/scorecard/entries/{MONTH}/sales1", "/scorecard/templates/sales_care"):
        assert client.post(url, data={"reason": "x"}).status_code == 403, url
    assert client.get(f"/scorecard/nobody/{MONTH}").status_code == 404
    assert client.get("/scorecard/sales1/2026-13").status_code == 404


def test_supervisors_see_everyone_enter_figures_but_do_not_finalize(client, auth, people, session):
    auth.login("supervisor")
    page = client.get(f"/scorecard/?month={MONTH}").get_data(as_text=True)
    assert all(name in page for name in ("Sales1", "Sales2", "Supervisor", "Director"))
    assert client.get(f"/scorecard/sales2/{MONTH}").status_code == 200
    assert client.post(f"/scorecard/months/{MONTH}/finalize").status_code == 403
    assert client.get("/scorecard/templates").status_code == 403
    assert client.get(f"/scorecard/entries/{MONTH}/sales2").status_code == 200
    assert client.get(f"/scorecard/entries/{MONTH}/supervisor").status_code == 403      # not one's own
    auth.logout()
    auth.login("director")                            # the supervisor's figures come from the level above
    form = client.get(f"/scorecard/entries/{MONTH}/supervisor").get_data(as_text=True)
    assert 'name="m-improvement-band"' in form and 'name="m-insurance-renewal"' in form
    assert 'name="m-complaint_closure"' not in form                                # measured, not entered
    saved = client.post(f"/scorecard/entries/{MONTH}/supervisor", data={
        "m-insurance-renewal": "90", "m-insurance-new_insurance": "50", "m-care_activities-band": "good",
        "m-care_activities-value": "8", "m-sales-sales_completion": "100", "m-sales-referral": "30",
        "m-satisfaction": "10", "m-improvement-band": "some", "m-improvement-value": "7"})
    assert saved.status_code == 303
    data = client.get(f"/scorecard/supervisor/{MONTH}.json").get_json()
    scores = {m["code"]: m["score_rounded"] for m in data["metrics"]}
    assert scores["insurance"] == 8.2 and scores["sales"] == 16.5 and scores["satisfaction"] == 27.5
    assert data["total"] == 8.2 + 8 + 16.5 + 27.5 + 10 + 7                        # no complaints: closure 100%
    assert len(data["trend"]) == 12 and data["measures"]["complaint_closure"]["total"] == 0


def test_a_judged_value_out_of_its_band_is_refused_and_nothing_changes(client, auth, people, session):
    auth.login("director")
    client.post(f"/scorecard/entries/{MONTH}/supervisor", data={"m-satisfaction": "10"})
    before = session.scalar(select(func.count(KpiEntry.id)))
    refused = client.post(f"/scorecard/entries/{MONTH}/supervisor", data={
        "m-satisfaction": "40", "m-improvement-band": "clear", "m-improvement-value": "7"})
    html = refused.get_data(as_text=True)
    assert refused.status_code == 422 and "进步明显" in html and "10" in html
    session.expire_all()
    assert session.scalar(select(func.count(KpiEntry.id))) == before
    assert session.scalar(select(KpiEntry.value).where(KpiEntry.metric == "satisfaction")) == 10
    bad = client.post(f"/scorecard/entries/{MONTH}/supervisor", data={"m-satisfaction": "很好"})
    assert bad.status_code == 422 and "很好" in bad.get_data(as_text=True)


def test_the_director_finalizes_and_reopens_with_a_reason(client, auth, people, session):
    auth.login("director")
    assert client.post(f"/scorecard/months/{MONTH}/finalize", data={"note": ""}).status_code == 303
    session.expire_all()
    assert session.scalar(select(KpiMonth.status).where(KpiMonth.month == MONTH)) == "finalized"
    page = client.get(f"/scorecard/?month={MONTH}").get_data(as_text=True)
    assert "已定稿" in page and "重新开放" in page
    auth.logout()
    auth.login("supervisor")
    locked = client.post(f"/scorecard/entries/{MONTH}/sales1", data={"m-archiving": "80"})
    assert locked.status_code == 422 and session.scalar(select(func.count(KpiEntry.id))) == 0
    auth.logout()
    auth.login("director")
    no_reason = client.post(f"/scorecard/months/{MONTH}/reopen", data={"reason": ""})
    assert no_reason.status_code == 303
    session.expire_all()
    assert session.scalar(select(KpiMonth.status).where(KpiMonth.month == MONTH)) == "finalized"
    client.post(f"/scorecard/months/{MONTH}/reopen", data={"reason": "更正满意度"})
    session.expire_all()
    assert session.scalar(select(KpiMonth.status).where(KpiMonth.month == MONTH)) == "open"
    assert "更正满意度" in client.get(f"/scorecard/?month={MONTH}").get_data(as_text=True)


def test_the_hr_export(client, auth, people):
    auth.login("supervisor")
    response = client.get(f"/scorecard/months/{MONTH}/export.xlsx")
    assert response.status_code == 200 and "scorecard-2026-10.xlsx" in response.headers["Content-Disposition"]
    book = load_workbook(io.BytesIO(response.data), read_only=True)
    ranking = list(book.worksheets[0].iter_rows(values_only=True))
    assert ranking[0][:2] == ("排名", "姓名") and len(ranking) == 1 + 4            # 4 people with templates
    assert {row[2] for row in ranking[1:]} == {"director", "supervisor", "sales1", "sales2"}
    assert len(book.worksheets) == 1 + 3                                           # a sheet per role


def test_the_cards_behind_a_measured_figure(client, auth, people, session):
    from datetime import datetime

    from tests.factories import make_card
    due = datetime(2026, 10, 9, 15, 59, tzinfo=UTC)
    mine = make_card(session, assignee=people["sales1"], kind="callback", title="交车3天回访：王先生", due_at=due)
    session.commit()
    auth.login("sales1")
    page = client.get(f"/scorecard/sales1/{MONTH}").get_data(as_text=True)
    assert f"/scorecard/sales1/{MONTH}/measures/sales_callback" in page and "0 / 1" in page
    behind = client.get(f"/scorecard/sales1/{MONTH}/measures/sales_callback").get_data(as_text=True)
    assert "交车3天回访：王先生" in behind and f"/board/cards/{mine.id}" in behind
    assert client.get(f"/scorecard/sales1/{MONTH}/measures/archiving").status_code == 404


def test_the_director_tries_a_template_before_saving_it(client, auth, people, session):
    auth.login("director")
    assert "保险业务" in client.get("/scorecard/templates/cs_supervisor").get_data(as_text=True)
    template = default_template("cs_supervisor")
    tried = client.post("/scorecard/templates/cs_supervisor", data={
        "definition": json.dumps(template, ensure_ascii=False), "action": "try",
        "m-insurance-renewal": "90", "m-insurance-new_insurance": "50", "m-care_activities-band": "good",
        "m-care_activities-value": "8", "m-sales-sales_completion": "100", "m-sales-referral": "30",
        "m-satisfaction": "10", "m-complaint_closure": "95", "m-improvement-band": "some",
        "m-improvement-value": "7"})
    assert tried.status_code == 200 and "76.7" in tried.get_data(as_text=True)
    assert session.scalar(select(func.count(KpiTemplate.id))) == 0                # trying saves nothing
    template["metrics"][0]["points"] = 15
    refused = client.post("/scorecard/templates/cs_supervisor", data={
        "definition": json.dumps(template, ensure_ascii=False), "action": "save"})
    assert refused.status_code == 422 and "95" in refused.get_data(as_text=True)
    broken = client.post("/scorecard/templates/cs_supervisor", data={"definition": "{", "action": "save"})
    assert broken.status_code == 422 and "JSON" in broken.get_data(as_text=True)
    session.expire_all()
    assert session.scalar(select(func.count(KpiTemplate.id))) == 0
    template["metrics"][0]["points"] = 20
    template["name"] = "客服主管考核（新）"
    assert client.post("/scorecard/templates/cs_supervisor", data={
        "definition": json.dumps(template, ensure_ascii=False), "action": "save"}).status_code == 303
    session.expire_all()
    assert session.scalar(select(KpiTemplate.definition)).get("name") == "客服主管考核（新）"
    assert client.get("/scorecard/templates/no_such_role").status_code == 404


@pytest.mark.parametrize("username", ["supervisor", "director"])
def test_the_ranking_page(client, auth, people, username):
    auth.login(username)
    page = client.get(f"/scorecard/?month={MONTH}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert ("定稿 2026-10" in html) == (username == "director")


def test_a_role_without_a_template_gets_a_page_that_says_so_not_a_404(client, auth, people, session):
    make_user(session, "service1", role=Role.AFTERSALES_SERVICE, level=Level.STAFF)
    session.commit()
    auth.login("service1")
    own = client.get(f"/scorecard/service1/{MONTH}")
    assert own.status_code == 200
    page = own.get_data(as_text=True)
    assert 'id="no-template"' in page and "没有考核模板" in page
    assert "/scorecard/templates" not in page                      # staff may not edit templates: no link
    assert client.get(f"/scorecard/sales1/{MONTH}").status_code == 403     # still only one's own
    auth.logout()
    auth.login("director")
    page = client.get(f"/scorecard/service1/{MONTH}").get_data(as_text=True)
    assert 'id="no-template"' in page and 'href="/scorecard/templates"' in page
