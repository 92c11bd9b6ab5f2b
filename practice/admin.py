"""The Django admin, for superusers only, over staff and practices (never client data)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django_scopes import scopes_disabled

from practice.models import Membership, Practice, User


class SuperuserAdminSite(admin.AdminSite):
    site_header = _("Attune administration")
    site_title = _("Attune administration")

    def has_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.is_active and request.user.is_superuser)

    def login(self, request: HttpRequest, extra_context: Any = None) -> HttpResponse:
        """Sign in through the staff sign-in page only: it has the lockout and the audit.

        Signed-in staff who are not superusers are refused here, not sent round again.
        """
        if request.user.is_authenticated:
            raise PermissionDenied
        return redirect_to_login(
            request.GET.get("next") or reverse("admin:index", current_app=self.name)
        )

    def admin_view(self, view: Callable[..., HttpResponse], cacheable: bool = False) -> Any:  # type: ignore[override]
        """Run admin views unscoped: the admin manages practices and staff across tenants."""

        @functools.wraps(view)
        def unscoped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            # Superusers only (has_permission), and no client model is registered here.
            with scopes_disabled():
                response = view(request, *args, **kwargs)
                if hasattr(response, "render") and not response.is_rendered:  # type: ignore[attr-defined]
                    response.render()
                return response

        return super().admin_view(unscoped, cacheable)


admin_site = SuperuserAdminSite(name="admin")


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Practice, site=admin_site)
class PracticeAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "timezone", "created_at"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [MembershipInline]


@admin.register(User, site=admin_site)
class UserAdmin(DjangoUserAdmin):
    ordering = ["email"]
    list_display = ["email", "full_name", "is_active", "is_superuser"]
    search_fields = ["email", "full_name"]
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        (_("Person"), {"fields": ("full_name",)}),
        (_("Access"), {"fields": ("is_active", "is_staff", "is_superuser")}),
    )
    add_fieldsets = (
        (None, {"classes": ("wide",), "fields": ("email", "full_name", "password1", "password2")}),
    )
    filter_horizontal = ()
    list_filter = ["is_active", "is_superuser"]
