"""API Gateway (REST, Lambda proxy) requests and responses: JSON bodies, CORS for the site's origin only, and every
error answer rendered in one place: code below a handler raises ApiError, api_handler turns it into the response.

Our own rather than powertools' APIGatewayRestResolver: each function serves one route, so its router adds nothing, and
its CORS answers only a request whose Origin matches, where ours always names the site's origin.
"""

from __future__ import annotations

import base64
import functools
import json
from decimal import Decimal
from typing import Any, Callable, Mapping

from aws_lambda_powertools.logging.correlation_paths import API_GATEWAY_REST

from payproc.config import ConfigError, get_settings
from payproc.telemetry import instrumented, logger

JSON_CONTENT_TYPE = "application/json"


class ApiError(Exception):
    """An answer other than success: the status, a message, the reason of each field at fault (if any), and any
    header the answer needs (Retry-After)."""

    def __init__(
        self,
        status: int,
        message: str,
        errors: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status, self.message, self.errors, self.headers = status, message, dict(errors or {}), dict(headers or {})


class BadRequest(ApiError):
    """A request whose body cannot be read as a JSON object: 400, the body at fault."""

    def __init__(self, message: str) -> None:
        super().__init__(400, message, {"body": message})


def json_default(value: Any) -> Any:
    """json.dumps default: a whole Decimal becomes an int, any other Decimal its exact string (never a float)."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def to_json(value: Any) -> str:
    """Serialize to compact JSON with Decimal support and stable key order."""
    return json.dumps(value, default=json_default, separators=(",", ":"), sort_keys=True)


def cors_headers() -> dict[str, str]:
    """CORS headers naming the site's origin (ALLOWED_ORIGIN); none when it is unset, and never '*'."""
    try:
        origin = get_settings().allowed_origin
    except ConfigError:  # a misconfigured origin must not turn every error response into a crash
        return {}
    if not origin:
        return {}
    return {"Access-Control-Allow-Origin": origin, "Vary": "Origin"}


def json_response(status: int, body: Any, headers: Mapping[str, str] | None = None) -> dict[str, Any]:
    """A Lambda proxy response with a JSON body and the CORS headers."""
    return {
        "statusCode": status,
        "headers": {"Content-Type": JSON_CONTENT_TYPE, **cors_headers(), **(headers or {})},
        "body": to_json(body),
    }


def error_response(error: ApiError) -> dict[str, Any]:
    """An error response: {"message": ...} plus {"errors": {field: reason}} when fields are at fault."""
    body: dict[str, Any] = {"message": error.message}
    if error.errors:
        body["errors"] = error.errors
    return json_response(error.status, body, error.headers)


def header(event: Mapping[str, Any], name: str) -> str | None:
    """A request header by case-insensitive name (API Gateway keeps the client's spelling)."""
    wanted = name.lower()
    for key, value in (event.get("headers") or {}).items():
        if key.lower() == wanted:
            return value
    return None


def client_address(event: Mapping[str, Any]) -> str:
    """The address the request came from, as API Gateway saw the connection (never a header the client sent, such as
    X-Forwarded-For, which anyone can write)."""
    return ((event.get("requestContext") or {}).get("identity") or {}).get("sourceIp") or "unknown"


def path_parameter(event: Mapping[str, Any], name: str) -> str | None:
    """A path parameter of the matched route, or None."""
    return (event.get("pathParameters") or {}).get(name)


def query_parameter(event: Mapping[str, Any], name: str) -> str | None:
    """A query-string parameter, or None."""
    return (event.get("queryStringParameters") or {}).get(name)


def json_body(event: Mapping[str, Any]) -> dict[str, Any]:
    """The request body as a JSON object (numbers as Decimal, never float); raise BadRequest otherwise."""
    raw = event.get("body")
    if raw is None or raw == "":
        raise BadRequest("the body must be a JSON object")
    if event.get("isBase64Encoded"):
        try:
            raw = base64.b64decode(raw).decode("utf-8")
        except (ValueError, UnicodeDecodeError):
            raise BadRequest("the body is not valid base64 UTF-8") from None
    try:
        parsed = json.loads(raw, parse_float=Decimal, parse_constant=_refuse_constant)
    except (ValueError, RecursionError):
        raise BadRequest("the body is not valid JSON") from None
    if not isinstance(parsed, dict):
        raise BadRequest("the body must be a JSON object")
    return parsed


def _refuse_constant(name: str) -> Any:
    # json.loads accepts NaN/Infinity by default; they are not JSON and never money.
    raise ValueError(f"{name} is not allowed")


ApiHandler = Callable[[dict[str, Any], Any], dict[str, Any]]


def api_handler(handle: ApiHandler) -> ApiHandler:
    """Wrap an API handler so an ApiError is its JSON answer and an unexpected error a JSON 500 (both with CORS
    headers), the latter logged without the request; and instrument it (payproc.telemetry) with API Gateway's request
    id as every line's correlation_id."""

    @functools.wraps(handle)
    def wrapped(event: dict[str, Any], context: Any) -> dict[str, Any]:
        try:
            return handle(event, context)
        except ApiError as error:
            return error_response(error)
        except Exception:  # the request body may hold a card number, so only the traceback is logged
            logger.exception("unhandled_error")
            return error_response(ApiError(500, "internal error; retry later"))

    return instrumented(wrapped, correlation_id_path=API_GATEWAY_REST)
