"""A bounded memory, per process, of values computed from inputs that never change under their key: the least
recently used go first. Hits are served under a lock; misses are computed outside it (two threads may compute
the same value once each: both are right)."""
from __future__ import annotations

import copy
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable
from typing import Any


class Memo:
    """Up to ``size`` values by key; with ``copies``, each caller gets its own deep copy (values it may change)."""

    def __init__(self, size: int, copies: bool = False) -> None:
        self.size, self.copies = size, copies
        self.values: OrderedDict[Hashable, Any] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, key: Hashable, compute: Callable[[], Any]) -> Any:
        """The value of ``key``, computed by ``compute()`` when it is not remembered."""
        return self.get_many([key], lambda missing: {key: compute()})[key]

    def get_many(self, keys: Iterable[Hashable], compute: Callable[[list[Hashable]], dict[Hashable, Any]]
                 ) -> dict[Hashable, Any]:
        """The values of ``keys``: those remembered, and ``compute(missing keys)`` for the others (one call)."""
        keys = list(keys)
        with self.lock:
            found = {key: self.values[key] for key in keys if key in self.values}
            for key in found:
                self.values.move_to_end(key)
        missing = [key for key in keys if key not in found]
        if missing:
            fresh = compute(missing)
            with self.lock:
                self.values.update(fresh)
                while len(self.values) > self.size:
                    self.values.popitem(last=False)
            found.update(fresh)
        return {key: copy.deepcopy(value) for key, value in found.items()} if self.copies else found
