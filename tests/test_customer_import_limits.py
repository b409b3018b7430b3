"""The import bounds its work before it parses: XLSX bombs (a huge shared string, millions of header cells,
a far-away cell), too long cells and lines, too many rows and columns are refused with a message, quickly
and in little memory; and a CSV in an encoding that GB18030 only seems to read (Shift-JIS, Big5, EUC-KR)
is refused, while UTF-8 (± BOM), GBK and GB18030 are read, and the check shows the first rows as read."""
from __future__ import annotations

import csv
import io
import time
import tracemalloc
import zipfile
from pathlib import Path

import pytest
from sqlalchemy import func, select

from careboard.models import Customer
from careboard.services.customer_import import apply_import, plan_import
from careboard.services.errors import ImportRefused

pytestmark = pytest.mark.usefixtures("english")      # messages in English (the msgids)

MiB = 1024 * 1024


def vin(n: int) -> str:
    return f"LSVAU2180N{n:07d}"


def measured(session, path: Path):
    """(the dry run's report, seconds, peak traced memory in bytes)."""
    tracemalloc.start()
    started = time.perf_counter()
    try:
        report = plan_import(session, path)
        seconds = time.perf_counter() - started
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return report, seconds, peak


def refused_quickly(session, path: Path, fragment: str, *, line=None, memory=64 * MiB, seconds=20.0):
    report, took, peak = measured(session, path)
    assert [(e.line, e.field) for e in report.errors] == [(line, "file")], report.errors
    assert fragment in report.errors[0].message, report.errors[0].message
    assert took < seconds and peak < memory, (took, peak)
    with pytest.raises(ImportRefused):
        apply_import(session, path)
    session.commit()
    assert session.scalar(select(func.count()).select_from(Customer)) == 0
    return report


MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
RELS = "http://schemas.openxmlformats.org/package/2006/relationships"
OFFICE = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PARTS = {
    "[Content_Types].xml": (
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/xl/workbook.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
        '<Override PartName="/xl/worksheets/sheet1.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
        '<Override PartName="/xl/sharedStrings.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>'),
    "_rels/.rels": (f'<Relationships xmlns="{RELS}"><Relationship Id="rId1" Type="{OFFICE}/officeDocument" '
                    'Target="xl/workbook.xml"/></Relationships>'),
    "xl/workbook.xml": (f'<workbook xmlns="{MAIN}" xmlns:r="{OFFICE}"><sheets><sheet name="导出" sheetId="1" '
                        'r:id="rId1"/></sheets></workbook>'),
    "xl/_rels/workbook.xml.rels": (
        f'<Relationships xmlns="{RELS}"><Relationship Id="rId1" Type="{OFFICE}/worksheet" '
        'Target="worksheets/sheet1.xml"/><Relationship Id="rId2" Type="{OFFICE}/sharedStrings" '
        'Target="sharedStrings.xml"/></Relationships>').replace("{OFFICE}", OFFICE),
}


def workbook(folder: Path, rows=None) -> Path:
    """A workbook as Excel writes it: every text in the shared strings, the cells referring to them."""
    rows = rows or [("Name", "VIN"), ("张三", vin(1))]
    texts = sorted({text for values in rows for text in values})
    index = {text: n for n, text in enumerate(texts)}
    sheet = "".join(f'<row r="{r}">' + "".join(f'<c r="{column_letters(c)}{r}" t="s"><v>{index[text]}</v></c>'
                                               for c, text in enumerate(values, 1)) + "</row>"
                    for r, values in enumerate(rows, 1))
    strings = "".join(f"<si><t>{text}</t></si>" for text in texts)
    path = folder / "export.xlsx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in PARTS.items():
            archive.writestr(name, content)
        archive.writestr("xl/worksheets/sheet1.xml", f'<worksheet xmlns="{MAIN}"><sheetData>{sheet}</sheetData>'
                                                     "</worksheet>")
        archive.writestr("xl/sharedStrings.xml", f'<sst xmlns="{MAIN}">{strings}</sst>')
    return path


def replace_parts(path: Path, parts: dict) -> Path:
    """The workbook with some parts replaced: bytes, or a function that writes into the part's stream."""
    source = zipfile.ZipFile(io.BytesIO(path.read_bytes()))
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            content = parts.get(info.filename, None)
            if content is None:
                target.writestr(info, source.read(info.filename), zipfile.ZIP_DEFLATED)
            elif isinstance(content, bytes):
                target.writestr(info.filename, content)
            else:
                with target.open(info.filename, "w", force_zip64=True) as stream:
                    content(stream)
        for name in set(parts) - set(source.namelist()):
            target.writestr(name, parts[name])
    return path


SHEET_HEAD = b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
SHEET_TAIL = b"</sheetData></worksheet>"
STRINGS_HEAD = b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'


