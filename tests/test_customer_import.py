"""The DMS import: reading CSV/XLSX exports, every kind of bad row, all or nothing, re-imports, the CLI
and the upload -> report -> confirm pages."""
from __future__ import annotations

import codecs
import io
import re
from datetime import date, datetime, timedelta
from pathlib import Path

import openpyxl
import pytest
from sqlalchemy import func, select

from careboard.extensions import db
from careboard.models import Customer, ImportJob, Sale, ServiceVisit, Vehicle
from careboard.services import customer_import
from careboard.services.customer_import import apply_import, parse_date, plan_import
from careboard.services.customers import create_customer, save_vehicle
from careboard.services.errors import FieldError, ImportRefused

pytestmark = pytest.mark.usefixtures("english")      # messages in English (the msgids)

ZH = ["客户姓名", "手机号", "生日", "车牌号", "车架号", "车型", "交车日期", "质保到期日", "保险到期日", "年检到期日",
      "首保到期日", "进站日期", "工单号", "维修项目"]
EN = ["Name", "Mobile", "Birthday", "Plate", "VIN", "Model", "Delivery Date", "warranty_end", "insurance_expiry",
      "next_inspection", "first_maintenance_due", "visit_date", "work_order", "visit_description"]


def vin(n: int) -> str:
    return f"LSVAU2180N{n:07d}"


def mobile(n: int) -> str:
    return f"1380013{n:04d}"


def row(n: int, *, name: str | None = None, phone: str | None = None, birthday="1985-03-12", plate=None,
        vin_=None, model="明锐 1.5L", delivered="2026-11-01", warranty="2029/11/01", insurance="2027.10.31",
        inspection="20281101", first_maintenance="2027年5月1日", visited="", work_order="", items="") -> list:
    return [name if name is not None else f"客户{n}", phone if phone is not None else mobile(n), birthday,
            plate if plate is not None else f"沪AD{n:04d}", vin_ if vin_ is not None else vin(n), model, delivered,
            warranty, insurance, inspection, first_maintenance, visited, work_order, items]


def write_csv(folder: Path, rows: list[list], *, header=ZH, encoding="utf-8", name="export.csv") -> Path:
    buffer = io.StringIO()
    import csv
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(rows)
    path = folder / name
    path.write_bytes(buffer.getvalue().encode(encoding))
    return path


def write_xlsx(folder: Path, rows: list[list], *, header=EN, name="export.xlsx") -> Path:
    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet("export")
    sheet.append(header)
    for values in rows:
        sheet.append(values)
    path = folder / name
    book.save(path)
    return path


def counts(session) -> dict[str, int]:
    session.expire_all()
    return {model.__name__: session.scalar(select(func.count()).select_from(model))
            for model in (Customer, Vehicle, Sale, ServiceVisit)}


NOTHING = {"Customer": 0, "Vehicle": 0, "Sale": 0, "ServiceVisit": 0}


def refused(session, path) -> customer_import.ImportReport:
    """Both the dry run and the import refuse the file, and nothing is written, even after a commit."""
    before = counts(session)
    plan = plan_import(session, path)
    with pytest.raises(ImportRefused) as caught:
        apply_import(session, path)
    session.commit()                                    # a careless caller commits: still nothing
    assert counts(session) == before
    assert [(e.line, e.field) for e in plan.errors] == [(e.line, e.field) for e in caught.value.report.errors]
    return caught.value.report


# ---------------------------------------------------------------- good files


