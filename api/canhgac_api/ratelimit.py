"""Token-bucket rate limiting per key (an agent id, a client address), kept in memory."""

from __future__ import annotations

import time


class RateLimiter:
    def __init__(self, rate_per_s: float, burst: int, max_keys: int = 200_000) -> None:
        self.rate = rate_per_s
        self.burst = float(burst)
        self.max_keys = max_keys
        self._buckets: dict[str, tuple[float, float]] = {}  # key → (tokens, last refill)

    def allow(self, key: str) -> tuple[bool, float]:
        """Take one token for `key`; returns (allowed, seconds until the next token if refused)."""
        now = time.monotonic()
        tokens, last = self._buckets.get(key, (self.burst, now))
        tokens = min(self.burst, tokens + (now - last) * self.rate)
        if tokens < 1.0:
            self._buckets[key] = (tokens, now)
            return False, (1.0 - tokens) / self.rate
        if len(self._buckets) >= self.max_keys and key not in self._buckets:
            self._buckets.clear()  # bounded memory; a reset only makes the limiter lenient briefly
        self._buckets[key] = (tokens - 1.0, now)
        return True, 0.0