def column_letters(n: int) -> str:
    letters = ""
    while n:
        n, rest = divmod(n - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


# ---------------------------------------------------------------- XLSX bombs


def test_a_huge_shared_string_is_refused_from_the_zip_directory(session, folder):
    def strings(stream):                          # 300 MB of one letter: about 300 KB packed
        stream.write(STRINGS_HEAD + b"<si><t>")
        block = b"A" * MiB
        for _ in range(300):
            stream.write(block)
        stream.write(b"</t></si></sst>")

    path = replace_parts(workbook(folder), {"xl/sharedStrings.xml": strings})
    assert path.stat().st_size < 2 * MiB
    refused_quickly(session, path, "unpacks to more than 200 MB")


def test_a_part_packed_like_a_bomb_is_refused_even_below_the_size_limit(session, folder):
    def strings(stream):
        stream.write(STRINGS_HEAD + b"<si><t>Name</t></si><si><t>")
        stream.write(b"A" * (20 * MiB))
        stream.write(b"</t></si></sst>")

    refused_quickly(session, replace_parts(workbook(folder), {"xl/sharedStrings.xml": strings}),
                    "more than 100 times its size")


def test_a_shared_string_longer_than_a_cell_is_refused(session, folder):
    strings = (STRINGS_HEAD + b"<si><t>Name</t></si><si><t>VIN</t></si><si><t>" + "长".encode() * 2001
               + b"</t></si></sst>")
    refused_quickly(session, replace_parts(workbook(folder), {"xl/sharedStrings.xml": strings}),
                    "more than 2000 characters")


def test_two_million_header_cells_are_refused_at_the_first_column_too_many(session, folder):
    cells = b"".join(b'<c r="%s1" t="s"><v>0</v></c>' % column_letters(n).encode() for n in range(1, 16385))

    def sheet(stream):                             # every cell with its reference: about 55 MB, 2 MB packed
        stream.write(SHEET_HEAD + b'<row r="1">')
        for _ in range(2_000_000 // 16384 + 1):
            stream.write(cells)
        stream.write(b"</row>" + SHEET_TAIL)

    path = replace_parts(workbook(folder), {"xl/worksheets/sheet1.xml": sheet})
    refused_quickly(session, path, "more than 200 columns", line=1)


def test_header_cells_without_references_are_counted_too(session, folder):
    sheet = SHEET_HEAD + b'<row r="1">' + b'<c t="s"><v>0</v></c>' * 250 + b"</row>" + SHEET_TAIL
    refused_quickly(session, replace_parts(workbook(folder), {"xl/worksheets/sheet1.xml": sheet}),
                    "more than 200 columns", line=1)


@pytest.mark.parametrize("cell,fragment,line", [
    (b'<row r="1"><c r="XFD1" t="s"><v>0</v></c></row>', "more than 200 columns", 1),       # openpyxl pads
    (b'<row r="1048576"><c r="A1048576" t="s"><v>0</v></c></row>', "more than 100000 rows", 1048576),
])
def test_one_far_away_cell_is_refused(session, folder, cell, fragment, line):
    sheet = SHEET_HEAD + cell + SHEET_TAIL
    refused_quickly(session, replace_parts(workbook(folder), {"xl/worksheets/sheet1.xml": sheet}), fragment,
                    line=line)


def test_a_long_inline_cell_is_refused_with_its_line(session, folder):
    sheet = (SHEET_HEAD + b'<row r="1"><c r="A1" t="inlineStr"><is><t>Name</t></is></c></row><row r="2"><c r="A2" '
             b't="inlineStr"><is><t>' + b"x" * 5000 + b"</t></is></c></row>" + SHEET_TAIL)
    refused_quickly(session, replace_parts(workbook(folder), {"xl/worksheets/sheet1.xml": sheet}),
                    "more than 2000 characters", line=2)


def test_a_document_type_declaration_is_refused(session, folder):
    laughs = (b'<?xml version="1.0"?><!DOCTYPE sst [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;">]>'
              + STRINGS_HEAD + b"<si><t>&b;</t></si></sst>")
    refused_quickly(session, replace_parts(workbook(folder), {"xl/sharedStrings.xml": laughs}),
                    "not an Excel workbook")


STYLES_HEAD = (b'<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><fonts count="1">'
               b'<font/></fonts><fills count="1"><fill><patternFill/></fill></fills>')


@pytest.mark.parametrize("styles,fragment", [
    (STYLES_HEAD.replace(b"<fill><patternFill/></fill>", b"<fill/>") + b"</styleSheet>", "not an Excel workbook"),
    (STYLES_HEAD + b"<cellXfs>" + b"".join(b'<xf numFmtId="%d" fontId="%d"/>' % (n, n * 7 % 1000)
                                          for n in range(120_000)) + b"</cellXfs></styleSheet>", "far larger"),
])
def test_a_malformed_or_oversized_styles_part_is_refused(session, folder, styles, fragment):
    refused_quickly(session, replace_parts(workbook(folder), {"xl/styles.xml": styles}), fragment)


def test_a_workbook_over_the_configured_limits(app, session, folder):
    app.config.update(IMPORT_MAX_ROWS=2, IMPORT_MAX_COLUMNS=3)
    path = workbook(folder, [("Name", "VIN")] + [("张三", vin(n)) for n in range(1, 7)])
    refused_quickly(session, path, "more than 2 rows", line=6)
    path = workbook(folder, [("Name", "VIN", "Model", "Plate"), ("张三", vin(1), "x", "沪AD0001")])
    refused_quickly(session, path, "more than 3 columns", line=1)


def test_an_ordinary_workbook_is_still_read(session, folder):
    rows = [("客户姓名", "手机号", "车架号")] + [(f"客户{n}", f"1380013{n:04d}", vin(n)) for n in range(1, 301)]
    report, _seconds, peak = measured(session, workbook(folder, rows))
    assert report.ok, report.errors
    assert report.rows == 300 and report.customers_created == 300
    assert report.sample[0] == (1, ["客户姓名", "手机号", "车架号"]) and report.sample[1][1][0] == "客户1"


# ---------------------------------------------------------------- CSV


def test_a_csv_with_a_very_long_line_is_refused_without_reading_it_whole(session, folder):
    path = folder / "export.csv"
    with path.open("wb") as fh:
        fh.write("客户姓名,车架号\n张三,".encode())
        fh.write(b"x" * (100 * MiB))
        fh.write(b"\n")
    refused_quickly(session, path, "longer than 200 columns", line=2, memory=16 * MiB)


def test_a_csv_with_a_long_cell_or_too_many_columns(app, session, folder):
    path = folder / "export.csv"
    path.write_text(f"客户姓名,车架号\n{'张' * 2001},{vin(1)}\n", encoding="utf-8")
    refused_quickly(session, path, "more than 2000 characters", line=2)
    app.config["IMPORT_MAX_COLUMNS"] = 3
    path.write_text(f"客户姓名,车架号\n张三,{vin(1)},a,b\n", encoding="utf-8")
    refused_quickly(session, path, "more than 3 columns", line=2)


def test_a_csv_with_too_many_lines_stops_early(app, session, folder):
    app.config["IMPORT_MAX_ROWS"] = 10
    path = folder / "export.csv"
    path.write_bytes("客户姓名,车架号\n".encode() + b"\n" * 100)        # blank lines count as lines
    refused_quickly(session, path, "more than 10 rows", line=22)


# ---------------------------------------------------------------- encodings

OTHER_ENCODINGS = [
    ("shift_jis", ["山田太郎", "佐藤花子", "鈴木一郎", "田中美穂", "高橋健太"]),
    ("big5", ["王偉", "陳小明", "林志玲", "張學友", "劉德華"]),
    ("euc_kr", ["金大中", "李明博", "朴正熙", "崔志宇", "姜東元"]),          # Hanja: Chinese names
    ("euc_kr", ["김민수", "이영희", "박철수", "정수진", "최지우"]),          # Hangul
]


def write_names(folder: Path, names: list[str], encoding: str, *, header=("Name", "Mobile", "VIN")) -> Path:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows([name, f"1380013{n:04d}", vin(n)] for n, name in enumerate(names, 1))
    path = folder / "export.csv"
    path.write_bytes(buffer.getvalue().encode(encoding))
    return path


@pytest.mark.parametrize("encoding,names", OTHER_ENCODINGS)
def test_a_csv_in_another_encoding_is_refused_not_imported_as_gibberish(session, folder, encoding, names):
    path = write_names(folder, names, encoding)
    report = refused_quickly(session, path, "does not read as Chinese in UTF-8 or GBK")
    assert "Save it as CSV UTF-8" in report.errors[0].message
    assert report.sample[0][1] == ["Name,Mobile,VIN"] and len(report.sample) == 6      # as GB18030 read it


CHINESE = ["王伟", "李娜", "张喆", "刘婧琪", "陈梓涵", "杨玥", "赵子轩", "黄诗涵", "周欣怡", "吴堃"]


@pytest.mark.parametrize("encoding,header", [
    ("utf-8", ("Name", "Mobile", "VIN")), ("utf-8-sig", ("Name", "Mobile", "VIN")),
    ("gbk", ("客户姓名", "手机号", "车架号")), ("gb18030", ("客户姓名", "手机号", "车架号")),
    ("gbk", ("Name", "Mobile", "VIN")),
])
def test_utf8_gbk_and_gb18030_are_read_and_shown_as_read(session, folder, encoding, header):
    path = write_names(folder, CHINESE + ["𠮷野家"] * (encoding in ("utf-8", "gb18030")), encoding, header=header)
    report = plan_import(session, path)
    assert report.ok, report.errors
    assert report.sample[0] == (1, list(header))
    assert [cells[0] for _line, cells in report.sample[1:]] == CHINESE[:5]


def test_trendy_names_in_gbk_with_english_headers_are_read(session, folder):
    names = ["琪琪", "婧瑶", "梓萱", "玥晗", "瑾瑜", "璐琦", "晨曦", "煜烨"]
    report = plan_import(session, write_names(folder, names, "gbk"))
    assert report.ok and report.sample[1] == (2, ["琪琪", "13800130001", vin(1)])