def test_gbk_csv_with_chinese_headers_is_imported(session, folder):
    rows = [row(1, name="王伟", phone="+86 138-0013-0001", plate="沪A·D0001", visited="2026/1/5", work_order="WO-1",
                items="首次保养"),
            row(2, name="李娜", birthday="")]
    path = write_csv(folder, rows, encoding="gbk")
    report = apply_import(session, path)
    session.commit()
    assert report.ok and report.applied
    assert (report.rows, report.customers_created, report.vehicles_created, report.sales_created,
            report.visits_created) == (2, 2, 2, 2, 1)
    assert counts(session) == {"Customer": 2, "Vehicle": 2, "Sale": 2, "ServiceVisit": 1}
    wang = session.scalar(select(Customer).where(Customer.mobile == "13800130001"))
    assert (wang.name, wang.birthday) == ("王伟", date(1985, 3, 12))
    car = session.scalar(select(Vehicle).where(Vehicle.customer_id == wang.id))
    assert (car.vin, car.plate, car.model) == (vin(1), "沪AD0001", "明锐 1.5L")
    assert (car.delivery_date, car.warranty_end, car.insurance_expiry, car.next_inspection,
            car.first_maintenance_due, car.last_service_visit) == (
        date(2026, 11, 1), date(2029, 11, 1), date(2027, 10, 31), date(2028, 11, 1), date(2027, 5, 1), date(2026, 1, 5))
    visit = session.scalar(select(ServiceVisit))
    assert (visit.work_order, visit.description, visit.vehicle_id) == ("WO-1", "首次保养", car.id)
    assert session.scalar(select(Customer.birthday).where(Customer.name == "李娜")) is None


def test_utf8_csv_with_bom_and_english_headers(session, folder):
    path = write_csv(folder, [row(1)], header=EN, encoding="utf-8-sig")
    assert path.read_bytes().startswith(codecs.BOM_UTF8)
    report = apply_import(session, path)
    session.commit()
    assert report.ok and report.customers_created == 1
    assert session.scalar(select(Customer.name)) == "客户1"


def test_headers_are_matched_without_spaces_and_case(session, folder):
    header = [" 客户 姓名 ", "PHONE", "车 牌", "vin", "Delivery_Date"]
    path = write_csv(folder, [["张三", mobile(1), "沪AD0001", vin(1), "2026-11-25"]], header=header)
    report = apply_import(session, path)
    assert report.ok and report.sales_created == 1


def test_tab_separated_export(session, folder):
    path = folder / "export.csv"
    path.write_text("客户姓名\t手机号\t车架号\n张三\t13800130001\t" + vin(1) + "\n", encoding="utf-8")
    report = apply_import(session, path)
    assert report.ok and report.customers_created == report.vehicles_created == 1


def test_xlsx_with_english_headers_and_excel_date_cells(session, folder):
    rows = [row(1, delivered=datetime(2026, 11, 25, 0, 0), warranty=date(2029, 11, 25), birthday=datetime(1990, 1, 2),
                visited=datetime(2026, 12, 1, 9, 30), work_order=12345, phone=13800130001),
            row(2, delivered=date(2025, 6, 30), inspection=None, insurance=None)]
    path = write_xlsx(folder, rows)
    report = apply_import(session, path)
    session.commit()
    assert report.ok, report.errors
    assert counts(session) == {"Customer": 2, "Vehicle": 2, "Sale": 2, "ServiceVisit": 1}
    car = session.scalar(select(Vehicle).where(Vehicle.vin == vin(1)))
    assert (car.delivery_date, car.warranty_end, car.last_service_visit) == (
        date(2026, 11, 25), date(2029, 11, 25), date(2026, 12, 1))
    assert session.scalar(select(Customer.birthday).where(Customer.mobile == mobile(1))) == date(1990, 1, 2)
    assert session.scalar(select(ServiceVisit.work_order)) == "12345"         # a number cell, as text
    other = session.scalar(select(Vehicle).where(Vehicle.vin == vin(2)))
    assert (other.insurance_expiry, other.next_inspection) == (None, None)


def test_several_vehicles_per_customer_and_several_visits_per_vehicle(session, folder):
    rows = [row(1, visited="2026-01-05", work_order="A1", items="保养"),
            row(1, visited="2026-06-05", work_order="A2", items="换胎"),
            row(1, vin_=vin(9), plate="沪AD0009", visited="2026-02-01"),
            row(1, vin_=vin(9), plate="沪AD0009", visited="2026-03-01")]
    report = apply_import(session, write_csv(folder, rows))
    session.commit()
    assert report.ok, report.errors
    assert counts(session) == {"Customer": 1, "Vehicle": 2, "Sale": 2, "ServiceVisit": 4}
    first = session.scalar(select(Vehicle).where(Vehicle.vin == vin(1)))
    assert first.last_service_visit == date(2026, 6, 5)


