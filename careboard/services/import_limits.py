"""What the customer import checks about a file before it does the work: its size, shape and encoding.

An export is at most IMPORT_MAX_ROWS rows of IMPORT_MAX_COLUMNS columns of IMPORT_MAX_CELL_CHARS
characters (app config, see config.py). Everything here refuses a file that goes past one of them by
raising `Unreadable` with a message, before the part that would cost time or memory runs:

- XLSX (`check_workbook`), before openpyxl opens it. From the zip's directory alone: the parts together
  unpack to at most IMPORT_MAX_UNCOMPRESSED_BYTES, no part above 1 MiB unpacks to more than
  IMPORT_MAX_RATIO times its packed size, only stored or deflated parts (Python's zipfile never unpacks
  more of a part than the directory declares, so the declared sizes bound the work), and the parts that
  openpyxl reads whole into a tree (styles, workbook, relations...) are small. Then the shared strings and
  the first worksheet are streamed through expat, in 64 KiB pieces, counting as they go: rows (by their
  row number, as openpyxl fills the gaps), columns (by cell reference, as openpyxl pads the row), the
  characters of every cell and shared string, and any tag or text that expat would have to buffer whole.
  A document type declaration (entities) is refused. Only then does openpyxl read the file, knowing its
  rows are at most that long and that many.
- CSV (`bounded_lines`): each physical line is read with a length limit (a row of the most columns of the
  longest cells), so neither `readline` nor the csv module ever holds more than that.
- Any file (`bounded_records`): a row with more columns or a longer cell than allowed stops the reading.
- Encoding (`misdecoded`): a CSV that is not UTF-8 is read as GB18030, which decodes almost any bytes, so
  a Shift-JIS or Big5 file turned into rare ideographs, private-use characters and kana. The text is
  checked to be plausible Chinese first (see `misdecoded`).
"""
from __future__ import annotations

import re
import zipfile
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from xml.parsers import expat

from flask import current_app, has_app_context
from openpyxl.reader.excel import ExcelReader
from openpyxl.utils.exceptions import InvalidFileException
from openpyxl.xml.constants import SHARED_STRINGS
from flask_babel import gettext as _

CHUNK_BYTES = 64 * 1024            # what expat is fed at a time
MAX_TOKEN_BYTES = 4 * 1024 * 1024  # a tag or text that expat would buffer whole beyond this is refused
RATIO_FLOOR = 1024 * 1024          # parts smaller than this unpacked may be compressed any amount
MAX_PARTS = 1_000                  # an export has about ten
MAX_TREE_PART_BYTES = 2 * 1024 * 1024    # styles.xml, workbook.xml...: openpyxl builds them whole (~50x)
STREAMED_PARTS = re.compile(r"^xl/(worksheets/[^/]+\.xml|sharedStrings\.xml)$")
TREE_PARTS = re.compile(r"\.(xml|rels|vml)$", re.IGNORECASE)
CELL_REF = re.compile(r"^\$?([A-Za-z]{1,3})\$?(\d+)$")


class Unreadable(Exception):
    """The file cannot be read as a CSV or XLSX export; `line` when the problem has one, `sample` the first
    lines as they were read (when they could be)."""

    def __init__(self, message: str, line: int | None = None, sample: list[tuple[int, list[str]]] | None = None):
        super().__init__(message)
        self.line = line
        self.sample = sample or []


@dataclass(frozen=True)
class ImportLimits:
    max_rows: int = 100_000
    max_columns: int = 200
    max_cell_chars: int = 2_000
    max_uncompressed_bytes: int = 200 * 1024 * 1024
    max_ratio: int = 100

    @classmethod
    def from_config(cls, config) -> ImportLimits:
        default = cls()
        return cls(max_rows=int(config.get("IMPORT_MAX_ROWS", default.max_rows)),
                   max_columns=int(config.get("IMPORT_MAX_COLUMNS", default.max_columns)),
                   max_cell_chars=int(config.get("IMPORT_MAX_CELL_CHARS", default.max_cell_chars)),
                   max_uncompressed_bytes=int(config.get("IMPORT_MAX_UNCOMPRESSED_BYTES",
                                                         default.max_uncompressed_bytes)),
                   max_ratio=int(config.get("IMPORT_MAX_RATIO", default.max_ratio)))

    @classmethod
    def current(cls) -> ImportLimits:
        """The app's limits (the defaults outside an app)."""
        return cls.from_config(current_app.config) if has_app_context() else cls()

    @property
    def max_lines(self) -> int:
        """Lines of a file, blank ones included: the header, the rows and as many blank lines again."""
        return 2 * self.max_rows + 1


