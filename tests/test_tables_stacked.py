"""Issue 17: on a phone every data table becomes one block per row (``.stacked`` in app.css), each value under
its column's name (``data-label`` on its ``<td>``); no table scrolls inside itself. Read from the templates, so a
new table that forgets it fails here, not on someone's phone."""
import re
from pathlib import Path

TEMPLATES = Path(__file__).resolve().parent.parent / "careboard" / "templates"

# Tables that truly must stay a grid on a phone, with why. Keep this short.
ALLOWED_GRIDS = {
    # 5S history: a month's calendar (seven weekday columns); its cells are days, stacking them would lose the week.
    ("checklist/history.html", "calendar"),
    # The store's working calendar on the settings page: one month per grid, the same seven weekday columns.
    ("admin/settings.html", "month"),
}

TABLE = re.compile(r"<table\b([^>]*)>(.*?)</table>", re.S)
CLASS = re.compile(r'class="([^"]*)"')
TD = re.compile(r"<td\b([^>]*)>(.*?)</td>", re.S)
# A cell may go without a label only when it is the row's own title link or its action button (the existing
# convention: the board archive's card link, a row's "Edit"); app.css gives such cells the full width.
SELF_EXPLAINING = re.compile(r"^\s*(<a\b|{{ card_link\(|{%.*?%}\s*<a\b)", re.S)


def tables():
    for path in sorted(TEMPLATES.rglob("*.html")):
        name = path.relative_to(TEMPLATES).as_posix()
        for match in TABLE.finditer(path.read_text(encoding="utf-8")):
            classes = CLASS.search(match.group(1))
            yield name, (classes.group(1).split() if classes else []), match.group(2)


def test_templates_have_tables():
    assert len(list(tables())) > 10


def test_every_data_table_is_stacked_on_phones():
    not_stacked = [(name, classes) for name, classes, _ in tables()
                   if "stacked" not in classes and not any((name, c) in ALLOWED_GRIDS for c in classes)]
    assert not_stacked == [], "tables that scroll sideways on a phone: mark them .stacked (and data-label each <td>)"


def test_every_stacked_cell_names_its_column():
    unlabelled = []
    for name, classes, body in tables():
        if "stacked" not in classes:
            continue
        for row in re.findall(r"<tr\b.*?(?:</tr>|$)", body, re.S):
            if 'scope="row"' in row:          # a row headed by its own <th scope="row">, shown on top when stacked
                continue
            unlabelled += [(name, content.strip()[:60]) for attrs, content in TD.findall(row)
                           if "data-label" not in attrs and "colspan" not in attrs
                           and not SELF_EXPLAINING.match(content)]
    assert unlabelled == [], "stacked cells without their column's name (data-label)"