def test_rows_of_one_work_order_add_their_repair_items(session, folder):
    rows = [row(1, visited="2026-01-05", work_order="A1", items="更换机油"),
            row(1, visited="2026-01-05", work_order="A1", items="轮胎换位")]
    assert apply_import(session, write_csv(folder, rows)).visits_created == 1
    assert session.scalar(select(ServiceVisit.description)) == "更换机油；轮胎换位"


def test_reimport_creates_nothing_new(session, folder):
    rows = [row(1, visited="2026-01-05", work_order="A1"), row(1, vin_=vin(9), plate="沪AD0009", visited="2026-02-01"),
            row(2, phone="", visited="2026-03-01"), row(3, vin_="", plate="沪AD0003")]
    path = write_csv(folder, rows)
    first = apply_import(session, path)
    session.commit()
    after_first = counts(session)
    assert after_first == {"Customer": 3, "Vehicle": 4, "Sale": 4, "ServiceVisit": 3}
    again = apply_import(session, path)
    session.commit()
    assert counts(session) == after_first
    assert first.changed_rows == 4 and again.changed_rows == 0 and again.preview == []
    assert (again.customers_created, again.customers_updated, again.vehicles_created, again.vehicles_updated,
            again.sales_created, again.visits_created) == (0, 0, 0, 0, 0, 0)


def test_a_later_export_updates_and_blank_cells_keep_values(session, folder):
    apply_import(session, write_csv(folder, [row(1)]))
    session.commit()
    changed = [row(1, name="客户一", birthday="", insurance="2028-10-31", warranty="", model="")]
    report = apply_import(session, write_csv(folder, changed, name="later.csv"))
    session.commit()
    assert (report.customers_updated, report.vehicles_updated, report.customers_created) == (1, 1, 0)
    customer = session.scalar(select(Customer))
    car = session.scalar(select(Vehicle))
    assert (customer.name, customer.birthday) == ("客户一", date(1985, 3, 12))
    assert (car.insurance_expiry, car.warranty_end, car.model) == (date(2028, 10, 31), date(2029, 11, 1), "明锐 1.5L")
    assert [(p.customer_change, p.vehicle_change) for p in report.preview] == [("updated", "updated")]


def test_dry_run_writes_nothing_and_previews_the_rows(session, folder):
    path = write_csv(folder, [row(n) for n in range(1, 61)])
    report = plan_import(session, path)
    session.commit()
    assert counts(session) == NOTHING
    assert report.ok and not report.applied
    assert (report.rows, report.customers_created, report.changed_rows) == (60, 60, 60)
    assert len(report.preview) == customer_import.PREVIEW_ROWS
    assert (report.preview[0].line, report.preview[0].customer_change, report.preview[0].sale) == (
        2, "new", date(2026, 11, 1))


# ---------------------------------------------------------------- bad rows and bad files


