"""The server the bench and the load test measure: started, healthy, and stopped whole."""

from __future__ import annotations

import os
import time

import httpx
import pytest

from housing_match.middleware import server_time_ms
from housing_match.served import serve
from housing_match.testing import database_url_for_tests


def test_a_served_api_stops_with_every_worker(request: pytest.FixtureRequest) -> None:
    worker = getattr(request.config, "workerinput", {}).get("workerid")
    with serve(database_url_for_tests(worker), workers=2) as server:
        health = httpx.get(f"{server.base_url}/health", timeout=10)
        assert health.status_code == 200
        assert server_time_ms(health.headers["server-timing"]) is not None
        os.killpg(server.process_group, 0)  # running
    assert _group_gone(server.process_group)
    assert not server.log_path.exists()


def _group_gone(group: int, *, within_s: float = 10.0) -> bool:
    # A killed process stays a zombie in its group until the init process reaps it.
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        try:
            os.killpg(group, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.1)
    return False
