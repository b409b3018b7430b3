"""Importing customers, vehicles, sales and service visits from a dealer system's export (CSV or XLSX).

One row is one vehicle of one customer, with optionally its delivery (a sale) and a service visit.
The customer is the one with the row's mobile number, the vehicle the one with its VIN (else its
plate); a sale is identified by (vehicle, delivery date), a visit by its work order or (vehicle, day),
so importing the same file again changes nothing. A blank cell leaves the stored value as it is.

All or nothing: the rows are applied inside a SAVEPOINT and every bad row is collected with its line
(line 1 is the header row). `plan_import` always rolls the savepoint back (the dry run);
`apply_import` keeps it only when no row was refused, and the caller commits.

Before the work, the file is held to the limits of the app config (IMPORT_MAX_ROWS, IMPORT_MAX_COLUMNS,
IMPORT_MAX_CELL_CHARS, and for an XLSX IMPORT_MAX_UNCOMPRESSED_BYTES and IMPORT_MAX_RATIO): see
services/import_limits.py, which also refuses a CSV whose text is not plausible Chinese in UTF-8 or GBK.
The file is streamed (CSV through `csv.reader`, XLSX through openpyxl's read-only mode): each row is
checked as it is read, then applied with the rows of its chunk (CHUNK_ROWS) through the validation and
the `new_*` / `assign_*` helpers of `services.customers`, with two flushes per chunk; the duplicate
checks are answered from ids and keys kept for the whole file (never ORM objects). Timings:
bench/import_bench.py and bench/README.md.

Longer than 500 lines because the import is one transaction with one set of duplicate checks: reading,
the row checks and the chunked writes share the ids and keys kept for the whole file, and splitting them
would hand that state between modules. The bounds checked before any parsing are apart, in import_limits.py.
"""
from __future__ import annotations

import codecs
import contextlib
import csv
import hashlib
import json
import re
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from pathlib import Path
from xml.etree.ElementTree import ParseError

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
import openpyxl
from openpyxl.utils.exceptions import InvalidFileException
from sqlalchemy import event, select
from sqlalchemy.orm import Session, scoped_session

from careboard import dates
from careboard.models import Customer, Sale, ServiceVisit, User, Vehicle
from careboard.services.errors import FieldError, ImportRefused
from careboard.services.import_limits import (SAMPLE_BYTES, ImportLimits, Unreadable, bounded_lines, bounded_records,
                                              check_workbook, misdecoded, too_many_rows)
from careboard.services.customers import (assign_customer, assign_vehicle, check_birthday, check_dates, format_plate,
                                          new_customer, new_sale, new_vehicle, new_visit, normalize_mobile,
                                          normalize_plate, normalize_vin, record_sale, record_visit, require_name)

PREVIEW_ROWS = 50            # planned rows shown by a dry run
SAMPLE_ROWS = 5              # data rows shown as read (after the header), so a wrong encoding shows at once
SAMPLE_COLUMNS = 16
SAMPLE_CHARS = 40
CHUNK_ROWS = 500             # checked rows applied together, after loading what they refer to at once
PROGRESS_ROWS = 250          # the progress callback is called every that many rows

# Field -> the headers that mean it. Matched without spaces, "_" and "-", English case-insensitively.
FIELDS: dict[str, tuple[str, ...]] = {
    "name": ("客户姓名", "姓名", "客户名称", "name"),
    "mobile": ("手机", "手机号", "手机号码", "联系电话", "mobile", "phone"),
    "birthday": ("生日", "出生日期", "birthday"),
    "plate": ("车牌号", "车牌", "plate"),
    "vin": ("VIN", "车架号", "底盘号"),
    "model": ("车型", "model"),
    "delivery_date": ("交车日期", "销售日期", "delivery_date"),
    "warranty_end": ("质保到期日", "保修到期日", "warranty_end"),
    "insurance_expiry": ("保险到期日", "商业险到期日", "insurance_expiry"),
    "next_inspection": ("年检到期日", "下次年检", "next_inspection"),
    "first_maintenance_due": ("首保到期日", "first_maintenance_due"),
    "visit_date": ("进站日期", "维修日期", "visit_date"),
    "work_order": ("工单号", "work_order"),
    "visit_description": ("维修项目", "visit_description"),
}
FIELD_LABELS = {
    "name": _l("Name"), "mobile": _l("Mobile"), "birthday": _l("Birthday"), "plate": _l("Plate"),
    "vin": _l("VIN"), "model": _l("Model"), "delivery_date": _l("Delivery date"),
    "warranty_end": _l("Warranty end"), "insurance_expiry": _l("Insurance expiry"),
    "next_inspection": _l("Next inspection"), "first_maintenance_due": _l("First maintenance due"),
    "visit_date": _l("Visit date"), "work_order": _l("Work order"), "visit_description": _l("Repair items"),
}
DATE_FIELDS = ("birthday", "delivery_date", "warranty_end", "insurance_expiry", "next_inspection",
               "first_maintenance_due", "visit_date")
REMINDER_DATES = ("warranty_end", "insurance_expiry", "next_inspection", "first_maintenance_due")

# 2026-11-25, 2026/1/5, 2026.11.25 (one separator throughout), 2026年11月25日, 20261125; a time may follow.
DATE_TEXT = re.compile(r"^(?:(\d{4})([-/.])(\d{1,2})\2(\d{1,2})|(\d{4})年(\d{1,2})月(\d{1,2})日?|(\d{4})(\d{2})(\d{2}))"
                       r"(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?$")

