"""Audit events for staff sign-in and sign-out; the database's second wall on connect and
after migrate."""

from __future__ import annotations

from typing import Any

from django.apps import AppConfig
from django.contrib.auth.signals import user_logged_in, user_logged_out
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.signals import connection_created
from django.db.models.signals import post_migrate
from django.dispatch import receiver
from django.http import HttpRequest

from practice import audit, lockout, rls
from practice.models import User
from practice.tenancy import memberships_of


def _each_practice(action: str, request: HttpRequest, user: User) -> None:
    memberships = memberships_of(user)
    if not memberships:
        audit.record(action, request=request, actor=user)
    for membership in memberships:
        audit.record(action, request=request, actor=user, practice=membership.practice)


@receiver(user_logged_in)
def on_sign_in(sender: type, request: HttpRequest, user: User, **kwargs: Any) -> None:
    lockout.clear_account(user.email)
    _each_practice("auth.sign_in", request, user)


@receiver(user_logged_out)
def on_sign_out(sender: type, request: HttpRequest, user: User | None, **kwargs: Any) -> None:
    if user is not None:
        _each_practice("auth.sign_out", request, user)


@receiver(connection_created)
def on_connection(sender: Any, connection: BaseDatabaseWrapper, **kwargs: Any) -> None:
    rls.install(sender, connection)


@receiver(post_migrate)
def on_migrated(sender: AppConfig, using: str = "default", **kwargs: Any) -> None:
    """After every migrate (PostgreSQL), as the owner: the app role, grants and policies."""
    if sender.name == "practice":
        rls.secure_database(using)