# ---------------------------------------------------------------- messages


def too_many_rows(limits: ImportLimits, line: int | None) -> Unreadable:
    return Unreadable(_("The file has more than %(rows)d rows. Split it into smaller files.", rows=limits.max_rows),
                      line=line)


def too_many_columns(limits: ImportLimits, line: int | None) -> Unreadable:
    return Unreadable(_("This row has more than %(columns)d columns; an export has far fewer.",
                        columns=limits.max_columns), line=line)


def cell_too_long(limits: ImportLimits, line: int | None) -> Unreadable:
    return Unreadable(_("A cell has more than %(chars)d characters; an export's cells are far shorter.",
                        chars=limits.max_cell_chars), line=line)


def not_a_workbook() -> Unreadable:
    return Unreadable(_("This is not an Excel workbook (.xlsx) that can be read."))


# ---------------------------------------------------------------- XLSX


@dataclass(frozen=True)
class WorkbookShape:
    sheet: str          # the first worksheet's part, as openpyxl will read it
    lines: int          # its last row number


def check_workbook(path: Path, limits: ImportLimits) -> WorkbookShape:
    """Refuse a workbook past the limits (Unreadable) before openpyxl opens it; its first sheet's shape."""
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError):
        raise not_a_workbook() from None
    with archive:
        _check_directory(archive.infolist(), limits)
        sheet, strings = _find_parts(path)
        if strings is not None:
            _stream(archive, strings, _StringsScan(limits))
        lines = _stream(archive, sheet, _SheetScan(limits)).last_row
    return WorkbookShape(sheet=sheet, lines=lines)


def _check_directory(infos: list[zipfile.ZipInfo], limits: ImportLimits) -> None:
    if len(infos) > MAX_PARTS:
        raise not_a_workbook()
    if sum(info.file_size for info in infos) > limits.max_uncompressed_bytes:
        raise Unreadable(_("The workbook unpacks to more than %(megabytes)d MB, far more than an export of "
                           "%(rows)d rows.", megabytes=limits.max_uncompressed_bytes // (1024 * 1024),
                           rows=limits.max_rows))
    for info in infos:
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise not_a_workbook()
        if info.file_size > RATIO_FLOOR and info.file_size > limits.max_ratio * max(info.compress_size, 1):
            raise Unreadable(_("The workbook is packed far more tightly than an export (a part unpacks to more "
                               "than %(ratio)d times its size), so it is not read.", ratio=limits.max_ratio))
        if info.file_size > MAX_TREE_PART_BYTES and TREE_PARTS.search(info.filename) \
                and not STREAMED_PARTS.match(info.filename):
            raise Unreadable(_("The workbook has a part (%(part)s) far larger than an export's.",
                               part=info.filename[:80]))


def _find_parts(path: Path) -> tuple[str, str | None]:
    """(the first worksheet, the shared strings or None), found as openpyxl finds them. Reads only the
    small parts checked above (content types, workbook, its relations)."""

    try:
        reader = ExcelReader(path, read_only=True)
    except (zipfile.BadZipFile, InvalidFileException, OSError, ValueError):
        raise not_a_workbook() from None
    try:
        reader.read_manifest()
        reader.read_workbook()
        sheets = [rel.target for _sheet, rel in reader.parser.find_sheets()
                  if rel.target in reader.valid_files and "chartsheet" not in rel.Type]
        strings = reader.package.find(SHARED_STRINGS)
    except (KeyError, ValueError, TypeError, AttributeError, SyntaxError, zipfile.BadZipFile):
        raise not_a_workbook() from None         # ElementTree's ParseError is a SyntaxError
    finally:
        reader.archive.close()
    if not sheets:
        raise not_a_workbook()
    part = strings.PartName[1:] if strings is not None else None
    return sheets[0], part if part in reader.valid_files else None