NEW, UPDATED, UNCHANGED = "new", "updated", "unchanged"
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")       # never in a text export
BINARY = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x19\x1b-\x1f]")   # \x1a: a DOS end of file, harmless


def header_key(text: object) -> str:
    return re.sub(r"[\s_\-\ufeff]+", "", str(text)).casefold()


ALIASES = {header_key(alias): name for name, aliases in FIELDS.items() for alias in aliases}


# ---------------------------------------------------------------- the report


@dataclass(frozen=True)
class RowError:
    line: int | None        # 1 = the header row; None = the file as a whole
    field: str              # a field of FIELDS, a header as written in the file, "row" or "file"
    message: str


@dataclass(frozen=True)
class PlannedRow:
    """What one row does: NEW / UPDATED / UNCHANGED customer and vehicle, the dates of a new sale and visit."""

    line: int
    name: str
    mobile: str
    vehicle: str
    customer_change: str
    vehicle_change: str
    sale: date | None
    visit: date | None


@dataclass
class ImportReport:
    rows: int = 0                               # data rows read (blank rows are skipped)
    changed_rows: int = 0                       # rows that create or change something
    customers_created: int = 0
    customers_updated: int = 0
    vehicles_created: int = 0
    vehicles_updated: int = 0
    sales_created: int = 0
    visits_created: int = 0
    errors: list[RowError] = field(default_factory=list)
    preview: list[PlannedRow] = field(default_factory=list)     # the first PREVIEW_ROWS changed rows
    headers: dict[str, str] = field(default_factory=dict)       # field -> its header in the file
    sample: list[tuple[int, list[str]]] = field(default_factory=list)   # the header and first rows, as read
    applied: bool = False

    @property
    def ok(self) -> bool:
        return not self.errors

    def column(self, error: RowError) -> str:
        """The error's column as the file names it (or the field's label, "whole row", "file")."""
        if error.field in self.headers:
            return self.headers[error.field]
        if error.field in FIELD_LABELS:
            return str(FIELD_LABELS[error.field])
        return {"row": _("whole row"), "file": _("file")}.get(error.field, error.field)

    def summary(self) -> list[str]:
        return [
            _("Rows: %(rows)d, of which %(changed)d create or change something", rows=self.rows,
              changed=self.changed_rows),
            _("Customers: %(created)d new, %(updated)d updated", created=self.customers_created,
              updated=self.customers_updated),
            _("Vehicles: %(created)d new, %(updated)d updated", created=self.vehicles_created,
              updated=self.vehicles_updated),
            _("Sales: %(created)d new", created=self.sales_created),
            _("Service visits: %(created)d new", created=self.visits_created),
            _("Errors: %(errors)d", errors=len(self.errors)),
        ]

    def to_json(self) -> str:
        """The report as JSON text (kept with its import job); messages as written, in the uploader's language."""
        return json.dumps({
            "rows": self.rows, "changed_rows": self.changed_rows, "customers_created": self.customers_created,
            "customers_updated": self.customers_updated, "vehicles_created": self.vehicles_created,
            "vehicles_updated": self.vehicles_updated, "sales_created": self.sales_created,
            "visits_created": self.visits_created, "applied": self.applied, "headers": self.headers,
            "errors": [[e.line, e.field, e.message] for e in self.errors],
            "preview": [[r.line, r.name, r.mobile, r.vehicle, r.customer_change, r.vehicle_change,
                         r.sale.isoformat() if r.sale else None, r.visit.isoformat() if r.visit else None]
                        for r in self.preview],
            "sample": [[line, cells] for line, cells in self.sample],
        }, ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> ImportReport:
        data = json.loads(text)
        day = lambda value: date.fromisoformat(value) if value else None      # noqa: E731
        return cls(rows=data["rows"], changed_rows=data["changed_rows"], customers_created=data["customers_created"],
                   customers_updated=data["customers_updated"], vehicles_created=data["vehicles_created"],
                   vehicles_updated=data["vehicles_updated"], sales_created=data["sales_created"],
                   visits_created=data["visits_created"], applied=data["applied"], headers=data["headers"],
                   errors=[RowError(*error) for error in data["errors"]],
                   preview=[PlannedRow(line, name, mobile, vehicle, customer, change, day(sale), day(visit))
                            for line, name, mobile, vehicle, customer, change, sale, visit in data["preview"]],
                   sample=[(line, cells) for line, cells in data["sample"]])


# ---------------------------------------------------------------- use cases


Progress = Callable[[int, int], object]      # (rows read so far, lines of the file as estimated)


def plan_import(session: Session, path: str | Path, *, limits: ImportLimits | None = None,
                progress: Progress | None = None) -> ImportReport:
    """The dry run: every row applied inside a savepoint that is then rolled back. Writes nothing.
    `limits`: the app's (ImportLimits.current()) when not given; `progress` is called every PROGRESS_ROWS."""
    savepoint = session.begin_nested()
    try:
        return _run(session, Path(path), limits or ImportLimits.current(), progress)
    finally:
        savepoint.rollback()


def apply_import(session: Session, path: str | Path, *, limits: ImportLimits | None = None,
                 progress: Progress | None = None) -> ImportReport:
    """Import the file; ImportRefused (and nothing written) when any row is bad. The caller commits."""
    savepoint = session.begin_nested()
    try:
        report = _run(session, Path(path), limits or ImportLimits.current(), progress)
    except BaseException:
        savepoint.rollback()
        raise
    if not report.ok:
        savepoint.rollback()
        raise ImportRefused(report)
    savepoint.commit()
    report.applied = True
    return report


def cli_import(session: Session, path: str | Path, *, dry_run: bool, echo: Callable[[str], object]) -> bool:
    """`flask import`: the summary, the planned rows of a dry run, every error. False when refused."""
    try:
        report = plan_import(session, path) if dry_run else apply_import(session, path)
    except ImportRefused as refused:
        report = refused.report
    for line in report.summary():
        echo(line)
    if dry_run and report.ok:
        for row in report.preview:
            echo(describe(row))
        if report.changed_rows > len(report.preview):
            echo(_("… and %(more)d more rows", more=report.changed_rows - len(report.preview)))
    for error in report.errors:                  # "line N: field: message", the same in every language
        echo(f"{'file' if error.line is None else f'line {error.line}'}: {error.field}: {error.message}")
    if not report.ok:
        echo(_("Refused: nothing was imported."))
    elif dry_run:
        echo(_("Dry run: nothing was written."))
    else:
        echo(_("Imported."))
    return report.ok


def describe(row: PlannedRow) -> str:
    changes = {NEW: _("new"), UPDATED: _("updated"), UNCHANGED: _("unchanged")}
    text = _("line %(line)d: customer %(name)s %(mobile)s (%(customer)s), vehicle %(vehicle)s (%(change)s)",
             line=row.line, name=row.name, mobile=row.mobile, customer=changes[row.customer_change],
             vehicle=row.vehicle, change=changes[row.vehicle_change])
    if row.sale:
        text += "; " + _("new sale %(day)s", day=row.sale.isoformat())
    if row.visit:
        text += "; " + _("new visit %(day)s", day=row.visit.isoformat())
    return text


# ---------------------------------------------------------------- reading the file


class Export:
    """An opened export: its records (line, cells), the header first, and how many lines it has (an
    estimate for CSV: its line breaks; for XLSX: the first sheet's last row number)."""

    def __init__(self, records: Iterator[tuple[int, tuple]], lines: int):
        self.records, self.lines = records, lines


def read_records(path: Path, limits: ImportLimits | None = None) -> Export:
    """The file's records, bounded by the limits. Unreadable when it is not an export or goes past them."""
    limits = limits or ImportLimits.current()
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".xlsx"):
        raise Unreadable(_("Only CSV and XLSX files can be imported."))
    with path.open("rb") as fh:
        head = fh.read(65536)
    if not head.strip():
        raise Unreadable(_("The file is empty."))
    if head.startswith(b"PK\x03\x04"):
        shape = check_workbook(path, limits)            # before openpyxl opens it
        return Export(bounded_records(_xlsx_records(path, limits), limits), shape.lines)
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        raise Unreadable(_("This is an old Excel file (.xls). Save it as .xlsx or as CSV UTF-8 and try again."))
    if suffix == ".xlsx":
        raise Unreadable(_("This is not an Excel workbook (.xlsx)."))
    encoding = _text_encoding(path, head)
    return Export(bounded_records(_csv_records(path, encoding, limits), limits), _count_lines(path))


