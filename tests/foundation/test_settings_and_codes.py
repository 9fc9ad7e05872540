from __future__ import annotations

import pytest
from pydantic import ValidationError
from sqlalchemy import Engine, text

from housing_match.db import SESSION_SETTINGS
from housing_match.jurisdiction import (
    is_valid_municipality_code,
    jurisdiction_code_error,
    jurisdiction_contains,
)
from housing_match.settings import Environment, Settings


def test_placeholder_secret_is_refused_in_production() -> None:
    with pytest.raises(ValidationError, match="HOUSING_MATCH_SECRET_KEY"):
        Settings(environment=Environment.PRODUCTION, secret_key="changethis")
    with pytest.raises(ValidationError):
        Settings(environment=Environment.PRODUCTION)


def test_real_secret_is_accepted_in_production() -> None:
    settings = Settings(environment=Environment.PRODUCTION, secret_key="x" * 48)
    assert settings.secret_key == "x" * 48


def test_development_allows_the_default_secret() -> None:
    assert Settings(environment=Environment.DEVELOPMENT).secret_key


def test_settings_read_the_prefixed_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOUSING_MATCH_MAX_BODY_BYTES", "4096")
    assert Settings().max_body_bytes == 4096


@pytest.mark.parametrize(
    "code",
    ["011002", "131041", "271004", "252018", "141003", "401307", "472018"],
)
def test_real_municipality_codes_pass_the_check_digit(code: str) -> None:
    assert is_valid_municipality_code(code)


@pytest.mark.parametrize("code", ["271003", "481009", "27100", "27100a", "00", "48"])
def test_bad_codes_are_explained(code: str) -> None:
    assert jurisdiction_code_error(code) is not None


def test_jurisdiction_contains_by_city_or_prefecture() -> None:
    assert jurisdiction_contains(["27"], "271004")
    assert jurisdiction_contains(["252018"], "252018")
    assert not jurisdiction_contains(["252018"], "252069")
    assert not jurisdiction_contains(["27"], "131041")


def test_every_connection_runs_with_the_service_session_settings(engine: Engine) -> None:
    with engine.connect() as connection:
        for name, value in SESSION_SETTINGS.items():
            assert connection.execute(text(f"SHOW {name}")).scalar_one() == value
