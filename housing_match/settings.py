"""Runtime settings, read from ``HOUSING_MATCH_*`` environment variables."""

from __future__ import annotations

from enum import StrEnum
from functools import lru_cache

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEVELOPMENT_SECRET = "development-only-secret"  # noqa: S105  # refused outside development
PLACEHOLDER_SECRETS = frozenset({"", "changethis", "change-me", "secret", DEVELOPMENT_SECRET})
DEFAULT_DATABASE_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/housing_match"


class Environment(StrEnum):
    DEVELOPMENT = "development"
    TEST = "test"
    PRODUCTION = "production"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HOUSING_MATCH_", extra="ignore")

    environment: Environment = Environment.DEVELOPMENT
    database_url: str = DEFAULT_DATABASE_URL
    # Peppers the API-key hashes: a stolen table of hashes is useless without it.
    secret_key: str = DEVELOPMENT_SECRET
    max_body_bytes: int = Field(default=1_048_576, ge=1_024)
    max_import_body_bytes: int = Field(default=64 * 1_048_576, ge=1_024)
    page_size_max: int = Field(default=500, ge=1)
    vacancy_ttl_days: int = Field(default=30, ge=1, description="Unrefreshed vacancies expire.")
    # 近傍同種: a rent per ㎡ beyond factor × (or below 1/factor ×) the local median is flagged.
    rent_balance_radius_m: int = Field(default=1_500, ge=100)
    rent_balance_factor: float = Field(default=1.5, gt=1.0)
    rent_balance_min_comparables: int = Field(default=5, ge=1)

    @model_validator(mode="after")
    def _refuse_placeholder_secrets(self) -> Settings:
        if self.environment is Environment.PRODUCTION and (
            self.secret_key in PLACEHOLDER_SECRETS or len(self.secret_key) < 32
        ):
            raise ValueError(
                "HOUSING_MATCH_SECRET_KEY must be a random value of at least 32 characters "
                "outside development; generate one with: "
                "python -c 'import secrets; print(secrets.token_urlsafe(48))'"
            )
        return self


@lru_cache
def get_settings() -> Settings:
    return Settings()
