"""Login attempts limited per user name and per client address (a sliding window, in
memory: one limiter per server process, which ``radpilot serve`` runs as one process).

An attempt is refused before the password is checked, so a refused guess costs the
attacker a request and the server no argon2 work. A good login clears the user's count.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable

from radpilot.server.access import LoginLimits

MAX_KEYS = 100_000  # bounded memory under a flood of distinct names or addresses


class LoginLimiter:
    def __init__(self, limits: LoginLimits, clock: Callable[[], float] = time.monotonic) -> None:
        self.limits = limits
        self._clock = clock
        self._failures: dict[str, deque[float]] = {}
        self._attempts: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, table: dict[str, deque[float]], key: str, now: float) -> deque[float]:
        q = table.get(key)
        if q is None:
            if len(table) >= MAX_KEYS:
                table.pop(next(iter(table)))
            q = table[key] = deque()
        while q and q[0] <= now - self.limits.window_seconds:
            q.popleft()
        return q

    def attempt(self, user: str, address: str) -> float | None:
        """Record an attempt; seconds to wait when it is refused, else None."""
        now = self._clock()
        window = self.limits.window_seconds
        with self._lock:
            by_address = self._recent(self._attempts, address, now)
            failures = self._recent(self._failures, user.lower(), now)
            if len(by_address) >= self.limits.attempts_per_address:
                return max(1.0, math.ceil(by_address[0] + window - now))
            if len(failures) >= self.limits.failures_per_user:
                return max(1.0, math.ceil(failures[0] + window - now))
            by_address.append(now)
        return None

    def failed(self, user: str) -> None:
        now = self._clock()
        with self._lock:
            self._recent(self._failures, user.lower(), now).append(now)

    def succeeded(self, user: str) -> None:
        with self._lock:
            self._failures.pop(user.lower(), None)
