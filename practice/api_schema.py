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
    name = ["tokenAuth", "bearerAuth"]

    def get_security_requirement(self, auto_schema: Any) -> list[dict[str, list[Any]]]:
        return [{"tokenAuth": []}, {"bearerAuth": []}]  # either one

    def get_security_definition(self, auto_schema: Any) -> list[dict[str, Any]]:
        return [
            {
                "type": "apiKey",
                "in": "header",
                "name": "Authorization",
                "description": "A personal token from the API tokens page, sent as "
                "`Authorization: Token att_…`. It works in the practice it was made in only, "
                "with its owner's role.",
            },
            {
                "type": "http",
                "scheme": "bearer",
                "description": "The same personal token as `Authorization: Bearer att_…`, for "
                "clients that only speak bearer tokens.",
            },
        ]


# Every error code the API answers with: (code, status, when). docs/api.md lists the same
# table (a test holds them together), and the schema carries it in the Error schema.
ERROR_CODES: list[tuple[str, int, str]] = [
    (
        "invalid",
        400,
        "Fields are invalid or unknown; `fields` names each one (nested ones as "
        "`partners[1].email`, query parameters by name).",
    ),
    (
        "parse_error",
        400,
        "The body is not valid JSON, nests too deeply, or text holds a NUL "
        "character (also `%00` in a query).",
    ),
    (
        "not_authenticated",
        401,
        "No credentials, a malformed Authorization header, or a session "
        "that has ended. WWW-Authenticate names the schemes.",
    ),
    ("authentication_failed", 401, "The token is unknown, revoked, or its user deactivated."),
    ("permission_denied", 403, "A session call without a valid CSRF token (X-CSRFToken)."),
    (
        "two_factor_required",
        403,
        "The practice requires two-factor sign-in and this browser session has not proved one.",
    ),
    (
        "second_factor_required",
        403,
        "A sensitive change over a browser session needs a "
        "two-factor code from the last 15 minutes (tokens do not).",
    ),
    (
        "not_found",
        404,
        "No such object or path, or it is not yours to see: another "
        "practice's, or beyond your role. The same answer in every case.",
    ),
    ("method_not_allowed", 405, "The path exists but not with this method."),
    ("not_acceptable", 406, "The Accept header rules out JSON."),
    ("conflict", 409, "The object's state does not allow this now (the message says why)."),
    ("closed", 409, "Portal: the form was submitted, reopened elsewhere or cancelled."),
    ("email_failed", 409, "The invitation email could not be sent; nothing changed."),
    ("not_downloadable", 409, "The export is not ready, was already downloaded, or is gone."),
    ("expired", 410, "A download token or portal link is past its lifetime."),
    ("used", 410, "A single-use portal link was already used."),
    ("revoked", 410, "A portal link was withdrawn (a newer one was sent, or access ended)."),
    ("too_large", 413, "The body is over 2 MB."),
    (
        "unsupported_media_type",
        415,
        "The body is not JSON (the report download also takes a form field).",
    ),
    ("throttled", 429, "Too many calls; retry after the seconds in Retry-After."),
    ("server_error", 500, "Something failed on the server; nothing was half-written."),
    ("unavailable", 503, "The database or broker is briefly unreachable; try again."),
]

_CATALOGUE = "\n".join(f"- `{code}` ({status}): {when}" for code, status, when in ERROR_CODES)

ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message", "fields"],
            "properties": {
                "code": {
                    "type": "string",
                    "description": "What went wrong, for programs; stable across languages. "
                    "One of:\n\n" + _CATALOGUE,
                },
                "message": {
                    "type": "string",
                    "description": "For people, in the request's language.",
                },
                "fields": {
                    "type": "object",
                    "additionalProperties": {"type": "array", "items": {"type": "string"}},
                    "description": "Messages by field; nested ones as paths: partners[1].email. "
                    "Empty unless code is invalid.",
                },
            },
        }
    },
}

# What can make each operation answer 409 or 410, beyond the rules every call shares.
CONFLICTS = {
    "partners_invite": "`conflict`: the couple's case is closed; `email_failed`: the email "
    "could not be sent (nothing changed).",
    "instruments_publish": "`conflict`: already published, or a FHIR import still waits for "
    "its scales step.",
    "instruments_scales": "`conflict`: the instrument is not a draft waiting for its scales.",
    "assignments_set_status": "`conflict`: the assignment cannot change that way now (it is "
    "finished or cancelled), or the case is closed.",
    "responses_reopen": "`conflict`: the form is not submitted, or was cancelled.",
    "reports_action": "`conflict`: the report is not in a state for this action (only a "
    "failed or stalled report retries; only a ready couple report is released).",
    "members_set_role": "`conflict`: the practice would be left without an owner.",
    "members_remove": "`conflict`: the practice would be left without an owner.",
    "exports_download": "`not_downloadable`: not ready, already downloaded, or deleted.",
    "portal_forms_answers_partial_update": "`closed`: the form is submitted or cancelled.",
    "portal_forms_submit_create": "`closed`: the form was cancelled.",
}
GONE = {
    "reports_download": "`expired`: the download token is older than five minutes; get the "
    "report again for a fresh one.",
    "portal_session_create": "`used`, `expired` or `revoked`: the link cannot be used again; "
    "ask for a sign-in link.",
}
# Changes that need a fresh second factor over a browser session.
STEP_UP = {"members_invite", "members_set_role", "members_remove", "settings_update"}
STEP_UP |= {"practice_erase"}