class _Scan:
    """Expat handlers that count as the XML streams past; `refuse` raises Unreadable. The characters inside
    each `text_element` (a cell, a shared string) are counted against the cell length limit."""

    text_element = ""

    def __init__(self, limits: ImportLimits):
        self.limits = limits
        self.parser = None
        self.at = 0                 # the byte where the last event happened
        self.chars: int | None = None       # characters of the current text element; None between them

    def line(self) -> int | None:
        """The line an error names (None: not tied to a line)."""
        return None

    def start(self, name: str, attrs: dict) -> None:
        self.at = self.parser.CurrentByteIndex

    def end(self, name: str) -> None:
        self.at = self.parser.CurrentByteIndex
        if name.rpartition(":")[2] == self.text_element:
            self.chars = None

    def text(self, data: str) -> None:
        self.at = self.parser.CurrentByteIndex
        if self.chars is not None:
            self.chars += len(data)
            if self.chars > self.limits.max_cell_chars:
                raise cell_too_long(self.limits, self.line())


class _SheetScan(_Scan):
    text_element = "c"

    def __init__(self, limits: ImportLimits):
        super().__init__(limits)
        self.row = 0
        self.column = 0
        self.last_row = 0

    def line(self) -> int | None:
        return self.row

    def start(self, name: str, attrs: dict) -> None:
        self.at = self.parser.CurrentByteIndex
        name = name.rpartition(":")[2]
        if name == "row":
            self.row = _int(attrs["r"]) if "r" in attrs else self.row + 1
            self.column = 0
            if self.row > self.limits.max_lines:
                raise too_many_rows(self.limits, self.row)
            self.last_row = max(self.last_row, self.row)
        elif name == "c":
            ref = attrs.get("r")
            if ref is None:
                self.column += 1
            else:
                match = CELL_REF.match(ref)
                if match is None:
                    raise not_a_workbook()
                self.column = _column_number(match.group(1))
            if self.column > self.limits.max_columns:
                raise too_many_columns(self.limits, self.row)
            self.chars = 0


class _StringsScan(_Scan):
    text_element = "si"

    def __init__(self, limits: ImportLimits):
        super().__init__(limits)
        # A valid export uses at most the 14 known columns of each row, so it has at most that many texts.
        self.max_strings = (limits.max_rows + 1) * 14
        self.strings = 0

    def start(self, name: str, attrs: dict) -> None:
        self.at = self.parser.CurrentByteIndex
        if name.rpartition(":")[2] == "si":
            self.strings += 1
            if self.strings > self.max_strings:
                raise too_many_rows(self.limits, None)
            self.chars = 0


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise not_a_workbook() from None


def _column_number(letters: str) -> int:
    number = 0
    for letter in letters.upper():
        number = number * 26 + ord(letter) - 64
    return number


def _refuse_doctype(*_args) -> None:
    raise not_a_workbook()            # no export declares a DTD; entities could expand without bound


def _stream(archive: zipfile.ZipFile, part: str, scan: _Scan) -> _Scan:
    parser = expat.ParserCreate()
    parser.buffer_text = False
    parser.StartElementHandler = scan.start
    parser.EndElementHandler = scan.end
    parser.CharacterDataHandler = scan.text
    parser.StartDoctypeDeclHandler = _refuse_doctype
    parser.EntityDeclHandler = _refuse_doctype
    scan.parser = parser
    fed = 0
    try:
        with archive.open(part) as stream:
            while chunk := stream.read(CHUNK_BYTES):
                fed += len(chunk)
                parser.Parse(chunk, False)
                if fed - scan.at > MAX_TOKEN_BYTES:
                    raise cell_too_long(scan.limits, getattr(scan, "row", None) or None)
            parser.Parse(b"", True)
    except (expat.ExpatError, zipfile.BadZipFile, KeyError, OSError, EOFError):
        raise not_a_workbook() from None
    return scan


# ---------------------------------------------------------------- CSV and any rows