@pytest.mark.parametrize("bad,field,fragment", [
    (row(3, name=""), "name", "needs a name"),
    (row(3, phone="12345"), "mobile", "not a mainland mobile"),
    (row(3, delivered="2026-13-01"), "delivery_date", "not a date"),
    (row(3, warranty="25/11/2026"), "warranty_end", "not a date"),
    (row(3, warranty="0001-01-01"), "warranty_end", "between 1900-01-01 and 2100-12-31"),
    (row(3, insurance="2101年1月1日"), "insurance_expiry", "between 1900-01-01 and 2100-12-31"),
    (row(3, visited="tomorrow", work_order="W1"), "visit_date", "not a date"),
    (row(3, vin_="LSVAU2180N212345O"), "vin", "not a VIN"),
    (row(3, plate="ABC", vin_=""), "plate", "not a licence plate"),
    (row(3, plate="", vin_=""), "vin", "needs a VIN or a licence plate"),
    (row(3, work_order="W1"), "visit_date", "no visit date"),
    (row(3, delivered="2099-01-01"), "delivery_date", "more than a year ahead"),
    (row(3, birthday="2099-01-01"), "birthday", "in the future"),
    (row(2, visited="2026-01-02", work_order="W9"), "row", "Duplicate of line 2"),
    (row(3, vin_=vin(2), plate="沪AD0002"), "mobile", "line 2"),
    (row(2, name="别人"), "name", "line 2"),
    (row(3, visited="2026-01-01", work_order="W9") + ["stray"], "row", "no header"),
])
def test_a_bad_row_is_reported_with_its_line_and_nothing_is_written(session, folder, bad, field, fragment):
    rows = [row(2, visited="2026-01-02", work_order="W9"), bad, row(4)]
    report = refused(session, write_csv(folder, rows))
    assert [(e.line, e.field) for e in report.errors] == [(3, field)]
    assert fragment in report.errors[0].message
    assert report.rows == 3


def test_every_bad_row_is_reported_not_only_the_first(session, folder):
    rows = [row(1, phone="123"), row(2), row(3, delivered="someday", name=""), row(2)]
    report = refused(session, write_csv(folder, rows))
    assert sorted((e.line, e.field) for e in report.errors) == [
        (2, "mobile"), (4, "delivery_date"), (4, "name"), (5, "row")]


def test_an_excel_export_reports_excel_line_numbers(session, folder):
    path = write_xlsx(folder, [row(1), [None] * 14, row(2, phone="999")])
    report = refused(session, path)
    assert [(e.line, e.field) for e in report.errors] == [(4, "mobile")]
    assert report.rows == 2                              # the blank row is skipped


@pytest.mark.parametrize("header,fields", [
    (ZH[:5] + ["颜色"], {"颜色"}),
    (["手机号", "车架号"], {"name"}),
    (["客户姓名", "手机号", "车型"], {"vin"}),
    (["客户姓名", "手机", "联系电话", "车架号"], {"联系电话"}),
])
def test_a_bad_header_is_reported_at_line_1(session, folder, header, fields):
    path = write_csv(folder, [["张三", mobile(1), vin(1), "x", "y", "z"][:len(header)]], header=header)
    report = refused(session, path)
    assert {e.field for e in report.errors} == fields
    assert {e.line for e in report.errors} == {1}


def test_a_vehicle_of_another_customer_in_careboard_is_refused(session, folder):
    owner = create_customer(session, name="车主", mobile=mobile(50))
    save_vehicle(session, owner, None, vin=vin(1), plate=None)
    session.commit()
    report = refused(session, write_csv(folder, [row(1)]))
    assert [(e.line, e.field) for e in report.errors] == [(2, "mobile")]
    assert "车主" in report.errors[0].message


def test_a_work_order_of_another_vehicle_in_careboard_is_refused(session, folder):
    apply_import(session, write_csv(folder, [row(1, visited="2026-01-05", work_order="W1")]))
    session.commit()
    report = refused(session, write_csv(folder, [row(2, visited="2026-01-05", work_order="W1")], name="b.csv"))
    assert [(e.line, e.field) for e in report.errors] == [(2, "work_order")]


