"""Template context every staff page shares."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from practice.roles import Can, can
from practice.tenancy import memberships_of


def practice(request: HttpRequest) -> dict[str, Any]:
    """The current practice, the user's other practices and what the role allows."""
    membership = getattr(request, "membership", None)
    if membership is None:
        return {}
    return {
        "current_practice": membership.practice,
        "membership": membership,
        "allowed": {capability.value: can(membership, capability) for capability in Can},
        "my_memberships": memberships_of(request.user),  # type: ignore[arg-type]
    }
