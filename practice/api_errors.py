"""One error format for the whole API.

Every error body is ``{"error": {"code", "message", "fields"}}`` where
``fields`` maps a field name (dotted for nested fields) to its messages.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, JsonResponse
from django.utils.translation import gettext as _
from rest_framework import exceptions, status
from rest_framework.parsers import JSONParser
from rest_framework.response import Response


def _flatten(detail: Any, prefix: str = "") -> dict[str, list[str]]:
    fields: dict[str, list[str]] = {}
    if isinstance(detail, dict):
        for key, value in detail.items():
            if isinstance(key, int) or str(key).isdigit():
                name = f"{prefix}[{key}]"  # list items, as DRF reports them by index
            else:
                name = f"{prefix}.{key}" if prefix else str(key)
            fields.update(_flatten(value, name))
    elif isinstance(detail, list):
        if all(not isinstance(item, dict | list) for item in detail):
            fields[prefix or "non_field_errors"] = [str(item) for item in detail]
        else:
            for index, item in enumerate(detail):
                fields.update(_flatten(item, f"{prefix}[{index}]"))
    else:
        fields[prefix or "non_field_errors"] = [str(detail)]
    return fields


def has_nul(value: Any) -> bool:
    """Whether a parsed JSON value holds a NUL character in any key or string."""
    pending = [value]
    while pending:
        node = pending.pop()
        if isinstance(node, str):
            if "\x00" in node:
                return True
        elif isinstance(node, dict):
            if any(isinstance(key, str) and "\x00" in key for key in node):
                return True
            pending.extend(node.values())
        elif isinstance(node, list):
            pending.extend(node)
    return False


class SafeJSONParser(JSONParser):
    """JSON, but a body nested deeply enough to exhaust the stack is a 400, not a 500,
    and so is a NUL character (``\\u0000``), which no text column can store."""

    def parse(self, stream: Any, media_type: Any = None, parser_context: Any = None) -> Any:
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise exceptions.ParseError("JSON parse error - nested too deeply.") from None
        if has_nul(data):
            raise exceptions.ParseError("JSON parse error - text may not contain \\u0000.")
        return data


# What a 401 answers in WWW-Authenticate (RFC 9110): the schemes the API accepts.
API_CHALLENGE = 'Token realm="api", Bearer realm="api"'


def api_error(
    status_code: int, code: str, message: str, *, challenge: str = API_CHALLENGE
) -> JsonResponse:
    """A JSON error in the API's error format, for middleware that answers before DRF."""
    response = JsonResponse(
        {"error": {"code": code, "message": message, "fields": {}}}, status=status_code
    )
    if status_code == 401:
        response["WWW-Authenticate"] = challenge
    return response


def drf_error(exc: DjangoValidationError) -> exceptions.ValidationError:
    """A service's Django ValidationError in the API's error format."""
    if hasattr(exc, "error_dict"):
        return exceptions.ValidationError(
            {k: [str(m) for m in v] for k, v in exc.message_dict.items()}
        )
    return exceptions.ValidationError({"non_field_errors": exc.messages})


def one_of(values: Any) -> str:
    """The message for a value outside a fixed list, naming the list."""
    return _("Must be one of: %(values)s.") % {"values": ", ".join(values)}


class Conflict(exceptions.APIException):
    """The object's state does not allow this (409), in the one error format."""

    status_code = status.HTTP_409_CONFLICT
    default_detail = "The object is in a state that does not allow this."
    default_code = "conflict"

    def __init__(self, message: str | None = None, code: str = "conflict") -> None:
        super().__init__(message or self.default_detail, code)


class PayloadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The request body is too large."
    default_code = "too_large"


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """Wrap DRF's handler so every error has the same shape."""
    # Imported here, not at the top: rest_framework.views resolves DEFAULT_PARSER_CLASSES,
    # which names SafeJSONParser in this module, while it is imported, and the middleware
    # imports this module (for api_error) before DRF is loaded.
    from rest_framework.views import exception_handler as drf_exception_handler

    if isinstance(exc, RequestDataTooBig):
        exc = PayloadTooLarge()
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        fields = _flatten(exc.detail)
        body = {
            "error": {
                "code": "invalid",
                "message": _("The request has invalid fields."),
                "fields": fields,
            }
        }
    else:
        detail = getattr(exc, "detail", None)
        code = detail.code if hasattr(detail, "code") else "error"  # type: ignore[union-attr]
        body = {"error": {"code": code, "message": str(detail or exc), "fields": {}}}
    response.data = body
    if response.status_code == status.HTTP_401_UNAUTHORIZED and "WWW-Authenticate" not in response:
        response["WWW-Authenticate"] = 'Token realm="api", Bearer realm="api"'
    return response