@pytest.mark.parametrize("content,name,line,fragment", [
    ("客户姓名,车架号\n张三,{vin}\n".encode("utf-16"), "export.csv", None, "UTF-16"),
    ("客户姓名,车架号\n张三,{vin}\n".encode("utf-16-le"), "export.csv", None, "UTF-16"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "export.csv", None, "not a text file"),
    ("客户姓名,车架号\n张三,{vin}\n".encode() + b"\xff\xfe\x80,x\n", "export.csv", 3, "neither UTF-8 nor GBK"),
    (b"", "export.csv", None, "empty"),
    (b"  \r\n", "export.csv", None, "empty"),
    ("客户姓名,车架号\n".encode(), "export.csv", None, "no data rows"),
    ("客户姓名,车架号\n张三,{vin}\n".encode(), "export.txt", None, "Only CSV and XLSX"),
    ("客户姓名,车架号\n张三,{vin}\n".encode(), "export.xlsx", None, "not an Excel workbook"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(100), "export.xlsx", None, ".xls"),
    (b"PK\x03\x04 not really a zip", "export.xlsx", None, "not an Excel workbook"),
])
def test_a_file_that_is_not_a_readable_export_is_refused(session, folder, content, name, line, fragment):
    path = folder / name
    path.write_bytes(content.replace(b"{vin}", vin(1).encode()))
    report = refused(session, path)
    assert [(e.line, e.field) for e in report.errors] == [(line, "file")]
    assert fragment in report.errors[0].message


def test_a_file_with_too_many_rows_is_refused(app, session, folder):
    app.config["IMPORT_MAX_ROWS"] = 2
    report = refused(session, write_csv(folder, [row(1), row(2), row(3)]))
    assert [(e.line, e.field) for e in report.errors] == [(4, "file")]


def test_an_excel_date_cell_out_of_range_is_a_row_error(session, folder):
    path = write_xlsx(folder, [row(1), row(2, warranty=datetime(9999, 12, 31)), row(3, birthday=date(2101, 1, 1))])
    report = refused(session, path)
    assert [(e.line, e.field) for e in report.errors] == [(3, "warranty_end"), (4, "birthday")]
    assert all("between 1900-01-01 and 2100-12-31" in e.message for e in report.errors)


def test_an_empty_workbook_is_refused(session, folder):
    path = write_xlsx(folder, [], header=[])
    assert refused(session, path).errors[0].field == "file"


@pytest.mark.parametrize("text,expected", [
    ("2026-11-25", date(2026, 11, 25)), ("2026/11/25", date(2026, 11, 25)), ("2026.11.25", date(2026, 11, 25)),
    ("20261125", date(2026, 11, 25)), ("2026年11月25日", date(2026, 11, 25)), ("2026/1/5", date(2026, 1, 5)),
    ("2026-11-25 10:30:00", date(2026, 11, 25)), (datetime(2026, 11, 25, 8, 0), date(2026, 11, 25)),
    (date(2026, 11, 25), date(2026, 11, 25)), (20261125, date(2026, 11, 25)), ("", None), (None, None),
])
def test_date_formats(app, text, expected):
    assert parse_date(text, "delivery_date") == expected


@pytest.mark.parametrize("text", ["25/11/2026", "2026-02-30", "2026-11/25", "11-25", "昨天", "2026-11-25x", "46000"])
def test_dates_that_are_refused(app, text):
    with pytest.raises(FieldError) as caught:
        parse_date(text, "warranty_end")
    assert caught.value.field == "warranty_end"


# ---------------------------------------------------------------- the command


def test_cli_dry_run_writes_nothing(app, session, folder):
    path = write_csv(folder, [row(1), row(2)])
    result = app.test_cli_runner().invoke(args=["import", str(path), "--dry-run"])
    assert result.exit_code == 0, result.output
    assert counts(session) == NOTHING
    assert "line 2:" in result.output and "line 3:" in result.output


def test_cli_dry_run_lists_every_error(app, session, folder):
    path = write_csv(folder, [row(1, phone="555"), row(2), row(3, delivered="soon")])
    result = app.test_cli_runner().invoke(args=["import", str(path), "--dry-run"])
    assert result.exit_code == 1
    assert re.search(r"^line 2: mobile: .*555", result.output, re.MULTILINE)
    assert re.search(r"^line 4: delivery_date: .*soon", result.output, re.MULTILINE)
    assert counts(session) == NOTHING


def test_cli_import_writes_and_refuses_a_bad_file_whole(app, session, folder):
    runner = app.test_cli_runner()
    assert runner.invoke(args=["import", str(write_csv(folder, [row(1)]))]).exit_code == 0
    assert counts(session)["Customer"] == 1
    bad = write_csv(folder, [row(2), row(3, name="")], name="bad.csv")
    result = runner.invoke(args=["import", str(bad)])
    assert result.exit_code == 1 and "line 3: name:" in result.output
    assert counts(session)["Customer"] == 1