_WRITES = {"post", "put", "patch", "delete"}


def _errors(path: str, method: str, operation: dict[str, Any]) -> dict[str, str]:
    """The error statuses this operation can really answer, each with what causes it."""
    op_id = operation["operationId"]
    staff = path.startswith("/api/v1/p/")
    portal = path.startswith("/api/v1/portal/")
    public = not any(operation.get("security") or [{}])
    write = method in _WRITES
    has_query = any(p["in"] == "query" for p in operation.get("parameters", []))
    errors: dict[str, str] = {}
    if "requestBody" in operation:
        errors["400"] = (
            "`invalid`: the body has invalid or unknown fields, each named in `fields`; "
            "`parse_error`: it is not valid JSON."
        )
    elif write:
        errors["400"] = (
            "`invalid`: this call takes no body, and a field was sent; "
            "`parse_error`: the body is not valid JSON."
        )
    elif has_query:
        errors["400"] = (
            "`invalid`: a query parameter is invalid (named in `fields`); "
            "`parse_error`: the query holds a NUL character."
        )
    else:
        errors["400"] = "`parse_error`: the query holds a NUL character."
    if not public:
        errors["401"] = (
            "`not_authenticated`: sign in to the portal again."
            if portal
            else "`not_authenticated`: no token or session (or the session ended); "
            "`authentication_failed`: the token is unknown or revoked."
        )
    forbidden = []
    if (staff or portal) and write and not public:
        forbidden.append("`permission_denied`: a session call without its CSRF token")
    if staff:
        forbidden.append(
            "`two_factor_required`: the practice requires two-factor sign-in and this "
            "browser session has not proved one"
        )
    if op_id in STEP_UP:
        forbidden.append(
            "`second_factor_required`: over a browser session, confirm a fresh code first"
        )
    if forbidden:
        errors["403"] = "; ".join(forbidden) + "."
    if staff:
        errors["404"] = (
            "`not_found`: no such practice or object, or not yours to see (another "
            "practice's, or beyond your role)."
        )
    elif "{" in path or public:
        errors["404"] = "`not_found`: no such object, or not yours."
    if op_id in CONFLICTS:
        errors["409"] = CONFLICTS[op_id]
    if op_id in GONE:
        errors["410"] = GONE[op_id]
    if write:
        errors["413"] = "`too_large`: the body is over 2 MB."
        errors["415"] = "`unsupported_media_type`: send JSON."
    errors["429"] = "`throttled`: too many calls; retry after the seconds in Retry-After."
    return errors


def add_error_responses(result: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """Each operation lists the errors it can really answer, all in the one error format;
    every operation has its own summary and description."""
    from drf_spectacular.drainage import warn

    components = result.setdefault("components", {}).setdefault("schemas", {})
    components["Error"] = ERROR_SCHEMA
    for name, component in components.items():
        # Request bodies are StrictSerializers: a field they do not name is refused.
        if name.endswith("Request") and component.get("type") == "object":
            component["additionalProperties"] = False
    info = result.setdefault("info", {})
    info["description"] = (
        info.get("description", "")
        + '\n\nEvery error answers `{"error": {"code", "message", "fields"}}`. '
        "The codes:\n\n" + _CATALOGUE
    )
    reference = {"$ref": "#/components/schemas/Error"}
    descriptions: dict[str, str] = {}
    known: set[str] = set()
    for path, item in result.get("paths", {}).items():
        for method, operation in item.items():
            if method not in {"get", *_WRITES}:
                continue
            op_id = operation["operationId"]
            known.add(op_id)
            if not operation.get("summary") or not operation.get("description"):
                warn(f"{op_id}: every operation needs a summary and a description")
            elif operation["description"] in descriptions:
                warn(
                    f"{op_id} shares its description with {descriptions[operation['description']]}"
                )
            else:
                descriptions[operation["description"]] = op_id
            responses = operation.setdefault("responses", {})
            for status in [s for s in responses if s.startswith("4")]:
                del responses[status]  # the table below is the one source
            for status, description in _errors(path, method, operation).items():
                responses[status] = {
                    "description": description,
                    "content": {"application/json": {"schema": reference}},
                }
    for op_id in (set(CONFLICTS) | set(GONE) | STEP_UP) - known:
        warn(f"error tables name an operation the API does not have: {op_id}")
    return result
