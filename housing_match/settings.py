"""Runtime settings, read from ``HOUSING_MATCH_*`` environment variables."""

from __future__ import annotations

from enum import StrEnum
from functools import lru_cache

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEVELOPMENT_SECRET = "development-only-secret"  # noqa: S105  # refused outside development
PLACEHOLDER_SECRETS = frozenset({"", "changethis", "change-me", "secret", DEVELOPMENT_SECRET})
DEFAULT_DATABASE_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/housing_match"
# 国土地理院's standard map, with the attribution its terms ask for.
GSI_STANDARD_TILES = "https://cyberjapandata.gsi.go.jp/xyz/std/{z}/{x}/{y}.png"
GSI_ATTRIBUTION_URL = "https://maps.gsi.go.jp/development/ichiran.html"
# The matcher's ranking factors and their default weights (housing_match/matching/rules.py).
DEFAULT_MATCH_WEIGHTS: dict[str, float] = {
    "anchor_distance": 3.0,
    "rent_headroom": 2.0,
    "floor_area": 1.0,
    "accessibility": 1.0,
    "coverage_strength": 2.0,
    "freshness": 1.0,
    "class_fit": 1.0,
    "preferred_area": 1.0,
}


class Environment(StrEnum):
    DEVELOPMENT = "development"
    TEST = "test"
    PRODUCTION = "production"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HOUSING_MATCH_", extra="ignore")

    environment: Environment = Environment.DEVELOPMENT
    database_url: str = DEFAULT_DATABASE_URL
    # Connections each API process keeps open. Sync endpoints run on a pool of 40 threads, so
    # fewer kept connections means opening and closing one (a new server process) per request
    # beyond them; each process may open db_max_overflow more for bursts.
    db_pool_size: int = Field(default=20, ge=1)
    db_max_overflow: int = Field(default=20, ge=0)
    # Peppers the API-key hashes: a stolen table of hashes is useless without it.
    secret_key: str = DEVELOPMENT_SECRET
    max_body_bytes: int = Field(default=1_048_576, ge=1_024)
    max_import_body_bytes: int = Field(default=64 * 1_048_576, ge=1_024)
    # Rows (CSV records) or features one import request may hold: what an import costs goes
    # with its rows, and this bounds it. Larger registers are split, or imported by the CLI.
    import_max_rows: int = Field(default=100_000, ge=1)
    page_size_max: int = Field(default=500, ge=1)
    vacancy_ttl_days: int = Field(default=30, ge=1, description="Unrefreshed vacancies expire.")
    # 近傍同種: a rent per ㎡ beyond factor × (or below 1/factor ×) the local median is flagged.
    rent_balance_radius_m: int = Field(default=1_500, ge=100)
    rent_balance_factor: float = Field(default=1.5, gt=1.0)
    rent_balance_min_comparables: int = Field(default=5, ge=1)
    # Municipal audit: a live vacancy unconfirmed this long is stale well before it expires.
    audit_stale_vacancy_days: int = Field(default=14, ge=1)
    audit_few_candidates: int = Field(default=3, ge=1, description="Unmet demand: 'few' is ≤ this.")

    # Matching (issue 4): ranking weights (a request may override them), limits.
    match_weights: dict[str, float] = Field(default_factory=lambda: dict(DEFAULT_MATCH_WEIGHTS))
    allocation_max_persons: int = Field(default=100, ge=1)

    # Referrals (issue 5): how long a referral holds its vacancy, when a quiet one has stalled.
    referral_hold_hours: int = Field(default=72, ge=1, le=24 * 30)
    referral_stall_days: int = Field(default=3, ge=1, le=90)
    # Webhooks: delivery attempts with exponential backoff (base × 2^(attempt-1), capped).
    webhook_max_attempts: int = Field(default=8, ge=1, le=50)
    webhook_backoff_base_seconds: float = Field(default=30.0, ge=0.0)
    webhook_backoff_max_seconds: float = Field(default=6 * 3600.0, ge=0.0)
    webhook_timeout_seconds: float = Field(default=10.0, gt=0.0, le=60.0)
    # A claimed delivery is due again after this if its worker died mid-call.
    webhook_lease_seconds: int = Field(default=120, ge=1)
    webhook_poll_seconds: float = Field(default=5.0, gt=0.0)
    # Plain http to 127.0.0.1/localhost, for tests and local receivers; refused in production.
    webhook_allow_http_loopback: bool = False

    # Staff accounts. Invitation links are built on public_base_url (the address people open).
    public_base_url: str = "http://127.0.0.1:8000"
    invitation_hours: int = Field(default=72, ge=1, le=24 * 30)
    # A web session ends after this long without a request, and this long after sign-in anyway.
    session_idle_minutes: int = Field(default=30, ge=1)
    session_absolute_hours: int = Field(default=12, ge=1)
    # Time allowed between a right password and its TOTP code.
    session_totp_step_minutes: int = Field(default=5, ge=1, le=60)
    password_min_length: int = Field(default=12, ge=8, le=128)
    # Failed sign-ins of one account: the first few are free, then each waits twice as long as
    # the last (from sign_in_delay_base_seconds), and sign_in_lock_failures in a row lock the
    # account for sign_in_lock_minutes or until a manager lifts the lock.
    sign_in_free_failures: int = Field(default=3, ge=0)
    sign_in_delay_base_seconds: float = Field(default=1.0, gt=0.0)
    sign_in_delay_max_seconds: float = Field(default=300.0, gt=0.0)
    sign_in_lock_failures: int = Field(default=10, ge=1)
    sign_in_lock_minutes: int = Field(default=30, ge=1)
    # Failed sign-ins from one client address across accounts (password spraying): free up to
    # this many within the window, then the same growing delay.
    sign_in_address_free_failures: int = Field(default=20, ge=0)
    sign_in_address_window_minutes: int = Field(default=15, ge=1)

    # Failed authentication of the API and of session cookies (an unknown, expired or revoked
    # key; a cookie of no live session): after this many failures within the window from one
    # client address, or with one key prefix from any address, every request so identified
    # gets 429 until the window ends. 0 turns a limit off.
    auth_failures_per_address: int = Field(default=30, ge=0)
    auth_failures_per_key_prefix: int = Field(default=10, ge=0)
    auth_failure_window_seconds: int = Field(default=300, ge=1)
    # Expensive operations: requests per organisation per window (rate_limit_window_seconds);
    # beyond, 429 until the window ends. 0 turns a limit off.
    rate_limit_window_seconds: int = Field(default=60, ge=1)
    rate_limit_match: int = Field(default=60, ge=0, description="Matches and explanations.")
    rate_limit_allocation: int = Field(default=10, ge=0)
    rate_limit_import: int = Field(default=10, ge=0, description="Bulk imports, dry runs too.")
    rate_limit_export: int = Field(default=20, ge=0, description="CSV and GeoJSON exports.")

    @property
    def secure_cookies(self) -> bool:
        """Cookies are sent over HTTPS only, except on a developer's plain-HTTP machine."""
        return self.environment is not Environment.DEVELOPMENT

    # The web pages' map background: an XYZ tile URL template, or empty for no tiles (a closed
    # network without a tile server; markers and circles still show on a plain background).
    map_tile_url: str = GSI_STANDARD_TILES
    map_tile_attribution: str = "地理院タイル"
    map_tile_attribution_url: str = GSI_ATTRIBUTION_URL
    map_tile_max_zoom: int = Field(default=18, ge=1, le=22)

    @field_validator("map_tile_url")
    @classmethod
    def _tile_template(cls, value: str) -> str:
        value = value.strip()
        if value and not (
            value.startswith(("https://", "http://", "/"))
            and all(part in value for part in ("{z}", "{x}", "{y}"))
        ):
            raise ValueError("a tile URL is http(s) or a path, with {z}, {x} and {y}; or empty")
        return value

    @field_validator("match_weights")
    @classmethod
    def _known_match_weights(cls, value: dict[str, float]) -> dict[str, float]:
        unknown = sorted(set(value) - set(DEFAULT_MATCH_WEIGHTS))
        if unknown:
            raise ValueError(f"unknown ranking factors: {', '.join(unknown)}")
        if any(weight < 0 for weight in value.values()):
            raise ValueError("ranking weights cannot be negative")
        return DEFAULT_MATCH_WEIGHTS | value

    @model_validator(mode="after")
    def _https_webhooks_in_production(self) -> Settings:
        if self.environment is Environment.PRODUCTION and self.webhook_allow_http_loopback:
            raise ValueError("HOUSING_MATCH_WEBHOOK_ALLOW_HTTP_LOOPBACK is for tests only")
        return self

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