# ---------------------------------------------------------------- the pages


@pytest.fixture
def app_config(app_config):
    """The import runs inside the upload's request here (services/import_jobs.py: run_job, tested alone in
    tests/test_customer_import_jobs.py together with the real thread)."""
    return type("ImportInline", (app_config,), {"IMPORT_IN_BACKGROUND": False})


@pytest.fixture
def uploads(app, tmp_path) -> Path:
    """The app's instance folder in tmp_path: uploads never land in the real instance/."""
    app.instance_path = str(tmp_path / "instance")
    return tmp_path / "instance" / "imports"


@pytest.fixture
def supervisor(client, auth, people, session):
    people["supervisor"].language = "en"
    session.commit()
    auth.login("supervisor")
    return client


def upload(client, content: bytes, filename: str):
    return client.post("/customers/import", data={"file": (io.BytesIO(content), filename)},
                       content_type="multipart/form-data")


def checked(client, content: bytes, filename: str = "export.csv") -> tuple[str, str]:
    """Upload a file; (its token, the job page once the check ran)."""
    response = upload(client, content, filename)
    assert response.status_code == 303, response.get_data(as_text=True)
    token = re.fullmatch(r"/customers/import/([0-9a-f]{32})", response.headers["Location"]).group(1)
    page = client.get(response.headers["Location"])
    assert page.status_code == 200
    return token, page.get_data(as_text=True)


