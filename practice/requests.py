"""Typed requests for the dashboard, and the decorator that hands a view one.

``PracticeScopeMiddleware`` sets ``request.practice`` and ``request.membership`` on
every request under ``/p/<practice_slug>/``. ``PracticeRequest`` says so to the type
checker, and ``staff_view`` checks at run time that the middleware did (and, when
given capabilities, that the role grants them) before the view sees the request.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Concatenate, cast

from django.http import Http404, HttpRequest, HttpResponseBase

from practice.models import Membership, Practice, User
from practice.roles import Can, require

if TYPE_CHECKING:
    from django.contrib.sessions.backends.base import SessionBase


class PracticeRequest(HttpRequest):
    """A signed-in staff member's request inside one practice (its scope is open)."""

    practice: Practice
    membership: Membership
    user: User  # always signed in here, never AnonymousUser
    session: SessionBase
    LANGUAGE_CODE: str


def practice_request(request: HttpRequest) -> PracticeRequest:
    """The request as a PracticeRequest; 404 outside a practice (no membership resolved)."""
    if not isinstance(getattr(request, "membership", None), Membership):
        raise Http404
    return cast(PracticeRequest, request)


def staff_view[**P, R: HttpResponseBase](
    *capabilities: Can, hide: bool = True
) -> Callable[
    [Callable[Concatenate[PracticeRequest, P], R]], Callable[Concatenate[HttpRequest, P], R]
]:
    """A dashboard view that receives a PracticeRequest, its role checked first.

    Each capability must be granted, else 404 (or 403 with ``hide=False``), the same
    answer ``practice.roles.require`` gives inside a view.
    """

    def decorate(
        view: Callable[Concatenate[PracticeRequest, P], R],
    ) -> Callable[Concatenate[HttpRequest, P], R]:
        @functools.wraps(view)
        def checked(request: HttpRequest, *args: P.args, **kwargs: P.kwargs) -> R:
            typed = practice_request(request)
            for capability in capabilities:
                require(typed.membership, capability, hide=hide)
            return view(typed, *args, **kwargs)

        return checked

    return decorate
