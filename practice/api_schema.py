"""OpenAPI descriptions of our own authentication classes (drf-spectacular extensions)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class PortalSessionScheme(OpenApiAuthenticationExtension):
    target_class = "practice.api_auth.PortalSessionAuthentication"
    name = "portalSession"

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        return {
            "type": "apiKey",
            "in": "cookie",
            "name": "sessionid",
            "description": "A partner's portal session (from an invitation or sign-in link), "
            "with the CSRF token in the X-CSRFToken header.",
        }


class ApiTokenScheme(OpenApiAuthenticationExtension):
    target_class = "practice.api_auth.ApiTokenAuthentication"
    name = "tokenAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "A personal token from Settings → API tokens: `Token att_…`.",
        }


ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message", "fields"],
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "fields": {
                    "type": "object",
                    "additionalProperties": {"type": "array", "items": {"type": "string"}},
                    "description": "Messages by field; nested ones dotted: partners[1].email",
                },
            },
        }
    },
}
_ERRORS = {
    "400": "Invalid input; `fields` says which and why.",
    "401": "Not signed in, or the token is invalid or revoked.",
    "403": "Refused (for session calls: a missing CSRF token).",
    "404": "Not found, or not yours to see.",
    "405": "Method not allowed.",
    "409": "The object is in a state that does not allow this.",
    "413": "The request body is too large.",
    "415": "Send JSON.",
    "429": "Too many requests; retry after the time in Retry-After.",
}


def add_error_responses(result: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """Every operation can answer with the one error format; say so in the contract."""
    components = result.setdefault("components", {}).setdefault("schemas", {})
    components["Error"] = ERROR_SCHEMA
    reference = {"$ref": "#/components/schemas/Error"}
    for path in result.get("paths", {}).values():
        for method, operation in path.items():
            if method not in {"get", "post", "put", "patch", "delete"}:
                continue
            responses = operation.setdefault("responses", {})
            for status, description in _ERRORS.items():
                if status in {"413", "415"} and method in {"get", "delete"}:
                    continue
                responses.setdefault(
                    status,
                    {
                        "description": description,
                        "content": {"application/json": {"schema": reference}},
                    },
                )
    return result
