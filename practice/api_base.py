"""Building blocks every API view shares: strict input, role permissions, paging, throttles."""

from __future__ import annotations

import base64
import functools
from collections.abc import Callable, Mapping
from typing import Any
from urllib import parse

from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiParameter
from rest_framework import pagination, permissions, serializers
from rest_framework.exceptions import NotAuthenticated, NotFound, ValidationError
from rest_framework.request import Request
from rest_framework.views import APIView

from practice.api_throttles import refusals
from practice.models import Membership, Practice, User
from practice.requests import practice_request
from practice.roles import Can, can


class StrictSerializer(serializers.Serializer):
    # Refuses fields it does not know instead of silently ignoring them. (A comment, not a
    # docstring: drf-spectacular would print a docstring on every request schema.)

    def to_internal_value(self, data: Any) -> Any:
        unknown: dict[str, list[str]] = {}
        if isinstance(data, Mapping):
            writable = {name for name, field in self.fields.items() if not field.read_only}
            unknown = {name: [str(_("Unknown field."))] for name in sorted(set(data) - writable)}
        try:
            value = super().to_internal_value(data)
        except serializers.ValidationError as exc:
            detail = (
                exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
            )
            raise serializers.ValidationError({**detail, **unknown}) from None
        if unknown:
            raise serializers.ValidationError(unknown)
        return value


def refuse_body(request: Request) -> None:
    """A call that takes no body refuses one: a non-JSON body is 415, any field is unknown."""
    data = request.data  # parsing it is what turns a wrong content type into a 415
    if data is None or (isinstance(data, Mapping) and not data):
        return
    if isinstance(data, Mapping):
        raise ValidationError({str(name): [str(_("Unknown field."))] for name in sorted(data)})
    raise ValidationError({"non_field_errors": [str(_("This call takes no body."))]})


def no_body(method: Callable[..., Any]) -> Callable[..., Any]:
    """Mark a write handler that takes no body: anything sent is refused, not ignored."""

    @functools.wraps(method)
    def handler(view: APIView, request: Request, *args: Any, **kwargs: Any) -> Any:
        refuse_body(request)
        return method(view, request, *args, **kwargs)

    return handler


def capability(needed: Can) -> type[permissions.BasePermission]:
    """A permission: the member's role grants ``needed``; otherwise the resource does not exist."""

    class HasCapability(permissions.BasePermission):
        def has_permission(self, request: Request, view: APIView) -> bool:
            if not can(getattr(request, "membership", None), needed):
                raise NotFound
            return True

    HasCapability.__name__ = f"Can{needed.value.title().replace('_', '')}"
    return HasCapability


class IsMember(permissions.BasePermission):
    """Signed in (session or token) and a member of the practice in the URL."""

    def has_permission(self, request: Request, view: APIView) -> bool:
        return bool(request.user and request.user.is_authenticated) and (
            getattr(request, "membership", None) is not None
        )


MAX_PAGE_SIZE = 200


class Cursor(pagination.CursorPagination):
    """Cursor paging: stable under inserts and no COUNT(*) over big tables.

    A ``limit`` that is not a whole number from 1 to 200, or a ``cursor`` this
    API did not hand out, is a 400 naming the parameter, never a silent default.
    """

    page_size = 50
    max_page_size = MAX_PAGE_SIZE
    page_size_query_param = "limit"
    ordering = "-created_at"

    def get_page_size(self, request: Request) -> int:
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        try:
            size = int(raw)
        except ValueError:
            size = 0
        if not 1 <= size <= self.max_page_size:
            raise ValidationError(
                {
                    self.page_size_query_param: [
                        str(_("A whole number from 1 to %(max)d.") % {"max": self.max_page_size})
                    ]
                }
            )
        return size

    def decode_cursor(self, request: Request) -> Any:
        encoded = request.query_params.get(self.cursor_query_param)
        if encoded is None:
            return None
        # DRF's own decoding skips characters outside base64, so "%%%" would read as "the
        # first page"; a cursor must be exactly what this API encoded.
        try:
            fields = parse.parse_qs(
                base64.b64decode(encoded, validate=True).decode("ascii"),
                keep_blank_values=True,
                strict_parsing=True,
            )
        except ValueError:
            raise _bad_cursor() from None
        if not fields or set(fields) - {"o", "r", "p"}:
            raise _bad_cursor()
        try:
            return super().decode_cursor(request)
        except NotFound:
            raise _bad_cursor() from None

    def paginate_queryset(self, queryset: Any, request: Request, view: Any = None) -> Any:
        try:
            return super().paginate_queryset(queryset, request, view)
        except (DjangoValidationError, ValueError, TypeError, OverflowError):
            # A well-formed cursor whose position does not fit the ordering field.
            raise _bad_cursor() from None


def _bad_cursor() -> ValidationError:
    return ValidationError(
        {"cursor": [str(_("Not a cursor from this list; follow the next or previous link."))]}
    )


PAGE_PARAMETERS = [
    OpenApiParameter(
        "cursor",
        str,
        description="Where the page starts: take it from the `next` or `previous` link of "
        "the page before. Omit it for the first page.",
    ),
    OpenApiParameter(
        "limit",
        {"type": "integer", "minimum": 1, "maximum": MAX_PAGE_SIZE},
        description="Page size, 1 to 200 (default 50).",
    ),
]


class NewestFirst(Cursor):
    ordering = ("-created_at", "-id")  # type: ignore[assignment]


class ByStart(Cursor):
    ordering = ("-started_at", "-id")  # type: ignore[assignment]


class ByLabel(Cursor):
    ordering = ("label", "id")  # type: ignore[assignment]


class UrgentFirst(Cursor):
    ordering = ("severity", "-created_at", "-id")  # type: ignore[assignment]


class AuditCursor(Cursor):
    ordering = ("-at", "-id")  # type: ignore[assignment]


class StaffAPIView(APIView):
    # No docstring on purpose: drf-spectacular would print it as every operation's description.

    permission_classes = [IsMember]

    def check_throttles(self, request: Request) -> None:
        # DRF asks each throttle in turn (a cache read and a write each); the same decision
        # with one read and one write for all of them.
        waits = refusals(self.get_throttles(), request, self)
        if waits:
            known = [w for w in waits if w is not None]
            self.throttled(request, max(known) if known else None)  # type: ignore[arg-type]

    @property
    def membership(self) -> Membership:
        """The caller's membership, resolved by PracticeScopeMiddleware (IsMember checked)."""
        return practice_request(self.request._request).membership

    @property
    def practice(self) -> Practice:
        return practice_request(self.request._request).practice

    @property
    def user(self) -> User:
        """The signed-in staff member (session or token); IsMember refused anyone else."""
        user = self.request.user
        if not isinstance(user, User):
            raise NotAuthenticated
        return user


def paged(item: type[serializers.Serializer], name: str) -> serializers.Serializer:
    """The schema of one cursor page of ``item``s."""
    from drf_spectacular.utils import inline_serializer

    return inline_serializer(
        name=f"Paginated{name}List",
        fields={
            "next": serializers.URLField(
                allow_null=True, help_text="The next page (its `cursor` included); null at the end."
            ),
            "previous": serializers.URLField(
                allow_null=True, help_text="The page before; null on the first page."
            ),
            "results": item(many=True),
        },
    )
