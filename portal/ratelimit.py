"""Fixed-window limits counted in the shared cache, exact across workers and threads."""

import time

from django.core.cache import cache


def ratelimit_take(*, key: str, limit: int, window: int) -> bool:
    """Take one of ``limit`` slots of ``key`` for the current ``window`` seconds; False when none is left.

    Each slot is claimed with ``cache.add``, which is atomic on every shared
    backend (a primary-key insert in the database cache, SET NX in Redis),
    whereas ``incr`` is a read then a write in the database cache and lets
    simultaneous requests count as one. Every slot below the ``next`` hint is
    taken (it is only ever written as one past a slot just claimed), so the
    search starts there and a client over the limit costs one read.
    """
    bucket = f"ratelimit:{key}:{int(time.time() // window)}"
    hint = cache.get(f"{bucket}:next", 0)
    for slot in range(hint, limit):
        if cache.add(f"{bucket}:{slot}", 1, timeout=window):
            cache.set(f"{bucket}:next", slot + 1, timeout=window)
            return True
    return False
