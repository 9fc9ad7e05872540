from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from housing_match.settings import get_settings


@pytest.fixture
def https_client(app: FastAPI) -> Iterator[TestClient]:
    """A browser on HTTPS: outside development the cookies are Secure and go nowhere else."""
    with TestClient(app, base_url="https://testserver", raise_server_exceptions=False) as client:
        yield client


@pytest.fixture
def long_delays(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Delays long enough that a slow test machine never outlasts one between two requests."""
    monkeypatch.setenv("HOUSING_MATCH_SIGN_IN_DELAY_BASE_SECONDS", "60")
    monkeypatch.setenv("HOUSING_MATCH_SIGN_IN_DELAY_MAX_SECONDS", "3600")
    get_settings.cache_clear()
    yield
    monkeypatch.delenv("HOUSING_MATCH_SIGN_IN_DELAY_BASE_SECONDS")
    monkeypatch.delenv("HOUSING_MATCH_SIGN_IN_DELAY_MAX_SECONDS")
    get_settings.cache_clear()