def _count_lines(path: Path) -> int:
    with path.open("rb") as fh:
        return sum(chunk.count(b"\n") for chunk in iter(lambda: fh.read(1 << 20), b""))


def _text_encoding(path: Path, head: bytes) -> str:
    if _looks_utf16(head):
        raise Unreadable(_("The file is UTF-16 text (Excel's “Unicode text”). Save it as CSV UTF-8 or as .xlsx."))
    if BINARY.search(head):
        raise Unreadable(_("This is not a text file, so not a CSV export."))
    # Decoded a MiB at a time (never a whole line: a line may be the whole file); both encodings keep "\n"
    # as a byte of its own, so the line of a bad byte is the line breaks before it, plus one.
    failed_at = {}
    for encoding in ("utf-8", "gb18030"):
        decoder = codecs.getincrementaldecoder(encoding)()
        number = 1
        with path.open("rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):      # noqa: B023 - fh of this very loop
                try:
                    decoder.decode(chunk)
                except UnicodeDecodeError as error:
                    failed_at[encoding] = number + chunk.count(b"\n", 0, max(error.start, 0))
                    break
                number += chunk.count(b"\n")
            else:
                try:
                    decoder.decode(b"", final=True)
                except UnicodeDecodeError:
                    failed_at[encoding] = number
                    continue
                if encoding == "gb18030":
                    _check_chinese(path)
                return "utf-8-sig" if encoding == "utf-8" else encoding
    raise Unreadable(_("This line has bytes that are neither UTF-8 nor GBK/GB18030. Save the file as CSV UTF-8 "
                       "and try again."), line=max(failed_at.values()))


def _check_chinese(path: Path) -> None:
    """GB18030 decodes almost any bytes: refuse a file whose text would be another encoding's gibberish."""
    with path.open("rb") as fh:
        raw = fh.read(SAMPLE_BYTES)
    if len(raw) == SAMPLE_BYTES:
        raw = raw[:raw.rfind(b"\n") + 1] or raw
    if misdecoded(raw):
        lines = raw.decode("gb18030", errors="replace").splitlines()[:SAMPLE_ROWS + 1]
        raise Unreadable(_("The text of this file does not read as Chinese in UTF-8 or GBK: it is probably in "
                           "another encoding (such as Shift-JIS, Big5 or EUC-KR). Save it as CSV UTF-8 (or GBK) "
                           "and try again."),
                         sample=[(number, [line[:SAMPLE_CHARS * 2]]) for number, line in enumerate(lines, 1)])


def _looks_utf16(head: bytes) -> bool:
    """A BOM, or zero bytes that decode as UTF-16 text without control characters (ASCII in UTF-16)."""
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return True
    if b"\x00" not in head:
        return False
    even = head[:len(head) // 2 * 2]
    for encoding in ("utf-16-le", "utf-16-be"):
        text = even.decode(encoding, errors="replace")
        if "\ufffd" not in text[:-1] and not CONTROL.search(text):
            return True
    return False


def _csv_records(path: Path, encoding: str, limits: ImportLimits) -> Iterator[tuple[int, tuple]]:
    with path.open(encoding=encoding, newline="") as fh:
        first = fh.readline(limits.max_columns * (limits.max_cell_chars + 3) + 2)
        delimiter = max(",\t;", key=first.count)
        fh.seek(0)
        reader = csv.reader(bounded_lines(fh, limits), delimiter=delimiter)
        number = 0
        try:
            for number, row in enumerate(reader, 1):
                yield number, tuple(row)
        except csv.Error as error:
            raise Unreadable(_("The CSV cannot be read here: %(reason)s", reason=str(error)), line=number + 1) \
                from None


def _xlsx_records(path: Path, limits: ImportLimits) -> Iterator[tuple[int, tuple]]:
    """The first sheet's rows. check_workbook has bounded its rows, columns and texts beforehand."""

    not_a_workbook = _("This is not an Excel workbook (.xlsx) that can be read.")
    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, ParseError, OSError, ValueError, TypeError,
            AttributeError):                 # openpyxl's descriptors refuse a malformed part with these
        raise Unreadable(not_a_workbook) from None
    try:
        sheet = book.worksheets[0]
        sheet.reset_dimensions()                 # some programs write a wrong size: read every row
        yield from enumerate(sheet.iter_rows(min_row=1, values_only=True), 1)
    except (zipfile.BadZipFile, KeyError, ParseError, ValueError, TypeError):
        raise Unreadable(not_a_workbook) from None
    finally:
        book.close()


def cell_text(value: object) -> str | None:
    """A cell as stripped text; None when blank. 13800138000.0 (a number that went through Excel) -> '13800138000'."""
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    elif isinstance(value, datetime):
        value = value.date() if value.time() == datetime.min.time() else value
    text = str(value).strip()
    return text or None


def blank(cells: tuple) -> bool:
    return all(cell_text(c) is None for c in cells)


def parse_date(value: object, name: str) -> date | None:
    """A date cell or text in one of the formats DMS exports use, in 1900–2100 (careboard.dates); None when
    blank; FieldError otherwise (an Excel date cell too: 9999-12-31 is a date, but not one to keep)."""
    if isinstance(value, datetime):
        day = value.date()
    elif isinstance(value, date):
        day = value
    else:
        text = cell_text(value)
        if text is None:
            return None
        match = DATE_TEXT.match(text)
        try:
            if match is None:
                raise ValueError(text)
            day = date(*(int(g) for g in match.groups() if g is not None and g.isdigit()))
        except ValueError:
            raise FieldError(name, _("%(value)s is not a date; write it as 2026-11-25.", value=text)) from None
    if not dates.in_range(day):
        raise FieldError(name, str(dates.OUT_OF_RANGE))
    return day


# ---------------------------------------------------------------- checking rows


def map_header(cells: tuple) -> tuple[dict[int, str], dict[str, str], list[RowError]]:
    """(column index -> field, field -> header text, errors at line 1)."""
    columns: dict[int, str] = {}
    headers: dict[str, str] = {}
    errors = []
    for index, cell in enumerate(cells):
        text = cell_text(cell)
        if text is None:
            continue
        name = ALIASES.get(header_key(text))
        if name is None:
            errors.append(RowError(1, text, _("Unknown column “%(header)s”. The columns this import understands "
                                              "are listed on the import page.", header=text)))
        elif name in headers:
            errors.append(RowError(1, text, _("The columns “%(first)s” and “%(second)s” mean the same; keep one.",
                                              first=headers[name], second=text)))
        else:
            columns[index] = name
            headers[name] = text
    if "name" not in headers:
        errors.append(RowError(1, "name", _("The customer's name column is missing (客户姓名, 姓名, 客户名称 or "
                                            "name).")))
    if "vin" not in headers and "plate" not in headers:
        errors.append(RowError(1, "vin", _("A VIN or a plate column is needed (VIN, 车架号, 底盘号, 车牌号, 车牌 "
                                           "or plate).")))
    return columns, headers, errors


def _text_up_to(limit: int, message: str) -> Callable[[object, str], str | None]:
    def parse(value: object, name: str) -> str | None:
        text = cell_text(value)
        if text is not None and len(text) > limit:
            raise FieldError(name, str(message))
        return text
    return parse


PARSERS: dict[str, Callable[[object, str], object]] = {
    "name": lambda value, _name: require_name(cell_text(value)),
    "mobile": lambda value, _name: normalize_mobile(cell_text(value)),
    "vin": lambda value, _name: normalize_vin(cell_text(value)),
    "plate": lambda value, _name: normalize_plate(cell_text(value)),
    "model": _text_up_to(80, _l("The model is too long (at most 80 characters).")),
    "work_order": _text_up_to(40, _l("The work order is too long (at most 40 characters).")),
    "visit_description": _text_up_to(2000, _l("The repair items are too long (at most 2000 characters).")),
    **dict.fromkeys(DATE_FIELDS, parse_date),
}


def parse_row(raw: dict[str, object]) -> tuple[dict[str, object], list[tuple[str, str]]]:
    """The row's values, cleaned with the checks of services.customers, and every (field, message) refused."""
    values: dict[str, object] = {}
    problems = []
    for name, parse in PARSERS.items():
        try:
            values[name] = parse(raw.get(name), name)
        except FieldError as error:
            problems.append((error.field, str(error)))
    refused = {name for name, _message in problems}
    if not values.get("vin") and not values.get("plate") and not refused & {"vin", "plate"}:
        problems.append(("vin", _("A vehicle needs a VIN or a licence plate.")))
    if (values.get("work_order") or values.get("visit_description")) and not values.get("visit_date") \
            and "visit_date" not in refused:
        problems.append(("visit_date", _("The row has a work order or repair items but no visit date.")))
    try:
        check_birthday(values.get("birthday"))
    except FieldError as error:
        problems.append((error.field, str(error)))
    if values.get("delivery_date") and values["delivery_date"] > date.today():
        try:
            check_dates(Vehicle(delivery_date=values["delivery_date"]))       # a transient vehicle, never added
        except FieldError as error:
            problems.append((error.field, str(error)))
    return values, problems


class FileChecks:
    """What one file must not contain twice: the same row, one vehicle with two owners (or plates), one
    mobile number with two names (or birthdays), one work order for two visits. Keeps keys and line
    numbers only."""

    def __init__(self):
        self.rows: dict[bytes, int] = {}
        self.facts: dict[tuple, tuple[object, int]] = {}       # (key, fact) -> (first value, its line)

    def repeated(self, line: int, texts: tuple) -> int | None:
        """The line this row (its cells as text) repeats exactly, if any."""
        digest = hashlib.blake2b(repr(texts).encode(), digest_size=16).digest()
        first = self.rows.get(digest)
        if first is None:
            self.rows[digest] = line
        return first

    def conflicts(self, line: int, v: dict) -> list[tuple[str, str]]:
        problems = []
        vehicle = ("vin", v["vin"]) if v["vin"] else ("plate", v["plate"])
        self._same(problems, line, vehicle, "mobile", v["mobile"], lambda other, first: _(
            "Conflicts with line %(line)d: the same vehicle has the mobile number %(other)s there.",
            line=first, other=other))
        if v["vin"]:
            self._same(problems, line, vehicle, "plate", v["plate"], lambda other, first: _(
                "Conflicts with line %(line)d: the same VIN has the plate %(other)s there.",
                line=first, other=format_plate(other)))
        if v["mobile"]:
            customer = ("mobile", v["mobile"])
            self._same(problems, line, customer, "name", v["name"], lambda other, first: _(
                "Conflicts with line %(line)d: the same mobile number belongs to %(other)s there.",
                line=first, other=other))
            self._same(problems, line, customer, "birthday", v["birthday"], lambda other, first: _(
                "Conflicts with line %(line)d: the same customer has the birthday %(other)s there.",
                line=first, other=other.isoformat()))
        if v["work_order"]:
            self._same(problems, line, ("work_order", v["work_order"]), "work_order",
                       (vehicle, v["visit_date"]), lambda _other, first: _(
                           "Conflicts with line %(line)d: the same work order is for another vehicle or day there.",
                           line=first))
        return problems

    def _same(self, problems: list, line: int, key: tuple, fact: str, value: object, message) -> None:
        if value is None:
            return
        first_value, first_line = self.facts.setdefault((key, fact), (value, line))
        if first_value != value:
            problems.append((fact, message(first_value, first_line)))


# ---------------------------------------------------------------- applying rows


def _run(session: Session, path: Path, limits: ImportLimits, progress: Progress | None) -> ImportReport:
    report = ImportReport()
    try:
        export = read_records(path, limits)
        if progress is not None:
            progress(0, export.lines)
        with contextlib.closing(export.records) as records:
            _read_and_apply(session, report, _sampled(report, records), limits,
                            lambda rows: progress(rows, export.lines) if progress is not None else None)
    except Unreadable as error:
        report.errors.append(RowError(error.line, "file", str(error)))
        report.sample = report.sample or error.sample
    if report.rows == 0 and report.ok:
        report.errors.append(RowError(None, "file", _("The file has a header row but no data rows.")))
    report.errors.sort(key=lambda e: e.line or 0)             # stable: a row's errors keep their order
    return report


def _sampled(report: ImportReport, records: Iterator[tuple[int, tuple]]) -> Iterator[tuple[int, tuple]]:
    """The records, the header and first SAMPLE_ROWS rows kept in the report as text, as they were read."""
    for line, cells in records:
        if len(report.sample) <= SAMPLE_ROWS and not blank(cells):
            report.sample.append((line, [(cell_text(c) or "")[:SAMPLE_CHARS] for c in cells[:SAMPLE_COLUMNS]]))
        yield line, cells


def _read_and_apply(session: Session, report: ImportReport, records: Iterator[tuple[int, tuple]],
                    limits: ImportLimits, progress: Callable[[int], object]) -> None:
    header = next(records, None)
    if header is None or blank(header[1]) and all(blank(cells) for _line, cells in records):
        raise Unreadable(_("The file is empty."))
    columns, report.headers, header_errors = map_header(header[1])
    if header_errors:
        report.errors.extend(header_errors)
        return
    importer = Importer(session, report, columns)
    try:
        for line, cells in records:
            texts = tuple(cell_text(c) for c in cells)
            if not any(texts):
                continue
            report.rows += 1
            if report.rows > limits.max_rows:
                raise too_many_rows(limits, line)
            importer.row(line, cells, texts)
            if report.rows % PROGRESS_ROWS == 0:
                progress(report.rows)
        importer.finish()
    finally:
        importer.close()


class Importer:
    """Checks each row as it is read, then applies them a chunk at a time with services.customers.

    Per chunk, what its rows refer to is loaded in a few queries (vehicles, customers, known sales and
    visits), so a row that changes nothing costs no query. The chunk is then applied in two passes that
    each end in one flush: customers and vehicles (a new vehicle is linked to its customer through the
    relationship, so neither needs an id yet), then sales and visits (which need the vehicles' ids).
    The values are checked and the objects made by the `new_*` / `assign_*` helpers of services.customers;
    the duplicate checks that its use cases run per row are answered from what the import keeps: the
    mobile and VIN dicts, the sales and visits known for the chunk's vehicles and work orders. A vehicle
    whose sales and visits were not loaded (found by its plate) goes through record_sale / record_visit."""

    def __init__(self, session: Session, report: ImportReport, columns: dict[int, str]):
        self.session, self.report, self.columns = session, report, columns
        self.checks = FileChecks()
        self.chunk: list[tuple[int, dict]] = []
        # Identities preloaded once (ids only), then kept up to date with what the file creates.
        self.customer_ids: dict[str, int] = dict(session.execute(
            select(Customer.mobile, Customer.id).where(Customer.mobile.is_not(None))).all())
        self.vehicle_ids: dict[str, int] = dict(session.execute(
            select(Vehicle.vin, Vehicle.id).where(Vehicle.vin.is_not(None))).all())
        self.plates_without_vin: set[str] = set(session.scalars(
            select(Vehicle.plate).where(Vehicle.vin.is_(None), Vehicle.plate.is_not(None))))
        self.created_customers: set[int] = set()
        self.updated_customers: set[int] = set()
        self.created_vehicles: set[int] = set()
        self.updated_vehicles: set[int] = set()
        self.sales: set[tuple[int, date]] = set()           # (vehicle, day) recorded by this file
        self.visits: dict[tuple, int] = {}                 # visit key -> id of the visit this file made
        self.users: dict[int, User | None] = {}
        # The current chunk's objects and what the database knows of its vehicles; replaced every chunk.
        self.objects: dict[tuple[type, int], object] = {}
        self.known_sales: set[tuple[int, date]] = set()
        self.known_visits: dict[tuple, tuple[int, date]] = {}
        self.covered: set[int] = set()                      # vehicles whose sales and visits are all known
        # What the chunk creates before it is flushed (no ids yet): by mobile, by VIN, every new object.
        self.new_by_mobile: dict[str, Customer] = {}
        self.new_by_vin: dict[str, Vehicle] = {}
        self.made: set[Customer | Vehicle] = set()
        self.new_visits: dict[tuple, ServiceVisit] = {}
        self.inserted: dict[type, int] = {Sale: 0, ServiceVisit: 0}
        self._target = session() if isinstance(session, scoped_session) else session
        event.listen(self._target, "pending_to_persistent", self._persisted)

    def close(self) -> None:
        event.remove(self._target, "pending_to_persistent", self._persisted)

    def _persisted(self, _session, instance) -> None:
        kind = type(instance)
        if kind in self.inserted:
            self.inserted[kind] += 1

    # ------------------------------------------------------------ checking, as rows are read

    def row(self, line: int, cells: tuple, texts: tuple) -> None:
        first = self.checks.repeated(line, texts)
        if first is not None:
            self._error(line, "row", _("Duplicate of line %(line)d: the same row twice.", line=first))
            return
        stray = next((i for i, text in enumerate(texts) if text is not None and i not in self.columns), None)
        if stray is not None:
            self._error(line, "row", _("Column %(column)d has a value but no header.", column=stray + 1))
            return
        values, problems = parse_row({name: cells[i] for i, name in self.columns.items() if i < len(cells)})
        if not problems:
            problems = self.checks.conflicts(line, values)
        for name, message in problems:
            self._error(line, name, message)
        if not problems:
            self.chunk.append((line, values))
            if len(self.chunk) >= CHUNK_ROWS:
                self._apply_chunk()

    def finish(self) -> None:
        self._apply_chunk()
        report = self.report
        report.customers_created, report.customers_updated = len(self.created_customers), len(self.updated_customers)
        report.vehicles_created, report.vehicles_updated = len(self.created_vehicles), len(self.updated_vehicles)
        report.sales_created, report.visits_created = self.inserted[Sale], self.inserted[ServiceVisit]

    def _error(self, line: int, name: str, message: str) -> None:
        self.report.errors.append(RowError(line, name, message))

    # ------------------------------------------------------------ applying, a chunk at a time

    def _apply_chunk(self) -> None:
        chunk, self.chunk = self.chunk, []
        if not chunk:
            return
        self._load(chunk)
        saved = []
        for line, values in chunk:                         # pass 1: customers and vehicles
            try:
                saved.append((line, values, *self._save(line, values)))
            except FieldError as error:
                self._error(line, error.field, str(error))
        self.session.flush()
        self._settle_saved()
        for line, values, vehicle, planned in saved:       # pass 2: sales and visits
            try:
                sale = self._record_sale(vehicle, values["delivery_date"])
                visit = self._record_visit(vehicle, values)
            except FieldError as error:
                self._error(line, error.field, str(error))
            else:
                self._tally(replace(planned, sale=sale, visit=visit))
        self.session.flush()
        self.visits.update((key, visit.id) for key, visit in self.new_visits.items())
        self.new_visits = {}
        self.objects, self.known_sales, self.known_visits, self.covered = {}, set(), {}, set()

    def _load(self, chunk: list[tuple[int, dict]]) -> None:
        """The chunk's known vehicles and customers, with the sales and visits of those vehicles."""
        session = self.session
        vehicle_ids = {self.vehicle_ids[v["vin"]] for _line, v in chunk if v["vin"] in self.vehicle_ids}
        vehicles = session.scalars(select(Vehicle).where(Vehicle.id.in_(vehicle_ids))).all() if vehicle_ids else []
        customer_ids = {self.customer_ids[v["mobile"]] for _line, v in chunk if v["mobile"] in self.customer_ids}
        customer_ids.update(vehicle.customer_id for vehicle in vehicles)
        customers = session.scalars(select(Customer).where(Customer.id.in_(customer_ids))).all() if customer_ids \
            else []
        self.objects = {(type(o), o.id): o for o in (*vehicles, *customers)}
        self.covered = set(vehicle_ids)
        self.known_sales = {(vehicle_id, day) for vehicle_id, day in session.execute(
            select(Sale.vehicle_id, Sale.delivered_on).where(Sale.vehicle_id.in_(vehicle_ids)))} \
            if vehicle_ids else set()
        self.known_visits = {}
        work_orders = {v["work_order"] for _line, v in chunk if v["work_order"]}
        if vehicle_ids or work_orders:
            for work_order, vehicle_id, day in session.execute(
                    select(ServiceVisit.work_order, ServiceVisit.vehicle_id, ServiceVisit.visited_on)
                    .where(ServiceVisit.vehicle_id.in_(vehicle_ids) | ServiceVisit.work_order.in_(work_orders))):
                self.known_visits[("day", vehicle_id, day)] = (vehicle_id, day)
                if work_order:
                    self.known_visits[("work_order", work_order)] = (vehicle_id, day)

    def _settle_saved(self) -> None:
        """After the first flush: the ids of what pass 1 created, into the dicts kept for the whole file."""
        for obj in self.made:
            if isinstance(obj, Customer):
                self.created_customers.add(obj.id)
            else:
                self.created_vehicles.add(obj.id)
                self.covered.add(obj.id)                   # new: its only sales and visits are this file's
        self.customer_ids.update((mobile, customer.id) for mobile, customer in self.new_by_mobile.items())
        self.vehicle_ids.update((vin, vehicle.id) for vin, vehicle in self.new_by_vin.items())
        self.new_by_mobile, self.new_by_vin, self.made = {}, {}, set()

    def _tally(self, planned: PlannedRow) -> None:
        if (planned.customer_change, planned.vehicle_change) != (UNCHANGED, UNCHANGED) or planned.sale \
                or planned.visit:
            self.report.changed_rows += 1
            if len(self.report.preview) < PREVIEW_ROWS:
                self.report.preview.append(planned)

    def _save(self, line: int, v: dict) -> tuple[Vehicle, PlannedRow]:
        """Pass 1 of a row: its customer and vehicle, and the row as planned so far (as it reads now)."""
        vehicle = self._find_vehicle(v)
        customer, customer_change = self._save_customer(v, vehicle)
        vehicle, vehicle_change = self._save_vehicle(v, customer, vehicle)
        return vehicle, PlannedRow(line=line, name=customer.name, mobile=customer.mobile or "",
                                   vehicle=vehicle.vin or format_plate(vehicle.plate),
                                   customer_change=customer_change, vehicle_change=vehicle_change, sale=None,
                                   visit=None)

    # ------------------------------------------------------------ finding

    def _get(self, model: type, id_: int):
        key = (model, id_)
        found = self.objects.get(key)
        if found is None:
            found = self.objects[key] = self.session.get(model, id_)
        return found

    def _user(self, user_id: int | None) -> User | None:
        if user_id is None:
            return None
        if user_id not in self.users:
            self.users[user_id] = self.session.get(User, user_id)
        return self.users[user_id]

    def _customer_by_mobile(self, mobile: str | None) -> Customer | None:
        if mobile is None:
            return None
        if mobile in self.new_by_mobile:
            return self.new_by_mobile[mobile]
        return self._get(Customer, self.customer_ids[mobile]) if mobile in self.customer_ids else None

    def _owner(self, vehicle: Vehicle) -> Customer:
        if vehicle.customer_id is None:                    # made by this chunk, not flushed yet
            return vehicle.customer
        return self._get(Customer, vehicle.customer_id)

    def _find_vehicle(self, v: dict) -> Vehicle | None:
        """By VIN; else by plate (for a row with a VIN: a vehicle that has a plate but no VIN yet)."""
        if v["vin"]:
            if v["vin"] in self.new_by_vin:
                return self.new_by_vin[v["vin"]]
            vehicle_id = self.vehicle_ids.get(v["vin"])
            if vehicle_id is not None:
                return self._get(Vehicle, vehicle_id)
            if v["plate"] not in self.plates_without_vin:
                return None
        query = select(Vehicle).where(Vehicle.plate == v["plate"])      # autoflushes the chunk's new vehicles
        if v["vin"]:
            query = query.where(Vehicle.vin.is_(None))
        found = self.session.scalars(query.order_by(Vehicle.id).limit(2)).all()
        if len(found) > 1:
            raise FieldError("plate", _("Several vehicles have the plate %(plate)s; add the VIN to the row.",
                                        plate=format_plate(v["plate"])))
        return found[0] if found else None

    # ------------------------------------------------------------ changing

    def _save_customer(self, v: dict, vehicle: Vehicle | None) -> tuple[Customer, str]:
        by_mobile = self._customer_by_mobile(v["mobile"])
        owner = self._owner(vehicle) if vehicle is not None else None
        if owner is not None and (by_mobile is not None and by_mobile is not owner
                                  or by_mobile is None and v["mobile"] and owner.mobile):
            raise FieldError("mobile", _("The vehicle %(vehicle)s belongs to another customer in CareBoard: "
                                         "%(name)s, %(mobile)s.", vehicle=vehicle.vin or format_plate(vehicle.plate),
                                         name=owner.name, mobile=owner.mobile or "-"))
        customer = by_mobile or owner
        # The mobile is free: every mobile of the database and of this file is in customer_ids / new_by_mobile.
        if customer is None:
            customer = new_customer(name=v["name"], mobile=v["mobile"], birthday=v["birthday"])
            self.session.add(customer)
            self.made.add(customer)
            if customer.mobile:
                self.new_by_mobile[customer.mobile] = customer
            return customer, NEW
        mobile = v["mobile"] or customer.mobile
        birthday = v["birthday"] or customer.birthday
        if (v["name"], mobile, birthday) == (customer.name, customer.mobile, customer.birthday):
            return customer, UNCHANGED
        assign_customer(customer, name=v["name"], mobile=mobile, birthday=birthday, notes=customer.notes,
                        sales_care=self._user(customer.sales_care_id),
                        aftersales_care=self._user(customer.aftersales_care_id))
        if mobile:
            self.new_by_mobile[mobile] = customer
        if customer in self.made or customer.id in self.created_customers:
            return customer, NEW
        self.updated_customers.add(customer.id)
        return customer, UPDATED

    def _save_vehicle(self, v: dict, customer: Customer, vehicle: Vehicle | None) -> tuple[Vehicle, str]:
        # The VIN is free: a VIN of the database or of this file would have found its vehicle.
        dates = {name: v[name] for name in REMINDER_DATES if v[name]}
        if vehicle is None:
            vehicle = new_vehicle(customer, vin=v["vin"], plate=v["plate"], model=v["model"] or "",
                                  delivery_date=v["delivery_date"], **dates)
            self.session.add(vehicle)
            self.made.add(vehicle)
            change = NEW
        else:
            dates = {name: day for name, day in dates.items() if getattr(vehicle, name) != day}
            vin, plate = v["vin"] or vehicle.vin, v["plate"] or vehicle.plate
            model = v["model"] or vehicle.model
            if not dates and (vin, plate, model) == (vehicle.vin, vehicle.plate, vehicle.model):
                return vehicle, UNCHANGED
            assign_vehicle(vehicle, vin=vin, plate=plate, model=model, **dates)
            change = NEW if vehicle in self.made or vehicle.id in self.created_vehicles else UPDATED
            if change == UPDATED:
                self.updated_vehicles.add(vehicle.id)
        if vehicle.vin:
            self.new_by_vin[vehicle.vin] = vehicle
            self.plates_without_vin.discard(vehicle.plate)
        elif vehicle.plate:
            self.plates_without_vin.add(vehicle.plate)
        return vehicle, change

    def _record_sale(self, vehicle: Vehicle, day: date | None) -> date | None:
        """The day of a sale this row adds; None when it has none or the sale is known already."""
        key = (vehicle.id, day)
        if day is None or key in self.sales or key in self.known_sales:
            return None
        self.sales.add(key)
        if vehicle.id in self.covered:                     # its sales are known: this one is new
            self.session.add(new_sale(vehicle, day))
            return day
        self.session.flush()                               # so that the count below is this row's only
        before = self.inserted[Sale]
        record_sale(self.session, vehicle, day)
        return day if self.inserted[Sale] > before else None

    def _record_visit(self, vehicle: Vehicle, v: dict) -> date | None:
        """The day of a visit this row adds. Rows of one visit (one per repair item) add their items to it."""
        day = v["visit_date"]
        if day is None:
            return None
        key = ("work_order", v["work_order"]) if v["work_order"] else ("day", vehicle.id, day)
        visit = self.new_visits.get(key)
        if visit is None and key in self.visits:
            visit = self._get(ServiceVisit, self.visits[key])
        if visit is not None:
            items = v["visit_description"]
            if items and items not in visit.description:
                visit.description = f"{visit.description}；{items}" if visit.description else items
            return None
        known = self.known_visits.get(key)
        if known is None:
            # Known: every visit of the chunk's work orders, and every visit of a covered vehicle.
            if v["work_order"] or vehicle.id in self.covered:
                visit = new_visit(vehicle, day, work_order=v["work_order"], description=v["visit_description"] or "")
                self.session.add(visit)
                self.new_visits[key] = visit
                self.known_visits.setdefault(("day", vehicle.id, day), (vehicle.id, day))
                return day
            self.session.flush()                           # so that the count below is this row's only
            before = self.inserted[ServiceVisit]
            visit = record_visit(self.session, vehicle, day, work_order=v["work_order"],
                                 description=v["visit_description"] or "")
            if self.inserted[ServiceVisit] > before:
                self.visits[key] = visit.id
                self.objects[(ServiceVisit, visit.id)] = visit
                return day
            known = (visit.vehicle_id, visit.visited_on)
        if known != (vehicle.id, day):
            raise FieldError("work_order", _("The work order %(work_order)s is recorded in CareBoard for "
                                             "another vehicle or day.", work_order=v["work_order"]))
        return None
