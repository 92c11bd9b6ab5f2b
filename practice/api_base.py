"""Building blocks every API view shares: strict input, role permissions, paging, throttles."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.utils.translation import gettext_lazy as _
from rest_framework import pagination, permissions, serializers
from rest_framework.exceptions import NotAuthenticated, NotFound
from rest_framework.request import Request
from rest_framework.views import APIView

from practice.models import Membership, Practice, User
from practice.requests import practice_request
from practice.roles import Can, can


class StrictSerializer(serializers.Serializer):
    """Refuses fields it does not know instead of silently ignoring them."""

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


class Cursor(pagination.CursorPagination):
    """Cursor paging: stable under inserts and no COUNT(*) over big tables."""

    page_size = 50
    max_page_size = 200
    page_size_query_param = "limit"
    ordering = "-created_at"


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
    """Base of staff endpoints under /api/v1/p/<practice_slug>/."""

    permission_classes = [IsMember]

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
            "next": serializers.URLField(allow_null=True),
            "previous": serializers.URLField(allow_null=True),
            "results": item(many=True),
        },
    )
