"""Feature store fixtures: an online store per backend (SQLite file, Redis DB 7 + worker)."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from conveyor.config import reset_settings
from conveyor.features.lookup import reset_lookups

# each pytest-xdist worker (gw0, gw1, ...) flushes a Redis database of its own: 7, 8, ...
_WORKER = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw") or 0)
REDIS_URL = os.environ.get("CONVEYOR_TEST_REDIS_URL", f"redis://127.0.0.1:6379/{7 + _WORKER}")


@pytest.fixture(autouse=True)
def _fresh_lookups() -> Iterator[None]:
    reset_lookups()
    yield
    reset_lookups()


def redis_or_skip() -> str:
    import redis

    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1)
    try:
        client.ping()
    except redis.RedisError as exc:
        message = f"Redis not reachable at {REDIS_URL}: {exc}"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message + " (CI=true: Redis-backed tests must run)")
        pytest.skip(message)
    client.flushdb()  # only the test database
    client.close()
    return REDIS_URL


@pytest.fixture(params=["sqlite", pytest.param("redis", marks=pytest.mark.redis)])
def online_url(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """The online store URL, set as the setting: embedded SQLite, then Redis."""
    if request.param == "sqlite":
        url = ""  # the default: <home>/features/online.db
    else:
        url = redis_or_skip()
        monkeypatch.setenv("CONVEYOR_FEATURES_ONLINE_URL", url)
    reset_settings()
    return request.param
