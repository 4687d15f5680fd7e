"""Who may write and how often: bearer API keys (RAG_API_KEYS for writes, RAG_READ_API_KEYS to close reads too),
compared in constant time and never logged, and token-bucket rate limits (writes per key, questions per client)
that answer 429 with Retry-After."""

from __future__ import annotations

import hashlib
import hmac
import math
import threading
import time

from fastapi import HTTPException, Request

from rag.settings import Settings

_BEARER = "bearer "


def _presented_key(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    if not header.lower().startswith(_BEARER):
        return None
    return header[len(_BEARER):].strip() or None


def _matches(key: str, keys: list[str]) -> bool:
    # Every key is compared, each in constant time, so the time taken says nothing about which one came close.
    found = False
    for candidate in keys:
        found |= hmac.compare_digest(key.encode(), candidate.encode())
    return found


def _unauthorized(message: str) -> HTTPException:
    return HTTPException(401, message, headers={"WWW-Authenticate": "Bearer"})


def writer_key(request: Request, settings: Settings) -> str:
    """The caller's write key, or 403 when writes are off (no RAG_API_KEYS) and 401 when the key is missing or
    wrong. Returned as a digest: it names the rate-limit bucket without keeping the key itself."""
    if not settings.api_keys:
        raise HTTPException(403, "writes are disabled: set RAG_API_KEYS to a JSON list of keys, e.g. "
                                 "RAG_API_KEYS='[\"a-long-random-key\"]', and send Authorization: Bearer <key>")
    key = _presented_key(request)
    if key is None:
        raise _unauthorized("this needs an API key: send Authorization: Bearer <key> (a key of RAG_API_KEYS)")
    if not _matches(key, settings.api_keys):
        raise _unauthorized("invalid API key")
    return hashlib.sha256(key.encode()).hexdigest()[:16]


def check_reader(request: Request, settings: Settings) -> None:
    """Reads are open unless RAG_READ_API_KEYS is set; then a read key or a write key is needed (401)."""
    if not settings.read_api_keys:
        return
    key = _presented_key(request)
    if key is None:
        raise _unauthorized("this collection needs an API key to read: send Authorization: Bearer <key>")
    if not _matches(key, [*settings.read_api_keys, *settings.api_keys]):
        raise _unauthorized("invalid API key")


class RateLimiter:
    """A token bucket per name: `per_minute` requests a minute on average, bursts up to the same number."""

    MAX_BUCKETS = 10_000  # past this, the fullest (idlest) buckets are forgotten: memory stays bounded

    def __init__(self, per_minute: float, what: str):
        self.rate = per_minute / 60.0
        self.capacity = max(1.0, per_minute)
        self.what = what
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def check(self, name: str) -> None:
        """Take a token for `name`, or 429 with the seconds until one is back."""
        if self.rate <= 0:
            return
        now = time.monotonic()
        with self._lock:
            tokens, last = self._buckets.get(name, (self.capacity, now))
            tokens = min(self.capacity, tokens + (now - last) * self.rate)
            if tokens < 1:
                wait = math.ceil((1 - tokens) / self.rate)
                self._buckets[name] = (tokens, now)
                raise HTTPException(429, f"too many {self.what}; retry in {wait} s", headers={"Retry-After": str(wait)})
            self._buckets[name] = (tokens - 1, now)
            if len(self._buckets) > self.MAX_BUCKETS:
                for stale in sorted(self._buckets, key=lambda n: -self._buckets[n][0])[:len(self._buckets) // 2]:
                    del self._buckets[stale]