def bounded_lines(fh, limits: ImportLimits) -> Iterator[str]:
    """The lines of a text file, each read with a length limit: at most max_columns cells of max_cell_chars
    (quoted, with their separators). Unreadable at the first longer line or past max_lines."""
    longest = limits.max_columns * (limits.max_cell_chars + 3) + 2
    number = 0
    while line := fh.readline(longest + 1):
        number += 1
        if len(line) > longest:
            raise Unreadable(_("This line is longer than %(columns)d columns of %(chars)d characters; an export's "
                               "lines are far shorter.", columns=limits.max_columns, chars=limits.max_cell_chars),
                             line=number)
        if number > limits.max_lines:
            raise too_many_rows(limits, number)
        yield line


def bounded_records(records: Iterator[tuple[int, tuple]], limits: ImportLimits) -> Iterator[tuple[int, tuple]]:
    """The records, stopped (Unreadable) at a row with too many columns or too long a cell, or too many lines."""
    for line, cells in records:
        if line > limits.max_lines:
            raise too_many_rows(limits, line)
        if len(cells) > limits.max_columns and any(c not in (None, "") for c in cells[limits.max_columns:]):
            raise too_many_columns(limits, line)
        if any(isinstance(c, str) and len(c) > limits.max_cell_chars for c in cells):
            raise cell_too_long(limits, line)
        yield line, cells


# ---------------------------------------------------------------- is the text Chinese?

SAMPLE_BYTES = 1024 * 1024        # the encoding is judged on the file's first MiB
NEUTRAL = re.compile(r"[\u00a0-\u00ff\u2000-\u206f\u2100-\u214f\u3000-\u303f\uff01-\uff60\uffe0-\uffe6]")
NON_ASCII = re.compile(r"[^\x00-\x7f]")


def misdecoded(raw: bytes) -> bool:
    """True when bytes that decode as GB18030 are evidently text in another encoding (Shift-JIS, Big5,
    EUC-KR...), which GB18030 turns into other characters instead of failing.

    Over the non-ASCII characters of the text (punctuation and full-width forms aside):
    - real Chinese is made of GB2312's 6,763 ideographs, with now and then a rarer one in a name (喆, 玥).
      A Shift-JIS or Big5 file decodes largely to ideographs outside GB2312, private-use characters, kana,
      Greek or Cyrillic: refused when more than 30 % of the characters are such. (GB2312's less common
      level-2 ideographs are not held against a file: modern names are full of them — 琪, 婧, 梓, 萱.)
    - EUC-KR puts its Hangul exactly on GB2312's common ideographs (bytes B0–C8) and its Hanja on the rest
      (CA–FD), so it decodes as well-formed Chinese. But real Chinese falls on both (a quarter to three
      quarters on B0–C8), while Korean falls on one. Refused when the bytes are also valid EUC-KR, with at
      least 12 such characters, and ≥ 95 % lie on B0–C8, or none does and half are level 2 or odd.
    A file with fewer than 4 such characters is not judged (there is not enough to tell).
    """
    text = raw.decode("gb18030", errors="ignore")
    counts = Counter(ch for ch in NON_ASCII.findall(text) if not NEUTRAL.match(ch))
    total = sum(counts.values())
    if total < 4:
        return False
    odd = uncommon = hangul_rows = 0
    for ch, count in counts.items():
        try:
            code = ch.encode("gb2312")
        except UnicodeEncodeError:
            odd += count
            continue
        if not "\u4e00" <= ch <= "\u9fff":
            odd += count                         # kana, Greek, Cyrillic, box drawing of GB2312
        elif code[0] >= 0xD8:
            uncommon += count
        elif 0xB0 <= code[0] <= 0xC8:
            hangul_rows += count
    if odd / total > 0.3:
        return True
    if total >= 12 and _valid(raw, "euc_kr"):
        if hangul_rows / total >= 0.95 or hangul_rows == 0 and (odd + uncommon) / total >= 0.5:
            return True
    return False


def _valid(raw: bytes, encoding: str) -> bool:
    try:
        raw.decode(encoding)
    except UnicodeDecodeError:
        return False
    return True
