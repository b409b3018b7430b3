"""The template helpers: times in the store's zone, identical to Flask-Babel's own formatting."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest
from flask_babel import force_locale, format_datetime

from careboard.templating import localtime


@pytest.mark.parametrize("locale", ["zh_CN", "en"])
@pytest.mark.parametrize("fmt", ["short", "medium"])
def test_localtime_matches_flask_babel(app, locale, fmt):
    value = datetime(2026, 11, 25, 16, 5, tzinfo=UTC)          # 00:05 next day in Shanghai
    with app.test_request_context(), force_locale(locale):
        assert localtime(value, fmt) == format_datetime(value, fmt)
        assert "26" in localtime(value, fmt)


def test_localtime_of_nothing_is_empty(app):
    with app.test_request_context():
        assert localtime(None) == ""
