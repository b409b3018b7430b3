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


def test_the_card_cache_forgets_the_least_recently_used_first():
    from careboard.templating import LruCache
    cache = LruCache(3)
    for key in "abc":
        cache.put(key, key.upper())
    assert cache.get("a") == "A"                                   # a is now the most recently used
    cache.put("d", "D")
    assert "b" not in cache and len(cache) == 3
    assert [cache.get(k) for k in "acd"] == ["A", "C", "D"]
    cache.put("c", "C2")                                           # a new value for a key counts as a use
    cache.put("e", "E")
    assert "a" not in cache and cache.get("c") == "C2" and "d" in cache and "e" in cache


def test_the_board_keeps_its_recent_cards_past_the_limit(app, monkeypatch):
    """board_card() past BOARD_CARD_CACHE_SIZE: the card shown a moment ago stays, the oldest one goes
    (the cache used to empty itself whole)."""
    from types import SimpleNamespace

    from careboard import templating
    assert templating._board_cards.maxsize == templating.BOARD_CARD_CACHE_SIZE == 10_000
    monkeypatch.setattr(templating, "_board_cards", templating.LruCache(3))
    rendered = []

    def macro(item, text, show_assignee, oob):
        rendered.append(item.card.id)
        return f"<li>{item.card.title}</li>"

    def item(card_id):
        card = SimpleNamespace(id=card_id, version=1, kind="task", title=f"card {card_id}", priority=2, due_at=None,
                               assignee_name="张丽")
        return SimpleNamespace(card=card, sla="ok", may_change=True)

    with app.test_request_context():
        for card_id in (1, 2, 3, 1, 4):                            # 1 is used again before 4 comes
            assert templating.board_card(macro, item(card_id), {}, True) == f"<li>card {card_id}</li>"
        assert rendered == [1, 2, 3, 4]
        templating.board_card(macro, item(1), {}, True)            # still kept
        templating.board_card(macro, item(3), {}, True)
        assert rendered == [1, 2, 3, 4]
        templating.board_card(macro, item(2), {}, True)            # the least recently used: gone
        assert rendered == [1, 2, 3, 4, 2]