def files_in(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_upload_report_confirm(supervisor, uploads, session, folder):
    page = supervisor.get("/customers/import")
    assert page.status_code == 200 and 'type="file"' in page.get_data(as_text=True)
    content = write_csv(folder, [row(1), row(2, visited="2026-01-05")], encoding="gbk").read_bytes()
    token, html = checked(supervisor, content, "导出.csv")
    assert f'action="/customers/import/{token}"' in html
    assert files_in(uploads) == [f"{token}.csv"]
    assert "Confirm import" in html and "客户1" in html and "导出.csv" in html
    assert counts(session) == NOTHING

    done = supervisor.post(f"/customers/import/{token}")
    assert done.status_code == 303 and done.headers["Location"] == f"/customers/import/{token}"
    assert counts(session) == {"Customer": 2, "Vehicle": 2, "Sale": 2, "ServiceVisit": 1}
    assert files_in(uploads) == []
    result = supervisor.get(f"/customers/import/{token}").get_data(as_text=True)
    assert "Imported: 2 new" in result and "What changed" in result and "Confirm import" not in result
    assert "导出.csv" in supervisor.get("/customers/import").get_data(as_text=True)      # in the recent imports

    twice = supervisor.post(f"/customers/import/{token}", follow_redirects=True)
    assert "not waiting any more" in twice.get_data(as_text=True)
    assert counts(session)["Customer"] == 2


def test_a_bad_upload_shows_every_error_and_keeps_nothing(supervisor, uploads, session, folder):
    content = write_csv(folder, [row(1, phone="12"), row(2), row(3, delivered="x")]).read_bytes()
    _token, html = checked(supervisor, content)
    errors = re.search(r'<table class="table stacked" id="import-errors">(.*?)</table>', html, re.DOTALL).group(1)
    assert re.findall(r'<tr><td data-label="Line">(\d+)</td>', errors) == ["2", "4"]
    assert "Confirm import" not in html
    assert files_in(uploads) == [] and counts(session) == NOTHING


@pytest.mark.parametrize("filename", ["export.txt", "../export.csv", "..\\..\\export.csv", "export"])
def test_an_upload_with_a_wrong_name_is_refused_and_not_kept(supervisor, uploads, folder, filename):
    content = write_csv(folder, [row(1)]).read_bytes()
    response = upload(supervisor, content, filename)
    assert response.status_code == 422
    assert 'class="error"' in response.get_data(as_text=True)
    assert files_in(uploads) == []
    assert not (uploads.parent.parent / "export.csv").exists()


def test_an_upload_without_a_file_is_refused(supervisor, uploads):
    response = supervisor.post("/customers/import", data={}, content_type="multipart/form-data")
    assert response.status_code == 422 and files_in(uploads) == []


@pytest.mark.parametrize("token", ["0" * 32, "zz" * 16, "abc", "0" * 31 + "G"])
def test_an_unknown_or_malformed_token_is_not_found(supervisor, uploads, token):
    assert supervisor.get(f"/customers/import/{token}").status_code == 404
    assert supervisor.post(f"/customers/import/{token}").status_code == 404


def test_an_expired_upload_cannot_be_confirmed(supervisor, uploads, session, folder):
    token, _html = checked(supervisor, write_csv(folder, [row(1)]).read_bytes())
    job = session.scalar(select(ImportJob).where(ImportJob.token == token))
    job.finished_at -= timedelta(days=1, minutes=1)                     # checked more than a day ago
    session.commit()
    page = supervisor.get(f"/customers/import/{token}").get_data(as_text=True)
    assert "Confirm import" not in page and "no longer waiting" in page
    response = supervisor.post(f"/customers/import/{token}", follow_redirects=True)
    assert "not waiting any more" in response.get_data(as_text=True)
    assert counts(session) == NOTHING


def test_a_confirmation_refused_by_changes_since_the_dry_run(supervisor, uploads, session, folder):
    token, _html = checked(supervisor, write_csv(folder, [row(1)]).read_bytes())
    owner = create_customer(session, name="车主", mobile=mobile(50))
    save_vehicle(session, owner, None, vin=vin(1), plate=None)
    session.commit()
    response = supervisor.post(f"/customers/import/{token}", follow_redirects=True)
    html = response.get_data(as_text=True)
    assert "This file cannot be imported" in html and "车主" in html
    assert counts(session)["Customer"] == 1 and files_in(uploads) == []


def test_staff_may_not_import(client, auth, people, uploads, session, folder):
    auth.login("sales1")
    content = write_csv(folder, [row(1)]).read_bytes()
    assert client.get("/customers/import").status_code == 403
    assert upload(client, content, "export.csv").status_code == 403
    assert client.get(f"/customers/import/{'0' * 32}").status_code == 403
    assert client.post(f"/customers/import/{'0' * 32}").status_code == 403
    assert files_in(uploads) == [] and counts(session) == NOTHING


def test_anonymous_is_sent_to_log_in(client, uploads):
    response = client.get("/customers/import")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


@pytest.fixture
def csrf_client(app_config, tmp_path):
    from careboard import create_app
    app = create_app(type("WithCsrf", (app_config,), {"WTF_CSRF_ENABLED": True}))
    app.instance_path = str(tmp_path / "instance")
    with app.app_context():
        yield app.test_client()


def test_an_upload_without_the_csrf_token_is_refused(csrf_client, people, session, tmp_path, folder):
    page = csrf_client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', page).group(1)
    from tests.factories import PASSWORD
    assert csrf_client.post("/login", data={"username": "supervisor", "password": PASSWORD,
                                            "csrf_token": token}).status_code == 303
    content = write_csv(folder, [row(1)]).read_bytes()
    response = upload(csrf_client, content, "export.csv")
    assert response.status_code == 400
    assert files_in(tmp_path / "instance" / "imports") == []
    form = csrf_client.get("/customers/import").get_data(as_text=True)
    form_token = re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', form).group(1)
    accepted = csrf_client.post("/customers/import", data={"file": (io.BytesIO(content), "export.csv"),
                                                           "csrf_token": form_token},
                                content_type="multipart/form-data")
    assert accepted.status_code == 303
    job_token = accepted.headers["Location"].rsplit("/", 1)[1]
    assert csrf_client.post(f"/customers/import/{job_token}").status_code == 400      # the confirmation too
    assert counts(db.session) == NOTHING
