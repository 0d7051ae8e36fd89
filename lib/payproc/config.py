"""Environment settings, read once per Lambda container (the environment never changes during its life)."""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass

DEFAULT_INGEST_CHUNK_BYTES = 256 * 1024 * 1024
DEFAULT_PAYMENT_WAIT_SECONDS = 5
DEFAULT_PAYMENT_MAX_WAIT_SECONDS = 60
# The per-client limits' defaults (docs/payments.md, "The public page"; Terraform's lookup_limit and
# failed_payment_limits set them).
DEFAULT_LOOKUPS_PER_WINDOW = 60
DEFAULT_LOOKUP_WINDOW_SECONDS = 60
DEFAULT_FAILED_PAYMENTS_PER_CLIENT = 10
DEFAULT_FAILED_PAYMENTS_PER_INVOICE = 5
DEFAULT_FAILED_PAYMENTS_PER_CARD = 3
DEFAULT_FAILED_PAYMENT_WINDOW_SECONDS = 3600


class ConfigError(RuntimeError):
    """A setting a function needs is missing or invalid."""


@dataclass(frozen=True)
class Settings:
    """Every setting of every function; each function reads only the ones it needs through require()."""

    balance_table: str | None
    payments_table: str | None
    salary_table: str | None
    limits_table: str | None
    state_machine_arn: str | None
    card_fingerprint_key_parameter: str | None
    sender_email: str | None
    allowed_origin: str | None
    payment_wait_seconds: int
    payment_max_wait_seconds: int
    ingest_chunk_bytes: int
    lookups_per_window: int
    lookup_window_seconds: int
    failed_payments_per_client: int
    failed_payments_per_invoice: int
    failed_payments_per_card: int
    failed_payment_window_seconds: int

    def require(self, name: str) -> str:
        """Return the named setting, or raise ConfigError naming its env var when it is unset."""
        value = getattr(self, name)
        if not value:
            raise ConfigError(f"environment variable {name.upper()} is not set")
        return value


def _int_setting(env_name: str, default: int, minimum: int) -> int:
    raw = os.environ.get(env_name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{env_name} must be an integer, got {raw!r}") from None
    if value < minimum:
        raise ConfigError(f"{env_name} must be >= {minimum}, got {value}")
    return value


def _allowed_origin() -> str | None:
    origin = os.environ.get("ALLOWED_ORIGIN", "").strip() or None
    # A wildcard would let any page read balances and payment states with the user's browser.
    if origin == "*":
        raise ConfigError("ALLOWED_ORIGIN must name the site's origin, never '*'")
    return origin


@functools.lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The settings of this process, read from the environment on first use."""
    return Settings(
        balance_table=os.environ.get("BALANCE_TABLE") or None,
        payments_table=os.environ.get("PAYMENTS_TABLE") or None,
        salary_table=os.environ.get("SALARY_TABLE") or None,
        limits_table=os.environ.get("LIMITS_TABLE") or None,
        state_machine_arn=os.environ.get("STATE_MACHINE_ARN") or None,
        card_fingerprint_key_parameter=os.environ.get("CARD_FINGERPRINT_KEY_PARAMETER") or None,
        sender_email=os.environ.get("SENDER_EMAIL") or None,
        allowed_origin=_allowed_origin(),
        payment_wait_seconds=_int_setting("PAYMENT_WAIT_SECONDS", DEFAULT_PAYMENT_WAIT_SECONDS, 0),
        payment_max_wait_seconds=_int_setting("PAYMENT_MAX_WAIT_SECONDS", DEFAULT_PAYMENT_MAX_WAIT_SECONDS, 0),
        ingest_chunk_bytes=_int_setting("INGEST_CHUNK_BYTES", DEFAULT_INGEST_CHUNK_BYTES, 1),
        lookups_per_window=_int_setting("LOOKUPS_PER_WINDOW", DEFAULT_LOOKUPS_PER_WINDOW, 1),
        lookup_window_seconds=_int_setting("LOOKUP_WINDOW_SECONDS", DEFAULT_LOOKUP_WINDOW_SECONDS, 1),
        failed_payments_per_client=_int_setting("FAILED_PAYMENTS_PER_CLIENT", DEFAULT_FAILED_PAYMENTS_PER_CLIENT, 1),
        failed_payments_per_invoice=_int_setting("FAILED_PAYMENTS_PER_INVOICE", DEFAULT_FAILED_PAYMENTS_PER_INVOICE, 1),
        failed_payments_per_card=_int_setting("FAILED_PAYMENTS_PER_CARD", DEFAULT_FAILED_PAYMENTS_PER_CARD, 1),
        failed_payment_window_seconds=_int_setting(
            "FAILED_PAYMENT_WINDOW_SECONDS", DEFAULT_FAILED_PAYMENT_WINDOW_SECONDS, 1
        ),
    )


def reload_settings() -> Settings:
    """Forget the cached settings and read the environment again (tests change it between cases)."""
    get_settings.cache_clear()
    return get_settings()
