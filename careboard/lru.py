"""A bounded, thread-safe least-recently-used mapping: what a worker process keeps between requests."""
from __future__ import annotations

import threading
from collections import OrderedDict


class LruCache:
    """A bounded mapping that forgets the least recently used entry first; one lock makes it safe for the
    threads of a gunicorn worker. (functools.lru_cache does not fit: it keys on a function's arguments, and
    the board's key is made from the card, not from the macro and item that render it.)"""

    def __init__(self, maxsize: int):
        self.maxsize = maxsize
        self._items: OrderedDict = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key):
        with self._lock:
            value = self._items.get(key)
            if value is not None:
                self._items.move_to_end(key)
            return value

    def put(self, key, value) -> None:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.maxsize:
                self._items.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()

    def __contains__(self, key) -> bool:
        with self._lock:
            return key in self._items

    def __len__(self) -> int:
        return len(self._items)
